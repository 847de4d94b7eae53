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
        case (.object(let a), .object(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
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

extension JSONValue {
    /// Writes the value compactly (one line).
    public func write(to writer: inout JSONWriter) {
        switch self {
        case .null: writer.writeNull()
        case .bool(let b): writer.writeBool(b)
        case .number(let text): writer.writeRawValue(Array(text.utf8))
        case .string(let s): writer.writeString(s)
        case .array(let elements):
            writer.beginArray()
            for element in elements {
                writer.beginElement()
                element.write(to: &writer)
            }
            writer.endArray()
        case .object(let members):
            writer.beginObject()
            for (key, member) in members {
                writer.writeKey(key)
                member.write(to: &writer)
            }
            writer.endObject()
        }
    }

    /// The value as compact JSON text (UTF-8).
    public var serialized: [UInt8] {
        var writer = JSONWriter()
        write(to: &writer)
        return writer.bytes
    }

    /// The member `key` of an object (nil for other values or a missing key).
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.0 == key }?.1
    }
}

extension JSONValue {
    /// How many elements the object's array members hold in all (a page's rows).
    public var arrayCount: Int {
        guard case .object(let members) = self else { return 0 }
        return members.reduce(0) { total, member in
            if case .array(let elements) = member.1 { return total + elements.count }
            return total
        }
    }

    /// This object with the array members of `other` appended to its own, and `other`'s other
    /// members (the next page's token) replacing its own.
    public func appendingArrays(of other: JSONValue) -> JSONValue {
        guard case .object(var members) = self, case .object(let more) = other else { return self }
        for (key, value) in more {
            if let index = members.firstIndex(where: { $0.0 == key }) {
                if case .array(let mine) = members[index].1, case .array(let theirs) = value {
                    members[index].1 = .array(mine + theirs)
                } else {
                    members[index].1 = value
                }
            } else {
                members.append((key, value))
            }
        }
        return .object(members)
    }
}
