import FieldSyncCore
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
        var report = Report()
        var cursors: [String: String] = [:]
        let own = recording.header.deviceID
        let ownOffered = Self.highestOwnSequence(recording)
        for exchange in recording.exchanges {
            var request = exchange.request
            request.headers["Authorization"] = "Bearer \(token)"
            if var object = Self.json(request.body, encoding: request.headers["Content-Encoding"]) as? [String: Any] {
                if let c = object["cursor"] as? String { object["cursor"] = cursors[c] ?? c }
                if let data = try? JSONSerialization.data(withJSONObject: object) {
                    request.body = data
                    request.headers.removeValue(forKey: "Content-Encoding")
                }
            }
            let response: TransportResponse
            do { response = try await transport.send(request) } catch {
                report.divergences.append(Divergence(exchange: exchange.index, path: "$", recorded: exchange.response.map { "HTTP \($0.status)" } ?? "no answer", replayed: "no answer (\(error.code.rawValue))"))
                continue
            }
            report.replayed += 1
            guard let recorded = exchange.response else { continue }   // cut in the recording: re-sent, not compared
            report.compared += 1
            if recorded.status != response.status {
                report.divergences.append(Divergence(exchange: exchange.index, path: "status", recorded: "\(recorded.status)", replayed: "\(response.status)"))
                continue
            }
            let before = Self.json(recorded.body, encoding: recorded.headers["content-encoding"])
            let after = Self.json(response.body, encoding: response.headers["content-encoding"])
            if let b = (before as? [String: Any])?["cursor"] as? String, let a = (after as? [String: Any])?["cursor"] as? String { cursors[b] = a }
            let replayed = Self.acceptingOwnLog(before, after, device: own, upTo: ownOffered)
            Self.diff(Self.normalize(before), Self.normalize(replayed), path: "$", exchange: exchange.index, into: &report.divergences)
        }
        return report
    }

    /// The highest sequence of its own log the recorded device offered or pushed in the session.
    static func highestOwnSequence(_ recording: Recording) -> Int {
        var highest = 0
        for exchange in recording.exchanges {
            guard let body = json(exchange.request.body, encoding: exchange.request.headers["Content-Encoding"]) as? [String: Any]
            else { continue }
            if let offered = (body["offer"] as? [String: Any])?[recording.header.deviceID] as? Int { highest = max(highest, offered) }
            for entry in body["changes"] as? [[String: Any]] ?? [] {
                guard let change = entry["change"] as? [String: Any], change["device"] as? String == recording.header.deviceID,
                      let seq = change["seq"] as? Int else { continue }
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
              now > then, now <= max(then, highest) else { return replayed }
        logs[device] = then
        object["logs"] = logs
        return object
    }

    static func json(_ body: Data, encoding: String?) -> Any? {
        var data = body
        if let e = try? BodyCompression.from(contentEncoding: encoding), let first = data.first, first != UInt8(ascii: "{"), first != UInt8(ascii: "[") {
            data = (try? e.decompress(data, maxBytes: 256 * 1024 * 1024)) ?? data
        }
        return try? JSONSerialization.jsonObject(with: data)
    }

    /// Removes what must differ between runs and reduces pushes and pulls to their meaning.
    static func normalize(_ value: Any?) -> Any? {
        guard var object = value as? [String: Any] else { return value }
        for key in ["cursor", "token", "enrollment_token", "expires_at_ms", "server_time_ms", "revoked_at_ms", "revoked_sig", "server_public_key"] where object[key] != nil { object[key] = "<\(key)>" }
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
            for key in Set(x.keys).union(y.keys).sorted() { diff(x[key], y[key], path: "\(path).\(key)", exchange: exchange, into: &out) }
        case (let x as [Any], let y as [Any]) where x.count == y.count:
            for (i, pair) in zip(x, y).enumerated() { diff(pair.0, pair.1, path: "\(path)[\(i)]", exchange: exchange, into: &out) }
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
