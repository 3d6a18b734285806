public import FieldSyncCore

/// The workload of the crash-consistency test: the standard scenario shrunk, cut into batches
/// in a causal order (seed changes first, then each device's log interleaved).
public enum CrashWorkload {
    /// The batches, in the order they are ingested.
    public static func batches(seed: UInt64, devices: Int, edits: Int, batchSize: Int) -> [[Change]] {
        let out = StandardScenario(devices: devices, editsPerDevice: edits, sharedReports: 20, seed: seed).generate()
        var ordered = out.seedChanges
        for i in 0..<edits { for log in out.deviceLogs where i < log.count { ordered.append(log[i]) } }
        return stride(from: 0, to: ordered.count, by: batchSize).map {
            Array(ordered[$0..<min($0 + batchSize, ordered.count)])
        }
    }
}
