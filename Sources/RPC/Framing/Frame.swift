public import NIOCore

/// The frame types of the protocol (docs/PROTOCOL.md, "Frames").
public enum FrameType: UInt8, Sendable, CaseIterable {
    case settings = 0x0
    case callStart = 0x1
    case responseStart = 0x2
    case message = 0x3
    case status = 0x4
    case cancel = 0x5
    case windowUpdate = 0x6
    case ping = 0x7
    case goAway = 0x8
}

/// Frame flags.
public struct FrameFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// On MESSAGE and CALL_START from a client: no more messages follow from this side.
    public static let endStream = FrameFlags(rawValue: 0x1)
    /// On SETTINGS and PING: an acknowledgement.
    public static let ack = FrameFlags(rawValue: 0x1)
    /// On MESSAGE with END_STREAM: the frame carries no message, only the end of the stream
    /// (an empty payload alone is a valid message: one with every field at its default).
    public static let noMessage = FrameFlags(rawValue: 0x2)
}

/// One frame: `length (4, BE) | type (1) | flags (1) | stream id (4, BE) | payload (length)`.
public struct Frame: Sendable, Hashable {
    /// Bytes before the payload.
    public static let headerSize = 10

    /// The type byte as received; unknown types are kept so the receiver can answer them.
    public var typeByte: UInt8
    public var flags: FrameFlags
    public var streamID: UInt32
    public var payload: ByteBuffer

    public var type: FrameType? { FrameType(rawValue: typeByte) }

    public init(type: FrameType, flags: FrameFlags = [], streamID: UInt32, payload: ByteBuffer) {
        self.typeByte = type.rawValue
        self.flags = flags
        self.streamID = streamID
        self.payload = payload
    }

    init(typeByte: UInt8, flags: FrameFlags, streamID: UInt32, payload: ByteBuffer) {
        self.typeByte = typeByte
        self.flags = flags
        self.streamID = streamID
        self.payload = payload
    }
}

/// The connection preface: 7 magic bytes then the protocol version. The first byte is not ASCII
/// so an HTTP request or a text protocol is recognised at once.
public enum ConnectionPreface {
    public static let magic: [UInt8] = [0x8A, 0x4D, 0x52, 0x50, 0x43, 0x0D, 0x0A]  // \x8A "MRPC" \r \n
    public static let version: UInt8 = 1
    public static let bytes: [UInt8] = magic + [version]
}

extension ByteBuffer {
    /// Appends a frame header; `payloadLength` bytes of payload must follow.
    @inlinable
    public mutating func writeFrameHeader(type: FrameType, flags: FrameFlags = [], streamID: UInt32, payloadLength: Int)
    {
        writeInteger(UInt32(truncatingIfNeeded: payloadLength))
        writeInteger(type.rawValue)
        writeInteger(flags.rawValue)
        writeInteger(streamID)
    }

    /// Appends a whole frame whose payload is `payload`.
    public mutating func writeFrame(type: FrameType, flags: FrameFlags = [], streamID: UInt32, payload: ByteBuffer) {
        writeFrameHeader(type: type, flags: flags, streamID: streamID, payloadLength: payload.readableBytes)
        var payload = payload
        writeBuffer(&payload)
    }
}
