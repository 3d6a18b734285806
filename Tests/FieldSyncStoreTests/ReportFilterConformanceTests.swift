import FieldSyncCore
import FieldSyncStore
import Foundation
import Testing
import FieldSyncTestSupport

/// The console's filters on each engine: ward, tag, the received period, and whether a report has
/// an open conflict, alone and together with the older filters.
@Suite(.serialized) struct ReportFilterConformanceTests {
    @Test(arguments: StoreKind.available)
    func wardPeriodAndOpenConflictFilterTheSameOnEveryEngine(kind: StoreKind) async throws {
        let s = try await StoreUnderTest.open(kind)
        var a = Replica()
        var b = Replica()
        var da = LocalDevice(id: DeviceID(rawValue: "fa")!)
        var db = LocalDevice(id: DeviceID(rawValue: "fb")!)
        var changes: [Change] = []
        for (i, ward) in ["kondele", "manyatta", "kondele"].enumerated() {
            changes.append(
                try a.write(
                    [.create(county: "kisumu"), .set(field: .ward, value: .string(ward))],
                    to: ReportID(rawValue: "f-\(i)")!, county: "kisumu", as: &da, wallMillis: UInt64(1_000 * (i + 1))))
        }
        changes.append(
            try a.write(
                [.addTag("urgent"), .addTag("roads")], to: ReportID(rawValue: "f-1")!, county: "kisumu", as: &da,
                wallMillis: 3_500))
        changes.append(
            try a.write(
                [.addTag("urgent-ish")], to: ReportID(rawValue: "f-0")!, county: "kisumu", as: &da, wallMillis: 3_600))
        try b.receive(changes)
        // Two devices set f-2's status without seeing each other: an open conflict.
        let target = ReportID(rawValue: "f-2")!
        changes.append(
            try a.write([.set(field: .status, value: "x")], to: target, county: "kisumu", as: &da, wallMillis: 9_000))
        changes.append(
            try b.write([.set(field: .status, value: "y")], to: target, county: "kisumu", as: &db, wallMillis: 9_001))
        _ = try await s.store.ingest(signed: ServerStoreConformanceTests.signed(changes))
        func ids(_ f: ReportFilter) async throws -> [String] {
            try await s.store.reports(f).map(\.id.rawValue).sorted()
        }
        var f = ReportFilter()
        f.ward = "kondele"
        #expect(try await ids(f) == ["f-0", "f-2"], "\(kind)")
        f = ReportFilter()
        f.createdFrom = 1_500
        f.createdTo = 2_500
        #expect(try await ids(f) == ["f-1"], "\(kind)")
        f = ReportFilter()
        f.hasOpenConflict = true
        #expect(try await ids(f) == ["f-2"], "\(kind)")
        f.hasOpenConflict = false
        #expect(try await ids(f) == ["f-0", "f-1"], "\(kind)")
        f = ReportFilter()
        f.order = .receivedOldestFirst
        #expect(try await s.store.reports(f).map(\.id.rawValue) == ["f-0", "f-1", "f-2"], "\(kind)")
        f.order = .receivedNewestFirst
        #expect(try await s.store.reports(f).map(\.id.rawValue) == ["f-2", "f-1", "f-0"], "\(kind)")
        f = ReportFilter()
        f.tag = "urgent"
        #expect(try await ids(f) == ["f-1"], "a whole tag, not a prefix (\(kind))")
        f.tag = "roads"
        #expect(try await ids(f) == ["f-1"], "\(kind)")
        f = ReportFilter(county: "kisumu")
        f.ward = "kondele"
        f.hasOpenConflict = false
        f.createdFrom = 0
        #expect(try await ids(f) == ["f-0"], "\(kind)")
        await s.finish()
    }
}
