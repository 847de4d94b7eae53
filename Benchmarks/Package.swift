// swift-tools-version:6.1
// Benchmarks live in their own package so the main build stays light: the peers (SwiftProtobuf,
// gRPC Swift 2) are only ever built here. Run with `make bench` (release build).
import PackageDescription

let package = Package(
    name: "Benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        // Named explicitly: a path package is otherwise identified by its folder name, which varies.
        .package(name: "marketplace", path: ".."),
        .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/grpc/grpc-swift-2.git", exact: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", exact: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", exact: "2.4.1"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        // SwiftProtobuf's code for bench.proto (generated once with protoc-gen-swift 1.39.0).
        .target(
            name: "BenchMessages",
            dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "ProtoBench",
            dependencies: [
                "BenchMessages",
                .product(name: "ProtoRuntime", package: "marketplace"),
                .product(name: "ProtoFixtures", package: "marketplace"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "AuthBench",
            dependencies: [
                .product(name: "AuthService", package: "marketplace"),
                .product(name: "EventBus", package: "marketplace"),
                .product(name: "ServiceKit", package: "marketplace"),
                .product(name: "MarketplaceAPI", package: "marketplace"),
                .product(name: "RPC", package: "marketplace"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "PayBench",
            dependencies: [
                .product(name: "AuthService", package: "marketplace"),
                .product(name: "EventBus", package: "marketplace"),
                .product(name: "ServiceKit", package: "marketplace"),
                .product(name: "MarketplaceAPI", package: "marketplace"),
                .product(name: "MarketplaceServices", package: "marketplace"),
                .product(name: "Gateway", package: "marketplace"),
                .product(name: "RPC", package: "marketplace"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "BusBench",
            dependencies: [
                .product(name: "EventBus", package: "marketplace"),
                .product(name: "ServiceKit", package: "marketplace"),
                .product(name: "RPC", package: "marketplace"),
                .product(name: "RPCSchema", package: "marketplace"),
                .product(name: "ProtoRuntime", package: "marketplace"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "RPCBench",
            dependencies: [
                "BenchMessages",
                .product(name: "RPC", package: "marketplace"),
                .product(name: "ProtoRuntime", package: "marketplace"),
                .product(name: "ProtoFixtures", package: "marketplace"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)
