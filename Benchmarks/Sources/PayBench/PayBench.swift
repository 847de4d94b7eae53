// Pay benchmark: the whole system in this process (bus, auth, users, orders, payments, gateway)
// on real SQLite files, the payments database with synchronous = FULL (every commit on disk).
// Each pay is a fresh completed order's: read from orders, a pending row, the simulated
// processor's charge (its own FULL-durability database), the charge and the release in the
// ledger, the outbox, RecordPayment on the order. Measured through the gateway (the legacy
// route, HTTP/1.1 keep-alive connections) and, in the same run, over the binary protocol
// directly, so the ratio is the gateway's share.
//
//   PayBench [--pays N] [--concurrency C]
import AuthService
import EventBus
import Foundation
import Gateway
import Logging
import MarketplaceAPI
import MarketplaceServices
import RPC
import ServiceKit

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
}

func milliseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
}

@main
struct PayBench {
    static func main() async throws {
        let arguments = CommandLine.arguments
        let pays = arguments.firstIndex(of: "--pays").flatMap { Int(arguments[$0 + 1]) } ?? 1000
        let concurrency = arguments.firstIndex(of: "--concurrency").flatMap { Int(arguments[$0 + 1]) } ?? 4
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("paybench-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let quiet = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
        let server = ServerConfiguration(idleTimeout: nil)

        _ = try KeyFile.loadOrCreate(path: ServiceKeys.authKeyPath(dataDirectory: directory))
        let bus = try await EventBusServer.make(
            dataDirectory: directory,
            configuration: server,
            topology: .standard,
            authenticator: try BusAuthenticator.make(dataDirectory: directory),
            eventSchemas: MarketplaceServices.eventSchemas,
            logger: quiet
        )
        var tasks: [Task<Void, any Error>] = [Task { try await bus.run() }]
        var peers = ["bus": [Endpoint(host: "127.0.0.1", port: try await bus.server.localPort)]]
        var options = MarketplaceServices.Options()
        options.auth.passwordParameters = .testing
        options.auth.perSource = (burst: 1_000_000, perMinute: 1_000_000)
        var hosts: [String: ServiceHost] = [:]
        for definition in MarketplaceServices.all(options) {
            let host = try await ServiceHost.make(
                definition,
                dataDirectory: directory,
                configuration: server,
                peers: peers,
                authPublicKey: hosts["auth"]?.tokenKey,
                logger: quiet
            )
            tasks.append(Task { try await host.run() })
            peers[definition.name] = [Endpoint(host: "127.0.0.1", port: try await host.server.localPort)]
            hosts[definition.name] = host
        }
        guard let tokenKey = hosts["auth"]?.tokenKey else { fatalError("no auth service") }
        while !hosts.values.allSatisfy(\.isReady) { try await Task.sleep(for: .milliseconds(20)) }
        var gatewayConfiguration = GatewayConfiguration()
        gatewayConfiguration.port = 0
        gatewayConfiguration.perIP = (burst: 1_000_000, perMinute: 1_000_000)
        gatewayConfiguration.perUser = (burst: 1_000_000, perMinute: 1_000_000)
        var backends: [String: [Endpoint]] = [:]
        for definition in MarketplaceServices.all(options) {
            for service in definition.rpcServices { backends[service] = peers[definition.name] }
        }
        let gatewayServer = GatewayServer(
            gateway: try Gateway(
                configuration: gatewayConfiguration,
                backends: GatewayBackends(backends),
                authPublicKey: tokenKey,
                logger: quiet
            ),
            configuration: gatewayConfiguration,
            logger: quiet
        )
        tasks.append(Task { try await gatewayServer.run() })
        let gatewayPort = await gatewayServer.localPort

        let endpoints = peers
        func client<C>(_ name: String, _ make: (RPCClient) -> C) -> C {
            make(RPCClient(endpoints: endpoints[name] ?? []))
        }
        let auth = client("auth", Auth.Client.init)
        let orders = client("orders", Orders.Client.init)
        let payments = client("payments", Payments.Client.init)
        @Sendable func bearer(_ token: String) -> CallOptions {
            var options = CallOptions()
            options.metadata.add("authorization", "Bearer \(token)")
            return options
        }
        _ = try await AuthService.createAdmin(
            dataDirectory: directory,
            username: "root",
            email: "root@example.com",
            password: "adminpass1",
            parameters: .testing
        )
        let admin = try await auth.login(LoginRequest(identifier: .username("root"), password: "adminpass1"))
            .accessToken
        var tokens: [String] = []
        for i in 0..<concurrency {
            _ = try await auth.register(
                RegisterRequest(
                    username: "customer\(i)",
                    email: "customer\(i)@example.com",
                    password: "password123",
                    role: .customer
                )
            )
            tokens.append(
                try await auth.login(LoginRequest(identifier: .username("customer\(i)"), password: "password123"))
                    .accessToken
            )
        }
        _ = try await auth.register(
            RegisterRequest(
                username: "provider",
                email: "provider@example.com",
                password: "password123",
                role: .provider
            )
        )
        let provider = try await auth.login(LoginRequest(identifier: .username("provider"), password: "password123"))
            .accessToken
        let customers = tokens

        /// `count` completed orders per customer (made concurrently, one task per customer).
        func completedOrders(_ count: Int, customers: [String], admin: String, provider: String) async throws
            -> [[Int64]]
        {
            try await withThrowingTaskGroup(of: (Int, [Int64]).self) { group in
                for (index, customer) in customers.enumerated() {
                    group.addTask {
                        var ids: [Int64] = []
                        for _ in 0..<count {
                            let published = try await orders.publishOrder(
                                PublishOrderRequest(
                                    title: "Job",
                                    serviceType: .other,
                                    price: Money(cents: 120_50),
                                    location: .north
                                ),
                                options: bearer(customer)
                            )
                            let id = published.order?.id ?? 0
                            _ = try await orders.reviewOrder(
                                ReviewOrderRequest(orderId: id, approved: true),
                                options: bearer(admin)
                            )
                            _ = try await orders.acceptOrder(AcceptOrderRequest(orderId: id), options: bearer(provider))
                            for status in [OrderStatus.inProgress, .completed] {
                                _ = try await orders.updateOrderStatus(
                                    UpdateOrderStatusRequest(orderId: id, newStatus: status),
                                    options: bearer(provider)
                                )
                            }
                            ids.append(id)
                        }
                        return (index, ids)
                    }
                }
                var result = Array(repeating: [Int64](), count: customers.count)
                for try await (index, ids) in group { result[index] = ids }
                return result
            }
        }

        /// Pays every order of `lists` (one list per concurrent client) with `pay`; returns latencies (ms) and wall time (s).
        func run(_ lists: [[Int64]], _ pay: @escaping @Sendable (Int, Int64) async throws -> Void) async throws -> (
            [Double], Double
        ) {
            let start = ContinuousClock.now
            let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
                for (index, list) in lists.enumerated() {
                    group.addTask {
                        var local: [Double] = []
                        for id in list {
                            let begin = ContinuousClock.now
                            try await pay(index, id)
                            local.append(milliseconds(ContinuousClock.now - begin))
                        }
                        return local
                    }
                }
                var all: [Double] = []
                for try await part in group { all += part }
                return all.sorted()
            }
            return (latencies, milliseconds(ContinuousClock.now - start) / 1000)
        }

        func report(_ label: String, _ result: ([Double], Double)) -> Double {
            let (latencies, seconds) = result
            let rate = Double(latencies.count) / seconds
            print(
                String(
                    format: "  %@: %7.1f pays/s   p50 %6.2f ms   p99 %6.2f ms   (%d pays, %d concurrent)",
                    label,
                    rate,
                    percentile(latencies, 0.5),
                    percentile(latencies, 0.99),
                    latencies.count,
                    concurrency
                )
            )
            return rate
        }

        let perClient = max(1, pays / concurrency)
        print(
            "PayBench: \(perClient * concurrency) pays per case; payments.sqlite and payment-processor.sqlite with synchronous = FULL"
        )
        print("  making \(2 * perClient * concurrency) completed orders…")
        let forRPC = try await completedOrders(perClient, customers: customers, admin: admin, provider: provider)
        let forHTTP = try await completedOrders(perClient, customers: customers, admin: admin, provider: provider)
        let rpcRate = report(
            "binary RPC (Payments.Pay)",
            try await run(forRPC) { index, id in
                _ = try await payments.pay(PayRequest(orderId: id), options: bearer(customers[index]))
            }
        )
        let connections = ConnectionPool(try (0..<concurrency).map { _ in try HTTPConnection(port: gatewayPort) })
        let failures = ManagedAtomicCounter()
        let httpRate = report(
            "gateway  (POST /api/v1/customer/payments/pay, keep-alive)",
            try await run(forHTTP) { index, id in
                // Blocking socket I/O, off the concurrency pool's threads.
                let status = try await withCheckedThrowingContinuation { continuation in
                    Thread.detachNewThread {
                        continuation.resume(
                            with: Result {
                                try connections.connections[index].post(
                                    "/api/v1/customer/payments/pay",
                                    token: customers[index],
                                    body: #"{"order_id":\#(id)}"#
                                )
                            }
                        )
                    }
                }
                if status != 200 { failures.increment() }
            }
        )
        print(String(format: "  gateway / RPC: %.2f of the RPC rate", httpRate / rpcRate))
        if failures.value > 0 { print("  \(failures.value) pays through the gateway did not answer 200") }
        for task in tasks { task.cancel() }
        exit(failures.value == 0 ? 0 : 1)

    }
}

/// One keep-alive HTTP/1.1 connection (blocking POSIX sockets, on its own thread).
final class HTTPConnection {
    let socket: Int32
    var buffer: [UInt8] = []

    init(port: Int) throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
        var one: Int32 = 1
        setsockopt(socket, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Sends one request and reads its response; returns the status.
    func post(_ path: String, token: String, body: String) throws -> Int {
        let bytes = Array(body.utf8)
        let head =
            "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n"
            + "Content-Type: application/json\r\nContent-Length: \(bytes.count)\r\n\r\n"
        let request = Array(head.utf8) + bytes
        var sent = 0
        while sent < request.count {
            let n = request[sent...].withUnsafeBytes { send(socket, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw POSIXError(.EPIPE) }
            sent += n
        }
        // Head, then Content-Length bytes of body.
        while true {
            if let end = buffer.firstRange(of: Array("\r\n\r\n".utf8)) {
                let headText = String(decoding: buffer[..<end.lowerBound], as: UTF8.self)
                let status = Int(headText.split(separator: " ").dropFirst().first ?? "") ?? 0
                let length =
                    headText.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                let total = end.upperBound + length
                while buffer.count < total { try read() }
                buffer.removeFirst(total)
                return status
            }
            try read()
        }
    }

    func read() throws {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        let n = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { throw POSIXError(.ECONNRESET) }
        buffer += chunk[..<n]
    }

    deinit { close(socket) }
}

/// The connections, one per client (each used by one client at a time).
final class ConnectionPool: @unchecked Sendable {
    let connections: [HTTPConnection]
    init(_ connections: [HTTPConnection]) { self.connections = connections }
}

/// A counter shared by the clients.
final class ManagedAtomicCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}
