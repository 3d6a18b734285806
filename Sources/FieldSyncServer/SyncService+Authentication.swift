public import FieldSyncCore
public import FieldSyncProtocol
import FieldSyncSigning
import FieldSyncStore
import Foundation
import Prometheus

/// Authentication and device registration: who is calling, and a device redeeming its
/// enrollment token. Routes: `HTTPAPI+Devices` (`/v1/devices/register`, `/v1/me`).
extension SyncService {
    /// The caller named by an `Authorization: Bearer …` header value.
    /// `client` (the caller's address) is limited to a number of failed sign-ins per window.
    /// Tokens are looked up by their SHA-256 hash: the lookup's timing depends on the hash, not on
    /// how much of a token an attacker has guessed right.
    public func authenticate(_ authorization: String?, client: String? = nil) async throws(FieldSyncError) -> Principal
    {
        // Only a presented token is a guess; a request without one is refused without counting.
        guard let client, authorization?.isEmpty == false else { return try await authenticateToken(authorization) }
        let principal: Principal
        do {
            principal = try await authenticateToken(authorization)
        } catch  where error.code == .unauthorized {
            throw failedSignIn(error, client: client)
        }
        if case .operator(let op) = principal, signInAudit.isDue(op.id, address: client, now: now()) {
            try await audit(
                .signIn, by: principal, from: client, county: nil, subject: op.id,
                detail: "\(op.role) token used from \(client)")
        }
        return principal
    }

    private func authenticateToken(_ authorization: String?) async throws(FieldSyncError) -> Principal {
        guard let authorization, authorization.lowercased().hasPrefix("bearer "), authorization.count > 7 else {
            throw FieldSyncError(
                .unauthorized,
                "send 'Authorization: Bearer <token>' with the token you received at enrollment or from an admin")
        }
        let token = String(authorization.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        let hash = Tokens.hash(token)
        if token.hasPrefix("fsd_"), let device = try await store.device(tokenHash: hash) {
            guard device.status == .active else {
                // A lost phone that keeps trying shows on the desk (`admin devices`, last error).
                await health.record(
                    device.id, error: FieldSyncError.Code.deviceRevoked.rawValue, client: nil, service: self)
                throw FieldSyncError.revokedDevice(device.id.rawValue)
            }
            return .device(device)
        }
        // Admin tokens are `fsa_`; admins made before the prefix existed keep their `fso_` token.
        if token.hasPrefix("fsa_") || token.hasPrefix("fso_"), let op = try await store.operatorRecord(tokenHash: hash),
            op.role == .admin || token.hasPrefix("fso_")
        {
            guard !op.revoked else {
                throw FieldSyncError(
                    .unauthorized, "this \(op.role) token has been revoked; ask an admin for a new one")
            }
            guard !op.expired(at: now()) else {
                throw FieldSyncError(
                    .unauthorized,
                    "this \(op.role) token expired at \(op.expiresMillis ?? 0) ms; ask an admin for a new one")
            }
            return .operator(op)
        }
        throw FieldSyncError(.unauthorized, "the bearer token is not valid; check it, or enroll again")
    }

    /// Redeems an enrollment token: registers the device key and issues its bearer token.
    public func register(
        _ request: RegisterRequest, client: String? = nil
    ) async throws(FieldSyncError) -> RegisterResponse {
        guard let client else { return try await redeem(request, from: nil) }
        do {
            return try await redeem(request, from: client)
        } catch  where error.code != .storage && error.code != .internalError {
            throw failedSignIn(error, client: client)
        }
    }

    /// Counts a failed sign-in or registration of `client`: the error to answer, or
    /// `rate_limited` once the address or the whole server is over its budget.
    public func failedSignIn(_ error: FieldSyncError, client: String) -> FieldSyncError {
        let answer = signIns.refuse(error, client: client, now: now())
        metrics.signInFailed(limited: answer.code == .rateLimited)
        return answer
    }

    private func redeem(
        _ request: RegisterRequest, from address: String?
    ) async throws(FieldSyncError) -> RegisterResponse {
        guard let key = Data(base64Encoded: request.publicKey), key.count == 32, ChangeSignature.isValidPublicKey(key)
        else {
            throw FieldSyncError(.invalidRequest, "public_key must be a base64 Ed25519 public key (32 bytes)")
        }
        let token = Tokens.generate(prefix: "fsd")
        let device = try await store.completeEnrollment(
            tokenHash: Tokens.hash(request.enrollmentToken), publicKey: key,
            bearerHash: Tokens.hash(token), nowMillis: now())
        try await audit(
            .register, by: .device(device), from: address, county: device.county, subject: device.id.rawValue,
            detail: "registered its key and received its token")
        return RegisterResponse(
            deviceID: device.id.rawValue, county: device.county, token: token,
            serverDeviceID: serverID.rawValue, serverPublicKey: serverPublicKey.base64EncodedString(),
            certificate: try certificate(of: device.id, county: device.county, key: key).base64)
    }
}
