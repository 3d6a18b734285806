import Synchronization

/// Decides when an operator's use of a token is recorded as a sign-in in the audit log: the
/// first request from an address, then at most once an hour per operator and address, so that
/// a script polling every second writes 24 entries a day, not 86,400.
final class SignInAudit: Sendable {
    /// How long a recorded sign-in covers further requests from the same address, in milliseconds.
    let intervalMillis: UInt64
    private let recorded = Mutex<[String: UInt64]>([:])

    /// A recorder covering `intervalMillis` after each recorded sign-in.
    init(intervalMillis: UInt64 = 3_600_000) { self.intervalMillis = intervalMillis }

    /// Whether this request is a sign-in to record (and, if so, notes it).
    func isDue(_ operatorID: String, address: String, now: UInt64) -> Bool {
        let key = operatorID + " " + address
        return recorded.withLock { seen in
            if let last = seen[key], now < last &+ intervalMillis { return false }
            if seen.count > 100_000 { seen.removeAll() }
            seen[key] = now
            return true
        }
    }
}
