public import FieldSyncCore
public import FieldSyncProtocol
import FieldSyncSigning
import FieldSyncStore
import Foundation

/// The county's service catalogue: published by admins (every version kept), read by operators
/// and the county's devices (signed by the server), and held against reports as flags.
extension SyncService {
    /// Publishes a new version of a county's catalogue (admins): checked, numbered, kept,
    /// audited; devices of the county receive it at their next sync.
    public func publishCatalogue(
        _ catalogue: ServiceCatalogue, by caller: Principal, from address: String? = nil
    ) async throws(FieldSyncError) -> ServiceCatalogue {
        try requireAdmin(caller)
        try CatalogueRules.validate(catalogue)
        var body = catalogue
        body.version = nil
        body.publishedAtMillis = nil
        let record = try await store.publishCatalogue(
            county: catalogue.county, body: CatalogueRules.canonicalJSON(body), atMillis: now(),
            by: caller.auditName.actor)
        try await audit(
            .publishCatalogue, by: caller, from: address, county: catalogue.county, subject: "v\(record.version)",
            detail: "\(catalogue.services.count) services")
        return try Self.decode(record)
    }

    /// A county's catalogue, signed: the newest, or one `version`. For operators of the county
    /// (admins: any) and the county's devices.
    public func catalogue(
        county: String, version: Int? = nil, by caller: Principal
    ) async throws(FieldSyncError) -> SignedCatalogue {
        try requireReader(caller, county)
        guard
            let found = version == nil ? try await currentCatalogue(county) : try await storedCatalogue(county, version)
        else {
            throw FieldSyncError(
                .notFound, "county '\(county.prefix(64))' has no catalogue\(version.map { " version \($0)" } ?? "")")
        }
        return try sign(found)
    }

    /// Every version of a county's catalogue, newest first.
    public func catalogueVersions(
        county: String, by caller: Principal
    ) async throws(FieldSyncError)
        -> CatalogueVersionList
    {
        try requireReader(caller, county)
        return CatalogueVersionList(
            county: county,
            versions: try await store.catalogueVersions(county: county).map {
                .init(version: $0.version, publishedAtMillis: $0.atMillis, publishedBy: $0.by)
            })
    }

    /// The newest catalogue of a county, nil if none was published (cached while it is newest).
    func currentCatalogue(_ county: String, newest: Int? = nil) async throws(FieldSyncError) -> ServiceCatalogue? {
        var version = newest
        if version == nil { version = try await store.catalogueVersions(county: county).first?.version }
        guard let version else { return nil }
        if let cached = catalogues.get(county, version: version) { return cached }
        return try await storedCatalogue(county, version)
    }

    /// What a device that holds catalogue `held` of its county is sent: the newest, if newer.
    func catalogueUpdate(for device: DeviceRecord, held: Int) async throws(FieldSyncError) -> SignedCatalogue? {
        guard let newest = try await store.catalogueVersions(county: device.county).first, newest.version > held,
            let current = try await currentCatalogue(device.county, newest: newest.version)
        else { return nil }
        return try sign(current)
    }

    /// What a report lacks against its county's current catalogue (nil: none published).
    func catalogueIssues(of report: Report) async throws(FieldSyncError) -> [String]? {
        guard let catalogue = try await currentCatalogue(report.county) else { return nil }
        let issues = CatalogueRules.issues(of: report.fields, against: catalogue)
        return issues.isEmpty ? nil : issues
    }

    private func storedCatalogue(_ county: String, _ version: Int?) async throws(FieldSyncError) -> ServiceCatalogue? {
        guard let record = try await store.catalogue(county: county, version: version) else { return nil }
        let catalogue = try Self.decode(record)
        catalogues.put(catalogue)
        return catalogue
    }

    private func requireReader(_ caller: Principal, _ county: String) throws(FieldSyncError) {
        guard Identifier.isValid(county) else {
            throw FieldSyncError(.invalidRequest, "county must be an identifier (letters, digits, - _ .)")
        }
        if case .device(let d) = caller {
            guard d.county == county else { throw FieldSyncError(.wrongCounty, "this device belongs to '\(d.county)'") }
            return
        }
        try requireCounty(try requireOperator(caller), county)
    }

    private func sign(_ catalogue: ServiceCatalogue) throws(FieldSyncError) -> SignedCatalogue {
        SignedCatalogue(catalogue: catalogue, signature: try signer().sign(catalogue).base64EncodedString())
    }

    static func decode(_ record: CatalogueRecord) throws(FieldSyncError) -> ServiceCatalogue {
        do {
            var c = try JSONDecoder().decode(ServiceCatalogue.self, from: record.body)
            c.version = record.version
            c.publishedAtMillis = record.atMillis
            return c
        } catch {
            throw FieldSyncError(.storage, "catalogue \(record.county) v\(record.version) is unreadable: \(error)")
        }
    }
}
