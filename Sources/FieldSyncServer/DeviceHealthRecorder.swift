import FieldSyncCore
import FieldSyncStore
import Foundation
import Synchronization

/// Records devices' syncs in the store, at most once a minute per device unless the outcome
/// changes, so that a fleet syncing every few seconds does not write at every request.
public final class DeviceHealthRecorder: Sendable {
    /// How long a recorded success stays fresh enough not to be written again, in milliseconds.
    public let intervalMillis: UInt64
    private let written = Mutex<[DeviceID: (at: UInt64, error: String?, idle: Bool?)]>([:])

    /// A recorder writing at most once per `intervalMillis` per device and outcome.
    public init(intervalMillis: UInt64 = 60_000) { self.intervalMillis = intervalMillis }

    /// Records a sync of `device` (`error` nil for a success) and the backlog it said it still
    /// held; a failure to record is not the sync's. A new outcome, or a backlog that emptied or
    /// began, is written at once.
    func record(_ device: DeviceID, error: String?, client: String?, pending: UInt64? = nil, service: SyncService) async
    {
        let now = service.now()
        let idle = pending.map { $0 == 0 }
        let due = written.withLock { w -> Bool in
            if let last = w[device], last.error == error, idle == nil || last.idle == idle,
                now < last.at &+ intervalMillis
            {
                return false
            }
            if w.count > 200_000 { w.removeAll() }
            w[device] = (now, error, idle ?? w[device]?.idle)
            return true
        }
        guard due else { return }
        try? await service.store.recordDeviceSync(device, atMillis: now, error: error, client: client, pending: pending)
    }
}
