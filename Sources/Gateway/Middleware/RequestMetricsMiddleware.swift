import Hummingbird
import Prometheus

/// Counts requests by status in the gateway's registry (`gateway_requests_total{status}`, served
/// at `/metrics`). Hummingbird's `MetricsMiddleware` reports to the process-wide metrics system
/// under its own names instead.
struct RequestMetricsMiddleware: RouterMiddleware {
    typealias Context = GatewayContext

    let registry: PrometheusCollectorRegistry

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let response = try await next(request, context)
        registry.makeCounter(
            descriptor: MetricNameDescriptor(
                metricName: "gateway_requests_total",
                unitName: "requests",
                helpText: "HTTP requests by status"
            ),
            labels: [("status", String(response.status.code))]
        ).increment()
        return response
    }
}
