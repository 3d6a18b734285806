public import FieldSyncCore
import Foundation

/// Where a `PostgresStore` connects: parsed from a URL such as
/// `postgres://fieldsync:secret@db.internal:5432/fieldsync?sslmode=require&pool=16&schema=public`.
public struct PostgresStoreConfiguration: Sendable, Hashable {
    /// Transport security to the database.
    public enum TLS: String, Sendable, Hashable {
        /// Plain TCP (loopback or a private network only).
        case disable
        /// TLS if the server offers it.
        case prefer
        /// TLS, with the server's certificate verified.
        case require
    }

    /// Host name or address.
    public var host: String
    /// Port.
    public var port: Int
    /// Role to log in as.
    public var user: String
    /// Its password, if the server asks for one.
    public var password: String?
    /// Database name.
    public var database: String
    /// The schema FieldSync's tables live in (its `search_path`).
    public var schema: String
    /// Transport security.
    public var tls: TLS
    /// Connections this process may open (each daemon has its own pool).
    public var poolSize: Int

    /// Parses a `postgres://` (or `postgresql://`) URL. Query parameters: `sslmode`
    /// (`disable`, `prefer`, `require`, `verify-full`; default `disable`), `pool` (1–200,
    /// default 10), `schema` (default `public`).
    public init(url string: String) throws(FieldSyncError) {
        guard let url = URLComponents(string: string), ["postgres", "postgresql"].contains(url.scheme ?? ""),
            let host = url.host, !host.isEmpty
        else {
            throw FieldSyncError(
                .invalidRequest,
                "the PostgreSQL URL must look like postgres://USER:PASSWORD@HOST:PORT/DATABASE (got something else); see docs/operations.md"
            )
        }
        let path = url.path.hasPrefix("/") ? String(url.path.dropFirst()) : url.path
        self.host = host
        port = url.port ?? 5432
        user = url.user ?? "fieldsync"
        password = url.password
        database = path.isEmpty ? user : path
        var query: [String: String] = [:]
        for item in url.queryItems ?? [] { query[item.name] = item.value ?? "" }
        schema = query["schema"] ?? "public"
        guard schema.range(of: "^[a-z_][a-z0-9_]{0,62}$", options: .regularExpression) != nil else {
            throw FieldSyncError(
                .invalidRequest, "schema '\(schema.prefix(64))' must be a lower-case SQL identifier (a–z, 0–9, _)")
        }
        switch query["sslmode"] ?? "disable" {
        case "disable": tls = .disable
        case "prefer", "allow": tls = .prefer
        case "require", "verify-ca", "verify-full": tls = .require
        case let other:
            throw FieldSyncError(
                .invalidRequest, "sslmode '\(other.prefix(20))' is not known; use disable, prefer or require")
        }
        guard let pool = Int(query["pool"] ?? "10"), (1...200).contains(pool) else {
            throw FieldSyncError(.invalidRequest, "pool must be a number of connections from 1 to 200")
        }
        poolSize = pool
    }

    /// The URL without its password, for logs.
    public var redacted: String {
        "postgres://\(user)@\(host):\(port)/\(database)?schema=\(schema)&sslmode=\(tls.rawValue)&pool=\(poolSize)"
    }
}
