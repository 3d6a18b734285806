public import FieldSyncCore
import Foundation

/// A fleet simulation: counties of devices that work offline, meet as peers, and sync over
/// simulated links. Read from JSON (`scripts/scenarios/*.json`); every field but `name` has a
/// default. Seeded: the same file gives the same edits, meetings, losses and cuts.
public struct FleetScenario: Sendable, Codable, Hashable {
    /// A county and how many devices work in it.
    public struct County: Sendable, Codable, Hashable {
        public var name: String
        public var devices: Int

        /// A county with `devices` devices.
        public init(name: String, devices: Int) {
            self.name = name
            self.devices = devices
        }
    }

    public var name: String
    public var seed: UInt64 = 1
    public var counties: [County] = [County(name: "kisumu", devices: 10)]
    /// Sync waves (e.g. days).
    public var rounds: Int = 3
    /// Edits each device makes per round (1–3 fields each).
    public var editsPerRound: Int = 10
    /// Share of edits on reports other devices edit too.
    public var sharedFraction: Double = 0.2
    /// Shared reports per county, created before the first round.
    public var sharedReports: Int = 10
    /// Chance a device cannot reach the server in a round (it keeps working offline).
    public var offlineProbability: Double = 0.3
    /// Devices that never reach the server until the final sync (a village with no signal);
    /// their changes travel through peers.
    public var disconnectedFraction: Double = 0
    /// Peer meetings per round (random pairs of one county exchange changes).
    public var peerMeetingsPerRound: Int = 0
    /// The link profile (`LinkProfile.parse`).
    public var link: String = "3g"
    /// How peers meet: over TCP on loopback (`tcp`, as `fieldsync peer` does) or over an
    /// in-memory pipe (`memory`); the same protocol and checks either way.
    public var peerLink: PeerLinkKind = .memory

    /// The transports a fleet's peer meetings use.
    public enum PeerLinkKind: String, Codable, Sendable, Hashable {
        /// Real TCP connections on loopback.
        case tcp
        /// An in-memory pipe.
        case memory
    }
    /// Most syncs in flight at once.
    public var concurrency: Int = 32

    enum CodingKeys: String, CodingKey {
        case name, seed, counties, rounds, link, concurrency
        case editsPerRound = "edits_per_round", sharedFraction = "shared_fraction", sharedReports = "shared_reports"
        case offlineProbability = "offline_probability", disconnectedFraction = "disconnected_fraction"
        case peerMeetingsPerRound = "peer_meetings_per_round"
        case peerLink = "peer_link"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? seed
        counties = try c.decodeIfPresent([County].self, forKey: .counties) ?? counties
        rounds = try c.decodeIfPresent(Int.self, forKey: .rounds) ?? rounds
        editsPerRound = try c.decodeIfPresent(Int.self, forKey: .editsPerRound) ?? editsPerRound
        sharedFraction = try c.decodeIfPresent(Double.self, forKey: .sharedFraction) ?? sharedFraction
        sharedReports = try c.decodeIfPresent(Int.self, forKey: .sharedReports) ?? sharedReports
        offlineProbability = try c.decodeIfPresent(Double.self, forKey: .offlineProbability) ?? offlineProbability
        disconnectedFraction = try c.decodeIfPresent(Double.self, forKey: .disconnectedFraction) ?? disconnectedFraction
        peerMeetingsPerRound = try c.decodeIfPresent(Int.self, forKey: .peerMeetingsPerRound) ?? peerMeetingsPerRound
        link = try c.decodeIfPresent(String.self, forKey: .link) ?? link
        peerLink = try c.decodeIfPresent(PeerLinkKind.self, forKey: .peerLink) ?? peerLink
        concurrency = try c.decodeIfPresent(Int.self, forKey: .concurrency) ?? concurrency
    }

    /// A scenario with defaults.
    public init(name: String) { self.name = name }

    /// Reads and checks a scenario file.
    public static func load(_ path: String) throws(FieldSyncError) -> FleetScenario {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FieldSyncError(.notFound, "cannot read scenario '\(path)'")
        }
        let s: FleetScenario
        do { s = try JSONDecoder().decode(FleetScenario.self, from: data) } catch {
            throw FieldSyncError(.malformedJSON, "scenario '\(path)' is not valid: \(error)")
        }
        let devices = s.counties.reduce(0) { $0 + $1.devices }
        guard (1...5_000).contains(devices), s.rounds >= 0, s.editsPerRound >= 0, (0...1).contains(s.sharedFraction),
            (0...1).contains(s.offlineProbability), (0...1).contains(s.disconnectedFraction), s.concurrency >= 1
        else {
            throw FieldSyncError(
                .invalidRequest, "scenario '\(path)': 1–5,000 devices, fractions between 0 and 1, concurrency ≥ 1")
        }
        return s
    }
}
