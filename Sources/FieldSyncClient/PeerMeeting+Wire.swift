import FieldSyncCore
import FieldSyncProtocol
import Foundation
import Synchronization

extension PeerMeeting {
    /// The meeting's side of the link: messages in and out, counted and recorded. A `refuse`
    /// from the peer ends the meeting with the peer's error.
    final class Wire: Sendable {
        let link: any PeerLink
        let record: (@Sendable (PeerTrace) -> Void)?
        let outcome = Mutex(Outcome())
        /// The photos the peer asked for (its `media_want`, taken while changes flow).
        let theirWants = Mutex<[Data]>([])
        /// Whether the greeting's or the idle time ran out (the link was closed for it).
        let timedOut = Mutex(false)
        /// Whether the greeting is over (from then on the idle timeout applies).
        let greeted = Mutex(false)
        /// When a message last went out or came in.
        let lastActivity = Mutex(ContinuousClock.now)
        private let refused = Mutex(false)
        private let started = ContinuousClock.now

        init(link: any PeerLink, record: (@Sendable (PeerTrace) -> Void)?) {
            self.link = link
            self.record = record
        }

        /// Whether the peer refused the meeting (then nothing more is said to it).
        var peerRefused: Bool { refused.withLock { $0 } }
        private let ended = Mutex(false)

        /// Ends the meeting over `error`: tells the peer why (once, unless the link broke or the
        /// peer refused first), then closes the link, which ends any read or write in flight.
        func refuse(_ error: FieldSyncError) async {
            let first = ended.withLock { e in
                defer { e = true }
                return !e
            }
            if first, error.code != .timeout, !peerRefused { try? await send(.refuse(error)) }
            await link.close()
        }

        /// Runs the sending and the receiving side at once. The first error ends the meeting
        /// (`refuse`), so the other side stops too instead of waiting on the link. The error
        /// thrown is the first that says why (a refusal, a forgery) rather than a broken link.
        func both(
            _ a: @escaping @Sendable () async throws(FieldSyncError) -> Void,
            _ b: @escaping @Sendable () async throws(FieldSyncError) -> Void
        ) async throws(FieldSyncError) {
            let failures = Failures()
            await withTaskGroup(of: Void.self) { group in
                for side in [a, b] {
                    group.addTask {
                        do throws(FieldSyncError) { try await side() } catch {
                            if failures.add(error) { await self.refuse(error) }
                        }
                    }
                }
            }
            let all = failures.all
            if let error = all.first(where: { $0.code != .timeout }) ?? all.first { throw error }
        }

        func send(_ message: PeerMessage) async throws(FieldSyncError) {
            let payload = message.encoded
            try await link.send(payload)
            lastActivity.withLock { $0 = .now }
            outcome.withLock {
                $0.bytesSent += payload.count + 4
                $0.messagesSent += 1
            }
            trace("out", message, payload.count + 4)
        }

        /// The next message; `expecting` names it for the error when the stream ends instead.
        func receive(expecting: String) async throws(FieldSyncError) -> PeerMessage {
            guard let payload = try await link.receive() else {
                if timedOut.withLock({ $0 }) {
                    throw FieldSyncError(
                        .timeout, "the peer went silent (no \(expecting) in time); the link was closed: meet again")
                }
                throw FieldSyncError(
                    .timeout, "the peer closed the link before its \(expecting); meet again: nothing was lost")
            }
            lastActivity.withLock { $0 = .now }
            let message = try PeerMessage(decoding: payload)
            outcome.withLock {
                $0.bytesReceived += payload.count + 4
                $0.messagesReceived += 1
                if message.endsATurn { $0.roundTrips += 1 }
            }
            trace("in", message, payload.count + 4)
            if case .refuse(let error) = message {
                refused.withLock { $0 = true }
                throw FieldSyncError(error.code, "the peer refused the meeting: \(error.message)")
            }
            return message
        }

        private func trace(_ direction: String, _ message: PeerMessage, _ bytes: Int) {
            guard let record else { return }
            var changes = 0
            if case .changes(let batch) = message { changes = batch.count }
            let ms = Int((ContinuousClock.now - started).seconds * 1000)
            record(PeerTrace(direction: direction, message: message.name, bytes: bytes, changes: changes, atMillis: ms))
        }

        static func unexpected(_ expected: String) -> FieldSyncError {
            FieldSyncError(.malformed, "the peer sent another message where its \(expected) belongs")
        }
    }
}

extension PeerMessage {
    /// Whether the side that receives it was waiting for it before going on: the round trips of
    /// a meeting (hello, proof, the summary's last part, the end of the changes or photos, bye).
    var endsATurn: Bool {
        switch self {
        case .hello, .proof, .done, .mediaDone, .bye: true
        case .summary(_, let last): last
        default: false
        }
    }
}

/// The errors of a meeting's two sides, in the order they happened.
final class Failures: Sendable {
    private let errors = Mutex<[FieldSyncError]>([])

    /// Adds an error; returns whether it is the first.
    func add(_ error: FieldSyncError) -> Bool {
        errors.withLock { e in
            defer { e.append(error) }
            return e.isEmpty
        }
    }

    /// Every error so far.
    var all: [FieldSyncError] { errors.withLock { $0 } }
}
