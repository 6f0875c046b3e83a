/// One SQLite value, in one of its five storage classes.
public enum DatabaseValue: Hashable, Sendable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    public var isNull: Bool { self == .null }
}

extension DatabaseValue: ExpressibleByNilLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByBooleanLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .real(value) }
    public init(stringLiteral value: String) { self = .text(value) }
    public init(booleanLiteral value: Bool) { self = .integer(value ? 1 : 0) }
}

/// A Swift value that can be bound to a statement parameter.
public protocol SQLBindable {
    var databaseValue: DatabaseValue { get }
}

/// A Swift value that can also be read back from a column.
public protocol DatabaseValueConvertible: SQLBindable {
    /// The value, or nil when the column's storage class does not fit the type.
    static func decode(from value: DatabaseValue) -> Self?
}

extension DatabaseValue: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { self }
    public static func decode(from value: DatabaseValue) -> DatabaseValue? { value }
}

extension Int64: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { .integer(self) }
    public static func decode(from value: DatabaseValue) -> Int64? {
        if case .integer(let v) = value { return v }
        return nil
    }
}

extension Int: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { .integer(Int64(self)) }
    public static func decode(from value: DatabaseValue) -> Int? {
        if case .integer(let v) = value { return Int(exactly: v) }
        return nil
    }
}

extension Bool: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { .integer(self ? 1 : 0) }
    public static func decode(from value: DatabaseValue) -> Bool? {
        if case .integer(let v) = value { return v != 0 }
        return nil
    }
}

extension Double: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { .real(self) }
    public static func decode(from value: DatabaseValue) -> Double? {
        switch value {
        case .real(let v): return v
        case .integer(let v): return Double(v)
        default: return nil
        }
    }
}

extension String: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { .text(self) }
    public static func decode(from value: DatabaseValue) -> String? {
        if case .text(let v) = value { return v }
        return nil
    }
}

extension Array: SQLBindable where Element == UInt8 {
    public var databaseValue: DatabaseValue { .blob(self) }
}

extension Array: DatabaseValueConvertible where Element == UInt8 {
    public static func decode(from value: DatabaseValue) -> [UInt8]? {
        switch value {
        case .blob(let v): return v
        case .text(let v): return Array(v.utf8)
        default: return nil
        }
    }
}

extension Optional: SQLBindable where Wrapped: SQLBindable {
    public var databaseValue: DatabaseValue { self?.databaseValue ?? .null }
}

extension Optional: DatabaseValueConvertible where Wrapped: DatabaseValueConvertible {
    /// NULL decodes as `.some(nil)`; a non-NULL value that does not fit decodes as `nil`.
    public static func decode(from value: DatabaseValue) -> Wrapped?? {
        if value == .null { return .some(nil) }
        guard let wrapped = Wrapped.decode(from: value) else { return nil }
        return .some(wrapped)
    }
}

/// Statement arguments as written at call sites: `nil`, `Int`, `String?`, `[UInt8]`...
func databaseValues(_ arguments: [(any SQLBindable)?]) -> [DatabaseValue] {
    arguments.map { $0?.databaseValue ?? .null }
}
