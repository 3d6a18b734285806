import FieldSyncProtocol
import Synchronization

/// Public scorecards answered in the last few minutes, by query, so that anyone asking the public
/// endpoint again and again costs the daemon one computation per query and period; and at most
/// one public computation at a time, so that anonymous callers varying the period cannot take
/// more than one core from the county's officers.
final class PublicScorecardCache: Sendable {
    let lifetimeMillis: UInt64
    private let entries = Mutex<[String: (atMillis: UInt64, card: ScorecardResponse)]>([:])
    private let computing = Mutex(false)

    /// Claims the one public computation; false if another runs (the caller is told to retry).
    func begin() -> Bool {
        computing.withLock { busy in
            if busy { return false }
            busy = true
            return true
        }
    }

    /// Releases the computation claimed with `begin`.
    func end() { computing.withLock { $0 = false } }

    init(lifetimeMillis: UInt64 = 300_000) { self.lifetimeMillis = lifetimeMillis }

    /// The card for `key` computed less than `lifetimeMillis` before `now`.
    func get(_ key: String, now: UInt64) -> ScorecardResponse? {
        entries.withLock { e in
            guard let hit = e[key], now &- hit.atMillis < lifetimeMillis else { return nil }
            return hit.card
        }
    }

    /// Keeps a card (bounded).
    func put(_ key: String, _ card: ScorecardResponse, now: UInt64) {
        entries.withLock { e in
            if e.count >= 1_000 { e.removeAll() }
            e[key] = (now, card)
        }
    }
}
