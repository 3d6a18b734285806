public import FieldSyncCore
import FieldSyncSigning
public import FieldSyncProtocol
public import FieldSyncStore
public import Foundation

/// The rules of a peer meeting, with no I/O: whom to meet, what to send, what to take.
/// `PeerMeeting` drives them over a link and a store.
public enum PeerRules {
    /// What a device knows when it judges a peer: its own identity and county, the server's key,
    /// the revoked devices it knows of, and the time.
    public struct Judge: Sendable {
        /// This device.
        public var me: DeviceID
        /// Its county.
        public var county: String
        /// The server's public key.
        public var serverKey: Data
        /// The county's revoked devices, as the newest signed list this device holds states them.
        public var revoked: Set<DeviceID>
        /// Now, in milliseconds since the epoch.
        public var nowMillis: UInt64

        /// A judge.
        public init(me: DeviceID, county: String, serverKey: Data, revoked: Set<DeviceID>, nowMillis: UInt64) {
            self.me = me
            self.county = county
            self.serverKey = serverKey
            self.revoked = revoked
            self.nowMillis = nowMillis
        }
    }

    /// The newer of the held list and the one a peer's hello carries, when the latter is the
    /// county's and carries the server's signature; `nil` when the held one stands.
    public static func newerRevocations(
        _ hello: PeerHello, held: Revocations?, judge: Judge
    ) -> (Revocations, Data)? {
        guard let offered = hello.revocations, offered.0.county == judge.county,
            offered.0.atMillis > held?.atMillis ?? 0,
            RevocationSignature.isValid(offered.0, signature: offered.1, publicKey: judge.serverKey)
        else { return nil }
        return offered
    }

    /// Admits a peer by its hello, or throws why not: another protocol version, a certificate
    /// not signed by the server, another county, an expired certificate, a revoked device, or
    /// this device itself.
    public static func admit(_ hello: PeerHello, judge: Judge) throws(FieldSyncError) -> DeviceCertificate {
        guard hello.version == PeerMessage.version else {
            throw FieldSyncError(
                .unsupportedProtocolVersion,
                "the peer speaks peer protocol \(hello.version); this device speaks \(PeerMessage.version): update the app"
            )
        }
        let c = hello.certificate.certificate
        guard CertificateSignature.isValid(hello.certificate, serverKey: judge.serverKey) else {
            throw FieldSyncError(
                .certificateInvalid,
                "the peer's certificate for \(c.device) does not carry this server's signature; it is not enrolled here"
            )
        }
        guard c.device != judge.me else {
            throw FieldSyncError(.invalidRequest, "the peer presents this device's own certificate")
        }
        guard c.county == judge.county else {
            throw FieldSyncError(
                .wrongCounty,
                "the peer \(c.device) is enrolled in '\(c.county)'; this device works in '\(judge.county)' and meets only its own county's officers"
            )
        }
        guard c.isValid(at: judge.nowMillis) else {
            throw FieldSyncError(
                .certificateExpired,
                "the peer \(c.device)'s certificate is valid from \(c.issuedMillis) to \(c.expiresMillis) ms, not now (\(judge.nowMillis)); it must sync with the server to renew it"
            )
        }
        guard !judge.revoked.contains(c.device) else {
            throw FieldSyncError(.deviceRevoked, "the peer \(c.device) was revoked by the server; it is not met")
        }
        return c
    }

    /// What this device tells a peer about one log it holds.
    public static func summary(
        of device: DeviceID, _ extent: LogExtent, missing: [UInt64]
    ) -> PeerLogSummary {
        PeerLogSummary(
            device: device, head: extent.head, missing: Array(missing.prefix(PeerMessage.maxMissingListed)),
            moreMissing: missing.count > PeerMessage.maxMissingListed)
    }

    /// What to send of one log: every change after `after`, and the listed `missing` ones (or,
    /// when `everythingBelow` is set, everything up to it).
    public struct Plan: Hashable, Sendable {
        /// The log.
        public var device: DeviceID
        /// Send every change with a sequence number above this.
        public var after: UInt64
        /// Send these too (the peer lacks them below its head).
        public var missing: [UInt64]
        /// Send everything up to this too (the peer lacks more below its head than it listed).
        public var everythingBelow: UInt64?
    }

    /// What to send a peer that summarized `theirs`, from logs held as `mine`, in log order.
    public static func plan(mine: [DeviceID: LogExtent], theirs: [DeviceID: PeerLogSummary]) -> [Plan] {
        var plans: [Plan] = []
        for (device, extent) in mine.sorted(by: { $0.key < $1.key }) {
            let peer = theirs[device] ?? PeerLogSummary(device: device, head: 0)
            var plan = Plan(device: device, after: max(peer.head, 0), missing: [], everythingBelow: nil)
            let below = min(peer.head, extent.head)
            if peer.moreMissing, below > 0 {
                plan.everythingBelow = below
            } else {
                plan.missing = peer.missing.filter { $0 <= extent.head }
            }
            if extent.head > peer.head || !plan.missing.isEmpty || plan.everythingBelow != nil { plans.append(plan) }
        }
        return plans
    }

    /// What a received batch holds, judged change by change before anything is stored.
    public struct Verdicts: Sendable {
        /// Changes that check: their authors' certificates and signatures are good.
        public var genuine: [SignedChange] = []
        /// Changes left out, each with why: no certificate for the author, its run not whole,
        /// a revoked author. Not stored; the server or another peer brings them.
        public var unverified: [RefusedChange] = []
        /// A change whose signature does not check: the batch was forged or altered.
        public var forged: FieldSyncError?
    }

    /// Judges a batch from a peer. `keys` gives each author's certified key (from certificates
    /// that check and are of this county); `held` the changes this device holds among the
    /// batch's and those its runs cover. A change this device holds byte for byte is genuine
    /// whoever brings it. A batch naming one dot twice is refused whole.
    public static func verify(
        _ batch: [SignedChange], keys: [DeviceID: Data], held: [Dot: Change], judge: Judge
    ) -> Verdicts {
        var v = Verdicts()
        var inBatch: [Dot: Change] = [:]
        for s in batch { inBatch[s.change.dot] = s.change }
        guard inBatch.count == batch.count else {
            // Two changes under one dot: one could ride on the other's signature.
            v.forged = FieldSyncError(
                .malformed, "the peer sent two changes under one dot in a batch; nothing of it was stored")
            return v
        }
        var covered = Set<Dot>()
        for s in batch {
            let c = s.change
            if held[c.dot] == c { covered.insert(c.dot); continue }
            guard c.county == judge.county else {
                v.unverified.append(
                    RefusedChange(
                        dot: c.dot, error: FieldSyncError(.wrongCounty, "change \(c.dot) is of another county")))
                continue
            }
            guard !judge.revoked.contains(c.dot.device) else {
                v.unverified.append(
                    RefusedChange(
                        dot: c.dot, error: FieldSyncError(.deviceRevoked, "change \(c.dot) is by a revoked device")))
                continue
            }
            guard let key = keys[c.dot.device] else {
                v.unverified.append(
                    RefusedChange(
                        dot: c.dot, error: FieldSyncError(.unknownDevice, "no certificate came for \(c.dot.device)")))
                continue
            }
            guard let signature = s.signature else { continue }  // covered by a run, checked below
            let members = s.coveredSeqs.map { Dot(device: c.dot.device, seq: $0) }.compactMap {
                inBatch[$0] ?? held[$0]
            }
            let good =
                s.run <= 1
                ? ChangeSignature.isValid(s, publicKey: key)
                : members.count == s.run && ChangeSignature.isValidRun(members, signature: signature, publicKey: key)
            if good {
                for m in members { covered.insert(m.dot) }
                covered.insert(c.dot)
            } else if s.run > 1, members.count < s.run {
                v.unverified.append(
                    RefusedChange(
                        dot: c.dot, error: FieldSyncError(.badSignature, "change \(c.dot)'s run is not whole here")))
            } else {
                v.forged = FieldSyncError(
                    .badSignature,
                    "change \(c.dot) does not carry a valid signature by \(c.dot.device): the peer forwarded a forged or altered change, and nothing of its batch was stored"
                )
                return v
            }
        }
        let refused = Set(v.unverified.map(\.dot))
        for s in batch where !refused.contains(s.change.dot) {
            if covered.contains(s.change.dot) {
                v.genuine.append(s)
            } else {
                v.unverified.append(
                    RefusedChange(
                        dot: s.change.dot,
                        error: FieldSyncError(
                            .badSignature, "change \(s.change.dot) carries no signature that covers it")))
            }
        }
        return v
    }

    /// The run members a batch's signatures cover that are not in the batch: what the engine
    /// looks up in the store before `verify`.
    public static func runMembersOutside(_ batch: [SignedChange]) -> Set<Dot> {
        let inBatch = Set(batch.map(\.change.dot))
        var wanted = Set<Dot>()
        for s in batch where s.signature != nil && s.run > 1 {
            for seq in s.coveredSeqs {
                let d = Dot(device: s.change.dot.device, seq: seq)
                if !inBatch.contains(d) { wanted.insert(d) }
            }
        }
        return wanted
    }
}
