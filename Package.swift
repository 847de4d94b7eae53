// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "marketplace",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "ProtoRuntime", targets: ["ProtoRuntime"]),
        .library(name: "ProtoCompiler", targets: ["ProtoCompiler"]),
        .library(name: "RPCSchema", targets: ["RPCSchema"]),
        .library(name: "ProtoFixtures", targets: ["ProtoFixtures"]),
        .library(name: "RPC", targets: ["RPC"]),
        .library(name: "EventBus", targets: ["EventBus"]),
        .library(name: "MarketplaceAPI", targets: ["MarketplaceAPI"]),
        .library(name: "Access", targets: ["Access"]),
        .library(name: "ServiceKit", targets: ["ServiceKit"]),
        .library(name: "AuthService", targets: ["AuthService"]),
        .library(name: "UsersService", targets: ["UsersService"]),
        .library(name: "OrdersService", targets: ["OrdersService"]),
        .library(name: "PaymentsService", targets: ["PaymentsService"]),
        .library(name: "Gateway", targets: ["Gateway"]),
        .library(name: "MarketplaceServices", targets: ["MarketplaceServices"]),
        .executable(name: "protogen", targets: ["protogen"]),
        .executable(name: "marketplace", targets: ["marketplace"]),
        .executable(name: "rpcctl", targets: ["rpcctl"]),
        .plugin(name: "ProtoGenPlugin", targets: ["ProtoGenPlugin"]),
    ],
    dependencies: [
        // Ed25519 token signatures and scrypt password hashing (_CryptoExtras).
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.1.0"),
        // The HTTP gateway (issue 6): Hummingbird 2 without swift-configuration (not needed).
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        // Prometheus text for the gateway's /metrics.
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // The wire runtime: messages, binary format, proto3 JSON. Knows nothing of RPC.
        .target(
            name: "ProtoRuntime",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        // The schema compiler: lexer, parser, resolver, emitters. Depends on nothing of ours.
        .target(name: "ProtoCompiler", swiftSettings: swiftSettings),
        .executableTarget(
            name: "protogen",
            dependencies: [
                "ProtoCompiler",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .plugin(name: "ProtoGenPlugin", capability: .buildTool(), dependencies: ["protogen"]),
        // Generated types for Protos/rpc (schema options; the protocol's frames later).
        .target(
            name: "RPCSchema",
            dependencies: ["ProtoRuntime"],
            swiftSettings: swiftSettings,
            plugins: ["ProtoGenPlugin"]
        ),
        // The binary RPC protocol: framing, connections, server, client, health, reflection.
        .target(
            name: "RPC",
            dependencies: [
                "ProtoRuntime", "RPCSchema",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings,
            plugins: ["ProtoGenPlugin"]
        ),
        // The marketplace's schema (Protos/marketplace/v1): messages, events, service stubs.
        .target(
            name: "MarketplaceAPI",
            dependencies: ["ProtoRuntime", "RPC", "RPCSchema"],
            exclude: ["protogen.json"],
            swiftSettings: swiftSettings,
            plugins: ["ProtoGenPlugin"]
        ),
        // Who may call what, shared by the services and the gateway: Ed25519 JWTs, the token
        // verifier, revocation lists, rate limiters and the `(rpc.v1.access)` decision.
        .target(
            name: "Access",
            dependencies: [
                "RPC", "RPCSchema",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // What every service shares: the access-control interceptor (over Access), service
        // identities, databases, page tokens.
        .target(
            name: "ServiceKit",
            dependencies: [
                "Access", "RPC", "RPCSchema", "ProtoRuntime", "MarketplaceAPI", "EventBus",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The auth service: accounts, scrypt passwords, Ed25519 tokens, refresh rotation, lockout.
        .target(
            name: "AuthService",
            dependencies: [
                "ServiceKit", "MarketplaceAPI", "EventBus", "RPC", "RPCSchema", "ProtoRuntime",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The users service: profiles, admin user management, provider search and verification.
        .target(
            name: "UsersService",
            dependencies: [
                "ServiceKit", "MarketplaceAPI", "EventBus", "RPC", "RPCSchema", "ProtoRuntime",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The orders service: the order life cycle (state machine), history, lists.
        .target(
            name: "OrdersService",
            dependencies: [
                "ServiceKit", "MarketplaceAPI", "EventBus", "RPC", "RPCSchema", "ProtoRuntime",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The payments service: the ledger, pays with escrow and refunds, the simulated processor.
        .target(
            name: "PaymentsService",
            dependencies: [
                "ServiceKit", "MarketplaceAPI", "EventBus", "RPC", "RPCSchema", "ProtoRuntime",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The list of services (one line each) and the bus topology their definitions add up to.
        .target(
            name: "MarketplaceServices",
            dependencies: [
                "AuthService", "UsersService", "OrdersService", "PaymentsService", "ServiceKit", "EventBus",
                "MarketplaceAPI",
                "ProtoRuntime",
            ],
            swiftSettings: swiftSettings
        ),
        // The HTTP gateway: the legacy /api/v1 contract and /rpc JSON over the binary services.
        .target(
            name: "Gateway",
            dependencies: [
                "Access", "MarketplaceAPI", "RPC", "RPCSchema", "ProtoRuntime",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            exclude: ["protogen.json"],
            swiftSettings: swiftSettings,
            // Its options file (protos/gateway/v1/http.proto -> Protos/gateway/v1/http.proto): HttpRule.
            plugins: ["ProtoGenPlugin"]
        ),
        // The event bus: topic exchanges, durable queues, confirms and acks.
        .target(
            name: "EventBus",
            dependencies: [
                "RPC", "RPCSchema", "ProtoRuntime", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            // Its schema (protos/rpc/v1/bus.proto -> Protos/rpc/v1/bus.proto): the Broker service and its messages.
            exclude: ["protogen.json"],
            swiftSettings: swiftSettings,
            plugins: ["ProtoGenPlugin"]
        ),
        // Test and benchmark schemas (every proto3 feature; the Order-like benchmark message).
        .target(
            name: "ProtoFixtures",
            dependencies: ["ProtoRuntime"],
            swiftSettings: swiftSettings,
            plugins: ["ProtoGenPlugin"]
        ),
        .executableTarget(
            name: "marketplace",
            dependencies: [
                "ProtoCompiler", "RPC", "EventBus", "AuthService", "OrdersService", "MarketplaceServices", "Gateway",
                "ServiceKit",
                "MarketplaceAPI", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "rpcctl",
            dependencies: [
                // ServiceKit: service tokens minted from a key file (`rpcctl events --key-file`);
                // EventBus: the Broker client.
                "RPC", "RPCSchema", "ProtoRuntime", "ServiceKit", "EventBus",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "protofuzz",
            dependencies: [
                "ProtoRuntime", "ProtoFixtures", "RPC",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // Helpers shared by the test targets (repository paths, temporary folders, processes).
        .target(
            name: "TestSupport",
            dependencies: [
                "RPC", "RPCSchema", "ProtoRuntime", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            path: "Tests/TestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ProtoCompilerTests",
            dependencies: ["ProtoCompiler", "TestSupport"],
            exclude: ["Golden"],
            swiftSettings: swiftSettings
        ),
        // The producer/consumer processes of the event bus crash test.
        .executableTarget(
            name: "bus-crash-peer",
            dependencies: [
                "EventBus", "ServiceKit", "RPC", "RPCSchema", "ProtoRuntime",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            path: "Tests/BusCrashPeer",
            swiftSettings: swiftSettings
        ),
        // The second process of the map-ordering test (deterministic bytes across processes).
        .executableTarget(
            name: "map-encoding-peer",
            dependencies: ["ProtoFixtures", "ProtoRuntime", "RPC"],
            path: "Tests/MapEncodingPeer",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EventBusTests",
            dependencies: [
                "EventBus", "ServiceKit", "MarketplaceServices", "RPC", "RPCSchema", "ProtoRuntime", "TestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings,
            plugins: ["ProtoGenPlugin"]
        ),
        // The system for the services' and the gateway's tests: the bus, auth, users, orders and the
        // gateway on ephemeral ports over real SQLite files (`Cluster.with { … }`).
        .target(
            name: "ServiceTestSupport",
            dependencies: [
                "AuthService", "UsersService", "OrdersService", "PaymentsService", "MarketplaceServices", "Gateway",
                "ServiceKit",
                "MarketplaceAPI", "EventBus", "RPC",
                "RPCSchema", "ProtoRuntime", "TestSupport", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Tests/ServiceTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ServiceKitTests",
            dependencies: [
                "AuthService", "UsersService", "OrdersService", "MarketplaceServices", "Gateway", "ServiceKit",
                "MarketplaceAPI", "EventBus", "RPC",
                "RPCSchema", "ProtoRuntime", "TestSupport", "ServiceTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AuthServiceTests",
            dependencies: [
                "AuthService", "UsersService", "OrdersService", "MarketplaceServices", "Gateway", "ServiceKit",
                "MarketplaceAPI", "EventBus", "RPC",
                "RPCSchema", "ProtoRuntime", "TestSupport", "ServiceTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "UsersServiceTests",
            dependencies: [
                "AuthService", "UsersService", "OrdersService", "MarketplaceServices", "Gateway", "ServiceKit",
                "MarketplaceAPI", "EventBus", "RPC",
                "RPCSchema", "ProtoRuntime", "TestSupport", "ServiceTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "OrdersServiceTests",
            dependencies: [
                "AuthService", "UsersService", "OrdersService", "MarketplaceServices", "Gateway", "ServiceKit",
                "MarketplaceAPI", "EventBus", "RPC",
                "RPCSchema", "ProtoRuntime", "TestSupport", "ServiceTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PaymentsServiceTests",
            dependencies: [
                "AuthService", "UsersService", "OrdersService", "PaymentsService", "MarketplaceServices", "Gateway",
                "ServiceKit",
                "MarketplaceAPI", "EventBus", "RPC",
                "RPCSchema", "ProtoRuntime", "TestSupport", "ServiceTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GatewayTests",
            dependencies: [
                "AuthService", "UsersService", "OrdersService", "MarketplaceServices", "Gateway", "ServiceKit",
                "MarketplaceAPI", "EventBus", "RPC",
                "RPCSchema", "ProtoRuntime", "TestSupport", "ServiceTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MarketplaceTests",
            dependencies: [
                "AuthService", "UsersService", "OrdersService", "MarketplaceServices", "Gateway", "ServiceKit",
                "MarketplaceAPI", "EventBus", "RPC",
                "RPCSchema", "ProtoRuntime", "TestSupport", "ServiceTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AccessTests",
            dependencies: ["Access", "RPC", "RPCSchema"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RPCTests",
            dependencies: [
                "RPC", "RPCSchema", "ProtoRuntime", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings,
            plugins: ["ProtoGenPlugin"]
        ),
        .testTarget(
            name: "ProtoRuntimeTests",
            dependencies: [
                "ProtoRuntime", "ProtoFixtures", "RPCSchema", "RPC", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
