import FieldSyncCore
import Foundation
import Synchronization

/// Slows token guessing: counts failed sign-ins (bad or unknown bearer tokens, bad enrollment
/// tokens) per client address in a fixed window, and refuses that address — even with a good
/// token — once it has failed too often, until the window ends. Memory is bounded: windows
/// that have ended are dropped, and at most `maxClients` addresses are tracked.
public final class SignInLimiter: Sendable {
    /// Failures allowed per address per window.
    public let maxFailures: Int
    /// The window, in milliseconds.
    public let windowMillis: UInt64
    /// Addresses tracked at most (beyond it, the oldest windows are dropped).
    public let maxClients: Int
    private let windows = Mutex<[String: Window]>([:])

    struct Window {
        var start: UInt64
        var failures: Int
    }

    /// A limiter allowing `maxFailures` failed sign-ins per address per `windowSeconds`.
    public init(maxFailures: Int = 20, windowSeconds: Int = 60, maxClients: Int = 100_000) {
        self.maxFailures = maxFailures
        self.windowMillis = UInt64(windowSeconds) * 1000
        self.maxClients = maxClients
    }

    /// Throws `rate_limited` if `client` has used up its failures in the current window.
    public func check(_ client: String, now: UInt64) throws(FieldSyncError) {
        let retryAfter: UInt64? = windows.withLock { w in
            guard let window = w[client], now < window.start + windowMillis, window.failures >= maxFailures else { return nil }
            return (window.start + windowMillis - now + 999) / 1000
        }
        if let retryAfter {
            throw FieldSyncError(.rateLimited, "too many failed sign-ins from this address; wait \(retryAfter) s before trying again, and check that the token is the one you were given")
        }
    }

    /// Records one failed sign-in by `client`.
    public func recordFailure(_ client: String, now: UInt64) {
        windows.withLock { w in
            if w.count >= maxClients && w[client] == nil {
                w = w.filter { now < $0.value.start + windowMillis }
                if w.count >= maxClients, let oldest = w.min(by: { $0.value.start < $1.value.start })?.key { w[oldest] = nil }
            }
            if let window = w[client], now < window.start + windowMillis {
                w[client]!.failures = window.failures + 1
            } else {
                w[client] = Window(start: now, failures: 1)
            }
        }
    }
}
