public import FieldSyncCore
public import FieldSyncOpen311
import FieldSyncSigning
public import FieldSyncStore
import Foundation
import Prometheus

/// Requests citizens file through Open311 clients, the keys those clients hold, and the updates
/// a 311 front end shows.
extension SyncService {
    /// `POST requests.{fmt}`: files a request with a client's `api_key`, in the key's county. It
    /// is a report created by a change the server signs, which reaches the county's officers'
    /// devices at their next sync; what they do to it is what the citizen sees.
    public func open311File(_ form: Open311Form, jurisdiction: String?) async throws(FieldSyncError) -> Open311Node {
        guard let apiKey = form["api_key"], !apiKey.isEmpty, apiKey.utf8.count <= 200,
            let key = try await store.open311Key(keyHash: Tokens.hash(apiKey)), key.revokedMillis == nil
        else { throw FieldSyncError(.forbidden, "a valid api_key is required to file a request") }
        if let jurisdiction, jurisdiction != key.county {
            throw FieldSyncError(
                .forbidden, "this api_key files requests in '\(key.county)', not '\(jurisdiction.prefix(64))'")
        }
        if let wait = open311Limiter.take(key.id, now: now()) {
            throw FieldSyncError(.rateLimited, "this api_key files too many requests: retry in \(wait) s")
        }
        let (county, catalogue) = try await open311County(key.county)
        let ops = try Open311Submission.operations(form, county: county, catalogue: catalogue)
        let id = try ReportID(validating: UUID().uuidString.lowercased())
        let signing = try signer()
        _ = try await store.write(ops, to: id, county: county, wallMillis: now(), signer: { signing.sign($0) })
        metrics.changesIngested.increment()
        let hours = form["service_code"].flatMap(catalogue.service)?.targets?.resolveHours
        return Open311Documents.created(id, notice: hours.map { "The county aims to resolve this within \($0) hours." })
    }

    /// `servicerequestupdates.{fmt}`: each change of a request's status or status notes in the
    /// window (default: the last 90 days), newest request first, at most 1,000.
    public func open311Updates(jurisdiction: String?, query: Open311Form) async throws(FieldSyncError) -> Open311Node {
        let (county, _) = try await open311County(jurisdiction)
        let (start, end) = try Self.window(query, now: Int64(clamping: now()))
        var updates: [Open311Node] = []
        try await scan(county: county, since: start) { (r: Report) async throws(FieldSyncError) -> Bool in
            updates += try await self.updates(of: r, from: start, to: end)
            return updates.count < Self.open311MaxRequests
        }
        return .list(item: "request_update", Array(updates.prefix(Self.open311MaxRequests)))
    }

    private func updates(of r: Report, from start: Int64, to end: Int64) async throws(FieldSyncError) -> [Open311Node] {
        var status: FieldValue?
        var lifecycle = "active"
        var updates: [Open311Node] = []
        for c in try await store.history(of: r.id) {
            var notes: String?
            var touched = false
            for op in c.ops {
                switch op {
                case .set(.status, let v): status = v; touched = true
                case .set(.statusNotes, .string(let s)): notes = s; touched = true
                case .withdraw: lifecycle = "withdrawn"; touched = true
                case .restore: lifecycle = "active"; touched = true
                default: break
                }
            }
            let at = Int64(clamping: c.hlc.millis)
            guard touched, !c.isCreate, (start...end).contains(at) else { continue }
            updates.append(
                Open311Documents.update(
                    id: c.dot.description, request: r.id, status: Open311Status(status: status, lifecycle: lifecycle),
                    description: notes, atMillis: c.hlc.millis, offsetMinutes: configuration.open311OffsetMinutes))
        }
        return updates
    }

    /// Issues a key to an Open311 client application of a county (admins); returns the key,
    /// shown once (only its hash is kept).
    public func createOpen311Key(
        county: String, name: String, by caller: Principal, from address: String? = nil
    ) async throws(FieldSyncError) -> (key: String, record: Open311KeyRecord) {
        try requireAdmin(caller)
        guard Identifier.isValid(county) else { throw FieldSyncError(.invalidRequest, "county must be an identifier") }
        guard (1...100).contains(name.unicodeScalars.count), !name.unicodeScalars.contains(where: { $0.value < 32 })
        else {
            throw FieldSyncError(.invalidRequest, "name must have 1 to 100 characters, no control characters")
        }
        let key = Tokens.generate(prefix: "fs311")
        let record = Open311KeyRecord(
            id: "k-" + String(Digest.sha256Hex(Data(key.utf8)).prefix(12)), name: name, county: county,
            createdMillis: now())
        try await store.createOpen311Key(record, keyHash: Tokens.hash(key))
        try await audit(.createOpen311Key, by: caller, from: address, county: county, subject: record.id, detail: name)
        return (key, record)
    }

    /// Revokes an Open311 key (admins): its client can no longer file requests.
    public func revokeOpen311Key(
        _ id: String, by caller: Principal, from address: String? = nil
    )
        async throws(FieldSyncError)
    {
        try requireAdmin(caller)
        guard try await store.revokeOpen311Key(id, nowMillis: now()) else {
            throw FieldSyncError(.notFound, "no Open311 key \(id.prefix(64))")
        }
        try await audit(.revokeOpen311Key, by: caller, from: address, county: nil, subject: id, detail: "")
    }

    /// Every Open311 key (admins).
    public func open311Keys(by caller: Principal) async throws(FieldSyncError) -> [Open311KeyRecord] {
        try requireAdmin(caller)
        return try await store.open311Keys()
    }
}
