@testable import FieldSyncClient
import Foundation
import Testing
import FieldSyncTestSupport

/// The order a replay sends several recordings in (issue 14, item 6): a device's own exchanges
/// in the order given whatever its clock said; across devices, a pull after the pushes it saw.
struct ReplayTimelineTests {
    /// An exchange pushing and pulling the given dots, answered at `server` ms.
    func exchange(
        _ index: Int, at: Double, pushes: [String] = [], pulls: [String] = [], server: Double
    ) -> Recording.Exchange {
        func changes(_ dots: [String]) -> [[String: Any]] {
            dots.map { dot in
                let parts = dot.split(separator: ":")
                return ["change": ["device": String(parts[0]), "seq": Int(parts[1]) ?? 0]]
            }
        }
        let request = try? JSONSerialization.data(withJSONObject: ["changes": changes(pushes)])
        let response = try? JSONSerialization.data(withJSONObject: [
            "changes": changes(pulls), "server_time_ms": server,
        ])
        return Recording.Exchange(
            index: index, atMillis: at, durationMillis: 1,
            request: TransportRequest(method: "POST", path: "/v1/sync", body: request ?? Data()),
            response: TransportResponse(status: 200, headers: [:], body: response ?? Data()),
            error: nil, linkEvents: [])
    }

    func recording(_ device: String, startedAt: UInt64, _ exchanges: [Recording.Exchange]) -> Recording {
        Recording(
            header: Recording.Header(
                deviceID: device, county: "kisumu", publicKey: "", server: "", startedAtMillis: startedAt,
                link: nil),
            exchanges: exchanges)
    }

    @Test func aDevicesRecordingsKeepTheirOrderWhateverItsClock() {
        // Tuesday's session was recorded with the phone's clock set back a day.
        let monday = recording(
            "tab-7", startedAt: 2_000_000,
            [exchange(1, at: 0, server: 2_000_000), exchange(2, at: 5, server: 2_000_005)])
        let tuesday = recording("tab-7", startedAt: 1_000_000, [exchange(1, at: 0, server: 1_000_000)])
        let order = Replayer.timeline([monday, tuesday]).map { "\($0.recording).\($0.exchange)" }
        #expect(order == ["0.0", "0.1", "1.0"])
    }

    @Test func aPullComesAfterThePushesItSawAndOtherwiseByTheServersClock() {
        // B's pull carried a:1 although the server's clock put it before A's push of a:1.
        let a = recording("a", startedAt: 0, [exchange(1, at: 0, pushes: ["a:1"], server: 200)])
        let b = recording(
            "b", startedAt: 0,
            [
                exchange(1, at: 0, pulls: ["a:1"], server: 100),
                exchange(2, at: 1, server: 300),
            ])
        // z:9: no recording pushes it, so C's pull waits for nothing.
        let c = recording("c", startedAt: 0, [exchange(1, at: 0, pulls: ["z:9"], server: 50)])
        let order = Replayer.timeline([a, b, c]).map { "\($0.recording).\($0.exchange)" }
        #expect(order == ["2.0", "0.0", "1.0", "1.1"])
    }
}
