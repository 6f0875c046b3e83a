import Appliance
import ArgumentParser
import POSIX
import Storage

/// The one way a command opens the database (`storage.database`, migrated, with the configured
/// busy time-out): files made private to camhost's group as `serve` makes them (umask 027).
/// `makingDirectory`: create the database's directory first (commands that may be the first to
/// run on a new data directory: accounts, tokens, camera commands' audit log); the recordings
/// commands leave a missing one a clear error. On failure: the reason, then `consequence`
/// (what was not done), and exit 74.
func openStore(_ configuration: Configuration, makingDirectory: Bool, consequence: String? = nil) throws -> Store {
    FileSystem.setCreationMask(0o027)
    let path = configuration.databasePath
    do {
        if makingDirectory { try FileSystem.makeDirectories(FileSystem.parentDirectory(of: path)) }
        return try configuration.openStore()
    } catch {
        printError("camhost: cannot open the database \(path): \(error)")
        if let consequence { printError("camhost: \(consequence)") }
        throw ExitCode(74)
    }
}
