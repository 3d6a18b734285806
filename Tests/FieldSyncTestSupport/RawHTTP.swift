package import Foundation
#if canImport(Glibc)
    import Glibc
#endif

/// Raw HTTP/1.1 over a TCP socket on loopback: for requests no well-behaved client sends (cut
/// bodies, odd headers) and for reading the exact status and bytes.
package enum RawHTTP {
    package struct Reply {
        package var status: Int
        package var headers: [String: String]
        package var body: Data
    }

    /// Sends `request` bytes, then reads up to `readLimit` bytes of the reply (0: read nothing)
    /// and closes the connection. The blocking socket calls run on a thread of their own, never
    /// on the few threads Swift concurrency (and so the server under test) runs on.
    package static func exchange(port: Int, _ request: Data, readLimit: Int = 1 << 22) async -> Data {
        await withCheckedContinuation { continuation in
            let thread = Thread {
                continuation.resume(returning: blockingExchange(port: port, request, readLimit: readLimit))
            }
            thread.start()
        }
    }

    package static func blockingExchange(port: Int, _ request: Data, readLimit: Int) -> Data {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return Data() }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        // Other tests kill child processes: retry system calls a SIGCHLD interrupts.
        var connected: Int32
        repeat {
            connected = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        } while connected != 0 && errno == EINTR
        guard connected == 0 || errno == EISCONN else { return Data() }
        request.withUnsafeBytes { p in
            var sent = 0
            while sent < p.count {
                let n = Glibc.send(fd, p.baseAddress! + sent, p.count - sent, Int32(MSG_NOSIGNAL))
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                sent += n
            }
        }
        var reply = Data()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while reply.count < readLimit {
            let n = recv(fd, &buffer, min(buffer.count, readLimit - reply.count), 0)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            reply.append(contentsOf: buffer[0..<n])
            if let parsed = parse(reply), parsed.body.count >= (Int(parsed.headers["content-length"] ?? "") ?? Int.max)
            {
                break
            }
        }
        return reply
    }

    /// Builds a request.
    package static func request(
        _ method: String, _ path: String, headers: [String: String] = [:], body: Data = Data(),
        contentLength: Int? = nil
    ) -> Data {
        var text = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        for (k, v) in headers { text += "\(k): \(v)\r\n" }
        text += "Content-Length: \(contentLength ?? body.count)\r\n\r\n"
        return Data(text.utf8) + body
    }

    /// Sends a complete request and parses the reply.
    package static func send(
        port: Int, _ method: String, _ path: String, headers: [String: String] = [:], body: Data = Data()
    ) async -> Reply? {
        parse(await exchange(port: port, request(method, path, headers: headers, body: body)))
    }

    package static func parse(_ data: Data) -> Reply? {
        guard let split = data.range(of: Data("\r\n\r\n".utf8)) else { return nil }
        let head = String(decoding: data[..<split.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        guard let statusLine = head.first, let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "")
        else { return nil }
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces)
        }
        return Reply(status: status, headers: headers, body: Data(data[split.upperBound...]))
    }
}
