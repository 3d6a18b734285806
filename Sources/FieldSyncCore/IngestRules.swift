/// The refusals every replica gives for the same reasons, in the same words: the in-memory
/// `Replica`, and `IngestPlan`, which both stores and their crash recovery drive.
extension FieldSyncError {
    /// A dot held already with different content.
    public static func dotReuse(_ dot: Dot) -> FieldSyncError {
        FieldSyncError(
            .dotReuse,
            "dot \(dot) is already held with different content: the device has reissued a sequence number, probably after being restored from an old backup or copied to another phone. Nothing was changed. Its author recovers by taking its own log back from the server and moving its unsynced work above it (protocol/causality.md, 'Restored and cloned devices')"
        )
    }

    /// A device's own push reissues dots the server holds with other content: restored or cloned.
    public static func logForked(_ dot: Dot, held: UInt64) -> FieldSyncError {
        FieldSyncError(
            .logForked,
            "this device's log on the server differs from its own at \(dot): the server holds \(dot.device):1–\(held) and this device wrote other changes with the same numbers (it was restored from a backup, or its store was copied to another phone). Nothing was changed. Sync again with a current fieldsync: it takes its log back and moves its unsynced work above \(held) (protocol/causality.md, 'Restored and cloned devices')"
        )
    }

    /// A change older than one of its author's changes already applied to the report, which it
    /// does not include.
    public static func olderThanApplied(_ c: Change) -> FieldSyncError {
        FieldSyncError(
            .invalidContext,
            "change \(c.dot) is older than a change of the same device already applied to report \(c.report), which did not include it; the device's log is inconsistent"
        )
    }

    /// A change that would leave a gap in its author's log.
    public static func sequenceGap(_ c: Change, held: UInt64) -> FieldSyncError {
        FieldSyncError(
            .sequenceGap,
            "change \(c.dot) leaves a gap: the log of \(c.dot.device) is held up to seq \(held); send the changes from seq \(held + 1) first"
        )
    }

    /// A change for a report that is not held.
    public static func unknownReport(_ c: Change) -> FieldSyncError {
        FieldSyncError(
            .missingDependency,
            "change \(c.dot) is for report \(c.report), which this store does not hold; send the change that creates it (and every change it depends on) in the same or an earlier batch"
        )
    }

    /// A change whose context names changes that are not held.
    public static func missingDependency(_ c: Change, missing: [Dot]) -> FieldSyncError {
        let list = missing.prefix(5).map(\.description).joined(separator: ", ")
        return FieldSyncError(
            .missingDependency,
            "change \(c.dot) depends on changes to report \(c.report) this store does not hold (\(list)); send them in the same or an earlier batch"
        )
    }

    /// A change that depends on a change refused in the same batch.
    public static func dependencyRefused(_ c: Change, on dot: Dot, code: FieldSyncError.Code) -> FieldSyncError {
        FieldSyncError(
            .dependencyRefused,
            "change \(c.dot) depends on \(dot), which was refused (\(code.rawValue)); it cannot be applied without it and is set aside with it"
        )
    }

    /// A timestamp before FieldSync could have written anything.
    public static func clockTooOld(_ c: Change, floorMillis: UInt64) -> FieldSyncError {
        FieldSyncError(
            .clockSkew,
            "change \(c.dot) is timestamped \(c.hlc.millis) ms since 1970, before \(floorMillis) ms (2020-01-01): the device's clock was not set when it was written; set the date and time and write it again"
        )
    }
}
