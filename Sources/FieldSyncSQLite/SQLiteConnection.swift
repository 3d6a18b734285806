import CSQLite
import FieldSyncCore
import FieldSyncStore
import Foundation

/// One open SQLite database file, with a cache of prepared statements.
///
/// Not thread-safe on its own: exactly one owner (the `SQLiteStore` actor) uses it.
final class SQLiteConnection {
    private(set) var handle: OpaquePointer?
    private var cache: [String: SQLiteStatement] = [:]
    let path: String

    /// Opens (creating if needed) the database file at `path`.
    init(path: String) throws(FieldSyncError) {
        self.path = path
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(db)
            throw FieldSyncError(
                .storage, "cannot open database '\(path)': \(message); check that the directory exists and is writable")
        }
        handle = db
        // Stores hold personal data and (on a server) the signing key and token hashes: owner
        // only. SQLite creates the WAL and shared-memory files with the database file's mode.
        for file in [path, path + "-wal", path + "-shm"] where FileManager.default.fileExists(atPath: file) {
            chmod(file, 0o600)
        }
        sqlite3_busy_timeout(db, 5_000)
        sqlite3_extended_result_codes(db, 1)
    }

    deinit { close() }

    /// Finalizes every statement and closes the file.
    func close() {
        for s in cache.values { s.finalize() }
        cache.removeAll()
        if let handle { sqlite3_close_v2(handle) }
        handle = nil
    }

    /// Runs one or more statements that return no rows.
    func execute(_ sql: String) throws(FieldSyncError) {
        var error: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &error)
        if rc != SQLITE_OK {
            let message = error.map { String(cString: $0) } ?? lastError
            sqlite3_free(error)
            throw FieldSyncError(.storage, "database error (\(rc)): \(message)")
        }
    }

    /// A prepared statement for `sql`, reused across calls (reset and unbound).
    func statement(_ sql: String) throws(FieldSyncError) -> SQLiteStatement {
        if let s = cache[sql] {
            s.reset()
            return s
        }
        var raw: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &raw, nil)
        guard rc == SQLITE_OK, let raw else {
            throw FieldSyncError(.storage, "cannot prepare statement (\(rc)): \(lastError)")
        }
        let s = SQLiteStatement(raw, connection: self)
        cache[sql] = s
        return s
    }

    /// Runs `body` in an immediate transaction: committed if it returns, rolled back if it throws.
    func transaction<T>(_ body: () throws(FieldSyncError) -> T) throws(FieldSyncError) -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            resetBusyStatements()
            try execute("COMMIT")
            return result
        } catch {
            resetBusyStatements()
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Resets statements left mid-result, so that they hold no read snapshot or lock.
    func resetBusyStatements() {
        for s in cache.values { s.resetIfBusy() }
    }

    /// Rows changed by the last statement.
    var changes: Int { Int(sqlite3_changes(handle)) }

    /// The last error message.
    var lastError: String { handle.map { String(cString: sqlite3_errmsg($0)) } ?? "database is closed" }

    /// A single integer from a query (for pragmas and counts).
    /// The statement is reset before returning, so that it holds no read snapshot.
    func scalar(_ sql: String) throws(FieldSyncError) -> Int64? {
        let s = try statement(sql)
        defer { s.reset() }
        return try s.step() ? s.int64(0) : nil
    }
}

/// A prepared statement. Bind with 1-based indexes, step, read 0-based columns.
final class SQLiteStatement {
    private var raw: OpaquePointer?
    private unowned let connection: SQLiteConnection
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    init(_ raw: OpaquePointer, connection: SQLiteConnection) {
        self.raw = raw
        self.connection = connection
    }

    func finalize() {
        sqlite3_finalize(raw)
        raw = nil
    }

    func reset() {
        sqlite3_reset(raw)
        sqlite3_clear_bindings(raw)
    }

    func resetIfBusy() {
        if sqlite3_stmt_busy(raw) != 0 { sqlite3_reset(raw) }
    }

    @discardableResult
    func bind(_ values: SQLiteValue...) -> SQLiteStatement {
        for (i, v) in values.enumerated() { bind(v, at: Int32(i + 1)) }
        return self
    }

    func bind(_ value: SQLiteValue, at index: Int32) {
        switch value {
        case .null: sqlite3_bind_null(raw, index)
        case .int(let i): sqlite3_bind_int64(raw, index, i)
        case .text(let s): sqlite3_bind_text(raw, index, s, -1, SQLiteStatement.transient)
        case .blob(let d):
            d.withUnsafeBytes { p in
                _ = sqlite3_bind_blob(raw, index, p.baseAddress, Int32(p.count), SQLiteStatement.transient)
            }
        }
    }

    /// Steps once: `true` if a row is available, `false` when done.
    func step() throws(FieldSyncError) -> Bool {
        let rc = sqlite3_step(raw)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            throw FieldSyncError(.storage, "database error (\(rc)): \(connection.lastError)")
        }
    }

    /// Steps to completion, for statements that return no rows.
    func run() throws(FieldSyncError) {
        while try step() {}
    }

    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(raw, column) }
    var columnCount: Int32 { sqlite3_column_count(raw) }

    /// A column's value in a canonical byte form (its type, then its value), for snapshots.
    func canonicalBytes(_ column: Int32) -> Data {
        switch sqlite3_column_type(raw, column) {
        case SQLITE_INTEGER: return Data("i\(int64(column));".utf8)
        case SQLITE_FLOAT: return Data("f\(sqlite3_column_double(raw, column).bitPattern);".utf8)
        case SQLITE_TEXT: let t = blob(column); return Data("t\(t.count):".utf8) + t
        case SQLITE_BLOB: let b = blob(column); return Data("b\(b.count):".utf8) + b
        default: return Data("n;".utf8)
        }
    }
    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(raw, column) == SQLITE_NULL }

    func text(_ column: Int32) -> String {
        guard let p = sqlite3_column_text(raw, column) else { return "" }
        return String(cString: p)
    }

    func blob(_ column: Int32) -> Data {
        let n = Int(sqlite3_column_bytes(raw, column))
        guard n > 0, let p = sqlite3_column_blob(raw, column) else { return Data() }
        return Data(bytes: p, count: n)
    }

    /// Whether the blob in `column` equals `data`, without copying it.
    func blobEquals(_ column: Int32, _ data: Data) -> Bool {
        let n = Int(sqlite3_column_bytes(raw, column))
        guard n == data.count else { return false }
        guard n > 0, let p = sqlite3_column_blob(raw, column) else { return true }
        return data.withUnsafeBytes { memcmp($0.baseAddress!, p, n) == 0 }
    }
}

/// A value bound to a statement parameter.
enum SQLiteValue {
    case null
    case int(Int64)
    case text(String)
    case blob(Data)
}

extension SQLiteConnection {
    /// The rowid of the last inserted row.
    var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }
}
