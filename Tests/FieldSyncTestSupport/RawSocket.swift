package import Foundation
#if canImport(Glibc)
    import Glibc
#endif

/// One raw TCP connection to a loopback port, driven by blocking calls: for clients that
/// misbehave on purpose (idle, slow headers, half-sent bodies). Use it from `RawSocket.run`,
/// which runs blocking work on a thread of its own, never on Swift concurrency's few threads.
package final class RawSocket: @unchecked Sendable {
    package let fd: Int32

    /// Connects, or returns nil.
    package init?(port: Int) {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var connected: Int32
        repeat {
            connected = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        } while connected != 0 && errno == EINTR
        guard connected == 0 else {
            close(fd)
            return nil
        }
    }

    deinit { close(fd) }

    /// Sends bytes; false when the peer has closed.
    @discardableResult
    package func send(_ data: Data) -> Bool {
        data.withUnsafeBytes { p in
            var sent = 0
            while sent < p.count {
                let n = Glibc.send(fd, p.baseAddress! + sent, p.count - sent, Int32(MSG_NOSIGNAL))
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return false }
                sent += n
            }
            return true
        }
    }

    /// Waits up to `seconds` for the server to close the connection (or answer): true if it
    /// closed; the bytes it sent before are dropped.
    package func closedByPeer(within seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, 100)
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { continue }
            let n = recv(fd, &buffer, buffer.count, 0)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return true }
        }
        return false
    }

    /// Runs blocking work on a thread of its own.
    package static func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: work()) }.start()
        }
    }
}
