/// A topic exchange's binding pattern, as RabbitMQ reads it: words separated by dots, where `*`
/// matches exactly one word and `#` matches zero or more words.
///
/// Keys and patterns are split on every dot, so empty words count (`a..b` has three words, the
/// empty key has one empty word). Matching is an iterative dynamic programme over the two word
/// lists (no recursion, no backtracking): runs of `#` merge into one, so `#.#.#.#…` is linear in
/// the key, and any pattern costs at most its words times the key's. Both are at most
/// ``maximumLength`` bytes at every entry point (publish, bind, topology), as in RabbitMQ.
public struct TopicPattern: Hashable, Sendable, CustomStringConvertible {
    enum Word: Hashable, Sendable {
        case literal(Substring)
        case one
        case any
    }

    let words: [Word]
    public let description: String

    /// The longest routing key or binding pattern the bus accepts, in UTF-8 bytes (RabbitMQ's
    /// short-string limit).
    public static let maximumLength = 255

    /// Why `text` cannot be a routing key or pattern (`what` names it), or `nil` if it can.
    public static func lengthProblem(_ text: String, what: String) -> String? {
        let length = text.utf8.count
        guard length > maximumLength else { return nil }
        return "\(what) is \(length) bytes; at most \(maximumLength) are allowed"
    }

    /// Parses a pattern. Consecutive `#` words are merged (`#.#` is `#`).
    public init(_ pattern: String) {
        description = pattern
        var words: [Word] = []
        for part in pattern.split(separator: ".", omittingEmptySubsequences: false) {
            switch part {
            case "#":
                if words.last != .any { words.append(.any) }
            case "*": words.append(.one)
            default: words.append(.literal(part))
            }
        }
        self.words = words
    }

    /// Whether `routingKey` matches the pattern.
    public func matches(_ routingKey: String) -> Bool {
        let key = routingKey.split(separator: ".", omittingEmptySubsequences: false)
        // reachable[j]: the pattern's words so far can match the key's first j words. Two rows,
        // swapped per pattern word: no allocation inside the loop.
        var reachable = [Bool](repeating: false, count: key.count + 1)
        var next = reachable
        reachable[0] = true
        for word in words {
            switch word {
            case .any:
                var seen = false
                for j in 0...key.count {
                    seen = seen || reachable[j]
                    next[j] = seen
                }
            case .one:
                next[0] = false
                for j in 0..<key.count { next[j + 1] = reachable[j] }
            case .literal(let literal):
                next[0] = false
                for j in 0..<key.count { next[j + 1] = reachable[j] && key[j] == literal }
            }
            swap(&reachable, &next)
        }
        return reachable[key.count]
    }
}
