/// The refusals of enrollment and of revoked devices, in the same words on every store. The
/// procedure they point at is `docs/operations.md`, "Lost, stolen and revoked devices": a
/// revoked device id is never enrolled again; the officer gets a new id.
extension FieldSyncError {
    /// Where the procedure for lost, stolen and revoked devices is written.
    static let revokedProcedure = "docs/operations.md, 'Lost, stolen and revoked devices'"

    /// An enrollment for a device id that is enrolled, or was and has been revoked.
    public static func alreadyEnrolled(_ device: String, status: DeviceStatus) -> FieldSyncError {
        if status == .revoked {
            return FieldSyncError(
                .invalidEnrollment,
                "device \(device) was revoked, and a revoked id is never enrolled again (its changes stay attributable to it and peers refuse them); enroll the officer's phone under a new id, e.g. \(device)-2 (\(revokedProcedure))"
            )
        }
        return FieldSyncError(
            .invalidEnrollment,
            "device \(device) is already enrolled (status \(status.rawValue)); choose another device id, or revoke it first if the phone was lost (\(revokedProcedure))"
        )
    }

    /// An enrollment token the store does not know.
    public static let unknownEnrollmentToken = FieldSyncError(
        .invalidEnrollment, "the enrollment token is not valid; ask an admin for a new one (fieldsyncd admin enroll)")
    /// An enrollment token used already.
    public static let usedEnrollmentToken = FieldSyncError(
        .invalidEnrollment,
        "the enrollment token has already been used; ask an admin for a new one (fieldsyncd admin enroll)")
    /// An enrollment token past its expiry.
    public static let expiredEnrollmentToken = FieldSyncError(
        .invalidEnrollment, "the enrollment token has expired; ask an admin for a new one (fieldsyncd admin enroll)")

    /// A token for a device that is no longer waiting for enrollment (revoked meanwhile).
    public static func notWaitingForEnrollment(_ device: String) -> FieldSyncError {
        FieldSyncError(
            .invalidEnrollment,
            "device \(device) is not waiting for enrollment (it was enrolled or revoked since); ask an admin for a new token under a new id (\(revokedProcedure))"
        )
    }

    /// A request with the token of a revoked device.
    public static func revokedDevice(_ device: String) -> FieldSyncError {
        FieldSyncError(
            .deviceRevoked,
            "device \(device) has been revoked; an admin enrolls this phone again under a new device id (\(revokedProcedure)). Changes it has not synced stay in this phone's store and are refused from any device that relays them; an operator re-enters what matters"
        )
    }
}

/// The enrollment state machine, engine-neutral: each store reads the state and applies these
/// rules inside its own transaction, so both engines decide the same way in the same words.
public enum EnrollmentRules {
    /// Whether an enrollment token may be issued for `device`, whose directory status is
    /// `current` (nil: an id never seen). A device still enrolling gets a new token.
    public static func checkIssue(_ device: String, current: DeviceStatus?) throws(FieldSyncError) {
        if let current, current != .enrolling { throw FieldSyncError.alreadyEnrolled(device, status: current) }
    }

    /// Whether a token for `device` redeems now: not used, not expired, and the device still
    /// waiting for it (`current` is its directory status).
    public static func checkRedeem(
        _ device: String, used: Bool, expiresMillis: Int64, nowMillis: UInt64, current: DeviceStatus?
    ) throws(FieldSyncError) {
        guard !used else { throw FieldSyncError.usedEnrollmentToken }
        guard expiresMillis >= Int64(clamping: nowMillis) else { throw FieldSyncError.expiredEnrollmentToken }
        guard current == .enrolling else { throw FieldSyncError.notWaitingForEnrollment(device) }
    }
}
