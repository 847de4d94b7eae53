import Logging

/// What a call carries implicitly into the calls it makes: the deadline and the trace id
/// propagate through this task-local to every client call made inside a handler.
public struct CallContext: Sendable {
    /// When the current call must be done.
    public var deadline: ContinuousClock.Instant?
    /// The trace this call belongs to (propagated as `x-trace-id`).
    public var traceID: String?
    /// The request that started the chain (propagated as `x-request-id`).
    public var requestID: String?

    public init(deadline: ContinuousClock.Instant? = nil, traceID: String? = nil, requestID: String? = nil) {
        self.deadline = deadline
        self.traceID = traceID
        self.requestID = requestID
    }

    /// The context of the call being handled by the current task, if any.
    @TaskLocal public static var current: CallContext?
}

/// Metadata keys the runtime reads and writes.
public enum MetadataKeys {
    public static let traceID = "x-trace-id"
    public static let requestID = "x-request-id"
    public static let authorization = "authorization"
    /// The end client's address, as a proxy (the gateway) saw it; trusted only from trusted peers.
    public static let clientAddress = "x-client-address"
}

/// Random identifiers for traces and requests (16 hex digits).
enum IDGenerator {
    static func make() -> String {
        let value = UInt64.random(in: 0 ... .max)
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

extension Logger {
    /// A logger with the call's ids attached.
    func with(requestID: String, traceID: String, method: String) -> Logger {
        var logger = self
        logger[metadataKey: "request-id"] = .string(requestID)
        logger[metadataKey: "trace-id"] = .string(traceID)
        logger[metadataKey: "rpc.method"] = .string(method)
        return logger
    }
}
