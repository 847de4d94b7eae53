/// Reads protobuf wire format from contiguous memory, checking every length against what remains.
///
/// Every read either returns a value or throws ``ProtoDecodingError``; no input can make it trap.
public struct WireReader {
    /// The deepest nesting of messages accepted, as in protobuf's C++ and Java runtimes.
    public static let maximumDepth = 100

    @usableFromInline var pointer: UnsafeRawPointer
    @usableFromInline let end: UnsafeRawPointer
    /// The current nesting depth (0 for the outermost message).
    @usableFromInline var depth: Int
    /// The most recent tag read by ``nextTag()``.
    @usableFromInline var lastTag: UInt32 = 0
    @usableFromInline var fieldStart: UnsafeRawPointer

    /// Creates a reader over `bytes`, which must outlive the reader.
    @inlinable
    public init(bytes: UnsafeRawBufferPointer, depth: Int = 0) {
        let base = bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 0x10).unsafelyUnwrapped
        self.pointer = base
        self.end = base + bytes.count
        self.depth = depth
        self.fieldStart = base
    }

    /// Whether all input has been consumed.
    @inlinable
    public var isAtEnd: Bool { pointer >= end }

    @inlinable
    var remaining: Int { end - pointer }

    @inlinable @inline(__always)
    mutating func readByte() throws -> UInt8 {
        guard pointer < end else { throw ProtoDecodingError.truncated }
        let byte = pointer.load(as: UInt8.self)
        pointer += 1
        return byte
    }

    /// Reads a base-128 varint of at most 10 bytes.
    @inlinable @inline(__always)
    public mutating func readVarint() throws -> UInt64 {
        // Fast path: a one-byte varint.
        if pointer < end {
            let first = pointer.load(as: UInt8.self)
            if first < 0x80 {
                pointer += 1
                return UInt64(first)
            }
        }
        return try readVarintSlow()
    }

    @inlinable
    mutating func readVarintSlow() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            // A varint has at most 10 bytes; bits past the 64th are dropped, as protobuf does.
            guard shift <= 63 else { throw ProtoDecodingError.malformedVarint }
            let byte = try readByte()
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    /// Reads the next tag, or returns `nil` at the end of the message.
    ///
    /// The tag is returned whole (`fieldNumber << 3 | wireType`) so generated code can switch on
    /// precomputed constants; a known field number with an unexpected wire type falls through to
    /// ``skipField(into:)`` and is kept as an unknown field, as protobuf specifies.
    @inlinable @inline(__always)
    public mutating func nextTag() throws -> UInt32? {
        guard pointer < end else { return nil }
        fieldStart = pointer
        let raw = try readVarint()
        guard raw >> 3 != 0, raw <= UInt64(UInt32.max), raw & 7 < 6 else {
            throw ProtoDecodingError.invalidTag(raw)
        }
        let tag = UInt32(truncatingIfNeeded: raw)
        let wireType = tag & 7
        if wireType == 3 || wireType == 4 {
            throw ProtoDecodingError.groupsNotSupported(fieldNumber: Int(tag >> 3))
        }
        lastTag = tag
        return tag
    }

    @inlinable @inline(__always)
    public mutating func readInt32() throws -> Int32 { Int32(truncatingIfNeeded: try readVarint()) }
    @inlinable @inline(__always)
    public mutating func readInt64() throws -> Int64 { Int64(bitPattern: try readVarint()) }
    @inlinable @inline(__always)
    public mutating func readUInt32() throws -> UInt32 { UInt32(truncatingIfNeeded: try readVarint()) }
    @inlinable @inline(__always)
    public mutating func readUInt64() throws -> UInt64 { try readVarint() }
    @inlinable @inline(__always)
    public mutating func readSInt32() throws -> Int32 {
        ZigZag.decode32(UInt32(truncatingIfNeeded: try readVarint()))
    }
    @inlinable @inline(__always)
    public mutating func readSInt64() throws -> Int64 { ZigZag.decode64(try readVarint()) }
    @inlinable @inline(__always)
    public mutating func readBool() throws -> Bool { try readVarint() != 0 }
    @inlinable @inline(__always)
    public mutating func readEnum<E: ProtoEnum>(_: E.Type = E.self) throws -> E {
        E(protoValue: Int32(truncatingIfNeeded: try readVarint()))
    }

    @inlinable @inline(__always)
    public mutating func readFixed32() throws -> UInt32 {
        guard remaining >= 4 else { throw ProtoDecodingError.truncated }
        let value = pointer.loadUnaligned(as: UInt32.self)
        pointer += 4
        return UInt32(littleEndian: value)
    }
    @inlinable @inline(__always)
    public mutating func readFixed64() throws -> UInt64 {
        guard remaining >= 8 else { throw ProtoDecodingError.truncated }
        let value = pointer.loadUnaligned(as: UInt64.self)
        pointer += 8
        return UInt64(littleEndian: value)
    }
    @inlinable @inline(__always)
    public mutating func readSFixed32() throws -> Int32 { Int32(bitPattern: try readFixed32()) }
    @inlinable @inline(__always)
    public mutating func readSFixed64() throws -> Int64 { Int64(bitPattern: try readFixed64()) }
    @inlinable @inline(__always)
    public mutating func readFloat() throws -> Float { Float(bitPattern: try readFixed32()) }
    @inlinable @inline(__always)
    public mutating func readDouble() throws -> Double { Double(bitPattern: try readFixed64()) }

    /// Reads a length prefix and returns the bytes it covers.
    @inlinable @inline(__always)
    public mutating func readLengthDelimited() throws -> UnsafeRawBufferPointer {
        let length = try readVarint()
        guard length <= UInt64(remaining) else {
            throw ProtoDecodingError.lengthPastEnd(length: length, available: remaining)
        }
        let count = Int(truncatingIfNeeded: length)
        let bytes = UnsafeRawBufferPointer(start: pointer, count: count)
        pointer += count
        return bytes
    }

    /// Reads a `string` field, rejecting invalid UTF-8.
    @inlinable
    public mutating func readString() throws -> String {
        let bytes = try readLengthDelimited()
        guard let string = UTF8Validation.string(from: bytes) else {
            throw ProtoDecodingError.invalidUTF8(fieldNumber: Int(lastTag >> 3))
        }
        return string
    }

    /// Reads a `bytes` field.
    @inlinable
    public mutating func readBytes() throws -> [UInt8] {
        [UInt8](try readLengthDelimited())
    }

    /// Reads a nested message and merges it into `message`, one level deeper.
    @inlinable
    public mutating func readMessage<M: Message>(into message: inout M) throws {
        let bytes = try readLengthDelimited()
        guard depth < WireReader.maximumDepth else {
            throw ProtoDecodingError.nestingTooDeep(limit: WireReader.maximumDepth)
        }
        var nested = WireReader(bytes: bytes, depth: depth + 1)
        try message.decodeMessage(from: &nested)
    }

    /// Reads a nested message into an optional field, merging with a value already present.
    @inlinable
    public mutating func readMessage<M: Message>(into message: inout M?) throws {
        var value = message ?? M()
        try readMessage(into: &value)
        message = value
    }

    /// Reads a nested message as a new value.
    @inlinable
    public mutating func readMessage<M: Message>(_: M.Type = M.self) throws -> M {
        var value = M()
        try readMessage(into: &value)
        return value
    }

    /// Reads a packed run of values with `read` and appends them to `array`.
    @inlinable
    public mutating func readPacked<T>(into array: inout [T], _ read: (inout WireReader) throws -> T) throws {
        let bytes = try readLengthDelimited()
        var packed = WireReader(bytes: bytes, depth: depth)
        packed.lastTag = lastTag
        while !packed.isAtEnd {
            array.append(try read(&packed))
        }
    }

    /// Reads a map entry (a nested message with the key in field 1 and the value in field 2).
    ///
    /// Missing keys or values take their defaults; unknown entry fields are skipped; a repeated
    /// key replaces the earlier entry (last one wins).
    @inlinable
    public mutating func readMapEntry<K: Hashable, V>(
        into map: inout [K: V],
        key defaultKey: K,
        value defaultValue: V,
        keyTag: UInt32,
        valueTag: UInt32,
        readKey: (inout WireReader) throws -> K,
        readValue: (inout WireReader) throws -> V
    ) throws {
        let bytes = try readLengthDelimited()
        guard depth < WireReader.maximumDepth else {
            throw ProtoDecodingError.nestingTooDeep(limit: WireReader.maximumDepth)
        }
        var entry = WireReader(bytes: bytes, depth: depth + 1)
        var key = defaultKey
        var value = defaultValue
        while let tag = try entry.nextTag() {
            if tag == keyTag {
                key = try readKey(&entry)
            } else if tag == valueTag {
                value = try readValue(&entry)
            } else {
                try entry.skipField()
            }
        }
        map[key] = value
    }

    /// Everything not read yet (consumed).
    @inlinable
    public mutating func readRemaining() -> UnsafeRawBufferPointer {
        let bytes = UnsafeRawBufferPointer(start: pointer, count: remaining)
        pointer = end
        return bytes
    }

    /// Skips the value of the field whose tag was just read.
    @inlinable
    public mutating func skipField() throws {
        switch lastTag & 7 {
        case 0: _ = try readVarint()
        case 1:
            guard remaining >= 8 else { throw ProtoDecodingError.truncated }
            pointer += 8
        case 2: _ = try readLengthDelimited()
        case 5:
            guard remaining >= 4 else { throw ProtoDecodingError.truncated }
            pointer += 4
        default: throw ProtoDecodingError.invalidTag(UInt64(lastTag))
        }
    }

    /// Skips the field whose tag was just read and keeps its bytes (tag included) as unknown.
    @inlinable
    public mutating func skipField(into unknownFields: inout UnknownFields) throws {
        let start = fieldStart
        try skipField()
        unknownFields.append(UnsafeRawBufferPointer(start: start, count: pointer - start))
    }
}

/// UTF-8 validation with an ASCII fast path.
public enum UTF8Validation {
    /// Returns the string for `bytes` if they are valid UTF-8, `nil` otherwise.
    @inlinable
    public static func string(from bytes: UnsafeRawBufferPointer) -> String? {
        if isASCII(bytes) {
            return String(decoding: bytes, as: UTF8.self)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    @inlinable
    static func isASCII(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        let count = bytes.count
        guard let base = bytes.baseAddress else { return true }
        while index &+ 8 <= count {
            if base.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { return false }
            index &+= 8
        }
        while index < count {
            if base.load(fromByteOffset: index, as: UInt8.self) >= 0x80 { return false }
            index &+= 1
        }
        return true
    }
}
