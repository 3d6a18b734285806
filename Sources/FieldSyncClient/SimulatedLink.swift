public import FieldSyncCore
import Foundation
import Synchronization

/// A transport that makes another one behave like a given link, reproducibly: the same seed
/// gives the same losses, cuts and times. Time is accounted on a simulated clock (and, when
/// `realTime` is set, actually waited), so tests of a 2G sync run in milliseconds.
///
/// The model, per request: one round trip of latency, the bytes at the link's bandwidth each
/// way in 1,460-byte packets, and for every lost packet one more round trip (retransmission).
/// A cut drops the connection either before the server gets the request or after it answered.
public final class SimulatedLink: SyncTransport {
    /// The link being simulated.
    public let profile: LinkProfile
    let inner: any SyncTransport
    let realTime: Bool
    private let state: Mutex<State>

    struct State {
        var rng: SplitMix64
        var seconds = 0.0
        var events: [String] = []
    }

    /// Wraps `inner` in a link `profile`, seeded.
    public init(_ inner: any SyncTransport, profile: LinkProfile, seed: UInt64, realTime: Bool = false) {
        self.inner = inner
        self.profile = profile
        self.realTime = realTime
        state = Mutex(State(rng: SplitMix64(seed: seed)))
    }

    /// Simulated seconds spent on the link so far.
    public var simulatedSeconds: Double { state.withLock { $0.seconds } }

    /// What happened on the link (cuts, losses), for recordings.
    public func drainEvents() -> [String] {
        state.withLock { s in
            defer { s.events = [] }; return s.events
        }
    }

    public func send(_ request: TransportRequest) async throws(FieldSyncError) -> TransportResponse {
        if profile.offline {
            state.withLock { $0.events.append("offline") }
            throw FieldSyncError(.timeout, "no network (link profile 'offline'); sync again when connectivity returns")
        }
        let requestBytes = request.body.count + 300  // headers
        let (cutBefore, cutAfter, upLosses) = state.withLock { s -> (Bool, Bool, Int) in
            let roll = Double.random(in: 0..<1, using: &s.rng)
            return (
                roll < profile.cut / 2, roll >= profile.cut / 2 && roll < profile.cut,
                losses(bytes: requestBytes, &s.rng)
            )
        }
        let rtt = 2 * profile.latencyMillis / 1000
        let upTime = rtt + Double(requestBytes * 8) / profile.upBitsPerSecond + Double(upLosses) * rtt
        if cutBefore {
            try await spend(upTime / 2, event: "cut during upload")
            throw FieldSyncError(
                .timeout, "connection cut while sending (simulated \(profile.name) link); sync again, nothing was lost")
        }
        let response = try await inner.send(request)
        let responseBytes = response.wireBytes + 200
        let downLosses = state.withLock { losses(bytes: responseBytes, &$0.rng) }
        let downTime = Double(responseBytes * 8) / profile.downBitsPerSecond + Double(downLosses) * rtt
        if cutAfter {
            try await spend(upTime + downTime / 2, event: "cut during download")
            throw FieldSyncError(
                .timeout,
                "connection cut while receiving (simulated \(profile.name) link); sync again, nothing was lost")
        }
        try await spend(
            upTime + downTime, event: upLosses + downLosses > 0 ? "\(upLosses + downLosses) packets lost" : nil)
        return response
    }

    /// Waits `seconds` on the link's clock without sending anything (a retry's backoff): simulated
    /// time moves on, and real time too when the link runs in real time.
    public func idle(_ seconds: Double) async {
        try? await spend(seconds, event: nil)
    }

    private func losses(bytes: Int, _ rng: inout SplitMix64) -> Int {
        guard profile.loss > 0 else { return 0 }
        let packets = max(1, (bytes + 1459) / 1460)
        return (0..<packets).reduce(0) { n, _ in n + (Double.random(in: 0..<1, using: &rng) < profile.loss ? 1 : 0) }
    }

    private func spend(_ seconds: Double, event: String?) async throws(FieldSyncError) {
        state.withLock { s in
            s.seconds += seconds
            if let event { s.events.append(event) }
        }
        if realTime && seconds > 0 {
            try? await Task.sleep(for: .seconds(seconds))
        }
    }
}
