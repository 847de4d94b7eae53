import Hummingbird
import Logging

/// One log line per request, once it is answered: request id, method, path (its first 256
/// characters), status and milliseconds. (Hummingbird's `LogRequestsMiddleware` logs on the
/// way in, without the status or the time.)
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = GatewayContext

    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let started = ContinuousClock.now
        let response = try await next(request, context)
        let elapsed = ContinuousClock.now - started
        logger.info(
            "request",
            metadata: [
                "request-id": "\(context.requestID)", "method": "\(request.method.rawValue)",
                "path": "\(request.uri.path.prefix(256))",
                "status": "\(response.status.code)",
                "ms": "\(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)",
            ]
        )
        return response
    }
}
