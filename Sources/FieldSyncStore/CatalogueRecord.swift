public import Foundation

/// One published version of a county's service catalogue, as stored: the catalogue's JSON as the
/// service checked it, who published it and when. Every version is kept.
public struct CatalogueRecord: Sendable, Hashable {
    /// The county.
    public var county: String
    /// Its version, from 1.
    public var version: Int
    /// When it was published (milliseconds since 1970).
    public var atMillis: UInt64
    /// Who published it (an admin's id, or `shell`).
    public var by: String
    /// The catalogue's JSON (empty in a list of versions).
    public var body: Data

    /// A record.
    public init(county: String, version: Int, atMillis: UInt64, by: String, body: Data) {
        self.county = county
        self.version = version
        self.atMillis = atMillis
        self.by = by
        self.body = body
    }
}

/// A key an admin issued to one Open311 client application of one county (stored hashed).
public struct Open311KeyRecord: Sendable, Hashable {
    /// The key's id (shown in lists and the audit log; the key itself is shown once).
    public var id: String
    /// The application's name.
    public var name: String
    /// The county its requests are filed in.
    public var county: String
    /// When it was issued.
    public var createdMillis: UInt64
    /// When it was revoked, if it was.
    public var revokedMillis: UInt64?

    /// A record.
    public init(id: String, name: String, county: String, createdMillis: UInt64, revokedMillis: UInt64? = nil) {
        self.id = id
        self.name = name
        self.county = county
        self.createdMillis = createdMillis
        self.revokedMillis = revokedMillis
    }
}
