import Synchronization

/// Requests filed per Open311 key: a token bucket per key (`perMinute` a minute, bursts of
/// `burst`), so that one client application cannot flood a county's officers with reports.
final class Open311RateLimiter: Sendable {
    let perMinute: Double
    let burst: Double
    private let buckets = Mutex<[String: (tokens: Double, atMillis: UInt64)]>([:])

    init(perMinute: Int, burst: Int) {
        self.perMinute = Double(max(1, perMinute))
        self.burst = Double(max(1, burst))
    }

    /// Takes one request from `key`'s bucket; nil if allowed, else the seconds to wait.
    func take(_ key: String, now: UInt64) -> UInt64? {
        buckets.withLock { b in
            if b.count > 10_000 { b.removeAll() }
            var bucket = b[key] ?? (burst, now)
            let elapsed = Double(now &- min(now, bucket.atMillis)) / 60_000
            bucket.tokens = min(burst, bucket.tokens + elapsed * perMinute)
            bucket.atMillis = now
            guard bucket.tokens >= 1 else {
                b[key] = bucket
                return UInt64(((1 - bucket.tokens) / perMinute * 60).rounded(.up))
            }
            bucket.tokens -= 1
            b[key] = bucket
            return nil
        }
    }
}
