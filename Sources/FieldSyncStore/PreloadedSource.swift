package import FieldSyncCore
package import Foundation

/// An `IngestSource` answered from rows loaded before the plan runs (an engine whose reads are
/// asynchronous, such as PostgreSQL). Earlier changes it was not given are collected in
/// `needed`: load them into `changes` (or `absent`), `reset()` the plan and run it again.
package struct PreloadedSource: IngestSource, Sendable {
    /// The stored heads of the batch's reports.
    package var heads: [ReportID: ReportHead] = [:]
    /// The stored bodies of the batch's dots that are held already.
    package var bodies: [Dot: Data] = [:]
    /// The highest sequence number held of each author's log.
    package var highest: [DeviceID: UInt64] = [:]
    /// Earlier changes loaded for merges.
    package var changes: [Dot: Change] = [:]
    /// Dots looked up and not held.
    package var absent: Set<Dot> = []
    /// Dots a run asked for that are neither in `changes` nor in `absent`.
    package private(set) var needed: Set<Dot> = []

    /// Nothing loaded.
    package init() {}

    /// Forgets what was asked for, before another run.
    package mutating func clearNeeded() { needed = [] }

    package mutating func head(_ id: ReportID) -> ReportHead? { heads[id] }
    package mutating func highestSeq(_ device: DeviceID) -> UInt64 { highest[device] ?? 0 }
    package mutating func body(_ dot: Dot) -> Data? { bodies[dot] }
    package mutating func change(_ dot: Dot) -> Change? {
        if let c = changes[dot] { return c }
        if !absent.contains(dot) { needed.insert(dot) }
        return nil
    }
}
