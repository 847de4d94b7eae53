import Access
import Hummingbird

/// A token bucket per client address: 429 with `Retry-After` once it runs dry. The operational
/// endpoints (`GET /health`, `/healthz`, `/metrics`, the OpenAPI document) are not counted.
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = GatewayContext

    let limiter: RateLimiter
    /// Paths whose `GET` is not counted.
    let exempt: Set<String>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        if request.method == .get, exempt.contains(request.uri.path) { return try await next(request, context) }
        if let wait = limiter.take(context.clientAddress) {
            throw HTTPFailure(
                status: 429,
                detail: "Rate limit exceeded: too many requests from this address; retry in \(wait) s",
                headers: [("Retry-After", String(wait))]
            )
        }
        return try await next(request, context)
    }
}
