public import FieldSyncCore

/// What rewriting a device's log did (`DeviceStore.rewrite(removing:adding:)`).
public struct LogRewrite: Sendable, Hashable {
    /// Changes removed, including those that depended on a removed one.
    public var removed: [Dot]
    /// Changes that depended on a removed one and were removed with it (not this device's).
    public var dependents: [Dot]

    /// A rewrite's outcome.
    public init(removed: [Dot], dependents: [Dot]) {
        self.removed = removed
        self.dependents = dependents
    }
}
