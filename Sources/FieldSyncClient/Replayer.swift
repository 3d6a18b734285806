public import FieldSyncCore
import FieldSyncProtocol
import Foundation

/// Re-sends a recorded session to a server and compares every response with the recorded one,
/// semantically: cursors and tokens (which must differ) are normalised, a push counts what the
/// server received whether it applied it now or held it already, and pulled changes compare as
/// a set of dots. Against a fresh server it rebuilds the same state; against the original one
/// it changes nothing.
public struct Replayer: Sendable {
    /// Where to send.
    public let transport: any SyncTransport
    /// The device's bearer token on that server.
    public let token: String

    /// Creates a replayer.
    public init(transport: any SyncTransport, token: String) {
        self.transport = transport
        self.token = token
    }

    /// One difference between a recorded and a replayed response.
    public struct Divergence: Sendable, Hashable, CustomStringConvertible {
        public var exchange: Int
        public var path: String
        public var recorded: String
        public var replayed: String
        public var description: String { "exchange \(exchange) \(path): recorded \(recorded), replayed \(replayed)" }
    }

    /// The outcome of a replay.
    public struct Report: Sendable {
        public var replayed = 0
        public var compared = 0
        public var divergences: [Divergence] = []
    }

    /// Replays every exchange in order.
    public func replay(_ recording: Recording) async throws(FieldSyncError) -> Report {
        try await Self.replay([recording], tokens: [recording.header.deviceID: token], transport: transport)[0]
    }

    /// Replays several recordings — one device's sessions, or a fleet's — as one timeline: every
    /// exchange in the order the server handled it across all of them, each with its device's
    /// token, so that what one device pushed is on the server before another pulls it.
    /// Cursors are rewritten per device across its recordings. One report per recording.
    ///
    /// With several devices, the server may have committed overlapping exchanges in another order
    /// than any replay can reproduce, so what each pull carried is compared over the device's
    /// whole session (the set of changes it pulled), not exchange by exchange; pushes are still
    /// compared one by one.
    public static func replay(
        _ recordings: [Recording], tokens: [String: String],
        transport: any SyncTransport
    ) async throws(FieldSyncError) -> [Report] {
        var reports = [Report](repeating: Report(), count: recordings.count)
        var devices: [String: ReplayedDevice] = [:]
        let fleet = Set(recordings.map(\.header.deviceID)).count > 1
        for r in recordings {
            devices[r.header.deviceID, default: ReplayedDevice()].ownOffered =
                max(devices[r.header.deviceID]?.ownOffered ?? 0, highestOwnSequence(r))
        }
        if let missing = recordings.first(where: { tokens[$0.header.deviceID] == nil }) {
            throw FieldSyncError(.invalidRequest, "no token for device \(missing.header.deviceID)")
        }
        var last: [String: Int] = [:]
        for step in timeline(recordings) {
            let device = recordings[step.recording].header.deviceID
            var session = ReplaySession(
                device: device, fleet: fleet, state: devices[device] ?? ReplayedDevice(),
                report: reports[step.recording])
            await session.replay(
                recordings[step.recording].exchanges[step.exchange], token: tokens[device] ?? "",
                transport: transport)
            devices[device] = session.state
            reports[step.recording] = session.report
            last[device] = step.recording
        }
        for (device, index) in last {
            if let divergence = devices[device]?.pullDivergence() { reports[index].divergences.append(divergence) }
        }
        return reports
    }

    /// Every exchange of every recording in one order: each device's exchanges in the order its
    /// recordings were given (its clock may have changed between sessions); across devices, the
    /// earliest the server handled (`answeredAt`) among those whose recorded answer carries only
    /// changes already pushed in the replay (a change no recording pushes does not count), so
    /// that a pull comes after the pushes it saw even when the clocks say otherwise.
    static func timeline(_ recordings: [Recording]) -> [(recording: Int, exchange: Int)] {
        var queues: [String: [TimelineStep]] = [:]
        var devices: [String] = []
        var everPushed = Set<String>()
        for (r, recording) in recordings.enumerated() {
            let device = recording.header.deviceID
            if queues[device] == nil { devices.append(device) }
            for (e, exchange) in recording.exchanges.enumerated() {
                let step = TimelineStep(exchange, header: recording.header, recording: r, index: e)
                everPushed.formUnion(step.pushes)
                queues[device, default: []].append(step)
            }
        }
        var heads = [String: Int]()
        var pushed = Set<String>()
        var steps: [(recording: Int, exchange: Int)] = []
        while true {
            var earliest: (device: String, step: TimelineStep)?
            var ready: (device: String, step: TimelineStep)?
            for device in devices {
                let queue = queues[device] ?? []
                let head = heads[device] ?? 0
                if head >= queue.count { continue }
                let step = queue[head]
                if earliest == nil || step.isBefore(earliest!.step) { earliest = (device, step) }
                let seen = step.pulls.allSatisfy { pushed.contains($0) || !everPushed.contains($0) }
                if seen, ready == nil || step.isBefore(ready!.step) { ready = (device, step) }
            }
            guard let chosen = ready ?? earliest else { return steps }
            pushed.formUnion(chosen.step.pushes)
            steps.append((chosen.step.recording, chosen.step.index))
            heads[chosen.device] = (heads[chosen.device] ?? 0) + 1
        }
    }

    /// When the server handled an exchange, as (its `server_time_ms`, when the answer arrived):
    /// the server's clock orders what it committed, the arrival breaks ties within its millisecond.
    /// An exchange without an answer (cut: the server may have committed a push whose answer was
    /// lost) counts from when it started.
    static func answeredAt(
        _ exchange: Recording.Exchange, _ header: Recording.Header
    ) -> (server: Double, arrived: Double) {
        let started = Double(header.startedAtMillis) + exchange.atMillis
        guard let response = exchange.response else { return (started, started) }
        let arrived = started + exchange.durationMillis
        let body = json(response.body, encoding: response.headers["content-encoding"]) as? [String: Any]
        return ((body?["server_time_ms"] as? Double) ?? arrived, arrived)
    }

    /// The highest sequence of its own log the recorded device offered or pushed in the session.
    static func highestOwnSequence(_ recording: Recording) -> Int {
        var highest = 0
        for exchange in recording.exchanges {
            guard
                let body = json(exchange.request.body, encoding: exchange.request.headers["Content-Encoding"])
                    as? [String: Any]
            else { continue }
            if let offered = (body["offer"] as? [String: Any])?[recording.header.deviceID] as? Int {
                highest = max(highest, offered)
            }
            for entry in body["changes"] as? [[String: Any]] ?? [] {
                guard let change = entry["change"] as? [String: Any],
                    change["device"] as? String == recording.header.deviceID,
                    let seq = change["seq"] as? Int
                else { continue }
                highest = max(highest, seq)
            }
        }
        return highest
    }

    /// Against the server the session was recorded on, the server already holds what the session
    /// pushed later, so the device's own log head (`logs.<device>`) may be ahead of the recorded
    /// one up to what the session offered: that is the same session, not a divergence.
    static func acceptingOwnLog(_ recorded: Any?, _ replayed: Any?, device: String, upTo highest: Int) -> Any? {
        guard var object = replayed as? [String: Any], var logs = object["logs"] as? [String: Any],
            let now = logs[device] as? Int,
            let then = ((recorded as? [String: Any])?["logs"] as? [String: Any])?[device] as? Int,
            now > then, now <= max(then, highest)
        else { return replayed }
        logs[device] = then
        object["logs"] = logs
        return object
    }

    static func json(_ body: Data, encoding: String?) -> Any? {
        var data = body
        if let e = try? BodyCompression.from(contentEncoding: encoding), let first = data.first,
            first != UInt8(ascii: "{"), first != UInt8(ascii: "[")
        {
            data = (try? e.decompress(data, maxBytes: 256 * 1024 * 1024)) ?? data
        }
        return try? JSONSerialization.jsonObject(with: data)
    }

    /// Removes what must differ between runs and reduces pushes and pulls to their meaning.
    static func normalize(_ value: Any?) -> Any? {
        guard var object = value as? [String: Any] else { return value }
        for key in [
            "cursor", "token", "enrollment_token", "expires_at_ms", "server_time_ms", "revoked_at_ms", "revoked_sig",
            "certificates", "certificate",
            "server_public_key",
        ] where object[key] != nil { object[key] = "<\(key)>" }
        if let accepted = object["accepted"] as? [String: Any] {
            let applied = (accepted["applied"] as? Int) ?? 0, duplicates = (accepted["duplicates"] as? Int) ?? 0
            object["accepted"] = ["received": applied + duplicates]
        }
        if let changes = object["changes"] as? [[String: Any]] {
            object["changes"] = changes.compactMap { entry -> String? in
                guard let c = entry["change"] as? [String: Any] else { return nil }
                return "\(c["device"] ?? "?"):\(c["seq"] ?? "?")"
            }.sorted()
        }
        return object.mapValues { normalize($0) as Any }
    }

    static func diff(_ a: Any?, _ b: Any?, path: String, exchange: Int, into out: inout [Divergence]) {
        switch (a, b) {
        case (let x as [String: Any], let y as [String: Any]):
            for key in Set(x.keys).union(y.keys).sorted() {
                diff(x[key], y[key], path: "\(path).\(key)", exchange: exchange, into: &out)
            }
        case (let x as [Any], let y as [Any]) where x.count == y.count:
            for (i, pair) in zip(x, y).enumerated() {
                diff(pair.0, pair.1, path: "\(path)[\(i)]", exchange: exchange, into: &out)
            }
        case (let x as NSObject, let y as NSObject) where x.isEqual(y):
            return
        case (nil, nil):
            return
        default:
            out.append(Divergence(exchange: exchange, path: path, recorded: describe(a), replayed: describe(b)))
        }
    }

    static func describe(_ v: Any?) -> String {
        guard let v else { return "nothing" }
        if let data = try? JSONSerialization.data(withJSONObject: v, options: [.sortedKeys, .fragmentsAllowed]) {
            return String(decoding: data.prefix(200), as: UTF8.self)
        }
        return "\(v)"
    }
}

/// What a replay keeps per device across its recordings.
struct ReplayedDevice {
    /// How far the device's sessions offered its own log.
    var ownOffered = 0
    /// Recorded cursor → the replay's cursor.
    var cursors: [String: String] = [:]
    /// In a fleet's replay: the changes its pulls carried, recorded and replayed.
    var recordedPulls = Set<String>()
    var replayedPulls = Set<String>()

    /// The difference between the changes pulled in the recording and in the replay, if any.
    func pullDivergence() -> Replayer.Divergence? {
        guard recordedPulls != replayedPulls else { return nil }
        let missing = recordedPulls.subtracting(replayedPulls).sorted().prefix(5)
        let extra = replayedPulls.subtracting(recordedPulls).sorted().prefix(5)
        return Replayer.Divergence(
            exchange: 0, path: "pulled over the session",
            recorded: "\(recordedPulls.count) changes (not replayed: \(missing.joined(separator: " ")))",
            replayed: "\(replayedPulls.count) changes (not recorded: \(extra.joined(separator: " ")))")
    }
}

/// One exchange's replay for one device: sends the recorded request (with the replay's cursor
/// and token) and compares the answer.
struct ReplaySession {
    let device: String
    let fleet: Bool
    var state: ReplayedDevice
    var report: Replayer.Report

    /// Sends one recorded request and compares the answer with the recorded one.
    mutating func replay(_ exchange: Recording.Exchange, token: String, transport: any SyncTransport) async {
        var request = exchange.request
        request.headers["Authorization"] = "Bearer \(token)"
        if var object = Replayer.json(request.body, encoding: request.headers["Content-Encoding"]) as? [String: Any] {
            if let c = object["cursor"] as? String { object["cursor"] = state.cursors[c] ?? c }
            if let data = try? JSONSerialization.data(withJSONObject: object) {
                request.body = data
                request.headers.removeValue(forKey: "Content-Encoding")
            }
        }
        let response: TransportResponse
        do { response = try await transport.send(request) } catch {
            let recorded = exchange.response.map { "HTTP \($0.status)" } ?? "no answer"
            report.divergences.append(
                Replayer.Divergence(
                    exchange: exchange.index, path: "$", recorded: recorded,
                    replayed: "no answer (\(error.code.rawValue))"))
            return
        }
        report.replayed += 1
        guard let recorded = exchange.response else { return }  // cut in the recording: re-sent, not compared
        report.compared += 1
        if recorded.status != response.status {
            report.divergences.append(
                Replayer.Divergence(
                    exchange: exchange.index, path: "status", recorded: "\(recorded.status)",
                    replayed: "\(response.status)"))
            return
        }
        var before = Replayer.json(recorded.body, encoding: recorded.headers["content-encoding"])
        var after = Replayer.json(response.body, encoding: response.headers["content-encoding"])
        if let b = (before as? [String: Any])?["cursor"] as? String,
            let a = (after as? [String: Any])?["cursor"] as? String
        {
            state.cursors[b] = a
        }
        after = Replayer.acceptingOwnLog(before, after, device: device, upTo: state.ownOffered)
        if fleet {
            state.recordedPulls.formUnion(Self.pulled(before))
            state.replayedPulls.formUnion(Self.pulled(after))
            before = Self.withoutPulls(before)
            after = Self.withoutPulls(after)
        }
        Replayer.diff(
            Replayer.normalize(before), Replayer.normalize(after), path: "$", exchange: exchange.index,
            into: &report.divergences)
    }

    /// The dots of the changes a response carried.
    static func pulled(_ response: Any?) -> [String] {
        ((response as? [String: Any])?["changes"] as? [[String: Any]] ?? []).compactMap { entry in
            guard let c = entry["change"] as? [String: Any] else { return nil }
            return "\(c["device"] ?? "?"):\(c["seq"] ?? "?")"
        }
    }

    /// A response without what depends on the order other devices' exchanges were committed in.
    static func withoutPulls(_ response: Any?) -> Any? {
        guard var object = response as? [String: Any] else { return response }
        for key in ["changes", "more", "own_log", "own_log_more", "logs"] { object.removeValue(forKey: key) }
        return object
    }
}

/// One exchange's place in a replay's timeline: when the server handled it, and the changes its
/// request pushed and its recorded answer carried.
struct TimelineStep {
    let recording: Int
    let index: Int
    let at: (server: Double, arrived: Double)
    let pushes: Set<String>
    let pulls: Set<String>

    init(_ exchange: Recording.Exchange, header: Recording.Header, recording: Int, index: Int) {
        self.recording = recording
        self.index = index
        at = Replayer.answeredAt(exchange, header)
        let request = Replayer.json(exchange.request.body, encoding: exchange.request.headers["Content-Encoding"])
        pushes = Set(ReplaySession.pulled(request))
        pulls = Set(
            exchange.response.map {
                ReplaySession.pulled(Replayer.json($0.body, encoding: $0.headers["content-encoding"]))
            } ?? [])
    }

    /// Whether the server handled this exchange before `other`.
    func isBefore(_ other: TimelineStep) -> Bool {
        at.server != other.at.server ? at.server < other.at.server : at.arrived < other.at.arrived
    }
}
