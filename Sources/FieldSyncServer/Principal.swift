import FieldSyncStore

/// Who is calling: an enrolled device, or an operator or admin.
public enum Principal: Sendable {
    /// A device: may push its own and relayed changes and pull its county.
    case device(DeviceRecord)
    /// An operator (read and resolve in their counties) or an admin (everything).
    case operator_(OperatorRecord)

    /// Whether the caller is an admin.
    public var isAdmin: Bool {
        if case .operator_(let o) = self { return o.role == .admin }
        return false
    }
}
