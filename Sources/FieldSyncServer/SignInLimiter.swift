public import FieldSyncCore
import Foundation
import Synchronization

/// Counts failed sign-ins (unknown bearer tokens, bad enrollment tokens, refused registrations)
/// per client address and over all addresses, in fixed windows. While an address has failed too
/// often, or all addresses together have spent the global budget (scanning from many
/// addresses), a *failed* sign-in is answered `429 rate_limited` with `Retry-After`.
///
/// A valid token is never refused: tokens carry 256 random bits, so guessing is hopeless at any
/// rate, and refusing good tokens would let one client behind a NAT lock out every officer
/// there. The limiter sheds failures and makes scanning visible (`fieldsync_sign_ins_failed_total`,
/// a warning when the global budget is spent). Memory is bounded: windows that have ended are
/// dropped, and at most `maxClients` addresses are tracked.
public final class SignInLimiter: Sendable {
    /// Failures allowed per address per window.
    public let maxFailures: Int
    /// Failures allowed over all addresses per window.
    public let maxGlobalFailures: Int
    /// The window, in milliseconds.
    public let windowMillis: UInt64
    /// Addresses tracked at most (beyond it, the oldest windows are dropped).
    public let maxClients: Int
    private let state = Mutex<State>(State())

    struct Window {
        var start: UInt64
        var failures: Int
    }

    struct State {
        var clients: [String: Window] = [:]
        var global = Window(start: 0, failures: 0)
    }

    /// What a failure recorded now leads to.
    public enum Verdict: Sendable, Equatable {
        /// Answer the failure as it is (401, 422, …).
        case answer
        /// Answer `429`: the address (or, `global`, the whole server) is over its budget for this long.
        case limited(retryAfterSeconds: UInt64, global: Bool)
    }

    /// A limiter allowing `maxFailures` failed sign-ins per address and `maxGlobalFailures` over
    /// all addresses per `windowSeconds`.
    public init(
        maxFailures: Int = 20, maxGlobalFailures: Int = 1_000, windowSeconds: Int = 60, maxClients: Int = 100_000
    ) {
        self.maxFailures = maxFailures
        self.maxGlobalFailures = maxGlobalFailures
        self.windowMillis = UInt64(max(1, windowSeconds)) * 1000
        self.maxClients = maxClients
    }

    /// Records one failed sign-in by `client` and says how to answer it.
    public func recordFailure(_ client: String, now: UInt64) -> Verdict {
        state.withLock { s in
            if s.global.failures == 0 || now >= s.global.start + windowMillis {
                s.global = Window(start: now, failures: 0)
            }
            s.global.failures += 1
            if s.clients.count >= maxClients && s.clients[client] == nil { evict(&s.clients, now: now) }
            if let window = s.clients[client], now < window.start + windowMillis {
                s.clients[client]!.failures = window.failures + 1
            } else {
                s.clients[client] = Window(start: now, failures: 1)
            }
            let local = s.clients[client]!
            if s.global.failures > maxGlobalFailures {
                return .limited(retryAfterSeconds: retryAfter(s.global, now), global: true)
            }
            if local.failures > maxFailures {
                return .limited(retryAfterSeconds: retryAfter(local, now), global: false)
            }
            return .answer
        }
    }

    /// Records a failure of `client` and returns what to answer: `error`, or `rate_limited`
    /// when the address or the server is over its budget.
    public func refuse(_ error: FieldSyncError, client: String, now: UInt64) -> FieldSyncError {
        switch recordFailure(client, now: now) {
        case .answer: return error
        case .limited(let wait, let global): return Self.limitedError(wait, global: global)
        }
    }

    static func limitedError(_ seconds: UInt64, global: Bool) -> FieldSyncError {
        FieldSyncError(
            .rateLimited,
            global
                ? "too many failed sign-ins at this server; wait \(seconds) s before trying again, and check that the token is the one you were given"
                : "too many failed sign-ins from this address; wait \(seconds) s before trying again, and check that the token is the one you were given"
        )
    }

    private func retryAfter(_ window: Window, _ now: UInt64) -> UInt64 {
        (window.start + windowMillis - min(now, window.start + windowMillis) + 999) / 1000
    }

    private func evict(_ clients: inout [String: Window], now: UInt64) {
        clients = clients.filter { now < $0.value.start + windowMillis }
        if clients.count >= maxClients, let oldest = clients.min(by: { $0.value.start < $1.value.start })?.key {
            clients[oldest] = nil
        }
    }
}
