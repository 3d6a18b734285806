import FieldSyncClient
import FieldSyncPeerTCP
import FieldSyncCore
import FieldSyncProtocol
import FieldSyncServer
import FieldSyncStore
import FieldSyncSQLite
import Foundation

/// The demo's story, step by step: an embedded server, three officers, the Kisumu desk and a
/// clock that moves a minute per edit.
struct DemoTour {
    let server: EmbeddedServer
    let amina: Officer
    let brian: Officer
    let wanjiru: Officer
    let desk: FieldSyncAPI
    let profile: LinkProfile
    var t: UInt64 = 1_795_340_000_000

    var officers: [Officer] { [amina, brian, wanjiru] }

    mutating func tick() -> UInt64 {
        t += 60_000
        return t
    }

    /// 0. The server starts; an admin enrolls three officers and creates the Kisumu desk.
    static func start(directory: URL, profile: LinkProfile) async throws -> DemoTour {
        let server = try await EmbeddedServer.start(database: directory.appendingPathComponent("server.sqlite").path)
        print("0. fieldsyncd is running on \(server.url.absoluteString) (SQLite). An admin enrolls three officers:")
        let admin = FieldSyncAPI(transport: URLSessionTransport(baseURL: server.url), token: server.adminToken)
        var officers: [String: Officer] = [:]
        for (name, county) in [("amina", "kisumu"), ("brian", "kisumu"), ("wanjiru", "nairobi")] {
            let enrollment = try await admin.enroll(EnrollmentRequest(county: county, deviceID: "\(name)-tablet"))
            officers[name] = try await Officer.enroll(
                name: name, token: enrollment.enrollmentToken, server: server.url, directory: directory,
                profile: profile)
            print("   \(name)-tablet in \(county)")
        }
        let operatorToken = try await admin.createOperator(
            OperatorRequest(name: "Kisumu desk", role: "operator", counties: ["kisumu"])
        ).token
        let desk = FieldSyncAPI(transport: URLSessionTransport(baseURL: server.url), token: operatorToken)
        return DemoTour(
            server: server, amina: officers["amina"]!, brian: officers["brian"]!, wanjiru: officers["wanjiru"]!,
            desk: desk, profile: profile)
    }

    /// 1. Reports filed at the ward office, and a first sync.
    mutating func fileReports() async throws {
        print("\n1. At the ward office Amina files two reports and syncs; Brian syncs too.")
        try await amina.write(
            [
                .create(county: "kisumu"), .set(field: .serviceCode, value: "pothole"),
                .set(field: .description, value: "Deep pothole outside Kondele market"),
                .set(field: .lat, value: -0.0917), .set(field: .long, value: 34.768),
                .set(field: .status, value: "open"),
                .set(field: .reporterPhone, value: "+254 700 000 001"),
            ], "kisumu-0001", tick())
        try await amina.write(
            [
                .create(county: "kisumu"), .set(field: .serviceCode, value: "water_point"),
                .set(field: .description, value: "Borehole pump broken at Nyalenda"),
                .set(field: .status, value: "open"),
            ], "kisumu-0002", tick())
        try await wanjiru.write(
            [
                .create(county: "nairobi"), .set(field: .serviceCode, value: "streetlight"),
                .set(field: .description, value: "Streetlights out on Jogoo Road"), .set(field: .status, value: "open"),
            ], "nairobi-0001", tick())
        for o in officers { print("   \(o.name): \(try await o.sync())") }
    }

    /// 2. A day offline: both Kisumu officers edit the same reports.
    mutating func editOffline() async throws {
        print("\n2. The Kisumu officers go to the field, offline for the day, and edit the same reports.")
        try await amina.write(
            [.set(field: .status, value: "in_progress"), .set(field: .assignee, value: "roads-crew-3")], "kisumu-0001",
            tick())
        try await brian.write(
            [.set(field: .status, value: "closed"), .addTag("verified-on-site")], "kisumu-0001", tick())
        try await brian.write([.appendNote(text: "Crew filled it with gravel; needs tarmac.")], "kisumu-0001", tick())
        try await amina.write([.withdraw(reason: "duplicate of county ticket 2291")], "kisumu-0002", tick())
        try await brian.write(
            [.set(field: .priority, value: 1), .appendNote(text: "Queue of 40 people at the kiosk.")], "kisumu-0002",
            tick())
        for i in 0..<3 {
            try await brian.write(
                [
                    .create(county: "kisumu"), .set(field: .serviceCode, value: "drainage"),
                    .set(field: .description, value: .string("Blocked drain \(i + 1), Manyatta")),
                    .set(field: .status, value: "open"),
                ], "kisumu-01\(i)", tick())
        }
        print("   Amina: pothole → in_progress; water point → withdrawn as a duplicate.")
        print("   Brian: pothole → closed, tagged, noted; water point → priority 1, noted; 3 new drainage reports.")
    }

    /// 3. A peer meeting in a village with no signal.
    func meetInVillage() async throws {
        print("\n3. They meet in a village with no signal and sync peer to peer (TCP on the local network).")
        let listener = try await TCPPeerListener.bind(host: "127.0.0.1", port: 0)
        let brianMeets = PeerMeeting(store: brian.store, key: brian.key)
        async let listening: Void = listener.serve { link in
            _ = try? await brianMeets.run(over: link)
            return false
        }
        let met = try await PeerMeeting(store: amina.store, key: amina.key)
            .run(over: try await TCPPeerLink.connect(host: "127.0.0.1", port: listener.port))
        try await listening
        print("   Each proved to the other, with the certificate the server signed, that it is an officer of Kisumu.")
        print(
            "   Amina → Brian \(met.sent) changes, Brian → Amina \(met.applied) (each checked against its author's signature); conflicts opened \(met.conflictsOpened); \(met.bytesSent + met.bytesReceived) bytes, \(met.roundTrips) round trips."
        )
        let (aState, bState) = (try await amina.store.canonicalState(), try await brian.store.canonicalState())
        print("   Same state on both tablets: \(aState == bState ? "yes" : "NO")")
    }

    /// 4. Amina reaches a signal and carries Brian's signed changes.
    func carryToServer() async throws {
        print("\n4. Only Amina reaches a \(profile.name) signal. She carries Brian's signed changes to the server.")
        print("   amina: \(try await amina.sync())")
        print("   (Brian's changes were verified against his key, though he never connected.)")
    }

    /// 5. The desk reads the conflict log and the merged reports; returns the open conflicts.
    func readConflictLog() async throws -> [Conflict] {
        print("\n5. The Kisumu desk reads the conflict log.")
        let open = try await desk.conflicts(query: ["state": "open"]).conflicts
        for c in open {
            print(
                "   \(c.id): \(c.candidates.map { "\($0.dot) → \($0.value)" }.joined(separator: "  vs  ")), showing \(c.winner?.value.description ?? "?")"
            )
        }
        let reports = try await desk.reports(query: ["county": "kisumu"]).reports
        print("\n   Merged reports in Kisumu:")
        for r in reports {
            let fields = ["service_code", "status", "priority", "assignee"].compactMap { k in
                r.fields[k].map { "\(k)=\($0)" }
            }.joined(separator: ", ")
            print(
                "   \(r.id) [\(r.lifecycle)\(r.conflicted.isEmpty ? "" : "; conflict on \(r.conflicted.joined(separator: ", "))")] \(fields)"
            )
        }
        return open
    }

    /// 6. The desk resolves two conflicts.
    func resolve(_ open: [Conflict]) async throws {
        print("\n6. The desk keeps Brian's 'closed' on the pothole and confirms the water point withdrawal.")
        if let status = open.first(where: { $0.field == .status }),
            let closed = status.candidates.first(where: { $0.value == "closed" })
        {
            let r = try await desk.resolve(status.id, ResolveRequest(choose: closed.dot.description))
            print("   \(status.id) resolved by \(r.change.dot) (a change signed by the server)")
        }
        if let lifecycle = open.first(where: { $0.field == .lifecycle }) {
            let r = try await desk.resolve(lifecycle.id, ResolveRequest(value: Lifecycle.withdrawn))
            print("   \(lifecycle.id) resolved by \(r.change.dot)")
        }
    }

    /// 7. Everyone syncs; returns whether every tablet holds its county's state on the server.
    func syncEveryone() async throws -> Bool {
        print("\n7. Everyone syncs over \(profile.name); the resolutions reach every tablet.")
        for o in officers { print("   \(o.name): \(try await o.sync())") }
        let kisumuServer = try await server.service.store.canonicalState(county: "kisumu")
        let nairobiServer = try await server.service.store.canonicalState(county: "nairobi")
        let aminaState = try await amina.store.canonicalState()
        let brianState = try await brian.store.canonicalState()
        let wanjiruState = try await wanjiru.store.canonicalState()
        let agree = aminaState == kisumuServer && brianState == kisumuServer && wanjiruState == nairobiServer
        print("   Every tablet holds exactly its county's state on the server: \(agree ? "yes" : "NO")")
        print(
            "   Wanjiru (Nairobi) holds \(try await wanjiru.store.reports(ReportFilter()).count) report(s): other counties' data never reaches her."
        )
        return agree
    }

    /// The whole conflict log, resolutions included.
    func printConflictLog() async throws {
        print("\nConflict log (Kisumu):")
        for c in try await desk.conflicts(query: ["state": "all"]).conflicts {
            let how = c.resolution.map { "resolved by \($0.device) → \($0.value)" } ?? "OPEN"
            print("   \(c.id): \(how)")
        }
    }

    /// Stops the server and closes the officers' stores.
    func stop() async {
        await server.stop()
        for o in officers { await o.store.close() }
    }
}
