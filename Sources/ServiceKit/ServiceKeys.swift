public import Crypto
import Foundation

/// Where the keys live in a data directory.
public enum ServiceKeys {
    /// The auth service's token signing key.
    public static func authKeyPath(dataDirectory: String) -> String { dataDirectory + "/keys/auth-ed25519.key" }

    /// The key every service signs its service-identity tokens with (and verifies them with).
    public static func serviceKeyPath(dataDirectory: String) -> String { dataDirectory + "/keys/service-ed25519.key" }

    /// The service key, created on first use.
    public static func serviceKey(dataDirectory: String) throws -> Curve25519.Signing.PrivateKey {
        try KeyFile.loadOrCreate(path: serviceKeyPath(dataDirectory: dataDirectory))
    }
}
