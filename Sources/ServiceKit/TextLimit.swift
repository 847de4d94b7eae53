/// Text limits hold in characters and in bytes. A character (a grapheme cluster, what a person
/// counts) may be any number of code points — one letter with thousands of combining marks is
/// one character — so "at most 200 characters" alone bounds nothing: a limit of N characters
/// also allows at most 4·N bytes of UTF-8 (any N characters of one code point each fit).
public enum TextLimit {
    /// UTF-8 bytes allowed per character of a limit.
    public static let bytesPerCharacter = 4

    /// Whether `value` has a number of characters in `characters` and at most
    /// `4 · characters.upperBound` bytes of UTF-8 (checked first: it costs nothing).
    public static func fits(_ value: some StringProtocol, characters: ClosedRange<Int>) -> Bool {
        value.utf8.count <= characters.upperBound * bytesPerCharacter && characters.contains(value.count)
    }

    /// The byte bound of a limit of `characters`, for messages.
    public static func bytes(_ characters: Int) -> Int { characters * bytesPerCharacter }
}
