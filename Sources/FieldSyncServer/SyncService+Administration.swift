public import FieldSyncCore
public import FieldSyncProtocol
import FieldSyncSigning
import FieldSyncStore
import Foundation
import Prometheus

/// Administration (admins only): enrollment tokens, operators and admins, devices and their
/// revocation. Routes: `HTTPAPI+Admin`.
extension SyncService {
    /// Prepares a device's enrollment (admins only): returns the one-time token.
    public func enroll(
        _ request: EnrollmentRequest, by caller: Principal, from address: String? = nil
    ) async throws(FieldSyncError) -> EnrollmentResponse {
        try requireAdmin(caller)
        guard Identifier.isValid(request.county) else {
            throw FieldSyncError(
                .invalidIdentifier,
                "county '\(request.county.prefix(64))' is not a valid identifier (1–64 of A–Z a–z 0–9 - _ .)")
        }
        let device = try DeviceID(validating: request.deviceID ?? "dev-\(UUID().uuidString.prefix(8).lowercased())")
        guard device != serverID else {
            throw FieldSyncError(.invalidEnrollment, "device id \(device) is reserved for the server")
        }
        let hours = request.expiresInHours ?? configuration.enrollmentHours
        guard (1...24 * 90).contains(hours) else {
            throw FieldSyncError(.invalidRequest, "expires_in_hours must be between 1 and 2160")
        }
        let token = Tokens.generate(prefix: "fse")
        let expires = now() + UInt64(hours) * 3_600_000
        try await store.createEnrollment(
            tokenHash: Tokens.hash(token), device: device, county: request.county, expiresMillis: expires,
            nowMillis: now())
        try await audit(
            .enroll, by: caller, from: address, county: request.county, subject: device.rawValue,
            detail: "enrollment token issued, valid \(hours) h")
        return EnrollmentResponse(
            enrollmentToken: token, deviceID: device.rawValue, county: request.county, expiresAtMillis: expires)
    }

    /// Creates an operator or admin (admins only, or the shell when `caller` is nil).
    public func createOperator(
        _ request: OperatorRequest, by caller: Principal, from address: String? = nil
    ) async throws(FieldSyncError) -> OperatorResponse {
        try requireAdmin(caller)
        guard let role = OperatorRole(rawValue: request.role) else {
            throw FieldSyncError(.invalidRequest, "role must be 'operator' or 'admin'")
        }
        guard (1...47).contains(request.counties.count),
            request.counties.allSatisfy({ $0 == "*" || Identifier.isValid($0) })
        else {
            throw FieldSyncError(.invalidRequest, "counties must list 1 to 47 county ids, or '*' for all")
        }
        guard !request.name.isEmpty, request.name.utf8.count <= 128 else {
            throw FieldSyncError(.invalidRequest, "name must have 1 to 128 bytes")
        }
        if let days = request.expiresInDays, !(1...3_650).contains(days) {
            throw FieldSyncError(
                .invalidRequest, "expires_in_days must be between 1 and 3650 (omit it for a token that does not expire)"
            )
        }
        let token = Tokens.generate(prefix: role.tokenPrefix)
        let id = "op-\(UUID().uuidString.prefix(8).lowercased())"
        let expires = request.expiresInDays.map { now() + UInt64($0) * 86_400_000 }
        try await store.createOperator(
            OperatorRecord(
                id: id, name: request.name, role: role, counties: request.counties,
                revoked: false, expiresMillis: expires),
            tokenHash: Tokens.hash(token), nowMillis: now())
        try await audit(
            .createOperator, by: caller, from: address, county: nil, subject: id,
            detail:
                "\(request.role) for \(request.counties.joined(separator: ",")); token issued\(request.expiresInDays.map { ", expires in \($0) days" } ?? "")"
        )
        return OperatorResponse(
            operatorID: id, role: request.role, counties: request.counties, token: token, expiresAtMillis: expires)
    }

    /// Every operator and admin (admins only, or the shell): never their tokens.
    public func operators(by caller: Principal) async throws(FieldSyncError) -> [OperatorInfo] {
        try requireAdmin(caller)
        return try await store.operators().map(Self.info)
    }

    /// Revokes an operator's or admin's token at once (admins only, or the shell). The last
    /// admin who can still sign in is not revoked: create another first.
    public func revokeOperator(
        _ id: String, by caller: Principal, from address: String? = nil
    ) async throws(FieldSyncError) -> OperatorInfo {
        try requireAdmin(caller)
        let all = try await store.operators()
        guard let target = all.first(where: { $0.id == id }) else {
            throw FieldSyncError(
                .notFound,
                "no operator '\(id.prefix(64))'; list them with GET /v1/admin/operators or fieldsyncd admin operators")
        }
        let activeAdmins = all.filter { $0.role == .admin && !$0.revoked && !$0.expired(at: now()) }
        if target.role == .admin, !target.revoked, activeAdmins.map(\.id) == [target.id] {
            throw FieldSyncError(
                .forbidden, "\(target.id) is the last admin who can sign in; create another admin before revoking it")
        }
        guard let revoked = try await store.revokeOperator(id, nowMillis: now()) else {
            throw FieldSyncError(.notFound, "no operator '\(id.prefix(64))'")
        }
        try await audit(
            .revokeOperator, by: caller, from: address, county: nil, subject: revoked.id,
            detail: "\(revoked.role) token revoked")
        return Self.info(revoked)
    }

    static func info(_ op: OperatorRecord) -> OperatorInfo {
        OperatorInfo(
            operatorID: op.id, name: op.name, role: op.role.rawValue, counties: op.counties, revoked: op.revoked,
            expiresAtMillis: op.expiresMillis)
    }

    /// Revokes a device (admins only, or the shell).
    public func revoke(
        _ id: String, by caller: Principal, from address: String? = nil
    ) async throws(FieldSyncError) -> DeviceInfo {
        try requireAdmin(caller)
        let device = try DeviceID(validating: id)
        guard try await store.revokeDevice(device, nowMillis: now()), let record = try await store.device(device) else {
            throw FieldSyncError(.notFound, "no device \(device) is enrolled")
        }
        try await audit(
            .revokeDevice, by: caller, from: address, county: record.county, subject: device.rawValue,
            detail: "device revoked")
        return DeviceInfo(deviceID: record.id.rawValue, county: record.county, status: record.status.rawValue)
    }

    /// Lists devices (admins: all; operators: their counties).
    public func devices(
        county: String?, by caller: Principal, silentDays: Int? = nil
    ) async throws(FieldSyncError) -> [DeviceInfo] {
        let op = try requireOperator(caller)
        if let county { try requireCounty(op, county) }
        let health = try await store.deviceHealth()
        let waiting = try await mediaWaiting(for: op)
        let cutoff = silentDays.map { now() &- UInt64(max(0, $0)) * 86_400_000 }
        return try await store.devices(county: county).filter { op.covers($0.county) }.compactMap { d in
            let h = health[d.id]
            // Silent: active, and no successful sync since the cutoff.
            if let cutoff, d.status != .active || (h?.lastSyncMillis ?? 0) >= cutoff { return nil }
            return DeviceInfo(
                deviceID: d.id.rawValue, county: d.county, status: d.status.rawValue, lastSyncMillis: h?.lastSyncMillis,
                lastError: h?.lastError, lastErrorMillis: h?.lastErrorMillis, client: h?.client,
                pending: h?.pending, refused: h?.refused, mediaWaiting: waiting[d.id] ?? 0)
        }
    }

    /// For each device, the files its changes attached that have not arrived, over the first
    /// 20,000 attachments of the operator's counties.
    func mediaWaiting(for op: OperatorRecord) async throws(FieldSyncError) -> [DeviceID: Int] {
        let counties = op.role == .admin || op.counties.contains("*") ? nil : op.counties
        var result: [DeviceID: Int] = [:]
        var offset = 0
        while offset < 20_000 {
            let page = try await store.attachments(counties: counties, offset: offset, limit: 1_000)
            for m in page where try await blobs.blob(m.sha256) == nil {
                if let device = m.device { result[device, default: 0] += 1 }
            }
            if page.count < 1_000 { break }
            offset += page.count
        }
        return result
    }
}
