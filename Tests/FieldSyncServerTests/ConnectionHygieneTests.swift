import FieldSyncServer
import Foundation
import Testing
import FieldSyncTestSupport

/// Connections cannot pin the daemon (issue 13, item 2): idle and slow-header connections are
/// closed, open connections are capped, and requests beyond the in-flight cap are refused at once.
@Suite(.serialized) struct ConnectionHygieneTests {
    struct Expected: Decodable { var code: String }

    static func configuration() -> ServerConfiguration {
        var c = ServerConfiguration()
        c.idleTimeoutSeconds = 1
        return c
    }

    @Test func idleAndSlowHeaderConnectionsAreClosed() async throws {
        let server = try await TestServer.start(configuration: Self.configuration())
        let port = server.port
        let (idle, slow, healthy) = await RawSocket.run { () -> (Bool, Bool, Bool) in
            guard let idle = RawSocket(port: port), let slow = RawSocket(port: port) else {
                return (false, false, false)
            }
            // A slow loris: a request line, then a header byte every 100 ms, never the blank line.
            slow.send(Data("GET /healthz HTTP/1.1\r\nHost: x\r\n".utf8))
            let start = Date()
            var slowClosed = false
            while Date().timeIntervalSince(start) < 6 {
                guard slow.send(Data("X".utf8)) else { slowClosed = true; break }
                if slow.closedByPeer(within: 0.1) { slowClosed = true; break }
            }
            // A client that keeps its connection and uses it is served again and again.
            let user = RawSocket(port: port)
            var served = user != nil
            for _ in 0..<3 where served {
                served =
                    user!.send(Data("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
                    && !user!.closedByPeer(within: 0.3)
            }
            return (idle.closedByPeer(within: 3), slowClosed, served)
        }
        #expect(idle, "an idle connection is closed after the idle timeout")
        #expect(slow, "a connection sending its headers slowly is closed")
        #expect(healthy, "a connection that is used stays open")
        #expect(await RawHTTP.send(port: port, "GET", "/healthz")?.status == 200)
        await server.stop()
    }

    @Test func manyIdleConnectionsDoNotStarveRequests() async throws {
        var configuration = Self.configuration()
        configuration.maxConnections = 20
        let server = try await TestServer.start(configuration: configuration)
        let port = server.port
        // 100 idle connections against a cap of 20: the daemon reaps them and answers the rest.
        let held = await RawSocket.run { (0..<100).compactMap { _ in RawSocket(port: port) } }
        let start = Date()
        let reply = await RawHTTP.send(port: port, "GET", "/healthz")
        #expect(reply?.status == 200, "answered within \(Date().timeIntervalSince(start)) s")
        #expect(held.count == 100)
        await server.stop()
    }

    @Test func requestsBeyondTheInFlightCapAreRefusedAtOnce() async throws {
        var configuration = Self.configuration()
        configuration.maxRequestsInFlight = 1
        configuration.idleTimeoutSeconds = 30
        let server = try await TestServer.start(configuration: configuration)
        let port = server.port
        let refused = await RawSocket.run { () -> RawHTTP.Reply? in
            // One request in flight: its body (100 bytes announced) never finishes arriving.
            guard let slow = RawSocket(port: port) else { return nil }
            slow.send(Data("POST /v1/devices/register HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{".utf8))
            Thread.sleep(forTimeInterval: 0.3)
            return RawHTTP.parse(
                RawHTTP.blockingExchange(port: port, RawHTTP.request("GET", "/v1/me"), readLimit: 1 << 16))
        }
        #expect(refused?.status == 503, "\(refused?.status ?? 0)")
        #expect(refused.flatMap { try? JSONDecoder().decode(Expected.self, from: $0.body).code } == "overloaded")
        #expect(refused?.headers["retry-after"] != nil)
        await server.stop()
    }
}
