public import NIOCore

/// Fired (as a user inbound event) when the peer's connection preface has been checked.
public struct PrefaceReceived: Sendable, Hashable {}

/// Splits the byte stream into frames, after checking the peer's connection preface.
///
/// The length of every frame is checked against the maximum before any byte of it is buffered
/// beyond what has arrived, so an oversized length costs nothing. Frames are slices of the
/// receive buffer (no copies). Violations throw ``ProtocolViolation``.
public struct FrameDecoder: ByteToMessageDecoder, Sendable {
    public typealias InboundOut = Frame

    enum State: Sendable {
        case awaitingPreface
        case frames
    }

    var state: State
    /// The largest payload accepted.
    public var maximumPayloadSize: Int

    /// - Parameters:
    ///   - expectPreface: whether the peer starts with the connection preface (both sides do).
    ///   - maximumPayloadSize: frames with a longer payload are a `FRAME_SIZE_ERROR`.
    public init(expectPreface: Bool = true, maximumPayloadSize: Int) {
        self.state = expectPreface ? .awaitingPreface : .frames
        self.maximumPayloadSize = maximumPayloadSize
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        switch state {
        case .awaitingPreface:
            try checkPreface(&buffer)
            if case .awaitingPreface = state { return .needMoreData }
            context.fireUserInboundEventTriggered(PrefaceReceived())
            return .continue
        case .frames:
            guard let frame = try FrameDecoder.readFrame(from: &buffer, maximumPayloadSize: maximumPayloadSize) else {
                return .needMoreData
            }
            context.fireChannelRead(Self.wrapInboundOut(frame))
            return .continue
        }
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws
        -> DecodingState
    {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }

    mutating func checkPreface(_ buffer: inout ByteBuffer) throws {
        let magic = ConnectionPreface.magic
        let available = min(buffer.readableBytes, magic.count + 1)
        guard let prefix = buffer.getBytes(at: buffer.readerIndex, length: available) else { return }
        // Reject as soon as a byte differs: a wrong peer need not send 8 bytes to be told.
        for (i, byte) in prefix.prefix(magic.count).enumerated() where byte != magic[i] {
            throw ProtocolViolation(
                .protocolError,
                "not a marketplace-rpc peer: bad connection preface",
                looksLikeHTTP: FrameDecoder.looksLikeHTTP(prefix)
            )
        }
        guard available == magic.count + 1 else { return }
        let version = prefix[magic.count]
        guard version == ConnectionPreface.version else {
            throw ProtocolViolation(
                .unsupportedVersion,
                "protocol version \(version) is not supported; this side speaks \(ConnectionPreface.version)"
            )
        }
        buffer.moveReaderIndex(forwardBy: magic.count + 1)
        state = .frames
    }

    static func looksLikeHTTP(_ bytes: [UInt8]) -> Bool {
        let text = String(decoding: bytes.prefix(4), as: UTF8.self)
        return ["GET ", "POST", "PUT ", "HEAD", "DELE", "OPTI", "PATC", "PRI ", "CONN", "TRAC", "HTTP"].contains {
            $0.hasPrefix(text) || text.hasPrefix($0)
        }
            && !bytes.isEmpty
    }

    /// Reads one frame if it has fully arrived.
    /// - Throws: ``ProtocolViolation`` (`FRAME_SIZE_ERROR`) for a length over the maximum.
    public static func readFrame(from buffer: inout ByteBuffer, maximumPayloadSize: Int) throws -> Frame? {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return nil }
        guard UInt64(length) <= UInt64(maximumPayloadSize) else {
            throw ProtocolViolation(
                .frameSizeError,
                "frame payload of \(length) bytes exceeds the maximum of \(maximumPayloadSize)"
            )
        }
        let total = Frame.headerSize + Int(length)
        guard buffer.readableBytes >= total,
            let typeByte = buffer.getInteger(at: buffer.readerIndex + 4, as: UInt8.self),
            let flags = buffer.getInteger(at: buffer.readerIndex + 5, as: UInt8.self),
            let streamID = buffer.getInteger(at: buffer.readerIndex + 6, as: UInt32.self)
        else { return nil }
        buffer.moveReaderIndex(forwardBy: Frame.headerSize)
        guard let payload = buffer.readSlice(length: Int(length)) else { return nil }
        return Frame(typeByte: typeByte, flags: FrameFlags(rawValue: flags), streamID: streamID, payload: payload)
    }
}
