/// `google.protobuf.Timestamp`: a point in time, UTC, with nanosecond precision.
///
/// JSON form: RFC 3339, `"2026-11-26T03:11:05.120Z"` (0, 3, 6 or 9 fractional digits out; any
/// number of digits and any UTC offset in).
public struct ProtoTimestamp: Message, Comparable {
    public static let protoMessageName = "google.protobuf.Timestamp"
    /// The earliest valid seconds value, 0001-01-01T00:00:00Z.
    public static let minimumSeconds: Int64 = -62_135_596_800
    /// The latest valid seconds value, 9999-12-31T23:59:59Z.
    public static let maximumSeconds: Int64 = 253_402_300_799

    /// Seconds since the Unix epoch.
    public var seconds: Int64 = 0
    /// Non-negative fractions of a second, 0...999,999,999.
    public var nanos: Int32 = 0
    public var unknownFields = UnknownFields()

    public init() {}

    /// - Parameters:
    ///   - seconds: seconds since the Unix epoch.
    ///   - nanos: nanoseconds within the second.
    public init(seconds: Int64 = 0, nanos: Int32 = 0) {
        self.seconds = seconds
        self.nanos = nanos
    }

    public static func < (lhs: ProtoTimestamp, rhs: ProtoTimestamp) -> Bool {
        (lhs.seconds, lhs.nanos) < (rhs.seconds, rhs.nanos)
    }

    public func serializedSize() -> Int { SecondsAndNanos.size(seconds, nanos, unknownFields) }

    public func encode(to writer: inout WireWriter) {
        SecondsAndNanos.encode(seconds, nanos, unknownFields, to: &writer)
    }

    public mutating func decodeMessage(from reader: inout WireReader) throws {
        try SecondsAndNanos.decode(&seconds, &nanos, &unknownFields, from: &reader)
    }

    public func encodeJSON(to writer: inout JSONWriter) {
        writer.writeString(rfc3339)
    }

    public mutating func decodeJSON(from reader: inout JSONReader) throws {
        let start = reader.index
        let text = try reader.readString()
        guard let parsed = ProtoTimestamp(rfc3339: text) else {
            throw JSONDecodingError(
                "expected an RFC 3339 timestamp between 0001-01-01 and 9999-12-31, found '\(text)'",
                offset: start
            )
        }
        self = parsed
    }

    /// The RFC 3339 form, in UTC (`Z`), with 0, 3, 6 or 9 fractional digits.
    public var rfc3339: String {
        // Normalise out-of-range nanos so formatting never traps on odd values from the wire.
        var secs = seconds
        var ns = Int64(nanos)
        secs = secs &+ ns / 1_000_000_000
        ns %= 1_000_000_000
        if ns < 0 {
            ns += 1_000_000_000
            secs = secs &- 1
        }
        let days = Int64.floorDivide(secs, 86_400)
        let secondOfDay = secs - days * 86_400
        let (year, month, day) = CivilCalendar.date(fromDays: days)
        var out = ""
        out += CivilCalendar.pad(year, 4) + "-" + CivilCalendar.pad(month, 2) + "-" + CivilCalendar.pad(day, 2)
        out += "T" + CivilCalendar.pad(secondOfDay / 3600, 2) + ":" + CivilCalendar.pad(secondOfDay / 60 % 60, 2)
        out += ":" + CivilCalendar.pad(secondOfDay % 60, 2)
        out += CivilCalendar.fraction(nanos: ns)
        return out + "Z"
    }

    /// Parses RFC 3339 (`2026-01-02T03:04:05.678+01:00`); `nil` if malformed or out of range.
    public init?(rfc3339 text: String) {
        let b = Array(text.utf8)
        func number(_ from: Int, _ length: Int) -> Int64? {
            guard from + length <= b.count else { return nil }
            var value: Int64 = 0
            for i in from..<(from + length) {
                let digit = b[i] &- UInt8(ascii: "0")
                guard digit < 10 else { return nil }
                value = value * 10 + Int64(digit)
            }
            return value
        }
        guard b.count >= 20,
            let year = number(0, 4), b[4] == UInt8(ascii: "-"),
            let month = number(5, 2), b[7] == UInt8(ascii: "-"),
            let day = number(8, 2), b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t"),
            let hour = number(11, 2), b[13] == UInt8(ascii: ":"),
            let minute = number(14, 2), b[16] == UInt8(ascii: ":"),
            let second = number(17, 2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= CivilCalendar.daysIn(month: month, year: year),
            hour < 24, minute < 60, second < 60
        else { return nil }
        var i = 19
        var nanos: Int64 = 0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            var digits = 0
            while i < b.count, b[i] &- UInt8(ascii: "0") < 10 {
                guard digits < 9 else { return nil }
                nanos = nanos * 10 + Int64(b[i] - UInt8(ascii: "0"))
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<9 { nanos *= 10 }
        }
        guard i < b.count else { return nil }
        var offset: Int64 = 0
        switch b[i] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            i += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard let oh = number(i + 1, 2), i + 3 < b.count, b[i + 3] == UInt8(ascii: ":"),
                let om = number(i + 4, 2), oh < 24, om < 60
            else { return nil }
            offset = (oh * 3600 + om * 60) * (b[i] == UInt8(ascii: "+") ? 1 : -1)
            i += 6
        default:
            return nil
        }
        guard i == b.count else { return nil }
        let days = CivilCalendar.days(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset
        guard seconds >= ProtoTimestamp.minimumSeconds, seconds <= ProtoTimestamp.maximumSeconds else { return nil }
        self.init(seconds: seconds, nanos: Int32(nanos))
    }
}

extension Int64 {
    static func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }
}

/// Proleptic Gregorian calendar arithmetic (Howard Hinnant's days-from-civil algorithms).
enum CivilCalendar {
    static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = Int64.floorDivide(y, 400)
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func date(fromDays value: Int64) -> (Int64, Int64, Int64) {
        let z = value + 719_468
        let era = Int64.floorDivide(z, 146_097)
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    static func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(value.magnitude)
        let padded = String(repeating: "0", count: Swift.max(0, width - digits.count)) + digits
        return value < 0 ? "-" + padded : padded
    }

    /// `""`, `".123"`, `".123456"` or `".123456789"`: the shortest of protobuf's three widths.
    static func fraction(nanos: Int64) -> String {
        if nanos == 0 { return "" }
        if nanos % 1_000_000 == 0 { return "." + pad(nanos / 1_000_000, 3) }
        if nanos % 1000 == 0 { return "." + pad(nanos / 1000, 6) }
        return "." + pad(nanos, 9)
    }
}

/// The binary coding shared by Timestamp and Duration: `int64 seconds = 1; int32 nanos = 2;`.
enum SecondsAndNanos {
    static func size(_ seconds: Int64, _ nanos: Int32, _ unknownFields: UnknownFields) -> Int {
        var size = unknownFields.count
        if seconds != 0 { size += 1 + WireSize.int64(seconds) }
        if nanos != 0 { size += 1 + WireSize.int32(nanos) }
        return size
    }

    static func encode(_ seconds: Int64, _ nanos: Int32, _ unknownFields: UnknownFields, to writer: inout WireWriter) {
        if seconds != 0 {
            writer.writeTag(0x08)
            writer.writeInt64(seconds)
        }
        if nanos != 0 {
            writer.writeTag(0x10)
            writer.writeInt32(nanos)
        }
        unknownFields.encode(to: &writer)
    }

    static func decode(
        _ seconds: inout Int64,
        _ nanos: inout Int32,
        _ unknownFields: inout UnknownFields,
        from reader: inout WireReader
    ) throws {
        while let tag = try reader.nextTag() {
            switch tag {
            case 0x08: seconds = try reader.readInt64()
            case 0x10: nanos = try reader.readInt32()
            default: try reader.skipField(into: &unknownFields)
            }
        }
    }
}
