import EventBus
import Foundation
import MarketplaceServices
import Logging
import RPC
import RPCSchema
import ServiceKit

extension EventBusServer {
    /// A bus for tests with its real authenticator: service tokens signed with the data
    /// directory's service key (admin tokens with its auth key, where one exists).
    static func make(
        dataDirectory: String,
        configuration: ServerConfiguration,
        topology: BusTopology = .standard,
        logger: Logger = Logger(label: "eventbus")
    ) async throws -> EventBusServer {
        try await make(
            dataDirectory: dataDirectory,
            configuration: configuration,
            topology: topology,
            authenticator: try BusAuthenticator.make(dataDirectory: dataDirectory),
            logger: logger
        )
    }
}

/// A client of the bus at `endpoint` calling as `service` (the operator, who may do everything,
/// unless another is named), with a token signed by `dataDirectory`'s service key.
func busClient(
    _ endpoint: Endpoint,
    dataDirectory: String,
    as service: String = "operator",
    configuration: ClientConfiguration = ClientConfiguration()
) throws -> Broker.Client {
    let identity = ServiceIdentity(name: service, key: try ServiceKeys.serviceKey(dataDirectory: dataDirectory))
    return Broker.Client(
        RPCClient(endpoints: [endpoint], configuration: configuration, interceptors: [identity.interceptor])
    )
}

/// Runs a bus server on an ephemeral port, keeping its data in `directory`, and gives `body` a
/// client of it (as `service`: the operator unless named); the client is closed and the server stopped when `body`
/// returns or throws.
func withBus<T: Sendable>(
    in directory: URL,
    as service: String = "operator",
    _ body: @Sendable (Broker.Client) async throws -> T
) async throws -> T {
    let bus = try await EventBusServer.make(dataDirectory: directory.path, configuration: ServerConfiguration())
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await bus.run() }
        defer { group.cancelAll() }
        let client = try busClient(
            Endpoint(host: "127.0.0.1", port: try await bus.server.localPort),
            dataDirectory: directory.path,
            as: service
        )
        do {
            let result = try await body(client)
            await client.client.close()
            return result
        } catch {
            await client.client.close()
            throw error
        }
    }
}
