public import FieldSyncCore
public import Foundation

/// One page of changes in arrival order, for pulls.
public struct ChangePage: Sendable {
    /// One change with its arrival position and signature.
    public struct Entry: Sendable, Hashable {
        /// Its position in the store's arrival order.
        public var arrival: Int64
        /// The change.
        public var change: Change
        /// Its author's signature, if the store has one.
        public var signature: Data?
        /// How many of the author's changes, ending with this one, `signature` covers.
        public var run: Int
        /// The change with its signature.
        public var signed: SignedChange { SignedChange(change: change, signature: signature, run: run) }

        /// Creates an entry.
        public init(arrival: Int64, change: Change, signature: Data?, run: Int = 1) {
            self.arrival = arrival
            self.change = change
            self.signature = signature
            self.run = run
        }
    }
    /// The changes, ascending by arrival.
    public var changes: [Entry]
    /// The position to resume from: the last arrival returned, or the request's cursor.
    public var cursor: Int64
    /// Whether more changes follow.
    public var hasMore: Bool

    /// Creates a page.
    public init(changes: [Entry], cursor: Int64, hasMore: Bool) {
        self.changes = changes
        self.cursor = cursor
        self.hasMore = hasMore
    }
}
