public import Foundation

/// A signed-in operator's console session, as the store keeps it: the session id's hash is the
/// key (the id itself lives only in the operator's cookie), its CSRF token, and its lifetime.
/// Revoking the operator's token ends every session of theirs.
public struct ConsoleSession: Hashable, Sendable {
    /// The operator or admin signed in.
    public var operatorID: String
    /// The token every state-changing request of the session must carry.
    public var csrf: String
    /// When it began (milliseconds since 1970).
    public var createdMillis: UInt64
    /// When it ends.
    public var expiresMillis: UInt64

    /// A session.
    public init(operatorID: String, csrf: String, createdMillis: UInt64, expiresMillis: UInt64) {
        self.operatorID = operatorID
        self.csrf = csrf
        self.createdMillis = createdMillis
        self.expiresMillis = expiresMillis
    }
}
