import Hummingbird
import Logging

/// Turns whatever the inner middleware and routes throw into a response, so the middleware
/// outside it (CORS, metrics, the log, the request id) sees every answer: an
/// `HTTPResponseError` answers for itself (``HTTPFailure`` in the endpoint's shape; Hummingbird's
/// own errors as a failure of their status); anything else is logged and is a 500 that names
/// nothing of the cause.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = GatewayContext

    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let failure as HTTPFailure {
            return try failure.response(from: request, context: context)
        } catch let error as any HTTPResponseError {
            return try HTTPFailure(status: Int(error.status.code), detail: error.status.reasonPhrase).response(
                from: request,
                context: context
            )
        } catch {
            logger.error(
                "unhandled gateway error",
                metadata: ["error": "\(error)", "request-id": "\(context.requestID)"]
            )
            let rpc = request.uri.path.hasPrefix("/rpc/")
            return try HTTPFailure(status: 500, detail: rpc ? "internal error" : "Internal server error").response(
                from: request,
                context: context
            )
        }
    }
}
