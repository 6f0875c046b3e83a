/// One result row: column names and values, copied out of the statement.
public struct Row: Hashable, Sendable, CustomStringConvertible {
    public let columnNames: [String]
    public let values: [DatabaseValue]

    public init(columnNames: [String], values: [DatabaseValue]) {
        precondition(columnNames.count == values.count, "one name per value")
        self.columnNames = columnNames
        self.values = values
    }

    public var count: Int { values.count }

    /// The index of a column, matched exactly, then ignoring ASCII case as SQLite does.
    public func index(of column: String) -> Int? {
        if let i = columnNames.firstIndex(of: column) { return i }
        let lower = column.lowercased()
        return columnNames.firstIndex { $0.lowercased() == lower }
    }

    public subscript(index: Int) -> DatabaseValue { values[index] }

    /// The raw value of a column, or nil if there is no such column.
    public subscript(column: String) -> DatabaseValue? {
        index(of: column).map { values[$0] }
    }

    /// The value at `index` as `T`; throws `.range` or `.mismatch` (NULL into a non-optional too).
    public func get<T: DatabaseValueConvertible>(_ index: Int, as type: T.Type = T.self) throws -> T {
        guard values.indices.contains(index) else {
            throw SQLiteError(code: .range, message: "no column at index \(index) (row has \(count))")
        }
        return try convert(values[index], column: columnNames[index])
    }

    /// The value of the named column as `T`; throws `.range` or `.mismatch`.
    public func get<T: DatabaseValueConvertible>(_ column: String, as type: T.Type = T.self) throws -> T {
        guard let i = index(of: column) else {
            throw SQLiteError(code: .range, message: "no column named '\(column)' (columns: \(columnNames.joined(separator: ", ")))")
        }
        return try convert(values[i], column: column)
    }

    private func convert<T: DatabaseValueConvertible>(_ value: DatabaseValue, column: String) throws -> T {
        guard let result = T.decode(from: value) else {
            throw SQLiteError(code: .mismatch, message: "column '\(column)' holds \(value), which does not convert to \(T.self)")
        }
        return result
    }

    public var description: String {
        "[" + zip(columnNames, values).map { "\($0): \($1)" }.joined(separator: ", ") + "]"
    }
}
