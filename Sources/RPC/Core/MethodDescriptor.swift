/// The four kinds of call.
public enum CallKind: String, Sendable, Hashable {
    case unary, clientStreaming, serverStreaming, bidiStreaming

    /// Whether the client sends more than one message.
    public var clientStreams: Bool { self == .clientStreaming || self == .bidiStreaming }
    /// Whether the server sends more than one message.
    public var serverStreams: Bool { self == .serverStreaming || self == .bidiStreaming }
}

/// Identifies a method: `marketplace.v1.OrderService` / `GetOrder`.
public struct MethodDescriptor: Hashable, Sendable, CustomStringConvertible {
    /// The fully-qualified service name.
    public let service: String
    /// The method's name.
    public let method: String
    public let kind: CallKind
    /// The method's options as the schema sets them: a serialized `google.protobuf.MethodOptions`,
    /// custom options included. See ``accessRule`` and ``option(_:as:)``.
    public let options: [UInt8]

    public init(service: String, method: String, kind: CallKind, options: [UInt8] = []) {
        self.service = service
        self.method = method
        self.kind = kind
        self.options = options
        self.path = "/\(service)/\(method)"
    }

    /// `/package.Service/Method`, as CALL_START carries it (built once: every call uses it).
    public let path: String

    public var description: String { path }
}
