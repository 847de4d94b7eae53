import ArgumentParser
import AuthService
import Crypto
import EventBus
import Foundation
import MarketplaceServices
import RPC
import ServiceKit

extension Marketplace {
    /// Where data lives: `--data-dir`, else `MARKETPLACE_DATA_DIR`, else `./data`.
    struct DataOptions: ParsableArguments {
        @Option(help: "Directory for the SQLite files (default: $MARKETPLACE_DATA_DIR or ./data).")
        var dataDir: String?

        var resolved: String { dataDir ?? ProcessInfo.processInfo.environment["MARKETPLACE_DATA_DIR"] ?? "./data" }
    }

    /// The bus's topology: `--bus-topology FILE`, else `MARKETPLACE_BUS_TOPOLOGY`, else the embedded one.
    struct BusOptions: ParsableArguments {
        @Option(
            help:
                "A JSON file with the exchanges, queues and bindings the bus declares at start (default: $MARKETPLACE_BUS_TOPOLOGY or the embedded topology)."
        )
        var busTopology: String?

        func topology() throws -> BusTopology {
            guard let path = busTopology ?? ProcessInfo.processInfo.environment["MARKETPLACE_BUS_TOPOLOGY"] else {
                return .standard
            }
            do { return try BusTopology.load(path: path) } catch let error as BusTopologyError {
                throw ValidationError(error.message)
            }
        }
    }

    /// Where the other services are: `--bus`, `--auth`, `--users`, `--orders` or `--peer NAME=ADDR`
    /// (comma-separated `host:port` lists: several addresses are replicas, used round-robin),
    /// else `$MARKETPLACE_<NAME>` (`MARKETPLACE_BUS`, `MARKETPLACE_USERS`, …), else the standard
    /// local port.
    struct PeerOptions: ParsableArguments {
        @Option(
            help: "The event bus's address(es), host:port[,host:port…] (default: $MARKETPLACE_BUS or 127.0.0.1:8007)."
        )
        var bus: String?

        @Option(help: "The auth service's address(es) (default: $MARKETPLACE_AUTH or 127.0.0.1:8000).")
        var auth: String?

        @Option(help: "The users service's address(es) (default: $MARKETPLACE_USERS or 127.0.0.1:8002).")
        var users: String?

        @Option(help: "The orders service's address(es) (default: $MARKETPLACE_ORDERS or 127.0.0.1:8003).")
        var orders: String?

        @Option(
            name: .customLong("peer"),
            help: "Any service's address(es) as NAME=host:port[,host:port…] (repeatable)."
        )
        var peers: [String] = []

        @Option(
            help: "The auth service's Ed25519 public key, base64 (default: fetched from the auth service at start)."
        )
        var authPublicKey: String?

        /// The addresses of `name` (a service, or `bus`).
        func endpoints(_ name: String) throws -> [Endpoint] {
            let named = ["bus": bus, "auth": auth, "users": users, "orders": orders]
            var given = named[name] ?? nil
            for entry in peers {
                guard let equals = entry.firstIndex(of: "=") else {
                    throw ValidationError("--peer: '\(entry)' is not NAME=host:port")
                }
                if entry[..<equals] == name { given = String(entry[entry.index(after: equals)...]) }
            }
            let environment = ProcessInfo.processInfo.environment["MARKETPLACE_\(name.uppercased())"]
            guard let text = given ?? environment ?? MarketplaceServices.ports[name].map({ "127.0.0.1:\($0)" }) else {
                throw ValidationError("no address of \(name): give --peer \(name)=host:port")
            }
            let source =
                given == nil
                ? "MARKETPLACE_\(name.uppercased())" : named.keys.contains(name) ? "--\(name)" : "--peer \(name)"
            return try Addresses.parse(text, option: source)
        }

        /// The addresses of each of `names`.
        func endpoints(_ names: [String]) throws -> [String: [Endpoint]] {
            var result: [String: [Endpoint]] = [:]
            for name in names { result[name] = try endpoints(name) }
            return result
        }

        func publicKey() throws -> Curve25519PublicKey? {
            guard let text = authPublicKey ?? ProcessInfo.processInfo.environment["MARKETPLACE_AUTH_PUBLIC_KEY"] else {
                return nil
            }
            do { return try AuthPublicKey.parse(base64: text) } catch {
                throw ValidationError("--auth-public-key: not a base64 32-byte Ed25519 key")
            }
        }
    }

    /// The auth service's settings.
    struct AuthOptions: ParsableArguments {
        @Option(
            help:
                "The token signing key file (raw 32-byte Ed25519 private key; default <data-dir>/keys/auth-ed25519.key, created on first start)."
        )
        var authSigningKey: String?

        @Option(help: "Failed logins in a row that lock an account.")
        var maxFailedLogins = 5

        @Option(help: "How long a locked account stays locked, in minutes.")
        var lockoutMinutes = 15

        @Option(help: "How long an access token is valid, in minutes.")
        var accessTokenMinutes = 30

        @Option(
            help:
                "scrypt's cost for new password hashes, log2 N (15: 32 MiB, ~80 ms; each hash keeps its own cost, so raising it later breaks nothing)."
        )
        var passwordHashCost = PasswordHasher.Parameters.standard.logN

        @Option(help: "Password hashes computed at once (default: one per core).")
        var maxConcurrentHashes = ProcessInfo.processInfo.activeProcessorCount

        @Option(
            help:
                "Password hashes that may wait for a slot; past them a login is refused at once (RESOURCE_EXHAUSTED, HTTP 429 with Retry-After)."
        )
        var hashQueue = 16

        @Option(help: "Logins and registrations per minute from one source address (bursts of a third of it).")
        var loginsPerMinutePerSource = 60

        @Option(help: "Login attempts per minute for one account (bursts of half of it).")
        var loginsPerMinutePerAccount = 20

        @Option(
            name: .customLong("trusted-proxy"),
            help:
                "A gateway's address whose x-client-address names the real client (repeatable; default 127.0.0.1 and ::1)."
        )
        var trustedProxies: [String] = []

        func validate() throws {
            guard (1...1000).contains(maxFailedLogins) else {
                throw ValidationError("--max-failed-logins must be 1-1000")
            }
            guard (1...10_080).contains(lockoutMinutes) else {
                throw ValidationError("--lockout-minutes must be 1-10080")
            }
            guard (1...1440).contains(accessTokenMinutes) else {
                throw ValidationError("--access-token-minutes must be 1-1440")
            }
            guard (10...20).contains(passwordHashCost) else {
                throw ValidationError("--password-hash-cost must be 10-20 (log2 N)")
            }
            guard (1...256).contains(maxConcurrentHashes) else {
                throw ValidationError("--max-concurrent-hashes must be 1-256")
            }
            guard (0...10_000).contains(hashQueue) else { throw ValidationError("--hash-queue must be 0-10000") }
            guard (1...1_000_000).contains(loginsPerMinutePerSource),
                (1...1_000_000).contains(loginsPerMinutePerAccount)
            else {
                throw ValidationError(
                    "--logins-per-minute-per-source and --logins-per-minute-per-account must be 1-1000000"
                )
            }
        }

        var configuration: AuthConfiguration {
            var configuration = AuthConfiguration()
            configuration.maximumFailedLogins = maxFailedLogins
            configuration.lockoutDuration = TimeInterval(lockoutMinutes * 60)
            configuration.accessTokenLifetime = TimeInterval(accessTokenMinutes * 60)
            configuration.passwordParameters.logN = passwordHashCost
            configuration.hashConcurrency = maxConcurrentHashes
            configuration.hashQueue = hashQueue
            configuration.perSource = (burst: max(1, loginsPerMinutePerSource / 3), perMinute: loginsPerMinutePerSource)
            configuration.perAccount = (
                burst: max(1, loginsPerMinutePerAccount / 2), perMinute: loginsPerMinutePerAccount
            )
            if !trustedProxies.isEmpty { configuration.trustedProxies = Set(trustedProxies.map { $0.lowercased() }) }
            return configuration
        }
    }
}
