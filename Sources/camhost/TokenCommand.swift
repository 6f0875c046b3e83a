import ArgumentParser
import Dashboard

struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Manage API tokens for scripts: create, list, revoke.",
        discussion: """
            Scripts send a token as `Authorization: Bearer TOKEN`. Scopes: read (read-only API \
            calls), commands (reads and camera commands), admin (everything). The token is \
            printed once, on creation; camhost keeps only its SHA-256. A revocation takes \
            effect in a running `serve` within 2 seconds.

            Exit codes: 0 done; 64 wrong arguments; 65 no such token; 74 the database cannot \
            be opened; 78 the configuration is wrong.

            Examples:
              camhost token create --scope read --expires 90d --name grafana
              TOKEN=$(camhost token create --scope commands --name ops-script)
              curl --cacert var/tls/cert.pem -H "Authorization: Bearer $TOKEN" https://127.0.0.1:5000/api/v1/cameras
              camhost token list
              camhost token revoke 3
            """,
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a token and print it (once) on standard output.")
        @OptionGroup var options: ConfigOptions
        @Option(help: ArgumentHelp("read, commands or admin.", valueName: "scope")) var scope: TokenScope
        @Option(help: ArgumentHelp("Lifetime: 30d, 12h, 90m, 2w, or `never`.", valueName: "age")) var expires: Lifetime = .never
        @Option(help: ArgumentHelp("A label shown in `token list` and the audit log.", valueName: "label")) var name: String = "token"

        func validate() throws {
            guard (1...64).contains(name.count), !name.contains(where: { $0.isNewline }) else { throw ValidationError("--name: use 1 to 64 characters on one line") }
        }

        func run() throws {
            var lifetime: Int64?
            if case .age(let age) = expires { lifetime = age.seconds }
            let context = try AccountsContext(options)
            let (token, secret) = try context.accounts.createToken(scope: scope, name: name, expiresInSeconds: lifetime, actor: context.actor)
            printOut(secret)
            printError("token \(token.id) '\(name)' (scope \(scope.rawValue), expires \(token.expiresAt.map(utcText) ?? "never")) created; it is shown only now")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens (never their secrets).")
        @OptionGroup var options: ConfigOptions
        @Flag(help: "Print a JSON array of {\"id\", \"name\", \"scope\", \"created_by\", \"created_at\", \"expires_at\", \"revoked_at\", \"last_used_at\", \"usable\"} (Unix seconds).")
        var json = false

        func run() throws {
            let context = try AccountsContext(options)
            let tokens = try context.accounts.tokens()
            let now = WallClock.unixSeconds()
            func n(_ v: Int64?) -> String { v.map(String.init) ?? "null" }
            if json {
                printOut("[" + tokens.map { t in
                    "{\"id\":\(t.id),\"name\":\(jsonString(t.name)),\"scope\":\"\(t.scope.rawValue)\",\"created_by\":\(jsonString(t.createdBy)),"
                        + "\"created_at\":\(t.createdAt),\"expires_at\":\(n(t.expiresAt)),\"revoked_at\":\(n(t.revokedAt)),"
                        + "\"last_used_at\":\(n(t.lastUsedAt)),\"usable\":\(t.isUsable(at: now))}"
                }.joined(separator: ",") + "]")
                return
            }
            if tokens.isEmpty { printOut("no tokens; create one with `camhost token create --scope read`"); return }
            for t in tokens {
                let state = t.revokedAt != nil ? "revoked" : (t.isUsable(at: now) ? "active" : "expired")
                printOut("\(t.id)\t\(t.name)\t\(t.scope.rawValue)\t\(state)\texpires: \(t.expiresAt.map(utcText) ?? "never")\tlast used: \(t.lastUsedAt.map(utcText) ?? "never")")
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token by id (see `token list`).")
        @OptionGroup var options: ConfigOptions
        @Argument(help: "The token's id.") var id: Int64

        func run() throws {
            let context = try AccountsContext(options)
            try context.run { try context.authenticator.revokeToken(id: id, actor: context.actor) }
            printOut("revoked token \(id)")
        }
    }
}
