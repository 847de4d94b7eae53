import Hummingbird

/// 414 for a path or query longer than the gateway reads, before anything splits or decodes
/// them (no route of the schema comes near either bound).
struct URILimitMiddleware: RouterMiddleware {
    typealias Context = GatewayContext

    /// The longest query string (UTF-8 bytes) accepted.
    static let maximumQueryBytes = 8192

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard request.uri.path.utf8.count <= RouteTable.maximumPathBytes else {
            throw HTTPFailure(
                status: 414,
                detail: "URI Too Long: the path is longer than \(RouteTable.maximumPathBytes) bytes"
            )
        }
        guard (request.uri.query?.utf8.count ?? 0) <= Self.maximumQueryBytes else {
            throw HTTPFailure(
                status: 414,
                detail: "URI Too Long: the query is longer than \(Self.maximumQueryBytes) bytes"
            )
        }
        return try await next(request, context)
    }
}
