/// The protobuf wire types (the low three bits of a field's tag).
public enum WireType: UInt8, Sendable {
    case varint = 0
    case fixed64 = 1
    case lengthDelimited = 2
    case startGroup = 3
    case endGroup = 4
    case fixed32 = 5
}

/// Sizes of encoded values, used by generated `serializedSize()` implementations.
public enum WireSize {
    /// The number of bytes `value` takes as a base-128 varint (1...10).
    @inlinable @inline(__always)
    public static func varint(_ value: UInt64) -> Int {
        // 1 + floor(log2(value)) / 7, computed branch-free from the leading zero count.
        let bits = 64 - (value | 1).leadingZeroBitCount
        return (bits &* 9 &+ 64) / 64
    }

    /// The size of a 32-bit varint. Negative `Int32` values are sign-extended to 10 bytes.
    @inlinable @inline(__always)
    public static func int32(_ value: Int32) -> Int {
        varint(UInt64(bitPattern: Int64(value)))
    }

    /// The size of an `Int64` varint.
    @inlinable @inline(__always)
    public static func int64(_ value: Int64) -> Int { varint(UInt64(bitPattern: value)) }

    /// The size of a `UInt32` varint.
    @inlinable @inline(__always)
    public static func uint32(_ value: UInt32) -> Int { varint(UInt64(value)) }

    /// The size of a zigzag-encoded `sint32`.
    @inlinable @inline(__always)
    public static func sint32(_ value: Int32) -> Int { varint(UInt64(ZigZag.encode32(value))) }

    /// The size of a zigzag-encoded `sint64`.
    @inlinable @inline(__always)
    public static func sint64(_ value: Int64) -> Int { varint(ZigZag.encode64(value)) }

    /// The size of a length-delimited payload of `length` bytes, including its length prefix.
    @inlinable @inline(__always)
    public static func lengthDelimited(_ length: Int) -> Int { varint(UInt64(length)) &+ length }

    /// The size of a string field's payload with its length prefix.
    @inlinable @inline(__always)
    public static func string(_ value: String) -> Int { lengthDelimited(value.utf8.count) }
}

/// ZigZag encoding of signed integers (`sint32`, `sint64`).
public enum ZigZag {
    @inlinable @inline(__always)
    public static func encode32(_ value: Int32) -> UInt32 {
        UInt32(bitPattern: (value &<< 1) ^ (value >> 31))
    }
    @inlinable @inline(__always)
    public static func encode64(_ value: Int64) -> UInt64 {
        UInt64(bitPattern: (value &<< 1) ^ (value >> 63))
    }
    @inlinable @inline(__always)
    public static func decode32(_ value: UInt32) -> Int32 {
        Int32(bitPattern: (value >> 1) ^ (0 &- (value & 1)))
    }
    @inlinable @inline(__always)
    public static func decode64(_ value: UInt64) -> Int64 {
        Int64(bitPattern: (value >> 1) ^ (0 &- (value & 1)))
    }
}
