import Crypto
import _CryptoExtras
import DequeModule
import Foundation
import NIOConcurrencyHelpers
import NIOPosix
public import RPC

/// Bounds the password hashes computed at once: `concurrency` run, at most `queue` more wait,
/// and a request past that is refused at once (RESOURCE_EXHAUSTED with `retry-after`) instead of
/// queueing behind everyone else's logins. Each hash holds 32 MiB and a core for ~80 ms, so an
/// unbounded queue is an easy way to stall every login (and the machine).
public final class HashingGate: Sendable {
    struct State {
        var running = 0
        var waiting = Deque<CheckedContinuation<Void, any Error>>()
    }

    public let concurrency: Int
    public let queue: Int
    let state = NIOLockedValueBox(State())

    /// - Parameters:
    ///   - concurrency: hashes at once (default: one per core).
    ///   - queue: hashes that may wait for a slot (default 16: at ~80 ms per hash on two cores,
    ///     a wait of well under a second).
    public init(concurrency: Int? = nil, queue: Int = 16) {
        self.concurrency = max(1, concurrency ?? ProcessInfo.processInfo.activeProcessorCount)
        self.queue = max(0, queue)
    }

    /// The answer past the queue: busy, retry in a second.
    public static let busy = RPCError(
        code: .resourceExhausted,
        message: "too many password checks at once; retry in 1 s",
        metadata: Metadata([("retry-after", "1")])
    )

    enum Admission { case now, wait, refused }

    /// Runs `body` in a slot; throws ``busy`` when every slot and the queue are taken.
    func run<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        // Admitted, queued or refused in one step under the lock, so the queue never overfills.
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let admission = state.withLockedValue { state -> Admission in
                if state.running < concurrency {
                    state.running += 1
                    return .now
                }
                guard state.waiting.count < queue else { return .refused }
                state.waiting.append(continuation)
                return .wait
            }
            switch admission {
            case .now: continuation.resume()
            case .refused: continuation.resume(throwing: HashingGate.busy)
            case .wait: break  // resumed by the slot's holder when it finishes
            }
        }
        defer {
            // The slot passes to the next waiter, or frees.
            let next = state.withLockedValue { state -> CheckedContinuation<Void, any Error>? in
                if let next = state.waiting.popFirst() { return next }
                state.running -= 1
                return nil
            }
            next?.resume()
        }
        return try await body()
    }

    /// Hashes running and waiting now.
    public var load: (running: Int, waiting: Int) { state.withLockedValue { ($0.running, $0.waiting.count) } }
}

/// Password hashing with scrypt (memory-hard), a random 16-byte salt per password, and the
/// parameters stored beside the hash so they can be raised later without breaking old hashes:
/// `scrypt$<log2 N>$<r>$<p>$<salt base64>$<hash base64>`.
public struct PasswordHasher: Sendable {
    /// scrypt's cost parameters.
    public struct Parameters: Sendable, Hashable {
        /// log2 of N (rounds).
        public var logN: Int
        /// Block size.
        public var r: Int
        /// Parallelism.
        public var p: Int

        public init(logN: Int, r: Int, p: Int) {
            self.logN = logN
            self.r = r
            self.p = p
        }

        /// N = 2^15, r = 8, p = 1: 32 MiB and ~80 ms per hash on this machine kind (Benchmarks/README.md,
        /// "Login"). RFC 7914 suggests N = 2^14 for interactive logins (2009 hardware); OWASP's
        /// minimum for scrypt is N = 2^17 with r = 8 (128 MiB), which would allow only a handful of
        /// logins per second on two cores, so we take the step between and keep the parameters in
        /// each hash to raise them later.
        public static let standard = Parameters(logN: 15, r: 8, p: 1)

        /// Cheap parameters for tests (never for real passwords).
        public static let testing = Parameters(logN: 10, r: 8, p: 1)
    }

    public let parameters: Parameters
    /// Where every hash and verification waits for a slot.
    public let gate: HashingGate

    public init(parameters: Parameters = .standard, gate: HashingGate = HashingGate(queue: .max / 2)) {
        self.parameters = parameters
        self.gate = gate
    }

    /// Hashes `password` with a fresh salt (off the Swift concurrency pool: scrypt blocks).
    /// - Throws: ``HashingGate/busy`` when the gate is full.
    public func hash(_ password: String) async throws -> String {
        var salt = [UInt8](repeating: 0, count: 16)
        var generator = SystemRandomNumberGenerator()
        for i in salt.indices { salt[i] = UInt8.random(in: 0 ... .max, using: &generator) }
        let parameters = self.parameters
        let derived = try await gate.run {
            try await PasswordHasher.derive(password, salt: salt, parameters: parameters)
        }
        return [
            "scrypt", String(parameters.logN), String(parameters.r), String(parameters.p),
            Data(salt).base64EncodedString(), Data(derived).base64EncodedString(),
        ].joined(separator: "$")
    }

    /// Whether `password` matches `stored` (compared in constant time). A malformed stored hash
    /// never matches.
    /// - Throws: ``HashingGate/busy`` when the gate is full.
    public func verify(_ password: String, against stored: String) async throws -> Bool {
        let parts = stored.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "scrypt", let logN = Int(parts[1]), let r = Int(parts[2]),
            let p = Int(parts[3]),
            (1...20).contains(logN), (1...32).contains(r), (1...16).contains(p),
            let salt = Data(base64Encoded: String(parts[4])), let expected = Data(base64Encoded: String(parts[5])),
            expected.count == 32
        else { return false }
        let derived = try await gate.run {
            try? await PasswordHasher.derive(
                password,
                salt: [UInt8](salt),
                parameters: Parameters(logN: logN, r: r, p: p)
            )
        }
        guard let derived else { return false }
        return PasswordHasher.constantTimeEqual(derived, [UInt8](expected))
    }

    /// A hash of a random password with these parameters: verifying against it costs what a real
    /// verification costs, so an unknown account answers as slowly as a wrong password.
    public func decoy() async throws -> String { try await hash(UUID().uuidString) }

    static func derive(_ password: String, salt: [UInt8], parameters: Parameters) async throws -> [UInt8] {
        try await NIOThreadPool.singleton.runIfActive {
            let key = try KDF.Scrypt.deriveKey(
                from: Array(password.utf8),
                salt: salt,
                outputByteCount: 32,
                rounds: 1 << parameters.logN,
                blockSize: parameters.r,
                parallelism: parameters.p
            )
            return key.withUnsafeBytes { [UInt8]($0) }
        }
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in a.indices { difference |= a[i] ^ b[i] }
        return difference == 0
    }
}
