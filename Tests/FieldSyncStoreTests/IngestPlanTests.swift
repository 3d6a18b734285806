import FieldSyncCore
import FieldSyncScenario
import FieldSyncStore
import Foundation
import Testing

/// The ingest rules alone, with no engine: `IngestPlan` reading from a source held in memory and
/// committed by hand, as an engine's transaction would.
@Suite struct IngestPlanTests {
    /// What a store holds, in memory.
    struct MemorySource: IngestSource {
        var heads: [ReportID: ReportHead] = [:]
        var highest: [DeviceID: UInt64] = [:]
        var bodies: [Dot: Data] = [:]
        var changes: [Dot: Change] = [:]

        mutating func head(_ id: ReportID) -> ReportHead? { heads[id] }
        mutating func highestSeq(_ device: DeviceID) -> UInt64 { highest[device] ?? 0 }
        mutating func body(_ dot: Dot) -> Data? { bodies[dot] }
        mutating func change(_ dot: Dot) -> Change? { changes[dot] }

        /// Writes what a plan decided.
        mutating func commit(_ plan: IngestPlan) {
            for row in plan.rows {
                bodies[row.change.dot] = row.body
                changes[row.change.dot] = row.change
            }
            heads.merge(plan.heads) { $1 }
            highest.merge(plan.highest) { max($0, $1) }
        }
    }

    static let a = DeviceID(rawValue: "tab-a")!
    static let report = ReportID(rawValue: "r-1")!

    static func change(_ seq: UInt64, status: String = "open", after: UInt64? = nil) -> SignedChange {
        let previous = after ?? (seq - 1)
        let c = Change(
            dot: Dot(device: a, seq: seq), report: report, county: "kisumu",
            context: previous > 0 ? VersionVector([a: previous]) : VersionVector(),
            hlc: HybridTimestamp(millis: 1_795_000_000_000 + seq, counter: 0),
            ops: seq == 1 ? [.create(county: "kisumu")] : [.set(field: .status, value: .string(status))], resolves: [:])
        return SignedChange(change: c, signature: nil)
    }

    static func plan(_ batch: [SignedChange], on source: inout MemorySource) throws -> IngestPlan {
        var plan = IngestPlan(limits: .standard, mode: .server)
        try plan.run(batch, from: &source)
        source.commit(plan)
        return plan
    }

    @Test func aGapIsRefusedAndTheRestOfTheBatchApplies() throws {
        var source = MemorySource()
        let plan = try Self.plan([Self.change(1), Self.change(2), Self.change(4, after: 2)], on: &source)
        #expect(plan.result.applied == 2)
        #expect(plan.refused.map(\.0.code) == [.sequenceGap])
        #expect(source.highest[Self.a] == 2)
    }

    @Test func aResentChangeIsADuplicateAndAReusedDotIsRefused() throws {
        var source = MemorySource()
        _ = try Self.plan([Self.change(1), Self.change(2)], on: &source)
        let again = try Self.plan([Self.change(2)], on: &source)
        #expect(again.result.duplicates == 1 && again.result.applied == 0 && again.refused.isEmpty)
        let reused = try Self.plan([Self.change(2, status: "closed")], on: &source)
        #expect(reused.refused.map(\.0.code) == [.dotReuse])
        #expect(reused.rows.isEmpty, "a refused change writes nothing")
    }

    @Test func whatDependsOnARefusedChangeIsRefusedNamingIt() throws {
        let two = Self.change(2)
        var fresh = MemorySource()
        _ = try Self.plan([Self.change(1)], on: &fresh)
        var refusing = IngestPlan(limits: .standard, mode: .server)
        try refusing.run(
            [two, Self.change(3)], preRefused: [two.change.dot: FieldSyncError(.badSignature, "bad")], from: &fresh)
        let verdicts = Dictionary(uniqueKeysWithValues: refusing.refused.map { ($0.0.dot.seq, $0.0) })
        #expect(verdicts[2]?.code == .badSignature)
        #expect(verdicts[3]?.code == .dependencyRefused)
        #expect(verdicts[3]?.dependsOn == two.change.dot)
        #expect(refusing.rows.isEmpty)
    }

    /// Any split of a random schedule into batches, ingested in order, applies every change
    /// once; ingesting it all again applies nothing.
    @Test func batchesOfARandomScheduleApplyOnceAndAgainNothing() throws {
        for seed in UInt64(1)...40 {
            let changes = RandomSchedule(seed: seed, replicaCount: 3, steps: 30).run().changes
            var source = MemorySource()
            var rng = SplitMix64(seed: seed)
            var applied = 0
            var i = 0
            while i < changes.count {
                let n = Int(rng.next() % 7) + 1
                let batch = changes[i..<min(changes.count, i + n)].map { SignedChange(change: $0, signature: nil) }
                var plan = IngestPlan(limits: .standard, mode: .device)
                try plan.run(batch, from: &source)
                source.commit(plan)
                #expect(plan.refused.isEmpty, "seed \(seed): \(plan.refused.map(\.0.message))")
                applied += plan.result.applied
                i += n
            }
            #expect(applied == changes.count, "seed \(seed)")
            var again = IngestPlan(limits: .standard, mode: .device)
            try again.run(changes.map { SignedChange(change: $0, signature: nil) }, from: &source)
            #expect(again.result.applied == 0 && again.result.duplicates == changes.count, "seed \(seed)")
        }
    }
}
