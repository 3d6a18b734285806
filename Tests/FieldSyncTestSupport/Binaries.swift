package import Foundation
import Testing

/// The built `fieldsync` and `fieldsyncd` binaries, run as processes.
package enum Binaries {
    /// A built executable of this package (beside the test bundle, or in `.build/debug`).
    /// Whether `python3` can import a module (a third-party client the tests drive).
    package static func pythonModule(_ name: String) -> Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import \(name)"]
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }

    package static func binary(_ name: String) -> URL? {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            let candidate = dir.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        let local = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(
            ".build/debug/\(name)")
        return FileManager.default.isExecutableFile(atPath: local.path) ? local : nil
    }

    /// A finished command: its exit status and its output (stdout and stderr together).
    package struct Run {
        package var status: Int32
        package var out: String
    }

    /// Runs `fieldsync` with `args` in `dir`.
    package static func cli(_ args: [String], in dir: URL) async throws -> Run {
        let executable = try #require(binary("fieldsync"), "build fieldsync first (swift build)")
        let (status, out) = try await run(executable, args, cwd: dir)
        return Run(status: status, out: out)
    }

    /// Runs a command to completion on a thread of its own; returns status and output.
    package static func run(_ binary: URL, _ arguments: [String], cwd: URL? = nil) async throws -> (Int32, String) {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                do {
                    let p = Process()
                    p.executableURL = binary
                    p.arguments = arguments
                    if let cwd { p.currentDirectoryURL = cwd }
                    let out = Pipe()
                    p.standardOutput = out
                    p.standardError = out
                    try p.run()
                    let data = out.fileHandleForReading.readDataToEndOfFile()
                    p.waitUntilExit()
                    continuation.resume(returning: (p.terminationStatus, String(decoding: data, as: UTF8.self)))
                } catch { continuation.resume(throwing: error) }
            }.start()
        }
    }
}
