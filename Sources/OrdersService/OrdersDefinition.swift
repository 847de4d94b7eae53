import MarketplaceAPI
public import ServiceKit

extension ServiceDefinition {
    /// The orders service (port 8003): the order life cycle and its lists; it calls users (to
    /// check providers) and its queue learns of payments and reviews.
    public static func orders(_ configuration: OrdersConfiguration = OrdersConfiguration()) -> ServiceDefinition {
        ServiceDefinition(
            name: "orders",
            rpcServices: [Orders.serviceName],
            calls: ["users"],
            migrate: OrdersSchema.migrate,
            queue: OrdersEvents.queue,
            now: configuration.now
        ) { environment in
            let users = Users.Client(try environment.client("users"))
            return ServiceParts(
                handlers: [
                    OrdersService(
                        database: environment.database,
                        users: users,
                        configuration: configuration,
                        logger: environment.logger
                    )
                ],
                routes: OrdersEvents.routes(now: configuration.now)
            )
        }
    }
}
