public import FieldSyncCore

/// A report that attaches a blob: where the blob's county scope and declared size come from.
public struct MediaReference: Sendable, Hashable {
    /// The file's SHA-256.
    public var sha256: String
    /// The report.
    public var report: ReportID
    /// Its county.
    public var county: String
    /// The content type the change declared.
    public var contentType: String
    /// The size the change declared, in bytes.
    public var size: UInt64
    /// The device whose change attached it (in `attachments`; nil where not read).
    public var device: DeviceID?

    /// A reference.
    public init(
        sha256: String, report: ReportID, county: String, contentType: String, size: UInt64, device: DeviceID? = nil
    ) {
        self.device = device
        self.sha256 = sha256
        self.report = report
        self.county = county
        self.contentType = contentType
        self.size = size
    }
}
