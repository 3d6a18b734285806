import FieldSyncCore
import Foundation
import Testing

@Suite struct VersionVectorTests {
    let a = DeviceID(rawValue: "a")!, b = DeviceID(rawValue: "b")!, c = DeviceID(rawValue: "c")!

    @Test func compareCoversAllFourOrders() {
        let v1 = VersionVector([a: 1, b: 2])
        #expect(v1.compare(v1) == .equal)
        #expect(v1.compare(VersionVector([a: 2, b: 2])) == .before)
        #expect(VersionVector([a: 2, b: 2]).compare(v1) == .after)
        #expect(v1.compare(VersionVector([a: 2, b: 1])) == .concurrent)
        #expect(v1.compare(VersionVector([c: 1])) == .concurrent)
        #expect(VersionVector().compare(v1) == .before)
    }

    @Test func mergeIsEntrywiseMaximum() {
        var v = VersionVector([a: 3, b: 1])
        v.merge(VersionVector([b: 4, c: 2]))
        #expect(v == VersionVector([a: 3, b: 4, c: 2]))
        #expect(v.devices == [a, b, c])
        // Commutative, idempotent.
        #expect(VersionVector([b: 4, c: 2]).merging(VersionVector([a: 3, b: 1])) == v)
        #expect(v.merging(v) == v)
    }

    @Test func dotInclusion() {
        let v = VersionVector([a: 3])
        #expect(v.contains(Dot(device: a, seq: 3)))
        #expect(v.contains(Dot(device: a, seq: 1)))
        #expect(!v.contains(Dot(device: a, seq: 4)))
        #expect(!v.contains(Dot(device: b, seq: 1)))
    }

    @Test func zeroEntriesAreDroppedSoEqualVectorsAreEqual() {
        var v = VersionVector([a: 1])
        v[b] = 0
        v[a] = 0
        #expect(v == VersionVector())
        #expect(VersionVector([a: 0]) == VersionVector())
    }

    @Test func largeVectorsUseTheSameSemantics() {
        var big = VersionVector()
        for i in 0..<100 { big[DeviceID(rawValue: "dev\(i)")!] = UInt64(i + 1) }
        #expect(big[DeviceID(rawValue: "dev57")!] == 58)
        #expect(big.contains(Dot(device: DeviceID(rawValue: "dev99")!, seq: 100)))
        #expect(!big.contains(Dot(device: DeviceID(rawValue: "zzz")!, seq: 1)))
        #expect(big.includes(VersionVector([DeviceID(rawValue: "dev3")!: 4])))
    }

    @Test func wireFormIsAnObjectAndRejectsZero() throws {
        let data = try JSONEncoder().encode(VersionVector([a: 2]))
        #expect(String(decoding: data, as: UTF8.self) == #"{"a":2}"#)
        #expect(try JSONDecoder().decode(VersionVector.self, from: data) == VersionVector([a: 2]))
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(VersionVector.self, from: Data(#"{"a":0}"#.utf8))
        }
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(VersionVector.self, from: Data(#"{"bad id":1}"#.utf8))
        }
    }
}

@Suite struct HybridClockTests {
    @Test func tickFollowsWallClockAndNeverGoesBack() {
        var clock = HybridClock()
        let t1 = clock.tick(wallMillis: 1_000)
        #expect(t1 == HybridTimestamp(millis: 1_000, counter: 0))
        let t2 = clock.tick(wallMillis: 1_000)
        #expect(t2 == HybridTimestamp(millis: 1_000, counter: 1))
        // The wall clock jumps back (a device with a bad clock): the HLC does not.
        let t3 = clock.tick(wallMillis: 500)
        #expect(t3 > t2)
        let t4 = clock.tick(wallMillis: 2_000)
        #expect(t4 == HybridTimestamp(millis: 2_000, counter: 0))
    }

    @Test func observeOrdersLaterEventsAfterRemoteOnes() {
        var clock = HybridClock()
        clock.observe(HybridTimestamp(millis: 9_000, counter: 4))
        let t = clock.tick(wallMillis: 1_000)  // local clock days behind
        #expect(t > HybridTimestamp(millis: 9_000, counter: 4))
    }

    @Test func counterOverflowMovesToTheNextMillisecond() {
        var clock = HybridClock(last: HybridTimestamp(millis: 5, counter: .max))
        #expect(clock.tick(wallMillis: 1) == HybridTimestamp(millis: 6, counter: 0))
    }

    @Test func wireFormIsTwoIntegers() throws {
        let data = try JSONEncoder().encode(HybridTimestamp(millis: 1_795_000_000_000, counter: 3))
        #expect(String(decoding: data, as: UTF8.self) == "[1795000000000,3]")
    }
}
