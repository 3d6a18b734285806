import ArgumentParser
import FieldSyncClient
import FieldSyncCore
import FieldSyncSigning
import FieldSyncStore
import FieldSyncSQLite
import Foundation

/// `--store`: the device's SQLite file.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The device's store (SQLite file).", valueName: "path"))
    var store: String = ProcessInfo.processInfo.environment["FIELDSYNC_STORE"] ?? "device.sqlite"

    func open() throws -> any DeviceStore {
        let existed = FileManager.default.fileExists(atPath: store)
        let s = try SQLiteStore(path: store)
        // The store holds the device's private key: keep it readable by its owner only.
        if !existed { try? FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: store) }
        return s
    }

    /// The device's media area, beside its store (`<store>-media`).
    func media() throws -> DeviceMedia {
        try DeviceMedia(directory: URL(fileURLWithPath: store + "-media"))
    }
}

/// A device's credentials, kept in its store: identity, key, token, server, county.
struct DeviceCredentials {
    var id: DeviceID
    var county: String
    var key: DeviceKey
    var token: String
    var server: URL

    static func load(_ store: any DeviceStore) async throws -> DeviceCredentials {
        guard let id = try await store.identity(),
            let county = try await store.setting("device.county"),
            let keyText = try await store.setting("device.key"), let keyData = Data(base64Encoded: keyText),
            let token = try await store.setting("device.token"),
            let server = try await store.setting("device.server").flatMap(URL.init(string:))
        else {
            throw ValidationError(
                "this store is not enrolled: run 'fieldsync device enroll --server URL --token ENROLLMENT_TOKEN' first")
        }
        return DeviceCredentials(
            id: id, county: county, key: try DeviceKey(rawRepresentation: keyData), token: token, server: server)
    }

    /// What is waiting to sync from `store` to this device's server.
    func status(_ store: any DeviceStore) async throws -> DeviceSync.Status {
        try await DeviceSync(
            store: store, api: FieldSyncAPI(transport: URLSessionTransport(baseURL: server), token: token)
        ).status()
    }

    func save(_ store: any DeviceStore) async throws {
        try await store.setIdentity(id)
        try await store.setSettings([
            "device.county": county, "device.key": key.rawRepresentation.base64EncodedString(),
            "device.token": token, "device.server": server.absoluteString,
        ])
    }
}

/// Writes changes as the enrolled device, signed.
func writeSigned(
    _ store: any DeviceStore, _ ops: [ReportOperation], to report: ReportID, county: String? = nil
) async throws -> Change {
    let credentials = try await DeviceCredentials.load(store)
    let key = credentials.key
    return try await store.write(
        ops, to: report, county: county ?? credentials.county, wallMillis: wallMillis(), signer: { key.sign($0) })
}

/// Parses `field=value`: the value as JSON when it is valid JSON, else as a string.
func parseAssignment(_ text: String) throws -> (FieldName, FieldValue) {
    guard let eq = text.firstIndex(of: "=") else { throw ValidationError("'\(text)' must be field=value") }
    let field = try FieldName(validating: String(text[..<eq]))
    return (field, parseValue(String(text[text.index(after: eq)...])))
}

func parseValue(_ raw: String) -> FieldValue {
    if let data = raw.data(using: .utf8), let v = try? JSONDecoder().decode(FieldValue.self, from: data) { return v }
    return .string(raw)
}

/// Prints a value as indented JSON.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// Prints rows as an aligned table.
/// Prints a table. The first column (an id a reader copies into the next command) is never cut;
/// other cells are cut at 48 characters.
func printTable(_ header: [String], _ rows: [[String]]) {
    var widths = header.map(\.count)
    for r in rows {
        for (i, c) in r.enumerated() where i < widths.count {
            widths[i] = i == 0 ? max(widths[i], c.count) : min(max(widths[i], c.count), 48)
        }
    }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { i, c in
            let cell = i > 0 && c.count > 48 ? String(c.prefix(47)) + "…" : c
            return i == cells.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
        }.joined(separator: "  ")
    }
    print(line(header))
    for r in rows { print(line(r)) }
    if rows.isEmpty { print("(none)") }
}

/// A timestamp for people.
func humanTime(_ t: HybridTimestamp) -> String {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime]
    return f.string(from: Date(timeIntervalSince1970: Double(t.millis) / 1000))
}
