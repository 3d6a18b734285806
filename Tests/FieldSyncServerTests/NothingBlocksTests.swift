import FieldSyncClient
import FieldSyncCore
import FieldSyncProtocol
import FieldSyncServer
import FieldSyncSigning
import FieldSyncStore
import FieldSyncSQLite
import Foundation
import Testing
import FieldSyncTestSupport

/// Nothing blocks a device: a refused change is set aside alone; restored, cloned and wrong-clock
/// phones recover before they push; every valid change reaches the server and every device.
@Suite(.serialized) struct NothingBlocksTests {
    @discardableResult
    func sync(_ d: TestDevice, batch: Int = 500) async throws -> DeviceSync.Summary {
        let key = d.key
        var s = DeviceSync(store: d.store, api: d.api, runSigner: { key.signRun($0) }, signer: { key.sign($0) })
        s.pushBatch = batch
        return try await s.run()
    }

    func state(_ d: TestDevice) async throws -> Data { try await d.store.canonicalState(county: d.county) }

    /// Where two states differ (for failure messages).
    func difference(_ a: Data, _ b: Data) -> String {
        guard let x = try? JSONSerialization.jsonObject(with: a) as? [String: Any],
            let y = try? JSONSerialization.jsonObject(with: b) as? [String: Any]
        else { return "?" }
        var out: [String] = []
        for key in Set(x.keys).union(y.keys).sorted() {
            let xs = (x[key] as? [Any])?.map { "\($0)" } ?? [], ys = (y[key] as? [Any])?.map { "\($0)" } ?? []
            let onlyX = Set(xs).subtracting(ys), onlyY = Set(ys).subtracting(xs)
            if !onlyX.isEmpty || !onlyY.isEmpty {
                out.append("\(key): device-only \(onlyX.sorted().prefix(3)) server-only \(onlyY.sorted().prefix(3))")
            }
        }
        return out.joined(separator: "\n")
    }

    @Test func aRevokedPeersChangesAreSetAsideAndEverythingElseFlows() async throws {
        let server = try await TestServer.start()
        let w = try await server.device("tab-w"), r = try await server.device("tab-r"),
            v = try await server.device("tab-v")
        try await r.create("r-1")
        try await r.create("r-2")
        _ = try await w.meet(r).0.get()
        _ = try await server.service.revoke("tab-r", by: .currentShell)
        try await w.create("w-1")
        try await w.write([.set(field: .status, value: "in_progress")], to: "r-1")  // depends on r's change
        try await w.create("w-2")
        let first = try await sync(w)
        #expect(first.pushed == 2, "w's own independent work arrived")
        let store = server.service.store
        #expect(try await store.report(ReportID(rawValue: "w-1")!) != nil)
        #expect(try await store.report(ReportID(rawValue: "w-2")!) != nil)
        #expect(try await store.report(ReportID(rawValue: "r-1")!) == nil)
        let aside = try await w.store.refusals(limit: 100)
        #expect(Set(aside.map(\.code)) == ["device_revoked", "dependency_refused"])
        #expect(aside.first { $0.code == "dependency_refused" }?.dependsOn == Dot(device: r.id, seq: 1))
        // Nothing is sent again, nothing is pending, and the device shows what the server shows.
        let second = try await sync(w)
        #expect(second.pushed == 0 && second.setAside == 0)
        #expect(try await DeviceSync(store: w.store, api: w.api).status().pending == 0)
        try await sync(v)
        let reference = try await store.canonicalState(county: "kisumu")
        #expect(try await state(w) == reference)
        #expect(try await state(v) == reference)
        // Operators read the quarantine.
        let op = try await server.operatorToken(["kisumu"])
        let list = try await server.api(token: op).refusals()
        #expect(list.refusals.contains { $0.code == "device_revoked" && $0.via == "tab-w" })
        // A device refuses to meet a revoked device once it knows of the revocation.
        try await r.create("r-3")
        let before = try await w.store.canonicalState()
        #expect(await w.meet(r).0.failure?.code == .deviceRevoked)
        #expect(try await w.store.canonicalState() == before)
        await server.stop()
    }

    @Test func aSignedRevocationListTravelsBetweenPeersAndATamperedOneDoesNot() async throws {
        let server = try await TestServer.start()
        let w = try await server.device("tab-w"), v = try await server.device("tab-v"),
            r = try await server.device("tab-r")
        let u = try await server.device("tab-u")
        try await r.create("r-1")
        _ = try await server.service.revoke("tab-r", by: .currentShell)
        try await sync(w)  // w learns the signed list
        _ = try await v.meet(w).0.get()  // and hands it to v in the hello
        #expect(try await v.store.setting(PeerRevocations.listKey) == "tab-r")
        // v, which never synced since, refuses to meet r.
        let before = try await v.store.canonicalState()
        #expect(await v.meet(r).0.failure?.code == .deviceRevoked)
        #expect(try await v.store.canonicalState() == before)
        // A list altered on the way (r taken out, made newer) is not taken.
        try await w.store.setSettings([PeerRevocations.listKey: "", PeerRevocations.atKey: "99999999999999"])
        _ = try await u.meet(w).0.get()
        #expect(try await u.store.setting(PeerRevocations.listKey) == nil)
        await server.stop()
    }

    @Test func aHeldChangeOfARevokedAuthorIsADuplicateNotARefusal() async throws {
        let server = try await TestServer.start()
        let w = try await server.device("tab-w"), r = try await server.device("tab-r")
        try await r.create("r-1")
        try await sync(r)
        _ = try await w.meet(r).0.get()
        _ = try await server.service.revoke("tab-r", by: .currentShell)
        let change = try #require(try await r.store.storedChange(Dot(device: r.id, seq: 1)))
        var traffic = FieldSyncAPI.Traffic()
        let answer = try await w.api.sync(
            SyncRequest(changes: [SignedChange(change: change, signature: nil)], limit: 0, verdicts: true),
            traffic: &traffic)
        #expect(answer.accepted?.duplicates == 1 && answer.refused == nil)
        await server.stop()
    }

    @Test func oneRefusedChangeInAPushIsRefusedAloneAndOldClientsKeepTheWholePushAnswer() async throws {
        let server = try await TestServer.start()
        let w = try await server.device("tab-w")
        try await w.create("w-1")
        try await w.create("w-2")
        let own = try await w.store.changes(after: 0, county: nil, limit: 10).changes.map(\.change)
        var foreign = own[0]
        foreign.dot = Dot(device: w.id, seq: 3)
        foreign.report = ReportID(rawValue: "x-1")!
        foreign.county = "nakuru"
        foreign.ops = [.create(county: "nakuru")]
        let batch = own.map { w.key.signed($0) } + [w.key.signed(foreign)]
        let before = try await server.fingerprint()
        var traffic = FieldSyncAPI.Traffic()
        await #expect(throws: FieldSyncError.self) {
            _ = try await w.api.sync(SyncRequest(changes: batch, limit: 0), traffic: &traffic)
        }
        #expect(try await server.fingerprint() == before, "without verdicts, the first refusal refuses the whole push")
        let answer = try await w.api.sync(SyncRequest(changes: batch, limit: 0, verdicts: true), traffic: &traffic)
        #expect(answer.accepted?.applied == 2 && answer.accepted?.refused == 1)
        #expect(answer.refused?.map(\.code) == [.wrongCounty] && answer.refused?.first?.dot == foreign.dot)
        await server.stop()
    }

    @Test func aChangeDatedBefore2020IsRefusedWithAClearReason() async throws {
        let server = try await TestServer.start()
        let w = try await server.device("tab-w")
        try await w.write([.create(county: "kisumu")], to: "old-1", at: 86_400_000)
        var traffic = FieldSyncAPI.Traffic()
        let change = try #require(try await w.store.storedChange(Dot(device: w.id, seq: 1)))
        let answer = try await w.api.sync(
            SyncRequest(changes: [w.key.signed(change)], limit: 0, verdicts: true), traffic: &traffic)
        #expect(answer.refused?.first?.code == .clockSkew)
        #expect(answer.refused?.first?.message.contains("not set") == true)
        await server.stop()
    }

    /// A phone restored from a backup taken at a random moment, written to before it syncs: its
    /// lost changes come back, its new work is moved above the server's head, nothing is lost.
    @Test(arguments: [UInt64(1), 2, 3, 4, 5, 6])
    func aRestoredPhoneThatWritesBeforeSyncingLosesNothing(seed: UInt64) async throws {
        var rng = SplitMix64(seed: seed)
        let server = try await TestServer.start()
        let p = try await server.device("tab-p"), q = try await server.device("tab-q")
        let backup = server.dir.appendingPathComponent("backup-\(seed).sqlite").path
        let steps = Int.random(in: 8...20, using: &rng)
        let cut = Int.random(in: 0..<steps, using: &rng)
        var reports: [String] = []
        for step in 0..<steps {
            if step == cut { try await p.store.backup(to: backup) }
            if reports.isEmpty || rng.chance(0.3) {
                reports.append("p-\(step)")
                try await p.create(reports.last!)
            } else {
                let report = reports[Int.random(in: 0..<reports.count, using: &rng)]
                try await p.write([.set(field: .priority, value: .int(Int64(step)))], to: report)
            }
            if rng.chance(0.4) { try await sync(p, batch: 3) }
            if rng.chance(0.2) {
                try await sync(q)
                if let first = try await q.store.reports(ReportFilter(limit: 1)).first {
                    try await q.write([.set(field: .status, value: "in_progress")], to: first.id.rawValue)
                }
                try await sync(q)
            }
        }
        try await sync(p, batch: 3)
        // The phone dies; it is restored from the backup and written to before it syncs.
        let restored = try SQLiteStore(path: backup)
        let r = TestDevice(id: p.id, county: p.county, key: p.key, token: p.token, store: restored, server: server)
        var fresh: [Change] = []
        for k in 0..<Int.random(in: 1...6, using: &rng) {
            let known = try await restored.reports(ReportFilter(limit: 1_000)).map(\.id.rawValue)
            if known.isEmpty || rng.chance(0.4) {
                try await r.create("after-\(k)")
            } else {
                try await r.write(
                    [.set(field: .description, value: .string("after \(k)"))],
                    to: known[Int.random(in: 0..<known.count, using: &rng)])
            }
            fresh.append(try #require(try await restored.log(of: p.id, after: 0, limit: 100_000).last))
        }
        let summary = try await sync(r, batch: 2)
        try await sync(q)
        try await sync(r)
        let held = try await server.service.store.changes(after: 0, county: nil, limit: 100_000).changes.map(\.change)
            .filter { $0.dot.device == p.id }
        for c in fresh {
            #expect(
                held.contains { $0.report == c.report && $0.ops == c.ops && $0.hlc == c.hlc },
                "seed \(seed): the restored phone's change to \(c.report) was lost (moved \(summary.moved))")
        }
        let before = try await p.store.log(of: p.id, after: 0, limit: 100_000)
        for c in before { #expect(held.contains(c), "seed \(seed): \(c.dot) written before the backup was lost") }
        let reference = try await server.service.store.canonicalState(county: "kisumu")
        let rs = try await state(r)
        #expect(rs == reference, "seed \(seed): the restored phone diverged: \(difference(rs, reference))")
        #expect(try await state(q) == reference, "seed \(seed): another device diverged")
        await server.stop()
    }

    /// One store on two phones: both keep writing and syncing; the work of both reaches the
    /// server, operators see what happened, and a peer that met the copy is not stuck.
    @Test func aClonedStoreLosesNothingAndPeersAreNotStuck() async throws {
        let server = try await TestServer.start()
        let a = try await server.device("tab-a"), w = try await server.device("tab-w")
        try await a.create("a-1")
        try await sync(a)
        let copyPath = server.dir.appendingPathComponent("clone.sqlite").path
        try await a.store.backup(to: copyPath)
        let b = TestDevice(
            id: a.id, county: a.county, key: a.key, token: a.token, store: try SQLiteStore(path: copyPath),
            server: server)
        try await a.create("from-a")
        try await b.create("from-b")
        try await b.write([.set(field: .status, value: "closed")], to: "a-1")
        _ = try await w.meet(b).0.get()
        try await w.create("w-1")
        try await sync(a)
        try await sync(w)  // w relays b's copies, which reuse dots a pushed: w drops them
        try await sync(b)  // b finds its log forked and moves its work above the server's head
        try await a.create("from-a-2")
        try await b.create("from-b-2")
        for d in [a, b, w, a, b, w] { try await sync(d) }
        let store = server.service.store
        for id in ["from-a", "from-b", "w-1", "from-a-2", "from-b-2"] {
            #expect(try await store.report(ReportID(rawValue: id)!) != nil, "\(id) did not reach the server")
        }
        #expect(try await store.report(ReportID(rawValue: "a-1")!)?.fields["status"] == "closed")
        let reference = try await store.canonicalState(county: "kisumu")
        for (name, d) in [("a", a), ("b", b), ("w", w)] {
            let s = try await state(d)
            let mine = try await d.store.changes(after: 0, county: nil, limit: 1_000).changes.map { "\($0.change.dot)" }
                .sorted()
            let theirs = try await server.service.store.changes(after: 0, county: nil, limit: 1_000).changes.map {
                "\($0.change.dot)"
            }.sorted()
            let aside = try await d.store.refusals(limit: 100).map { "\($0.dot) \($0.code)" }
            #expect(s == reference, "\(name) diverged: holds \(mine), server \(theirs), aside \(aside)")
        }
        let op = try await server.operatorToken(["kisumu"])
        #expect(
            try await server.api(token: op).refusals().refusals.contains {
                $0.code == "log_forked" && $0.dot.device == a.id
            })
        await server.stop()
    }

    /// A clock 8 days ahead, then corrected: the work written meanwhile is accepted at the next
    /// sync, re-timed; nothing on the server moves to the future.
    @Test func workWrittenUnderAClockAheadIsAcceptedAfterTheClockIsFixed() async throws {
        let server = try await TestServer.start()
        let d = try await server.device("tab-d"), e = try await server.device("tab-e")
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        let ahead = now + 8 * 86_400_000
        try await d.write([.create(county: "kisumu"), .set(field: .status, value: "open")], to: "c-1", at: ahead)
        try await d.write([.set(field: .status, value: "in_progress")], to: "c-1", at: ahead + 1_000)
        // The clock is corrected; later writes to other reports and to the same one.
        try await d.write([.create(county: "kisumu")], to: "c-2", at: now)
        try await d.write([.set(field: .priority, value: 2)], to: "c-1", at: now + 1)
        // A clock never set (1970), on another report.
        try await d.write([.create(county: "kisumu")], to: "c-3", at: 86_400_000)
        let summary = try await sync(d)
        #expect(summary.pushed == 5 && summary.retimed >= 3 && summary.setAside == 0)
        let reports = try await server.service.store.reports(ReportFilter(limit: 10))
        #expect(reports.count == 3)
        #expect(reports.allSatisfy { $0.updatedAt.millis < now + 3_600_000 }, "nothing is dated in the future")
        #expect(try await server.service.store.report(ReportID(rawValue: "c-1")!)?.fields["status"] == "in_progress")
        try await sync(e)
        #expect(try await state(e) == server.service.store.canonicalState(county: "kisumu"))
        #expect(try await state(d) == server.service.store.canonicalState(county: "kisumu"))
        await server.stop()
    }

    /// The server's resolutions are stamped from its own clock, not from another report's future.
    @Test func aFutureDatedChangeDoesNotMoveTheServersClockForOtherReports() async throws {
        let server = try await TestServer.start()
        let a = try await server.device("tab-a", county: "kisumu"),
            b = try await server.device("tab-b", county: "nakuru")
        let b2 = try await server.device("tab-b2", county: "nakuru")
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        // An old client pushes a change dated 6 days ahead (allowed) to a kisumu report.
        try await a.write([.create(county: "kisumu")], to: "k-1", at: now + 6 * 86_400_000)
        let change = try #require(try await a.store.storedChange(Dot(device: a.id, seq: 1)))
        var traffic = FieldSyncAPI.Traffic()
        _ = try await a.api.sync(SyncRequest(changes: [a.key.signed(change)], limit: 0), traffic: &traffic)
        // A conflict in nakuru, resolved by an operator.
        try await b.create("n-1")
        try await sync(b)
        try await sync(b2)
        try await b.write([.set(field: .status, value: "closed")], to: "n-1")
        try await b2.write([.set(field: .status, value: "open")], to: "n-1")
        try await sync(b)
        try await sync(b2)
        let op = try await server.service.createOperator(
            OperatorRequest(name: "desk", role: "admin", counties: ["*"]), by: .currentShell)
        let resolved = try await server.service.resolve(
            report: "n-1", field: "status", ResolveRequest(choose: nil, value: "closed"),
            by: .operator(
                OperatorRecord(id: op.operatorID, name: "desk", role: .admin, counties: ["*"], revoked: false)))
        #expect(resolved.change.hlc.millis < now + 3_600_000, "the resolution is stamped now, not 6 days ahead")
        await server.stop()
    }

    /// Refusals are kept once per dot and code, with a count; over the bounds they are counted.
    @Test func theRefusalsQuarantineIsBounded() async throws {
        var configuration = ServerConfiguration()
        configuration.maxPushChanges = 1_000
        let server = try await TestServer.start(configuration: configuration)
        let w = try await server.device("tab-w")
        try await w.create("w-1")
        try await sync(w)
        let held = try #require(try await w.store.storedChange(Dot(device: w.id, seq: 1)))
        var reuse = held
        reuse.ops.append(.appendNote(text: String(repeating: "x", count: 10_000)))
        var traffic = FieldSyncAPI.Traffic()
        for _ in 0..<10 {
            _ = try await w.api.sync(
                SyncRequest(changes: [w.key.signed(reuse)], limit: 0, verdicts: true), traffic: &traffic)
        }
        var records = try await server.service.store.refusals(limit: 100)
        #expect(records.count == 1 && records[0].times == 10)
        // 300 unsigned changes of an unknown author: at most 200 records for this sender.
        let junk = (1...300).map { i in
            SignedChange(
                change: Change(
                    dot: Dot(device: DeviceID(rawValue: "ghost")!, seq: UInt64(i)),
                    report: ReportID(rawValue: "g-\(i)")!,
                    county: "kisumu", context: VersionVector(), hlc: HybridTimestamp(millis: 1_795_000_000_000),
                    ops: [.create(county: "kisumu")]), signature: nil)
        }
        let answer = try await w.api.sync(SyncRequest(changes: junk, limit: 0, verdicts: true), traffic: &traffic)
        #expect(answer.refused?.count == 300)
        records = try await server.service.store.refusals(limit: 1_000)
        #expect(records.count == 200)
        #expect(try await server.service.store.refusalSummary().dropped == 101)
        await server.stop()
    }

    /// The daemon's statements hold no read snapshot between requests: another process's write
    /// in between never makes its next write fail, nor its next read stale.
    @Test func aWriteFromAnotherConnectionBetweenRequestsNeverBreaksTheDaemon() async throws {
        let server = try await TestServer.start()
        let a = try await server.device("tab-a")
        try await a.create("a-1")
        try await sync(a)
        try await sync(a)  // an up-to-date sync: reads only
        // The shell revokes the device from another process while the daemon runs.
        let binary = try #require(Binaries.binary("fieldsyncd"), "build fieldsyncd first (swift build)")
        let (status, output) = try await Binaries.run(
            binary, ["admin", "revoke", "tab-a", "--db", server.dbPath])
        #expect(status == 0, "\(output)")
        let b = try await server.device("tab-b")  // a write by the daemon after the shell's write
        try await b.create("b-1")
        try await sync(b)
        var traffic = FieldSyncAPI.Traffic()
        await #expect(throws: FieldSyncError.self, "the revocation is seen at once") {
            _ = try await a.api.sync(SyncRequest(), traffic: &traffic)
        }
        await server.stop()
    }
}
