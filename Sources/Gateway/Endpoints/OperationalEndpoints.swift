import Hummingbird
import NIOCore
import Prometheus
import ProtoRuntime
import RPC
import RPCSchema

extension Gateway {
    /// The operational endpoints' paths (`GET` only; not rate-limited).
    static let operationalPaths: Set<String> = ["/health", "/healthz", "/metrics", "/api/v1/openapi.json"]

    /// `GET /health` (the contract's), `/healthz` (every service's health), `/metrics`
    /// (Prometheus text) and `/api/v1/openapi.json`.
    func addOperationalRoutes(to router: Router<GatewayContext>) {
        router.get("/health") { _, _ in
            GatewayResponse.json(
                200,
                .object([
                    ("status", .string("healthy")), ("service", .string("gateway-service")),
                    ("version", .string("1.0.0")),
                ])
            )
        }
        router.get("/healthz") { _, _ in await self.health() }
        router.get("/api/v1/openapi.json") { _, _ in
            var response = Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: self.openAPI)))
            response.headers[.contentType] = "application/json"
            return response
        }
        router.get("/metrics") { _, _ in
            var response = Response(
                status: .ok,
                body: .init(byteBuffer: ByteBuffer(bytes: self.registry.emitToBuffer()))
            )
            response.headers[.contentType] = "text/plain; version=0.0.4"
            return response
        }
    }

    /// Each configured service's health check: 200 when all are SERVING, else 503.
    func health() async -> Response {
        var services: [(String, JSONValue)] = []
        var healthy = true
        for (name, client) in clients.sorted(by: { $0.key < $1.key }) {
            var status = "UNREACHABLE"
            if let answer = try? await Health.Client(client).check(
                HealthCheckRequest(service: ""),
                options: CallOptions(timeout: .seconds(2))
            ) {
                let name = answer.status.protoName ?? "UNKNOWN"
                status = name.hasPrefix("SERVING_STATUS_") ? String(name.dropFirst("SERVING_STATUS_".count)) : name
            }
            if status != "SERVING" { healthy = false }
            services.append((name, .string(status)))
        }
        return GatewayResponse.json(
            healthy ? 200 : 503,
            .object([("status", .string(healthy ? "ok" : "degraded")), ("services", .object(services))])
        )
    }
}
