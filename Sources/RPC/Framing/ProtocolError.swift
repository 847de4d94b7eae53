/// Connection error codes, carried in GOAWAY (docs/PROTOCOL.md, "Connection errors").
public struct ConnectionErrorCode: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// A graceful close.
    public static let noError = ConnectionErrorCode(rawValue: 0)
    /// The peer broke the protocol (bad preface, bad frame order, bad stream id, bad payload).
    public static let protocolError = ConnectionErrorCode(rawValue: 1)
    /// A frame longer than the receiver's maximum.
    public static let frameSizeError = ConnectionErrorCode(rawValue: 2)
    /// The sender failed internally.
    public static let internalError = ConnectionErrorCode(rawValue: 3)
    /// The connection was idle too long, or keepalive pings went unanswered.
    public static let idleTimeout = ConnectionErrorCode(rawValue: 4)
    /// The peer speaks a version of the protocol this side does not.
    public static let unsupportedVersion = ConnectionErrorCode(rawValue: 5)
    /// The peer made this side hold more than its limit (answers it did not read, say).
    public static let resourceLimit = ConnectionErrorCode(rawValue: 6)

    public var description: String {
        switch rawValue {
        case 0: return "NO_ERROR"
        case 1: return "PROTOCOL_ERROR"
        case 2: return "FRAME_SIZE_ERROR"
        case 3: return "INTERNAL_ERROR"
        case 4: return "IDLE_TIMEOUT"
        case 5: return "UNSUPPORTED_VERSION"
        case 6: return "RESOURCE_LIMIT"
        default: return "ERROR_\(rawValue)"
        }
    }
}

/// A violation of the protocol by the peer: the connection is closed after a GOAWAY.
public struct ProtocolViolation: Error, Hashable, Sendable, CustomStringConvertible {
    public var code: ConnectionErrorCode
    public var reason: String
    /// The peer sent what looks like an HTTP request: answer in HTTP so a person sees why.
    public var looksLikeHTTP: Bool

    public init(_ code: ConnectionErrorCode, _ reason: String, looksLikeHTTP: Bool = false) {
        self.code = code
        self.reason = reason
        self.looksLikeHTTP = looksLikeHTTP
    }

    public var description: String { "\(code): \(reason)" }
}
