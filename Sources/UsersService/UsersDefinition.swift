public import Foundation
import MarketplaceAPI
public import ServiceKit

extension ServiceDefinition {
    /// The users service (port 8002): profiles, admin user management, provider search and
    /// verification; its queue follows accounts, ratings and completed orders.
    /// - Parameter now: the clock (tests move it by hand).
    public static func users(now: @escaping @Sendable () -> Date = { Date() }) -> ServiceDefinition {
        ServiceDefinition(
            name: "users",
            rpcServices: [Users.serviceName],
            calls: ["auth"],
            migrate: UsersSchema.migrate,
            queue: UsersEvents.queue,
            now: now
        ) { environment in
            ServiceParts(
                handlers: [
                    UsersService(
                        database: environment.database,
                        auth: try environment.auth(),
                        now: now,
                        logger: environment.logger
                    )
                ],
                routes: UsersEvents.routes(now: now)
            )
        }
    }
}
