import EventBus
import Foundation
import ServiceTestSupport
import MarketplaceAPI
import MarketplaceServices
import RPC
import ServiceKit
import ServiceLifecycle
import TestSupport
import Testing
import UsersService
import AuthService
import GRDB
import OrdersService
import Crypto

@Suite("The service host: one way to build and stop every service")
struct ServiceHostTests {
    @Test("a definition whose queue does not bind an event its routes handle is refused at start, naming the event")
    func unboundRoute() async throws {
        let directory = try makeTemporaryDirectory("host-unbound")
        defer { try? FileManager.default.removeItem(at: directory) }
        var users = ServiceDefinition.users()
        let narrowed = BusTopology.Queue(
            name: "users.events",
            bindings: [.init(exchange: "auth_events", pattern: "user.*")]
        )
        users = ServiceDefinition(
            name: users.name,
            rpcServices: users.rpcServices,
            calls: users.calls,
            migrate: users.migrate,
            queue: narrowed,
            build: users.build
        )
        let nowhere = [Endpoint(host: "127.0.0.1", port: 1)]
        let error = await #expect(throws: ServiceHostError.self) {
            _ = try await ServiceHost.make(
                users,
                dataDirectory: directory.path,
                configuration: Cluster.server,
                peers: ["bus": nowhere, "auth": nowhere],
                authPublicKey: Curve25519.Signing.PrivateKey().publicKey,
                logger: Cluster.quiet
            )
        }
        #expect(error?.message.contains("marketplace.v1.RatingUpdated") == true, "\(String(describing: error))")
        #expect(error?.message.contains("marketplace.v1.OrderCompleted") == true)
    }

    @Test("a peer it calls without an address: refused at start, naming it")
    func missingPeer() async throws {
        let directory = try makeTemporaryDirectory("host-peer")
        defer { try? FileManager.default.removeItem(at: directory) }
        let error = await #expect(throws: ServiceHostError.self) {
            _ = try await ServiceHost.make(
                .orders(),
                dataDirectory: directory.path,
                configuration: Cluster.server,
                peers: ["bus": [Endpoint(host: "127.0.0.1", port: 1)], "auth": [Endpoint(host: "127.0.0.1", port: 1)]],
                logger: Cluster.quiet
            )
        }
        #expect(error?.message == "orders calls users, but no address of users was given")
    }

    @Test("a verifying service without an auth address: refused before its database is opened, naming auth")
    func missingAuth() async throws {
        let directory = try makeTemporaryDirectory("host-auth")
        defer { try? FileManager.default.removeItem(at: directory) }
        let error = await #expect(throws: ServiceHostError.self) {
            _ = try await ServiceHost.make(
                .users(),
                dataDirectory: directory.path,
                configuration: Cluster.server,
                peers: ["bus": [Endpoint(host: "127.0.0.1", port: 1)]],
                logger: Cluster.quiet
            )
        }
        #expect(error?.message == "users calls auth, but no address of auth was given")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
    }

    @Test("every service's queue binds every event its routes handle, and the standard topology declares each queue")
    func standardQueues() throws {
        let topology = BusTopology.standard
        for definition in MarketplaceServices.all() {
            guard let queue = definition.queue else { continue }
            #expect(topology.queues.contains(queue), "\(definition.name)'s queue is in the standard topology")
        }
        #expect(
            topology.queues.map(\.name) == ["users.events", "orders.events", "payments.events", "notifications.events"]
        )
        try topology.validate()
    }

    @Test("graceful shutdown: the host stops, what its last call wrote to the outbox is on the bus, its port is closed")
    func orderedShutdown() async throws {
        try await Cluster.with { cluster in
            // A second auth host (a replica: the cluster's bus and data directory): register through it, then stop it at once.
            let auth = try await ServiceHost.make(
                .auth(Cluster.cheapAuth),
                dataDirectory: cluster.directory.path,
                configuration: Cluster.server,
                peers: ["bus": [cluster.busEndpoint]],
                logger: Cluster.quiet
            )
            let group = ServiceGroup(configuration: .init(services: [auth], logger: Cluster.quiet))
            let running = Task { try await group.run() }
            let endpoint = Endpoint(host: "127.0.0.1", port: try await auth.server.localPort)
            let client = Auth.Client(RPCClient(endpoints: [endpoint]))
            _ = try await client.register(
                RegisterRequest(username: "last", email: "last@example.com", password: "password123", role: .customer)
            )
            await client.client.close()
            // Its user.registered waits in its outbox (or is published already); shut down now.
            await group.triggerGracefulShutdown()
            try await running.value
            let left = try await auth.database.read { db in try Outbox.pendingCount(db) }
            #expect(left == 0, "the relay flushed the outbox before the host stopped")
            // The server is gone: a new call cannot connect.
            let late = Auth.Client(RPCClient(endpoints: [endpoint]))
            #expect(
                await code {
                    _ = try await late.getPublicKey(GetPublicKeyRequest(), options: CallOptions(timeout: .seconds(5)))
                } != nil
            )
            await late.client.close()
        }
    }
}
