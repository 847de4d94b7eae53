public import NIOCore

/// A protobuf message: a `Sendable`, `Hashable` value type generated from a schema.
///
/// Generated types implement the requirements; everything else (encoding to arrays and
/// `ByteBuffer`s, JSON strings) is provided by extensions on top of them.
public protocol Message: Sendable, Hashable {
    /// The fully-qualified protobuf name, e.g. `marketplace.v1.Order`.
    static var protoMessageName: String { get }

    /// A message with every field at its default.
    init()

    /// Fields read from the wire that this version of the schema does not know, kept verbatim
    /// and re-emitted after the known fields.
    var unknownFields: UnknownFields { get set }

    /// The exact number of bytes ``encode(to:)`` writes.
    func serializedSize() -> Int

    /// Writes the message's fields (no length prefix) into `writer`, which has room for
    /// ``serializedSize()`` bytes.
    func encode(to writer: inout WireWriter)

    /// Reads fields from `reader` until it is exhausted, merging them into `self`.
    /// - Throws: ``ProtoDecodingError`` for malformed input.
    mutating func decodeMessage(from reader: inout WireReader) throws

    /// Writes the message as a proto3 JSON object.
    func encodeJSON(to writer: inout JSONWriter)

    /// Reads a proto3 JSON value (an object for ordinary messages) and merges it into `self`.
    /// - Throws: ``JSONDecodingError`` naming the path of the offending value.
    mutating func decodeJSON(from reader: inout JSONReader) throws

    /// Checks the schema's field rules (`rpc.v1.rules`, docs/PROTOCOL.md "Field rules"). The
    /// generator implements it for messages with rules (or holding messages with rules); for the
    /// rest it is the empty default. The RPC server calls it on every request message.
    /// - Throws: ``FieldViolation`` naming the first field that breaks its rule.
    func validate() throws(FieldViolation)
}

extension Message {
    /// No rules: nothing to check.
    @inlinable
    public func validate() throws(FieldViolation) {}
}

extension Message {
    /// Decodes a message from its binary encoding.
    /// - Throws: ``ProtoDecodingError`` when `bytes` is not a valid encoding.
    @inlinable
    public init(serializedBytes bytes: some Collection<UInt8>) throws {
        self.init()
        let done: Void? = try bytes.withContiguousStorageIfAvailable { storage in
            var reader = WireReader(bytes: UnsafeRawBufferPointer(storage))
            try self.decodeMessage(from: &reader)
        }
        if done == nil {
            let array = Array(bytes)
            try array.withUnsafeBytes { raw in
                var reader = WireReader(bytes: raw)
                try self.decodeMessage(from: &reader)
            }
        }
    }

    /// Decodes a message from raw memory (used to decode straight out of a receive buffer).
    /// - Throws: ``ProtoDecodingError`` when `bytes` is not a valid encoding.
    @inlinable
    public init(serializedBytes bytes: UnsafeRawBufferPointer) throws {
        self.init()
        var reader = WireReader(bytes: bytes)
        try self.decodeMessage(from: &reader)
    }

    /// Decodes a message from the readable bytes of `buffer` without copying them.
    /// - Throws: ``ProtoDecodingError`` when the bytes are not a valid encoding.
    @inlinable
    public init(buffer: ByteBuffer) throws {
        self.init()
        try buffer.withUnsafeReadableBytes { raw in
            var reader = WireReader(bytes: raw)
            try self.decodeMessage(from: &reader)
        }
    }

    /// Merges the fields encoded in `bytes` into this message.
    /// - Throws: ``ProtoDecodingError`` when `bytes` is not a valid encoding.
    @inlinable
    public mutating func merge(serializedBytes bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { raw in
            var reader = WireReader(bytes: raw)
            try self.decodeMessage(from: &reader)
        }
    }

    /// The binary encoding of the message, written in one pass into one allocation.
    @inlinable
    public func serializedBytes() -> [UInt8] {
        let size = serializedSize()
        return [UInt8](unsafeUninitializedCapacity: size) { storage, initialized in
            var writer = WireWriter(buffer: UnsafeMutableRawBufferPointer(storage))
            encode(to: &writer)
            initialized = size
        }
    }

    /// Appends the binary encoding of the message to `buffer` and returns the bytes written.
    @inlinable
    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        let size = serializedSize()
        return encode(into: &buffer, size: size)
    }

    /// Appends the binary encoding to `buffer` given its precomputed size.
    @inlinable
    @discardableResult
    public func encode(into buffer: inout ByteBuffer, size: Int) -> Int {
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { raw in
            var writer = WireWriter(buffer: UnsafeMutableRawBufferPointer(rebasing: raw.prefix(size)))
            encode(to: &writer)
            return size
        }
    }
}

/// The unknown fields of a message: the raw bytes of each field (tag included), in arrival order.
public struct UnknownFields: Hashable, Sendable {
    @usableFromInline var storage: [UInt8]

    /// The concatenated encoded fields.
    public var bytes: [UInt8] { storage }

    /// No unknown fields.
    @inlinable
    public init() { storage = [] }

    /// Unknown fields from already-encoded field bytes.
    public init(bytes: [UInt8]) { self.storage = bytes }

    /// Whether there are no unknown fields.
    @inlinable
    public var isEmpty: Bool { storage.isEmpty }

    /// The number of bytes they take on the wire.
    @inlinable
    public var count: Int { storage.count }

    @inlinable
    mutating func append(_ raw: UnsafeRawBufferPointer) {
        storage.append(contentsOf: raw)
    }

    /// Writes the fields back verbatim.
    @inlinable
    public func encode(to writer: inout WireWriter) {
        if !storage.isEmpty {
            storage.withUnsafeBytes { writer.writeRaw($0) }
        }
    }
}

/// A generated protobuf enum: open, so values unknown to this schema version survive a round trip.
public protocol ProtoEnum: Sendable, Hashable, CaseIterable {
    /// The value for a wire number; unknown numbers map to an `unrecognized` case.
    init(protoValue: Int32)
    /// The wire number.
    var protoValue: Int32 { get }
    /// The value's name in the schema for known values, `nil` for unrecognized numbers.
    var protoName: String? { get }
    /// The value named `name` in the schema (aliases included), if any.
    init?(protoName: String)
}

extension ProtoEnum {
    /// The enum's default: the value numbered 0.
    @inlinable
    public static var protoDefault: Self { Self(protoValue: 0) }
}

/// Holds a message field whose type contains itself (directly or through other messages).
///
/// Swift structs cannot contain themselves; the box is an immutable class, so the field keeps
/// value semantics (setting it allocates a new box).
public final class ProtoBox<Value: Message>: Hashable, Sendable {
    /// The boxed message.
    public let value: Value

    /// Boxes `value`.
    public init(_ value: Value) { self.value = value }

    public static func == (lhs: ProtoBox, rhs: ProtoBox) -> Bool {
        lhs === rhs || lhs.value == rhs.value
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(value) }
}

/// A `.proto` file's schema as generated code embeds it: a serialized
/// `google.protobuf.FileDescriptorProto`, for reflection and schema-driven tools.
public struct EmbeddedFileDescriptor: Sendable, Hashable {
    /// The import path, e.g. `marketplace/v1/orders.proto`.
    public let path: String
    /// The import paths this file depends on.
    public let dependencies: [String]
    /// The serialized `FileDescriptorProto`.
    public let serialized: [UInt8]

    /// - Parameters:
    ///   - path: the file's import path.
    ///   - dependencies: its imports.
    ///   - base64: the serialized descriptor, base64-encoded (compact in source, fast to compile).
    public init(path: String, dependencies: [String], base64: String) {
        self.path = path
        self.dependencies = dependencies
        self.serialized = Base64.decode(base64.utf8) ?? []
    }
}
