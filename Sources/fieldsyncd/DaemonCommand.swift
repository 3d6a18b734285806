public import ArgumentParser
import FieldSyncConsole
import FieldSyncCore
import FieldSyncPostgres
import FieldSyncProtocol
import FieldSyncServer
import FieldSyncSigning
import FieldSyncStore
import Foundation
import Hummingbird
import Logging

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// `fieldsyncd`: the FieldSync server daemon.
@main
struct DaemonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fieldsyncd",
        abstract: "The FieldSync server: reconciles, stores and serves every device's change log.",
        subcommands: [Serve.self, Admin.self],
        defaultSubcommand: Serve.self
    )
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the HTTP server (SIGTERM drains requests and closes the database).")

    @OptionGroup var database: DatabaseOptions
    @Option(help: "Address to listen on (also FIELDSYNC_HOST).") var host: String =
        ProcessInfo.processInfo.environment["FIELDSYNC_HOST"] ?? "127.0.0.1"
    @Option(help: "Port to listen on, 0 picks a free one (also FIELDSYNC_PORT).") var port: Int =
        Int(ProcessInfo.processInfo.environment["FIELDSYNC_PORT"] ?? "") ?? 8080
    @Option(help: "Log level (trace, debug, info, notice, warning, error, critical).") var logLevel: Logger.Level =
        .info
    @Option(help: "Write the bound port to this file once listening.") var portFile: String?
    @Option(
        help:
            "Failed sign-ins (wrong tokens) allowed per client address per minute; raise it when many devices share one address (NAT)."
    )
    var signInLimit: Int = 20
    @Option(
        help:
            "Failed sign-ins allowed per minute over all addresses (scanning from many addresses); beyond, failures answer 429."
    )
    var signInBudget: Int = 1_000
    @Option(
        help: "Seconds a connection may go without a complete request head (idle, or slow headers) before it is closed."
    )
    var idleTimeout: Double = 30
    @Option(help: "Open connections at most (kept below the file-descriptor limit); more wait in the accept queue.")
    var maxConnections: Int = 1_000
    @Option(help: "Requests handled at once at most; more are answered 503 overloaded with Retry-After.")
    var maxInFlight: Int = 256
    @Option(help: "Largest media file (a photo) devices may upload, in MiB (1–1024).") var maxMediaMib: Int = 20
    @Option(help: "MiB one device may have in partial uploads at once (1–10240).") var mediaInFlightMib: Int = 100
    @Option(help: "Content types media may have, comma-separated (default: images, PDF, audio, MP4 video).")
    var mediaTypes: String?
    @Option(
        help:
            "The console map's tile server: a URL template with {z}, {x} and {y} (e.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png); none: a plain map."
    )
    var mapTiles: String?
    @Option(help: "The attribution the map tiles' licence asks for, shown under the map.")
    var mapAttribution = "© OpenStreetMap contributors"

    func validate() throws {
        guard (1...1_024).contains(maxMediaMib), (1...10_240).contains(mediaInFlightMib) else {
            throw ValidationError("--max-media-mib must be 1–1024 and --media-in-flight-mib 1–10240")
        }
        if let mediaTypes {
            let types = mediaTypes.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard !types.isEmpty, types.allSatisfy({ $0.contains("/") && $0.utf8.count <= 128 }) else {
                throw ValidationError("--media-types lists content types such as image/jpeg,image/png")
            }
        }
    }

    func run() async throws {
        var logger = Logger(label: "fieldsyncd")
        logger.logLevel = logLevel
        // Fault-injection runs (scripts/faults) only: crash on purpose at a named point.
        let faults = try FaultInjector(specification: ProcessInfo.processInfo.environment["FIELDSYNC_FAULT"])
        if let faults { logger.warning("fault injection on: SIGKILL at \(faults.point.rawValue) #\(faults.hit)") }
        var configuration = ServerConfiguration()
        configuration.maxFailedSignIns = max(1, signInLimit)
        configuration.maxGlobalFailedSignIns = max(1, signInBudget)
        configuration.idleTimeoutSeconds = min(3_600, max(1, idleTimeout))
        configuration.maxConnections = max(1, maxConnections)
        configuration.maxRequestsInFlight = max(1, maxInFlight)
        configuration.maxMediaBytes = UInt64(maxMediaMib) << 20
        configuration.maxMediaInFlightBytes = UInt64(mediaInFlightMib) << 20
        if let mediaTypes {
            configuration.mediaTypes = Set(
                mediaTypes.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        }
        if let mapTiles {
            guard let tiles = MapTiles(template: mapTiles, attribution: mapAttribution) else {
                throw ValidationError("--map-tiles is an http(s) URL template with {z}, {x} and {y}")
            }
            configuration.mapTiles = tiles
        }
        if let warning = database.directoryWarning() { logger.warning("\(warning)") }
        let service = try await database.open(.serve, faults: faults, configuration: configuration, logger: logger)
        let portFile = portFile
        let app = FieldSyncDaemon.application(service: service, host: host, port: port, logger: logger) { bound in
            if let portFile { try? "\(bound)\n".write(toFile: portFile, atomically: true, encoding: .utf8) }
            print("fieldsyncd listening on \(bound)")
        }
        // The scorecard's months are read into memory in the background, so that the first
        // scorecards answer from memory.
        let prewarm = Task {
            let start = ContinuousClock.now
            let (counties, reports) = await service.prewarmScorecards()
            let seconds = (ContinuousClock.now - start).components.seconds
            logger.info(
                "scorecard months in memory",
                metadata: ["counties": "\(counties)", "reports": "\(reports)", "seconds": "\(seconds)"])
        }
        try await app.runService()
        prewarm.cancel()
        await prewarm.value
        await service.store.close()
        logger.info("database closed")
    }
}

struct Admin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Administration from the shell (bootstrap a fresh database).",
        subcommands: [
            CreateAdmin.self, CreateOperator.self, Operators.self, RevokeOperator.self, Enroll.self, Revoke.self,
            Devices.self, PurgeMedia.self, CollectUploads.self, CatalogueCommand.self, Open311KeyCommand.self,
            Verify.self, NewEpoch.self, SigningKey.self, Audit.self, Check.self,
        ]
    )

    struct CreateAdmin: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Create an admin (and the database, if new) and print its token (shown once; safe while the daemon runs)."
        )
        @OptionGroup var database: DatabaseOptions
        @Option(help: "Display name.") var name = "admin"
        @Option(help: "Days until the token stops working (1-3650); omit for a token that does not expire.")
        var expiresInDays: Int?

        func run() async throws {
            let service = try await database.open(.create)
            let r = try await service.createOperator(
                OperatorRequest(name: name, role: "admin", counties: ["*"], expiresInDays: expiresInDays),
                by: .currentShell)
            print(r.token)
            await service.store.close()
        }
    }

    struct CreateOperator: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Create an operator for some counties and print its token (shown once; safe while the daemon runs).")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "Display name.") var name: String
        @Option(parsing: .upToNextOption, help: "Counties the operator may read and resolve in.") var county: [String]
        @Option(help: "Days until the token stops working (1-3650); omit for a token that does not expire.")
        var expiresInDays: Int?

        func run() async throws {
            let service = try await database.open()
            let r = try await service.createOperator(
                OperatorRequest(name: name, role: "operator", counties: county, expiresInDays: expiresInDays),
                by: .currentShell)
            print(r.token)
            await service.store.close()
        }
    }

    struct Operators: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List operators and admins (never their tokens; safe while the daemon runs).")
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let list = try await database.withService { try await $0.operators(by: .currentShell) }
            let now = UInt64(Date().timeIntervalSince1970 * 1000)
            for op in list {
                let state =
                    op.revoked ? "revoked" : op.expiresAtMillis.map { $0 <= now ? "expired" : "active" } ?? "active"
                let expiry =
                    op.expiresAtMillis.map {
                        " expires \(Date(timeIntervalSince1970: Double($0) / 1000).ISO8601Format())"
                    } ?? ""
                print(
                    "\(op.operatorID)\t\(op.role)\t\(state)\t\(op.counties.joined(separator: ","))\t\(op.name)\(expiry)"
                )
            }
        }
    }

    struct RevokeOperator: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke an operator's or admin's token: it stops working at once (safe while the daemon runs).")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The operator id (fieldsyncd admin operators lists them).") var id: String

        func run() async throws {
            let r = try await database.withService { try await $0.revokeOperator(id, by: .currentShell) }
            print("\(r.operatorID) (\(r.role)): revoked")
        }
    }

    struct PurgeMedia: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "purge-media",
            abstract:
                "Remove a media file's bytes for good (personal data in a photo), keeping the reference with the reason (safe while the daemon runs)."
        )
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The file's SHA-256.") var sha256: String
        @Option(help: "Why (kept with the reference, shown to operators, audited).") var reason: String

        func run() async throws {
            let s = try await database.withService {
                try await $0.purgeMedia(sha256, reason: reason, by: .currentShell)
            }
            print("\(s.sha256): purged (\(s.purgedReason ?? ""))")
        }
    }

    struct CollectUploads: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "collect-uploads",
            abstract:
                "Remove expired partial uploads now (the daemon also does when uploads start; safe while it runs). --all removes every partial upload: only with the daemons stopped."
        )
        @OptionGroup var database: DatabaseOptions
        @Flag(help: "Every partial upload, expired or not (devices start those uploads again).") var all = false

        func run() async throws {
            let all = self.all
            let removed = try await database.withService { service in
                try await service.blobs.collectExpired(nowMillis: all ? UInt64(Int64.max) : service.now())
            }
            print("removed \(removed) partial upload\(removed == 1 ? "" : "s")")
        }
    }

    struct Enroll: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Prepare a device's enrollment and print the one-time enrollment token (safe while the daemon runs).")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "The device's county.") var county: String
        @Option(help: "The device id (generated if omitted).") var device: String?
        @Option(help: "Hours the token stays valid.") var hours: Int = 72

        func run() async throws {
            let service = try await database.open()
            let r = try await service.enroll(
                EnrollmentRequest(county: county, deviceID: device, expiresInHours: hours), by: .currentShell)
            print("device \(r.deviceID) in \(r.county); enrollment token (one use):")
            print(r.enrollmentToken)
            await service.store.close()
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a device: its token stops working at once (safe while the daemon runs).")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The device id.") var device: String

        func run() async throws {
            let service = try await database.open()
            let r = try await service.revoke(device, by: .currentShell)
            print("\(r.deviceID): \(r.status)")
            await service.store.close()
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Check the database: integrity, every log, duplicates, and a digest of each county's state (refused while a daemon holds the database unless --force: it brings report heads up to date first)."
        )
        @OptionGroup var database: DatabaseOptions
        @Flag(help: "Print JSON.") var json = false
        @Flag(help: "Run even though a daemon holds the database (its report heads may be rewritten under it).")
        var force = false

        func run() async throws {
            let store = try await database.openStore(.exclusive, force: force)
            let v = try await store.verification()
            var states: [String: String] = [:]
            for county in v.counties {
                states[county] = Digest.sha256Hex(try await store.canonicalState(county: county))
            }
            await store.close()
            if json {
                struct Out: Encodable { var verification: StoreVerification; var states: [String: String] }
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(Out(verification: v, states: states)), as: UTF8.self))
            } else {
                print("integrity: \(v.integrity.joined(separator: "; "))")
                print(
                    "changes: \(v.changes) in \(v.logs.count) logs; duplicated dots: \(v.duplicateDots); missing below a log's head: \(v.logs.values.map(\.missing).reduce(0, +))"
                )
                for (county, digest) in states.sorted(by: { $0.key < $1.key }) { print("state \(county): \(digest)") }
            }
            if v.integrity != ["ok"] || v.duplicateDots != 0 { throw ExitCode(2) }
        }
    }

    struct NewEpoch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "After restoring the database from a backup: give it a new epoch, so that every device pulls its county again from the start once instead of skipping changes (run with the daemons stopped)."
        )
        @OptionGroup var database: DatabaseOptions
        @Flag(help: "Run even though a daemon holds the database.") var force = false

        func run() async throws {
            let store = try await database.openStore(.exclusive, force: force)
            let old = try await store.epoch()
            let new = try await store.renewEpoch()
            try await shellAudit(
                store, .newEpoch, subject: new, detail: "epoch \(old) replaced: devices pull from the start once")
            await store.close()
            print("epoch \(old) → \(new): devices will pull from the start on their next sync")
        }
    }

    struct Devices: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: """
                List devices with their health: last sync, changes waiting on the device, changes refused, last error, \
                client (safe while the daemon runs).
                """)
        @OptionGroup var database: DatabaseOptions
        @Option(help: "Only this county.") var county: String?
        @Option(help: "Only active devices that have not synced for this many days (0–3650).") var silentDays: Int?
        @Flag(help: "Print JSON.") var json = false

        func validate() throws {
            if let silentDays, !(0...3650).contains(silentDays) {
                throw ValidationError("--silent-days must be 0–3650")
            }
        }

        func run() async throws {
            let list = try await database.withService {
                try await $0.devices(county: county, by: .currentShell, silentDays: silentDays)
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
                return print(String(decoding: try encoder.encode(list), as: UTF8.self))
            }
            func time(_ ms: UInt64?) -> String {
                ms.map { Date(timeIntervalSince1970: Double($0) / 1000).ISO8601Format() } ?? "never"
            }
            let rows = list.map { d in
                [
                    d.deviceID, d.county, d.status, time(d.lastSyncMillis), d.pending.map(String.init) ?? "-",
                    "\(d.refused ?? 0)",
                    d.lastError.map { "\($0) at \(time(d.lastErrorMillis))" } ?? "-", d.client ?? "-",
                ]
            }
            TextTable.print(
                ["device", "county", "status", "last sync", "pending", "refused", "last error", "client"], rows)
        }
    }
}
