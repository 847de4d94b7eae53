/// Writes protobuf wire format into preallocated memory.
///
/// Generated code computes a message's exact size once (`serializedSize()`), reserves that many
/// bytes (in a `ByteBuffer` or an array) and writes every field straight into them with no
/// bounds growth and no intermediate buffers.
public struct WireWriter {
    @usableFromInline var pointer: UnsafeMutableRawPointer
    @usableFromInline let end: UnsafeMutableRawPointer

    /// Creates a writer over `buffer`, which must be at least as large as what is written.
    @inlinable
    public init(buffer: UnsafeMutableRawBufferPointer) {
        // An empty buffer may have a nil base; any non-nil dummy is fine as nothing is written.
        let base = buffer.baseAddress ?? UnsafeMutableRawPointer(bitPattern: 0x10).unsafelyUnwrapped
        self.pointer = base
        self.end = base + buffer.count
    }

    /// The number of bytes still available.
    @inlinable
    public var remaining: Int { end - pointer }

    @inlinable @inline(__always)
    public mutating func writeByte(_ byte: UInt8) {
        assert(pointer < end, "WireWriter overflow: serializedSize() and encode(to:) disagree")
        pointer.storeBytes(of: byte, as: UInt8.self)
        pointer += 1
    }

    /// Writes a precomputed tag (field number and wire type already combined).
    @inlinable @inline(__always)
    public mutating func writeTag(_ tag: UInt32) {
        if tag < 0x80 { writeByte(UInt8(truncatingIfNeeded: tag)) } else { writeVarint(UInt64(tag)) }
    }

    @inlinable @inline(__always)
    public mutating func writeVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            writeByte(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        writeByte(UInt8(truncatingIfNeeded: v))
    }

    @inlinable @inline(__always)
    public mutating func writeInt32(_ value: Int32) { writeVarint(UInt64(bitPattern: Int64(value))) }
    @inlinable @inline(__always)
    public mutating func writeInt64(_ value: Int64) { writeVarint(UInt64(bitPattern: value)) }
    @inlinable @inline(__always)
    public mutating func writeUInt32(_ value: UInt32) { writeVarint(UInt64(value)) }
    @inlinable @inline(__always)
    public mutating func writeUInt64(_ value: UInt64) { writeVarint(value) }
    @inlinable @inline(__always)
    public mutating func writeSInt32(_ value: Int32) { writeVarint(UInt64(ZigZag.encode32(value))) }
    @inlinable @inline(__always)
    public mutating func writeSInt64(_ value: Int64) { writeVarint(ZigZag.encode64(value)) }
    @inlinable @inline(__always)
    public mutating func writeBool(_ value: Bool) { writeByte(value ? 1 : 0) }

    @inlinable @inline(__always)
    public mutating func writeFixed32(_ value: UInt32) {
        assert(remaining >= 4)
        pointer.storeBytes(of: value.littleEndian, as: UInt32.self)
        pointer += 4
    }
    @inlinable @inline(__always)
    public mutating func writeFixed64(_ value: UInt64) {
        assert(remaining >= 8)
        pointer.storeBytes(of: value.littleEndian, as: UInt64.self)
        pointer += 8
    }
    @inlinable @inline(__always)
    public mutating func writeSFixed32(_ value: Int32) { writeFixed32(UInt32(bitPattern: value)) }
    @inlinable @inline(__always)
    public mutating func writeSFixed64(_ value: Int64) { writeFixed64(UInt64(bitPattern: value)) }
    @inlinable @inline(__always)
    public mutating func writeFloat(_ value: Float) { writeFixed32(value.bitPattern) }
    @inlinable @inline(__always)
    public mutating func writeDouble(_ value: Double) { writeFixed64(value.bitPattern) }

    /// Writes raw bytes with no length prefix.
    @inlinable
    public mutating func writeRaw(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        assert(remaining >= bytes.count)
        pointer.copyMemory(from: base, byteCount: bytes.count)
        pointer += bytes.count
    }

    /// Writes a length prefix and the string's UTF-8 bytes.
    @inlinable
    public mutating func writeString(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            writeVarint(UInt64(utf8.count))
            writeRaw(UnsafeRawBufferPointer(utf8))
        }
    }

    /// Writes a length prefix and the bytes.
    @inlinable
    public mutating func writeBytes(_ value: [UInt8]) {
        writeVarint(UInt64(value.count))
        value.withUnsafeBytes { writeRaw($0) }
    }

    /// Writes a length prefix and a nested message.
    @inlinable
    public mutating func writeMessage<M: Message>(_ message: M) {
        writeVarint(UInt64(message.serializedSize()))
        message.encode(to: &self)
    }
}
