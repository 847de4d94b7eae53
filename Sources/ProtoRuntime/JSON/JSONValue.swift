/// A parsed JSON value, for schema-driven (dynamic) tools. Numbers keep their text so 64-bit
/// integers lose no precision.
public indirect enum JSONValue: Hashable, Sendable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONValue])
    /// Members in document order.
    case object([(String, JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.number(let a), .number(let b)): return a == b
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)): return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case .bool(let b): hasher.combine(b)
        case .number(let n): hasher.combine(n)
        case .string(let s): hasher.combine(s)
        case .array(let a): hasher.combine(a)
        case .object(let o):
            for (k, v) in o {
                hasher.combine(k)
                hasher.combine(v)
            }
        }
    }

    /// Parses a whole JSON document.
    /// - Throws: ``JSONDecodingError``.
    public static func parse(_ bytes: [UInt8], maximumDepth: Int = 100) throws -> JSONValue {
        try bytes.withUnsafeBufferPointer { buffer in
            var reader = JSONReader(bytes: buffer, options: JSONDecodingOptions(maximumDepth: maximumDepth))
            let value = try reader.readValue()
            try reader.finish()
            return value
        }
    }
}

extension JSONReader {
    /// Reads any JSON value.
    public mutating func readValue() throws -> JSONValue {
        skipWhitespace()
        guard let byte = peek() else { throw expected("a value") }
        switch byte {
        case UInt8(ascii: "{"):
            try beginObject()
            var members: [(String, JSONValue)] = []
            while let key = try nextKey() {
                do {
                    members.append((key, try readValue()))
                } catch let error as JSONDecodingError {
                    throw error.prefixed(.key(key))
                }
                atContainerStart = false
            }
            return .object(members)
        case UInt8(ascii: "["):
            try beginArray()
            var elements: [JSONValue] = []
            while try nextElement() {
                do {
                    elements.append(try readValue())
                } catch let error as JSONDecodingError {
                    throw error.prefixed(.index(elements.count))
                }
                atContainerStart = false
            }
            return .array(elements)
        case UInt8(ascii: "\""): return .string(try readStringToken())
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return .bool(try readBool())
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        default:
            return .number(String(decoding: try readNumberToken(), as: UTF8.self))
        }
    }
}
