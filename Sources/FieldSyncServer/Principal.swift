import FieldSyncCore
public import FieldSyncStore
import Foundation

/// Who is calling: an enrolled device, an operator or admin, or the shell.
public enum Principal: Sendable {
    /// A device: may push its own and relayed changes and pull its county.
    case device(DeviceRecord)
    /// An operator (read and resolve in their counties) or an admin (everything).
    case `operator`(OperatorRecord)
    /// A `fieldsyncd admin` command, run by whoever can open the database (its file permissions,
    /// or the PostgreSQL role, are the guard): every right of an admin, in every county. Never
    /// the result of an HTTP request. `user` names it in the audit log (`shell:USER`).
    case shell(user: String)

    /// The shell this process runs in (`$USER`).
    public static var currentShell: Principal { .shell(user: ProcessInfo.processInfo.environment["USER"] ?? "unknown") }

    /// Whether the caller is an admin (the shell is).
    public var isAdmin: Bool {
        switch self {
        case .device: false
        case .operator(let o): o.role == .admin
        case .shell: true
        }
    }

    /// How the audit log names the caller: its id and role (`shell:USER`, `shell` for the shell).
    public var auditName: (actor: String, role: String) {
        switch self {
        case .device(let d): (d.id.rawValue, "device")
        case .operator(let o): (o.id, o.role.rawValue)
        case .shell(let user): ("shell:\(user)", "shell")
        }
    }

    /// The caller as an operator: an operator or admin as it is; the shell as an admin of every
    /// county; nil for a device.
    var asOperator: OperatorRecord? {
        switch self {
        case .device: nil
        case .operator(let o): o
        case .shell(let user):
            OperatorRecord(id: "shell:\(user)", name: user, role: .admin, counties: ["*"], revoked: false)
        }
    }
}
