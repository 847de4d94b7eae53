import ProtoRuntime
import Testing

@Suite("Field checks (what generated validate() calls)")
struct FieldCheckTests {
    @Test("lengths count Unicode scalars, not graphemes, and the byte bound holds first")
    func lengths() {
        #expect(FieldCheck.length("abc", min: 1, max: 3, maxBytes: .max))
        #expect(!FieldCheck.length("abcd", min: 1, max: 3, maxBytes: .max))
        #expect(!FieldCheck.length("", min: 1, max: 3, maxBytes: .max))
        // é decomposed: one grapheme, two scalars.
        let decomposed = "e\u{301}"
        #expect(decomposed.count == 1)
        #expect(!FieldCheck.length(decomposed, min: 0, max: 1, maxBytes: .max))
        #expect(FieldCheck.length("\u{E9}", min: 0, max: 1, maxBytes: .max))
        // One grapheme of 1 + 4,000 scalars is 4,001 long.
        let zalgo = "a" + String(repeating: "\u{301}", count: 4000)
        #expect(!FieldCheck.length(zalgo, min: 1, max: 200, maxBytes: .max))
        // An emoji is one scalar of four bytes.
        #expect(FieldCheck.length("😀😀", min: 2, max: 2, maxBytes: 8))
        #expect(!FieldCheck.length("😀😀", min: 2, max: 2, maxBytes: 7))
    }

    @Test("blank means only white space: Unicode White_Space and U+FEFF, and nothing else")
    func blank() {
        #expect(FieldCheck.isBlank(""))
        #expect(FieldCheck.isBlank(" \t\n\r\u{0B}\u{0C}"))
        #expect(
            FieldCheck.isBlank("\u{85}\u{A0}\u{1680}\u{2000}\u{200A}\u{2028}\u{2029}\u{202F}\u{205F}\u{3000}\u{FEFF}")
        )
        #expect(!FieldCheck.isBlank("\u{200B}"))  // zero-width space is not White_Space
        #expect(!FieldCheck.isBlank("  x  "))
        for range in FieldCheck.whitespace {
            for v in range { #expect(FieldCheck.isWhitespace(Unicode.Scalar(v)!)) }
        }
    }

    @Test("allowed characters: ranges and literals, a lone '-' literal, '\\\\' escapes")
    func characters() throws {
        let ranges = try #require(FieldCheck.characterRanges("A-Za-z0-9_.-"))
        #expect(FieldCheck.onlyAllowed("user.name-1_x", ranges))
        #expect(FieldCheck.onlyAllowed("", ranges))
        #expect(!FieldCheck.onlyAllowed("user name", ranges))
        #expect(!FieldCheck.onlyAllowed("usér", ranges))
        #expect(FieldCheck.characterRanges("a\\-z") == [0x2D...0x2D, 0x61...0x61, 0x7A...0x7A])
        #expect(FieldCheck.characterRanges("z-a") == nil)
        #expect(FieldCheck.characterRanges("") == nil)
        #expect(FieldCheck.characterRanges("😀") == nil)
    }

    @Test(
        "e-mail addresses",
        arguments: [
            ("a@b.co", true), ("first.last+tag@sub.example.org", true), ("x@example.XN--P1AI", true),
            ("A@EXAMPLE.COM", true),
            ("", false), ("a@b", false), ("a@b.c", false), ("@b.co", false), ("a.@b.co", false), (".a@b.co", false),
            ("a..b@b.co", false),
            ("a@-b.co", false), ("a@b-.co", false), ("a@b..co", false), ("a b@b.co", false), ("a@b@c.co", false),
            ("é@b.co", false),
            ("a@b.c0", false), ("a@b.xn--", false),
        ]
    )
    func email(address: String, valid: Bool) {
        #expect(FieldCheck.isEmailAddress(address) == valid)
    }

    @Test("long e-mail addresses: local part 64, total 254 bytes")
    func emailLengths() {
        #expect(FieldCheck.isEmailAddress(String(repeating: "a", count: 64) + "@b.co"))
        #expect(!FieldCheck.isEmailAddress(String(repeating: "a", count: 65) + "@b.co"))
        let label = String(repeating: "d", count: 60)
        let long =
            String(repeating: "a", count: 10) + "@" + [label, label, label, label].joined(separator: ".") + ".com"
        #expect(long.utf8.count > 254)
        #expect(!FieldCheck.isEmailAddress(long))
    }

    @Test("a violation names its field; nested ones add the path; the schema's message replaces the text")
    func violations() {
        let plain = FieldViolation(field: "street", reason: "must be at most 255 characters and 1020 bytes")
        #expect(plain.description == "street must be at most 255 characters and 1020 bytes")
        #expect(
            plain.under("structured_address").description
                == "structured_address.street must be at most 255 characters and 1020 bytes"
        )
        let custom = FieldViolation(
            field: "price.cents",
            reason: "must be more than 0",
            message: "price must be more than 0 and at most 1,000,000.00"
        )
        #expect(custom.description == "price must be more than 0 and at most 1,000,000.00")
        #expect(custom.under("x").field == "x.price.cents")
    }
}
