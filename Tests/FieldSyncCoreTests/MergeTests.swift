import FieldSyncCore
import Foundation
import Testing

/// Two or three devices, hand-written histories: each operation and the conflict life cycle.
@Suite struct MergeTests {
    let report = ReportID(rawValue: "r1")!
    var alice = LocalDevice(id: DeviceID(rawValue: "alice")!)
    var bob = LocalDevice(id: DeviceID(rawValue: "bob")!)
    var carol = LocalDevice(id: DeviceID(rawValue: "carol")!)

    /// Alice creates the report on her replica; Bob and Carol receive it.
    mutating func start() throws -> (Replica, Replica, Replica) {
        var a = Replica(), b = Replica(), c = Replica()
        let create = try a.write(
            [
                .create(county: "nairobi"), .set(field: .serviceCode, value: "pothole"),
                .set(field: .status, value: "open"),
            ],
            to: report, county: "nairobi", as: &alice, wallMillis: 1_000)
        try b.receive(create)
        try c.receive(create)
        return (a, b, c)
    }

    @Test mutating func createThenSetIsNoConflict() throws {
        var (a, _, _) = try start()
        try a.write(
            [.set(field: .status, value: "acknowledged")], to: report, county: "nairobi", as: &alice, wallMillis: 2_000)
        let r = try #require(a.report(report))
        #expect(r[.status] == "acknowledged")
        #expect(r[.serviceCode] == "pothole")
        #expect(r.lifecycle == "active")
        #expect(a.openConflicts.isEmpty)
    }

    @Test mutating func concurrentSetsOpenAConflictWithEveryCandidate() throws {
        var (a, b, _) = try start()
        let ca = try a.write(
            [.set(field: .status, value: "closed")], to: report, county: "nairobi", as: &alice, wallMillis: 2_000)
        let cb = try b.write(
            [.set(field: .status, value: "in_progress")], to: report, county: "nairobi", as: &bob, wallMillis: 3_000)
        try a.receive(cb)
        try b.receive(ca)
        #expect(a.canonicalState() == b.canonicalState())
        let conflict = try #require(a.openConflicts.first)
        #expect(a.openConflicts.count == 1)
        #expect(conflict.field == .status)
        #expect(conflict.id == "r1/status")
        #expect(conflict.candidates.map(\.dot) == [ca.dot, cb.dot])
        #expect(conflict.candidates.map(\.value) == ["closed", "in_progress"])
        #expect(conflict.candidates.map(\.hlc) == [ca.hlc, cb.hlc])
        // The display winner is the highest timestamp: Bob's.
        #expect(a.report(report)?[.status] == "in_progress")
        #expect(a.report(report)?.conflicted == ["status"])
        #expect(a.stats.conflictsOpened == 1)
    }

    @Test mutating func concurrentEqualValuesMergeSilently() throws {
        var (a, b, _) = try start()
        let ca = try a.write(
            [.set(field: .status, value: "closed")], to: report, county: "nairobi", as: &alice, wallMillis: 2_000)
        let cb = try b.write(
            [.set(field: .status, value: "closed")], to: report, county: "nairobi", as: &bob, wallMillis: 3_000)
        try a.receive(cb)
        try b.receive(ca)
        #expect(a.openConflicts.isEmpty)
        #expect(a.report(report)?[.status] == "closed")
    }

    @Test mutating func concurrentWritesToDifferentFieldsDoNotConflict() throws {
        var (a, b, _) = try start()
        let ca = try a.write(
            [.set(field: .priority, value: 2)], to: report, county: "nairobi", as: &alice, wallMillis: 2_000)
        let cb = try b.write(
            [.set(field: .assignee, value: "roads-team")], to: report, county: "nairobi", as: &bob, wallMillis: 3_000)
        try a.receive(cb)
        try b.receive(ca)
        #expect(a.openConflicts.isEmpty)
        #expect(a.report(report)?[.priority] == 2)
        #expect(a.report(report)?[.assignee] == "roads-team")
    }

    @Test mutating func aLaterWriteThatSawAllCandidatesResolvesAndIsRecorded() throws {
        var (a, b, c) = try start()
        let ca = try a.write(
            [.set(field: .status, value: "closed")], to: report, county: "nairobi", as: &alice, wallMillis: 2_000)
        let cb = try b.write(
            [.set(field: .status, value: "in_progress")], to: report, county: "nairobi", as: &bob, wallMillis: 3_000)
        try c.receive([ca, cb])
        // Carol sees the conflict and keeps Alice's value.
        let resolve = try c.write(
            [.set(field: .status, value: "closed")], to: report, county: "nairobi", as: &carol, wallMillis: 4_000)
        #expect(resolve.resolves[.status] == [ca.dot, cb.dot])
        #expect(c.openConflicts.isEmpty)
        let record = try #require(c.resolvedConflicts.first)
        #expect(record.field == .status)
        #expect(record.candidates.map(\.value) == ["closed", "in_progress"])
        #expect(record.resolution?.dot == resolve.dot)
        #expect(record.resolution?.device == carol.id)
        #expect(record.resolution?.value == "closed")
        #expect(record.resolution?.chosen == ca.dot)
        #expect(record.id == "r1/status/carol:1")
        // Alice learns it in any order and ends with the same log.
        try a.receive(resolve)
        try a.receive(cb)
        #expect(a.canonicalState() == c.canonicalState())
        #expect(a.openConflicts.isEmpty)
    }

    @Test mutating func aNewValueResolutionHasNoChosenCandidate() throws {
        var (a, b, _) = try start()
        let ca = try a.write(
            [.set(field: .priority, value: 1)], to: report, county: "nairobi", as: &alice, wallMillis: 2_000)
        let cb = try b.write(
            [.set(field: .priority, value: 3)], to: report, county: "nairobi", as: &bob, wallMillis: 3_000)
        try a.receive(cb)
        _ = ca
        try a.write([.set(field: .priority, value: 2)], to: report, county: "nairobi", as: &alice, wallMillis: 4_000)
        #expect(a.resolvedConflicts.first?.resolution?.chosen == nil)
        #expect(a.resolvedConflicts.first?.resolution?.value == 2)
    }

    @Test mutating func aWriteThatSawOnlyOneCandidateKeepsTheConflictOpen() throws {
        var (a, b, _) = try start()
        let ca = try a.write(
            [.set(field: .status, value: "closed")], to: report, county: "nairobi", as: &alice, wallMillis: 2_000)
        let cb = try b.write(
            [.set(field: .status, value: "in_progress")], to: report, county: "nairobi", as: &bob, wallMillis: 3_000)
        // Alice writes again without having seen Bob's value.
        let ca2 = try a.write(
            [.set(field: .status, value: "open")], to: report, county: "nairobi", as: &alice, wallMillis: 5_000)
        try a.receive(cb)
        _ = ca
        #expect(a.openConflicts.first?.candidates.map(\.dot) == [ca2.dot, cb.dot])
        #expect(a.resolvedConflicts.isEmpty)
    }

    @Test mutating func tagsAreAnObservedRemoveSetWhereAddWins() throws {
        var (a, b, _) = try start()
        let add = try a.write([.addTag("urgent")], to: report, county: "nairobi", as: &alice, wallMillis: 2_000)
        try b.receive(add)
        // Bob removes the tag he saw; Alice concurrently re-adds it.
        let remove = try b.write([.removeTag("urgent")], to: report, county: "nairobi", as: &bob, wallMillis: 3_000)
        let readd = try a.write(
            [.addTag("urgent"), .addTag("verified")], to: report, county: "nairobi", as: &alice, wallMillis: 3_500)
        try a.receive(remove)
        try b.receive(readd)
        #expect(a.report(report)?.tags == ["urgent", "verified"])
        #expect(a.canonicalState() == b.canonicalState())
        // A remove that saw the re-add removes it.
        try a.write([.removeTag("urgent")], to: report, county: "nairobi", as: &alice, wallMillis: 4_000)
        #expect(a.report(report)?.tags == ["verified"])
    }

    @Test mutating func notesAreAppendOnlyAndOrderedByTimestamp() throws {
        var (a, b, _) = try start()
        let n1 = try b.write(
            [.appendNote(text: "road crew on site")], to: report, county: "nairobi", as: &bob, wallMillis: 5_000)
        let n2 = try a.write(
            [.appendNote(text: "citizen called again")], to: report, county: "nairobi", as: &alice, wallMillis: 3_000)
        try a.receive(n1)
        try b.receive(n2)
        #expect(a.report(report)?.notes.map(\.text) == ["citizen called again", "road crew on site"])
        #expect(a.canonicalState() == b.canonicalState())
        #expect(a.openConflicts.isEmpty)
    }

    @Test mutating func mediaIsASetByContentHash() throws {
        var (a, b, _) = try start()
        let photo = MediaRef(sha256: String(repeating: "ab", count: 32), contentType: "image/jpeg", size: 48_213)
        let m1 = try a.write([.attachMedia(photo)], to: report, county: "nairobi", as: &alice, wallMillis: 2_000)
        let m2 = try b.write([.attachMedia(photo)], to: report, county: "nairobi", as: &bob, wallMillis: 2_500)
        try a.receive(m2)
        try b.receive(m1)
        #expect(a.report(report)?.media.map(\.media) == [photo])
        #expect(a.report(report)?.media.first?.dot == m1.dot)
        #expect(a.canonicalState() == b.canonicalState())
    }

    @Test mutating func withdrawThenRestore() throws {
        var (a, _, _) = try start()
        try a.write(
            [.withdraw(reason: "duplicate of r0")], to: report, county: "nairobi", as: &alice, wallMillis: 2_000)
        #expect(a.report(report)?.lifecycle == "withdrawn")
        // An edit that saw the withdrawal annotates it; it does not restore it or conflict.
        try a.write(
            [.appendNote(text: "closing as duplicate")], to: report, county: "nairobi", as: &alice, wallMillis: 2_500)
        #expect(a.report(report)?.lifecycle == "withdrawn")
        #expect(a.openConflicts.isEmpty)
        try a.write([.restore], to: report, county: "nairobi", as: &alice, wallMillis: 3_000)
        #expect(a.report(report)?.lifecycle == "active")
    }

    @Test mutating func withdrawConcurrentWithAnEditIsAConflict() throws {
        var (a, b, c) = try start()
        let w = try a.write(
            [.withdraw(reason: "duplicate")], to: report, county: "nairobi", as: &alice, wallMillis: 2_000)
        let e = try b.write(
            [.set(field: .description, value: "deeper than it looks")], to: report, county: "nairobi", as: &bob,
            wallMillis: 2_100)
        try a.receive(e)
        try b.receive(w)
        try c.receive([e, w])
        for r in [a, b, c] {
            let conflict = try #require(r.openConflicts.first { $0.field == .lifecycle })
            #expect(conflict.candidates.map(\.dot) == [w.dot, e.dot])
            #expect(conflict.candidates.map(\.value) == [Lifecycle.withdrawn, Lifecycle.active])
            // Nothing is hidden while contested.
            #expect(r.report(report)?.lifecycle == "active")
        }
        #expect(a.canonicalState() == c.canonicalState())
        // Carol confirms the withdrawal having seen the edit: resolved, recorded.
        let confirm = try c.write(
            [.withdraw(reason: "confirmed duplicate")], to: report, county: "nairobi", as: &carol, wallMillis: 3_000)
        #expect(confirm.resolves[.lifecycle] == [w.dot, e.dot])
        #expect(c.openConflicts.isEmpty)
        #expect(c.report(report)?.lifecycle == "withdrawn")
        #expect(c.resolvedConflicts.first?.resolution?.value == Lifecycle.withdrawn)
        try a.receive(confirm)
        #expect(a.canonicalState() == c.canonicalState())
    }

    @Test mutating func outOfOrderDeliveryWaitsForDependencies() throws {
        var (a, _, _) = try start()
        let c1 = try a.write(
            [.set(field: .status, value: "acknowledged")], to: report, county: "nairobi", as: &alice, wallMillis: 2_000)
        let c2 = try a.write(
            [.set(field: .status, value: "closed")], to: report, county: "nairobi", as: &alice, wallMillis: 3_000)
        var fresh = Replica()
        #expect(try fresh.receive(c2) == .waiting)
        #expect(try fresh.receive(c1) == .waiting)
        #expect(fresh.report(report) == nil)
        #expect(try fresh.receive(a.log[0]) == .applied(released: 2))
        #expect(fresh.canonicalState() == a.canonicalState())
        #expect(try fresh.receive(c1) == .duplicate)
    }

    @Test mutating func aReusedDotWithDifferentContentIsRefused() throws {
        var (a, _, _) = try start()
        let original = try a.write(
            [.set(field: .status, value: "closed")], to: report, county: "nairobi", as: &alice, wallMillis: 2_000)
        // Alice's phone is restored from a backup taken before `original` and writes seq 2 again.
        var restored = LocalDevice(id: alice.id, lastSeq: 1)
        var b = Replica()
        try b.receive(a.log[0])
        let forked = try b.write(
            [.set(field: .status, value: "open")], to: report, county: "nairobi", as: &restored, wallMillis: 2_500)
        #expect(forked.dot == original.dot)
        let before = a.canonicalState()
        #expect(throws: FieldSyncError.self) { try a.receive(forked) }
        do { try a.receive(forked) } catch { #expect(error.code == .dotReuse) }
        #expect(a.canonicalState() == before)
    }

    @Test mutating func aSecondCreateOfTheSameReportIsRefused() throws {
        var (a, _, _) = try start()
        var mallory = LocalDevice(id: DeviceID(rawValue: "mallory")!)
        var other = Replica()
        let dup = try other.write(
            [.create(county: "nairobi")], to: report, county: "nairobi", as: &mallory, wallMillis: 1)
        do { try a.receive(dup); Issue.record("accepted a second create") } catch {
            #expect(error.code == .reportExists)
        }
    }

    @Test mutating func aChangeLabelledWithAnotherCountyIsAnsweredAsForAnUnknownReport() throws {
        var (a, _, _) = try start()
        var change = try a.write(
            [.set(field: .status, value: "closed")], to: report, county: "nairobi", as: &alice, wallMillis: 2_000)
        change.dot.seq = 9
        change.county = "mombasa"
        do { try a.receive(change); Issue.record("accepted") } catch {
            #expect(error.code == .missingDependency && !error.message.contains("nairobi"), "\(error)")
        }
    }
}

@Suite struct ValidationTests {
    let d = DeviceID(rawValue: "d")!
    let r = ReportID(rawValue: "r")!

    func change(seq: UInt64 = 2, context: VersionVector? = nil, ops: [ReportOperation]) -> Change {
        Change(
            dot: Dot(device: d, seq: seq), report: r, county: "nairobi",
            context: context ?? VersionVector([d: 1]), hlc: HybridTimestamp(millis: 1), ops: ops)
    }

    func code(_ c: Change) -> FieldSyncError.Code? {
        do { try ChangeLimits.standard.validate(c); return nil } catch { return error.code }
    }

    @Test func refusals() {
        #expect(code(change(ops: [.set(field: .status, value: "x")])) == nil)
        #expect(code(change(seq: 0, context: VersionVector(), ops: [.restore])) == .invalidSequence)
        #expect(code(change(ops: [])) == .emptyChange)
        #expect(code(change(seq: 1, context: VersionVector([d: 1]), ops: [.restore])) == .invalidContext)
        #expect(code(change(context: VersionVector(), ops: [.restore])) == .invalidContext)
        #expect(
            code(change(ops: [.set(field: .status, value: "a"), .set(field: .status, value: "b")])) == .invalidOperation
        )
        #expect(
            code(change(ops: [.set(field: .status, value: .string(String(repeating: "x", count: 20_000)))]))
                == .fieldTooLarge)
        var deep: FieldValue = "x"
        for _ in 0..<10 { deep = .array([deep]) }
        #expect(code(change(ops: [.set(field: .description, value: deep)])) == .fieldTooLarge)
        #expect(code(change(ops: [.appendNote(text: "")])) == .fieldTooLarge)
        #expect(code(change(ops: [.addTag("bad\u{0}tag")])) == .invalidOperation)
        #expect(code(change(ops: [.addTag("bad\u{85}tag")])) == .invalidOperation)  // C1 control
        #expect(code(change(ops: [.set(field: .lat, value: .double(2.0))])) == .invalidOperation)  // must be .int(2)
        #expect(code(change(ops: [.set(field: .lat, value: .double(2.5))])) == nil)
        #expect(code(change(ops: [.addTag("bad\u{7F}tag")])) == .invalidOperation)
        #expect(code(change(ops: [.addTag("ñandú-✓-\u{A0}")])) == nil)  // not controls
        #expect(code(change(ops: [.withdraw(reason: "x"), .restore])) == .invalidOperation)
        #expect(code(change(ops: [.create(county: "nairobi")])) == .invalidContext)
        #expect(code(change(ops: [.set(field: .status, value: "x"), .create(county: "nairobi")])) == .invalidOperation)
        #expect(code(change(seq: 1, context: VersionVector(), ops: [.create(county: "mombasa")])) == .countyMismatch)
        #expect(
            code(change(ops: [.attachMedia(MediaRef(sha256: "nothex", contentType: "image/png", size: 1))]))
                == .invalidOperation)
        #expect(
            code(
                Change(
                    dot: Dot(device: d, seq: 2), report: r, county: "nairobi", context: VersionVector([d: 1]),
                    hlc: .zero, ops: [.set(field: .status, value: "x")],
                    resolves: [.status: [Dot(device: d, seq: 1), Dot(device: DeviceID(rawValue: "e")!, seq: 1)]]))
                == .invalidContext)
        #expect(code(change(ops: Array(repeating: .appendNote(text: "x"), count: 65))) == .invalidOperation)
    }

    @Test func unknownFieldsAndIdentifiers() throws {
        #expect(FieldName(rawValue: "status") != nil)
        #expect(FieldName(rawValue: "attributes.water_source") != nil)
        #expect(FieldName(rawValue: "attributes.") == nil)
        #expect(FieldName(rawValue: "colour") == nil)
        #expect(FieldName(rawValue: "lifecycle") == nil)
        #expect(FieldName.reporterPhone.isPersonal)
        #expect(!FieldName.status.isPersonal)
        #expect(DeviceID(rawValue: "") == nil)
        #expect(DeviceID(rawValue: String(repeating: "a", count: 65)) == nil)
        #expect(DeviceID(rawValue: "a b") == nil)
        #expect(throws: FieldSyncError.self) { try FieldName(validating: "colour") }
    }

    @Test func changeRoundTripsThroughJSON() throws {
        let c = Change(
            dot: Dot(device: d, seq: 3), report: r, county: "nairobi", context: VersionVector([d: 2]),
            hlc: HybridTimestamp(millis: 7, counter: 1),
            ops: [
                .set(field: .lat, value: -1.2921), .addTag("t"), .removeTag("u"), .appendNote(text: "n"),
                .attachMedia(MediaRef(sha256: String(repeating: "0", count: 64), contentType: "image/jpeg", size: 3)),
                .withdraw(reason: "r"),
            ])
        let data = try JSONEncoder().encode(c)
        #expect(try JSONDecoder().decode(Change.self, from: data) == c)
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(
                Change.self,
                from: Data(
                    #"{"device":"d","seq":1,"report":"r","county":"c","hlc":[1,0],"ops":[{"op":"explode"}]}"#.utf8))
        }
    }
}
