/// A calendar month in UTC, counted from year 0 (`year * 12 + month - 1`): the unit the
/// scorecard groups by and the unit its cache keeps.
public struct UTCMonth: Sendable, Hashable, Comparable, Codable {
    /// `year * 12 + month - 1`.
    public let index: Int64

    /// The month of an index.
    public init(index: Int64) { self.index = index }

    /// The month that holds an instant (milliseconds since 1970).
    public init(containing millis: UInt64) {
        let days = Int64(clamping: millis / 86_400_000)
        let (y, m, _) = W3CDate.civil(days)
        index = y * 12 + m - 1
    }

    /// Its first millisecond.
    public var startMillis: UInt64 {
        UInt64(clamping: W3CDate.days(index / 12, index % 12 + 1, 1) * 86_400_000)
    }

    /// The month after it.
    public var next: UTCMonth { UTCMonth(index: index + 1) }

    /// Its last millisecond.
    public var endMillis: UInt64 { next.startMillis &- 1 }

    /// `YYYY-MM`.
    public var text: String { W3CDate.pad(index / 12, 4) + "-" + W3CDate.pad(index % 12 + 1, 2) }

    /// The months that meet `from...to`, in order.
    public static func covering(from: UInt64, to: UInt64) -> [UTCMonth] {
        guard from <= to else { return [] }
        let (first, last) = (UTCMonth(containing: from).index, UTCMonth(containing: to).index)
        return (first...last).map(UTCMonth.init(index:))
    }

    /// Orders months in time.
    public static func < (a: UTCMonth, b: UTCMonth) -> Bool { a.index < b.index }
}
