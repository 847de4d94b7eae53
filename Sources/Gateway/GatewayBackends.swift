public import RPC

/// Which addresses serve which service (several addresses: replicas, round-robin).
public struct GatewayBackends: Sendable {
    /// By full service name (`marketplace.v1.Orders`).
    public var endpoints: [String: [Endpoint]]

    /// - Parameter endpoints: by full service name (`marketplace.v1.Orders`).
    public init(_ endpoints: [String: [Endpoint]]) { self.endpoints = endpoints }
}
