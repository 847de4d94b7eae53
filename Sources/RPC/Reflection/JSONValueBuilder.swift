import ProtoRuntime

/// Where ``DynamicCodec`` writes a message's proto3 JSON as it reads the binary: JSON text
/// (``JSONWriter``) or a ``JSONValue`` tree (``JSONValueBuilder``). The calls are the writer's.
protocol DynamicJSONOutput {
    var options: JSONEncodingOptions { get }
    mutating func beginObject()
    mutating func endObject()
    mutating func beginArray()
    mutating func endArray()
    mutating func beginElement()
    mutating func writeKey(_ key: String)
    mutating func writeNull()
    mutating func writeBool(_ value: Bool)
    mutating func writeInt32(_ value: Int32)
    mutating func writeUInt32(_ value: UInt32)
    mutating func writeInt64(_ value: Int64)
    mutating func writeUInt64(_ value: UInt64)
    mutating func writeFloat(_ value: Float)
    mutating func writeDouble(_ value: Double)
    mutating func writeString(_ value: String)
    mutating func writeBytes(_ value: [UInt8])
    mutating func writeTimestamp(_ value: ProtoTimestamp)
    mutating func writeDuration(_ value: ProtoDuration)
}

extension JSONWriter: DynamicJSONOutput {
    mutating func writeTimestamp(_ value: ProtoTimestamp) { value.encodeJSON(to: &self) }
    mutating func writeDuration(_ value: ProtoDuration) { value.encodeJSON(to: &self) }
}

/// Builds the ``JSONValue`` a ``JSONWriter`` would have written, value by value: what
/// `JSONValue.parse` of the writer's text gives, without the text.
struct JSONValueBuilder: DynamicJSONOutput {
    /// An object or array being filled.
    enum Container {
        case object([(String, JSONValue)], key: String?)
        case array([JSONValue])
    }

    let options: JSONEncodingOptions
    var open: [Container] = []
    /// The finished document (null until its last value is written).
    var value: JSONValue = .null

    init(options: JSONEncodingOptions) { self.options = options }

    /// Adds a finished value to the container being filled (or finishes the document).
    mutating func add(_ element: JSONValue) {
        guard let top = open.popLast() else {
            value = element
            return
        }
        switch top {
        case .object(var members, let key):
            members.append((key ?? "", element))
            open.append(.object(members, key: nil))
        case .array(var elements):
            elements.append(element)
            open.append(.array(elements))
        }
    }

    /// A scalar as the writer formats it: quoted text becomes a string, anything else a number
    /// (used where the writer's formatting is the definition: floats, base64, durations, whose
    /// text needs no escapes).
    mutating func addFormatted(_ write: (inout JSONWriter) -> Void) {
        var writer = JSONWriter(options: options)
        write(&writer)
        let bytes = writer.bytes
        if bytes.first == UInt8(ascii: "\""), bytes.count >= 2 {
            add(.string(String(decoding: bytes.dropFirst().dropLast(), as: UTF8.self)))
        } else {
            add(.number(String(decoding: bytes, as: UTF8.self)))
        }
    }

    mutating func beginObject() { open.append(.object([], key: nil)) }

    mutating func endObject() {
        guard case .object(let members, _)? = open.popLast() else { return }
        add(.object(members))
    }

    mutating func beginArray() { open.append(.array([])) }

    mutating func endArray() {
        guard case .array(let elements)? = open.popLast() else { return }
        add(.array(elements))
    }

    mutating func beginElement() {}

    mutating func writeKey(_ key: String) {
        guard case .object(let members, _)? = open.popLast() else { return }
        open.append(.object(members, key: key))
    }

    mutating func writeNull() { add(.null) }
    mutating func writeBool(_ value: Bool) { add(.bool(value)) }
    mutating func writeInt32(_ value: Int32) { add(.number(String(value))) }
    mutating func writeUInt32(_ value: UInt32) { add(.number(String(value))) }
    /// 64-bit integers are strings in proto3 JSON, as the writer writes them.
    mutating func writeInt64(_ value: Int64) { add(.string(String(value))) }
    mutating func writeUInt64(_ value: UInt64) { add(.string(String(value))) }
    mutating func writeFloat(_ value: Float) { addFormatted { $0.writeFloat(value) } }
    mutating func writeDouble(_ value: Double) { addFormatted { $0.writeDouble(value) } }
    mutating func writeString(_ value: String) { add(.string(value)) }
    mutating func writeBytes(_ value: [UInt8]) { addFormatted { $0.writeBytes(value) } }
    mutating func writeTimestamp(_ value: ProtoTimestamp) { add(.string(value.rfc3339)) }
    mutating func writeDuration(_ value: ProtoDuration) { addFormatted { value.encodeJSON(to: &$0) } }
}
