public import FieldSyncCore

/// A random, seeded history of N replicas that write, partition and exchange changes.
///
/// Each step either has a replica write a change (creating, editing, tagging, noting,
/// attaching, withdrawing or restoring a report — with small value domains so that concurrent
/// writes sometimes agree and sometimes conflict), or delivers a random subset of one replica's
/// changes to another, shuffled and with duplicates. Connectivity comes and goes: only a random
/// subset of replica pairs can talk in each period.
public struct RandomSchedule: Sendable {
    /// The seed.
    public var seed: UInt64
    /// Number of replicas (and devices).
    public var replicaCount: Int
    /// Number of steps.
    public var steps: Int

    /// Creates a schedule; replica count and length are drawn from the seed when not given.
    public init(seed: UInt64, replicaCount: Int? = nil, steps: Int? = nil) {
        var rng = SplitMix64(seed: seed ^ 0x5EED)
        self.seed = seed
        self.replicaCount = replicaCount ?? Int.random(in: 2...20, using: &rng)
        self.steps = steps ?? Int.random(in: 10...120, using: &rng)
    }

    /// The outcome of running a schedule.
    public struct Run: Sendable {
        /// The replicas as they stand after the schedule (before any final exchange).
        public var replicas: [Replica]
        /// Every change written, in writing order.
        public var changes: [Change]
    }

    /// Runs the schedule.
    public func run() -> Run {
        var rng = SplitMix64(seed: seed)
        var replicas = Array(repeating: Replica(), count: replicaCount)
        var devices = (0..<replicaCount).map { LocalDevice(id: DeviceID(rawValue: "d\($0)")!) }
        var all: [Change] = []
        var links = Set<[Int]>()
        var nextReport = 0
        for step in 0..<steps {
            if step % 10 == 0 {
                // A new connectivity period: each pair can talk with probability 0.3.
                links = []
                for a in 0..<replicaCount {
                    for b in 0..<replicaCount where a != b && rng.chance(0.3) { links.insert([a, b]) }
                }
            }
            let wall = 1_795_000_000_000 + UInt64(step) * 1_000 + UInt64.random(in: 0...5_000, using: &rng)
            if rng.chance(0.6) || all.isEmpty {
                let i = Int.random(in: 0..<replicaCount, using: &rng)
                let known = replicas[i].heads.keys.sorted()
                let change: Change
                if known.isEmpty || rng.chance(0.12) {
                    let id = ReportID(rawValue: "r\(nextReport)")!
                    nextReport += 1
                    change = try! replicas[i].write(
                        [.create(county: "kisumu"), .set(field: .status, value: "open")],
                        to: id, county: "kisumu", as: &devices[i], wallMillis: wall)
                } else {
                    let id = known[Int.random(in: 0..<known.count, using: &rng)]
                    change = try! replicas[i].write(
                        randomOps(&rng), to: id, county: "kisumu", as: &devices[i], wallMillis: wall)
                }
                all.append(change)
            } else if !links.isEmpty {
                let pair = links.randomElement(using: &rng)!
                let (from, to) = (pair[0], pair[1])
                var batch = replicas[from].log.filter { _ in rng.chance(0.7) }
                batch += batch.filter { _ in rng.chance(0.2) }  // duplicates
                batch.shuffle(using: &rng)
                for c in batch { try! replicas[to].receive(c) }
            }
        }
        return Run(replicas: replicas, changes: all)
    }

    /// Delivers every change to every replica, shuffled per replica, with duplicates.
    public func exchangeAll(_ run: inout Run) {
        var rng = SplitMix64(seed: seed &+ 1)
        for i in run.replicas.indices {
            var batch = run.changes + run.changes.filter { _ in rng.chance(0.1) }
            batch.shuffle(using: &rng)
            for c in batch { try! run.replicas[i].receive(c) }
        }
    }

    static let fields: [FieldName] = [.status, .priority, .assignee]
    static let values: [FieldValue] = ["a", "b", "c"]
    static let tags = ["urgent", "duplicate", "verified"]

    func randomOps(_ rng: inout SplitMix64) -> [ReportOperation] {
        switch Int.random(in: 0..<100, using: &rng) {
        case 0..<55:
            let n = Int.random(in: 1...2, using: &rng)
            return RandomSchedule.fields.shuffled(using: &rng).prefix(n).map {
                .set(field: $0, value: RandomSchedule.values.randomElement(using: &rng)!)
            }
        case 55..<67: return [.addTag(RandomSchedule.tags.randomElement(using: &rng)!)]
        case 67..<77: return [.removeTag(RandomSchedule.tags.randomElement(using: &rng)!)]
        case 77..<85: return [.appendNote(text: "note \(UInt16.random(in: 0...999, using: &rng))")]
        case 85..<89:
            let hex = String(repeating: "0123456789abcdef".randomElement(using: &rng)!, count: 64)
            return [.attachMedia(MediaRef(sha256: hex, contentType: "image/jpeg", size: 1000))]
        case 89..<95: return [.withdraw(reason: "duplicate")]
        default: return [.restore]
        }
    }
}
