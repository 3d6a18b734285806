/// How much of one device's log a store holds: its highest sequence number and how many of its
/// changes (fewer than `head` when some below it are missing, such as changes the server refused).
public struct LogExtent: Hashable, Sendable {
    /// The highest sequence number held.
    public var head: UInt64
    /// How many changes of the log are held.
    public var count: UInt64

    /// An extent.
    public init(head: UInt64, count: UInt64) {
        self.head = head
        self.count = count
    }

    /// Whether every change from 1 to `head` is held.
    public var isWhole: Bool { count >= head }
}
