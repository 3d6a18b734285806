import FieldSyncProtocol
import ArgumentParser
import FieldSyncClient
import FieldSyncCore
import FieldSyncSigning
import FieldSyncStore
import Foundation

/// `fieldsync device …`: the device's identity.
struct DeviceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "device", abstract: "Enroll this device and show its identity.",
        subcommands: [Enroll.self, Info.self, Token.self])

    struct Enroll: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Enroll with a server using a one-time enrollment token; generates and keeps the device key.")
        @OptionGroup var options: StoreOptions
        @Option(help: "The server, e.g. http://127.0.0.1:8080.") var server: String
        @Option(help: "The one-time enrollment token an admin gave you (fse_…).") var token: String

        func run() async throws {
            guard let url = URL(string: server), url.scheme != nil else {
                throw ValidationError("--server must be a URL such as http://127.0.0.1:8080")
            }
            let store = try options.open()
            if let existing = try await store.identity() {
                throw ValidationError("this store is already enrolled as \(existing); use a new --store")
            }
            let key = DeviceKey()
            let registered = try await FieldSyncAPI(transport: URLSessionTransport(baseURL: url)).register(
                enrollmentToken: token, publicKey: key.publicKey)
            try await DeviceCredentials(
                id: DeviceID(validating: registered.deviceID), county: registered.county, key: key,
                token: registered.token, server: url
            ).save(store)
            // The server's key checks the revocation lists peers hand on (PeerRevocations).
            try await PeerCertificates.keep(registration: registered, in: store)
            print("enrolled as \(registered.deviceID) in \(registered.county); credentials kept in \(options.store)")
        }
    }

    struct Info: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the device's id, county, server and public key.")
        @OptionGroup var options: StoreOptions

        func run() async throws {
            let c = try await DeviceCredentials.load(try options.open())
            print("device \(c.id) in \(c.county), server \(c.server.absoluteString)")
            print("public key \(c.key.publicKey.base64EncodedString())")
        }
    }

    struct Token: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Print the device's bearer token (fsd_…), e.g. for fieldsync replay --token. It is a secret: whoever holds it syncs as this device."
        )
        @OptionGroup var options: StoreOptions

        func run() async throws {
            print(try await DeviceCredentials.load(try options.open()).token)
        }
    }
}

/// `fieldsync log`: the device's own change log.
struct LogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "log", abstract: "Show this device's own change log.")
    @OptionGroup var options: StoreOptions
    @Flag(help: "Print JSON.") var json = false
    @Option(help: "Show changes after this sequence number.") var after: UInt64 = 0

    func run() async throws {
        let store = try options.open()
        let c = try await DeviceCredentials.load(store)
        let log = try await store.log(of: c.id, after: after, limit: 100_000)
        if json { return try printJSON(log) }
        // Changes set aside left the log; their records keep them, shown here with the reason.
        let bodies = try await store.setAsideBodies()
        var rows = log.map { ($0, "") }
        for r in try await store.refusals(limit: 10_000) where r.dot.device == c.id && r.dot.seq > after {
            guard let body = bodies[r.dot], !body.isEmpty, let change = try? ChangeCodec.decode(body),
                !log.contains(change)
            else { continue }
            rows.append((change, "set aside: \(r.code)"))
        }
        rows.sort { ($0.0.dot.seq, $0.1) < ($1.0.dot.seq, $1.1) }
        printTable(
            ["seq", "time", "report", "operations", "sync"],
            rows.map { ch, note in
                [
                    "\(ch.dot.seq)", humanTime(ch.hlc), ch.report.rawValue,
                    ch.ops.map(Self.describe).joined(separator: "; "), note,
                ]
            })
    }

    /// A change's operations, and the conflicts it resolves, in one line.
    static func summary(of change: Change) -> String {
        let ops = change.ops.map(describe).joined(separator: "; ")
        guard !change.resolves.isEmpty else { return ops }
        return ops + " (resolves \(change.resolves.keys.map(\.rawValue).sorted().joined(separator: ",")))"
    }

    static func describe(_ op: ReportOperation) -> String {
        switch op {
        case .create(let county): return "create in \(county)"
        case .set(let f, let v): return f.isPersonal ? "set \(f) (personal)" : "set \(f)=\(v)"
        case .addTag(let t): return "tag +\(t)"
        case .removeTag(let t): return "tag -\(t)"
        case .appendNote: return "note"
        case .attachMedia(let m): return "media \(m.contentType)"
        case .withdraw: return "withdraw"
        case .restore: return "restore"
        }
    }
}

/// `fieldsync status`: what is waiting to sync.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show pending changes, the last sync and the pull cursor.")
    @OptionGroup var options: StoreOptions
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let store = try options.open()
        let c = try await DeviceCredentials.load(store)
        let status = try await c.status(store)
        if json { return try printJSON(status) }
        print("device \(c.id) (\(c.county)) → \(c.server.absoluteString)")
        print("own changes: \(status.ownChanges); waiting to push: \(status.pending)")
        print(
            "last sync: \(status.lastSyncMillis.map { humanTime(HybridTimestamp(millis: $0)) } ?? "never"); pull cursor: \(status.pullCursor ?? "none")"
        )
        if let own = try await PeerCertificates.certificate(of: c.id, in: store)?.certificate {
            let now = UInt64(max(0, Date().timeIntervalSince1970 * 1000))
            print(
                own.isValid(at: now)
                    ? "peer certificate: valid until \(humanTime(HybridTimestamp(millis: own.expiresMillis))) (renewed by syncs)"
                    : "peer certificate: EXPIRED at \(humanTime(HybridTimestamp(millis: own.expiresMillis))); sync with the server to meet peers again"
            )
        } else {
            print("peer certificate: none yet; sync once with the server to meet peers")
        }
        if status.revoked {
            print(
                "REVOKED: the server has revoked this device; an admin enrolls the phone again under a new id (docs/operations.md, 'Lost, stolen and revoked devices')"
            )
        }
        if let error = status.lastError {
            print(
                "last sync failed\(status.lastErrorMillis.map { " at \(humanTime(HybridTimestamp(millis: $0)))" } ?? ""): \(error)"
            )
        }
        let waiting = try await DeviceMedia.queue(store)
        if !waiting.isEmpty {
            print(
                "media waiting for the server: \(waiting.count) file\(waiting.count == 1 ? "" : "s"), \(waiting.reduce(0) { $0 + $1.size }) bytes"
            )
            printTable(
                ["file", "type", "bytes", "upload"],
                waiting.map { e in
                    [e.sha256, e.contentType, "\(e.size)", e.location == nil ? "not started" : "started (resumes)"]
                })
        }
        let aside = try await store.refusals(limit: 50)
        guard !aside.isEmpty else { return }
        print(
            "set aside: \(status.setAside) change\(status.setAside == 1 ? "" : "s") refused (kept here, never pushed again):"
        )
        printTable(
            ["change", "code", "depends on", "reason"],
            aside.map { r in
                ["\(r.dot)", r.code, r.dependsOn?.description ?? "", String(r.message.prefix(160))]
            })
    }
}

/// `fieldsync verify`: checks this device's store and prints a digest of its county's state,
/// comparable with `fieldsyncd admin verify` (QA and fault-injection runs).
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check this device's store: integrity, own log, pending changes, and a digest of its county's state.")
    @OptionGroup var options: StoreOptions
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let store = try options.open()
        let c = try await DeviceCredentials.load(store)
        let status = try await c.status(store)
        let v = try await store.verification()
        let digest = Digest.sha256Hex(try await store.canonicalState(county: c.county))
        await store.close()
        struct Out: Encodable {
            var device: String; var county: String; var integrity: [String]; var changes: Int; var ownHighest: UInt64
            var pending: Int; var duplicateDots: Int; var state: String
        }
        let out = Out(
            device: c.id.rawValue, county: c.county, integrity: v.integrity, changes: v.changes,
            ownHighest: v.logs[c.id.rawValue]?.highest ?? 0, pending: status.pending, duplicateDots: v.duplicateDots,
            state: digest)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(out), as: UTF8.self))
        } else {
            print(
                "device \(out.device) (\(out.county)): integrity \(out.integrity.joined(separator: "; ")), \(out.changes) changes held, own log to seq \(out.ownHighest), \(out.pending) waiting to push"
            )
            print("state \(out.county): \(out.state)")
        }
        if v.integrity != ["ok"] || v.duplicateDots != 0 { throw ExitCode(2) }
    }
}
