public import Foundation
import Synchronization
#if canImport(Glibc)
    import Glibc
#endif

/// The repository root: tests read fixtures and run scripts from it.
public let repositoryRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// A fresh, empty temporary directory.
public func makeTemporaryDirectory(_ name: String = "tests") throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// How a finished process ended.
public struct ProcessResult: Sendable {
    public var status: Int32
    /// Standard output and standard error, interleaved.
    public var output: String
}

/// Runs a program (looked up on `PATH`) to completion. The wait happens off Swift's cooperative
/// pool, so servers and other tests keep running meanwhile.
public func runProcess(
    _ executable: String,
    _ arguments: [String],
    in directory: URL? = nil,
    input: String? = nil
) async throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [executable] + arguments
    if let directory { process.currentDirectoryURL = directory }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    let stdin = Pipe()
    process.standardInput = stdin
    try process.run()
    if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
    try stdin.fileHandleForWriting.close()
    let reader = pipe.fileHandleForReading
    return await withCheckedContinuation { continuation in
        Thread.detachNewThread {
            let data = reader.readDataToEndOfFile()
            process.waitUntilExit()
            continuation.resume(
                returning: ProcessResult(
                    status: process.terminationStatus,
                    output: String(decoding: data, as: UTF8.self)
                )
            )
        }
    }
}

/// Polls `condition` every 5 ms until it holds or `timeout` passes; asynchronous effects are
/// awaited this way, never by a fixed delay. Returns whether it held. The timeout is a safety net
/// (a minute: a loaded machine runs the whole suite at once), never the thing a test measures.
@discardableResult
public func eventually(timeout: Duration = .seconds(60), _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        if ContinuousClock.now > deadline { return false }
        try await Task.sleep(for: .milliseconds(5))
    }
    return true
}

/// A TCP port for a test that must name its port up front (a real process, a server restarted on
/// the same port). It lies below the kernel's ephemeral range, so no other test's port-0 listener
/// or outgoing connection can take it in the meantime, and it was free to bind when handed out.
/// A port handed out in this process is not handed out again.
public func fixedPort() -> Int {
    let rangeText = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
    let ephemeralStart = rangeText.split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) } ?? 32_768
    while true {
        let port = Int.random(in: 10_000..<max(ephemeralStart, 12_000))
        if handedOutPorts.withLock({ $0.insert(port).inserted }) && canBind(port) { return port }
    }
}

private let handedOutPorts = Mutex<Set<Int>>([])

private func canBind(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var one: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
        }
    }
}

/// A protobuf varint.
public func varintBytes(_ value: Int) -> [UInt8] {
    var v = UInt64(value)
    var out: [UInt8] = []
    while v >= 0x80 {
        out.append(UInt8(truncatingIfNeeded: v) | 0x80)
        v >>= 7
    }
    out.append(UInt8(truncatingIfNeeded: v))
    return out
}

/// `inner` nested `depth` levels deep, in linear time: `header(n)` is what one level writes before
/// a nested value of `n` bytes (its tag and length, say). Headers are computed inside out, then
/// written outside in, so no level is copied again.
public func nestedBytes(_ inner: [UInt8], depth: Int, header: (Int) -> [UInt8]) -> [UInt8] {
    var headers: [[UInt8]] = []
    headers.reserveCapacity(depth)
    var size = inner.count
    for _ in 0..<depth {
        let level = header(size)
        headers.append(level)
        size += level.count
    }
    var out: [UInt8] = []
    out.reserveCapacity(size)
    for level in headers.reversed() { out += level }
    return out + inner
}

/// `inner` wrapped `depth` times in the length-delimited field `tag` (after `prefix`, other
/// fields of each level).
public func nestedBytes(_ inner: [UInt8], tag: UInt8, depth: Int, prefix: [UInt8] = []) -> [UInt8] {
    nestedBytes(inner, depth: depth) { prefix + [tag] + varintBytes($0) }
}
