import FieldSyncClient
import FieldSyncCore
import FieldSyncPeerTCP
import FieldSyncProtocol
import FieldSyncStore
import Foundation
import Synchronization

extension FleetSimulator {
    /// Two devices meet, as `fieldsync peer` does: over TCP on loopback or an in-memory pipe.
    /// Returns whether both sides finished the meeting.
    func meet(_ a: Device, _ b: Device) async throws -> Bool {
        let ma = PeerMeeting(store: a.store, key: a.key), mb = PeerMeeting(store: b.store, key: b.key)
        switch scenario.peerLink {
        case .memory:
            let (x, y) = PeerPipe.pair()
            async let ra = Self.settle { () async throws(FieldSyncError) in _ = try await ma.run(over: x) }
            async let rb = Self.settle { () async throws(FieldSyncError) in _ = try await mb.run(over: y) }
            let (okA, okB) = await (ra, rb)
            return okA && okB
        case .tcp:
            let listener = try await TCPPeerListener.bind(host: "127.0.0.1", port: 0)
            let okB = Flag()
            async let listening: Void = listener.serve { link in
                if await Self.settle({ () async throws(FieldSyncError) in _ = try await mb.run(over: link) }) {
                    okB.set()
                }
                return false
            }
            let link = try await TCPPeerLink.connect(host: "127.0.0.1", port: listener.port)
            let okA = await Self.settle { () async throws(FieldSyncError) in _ = try await ma.run(over: link) }
            try await listening
            return okA && okB.isSet
        }
    }

    /// Runs a meeting's side; a refused or cut meeting is part of field life (the next one resumes).
    static func settle(_ body: () async throws(FieldSyncError) -> Void) async -> Bool {
        (try? await body()) != nil
    }
}

/// Set once from another task.
final class Flag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}
