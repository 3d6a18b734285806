import FieldSyncClient
import FieldSyncCore
import FieldSyncOpen311
import FieldSyncProtocol
import Foundation

/// libFuzzer entry points for every decoder of untrusted bytes (scripts/fuzz builds this with
/// `-sanitize=fuzzer`; it is not part of the normal build). `FUZZ_TARGET` picks one:
///
/// - `sync-body`: a sync request body as the daemon reads it — maybe compressed (first byte
///   picks identity, gzip or deflate), then JSON, then every change through the limits;
/// - `compressed`: gzip and deflate decompression with the daemon's size cap;
/// - `json-messages`: every other request message the daemon decodes;
/// - `change-binary`: the canonical binary change form; whatever decodes must re-encode to
///   the same bytes (one change, one form);
/// - `report-head`: the binary report-head and conflict forms kept in stores;
/// - `recording`: QA recordings (JSON Lines);
/// - `cursor`: sync cursors;
/// - `open311-form`: an Open311 form (a citizen's request) decoded and checked against a service
///   definition, with its dates;
/// - `catalogue`: a service catalogue file as admins import it; what validates must re-encode to
///   canonical JSON that decodes to the same catalogue.
///
/// - `peer-message`: a peer meeting's frames (`protocol/peer.md`): the stream cut into frames,
///   each decoded as a message; what decodes must re-encode to bytes that decode to the same.
///
/// A decoder may refuse anything; it must never crash, hang or accept what it cannot re-encode.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let data = Data(bytes: start, count: count)
    switch target {
    case "sync-body": fuzzSyncBody(data)
    case "compressed": fuzzCompressed(data)
    case "json-messages": fuzzMessages(data)
    case "change-binary": fuzzChangeBinary(data)
    case "report-head": fuzzReportHead(data)
    case "recording": _ = try? Recording.parse(data)
    case "cursor": _ = try? SyncCursor.decode(String(decoding: data, as: UTF8.self))
    case "open311-form": fuzzOpen311Form(data)
    case "catalogue": fuzzCatalogue(data)
    case "peer-message": fuzzPeerMessage(data)
    default:
        fatalError(
            "set FUZZ_TARGET to one of: sync-body, compressed, json-messages, change-binary, report-head, recording, cursor, open311-form, catalogue, peer-message"
        )
    }
    return 0
}

/// The target chosen for this process.
let target = ProcessInfo.processInfo.environment["FUZZ_TARGET"] ?? ""
let codec = JSONWireCodec()

func fuzzSyncBody(_ data: Data) {
    guard let first = data.first else { return }
    var body = data.dropFirst()
    switch first % 3 {
    case 1:
        guard let d = try? BodyCompression.gzip.decompress(Data(body), maxBytes: 1 << 20) else { return }; body = d[...]
    case 2:
        guard let d = try? BodyCompression.deflate.decompress(Data(body), maxBytes: 1 << 20) else { return };
        body = d[...]
    default: break
    }
    guard let request = try? codec.decode(SyncRequest.self, from: Data(body)) else { return }
    for signed in request.changes ?? [] {
        guard (try? ChangeLimits.standard.validate(signed.change)) != nil else { continue }
        // What the limits pass fits a store's signed 64-bit integers: a trapping conversion
        // there once let one request crash the daemon.
        let c = signed.change
        var integers = [c.dot.seq, c.hlc.millis] + c.context.entries.map(\.seq)
        for case .attachMedia(let m) in c.ops { integers.append(m.size) }
        guard integers.allSatisfy({ Int64(exactly: $0) != nil }) else {
            fatalError("a valid change holds an integer a store cannot: \(c)")
        }
        let bytes = ChangeCodec.encode(signed.change)
        // What the daemon accepts has one binary form, and it decodes back to the same change.
        guard let back = try? ChangeCodec.decode(bytes), back == signed.change else {
            fatalError("a valid change does not survive its binary form: \(signed.change)")
        }
    }
}

func fuzzCompressed(_ data: Data) {
    _ = try? BodyCompression.gzip.decompress(data, maxBytes: 1 << 20)
    _ = try? BodyCompression.deflate.decompress(data, maxBytes: 1 << 20)
}

func fuzzMessages(_ data: Data) {
    _ = try? codec.decode(RegisterRequest.self, from: data)
    _ = try? codec.decode(EnrollmentRequest.self, from: data)
    _ = try? codec.decode(OperatorRequest.self, from: data)
    _ = try? codec.decode(ResolveRequest.self, from: data)
    _ = try? codec.decode(SyncResponse.self, from: data)
}

func fuzzChangeBinary(_ data: Data) {
    guard let change = try? ChangeCodec.decode(data) else { return }
    let again = ChangeCodec.encodeData(change)
    guard again == data else {
        fatalError(
            "binary form is not canonical: \(data.count) bytes decode, re-encode to \(again.count) different bytes")
    }
}

func fuzzReportHead(_ data: Data) {
    if let head = try? ReportHeadCodec.decode(data) {
        _ = head.openConflicts
        _ = ReportHeadCodec.encode(head)
    }
    _ = try? ConflictCodec.decode(data)
}

/// libFuzzer's driver, which the fuzzer runtime provides.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

/// The entry point SwiftPM links an executable target under: hands over to libFuzzer.
@_cdecl("fieldsync_fuzz_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzOne(data, size) }
}

/// The service a fuzzed Open311 form is checked against: every attribute type.
let fuzzCatalogue = ServiceCatalogue(
    county: "kisumu",
    services: [
        .init(
            serviceCode: "pothole", serviceName: "Pothole",
            attributes: [
                .init(code: "n", datatype: .number, required: true), .init(code: "d", datatype: .datetime),
                .init(code: "s", datatype: .string), .init(code: "t", datatype: .text),
                .init(code: "one", datatype: .singlevaluelist, values: [.init(key: "a", name: "A")]),
                .init(
                    code: "many", datatype: .multivaluelist,
                    values: [.init(key: "a", name: "A"), .init(key: "b", name: "B")]),
            ])
    ])

func fuzzOpen311Form(_ data: Data) {
    guard let form = try? Open311Form(Array(data)) else { return }
    _ = try? Open311Submission.operations(form, county: "kisumu", catalogue: fuzzCatalogue)
    for value in form.values.values.joined() { _ = W3CDate.parse(value) }
}

func fuzzCatalogue(_ data: Data) {
    guard let c = try? JSONDecoder().decode(ServiceCatalogue.self, from: data), (try? CatalogueRules.validate(c)) != nil
    else { return }
    let canonical = CatalogueRules.canonicalJSON(c)
    guard let again = try? JSONDecoder().decode(ServiceCatalogue.self, from: canonical), again == c else {
        fatalError("a valid catalogue does not survive its canonical JSON")
    }
}

/// A peer's byte stream: frames, then messages; a decoded message survives a round trip.
func fuzzPeerMessage(_ data: Data) {
    var frames = PeerFrame.Decoder()
    frames.append(PeerFrame.frame([UInt8](data)))
    frames.append(data)
    while let frame = try? frames.next() {
        guard let message = try? PeerMessage(decoding: frame) else { continue }
        guard let again = try? PeerMessage(decoding: message.encoded), again == message else {
            fatalError("a peer message did not survive re-encoding")
        }
    }
}
