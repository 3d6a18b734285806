public import FieldSyncCore
public import FieldSyncProtocol
import FieldSyncSigning
public import FieldSyncStore
import Foundation
import Prometheus

/// One sync round trip: verdicts on what was pushed, log positions, what to pull.
extension SyncService {
    /// One sync round trip for a device: push, log positions, pull. With `verdicts`, each pushed
    /// change is applied or refused on its own (`refused` lists the refusals); without, the first
    /// refusal refuses the whole push, as protocol v1.0 did.
    public func sync(_ request: SyncRequest, device: DeviceRecord) async throws(FieldSyncError) -> SyncResponse {
        let start = ContinuousClock.now
        defer { metrics.syncLatency.record(ContinuousClock.now - start) }
        // A cursor from another epoch (the database was restored since) starts over.
        let position = try SyncCursor.decode(request.cursor)
        let cursor = position.epoch == nil || position.epoch == epoch ? position.arrival : 0
        let limit = request.limit ?? configuration.maxPullChanges
        guard (0...configuration.maxPullChanges).contains(limit) else {
            throw FieldSyncError(.invalidRequest, "limit must be between 0 and \(configuration.maxPullChanges)")
        }
        guard (request.pending ?? 0) <= 1_000_000_000 else {
            throw FieldSyncError(.invalidRequest, "pending must be between 0 and 1,000,000,000")
        }
        let pushed = request.changes ?? []
        guard pushed.count <= configuration.maxPushChanges else {
            throw FieldSyncError(
                .tooManyChanges,
                "a sync may push at most \(configuration.maxPushChanges) changes; you sent \(pushed.count): send the rest in the next request"
            )
        }
        let offer = request.offer ?? [:]
        guard offer.count <= configuration.maxOfferedLogs else {
            throw FieldSyncError(.invalidRequest, "a sync may offer at most \(configuration.maxOfferedLogs) logs")
        }
        if let from = request.ownLogFrom, !(1...Self.maxSeq).contains(from) {
            throw FieldSyncError(.invalidRequest, "own_log_from must be between 1 and \(Self.maxSeq)")
        }
        let purgedAfter = try request.purgedAfter.map(Self.purgeMark)
        guard (request.certificatesOf?.count ?? 0) <= Self.maxCertificatesPerAnswer else {
            throw FieldSyncError(
                .invalidRequest, "certificates_of may name at most \(Self.maxCertificatesPerAnswer) devices")
        }
        if let held = request.catalogueVersion, !(0...Int(Int32.max)).contains(held) {
            throw FieldSyncError(.invalidRequest, "catalogue_version must be between 0 and 2147483647")
        }
        // A change that breaks the limits is malformed input, not a field situation: the whole
        // request is refused, as in v1.0 (devices check the limits when they write or take a change).
        for c in pushed { try ChangeLimits.standard.validate(c.change) }
        if let fork = request.fork { await record(fork, of: device) }

        var accepted: IngestSummary?
        var refused: [RefusedChange] = []
        if !pushed.isEmpty {
            (accepted, refused) = try await push(pushed, from: device, verdicts: request.verdicts == true)
        }
        let logs = try await logPositions(offer: offer, pushed: pushed, device: device)
        // A reused dot of the device's own log: the device was restored or cloned. Say so, with
        // how far the server holds its log, so that it recovers.
        refused = refused.map { v in
            v.code == .dotReuse && v.dot.device == device.id
                ? RefusedChange(dot: v.dot, error: .logForked(v.dot, held: logs[device.id.rawValue] ?? 0)) : v
        }
        var response = try await pull(after: cursor, limit: limit, request: request, device: device)
        if !pushed.isEmpty {
            // Changes this request sent are not sent straight back (the cursor moves past them); the
            // server's own copy of a dot it refused as reused is.
            var sent: [Dot: Change] = [:]
            for c in pushed { sent[c.change.dot] = c.change }
            response.changes.removeAll { sent[$0.change.dot] == $0.change }
        }
        response.accepted = accepted
        response.logs = logs
        response.refused = request.verdicts == true && !refused.isEmpty ? refused : nil
        response.serverTimeMillis = now()
        if let from = request.ownLogFrom {
            (response.ownLog, response.ownLogMore) = try await ownLog(of: device.id, from: from, limit: limit)
        }
        try await answerAsked(request, purgedAfter: purgedAfter, device: device, into: &response)
        return response
    }

    /// What a sync answers only when asked: the county's revocations (signed), the purges after
    /// the device's cursor, a newer service catalogue.
    private func answerAsked(
        _ request: SyncRequest, purgedAfter: PurgeMark??, device: DeviceRecord, into response: inout SyncResponse
    ) async throws(FieldSyncError) {
        if request.revocations == true {
            let list = Revocations(
                county: device.county,
                devices: try await store.devices(county: device.county)
                    .filter { $0.status == .revoked }.map(\.id), atMillis: now())
            response.revoked = list.devices.map(\.rawValue)
            response.revokedAtMillis = list.atMillis
            response.revokedSignature = try signer().sign(list).base64EncodedString()
            response.serverPublicKey = serverPublicKey.base64EncodedString()
        }
        if let purgedAfter {
            let notice = try await purges(after: purgedAfter, county: device.county)
            response.purgedMedia = notice.hashes.isEmpty ? nil : notice.hashes
            response.purgedCursor = notice.cursor
            response.purgedMore = notice.more ? true : nil
        }
        if let held = request.catalogueVersion {
            response.catalogue = try await catalogueUpdate(for: device, held: held)
        }
        if request.certificates == true || request.renewCertificate == true || request.certificatesOf != nil {
            let pulled = request.certificates == true ? response.changes.map(\.change.dot.device) : []
            let list = try await certificates(
                for: device, own: request.renewCertificate == true, authors: pulled + (request.certificatesOf ?? []))
            response.certificates = list.isEmpty ? nil : list.map(\.base64)
        }
    }

    /// Verifies and ingests a push; returns what it did and the refused changes.
    private func push(
        _ pushed: [SignedChange], from device: DeviceRecord,
        verdicts: Bool
    ) async throws(FieldSyncError) -> (IngestSummary, [RefusedChange]) {
        let preRefused = try await verify(pushed, from: device)
        if !verdicts, let first = pushed.first(where: { preRefused[$0.change.dot] != nil }) {
            metrics.refused([RefusedChange(dot: first.change.dot, error: preRefused[first.change.dot]!)])
            throw preRefused[first.change.dot]!
        }
        let r: IngestResult
        do {
            r = try await store.ingest(signed: pushed, preRefused: preRefused, atomic: !verdicts, via: device.id)
        } catch {
            if !verdicts, error.code != .storage {
                metrics.refused([RefusedChange(dot: pushed[0].change.dot, error: error)])
            }
            throw error
        }
        store.faults?.reach(.afterCommit)
        metrics.changesIngested.increment(by: Int64(r.applied))
        metrics.changesDuplicate.increment(by: Int64(r.duplicates))
        metrics.conflictsOpened.increment(by: Int64(r.conflictsOpened))
        metrics.conflictsResolved.increment(by: Int64(r.conflictsResolved))
        metrics.refused(r.refusals)
        let summary = IngestSummary(
            applied: r.applied, duplicates: r.duplicates, conflictsOpened: r.conflictsOpened,
            conflictsResolved: r.conflictsResolved, refused: verdicts ? r.refusals.count : nil)
        return (summary, r.refusals)
    }

    /// How far the server holds each offered or pushed log, and the caller's own.
    private func logPositions(
        offer: [String: UInt64], pushed: [SignedChange], device: DeviceRecord
    ) async throws(FieldSyncError) -> [String: UInt64] {
        var names = Set(offer.keys)
        for c in pushed { names.insert(c.change.dot.device.rawValue) }
        names.insert(device.id.rawValue)
        var ids: [DeviceID] = []
        for name in names {
            guard let id = DeviceID(rawValue: name) else {
                throw FieldSyncError(.invalidIdentifier, "offered log '\(name.prefix(64))' is not a valid device id")
            }
            ids.append(id)
        }
        ids = try await ofCounty(ids, device: device)
        var logs: [String: UInt64] = [:]
        for (id, seq) in try await store.highestSeqs(of: ids) { logs[id.rawValue] = seq }
        return logs
    }

    /// The logs among `ids` a device may learn about: its own, the server's, and those of devices
    /// of its county — nothing about other counties (unknown or foreign logs are left out).
    private func ofCounty(_ ids: [DeviceID], device: DeviceRecord) async throws(FieldSyncError) -> [DeviceID] {
        let others = ids.filter { $0 != device.id && $0 != serverID }
        var county = Set<DeviceID>()
        if others.count > 16 {
            county = Set(try await store.devices(county: device.county).map(\.id))
        } else {
            for id in others where try await store.device(id)?.county == device.county { county.insert(id) }
        }
        return ids.filter { $0 == device.id || $0 == serverID || county.contains($0) }
    }

    /// The page of changes after `cursor` for the device's county.
    private func pull(
        after cursor: Int64, limit: Int, request: SyncRequest, device: DeviceRecord
    ) async throws(FieldSyncError) -> SyncResponse {
        let excluding = request.includeOwn == true ? nil : device.id
        var cursor = cursor
        var page =
            limit == 0
            ? ChangePage(changes: [], cursor: cursor, hasMore: false)
            : try await store.changes(after: cursor, county: device.county, excludingDevice: excluding, limit: limit)
        if page.changes.isEmpty, cursor > 0, try await store.lastPosition() < cursor {
            // A cursor beyond anything this database has issued: it was restored from a backup
            // older than the device's last pull. Start over rather than skip what it numbers anew.
            cursor = 0
            page =
                limit == 0
                ? ChangePage(changes: [], cursor: 0, hasMore: true)
                : try await store.changes(after: 0, county: device.county, excludingDevice: excluding, limit: limit)
        }
        metrics.changesServed.increment(by: Int64(page.changes.count))
        if !page.changes.isEmpty { store.faults?.reach(.midPull) }
        return SyncResponse(
            accepted: nil, logs: [:], changes: page.changes.map(\.signed),
            cursor: SyncCursor.encode(page.cursor, epoch: epoch), more: page.hasMore)
    }

    /// The device's own log from `from`, at most `limit` (1,000 when 0), and whether more follows.
    private func ownLog(
        of device: DeviceID, from: UInt64, limit: Int
    ) async throws(FieldSyncError) -> ([SignedChange], Bool) {
        guard from >= 1, from <= Self.maxSeq else {
            throw FieldSyncError(.invalidRequest, "own_log_from must be between 1 and \(Self.maxSeq)")
        }
        let count = limit == 0 ? configuration.maxPullChanges : limit
        let held = try await store.highestSeq(of: device)
        guard held >= from else { return ([], false) }
        let last = min(held, from + UInt64(count) - 1)
        var result: [SignedChange] = []
        for seq in from...last {
            guard let c = try await store.storedChange(Dot(device: device, seq: seq)) else { break }
            result.append(SignedChange(change: c, signature: nil))
        }
        return (result, last < held)
    }

    /// Records, for operators, that a device found its log forked and moved its work.
    private func record(_ fork: ForkNotice, of device: DeviceRecord) async {
        guard fork.from >= 1, fork.from <= Self.maxSeq, fork.held <= Self.maxSeq,
            fork.local <= Self.maxSeq
        else { return }
        let message =
            "device \(device.id)'s log forked at seq \(fork.from): the server held 1–\(fork.held), the device had "
            + "1–\(fork.local) with other changes from \(fork.from) (restored from a backup, or its store copied to another phone). "
            + "The device took back the server's changes and moved its own above \(fork.held); nothing was lost. "
            + "If this repeats, two phones share this identity: enroll the copy as a new device."
        let verdict = RefusedChange(
            dot: Dot(device: device.id, seq: fork.from), error: FieldSyncError(.logForked, message))
        await store.recordRefusal(verdict, county: device.county, via: device.id)
    }

    /// Checks every pushed change — county, clock, author, and signature (its own, or a signed
    /// run's that covers it) — and returns those refused, each with its reason. A change without
    /// a signature is accepted only if the store holds it byte for byte; a change the store holds
    /// byte for byte is never refused here (it is a duplicate, whoever relays it, even after its
    /// author was revoked).
    func verify(
        _ changes: [SignedChange], from device: DeviceRecord
    ) async throws(FieldSyncError) -> [Dot: FieldSyncError] {
        var refused: [Dot: FieldSyncError] = [:]
        var authors: [DeviceID: Result<Data, FieldSyncError>] = [:]
        var inRequest: [Dot: Change] = [:]
        if changes.contains(where: { $0.run > 1 }) {
            for signed in changes { inRequest[signed.change.dot] = signed.change }
        }
        var covered = Set<Dot>()
        for signed in changes {
            let c = signed.change
            if let error = checkCountyAndClock(c, device: device) {
                refused[c.dot] = error
                continue
            }
            let key: Data
            switch try await author(c, authors: &authors) {
            case .failure(let error):
                refused[c.dot] = error
                continue
            case .success(let k): key = k
            }
            guard let signature = signed.signature else { continue }  // must be covered: checked below
            if signed.run <= 1 {
                if !ChangeSignature.isValid(signed, publicKey: key) { refused[c.dot] = Self.forged(c.dot) }
                continue
            }
            switch try await runMembers(signed, inRequest: inRequest) {
            case .failure(let error):
                refused[c.dot] = error
            case .success(let members):
                if members.count == signed.run,
                    ChangeSignature.isValidRun(members, signature: signature, publicKey: key)
                {
                    for m in members { covered.insert(m.dot) }
                } else {
                    refused[c.dot] = Self.forged(c.dot)
                }
            }
        }
        for signed in changes
        where signed.signature == nil && !covered.contains(signed.change.dot) && refused[signed.change.dot] == nil {
            refused[signed.change.dot] = FieldSyncError(
                .badSignature,
                "change \(signed.change.dot) carries no signature and no signed run in this request covers it; send changes exactly as their author signed them"
            )
        }
        for signed in changes where refused[signed.change.dot] != nil {
            if let held = try await store.storedChange(signed.change.dot), held == signed.change {
                refused[signed.change.dot] = nil
            }
        }
        return refused
    }

    private func checkCountyAndClock(_ c: Change, device: DeviceRecord) -> FieldSyncError? {
        guard c.county == device.county else {
            return FieldSyncError(
                .wrongCounty,
                "change \(c.dot) belongs to county '\(c.county.prefix(64))', but device \(device.id) syncs '\(device.county)'; a device may only push its own county's changes"
            )
        }
        guard c.hlc.millis <= now() &+ configuration.maxClockAheadMillis else {
            return FieldSyncError(
                .clockSkew,
                "change \(c.dot) is timestamped \(c.hlc.millis) ms, more than \(configuration.maxClockAheadMillis / 3_600_000) hours ahead of the server's clock (\(now()) ms); set the device's date and time and sync again: fieldsync corrects the timestamps of changes it has not pushed yet"
            )
        }
        guard c.hlc.millis >= configuration.minClockMillis else {
            return .clockTooOld(c, floorMillis: configuration.minClockMillis)
        }
        return nil
    }

    /// The public key of a change's author, or why its changes are refused.
    private func author(
        _ c: Change, authors: inout [DeviceID: Result<Data, FieldSyncError>]
    ) async throws(FieldSyncError) -> Result<Data, FieldSyncError> {
        if let known = authors[c.dot.device] { return known }
        let result: Result<Data, FieldSyncError>
        if c.dot.device == serverID {
            result = .success(serverPublicKey)
        } else if let author = try await store.device(c.dot.device), let k = author.publicKey {
            if author.status != .active {
                result = .failure(
                    FieldSyncError(
                        .deviceRevoked,
                        "change \(c.dot) is by \(c.dot.device), which has been revoked; its changes are no longer accepted (the device that relayed it is not affected: it sets the change aside)"
                    ))
            } else if author.county != c.county {
                result = .failure(
                    FieldSyncError(
                        .wrongCounty,
                        "change \(c.dot) is by \(c.dot.device), enrolled in '\(author.county)', but touches county '\(c.county.prefix(64))'"
                    ))
            } else {
                result = .success(k)
            }
        } else {
            result = .failure(
                FieldSyncError(
                    .unknownDevice,
                    "change \(c.dot) is by \(c.dot.device), which is not an enrolled device; only enrolled devices' changes are accepted"
                ))
        }
        // The county check above depends on the change: cache only what holds for every change.
        if case .failure(let e) = result, e.code == .wrongCounty { return result }
        authors[c.dot.device] = result
        return result
    }

    /// The members of a signed run: from this request or, already verified, from the store.
    private func runMembers(
        _ signed: SignedChange, inRequest: [Dot: Change]
    ) async throws(FieldSyncError) -> Result<[Change], FieldSyncError> {
        var members: [Change] = []
        for seq in signed.coveredSeqs {
            let dot = Dot(device: signed.change.dot.device, seq: seq)
            if let m = inRequest[dot] {
                members.append(m)
            } else if let m = try await store.storedChange(dot) {
                members.append(m)
            } else {
                return .failure(
                    FieldSyncError(
                        .badSignature,
                        "the run signed on change \(signed.change.dot) covers \(dot), which is neither in this request nor held by the server; send the whole run"
                    ))
            }
        }
        return .success(members)
    }

    /// The largest sequence number a request may name (stored as a signed 64-bit integer).
    static let maxSeq = UInt64(Int64.max)

    static func forged(_ dot: Dot) -> FieldSyncError {
        FieldSyncError(
            .badSignature,
            "change \(dot) does not carry a valid signature by \(dot.device); it was altered or forged. Send changes exactly as their author signed them"
        )
    }
}
