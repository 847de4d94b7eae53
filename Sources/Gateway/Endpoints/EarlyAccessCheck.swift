import Access
import RPC
import RPCSchema

extension Gateway {
    /// The early token check of a legacy route that is not public: 403 without a bearer token
    /// (as the contract has it), 401 for one that does not verify, 403 when the schema's access
    /// decision (the services' own) refuses the caller. The services check again; they are the
    /// authority.
    func earlyAccessCheck(_ rule: AccessRule, authorization: String?) throws -> Caller {
        let caller = try precheck(authorization)
        switch rule.decision(for: caller, operation: "this operation") {
        case .allowed: return caller
        case .permissionDenied where !rule.internal && !rule.roles.isEmpty:
            // The contract's wording (legacy-http-api.md §2: the detail says which role is required).
            throw HTTPFailure(
                status: 403,
                detail: "this operation requires the \(rule.roles.joined(separator: " or ")) role"
            )
        case .unauthenticated(let message), .permissionDenied(let message):
            throw HTTPFailure(status: 403, detail: message)
        }
    }

    /// The verified caller of `authorization`.
    func precheck(_ authorization: String?) throws -> Caller {
        guard let authorization else { throw HTTPFailure(status: 403, detail: "Not authenticated") }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw HTTPFailure(status: 403, detail: "Invalid authentication credentials")
        }
        do { return try verifier.caller(for: String(parts[1])) } catch {
            throw HTTPFailure(status: 401, detail: "Invalid token: \(error.description)")
        }
    }
}
