import Foundation
import HTTPTypes
import Hummingbird

/// Who the client is: the connection's peer, or behind a trusted balancer
/// (``GatewayConfiguration/trustForwardedFor``) the last `X-Forwarded-For` entry, the one the
/// balancer appended (entries before it are whatever the client claimed). Rate limits count by
/// it, and the services learn it as `x-client-address` (auth limits logins per source with it).
struct ClientAddressMiddleware: RouterMiddleware {
    typealias Context = GatewayContext

    let trustForwardedFor: Bool

    static let forwardedFor = HTTPField.Name("x-forwarded-for")

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard trustForwardedFor, let header = Self.forwardedFor,
            let last = request.headers[header]?.split(separator: ",").last
        else { return try await next(request, context) }
        var context = context
        context.clientAddress = last.trimmingCharacters(in: .whitespaces)
        return try await next(request, context)
    }
}
