public import FieldSyncCore
public import FieldSyncStore
import FieldSyncSigning
import Foundation

/// The console's sessions: an operator or admin token exchanged for a session whose id lives only
/// in an HttpOnly cookie (stored as its hash), with a CSRF token for every form that changes
/// something. A session ends when it expires, when its operator signs out, or when their token is
/// revoked. Routes: `HTTPAPI+Console`.
extension SyncService {
    /// How long a console session lasts.
    public static let consoleSessionMillis: UInt64 = 8 * 3_600_000

    /// A session just begun: its id (for the cookie, never stored) and what the store keeps.
    public struct ConsoleSignIn: Sendable {
        /// The session id (`fss_…`).
        public var id: String
        /// The session.
        public var session: ConsoleSession
        /// Who signed in.
        public var record: OperatorRecord
    }

    /// Exchanges an operator or admin token for a console session. Failed attempts count against
    /// the caller's address as any sign-in does.
    public func consoleSignIn(token: String, client: String) async throws(FieldSyncError) -> ConsoleSignIn {
        let token = token.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...200).contains(token.utf8.count), !token.contains(where: \.isWhitespace) else {
            throw failedSignIn(FieldSyncError(.unauthorized, "that is not a token"), client: client)
        }
        let caller = try await authenticate("Bearer \(token)", client: client)
        guard case .operator(let op) = caller else {
            throw FieldSyncError(.forbidden, "a device token cannot sign in to the console: use an operator's token")
        }
        let id = Tokens.generate(prefix: "fss")
        let now = now()
        let session = ConsoleSession(
            operatorID: op.id, csrf: Tokens.generate(prefix: "csrf"), createdMillis: now,
            expiresMillis: now + Self.consoleSessionMillis)
        try await store.createConsoleSession(session, idHash: Tokens.hash(id))
        try await audit(.signIn, by: caller, from: client, county: nil, subject: op.id, detail: "console session")
        return ConsoleSignIn(id: id, session: session, record: op)
    }

    /// The session a cookie names, as the caller it signs in, or nil (unknown, expired, its token
    /// revoked or expired).
    public func consoleSession(_ id: String) async throws(FieldSyncError) -> (Principal, ConsoleSession)? {
        guard id.hasPrefix("fss_"), id.utf8.count <= 100 else { return nil }
        let now = now()
        guard let (session, op) = try await store.consoleSession(idHash: Tokens.hash(id), nowMillis: now),
            !op.revoked, !op.expired(at: now)
        else { return nil }
        return (.operator(op), session)
    }

    /// Ends a session (signing out).
    public func consoleSignOut(_ id: String, by caller: Principal, from client: String) async throws(FieldSyncError) {
        try await store.deleteConsoleSession(idHash: Tokens.hash(id))
        try await audit(
            .signOut, by: caller, from: client, county: nil, subject: caller.auditName.actor, detail: "console session")
    }
}
