import FieldSyncCore
import Foundation
import Testing

/// The catalogue's rules, I/O-free: attribute text becomes checked report fields, reports are
/// held against the catalogue, and W3C date-times read and write back exactly.
struct CatalogueRulesTests {
    static let pothole = ServiceCatalogue.Service(
        serviceCode: "pothole", serviceName: "Pothole",
        attributes: [
            .init(code: "depth_cm", datatype: .number, required: true, order: 1),
            .init(code: "seen_at", datatype: .datetime, order: 2),
            .init(
                code: "lane", datatype: .singlevaluelist, order: 3,
                values: [.init(key: "left", name: "Left"), .init(key: "right", name: "Right")]),
            .init(
                code: "hazards", datatype: .multivaluelist, order: 4,
                values: [.init(key: "water", name: "Water"), .init(key: "traffic", name: "Traffic")]),
            .init(code: "note", datatype: .text, order: 5),
        ])

    @Test func attributeTextBecomesCheckedFields() throws {
        let fields = try CatalogueRules.fields(
            for: Self.pothole,
            given: [
                "depth_cm": ["12.5"], "lane": ["left"], "hazards": ["water", "traffic"],
                "seen_at": ["2026-11-29T08:00:00+03:00"],
            ])
        #expect(fields[FieldName(rawValue: "attributes.depth_cm")!] == .double(12.5))
        #expect(fields[FieldName(rawValue: "attributes.hazards")!] == .array(["water", "traffic"]))
        #expect(fields[FieldName(rawValue: "attributes.lane")!] == "left")
        let refused: [[String: [String]]] = [
            [:],  // depth_cm is required
            ["depth_cm": ["deep"]],
            ["depth_cm": ["1e400"]],
            ["depth_cm": ["3"], "lane": ["middle"]],
            ["depth_cm": ["3"], "lane": ["left", "right"]],
            ["depth_cm": ["3"], "hazards": ["fire"]],
            ["depth_cm": ["3"], "seen_at": ["yesterday"]],
            ["depth_cm": ["3"], "colour": ["red"]],
            ["depth_cm": ["3"], "note": [String(repeating: "x", count: 4_001)]],
        ]
        for given in refused {
            #expect(throws: FieldSyncError.self, "\(given.keys.sorted())") {
                try CatalogueRules.fields(for: Self.pothole, given: given)
            }
        }
    }

    @Test func reportsAreHeldAgainstTheCatalogue() {
        let catalogue = ServiceCatalogue(county: "kisumu", version: 3, services: [Self.pothole])
        #expect(
            CatalogueRules.issues(of: ["service_code": "pothole", "attributes.depth_cm": 4], against: catalogue).isEmpty
        )
        #expect(
            CatalogueRules.issues(of: ["service_code": "pothole"], against: catalogue)
                == ["required attribute 'depth_cm' is missing"])
        #expect(
            CatalogueRules.issues(of: ["service_code": "pothole", "attributes.depth_cm": "deep"], against: catalogue)
                == ["attribute 'depth_cm' does not fit its number"])
        #expect(
            CatalogueRules.issues(of: ["service_code": "noise"], against: catalogue)
                == ["service_code 'noise' is not in catalogue version 3"])
        #expect(CatalogueRules.issues(of: [:], against: catalogue) == ["no service_code"])
    }

    @Test func theSignedBytesDoNotDependOnKeyOrder() throws {
        let a = try JSONDecoder().decode(
            ServiceCatalogue.self,
            from: Data(#"{"county":"k","services":[{"service_code":"a","service_name":"A/B"}],"version":2}"#.utf8))
        let b = try JSONDecoder().decode(
            ServiceCatalogue.self,
            from: Data(#"{"version":2,"services":[{"service_name":"A/B","service_code":"a"}],"county":"k"}"#.utf8))
        #expect(CatalogueRules.signingInput(a) == CatalogueRules.signingInput(b))
        #expect(
            String(decoding: CatalogueRules.canonicalJSON(a), as: UTF8.self)
                == #"{"county":"k","services":[{"service_code":"a","service_name":"A/B"}],"version":2}"#)
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func w3cDatesReadBackWhatTheyWrite(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        for _ in 0..<2_000 {
            let millis = Int64(rng.next() % 253_402_300_799) * 1_000  // 1970 … 9999, whole seconds
            let offset = Int(rng.next() % 1_441) - 720
            let text = W3CDate.format(millis, offsetMinutes: offset)
            #expect(W3CDate.parse(text) == millis, "seed \(seed): \(millis) at \(offset) wrote \(text)")
        }
        #expect(W3CDate.parse("2026-11-29T18:21:10.5+03:00") == 1_795_965_670_500)
        #expect(W3CDate.parse("2026-11-29") == 1_795_910_400_000)
        for bad in ["2026-02-30", "2026-11-29T25:00Z", "2026-11-29T10:00", "29/11/2026", "2026-11-29T10:00+3", ""] {
            #expect(W3CDate.parse(bad) == nil, "\(bad)")
        }
    }
}

/// A report's timeline is the same whatever order its changes are folded in, and folding one
/// twice changes nothing: every store computes the same scorecard from the same changes.
struct ReportTimelineTests {
    @Test(arguments: [UInt64(1), 2, 3, 4, 5])
    func foldingIsCommutativeAndIdempotent(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let report = ReportID(rawValue: "r-1")!
        let device = DeviceID(rawValue: "tab-1")!
        let statuses: [FieldValue] = ["open", "acknowledged", "in_progress", "closed", "resolved", "Fixed"]
        var changes: [Change] = []
        for seq in 1...30 {
            let ops: [ReportOperation] =
                seq == 1
                ? [.create(county: "kisumu"), .set(field: .status, value: "open")]
                : [.set(field: .status, value: statuses[Int(rng.next() % UInt64(statuses.count))])]
            changes.append(
                Change(
                    dot: Dot(device: device, seq: UInt64(seq)), report: report, county: "kisumu",
                    context: VersionVector(), hlc: HybridTimestamp(millis: 1_000 + rng.next() % 1_000_000),
                    ops: ops))
        }
        var inOrder = ReportTimeline(report: report, county: "kisumu")
        for c in changes { inOrder.apply(c) }
        for _ in 0..<20 {
            var shuffled = changes
            for i in stride(from: shuffled.count - 1, to: 0, by: -1) {
                shuffled.swapAt(i, Int(rng.next() % UInt64(i + 1)))
            }
            var t = ReportTimeline(report: report, county: "kisumu")
            for c in shuffled + shuffled.prefix(5) { t.apply(c) }
            #expect(t == inOrder, "seed \(seed)")
        }
        let closes = changes.filter { c in
            c.ops.contains { if case .set(.status, .string(let s)) = $0 { ReportStatus.closes(s) } else { false } }
        }
        #expect(inOrder.closedMillis == closes.map(\.hlc.millis).min(), "seed \(seed)")
    }
}
