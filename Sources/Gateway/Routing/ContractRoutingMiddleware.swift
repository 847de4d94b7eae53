import Hummingbird

/// The last middleware before the routes. Hummingbird's router finds the route of a well-formed
/// path; this gives the contract's answers where its trie has none or a different one:
///
/// - A path with an empty segment (`/a//b`, a trailing slash): the trie skips empty segments, the
///   contract does not. On `/api/v1` such a path is the route table's: a 307 to the path without
///   its one trailing slash when that has a route (as Starlette's `redirect_slashes`), else 404.
/// - A path the router does not route: on `/rpc/` 405 for verbs other than POST, else 404
///   UNIMPLEMENTED; on `/api/v1/` the route table's verdict — 405 with `Allow` when other verbs
///   have the path, the route a literal segment hid (the trie settles on `/orders/pending-review`
///   before it looks at the verb; the table ranks the routes of the request's verb only, so
///   `DELETE /orders/pending-review` is `DELETE /orders/{order_id}`), `HEAD` as `GET`, or 404;
///   elsewhere 404.
///
/// Both matchers take time linear in the path, whose length ``URILimitMiddleware`` bounds.
struct ContractRoutingMiddleware: RouterMiddleware {
    typealias Context = GatewayContext

    let gateway: Gateway

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        if RouteTable.hasEmptySegment(request.uri.path) { return try await unrouted(request, context: context) }
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            // The router's own miss (its not-found responder): nothing else here throws HTTPError.
            return try await unrouted(request, context: context)
        }
    }

    func unrouted(_ request: Request, context: Context) async throws -> Response {
        let path = request.uri.path
        if path.hasPrefix("/rpc/") {
            guard request.method == .post else { throw HTTPFailure(status: 405, detail: "Method Not Allowed") }
            return GatewayResponse.rpcUnknownMethod(String(path.dropFirst(4)))
        }
        guard path.hasPrefix("/api/v1/") else { throw HTTPFailure(status: 404, detail: "Not Found") }
        switch gateway.schema.routes.match(verb: request.method.rawValue, path: path) {
        case .notFound: throw HTTPFailure(status: 404, detail: "Not Found")
        case .methodNotAllowed(let allowed):
            throw HTTPFailure(
                status: 405,
                detail: "Method Not Allowed",
                headers: [("Allow", allowed.joined(separator: ", "))]
            )
        case .redirect(let target):
            var response = Response(status: .temporaryRedirect)
            response.headers[.location] = target + (request.uri.query.map { "?" + $0 } ?? "")
            return response
        case .found(let route, let parameters):
            return try await gateway.legacyCall(route, parameters: parameters, request: request, context: context)
        }
    }
}
