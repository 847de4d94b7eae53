// Login benchmark: the auth service over the binary protocol (in this process, on its own
// event loops), a real SQLite file, the production scrypt parameters. Reports the cost of one
// scrypt hash alone, then logins/s and latency at 1, 2 and 4 concurrent clients.
//
//   AuthBench [--seconds N]
import AuthService
import EventBus
import Foundation
import Logging
import MarketplaceAPI
import RPC
import ServiceKit

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
}

let arguments = CommandLine.arguments
let seconds = arguments.firstIndex(of: "--seconds").flatMap { Int(arguments[$0 + 1]) } ?? 5
let directory = FileManager.default.temporaryDirectory.appendingPathComponent("authbench-\(UUID().uuidString)").path
defer { try? FileManager.default.removeItem(atPath: directory) }
let quiet = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
let parameters = PasswordHasher.Parameters.standard

// scrypt alone.
var hashTimes: [Double] = []
let hasher = PasswordHasher(parameters: parameters)
for _ in 0..<10 {
    let start = ContinuousClock.now
    _ = try await hasher.hash("correct horse battery staple")
    hashTimes.append(
        Double((ContinuousClock.now - start).components.attoseconds) / 1e15 + Double(
            (ContinuousClock.now - start).components.seconds
        ) * 1000
    )
}
hashTimes.sort()
print(
    "scrypt N=2^\(parameters.logN), r=\(parameters.r), p=\(parameters.p) (\(128 * parameters.r * (1 << parameters.logN) / 1_048_576) MiB): one hash p50 \(String(format: "%.1f", percentile(hashTimes, 0.5))) ms"
)

let bus = try await EventBusServer.make(
    dataDirectory: directory,
    configuration: ServerConfiguration(idleTimeout: nil),
    authenticator: try BusAuthenticator.make(dataDirectory: directory),
    logger: quiet
)
let busTask = Task { try await bus.run() }
let busEndpoint = Endpoint(host: "127.0.0.1", port: try await bus.server.localPort)
let auth = try await ServiceHost.make(
    .auth(),
    dataDirectory: directory,
    configuration: ServerConfiguration(idleTimeout: nil),
    peers: ["bus": [busEndpoint]],
    logger: quiet
)
let authTask = Task { try await auth.run() }
let endpoint = Endpoint(host: "127.0.0.1", port: try await auth.server.localPort)
let client = Auth.Client(RPCClient(endpoints: [endpoint]))
_ = try await client.register(
    RegisterRequest(username: "bench", email: "bench@example.com", password: "correct horse", role: .customer)
)

print("logins over RPC (verify scrypt + issue an Ed25519 access token and a refresh token), \(seconds) s per case:")
for concurrency in [1, 2, 4] {
    let deadline = ContinuousClock.now + .seconds(seconds)
    let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
        for _ in 0..<concurrency {
            group.addTask {
                var local: [Double] = []
                while ContinuousClock.now < deadline {
                    let start = ContinuousClock.now
                    _ = try await client.login(
                        LoginRequest(identifier: .email("bench@example.com"), password: "correct horse")
                    )
                    let elapsed = ContinuousClock.now - start
                    local.append(
                        Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
                    )
                }
                return local
            }
        }
        var all: [Double] = []
        for try await part in group { all += part }
        return all.sorted()
    }
    print(
        String(
            format: "  %d concurrent: %6.1f logins/s   p50 %6.1f ms   p99 %6.1f ms",
            concurrency,
            Double(latencies.count) / Double(seconds),
            percentile(latencies, 0.5),
            percentile(latencies, 0.99)
        )
    )
}
authTask.cancel()
busTask.cancel()
exit(0)
