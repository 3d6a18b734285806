public import FieldSyncCore
public import FieldSyncProtocol
import FieldSyncSigning
public import FieldSyncStore
import Foundation
import Prometheus

/// What operators read and decide, within their counties: reports, conflicts and their
/// resolution, refusals. Routes: `HTTPAPI+Operators`.
extension SyncService {
    /// Reports an operator may see, filtered.
    public func reports(_ filter: ReportFilter, by caller: Principal) async throws(FieldSyncError) -> ReportList {
        let op = try requireOperator(caller)
        var filter = filter
        try Self.checkPage(limit: filter.limit, offset: filter.offset)
        if let county = filter.county {
            try requireCounty(op, county)
            return try await page(filter)
        }
        if op.role == .admin || op.counties.contains("*") { return try await page(filter) }
        guard op.counties.count == 1 else {
            throw FieldSyncError(
                .invalidRequest,
                "you cover several counties (\(op.counties.joined(separator: ", "))); name one with county=")
        }
        filter.county = op.counties[0]
        return try await page(filter)
    }

    private func page(_ filter: ReportFilter) async throws(FieldSyncError) -> ReportList {
        if filter.mediaMissing { return try await pageMissingMedia(filter) }
        var probe = filter
        probe.limit += 1
        var reports = try await store.reports(probe)
        let more = reports.count > filter.limit
        if more { reports.removeLast() }
        return ReportList(reports: reports, nextOffset: more ? filter.offset + filter.limit : nil)
    }

    /// Reports with an attached file the server does not hold: reports with media, a page at a
    /// time from `offset`, kept if a file is missing, until `limit` are found or 2,000 were looked
    /// at (`nextOffset` then says where to go on looking).
    private func pageMissingMedia(_ filter: ReportFilter) async throws(FieldSyncError) -> ReportList {
        var probe = filter
        probe.limit = 200
        var found: [Report] = []
        var looked = 0
        while looked < 2_000 {
            let batch = try await store.reports(probe)
            for (i, r) in batch.enumerated() {
                var missing = false
                for m in r.media where !missing { missing = try await blobs.blob(m.media.sha256) == nil }
                if missing { found.append(r) }
                if found.count == filter.limit {
                    let next = probe.offset + i + 1
                    return ReportList(reports: found, nextOffset: next)
                }
            }
            looked += batch.count
            if batch.count < probe.limit { return ReportList(reports: found, nextOffset: nil) }
            probe.offset += batch.count
        }
        return ReportList(reports: found, nextOffset: probe.offset)
    }

    /// One report with its history.
    public func report(_ id: String, by caller: Principal) async throws(FieldSyncError) -> ReportDetail {
        let op = try requireOperator(caller)
        let rid = try ReportID(validating: id)
        guard let report = try await store.report(rid), op.covers(report.county) else {
            throw FieldSyncError(.notFound, "no report \(rid) in your counties")
        }
        return ReportDetail(
            report: report, history: try await store.history(of: rid), media: try await mediaStatuses(report.media),
            catalogueIssues: try await catalogueIssues(of: report))
    }

    /// Conflict records an operator may see, filtered.
    public func conflicts(_ filter: ConflictFilter, by caller: Principal) async throws(FieldSyncError) -> ConflictList {
        let op = try requireOperator(caller)
        try Self.checkPage(limit: filter.limit, offset: filter.offset)
        var filter = filter
        if let county = filter.county {
            try requireCounty(op, county)
        } else if !(op.role == .admin || op.counties.contains("*")) {
            guard op.counties.count == 1 else {
                throw FieldSyncError(
                    .invalidRequest,
                    "you cover several counties (\(op.counties.joined(separator: ", "))); name one with county=")
            }
            filter.county = op.counties[0]
        }
        var probe = filter
        probe.limit += 1
        var list = try await store.conflicts(probe)
        let more = list.count > filter.limit
        if more { list.removeLast() }
        return ConflictList(conflicts: list, nextOffset: more ? filter.offset + filter.limit : nil)
    }

    /// One conflict record: open (`resolver` nil) or resolved by `resolver` (`device:seq`).
    public func conflict(
        report: String, field: String, resolver: String?, by caller: Principal
    ) async throws(FieldSyncError) -> Conflict {
        let op = try requireOperator(caller)
        let rid = try ReportID(validating: report)
        let id = resolver.map { "\(rid.rawValue)/\(field)/\($0)" } ?? "\(rid.rawValue)/\(field)"
        let found = try await store.conflicts(ConflictFilter(report: rid, limit: 1_000)).first { $0.id == id }
        guard let found, op.covers(found.county) else {
            throw FieldSyncError(.notFound, "no conflict \(id) in your counties")
        }
        return found
    }

    /// Resolves an open conflict by keeping a candidate's value or writing a new one. The
    /// resolution is a change authored and signed by the server; it syncs to every device.
    public func resolve(
        report: String, field: String, _ request: ResolveRequest, by caller: Principal,
        from address: String? = nil
    ) async throws(FieldSyncError) -> ResolveResponse {
        let op = try requireOperator(caller)
        let open = try await conflict(report: report, field: field, resolver: nil, by: caller)
        guard op.covers(open.county) else { throw FieldSyncError(.notFound, "no conflict \(open.id) in your counties") }
        let value: FieldValue
        switch (request.choose, request.value) {
        case (let choose?, nil):
            guard let candidate = open.candidates.first(where: { $0.dot.description == choose }) else {
                throw FieldSyncError(
                    .invalidRequest,
                    "'\(choose.prefix(80))' is not a candidate of \(open.id); choose one of \(open.candidates.map(\.dot.description).joined(separator: ", "))"
                )
            }
            value = candidate.value
        case (nil, let v?):
            value = v  // `null` included: the field cleared
        case (nil, nil):
            throw FieldSyncError(
                .invalidRequest,
                "send 'choose' (a candidate as device:seq) or 'value' (a new value, null to clear the field)")
        case (_?, _?):
            throw FieldSyncError(
                .invalidRequest, "send either 'choose' (a candidate as device:seq) or 'value' (a new value), not both")
        }
        let operation: ReportOperation
        if open.field == .lifecycle {
            switch value {
            case Lifecycle.withdrawn: operation = .withdraw(reason: "withdrawal confirmed by operator \(op.id)")
            case Lifecycle.active: operation = .restore
            default: throw FieldSyncError(.invalidRequest, "a lifecycle conflict resolves to 'active' or 'withdrawn'")
            }
        } else {
            operation = .set(field: open.field, value: value)
        }
        let key = try signer()
        // The change names the operator (a note in the report's history, synced to every device).
        let note = ReportOperation.appendNote(text: "conflict on \(open.field) resolved by operator \(op.id)")
        let change = try await store.write(
            [operation, note], to: open.report, county: open.county, wallMillis: now(), signer: { key.sign($0) })
        metrics.changesIngested.increment()
        metrics.conflictsResolved.increment()
        try await audit(
            .resolve, by: caller, from: address, county: open.county, subject: open.id,
            detail: "\(request.choose.map { "kept \($0)" } ?? "wrote a new value") with change \(change.dot)")
        let record = try await store.conflicts(ConflictFilter(report: open.report, limit: 1_000)).first {
            $0.resolution?.dot == change.dot
        }
        return ResolveResponse(change: change, conflict: record)
    }

    /// The refusals quarantine, of the operator's counties (admins: all, or one with `county`).
    public func refusals(_ filter: RefusalFilter, by caller: Principal) async throws(FieldSyncError) -> RefusalList {
        let op = try requireOperator(caller)
        try Self.checkPage(limit: filter.limit, offset: filter.offset)
        var filter = filter
        if let counties = filter.counties {
            for county in counties { try requireCounty(op, county) }
        } else if !(op.role == .admin || op.counties.contains("*")) {
            filter.counties = op.counties
        }
        var probe = filter
        probe.limit += 1
        var list = try await store.refusals(probe)
        let more = list.count > filter.limit
        if more { list.removeLast() }
        let summary = op.role == .admin ? try await store.refusalSummary() : nil
        return RefusalList(
            refusals: list, nextOffset: more ? filter.offset + filter.limit : nil,
            stored: summary?.stored, dropped: summary?.dropped)
    }
}
