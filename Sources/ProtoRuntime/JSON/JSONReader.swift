/// Options for reading proto3 JSON.
public struct JSONDecodingOptions: Sendable, Hashable {
    /// Skip object keys that name no field (and enum names the schema does not know) instead of
    /// failing. Off by default: a misspelt field is an error, not silently dropped data.
    public var ignoreUnknownFields: Bool
    /// The deepest nesting of objects and arrays accepted.
    public var maximumDepth: Int

    /// - Parameters:
    ///   - ignoreUnknownFields: skip unknown keys and enum names.
    ///   - maximumDepth: the deepest nesting accepted.
    public init(ignoreUnknownFields: Bool = false, maximumDepth: Int = 100) {
        self.ignoreUnknownFields = ignoreUnknownFields
        self.maximumDepth = maximumDepth
    }
}

/// A pull parser for proto3 JSON over UTF-8 bytes. Generated `decodeJSON(from:)` drives it.
///
/// The parser is strict JSON (RFC 8259): no comments, no trailing commas, no single quotes,
/// no raw control characters in strings, valid UTF-8 and surrogate pairs only.
public struct JSONReader {
    @usableFromInline let base: UnsafePointer<UInt8>
    @usableFromInline let count: Int
    @usableFromInline var index: Int = 0
    @usableFromInline var depth: Int = 0
    /// True right after `{` or `[`: the next token may not be a comma.
    @usableFromInline var atContainerStart = false
    /// How to read.
    public let options: JSONDecodingOptions

    /// A reader over `bytes`, which must outlive it.
    public init(bytes: UnsafeBufferPointer<UInt8>, options: JSONDecodingOptions = JSONDecodingOptions()) {
        self.base = bytes.baseAddress ?? UnsafePointer(bitPattern: 0x10).unsafelyUnwrapped
        self.count = bytes.count
        self.options = options
    }

    // MARK: Errors

    /// An error at the current position.
    public func error(_ reason: String) -> JSONDecodingError {
        JSONDecodingError(reason, offset: index)
    }

    func describeNextToken() -> String {
        guard index < count else { return "end of input" }
        switch base[index] {
        case UInt8(ascii: "{"): return "object"
        case UInt8(ascii: "["): return "array"
        case UInt8(ascii: "\""): return "string"
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return "bool"
        case UInt8(ascii: "n"): return "null"
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return "number"
        default: return "'\(Character(Unicode.Scalar(base[index])))'"
        }
    }

    func expected(_ what: String) -> JSONDecodingError {
        error("expected \(what), found \(describeNextToken())")
    }

    // MARK: Structure

    @inlinable
    mutating func skipWhitespace() {
        while index < count {
            switch base[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index &+= 1
            default: return
            }
        }
    }

    @inlinable
    func peek() -> UInt8? { index < count ? base[index] : nil }

    /// Checks that nothing but whitespace follows the top-level value.
    public mutating func finish() throws {
        skipWhitespace()
        guard index == count else { throw error("unexpected \(describeNextToken()) after the JSON value") }
    }

    /// Consumes `{`.
    public mutating func beginObject() throws {
        skipWhitespace()
        guard peek() == UInt8(ascii: "{") else { throw expected("object") }
        try enter()
    }

    mutating func enter() throws {
        depth += 1
        guard depth <= options.maximumDepth else {
            throw error("nesting deeper than \(options.maximumDepth) levels")
        }
        index += 1
        atContainerStart = true
    }

    /// The next key of the current object, or `nil` after its closing `}`.
    public mutating func nextKey() throws -> String? {
        skipWhitespace()
        guard let byte = peek() else { throw error("unterminated object") }
        if byte == UInt8(ascii: "}") {
            index += 1
            depth -= 1
            atContainerStart = false
            return nil
        }
        if atContainerStart {
            atContainerStart = false
        } else {
            guard byte == UInt8(ascii: ",") else { throw expected("',' or '}'") }
            index += 1
            skipWhitespace()
        }
        guard peek() == UInt8(ascii: "\"") else { throw expected("a key string") }
        let key = try readStringToken()
        skipWhitespace()
        guard peek() == UInt8(ascii: ":") else { throw expected("':'") }
        index += 1
        return key
    }

    /// Consumes `[`.
    public mutating func beginArray() throws {
        skipWhitespace()
        guard peek() == UInt8(ascii: "[") else { throw expected("array") }
        try enter()
    }

    /// Whether another element follows (consuming the `,`), or `false` after the closing `]`.
    public mutating func nextElement() throws -> Bool {
        skipWhitespace()
        guard let byte = peek() else { throw error("unterminated array") }
        if byte == UInt8(ascii: "]") {
            index += 1
            depth -= 1
            atContainerStart = false
            return false
        }
        if atContainerStart {
            atContainerStart = false
            return true
        }
        guard byte == UInt8(ascii: ",") else { throw expected("',' or ']'") }
        index += 1
        return true
    }

    /// Consumes `null` if it is next.
    public mutating func readNull() throws -> Bool {
        skipWhitespace()
        guard peek() == UInt8(ascii: "n") else { return false }
        try expectLiteral("null")
        return true
    }

    mutating func expectLiteral(_ literal: StaticString) throws {
        let length = literal.utf8CodeUnitCount
        guard index + length <= count else { throw expected("'\(literal)'") }
        let matches = literal.withUTF8Buffer { lit in
            (0..<length).allSatisfy { base[index + $0] == lit[$0] }
        }
        guard matches else { throw expected("'\(literal)'") }
        index += length
    }

    /// Skips any JSON value (used for ignored unknown fields).
    public mutating func skipValue() throws {
        skipWhitespace()
        guard let byte = peek() else { throw expected("a value") }
        switch byte {
        case UInt8(ascii: "{"):
            try beginObject()
            while try nextKey() != nil { try skipValue() }
        case UInt8(ascii: "["):
            try beginArray()
            while try nextElement() { try skipValue() }
        case UInt8(ascii: "\""): _ = try readStringToken()
        case UInt8(ascii: "t"): try expectLiteral("true")
        case UInt8(ascii: "f"): try expectLiteral("false")
        case UInt8(ascii: "n"): try expectLiteral("null")
        default: _ = try readNumberToken()
        }
        atContainerStart = false
    }

    /// Handles a key that names no field: skips it if the options allow, fails otherwise.
    public mutating func unknownField(_ key: String) throws {
        guard options.ignoreUnknownFields else {
            throw JSONDecodingError("unknown field", offset: index)
        }
        try skipValue()
    }

    // MARK: Containers for generated code

    /// Reads an array, calling `element` for each value; `null` reads as empty.
    public mutating func readArray(_ element: (inout JSONReader) throws -> Void) throws {
        if try readNull() { return }
        try beginArray()
        var position = 0
        while try nextElement() {
            do {
                try element(&self)
            } catch let error as JSONDecodingError {
                throw error.prefixed(.index(position))
            }
            atContainerStart = false
            position += 1
        }
    }

    /// Reads an object used as a map, calling `entry` with each key; `null` reads as empty.
    public mutating func readMap(_ entry: (inout JSONReader, String) throws -> Void) throws {
        if try readNull() { return }
        try beginObject()
        var seen = Set<String>()
        while let key = try nextKey() {
            do {
                guard seen.insert(key).inserted else { throw error("duplicate map key") }
                try entry(&self, key)
            } catch let error as JSONDecodingError {
                throw error.prefixed(.key(key))
            }
            atContainerStart = false
        }
    }

    /// Reads a nested message.
    public mutating func readMessage<M: Message>(_: M.Type = M.self) throws -> M {
        var message = M()
        try message.decodeJSON(from: &self)
        atContainerStart = false
        return message
    }

    // MARK: Scalars

    public mutating func readString() throws -> String {
        skipWhitespace()
        guard peek() == UInt8(ascii: "\"") else { throw expected("string") }
        return try readStringToken()
    }

    public mutating func readBool() throws -> Bool {
        skipWhitespace()
        switch peek() {
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return true
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return false
        default: throw expected("bool")
        }
    }

    public mutating func readBytes() throws -> [UInt8] {
        let start = index
        let text = try readString()
        guard let bytes = Base64.decode(text.utf8) else {
            throw JSONDecodingError("expected base64 bytes", offset: start)
        }
        return bytes
    }

    /// Reads an enum by name or number. Returns `nil` for an unknown name when the options ignore
    /// unknown fields (the caller then leaves the field untouched).
    public mutating func readEnum<E: ProtoEnum>(_: E.Type = E.self) throws -> E? {
        skipWhitespace()
        if peek() == UInt8(ascii: "\"") {
            let start = index
            let name = try readStringToken()
            if let value = E(protoName: name) { return value }
            if options.ignoreUnknownFields { return nil }
            throw JSONDecodingError("unknown enum value '\(name)'", offset: start)
        }
        return E(protoValue: try readInt32())
    }

    public mutating func readInt32() throws -> Int32 {
        let value = try readInteger(allowQuoted: true)
        guard let result = Int32(exactly: value) else { throw error("number out of range for int32") }
        return result
    }

    public mutating func readUInt32() throws -> UInt32 {
        let value = try readInteger(allowQuoted: true)
        guard let result = UInt32(exactly: value) else { throw error("number out of range for uint32") }
        return result
    }

    public mutating func readInt64() throws -> Int64 {
        let value = try readInteger(allowQuoted: true)
        guard let result = Int64(exactly: value) else { throw error("number out of range for int64") }
        return result
    }

    public mutating func readUInt64() throws -> UInt64 {
        let value = try readInteger(allowQuoted: true)
        guard let result = UInt64(exactly: value) else { throw error("number out of range for uint64") }
        return result
    }

    public mutating func readDouble() throws -> Double {
        skipWhitespace()
        if peek() == UInt8(ascii: "\"") {
            let start = index
            let text = try readStringToken()
            switch text {
            case "NaN": return .nan
            case "Infinity": return .infinity
            case "-Infinity": return -.infinity
            default:
                guard let value = JSONReader.parseNumber(Array(text.utf8)), value.isFinite else {
                    throw JSONDecodingError("expected number", offset: start)
                }
                return value
            }
        }
        let token = try readNumberToken()
        guard let value = JSONReader.parseNumber(token), value.isFinite else {
            throw error("number out of range for double")
        }
        return value
    }

    public mutating func readFloat() throws -> Float {
        let value = try readDouble()
        if value.isNaN || value.isInfinite { return Float(value) }
        // Values that round into float range are accepted; others are an error, as protobuf does.
        guard value.magnitude <= Double(Float.greatestFiniteMagnitude) * (1 + 0x1p-24) else {
            throw error("number out of range for float")
        }
        return Float(value)
    }

    /// Parses a map key (always a JSON string) as an integer.
    public static func mapKey<T: FixedWidthInteger>(_ key: String, as _: T.Type = T.self) throws -> T {
        let utf8 = Array(key.utf8)
        guard let value = parseIntegerLiteral(utf8), let result = T(exactly: value) else {
            throw JSONDecodingError("map key '\(key)' is not a valid \(T.self)")
        }
        return result
    }

    /// Parses a bool map key.
    public static func mapKey(_ key: String, as _: Bool.Type) throws -> Bool {
        switch key {
        case "true": return true
        case "false": return false
        default: throw JSONDecodingError("map key '\(key)' is not a bool")
        }
    }

    /// An integer as a wide intermediate (magnitude and sign), from a number or a quoted number.
    mutating func readInteger(allowQuoted: Bool) throws -> WideInteger {
        skipWhitespace()
        let start = index
        if peek() == UInt8(ascii: "\"") {
            let text = try readStringToken()
            guard let value = JSONReader.parseIntegerLiteral(Array(text.utf8)) else {
                throw JSONDecodingError("expected an integer", offset: start)
            }
            return value
        }
        let token = try readNumberToken()
        if let value = JSONReader.parseIntegerLiteral(token) { return value }
        // 1.0 and 1e3 are integers written as floating point; 1.5 is not.
        guard let double = JSONReader.parseNumber(token), double.isFinite, double == double.rounded() else {
            throw JSONDecodingError("expected an integer", offset: start)
        }
        guard double.magnitude < 0x1p64 else { throw JSONDecodingError("integer out of range", offset: start) }
        return WideInteger(negative: double < 0, magnitude: UInt64(double.magnitude))
    }

    /// A sign and a 64-bit magnitude: wide enough for every protobuf integer type.
    struct WideInteger {
        var negative: Bool
        var magnitude: UInt64
    }

    static func parseIntegerLiteral(_ text: [UInt8]) -> WideInteger? {
        var i = 0
        var negative = false
        if text.first == UInt8(ascii: "-") {
            negative = true
            i = 1
        }
        guard i < text.count else { return nil }
        // No leading zeros (except "0" itself), as in JSON.
        if text[i] == UInt8(ascii: "0") && text.count > i + 1 { return nil }
        var magnitude: UInt64 = 0
        while i < text.count {
            let digit = text[i] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (m1, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (m2, o2) = m1.addingReportingOverflow(UInt64(digit))
            guard !o1, !o2 else { return nil }
            magnitude = m2
            i += 1
        }
        return WideInteger(negative: negative, magnitude: magnitude)
    }

    /// Parses a JSON number token with the standard library's correctly-rounded conversion.
    static func parseNumber(_ token: [UInt8]) -> Double? {
        guard isJSONNumber(token) else { return nil }
        return Double(String(decoding: token, as: UTF8.self))
    }

    /// The JSON number grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    static func isJSONNumber(_ t: [UInt8]) -> Bool {
        var i = 0
        func digits() -> Int {
            let start = i
            while i < t.count, t[i] &- UInt8(ascii: "0") < 10 { i += 1 }
            return i - start
        }
        if i < t.count, t[i] == UInt8(ascii: "-") { i += 1 }
        guard i < t.count else { return false }
        if t[i] == UInt8(ascii: "0") {
            i += 1
        } else if digits() == 0 {
            return false
        }
        if i < t.count, t[i] == UInt8(ascii: ".") {
            i += 1
            guard digits() > 0 else { return false }
        }
        if i < t.count, t[i] == UInt8(ascii: "e") || t[i] == UInt8(ascii: "E") {
            i += 1
            if i < t.count, t[i] == UInt8(ascii: "+") || t[i] == UInt8(ascii: "-") { i += 1 }
            guard digits() > 0 else { return false }
        }
        return i == t.count
    }

    /// The bytes of a number token (validated later by the caller's grammar check).
    mutating func readNumberToken() throws -> [UInt8] {
        skipWhitespace()
        let start = index
        while index < count, JSONReader.isNumberByte(base[index]) { index += 1 }
        guard index > start else {
            index = start
            throw expected("number")
        }
        let token = Array(UnsafeBufferPointer(start: base + start, count: index - start))
        guard JSONReader.isJSONNumber(token) else {
            throw JSONDecodingError("malformed number '\(String(decoding: token, as: UTF8.self))'", offset: start)
        }
        return token
    }

    static func isNumberByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."),
            UInt8(ascii: "e"), UInt8(ascii: "E"):
            return true
        default: return false
        }
    }

    // MARK: Strings

    /// Reads a string token starting at the opening quote.
    mutating func readStringToken() throws -> String {
        let start = index
        index += 1  // opening quote
        // Fast path: no escapes.
        var scan = index
        while scan < count {
            let byte = base[scan]
            if byte == UInt8(ascii: "\"") {
                let raw = UnsafeRawBufferPointer(start: base + index, count: scan - index)
                guard let string = UTF8Validation.string(from: raw) else {
                    throw JSONDecodingError("invalid UTF-8 in string", offset: start)
                }
                index = scan + 1
                return string
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw JSONDecodingError("control character in string", offset: scan) }
            scan += 1
        }
        guard scan < count else { throw JSONDecodingError("unterminated string", offset: start) }
        return try readEscapedString(start: start)
    }

    mutating func readEscapedString(start: Int) throws -> String {
        var out: [UInt8] = []
        while true {
            guard index < count else { throw JSONDecodingError("unterminated string", offset: start) }
            let byte = base[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let string = String(validating: out, as: UTF8.self) else {
                    throw JSONDecodingError("invalid UTF-8 in string", offset: start)
                }
                return string
            case UInt8(ascii: "\\"):
                guard index < count else { throw JSONDecodingError("unterminated string", offset: start) }
                let escape = base[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
                case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
                case UInt8(ascii: "/"): out.append(UInt8(ascii: "/"))
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try readHex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard index + 1 < count, base[index] == UInt8(ascii: "\\"), base[index + 1] == UInt8(ascii: "u")
                        else { throw JSONDecodingError("unpaired surrogate in string", offset: index) }
                        index += 2
                        let low = try readHex4()
                        guard (0xDC00..<0xE000).contains(low) else {
                            throw JSONDecodingError("unpaired surrogate in string", offset: index)
                        }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00..<0xE000).contains(scalar) {
                        throw JSONDecodingError("unpaired surrogate in string", offset: index)
                    }
                    guard let unicode = Unicode.Scalar(scalar) else {
                        throw JSONDecodingError("invalid unicode escape", offset: index)
                    }
                    out.append(contentsOf: unicode.utf8)
                default:
                    throw JSONDecodingError(
                        "invalid escape '\\\(Character(Unicode.Scalar(escape)))'",
                        offset: index - 2
                    )
                }
            default:
                if byte < 0x20 { throw JSONDecodingError("control character in string", offset: index - 1) }
                out.append(byte)
            }
        }
    }

    mutating func readHex4() throws -> UInt32 {
        guard index + 4 <= count else { throw JSONDecodingError("truncated unicode escape", offset: index) }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = base[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw JSONDecodingError("invalid unicode escape", offset: index)
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }
}

extension JSONReader.WideInteger {
    fileprivate var asInt64: Int64? {
        if negative {
            return magnitude <= UInt64(Int64.max) + 1 ? Int64(truncatingIfNeeded: 0 &- magnitude) : nil
        }
        return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
    }
}

extension FixedWidthInteger {
    init?(exactly value: JSONReader.WideInteger) {
        if value.negative {
            guard let v = value.asInt64, let r = Self(exactly: v) else { return nil }
            self = r
        } else {
            guard let r = Self(exactly: value.magnitude) else { return nil }
            self = r
        }
    }
}

extension Message {
    /// Decodes a message from proto3 JSON.
    /// - Throws: ``JSONDecodingError`` naming the path of the offending value.
    public init(jsonString: String, options: JSONDecodingOptions = JSONDecodingOptions()) throws {
        try self.init(jsonUTF8Bytes: Array(jsonString.utf8), options: options)
    }

    /// Decodes a message from UTF-8 proto3 JSON.
    /// - Throws: ``JSONDecodingError`` naming the path of the offending value.
    public init(jsonUTF8Bytes bytes: [UInt8], options: JSONDecodingOptions = JSONDecodingOptions()) throws {
        self.init()
        try bytes.withUnsafeBufferPointer { buffer in
            var reader = JSONReader(bytes: buffer, options: options)
            try self.decodeJSON(from: &reader)
            try reader.finish()
        }
    }
}
