import ArgumentParser
import FieldSyncClient
import FieldSyncCore
import FieldSyncProtocol
import Foundation

/// `--server` and `--token` for operator commands.
struct OperatorOptions: ParsableArguments {
    @Option(help: "Server URL.") var server: String =
        ProcessInfo.processInfo.environment["FIELDSYNC_SERVER"] ?? "http://127.0.0.1:8080"
    @Option(help: "Operator token (or FIELDSYNC_TOKEN).") var token: String?
    @Flag(help: "Print JSON (for scripts).") var json = false

    func api() throws -> FieldSyncAPI {
        guard let url = URL(string: server) else { throw ValidationError("--server must be a URL") }
        guard let token = token ?? ProcessInfo.processInfo.environment["FIELDSYNC_TOKEN"] else {
            throw ValidationError("give --token or set FIELDSYNC_TOKEN to an operator token")
        }
        return FieldSyncAPI(transport: URLSessionTransport(baseURL: url), token: token)
    }
}

/// `fieldsync conflicts …`: the conflict log.
struct ConflictsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conflicts", abstract: "Inspect and resolve conflicts (operators).",
        subcommands: [List.self, Show.self, Resolve.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List conflicts.")
        @OptionGroup var options: OperatorOptions
        @Option(help: "open, resolved or all.") var state = "open"
        @Option(help: "County.") var county: String?
        @Option(help: "Field.") var field: String?
        @Option(help: "Report id.") var report: String?
        @Option(help: "Only since this time (ms since epoch).") var since: UInt64?
        @Option(help: "Page size.") var limit = 50
        @Option(help: "Offset.") var offset = 0
        @Flag(help: "Show personal data (reporter contact) in conflicts on personal fields.") var personal = false

        func run() async throws {
            var q = ["state": state, "limit": "\(limit)", "offset": "\(offset)"]
            q["county"] = county
            q["field"] = field
            q["report"] = report
            q["since"] = since.map(String.init)
            var list = try await options.api().conflicts(query: q)
            list.conflicts = list.conflicts.map { PersonalData.redact($0, shown: personal) }
            if options.json { return try printJSON(list) }
            printTable(
                ["id", "state", "candidates", "showing / resolved to", "when"],
                list.conflicts.map { c in
                    [
                        c.id, c.isOpen ? "open" : "resolved",
                        c.candidates.map { "\($0.dot)=\($0.value)" }.joined(separator: " | "),
                        c.resolution.map { "\($0.value) by \($0.device)" } ?? (c.winner?.value.description ?? ""),
                        humanTime(c.resolution?.hlc ?? c.candidates.map(\.hlc).max() ?? .zero),
                    ]
                })
            if let next = list.nextOffset { print("more: --offset \(next)") }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one conflict with every candidate.")
        @OptionGroup var options: OperatorOptions
        @Argument(help: "Conflict id: report/field, or report/field/device:seq for a resolved one.") var id: String
        @Flag(help: "Show personal data (reporter contact) in a conflict on a personal field.") var personal = false

        func run() async throws {
            let c = PersonalData.redact(try await options.api().conflict(id), shown: personal)
            if options.json { return try printJSON(c) }
            print("\(c.id) — \(c.county), field \(c.field), \(c.isOpen ? "OPEN" : "resolved")")
            for cand in c.candidates { print("  candidate \(cand.dot)  \(humanTime(cand.hlc))  \(cand.value)") }
            if let r = c.resolution {
                print(
                    "  resolved by \(r.dot) at \(humanTime(r.hlc)) → \(r.value)\(r.chosen.map { " (kept \($0))" } ?? " (new value)")"
                )
            } else {
                print(
                    "  showing \(c.winner?.value.description ?? "?") until resolved: fieldsync conflicts resolve \(c.id) --choose DEVICE:SEQ | --value VALUE"
                )
            }
        }
    }

    struct Resolve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Resolve an open conflict: keep a candidate or set a new value.")
        @OptionGroup var options: OperatorOptions
        @Argument(help: "Conflict id (report/field).") var id: String
        @Option(help: "The candidate to keep, as device:seq.") var choose: String?
        @Option(help: "A new value (JSON if valid, else text).") var value: String?

        func run() async throws {
            guard (choose == nil) != (value == nil) else {
                throw ValidationError("give exactly one of --choose or --value")
            }
            let r = try await options.api().resolve(id, ResolveRequest(choose: choose, value: value.map(parseValue)))
            if options.json { return try printJSON(r) }
            print("resolved \(id) with change \(r.change.dot); it syncs to every device")
        }
    }
}

/// `fieldsync reports …`: the server's reports.
struct ReportsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reports", abstract: "Browse the server's reports (operators).",
        subcommands: [List.self, Show.self, History.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List reports.")
        @OptionGroup var options: OperatorOptions
        @Option(help: "County.") var county: String?
        @Option(help: "Status.") var status: String?
        @Option(help: "Category (service code).") var category: String?
        @Option(help: "active or withdrawn.") var lifecycle: String?
        @Option(help: "Updated since (ms since epoch).") var updatedSince: UInt64?
        @Option(help: "Text to search.") var text: String?
        @Option(help: "Page size.") var limit = 50
        @Option(help: "Offset.") var offset = 0

        func run() async throws {
            var q = ["limit": "\(limit)", "offset": "\(offset)"]
            q["county"] = county
            q["status"] = status
            q["category"] = category
            q["lifecycle"] = lifecycle
            q["updated_since"] = updatedSince.map(String.init)
            q["q"] = text
            var list = try await options.api().reports(query: q)
            list.reports = list.reports.map { PersonalData.redact($0, shown: false) }
            if options.json { return try printJSON(list) }
            printReports(list.reports)
            if let next = list.nextOffset { print("more: --offset \(next)") }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one report.")
        @OptionGroup var options: OperatorOptions
        @Argument(help: "Report id.") var id: String
        @Flag(help: "Show personal data.") var personal = false

        func run() async throws {
            let d = try await options.api().report(id)
            if options.json { return try printJSON(PersonalData.redact(d.report, shown: personal)) }
            printReport(d.report, personal: personal)
            for m in d.media ?? [] {
                print(
                    "  media \(m.sha256.prefix(12))… \(m.state)\(m.purgedReason.map { " (\($0))" } ?? "")")
            }
        }
    }

    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show every change of a report: who, when, what.")
        @OptionGroup var options: OperatorOptions
        @Argument(help: "Report id.") var id: String
        @Flag(help: "Show personal data (reporter contact) set by changes.") var personal = false

        func run() async throws {
            let d = try await options.api().report(id)
            if options.json { return try printJSON(d.history.map { PersonalData.redact($0, shown: personal) }) }
            printTable(
                ["change", "when", "operations"],
                d.history.map { c in
                    [
                        "\(c.dot)", humanTime(c.hlc),
                        LogCommand.summary(of: c),
                    ]
                })
        }
    }
}

/// `fieldsync replay`: re-send a recorded session.
struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay", abstract: "Re-send recorded sync sessions and diff the responses (QA).")
    @Argument(
        help: """
            Recordings (from 'fieldsync sync --record'), or directories of them (from 'fieldsync simulate --record'): \
            replayed as one timeline, in the order their exchanges were recorded.
            """)
    var files: [String]
    @Option(help: "Server to replay against (or FIELDSYNC_SERVER).")
    var server: String = ProcessInfo.processInfo.environment["FIELDSYNC_SERVER"] ?? "http://127.0.0.1:8080"
    @Option(help: "The device's token on that server (replaying against the server it was recorded on).") var token:
        String?
    @Option(help: "An admin token: enroll each recorded device (same id and public key) on a fresh server first.")
    var adminToken: String?

    func run() async throws {
        let paths = try Self.expand(files)
        let recordings = try paths.map { try Recording.read($0) }
        guard let url = URL(string: server) else { throw ValidationError("--server must be a URL") }
        try checkDevices(recordings)
        let transport = URLSessionTransport(baseURL: url)
        // Every device first: a fleet's devices relay each other's changes.
        if token == nil, let adminToken {
            try await refuseKnownDevices(recordings, admin: FieldSyncAPI(transport: transport, token: adminToken))
        }
        var tokens: [String: String] = [:]
        for recording in recordings where tokens[recording.header.deviceID] == nil {
            if let token {
                tokens[recording.header.deviceID] = token
            } else {
                tokens[recording.header.deviceID] = try await enroll(recording, transport: transport)
            }
        }
        let reports = try await Replayer.replay(recordings, tokens: tokens, transport: transport)
        var diverged = false
        for (index, report) in reports.enumerated() {
            let recording = recordings[index]
            if recordings.count > 1 { print("== \(paths[index]) (\(recording.header.deviceID))") }
            print("replayed \(report.replayed) of \(recording.exchanges.count) exchanges, compared \(report.compared)")
            for d in report.divergences { print("DIVERGED \(d)") }
            diverged = diverged || !report.divergences.isEmpty
        }
        if diverged { throw ExitCode(1) }
        print("no divergence")
    }

    /// Files as given; a directory stands for its recordings (`*.jsonl`), in name order.
    static func expand(_ files: [String]) throws -> [String] {
        var paths: [String] = []
        for file in files {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory), isDirectory.boolValue else {
                paths.append(file)
                continue
            }
            let names = try FileManager.default.contentsOfDirectory(atPath: file).filter { $0.hasSuffix(".jsonl") }
                .sorted()
            guard !names.isEmpty else { throw ValidationError("\(file) holds no recordings (*.jsonl)") }
            paths += names.map { URL(fileURLWithPath: file).appendingPathComponent($0).path }
        }
        return paths
    }

    /// Enrolls nothing when the server already knows one of the devices (a half-enrolled fleet
    /// could not be replayed again).
    private func refuseKnownDevices(_ recordings: [Recording], admin: FieldSyncAPI) async throws {
        struct Devices: Decodable { var devices: [DeviceInfo] }
        let known = Set(try await admin.get("/v1/admin/devices", as: Devices.self).devices.map(\.deviceID))
        if let device = recordings.map(\.header.deviceID).first(where: known.contains) {
            throw ValidationError(Self.alreadyEnrolled(device, server: server))
        }
    }

    /// One token serves one device, and one enrollment one public key.
    private func checkDevices(_ recordings: [Recording]) throws {
        var keys: [String: String] = [:]
        for r in recordings {
            if let key = keys[r.header.deviceID], key != r.header.publicKey {
                throw ValidationError(
                    "the recordings of \(r.header.deviceID) carry different public keys (two enrollments of one id): replay them on separate fresh servers"
                )
            }
            keys[r.header.deviceID] = r.header.publicKey
        }
        if token != nil, keys.count > 1 {
            throw ValidationError(
                "--token is one device's token, and these recordings are of \(keys.count) devices: use --admin-token on a fresh server, or replay one device at a time"
            )
        }
        if token == nil, adminToken == nil {
            throw ValidationError(
                "give --token (the server the session was recorded on) or --admin-token (a fresh server)")
        }
    }

    private static func alreadyEnrolled(_ device: String, server: String) -> String {
        """
        \(device) is already enrolled on \(server) (by an earlier replay?): replay all of a device's recordings in one \
        command (fieldsync replay A.jsonl B.jsonl --admin-token …), or pass the device token that replay printed with \
        --token; --admin-token needs a server that does not know the device
        """
    }

    /// Enrolls the recorded device on a fresh server and prints its token for later replays.
    private func enroll(_ recording: Recording, transport: URLSessionTransport) async throws -> String {
        let device = recording.header.deviceID
        guard let adminToken else { throw ValidationError("give --token or --admin-token") }
        guard let key = Data(base64Encoded: recording.header.publicKey) else {
            throw ValidationError("the recording's public key is not base64")
        }
        let admin = FieldSyncAPI(transport: transport, token: adminToken)
        let enrollment: EnrollmentResponse
        do {
            enrollment = try await admin.enroll(EnrollmentRequest(county: recording.header.county, deviceID: device))
        } catch {
            guard error.code == .invalidEnrollment else { throw error }
            throw ValidationError(Self.alreadyEnrolled(device, server: server))
        }
        let token = try await FieldSyncAPI(transport: transport).register(
            enrollmentToken: enrollment.enrollmentToken, publicKey: key
        ).token
        print(
            "enrolled \(device) in \(recording.header.county); its device token (for --token in later replays): \(token)"
        )
        return token
    }
}
