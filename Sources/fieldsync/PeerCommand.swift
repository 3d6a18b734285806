import ArgumentParser
import FieldSyncClient
import FieldSyncCore
import FieldSyncPeerTCP
import FieldSyncSQLite
import FieldSyncStore
import Foundation
import Synchronization

/// `fieldsync peer`: two devices meet with no server (`protocol/peer.md`).
struct PeerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peer", abstract: "Meet another device directly, with no server: over TCP, or two store files.",
        subcommands: [Listen.self, Sync.self])

    /// What both sides of a meeting take on the command line.
    struct MeetingOptions: ParsableArguments {
        @Option(help: "Simulated link: 2g, edge, 3g, flaky, lan or custom:bw=KBIT,up=KBIT,rtt=MS,loss=P,cut=P.")
        var link: String?
        @Option(help: "Seed of the simulated link.") var seed: UInt64 = 1
        @Option(help: "Record every message of the meeting to this file (JSON Lines).") var record: String?
        @Flag(help: "Print the outcome as JSON.") var json = false
        @Option(help: "Changes per batch (1–1,000).") var batch = 500
        @Option(help: "MiB of the peer's waiting photos this device takes and carries for it (0: none).")
        var mediaBudgetMib = 50
        @Option(help: "Seconds the greeting may take before the meeting ends (a silent peer does not hold a listener).")
        var greetingTimeout = 60
        @Option(help: "Seconds nothing may go either way after the greeting before the meeting ends.")
        var idleTimeout = 600

        func validate() throws {
            guard (1...1_000).contains(batch) else { throw ValidationError("--batch must be between 1 and 1,000") }
            guard (0...10_240).contains(mediaBudgetMib) else {
                throw ValidationError("--media-budget-mib must be 0–10240")
            }
            guard (1...3_600).contains(greetingTimeout), (1...86_400).contains(idleTimeout) else {
                throw ValidationError("--greeting-timeout must be 1–3600 seconds, --idle-timeout 1–86400")
            }
            if let link { _ = try LinkProfile.parse(link) }
        }

        /// The meeting for `store`, with its key, batch size, progress and recording.
        func meeting(
            _ store: any DeviceStore, media: DeviceMedia, recorder: PeerRecorder?
        ) async throws -> PeerMeeting {
            let credentials = try await DeviceCredentials.load(store)
            var meeting = PeerMeeting(store: store, key: credentials.key)
            meeting.batchSize = batch
            meeting.media = media
            meeting.mediaBudget = UInt64(mediaBudgetMib) << 20
            meeting.greetingTimeout = .seconds(greetingTimeout)
            meeting.idleTimeout = .seconds(idleTimeout)
            if let recorder { meeting.record = { trace in recorder.write(trace) } }
            if isatty(STDERR_FILENO) == 1 && !json {
                meeting.progress = { o in
                    FileHandle.standardError.write(Data("\r… sent \(o.sent), received \(o.received)\u{1B}[K".utf8))
                }
            }
            return meeting
        }

        /// `link` shaped by `--link`, if given (`validate` checked the profile).
        func shape(_ link: any PeerLink) -> any PeerLink {
            guard let name = self.link, let profile = try? LinkProfile.parse(name) else { return link }
            return ShapedPeerLink(link, profile: profile, seed: seed)
        }

        func report(_ result: Result<PeerMeeting.Outcome, FieldSyncError>) {
            switch result {
            case .success(let o):
                if json {
                    let data = (try? JSONEncoder.sorted.encode(o)) ?? Data()
                    print(String(decoding: data, as: UTF8.self))
                } else {
                    print(Self.describe(o))
                }
            case .failure(let error):
                if json {
                    print(#"{"error":{"code":"\#(error.code.rawValue)","message":\#(Self.quoted(error.message))}}"#)
                } else {
                    FileHandle.standardError.write(Data("\(error.code.rawValue): \(error.message)\n".utf8))
                }
            }
        }

        static func describe(_ o: PeerMeeting.Outcome) -> String {
            "met \(o.peer): sent \(o.sent) changes (\(o.peerApplied) new there), received \(o.received) (\(o.applied) new here, "
                + "\(o.conflictsOpened) conflicts opened, \(o.leftOut) left out); \(o.bytesSent + o.bytesReceived) bytes, "
                + "\(o.roundTrips) round trips, \(String(format: "%.2f", o.seconds)) s"
                + (o.photosSent + o.photosReceived > 0
                    ? "; photos sent \(o.photosSent) (\(o.photoBytesSent) bytes), received \(o.photosReceived) (\(o.photoBytesReceived) bytes), each kept until it reaches the server"
                    : "")
        }

        static func quoted(_ s: String) -> String {
            String(decoding: (try? JSONEncoder().encode(s)) ?? Data("\"\"".utf8), as: UTF8.self)
        }
    }

    struct Listen: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Wait for peers on a TCP port and meet each in turn (Ctrl-C to stop).")
        @OptionGroup var options: StoreOptions
        @OptionGroup var meeting: MeetingOptions
        @Option(help: "Address to listen on.") var host = "0.0.0.0"
        @Option(help: "TCP port (0: any free port; the one chosen is printed).") var port = 7311
        @Flag(help: "Stop after the first meeting (its outcome is the exit status).") var once = false

        func validate() throws {
            guard (0...65_535).contains(port) else { throw ValidationError("--port must be 0–65535") }
        }

        func run() async throws {
            let store = try options.open()
            let recorder = try meeting.record.map { try PeerRecorder(path: $0) }
            let m = try await meeting.meeting(store, media: try options.media(), recorder: recorder)
            let listener = try await TCPPeerListener.bind(host: host, port: port)
            print("listening on \(host):\(listener.port)")
            flushStandardOutput()
            let options = meeting
            let failed = FailureFlag()
            let once = self.once
            try await listener.serve { link in
                let shaped = options.shape(link)
                let result = await Result.of { () async throws(FieldSyncError) in try await m.run(over: shaped) }
                options.report(result)
                flushStandardOutput()
                if case .failure = result { failed.set() }
                return !once
            }
            if failed.isSet { throw ExitCode(1) }
        }
    }

    struct Sync: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Meet another device: HOST:PORT of one running `fieldsync peer listen`, or the path of its store file. Either can later carry the other's signed changes to the server."
        )
        @OptionGroup var options: StoreOptions
        @OptionGroup var meeting: MeetingOptions
        @Option(name: .customLong("with"), help: "HOST:PORT of the listening device, or its store file.") var other:
            String
        func run() async throws {
            let store = try options.open()
            let recorder = try meeting.record.map { try PeerRecorder(path: $0) }
            let m = try await meeting.meeting(store, media: try options.media(), recorder: recorder)
            if FileManager.default.fileExists(atPath: other) {
                try await meetStoreFile(m)
                return
            }
            guard let colon = other.lastIndex(of: ":"), let port = Int(other[other.index(after: colon)...]),
                (1...65_535).contains(port)
            else {
                throw ValidationError(
                    "--with must be HOST:PORT of a device running `fieldsync peer listen`, or a store file")
            }
            // [::1]:7311 names an IPv6 address in brackets.
            let host = String(other[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            let options = meeting
            let result = await Result.of { () async throws(FieldSyncError) in
                try await m.run(over: options.shape(try await TCPPeerLink.connect(host: host, port: port)))
            }
            meeting.report(result)
            if case .failure = result { throw ExitCode(1) }
        }

        /// Both sides in this process over a pipe: the same protocol and checks as over TCP.
        private func meetStoreFile(_ mine: PeerMeeting) async throws {
            let theirs = try SQLiteStore(path: other)
            let them = try await meeting.meeting(
                theirs, media: try DeviceMedia(directory: URL(fileURLWithPath: other + "-media")), recorder: nil)
            let (a, b) = PeerPipe.pair()
            let shaped = meeting.shape(a)
            async let ours = Result.of { () async throws(FieldSyncError) in try await mine.run(over: shaped) }
            async let their = Result.of { () async throws(FieldSyncError) in try await them.run(over: b) }
            let (result, _) = await (ours, their)
            meeting.report(result)
            if case .failure = result { throw ExitCode(1) }
            // Each forgets the photos the other knows were purged (a store file's marks are at hand).
            if let myMedia = mine.media, let theirMedia = them.media {
                _ = try await myMedia.forget(theirMedia.purged(), in: mine.store)
                _ = try await theirMedia.forget(myMedia.purged(), in: theirs)
            }
        }

    }
}

/// Whether some meeting failed (set from the listener's handler).
final class FailureFlag: Sendable {
    private let flag = Mutex(false)
    func set() { flag.withLock { $0 = true } }
    var isSet: Bool { flag.withLock { $0 } }
}

/// Writes a meeting's messages as JSON Lines, readable by its owner only.
final class PeerRecorder: Sendable {
    private let handle: Mutex<FileHandle>

    init(path: String) throws {
        _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
        guard let h = FileHandle(forWritingAtPath: path) else {
            throw ValidationError("cannot write the recording to \(path)")
        }
        h.truncateFile(atOffset: 0)
        handle = Mutex(h)
    }

    func write(_ trace: PeerMeeting.PeerTrace) {
        guard let data = try? JSONEncoder.sorted.encode(trace) else { return }
        handle.withLock { $0.write(data + Data("\n".utf8)) }
    }
}

extension JSONEncoder {
    /// An encoder with sorted keys (stable output for tests and diffs).
    static var sorted: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
    }
}

/// Flushes what `print` buffered (a pipe is block-buffered): a test reads the port at once.
func flushStandardOutput() {
    fflushAll()
}

private func fflushAll() { _ = fflush(nil) }
