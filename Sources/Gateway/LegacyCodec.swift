import Foundation
import ProtoRuntime
import RPC

/// Turns the legacy contract's JSON (snake_case keys, `role_id`, float money, `cleaning_repair`,
/// `CENTRAL`, `YYYY-MM-DDTHH:MM` times) into the canonical proto3 JSON of a request message,
/// guided by the message's descriptor; and formats times the legacy ways.
struct LegacyCodec: Sendable {
    let pool: DescriptorPool

    /// Legacy key → field name, where they differ.
    static let aliases = ["role_id": "role"]
    /// Legacy spellings of enum values that the schema names differently.
    static let enumAliases = ["CENTRAL": "MID"]

    /// The canonical JSON of `value` (a legacy JSON object) as `messageName`. Unknown keys are
    /// ignored and `null` means absent, as the legacy gateway did.
    /// - Throws: ``HTTPFailure`` 422 for a wrong type, 400 for an unknown enum value.
    func canonical(_ value: JSONValue, as messageName: String, path: String = "") throws -> JSONValue {
        guard case .object(let members) = value else {
            throw HTTPFailure(
                status: 422,
                detail: path.isEmpty ? "the body must be a JSON object" : "\(path) must be an object"
            )
        }
        guard let message = pool.messages[messageName] else { return value }
        var out: [(String, JSONValue)] = []
        for (key, member) in members {
            if case .null = member { continue }
            let name = LegacyCodec.aliases[key] ?? key
            guard let field = message.field(named: name) else { continue }
            let fieldPath = path.isEmpty ? key : "\(path).\(key)"
            out.append((field.name, try convert(member, field: field, path: fieldPath)))
        }
        return .object(out)
    }

    func convert(_ value: JSONValue, field: DescriptorPool.Field, path: String) throws -> JSONValue {
        if field.isRepeated {
            guard case .array(let elements) = value else {
                throw HTTPFailure(status: 422, detail: "\(path) must be an array")
            }
            return .array(
                try elements.enumerated().map { try convertSingle($1, kind: field.kind, path: "\(path)[\($0)]") }
            )
        }
        return try convertSingle(value, kind: field.kind, path: path)
    }

    /// One value of a field kind (a query parameter arrives as a string and goes through here too).
    func convertSingle(_ value: JSONValue, kind: DescriptorPool.FieldKind, path: String) throws -> JSONValue {
        switch kind {
        case .enumeration(let name):
            return .string(try enumValue(value, enumName: name, path: path))
        case .message("marketplace.v1.Money"):
            if case .object = value { return value }
            return .object([("cents", .string(String(try cents(value, path: path))))])
        case .message("google.protobuf.Timestamp"):
            guard case .string(let text) = value, let timestamp = LegacyCodec.parseTime(text) else {
                throw HTTPFailure(status: 422, detail: "\(path) must be a date and time like 2026-01-31T14:30")
            }
            return .string(timestamp.rfc3339)
        case .message(let name):
            return try canonical(value, as: name, path: path)
        case .string:
            guard case .string = value else { throw HTTPFailure(status: 422, detail: "\(path) must be a string") }
            return value
        case .bool:
            switch value {
            case .bool: return value
            case .string("true"): return .bool(true)
            case .string("false"): return .bool(false)
            default: throw HTTPFailure(status: 422, detail: "\(path) must be true or false")
            }
        case .int32, .int64, .uint32, .uint64, .sint32, .sint64, .fixed32, .fixed64, .sfixed32, .sfixed64:
            switch value {
            case .number(let text) where Int64(text) != nil: return .number(text)
            case .string(let text) where Int64(text) != nil: return .number(text)
            default: throw HTTPFailure(status: 422, detail: "\(path) must be an integer")
            }
        case .double, .float:
            switch value {
            case .number: return value
            case .string(let text) where Double(text)?.isFinite == true: return .number(text)
            default: throw HTTPFailure(status: 422, detail: "\(path) must be a number")
            }
        default:
            return value
        }
    }

    /// A legacy money amount (a JSON number of currency units) in cents.
    func cents(_ value: JSONValue, path: String) throws -> Int64 {
        let text: String
        switch value {
        case .number(let t): text = t
        case .string(let t): text = t
        default: throw HTTPFailure(status: 422, detail: "\(path) must be a number")
        }
        guard let amount = Double(text), amount.isFinite else {
            throw HTTPFailure(status: 422, detail: "\(path) must be a number")
        }
        let cents = (amount * 100).rounded()
        guard abs(cents) < 1e15 else { throw HTTPFailure(status: 422, detail: "\(path) is out of range") }
        return Int64(cents)
    }

    /// The schema's name of an enum value given as the contract spells it (`in_progress`,
    /// `NORTH`, `CENTRAL`, `1`), or a 400 listing the accepted values.
    func enumValue(_ value: JSONValue, enumName: String, path: String) throws -> String {
        guard let info = pool.enums[enumName] else {
            throw HTTPFailure(status: 400, detail: "\(path) has an unknown type")
        }
        let prefix = LegacyCodec.prefix(of: info)
        let valid = info.values.filter { $0.number != 0 }
        var candidate: String?
        switch value {
        case .number(let text): candidate = text
        case .string(let text) where Int32(text) != nil: candidate = text
        default: break
        }
        if let candidate, let number = Int32(candidate) {
            if number == 0, let zero = info.values.first(where: { $0.number == 0 }) { return zero.name }
            if let hit = valid.first(where: { $0.number == number }) { return hit.name }
        }
        switch value {
        case .string(let text) where Int32(text) == nil:
            let upper = text.uppercased()
            let wanted = LegacyCodec.enumAliases[upper] ?? upper
            if let hit = valid.first(where: { $0.name == wanted || $0.name == prefix + wanted }) { return hit.name }
        default: break
        }
        let accepted = valid.map { LegacyCodec.legacySpelling($0.name, prefix: prefix, enumName: enumName) }.joined(
            separator: ", "
        )
        throw HTTPFailure(status: 400, detail: "\(path) must be one of \(accepted)")
    }

    /// `LOCATION_` for `marketplace.v1.Location`.
    static func prefix(of info: DescriptorPool.EnumInfo) -> String {
        let short = info.fullName.split(separator: ".").last.map(String.init) ?? ""
        var prefix = ""
        for (index, character) in short.enumerated() {
            if character.isUppercase, index > 0 { prefix += "_" }
            prefix += character.uppercased()
        }
        return prefix + "_"
    }

    /// How the contract spells an enum value: locations in capitals (`NORTH`), everything else in
    /// lower case (`in_progress`, `cleaning_repair`).
    static func legacySpelling(_ name: String, prefix: String, enumName: String) -> String {
        let bare = name.hasPrefix(prefix) ? String(name.dropFirst(prefix.count)) : name
        return enumName == "marketplace.v1.Location" ? bare : bare.lowercased()
    }

    // MARK: Times

    /// Accepts what the contract accepts: ISO 8601 with or without seconds and fraction, `T` or a
    /// space, `Z` or an offset (none: UTC).
    static func parseTime(_ text: String) -> ProtoTimestamp? {
        if let exact = ProtoTimestamp(rfc3339: text) { return exact }
        var body = text.replacingOccurrences(of: " ", with: "T")
        var offsetSeconds = 0
        if body.hasSuffix("Z") {
            body.removeLast()
        } else if body.count > 6 {
            let tail = body.suffix(6)
            if (tail.first == "+" || tail.first == "-"), tail.dropFirst().count == 5,
                tail.dropFirst().dropFirst(2).first == ":",
                let hours = Int(tail.dropFirst().prefix(2)), let minutes = Int(tail.suffix(2))
            {
                offsetSeconds = (hours * 3600 + minutes * 60) * (tail.first == "-" ? -1 : 1)
                body.removeLast(6)
            }
        }
        let parts = body.split(separator: "T", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        let date = parts[0].split(separator: "-").compactMap { Int($0) }
        var time = String(parts[1])
        var fraction = 0.0
        if let dot = time.firstIndex(of: ".") {
            // Only 1-9 digits: `Double` would also take exponents ("0.1e300").
            let digits = time[time.index(after: dot)...]
            guard (1...9).contains(digits.count), digits.allSatisfy({ $0.isASCII && $0.isNumber }),
                let f = Double("0." + digits)
            else {
                return nil
            }
            fraction = f
            time = String(time[..<dot])
        }
        let clock = time.split(separator: ":").compactMap { Int($0) }
        guard date.count == 3, (2...3).contains(clock.count), (1...12).contains(date[1]), (1...31).contains(date[2]),
            (0...23).contains(clock[0]), (0...59).contains(clock[1]), clock.count == 2 || (0...59).contains(clock[2]),
            (1...9999).contains(date[0])
        else { return nil }
        var components = DateComponents()
        components.calendar = Calendar(identifier: .gregorian)
        components.timeZone = TimeZone(identifier: "UTC")
        (components.year, components.month, components.day) = (date[0], date[1], date[2])
        (components.hour, components.minute, components.second) = (clock[0], clock[1], clock.count == 3 ? clock[2] : 0)
        guard let base = components.date, components.isValidDate else { return nil }
        return ProtoTimestamp(date: base.addingTimeInterval(fraction - Double(offsetSeconds)))
    }

    enum TimeStyle: Sendable {
        /// `YYYY-MM-DDTHH:MM:SS`
        case t
        /// `YYYY-MM-DD HH:MM:SS`
        case space
        /// `YYYY-MM-DDTHH:MM:SS[.ffffff]`
        case fraction
    }

    /// A canonical RFC 3339 timestamp written the legacy way (UTC wall time, no offset).
    static func format(_ rfc3339: String, style: TimeStyle) -> JSONValue {
        guard let timestamp = ProtoTimestamp(rfc3339: rfc3339) else { return .null }
        var seconds = time_t(timestamp.seconds)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let date = String(
            format: "%04d-%02d-%02d",
            Int(parts.tm_year) + 1900,
            Int(parts.tm_mon) + 1,
            Int(parts.tm_mday)
        )
        let clock = String(format: "%02d:%02d:%02d", Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
        switch style {
        case .t: return .string(date + "T" + clock)
        case .space: return .string(date + " " + clock)
        case .fraction:
            let micros = timestamp.nanos / 1000
            return .string(date + "T" + clock + (micros == 0 ? "" : String(format: ".%06d", Int(micros))))
        }
    }
}
