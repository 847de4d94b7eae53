import ProtoRuntime
public import RPCSchema

/// Typed handlers for the events a consumer receives, chosen by the event's type: a service
/// says `routes.on(OrderCompleted.self) { completed, db in … }` instead of switching on type
/// strings. `Context` is what a handler works in: the consumer's transaction (`Database`) for
/// ``EventConsumer``, the revocation list for the revocation feed.
public struct EventRoutes<Context>: Sendable {
    /// A route's handler on the wire event (decodes the payload, then runs the typed handler).
    public typealias Handler = @Sendable (Event, Context) throws -> Void

    /// Where a routed event type is published.
    public struct Route: Sendable, Hashable {
        /// The protobuf name of the event message (`marketplace.v1.OrderCompleted`).
        public let type: String
        public let exchange: String
        public let routingKey: String
    }

    private var handlers: [String: Handler] = [:]
    /// The routed event types, in the order they were added.
    public private(set) var routes: [Route] = []

    public init() {}

    /// Routes events of type `E` to `handle`, which gets the decoded event. A payload that does
    /// not decode as `E` throws (the consumer nacks it; it is dead-lettered after the queue's
    /// delivery limit). A second route for the same type replaces the first.
    public mutating func on<E: EventMessage>(_: E.Type, _ handle: @escaping @Sendable (E, Context) throws -> Void) {
        if handlers[E.protoMessageName] == nil {
            routes.append(Route(type: E.protoMessageName, exchange: E.eventExchange, routingKey: E.eventRoutingKey))
        }
        handlers[E.protoMessageName] = { event, context in try handle(try E(serializedBytes: event.payload), context) }
    }

    /// Runs the route of `event`'s type.
    /// - Returns: whether a route took it (false: no route for its type; nothing ran).
    @discardableResult
    public func handle(_ event: Event, _ context: Context) throws -> Bool {
        guard let handler = handlers[event.type] else { return false }
        try handler(event, context)
        return true
    }

    /// Each routed event's exchange and routing key, as exact bindings (for a queue that binds
    /// exactly what it routes).
    public var bindings: [BusTopology.Binding] {
        routes.map { BusTopology.Binding(exchange: $0.exchange, pattern: $0.routingKey) }
    }

    /// The routes that none of `bindings` would deliver (a queue missing a binding for an event
    /// its service handles): empty when the queue's bindings cover every route.
    public func unbound(by bindings: [BusTopology.Binding]) -> [Route] {
        routes.filter { route in
            !bindings.contains { $0.exchange == route.exchange && TopicPattern($0.pattern).matches(route.routingKey) }
        }
    }
}
