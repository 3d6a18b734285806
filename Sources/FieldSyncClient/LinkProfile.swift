public import FieldSyncCore
import Foundation

/// The shape of a network link: bandwidth each way, one-way latency, packet loss, and how often
/// a connection is cut mid-transfer. The named profiles and their sources are in docs/links.md.
public struct LinkProfile: Sendable, Hashable, Codable, CustomStringConvertible {
    /// A short name.
    public var name: String
    /// Downstream bandwidth, bits per second.
    public var downBitsPerSecond: Double
    /// Upstream bandwidth, bits per second.
    public var upBitsPerSecond: Double
    /// One-way latency, milliseconds.
    public var latencyMillis: Double
    /// Probability that a packet is lost (each loss costs a retransmission round trip).
    public var loss: Double
    /// Probability that a request's connection is cut mid-transfer.
    public var cut: Double
    /// No connectivity at all.
    public var offline: Bool = false

    public var description: String {
        offline
            ? "offline"
            : "\(name): \(Int(downBitsPerSecond / 1000))/\(Int(upBitsPerSecond / 1000)) kbit/s, \(Int(latencyMillis)) ms one way, \(loss * 100)% loss, \(cut * 100)% cuts"
    }

    /// No network.
    public static let offline = LinkProfile(
        name: "offline", downBitsPerSecond: 0, upBitsPerSecond: 0, latencyMillis: 0, loss: 0, cut: 0, offline: true)
    /// 2G in a rural area (Facebook ATC "2G-DevelopingRural").
    public static let twoG = LinkProfile(
        name: "2g", downBitsPerSecond: 20_000, upBitsPerSecond: 18_000, latencyMillis: 650, loss: 0.02, cut: 0)
    /// EDGE with loss (Facebook ATC "Edge-Lossy").
    public static let edge = LinkProfile(
        name: "edge", downBitsPerSecond: 240_000, upBitsPerSecond: 200_000, latencyMillis: 420, loss: 0.01, cut: 0)
    /// 3G average (Facebook ATC "3G-Average").
    public static let threeG = LinkProfile(
        name: "3g", downBitsPerSecond: 780_000, upBitsPerSecond: 330_000, latencyMillis: 100, loss: 0, cut: 0)
    /// A link that works but drops one connection in five.
    public static let flaky = LinkProfile(
        name: "flaky", downBitsPerSecond: 240_000, upBitsPerSecond: 200_000, latencyMillis: 400, loss: 0.03, cut: 0.2)
    /// Loopback speed: no shaping.
    public static let lan = LinkProfile(
        name: "lan", downBitsPerSecond: 1e9, upBitsPerSecond: 1e9, latencyMillis: 0, loss: 0, cut: 0)

    /// Parses `offline|2g|edge|3g|flaky|lan|custom:bw=…,up=…,rtt=…,loss=…,cut=…` (bandwidths in
    /// kbit/s, rtt in ms).
    public static func parse(_ text: String) throws(FieldSyncError) -> LinkProfile {
        switch text.lowercased() {
        case "offline": return .offline
        case "2g": return .twoG
        case "edge": return .edge
        case "3g": return .threeG
        case "flaky": return .flaky
        case "lan", "none": return .lan
        default: break
        }
        guard text.lowercased().hasPrefix("custom:") else {
            throw FieldSyncError(
                .invalidRequest,
                "unknown link profile '\(text.prefix(40))': use offline, 2g, edge, 3g, flaky, lan or custom:bw=KBIT,up=KBIT,rtt=MS,loss=P,cut=P"
            )
        }
        var p = LinkProfile(
            name: "custom", downBitsPerSecond: 1e9, upBitsPerSecond: 1e9, latencyMillis: 0, loss: 0, cut: 0)
        var upGiven = false
        for part in text.dropFirst("custom:".count).split(separator: ",") {
            let kv = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2, let v = Double(kv[1]), v >= 0 else {
                throw FieldSyncError(.invalidRequest, "link setting '\(part.prefix(40))' must be name=number")
            }
            switch kv[0] {
            case "bw": p.downBitsPerSecond = v * 1000
            case "up": p.upBitsPerSecond = v * 1000; upGiven = true
            case "rtt": p.latencyMillis = v / 2
            case "latency": p.latencyMillis = v
            case "loss": guard v < 1 else { throw FieldSyncError(.invalidRequest, "loss must be below 1") }; p.loss = v
            case "cut": guard v < 1 else { throw FieldSyncError(.invalidRequest, "cut must be below 1") }; p.cut = v
            default:
                throw FieldSyncError(
                    .invalidRequest, "unknown link setting '\(kv[0])': use bw, up, rtt, latency, loss, cut")
            }
        }
        if !upGiven { p.upBitsPerSecond = p.downBitsPerSecond }
        guard p.downBitsPerSecond > 0, p.upBitsPerSecond > 0 else {
            throw FieldSyncError(.invalidRequest, "bandwidth must be positive")
        }
        return p
    }
}
