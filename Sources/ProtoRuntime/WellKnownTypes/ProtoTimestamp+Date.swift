#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

extension ProtoTimestamp {
    /// The timestamp of `date` (microsecond precision, as the services store times).
    public init(date: Date) {
        self.init(micros: date.micros)
    }

    /// Microseconds since 1970 (how the services store times).
    public init(micros: Int64) {
        self.init(seconds: micros.floorDivided(by: 1_000_000), nanos: Int32(micros.floorModulo(1_000_000)) * 1000)
    }

    /// The moment as a `Date`.
    public var date: Date { Date(timeIntervalSince1970: Double(seconds) + Double(nanos) / 1e9) }
    /// Microseconds since 1970 (sub-microsecond nanos are dropped; wraps rather than traps).
    public var micros: Int64 { seconds &* 1_000_000 &+ Int64(nanos / 1000) }
}

extension Int64 {
    /// The quotient rounded toward negative infinity (`-1 / 2` is `-1`, not `0`).
    public func floorDivided(by divisor: Int64) -> Int64 {
        let q = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? q - 1 : q
    }

    /// The remainder of ``floorDivided(by:)``: it has the divisor's sign (`-1 mod 1000` is `999`).
    public func floorModulo(_ divisor: Int64) -> Int64 {
        let r = self % divisor
        return r != 0 && (r < 0) != (divisor < 0) ? r + divisor : r
    }
}

extension Date {
    /// Microseconds since 1970.
    /// (Clamped to years 0001-9999, so no date can trap the conversion.)
    public var micros: Int64 {
        let value = (timeIntervalSince1970 * 1_000_000).rounded()
        guard value.isFinite else { return 0 }
        return Int64(min(max(value, -62_135_596_800_000_000), 253_402_300_799_000_000))
    }
}
