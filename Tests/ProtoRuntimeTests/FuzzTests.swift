import ProtoFixtures
import TestSupport
import Testing

/// A short run of the fuzzer in every test run; `make fuzz` runs 1,000,000 inputs per target.
@Suite("Fuzzing (short run)")
struct FuzzTests {
    @Test("mutated binary inputs: no crash, every accepted input re-encodes stably")
    func binary() {
        var fuzzer = DecoderFuzzer(seed: 2026)
        let report = fuzzer.fuzzBinary(iterations: 20_000)
        #expect(report.violations.isEmpty, "\(report.violations.prefix(5))")
        #expect(report.decoded > 0 && report.rejected > 0, "\(report)")
    }

    @Test("mutated JSON inputs: no crash, every accepted input re-encodes stably")
    func json() {
        var fuzzer = DecoderFuzzer(seed: 2026)
        let report = fuzzer.fuzzJSON(iterations: 10_000)
        #expect(report.violations.isEmpty, "\(report.violations.prefix(5))")
        #expect(report.decoded > 0 && report.rejected > 0, "\(report)")
    }
}
