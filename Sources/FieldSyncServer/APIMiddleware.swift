import FieldSyncCore
import FieldSyncProtocol
import Foundation
import Hummingbird
import Logging

/// Turns every failure into `{code, message}` with the right status, counts requests by route
/// and status, and logs one line per request (method, route, status, time, request id — never
/// bodies, tokens or personal data).
struct APIMiddleware: RouterMiddleware {
    typealias Context = FieldSyncRequestContext
    let metrics: ServerMetrics

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let start = ContinuousClock.now
        let response: Response
        do {
            response = try await next(request, context)
        } catch let error as APIError {
            response = try error.response(from: request, context: context)
        } catch let error as FieldSyncError {
            response = try APIError(error).response(from: request, context: context)
        } catch let error as HTTPError {
            response = try APIError(Self.translate(error, path: request.uri.path)).response(
                from: request, context: context)
        } catch let error as any HTTPResponseError {
            response = try APIError(
                .invalidRequest,
                "the request was refused (\(error.status.code)); check the method, path and body against protocol/openapi.json"
            )
            .response(from: request, context: context)
        } catch {
            context.logger.error("internal error", metadata: ["error": "\(type(of: error))"])
            response = try APIError(
                .internalError,
                "the server failed to handle the request; retry it, and report the request id if it keeps failing"
            )
            .response(from: request, context: context)
        }
        // The router's template of the matched route (`/v1/reports/{id}`); one label for any
        // path no route matched, so the label set stays fixed whatever is requested.
        let route = context.endpointPath.flatMap { $0 == "NotFound" ? nil : $0 } ?? Self.unmatched
        metrics.request(route: route, method: request.method.rawValue, status: response.status.code)
        let elapsed = ContinuousClock.now - start
        context.logger.info(
            "request",
            metadata: [
                "method": "\(request.method.rawValue)", "route": "\(route)", "status": "\(response.status.code)",
                "ms": "\(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)",
            ])
        return response
    }

    /// Router errors (unknown path, wrong method) as FieldSync errors.
    static func translate(_ error: HTTPError, path: String) -> FieldSyncError {
        if error.status == .notFound {
            let first = path.split(separator: "/").first.map(String.init) ?? ""
            if first.hasPrefix("v"), let n = Int(first.dropFirst()), !ProtocolVersion.supported.contains(n) {
                return FieldSyncError(
                    .unsupportedProtocolVersion,
                    "protocol version \(n) is not supported; this server speaks version(s) \(ProtocolVersion.supported.map(String.init).joined(separator: ", ")) (paths start with /v\(ProtocolVersion.current)/)"
                )
            }
            let allowed = allowedMethods(path)
            if !allowed.isEmpty {
                return FieldSyncError(
                    .methodNotAllowed,
                    "\(path.prefix(120)) answers only \(allowed.joined(separator: ", ")); see protocol/openapi.json")
            }
            return FieldSyncError(
                .notFound, "no such endpoint: \(path.prefix(120)); see protocol/openapi.json for the routes")
        }
        if error.status == .methodNotAllowed {
            return FieldSyncError(
                .methodNotAllowed, "this method is not allowed on \(path.prefix(120)); see protocol/openapi.json")
        }
        if error.status == .contentTooLarge {
            return FieldSyncError(.bodyTooLarge, "the request body is too large; send fewer changes per request")
        }
        return FieldSyncError(.invalidRequest, error.body ?? "the request was refused (\(error.status.code))")
    }

    /// The methods the routes matching `path` answer (empty when no route matches it).
    static func allowedMethods(_ path: String) -> [String] {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        // The routes the path matches, each with how many literal segments it matched; only the
        // most specific count (`…/resolve` is not the `…/{resolver}` route).
        let matches = HTTPAPI.routes.compactMap { route -> (method: String, literals: Int)? in
            let pieces = route.split(separator: " ", maxSplits: 1)
            let template = pieces[1].split(separator: "/", omittingEmptySubsequences: true)
            guard template.count == parts.count else { return nil }
            var literals = 0
            for (t, p) in zip(template, parts) where !t.hasPrefix("{") {
                guard t == p else { return nil }
                literals += 1
            }
            return (String(pieces[0]), literals)
        }
        let best = matches.map(\.literals).max()
        return Array(Set(matches.filter { $0.literals == best }.map(\.method))).sorted()
    }

    /// The metrics label of requests no route matched.
    static let unmatched = "unmatched"
}
