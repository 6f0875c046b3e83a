import Foundation
import Testing

/// The house rule of docs/DESIGN: libc is reached through the POSIX target; besides it only the
/// parts that own a C library (and tests) may import Glibc or Musl, or bind a C symbol by hand.
@Suite("import rules")
struct ImportRulesTests {
    static let mayImportLibc: Set<String> = ["POSIX", "Web", "Security", "Storage", "Control", "Capture"]

    static var sourcesDirectory: URL {
        // Tests/CamhostTests/ImportRulesTests.swift -> the package's Sources/
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources")
    }

    /// `import Glibc`, `@_exported import Musl`, `import func Glibc.write`, and `@_silgen_name`.
    static func violations(in text: String) -> [String] {
        let importPattern = #/^\s*(@\w+\s+)*import\s+((typealias|struct|class|enum|protocol|let|var|func)\s+)?(Glibc|Musl)(\.|\s|$)/#
        return text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().compactMap { number, line in
            let isViolation = line.wholeMatch(of: importPattern) != nil || line.firstMatch(of: importPattern) != nil
                || line.contains("@_silgen_name")
            return isViolation ? "line \(number + 1): \(line.trimmingCharacters(in: .whitespaces))" : nil
        }
    }

    @Test func onlyPOSIXAndTheCModuleOwnersImportLibc() throws {
        let fileManager = FileManager.default
        let targets = try fileManager.contentsOfDirectory(atPath: Self.sourcesDirectory.path).sorted()
        #expect(targets.contains("POSIX") && targets.contains("Appliance"), "Sources/ not found at \(Self.sourcesDirectory.path)")
        var found: [String] = []
        var checked = 0
        for target in targets where !Self.mayImportLibc.contains(target) {
            let directory = Self.sourcesDirectory.appendingPathComponent(target)
            guard let walker = fileManager.enumerator(atPath: directory.path) else { continue }
            for case let relative as String in walker where relative.hasSuffix(".swift") {
                let text = try String(contentsOf: directory.appendingPathComponent(relative), encoding: .utf8)
                checked += 1
                found += Self.violations(in: text).map { "Sources/\(target)/\(relative) \($0)" }
            }
        }
        #expect(checked > 50, "only \(checked) files read: the walk missed the tree")
        #expect(found.isEmpty, "libc outside the POSIX layer (put the call in Sources/POSIX):\n\(found.joined(separator: "\n"))")
    }

    /// The check itself: it sees each spelling, and leaves other imports and comments alone.
    @Test func theCheckSeesEverySpelling() {
        #expect(Self.violations(in: "#if canImport(Glibc)\nimport Glibc\n#endif").count == 1)
        #expect(Self.violations(in: "@_exported import Musl").count == 1)
        #expect(Self.violations(in: "import func Glibc.write").count == 1)
        #expect(Self.violations(in: "@_silgen_name(\"mallopt\")").count == 1)
        #expect(Self.violations(in: "import POSIX\nimport GlibcExtras\n// we do not import Glibc here").isEmpty)
    }

    /// Package.swift's dependencies of each part equal the modules the part imports: nothing used
    /// without being declared (it builds only by accident of the build order), nothing declared
    /// and unused (an arrow in the design that the code does not have).
    @Test func everyPartDeclaresExactlyWhatItImports() throws {
        let manifest = try String(contentsOf: Self.sourcesDirectory.deletingLastPathComponent().appendingPathComponent("Package.swift"), encoding: .utf8)
        let toolchainModules: Set<String> = ["Glibc", "Musl", "Darwin", "Foundation", "FoundationEssentials", "Synchronization", "Dispatch"]
        let importPattern = #/^\s*(?:@\w+\s+)*import\s+(?:(?:struct|class|enum|func|var|let|protocol|typealias)\s+)?(\w+)/#
        var mismatches: [String] = []
        var checked = 0
        for target in try FileManager.default.contentsOfDirectory(atPath: Self.sourcesDirectory.path).sorted() {
            let directory = Self.sourcesDirectory.appendingPathComponent(target)
            var imported: Set<String> = []
            for case let relative as String in FileManager.default.enumerator(atPath: directory.path)! where relative.hasSuffix(".swift") {
                let text = try String(contentsOf: directory.appendingPathComponent(relative), encoding: .utf8)
                for line in text.split(separator: "\n") {
                    if let match = line.firstMatch(of: importPattern), !toolchainModules.contains(String(match.1)) { imported.insert(String(match.1)) }
                }
            }
            // The target's declaration: from `.target(name: "X"` to the `swiftSettings` after its dependencies.
            guard let start = manifest.range(of: ".target(name: \"\(target)\"") ?? manifest.range(of: ".executableTarget(name: \"\(target)\""),
                  let end = manifest[start.upperBound...].range(of: "swiftSettings") else {
                mismatches.append("\(target): no declaration found in Package.swift")
                continue
            }
            // Targets and products by name (package names have a '-', or repeat the product's).
            let declared = Set(manifest[start.upperBound..<end.lowerBound].matches(of: #/"(\w+)"/#).map { String($0.1) })
            checked += 1
            for module in imported.subtracting(declared).sorted() { mismatches.append("\(target) imports \(module) but does not declare it") }
            for module in declared.subtracting(imported).sorted() { mismatches.append("\(target) declares \(module) but imports it nowhere") }
        }
        #expect(checked >= 10, "only \(checked) parts checked")
        #expect(mismatches.isEmpty, "Package.swift and the imports disagree:\n\(mismatches.joined(separator: "\n"))")
    }
}
