/// `google.protobuf.Empty`: a message with no fields. JSON form: `{}`.
public struct ProtoEmpty: Message {
    public static let protoMessageName = "google.protobuf.Empty"
    public var unknownFields = UnknownFields()

    public init() {}

    public func serializedSize() -> Int { unknownFields.count }

    public func encode(to writer: inout WireWriter) { unknownFields.encode(to: &writer) }

    public mutating func decodeMessage(from reader: inout WireReader) throws {
        while try reader.nextTag() != nil { try reader.skipField(into: &unknownFields) }
    }

    public func encodeJSON(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.endObject()
    }

    public mutating func decodeJSON(from reader: inout JSONReader) throws {
        try reader.beginObject()
        while let key = try reader.nextKey() { try reader.unknownField(key) }
    }
}
