public import FieldSyncCore
public import FieldSyncSigning
public import FieldSyncStore
public import Foundation
#if canImport(Glibc)
    import Glibc
#endif

/// Where the server's Ed25519 signing key lives, and which key a daemon signs with.
///
/// By default the database holds it (a fresh database makes one). An operator can keep it out
/// of the database instead — in a file readable by its owner only, or in the environment — so
/// that a copy of the database is not enough to forge resolutions: `export` moves it to a file,
/// `rotate` replaces it. The database then keeps only the public key, and a daemon started
/// without the key, or with another one, refuses to start rather than sign with a wrong key.
public enum ServerSigningKey {
    static let privateSlot = "signing_key"
    static let publicSlot = "signing_public_key"
    static let retiredSlot = "retired_public_keys"

    /// What a daemon does with the keys it finds (I/O-free).
    enum Decision: Equatable {
        /// Sign with this raw key (the database's, or the external one it matches).
        case use(Data)
        /// A fresh database: make a key and keep it in the database.
        case generate
        /// The key is kept outside the database and was not given: verify with its public key,
        /// sign nothing (administration from the shell).
        case publicOnly(Data)
        /// Refuse to start.
        case refuse(FieldSyncError)
    }

    /// Decides from the database's private key and recorded public key, and an external key.
    static func decide(storedPrivate: DeviceKey?, storedPublic: Data?, external: DeviceKey?, required: Bool) -> Decision
    {
        let known = storedPublic ?? storedPrivate?.publicKey
        guard let external else {
            if let storedPrivate { return .use(storedPrivate.rawRepresentation) }
            if let known, !required { return .publicOnly(known) }
            if known != nil {
                return .refuse(
                    FieldSyncError(
                        .unauthorized,
                        "this database's signing key is kept outside it; start with --signing-key-file FILE or FIELDSYNC_SIGNING_KEY (docs/operations.md, 'The signing key')"
                    ))
            }
            return .generate
        }
        guard known == nil || known == external.publicKey else {
            return .refuse(
                FieldSyncError(
                    .unauthorized,
                    "the signing key given is not this server's (its public key is \(known!.base64EncodedString())); to replace the key, run fieldsyncd admin signing-key rotate"
                ))
        }
        return .use(external.rawRepresentation)
    }

    /// The key to sign with (nil: kept outside the database, not given, and not `required`) and
    /// the server's public key, from the database and an optional external key (see `decide`).
    public static func load(
        from store: any ServerStore, external: DeviceKey?,
        required: Bool = true
    ) async throws(FieldSyncError) -> (key: DeviceKey?, publicKey: Data) {
        var storedPrivate: DeviceKey?
        if let raw = try await store.serverIdentity(privateSlot) {
            storedPrivate = try DeviceKey(rawRepresentation: raw)
        }
        let storedPublic = try await store.serverIdentity(publicSlot)
        let key: DeviceKey
        switch decide(storedPrivate: storedPrivate, storedPublic: storedPublic, external: external, required: required)
        {
        case .refuse(let error): throw error
        case .publicOnly(let publicKey): return (nil, publicKey)
        case .use(let raw): key = try DeviceKey(rawRepresentation: raw)
        case .generate:
            // Several daemons may start at once on one PostgreSQL: the first key stored wins.
            key = try DeviceKey(
                rawRepresentation: try await store.initServerIdentity(privateSlot, DeviceKey().rawRepresentation))
        }
        if storedPublic == nil { _ = try await store.initServerIdentity(publicSlot, key.publicKey) }
        return (key, key.publicKey)
    }

    /// Moves the database's key to `path` (created, owner-only) and removes it from the database.
    public static func export(from store: any ServerStore, to path: String) async throws(FieldSyncError) -> DeviceKey {
        guard let raw = try await store.serverIdentity(privateSlot) else {
            throw FieldSyncError(
                .invalidRequest,
                "the database holds no signing key (it is kept outside it already, or the database is new: start fieldsyncd once first)"
            )
        }
        let key = try DeviceKey(rawRepresentation: raw)
        try write(key, to: path)
        _ = try await store.initServerIdentity(publicSlot, key.publicKey)
        try await store.setServerIdentity(privateSlot, nil)
        return key
    }

    /// Makes a new key in `path` (created, owner-only) and makes it the server's: the database
    /// forgets the old private key and keeps its public key among the retired ones.
    public static func rotate(
        in store: any ServerStore, newKeyFile path: String
    ) async throws(FieldSyncError) -> DeviceKey {
        var old = try await store.serverIdentity(publicSlot)
        if old == nil, let raw = try await store.serverIdentity(privateSlot) {
            old = try DeviceKey(rawRepresentation: raw).publicKey
        }
        let key = DeviceKey()
        try write(key, to: path)
        if let old {
            let retired = try await store.serverIdentity(retiredSlot) ?? Data()
            try await store.setServerIdentity(retiredSlot, retired + old)
        }
        try await store.setServerIdentity(publicSlot, key.publicKey)
        try await store.setServerIdentity(privateSlot, nil)
        return key
    }

    /// Reads a key file: base64 of the 32-byte key. Refused if anyone but its owner may read it.
    public static func read(path: String) throws(FieldSyncError) -> DeviceKey {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let mode = attributes[.posixPermissions] as? Int
        else {
            throw FieldSyncError(.invalidRequest, "cannot read the signing key file \(path)")
        }
        guard mode & 0o077 == 0 else {
            throw FieldSyncError(
                .invalidRequest,
                "the signing key file \(path) is readable by others (mode \(String(mode, radix: 8))); chmod 600 it")
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw FieldSyncError(.invalidRequest, "cannot read the signing key file \(path)")
        }
        return try parse(text, source: path)
    }

    /// Parses a key: base64 of its 32 bytes (whitespace around it is ignored).
    public static func parse(_ text: String, source: String) throws(FieldSyncError) -> DeviceKey {
        guard let raw = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)), raw.count == 32
        else {
            throw FieldSyncError(.invalidRequest, "\(source) does not hold a signing key (base64 of 32 bytes)")
        }
        return try DeviceKey(rawRepresentation: raw)
    }

    /// Writes a key to a new file, readable by its owner only.
    static func write(_ key: DeviceKey, to path: String) throws(FieldSyncError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else {
            throw FieldSyncError(
                .invalidRequest, "cannot create \(path) (it must not exist yet): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let bytes = Array((key.rawRepresentation.base64EncodedString() + "\n").utf8)
        guard Glibc.write(fd, bytes, bytes.count) == bytes.count, fsync(fd) == 0 else {
            throw FieldSyncError(.storage, "cannot write \(path)")
        }
    }
}
