/// Test and benchmark schemas: `conformance.proto` uses every proto3 feature; `bench.proto` holds
/// the Order-like message the benchmarks code. Generated at build time by `ProtoGenPlugin`.
public enum ProtoFixtures {
    /// The embedded descriptors of every file in this module.
    public static let files = [ConformanceProtoFile.descriptor, BenchProtoFile.descriptor]
}
