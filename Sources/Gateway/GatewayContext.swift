public import Hummingbird

/// The request context: Hummingbird's basics, the peer's address, and what the gateway's
/// middleware learns on the way in (the request id, the client's address).
public struct GatewayContext: RequestContext {
    /// Hummingbird's part: the logger, the endpoint path, the route's parameters.
    public var coreContext: CoreRequestContextStorage
    /// The connection's remote address.
    let peer: String
    /// The request's id (`x-request-id`: the client's, or made up), set by ``RequestIDMiddleware``.
    var requestID = ""
    /// Who the client is (the peer, or behind a trusted balancer the address it forwarded), set
    /// by ``ClientAddressMiddleware``; rate limits count by it and services learn it.
    var clientAddress: String

    /// The context of a request arriving on `source`'s channel.
    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        peer = source.channel.remoteAddress?.ipAddress ?? "unknown"
        clientAddress = peer
    }
}
