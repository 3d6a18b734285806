import FieldSyncCore
import Foundation
import Testing

/// Inputs the fuzzers (scripts/fuzz) found, kept as regression tests: each must be refused with
/// an error, never crash, and never decode to something that re-encodes differently.
struct FuzzRegressionTests {
    /// A valid change and its canonical bytes.
    static let change = Change(
        dot: Dot(device: DeviceID(rawValue: "tab-a")!, seq: 1), report: ReportID(rawValue: "vec-r1")!, county: "kisumu",
        context: VersionVector(), hlc: HybridTimestamp(millis: 1_795_000_000_000), ops: [.create(county: "kisumu")])

    @Test func aVarintInALongerSpellingIsRefused() throws {
        var bytes = ChangeCodec.encode(Self.change)
        // After the version byte and "tab-a" (length 5): the seq, 0x01. Spell it 0x81 0x00.
        #expect(bytes[7] == 0x01)
        bytes.replaceSubrange(7...7, with: [0x81, 0x00])
        #expect(throws: FieldSyncError.self) { try ChangeCodec.decode(bytes) }
        #expect(try ChangeCodec.decode(ChangeCodec.encode(Self.change)) == Self.change)
    }

    @Test func anObjectWithRepeatedKeysIsRefused() throws {
        // change-binary crash: a status set to an object with nine members all keyed "".
        let bytes: [UInt8] = [
            0x01, 0x05, 0x74, 0x61, 0x62, 0x2d, 0x61, 0x01, 0x06, 0x76, 0x65, 0x63, 0x2d, 0x72, 0x30, 0x06, 0x6b, 0x6d,
            0x73, 0x75,
            0x69, 0x75, 0x00, 0xf2, 0x9e, 0xbc, 0xd9, 0x80, 0x35, 0x00, 0x02, 0x01, 0x06, 0x6b, 0x69, 0x73, 0x75, 0x6d,
            0x75, 0x02,
            0x06, 0x73, 0x74, 0x61, 0x74, 0x75, 0x73, 0x07, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
        ]
        #expect(throws: FieldSyncError.self) { try ChangeCodec.decode(bytes) }
        // The same object with sorted, unique keys round-trips.
        var c = Self.change
        c.ops.append(.set(field: .status, value: .object(["a": .null, "b": 1])))
        #expect(try ChangeCodec.decode(ChangeCodec.encode(c)) == c)
    }

    @Test func aReportHeadWithAnOutOfRangeCountIsRefusedNotATrap() {
        // report-head crash: a change count above Int.max trapped in Int(_:).
        let bytes = Data([
            0x01, 0x01, 0x55, 0x00, 0x01, 0x55, 0x1d, 0x00, 0x26, 0x00, 0x5d, 0x01, 0x01, 0x55, 0x01, 0xfa, 0x8a, 0x8a,
            0x8a, 0x8a,
            0x8a, 0x8a, 0xff, 0xff, 0x01,
        ])
        #expect(throws: FieldSyncError.self) { try ReportHeadCodec.decode(bytes) }
    }
}
