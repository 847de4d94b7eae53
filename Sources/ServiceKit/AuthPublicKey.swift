public import Crypto
import Foundation
public import Logging
public import MarketplaceAPI
import RPC

/// The auth service's public key, fetched over RPC (retrying while auth is not up yet).
public enum AuthPublicKey {
    /// - Throws: the last error once `attempts` have failed; FAILED_PRECONDITION for a key that is
    ///   not a 32-byte EdDSA key.
    public static func fetch(from auth: Auth.Client, attempts: Int = 60, logger: Logger) async throws
        -> Curve25519.Signing.PublicKey
    {
        var delay = Duration.milliseconds(100)
        var lastError: any Error = RPCError(code: .unavailable, message: "the auth service was not reached")
        for attempt in 1...max(1, attempts) {
            do {
                let response = try await auth.getPublicKey(
                    GetPublicKeyRequest(),
                    options: CallOptions(timeout: .seconds(2))
                )
                guard response.algorithm == "EdDSA",
                    let key = try? Curve25519.Signing.PublicKey(rawRepresentation: response.publicKey)
                else {
                    throw RPCError(code: .failedPrecondition, message: "the auth service's key is not an Ed25519 key")
                }
                return key
            } catch let error as RPCError where error.code == .failedPrecondition {
                throw error
            } catch {
                lastError = error
                if attempt == 1 || attempt % 10 == 0 {
                    logger.info("waiting for the auth service's public key", metadata: ["error": "\(error)"])
                }
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(1))
            }
        }
        throw lastError
    }

    /// A key given in configuration: the raw 32 bytes, base64.
    public static func parse(base64 text: String) throws -> Curve25519.Signing.PublicKey {
        guard let data = Data(base64Encoded: text), let key = try? Curve25519.Signing.PublicKey(rawRepresentation: data)
        else {
            throw RPCError(code: .invalidArgument, message: "the auth public key must be a base64 32-byte Ed25519 key")
        }
        return key
    }
}
