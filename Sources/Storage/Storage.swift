import CSQLite

/// The SQLite library version linked at run time, e.g. "3.40.1". Spelled `Storage.libraryVersion`
/// outside the part (a module-level name, not an `enum Storage`, which would shadow the module).
public var libraryVersion: String { String(cString: sqlite3_libversion()) }
