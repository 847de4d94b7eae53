import Foundation
import HTTPTypes
import Hummingbird

extension Gateway {
    /// The gateway's router: the middleware in the order a request meets it, then the routes —
    /// the operational endpoints, `/rpc/<Service>/<Method>`, and every `(gateway.v1.http)` route of
    /// the schema.
    func makeRouter() -> Router<GatewayContext> {
        let router = Router(context: GatewayContext.self)
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: RequestLogMiddleware(logger: logger))
        router.add(middleware: RequestMetricsMiddleware(registry: registry))
        router.add(middleware: ContractCORSMiddleware())
        router.add(middleware: ErrorMiddleware(logger: logger))
        router.add(middleware: URILimitMiddleware())
        router.add(middleware: PreflightMiddleware())
        router.add(middleware: ClientAddressMiddleware(trustForwardedFor: configuration.trustForwardedFor))
        router.add(middleware: RateLimitMiddleware(limiter: ipLimiter, exempt: Gateway.operationalPaths))
        router.add(middleware: ContractRoutingMiddleware(gateway: self))
        addOperationalRoutes(to: router)
        router.post("/rpc/:service/:method") { request, context in
            try await self.rpc(request, path: String(request.uri.path.dropFirst(4)), context: context)
        }
        addLegacyRoutes(to: router)
        return router
    }

    /// Every route of the schema, each answered by ``legacyCall(_:parameters:request:context:)``.
    func addLegacyRoutes(to router: Router<GatewayContext>) {
        var registered: Set<String> = []
        for route in schema.routes.routes {
            // The first route of a verb and path wins, as in the route table.
            guard let verb = HTTPRequest.Method(route.verb), registered.insert("\(route.verb) \(route.path)").inserted
            else { continue }
            router.on(
                RouterPath(route.path),
                method: verb,
                responder: LegacyRouteResponder(route: route, gateway: self)
            )
        }
    }
}

/// Answers one legacy route: its path variables (percent-decoded) and the request, to
/// ``Gateway/legacyCall(_:parameters:request:context:)``.
struct LegacyRouteResponder: HTTPResponder {
    typealias Context = GatewayContext

    let route: HTTPRoute
    let gateway: Gateway

    func respond(to request: Request, context: Context) async throws -> Response {
        var parameters: [String: String] = [:]
        for case .variable(let name) in route.segments {
            if let raw = context.parameters.get(name) { parameters[name] = raw.removingPercentEncoding ?? raw }
        }
        return try await gateway.legacyCall(route, parameters: parameters, request: request, context: context)
    }
}
