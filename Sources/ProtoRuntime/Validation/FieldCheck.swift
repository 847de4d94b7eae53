/// The checks generated `validate()` methods call (`rpc.v1.rules`, docs/PROTOCOL.md
/// "Field rules"). Each runs in time linear in the value and allocates nothing.
public enum FieldCheck {
    /// Whether `value` has `min...max` Unicode scalars (code points, what JSON Schema's
    /// `minLength`/`maxLength` count) and at most `maxBytes` bytes of UTF-8. The byte count is
    /// checked first (free for native strings); counting stops past `max`.
    @inlinable
    public static func length(_ value: String, min: Int, max: Int, maxBytes: Int) -> Bool {
        let bytes = value.utf8.count
        guard bytes <= maxBytes else { return false }
        // Every scalar takes 1-4 bytes: the byte count alone often settles it.
        if bytes <= max && bytes / 4 >= min { return true }
        var count = 0
        for _ in value.unicodeScalars {
            count += 1
            if count > max { return false }
        }
        return count >= min
    }

    /// White space as the rules see it: Unicode's White_Space property and U+FEFF (which
    /// ECMAScript's `\s` adds). The OpenAPI document's not-blank pattern lists exactly these.
    public static let whitespace: [ClosedRange<UInt32>] = [
        0x09...0x0D, 0x20...0x20, 0x85...0x85, 0xA0...0xA0, 0x1680...0x1680, 0x2000...0x200A, 0x2028...0x2029,
        0x202F...0x202F, 0x205F...0x205F, 0x3000...0x3000, 0xFEFF...0xFEFF,
    ]

    /// Whether `scalar` is white space (``whitespace``).
    @inlinable
    public static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF:
            return true
        default: return false
        }
    }

    /// Whether `value` is empty or only white space (``whitespace``). Trimming a value that is
    /// not blank with Foundation's `.whitespacesAndNewlines` never leaves it empty.
    @inlinable
    public static func isBlank(_ value: String) -> Bool {
        value.unicodeScalars.allSatisfy(isWhitespace)
    }

    /// Whether every scalar of `value` lies in one of `ranges` (sorted, not overlapping).
    @inlinable
    public static func onlyAllowed(_ value: String, _ ranges: [ClosedRange<UInt32>]) -> Bool {
        for scalar in value.unicodeScalars {
            let v = scalar.value
            var lo = 0
            var hi = ranges.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if ranges[mid].upperBound < v { lo = mid + 1 } else { hi = mid }
            }
            guard lo < ranges.count, ranges[lo].contains(v) else { return false }
        }
        return true
    }

    /// An allowed-character spec (`"A-Za-z0-9_.-"`: literal characters and ranges; a `-` first or
    /// last is literal; `\` escapes the next character) as sorted, merged scalar ranges; `nil`
    /// for a spec the compiler would refuse.
    public static func characterRanges(_ spec: String) -> [ClosedRange<UInt32>]? {
        var items: [(scalar: UInt32, escaped: Bool)] = []
        var escaping = false
        for s in spec.unicodeScalars {
            if escaping {
                items.append((s.value, true))
                escaping = false
            } else if s == "\\" {
                escaping = true
            } else {
                items.append((s.value, false))
            }
        }
        guard !escaping, !items.isEmpty, items.allSatisfy({ $0.scalar <= 0xFFFF }) else { return nil }
        var ranges: [ClosedRange<UInt32>] = []
        var i = 0
        while i < items.count {
            let lo = items[i].scalar
            if i + 2 < items.count, items[i + 1].scalar == 0x2D, !items[i + 1].escaped {
                let hi = items[i + 2].scalar
                guard lo <= hi else { return nil }
                ranges.append(lo...hi)
                i += 3
            } else {
                ranges.append(lo...lo)
                i += 1
            }
        }
        ranges.sort { $0.lowerBound < $1.lowerBound }
        var merged: [ClosedRange<UInt32>] = []
        for r in ranges {
            if let last = merged.last, r.lowerBound <= last.upperBound &+ 1 {
                merged[merged.count - 1] = last.lowerBound...Swift.max(last.upperBound, r.upperBound)
            } else {
                merged.append(r)
            }
        }
        return merged
    }

    /// Whether `value` is an e-mail address: at most 254 bytes of ASCII; an RFC 5321 dot-atom
    /// local part of 1-64 characters (letters, digits, ``!#$%&'*+/=?^_`{|}~.-``, no leading,
    /// trailing or doubled dot); `@`; a DNS name of at most 253 characters and at least two
    /// labels of 1-63 letters, digits and inner hyphens, the last all letters (at least two) or
    /// an IDNA `xn--` label.
    public static func isEmailAddress(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        guard bytes.count <= 254, bytes.allSatisfy({ $0 < 0x80 }) else { return false }
        guard let at = bytes.firstIndex(of: UInt8(ascii: "@")), !bytes[(at + 1)...].contains(UInt8(ascii: "@")) else {
            return false
        }
        let local = bytes[..<at]
        let domain = bytes[(at + 1)...]
        func isAlnum(_ b: UInt8) -> Bool {
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
        }
        func isLetter(_ b: UInt8) -> Bool { (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) }
        let specials = Array("!#$%&'*+/=?^_`{|}~.-".utf8)
        let dot = UInt8(ascii: ".")
        let hyphen = UInt8(ascii: "-")
        guard (1...64).contains(local.count), local.allSatisfy({ isAlnum($0) || specials.contains($0) }),
            local.first != dot,
            local.last != dot
        else { return false }
        var previous: UInt8 = 0
        for b in local {
            if b == dot && previous == dot { return false }
            previous = b
        }
        guard domain.count <= 253 else { return false }
        let labels = domain.split(separator: dot, omittingEmptySubsequences: false)
        guard labels.count >= 2 else { return false }
        for label in labels {
            guard (1...63).contains(label.count), label.allSatisfy({ isAlnum($0) || $0 == hyphen }),
                label.first != hyphen,
                label.last != hyphen
            else { return false }
        }
        guard let top = labels.last else { return false }
        let lowered = top.map { isLetter($0) ? $0 | 0x20 : $0 }
        if lowered.starts(with: Array("xn--".utf8)) { return top.count > 4 }
        return top.count >= 2 && top.allSatisfy(isLetter)
    }
}
