import Crypto
import _CryptoExtras
import Foundation
import NIOPosix

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

    public init(parameters: Parameters = .standard) { self.parameters = parameters }

    /// Hashes `password` with a fresh salt (off the Swift concurrency pool: scrypt blocks).
    public func hash(_ password: String) async throws -> String {
        var salt = [UInt8](repeating: 0, count: 16)
        var generator = SystemRandomNumberGenerator()
        for i in salt.indices { salt[i] = UInt8.random(in: 0 ... .max, using: &generator) }
        let parameters = self.parameters
        let derived = try await PasswordHasher.derive(password, salt: salt, parameters: parameters)
        return ["scrypt", String(parameters.logN), String(parameters.r), String(parameters.p),
            Data(salt).base64EncodedString(), Data(derived).base64EncodedString()].joined(separator: "$")
    }

    /// Whether `password` matches `stored` (compared in constant time). A malformed stored hash
    /// never matches.
    public func verify(_ password: String, against stored: String) async -> Bool {
        let parts = stored.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "scrypt", let logN = Int(parts[1]), let r = Int(parts[2]), let p = Int(parts[3]),
            (1...20).contains(logN), (1...32).contains(r), (1...16).contains(p),
            let salt = Data(base64Encoded: String(parts[4])), let expected = Data(base64Encoded: String(parts[5])), expected.count == 32
        else { return false }
        guard let derived = try? await PasswordHasher.derive(password, salt: [UInt8](salt), parameters: Parameters(logN: logN, r: r, p: p))
        else { return false }
        return PasswordHasher.constantTimeEqual(derived, [UInt8](expected))
    }

    /// A hash of a random password with these parameters: verifying against it costs what a real
    /// verification costs, so an unknown account answers as slowly as a wrong password.
    public func decoy() async throws -> String { try await hash(UUID().uuidString) }

    static func derive(_ password: String, salt: [UInt8], parameters: Parameters) async throws -> [UInt8] {
        try await NIOThreadPool.singleton.runIfActive {
            let key = try KDF.Scrypt.deriveKey(
                from: Array(password.utf8), salt: salt, outputByteCount: 32, rounds: 1 << parameters.logN,
                blockSize: parameters.r, parallelism: parameters.p)
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
