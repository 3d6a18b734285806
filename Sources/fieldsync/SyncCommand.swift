import FieldSyncSigning
import ArgumentParser
import FieldSyncClient
import FieldSyncCore
import FieldSyncStore
import FieldSyncSQLite
import Foundation

/// `fieldsync sync`: push and pull until up to date.
struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync", abstract: "Sync with the server until up to date (resumable; retries with backoff).")
    @OptionGroup var options: StoreOptions
    @Option(help: "Server URL (default: the one enrolled with).") var server: String?
    @Option(help: "Simulated link: offline, 2g, edge, 3g, flaky, lan or custom:bw=KBIT,up=KBIT,rtt=MS,loss=P,cut=P.")
    var link: String?
    @Option(help: "Seed of the simulated link.") var seed: UInt64 = 1
    @Flag(help: "Wait out simulated link time for real (default: account it on a simulated clock).") var realTime =
        false
    @Option(help: "Record every exchange to this file (JSON Lines, see protocol/recording.md).") var record: String?
    @Option(help: "Attempts before giving up on transient failures.") var attempts = 8
    @Flag(help: "Print the summary as JSON.") var json = false
    @Option(help: "Changes per request, pushed and pulled (smaller requests lose less to a cut on a poor link).")
    var batch = 500

    func validate() throws {
        guard (1...1_000).contains(batch) else {
            throw ValidationError("--batch must be between 1 and 1,000 (the server's limit per request)")
        }
    }

    func run() async throws {
        let store = try options.open()
        let credentials = try await DeviceCredentials.load(store)
        let url =
            try server.map { s throws -> URL in
                guard let u = URL(string: s) else { throw ValidationError("--server must be a URL") }
                return u
            } ?? credentials.server
        var transport: any SyncTransport = URLSessionTransport(baseURL: url)
        var simulated: SimulatedLink?
        if let link {
            let s = SimulatedLink(transport, profile: try LinkProfile.parse(link), seed: seed, realTime: realTime)
            simulated = s
            transport = s
        }
        if let record {
            transport = try RecordingTransport(
                transport, path: record,
                header: Recording.Header(
                    deviceID: credentials.id.rawValue, county: credentials.county,
                    publicKey: credentials.key.publicKey.base64EncodedString(),
                    server: url.absoluteString, startedAtMillis: wallMillis(), link: link), link: simulated)
        }
        var sync = DeviceSync(store: store, api: FieldSyncAPI(transport: transport, token: credentials.token))
        sync.media = try options.media()
        sync.pushBatch = batch
        sync.pullLimit = batch
        let key = credentials.key
        sync.runSigner = { key.signRun($0) }  // one signature per run of own changes
        sync.signer = { key.sign($0) }  // changes moved or re-timed are signed again
        let waitForReal = simulated == nil || realTime
        let link = simulated
        let terminal = isatty(STDOUT_FILENO) == 1
        let progress: @Sendable (DeviceSync.Summary) -> Void = { s in
            let line =
                "… pushed \(s.pushed), pulled \(s.pulled), \(s.bytesSent + s.bytesReceived) bytes, \(s.roundTrips) round trips"
            if terminal {
                FileHandle.standardOutput.write(Data("\r\(line)\u{1B}[K".utf8))
            } else if !json {
                print(line)
            }
        }
        let (summary, tries) = try await sync.runWithRetries(
            maxAttempts: attempts, seed: seed,
            sleep: { seconds in
                if let link {
                    await link.idle(seconds)
                } else if waitForReal {
                    try? await Task.sleep(for: .seconds(seconds))
                }
            },
            onRetry: { attempt, error, delay in
                FileHandle.standardError.write(
                    Data(
                        "attempt \(attempt) failed (\(error.code.rawValue)); retrying in \(String(format: "%.1f", delay)) s\n"
                            .utf8))
            }, progress: json ? nil : progress)
        if terminal && !json { print("") }
        // Changes first (small, urgent), then media, oldest first.
        let uploaded = try await sendMedia(
            store, transport: transport, token: credentials.token, link: simulated, terminal: terminal)
        try report(summary, tries: tries, linkSeconds: simulated?.simulatedSeconds, media: uploaded)
    }

    /// Prints what the sync did: a line (and the media's), or JSON with `--json`.
    func report(
        _ summary: DeviceSync.Summary, tries: Int, linkSeconds: Double?, media uploaded: MediaUpload.Summary?
    ) throws {
        if json {
            struct Out: Encodable {
                var pushed, pulled, conflictsOpened, conflictsResolved, bytesSent, bytesReceived, roundTrips, attempts,
                    setAside, moved, retimed, purged: Int
                var seconds: Double
                var linkSeconds: Double?
                var media: MediaUpload.Summary?
            }
            try printJSON(
                Out(
                    pushed: summary.pushed, pulled: summary.pulled, conflictsOpened: summary.conflictsOpened,
                    conflictsResolved: summary.conflictsResolved,
                    bytesSent: summary.bytesSent, bytesReceived: summary.bytesReceived, roundTrips: summary.roundTrips,
                    attempts: tries,
                    setAside: summary.setAside, moved: summary.moved, retimed: summary.retimed, purged: summary.purged,
                    seconds: summary.seconds, linkSeconds: linkSeconds, media: uploaded))
        } else {
            print(
                "synced: \(summary)\(tries > 1 ? ", \(tries) attempts" : "")\(linkSeconds.map { String(format: ", %.1f s on the simulated link", $0) } ?? "")"
            )
            if let m = uploaded { print(Self.describe(m)) }
        }
    }

    /// Sends the media waiting in the queue (nil when none waits): a progress bar on a terminal,
    /// JSON progress events on standard error with `--json`.
    func sendMedia(
        _ store: any DeviceStore, transport: any SyncTransport, token: String, link: SimulatedLink?, terminal: Bool
    ) async throws -> MediaUpload.Summary? {
        guard !(try await DeviceMedia.queue(store)).isEmpty else { return nil }
        let upload = MediaUpload(store: store, media: try options.media(), transport: transport, token: token)
        let started = ContinuousClock.now
        let linkStart = link?.simulatedSeconds ?? 0
        let json = self.json
        let show: @Sendable (MediaUpload.Progress) -> Void = { p in
            let elapsed = ContinuousClock.now - started
            let wall = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let seconds = link.map { $0.simulatedSeconds - linkStart } ?? wall
            if json {
                let event =
                    #"{"event":"media","sha256":"\#(p.sha256)","sent":\#(p.sent),"total":\#(p.total),"file":\#(p.file),"files":\#(p.files),"seconds":\#(String(format: "%.1f", seconds))}"#
                FileHandle.standardError.write(Data((event + "\n").utf8))
            } else if terminal {
                FileHandle.standardOutput.write(Data(("\r" + Self.bar(p, seconds: seconds) + "\u{1B}[K").utf8))
            }
        }
        let summary = try await upload.run(progress: show)
        if terminal && !json { print("") }
        return summary
    }

    /// `photo 1/2 3f2a9c… [#####-----] 48% 144.0 of 300.0 KB, 2.1 KB/s, 1 min 14 s left`.
    static func bar(_ p: MediaUpload.Progress, seconds: Double) -> String {
        let share = p.total == 0 ? 1 : Double(p.sent) / Double(p.total)
        let filled = Int(share * 20)
        let rate = seconds > 0 ? Double(p.sent) / seconds : 0
        let left = rate > 0 ? Double(p.total - p.sent) / rate : 0
        let kb = { (b: Double) in String(format: "%.1f", b / 1024) }
        return
            "media \(p.file)/\(p.files) \(p.sha256.prefix(6))… [\(String(repeating: "#", count: filled))\(String(repeating: "-", count: 20 - filled))] \(Int(share * 100))% \(kb(Double(p.sent))) of \(kb(Double(p.total))) KB, \(kb(rate)) KB/s, \(Int(left) / 60) min \(Int(left) % 60) s left"
    }

    static func describe(_ m: MediaUpload.Summary) -> String {
        var parts = [
            "media: \(m.uploaded) uploaded", "\(m.alreadyHeld) already on the server", "\(m.bytesSent) bytes sent",
        ]
        if m.cuts > 0 { parts.append("\(m.cuts) cuts") }
        if m.waiting > 0 { parts.append("\(m.waiting) waiting (fieldsync status)") }
        for r in m.refused { parts.append("refused \(r)") }
        return parts.joined(separator: ", ")
    }
}
