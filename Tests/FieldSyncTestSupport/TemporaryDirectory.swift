package import Foundation

/// A fresh directory under the system temporary directory, removed when the value is dropped.
package final class TemporaryDirectory: Sendable {
    package let url: URL

    package init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("fieldsync-test-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    package func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    deinit { try? FileManager.default.removeItem(at: url) }
}

/// The bytes of a SQLite file and its WAL, to prove that a refused request changed nothing.
package func fileFingerprint(_ path: String) -> Data {
    var data = Data()
    for suffix in ["", "-wal"] { data += (try? Data(contentsOf: URL(fileURLWithPath: path + suffix))) ?? Data() }
    return data
}
