import FieldSyncClient
import FieldSyncCore
import FieldSyncProtocol
import FieldSyncServer
import FieldSyncSigning
import FieldSyncStore
import FieldSyncSQLite
import Foundation
import Testing
import FieldSyncTestSupport

/// The server's signing key can live outside the database, and be rotated (issue 13, item 5).
@Suite(.serialized) struct SigningKeyTests {
    let dir: URL

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("signing-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    func service(
        _ store: SQLiteStore, key: DeviceKey? = nil, required: Bool = true
    ) async throws(FieldSyncError) -> SyncService {
        try await SyncService(store: store, signingKey: key, requireSigningKey: required)
    }

    @Test func exportMovesTheKeyOutAndADaemonNeedsIt() async throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try SQLiteStore(path: path("s.sqlite"), options: .server)
        let original = try await service(store).serverPublicKey
        let exported = try await ServerSigningKey.export(from: store, to: path("key"))
        #expect(exported.publicKey == original)
        let mode = try FileManager.default.attributesOfItem(atPath: path("key"))[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try await store.serverIdentity("signing_key") == nil, "the database no longer holds the private key")
        // A daemon without the key, or with another one, does not start; with it, it signs as before.
        await #expect(throws: FieldSyncError.self) { _ = try await service(store) }
        await #expect(throws: FieldSyncError.self) { _ = try await service(store, key: DeviceKey()) }
        let key = try ServerSigningKey.read(path: path("key"))
        #expect(try await service(store, key: key).serverPublicKey == original)
        // Administration from the shell opens without it, and cannot sign.
        let shell = try await service(store, required: false)
        #expect(shell.signingKey == nil && shell.serverPublicKey == original)
        // A second export has nothing to move, and never overwrites a file.
        await #expect(throws: FieldSyncError.self) {
            _ = try await ServerSigningKey.export(from: store, to: path("key2"))
        }
        await store.close()
    }

    @Test func aKeyFileOthersCanReadIsRefused() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let key = DeviceKey()
        FileManager.default.createFile(
            atPath: path("open.key"), contents: Data(key.rawRepresentation.base64EncodedString().utf8),
            attributes: [.posixPermissions: 0o644])
        #expect(throws: FieldSyncError.self) { _ = try ServerSigningKey.read(path: path("open.key")) }
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path("open.key"))
        #expect(try ServerSigningKey.read(path: path("open.key")).publicKey == key.publicKey)
        #expect(throws: FieldSyncError.self) { _ = try ServerSigningKey.parse("not a key", source: "test") }
    }

    @Test func rotationReplacesTheKeyAndDevicesLearnTheNewOne() async throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let server = try await TestServer.start()
        let a = try await server.device("tab-a")
        try await a.create("r1")
        try await a.sync()
        let old = server.service.serverPublicKey
        #expect(
            try await a.store.setting("device.server_key") == old.base64EncodedString(),
            "a sync hands the device the server's key")
        await server.stop(keepingFiles: true)
        // Rotate on the stopped server's database, then serve it with the new key.
        let store = try SQLiteStore(path: server.dbPath, options: .server)
        let new = try await ServerSigningKey.rotate(in: store, newKeyFile: path("new.key"))
        #expect(try await store.serverIdentity("retired_public_keys") == old)
        await store.close()
        #expect(new.publicKey != old)
        let again = try await TestServer.start(
            in: server.dir, signingKey: try ServerSigningKey.read(path: path("new.key")))
        #expect(again.service.serverPublicKey == new.publicKey)
        let device = TestDevice(id: a.id, county: a.county, key: a.key, token: a.token, store: a.store, server: again)
        try await device.store.setSettings([PeerRevocations.atKey: "0"])  // its revocation list is due
        try await device.write([.set(field: .status, value: "closed")], to: "r1")
        try await device.sync()
        #expect(
            try await device.store.setting("device.server_key") == new.publicKey.base64EncodedString(),
            "the device follows the rotation")
        await again.stop()
    }
}
