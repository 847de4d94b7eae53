import EventBus
import Testing

@Suite("Topic patterns: * is one word, # is zero or more")
struct TopicPatternTests {
    @Test(
        "matches",
        arguments: [
            // pattern, key, matches
            ("order.created", "order.created", true),
            ("order.created", "order.accepted", false),
            ("order.*", "order.created", true),
            ("order.*", "order", false),
            ("order.*", "order.created.late", false),
            ("*.created", "order.created", true),
            ("*", "order", true),
            ("*", "order.created", false),
            ("*", "", true),  // the empty key is one empty word
            ("#", "", true),
            ("#", "order", true),
            ("#", "a.b.c.d", true),
            ("order.#", "order", true),  // zero words
            ("order.#", "order.created", true),
            ("order.#", "order.created.late", true),
            ("order.#", "orders.created", false),
            ("#.created", "created", true),
            ("#.created", "order.created", true),
            ("#.created", "a.b.order.created", true),
            ("#.created", "order.created.late", false),
            ("a.#.b", "a.b", true),
            ("a.#.b", "a.x.b", true),
            ("a.#.b", "a.x.y.z.b", true),
            ("a.#.b", "a.x.y.z.c", false),
            ("a.#.b", "a.b.c", false),
            ("#.#", "", true),
            ("#.#", "a.b", true),
            ("#.#.#.#.#.#.#.#.x", "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.y", false),
            ("a.*.#", "a", false),
            ("a.*.#", "a.b", true),
            ("a.*.#", "a.b.c", true),
            ("*.*", "a.b", true),
            ("*.*", "a", false),
            ("a..b", "a..b", true),  // empty words are words
            ("a.*.b", "a..b", true),
            ("a.b", "a..b", false),
            ("", "", true),
            ("", "a", false),
            ("order", "order", true),  // one-word keys
            ("order", "orders", false),
            ("user.#.deleted", "user.deleted", true),
            ("*.#", "", true),
            ("*.#", "a.b.c", true),
        ]
    )
    func matches(pattern: String, key: String, expected: Bool) {
        #expect(TopicPattern(pattern).matches(key) == expected, "\(pattern) vs \(key)")
    }

    @Test("long keys and many # stay fast (polynomial)")
    func adversarial() {
        let pattern = TopicPattern(Array(repeating: "#.a", count: 50).joined(separator: "."))
        let key = Array(repeating: "a", count: 49).joined(separator: ".") + ".b"
        #expect(!pattern.matches(key))
    }
}
