import Foundation
import NIOConcurrencyHelpers

/// Token buckets per key (an IP address, a user), in process: each key may burst `capacity`
/// requests and gets `refillPerSecond` back. Idle buckets are forgotten.
public final class RateLimiter: Sendable {
    struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    let capacity: Double
    let refillPerSecond: Double
    let buckets = NIOLockedValueBox<[String: Bucket]>([:])
    let sweeps = NIOLockedValueBox(0)

    /// - Parameters:
    ///   - capacity: the burst (tokens a key starts with and may save up).
    ///   - perMinute: tokens added per minute.
    public init(capacity: Int, perMinute: Int) {
        self.capacity = Double(max(1, capacity))
        self.refillPerSecond = Double(max(1, perMinute)) / 60
    }

    /// Takes a token for `key`; nil when allowed, else the seconds until one is available.
    public func take(_ key: String, now: ContinuousClock.Instant = .now) -> Int? {
        let (capacity, refill) = (self.capacity, self.refillPerSecond)
        let wait = buckets.withLockedValue { buckets -> Int? in
            var bucket = buckets[key] ?? Bucket(tokens: capacity, updated: now)
            let elapsed = now - bucket.updated
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            bucket.tokens = min(capacity, bucket.tokens + seconds * refill)
            bucket.updated = now
            defer { buckets[key] = bucket }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return nil
            }
            return max(1, Int(((1 - bucket.tokens) / refill).rounded(.up)))
        }
        // Now and then, drop buckets that have refilled completely (nothing to remember).
        if sweeps.withLockedValue({ count -> Bool in
            count += 1
            return count % 10_000 == 0
        }) {
            buckets.withLockedValue { buckets in
                buckets = buckets.filter { _, bucket in
                    let idle = now - bucket.updated
                    return Double(idle.components.seconds) * refill + bucket.tokens < capacity
                }
            }
        }
        return wait
    }
}
