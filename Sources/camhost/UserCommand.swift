import Appliance
import ArgumentParser
import Dashboard
import POSIX
import Storage

struct UserCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user",
        abstract: "Manage dashboard accounts: add, passwd, remove, list.",
        discussion: """
            Roles: admin (everything: commands, deletions, accounts) and viewer (looks only). \
            Passwords are read from standard input when it is not a terminal (one line), and \
            asked for twice without echo otherwise. They are stored as PBKDF2-HMAC-SHA256 \
            hashes (600,000 iterations, per-user salt). Every change is in the audit log.

            Exit codes: 0 done; 64 wrong arguments (bad name, short password, last admin); \
            65 no such user or the name exists; 74 the database cannot be opened; 78 the \
            configuration is wrong.

            Examples:
              camhost user add alice --role admin
              printf '%s\\n' 'a long passphrase' | camhost user add bob --role viewer
              camhost user passwd alice
              camhost user list --json
              camhost user remove bob
            """,
        subcommands: [Add.self, Passwd.self, Remove.self, List.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an account.")
        @OptionGroup var options: ConfigOptions
        @Argument(help: "User name: 1 to 64 letters, digits, '.', '_', '-' or '@'.") var name: String
        @Option(help: ArgumentHelp("admin or viewer.", valueName: "role")) var role: Role

        func run() throws {
            let context = try AccountsContext(options)
            try context.run { try Accounts.validateName(name) }
            let password = try readNewPassword()
            try context.run { try context.accounts.addUser(name: name, role: role, password: password, actor: context.actor) }
            printOut("added \(role.rawValue) '\(name)'")
        }
    }

    struct Passwd: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set a new password (ends that user's sessions).")
        @OptionGroup var options: ConfigOptions
        @Argument(help: "User name.") var name: String

        func run() throws {
            let context = try AccountsContext(options)
            guard try context.accounts.users().contains(where: { $0.name.lowercased() == name.lowercased() }) else {
                printError("camhost: no user named '\(name)' (see `camhost user list`)")
                throw ExitCode(65)
            }
            let password = try readNewPassword()
            try context.run { try context.accounts.setPassword(name: name, password: password, actor: context.actor) }
            printOut("password of '\(name)' changed; their sessions were ended")
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an account and its sessions (never the last admin).")
        @OptionGroup var options: ConfigOptions
        @Argument(help: "User name.") var name: String

        func run() throws {
            let context = try AccountsContext(options)
            try context.run { try context.accounts.removeUser(name: name, actor: context.actor) }
            printOut("removed '\(name)'")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List accounts.")
        @OptionGroup var options: ConfigOptions
        @Flag(help: "Print a JSON array of {\"name\", \"role\", \"created_at\", \"last_login_at\", \"password_iterations\"} (Unix seconds).")
        var json = false

        func run() throws {
            let context = try AccountsContext(options)
            let users = try context.accounts.users()
            if json {
                printOut("[" + users.map { u in
                    "{\"name\":\(jsonString(u.name)),\"role\":\"\(u.role.rawValue)\",\"created_at\":\(u.createdAt),"
                        + "\"last_login_at\":\(u.lastLoginAt.map(String.init) ?? "null"),\"password_iterations\":\(u.passwordIterations.map(String.init) ?? "null")}"
                }.joined(separator: ",") + "]")
                return
            }
            if users.isEmpty { printOut("no users; add one with `camhost user add NAME --role admin`"); return }
            for u in users {
                printOut("\(u.name)\t\(u.role.rawValue)\tlast login: \(u.lastLoginAt.map(utcText) ?? "never")")
            }
        }
    }
}

/// The database and an audit actor for account and token commands.
struct AccountsContext {
    let store: Store
    let accounts: Accounts
    let authenticator: Authenticator
    /// `cli:<login name>`: who ran the command, for the audit log.
    let actor: String

    init(_ options: ConfigOptions) throws {
        let configuration = try options.load()
        store = try openStore(configuration, makingDirectory: true)
        authenticator = Authenticator(store: store, settings: DashboardSecurity.authSettings(configuration))
        accounts = authenticator.accounts
        actor = cliActor()
    }

    /// Runs a change; account errors become a message and exit 64 or 65.
    func run(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as AccountError {
            printError("camhost: \(error.message)")
            switch error.code {
            case .notFound, .exists: throw ExitCode(65)
            default: throw ExitCode(64)
            }
        }
    }
}

/// Reads a new password: one line from standard input when it is not a terminal, otherwise
/// twice from the terminal without echo.
func readNewPassword() throws -> String {
    let password: String
    if !FileDescriptor.standardInput.isTerminal {
        guard let line = readLine(strippingNewline: true), !line.isEmpty else {
            printError("camhost: no password on standard input (send one line)")
            throw ExitCode(64)
        }
        password = line
    } else {
        let first = readHidden("New password: ")
        let second = readHidden("Again: ")
        guard first == second else {
            printError("camhost: the passwords differ; nothing was changed")
            throw ExitCode(64)
        }
        password = first
    }
    do { try Accounts.validatePassword(password) } catch {
        printError("camhost: \(error.message)")
        throw ExitCode(64)
    }
    return password
}

/// One line from the terminal with echo off (restored even on error).
func readHidden(_ prompt: String) -> String {
    FileDescriptor.standardError.write(prompt)
    defer { FileDescriptor.standardError.write("\n") }
    return Terminal.withEchoOff { readLine(strippingNewline: true) ?? "" }
}

/// Unix seconds as `2025-11-25 13:19:02Z`.
func utcText(_ seconds: Int64) -> String {
    let date = Clock.utcDate(seconds)
    func pad(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
    return "\(date.year)-\(pad(date.month))-\(pad(date.day)) \(pad(date.hour)):\(pad(date.minute)):\(pad(date.second))Z"
}
