import NIOConcurrencyHelpers
public import RPCSchema

/// The serving status of each service of a server, as the Health service reports it.
public final class HealthStatusBook: Sendable {
    public typealias Status = HealthCheckResponse.ServingStatus

    struct State {
        var statuses: [String: Status]
        var watchers: [UInt64: (service: String, continuation: AsyncStream<Status>.Continuation)] = [:]
        var nextWatcher: UInt64 = 0
    }

    let state: NIOLockedValueBox<State>

    init(services: [String]) {
        var statuses: [String: Status] = ["": .serving]
        for service in services { statuses[service] = .serving }
        state = NIOLockedValueBox(State(statuses: statuses))
    }

    /// Sets a service's status (`""` is the server as a whole) and tells its watchers.
    public func set(_ service: String, _ status: Status) {
        let watchers = state.withLockedValue { state -> [AsyncStream<Status>.Continuation] in
            state.statuses[service] = status
            return state.watchers.values.filter { $0.service == service }.map(\.continuation)
        }
        for watcher in watchers { watcher.yield(status) }
    }

    /// The status of `service`, nil if the server does not know it.
    public func status(of service: String) -> Status? { state.withLockedValue { $0.statuses[service] } }

    /// Every known service becomes NOT_SERVING (shutdown).
    func shutdown() {
        let services = state.withLockedValue { Array($0.statuses.keys) }
        for service in services { set(service, .notServing) }
    }

    func watch(_ service: String) -> AsyncStream<Status> {
        let (stream, continuation) = AsyncStream<Status>.makeStream()
        let (id, current) = state.withLockedValue { state -> (UInt64, Status) in
            state.nextWatcher += 1
            state.watchers[state.nextWatcher] = (service, continuation)
            return (state.nextWatcher, state.statuses[service] ?? .serviceUnknown)
        }
        continuation.yield(current)
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLockedValue { $0.watchers.removeValue(forKey: id) }
        }
        return stream
    }
}

/// `rpc.v1.Health`, on every server.
struct HealthService: Health.Handler {
    let book: HealthStatusBook

    func check(_ request: HealthCheckRequest, context: ServerContext) async throws -> HealthCheckResponse {
        guard let status = book.status(of: request.service) else {
            throw RPCError(code: .notFound, message: "unknown service '\(request.service)'")
        }
        return HealthCheckResponse(status: status)
    }

    func watch(
        _ request: HealthCheckRequest,
        writer: ResponseWriter<HealthCheckResponse>,
        context: ServerContext
    ) async throws {
        for await status in book.watch(request.service) {
            try await writer.write(HealthCheckResponse(status: status))
        }
    }
}
