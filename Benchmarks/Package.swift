// swift-tools-version:6.1
// Benchmarks live in their own package so the main build stays light: SwiftProtobuf (the peer)
// is only ever built here. Run with `make bench` (release build).
import PackageDescription

let package = Package(
    name: "Benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        // Named explicitly: a path package is otherwise identified by its folder name, which varies.
        .package(name: "marketplace", path: ".."),
        .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        .executableTarget(
            name: "ProtoBench",
            dependencies: [
                .product(name: "ProtoRuntime", package: "marketplace"),
                .product(name: "ProtoFixtures", package: "marketplace"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        )
    ]
)
