/// The event bus (issue 4): topic exchanges, durable queues, publisher confirms, consumer acks.
///
/// Built so far: the topic-pattern matcher (`TopicPattern`) and the wire API
/// (`Protos/rpc/v1/bus.proto`, generated into `RPCSchema` and the `Broker` stubs in `RPC`).
public enum EventBusInfo {
    /// The exchanges every deployment declares at start (the original system's five).
    public static let standardExchanges = ["auth_events", "user_events", "order_events", "payment_events", "review_events"]
}
