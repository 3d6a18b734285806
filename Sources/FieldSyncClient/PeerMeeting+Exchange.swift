import FieldSyncCore
import FieldSyncProtocol
import FieldSyncSigning
import FieldSyncStore
import Foundation
import Synchronization

extension PeerMeeting {
    /// Bytes of changes (before compression) after which a batch is sent even if not full.
    static let batchBytes = 1 << 20
    /// The most changes outside a batch that its run signatures may cover (a genuine batch
    /// reaches back at most a run per log it starts inside).
    static let maxRunMembersOutside = 10_000

    /// A batch being filled: the certificates its changes need that the peer has not had, then
    /// the changes.
    private struct Outbox {
        var me: DeviceID?
        var certificates: [SignedCertificate] = []
        var changes: [SignedChange] = []
        var bytes = 0
        var sent = 0
    }

    /// Sends, log by log, what the plans say the peer lacks, then `done`.
    func sendPlans(_ plans: [PeerRules.Plan], _ wire: Wire) async throws(FieldSyncError) {
        var box = Outbox(me: try await store.identity())
        var certified = Set<DeviceID>()
        if let me = box.me { certified.insert(me) }
        if let peer = DeviceID(rawValue: wire.outcome.withLock { $0.peer }) { certified.insert(peer) }
        for plan in plans {
            if !certified.contains(plan.device) {
                // Changes whose author this device cannot vouch for would be refused: they wait
                // for the server.
                guard let c = try await PeerCertificates.certificate(of: plan.device, in: store) else { continue }
                if box.certificates.count == PeerMessage.maxCertificates { try await flush(&box, wire) }
                box.certificates.append(c)
                certified.insert(plan.device)
            }
            for seq in plan.missing {
                try await add(try await run(of: plan.device, from: seq, me: box.me), to: &box, wire)
            }
            var cursor = plan.everythingBelow == nil ? plan.after : 0
            while true {
                let page = try await pageOfLog(plan.device, after: cursor, me: box.me)
                guard let last = page.last else { break }
                for unit in units(page, me: box.me) { try await add(unit, to: &box, wire) }
                cursor = last.change.dot.seq
            }
        }
        try await flush(&box, wire)
        try await wire.send(.done(count: UInt64(box.sent)))
    }

    /// Up to a batch of a log's changes after `seq`, never ending inside a signed run (a run's
    /// members travel with the change that carries its signature).
    private func pageOfLog(
        _ device: DeviceID, after seq: UInt64, me: DeviceID?
    ) async throws(FieldSyncError) -> [SignedChange] {
        var page = try await store.signedLog(of: device, after: seq, limit: batchSize)
        while page.count >= batchSize, let last = page.last, last.signature == nil, device != me {
            let more = try await store.signedLog(of: device, after: last.change.dot.seq, limit: 1_000)
            guard let end = more.firstIndex(where: { $0.signature != nil }) else {
                page += more
                break
            }
            page += more[...end]
        }
        return page
    }

    /// A page cut into what must travel in one batch: a signed run's members with the change
    /// that carries its signature; any other change alone (this device's own unsigned changes
    /// are signed when their batch is sent).
    private func units(_ page: [SignedChange], me: DeviceID?) -> [[SignedChange]] {
        var units: [[SignedChange]] = []
        var open: [SignedChange] = []
        for s in page {
            open.append(s)
            if s.signature != nil || s.change.dot.device == me || open.count == PeerMessage.maxBatchChanges {
                units.append(open)
                open = []
            }
        }
        if !open.isEmpty { units.append(open) }
        return units
    }

    /// The change at `seq` and, when a run's signature covers it, the run up to that signature.
    private func run(
        of device: DeviceID, from seq: UInt64, me: DeviceID?
    ) async throws(FieldSyncError) -> [SignedChange] {
        guard seq >= 1 else { return [] }
        let page = try await store.signedLog(of: device, after: seq - 1, limit: 1_000)
        guard page.first?.change.dot.seq == seq else { return [] }
        guard device != me, let end = page.firstIndex(where: { $0.signature != nil }) else {
            return Array(page.prefix(1))
        }
        return Array(page[...end])
    }

    /// Adds a unit, sending the batch first if the unit would take it past its count or bytes.
    private func add(_ unit: [SignedChange], to box: inout Outbox, _ wire: Wire) async throws(FieldSyncError) {
        guard !unit.isEmpty else { return }
        let bytes = unit.reduce(0) { $0 + ChangeCodec.encode($1.change).count + 72 }
        if !box.changes.isEmpty,
            box.changes.count + unit.count > batchSize || box.bytes + bytes > Self.batchBytes
        {
            try await flush(&box, wire)
        }
        box.changes += unit
        box.bytes += bytes
    }

    private func flush(_ box: inout Outbox, _ wire: Wire) async throws(FieldSyncError) {
        if !box.certificates.isEmpty { try await wire.send(.certificates(box.certificates)) }
        if !box.changes.isEmpty { try await wire.send(.changes(sealed(box.changes, me: box.me))) }
        box.sent += box.changes.count
        let sent = box.sent
        box = Outbox(me: box.me, sent: sent)
        let outcome = wire.outcome.withLock {
            $0.sent = sent
            return $0
        }
        progress?(outcome)
    }

    /// This device's own changes in a batch, with one signature per run (as to the server) and a
    /// signature of its own for a lone change that had none.
    private func sealed(_ batch: [SignedChange], me: DeviceID?) -> [SignedChange] {
        guard let me else { return batch }
        let key = self.key
        return SignedChange.sealingRuns(batch, author: me, sign: { key.signRun($0) }).map { s in
            s.change.dot.device == me && s.signature == nil && s.run <= 1 && !coveredBySeal(s, in: batch, me: me)
                ? key.signed(s.change) : s
        }
    }

    /// Whether `sealingRuns` left `s` unsigned because a run signature on a later own change covers it.
    private func coveredBySeal(_ s: SignedChange, in batch: [SignedChange], me: DeviceID) -> Bool {
        batch.contains { $0.change.dot.device == me && $0.change.dot.seq == s.change.dot.seq + 1 }
    }

    /// Takes the peer's certificates and batches until its `done`: each batch is judged whole
    /// before anything of it is stored; a forged change ends the meeting with its batch unstored.
    func take(from peer: SignedCertificate, judge: PeerRules.Judge, _ wire: Wire) async throws(FieldSyncError) {
        var keys: [DeviceID: Data] = [peer.certificate.device: peer.certificate.publicKey, judge.me: key.publicKey]
        var certificates: [DeviceID: SignedCertificate] = [peer.certificate.device: peer]
        while true {
            switch try await wire.receive(expecting: "changes") {
            case .certificates(let list):
                guard certificates.count + list.count <= Self.maxSummaryLogs else {
                    throw FieldSyncError(
                        .invalidRequest,
                        "the peer forwarded more than \(Self.maxSummaryLogs) certificates in one meeting")
                }
                for c in list {
                    guard CertificateSignature.isValid(c, serverKey: judge.serverKey) else {
                        throw FieldSyncError(
                            .certificateInvalid,
                            "the peer forwarded a certificate for \(c.certificate.device) that the server did not sign")
                    }
                    guard c.certificate.county == judge.county else { continue }
                    keys[c.certificate.device] = c.certificate.publicKey
                    certificates[c.certificate.device] = c
                }
            case .changes(let batch):
                try await take(batch, keys: keys, certificates: certificates, judge: judge, wire)
            case .mediaWant(let hashes):
                wire.theirWants.withLock { $0 = hashes }
            case .done: return
            default: throw Wire.unexpected("changes")
            }
        }
    }

    private func take(
        _ batch: [SignedChange], keys: [DeviceID: Data], certificates: [DeviceID: SignedCertificate],
        judge: PeerRules.Judge, _ wire: Wire
    ) async throws(FieldSyncError) {
        var wellFormed: [SignedChange] = []
        var leftOut = 0
        for s in batch {
            if (try? ChangeLimits.standard.validate(s.change)) != nil { wellFormed.append(s) } else { leftOut += 1 }
        }
        let outside = PeerRules.runMembersOutside(wellFormed)
        guard outside.count <= Self.maxRunMembersOutside else {
            throw FieldSyncError(
                .malformed,
                "the peer's batch signs runs reaching \(outside.count) changes back; nothing of it was stored")
        }
        var held: [Dot: Change] = [:]
        for dot in outside.union(wellFormed.map(\.change.dot)) {
            if let c = try await store.storedChange(dot) { held[dot] = c }
        }
        let verdicts = PeerRules.verify(wellFormed, keys: keys, held: held, judge: judge)
        if let forged = verdicts.forged { throw forged }
        let result = try await store.ingest(signed: verdicts.genuine, preRefused: [:], atomic: false, via: nil)
        let authors = Set(verdicts.genuine.map(\.change.dot.device))
        try await PeerCertificates.keep(
            authors.compactMap { certificates[$0] }, in: store, serverKey: judge.serverKey)
        let outcome = wire.outcome.withLock {
            $0.received += batch.count
            $0.applied += result.applied
            $0.duplicates += result.duplicates
            $0.conflictsOpened += result.conflictsOpened
            $0.leftOut += leftOut + verdicts.unverified.count + result.refusals.count
            return $0
        }
        progress?(outcome)
    }
}
