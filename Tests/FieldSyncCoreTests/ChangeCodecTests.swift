import FieldSyncCore
import FieldSyncScenario
import Foundation
import PropertyBased
import Testing

@Suite struct ChangeCodecTests {
    @Test func roundTripsAndIsCanonical() async {
        await propertyCheck(count: 100, input: Gen.uint64(in: 0 ... .max)) { seed in
            let run = RandomSchedule(seed: seed, replicaCount: 3, steps: 40).run()
            for c in run.changes {
                let bytes = ChangeCodec.encode(c)
                let decoded = try? ChangeCodec.decode(bytes)
                #expect(decoded == c, "seed \(seed): \(c.dot) did not round-trip")
                #expect(
                    decoded.map(ChangeCodec.encode) == bytes, "seed \(seed): re-encoding \(c.dot) changed its bytes")
            }
        }
    }

    @Test func valuesOfEveryKindRoundTrip() throws {
        let value: FieldValue = .object([
            "a": .array([.null, true, false, .int(-5), .int(Int64.max), .double(-1.25), "ñ✓"]), "b": .object([:]),
        ])
        let c = Change(
            dot: Dot(device: DeviceID(rawValue: "d")!, seq: 300), report: ReportID(rawValue: "r")!, county: "kisumu",
            context: VersionVector([DeviceID(rawValue: "a")!: 1, DeviceID(rawValue: "d")!: 299]),
            hlc: HybridTimestamp(millis: 1_795_000_000_000, counter: 70_000),
            ops: [
                .set(field: .description, value: value),
                .attachMedia(
                    MediaRef(sha256: String(repeating: "a", count: 64), contentType: "image/png", size: 1 << 40)),
            ],
            resolves: [
                .description: [
                    Dot(device: DeviceID(rawValue: "a")!, seq: 1), Dot(device: DeviceID(rawValue: "d")!, seq: 299),
                ]
            ])
        #expect(try ChangeCodec.decode(ChangeCodec.encode(c)) == c)
    }

    @Test func truncatedAndCorruptInputIsRefusedNotTrapped() throws {
        let run = RandomSchedule(seed: 9, replicaCount: 2, steps: 30).run()
        let bytes = ChangeCodec.encode(run.changes.last!)
        for cut in 0..<bytes.count {
            #expect(throws: FieldSyncError.self) { try ChangeCodec.decode(Array(bytes.prefix(cut))) }
        }
        #expect(throws: FieldSyncError.self) { try ChangeCodec.decode(bytes + [0]) }
        var wrongVersion = bytes
        wrongVersion[0] = 9
        #expect(throws: FieldSyncError.self) { try ChangeCodec.decode(wrongVersion) }
        // A varint that never ends, a huge count, a deep value.
        #expect(throws: FieldSyncError.self) { try ChangeCodec.decode([1] + Array(repeating: 0xFF, count: 20)) }
        var rng = SplitMix64(seed: 1)
        for _ in 0..<2_000 {
            var mutated = bytes
            mutated[Int.random(in: 0..<mutated.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            _ = try? ChangeCodec.decode(mutated)  // must not crash
        }
    }

    @Test func binaryIsSmallerThanJSON() throws {
        let out = StandardScenario(devices: 2, editsPerDevice: 200).generate()
        let binary = out.all.reduce(0) { $0 + ChangeCodec.encode($1).count }
        let json = try out.all.reduce(0) { $0 + (try JSONEncoder().encode($1)).count }
        #expect(binary * 2 < json, "binary \(binary) B vs JSON \(json) B")
    }
}
