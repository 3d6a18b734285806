public import FieldSyncCore

/// The bounds of the refusals quarantine: what a store keeps of the changes it refused, so that
/// operators can read them, without letting anyone grow the database by sending changes that
/// will be refused. Per sending device and in total, by count and by bytes; a refusal over a
/// bound is counted, not stored; a refusal seen again only bumps its record's count. I/O-free:
/// both stores ask it.
public struct RefusalQuarantine: Sendable, Hashable {
    /// Records kept per sending device.
    public var rowsPerDevice = 200
    /// Bytes of change bodies kept per sending device.
    public var bytesPerDevice = 4 << 20
    /// Records kept in all.
    public var rows = 50_000
    /// Bytes of change bodies kept in all.
    public var bytes = 256 << 20
    /// The largest body kept; a larger change is recorded without it.
    public var maxBody = 64 << 10

    /// The default bounds.
    public init() {}

    /// What the store holds now, of one sending device and in all.
    public struct Usage: Sendable, Hashable {
        /// Records of the sending device.
        public var deviceRows = 0
        /// Body bytes of the sending device.
        public var deviceBytes = 0
        /// Records in all.
        public var rows = 0
        /// Body bytes in all.
        public var bytes = 0

        /// Usage as counted.
        public init(deviceRows: Int = 0, deviceBytes: Int = 0, rows: Int = 0, bytes: Int = 0) {
            self.deviceRows = deviceRows
            self.deviceBytes = deviceBytes
            self.rows = rows
            self.bytes = bytes
        }
    }

    /// Whether a refusal is kept at all: final refusals are; a gap or a missing dependency (the
    /// server lacks history, and the device sends it again) is not.
    public func records(_ verdict: RefusedChange) -> Bool { verdict.isFinal }

    /// Whether the change's body is kept: not when it is too large, nor when nobody vouched for
    /// its content (no valid signature, or an author the server does not know).
    public func keepsBody(_ verdict: RefusedChange, size: Int) -> Bool {
        size <= maxBody && verdict.code != .badSignature && verdict.code != .unknownDevice
    }

    /// Whether one more record of `size` body bytes fits; if it does, `usage` counts it.
    public func admit(size: Int, into usage: inout Usage) -> Bool {
        guard usage.deviceRows < rowsPerDevice, usage.rows < rows,
            usage.deviceBytes + size <= bytesPerDevice, usage.bytes + size <= bytes
        else { return false }
        usage.deviceRows += 1
        usage.rows += 1
        usage.deviceBytes += size
        usage.bytes += size
        return true
    }
}
