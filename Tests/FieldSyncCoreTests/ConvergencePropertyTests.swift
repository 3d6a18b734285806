import FieldSyncCore
import FieldSyncScenario
import Foundation
import PropertyBased
import Testing

/// Convergence, idempotence and conflict exactness under random partitions and delivery orders.
@Suite struct ConvergencePropertyTests {
    /// How many random schedules to run (FIELDSYNC_SCHEDULES overrides; CI runs at least 1,000).
    static let scheduleCount = ProcessInfo.processInfo.environment["FIELDSYNC_SCHEDULES"].flatMap(Int.init) ?? 1_000

    @Test func replicasConvergeAndConflictsAreExact() async {
        await propertyCheck(count: Self.scheduleCount, input: Gen.uint64(in: 0 ... .max)) { seed in
            let schedule = RandomSchedule(seed: seed)
            var run = schedule.run()
            schedule.exchangeAll(&run)
            let label =
                "seed \(seed) (replicas \(schedule.replicaCount), steps \(schedule.steps)); reproduce with RandomSchedule(seed: \(seed))"

            // Every replica holds every change and nothing is left waiting.
            for r in run.replicas {
                #expect(r.pendingCount == 0, "pending changes left: \(label)")
                #expect(r.log.count == run.changes.count, "lost or extra changes: \(label)")
            }
            // Byte-identical merged state everywhere.
            let reference = run.replicas[0].canonicalState()
            for (i, r) in run.replicas.enumerated().dropFirst() {
                #expect(r.canonicalState() == reference, "replica \(i) diverged from replica 0: \(label)")
            }
            // The state matches the definitions, computed by brute force from the set.
            let oracle = Oracle(run.changes)
            let replica = run.replicas[0]
            #expect(
                Set(replica.openConflicts.map(Oracle.Record.init)) == oracle.openConflicts,
                "open conflicts differ from the oracle: \(label)")
            #expect(
                Set(replica.resolvedConflicts.map(Oracle.Record.init)) == oracle.resolvedConflicts,
                "resolved conflicts differ from the oracle: \(label)")
            for report in replica.reports {
                #expect(
                    report.fields == oracle.values(report.id),
                    "field values of \(report.id) differ from the oracle: \(label)")
                #expect(report.tags == oracle.tags(report.id), "tags of \(report.id) differ from the oracle: \(label)")
                #expect(
                    report.changeCount == oracle.byReport[report.id]?.count, "change count of \(report.id): \(label)")
            }
            // Conflict candidates are pairwise concurrent and hold different values.
            let byDot = Dictionary(uniqueKeysWithValues: run.changes.map { ($0.dot, $0) })
            for c in replica.openConflicts + replica.resolvedConflicts {
                #expect(Set(c.candidates.map(\.value)).count > 1, "conflict \(c.id) has no differing values: \(label)")
                if c.field != .lifecycle {
                    for a in c.candidates {
                        for b in c.candidates where a.dot != b.dot {
                            #expect(
                                Oracle.concurrent(byDot[a.dot]!, byDot[b.dot]!),
                                "conflict \(c.id) lists \(a.dot) and \(b.dot), which are not concurrent: \(label)")
                        }
                    }
                }
                if let resolution = c.resolution {
                    #expect(
                        c.candidates.allSatisfy { byDot[resolution.dot]!.context.contains($0.dot) },
                        "resolver of \(c.id) did not see all candidates: \(label)")
                }
            }
        }
    }

    @Test func redeliveringEverythingChangesNothing() async {
        await propertyCheck(count: 200, input: Gen.uint64(in: 0 ... .max)) { seed in
            let schedule = RandomSchedule(seed: seed)
            var run = schedule.run()
            schedule.exchangeAll(&run)
            var replica = run.replicas[0]
            let before = replica.canonicalState()
            var rng = SplitMix64(seed: seed)
            for c in run.changes.shuffled(using: &rng) {
                #expect(
                    (try? replica.receive(c)) == .duplicate, "seed \(seed): re-delivery of \(c.dot) was not a duplicate"
                )
            }
            #expect(replica.canonicalState() == before, "seed \(seed): state changed on re-delivery")
        }
    }

    @Test func partialReplicationConvergesPerReport() async {
        // A replica that receives only some reports (as a device pulling one county would) holds
        // exactly the same state for those reports as a replica that has everything.
        await propertyCheck(count: 200, input: Gen.uint64(in: 0 ... .max)) { seed in
            let schedule = RandomSchedule(seed: seed)
            var run = schedule.run()
            schedule.exchangeAll(&run)
            var rng = SplitMix64(seed: seed)
            let chosen = Set(run.changes.map(\.report).filter { _ in rng.chance(0.5) })
            var partial = Replica()
            for c in run.changes.filter({ chosen.contains($0.report) }).shuffled(using: &rng) {
                try! partial.receive(c)
            }
            #expect(partial.pendingCount == 0, "seed \(seed)")
            for id in chosen {
                #expect(
                    partial.report(id) == run.replicas[0].report(id),
                    "seed \(seed): report \(id) differs under partial replication")
            }
        }
    }
}
