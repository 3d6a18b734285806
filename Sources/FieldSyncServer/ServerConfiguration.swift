public import FieldSyncConsole
/// Limits and policies of a `fieldsyncd` instance.
public struct ServerConfiguration: Sendable, Hashable {
    /// Failed sign-ins (bad bearer or enrollment tokens) allowed per client address per window.
    public var maxFailedSignIns = 20
    /// Failed sign-ins allowed over all addresses per window (scanning from many addresses).
    public var maxGlobalFailedSignIns = 1_000
    /// The sign-in limiter's window, in seconds.
    public var signInWindowSeconds = 60
    /// Largest request body on the wire (compressed or not), in bytes.
    public var maxBodyBytes = 8 * 1024 * 1024
    /// Largest request body after decompression, in bytes.
    public var maxDecompressedBytes = 32 * 1024 * 1024
    /// Most changes one sync request may push.
    public var maxPushChanges = 1_000
    /// Most changes one sync response carries (the default page when the request names none).
    public var maxPullChanges = 1_000
    /// Most logs one sync request may offer.
    public var maxOfferedLogs = 10_000
    /// How far ahead of the server's clock a change's timestamp may be, in milliseconds.
    public var maxClockAheadMillis: UInt64 = 7 * 24 * 3_600_000
    /// The earliest timestamp a change may carry (2020-01-01): anything older was written by a
    /// device whose clock was not set.
    public var minClockMillis: UInt64 = 1_577_836_800_000
    /// How long a device certificate holds for peer meetings, in milliseconds (30 days): it is
    /// issued at enrollment and again at every sync that asks, so a device that syncs keeps one.
    public var certificateValidityMillis: UInt64 = 30 * 24 * 3_600_000
    /// How long an enrollment token stays valid by default, in hours.
    public var enrollmentHours = 72
    /// How long one request may take before the server answers `timeout`, in seconds.
    public var requestTimeoutSeconds: Double = 30
    /// How long a connection may go without delivering a complete request head, in seconds:
    /// idle between requests, or sending its headers too slowly. Then it is closed.
    public var idleTimeoutSeconds: Double = 30
    /// Open connections at most. Beyond it, new connections wait in the kernel's accept queue
    /// until one closes (the daemon also keeps it below its file-descriptor limit).
    public var maxConnections = 1_000
    /// Requests handled at once at most. Beyond it, a request is answered `503 overloaded`
    /// with `Retry-After` at once, without reading its body.
    public var maxRequestsInFlight = 256
    /// Responses larger than this are compressed when the client accepts it.
    public var compressAboveBytes = 512
    /// Largest media file (a photo), in bytes.
    public var maxMediaBytes: UInt64 = 20 * 1024 * 1024
    /// Bytes one device may have in partial uploads at once (what its open uploads still lack).
    public var maxMediaInFlightBytes: UInt64 = 100 * 1024 * 1024
    /// Partial uploads one device may have open at once.
    public var maxUploadsPerDevice = 20
    /// Largest piece of an upload one request may carry, in bytes.
    public var maxUploadPieceBytes = 4 * 1024 * 1024
    /// How long a partial upload is kept without progress, in hours.
    public var uploadExpiryHours = 72
    /// The content types media may have.
    public var mediaTypes: Set<String> = [
        "image/jpeg", "image/png", "image/webp", "image/heic", "image/gif", "application/pdf", "audio/mpeg",
        "audio/mp4", "video/mp4",
    ]
    /// The author id under which the server writes operators' resolutions.
    public var serverDeviceID = "fieldsyncd"
    /// Requests an Open311 key may file a minute (with bursts of `open311Burst`).
    public var open311PerMinute = 30
    /// The burst of requests an Open311 key may file at once.
    public var open311Burst = 10
    /// The time zone Open311 datetimes are written in, minutes east of UTC (Kenya: 180).
    public var open311OffsetMinutes = 180
    /// The console map's tile server, as a URL template with `{z}`, `{x}` and `{y}` (nil: a plain
    /// map without tiles), and the attribution its tiles require.
    public var mapTiles: MapTiles?

    /// The defaults.
    public init() {}
}
