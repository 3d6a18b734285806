public import FieldSyncCore
import Foundation
import Synchronization

/// Deliberate crashes at named points of the write and read paths, for fault-injection runs
/// (`scripts/faults`): the process kills itself with SIGKILL — no cleanup, no flush, exactly as
/// a power cut — the `n`th time it reaches the chosen point. Off unless configured; `fieldsyncd
/// serve` configures it from `FIELDSYNC_FAULT=point:n` only.
public final class FaultInjector: Sendable, Hashable {
    /// Where a crash can be injected.
    public enum Point: String, Sendable, CaseIterable {
        /// Inside a push's ingest transaction: every row written, not committed.
        case midBatch = "mid-batch"
        /// After a push is committed, before the reply is sent.
        case afterCommit = "after-commit"
        /// After a pull page is read, before the reply is sent.
        case midPull = "mid-pull"
        /// Inside the lazy flush of report heads: rows written, not committed.
        case midFlush = "mid-flush"
        /// PostgreSQL: a push committed, its pull positions not yet published.
        case beforePublish = "before-publish"
        /// A media piece written to its partial upload, before the answer.
        case midPiece = "mid-piece"
        /// A whole upload received and hashed, before it becomes the stored file.
        case midFinish = "mid-finish"
    }

    /// The point that crashes.
    public let point: Point
    /// Which arrival at the point crashes (1 = the first).
    public let hit: Int
    private let reached = Mutex(0)

    /// A crash at the `hit`th arrival at `point`.
    public init(point: Point, hit: Int) {
        self.point = point
        self.hit = max(1, hit)
    }

    /// Parses `point:n` (e.g. `after-commit:3`); `nil` for an absent or empty value.
    public convenience init?(specification: String?) throws(FieldSyncError) {
        guard let specification, !specification.isEmpty else { return nil }
        let parts = specification.split(separator: ":", maxSplits: 1).map(String.init)
        guard let point = Point(rawValue: parts[0]), parts.count == 2, let n = Int(parts[1]), n >= 1 else {
            throw FieldSyncError(
                .invalidRequest,
                "FIELDSYNC_FAULT '\(specification.prefix(60))' is not valid: use POINT:N with POINT one of \(Point.allCases.map(\.rawValue).joined(separator: ", ")) and N ≥ 1"
            )
        }
        self.init(point: point, hit: n)
    }

    /// Marks an arrival at `point`; kills the process if it is the chosen one.
    public func reach(_ point: Point) {
        guard point == self.point else { return }
        let n = reached.withLock { count -> Int in
            count += 1
            return count
        }
        if n == hit { kill(getpid(), SIGKILL) }
    }

    public static func == (lhs: FaultInjector, rhs: FaultInjector) -> Bool { lhs === rhs }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}
