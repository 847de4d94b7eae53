import Foundation
import NIOConcurrencyHelpers
import RPC

/// The test service: echoes, with delays, failures, forwarding and cancellation tracking.
struct EchoService: Echo.Handler {
    /// Calls that saw their task cancelled, by text.
    let cancelled = NIOLockedValueBox<[String]>([])
    let started = NIOLockedValueBox(0)

    struct Boom: Error {}

    func prepare(_ request: EchoRequest) async throws {
        started.withLockedValue { $0 += 1 }
        if request.delayMs > 0 {
            do {
                try await Task.sleep(for: .milliseconds(request.delayMs))
            } catch {
                cancelled.withLockedValue { $0.append(request.text) }
                throw error
            }
        }
        if request.failCode == 100 { throw Boom() }
        if request.failCode != 0 {
            throw RPCError(
                code: RPCCode(rawValue: request.failCode),
                message: "asked to fail",
                details: [1, 2, 3],
                metadata: Metadata([("x-reason", "test")])
            )
        }
    }

    func response(_ request: EchoRequest, _ context: ServerContext, index: Int32 = 0) -> EchoResponse {
        var response = EchoResponse(text: request.text, index: index, traceId: context.traceID)
        if let deadline = context.deadline {
            let remaining = deadline - .now
            response.remainingMicros =
                remaining.components.seconds * 1_000_000 + remaining.components.attoseconds / 1_000_000_000_000
        }
        return response
    }

    func get(_ request: EchoRequest, context: ServerContext) async throws -> EchoResponse {
        try await prepare(request)
        var initial = Metadata([("x-echo", request.text)])
        if let caller = context.attributes["caller"] { initial.add("x-caller", caller) }
        context.setResponseMetadata(initial)
        context.setTrailers(Metadata([("x-done", "yes")]))
        if !request.forwardTo.isEmpty, request.hops > 0, let endpoint = Endpoint(request.forwardTo) {
            let client = RPCClient(endpoints: [endpoint])
            defer { Task { await client.close() } }
            var next = request
            next.hops -= 1
            if next.hops == 0 { next.forwardTo = "" }
            return try await Echo.Client(client).get(next)
        }
        return response(request, context)
    }

    func reflect(_ request: Nest, context: ServerContext) async throws -> Nest { request }

    func expand(_ request: EchoRequest, writer: ResponseWriter<EchoResponse>, context: ServerContext) async throws {
        try await prepare(request)
        for i in 0..<request.count {
            try await writer.write(response(request, context, index: i))
        }
    }

    func collect(_ requests: RequestStream<EchoRequest>, context: ServerContext) async throws -> EchoResponse {
        var texts: [String] = []
        for try await request in requests {
            try await prepare(request)
            texts.append(request.text)
        }
        return EchoResponse(text: texts.joined(separator: ","), index: Int32(texts.count))
    }

    func update(_ requests: RequestStream<EchoRequest>, writer: ResponseWriter<EchoResponse>, context: ServerContext)
        async throws
    {
        var index: Int32 = 0
        for try await request in requests {
            try await prepare(request)
            try await writer.write(EchoResponse(text: request.text.uppercased(), index: index))
            index += 1
        }
    }
}

/// Runs a server on an ephemeral port for the duration of `body`, then shuts it down gracefully.
func withServer<T: Sendable>(
    _ service: EchoService = EchoService(),
    configuration: ServerConfiguration = ServerConfiguration(),
    _ body: @Sendable (RPCServer, Endpoint) async throws -> T
) async throws -> T {
    let server = RPCServer(services: [service], configuration: configuration)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await server.run() }
        let port = try await server.localPort
        do {
            let result = try await body(server, Endpoint(host: "127.0.0.1", port: port))
            group.cancelAll()
            return result
        } catch {
            group.cancelAll()
            throw error
        }
    }
}
