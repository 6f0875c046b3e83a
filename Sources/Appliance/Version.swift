import Capture
import Security
import Storage
import Web

/// camhost's own version and the run-time versions of the C libraries it is built on.
public enum VersionInfo {
    public static let camhost = "0.1.0"

    /// Each asked of the library itself, so a mismatched shared library shows up here.
    public static func libraries() -> [(name: String, version: String)] {
        [
            ("libmicrohttpd", HTTPSServer.libraryVersion),
            ("gnutls", TLSLibrary.version),
            ("sqlite", Storage.libraryVersion),
            ("libmosquitto", mosquittoVersion()),
            ("libpcap", PcapLibrary.version),
        ]
    }
}
