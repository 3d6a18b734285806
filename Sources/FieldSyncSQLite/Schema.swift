import FieldSyncCore
import FieldSyncStore

/// The versioned schema of a FieldSync SQLite store. Each migration runs once, in order, in a
/// transaction; the applied version is kept in `PRAGMA user_version`. A migration has a part for
/// the log tables, which every store holds, and a part for the server's directory (devices,
/// enrollments, operators, its signing identity, the audit log, device health), which only a
/// server store holds: a device file holds device tables only.
enum Schema {
    /// One schema version's statements.
    struct Migration {
        /// For every store: logs, merged reports, conflicts, cursors, refusals, settings.
        var log: String?
        /// For a server store only: the directory.
        var directory: String?
    }

    /// The migrations; index `i` upgrades version `i` to `i + 1`.
    static let migrations: [Migration] = [
        // 1: logs, materialized reports, conflict log, cursors.
        Migration(
            log: """
                CREATE TABLE meta(
                    key TEXT PRIMARY KEY,
                    value TEXT NOT NULL
                ) STRICT;
                -- Every change held, in arrival order. `arrival` is the pull cursor; `body` is the
                -- change's canonical binary form (protocol/binary.md).
                CREATE TABLE changes(
                    arrival INTEGER PRIMARY KEY,
                    device TEXT NOT NULL,
                    seq INTEGER NOT NULL CHECK (seq >= 1),
                    report TEXT NOT NULL,
                    county TEXT NOT NULL,
                    hlc_ms INTEGER NOT NULL,
                    hlc_c INTEGER NOT NULL,
                    body BLOB NOT NULL,
                    UNIQUE(device, seq)
                ) STRICT;
                CREATE INDEX changes_by_county ON changes(county, arrival);
                CREATE INDEX changes_by_report ON changes(report, arrival);
                -- Each device's log: the highest sequence number held.
                CREATE TABLE device_logs(
                    device TEXT PRIMARY KEY,
                    highest_seq INTEGER NOT NULL,
                    change_count INTEGER NOT NULL
                ) STRICT, WITHOUT ROWID;
                -- The merged head of every report, with columns for filtering.
                CREATE TABLE reports(
                    id TEXT PRIMARY KEY,
                    county TEXT NOT NULL,
                    lifecycle TEXT NOT NULL,
                    status TEXT,
                    service_code TEXT,
                    updated_ms INTEGER NOT NULL,
                    updated_c INTEGER NOT NULL,
                    head BLOB NOT NULL
                ) STRICT, WITHOUT ROWID;
                CREATE INDEX reports_by_county ON reports(county, updated_ms);
                CREATE TABLE notes(
                    report TEXT NOT NULL,
                    device TEXT NOT NULL,
                    seq INTEGER NOT NULL,
                    hlc_ms INTEGER NOT NULL,
                    hlc_c INTEGER NOT NULL,
                    text TEXT NOT NULL,
                    PRIMARY KEY(report, device, seq)
                ) STRICT, WITHOUT ROWID;
                CREATE TABLE media(
                    report TEXT NOT NULL,
                    sha256 TEXT NOT NULL,
                    device TEXT NOT NULL,
                    seq INTEGER NOT NULL,
                    content_type TEXT NOT NULL,
                    size INTEGER NOT NULL,
                    PRIMARY KEY(report, sha256)
                ) STRICT, WITHOUT ROWID;
                -- The conflict log: one open row per (report, field) in conflict, one row per resolution.
                CREATE TABLE conflicts(
                    id TEXT PRIMARY KEY,
                    report TEXT NOT NULL,
                    county TEXT NOT NULL,
                    field TEXT NOT NULL,
                    open INTEGER NOT NULL,
                    arrival INTEGER NOT NULL,
                    body BLOB NOT NULL
                ) STRICT, WITHOUT ROWID;
                CREATE INDEX conflicts_by_county ON conflicts(county, open, arrival);
                CREATE INDEX conflicts_by_report ON conflicts(report);
                -- Sync positions: how far this store has pulled from (or pushed to) each peer.
                CREATE TABLE cursors(
                    peer TEXT PRIMARY KEY,
                    position INTEGER NOT NULL
                ) STRICT, WITHOUT ROWID;
                -- Changes refused because they contradict stored ones (reused dots), kept for operators.
                CREATE TABLE refusals(
                    id INTEGER PRIMARY KEY,
                    at_ms INTEGER NOT NULL,
                    device TEXT NOT NULL,
                    seq INTEGER NOT NULL,
                    code TEXT NOT NULL,
                    message TEXT NOT NULL,
                    body BLOB NOT NULL
                ) STRICT;
                """
        ),
        // 2: signatures, search, conflict times; the server's directory of devices and operators.
        Migration(
            log: """
                ALTER TABLE changes ADD COLUMN sig BLOB;
                ALTER TABLE reports ADD COLUMN search TEXT NOT NULL DEFAULT '';
                ALTER TABLE conflicts ADD COLUMN at_ms INTEGER NOT NULL DEFAULT 0;
                """,
            directory: """
                -- Enrolled devices. Bearer tokens are stored only as SHA-256 hashes.
                CREATE TABLE devices(
                    id TEXT PRIMARY KEY,
                    county TEXT NOT NULL,
                    public_key BLOB,
                    token_hash BLOB UNIQUE,
                    status TEXT NOT NULL CHECK (status IN ('enrolling', 'active', 'revoked')),
                    created_ms INTEGER NOT NULL,
                    updated_ms INTEGER NOT NULL
                ) STRICT, WITHOUT ROWID;
                CREATE INDEX devices_by_county ON devices(county);
                -- One-time enrollment tokens (hashed), each for one device id in one county.
                CREATE TABLE enrollments(
                    token_hash BLOB PRIMARY KEY,
                    device_id TEXT NOT NULL,
                    county TEXT NOT NULL,
                    expires_ms INTEGER NOT NULL,
                    used_ms INTEGER
                ) STRICT, WITHOUT ROWID;
                -- Operators and admins; `counties` is a comma-separated list ('*' for all).
                CREATE TABLE operators(
                    id TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    role TEXT NOT NULL CHECK (role IN ('operator', 'admin')),
                    counties TEXT NOT NULL,
                    token_hash BLOB NOT NULL UNIQUE,
                    revoked INTEGER NOT NULL DEFAULT 0,
                    created_ms INTEGER NOT NULL
                ) STRICT, WITHOUT ROWID;
                -- The server's own signing identity (it authors operators' resolutions).
                CREATE TABLE server_identity(
                    key TEXT PRIMARY KEY,
                    value BLOB NOT NULL
                ) STRICT, WITHOUT ROWID;
                """
        ),
        // 3: report heads and open conflicts are flushed lazily; `heads_through` is the arrival
        // position they reflect (stores written before this kept them current at every commit).
        Migration(
            log: """
                INSERT OR REPLACE INTO meta(key, value) VALUES ('heads_through', (SELECT coalesce(max(arrival), 0) FROM changes));
                """
        ),
        // 4: the by-report index of the log is written lazily too, with the heads: an index on
        // `changes(report, arrival)` dirtied pages all over the file at every commit (report ids
        // are random), which cost more than the log itself.
        Migration(
            log: """
                DROP INDEX changes_by_report;
                CREATE TABLE report_changes(
                    report TEXT NOT NULL,
                    arrival INTEGER NOT NULL,
                    PRIMARY KEY(report, arrival)
                ) STRICT, WITHOUT ROWID;
                INSERT INTO report_changes(report, arrival)
                    SELECT report, arrival FROM changes WHERE arrival <= (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'heads_through');
                """
        ),
        // 5: signed runs — `sig` on a run's last change covers `sig_run` changes of its author
        // ending there (NULL = 1); the changes inside a run hold no signature of their own.
        Migration(
            log: """
                ALTER TABLE changes ADD COLUMN sig_run INTEGER CHECK (sig_run IS NULL OR sig_run BETWEEN 2 AND 1000);
                """
        ),
        // 6: the refusals quarantine is bounded — one record per refused dot and code (a refusal
        // seen again bumps `times`), the sender (`via`) and county for per-device bounds and
        // scoped reads, what it depends on; refusals over the bounds are counted in
        // `refusal_overflow`, not stored. On a device, the same table holds changes set aside.
        Migration(
            log: """
                ALTER TABLE refusals ADD COLUMN via TEXT;
                ALTER TABLE refusals ADD COLUMN county TEXT;
                ALTER TABLE refusals ADD COLUMN depends_on TEXT;
                ALTER TABLE refusals ADD COLUMN times INTEGER NOT NULL DEFAULT 1;
                DELETE FROM refusals WHERE id NOT IN (SELECT min(id) FROM refusals GROUP BY device, seq, code);
                UPDATE refusals SET body = x'' WHERE length(body) > 65536;
                CREATE UNIQUE INDEX refusals_by_dot ON refusals(device, seq, code);
                CREATE INDEX refusals_by_via ON refusals(via);
                CREATE TABLE refusal_overflow(
                    via TEXT PRIMARY KEY,
                    dropped INTEGER NOT NULL
                ) STRICT, WITHOUT ROWID;
                """
        ),
        // 7: operator and admin tokens can expire and be revoked (when).
        Migration(
            directory: """
                ALTER TABLE operators ADD COLUMN expires_ms INTEGER;
                ALTER TABLE operators ADD COLUMN revoked_ms INTEGER;
                """
        ),
        // 8: the audit log of administrative and operator actions, append-only.
        Migration(
            directory: """
                CREATE TABLE audit(
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    at_ms INTEGER NOT NULL,
                    actor TEXT NOT NULL,
                    role TEXT NOT NULL,
                    address TEXT NOT NULL,
                    action TEXT NOT NULL,
                    county TEXT,
                    subject TEXT NOT NULL,
                    detail TEXT NOT NULL
                ) STRICT;
                CREATE INDEX audit_by_county ON audit(county, id);
                CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
                CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
                """
        ),
        // 9: device health: the last successful sync, the last failure's code, the client.
        Migration(
            directory: """
                CREATE TABLE device_health(
                    id TEXT PRIMARY KEY,
                    last_sync_ms INTEGER,
                    last_error TEXT,
                    last_error_ms INTEGER,
                    client TEXT
                ) STRICT, WITHOUT ROWID;
                """
        ),
        // 10: the changes a device said it still held for the server at its last sync.
        Migration(
            directory: """
                ALTER TABLE device_health ADD COLUMN pending INTEGER;
                """
        ),
        // 11: device files hold device tables only. Files created before this carried an empty
        // copy of the server's directory; `dropDeviceDirectory` removes it from device files.
        Migration(log: nil, directory: nil),
        // 12: every version of each county's service catalogue; Open311 client keys (hashed).
        Migration(
            directory: """
                CREATE TABLE catalogues(
                    county TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    at_ms INTEGER NOT NULL,
                    by TEXT NOT NULL,
                    body BLOB NOT NULL,
                    PRIMARY KEY(county, version)
                ) STRICT, WITHOUT ROWID;
                CREATE TABLE open311_keys(
                    id TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    county TEXT NOT NULL,
                    key_hash BLOB NOT NULL UNIQUE,
                    created_ms INTEGER NOT NULL,
                    revoked_ms INTEGER
                ) STRICT;
                """
        ),
        // 13: the scorecard's figures in each report's row (received, ward, status times), with
        // an index that answers a county's period from the index alone. Rows written before are
        // filled from their reports' histories (`SQLiteStore.restoreStatusTimes`).
        Migration(
            log: """
                ALTER TABLE reports ADD COLUMN created_ms INTEGER;
                ALTER TABLE reports ADD COLUMN ward TEXT;
                ALTER TABLE reports ADD COLUMN ack_ms INTEGER;
                ALTER TABLE reports ADD COLUMN closed_ms INTEGER;
                ALTER TABLE reports ADD COLUMN reopened_ms INTEGER;
                CREATE INDEX reports_by_created ON reports(
                    county, created_ms, service_code, ward, updated_ms, ack_ms, closed_ms, reopened_ms, lifecycle, status);
                """
        ),
        // 14: operators' console sessions (the id's hash; the id is only in the cookie).
        Migration(
            directory: """
                CREATE TABLE console_sessions(
                    id_hash BLOB PRIMARY KEY,
                    operator TEXT NOT NULL,
                    csrf TEXT NOT NULL,
                    created_ms INTEGER NOT NULL,
                    expires_ms INTEGER NOT NULL
                ) STRICT, WITHOUT ROWID;
                CREATE INDEX console_sessions_by_operator ON console_sessions(operator);
                """
        ),
        // 15: each report's live tags, space-delimited (` a b `), for the console's tag filter;
        // filled from the heads (`SQLiteStore.restoreTags`).
        Migration(log: "ALTER TABLE reports ADD COLUMN tags TEXT NOT NULL DEFAULT '';"),
    ]

    /// The version a fully migrated store has.
    static var currentVersion: Int64 { Int64(migrations.count) }

    /// The tables only a server store holds.
    static let directoryTables = [
        "devices", "enrollments", "operators", "server_identity", "audit", "device_health", "console_sessions",
    ]

    /// Brings the database to the current version for a store of `role`, after checking that the
    /// file is a store of that role.
    static func migrate(_ db: SQLiteConnection, role: SQLiteStore.Role) throws(FieldSyncError) {
        let version = try db.scalar("PRAGMA user_version") ?? 0
        guard version <= currentVersion else {
            throw FieldSyncError(
                .schemaTooNew,
                "database '\(db.path)' has schema version \(version), but this build knows only up to \(currentVersion); upgrade FieldSync before opening it"
            )
        }
        if version > 0 { try checkRole(db, role: role) }
        for v in Int(version)..<migrations.count {
            try db.transaction { () throws(FieldSyncError) in
                if let sql = migrations[v].log { try db.execute(sql) }
                if role == .server, let sql = migrations[v].directory { try db.execute(sql) }
                if v + 1 == 11, role == .device { try dropDeviceDirectory(db) }
                if v + 1 == 13 { try SQLiteStore.restoreStatusTimes(db) }
                if v + 1 == 15 { try SQLiteStore.restoreTags(db) }
                try db.execute("PRAGMA user_version = \(v + 1)")
            }
        }
        try db.statement("INSERT OR IGNORE INTO meta(key, value) VALUES ('store_role', ?)").bind(.text(role.rawValue))
            .run()
    }

    /// Refuses a file that is a store of the other role (as written in it; files made before
    /// schema 11 say nothing, and a device file among them is checked when its directory goes).
    private static func checkRole(_ db: SQLiteConnection, role: SQLiteStore.Role) throws(FieldSyncError) {
        defer { db.resetBusyStatements() }
        let s = try db.statement("SELECT key, value FROM meta WHERE key IN ('store_role', 'device_id')")
        var meta: [String: String] = [:]
        while try s.step() { meta[s.text(0)] = s.text(1) }
        let stored = meta["store_role"].flatMap(SQLiteStore.Role.init(rawValue:))
        if stored == .server && role == .device {
            throw FieldSyncError(
                .wrongStore,
                "'\(db.path)' is a server database (fieldsyncd's); a device store is a file of its own: give fieldsync a new --store path"
            )
        }
        if stored == .device && role == .server {
            throw FieldSyncError(
                .wrongStore,
                "'\(db.path)' is a device's store\(meta["device_id"].map { " (\($0))" } ?? ""); the server's database is a file of its own: give fieldsyncd a new --db path"
            )
        }
    }

    /// Removes the empty copy of the server's directory that device files made before migration
    /// 11 carried; a file whose directory has rows is a server's database and is refused.
    private static func dropDeviceDirectory(_ db: SQLiteConnection) throws(FieldSyncError) {
        for table in directoryTables {
            let exists = try db.scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '\(table)'")
            guard exists == 1 else { continue }
            if let rows = try db.scalar("SELECT count(*) FROM \(table)"), rows > 0 {
                throw FieldSyncError(
                    .wrongStore,
                    "'\(db.path)' holds a server's directory (\(rows) rows in \(table)); open it with fieldsyncd, not as a device store"
                )
            }
            try db.execute("DROP TABLE \(table)")
        }
    }
}
