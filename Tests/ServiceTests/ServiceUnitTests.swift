import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The boot-time service as systemd sees it: the unit file checked by systemd's own tools, the
/// scripts by shellcheck, the package by lintian, and the unit run by a real systemd booted in
/// systemd-nspawn (scripts/nspawn-lab.sh), since this machine's PID 1 is not systemd.
enum ServiceFiles {
    static let repository: String = {
        var path = #filePath
        for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
        return path
    }()
    static var unit: String { repository + "/scripts/systemd/camhost.service" }
    static var binary: String { TestEnvironment.current["CAMHOST_RELEASE_BIN"] ?? TestEnvironment.camhostBinary }

    static func run(_ executable: String, _ arguments: [String], timeout: Duration = .seconds(120)) throws -> (status: Int32, stdout: String, stderr: String) {
        try TestProcess.run(executable, arguments, environment: TestEnvironment.clean, directory: repository, timeout: timeout)
    }
}

func commandExists(_ name: String) -> Bool {
    ["/usr/bin/", "/usr/sbin/", "/bin/", "/sbin/"].contains { access($0 + name, X_OK) == 0 }
}

@Suite struct UnitFileTests {
    /// The unit with ExecStart pointing at the binary just built (verify checks the file exists).
    private func unitCopy(in directory: TemporaryDirectory) throws -> String {
        let text = try readFile(ServiceFiles.unit).replacingOccurrences(of: "ExecStart=/usr/bin/camhost ", with: "ExecStart=\(ServiceFiles.binary) ")
        let path = directory.file("camhost.service")
        try writeFile(path, text)
        return path
    }

    @Test(.enabled(if: commandExists("systemd-analyze"), "systemd-analyze is missing (apt-get install systemd)"))
    func systemdVerifiesTheUnit() throws {
        let directory = try TemporaryDirectory()
        let result = try ServiceFiles.run("/usr/bin/systemd-analyze", ["verify", try unitCopy(in: directory)])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stderr.contains("camhost.service:"), "systemd-analyze verify complained: \(result.stderr)")
    }

    @Test(.enabled(if: commandExists("systemd-analyze"), "systemd-analyze is missing (apt-get install systemd)"))
    func exposureIsAtMostTwo() throws {
        let directory = try TemporaryDirectory()
        let result = try ServiceFiles.run("/usr/bin/systemd-analyze", ["security", "--offline=true", try unitCopy(in: directory)])
        let line = try #require(result.stdout.split(separator: "\n").first { $0.contains("Overall exposure level") })
        // "→ Overall exposure level for camhost.service: 1.7 OK 🙂"
        let words = line.split(separator: " ")
        let index = try #require(words.firstIndex { $0.hasSuffix(".service:") })
        let exposure = try #require(Double(words[index + 1]))
        #expect(exposure <= 2.0, "exposure \(exposure): \(line)")
    }

    @Test func unitKeepsWhatCamhostNeeds() throws {
        let unit = try readFile(ServiceFiles.unit)
        for line in ["Type=notify", "WatchdogSec=", "Restart=on-failure", "StartLimitBurst=", "StartLimitIntervalSec=",
                     "User=camhost", "ReadWritePaths=/var/lib/camhost", "NoNewPrivileges=yes", "ProtectSystem=strict"] {
            #expect(unit.contains("\n" + line), "the unit lacks \(line)")
        }
        let capabilities = try #require(unit.split(separator: "\n").first { $0.hasPrefix("CapabilityBoundingSet=") })
        #expect(Set(capabilities.dropFirst("CapabilityBoundingSet=".count).split(separator: " ")) == ["CAP_NET_BIND_SERVICE", "CAP_NET_RAW"])
    }
}

@Suite struct ScriptTests {
    @Test(.enabled(if: commandExists("shellcheck"), "shellcheck is missing (scripts/install-deps.sh --test installs it)"))
    func everyScriptIsShellcheckClean() throws {
        let listing = try ServiceFiles.run("/usr/bin/git", ["ls-files", "*.sh", ".ci/run"])
        let scripts = listing.stdout.split(separator: "\n").map(String.init)
        #expect(scripts.contains("scripts/install.sh") && scripts.contains("scripts/nspawn-lab.sh"))
        let result = try ServiceFiles.run("/usr/bin/shellcheck", ["--severity=warning"] + scripts)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    }

    /// The package is made of the shipped (release) binary, which scripts/test.sh builds and names in
    /// CAMHOST_RELEASE_BIN; a debug build would carry the toolchain's library path.
    @Test(.enabled(if: commandExists("lintian") && TestEnvironment.current["CAMHOST_RELEASE_BIN"] != nil,
                   "needs lintian and CAMHOST_RELEASE_BIN (scripts/test.sh builds the release binary and sets it)"))
    func debianPackageHasNoLintianErrors() throws {
        let directory = try TemporaryDirectory()
        let built = try ServiceFiles.run(ServiceFiles.repository + "/scripts/build-deb.sh", ["--binary", ServiceFiles.binary, "--out", directory.path])
        #expect(built.status == 0, "\(built.stderr)")
        let deb = built.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let contents = try ServiceFiles.run("/usr/bin/dpkg-deb", ["--contents", deb])
        for path in ["./usr/bin/camhost", "./lib/systemd/system/camhost.service", "./etc/camhost/camhost.toml",
                     "./usr/share/camhost/firmware-profiles/acme-json.toml"] {
            #expect(contents.stdout.contains(path), "the package lacks \(path)")
        }
        let lint = try ServiceFiles.run("/usr/bin/lintian", ["--tag-display-limit", "0", deb], timeout: .seconds(300))
        let errors = lint.stdout.split(separator: "\n").filter { $0.hasPrefix("E: ") }
        #expect(lint.status == 0, "lintian exit \(lint.status): \(lint.stdout)\(lint.stderr)")
        #expect(errors.isEmpty, "lintian errors:\n\(errors.joined(separator: "\n"))")
    }
}
