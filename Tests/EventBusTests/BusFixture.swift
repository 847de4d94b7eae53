import EventBus
import Foundation
import RPC
import RPCSchema

/// Runs a bus server on an ephemeral port, keeping its data in `directory`, and gives `body` a
/// client of it; the client is closed and the server stopped when `body` returns or throws.
func withBus<T: Sendable>(in directory: URL, _ body: @Sendable (Broker.Client) async throws -> T) async throws -> T {
    let bus = try await EventBusServer.make(dataDirectory: directory.path, configuration: ServerConfiguration())
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await bus.run() }
        defer { group.cancelAll() }
        let client = RPCClient(endpoints: [Endpoint(host: "127.0.0.1", port: try await bus.server.localPort)])
        do {
            let result = try await body(Broker.Client(client))
            await client.close()
            return result
        } catch {
            await client.close()
            throw error
        }
    }
}
