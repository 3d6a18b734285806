/// The versioned schema of a FieldSync PostgreSQL database: the same concepts as the SQLite
/// store's (`FieldSyncStore/Schema.swift`) plus what several daemons committing at once need —
/// a staging order for the log, a published pull order, and lock rows for reports.
///
/// Each migration is a list of statements run in one transaction under an advisory lock, so two
/// daemons starting together migrate once. Text keys use the "C" collation so that every
/// ordering is bytewise, as in SQLite.
enum PostgresSchema {
    /// The advisory lock key held while migrating.
    static let migrationLock: Int64 = 0x4653_5F4D_4947  // "FS_MIG"
    /// How many lock rows reports are hashed onto (see `PostgresStore.bucket(of:)`).
    static let reportLockBuckets = 4096

    /// The migrations; index `i` upgrades version `i` to `i + 1`.
    static let migrations: [[String]] = [
        [
            """
            CREATE TABLE fs_meta(
                key text COLLATE "C" PRIMARY KEY,
                value text NOT NULL
            )
            """,
            // Every change held. `stage` is taken when a transaction inserts the change, after
            // it holds its reports' locks, so it follows causality within a report; `arrival` is
            // the pull order, assigned after commit by `publish()` one publisher at a time, so
            // it is gap-free and never assigned below a position a reader has seen.
            """
            CREATE TABLE changes(
                stage bigserial PRIMARY KEY,
                arrival bigint UNIQUE,
                device text COLLATE "C" NOT NULL,
                seq bigint NOT NULL CHECK (seq >= 1),
                report text COLLATE "C" NOT NULL,
                county text COLLATE "C" NOT NULL,
                hlc_ms bigint NOT NULL,
                hlc_c bigint NOT NULL,
                body bytea NOT NULL,
                sig bytea,
                sig_run integer CHECK (sig_run IS NULL OR sig_run BETWEEN 2 AND 1000),
                UNIQUE(device, seq)
            )
            """,
            "CREATE INDEX changes_unpublished ON changes(stage) WHERE arrival IS NULL",
            "CREATE INDEX changes_by_county ON changes(county, arrival)",
            "CREATE INDEX changes_by_report ON changes(report, stage)",
            // The last published pull position; its row lock makes publishers take turns.
            """
            CREATE TABLE publish_state(
                id integer PRIMARY KEY CHECK (id = 1),
                last_arrival bigint NOT NULL
            )
            """,
            "INSERT INTO publish_state(id, last_arrival) VALUES (1, 0)",
            // One publish in one round trip (protocol/concurrency.md). Returns how many changes
            // it numbered, or -1 if another publisher holds the lock (that one looks again
            // after it commits). In a VOLATILE function each statement takes a new snapshot, so
            // the numbering sees every position the previous publisher assigned.
            """
            CREATE FUNCTION fieldsync_publish() RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
            DECLARE
                base bigint;
                published bigint;
            BEGIN
                SELECT last_arrival INTO base FROM publish_state WHERE id = 1 FOR UPDATE SKIP LOCKED;
                IF NOT FOUND THEN
                    RETURN -1;
                END IF;
                WITH todo AS (
                    SELECT stage, row_number() OVER (ORDER BY stage) AS position FROM changes WHERE arrival IS NULL
                ), numbered AS (
                    UPDATE changes c SET arrival = base + todo.position FROM todo WHERE c.stage = todo.stage RETURNING 1
                )
                SELECT count(*) INTO published FROM numbered;
                IF published > 0 THEN
                    UPDATE publish_state SET last_arrival = base + published WHERE id = 1;
                END IF;
                RETURN published;
            END
            $$
            """,
            // Lock rows: an ingest locks the buckets of its reports (in order) for the length of
            // its transaction. Row locks, not advisory locks: they use no shared lock table slots.
            "CREATE TABLE report_locks(bucket integer PRIMARY KEY)",
            "INSERT INTO report_locks(bucket) SELECT generate_series(0, \(reportLockBuckets - 1))",
            """
            CREATE TABLE device_logs(
                device text COLLATE "C" PRIMARY KEY,
                highest_seq bigint NOT NULL,
                change_count bigint NOT NULL
            )
            """,
            """
            CREATE TABLE reports(
                id text COLLATE "C" PRIMARY KEY,
                county text COLLATE "C" NOT NULL,
                lifecycle text NOT NULL,
                status text,
                service_code text,
                updated_ms bigint NOT NULL,
                updated_c bigint NOT NULL,
                head bytea NOT NULL,
                search text NOT NULL DEFAULT ''
            )
            """,
            "CREATE INDEX reports_by_county ON reports(county, updated_ms)",
            """
            CREATE TABLE notes(
                report text COLLATE "C" NOT NULL,
                device text COLLATE "C" NOT NULL,
                seq bigint NOT NULL,
                hlc_ms bigint NOT NULL,
                hlc_c bigint NOT NULL,
                text text NOT NULL,
                PRIMARY KEY(report, device, seq)
            )
            """,
            """
            CREATE TABLE media(
                report text COLLATE "C" NOT NULL,
                sha256 text COLLATE "C" NOT NULL,
                device text COLLATE "C" NOT NULL,
                seq bigint NOT NULL,
                content_type text NOT NULL,
                size bigint NOT NULL,
                PRIMARY KEY(report, sha256)
            )
            """,
            """
            CREATE TABLE conflicts(
                id text COLLATE "C" PRIMARY KEY,
                report text COLLATE "C" NOT NULL,
                county text COLLATE "C" NOT NULL,
                field text COLLATE "C" NOT NULL,
                open boolean NOT NULL,
                arrival bigint NOT NULL,
                body bytea NOT NULL,
                at_ms bigint NOT NULL
            )
            """,
            "CREATE INDEX conflicts_by_county ON conflicts(county, open, arrival)",
            "CREATE INDEX conflicts_by_report ON conflicts(report)",
            """
            CREATE TABLE refusals(
                id bigserial PRIMARY KEY,
                at_ms bigint NOT NULL,
                device text NOT NULL,
                seq bigint NOT NULL,
                code text NOT NULL,
                message text NOT NULL,
                body bytea NOT NULL
            )
            """,
            """
            CREATE TABLE devices(
                id text COLLATE "C" PRIMARY KEY,
                county text COLLATE "C" NOT NULL,
                public_key bytea,
                token_hash bytea UNIQUE,
                status text NOT NULL CHECK (status IN ('enrolling', 'active', 'revoked')),
                created_ms bigint NOT NULL,
                updated_ms bigint NOT NULL
            )
            """,
            "CREATE INDEX devices_by_county ON devices(county)",
            """
            CREATE TABLE enrollments(
                token_hash bytea PRIMARY KEY,
                device_id text NOT NULL,
                county text NOT NULL,
                expires_ms bigint NOT NULL,
                used_ms bigint
            )
            """,
            """
            CREATE TABLE operators(
                id text COLLATE "C" PRIMARY KEY,
                name text NOT NULL,
                role text NOT NULL CHECK (role IN ('operator', 'admin')),
                counties text NOT NULL,
                token_hash bytea NOT NULL UNIQUE,
                revoked boolean NOT NULL DEFAULT false,
                created_ms bigint NOT NULL
            )
            """,
            """
            CREATE TABLE server_identity(
                key text PRIMARY KEY,
                value bytea NOT NULL
            )
            """,
        ],
        // 2: the refusals quarantine is bounded (as SQLite's migration 6): one record per refused
        // dot and code, its sender and county, what it depends on, how many times it was seen;
        // refusals over the bounds are counted in refusal_overflow.
        [
            """
            ALTER TABLE refusals ADD COLUMN via text, ADD COLUMN county text, ADD COLUMN depends_on text,
                ADD COLUMN times integer NOT NULL DEFAULT 1
            """,
            "DELETE FROM refusals a USING refusals b WHERE a.device = b.device AND a.seq = b.seq AND a.code = b.code AND a.id > b.id",
            "UPDATE refusals SET body = ''::bytea WHERE length(body) > 65536",
            "CREATE UNIQUE INDEX refusals_by_dot ON refusals(device, seq, code)",
            "CREATE INDEX refusals_by_via ON refusals(via)",
            "CREATE TABLE refusal_overflow(via text PRIMARY KEY, dropped bigint NOT NULL)",
        ],
        // 3: operator and admin tokens can expire and be revoked (when).
        [
            "ALTER TABLE operators ADD COLUMN expires_ms bigint, ADD COLUMN revoked_ms bigint"
        ],
        // 4: the audit log of administrative and operator actions, append-only.
        [
            """
            CREATE TABLE audit(
                id bigserial PRIMARY KEY,
                at_ms bigint NOT NULL,
                actor text NOT NULL,
                role text NOT NULL,
                address text NOT NULL,
                action text NOT NULL,
                county text,
                subject text NOT NULL,
                detail text NOT NULL
            )
            """,
            "CREATE INDEX audit_by_county ON audit(county, id)",
            """
            CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$
            """,
            "CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit FOR EACH ROW EXECUTE FUNCTION audit_append_only()",
        ],
        // 5: device health: the last successful sync, the last failure's code, the client.
        [
            "CREATE TABLE device_health(id text PRIMARY KEY, last_sync_ms bigint, last_error text, last_error_ms bigint, client text)"
        ],
        // 6: the changes a device said it still held for the server at its last sync.
        ["ALTER TABLE device_health ADD COLUMN pending bigint"],
        // 7: media blobs by SHA-256, in the pieces they were uploaded in (a range read touches only
        // the pieces it needs); partial uploads in pieces as they arrive; purged blobs keep their row.
        [
            "CREATE TABLE blobs(sha256 text PRIMARY KEY, size bigint NOT NULL, purged_reason text, purged_ms bigint)",
            "CREATE TABLE blob_pieces(sha256 text NOT NULL, start bigint NOT NULL, data bytea NOT NULL, PRIMARY KEY(sha256, start))",
            """
            CREATE TABLE uploads(id text PRIMARY KEY, sha256 text NOT NULL, length bigint NOT NULL, device text NOT NULL,
                county text NOT NULL, content_type text NOT NULL, created_ms bigint NOT NULL, expires_ms bigint NOT NULL)
            """,
            "CREATE INDEX uploads_by_device ON uploads(device)",
            """
            CREATE TABLE upload_pieces(id text NOT NULL REFERENCES uploads(id) ON DELETE CASCADE, start bigint NOT NULL,
                data bytea NOT NULL, PRIMARY KEY(id, start))
            """,
        ],
        // 8: purges in the order devices are told of them; a blob never uploaded may be purged too.
        ["CREATE INDEX blobs_purged ON blobs(purged_ms, sha256 COLLATE \"C\") WHERE purged_ms IS NOT NULL"],
        // 9: every version of each county's service catalogue; Open311 client keys (hashed).
        [
            """
            CREATE TABLE catalogues(county text COLLATE "C" NOT NULL, version integer NOT NULL, at_ms bigint NOT NULL,
                by_whom text NOT NULL, body bytea NOT NULL, PRIMARY KEY(county, version))
            """,
            """
            CREATE TABLE open311_keys(id text PRIMARY KEY, name text NOT NULL, county text NOT NULL,
                key_hash bytea NOT NULL UNIQUE, created_ms bigint NOT NULL, revoked_ms bigint)
            """,
        ],
        // 10: the scorecard's figures in each report's row (received, ward, status times), with
        // an index that answers a county's period from the index alone. Rows written before are
        // filled from their reports' histories (`PostgresStore.restoreStatusTimes`).
        [
            """
            ALTER TABLE reports ADD COLUMN created_ms bigint, ADD COLUMN ward text, ADD COLUMN ack_ms bigint,
                ADD COLUMN closed_ms bigint, ADD COLUMN reopened_ms bigint
            """,
            """
            CREATE INDEX reports_by_created ON reports(county, created_ms)
                INCLUDE (service_code, ward, updated_ms, ack_ms, closed_ms, reopened_ms, lifecycle, status)
            """,
        ],
        // 11: operators' console sessions (the id's hash; the id is only in the cookie).
        [
            """
            CREATE TABLE console_sessions(id_hash bytea PRIMARY KEY, operator text NOT NULL, csrf text NOT NULL,
                created_ms bigint NOT NULL, expires_ms bigint NOT NULL)
            """,
            "CREATE INDEX console_sessions_by_operator ON console_sessions(operator)",
        ],
        // 12: each report's live tags, space-delimited (` a b `), for the console's tag filter;
        // filled from the heads (`PostgresStore.restoreTags`).
        ["ALTER TABLE reports ADD COLUMN tags text NOT NULL DEFAULT ''"],
    ]

    /// The version a fully migrated database has.
    static var currentVersion: Int { migrations.count }
}
