public import ProtoRuntime

/// A message published on the event bus: the schema ties it to an exchange and a routing key
/// with the `(rpc.v1.event)` option, and the generator emits this conformance.
public protocol EventMessage: ProtoRuntime.Message {
    /// The topic exchange, e.g. `order_events`.
    static var eventExchange: String { get }
    /// The routing key, e.g. `order.created`.
    static var eventRoutingKey: String { get }
}
