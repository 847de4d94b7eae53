import Access
public import Crypto
public import Logging
public import Prometheus
import RPC

/// The front door: the legacy `/api/v1` contract and `/rpc/<Service>/<Method>` JSON over the
/// binary services, on Hummingbird's router with the routes of the schema's `(gateway.v1.http)`
/// options. The request's way through it is ``makeRouter()``; each concern (a middleware, an
/// endpoint, the legacy transcoding) has its file.
public final class Gateway: Sendable {
    /// The services, methods, descriptors and routes served.
    let schema: GatewaySchema
    let codec: DynamicCodec
    let legacy: LegacyCodec
    /// A client per configured service.
    let clients: [String: RPCClient]
    let verifier: TokenVerifier
    let configuration: GatewayConfiguration
    let ipLimiter: RateLimiter
    let userLimiter: RateLimiter
    let registry: PrometheusCollectorRegistry
    let logger: Logger
    /// Every method the gateway knows, by `/package.Service/Method`.
    let methods: [String: MethodDescriptor]
    /// The OpenAPI document, built once.
    let openAPI: [UInt8]

    var pool: DescriptorPool { schema.pool }

    /// - Parameters:
    ///   - backends: the addresses of the services (those not named answer UNAVAILABLE).
    ///   - authPublicKey: the auth service's key, for the early check of access tokens.
    ///   - registry: where `/metrics` comes from (request counts are added to it).
    /// - Throws: ``ProtoDecodingError`` if the generated schema does not decode.
    public init(
        configuration: GatewayConfiguration,
        backends: GatewayBackends,
        authPublicKey: Curve25519.Signing.PublicKey,
        registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
        logger: Logger
    ) throws {
        schema = try GatewaySchema.marketplace()
        codec = DynamicCodec(pool: schema.pool)
        legacy = LegacyCodec(pool: schema.pool)
        methods = Dictionary(schema.methods.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        clients = backends.endpoints.mapValues { RPCClient(endpoints: $0) }
        // Service tokens never come through the gateway: their key is one nobody holds.
        verifier = TokenVerifier(accessKey: authPublicKey, serviceKey: Curve25519.Signing.PrivateKey().publicKey)
        self.configuration = configuration
        ipLimiter = RateLimiter(capacity: configuration.perIP.burst, perMinute: configuration.perIP.perMinute)
        userLimiter = RateLimiter(capacity: configuration.perUser.burst, perMinute: configuration.perUser.perMinute)
        self.registry = registry
        self.logger = logger
        openAPI = OpenAPI.bytes(pool: schema.pool, routes: schema.routes, methods: schema.methods)
    }
}
