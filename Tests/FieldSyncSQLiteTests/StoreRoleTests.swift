import FieldSyncCore
@testable import FieldSyncSQLite
import FieldSyncStore
import FieldSyncTestSupport
import Foundation
import Testing

/// A device file holds device tables only; a server database holds the directory too; neither
/// opens as the other; device files made before the split lose their empty directory.
@Suite struct StoreRoleTests {
    static func tables(_ path: String) throws -> Set<String> {
        let db = try SQLiteConnection(path: path)
        defer { db.close() }
        let s = try db.statement("SELECT name FROM sqlite_master WHERE type = 'table'")
        var names: Set<String> = []
        while try s.step() { names.insert(s.text(0)) }
        return names
    }

    @Test func aDeviceFileHoldsNoDirectoryAndAServerFileDoes() async throws {
        let dir = TemporaryDirectory()
        let device = try SQLiteStore(path: dir.path("device.sqlite"))
        await device.close()
        let server = try SQLiteStore(path: dir.path("server.sqlite"), options: .server)
        await server.close()
        let deviceTables = try Self.tables(dir.path("device.sqlite"))
        let serverTables = try Self.tables(dir.path("server.sqlite"))
        #expect(deviceTables.isDisjoint(with: Schema.directoryTables), "\(deviceTables)")
        #expect(Set(Schema.directoryTables).isSubset(of: serverTables), "\(serverTables)")
        #expect(deviceTables.isSubset(of: serverTables))
    }

    @Test func neitherOpensAsTheOther() async throws {
        let dir = TemporaryDirectory()
        let device = try SQLiteStore(path: dir.path("device.sqlite"))
        try await device.setIdentity(DeviceID(rawValue: "tab-1")!)
        await device.close()
        await (try SQLiteStore(path: dir.path("server.sqlite"), options: .server)).close()
        do {
            _ = try SQLiteStore(path: dir.path("server.sqlite"))
            Issue.record("a server database opened as a device store")
        } catch { #expect(error.code == .wrongStore && error.message.contains("--store")) }
        do {
            _ = try SQLiteStore(path: dir.path("device.sqlite"), options: .server)
            Issue.record("a device store opened as a server database")
        } catch { #expect(error.code == .wrongStore && error.message.contains("tab-1")) }
        // Both still open as what they are.
        await (try SQLiteStore(path: dir.path("device.sqlite"))).close()
        await (try SQLiteStore(path: dir.path("server.sqlite"), options: .server)).close()
    }

    /// A device file of schema 10 (made before the split) carried an empty copy of the directory:
    /// opening it drops that copy and keeps everything else.
    /// A store from before the scorecard's columns (schema 12) gets them on opening, filled from
    /// each report's history: received, ward, and the status times, whatever order changes came in.
    @Test func aStoreFromBeforeTheScorecardColumnsIsFilledFromHistory() async throws {
        let dir = TemporaryDirectory()
        let path = dir.path("old-scorecard.sqlite")
        var replica = Replica()
        var a = LocalDevice(id: DeviceID(rawValue: "tab-a")!)
        let id = ReportID(rawValue: "r-old")!
        var changes: [Change] = []
        for (ops, at) in [
            (
                [
                    ReportOperation.create(county: "kisumu"), .set(field: .status, value: "open"),
                    .set(field: .ward, value: "kondele"),
                ], 1_000
            ),
            ([.set(field: .status, value: "acknowledged")], 5_000), ([.set(field: .status, value: "closed")], 9_000),
            ([.set(field: .status, value: "in_progress")], 12_000),
        ] as [([ReportOperation], UInt64)] {
            changes.append(try replica.write(ops, to: id, county: "kisumu", as: &a, wallMillis: at))
        }
        var options = SQLiteStore.Options()
        options.role = .server
        let store = try SQLiteStore(path: path, options: options)
        _ = try await store.ingest(changes.reversed().shuffled())
        await store.close()
        let db = try SQLiteConnection(path: path)
        try Self.undoScorecardColumns(db)
        try db.execute("DROP TABLE console_sessions")  // migration 14
        try db.execute("PRAGMA user_version = 12")
        db.close()
        let reopened = try SQLiteStore(path: path, options: options)
        let entries = try await reopened.scorecardEntries(county: "kisumu", from: 0, to: 1_000_000)
        #expect(
            entries == [
                Scorecard.Entry(
                    report: id, serviceCode: nil, ward: "kondele", createdMillis: 1_000, updatedMillis: 12_000,
                    status: ReportStatusTimes(acknowledgedMillis: 5_000, closedMillis: 9_000, reopenedMillis: 12_000),
                    isOpen: true)
            ])
        #expect(try await reopened.reports(ReportFilter()).first?.fields["ward"] == .string("kondele"))
        await reopened.close()
    }

    @Test func anOldDeviceFileLosesItsEmptyDirectoryAndKeepsItsData() async throws {
        let dir = TemporaryDirectory()
        let path = dir.path("old.sqlite")
        try await Self.makeOldDeviceFile(path, directoryRows: false)
        let store = try SQLiteStore(path: path)
        #expect(try await store.identity() == DeviceID(rawValue: "tab-1"))
        #expect(try await store.changeCount() == 1)
        await store.close()
        #expect(try Self.tables(path).isDisjoint(with: Schema.directoryTables))
    }

    /// A file whose directory has rows is a server's, whatever else it says: it is refused as a
    /// device store and left as it was.
    @Test func aFileWithADirectoryIsNotTakenForADevice() async throws {
        let dir = TemporaryDirectory()
        let path = dir.path("old.sqlite")
        try await Self.makeOldDeviceFile(path, directoryRows: true)
        let before = fileFingerprint(path)
        do {
            _ = try SQLiteStore(path: path)
            Issue.record("a file holding a directory opened as a device store")
        } catch { #expect(error.code == .wrongStore && error.message.contains("devices")) }
        #expect(fileFingerprint(path) == before)
    }

    /// Writes what a device file of schema 10 looked like: the directory tables beside the log.
    static func makeOldDeviceFile(_ path: String, directoryRows: Bool) async throws {
        let store = try SQLiteStore(path: path)
        try await store.setIdentity(DeviceID(rawValue: "tab-1")!)
        _ = try await store.write(
            [.create(county: "kisumu")], to: ReportID(rawValue: "r-1")!, county: "kisumu", wallMillis: 1)
        await store.close()
        let db = try SQLiteConnection(path: path)
        defer { db.close() }
        for migration in Schema.migrations {
            if let sql = migration.directory { try db.execute(sql) }
        }
        if directoryRows {
            try db.execute("INSERT INTO devices VALUES ('tab-2', 'kisumu', NULL, NULL, 'active', 0, 0)")
        }
        try undoScorecardColumns(db)
        try db.execute("DELETE FROM meta WHERE key = 'store_role'; PRAGMA user_version = 10")
    }

    /// Takes a file back to before migration 13 (the scorecard's columns; and 15's tags).
    static func undoScorecardColumns(_ db: SQLiteConnection) throws {
        try db.execute("DROP INDEX reports_by_created")
        for column in ["created_ms", "ward", "ack_ms", "closed_ms", "reopened_ms", "tags"] {
            try db.execute("ALTER TABLE reports DROP COLUMN \(column)")
        }
    }
}
