import NIOConcurrencyHelpers
public import RPC
import RPCSchema

/// A subscriber's acks and nacks, sent from a task of their own: whatever the consumer settles
/// while one message is on its way goes out together in the next (one `Ack` with many tags), and
/// the consumer goes on to its next delivery without waiting for the write.
///
/// ```swift
/// try await bus.subscribe { writer, deliveries in
///     try await writer.write(SubscribeRequest(kind: .subscribe(.init(queue: "q"))))
///     try await Acknowledgements.run(writer) { acks in
///         for try await delivery in deliveries { …; acks.ack(delivery.deliveryTag) }
///     }
/// }
/// ```
public final class Acknowledgements: Sendable {
    struct Pending {
        var acks: [UInt64] = []
        var requeue: [UInt64] = []
        var reject: [UInt64] = []
        var isEmpty: Bool { acks.isEmpty && requeue.isEmpty && reject.isEmpty }
    }

    let pending = NIOLockedValueBox(Pending())
    let signal: AsyncStream<Void>.Continuation
    let signals: AsyncStream<Void>

    init() {
        (signals, signal) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Acknowledges a delivery (the broker forgets the event for this queue).
    public func ack(_ tag: UInt64) {
        pending.withLockedValue { $0.acks.append(tag) }
        signal.yield()
    }

    /// Rejects a delivery: requeued to be delivered again, or dead-lettered.
    public func nack(_ tag: UInt64, requeue: Bool) {
        pending.withLockedValue { requeue ? $0.requeue.append(tag) : $0.reject.append(tag) }
        signal.yield()
    }

    /// Runs `body` with an `Acknowledgements` whose messages go out on `writer`; when `body`
    /// returns, what it settled is sent before this returns.
    public static func run<T: Sendable>(
        _ writer: RequestWriter<SubscribeRequest>,
        _ body: (Acknowledgements) async throws -> T
    ) async throws -> T {
        let acks = Acknowledgements()
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in acks.signals { try await acks.send(on: writer) }
                try await acks.send(on: writer)
            }
            do {
                let result = try await body(acks)
                acks.signal.finish()
                try await group.waitForAll()
                return result
            } catch {
                acks.signal.finish()
                group.cancelAll()
                throw error
            }
        }
    }

    func send(on writer: RequestWriter<SubscribeRequest>) async throws {
        let batch = pending.withLockedValue { pending -> Pending in
            defer { pending = Pending() }
            return pending
        }
        guard !batch.isEmpty else { return }
        if !batch.acks.isEmpty { try await writer.write(SubscribeRequest(kind: .ack(.init(deliveryTags: batch.acks)))) }
        if !batch.requeue.isEmpty {
            try await writer.write(SubscribeRequest(kind: .nack(.init(deliveryTags: batch.requeue, requeue: true))))
        }
        if !batch.reject.isEmpty {
            try await writer.write(SubscribeRequest(kind: .nack(.init(deliveryTags: batch.reject, requeue: false))))
        }
    }
}
