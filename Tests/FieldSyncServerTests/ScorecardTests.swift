import FieldSyncCore
import FieldSyncProtocol
import FieldSyncTestSupport
import Foundation
import Testing

/// The scorecard against a real daemon, checked against a seeded history whose answers the test
/// computes on its own from the plan it wrote (not from the server's timelines): per service,
/// ward and month, and the public variant without small groups.
@Suite(.serialized) struct ScorecardTests {
    /// What the test planned for one report.
    struct Plan {
        var id: String
        var service: String
        var ward: String
        var created: UInt64
        var acknowledged: UInt64?
        var closed: UInt64?
        var reopened = false
        var open: Bool
        var updated: UInt64
    }

    static let hour: UInt64 = 3_600_000

    /// Writes `count` reports with seeded lives over the last 120 days, in time order.
    static func history(_ device: TestDevice, count: Int, seed: UInt64, now: UInt64) async throws -> [Plan] {
        var rng = SplitMix64(seed: seed)
        var events: [(at: UInt64, id: String, ops: [ReportOperation])] = []
        var plans: [Plan] = []
        for i in 0..<count {
            let id = "sc-\(seed)-\(i)"
            let service = ["pothole", "water_point", "streetlight"][Int(rng.next() % 3)]
            let ward = ["kondele", "manyatta", "nyalenda"][Int(rng.next() % 3)]
            let created = now - 120 * 24 * hour + rng.next() % (118 * 24 * hour)
            var plan = Plan(id: id, service: service, ward: ward, created: created, open: true, updated: created)
            events.append(
                (
                    created, id,
                    [
                        .create(county: "kisumu"), .set(field: .serviceCode, value: .string(service)),
                        .set(field: .ward, value: .string(ward)), .set(field: .status, value: "open"),
                    ]
                ))
            var t = created
            // Every event is in the past (a device re-times changes stamped ahead of the server).
            let past = { (at: UInt64) in at < now - 60_000 }
            if rng.next() % 4 != 0, past(t + 72 * hour) {
                t += 1 + rng.next() % (72 * hour)
                plan.acknowledged = t
                events.append((t, id, [.set(field: .status, value: "acknowledged")]))
                if rng.next() % 3 != 0, past(t + 400 * hour) {
                    t += 1 + rng.next() % (400 * hour)
                    plan.closed = t
                    plan.open = false
                    events.append((t, id, [.set(field: .status, value: "closed")]))
                    if rng.next() % 5 == 0, past(t + 48 * hour) {
                        t += 1 + rng.next() % (48 * hour)
                        plan.reopened = true
                        plan.open = true
                        events.append((t, id, [.set(field: .status, value: "in_progress")]))
                    }
                }
            }
            plan.updated = t
            plans.append(plan)
        }
        for e in events.sorted(by: { ($0.at, $0.id) < ($1.at, $1.id) }) {
            try await device.write(e.ops, to: e.id, at: e.at)
        }
        return plans
    }

    static func nearestRank(_ values: [Double], _ p: Double) -> Double? {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return nil }
        return sorted[Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1]
    }

    /// The row the test expects for some plans, computed from the plans alone.
    static func expected(_ key: String, _ plans: [Plan], now: UInt64) -> [String: Any] {
        let ack = plans.compactMap { p in p.acknowledged.map { Double($0 - p.created) / Double(hour) } }
        let close = plans.compactMap { p in p.closed.map { Double($0 - p.created) / Double(hour) } }
        let targeted = plans.filter { $0.service == "pothole" }
        let open = plans.filter(\.open)
        var row: [String: Any] = [
            "key": key, "received": plans.count, "acknowledged": ack.count, "closed": close.count,
            "reopened": plans.filter(\.reopened).count,
            "backlog_new": open.filter { now - $0.created < 28 * 24 * hour }.count,
            "backlog_older": open.filter { now - $0.created >= 28 * 24 * hour }.count,
            "backlog_stale": open.filter { now - $0.updated >= 56 * 24 * hour }.count,
        ]
        row["acknowledge_median_hours"] = nearestRank(ack, 50)
        row["acknowledge_p90_hours"] = nearestRank(ack, 90)
        row["close_median_hours"] = nearestRank(close, 50)
        row["close_p90_hours"] = nearestRank(close, 90)
        if !targeted.isEmpty {
            let within = targeted.filter { p in p.closed.map { $0 - p.created <= 240 * hour } ?? false }
            row["closed_within_target"] = Double(within.count) / Double(targeted.count)
        }
        return row
    }

    static func check(_ actual: [String: Any], _ expected: [String: Any], seed: UInt64) {
        let key = expected["key"] as? String ?? "?"
        for (name, value) in expected {
            if let d = value as? Double {
                let got = (actual[name] as? NSNumber)?.doubleValue
                #expect(
                    got.map { abs($0 - d) < 1e-6 } == true,
                    "seed \(seed), \(key): \(name) \(String(describing: got)) ≠ \(d)")
            } else if let i = value as? Int {
                #expect(
                    (actual[name] as? NSNumber)?.intValue == i,
                    "seed \(seed), \(key): \(name) \(String(describing: actual[name])) ≠ \(i)")
            }
        }
        for name in ["closed_within_target", "acknowledge_median_hours"] where expected[name] == nil {
            #expect(actual[name] == nil || actual[name] is NSNull, "seed \(seed), \(key): \(name) should be absent")
        }
    }

    @Test(arguments: [UInt64(1), 2])
    func figuresMatchAnIndependentCountOfASeededHistory(seed: UInt64) async throws {
        let server = try await TestServer.start()
        #expect(await CatalogueTests.publish(server, CatalogueTests.file)?.status == 200)
        let device = try await server.device("tab-s\(seed)")
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        let plans = try await Self.history(device, count: 120, seed: seed, now: now)
        try await device.sync()
        let desk = try await server.operatorToken(["kisumu"])
        func card(_ query: String, open: Bool = false) async throws -> [[String: Any]] {
            let path = open ? "/v1/public/scorecard?county=kisumu&\(query)" : "/v1/scorecard?county=kisumu&\(query)"
            let reply = await RawHTTP.send(port: server.port, "GET", path, headers: ["Authorization": "Bearer \(desk)"])
            #expect(reply?.status == 200, "seed \(seed): \(path)")
            let body = try JSONSerialization.jsonObject(with: reply?.body ?? Data()) as? [String: Any]
            return body?["rows"] as? [[String: Any]] ?? []
        }
        for (group, key) in [("service", \Plan.service), ("ward", \Plan.ward)] {
            let rows = try await card("group=\(group)")
            let byKey = Dictionary(grouping: plans, by: { $0[keyPath: key] })
            #expect(rows.map { $0["key"] as? String } == ["all"] + byKey.keys.sorted(), "seed \(seed)")
            Self.check(rows[0], Self.expected("all", plans, now: now), seed: seed)
            for row in rows.dropFirst() {
                let k = row["key"] as? String ?? ""
                Self.check(row, Self.expected(k, byKey[k] ?? [], now: now), seed: seed)
            }
        }
        // The headline figures as Prometheus gauges, per county, for the last 365 days.
        let metrics = String(
            decoding: await RawHTTP.send(port: server.port, "GET", "/metrics")?.body ?? Data(), as: UTF8.self)
        #expect(metrics.contains("fieldsync_scorecard_received{county=\"kisumu\"} \(plans.count)"), "seed \(seed)")
        let open = plans.filter(\.open)
        let fresh = open.filter { now - $0.created < 28 * 24 * Self.hour }.count
        #expect(metrics.contains("fieldsync_scorecard_backlog_new{county=\"kisumu\"} \(fresh)"), "seed \(seed)")
        #expect(!metrics.contains("sc-\(seed)-"), "no report ids in metrics")
        let months = try await card("group=month")
        #expect(months.dropFirst().map { $0["received"] as? Int ?? 0 }.reduce(0, +) == plans.count)
        // A period: only what was received in it.
        let from = W3CDate.format(Int64(now - 60 * 24 * Self.hour))
        let recent = try await card("from=\(from.replacingOccurrences(of: "+", with: "%2B"))")
        let inPeriod = plans.filter { $0.created >= now - 60 * 24 * Self.hour }
        Self.check(recent[0], Self.expected("all", inPeriod, now: now), seed: seed)
        // The public variant leaves small groups out, keeps the total.
        let wards = try await card("group=ward&from=\(from.replacingOccurrences(of: "+", with: "%2B"))", open: true)
        #expect(wards.first?["key"] as? String == "all")
        #expect(wards.dropFirst().allSatisfy { ($0["received"] as? Int ?? 0) >= 5 })
        // The figures follow new changes at once, also for months answered before: close the
        // open reports received more than 40 days ago.
        var later = plans
        let t = now - 30_000
        for k in later.indices where later[k].open && later[k].created < now - 40 * 24 * Self.hour {
            try await device.write([.set(field: .status, value: "closed")], to: later[k].id, at: t)
            later[k].acknowledged = later[k].acknowledged ?? t
            later[k].closed = later[k].closed ?? t
            later[k].open = false
            later[k].updated = t
        }
        #expect(later.filter(\.open).count < plans.filter(\.open).count, "seed \(seed): some report should close")
        try await device.sync()
        let rows = try await card("group=service")
        let byService = Dictionary(grouping: later, by: \.service)
        Self.check(rows[0], Self.expected("all", later, now: now), seed: seed)
        for row in rows.dropFirst() {
            let k = row["key"] as? String ?? ""
            Self.check(row, Self.expected(k, byService[k] ?? [], now: now), seed: seed)
        }
        await server.stop()
    }

    @Test func thePublicScorecardNeedsNoTokenAndLeavesSmallGroupsOut() async throws {
        let server = try await TestServer.start()
        let device = try await server.device("tab-p1")
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        _ = try await Self.history(device, count: 7, seed: 9, now: now)
        try await device.sync()
        let reply = await RawHTTP.send(port: server.port, "GET", "/v1/public/scorecard?county=kisumu&group=ward")
        #expect(reply?.status == 200)
        let card = try JSONDecoder().decode(ScorecardResponse.self, from: reply?.body ?? Data())
        #expect(card.rows.first?.received == 7 && card.minimumCount == 5)
        #expect(card.rows.dropFirst().allSatisfy { $0.received >= 5 }, "groups under 5 are left out")
        let text = String(decoding: reply?.body ?? Data(), as: UTF8.self)
        #expect(!text.contains("sc-9-"), "no report-level detail")
        #expect(await RawHTTP.send(port: server.port, "GET", "/v1/scorecard?county=kisumu")?.status == 401)
        #expect(
            await RawHTTP.send(port: server.port, "GET", "/v1/public/scorecard?county=kisumu&group=day")?.status == 400)
        await server.stop()
    }
}
