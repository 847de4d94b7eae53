import Foundation
public import RPC
public import TestSupport
import ProtoRuntime
import Testing

/// A client of the legacy contract over real HTTP.
public struct LegacyClient: Sendable {
    public let endpoint: Endpoint

    public init(endpoint: Endpoint) { self.endpoint = endpoint }

    public func call(_ method: String, _ path: String, token: String? = nil, json: String? = nil) async throws
        -> HTTPResult
    {
        try await httpJSON(endpoint, method, "/api/v1" + path, token: token, json: json)
    }

    /// Registers (role_id 1 or 2) and logs in through the contract; returns the user id and token.
    public func signUp(_ username: String, roleID: Int) async throws -> (id: Int64, token: String) {
        let registered = try await call(
            "POST",
            "/auth/register",
            json:
                #"{"username":"\#(username)","email":"\#(username)@example.com","password":"password123","role_id":\#(roleID)}"#
        )
        #expect(registered.status == 200, "\(registered.text)")
        let login = try await call(
            "POST",
            "/auth/login",
            json: #"{"email":"\#(username)@example.com","password":"password123"}"#
        )
        #expect(login.status == 200, "\(login.text)")
        guard case .number(let id)? = registered.json?["data"]?["id"], let userID = Int64(id),
            case .string(let token)? = login.json?["data"]?["access_token"]
        else {
            throw RPCError(
                code: .internalError,
                message: "unexpected sign-up answer: \(registered.text) / \(login.text)"
            )
        }
        return (userID, token)
    }
}
