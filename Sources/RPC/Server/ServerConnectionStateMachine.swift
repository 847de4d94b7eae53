/// The rules of the protocol, as the server applies them to each frame a client sends:
/// connection state, stream ids and per-stream states (docs/PROTOCOL.md §3–§8). Pure: it decides,
/// the connection handler acts, and the rules are tested alone.
struct ServerConnectionStateMachine {
    enum ConnectionState: Equatable {
        /// Waiting for the client's SETTINGS (the first frame after the preface).
        case awaitingSettings
        case active
        /// GOAWAY sent: streams above `lastStreamID` are refused.
        case draining(lastStreamID: UInt32)
    }

    /// The request side of a stream.
    enum StreamState: Equatable {
        /// The client may still send messages.
        case open
        /// The client sent END_STREAM.
        case halfClosedRemote
    }

    /// What the handler does with a frame.
    enum Action: Equatable {
        /// Apply the client's SETTINGS and acknowledge them.
        case applySettings
        /// Nothing to do (acknowledgements, late frames for streams that ended).
        case ignore
        /// Echo the PING with ACK.
        case answerPing
        /// The client is going away: drain.
        case peerGoingAway
        /// A new call: look up the method and start it.
        case openStream(UInt32, endStream: Bool)
        /// A new call that is not accepted.
        case refuseStream(UInt32, RPCError)
        /// A request message (or only END_STREAM when `hasMessage` is false) for an open stream.
        case deliver(UInt32, endStream: Bool, hasMessage: Bool)
        case cancelStream(UInt32)
        case windowUpdate(UInt32, increment: UInt32)
    }

    private(set) var state = ConnectionState.awaitingSettings
    private(set) var highestStreamID: UInt32 = 0
    private(set) var streams: [UInt32: StreamState] = [:]

    /// Decides what a frame means.
    /// - Throws: ``ProtocolViolation`` when the frame breaks the protocol (the connection ends).
    mutating func receive(
        typeByte: UInt8,
        flags: FrameFlags,
        streamID: UInt32,
        payloadSize: Int,
        windowIncrement: UInt32?
    )
        throws -> Action
    {
        guard let type = FrameType(rawValue: typeByte) else {
            throw ProtocolViolation(.protocolError, "unknown frame type 0x\(String(typeByte, radix: 16))")
        }
        if state == .awaitingSettings {
            guard type == .settings, !flags.contains(.ack) else {
                throw ProtocolViolation(.protocolError, "the first frame must be SETTINGS, got \(type)")
            }
        }
        switch type {
        case .settings:
            guard streamID == 0 else { throw ProtocolViolation(.protocolError, "SETTINGS on stream \(streamID)") }
            if flags.contains(.ack) { return .ignore }
            if state == .awaitingSettings { state = .active }
            return .applySettings
        case .ping:
            guard streamID == 0, payloadSize == 8 else {
                throw ProtocolViolation(.protocolError, "PING must carry 8 bytes on stream 0")
            }
            return flags.contains(.ack) ? .ignore : .answerPing
        case .goAway:
            guard streamID == 0 else { throw ProtocolViolation(.protocolError, "GOAWAY on stream \(streamID)") }
            return .peerGoingAway
        case .callStart:
            guard streamID > highestStreamID else {
                throw ProtocolViolation(
                    .protocolError,
                    "stream id \(streamID) is not above the last one (\(highestStreamID))"
                )
            }
            highestStreamID = streamID
            if case .draining(let last) = state, streamID > last {
                return .refuseStream(streamID, RPCError(code: .unavailable, message: "the server is shutting down"))
            }
            let endStream = flags.contains(.endStream)
            streams[streamID] = endStream ? .halfClosedRemote : .open
            return .openStream(streamID, endStream: endStream)
        case .message:
            guard streamID != 0, streamID <= highestStreamID else {
                throw ProtocolViolation(.protocolError, "MESSAGE on stream \(streamID), which was never opened")
            }
            guard let stream = streams[streamID] else { return .ignore }
            guard stream == .open else {
                throw ProtocolViolation(.protocolError, "MESSAGE on stream \(streamID) after its END_STREAM")
            }
            let endStream = flags.contains(.endStream)
            if endStream { streams[streamID] = .halfClosedRemote }
            return .deliver(streamID, endStream: endStream, hasMessage: !(endStream && flags.contains(.noMessage)))
        case .cancel:
            guard streamID != 0 else { throw ProtocolViolation(.protocolError, "CANCEL on stream 0") }
            guard streams.removeValue(forKey: streamID) != nil else { return .ignore }
            return .cancelStream(streamID)
        case .windowUpdate:
            guard payloadSize == 4, let increment = windowIncrement, increment > 0 else {
                throw ProtocolViolation(.protocolError, "WINDOW_UPDATE must carry a positive 4-byte increment")
            }
            return streams[streamID] == nil ? .ignore : .windowUpdate(streamID, increment: increment)
        case .status, .responseStart:
            throw ProtocolViolation(.protocolError, "\(type) frames are sent by servers only")
        }
    }

    /// The server ended a stream (status sent, or the call was cancelled).
    mutating func streamClosed(_ id: UInt32) { streams.removeValue(forKey: id) }

    /// Starts draining; returns the last stream id still served.
    mutating func beginDrain() -> UInt32? {
        if case .draining = state { return nil }
        state = .draining(lastStreamID: highestStreamID)
        return highestStreamID
    }

    /// Draining and no stream left: the connection can close.
    var isDrained: Bool {
        if case .draining = state { return streams.isEmpty }
        return false
    }
}
