import FieldSyncCore
import FieldSyncProtocol
import Foundation
import Testing

/// The wire protocol alone, with no server: the JSON codec and body compression.
@Suite struct WireTests {
    static let device = DeviceID(rawValue: "tab-1")!

    static func change(seq: UInt64) -> Change {
        Change(
            dot: Dot(device: device, seq: seq), report: ReportID(rawValue: "r-1")!, county: "kisumu",
            context: seq > 1 ? VersionVector([device: seq - 1]) : VersionVector(),
            hlc: HybridTimestamp(millis: 1_795_000_000_000 + seq, counter: 0),
            ops: seq == 1 ? [.create(county: "kisumu")] : [.set(field: .status, value: "open")], resolves: [:])
    }

    @Test func aSyncRequestRoundTripsThroughJSON() throws {
        let request = SyncRequest(
            cursor: "abc", offer: ["tab-1": 2],
            changes: [SignedChange(change: Self.change(seq: 1), signature: Data(repeating: 7, count: 64))], limit: 50)
        let codec = JSONWireCodec()
        let decoded = try codec.decode(SyncRequest.self, from: codec.encode(request))
        #expect(decoded == request)
    }

    @Test func aWrongShapeIsRefusedWithAStableCode() {
        for body in [#"{"changes":5}"#, #"{"limit":"many"}"#, "[", ""] {
            do {
                _ = try JSONWireCodec().decode(SyncRequest.self, from: Data(body.utf8))
                Issue.record("\(body) was accepted")
            } catch {
                #expect(
                    [.invalidRequest, .malformedJSON, .malformed].contains(error.code), "\(body): \(error.code)")
            }
        }
    }

    @Test(arguments: BodyCompression.allCases)
    func compressionRoundTrips(_ compression: BodyCompression) throws {
        let body = Data(String(repeating: "a pothole on the Kisumu–Kakamega road; ", count: 500).utf8)
        let packed = compression.compress(body)
        #expect(packed.count < body.count / 10)
        #expect(try compression.decompress(packed, maxBytes: body.count) == body)
    }

    @Test(arguments: BodyCompression.allCases)
    func aBombOrACorruptBodyIsRefused(_ compression: BodyCompression) {
        let bomb = compression.compress(Data(count: 8 << 20))
        #expect(throws: FieldSyncError.self) { try compression.decompress(bomb, maxBytes: 1 << 20) }
        do {
            _ = try compression.decompress(bomb, maxBytes: 1 << 20)
        } catch {
            #expect(error.code == .bodyTooLarge)
        }
        do {
            _ = try compression.decompress(bomb.prefix(bomb.count / 2), maxBytes: 16 << 20)
            Issue.record("a truncated \(compression) body was accepted")
        } catch {
            #expect(error.code == .malformed)
        }
    }

    @Test func contentEncodingsAreNamedOrRefused() throws {
        #expect(try BodyCompression.from(contentEncoding: nil) == nil)
        #expect(try BodyCompression.from(contentEncoding: "gzip") == .gzip)
        #expect(throws: FieldSyncError.self) { try BodyCompression.from(contentEncoding: "br") }
        #expect(BodyCompression.preferred(acceptEncoding: "br, gzip") == .gzip)
    }
}
