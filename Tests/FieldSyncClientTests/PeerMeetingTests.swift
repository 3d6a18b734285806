import FieldSyncClient
import FieldSyncCore
import FieldSyncProtocol
import FieldSyncSQLite
import FieldSyncServer
import FieldSyncSigning
import FieldSyncStore
import FieldSyncTestSupport
import Foundation
import Testing

/// Peer meetings in one process over a pipe: the engine's rules end to end, against a real
/// server's certificates. (`FieldSyncCLITests` meets two processes over TCP.)
@Suite struct PeerMeetingTests {
    /// Meets `a` and `b` over a pipe (optionally shaped); returns both outcomes or each error.
    static func meet(
        _ a: TestDevice, _ b: TestDevice, profile: LinkProfile? = nil, seed: UInt64 = 1, batchSize: Int = 50
    ) async -> (Result<PeerMeeting.Outcome, FieldSyncError>, Result<PeerMeeting.Outcome, FieldSyncError>) {
        await a.meet(b, profile: profile, seed: seed, batchSize: batchSize)
    }

    /// What a store holds, to prove a refused meeting stored nothing.
    static func holding(_ d: TestDevice) async throws -> Data {
        var data = try await d.store.canonicalState()
        data += Data("\(try await d.store.logExtents().sorted { $0.key < $1.key })".utf8)
        return data
    }

    @Test func aMeetingCarriesBothWaysAndEitherCarriesItToTheServer() async throws {
        let server = try await TestServer.start()
        let a = try await server.device("tab-a"), b = try await server.device("tab-b")
        let c = try await server.device("tab-c")
        try await c.create("town-1")
        try await c.sync()
        try await a.sync()
        try await b.sync()
        for i in 0..<40 { try await a.create("a-\(i)") }
        for i in 0..<25 { try await b.create("b-\(i)") }
        try await b.write([.set(field: .status, value: "acknowledged")], to: "town-1")
        let (ra, rb) = await Self.meet(a, b)
        let oa = try ra.get(), ob = try rb.get()
        #expect(oa.sent == 40 && oa.applied == 26 && ob.applied == 40 && ob.sent == 26)
        #expect(oa.peer == "tab-b" && ob.peer == "tab-a" && oa.peerApplied == 40)
        #expect(try await a.store.canonicalState() == b.store.canonicalState())
        // Meeting again sends nothing: the summaries say both hold the same.
        let (again, _) = await Self.meet(a, b)
        #expect(try again.get().sent == 0)
        // Only b reaches the server: a's work arrives with a's signatures.
        try await b.sync()
        try await c.sync()
        #expect(try await c.store.canonicalState() == a.store.canonicalState())
        #expect(try await server.service.store.highestSeq(of: a.id) == 40)
        await server.stop()
    }

    @Test(arguments: [11, 12, 13, 14] as [UInt64])
    func cutMeetingsLoseNothingAndResume(seed: UInt64) async throws {
        let server = try await TestServer.start()
        let a = try await server.device("tab-a"), b = try await server.device("tab-b")
        try await a.sync()
        try await b.sync()
        var rng = SplitMix64(seed: seed)
        for i in 0..<(60 + Int(rng.next() % 60)) { try await a.create("a-\(i)") }
        for i in 0..<(30 + Int(rng.next() % 60)) { try await b.create("b-\(i)") }
        var profile = LinkProfile.lan
        var meetings = 0
        var cuts = 0
        while meetings < 200 {
            meetings += 1
            profile.cut = meetings == 1 ? 0.5 : 0.1  // the first meeting is cut for sure
            let (ra, rb) = await Self.meet(a, b, profile: profile, seed: rng.next(), batchSize: 7)
            if case .success = ra, case .success = rb { break }
            cuts += 1
        }
        #expect(meetings < 200, "seed \(seed): no meeting finished")
        #expect(cuts > 0, "seed \(seed): the link was never cut")
        let sa = try await a.store.canonicalState(), sb = try await b.store.canonicalState()
        #expect(sa == sb, "seed \(seed): stores differ after \(meetings) meetings")
        #expect(try await a.store.logExtents() == b.store.logExtents(), "seed \(seed)")
        await server.stop()
    }

    @Test func peersOfAnotherCountyOrWithoutAValidCertificateAreRefused() async throws {
        let serverKey = DeviceKey()
        let server = try await TestServer.start(signingKey: serverKey)
        let a = try await server.device("tab-a"), b = try await server.device("tab-b")
        let other = try await server.device("tab-x", county: "nakuru")
        try await b.create("b-1")
        try await other.create("x-1")
        let before = try await Self.holding(a)
        let (ra, rx) = await Self.meet(a, other)
        #expect(ra.failure?.code == .wrongCounty)
        #expect(rx.failure?.code == .wrongCounty)
        // An expired certificate, though the server signed it.
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        try await b.store.setSettings([PeerCertificates.settingKey(b.id): await Self.expired(b, serverKey)])
        let (ra2, rb2) = await Self.meet(a, b)
        #expect(rb2.failure?.code == .certificateExpired)  // b will not even show it
        #expect(ra2.failure != nil)
        // A certificate not signed by this server.
        let stranger = DeviceKey()
        try await b.store.setSettings([
            PeerCertificates.settingKey(b.id): stranger.sign(
                DeviceCertificate(
                    device: b.id, county: "kisumu", publicKey: b.key.publicKey, issuedMillis: now,
                    expiresMillis: now + 100_000_000)
            ).base64
        ])
        let (ra3, _) = await Self.meet(a, b)
        #expect(ra3.failure?.code == .certificateInvalid)
        #expect(try await Self.holding(a) == before)
        await server.stop()
    }

    @Test func aSyncRenewsADayOldCertificateAndBringsThePulledAuthorsCertificates() async throws {
        let serverKey = DeviceKey()
        let server = try await TestServer.start(signingKey: serverKey)
        let a = try await server.device("tab-a"), b = try await server.device("tab-b")
        try await b.create("b-1")
        try await b.sync()
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        let old = serverKey.sign(
            DeviceCertificate(
                device: a.id, county: "kisumu", publicKey: a.key.publicKey, issuedMillis: now - 2 * 86_400_000,
                expiresMillis: now + 86_400_000))
        try await a.store.setSettings([PeerCertificates.settingKey(a.id): old.base64])
        #expect(try await PeerCertificates.needsRenewal(a.store))
        #expect(try await PeerCertificates.certificate(of: b.id, in: a.store) == nil)
        try await a.sync()
        let renewed = try #require(try await PeerCertificates.certificate(of: a.id, in: a.store))
        #expect(renewed.certificate.issuedMillis >= now && renewed.certificate.expiresMillis > now + 29 * 86_400_000)
        #expect(try await !PeerCertificates.needsRenewal(a.store))
        let authors = try #require(try await PeerCertificates.certificate(of: b.id, in: a.store))
        #expect(authors.certificate.publicKey == b.key.publicKey && authors.certificate.county == "kisumu")
        // An up-to-date sync with a fresh certificate asks for none and gets none.
        let quiet = try await a.sync()
        #expect(quiet.bytesReceived < 300)
        // An author's certificate the store lacks (changes pulled before certificates existed) is
        // asked for by name at the next sync after a day.
        try await a.store.setSettings([PeerCertificates.settingKey(b.id): "", "cert.missing_checked_ms": "0"])
        #expect(try await PeerCertificates.missing(a.store) == [b.id])
        try await a.sync()
        #expect(try await PeerCertificates.certificate(of: b.id, in: a.store)?.certificate.publicKey == b.key.publicKey)
        #expect(try await PeerCertificates.missing(a.store) == [], "asked once a day at most")
        await server.stop()
    }

    @Test func batchesKeepTheirLimitsWithLongSignedRunsAndLoneUnsignedChanges() async throws {
        let server = try await TestServer.start()
        let a = try await server.device("tab-a"), b = try await server.device("tab-b")
        let w = try await server.device("tab-w")
        for i in 0..<1_000 { try await w.create("w-\(i)") }
        // w pushes its 1,000 changes as one signed run; b pulls them as the server serves them.
        var push = DeviceSync(store: w.store, api: w.api)
        let key = w.key
        push.runSigner = { key.signRun($0) }
        push.pushBatch = 1_000
        try await push.run()
        try await b.sync()
        #expect(try await b.store.signedLog(of: w.id, after: 0, limit: 1_000).filter { $0.signature != nil }.count < 10)
        // b's own log sorts before w's; one of its changes carries no signature at all.
        for i in 0..<10 { try await b.create("b-\(i)") }
        _ = try await b.store.write(
            [.create(county: "kisumu"), .set(field: .status, value: "open")], to: ReportID(rawValue: "b-lone")!,
            county: "kisumu", wallMillis: UInt64(Date().timeIntervalSince1970 * 1000))
        let (ra, rb) = await Self.meet(a, b, batchSize: 1_000)
        let got = try ra.get()
        _ = try rb.get()
        #expect(got.applied == 1_011 && got.leftOut == 0, "\(got)")
        #expect(try await a.store.canonicalState() == b.store.canonicalState())
        await server.stop()
    }

    @Test func aBatchNamingOneDotTwiceOrReachingBeforeSeqOneIsRefusedWhole() throws {
        let key = DeviceKey()
        let author = DeviceID(rawValue: "tab-w")!
        let genuine = Change(
            dot: Dot(device: author, seq: 1), report: ReportID(rawValue: "r-1")!, county: "kisumu",
            context: VersionVector(), hlc: HybridTimestamp(millis: 1_795_000_000_000),
            ops: [.create(county: "kisumu"), .set(field: .status, value: "open")])
        var forged = genuine
        forged.ops = [.create(county: "kisumu"), .set(field: .status, value: "closed")]
        let judge = PeerRules.Judge(
            me: DeviceID(rawValue: "tab-a")!, county: "kisumu", serverKey: DeviceKey().publicKey, revoked: [],
            nowMillis: 1_795_000_000_000)
        // The forged copy rides before the genuine one under the same dot.
        let batch = [SignedChange(change: forged, signature: nil), key.signed(genuine)]
        let v = PeerRules.verify(batch, keys: [author: key.publicKey], held: [:], judge: judge)
        #expect(v.forged?.code == .malformed && v.genuine.isEmpty)
        // A change numbered 0 whose run would reach below 1 is judged without trapping.
        var zero = genuine
        zero.dot = Dot(device: author, seq: 0)
        let odd = [SignedChange(change: zero, signature: Data(repeating: 1, count: 64), run: 2)]
        #expect(PeerRules.runMembersOutside(odd).allSatisfy { $0.seq == 0 })
        let w = PeerRules.verify(odd, keys: [author: key.publicKey], held: [:], judge: judge)
        #expect(w.genuine.isEmpty)
    }

    static func expired(_ d: TestDevice, _ serverKey: DeviceKey) async -> String {
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        return serverKey.sign(
            DeviceCertificate(
                device: d.id, county: d.county, publicKey: d.key.publicKey, issuedMillis: now - 100_000_000,
                expiresMillis: now - 1)
        ).base64
    }

    @Test func aRevokedPeerIsRefusedAndTheNewerListTravels() async throws {
        let server = try await TestServer.start()
        let a = try await server.device("tab-a"), b = try await server.device("tab-b")
        let c = try await server.device("tab-c")
        try await c.create("c-1")
        try await c.sync()
        _ = try await server.service.revoke(c.id.rawValue, by: .currentShell)
        try await b.sync()  // b learns the revocation
        let before = try await Self.holding(a)
        // a has not synced since: b's signed list reaches a in their meeting.
        let (ra, rb) = await Self.meet(a, b)
        _ = try ra.get()
        _ = try rb.get()
        let (rc, rac) = await Self.meet(c, a)
        #expect(rac.failure?.code == .deviceRevoked)
        #expect(rc.failure?.code == .deviceRevoked)
        #expect(try await Self.holding(a) == before)
        await server.stop()
    }

    @Test func aForgedChangeIsRefusedAndNothingOfItsBatchIsStored() async throws {
        let server = try await TestServer.start()
        let a = try await server.device("tab-a"), b = try await server.device("tab-b")
        let c = try await server.device("tab-c")
        try await c.create("c-1")
        try await c.sync()
        try await a.sync()
        try await b.sync()
        // b forwards a change "by tab-c" that tab-c never signed, with two genuine ones of its own.
        try await b.create("b-1")
        let forged = Change(
            dot: Dot(device: c.id, seq: 2), report: ReportID(rawValue: "c-1")!, county: "kisumu",
            context: VersionVector([c.id: 1]),
            hlc: HybridTimestamp(millis: UInt64(Date().timeIntervalSince1970 * 1000), counter: 0),
            ops: [.set(field: .status, value: "closed")])
        _ = try await b.store.ingest(
            signed: [SignedChange(change: forged, signature: Data(repeating: 7, count: 64))], preRefused: [:],
            atomic: false, via: nil)
        try await b.create("b-2")
        let before = try await Self.holding(a)
        let (ra, rb) = await Self.meet(a, b, batchSize: 1_000)
        #expect(ra.failure?.code == .badSignature)
        #expect(rb.failure?.code == .badSignature)
        #expect(try await Self.holding(a) == before)
        await server.stop()
    }
}
