import FieldSyncCore
import FieldSyncScenario
import FieldSyncStore
import Foundation
import PropertyBased
import Testing
import FieldSyncTestSupport

/// Every storage behaviour the daemon relies on, written once and run against each engine
/// (SQLite and PostgreSQL). A behaviour that differs between them is a failure here unless it
/// is documented in docs/operations.md.
@Suite(.serialized) struct ServerStoreConformanceTests {
    /// A small causal workload: shared reports, then three devices' interleaved logs.
    static func workload(seed: UInt64 = 7) -> [Change] {
        CrashWorkload.batches(seed: seed, devices: 3, edits: 60, batchSize: 10_000)[0]
    }

    static func signed(_ changes: [Change]) -> [SignedChange] {
        changes.map { SignedChange(change: $0, signature: nil) }
    }

    @Test(arguments: StoreKind.available)
    func ingestThenReopenKeepsEverything(kind: StoreKind) async throws {
        let s = try await StoreUnderTest.open(kind)
        let changes = Self.workload()
        var replica = Replica()
        try replica.receive(changes)
        let r = try await s.store.ingest(signed: Self.signed(changes))
        #expect(r.applied == changes.count)
        #expect(r.duplicates == 0)
        #expect(r.conflictsOpened > 0)
        #expect(try await s.store.canonicalState() == replica.canonicalState())
        let reopened = try await s.reopen()
        #expect(try await reopened.changeCount() == changes.count)
        #expect(try await reopened.canonicalState() == replica.canonicalState())
        #expect(try await reopened.conflicts(ConflictFilter(open: true)).count == replica.openConflicts.count)
        #expect(replica.openConflicts.count > 0, "the workload should produce conflicts")
        let v = try await reopened.verification()
        #expect(v.integrity == ["ok"])
        #expect(v.duplicateDots == 0)
        #expect(v.changes == changes.count)
        await reopened.close()
        await s.finish()
    }

    @Test(arguments: StoreKind.available)
    func reIngestIsIdempotent(kind: StoreKind) async throws {
        let s = try await StoreUnderTest.open(kind)
        let changes = Self.workload()
        _ = try await s.store.ingest(signed: Self.signed(changes))
        let state = try await s.store.canonicalState()
        let again = try await s.store.ingest(signed: Self.signed(changes.shuffled()))
        #expect(again.applied == 0)
        #expect(again.duplicates == changes.count)
        #expect(try await s.store.canonicalState() == state)
        #expect(try await s.store.changeCount() == changes.count)
        await s.finish()
    }

    @Test(arguments: StoreKind.available)
    func aReusedDotIsRefusedLoggedAndChangesNothing(kind: StoreKind) async throws {
        let s = try await StoreUnderTest.open(kind)
        let changes = Self.workload()
        _ = try await s.store.ingest(signed: Self.signed(changes))
        let before = try await s.store.canonicalState()
        var forged = changes.last!
        forged.ops = [.appendNote(text: "written again after a restore from backup")]
        do {
            _ = try await s.store.ingest(signed: Self.signed([forged]))
            Issue.record("a reused dot was accepted")
        } catch {
            #expect(error.code == .dotReuse)
        }
        // The same dot for another report: refused too.
        var elsewhere = try #require(changes.first { $0.isCreate && $0.dot.device == forged.dot.device })
        elsewhere.report = ReportID(rawValue: "r-elsewhere")!
        do {
            _ = try await s.store.ingest(signed: Self.signed([elsewhere]))
            Issue.record("a dot reused for another report was accepted")
        } catch {
            #expect(error.code == .dotReuse)
        }
        #expect(try await s.store.canonicalState() == before)
        #expect(try await s.store.changeCount() == changes.count)
        let refusals = try await s.store.refusals(limit: 10)
        #expect(refusals.map(\.dot).contains(forged.dot))
        #expect(refusals.first?.code == "dot_reuse")
        await s.finish()
    }

    @Test(arguments: StoreKind.available)
    func aBatchWithOneBadChangeLandsNotAtAll(kind: StoreKind) async throws {
        let s = try await StoreUnderTest.open(kind)
        let changes = Self.workload()
        _ = try await s.store.ingest(signed: Self.signed(Array(changes.prefix(50))))
        let before = try await s.store.canonicalState()
        var bad = try #require(changes.prefix(50).last { !$0.isCreate })
        bad.ops = [.appendNote(text: "conflicting content")]
        do {
            _ = try await s.store.ingest(signed: Self.signed(Array(changes[50..<80]) + [bad]))
            Issue.record("a batch containing a reused dot was accepted")
        } catch {
            #expect(error.code == .dotReuse)
        }
        #expect(try await s.store.canonicalState() == before)
        #expect(try await s.store.changeCount() == 50)
        #expect(try await s.store.changes(after: 0, county: nil, limit: 1_000).changes.count == 50)
        await s.finish()
    }

    @Test(arguments: StoreKind.available)
    func gapsAndMissingDependenciesAreRefusedWithTheirReason(kind: StoreKind) async throws {
        let s = try await StoreUnderTest.open(kind)
        let changes = Self.workload()
        let device = DeviceID(rawValue: "dev-0001")!
        let own = changes.filter { $0.dot.device == device }
        do {
            _ = try await s.store.ingest(signed: Self.signed([own[1]]))
            Issue.record("accepted a gap")
        } catch {
            #expect(error.code == .sequenceGap)
            #expect(error.message.contains("held up to seq 0"))
        }
        var a = LocalDevice(id: DeviceID(rawValue: "a")!), b = LocalDevice(id: DeviceID(rawValue: "b")!)
        var replica = Replica()
        _ = try replica.write([.create(county: "c")], to: ReportID(rawValue: "r1")!, county: "c", as: &a, wallMillis: 1)
        let edit = try replica.write(
            [.set(field: .description, value: "x")], to: ReportID(rawValue: "r1")!, county: "c", as: &b, wallMillis: 2)
        do {
            _ = try await s.store.ingest(signed: Self.signed([edit]))
            Issue.record("accepted a change without its report")
        } catch {
            #expect(error.code == .missingDependency)
        }
        #expect(try await s.store.changeCount() == 0)
        #expect(try await s.store.highestSeq(of: device) == 0)
        await s.finish()
    }

    @Test(arguments: StoreKind.available)
    func aBatchInAnyOrderIsAppliedInCausalOrder(kind: StoreKind) async throws {
        let s = try await StoreUnderTest.open(kind)
        let changes = Self.workload()
        var rng = SplitMix64(seed: 3)
        let r = try await s.store.ingest(signed: Self.signed(changes.shuffled(using: &rng)))
        #expect(r.applied == changes.count)
        var replica = Replica()
        try replica.receive(changes)
        #expect(try await s.store.canonicalState() == replica.canonicalState())
        // The pull order is causal within each report: replaying it in order applies cleanly.
        let page = try await s.store.changes(after: 0, county: nil, limit: 10_000)
        var again = Replica()
        for e in page.changes {
            guard case .applied = try again.receive(e.change) else {
                Issue.record("\(e.change.dot) pulled before a change it depends on"); break
            }
        }
        #expect(again.canonicalState() == replica.canonicalState())
        await s.finish()
    }

    @Test(arguments: StoreKind.available)
    func pullsFollowArrivalOrderCountyScopeAndExclusion(kind: StoreKind) async throws {
        let s = try await StoreUnderTest.open(kind)
        var a = LocalDevice(id: DeviceID(rawValue: "a")!), b = LocalDevice(id: DeviceID(rawValue: "b")!)
        var replica = Replica()
        var all: [Change] = []
        for (i, county) in ["nairobi", "kisumu", "nairobi", "mombasa", "nairobi", "nairobi"].enumerated() {
            let id = ReportID(rawValue: "r\(i)")!
            if i == 5 {
                all.append(
                    try replica.write([.create(county: county)], to: id, county: county, as: &b, wallMillis: UInt64(i)))
            } else {
                all.append(
                    try replica.write([.create(county: county)], to: id, county: county, as: &a, wallMillis: UInt64(i)))
            }
        }
        for c in all { _ = try await s.store.ingest(signed: Self.signed([c])) }
        let page1 = try await s.store.changes(after: 0, county: "nairobi", limit: 2)
        #expect(page1.changes.map(\.change.report.rawValue) == ["r0", "r2"])
        #expect(page1.hasMore)
        let page2 = try await s.store.changes(after: page1.cursor, county: "nairobi", limit: 2)
        #expect(page2.changes.map(\.change.report.rawValue) == ["r4", "r5"])
        #expect(!page2.hasMore)
        let none = try await s.store.changes(after: page2.cursor, county: "nairobi", limit: 2)
        #expect(none.changes.isEmpty)
        #expect(none.cursor == page2.cursor)
        let others = try await s.store.changes(after: 0, county: "nairobi", excludingDevice: a.id, limit: 10)
        #expect(others.changes.map(\.change.report.rawValue) == ["r5"])
        let everything = try await s.store.changes(after: 0, county: nil, limit: 100)
        #expect(everything.changes.map(\.change) == all)
        #expect(everything.changes.map(\.arrival) == Array(1...6))
        await s.finish()
    }

    /// Regression: pages that leave out the caller's own changes must still say when more follow.
    @Test(arguments: StoreKind.available)
    func pagesExcludingADeviceNeverStopEarly(kind: StoreKind) async throws {
        let s = try await StoreUnderTest.open(kind)
        var mine = LocalDevice(id: DeviceID(rawValue: "me")!), theirs = LocalDevice(id: DeviceID(rawValue: "them")!)
        var replica = Replica()
        var all: [Change] = []
        for i in 0..<60 {
            // Runs of own changes between others', longer than a page.
            let id = ReportID(rawValue: "r\(i)")!
            if (i / 7) % 2 == 0 {
                all.append(
                    try replica.write([.create(county: "c")], to: id, county: "c", as: &mine, wallMillis: UInt64(i)))
            } else {
                all.append(
                    try replica.write([.create(county: "c")], to: id, county: "c", as: &theirs, wallMillis: UInt64(i)))
            }
        }
        _ = try await s.store.ingest(signed: Self.signed(all))
        var cursor: Int64 = 0
        var seen: [Change] = []
        while true {
            let page = try await s.store.changes(after: cursor, county: "c", excludingDevice: mine.id, limit: 5)
            seen += page.changes.map(\.change)
            cursor = page.cursor
            if !page.hasMore { break }
        }
        #expect(seen == all.filter { $0.dot.device != mine.id })
        await s.finish()
    }

    @Test(arguments: StoreKind.available)
    func signaturesAndSignedRunsAreKeptAndServed(kind: StoreKind) async throws {
        let s = try await StoreUnderTest.open(kind)
        var a = LocalDevice(id: DeviceID(rawValue: "a")!)
        var replica = Replica()
        let id = ReportID(rawValue: "r1")!
        let c1 = try replica.write([.create(county: "c")], to: id, county: "c", as: &a, wallMillis: 1)
        let c2 = try replica.write([.set(field: .description, value: "x")], to: id, county: "c", as: &a, wallMillis: 2)
        let c3 = try replica.write([.set(field: .description, value: "y")], to: id, county: "c", as: &a, wallMillis: 3)
        let sig1 = Data(repeating: 1, count: 64), sigRun = Data(repeating: 2, count: 64)
        _ = try await s.store.ingest(signed: [
            SignedChange(change: c1, signature: sig1), SignedChange(change: c2, signature: nil),
            SignedChange(change: c3, signature: sigRun, run: 2),
        ])
        let page = try await s.store.changes(after: 0, county: "c", limit: 10)
        #expect(page.changes.map(\.signature) == [sig1, nil, sigRun])
        #expect(page.changes.map(\.run) == [1, 1, 2])
        #expect(try await s.store.storedChange(c2.dot) == c2)
        #expect(try await s.store.storedChange(Dot(device: a.id, seq: 9)) == nil)
        #expect(try await s.store.logHeads() == [a.id: 3])
        await s.finish()
    }

    @Test(arguments: StoreKind.available)
    func reportQueriesFilterAndShowHistory(kind: StoreKind) async throws {
        let s = try await StoreUnderTest.open(kind)
        try await s.store.setIdentity(DeviceID(rawValue: "desk")!)
        let r1 = ReportID(rawValue: "r1")!, r2 = ReportID(rawValue: "r2")!
        _ = try await s.store.write(
            [
                .create(county: "nairobi"), .set(field: .serviceCode, value: "pothole"),
                .set(field: .status, value: "open"),
                .set(field: .description, value: "Deep Pothole on Moi Avenue"),
            ], to: r1, county: "nairobi", wallMillis: 1, signer: { _ in nil })
        _ = try await s.store.write(
            [
                .create(county: "nairobi"), .set(field: .serviceCode, value: "streetlight"),
                .set(field: .status, value: "closed"),
            ],
            to: r2, county: "nairobi", wallMillis: 2, signer: { _ in nil })
        _ = try await s.store.write(
            [.appendNote(text: "bulb replaced"), .addTag("night")], to: r2, county: "nairobi", wallMillis: 3,
            signer: { _ in nil })
        _ = try await s.store.write(
            [.withdraw(reason: "test")], to: r1, county: "nairobi", wallMillis: 4, signer: { _ in nil })
        #expect(try await s.store.reports(ReportFilter(status: "closed")).map(\.id) == [r2])
        #expect(try await s.store.reports(ReportFilter(serviceCode: "pothole")).map(\.id) == [r1])
        #expect(try await s.store.reports(ReportFilter(lifecycle: "withdrawn")).map(\.id) == [r1])
        #expect(try await s.store.reports(ReportFilter(county: "kisumu")).isEmpty)
        #expect(try await s.store.reports(ReportFilter(text: "moi avenue")).map(\.id) == [r1])
        #expect(try await s.store.reports(ReportFilter(text: "NIGHT")).map(\.id) == [r2])
        #expect(try await s.store.reports(ReportFilter(limit: 1)).map(\.id) == [r1])  // most recently updated first
        #expect(try await s.store.reports(ReportFilter(limit: 1, offset: 1)).map(\.id) == [r2])
        #expect(
            try await s.store.reports(ReportFilter(updatedSince: HybridTimestamp(millis: 4, counter: 0))).map(\.id) == [
                r1
            ])
        #expect(try await s.store.report(r2)?.notes.map(\.text) == ["bulb replaced"])
        #expect(try await s.store.history(of: r2).map(\.dot.seq) == [2, 3])
        do {
            try await s.store.setIdentity(DeviceID(rawValue: "someone-else")!)
            Issue.record("a store changed owner")
        } catch {
            #expect(error.code == .invalidIdentifier)
        }
        await s.finish()
    }

    @Test(arguments: StoreKind.available)
    func conflictsOpenAndAreResolvedByTheServersWrite(kind: StoreKind) async throws {
        let s = try await StoreUnderTest.open(kind)
        let changes = Self.workload()
        _ = try await s.store.ingest(signed: Self.signed(changes))
        try await s.store.setIdentity(DeviceID(rawValue: "server")!)
        let open = try await s.store.conflicts(ConflictFilter(open: true, limit: 1_000))
        let target = try #require(open.first { $0.field != .lifecycle })
        let byReport = try await s.store.conflicts(ConflictFilter(report: target.report, limit: 100))
        #expect(byReport.contains(target))
        let change = try await s.store.write(
            [.set(field: target.field, value: target.candidates[0].value)], to: target.report, county: target.county,
            wallMillis: 10_000_000, signer: { _ in Data(repeating: 7, count: 64) })
        #expect(change.resolves[target.field] != nil)
        let after = try await s.store.conflicts(ConflictFilter(report: target.report, limit: 100))
        #expect(!after.contains { $0.id == target.id && $0.isOpen })
        let resolved = try #require(after.first { $0.resolution?.dot == change.dot })
        #expect(resolved.resolution?.chosen == target.candidates[0].dot)
        // The same resolution through the in-memory replica gives the same state.
        var replica = Replica()
        try replica.receive(changes + [change])
        #expect(try await s.store.canonicalState() == replica.canonicalState())
        #expect(
            try await s.store.canonicalState(county: "no-such-county")
                == MergedState(reports: [], open: [], resolved: []).canonicalJSON())
        await s.finish()
    }

    @Test(arguments: StoreKind.available)
    func theAuditLogIsAppendOnlyAndFiltered(kind: StoreKind) async throws {
        let s = try await StoreUnderTest.open(kind)
        let store = s.store
        func entry(_ at: UInt64, _ action: AuditAction, _ county: String?, actor: String = "op-1") -> AuditEntry {
            AuditEntry(
                atMillis: at, actor: actor, role: "admin", address: "10.0.0.1", action: action, county: county,
                subject: "tab-\(at)", detail: "d\(at)")
        }
        let first = try await store.appendAudit(entry(1, .enroll, "kisumu"))
        let second = try await store.appendAudit(entry(2, .createOperator, nil))
        try await store.appendAudit(entry(3, .revokeDevice, "nairobi", actor: "op-2"))
        #expect(second.id > first.id && first.id > 0)
        var all = first
        all.id = first.id
        #expect(try await store.audit(AuditFilter()).map(\.atMillis) == [3, 2, 1], "newest first")
        #expect(try await store.audit(AuditFilter()).last == first, "what was appended is read back")
        #expect(try await store.audit(AuditFilter(counties: ["kisumu"])).map(\.atMillis) == [2, 1])
        #expect(try await store.audit(AuditFilter(counties: ["kisumu"], includeGlobal: false)).map(\.atMillis) == [1])
        #expect(try await store.audit(AuditFilter(action: .revokeDevice)).map(\.atMillis) == [3])
        #expect(try await store.audit(AuditFilter(actor: "op-2")).map(\.atMillis) == [3])
        #expect(try await store.audit(AuditFilter(sinceMillis: 2)).map(\.atMillis) == [3, 2])
        #expect(try await store.audit(AuditFilter(limit: 1, offset: 1)).map(\.atMillis) == [2])
        await s.finish()
    }

    @Test(arguments: StoreKind.available)
    func deviceHealthKeepsTheLastSuccessAndFailure(kind: StoreKind) async throws {
        let s = try await StoreUnderTest.open(kind)
        let tab = DeviceID(rawValue: "tab-1")!, other = DeviceID(rawValue: "tab-2")!
        try await s.store.recordDeviceSync(tab, atMillis: 100, error: nil, client: "app/1", pending: 12)
        try await s.store.recordDeviceSync(tab, atMillis: 200, error: "bad_signature", client: nil, pending: nil)
        try await s.store.recordDeviceSync(other, atMillis: 300, error: "timeout", client: "app/2", pending: nil)
        var health = try await s.store.deviceHealth()
        #expect(
            health[tab]
                == DeviceHealth(
                    lastSyncMillis: 100, lastError: "bad_signature", lastErrorMillis: 200, client: "app/1",
                    pending: 12), "a sync that does not say its backlog keeps the last one")
        #expect(
            health[other]
                == DeviceHealth(lastSyncMillis: nil, lastError: "timeout", lastErrorMillis: 300, client: "app/2"))
        try await s.store.recordDeviceSync(tab, atMillis: 400, error: nil, client: "app/3", pending: 0)
        health = try await s.store.deviceHealth()
        #expect(
            health[tab] == DeviceHealth(lastSyncMillis: 400, client: "app/3", pending: 0),
            "a success clears the failure")
        await s.finish()
    }

    @Test(arguments: StoreKind.available)
    func enrollmentTokensAndOperators(kind: StoreKind) async throws {
        let s = try await StoreUnderTest.open(kind)
        let store = s.store
        let tab = DeviceID(rawValue: "tab-1")!
        try await store.createEnrollment(
            tokenHash: Data("e1".utf8), device: tab, county: "kisumu", expiresMillis: 1_000, nowMillis: 10)
        #expect(try await store.device(tab)?.status == .enrolling)
        do {
            _ = try await store.completeEnrollment(
                tokenHash: Data("e1".utf8), publicKey: Data(repeating: 3, count: 32), bearerHash: Data("b1".utf8),
                nowMillis: 2_000)
            Issue.record("an expired token was accepted")
        } catch { #expect(error.code == .invalidEnrollment) }
        let d = try await store.completeEnrollment(
            tokenHash: Data("e1".utf8), publicKey: Data(repeating: 3, count: 32), bearerHash: Data("b1".utf8),
            nowMillis: 500)
        #expect(
            d == DeviceRecord(id: tab, county: "kisumu", publicKey: Data(repeating: 3, count: 32), status: .active))
        do {
            _ = try await store.completeEnrollment(
                tokenHash: Data("e1".utf8), publicKey: Data(repeating: 4, count: 32), bearerHash: Data("b2".utf8),
                nowMillis: 600)
            Issue.record("a token was used twice")
        } catch { #expect(error.code == .invalidEnrollment) }
        do {
            try await store.createEnrollment(
                tokenHash: Data("e2".utf8), device: tab, county: "kisumu", expiresMillis: 1_000, nowMillis: 10)
            Issue.record("an enrolled device was enrolled again")
        } catch { #expect(error.code == .invalidEnrollment) }
        do {
            _ = try await store.completeEnrollment(
                tokenHash: Data("nope".utf8), publicKey: Data(repeating: 4, count: 32), bearerHash: Data("b3".utf8),
                nowMillis: 600)
            Issue.record("an unknown token was accepted")
        } catch { #expect(error.code == .invalidEnrollment) }
        #expect(try await store.device(tokenHash: Data("b1".utf8))?.id == tab)
        #expect(try await store.device(tokenHash: Data("b2".utf8)) == nil)
        // One pending enrollment per device id: a second (another county) replaces the first token.
        try await store.createEnrollment(
            tokenHash: Data("e4".utf8), device: DeviceID(rawValue: "tab-2")!, county: "kisumu", expiresMillis: 1_000,
            nowMillis: 10)
        try await store.createEnrollment(
            tokenHash: Data("e3".utf8), device: DeviceID(rawValue: "tab-2")!, county: "nairobi", expiresMillis: 1_000,
            nowMillis: 10)
        do {
            _ = try await store.completeEnrollment(
                tokenHash: Data("e4".utf8), publicKey: Data(repeating: 5, count: 32), bearerHash: Data("b4".utf8),
                nowMillis: 20)
            Issue.record("a replaced enrollment token was accepted")
        } catch { #expect(error.code == .invalidEnrollment) }
        #expect(try await store.devices(county: nil).map(\.id.rawValue) == ["tab-1", "tab-2"])
        #expect(try await store.devices(county: "nairobi").map(\.id.rawValue) == ["tab-2"])
        #expect(try await store.revokeDevice(tab, nowMillis: 700))
        #expect(try await store.device(tokenHash: Data("b1".utf8))?.status == .revoked)
        #expect(try await store.revokeDevice(DeviceID(rawValue: "ghost")!, nowMillis: 700) == false)

        let op = OperatorRecord(
            id: "op-1", name: "Achieng", role: .operator, counties: ["kisumu", "siaya"], revoked: false)
        try await store.createOperator(op, tokenHash: Data("o1".utf8), nowMillis: 1)
        #expect(try await store.operatorRecord(tokenHash: Data("o1".utf8)) == op)
        #expect(try await store.operatorRecord(tokenHash: Data("o2".utf8)) == nil)
        // Tokens with an expiry, listing and revocation (the time of the first revocation is kept).
        let admin = OperatorRecord(
            id: "op-0", name: "Desk", role: .admin, counties: ["*"], revoked: false, expiresMillis: 9_000)
        try await store.createOperator(admin, tokenHash: Data("a1".utf8), nowMillis: 2)
        #expect(try await store.operatorRecord(tokenHash: Data("a1".utf8)) == admin)
        #expect(try await store.operators() == [admin, op])
        var revoked = op
        revoked.revoked = true
        #expect(try await store.revokeOperator("op-1", nowMillis: 50) == revoked)
        #expect(try await store.revokeOperator("op-1", nowMillis: 60) == revoked)
        #expect(try await store.operatorRecord(tokenHash: Data("o1".utf8))?.revoked == true)
        #expect(try await store.revokeOperator("op-ghost", nowMillis: 60) == nil)

        let key = try await store.initServerIdentity("signing_key", Data([1, 2, 3]))
        #expect(key == Data([1, 2, 3]))
        #expect(
            try await store.initServerIdentity("signing_key", Data([9])) == Data([1, 2, 3]),
            "a second daemon must get the first key")
        await s.finish()
    }
}

/// The store and the in-memory replica agree on random histories, on each engine.
@Suite(.serialized) struct ServerStoreMatchesReplicaPropertyTests {
    @Test(arguments: StoreKind.available)
    func storeStateEqualsReplicaStateForRandomBatches(kind: StoreKind) async throws {
        await propertyCheck(count: kind == .sqlite ? 60 : 30, input: Gen.uint64(in: 0 ... .max)) { seed in
            let schedule = RandomSchedule(seed: seed)
            var run = schedule.run()
            schedule.exchangeAll(&run)
            var rng = SplitMix64(seed: seed)
            guard let s = try? await StoreUnderTest.open(kind) else { Issue.record("open failed"); return }
            // Cut the causal writing order into random batches, shuffle each, re-send some.
            var i = 0
            while i < run.changes.count {
                let n = Int.random(in: 1...20, using: &rng)
                var batch = Array(run.changes[i..<min(i + n, run.changes.count)])
                batch.shuffle(using: &rng)
                do { _ = try await s.store.ingest(signed: ServerStoreConformanceTests.signed(batch)) } catch {
                    Issue.record("seed \(seed): \(error)")
                }
                if rng.chance(0.3) { _ = try? await s.store.ingest(signed: ServerStoreConformanceTests.signed(batch)) }
                i += n
            }
            let stored = try? await s.store.canonicalState()
            #expect(
                stored == run.replicas[0].canonicalState(),
                "seed \(seed): the \(kind) store diverged from the in-memory replica")
            await s.finish()
        }
    }
}

/// The epoch and last position every cursor is checked against.
@Suite(.serialized) struct ServerStoreEpochTests {
    @Test(arguments: StoreKind.available)
    func theEpochIsStableUntilRenewedAndPositionsAreCounted(kind: StoreKind) async throws {
        let s = try await StoreUnderTest.open(kind)
        let epoch = try await s.store.epoch()
        #expect(epoch.count == 8)
        #expect(try await s.store.lastPosition() == 0)
        let changes = ServerStoreConformanceTests.workload()
        _ = try await s.store.ingest(signed: ServerStoreConformanceTests.signed(changes))
        #expect(try await s.store.lastPosition() == Int64(changes.count))
        let reopened = try await s.reopen()
        #expect(try await reopened.epoch() == epoch)
        let renewed = try await reopened.renewEpoch()
        #expect(renewed != epoch)
        #expect(try await reopened.epoch() == renewed)
        await reopened.close()
        await s.finish()
    }
}

/// Refusals inside batches: each refused change is refused alone, every change that does not
/// depend on one arrives, and the store ends as the in-memory replica that never received the
/// refused changes — on each engine.
@Suite(.serialized) struct PerChangeVerdictPropertyTests {
    @Test(arguments: StoreKind.available)
    func everyValidChangeArrivesWhateverIsRefused(kind: StoreKind) async throws {
        await propertyCheck(count: kind == .sqlite ? 40 : 20, input: Gen.uint64(in: 0 ... .max)) { seed in
            let schedule = RandomSchedule(seed: seed)
            var run = schedule.run()
            schedule.exchangeAll(&run)
            var rng = SplitMix64(seed: seed ^ 0xBAD)
            // The caller (the server's checks) refuses some changes; some others are forged
            // copies of held dots with other content.
            let refused = Set(run.changes.filter { _ in rng.chance(0.05) }.map(\.dot))
            // A server holds each log densely: after a change that cannot apply (refused, or
            // depending on one refused), its author's later changes cannot either (the device
            // moves them down; see DeviceSync). The writing order is causal, so the replica gets
            // changes in it and anything that would wait stops its author's log.
            var stopped = Set<DeviceID>()
            var expected = Replica()
            for c in run.changes {
                if stopped.contains(c.dot.device) || refused.contains(c.dot) { stopped.insert(c.dot.device); continue }
                if case .waiting = (try? expected.receive(c)) ?? .waiting { stopped.insert(c.dot.device) }
            }
            guard let s = try? await StoreUnderTest.open(kind) else { Issue.record("open failed"); return }
            var i = 0
            var applied = 0
            while i < run.changes.count {
                let n = Int.random(in: 1...20, using: &rng)
                var batch = Array(run.changes[i..<min(i + n, run.changes.count)])
                batch.shuffle(using: &rng)
                let held = i > 0 ? run.changes[Int.random(in: 0..<i, using: &rng)] : nil
                if let held, expected.change(held.dot) != nil, rng.chance(0.2) {
                    // A reused dot: an applied change's dot with other content.
                    var forged = held
                    forged.ops.append(.addTag("forged"))
                    batch.append(forged)
                }
                let pre = Dictionary(
                    batch.filter { refused.contains($0.dot) }.map {
                        ($0.dot, FieldSyncError(.deviceRevoked, "refused"))
                    },
                    uniquingKeysWith: { a, _ in a })
                do {
                    let r = try await s.store.ingest(
                        signed: ServerStoreConformanceTests.signed(batch), preRefused: pre, atomic: false, via: nil)
                    applied += r.applied
                    for v in r.refusals where v.code != .dotReuse {
                        #expect(
                            expected.change(v.dot) == nil,
                            "seed \(seed): \(v.dot) refused (\(v.code): \(v.message)) though nothing it needs was refused"
                        )
                    }
                } catch {
                    Issue.record("seed \(seed): \(error)")
                }
                i += n
            }
            #expect(
                applied == expected.log.count,
                "seed \(seed): \(applied) applied, the replica holds \(expected.log.count)")
            let stored = try? await s.store.canonicalState()
            #expect(
                stored == expected.canonicalState(),
                "seed \(seed): the \(kind) store diverged from the replica without the refused changes")
            await s.finish()
        }
    }
}
