import FieldSyncCore
import Foundation
import Logging
import NIOCore
import NIOSSL
import PostgresNIO

/// Connecting at start: once, with a short timeout, and the reason in PostgreSQL's own words
/// (a wrong password, nothing listening, no TLS offered) instead of a pool's circuit breaker
/// tripping after a minute of silent retries.
extension PostgresStore {
    /// Seconds a daemon or command waits for PostgreSQL's first answer at start.
    public static let probeTimeoutSeconds: Int64 = 5

    /// Connects once and closes, or throws `storage_error` saying why PostgreSQL refused.
    static func probe(_ configuration: PostgresStoreConfiguration, logger: Logger) async throws(FieldSyncError) {
        let tls: PostgresConnection.Configuration.TLS
        do {
            switch configuration.tls {
            case .disable: tls = .disable
            case .prefer: tls = .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
            case .require: tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            }
        } catch {
            throw FieldSyncError(.storage, "cannot set up TLS for PostgreSQL: \(error)")
        }
        var c = PostgresConnection.Configuration(
            host: configuration.host, port: configuration.port, username: configuration.user,
            password: configuration.password, database: configuration.database, tls: tls)
        c.options.connectTimeout = .seconds(probeTimeoutSeconds)
        let target =
            "PostgreSQL at \(configuration.host):\(configuration.port) (database \(configuration.database), user \(configuration.user))"
        do {
            let connection = try await PostgresConnection.connect(configuration: c, id: 0, logger: logger)
            try? await connection.close()
        } catch let error as PSQLError {
            throw FieldSyncError(.storage, "cannot connect to \(target): \(explain(error, configuration))")
        } catch {
            throw FieldSyncError(.storage, "cannot connect to \(target): \(error)")
        }
    }

    /// PostgreSQL's reason, and what to check.
    static func explain(_ error: PSQLError, _ configuration: PostgresStoreConfiguration) -> String {
        if let info = error.serverInfo {
            let message = info[.message] ?? "refused"
            let state = info[.sqlState] ?? ""
            switch state {
            case "28P01", "28000": return "\(message) (SQLSTATE \(state)); check the user and password in the URL"
            case "3D000": return "\(message) (SQLSTATE \(state)); create it, or fix the database name in the URL"
            default: return "\(message) (SQLSTATE \(state))"
            }
        }
        switch error.code {
        case .sslUnsupported:
            return
                "the server does not offer TLS, and the URL says sslmode=require; enable ssl on the server, or use sslmode=disable on a private network"
        case .connectionError:
            let cause = error.underlying.map { "\($0)" } ?? "no connection"
            return "\(cause); is PostgreSQL running and listening on \(configuration.host):\(configuration.port)?"
        case .failedToAddSSLHandler:
            return
                "TLS could not be set up (\(error.underlying.map { "\($0)" } ?? "unknown reason")); check the server's certificate"
        default:
            return "\(error.code)\(error.underlying.map { ": \($0)" } ?? "")"
        }
    }
}
