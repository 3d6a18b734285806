/// What an operator's token may do. Stored and sent as its raw value.
public enum OperatorRole: String, Sendable, Hashable, Codable, CaseIterable {
    /// Reads reports, conflicts, refusals and devices of its counties, and resolves conflicts there.
    case `operator`
    /// Everything, in every county: enrollment, revocation, operators, the audit log.
    case admin

    /// A role read back from a store; anything unknown is taken as the lesser role (fail closed).
    public init(stored: String) { self = OperatorRole(rawValue: stored) ?? .operator }

    /// The prefix of this role's bearer tokens (`fso_`, `fsa_`).
    public var tokenPrefix: String { self == .admin ? "fsa" : "fso" }
}
