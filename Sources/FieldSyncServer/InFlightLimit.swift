import FieldSyncCore
import Hummingbird
import Synchronization

/// Caps the requests handled at once: beyond the cap a request is refused `503 overloaded`
/// before its body is read or its token checked, so that a flood costs the daemon little and
/// the requests already in flight finish.
struct InFlightLimit: RouterMiddleware {
    typealias Context = FieldSyncRequestContext
    /// Requests handled at once at most.
    let limit: Int
    let counter: Counter

    /// The shared count of requests in flight.
    final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }

    init(limit: Int) {
        self.limit = limit
        counter = Counter()
    }

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let now = counter.value.wrappingAdd(1, ordering: .relaxed).newValue
        defer { counter.value.wrappingSubtract(1, ordering: .relaxed) }
        guard now <= limit else {
            throw FieldSyncError(
                .overloaded, "the server is handling \(limit) requests already; retry after the time in Retry-After")
        }
        return try await next(request, context)
    }
}
