import ArgumentParser
import Foundation
import ProtoFixtures
import RPC

/// `protofuzz`: feeds mutated inputs to the binary decoder and the JSON parser and reports.
@main
struct ProtoFuzz: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "protofuzz",
        abstract: "Fuzz the protobuf binary decoder and JSON parser with a seeded mutation loop."
    )

    @Option(help: "Inputs per target.")
    var iterations: Int = 1_000_000

    @Option(help: "Random seed (the same seed replays the same inputs).")
    var seed: UInt64 = 1

    @Option(help: "binary, json, frames or all.")
    var target: String = "all"

    mutating func run() throws {
        guard iterations > 0 else { throw ValidationError("--iterations must be positive") }
        guard ["binary", "json", "frames", "all"].contains(target) else {
            throw ValidationError("--target must be binary, json, frames or all")
        }
        var fuzzer = DecoderFuzzer(seed: seed)
        var failed = false
        if target == "frames" || target == "all" {
            let start = Date()
            var frames = FrameFuzzer(seed: seed)
            let report = frames.run(iterations: iterations)
            print("frame decoder: \(report) in \(String(format: "%.1f", Date().timeIntervalSince(start))) s")
        }
        if target == "binary" || target == "all" {
            let start = Date()
            let report = fuzzer.fuzzBinary(iterations: iterations)
            print("binary decoder: \(report) in \(String(format: "%.1f", Date().timeIntervalSince(start))) s")
            report.violations.prefix(10).forEach { print("  \($0)") }
            failed = failed || !report.violations.isEmpty
        }
        if target == "json" || target == "all" {
            let start = Date()
            let report = fuzzer.fuzzJSON(iterations: iterations)
            print("JSON parser: \(report) in \(String(format: "%.1f", Date().timeIntervalSince(start))) s")
            report.violations.prefix(10).forEach { print("  \($0)") }
            failed = failed || !report.violations.isEmpty
        }
        if failed { throw ExitCode.failure }
    }
}
