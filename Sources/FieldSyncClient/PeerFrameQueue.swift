public import FieldSyncCore
import Synchronization

/// Frames that arrived on a link and wait for the meeting to take them: one reader awaits
/// `next()`, the transport pushes with `push`, `finish` or `fail`. When `capacity` frames wait,
/// `push` answers that the transport should stop reading from its socket; the `next()` that
/// makes room calls `resume` (decided under one lock, so reading never stays paused).
public final class PeerFrameQueue: Sendable {
    private struct State {
        var frames: [[UInt8]] = []
        var waiter: CheckedContinuation<[UInt8]?, any Error>?
        var ended = false
        var failure: FieldSyncError?
        var paused = false
    }
    private let state = Mutex(State())
    /// Frames held before the transport pauses.
    public let capacity: Int
    private let resume: @Sendable () -> Void

    /// An empty queue; `resume` restarts reading after a pause.
    public init(capacity: Int = 4, resume: @escaping @Sendable () -> Void = {}) {
        self.capacity = capacity
        self.resume = resume
    }

    /// Hands a frame to the reader; returns whether the transport should pause reading now.
    @discardableResult
    public func push(_ frame: [UInt8]) -> Bool {
        let (waiter, pause) = state.withLock { s -> (CheckedContinuation<[UInt8]?, any Error>?, Bool) in
            guard !s.ended else { return (nil, false) }
            if let w = s.waiter {
                s.waiter = nil
                return (w, false)
            }
            s.frames.append(frame)
            guard s.frames.count >= capacity, !s.paused else { return (nil, false) }
            s.paused = true
            return (nil, true)
        }
        waiter?.resume(returning: frame)
        return pause
    }

    /// The stream ended cleanly: the reader gets `nil` after the frames held.
    public func finish() { end(nil) }

    /// The stream failed: the reader gets `error` after the frames held.
    public func fail(_ error: FieldSyncError) { end(error) }

    private func end(_ error: FieldSyncError?) {
        let waiter = state.withLock { s -> CheckedContinuation<[UInt8]?, any Error>? in
            guard !s.ended else { return nil }
            s.ended = true
            s.failure = error
            defer { s.waiter = nil }
            return s.waiter
        }
        if let error { waiter?.resume(throwing: error) } else { waiter?.resume(returning: nil) }
    }

    /// The next frame, `nil` once the stream ended, or the stream's error.
    public func next() async throws(FieldSyncError) -> [UInt8]? {
        do {
            return try await withCheckedThrowingContinuation { (c: CheckedContinuation<[UInt8]?, any Error>) in
                let (answer, unpause) = state.withLock { s -> (Result<[UInt8]?, FieldSyncError>?, Bool) in
                    if !s.frames.isEmpty {
                        let frame = s.frames.removeFirst()
                        let unpause = s.paused && s.frames.count < capacity
                        if unpause { s.paused = false }
                        return (.success(frame), unpause)
                    }
                    if s.ended { return (s.failure.map { .failure($0) } ?? .success(nil), false) }
                    s.waiter = c
                    return (nil, false)
                }
                if unpause { resume() }
                if let answer { c.resume(with: answer) }
            }
        } catch let error as FieldSyncError {
            throw error
        } catch {
            throw FieldSyncError(.internalError, "\(error)")
        }
    }
}

/// Two links joined in memory, for meetings inside one process (tests, the fleet simulator).
public final class PeerPipe: PeerLink {
    private let inbound: PeerFrameQueue
    private let outbound: PeerFrameQueue

    /// Two ends of one pipe.
    public static func pair() -> (PeerPipe, PeerPipe) {
        let a = PeerFrameQueue(capacity: .max)
        let b = PeerFrameQueue(capacity: .max)
        return (PeerPipe(inbound: a, outbound: b), PeerPipe(inbound: b, outbound: a))
    }

    private init(inbound: PeerFrameQueue, outbound: PeerFrameQueue) {
        self.inbound = inbound
        self.outbound = outbound
    }

    /// Hands the frame to the other end.
    public func send(_ payload: [UInt8]) async throws(FieldSyncError) { outbound.push(payload) }
    /// The next frame from the other end.
    public func receive() async throws(FieldSyncError) -> [UInt8]? { try await inbound.next() }
    /// Ends both directions.
    public func close() async {
        outbound.finish()
        inbound.finish()
    }
}
