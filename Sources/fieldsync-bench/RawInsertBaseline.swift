import FieldSyncCore
import FieldSyncStore
import Foundation

/// The yardstick for persisted ingest: the same rows inserted raw through SQLite's C API into a
/// table with the same UNIQUE(device, seq) index, same batches, same fsync per commit.
enum RawInsertBaseline {
    /// Inserts every change's row and returns the seconds it took.
    static func run(path: String, batches: [[Change]]) throws -> Double {
        // Encode outside the timed part: the baseline measures SQLite alone, with the same bodies.
        let rows = batches.map {
            $0.map { c in
                (c.dot.device.rawValue, Int64(c.dot.seq), c.report.rawValue, c.county, ChangeCodec.encodeData(c))
            }
        }
        let table = try RawTable(path: path)
        let start = DispatchTime.now()
        for b in rows { try table.insert(b) }
        return Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }
}

import CSQLite

/// A bare table `(device, seq, report, county, body)` with UNIQUE(device, seq), written with one
/// prepared statement in WAL mode with synchronous=FULL — the server store's settings.
final class RawTable {
    private var db: OpaquePointer?
    private var insert: OpaquePointer?

    init(path: String) throws {
        guard sqlite3_open(path, &db) == SQLITE_OK else { throw BenchError("cannot open \(path)") }
        try exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")
        try exec(
            "CREATE TABLE changes(arrival INTEGER PRIMARY KEY, device TEXT NOT NULL, seq INTEGER NOT NULL, report TEXT NOT NULL, county TEXT NOT NULL, body BLOB NOT NULL, UNIQUE(device, seq))"
        )
        guard
            sqlite3_prepare_v2(
                db, "INSERT INTO changes(device, seq, report, county, body) VALUES (?, ?, ?, ?, ?)", -1, &insert, nil)
                == SQLITE_OK
        else {
            throw BenchError("prepare failed")
        }
    }

    deinit {
        sqlite3_finalize(insert)
        sqlite3_close(db)
    }

    func exec(_ sql: String) throws {
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else {
            throw BenchError(String(cString: sqlite3_errmsg(db)))
        }
    }

    func insert(_ rows: [(String, Int64, String, String, Data)]) throws {
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        try exec("BEGIN IMMEDIATE")
        for (device, seq, report, county, body) in rows {
            sqlite3_bind_text(insert, 1, device, -1, transient)
            sqlite3_bind_int64(insert, 2, seq)
            sqlite3_bind_text(insert, 3, report, -1, transient)
            sqlite3_bind_text(insert, 4, county, -1, transient)
            _ = body.withUnsafeBytes { sqlite3_bind_blob(insert, 5, $0.baseAddress, Int32($0.count), transient) }
            guard sqlite3_step(insert) == SQLITE_DONE else { throw BenchError(String(cString: sqlite3_errmsg(db))) }
            sqlite3_reset(insert)
        }
        try exec("COMMIT")
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
