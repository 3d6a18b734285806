public import FieldSyncCore
import FieldSyncProtocol
import FieldSyncSigning
import FieldSyncStore
import Foundation
import Synchronization

extension PeerMeeting {
    /// Meets the peer at the other end of `link`: greets, proves, summarizes, exchanges, closes.
    /// Throws the peer's refusal or this side's (after telling the peer); closes the link either way.
    public func run(over link: any PeerLink) async throws(FieldSyncError) -> Outcome {
        let wire = Wire(link: link, record: record)
        do {
            let outcome = try await meet(wire)
            await link.close()
            return outcome
        } catch {
            await wire.refuse(error)
            // The link broke while this side was sending: the peer may have refused the meeting
            // and closed first. Its reason is among the frames that arrived.
            if error.code == .timeout, let refusal = await Self.refusal(after: link) { throw refusal }
            throw error
        }
    }

    /// The peer's refusal among the frames left on a closed link, if any.
    static func refusal(after link: any PeerLink) async -> FieldSyncError? {
        for _ in 0..<64 {
            guard let payload = try? await link.receive() else { return nil }
            if case .refuse(let error) = try? PeerMessage(decoding: payload) {
                return FieldSyncError(error.code, "the peer refused the meeting: \(error.message)")
            }
        }
        return nil
    }

    private func meet(_ wire: Wire) async throws(FieldSyncError) -> Outcome {
        let watchdog = Task { await watch(wire) }
        defer { watchdog.cancel() }
        var judge = try await makeJudge()
        let me = judge.me
        guard let own = try await PeerCertificates.certificate(of: me, in: store) else {
            throw FieldSyncError(
                .certificateInvalid, "this device holds no certificate yet: sync with the server once, then meet peers")
        }
        guard own.certificate.isValid(at: judge.nowMillis) else {
            throw FieldSyncError(
                .certificateExpired,
                "this device's certificate expired: sync with the server to renew it, then meet peers")
        }
        let held = try await PeerRevocations.load(store, county: judge.county)
        let challenge = Data((0..<32).map { _ in UInt8.random(in: 0...255) })
        try await wire.send(.hello(PeerHello(certificate: own, challenge: challenge, revocations: held)))
        guard case .hello(let hello) = try await wire.receive(expecting: "hello") else {
            throw Wire.unexpected("hello")
        }
        if let newer = PeerRules.newerRevocations(hello, held: held?.0, judge: judge) {
            try await PeerRevocations.take(newer, into: store)
            judge.revoked = Set(newer.0.devices)
        }
        let peer = try PeerRules.admit(hello, judge: judge)
        wire.outcome.withLock { $0.peer = peer.device.rawValue }
        try await wire.send(
            .proof(
                key.prove(
                    PeerProof(
                        prover: me, verifier: peer.device, verifierChallenge: hello.challenge,
                        proverChallenge: challenge))))
        guard case .proof(let proof) = try await wire.receive(expecting: "proof") else {
            throw Wire.unexpected("proof")
        }
        let statement = PeerProof(
            prover: peer.device, verifier: me, verifierChallenge: challenge, proverChallenge: hello.challenge)
        guard statement.isValid(proof, publicKey: peer.publicKey) else {
            throw FieldSyncError(.badSignature, "the peer \(peer.device) did not prove it holds its certificate's key")
        }
        let mine = try await store.logExtents()
        let offered = try await mediaOffers()
        // Both summaries travel at once: a large one must not wait on the other side's reading.
        let heard = Heard()
        try await wire.both(
            { () async throws(FieldSyncError) in
                try await self.sendSummary(mine, wire)
                try await wire.send(.mediaOffer(offered))
            },
            { () async throws(FieldSyncError) in
                let theirs = try await self.receiveSummary(wire)
                guard case .mediaOffer(let offer) = try await wire.receive(expecting: "photo offer") else {
                    throw Wire.unexpected("photo offer")
                }
                heard.set(theirs, offer)
            })
        let (theirs, theirOffer) = heard.value
        let wanted = try await mediaWants(theirOffer)
        wire.greeted.withLock { $0 = true }
        try await wire.send(.mediaWant(wanted.map(\.sha256)))
        try await exchange(mine: mine, theirs: theirs, peer: hello.certificate, judge: judge, wire)
        try await exchangeMedia(wanted: wanted, offered: offered, theirWants: wire.theirWants.withLock { $0 }, wire)
        try await close(wire)
        return wire.outcome.withLock { $0 }
    }

    /// Ends the meeting (by closing the link, which returns any read or write in flight) when the
    /// greeting outlasts `greetingTimeout`, or when nothing has gone either way for
    /// `idleTimeout` since.
    private func watch(_ wire: Wire) async {
        let started = ContinuousClock.now
        let tick = min(greetingTimeout, idleTimeout) / 4
        while (try? await Task.sleep(for: tick)) != nil {
            let now = ContinuousClock.now
            let late =
                wire.greeted.withLock { $0 }
                ? now - wire.lastActivity.withLock { $0 } > idleTimeout : now - started > greetingTimeout
            if late {
                wire.timedOut.withLock { $0 = true }
                await wire.link.close()
                return
            }
        }
    }

    private func makeJudge() async throws(FieldSyncError) -> PeerRules.Judge {
        guard let me = try await store.identity(), let county = try await store.setting("device.county") else {
            throw FieldSyncError(.invalidIdentifier, "this store has no device identity; enroll the device first")
        }
        guard let serverKey = try await PeerCertificates.serverKey(store) else {
            throw FieldSyncError(
                .certificateInvalid, "this store does not hold the server's key; enroll the device first")
        }
        let revoked = try await PeerRevocations.load(store, county: county)?.0.devices ?? []
        return PeerRules.Judge(me: me, county: county, serverKey: serverKey, revoked: Set(revoked), nowMillis: now())
    }

    private func sendSummary(_ mine: [DeviceID: LogExtent], _ wire: Wire) async throws(FieldSyncError) {
        var part: [PeerLogSummary] = []
        for (device, extent) in mine.sorted(by: { $0.key < $1.key }) {
            let missing =
                extent.isWhole
                ? []
                : try await store.missingSeqs(of: device, through: extent.head, limit: PeerMessage.maxMissingListed + 1)
            part.append(PeerRules.summary(of: device, extent, missing: missing))
            if part.count == PeerMessage.maxSummaryEntries {
                try await wire.send(.summary(part, last: false))
                part = []
            }
        }
        try await wire.send(.summary(part, last: true))
    }

    /// The most logs a peer's summary may name (a county's devices, with room to spare).
    static let maxSummaryLogs = 200_000

    private func receiveSummary(_ wire: Wire) async throws(FieldSyncError) -> [DeviceID: PeerLogSummary] {
        var theirs: [DeviceID: PeerLogSummary] = [:]
        while true {
            guard case .summary(let part, let last) = try await wire.receive(expecting: "summary") else {
                throw Wire.unexpected("summary")
            }
            for log in part { theirs[log.device] = log }
            guard theirs.count <= Self.maxSummaryLogs else {
                throw FieldSyncError(.invalidRequest, "the peer's summary names more than \(Self.maxSummaryLogs) logs")
            }
            if last { return theirs }
        }
    }

    /// Sends what the peer lacks while taking what it sends, then says goodbye.
    private func exchange(
        mine: [DeviceID: LogExtent], theirs: [DeviceID: PeerLogSummary], peer: SignedCertificate,
        judge: PeerRules.Judge, _ wire: Wire
    ) async throws(FieldSyncError) {
        let plans = PeerRules.plan(mine: mine, theirs: theirs)
        let started = ContinuousClock.now
        try await wire.both(
            { () async throws(FieldSyncError) in try await self.sendPlans(plans, wire) },
            { () async throws(FieldSyncError) in try await self.take(from: peer, judge: judge, wire) })
        wire.outcome.withLock { $0.seconds = (ContinuousClock.now - started).seconds }
    }

    /// Says goodbye and hears the peer's.
    private func close(_ wire: Wire) async throws(FieldSyncError) {
        let started = ContinuousClock.now
        let applied = wire.outcome.withLock { UInt64($0.applied) }
        try await wire.send(.bye(applied: applied))
        guard case .bye(let theirApplied) = try await wire.receive(expecting: "bye") else {
            throw Wire.unexpected("bye")
        }
        wire.outcome.withLock {
            $0.peerApplied = Int(clamping: theirApplied)
            $0.seconds += (ContinuousClock.now - started).seconds
        }
    }
}

/// What the peer's greeting said, handed from the task that heard it.
final class Heard: Sendable {
    private let heard = Mutex<([DeviceID: PeerLogSummary], [PeerMediaOffer])>(([:], []))
    func set(_ summary: [DeviceID: PeerLogSummary], _ offer: [PeerMediaOffer]) {
        heard.withLock { $0 = (summary, offer) }
    }
    var value: ([DeviceID: PeerLogSummary], [PeerMediaOffer]) { heard.withLock { $0 } }
}
