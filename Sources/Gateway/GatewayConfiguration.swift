/// The gateway's settings.
public struct GatewayConfiguration: Sendable {
    /// The address to listen on.
    public var host = "127.0.0.1"
    /// 0 picks a free port.
    public var port = 8080
    /// Larger bodies get 413.
    public var maximumBodyBytes = 1 << 20
    /// Per client IP: burst and sustained requests per minute (token bucket).
    public var perIP = (burst: 300, perMinute: 1200)
    /// Per signed-in user.
    public var perUser = (burst: 200, perMinute: 600)
    /// How long the gateway waits for a service.
    public var callTimeout: Duration = .seconds(10)
    /// The legacy list routes return whole arrays (following pages) up to this many items.
    public var legacyListLimit = 1000
    /// Behind one load balancer: take the client address for rate limits from the last
    /// `X-Forwarded-For` entry, the one the balancer appended (never set this when clients reach
    /// the gateway directly).
    public var trustForwardedFor = false
    /// A connection's first request head (request line and headers) must arrive within this
    /// long of the connection opening, or the connection is closed.
    public var requestHeadTimeout: Duration = .seconds(10)
    /// A connection waiting for a request (after opening, or after its last response) longer
    /// than this is closed; a request head that never completes counts as waiting.
    public var idleTimeout: Duration = .seconds(60)

    /// The defaults above.
    public init() {}
}
