public import FieldSyncCore
import FieldSyncStore
import Foundation
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An exclusive lock on a SQLite database, held by the one process that may write it with
/// caches of its own: `fieldsyncd serve`, or an administrative command that must not run beside
/// it. The lock is an advisory `flock` on `<database>.lock`, which also says who holds it; the
/// kernel releases it when the holder exits, however it exits. (Not the database file itself:
/// closing any other descriptor of that file would drop SQLite's own POSIX locks.)
public final class DatabaseLock: @unchecked Sendable {
    /// The lock file.
    public let path: String
    private var fd: Int32

    private init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
    }

    deinit { release() }

    /// The lock file of a database.
    public static func lockPath(forDatabase database: String) -> String { database + ".lock" }

    /// Takes the lock of `database` for `holder` (e.g. "fieldsyncd serve, pid 42, port 8080"),
    /// or throws `database_in_use` naming who holds it.
    public static func acquire(database: String, holder: String) throws(FieldSyncError) -> DatabaseLock {
        let path = lockPath(forDatabase: database)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw FieldSyncError(.storage, "cannot open the lock file \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let owner = contents(fd)
            close(fd)
            throw FieldSyncError(
                .databaseInUse,
                "the database \(database) is in use by \(owner.isEmpty ? "another process" : owner); stop it first (never run two fieldsyncd on one SQLite file)"
            )
        }
        let text = Array("\(holder), since \(Date().ISO8601Format())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, text, text.count, 0)
        return DatabaseLock(path: path, fd: fd)
    }

    /// Who holds the lock of `database`, or nil if nobody does.
    public static func holder(of database: String) -> String? {
        let fd = open(lockPath(forDatabase: database), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return nil
        }
        let owner = contents(fd)
        return owner.isEmpty ? "another process" : owner
    }

    /// Releases the lock (also done when the process exits).
    public func release() {
        guard fd >= 0 else { return }
        _ = ftruncate(fd, 0)
        close(fd)
        fd = -1
    }

    private static func contents(_ fd: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 512)
        let n = pread(fd, &buffer, buffer.count, 0)
        return n > 0
            ? String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : ""
    }
}
