import MarketplaceAPI
import ProtoRuntime
import RPC
import ServiceKit

/// What is left of the account rules once the schema's (`rpc.v1.rules` in auth.proto: username
/// length and characters, e-mail syntax, password length, checked before a handler runs) have
/// passed: the e-mail's normalization, and the check for callers that are not RPCs.
enum AccountRules {
    /// An address that passed the schema's `email` rule, with its domain lower-cased.
    static func normalizedEmail(_ value: String) -> String {
        guard let at = value.lastIndex(of: "@") else { return value }
        return String(value[..<at]) + value[at...].lowercased()
    }

    /// The schema's rules of `RegisterRequest`, for account creation that is not an RPC (the
    /// admin tool): INVALID_ARGUMENT with the violation, as the server would answer.
    static func check(_ request: RegisterRequest) throws {
        do {
            try request.validate()
        } catch {
            throw RPCError(code: .invalidArgument, message: error.description)
        }
    }
}
