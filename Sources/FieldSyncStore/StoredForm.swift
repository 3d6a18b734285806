package import FieldSyncCore
package import Foundation

/// Decoding what a store wrote: a failure means the database was damaged, and says so in the
/// same words whichever engine holds it.
package enum StoredForm {
    /// A stored report head.
    package static func head(_ data: Data) throws(FieldSyncError) -> ReportHead {
        do throws(FieldSyncError) { return try ReportHeadCodec.decode(data) } catch {
            throw damaged("report head", error)
        }
    }

    /// A stored change.
    package static func change(_ data: Data) throws(FieldSyncError) -> Change {
        do throws(FieldSyncError) { return try ChangeCodec.decode(data) } catch { throw damaged("change", error) }
    }

    /// A stored conflict record.
    package static func conflict(_ data: Data) throws(FieldSyncError) -> Conflict {
        do throws(FieldSyncError) { return try ConflictCodec.decode(data) } catch {
            throw damaged("conflict record", error)
        }
    }

    private static func damaged(_ what: String, _ error: FieldSyncError) -> FieldSyncError {
        FieldSyncError(
            .storage,
            "a stored \(what) cannot be decoded (\(error.message)); the database may be corrupt: run 'fieldsyncd admin verify' and restore from a backup if it fails"
        )
    }
}
