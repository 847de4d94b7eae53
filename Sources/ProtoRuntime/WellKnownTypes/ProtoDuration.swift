/// `google.protobuf.Duration`: a signed span of time with nanosecond precision.
///
/// JSON form: seconds with an `s` suffix, `"1.5s"`, `"-0.000000001s"`.
public struct ProtoDuration: Message, Comparable {
    public static let protoMessageName = "google.protobuf.Duration"
    /// The largest magnitude protobuf allows, about 10,000 years.
    public static let maximumSeconds: Int64 = 315_576_000_000

    /// Whole seconds.
    public var seconds: Int64 = 0
    /// Fractions of a second, with the same sign as `seconds` (or zero).
    public var nanos: Int32 = 0
    public var unknownFields = UnknownFields()

    public init() {}

    /// - Parameters:
    ///   - seconds: whole seconds.
    ///   - nanos: nanoseconds, with the sign of `seconds`.
    public init(seconds: Int64 = 0, nanos: Int32 = 0) {
        self.seconds = seconds
        self.nanos = nanos
    }

    public static func < (lhs: ProtoDuration, rhs: ProtoDuration) -> Bool {
        (lhs.seconds, lhs.nanos) < (rhs.seconds, rhs.nanos)
    }

    public func serializedSize() -> Int { SecondsAndNanos.size(seconds, nanos, unknownFields) }

    public func encode(to writer: inout WireWriter) {
        SecondsAndNanos.encode(seconds, nanos, unknownFields, to: &writer)
    }

    public mutating func decodeMessage(from reader: inout WireReader) throws {
        try SecondsAndNanos.decode(&seconds, &nanos, &unknownFields, from: &reader)
    }

    /// The JSON text form, e.g. `1.5s`.
    public var jsonText: String {
        let negative = seconds < 0 || nanos < 0
        let s = seconds.magnitude
        let n = Int64(nanos.magnitude)
        return (negative ? "-" : "") + String(s) + CivilCalendar.fraction(nanos: n) + "s"
    }

    public func encodeJSON(to writer: inout JSONWriter) {
        writer.writeString(jsonText)
    }

    /// Parses the JSON text form; `nil` if malformed or out of range.
    public init?(jsonText text: String) {
        var b = Array(text.utf8)
        guard b.last == UInt8(ascii: "s") else { return nil }
        b.removeLast()
        var negative = false
        if b.first == UInt8(ascii: "-") {
            negative = true
            b.removeFirst()
        }
        let parts = b.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count <= 2, let whole = parts.first, !whole.isEmpty, whole.count <= 12,
            whole.allSatisfy({ $0 &- UInt8(ascii: "0") < 10 })
        else { return nil }
        var seconds: Int64 = 0
        for digit in whole { seconds = seconds * 10 + Int64(digit - UInt8(ascii: "0")) }
        var nanos: Int64 = 0
        if parts.count == 2 {
            let fraction = parts[1]
            guard !fraction.isEmpty, fraction.count <= 9, fraction.allSatisfy({ $0 &- UInt8(ascii: "0") < 10 }) else {
                return nil
            }
            for digit in fraction { nanos = nanos * 10 + Int64(digit - UInt8(ascii: "0")) }
            for _ in fraction.count..<9 { nanos *= 10 }
        }
        guard seconds <= ProtoDuration.maximumSeconds else { return nil }
        self.init(seconds: negative ? -seconds : seconds, nanos: Int32(negative ? -nanos : nanos))
    }

    public mutating func decodeJSON(from reader: inout JSONReader) throws {
        let start = reader.index
        let text = try reader.readString()
        guard let parsed = ProtoDuration(jsonText: text) else {
            throw JSONDecodingError("expected a duration like \"1.5s\", found '\(text)'", offset: start)
        }
        self = parsed
    }
}
