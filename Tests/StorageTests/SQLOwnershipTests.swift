import Foundation
import Testing

/// Storage owns every SQL statement (issue 16): no other target of Sources/ writes SQL in a
/// string literal. Code that needs data calls a typed method of the Storage type that owns the
/// table (`AccountStore`, `RecordingIndex`, `AuditLog`, `CleanupHistory`, `CameraTable`, ...).
@Suite struct SQLOwnership {
    static let sources: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)   // Tests/StorageTests/SQLOwnershipTests.swift
        return parts.joined(separator: "/") + "/Sources"
    }()

    @Test func noSQLOutsideStorage() throws {
        let targets = try FileManager.default.contentsOfDirectory(atPath: Self.sources).filter { $0 != "Storage" }.sorted()
        #expect(targets.contains("Dashboard") && targets.contains("Appliance") && targets.contains("camhost"))
        var findings: [String] = []
        for target in targets {
            for file in Self.swiftFiles(under: Self.sources + "/" + target) {
                let text = try String(contentsOfFile: file, encoding: .utf8)
                for (line, literal) in SQLFinder.sqlLiterals(in: text) {
                    findings.append("\(file.dropFirst(Self.sources.count + 1)):\(line): \(literal.prefix(80))")
                }
            }
        }
        #expect(findings.isEmpty, "SQL outside Sources/Storage; move it into the Storage type that owns the table:\n\(findings.joined(separator: "\n"))")
    }

    /// The scan is not blind: Storage's own files are full of SQL and it sees it.
    @Test func findsTheSQLInStorage() throws {
        var count = 0
        for file in Self.swiftFiles(under: Self.sources + "/Storage") {
            count += SQLFinder.sqlLiterals(in: try String(contentsOfFile: file, encoding: .utf8)).count
        }
        #expect(count > 50)
    }

    @Test func findsStatementsInLiteralsOnly() {
        let source = #"""
            // SELECT x FROM t in a comment is prose
            /* DELETE FROM t */ let a = "plain text"
            let b = try db.query("SELECT name FROM users WHERE id = ?", id)
            let c = """
                UPDATE users
                SET name = ?
                """
            let d = "PRAGMA journal_mode = WAL"
            let e = "Select a camera from the list"
            let f = "it said \"INSERT INTO t VALUES (1)\""
            """#
        let found = SQLFinder.sqlLiterals(in: source)
        #expect(found.map(\.line) == [3, 4, 8, 10])
    }

    static func swiftFiles(under directory: String) -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: directory) else { return [] }
        return walker.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") }.sorted().map { directory + "/" + $0 }
    }
}

/// String literals of Swift source that hold SQL statements, with the line each starts on.
enum SQLFinder {
    static var statement: Regex<AnyRegexOutput> { try! Regex(
        #"\b(SELECT\s+[\s\S]*\bFROM\b|SELECT\s+\d|INSERT\s+(OR\s+[A-Z]+\s+)?INTO\b|UPDATE\s+\S+\s+SET\b|DELETE\s+FROM\b|PRAGMA\s+[a-z_]+|"#
            + #"(CREATE|DROP)\s+(TEMP\s+|UNIQUE\s+)?(TABLE|INDEX|VIEW|TRIGGER)\b|ALTER\s+TABLE\b|(BEGIN|COMMIT|ROLLBACK)(\s+[A-Z]+)?\s+TRANSACTION\b|"#
            + #"strftime\()"#) }

    static func sqlLiterals(in source: String) -> [(line: Int, text: String)] {
        let statement = self.statement
        return literals(in: source).filter { $0.text.contains(statement) }
    }

    /// Every string literal's contents (escapes and interpolations left as written).
    static func literals(in source: String) -> [(line: Int, text: String)] {
        let chars = Array(source.unicodeScalars)
        var result: [(Int, String)] = []
        var i = 0, line = 1
        func at(_ k: Int) -> Unicode.Scalar? { k < chars.count ? chars[k] : nil }
        while i < chars.count {
            let c = chars[i]
            if c == "\n" { line += 1; i += 1; continue }
            if c == "/", at(i + 1) == "/" {
                while i < chars.count, chars[i] != "\n" { i += 1 }
                continue
            }
            if c == "/", at(i + 1) == "*" {
                i += 2
                while i < chars.count, !(chars[i] == "*" && at(i + 1) == "/") { if chars[i] == "\n" { line += 1 }; i += 1 }
                i += 2
                continue
            }
            guard c == "\"" || (c == "#" && at(i + 1) == "\"") || (c == "#" && at(i + 1) == "#") else { i += 1; continue }
            // Raw delimiters: `#"`, `##"`, then `"""` or `"`.
            var hashes = 0
            while at(i) == "#" { hashes += 1; i += 1 }
            guard at(i) == "\"" else { continue }
            let multiline = at(i + 1) == "\"" && at(i + 2) == "\""
            i += multiline ? 3 : 1
            let startLine = line
            var text = String.UnicodeScalarView()
            let closing = String(repeating: "\"", count: multiline ? 3 : 1) + String(repeating: "#", count: hashes)
            let closingScalars = Array(closing.unicodeScalars)
            var depth = 0   // inside `\( ... )`
            while i < chars.count {
                if depth == 0, Array(chars[i..<min(i + closingScalars.count, chars.count)]) == closingScalars { i += closingScalars.count; break }
                let s = chars[i]
                if s == "\n" { line += 1; if !multiline && hashes == 0 { break } }
                if s == "\\" && hashes == 0 {
                    text.append(s)
                    if let next = at(i + 1) {
                        text.append(next)
                        if next == "(" { depth += 1 }
                        if next == "\n" { line += 1 }
                    }
                    i += 2
                    continue
                }
                if depth > 0 {
                    if s == "(" { depth += 1 } else if s == ")" { depth -= 1 }
                }
                text.append(s)
                i += 1
            }
            result.append((startLine, String(text)))
        }
        return result
    }
}
