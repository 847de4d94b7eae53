/// A map key type, ordered as protobuf's deterministic serialization orders map entries: integers
/// by value (signed types as signed), strings bytewise by their UTF-8 (not by Swift's Unicode
/// ordering), `false` before `true`.
///
/// Generated encoders write map entries in this order (binary and JSON), so the same map gives the
/// same bytes in every process, whatever order its `Dictionary` iterates in.
public protocol ProtoMapKey: Hashable, Sendable {
    /// Whether `lhs` comes before `rhs` in protobuf's deterministic order.
    static func protoPrecedes(_ lhs: Self, _ rhs: Self) -> Bool
}

extension String: ProtoMapKey {
    @inlinable
    public static func protoPrecedes(_ lhs: String, _ rhs: String) -> Bool {
        lhs.utf8.lexicographicallyPrecedes(rhs.utf8)
    }
}

extension Bool: ProtoMapKey {
    @inlinable
    public static func protoPrecedes(_ lhs: Bool, _ rhs: Bool) -> Bool { !lhs && rhs }
}

extension Int32: ProtoMapKey {
    @inlinable
    public static func protoPrecedes(_ lhs: Int32, _ rhs: Int32) -> Bool { lhs < rhs }
}

extension Int64: ProtoMapKey {
    @inlinable
    public static func protoPrecedes(_ lhs: Int64, _ rhs: Int64) -> Bool { lhs < rhs }
}

extension UInt32: ProtoMapKey {
    @inlinable
    public static func protoPrecedes(_ lhs: UInt32, _ rhs: UInt32) -> Bool { lhs < rhs }
}

extension UInt64: ProtoMapKey {
    @inlinable
    public static func protoPrecedes(_ lhs: UInt64, _ rhs: UInt64) -> Bool { lhs < rhs }
}

extension Dictionary where Key: ProtoMapKey {
    /// The entries in protobuf's deterministic order (see ``ProtoMapKey``). Maps of zero or one
    /// entry are not sorted.
    @inlinable
    public var protoOrderedEntries: [(key: Key, value: Value)] {
        count < 2 ? Array(self) : sorted { Key.protoPrecedes($0.key, $1.key) }
    }
}
