public import Crypto
import Foundation

/// Ed25519 key pairs kept as files (the raw 32-byte private key, mode 0600).
///
/// The auth service signs access tokens with `keys/auth-ed25519.key`; the services sign their own
/// service-identity tokens with `keys/service-ed25519.key`. Both are generated in the data
/// directory on first start unless given by configuration. Nobody outside the machine can mint a
/// service identity: the service key never leaves the data directory.
public enum KeyFile {
    public enum Failure: Error, CustomStringConvertible {
        case unreadable(String, String)
        case invalid(String)
        case unwritable(String, String)

        public var description: String {
            switch self {
            case .unreadable(let path, let why): return "cannot read key file '\(path)': \(why)"
            case .invalid(let path): return "key file '\(path)' does not hold a 32-byte Ed25519 private key"
            case .unwritable(let path, let why): return "cannot write key file '\(path)': \(why)"
            }
        }
    }

    /// The key in `path`, creating a new random one there first when the file does not exist.
    public static func loadOrCreate(path: String) throws -> Curve25519.Signing.PrivateKey {
        if FileManager.default.fileExists(atPath: path) { return try load(path: path) }
        let key = Curve25519.Signing.PrivateKey()
        let directory = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(
                atPath: directory.isEmpty ? "." : directory,
                withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700]
            )
        } catch {
            throw Failure.unwritable(path, error.localizedDescription)
        }
        // Written to a temporary name and renamed, so a crash never leaves half a key behind.
        let temporary = path + ".tmp-\(UUID().uuidString)"
        guard
            FileManager.default.createFile(
                atPath: temporary,
                contents: key.rawRepresentation,
                attributes: [.posixPermissions: 0o600]
            )
        else { throw Failure.unwritable(path, "create failed") }
        // link(2) publishes the complete file only if the name is free: two processes starting
        // together end up with one key (the loser loads the winner's), never two.
        let linked = link(temporary, path)
        let failure = errno
        unlink(temporary)
        if linked != 0 {
            if failure == EEXIST { return try load(path: path) }
            throw Failure.unwritable(path, String(cString: strerror(failure)))
        }
        return key
    }

    public static func load(path: String) throws -> Curve25519.Signing.PrivateKey {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw Failure.unreadable(path, error.localizedDescription)
        }
        guard data.count == 32, let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: data) else {
            throw Failure.invalid(path)
        }
        return key
    }

    /// A short stable id for a public key (the first 8 bytes of its SHA-256, hex): the `kid`.
    public static func keyID(_ key: Curve25519.Signing.PublicKey) -> String {
        SHA256.hash(data: key.rawRepresentation).prefix(8).map { String(format: "%02x", $0) }.joined()
    }
}

/// An Ed25519 public key (the type services take the auth service's key as).
public typealias Curve25519PublicKey = Curve25519.Signing.PublicKey
