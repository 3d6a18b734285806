import Foundation
public import FieldSyncCore

/// The standard benchmark workload: `devices` devices each make `editsPerDevice` offline edits
/// (each edit sets 1–3 fields of a report); a share of the edits lands on reports that other
/// devices edit too; new reports are created along the way. Seeded: the same parameters give
/// the same changes, byte for byte.
public struct StandardScenario: Sendable {
    /// Number of devices.
    public var devices: Int
    /// Edits each device makes while offline.
    public var editsPerDevice: Int
    /// Share of edits on reports that several devices edit.
    public var sharedFraction: Double
    /// Number of shared reports, created before the devices go offline.
    public var sharedReports: Int
    /// Share of a device's own edits that create a new report.
    public var createFraction: Double
    /// The seed.
    public var seed: UInt64
    /// The county every report belongs to.
    public var county: String

    /// The standard scenario: 50 devices × 2,000 edits, 20% on shared reports.
    public init(
        devices: Int = 50, editsPerDevice: Int = 2_000, sharedFraction: Double = 0.2,
        sharedReports: Int = 200, createFraction: Double = 0.1, seed: UInt64 = 2026, county: String = "nairobi"
    ) {
        self.devices = devices
        self.editsPerDevice = editsPerDevice
        self.sharedFraction = sharedFraction
        self.sharedReports = sharedReports
        self.createFraction = createFraction
        self.seed = seed
        self.county = county
    }

    /// The generated changes.
    public struct Output: Sendable {
        /// The changes that create the shared reports (every device has them before going offline).
        public var seedChanges: [Change]
        /// Each device's log, in the order the device wrote it.
        public var deviceLogs: [[Change]]
        /// Every change: seed changes first, then each device's log in turn.
        public var all: [Change] { seedChanges + deviceLogs.flatMap { $0 } }
        /// The number of device edits (not counting seed changes).
        public var editCount: Int { deviceLogs.reduce(0) { $0 + $1.count } }
    }

    static let fields: [FieldName] = [
        .status, .priority, .assignee, .description, .ward, .address, .statusNotes,
        FieldName(rawValue: "attributes.water_point")!, FieldName(rawValue: "attributes.severity")!,
    ]
    static let statuses: [FieldValue] = ["open", "acknowledged", "in_progress", "closed"]
    static let categories: [FieldValue] = ["pothole", "water_point", "streetlight", "waste", "drainage"]

    /// Generates the changes.
    public func generate() -> Output {
        var rng = SplitMix64(seed: seed)
        let baseMillis: UInt64 = 1_795_000_000_000
        var coordinator = LocalDevice(id: DeviceID(rawValue: "county-desk")!)
        var seedReplica = Replica()
        var sharedIDs: [ReportID] = []
        for i in 0..<sharedReports {
            let id = ReportID(rawValue: String(format: "shared-%05d", i))!
            _ = try! seedReplica.write(
                createOps(&rng), to: id, county: county, as: &coordinator, wallMillis: baseMillis + UInt64(i))
            sharedIDs.append(id)
        }
        var logs: [[Change]] = []
        for d in 0..<devices {
            var device = LocalDevice(id: DeviceID(rawValue: String(format: "dev-%04d", d))!)
            var replica = seedReplica
            var own: [ReportID] = []
            var log: [Change] = []
            log.reserveCapacity(editsPerDevice)
            // Device clocks in the field drift: give each one its own skew of up to ±2 days.
            let skew = Int64.random(in: -172_800_000...172_800_000, using: &rng)
            for e in 0..<editsPerDevice {
                let wall = UInt64(Int64(baseMillis) + 3_600_000 + skew + Int64(e) * 1_000)
                let change: Change
                if rng.chance(sharedFraction) {
                    let id = sharedIDs[Int.random(in: 0..<sharedIDs.count, using: &rng)]
                    change = try! replica.write(editOps(&rng), to: id, county: county, as: &device, wallMillis: wall)
                } else if own.isEmpty || rng.chance(createFraction) {
                    let id = ReportID(rawValue: "\(device.id.rawValue)-r\(own.count)")!
                    change = try! replica.write(createOps(&rng), to: id, county: county, as: &device, wallMillis: wall)
                    own.append(id)
                } else {
                    let id = own[Int.random(in: 0..<own.count, using: &rng)]
                    change = try! replica.write(editOps(&rng), to: id, county: county, as: &device, wallMillis: wall)
                }
                log.append(change)
            }
            logs.append(log)
        }
        return Output(seedChanges: seedReplica.log, deviceLogs: logs)
    }

    func createOps(_ rng: inout SplitMix64) -> [ReportOperation] {
        [
            .create(county: county),
            .set(field: .serviceCode, value: StandardScenario.categories.randomElement(using: &rng)!),
            .set(field: .status, value: "open"),
            .set(field: .lat, value: .double(-1.28 + Double.random(in: -0.1...0.1, using: &rng))),
            .set(field: .long, value: .double(36.82 + Double.random(in: -0.1...0.1, using: &rng))),
        ]
    }

    func editOps(_ rng: inout SplitMix64) -> [ReportOperation] {
        let n = Int.random(in: 1...3, using: &rng)
        var chosen = Array(StandardScenario.fields.shuffled(using: &rng).prefix(n))
        chosen.sort()
        return chosen.map { field in
            let value: FieldValue
            switch field {
            case .status: value = StandardScenario.statuses.randomElement(using: &rng)!
            case .priority: value = .int(Int64.random(in: 1...4, using: &rng))
            default: value = .string("v\(UInt32.random(in: 0..<100_000, using: &rng))")
            }
            return .set(field: field, value: value)
        }
    }
}
