public import FieldSyncCore
import Foundation
import Synchronization

/// A peer link made to behave like a given link profile, reproducibly: each frame sent waits the
/// profile's one-way latency, its bytes at the upstream bandwidth in 1,460-byte packets, and a
/// round trip per lost packet; with the profile's `cut` probability a frame cuts the link instead.
/// `--link` applies it to `fieldsync peer` as `SimulatedLink` does to the server link.
public final class ShapedPeerLink: PeerLink {
    /// The profile.
    public let profile: LinkProfile
    private let inner: any PeerLink
    private let realTime: Bool
    private let state: Mutex<(rng: SplitMix64, seconds: Double, cut: Bool)>

    /// Wraps `inner`; `seed` fixes the losses and cuts.
    public init(_ inner: any PeerLink, profile: LinkProfile, seed: UInt64, realTime: Bool = true) {
        self.inner = inner
        self.profile = profile
        self.realTime = realTime
        state = Mutex((SplitMix64(seed: seed), 0, false))
    }

    /// Seconds the link's shaping spent on sending.
    public var simulatedSeconds: Double { state.withLock { $0.seconds } }

    /// Sends after the link's delay, or cuts the link.
    public func send(_ payload: [UInt8]) async throws(FieldSyncError) {
        if profile.offline { throw FieldSyncError(.timeout, "no link (profile 'offline')") }
        let bytes = payload.count + 4 + 40
        let (cut, seconds) = state.withLock { s -> (Bool, Double) in
            let roll = Double.random(in: 0..<1, using: &s.rng)
            let packets = max(1, (bytes + 1459) / 1460)
            let lost =
                profile.loss > 0
                ? (0..<packets).reduce(0) { n, _ in n + (Double.random(in: 0..<1, using: &s.rng) < profile.loss ? 1 : 0)
                }
                : 0
            let t =
                profile.latencyMillis / 1000 + Double(bytes * 8) / profile.upBitsPerSecond
                + Double(lost) * 2 * profile.latencyMillis / 1000
            s.seconds += t
            if roll < profile.cut { s.cut = true }
            return (s.cut, t)
        }
        if realTime, seconds > 0.0005 { try? await Task.sleep(for: .seconds(seconds)) }
        if cut {
            await inner.close()
            throw FieldSyncError(
                .timeout, "the link was cut (simulated \(profile.name) link); meet again: nothing was lost")
        }
        try await inner.send(payload)
    }

    /// The next frame.
    public func receive() async throws(FieldSyncError) -> [UInt8]? { try await inner.receive() }

    /// Closes the link.
    public func close() async { await inner.close() }
}
