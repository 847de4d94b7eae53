public import ProtoRuntime

/// Converts between proto3 JSON and the binary encoding of any message a ``DescriptorPool``
/// knows, with the same rules as generated code (errors name the JSON path).
public struct DynamicCodec: Sendable {
    public let pool: DescriptorPool

    public init(pool: DescriptorPool) { self.pool = pool }

    // MARK: JSON → binary

    /// Encodes a JSON document as the binary form of `messageName`.
    /// - Throws: ``JSONDecodingError`` with the path of the offending value.
    public func encode(json: [UInt8], as messageName: String, ignoreUnknownFields: Bool = false) throws -> [UInt8] {
        try encode(JSONValue.parse(json), as: messageName, ignoreUnknownFields: ignoreUnknownFields)
    }

    public func encode(_ value: JSONValue, as messageName: String, ignoreUnknownFields: Bool = false) throws -> [UInt8]
    {
        var out: [UInt8] = []
        try encodeMessage(value, messageName, ignoreUnknownFields, into: &out, depth: 0)
        return out
    }

    func encodeMessage(_ value: JSONValue, _ name: String, _ ignore: Bool, into out: inout [UInt8], depth: Int) throws {
        guard depth < 100 else { throw JSONDecodingError("nesting deeper than 100 levels") }
        if let special = try encodeWellKnown(value, name) {
            out += special
            return
        }
        guard let message = pool.messages[name] else { throw JSONDecodingError("unknown message type \(name)") }
        guard case .object(let members) = value else {
            if case .null = value { return }
            throw JSONDecodingError("expected object for \(name)")
        }
        var encoded: [(Int32, [UInt8])] = []
        var seen: Set<Int32> = []
        var oneofSeen: Set<Int> = []
        for (key, member) in members {
            do {
                guard let field = message.field(named: key) else {
                    if ignore { continue }
                    throw JSONDecodingError("unknown field")
                }
                guard seen.insert(field.number).inserted else { throw JSONDecodingError("field set more than once") }
                if case .null = member { continue }
                if let oneof = field.oneof, !oneofSeen.insert(oneof).inserted {
                    throw JSONDecodingError("more than one field of oneof '\(message.oneofs[oneof])' is set")
                }
                var bytes: [UInt8] = []
                try encodeField(field, member, ignore, into: &bytes, depth: depth)
                encoded.append((field.number, bytes))
            } catch let error as JSONDecodingError {
                throw error.prefixed(.key(key))
            }
        }
        for (_, bytes) in encoded.sorted(by: { $0.0 < $1.0 }) { out += bytes }
    }

    func encodeField(
        _ field: DescriptorPool.Field,
        _ value: JSONValue,
        _ ignore: Bool,
        into out: inout [UInt8],
        depth: Int
    ) throws {
        if field.isRepeated, case .message(let entryName) = field.kind, let entry = pool.messages[entryName],
            entry.isMapEntry
        {
            guard case .object(let members) = value else { throw JSONDecodingError("expected object (a map)") }
            guard let keyField = entry.field(number: 1), let valueField = entry.field(number: 2) else { return }
            // Entries in key order (protobuf's deterministic order), whatever order the JSON had.
            var entries: [(order: MapKeyOrder, bytes: [UInt8])] = []
            var seen: Set<MapKeyOrder> = []
            for (key, member) in members {
                do {
                    var body: [UInt8] = []
                    try encodeSingle(
                        keyField,
                        mapKeyValue(key, keyField.kind),
                        ignore,
                        into: &body,
                        alwaysWrite: true,
                        depth: depth
                    )
                    try encodeSingle(valueField, member, ignore, into: &body, alwaysWrite: true, depth: depth)
                    let order = MapKeyOrder(text: key, kind: keyField.kind)
                    guard seen.insert(order).inserted else { throw JSONDecodingError("duplicate map key") }
                    var bytes: [UInt8] = []
                    Wire.tag(field.number, 2, &bytes)
                    Wire.varint(UInt64(body.count), &bytes)
                    entries.append((order, bytes + body))
                } catch let error as JSONDecodingError {
                    throw error.prefixed(.key(key))
                }
            }
            entries.sort { $0.order < $1.order }
            for entry in entries { out += entry.bytes }
            return
        }
        if field.isRepeated {
            guard case .array(let elements) = value else { throw JSONDecodingError("expected array") }
            if field.kind.isPackable {
                var body: [UInt8] = []
                for (i, element) in elements.enumerated() {
                    do { try encodeScalar(field.kind, element, ignore, into: &body) } catch let e as JSONDecodingError {
                        throw e.prefixed(.index(i))
                    }
                }
                if !body.isEmpty {
                    Wire.tag(field.number, 2, &out)
                    Wire.varint(UInt64(body.count), &out)
                    out += body
                }
            } else {
                for (i, element) in elements.enumerated() {
                    do {
                        try encodeSingle(field, element, ignore, into: &out, alwaysWrite: true, depth: depth)
                    } catch let e as JSONDecodingError { throw e.prefixed(.index(i)) }
                }
            }
            return
        }
        try encodeSingle(field, value, ignore, into: &out, alwaysWrite: field.hasPresence, depth: depth)
    }

    func mapKeyValue(_ key: String, _ kind: DescriptorPool.FieldKind) -> JSONValue {
        switch kind {
        case .string: return .string(key)
        case .bool: return key == "true" ? .bool(true) : key == "false" ? .bool(false) : .string(key)
        default: return .string(key)
        }
    }

    func encodeSingle(
        _ field: DescriptorPool.Field,
        _ value: JSONValue,
        _ ignore: Bool,
        into out: inout [UInt8],
        alwaysWrite: Bool,
        depth: Int
    ) throws {
        if case .message(let name) = field.kind {
            var body: [UInt8] = []
            try encodeMessage(value, name, ignore, into: &body, depth: depth + 1)
            Wire.tag(field.number, 2, &out)
            Wire.varint(UInt64(body.count), &out)
            out += body
            return
        }
        var body: [UInt8] = []
        let isDefault = try encodeScalar(field.kind, value, ignore, into: &body)
        if isDefault && !alwaysWrite { return }
        if field.kind == .string || field.kind == .bytes {
            Wire.tag(field.number, 2, &out)
            Wire.varint(UInt64(body.count), &out)
        } else {
            Wire.tag(field.number, field.kind.wireType, &out)
        }
        out += body
    }

    /// Writes one scalar value (strings and bytes without their length); returns whether it is the default.
    @discardableResult
    func encodeScalar(_ kind: DescriptorPool.FieldKind, _ value: JSONValue, _ ignore: Bool, into out: inout [UInt8])
        throws -> Bool
    {
        func integer() throws -> (negative: Bool, magnitude: UInt64) {
            let text: String
            switch value {
            case .number(let t), .string(let t): text = t
            default: throw JSONDecodingError("expected an integer")
            }
            if let v = Int64(text) { return (v < 0, v.magnitude) }
            if let v = UInt64(text) { return (false, v) }
            if let d = Double(text), d == d.rounded(), d.magnitude < 0x1p63 { return (d < 0, UInt64(d.magnitude)) }
            throw JSONDecodingError("expected an integer")
        }
        func signed(_ bits: Int) throws -> Int64 {
            let (negative, magnitude) = try integer()
            let limit: UInt64 = bits == 64 ? UInt64(Int64.max) : UInt64(Int32.max)
            guard magnitude <= limit + (negative ? 1 : 0) else {
                throw JSONDecodingError("number out of range for int\(bits)")
            }
            return negative ? Int64(truncatingIfNeeded: 0 &- magnitude) : Int64(magnitude)
        }
        func unsigned(_ bits: Int) throws -> UInt64 {
            let (negative, magnitude) = try integer()
            guard !negative || magnitude == 0, bits == 64 || magnitude <= UInt64(UInt32.max) else {
                throw JSONDecodingError("number out of range for uint\(bits)")
            }
            return magnitude
        }
        func real() throws -> Double {
            switch value {
            case .number(let t): if let d = Double(t) { return d }
            case .string("NaN"): return .nan
            case .string("Infinity"): return .infinity
            case .string("-Infinity"): return -.infinity
            case .string(let t): if let d = Double(t) { return d }
            default: break
            }
            throw JSONDecodingError("expected number")
        }
        switch kind {
        case .int32:
            let v = try signed(32)
            Wire.varint(UInt64(bitPattern: v), &out)
            return v == 0
        case .int64:
            let v = try signed(64)
            Wire.varint(UInt64(bitPattern: v), &out)
            return v == 0
        case .sint32, .sint64:
            let v = try signed(kind == .sint32 ? 32 : 64)
            Wire.varint(UInt64(bitPattern: (v << 1) ^ (v >> 63)), &out)
            return v == 0
        case .uint32, .uint64:
            let v = try unsigned(kind == .uint32 ? 32 : 64)
            Wire.varint(v, &out)
            return v == 0
        case .fixed32:
            let v = try unsigned(32)
            Wire.fixed(v, 4, &out)
            return v == 0
        case .fixed64:
            let v = try unsigned(64)
            Wire.fixed(v, 8, &out)
            return v == 0
        case .sfixed32:
            let v = try signed(32)
            Wire.fixed(UInt64(UInt32(truncatingIfNeeded: v)), 4, &out)
            return v == 0
        case .sfixed64:
            let v = try signed(64)
            Wire.fixed(UInt64(bitPattern: v), 8, &out)
            return v == 0
        case .float:
            let v = Float(try real())
            Wire.fixed(UInt64(v.bitPattern), 4, &out)
            return v.bitPattern == 0
        case .double:
            let v = try real()
            Wire.fixed(v.bitPattern, 8, &out)
            return v.bitPattern == 0
        case .bool:
            guard case .bool(let b) = value else { throw JSONDecodingError("expected bool") }
            out.append(b ? 1 : 0)
            return !b
        case .string:
            guard case .string(let s) = value else { throw JSONDecodingError("expected string") }
            out += Array(s.utf8)
            return s.isEmpty
        case .bytes:
            guard case .string(let s) = value, let bytes = Base64.decode(s.utf8) else {
                throw JSONDecodingError("expected base64 bytes")
            }
            out += bytes
            return bytes.isEmpty
        case .enumeration(let name):
            let number: Int32
            switch value {
            case .string(let text):
                guard let found = pool.enums[name]?.values.first(where: { $0.name == text }) else {
                    throw JSONDecodingError("unknown enum value '\(text)'")
                }
                number = found.number
            default:
                number = Int32(truncatingIfNeeded: try signed(32))
            }
            Wire.varint(UInt64(bitPattern: Int64(number)), &out)
            return number == 0
        case .message:
            throw JSONDecodingError("expected a scalar")
        }
    }

    func encodeWellKnown(_ value: JSONValue, _ name: String) throws -> [UInt8]? {
        switch name {
        case "google.protobuf.Timestamp":
            guard case .string(let text) = value, let t = ProtoTimestamp(rfc3339: text) else {
                throw JSONDecodingError("expected an RFC 3339 timestamp")
            }
            return t.serializedBytes()
        case "google.protobuf.Duration":
            guard case .string(let text) = value, let d = ProtoDuration(jsonText: text) else {
                throw JSONDecodingError("expected a duration like \"1.5s\"")
            }
            return d.serializedBytes()
        default:
            return nil
        }
    }

    // MARK: binary → JSON

    /// The proto3 JSON form of a binary `messageName`.
    /// - Throws: ``ProtoDecodingError`` for malformed bytes.
    public func json(from bytes: [UInt8], as messageName: String, options: JSONEncodingOptions = JSONEncodingOptions())
        throws -> [UInt8]
    {
        var writer = JSONWriter(options: options)
        try write(bytes, as: messageName, to: &writer)
        return writer.bytes
    }

    /// The proto3 JSON form of a binary `messageName` as a tree, built as the bytes are read (no
    /// JSON text in between): the same document ``json(from:as:options:)`` writes.
    /// - Throws: ``ProtoDecodingError`` for malformed bytes.
    public func jsonValue(
        from bytes: [UInt8],
        as messageName: String,
        options: JSONEncodingOptions = JSONEncodingOptions()
    )
        throws -> JSONValue
    {
        var builder = JSONValueBuilder(options: options)
        try write(bytes, as: messageName, to: &builder)
        return builder.value
    }

    func write<Output: DynamicJSONOutput>(_ bytes: [UInt8], as messageName: String, to output: inout Output) throws {
        try bytes.withUnsafeBytes { raw in
            var reader = WireReader(bytes: raw)
            try writeMessage(&reader, messageName, &output, depth: 0)
        }
    }

    enum Decoded {
        case varint(UInt64)
        case fixed32(UInt32)
        case fixed64(UInt64)
        case bytes([UInt8])
    }

    func writeMessage<Output: DynamicJSONOutput>(
        _ reader: inout WireReader,
        _ name: String,
        _ writer: inout Output,
        depth: Int
    ) throws {
        guard depth < WireReader.maximumDepth else {
            throw ProtoDecodingError.nestingTooDeep(limit: WireReader.maximumDepth)
        }
        switch name {
        case "google.protobuf.Timestamp":
            var t = ProtoTimestamp()
            try t.decodeMessage(from: &reader)
            return writer.writeTimestamp(t)
        case "google.protobuf.Duration":
            var d = ProtoDuration()
            try d.decodeMessage(from: &reader)
            return writer.writeDuration(d)
        default: break
        }
        guard let message = pool.messages[name] else {
            _ = reader.readRemaining()
            writer.beginObject()
            writer.endObject()
            return
        }
        var values: [Int32: [Decoded]] = [:]
        while let tag = try reader.nextTag() {
            let number = Int32(truncatingIfNeeded: tag >> 3)
            let decoded: Decoded
            switch tag & 7 {
            case 0: decoded = .varint(try reader.readVarint())
            case 1: decoded = .fixed64(try reader.readFixed64())
            case 5: decoded = .fixed32(try reader.readFixed32())
            default: decoded = .bytes(Array(try reader.readLengthDelimited()))
            }
            if message.field(number: number) != nil { values[number, default: []].append(decoded) }
        }
        writer.beginObject()
        for field in message.fields {
            let present = values[field.number] ?? []
            let key = writer.options.preserveProtoFieldNames ? field.name : field.jsonName
            if field.isRepeated {
                if case .message(let entryName) = field.kind, let entry = pool.messages[entryName], entry.isMapEntry {
                    if present.isEmpty && !writer.options.emitDefaults { continue }
                    guard let keyField = entry.field(number: 1), let valueField = entry.field(number: 2) else {
                        continue
                    }
                    // A repeated key replaces the earlier entry; entries are written in key order.
                    var entries: [MapKeyOrder: (key: String, value: Decoded?)] = [:]
                    for case .bytes(let body) in present {
                        let (text, value) = try readMapEntry(body, keyField, depth: depth)
                        entries[MapKeyOrder(text: text, kind: keyField.kind)] = (text, value)
                    }
                    writer.writeKey(key)
                    writer.beginObject()
                    for (_, entry) in entries.sorted(by: { $0.key < $1.key }) {
                        writer.writeKey(entry.key)
                        try writeMapValue(entry.value, valueField, &writer, depth: depth)
                    }
                    writer.endObject()
                    continue
                }
                var scalars: [Decoded] = []
                for value in present {
                    if case .bytes(let body) = value, field.kind.isPackable {
                        scalars += try unpack(body, field.kind)
                    } else {
                        scalars.append(value)
                    }
                }
                if scalars.isEmpty && !writer.options.emitDefaults { continue }
                writer.writeKey(key)
                writer.beginArray()
                for value in scalars {
                    writer.beginElement()
                    try writeValue(value, field.kind, &writer, depth: depth)
                }
                writer.endArray()
                continue
            }
            guard let last = present.last else {
                if writer.options.emitDefaults && !field.hasPresence {
                    writer.writeKey(key)
                    try writeDefault(field.kind, &writer)
                }
                continue
            }
            if !field.hasPresence && !writer.options.emitDefaults && isDefault(last, field.kind) { continue }
            writer.writeKey(key)
            if case .message(let nested) = field.kind {
                // Repeated occurrences of a singular message merge: concatenating their bytes does that.
                var merged: [UInt8] = []
                for case .bytes(let part) in present { merged += part }
                try writeNested(merged, nested, &writer, depth: depth)
            } else {
                try writeValue(last, field.kind, &writer, depth: depth)
            }
        }
        writer.endObject()
    }

    func writeNested<Output: DynamicJSONOutput>(_ bytes: [UInt8], _ name: String, _ writer: inout Output, depth: Int)
        throws
    {
        try bytes.withUnsafeBytes { raw in
            var nested = WireReader(bytes: raw, depth: depth + 1)
            try writeMessage(&nested, name, &writer, depth: depth + 1)
        }
    }

    /// One map entry's key (as proto3 JSON writes it) and value (nil when absent).
    func readMapEntry(_ body: [UInt8], _ keyField: DescriptorPool.Field, depth: Int) throws -> (String, Decoded?) {
        var key: Decoded?
        var value: Decoded?
        try body.withUnsafeBytes { raw in
            var reader = WireReader(bytes: raw, depth: depth + 1)
            while let tag = try reader.nextTag() {
                let decoded: Decoded
                switch tag & 7 {
                case 0: decoded = .varint(try reader.readVarint())
                case 1: decoded = .fixed64(try reader.readFixed64())
                case 5: decoded = .fixed32(try reader.readFixed32())
                default: decoded = .bytes(Array(try reader.readLengthDelimited()))
                }
                if tag >> 3 == 1 { key = decoded } else if tag >> 3 == 2 { value = decoded }
            }
        }
        return (try mapKeyText(key, keyField.kind), value)
    }

    func writeMapValue<Output: DynamicJSONOutput>(
        _ value: Decoded?,
        _ valueField: DescriptorPool.Field,
        _ writer: inout Output,
        depth: Int
    ) throws {
        if let value {
            try writeValue(value, valueField.kind, &writer, depth: depth)
        } else if case .message(let name) = valueField.kind {
            try writeNested([], name, &writer, depth: depth)
        } else {
            try writeDefault(valueField.kind, &writer)
        }
    }

    /// A map key as proto3 JSON writes it: the string itself, or the number or bool as text.
    func mapKeyText(_ key: Decoded?, _ kind: DescriptorPool.FieldKind) throws -> String {
        switch (kind, key) {
        case (.string, .bytes(let b)?):
            guard let s = String(validating: b, as: UTF8.self) else {
                throw ProtoDecodingError.invalidUTF8(fieldNumber: 1)
            }
            return s
        case (.string, nil): return ""
        case (.bool, .varint(let v)?): return v != 0 ? "true" : "false"
        case (.bool, nil): return "false"
        case (.int32, .varint(let v)?): return String(Int32(truncatingIfNeeded: v))
        case (.int64, .varint(let v)?): return String(Int64(bitPattern: v))
        case (.uint32, .varint(let v)?): return String(UInt32(truncatingIfNeeded: v))
        case (.uint64, .varint(let v)?): return String(v)
        case (.sint32, .varint(let v)?): return String(ZigZag.decode32(UInt32(truncatingIfNeeded: v)))
        case (.sint64, .varint(let v)?): return String(ZigZag.decode64(v))
        case (.fixed32, .fixed32(let v)?): return String(v)
        case (.sfixed32, .fixed32(let v)?): return String(Int32(bitPattern: v))
        case (.fixed64, .fixed64(let v)?): return String(v)
        case (.sfixed64, .fixed64(let v)?): return String(Int64(bitPattern: v))
        default: return "0"
        }
    }

    func unpack(_ body: [UInt8], _ kind: DescriptorPool.FieldKind) throws -> [Decoded] {
        var result: [Decoded] = []
        try body.withUnsafeBytes { raw in
            var reader = WireReader(bytes: raw)
            while !reader.isAtEnd {
                switch kind.wireType {
                case 1: result.append(.fixed64(try reader.readFixed64()))
                case 5: result.append(.fixed32(try reader.readFixed32()))
                default: result.append(.varint(try reader.readVarint()))
                }
            }
        }
        return result
    }

    func isDefault(_ value: Decoded, _ kind: DescriptorPool.FieldKind) -> Bool {
        switch value {
        case .varint(let v): return v == 0
        case .fixed32(let v): return v == 0
        case .fixed64(let v): return v == 0
        case .bytes(let b): return b.isEmpty
        }
    }

    func writeDefault<Output: DynamicJSONOutput>(_ kind: DescriptorPool.FieldKind, _ writer: inout Output) throws {
        switch kind {
        case .string, .bytes: writer.writeString("")
        case .bool: writer.writeBool(false)
        case .int64, .sint64, .sfixed64: writer.writeInt64(0)
        case .uint64, .fixed64: writer.writeUInt64(0)
        case .enumeration(let name):
            if let zero = pool.enums[name]?.values.first(where: { $0.number == 0 }) {
                writer.writeString(zero.name)
            } else {
                writer.writeInt32(0)
            }
        case .message: writer.writeNull()
        default: writer.writeInt32(0)
        }
    }

    func writeValue<Output: DynamicJSONOutput>(
        _ value: Decoded,
        _ kind: DescriptorPool.FieldKind,
        _ writer: inout Output,
        depth: Int
    ) throws {
        switch (kind, value) {
        case (.int32, .varint(let v)): writer.writeInt32(Int32(truncatingIfNeeded: v))
        case (.int64, .varint(let v)): writer.writeInt64(Int64(bitPattern: v))
        case (.uint32, .varint(let v)): writer.writeUInt32(UInt32(truncatingIfNeeded: v))
        case (.uint64, .varint(let v)): writer.writeUInt64(v)
        case (.sint32, .varint(let v)): writer.writeInt32(ZigZag.decode32(UInt32(truncatingIfNeeded: v)))
        case (.sint64, .varint(let v)): writer.writeInt64(ZigZag.decode64(v))
        case (.bool, .varint(let v)): writer.writeBool(v != 0)
        case (.enumeration(let name), .varint(let v)):
            let number = Int32(truncatingIfNeeded: v)
            if !writer.options.enumsAsIntegers,
                let found = pool.enums[name]?.values.first(where: { $0.number == number })
            {
                writer.writeString(found.name)
            } else {
                writer.writeInt32(number)
            }
        case (.fixed32, .fixed32(let v)): writer.writeUInt32(v)
        case (.sfixed32, .fixed32(let v)): writer.writeInt32(Int32(bitPattern: v))
        case (.float, .fixed32(let v)): writer.writeFloat(Float(bitPattern: v))
        case (.fixed64, .fixed64(let v)): writer.writeUInt64(v)
        case (.sfixed64, .fixed64(let v)): writer.writeInt64(Int64(bitPattern: v))
        case (.double, .fixed64(let v)): writer.writeDouble(Double(bitPattern: v))
        case (.string, .bytes(let b)):
            guard let s = String(validating: b, as: UTF8.self) else {
                throw ProtoDecodingError.invalidUTF8(fieldNumber: 0)
            }
            writer.writeString(s)
        case (.bytes, .bytes(let b)): writer.writeBytes(b)
        case (.message(let name), .bytes(let b)): try writeNested(b, name, &writer, depth: depth)
        default:
            // A known field number with another wire type: protobuf keeps it as unknown; JSON omits it.
            writer.writeNull()
        }
    }
}

/// A map key in protobuf's deterministic order: integers by value (signed kinds as signed),
/// strings bytewise by their UTF-8, `false` before `true`. Keys of one map are all one kind.
enum MapKeyOrder: Hashable, Comparable {
    case signed(Int64)
    case unsigned(UInt64)
    case bytes([UInt8])

    /// The order of a key given as proto3 JSON writes it (`"-5"`, `"true"`, `"name"`). Text that
    /// is not a key of the kind (refused by the encoder anyway) orders as bytes.
    init(text: String, kind: DescriptorPool.FieldKind) {
        switch kind {
        case .int32, .int64, .sint32, .sint64, .sfixed32, .sfixed64:
            if let value = Int64(text) { self = .signed(value); return }
        case .uint32, .uint64, .fixed32, .fixed64:
            if let value = UInt64(text) { self = .unsigned(value); return }
        case .bool:
            if text == "false" || text == "true" { self = .unsigned(text == "true" ? 1 : 0); return }
        default: break
        }
        self = .bytes(Array(text.utf8))
    }

    static func < (lhs: MapKeyOrder, rhs: MapKeyOrder) -> Bool {
        switch (lhs, rhs) {
        case (.signed(let a), .signed(let b)): return a < b
        case (.unsigned(let a), .unsigned(let b)): return a < b
        case (.bytes(let a), .bytes(let b)): return a.lexicographicallyPrecedes(b)
        // Mixed cases only for malformed keys: any fixed order will do.
        case (.signed, _): return true
        case (.unsigned, .bytes): return true
        default: return false
        }
    }
}

/// A tiny append-only protobuf writer for dynamic encoding.
enum Wire {
    static func varint(_ value: UInt64, _ out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(truncatingIfNeeded: v))
    }

    static func tag(_ number: Int32, _ wireType: UInt32, _ out: inout [UInt8]) {
        varint(UInt64(UInt32(bitPattern: number)) << 3 | UInt64(wireType), &out)
    }

    static func fixed(_ value: UInt64, _ count: Int, _ out: inout [UInt8]) {
        for i in 0..<count { out.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))) }
    }
}

/// A message whose bytes pass through untouched: how schema-less tools call any method.
public struct RawMessage: ProtoRuntime.Message {
    public static let protoMessageName = "rpc.RawMessage"
    public var bytes: [UInt8] = []
    public var unknownFields = UnknownFields()

    public init() {}
    public init(bytes: [UInt8]) { self.bytes = bytes }

    public func serializedSize() -> Int { bytes.count }
    public func encode(to writer: inout WireWriter) { bytes.withUnsafeBytes { writer.writeRaw($0) } }
    public mutating func decodeMessage(from reader: inout WireReader) throws { bytes += Array(reader.readRemaining()) }
    public func encodeJSON(to writer: inout JSONWriter) { writer.writeBytes(bytes) }
    public mutating func decodeJSON(from reader: inout JSONReader) throws { bytes = try reader.readBytes() }
}
