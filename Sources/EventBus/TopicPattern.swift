/// A topic exchange's binding pattern, as RabbitMQ reads it: words separated by dots, where `*`
/// matches exactly one word and `#` matches zero or more words.
///
/// Keys and patterns are split on every dot, so empty words count (`a..b` has three words, the
/// empty key has one empty word). Matching is a dynamic programme over the two word lists:
/// linear in their product, so no pattern (`#.#.#.#`) can make it exponential.
public struct TopicPattern: Hashable, Sendable, CustomStringConvertible {
    enum Word: Hashable, Sendable {
        case literal(Substring)
        case one
        case any
    }

    let words: [Word]
    public let description: String

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
        // reachable[j]: the pattern's first i words can match the key's first j words.
        var reachable = [Bool](repeating: false, count: key.count + 1)
        reachable[0] = true
        for word in words {
            var next = [Bool](repeating: false, count: key.count + 1)
            switch word {
            case .any:
                var seen = false
                for j in 0...key.count {
                    seen = seen || reachable[j]
                    next[j] = seen
                }
            case .one:
                for j in 0..<key.count where reachable[j] { next[j + 1] = true }
            case .literal(let literal):
                for j in 0..<key.count where reachable[j] && key[j] == literal { next[j + 1] = true }
            }
            reachable = next
        }
        return reachable[key.count]
    }
}
