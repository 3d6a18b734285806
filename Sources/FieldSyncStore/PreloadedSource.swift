public import FieldSyncCore
public import Foundation

/// An `IngestSource` answered from rows loaded before the plan runs (an engine whose reads are
/// asynchronous, such as PostgreSQL). Earlier changes it was not given are collected in
/// `needed`: load them into `changes` (or `absent`), `reset()` the plan and run it again.
public struct PreloadedSource: IngestSource, Sendable {
    /// The stored heads of the batch's reports.
    public var heads: [ReportID: ReportHead] = [:]
    /// The stored bodies of the batch's dots that are held already.
    public var bodies: [Dot: Data] = [:]
    /// The highest sequence number held of each author's log.
    public var highest: [DeviceID: UInt64] = [:]
    /// Earlier changes loaded for merges.
    public var changes: [Dot: Change] = [:]
    /// Dots looked up and not held.
    public var absent: Set<Dot> = []
    /// Dots a run asked for that are neither in `changes` nor in `absent`.
    public private(set) var needed: Set<Dot> = []

    /// Nothing loaded.
    public init() {}

    /// Forgets what was asked for, before another run.
    public mutating func clearNeeded() { needed = [] }

    public mutating func head(_ id: ReportID) -> ReportHead? { heads[id] }
    public mutating func highestSeq(_ device: DeviceID) -> UInt64 { highest[device] ?? 0 }
    public mutating func body(_ dot: Dot) -> Data? { bodies[dot] }
    public mutating func change(_ dot: Dot) -> Change? {
        if let c = changes[dot] { return c }
        if !absent.contains(dot) { needed.insert(dot) }
        return nil
    }
}
