import NIOCore
import NIOConcurrencyHelpers
import NIOPosix
public import RPC
public import RPCSchema
import ProtoRuntime

// A raw peer of the binary protocol, for tests that send what no client would.

/// A raw TCP peer: sends bytes, collects what the server answers until it closes (or 2 s pass).
/// A server that closes before the bytes are written (an idle timeout on a loaded machine) is
/// not an error here: what it sent before closing is the answer.
/// - Parameters:
///   - timeout: when to stop waiting for the server to close, and return what it sent.
///     Tests of servers that close after answering (HTTP with `Connection: close`, protocol
///     violations) pass a generous one: it is only a safety net, and a loaded machine is slow.
///   - until: the answer is complete once this holds for what arrived (for a server that keeps
///     the connection open): the exchange ends then instead of at the timeout.
public func rawExchange(
    _ endpoint: Endpoint,
    _ bytes: [UInt8],
    timeout: Duration = .seconds(2),
    until: (@Sendable ([UInt8]) -> Bool)? = nil
) async throws -> [UInt8] {
    final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let received = NIOLockedValueBox<[UInt8]>([])
        let complete: (@Sendable ([UInt8]) -> Bool)?
        init(complete: (@Sendable ([UInt8]) -> Bool)?) { self.complete = complete }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
            let all = received.withLockedValue { received -> [UInt8] in
                received += bytes
                return received
            }
            if let complete, complete(all) { context.close(promise: nil) }
        }
    }
    let collector = Collector(complete: until)
    let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) }
        }
        .connect(host: endpoint.host, port: endpoint.port).get()
    do {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes)).get()
    } catch ChannelError.ioOnClosedChannel {
        // The server closed first; fall through and return what it sent.
    } catch let error as IOError where error.errnoCode == EPIPE || error.errnoCode == ECONNRESET {
        // Likewise, seen as a broken pipe or reset when the close races the write.
    }
    let closed = channel.closeFuture
    let (seconds, attoseconds) = timeout.components
    let limit = channel.eventLoop.scheduleTask(in: .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000))
    {
        channel.close(promise: nil)
    }
    try? await closed.get()
    limit.cancel()
    return collector.received.withLockedValue { $0 }
}

/// Frames in a byte string (after skipping a leading preface if present).
public func frames(in bytes: [UInt8]) throws -> [Frame] {
    var buffer = ByteBuffer(bytes: bytes)
    if bytes.starts(with: ConnectionPreface.bytes) { buffer.moveReaderIndex(forwardBy: 8) }
    var result: [Frame] = []
    while let frame = try FrameDecoder.readFrame(from: &buffer, maximumPayloadSize: 1 << 24) { result.append(frame) }
    return result
}

public func frame(_ type: UInt8, _ flags: UInt8 = 0, stream: UInt32, _ payload: [UInt8]) -> [UInt8] {
    var buffer = ByteBuffer()
    buffer.writeInteger(UInt32(payload.count))
    buffer.writeInteger(type)
    buffer.writeInteger(flags)
    buffer.writeInteger(stream)
    buffer.writeBytes(payload)
    return Array(buffer.readableBytesView)
}

public let clientHello = ConnectionPreface.bytes + frame(0, stream: 0, Settings().serializedBytes())

public func callStart(_ method: String) -> [UInt8] { CallStart(method: method).serializedBytes() }

public func goAway(in bytes: [UInt8]) throws -> GoAway? {
    try frames(in: bytes).first { $0.type == .goAway }.map { try GoAway(buffer: $0.payload) }
}

/// A raw TCP peer that stays connected: it writes what a test tells it to (the first bytes from
/// the event loop as the connection opens, so no task hop delays them) and collects what the
/// server sends, for tests that watch a connection over time. With `reading: false` it never
/// reads, like a client that pipelines calls and ignores the answers.
public final class RawConnection: Sendable {
    final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let received = NIOLockedValueBox<[UInt8]>([])
        let first: [UInt8]
        init(first: [UInt8]) { self.first = first }
        func channelActive(context: ChannelHandlerContext) {
            if !first.isEmpty { context.writeAndFlush(NIOAny(ByteBuffer(bytes: first)), promise: nil) }
            context.fireChannelActive()
        }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
            received.withLockedValue { $0 += bytes }
        }
        func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
    }

    let channel: any Channel
    let collector: Collector

    init(channel: any Channel, collector: Collector) {
        self.channel = channel
        self.collector = collector
    }

    /// Connects and sends `first` as soon as the connection is up.
    public static func connect(_ endpoint: Endpoint, sending first: [UInt8] = [], reading: Bool = true) async throws
        -> RawConnection
    {
        let collector = Collector(first: first)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.autoRead, value: reading)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) }
            }
            .connect(host: endpoint.host, port: endpoint.port).get()
        return RawConnection(channel: channel, collector: collector)
    }

    /// Writes bytes without waiting for them to leave (a peer that does not read may never let them).
    public func send(_ bytes: [UInt8]) {
        channel.writeAndFlush(ByteBuffer(bytes: bytes), promise: nil)
    }

    /// Everything received so far.
    public var received: [UInt8] { collector.received.withLockedValue { $0 } }

    /// The frames received so far.
    public func frames() throws -> [Frame] { try TestSupport.frames(in: received) }

    public var isOpen: Bool { channel.isActive }

    /// Waits (polling) until `condition` holds for the frames received, or `timeout` passes (a
    /// safety net: generous, never the thing under test). Returns whether it held.
    @discardableResult
    public func waitFor(timeout: Duration = .seconds(30), _ condition: ([Frame]) throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while try !condition(frames()) {
            if ContinuousClock.now > deadline { return false }
            try await Task.sleep(for: .milliseconds(5))
        }
        return true
    }

    /// Waits until the server closes the connection, or `timeout` passes; returns whether it closed.
    public func waitForClose(timeout: Duration = .seconds(30)) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while channel.isActive {
            if ContinuousClock.now > deadline { return false }
            try await Task.sleep(for: .milliseconds(5))
        }
        return true
    }

    public func close() async { try? await channel.close() }
}

/// The STATUS frames received, by stream id.
public func statuses(in frames: [Frame]) throws -> [UInt32: Status] {
    var result: [UInt32: Status] = [:]
    for frame in frames where frame.type == .status { result[frame.streamID] = try Status(buffer: frame.payload) }
    return result
}

/// The RPC status code `body` fails with (nil if it succeeds; UNKNOWN for an error that is not an
/// ``RPCError``).
public func code(_ body: () async throws -> Void) async -> RPCCode? {
    do {
        try await body()
        return nil
    } catch let error as RPCError {
        return error.code
    } catch {
        return .unknown
    }
}
