import HTTPTypes
import Hummingbird

/// The contract's CORS: any origin, credentials allowed, the gateway's headers exposed — on every
/// response, errors and 500s included (the legacy gateway forgot 500s), whether or not the
/// request names an origin. Hummingbird's `CORSMiddleware` adds nothing to requests without an
/// `Origin` and answers preflights with a fixed header list, so the contract has its own.
struct ContractCORSMiddleware: RouterMiddleware {
    typealias Context = GatewayContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var response = try await next(request, context)
        if response.headers[.accessControlAllowOrigin] == nil { response.headers[.accessControlAllowOrigin] = "*" }
        response.headers[.accessControlAllowCredentials] = "true"
        response.headers[.accessControlExposeHeaders] = "X-Request-Id, X-Next-Page-Token, Retry-After"
        return response
    }
}

/// Answers every `OPTIONS` request as a CORS preflight: the asking origin, every verb, the
/// headers asked for, cached 10 minutes.
struct PreflightMiddleware: RouterMiddleware {
    typealias Context = GatewayContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard request.method == .options else { return try await next(request, context) }
        var response = Response(status: .ok)
        response.headers[.accessControlAllowOrigin] = request.headers[.origin] ?? "*"
        response.headers[.accessControlAllowMethods] = "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"
        response.headers[.accessControlAllowHeaders] =
            request.headers[.accessControlRequestHeaders] ?? "Authorization, Content-Type"
        response.headers[.accessControlMaxAge] = "600"
        response.headers[.vary] = "Origin"
        return response
    }
}
