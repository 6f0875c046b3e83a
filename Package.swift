// swift-tools-version: 6.2
import PackageDescription

// camhost: one binary that runs the server hosting a site's IP cameras.
// Parts and their arrows are described in docs/ and the project's DESIGN notes:
// camhost -> Appliance/Dashboard -> Control/Media/Storage/Capture/Security/Web -> Wire.

// MemberImportVisibility: members of modules we do not import stay invisible. Without it,
// TOMLKit's `import Foundation` leaks String methods into our code, and one call links ICU
// (+40 MB binary, +8 MB RSS).
let strict: [SwiftSetting] = [.swiftLanguageMode(.v6), .enableUpcomingFeature("MemberImportVisibility")]
/// Tests may use Foundation freely; the binary's size does not depend on them.
let testing: [SwiftSetting] = [.swiftLanguageMode(.v6)]

// The release binary, linked for a small resident footprint (measured on `serve`, idle):
// - GNU ld (bfd) instead of the default gold, for `-z pack-relative-relocs`: the ~45,000 relative
//   relocations of a PIE become a 15 KB DT_RELR table instead of 1 MB of .rela.dyn that the
//   loader reads on every start (needs glibc 2.36, Debian 12). Position independence and ASLR stay.
// - --no-export-dynamic: the Swift driver exports every symbol of our own objects (7,300 of them;
//   nothing looks them up), which the loader's symbol searches page in (~400 KB of .dynsym,
//   .dynstr and .gnu.hash).
// Together: idle RSS -1.3 MB, stripped binary -1.7 MB. lld is not an option: it keeps the
// Swift metadata sections alive under --gc-sections, and with them all of ICU (+44 MB).
// - scripts/link/order.ld: the code a profiled `serve` executed, packed at the start of the text
//   (made by scripts/link-order.sh; effective with -function-sections, which
//   scripts/build-release.sh passes). The kernel maps file pages in whole folios of up to
//   hundreds of KB, so scattered code made most of the 11 MB text resident.
// - scripts/link/libstdc++.so: a linker script that makes `-lstdc++` the static archive, so the
//   shared libstdc++ (1.4 MB resident, iostream set-up) is not mapped.
// docs/footprint.md has the measurements.
let linkDirectory = "\(Context.packageDirectory)/scripts/link"
let releaseLinking = [
    "-use-ld=bfd", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs", "-Xlinker", "--no-export-dynamic",
    "-Xlinker", "-T", "-Xlinker", "\(linkDirectory)/order.ld", "-L", linkDirectory,
]

func system(_ name: String, pkgConfig: String, apt: String) -> Target {
    .systemLibrary(name: name, path: "CModules/\(name)", pkgConfig: pkgConfig, providers: [.apt([apt])])
}

let package = Package(
    name: "camhost",
    platforms: [.macOS(.v15)],
    products: [.executable(name: "camhost", targets: ["camhost"])],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        system("CMicroHTTPD", pkgConfig: "libmicrohttpd", apt: "libmicrohttpd-dev"),
        system("CGnuTLS", pkgConfig: "gnutls", apt: "libgnutls28-dev"),
        system("CSQLite", pkgConfig: "sqlite3", apt: "libsqlite3-dev"),
        system("CMosquitto", pkgConfig: "libmosquitto", apt: "libmosquitto-dev"),
        system("CPcap", pkgConfig: "libpcap", apt: "libpcap-dev"),
        // Kernel headers Glibc's module leaves out (epoll); no library behind it.
        .systemLibrary(name: "CLinux", path: "CModules/CLinux"),

        .target(name: "Wire", swiftSettings: strict),
        .target(name: "JSONText", swiftSettings: strict),
        .target(name: "POSIX", dependencies: ["CLinux"], swiftSettings: strict),
        .target(name: "Storage", dependencies: ["CSQLite", "JSONText", "POSIX"], swiftSettings: strict),
        .target(name: "Security", dependencies: ["CGnuTLS", "POSIX"], swiftSettings: strict),
        .target(name: "Capture", dependencies: ["CPcap", "Wire", "JSONText", "POSIX"], swiftSettings: strict),
        .target(name: "Control", dependencies: [
            "CMosquitto",
            "CLinux",
            "POSIX",
            "Wire",
            "JSONText",
            .product(name: "TOMLKit", package: "TOMLKit"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strict),
        .target(name: "Web", dependencies: ["CMicroHTTPD", "JSONText", "POSIX", "Security"], swiftSettings: strict),
        .target(name: "Media", dependencies: ["Wire", "POSIX", "Storage", "Control", "JSONText", .product(name: "Logging", package: "swift-log")], swiftSettings: strict),
        .target(name: "Dashboard", dependencies: ["Web", "Storage", "Security", "Control", "Capture", "Wire", "POSIX", "JSONText", "Media"], swiftSettings: strict),
        .target(name: "Appliance", dependencies: [
            "Dashboard", "Web", "Storage", "Security", "Wire", "Capture", "Control", "JSONText", "POSIX", "Media",
            .product(name: "TOMLKit", package: "TOMLKit"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strict),
        .executableTarget(name: "camhost", dependencies: [
            "Appliance", "Capture", "Control", "Dashboard", "JSONText", "Media", "POSIX", "Security", "Storage", "Wire",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strict, linkerSettings: [.unsafeFlags(releaseLinking, .when(platforms: [.linux], configuration: .release))]),

        .target(name: "TestSupport", dependencies: ["POSIX"], path: "Tests/TestSupport", swiftSettings: testing),
        // The crash-safety tests' cleanup with its SIGKILL hooks: a test-only program, not in the shipped binary.
        .executableTarget(name: "CrashHarness", dependencies: ["Appliance", "Storage", "POSIX"], path: "Tests/CrashHarness", swiftSettings: testing),
        .testTarget(name: "WireTests", dependencies: ["Wire", "TestSupport"], swiftSettings: testing),
        .testTarget(name: "JSONTextTests", dependencies: ["JSONText"], swiftSettings: testing),
        .testTarget(name: "StorageTests", dependencies: ["Storage", "POSIX"], swiftSettings: testing),
        .testTarget(name: "SecurityTests", dependencies: ["Security", "POSIX"], swiftSettings: testing),
        .testTarget(name: "CaptureTests", dependencies: ["Capture", "Wire", "TestSupport"], swiftSettings: testing),
        .testTarget(name: "ControlTests", dependencies: ["Control", "TestSupport", "POSIX", "Wire", .product(name: "Logging", package: "swift-log")], swiftSettings: testing),
        .testTarget(name: "WebTests", dependencies: ["Web", "Security", "TestSupport"], exclude: ["Fixtures"], swiftSettings: testing),
        .testTarget(name: "DashboardTests", dependencies: ["Dashboard", "Web", "Storage", "Security", "Control", "Capture", "Media", "Wire", "TestSupport"],
                    exclude: ["Fixtures/validate_openapi.py"], swiftSettings: testing),
        .testTarget(name: "ApplianceTests", dependencies: ["Appliance", "TestSupport", "POSIX", "Control", "Storage", .product(name: "Logging", package: "swift-log")], swiftSettings: testing),
        .testTarget(name: "MediaTests", dependencies: ["Media", "Wire", "Storage", "POSIX", "Control", "JSONText", "TestSupport"], exclude: ["Fixtures"], swiftSettings: testing),
        // Test-only: a segment recorder that MediaTests kills with SIGKILL (not in the camhost product).
        .executableTarget(name: "recorder-crash-child", dependencies: ["Media", "Wire", "Storage", "POSIX", "TestSupport"],
                          path: "Tests/RecorderCrashChild", swiftSettings: testing),
        // Benchmark driver for scripts/bench-recorder.sh (not in the camhost product).
        .executableTarget(name: "recorder-bench", dependencies: ["Media", "Wire", "Storage", "TestSupport"],
                          path: "Tests/RecorderBench", swiftSettings: testing),
        // Benchmark driver for scripts/bench-websocket.sh (not in the camhost product).
        .executableTarget(name: "websocket-bench", dependencies: ["Web", "Security", "POSIX"], path: "Tests/WebSocketBench", swiftSettings: testing),
        .testTarget(name: "ServiceTests", dependencies: ["TestSupport"], swiftSettings: testing),
        .testTarget(name: "CamhostTests", dependencies: ["TestSupport"], swiftSettings: testing),
        .testTarget(name: "POSIXTests", dependencies: ["POSIX", "TestSupport"], swiftSettings: testing),
    ]
)
