// RPC benchmark: unary echo of the Order message over loopback, server and client in separate
// processes. Compares our protocol with gRPC Swift 2 (HTTP/2, SwiftProtobuf) and a raw SwiftNIO
// length-prefixed echo (the floor), in one run.
//
//   RPCBench run [--duration S] [--warmup S] [--stacks raw,ours,grpc]
//   RPCBench serve raw|ours|grpc        (what `run` starts as the server process)
//   RPCBench client STACK PORT CONCURRENCY CONNECTIONS SECONDS   (load a running server, e.g. to profile it)
import BenchMessages
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ProtoFixtures
import ProtoRuntime
import RPC

/// Tells the parent process the port (unbuffered).
func announce(_ port: Int) {
    FileHandle.standardOutput.write(Data("PORT \(port)\n".utf8))
}

// MARK: The payload

let orderDescription = String(
    String(repeating: "Leaking pipe under the kitchen sink; water on the floor. ", count: 2).prefix(100)
)

let ourOrder = BenchOrder(
    id: 1_000_042,
    customerId: 42_424_242,
    providerId: 7_777_777,
    title: "Fix the kitchen sink",
    description: orderDescription,
    status: .pending,
    serviceType: .repair,
    location: .mid,
    priceCents: 12_550,
    createdAt: ProtoTimestamp(seconds: 1_764_126_665, nanos: 120_000_000),
    updatedAt: ProtoTimestamp(seconds: 1_764_130_000, nanos: 5_000),
    tags: ["plumbing", "urgent", "kitchen"],
    address: BenchAddress(street: "Storgata 12", city: "Oslo", postalCode: "0155")
)

let echoMethod = RPC.MethodDescriptor(service: "test.v1.BenchEcho", method: "Echo", kind: .unary)

struct OurEcho: RPCService {
    var serviceName: String { "test.v1.BenchEcho" }
    var fileDescriptors: [EmbeddedFileDescriptor] { BenchProtoFile.files }
    var methods: [ServerMethod] { [.unary(echoMethod, BenchOrder.self, BenchOrder.self) { request, _ in request }] }
}

struct GRPCEcho: Test_V1_BenchEcho.SimpleServiceProtocol {
    func echo(request: Test_V1_BenchOrder, context: GRPCCore.ServerContext) async throws -> Test_V1_BenchOrder {
        request
    }
}

// MARK: Servers

func serve(_ stack: String) async throws {
    let group = MultiThreadedEventLoopGroup.singleton
    switch stack {
    case "raw":
        let channel = try await RawEcho.serve(group: group)
        announce(channel.localAddress?.port ?? 0)
        try await channel.closeFuture.get()
    case "ours":
        let server = RPCServer(services: [OurEcho()], configuration: ServerConfiguration(idleTimeout: nil))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await server.run() }
            announce(try await server.localPort)
            try await tasks.waitForAll()
        }
    case "grpc":
        let server = GRPCServer(
            transport: .http2NIOPosix(address: .ipv4(host: "127.0.0.1", port: 0), transportSecurity: .plaintext),
            services: [GRPCEcho()]
        )
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await server.serve() }
            guard let address = try await server.listeningAddress?.ipv4 else { throw CancellationError() }
            announce(address.port)
            try await tasks.waitForAll()
        }
    default:
        throw CancellationError()
    }
}

// MARK: Process statistics (Linux /proc)

struct ProcessStats {
    var cpuSeconds: Double
    var contextSwitches: Int

    static func read(pid: Int32) -> ProcessStats {
        var stats = ProcessStats(cpuSeconds: 0, contextSwitches: 0)
        if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        {
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            // Fields 14 and 15 (utime, stime) are at 11 and 12 after the command name.
            if fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) {
                stats.cpuSeconds = (user + system) / 100
            }
        }
        // Context switches are counted per thread: sum every thread of the process.
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        for task in tasks {
            guard let status = try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/status", encoding: .utf8) else {
                continue
            }
            for line in status.split(separator: "\n") where line.contains("ctxt_switches") {
                stats.contextSwitches +=
                    Int(line.split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "") ?? 0
            }
        }
        return stats
    }
}

// MARK: Load

struct Result {
    var calls: Int
    var seconds: Double
    var latencies: [Double]
    var serverCPU: Double
    var serverSwitches: Int
    var clientSwitches: Int
    var clientCPU: Double
}

/// One caller: issues calls back to back until the deadline, recording latencies.
typealias Caller = @Sendable () async throws -> Void

func load(
    concurrency: Int,
    duration: Double,
    serverPID: Int32,
    executor: (any TaskExecutor)?,
    callers: [Caller]
) async throws -> Result {
    let latencies = NIOLockedValueBox<[Double]>([])
    let stop = ContinuousClock.now.advanced(by: .milliseconds(Int64(duration * 1000)))
    let serverBefore = ProcessStats.read(pid: serverPID)
    let clientBefore = ProcessStats.read(pid: getpid())
    let start = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for worker in 0..<concurrency {
            let caller = callers[worker % callers.count]
            group.addTask(executorPreference: executor) {
                var local: [Double] = []
                local.reserveCapacity(100_000)
                while ContinuousClock.now < stop {
                    let t0 = ContinuousClock.now
                    try await caller()
                    let elapsed = ContinuousClock.now - t0
                    local.append(
                        Double(elapsed.components.attoseconds) / 1e12 + Double(elapsed.components.seconds) * 1e6
                    )
                }
                let collected = local
                latencies.withLockedValue { $0 += collected }
            }
        }
        try await group.waitForAll()
    }
    let elapsed = ContinuousClock.now - start
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let serverAfter = ProcessStats.read(pid: serverPID)
    let clientAfter = ProcessStats.read(pid: getpid())
    let all = latencies.withLockedValue { $0 }.sorted()
    return Result(
        calls: all.count,
        seconds: seconds,
        latencies: all,
        serverCPU: serverAfter.cpuSeconds - serverBefore.cpuSeconds,
        serverSwitches: serverAfter.contextSwitches - serverBefore.contextSwitches,
        clientSwitches: clientAfter.contextSwitches - clientBefore.contextSwitches,
        clientCPU: clientAfter.cpuSeconds - clientBefore.cpuSeconds
    )
}

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
}

/// Callers for `stack` over `connections` connections, and the executor the callers should run on.
func makeCallers(_ stack: String, port: Int, connections: Int) async throws -> (
    [Caller], (any TaskExecutor)?, () async -> Void
) {
    switch stack {
    case "raw":
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        var payload = ByteBuffer()
        ourOrder.encode(into: &payload)
        var callers: [Caller] = []
        var channels: [any Channel] = []
        for _ in 0..<connections {
            let connection = try await RawEcho.connect(port: port, loop: loop)
            channels.append(connection.channel)
            let frozen = payload
            callers.append { _ = try await connection.call(frozen).get() }
        }
        return (
            callers, EventLoopTaskExecutor(loop),
            {
                for c in channels { try? await c.close() }; try? await group.shutdownGracefully()
            }
        )
    case "ours":
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        var clients: [RPCClient] = []
        for _ in 0..<connections {
            let client = RPCClient(endpoints: [Endpoint(host: "127.0.0.1", port: port)], group: group)
            _ = try await client.unary(echoMethod, request: ourOrder, responseType: BenchOrder.self)
            clients.append(client)
        }
        let callers: [Caller] = clients.map { client in
            { _ = try await client.unary(echoMethod, request: ourOrder, responseType: BenchOrder.self) }
        }
        return (
            callers, EventLoopTaskExecutor(loop),
            {
                for c in clients { await c.close() }
                try? await group.shutdownGracefully()
            }
        )
    default:
        var theirs = Test_V1_BenchOrder()
        theirs = try Test_V1_BenchOrder(serializedBytes: ourOrder.serializedBytes())
        let request = theirs
        var clients: [GRPCClient<HTTP2ClientTransport.Posix>] = []
        var runners: [Task<Void, any Error>] = []
        for _ in 0..<connections {
            let client = GRPCClient(
                transport: try .http2NIOPosix(
                    target: .ipv4(address: "127.0.0.1", port: port),
                    transportSecurity: .plaintext
                )
            )
            runners.append(Task { try await client.runConnections() })
            clients.append(client)
        }
        let callers: [Caller] = clients.map { client in
            let echo = Test_V1_BenchEcho.Client(wrapping: client)
            return { _ = try await echo.echo(request) }
        }
        for caller in callers { try await caller() }
        return (
            callers, nil,
            {
                for c in clients { c.beginGracefulShutdown() }
                for r in runners { _ = try? await r.value }
            }
        )
    }
}

func runAll(duration: Double, warmup: Double, stacks: [String]) async throws {
    let scenarios: [(label: String, concurrency: Int, connections: Int)] = [
        ("1 in flight", 1, 1), ("16 in flight", 16, 1), ("64 in flight", 64, 1), ("64 over 4 conns", 64, 4),
    ]
    var table: [String: [String: Result]] = [:]
    let executable = CommandLine.arguments[0]
    for stack in stacks {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["serve", stack]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line += chunk
        }
        guard let text = String(data: line, encoding: .utf8), text.hasPrefix("PORT "),
            let port = Int(text.dropFirst(5).trimmingCharacters(in: .whitespacesAndNewlines))
        else {
            process.terminate()
            throw CancellationError()
        }
        for scenario in scenarios {
            let (callers, executor, close) = try await makeCallers(stack, port: port, connections: scenario.connections)
            _ = try await load(
                concurrency: scenario.concurrency,
                duration: warmup,
                serverPID: process.processIdentifier,
                executor: executor,
                callers: callers
            )
            let result = try await load(
                concurrency: scenario.concurrency,
                duration: duration,
                serverPID: process.processIdentifier,
                executor: executor,
                callers: callers
            )
            await close()
            table[stack, default: [:]][scenario.label] = result
            let rate = Double(result.calls) / result.seconds
            print(
                String(
                    format:
                        "%-5@ %-16@ %10.0f calls/s  p50 %7.1f us  p99 %7.1f us  server %6.1f us CPU, %5.2f ctx sw/call; client %6.1f us CPU, %5.2f ctx sw/call",
                    stack as NSString,
                    scenario.label as NSString,
                    rate,
                    percentile(result.latencies, 0.5),
                    percentile(result.latencies, 0.99),
                    result.serverCPU / Double(max(1, result.calls)) * 1e6,
                    Double(result.serverSwitches) / Double(max(1, result.calls)),
                    result.clientCPU / Double(max(1, result.calls)) * 1e6,
                    Double(result.clientSwitches) / Double(max(1, result.calls))
                )
            )
        }
        process.terminate()
        process.waitUntilExit()
    }
    print("\nRatios (ours against each peer, same run):")
    for scenario in scenarios {
        guard let ours = table["ours"]?[scenario.label] else { continue }
        let ourRate = Double(ours.calls) / ours.seconds
        var line = "  \(scenario.label): ours \(Int(ourRate)) calls/s"
        if let grpc = table["grpc"]?[scenario.label] {
            let rate = Double(grpc.calls) / grpc.seconds
            line += String(
                format: "; %.1fx gRPC Swift's throughput, p50 %.2fx of gRPC's",
                ourRate / rate,
                percentile(ours.latencies, 0.5) / percentile(grpc.latencies, 0.5)
            )
        }
        if let raw = table["raw"]?[scenario.label] {
            let rate = Double(raw.calls) / raw.seconds
            line += String(format: "; raw NIO floor is %.2fx ours", rate / ourRate)
        }
        print(line)
    }
}

/// The allocation count when running under Tools/malloc_counter.c (LD_PRELOAD), else nil.
func mallocCount() -> Int? {
    guard ProcessInfo.processInfo.environment["LD_PRELOAD"]?.contains("malloc_counter") == true else { return nil }
    kill(getpid(), SIGUSR2)
    usleep(100_000)  // the handler may run on another thread
    return (try? String(contentsOfFile: "/tmp/malloc_count.\(getpid())", encoding: .utf8)).flatMap {
        Int($0.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

// MARK: Entry

let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "serve", arguments.count == 2 {
    try await serve(arguments[1])
} else if arguments.first == "client", arguments.count == 6, let port = Int(arguments[2]),
    let concurrency = Int(arguments[3]),
    let connections = Int(arguments[4]), let seconds = Double(arguments[5])
{
    // Load an already running server (for profiling it): client STACK PORT CONCURRENCY CONNECTIONS SECONDS
    let (callers, executor, close) = try await makeCallers(arguments[1], port: port, connections: connections)
    let before = mallocCount()
    let result = try await load(
        concurrency: concurrency,
        duration: seconds,
        serverPID: 0,
        executor: executor,
        callers: callers
    )
    let after = mallocCount()
    await close()
    var clientAllocations = ""
    if let before, let after {
        clientAllocations = "; client allocations/call: \((after - before) / max(1, result.calls))"
    }
    print(
        "\(Int(Double(result.calls) / result.seconds)) calls/s, p50 \(percentile(result.latencies, 0.5)) us\(clientAllocations); calls: \(result.calls)"
    )
} else {
    var duration = 10.0
    var warmup = 2.0
    var stacks = ["raw", "ours", "grpc"]
    var index = arguments.first == "run" ? 1 : 0
    while index < arguments.count {
        let value = index + 1 < arguments.count ? arguments[index + 1] : ""
        switch arguments[index] {
        case "--duration": duration = Double(value) ?? duration
        case "--warmup": warmup = Double(value) ?? warmup
        case "--stacks": stacks = value.split(separator: ",").map(String.init)
        default: break
        }
        index += 2
    }
    try await runAll(duration: duration, warmup: warmup, stacks: stacks)
}
