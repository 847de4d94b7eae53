/// Options for writing proto3 JSON.
public struct JSONEncodingOptions: Sendable, Hashable {
    /// Write fields that hold their default value (singular scalars without presence, empty
    /// repeated fields and maps), as protobuf's `always_print_fields_with_no_presence` does.
    public var emitDefaults: Bool
    /// Use the `.proto` field names (`order_id`) instead of their JSON names (`orderId`).
    public var preserveProtoFieldNames: Bool
    /// Write enum values as numbers instead of names.
    public var enumsAsIntegers: Bool

    /// - Parameters:
    ///   - emitDefaults: write fields that hold their defaults.
    ///   - preserveProtoFieldNames: key objects by the `.proto` field names.
    ///   - enumsAsIntegers: write enums as numbers.
    public init(emitDefaults: Bool = false, preserveProtoFieldNames: Bool = false, enumsAsIntegers: Bool = false) {
        self.emitDefaults = emitDefaults
        self.preserveProtoFieldNames = preserveProtoFieldNames
        self.enumsAsIntegers = enumsAsIntegers
    }
}

/// Writes proto3 JSON into a growing byte array. Generated `encodeJSON(to:)` drives it.
public struct JSONWriter {
    /// The UTF-8 JSON written so far.
    public var bytes: [UInt8]
    /// How to write.
    public let options: JSONEncodingOptions
    @usableFromInline var needsComma = false

    /// A writer with an empty output.
    public init(options: JSONEncodingOptions = JSONEncodingOptions()) {
        self.options = options
        self.bytes = []
        self.bytes.reserveCapacity(256)
    }

    @inlinable
    mutating func append(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    @inlinable
    mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }

    /// Starts an object (`{`).
    @inlinable
    public mutating func beginObject() {
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
    }

    /// Ends an object (`}`).
    @inlinable
    public mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    /// Starts an array (`[`).
    @inlinable
    public mutating func beginArray() {
        bytes.append(UInt8(ascii: "["))
        needsComma = false
    }

    /// Ends an array (`]`).
    @inlinable
    public mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// Writes the separator before the next array element.
    @inlinable
    public mutating func beginElement() { separate() }

    /// Writes a field's key: its JSON name, or its `.proto` name when the options ask for it.
    @inlinable
    public mutating func writeKey(json: StaticString, proto: StaticString) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        append(options.preserveProtoFieldNames ? proto : json)
        append("\":")
        needsComma = false
    }

    /// Writes an arbitrary key (map keys).
    @inlinable
    public mutating func writeKey(_ key: String) {
        separate()
        writeStringContents(key)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    /// Writes a map key given as an integer or bool (quoted, as proto3 JSON requires).
    @inlinable
    public mutating func writeKey<T: BinaryInteger>(_ key: T) {
        writeKey(String(key))
    }

    /// Writes a bool map key.
    @inlinable
    public mutating func writeKey(_ key: Bool) {
        writeKey(key ? "true" : "false")
    }

    /// Writes `null`.
    @inlinable
    public mutating func writeNull() {
        append("null")
        needsComma = true
    }

    @inlinable
    public mutating func writeBool(_ value: Bool) {
        append(value ? "true" : "false")
        needsComma = true
    }

    @inlinable
    public mutating func writeInt32(_ value: Int32) {
        writeDecimal(Int64(value))
        needsComma = true
    }

    @inlinable
    public mutating func writeUInt32(_ value: UInt32) {
        writeDecimal(UInt64(value), negative: false)
        needsComma = true
    }

    /// 64-bit integers are written as strings: JSON numbers lose precision past 2^53.
    @inlinable
    public mutating func writeInt64(_ value: Int64) {
        bytes.append(UInt8(ascii: "\""))
        writeDecimal(value)
        bytes.append(UInt8(ascii: "\""))
        needsComma = true
    }

    @inlinable
    public mutating func writeUInt64(_ value: UInt64) {
        bytes.append(UInt8(ascii: "\""))
        writeDecimal(value, negative: false)
        bytes.append(UInt8(ascii: "\""))
        needsComma = true
    }

    @inlinable
    mutating func writeDecimal(_ value: Int64) {
        writeDecimal(value.magnitude, negative: value < 0)
    }

    @inlinable
    mutating func writeDecimal(_ magnitude: UInt64, negative: Bool) {
        if negative { bytes.append(UInt8(ascii: "-")) }
        if magnitude < 10 {
            bytes.append(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: magnitude))
            return
        }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes of scratch, enough for 20 digits
        var count = 0
        withUnsafeMutableBytes(of: &digits) { scratch in
            var v = magnitude
            while v > 0 {
                count &+= 1
                scratch[24 &- count] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: v % 10)
                v /= 10
            }
            bytes.append(contentsOf: scratch[(24 &- count)...])
        }
    }

    @inlinable
    public mutating func writeDouble(_ value: Double) {
        if value.isNaN {
            append("\"NaN\"")
        } else if value.isInfinite {
            append(value < 0 ? "\"-Infinity\"" : "\"Infinity\"")
        } else if value == 0 && value.sign == .minus {
            // "-0" reads back as the integer 0 in some JSON parsers (Python's); "-0.0" keeps the sign.
            append("-0.0")
        } else if value == value.rounded(.towardZero), value.magnitude < 1e15 {
            writeDecimal(Int64(value))
        } else {
            bytes.append(contentsOf: value.description.utf8)
        }
        needsComma = true
    }

    @inlinable
    public mutating func writeFloat(_ value: Float) {
        if value.isNaN || value.isInfinite {
            writeDouble(Double(value))
        } else if value == value.rounded(.towardZero), value.magnitude < 1e7 {
            writeDouble(Double(value))
        } else {
            // The shortest text that reads back as this Float, unless as a double it lies past
            // Float's range (3.4028235e+38 does): parsers that range-check via double reject that,
            // so write the exact value instead.
            let shortest = value.description
            if let asDouble = Double(shortest), asDouble.magnitude > Double(Float.greatestFiniteMagnitude) {
                bytes.append(contentsOf: Double(value).description.utf8)
            } else {
                bytes.append(contentsOf: shortest.utf8)
            }
            needsComma = true
        }
    }

    @inlinable
    public mutating func writeString(_ value: String) {
        writeStringContents(value)
        needsComma = true
    }

    /// Writes `bytes` as standard base64 with padding.
    @inlinable
    public mutating func writeBytes(_ value: [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        Base64.encode(value, into: &bytes)
        bytes.append(UInt8(ascii: "\""))
        needsComma = true
    }

    /// Writes an enum by name (or by number if unknown to the schema or if the options say so).
    @inlinable
    public mutating func writeEnum<E: ProtoEnum>(_ value: E) {
        if !options.enumsAsIntegers, let name = value.protoName {
            writeString(name)
        } else {
            writeInt32(value.protoValue)
        }
    }

    /// Writes a nested message.
    @inlinable
    public mutating func writeMessage<M: Message>(_ message: M) {
        message.encodeJSON(to: &self)
        needsComma = true
    }

    /// Writes an already-formatted JSON value verbatim.
    public mutating func writeRawValue(_ utf8: some Sequence<UInt8>) {
        bytes.append(contentsOf: utf8)
        needsComma = true
    }

    @usableFromInline
    mutating func writeStringContents(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): append("\\\"")
            case UInt8(ascii: "\\"): append("\\\\")
            case 0x0A: append("\\n")
            case 0x0D: append("\\r")
            case 0x09: append("\\t")
            case 0x08: append("\\b")
            case 0x0C: append("\\f")
            case 0..<0x20:
                append("\\u00")
                bytes.append(Base64.hexDigit(byte >> 4))
                bytes.append(Base64.hexDigit(byte & 0xF))
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

extension Message {
    /// The message as proto3 JSON.
    public func jsonString(options: JSONEncodingOptions = JSONEncodingOptions()) -> String {
        String(decoding: jsonUTF8Bytes(options: options), as: UTF8.self)
    }

    /// The message as proto3 JSON, UTF-8 encoded.
    public func jsonUTF8Bytes(options: JSONEncodingOptions = JSONEncodingOptions()) -> [UInt8] {
        var writer = JSONWriter(options: options)
        encodeJSON(to: &writer)
        return writer.bytes
    }
}
