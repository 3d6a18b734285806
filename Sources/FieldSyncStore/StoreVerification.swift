/// What a store holds, checked from the database itself: SQLite's integrity check, every log's
/// length and highest sequence number, duplicated dots (there must be none) and the counties of
/// its reports. Fault-injection runs compare it before and after crashes.
public struct StoreVerification: Sendable, Codable, Equatable {
    /// `PRAGMA integrity_check` rows (`["ok"]` when sound).
    public var integrity: [String]
    /// Changes held.
    public var changes: Int
    /// Dots held more than once (the schema forbids it; counted to prove it).
    public var duplicateDots: Int
    /// Each device's log: changes held and highest sequence number.
    public var logs: [String: LogSummary]
    /// Counties with at least one report.
    public var counties: [String]

    /// A verification's findings.
    public init(integrity: [String], changes: Int, duplicateDots: Int, logs: [String: LogSummary], counties: [String]) {
        self.integrity = integrity
        self.changes = changes
        self.duplicateDots = duplicateDots
        self.logs = logs
        self.counties = counties
    }

    /// One device's log as held.
    public struct LogSummary: Sendable, Codable, Equatable {
        /// Changes of this device held.
        public var count: Int
        /// Its highest sequence number held.
        public var highest: UInt64
        /// Sequence numbers missing below the highest (a server holds none: logs are contiguous).
        public var missing: Int { Int(highest) - count }

        /// A log's summary.
        public init(count: Int, highest: UInt64) {
            self.count = count
            self.highest = highest
        }
    }
}
