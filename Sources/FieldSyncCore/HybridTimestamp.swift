/// A hybrid logical clock timestamp: wall-clock milliseconds plus a logical counter.
///
/// HLC timestamps order events consistently with causality (a change always has a larger
/// timestamp than every change its author had seen) while staying close to wall time. They are
/// used only to pick a deterministic *display* winner among concurrent values and to sort notes;
/// causality itself is decided by version vectors, never by clocks, because device clocks in the
/// field can be wrong by days.
public struct HybridTimestamp: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// Milliseconds since the Unix epoch, as the author's clock (corrected by HLC) saw it.
    public var millis: UInt64
    /// Logical counter that orders events within one millisecond.
    public var counter: UInt32

    /// The zero timestamp, before every real event.
    public static let zero = HybridTimestamp(millis: 0, counter: 0)

    /// Creates a timestamp.
    public init(millis: UInt64, counter: UInt32 = 0) {
        self.millis = millis
        self.counter = counter
    }

    public static func < (lhs: HybridTimestamp, rhs: HybridTimestamp) -> Bool {
        lhs.millis == rhs.millis ? lhs.counter < rhs.counter : lhs.millis < rhs.millis
    }

    public var description: String { "\(millis).\(counter)" }

    // Wire form: `[millis, counter]`, two integers below 2^53 so every JSON reader keeps them exact.
    public init(from decoder: any Decoder) throws {
        var c = try decoder.unkeyedContainer()
        let millis = try c.decode(UInt64.self)
        let counter = try c.decode(UInt32.self)
        guard millis < 1 << 53 else {
            throw DecodingError.refused(.clockSkew, "hlc milliseconds must be below 2^53", at: decoder.codingPath)
        }
        self.init(millis: millis, counter: counter)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.unkeyedContainer()
        try c.encode(millis)
        try c.encode(counter)
    }
}

/// A hybrid logical clock (Kulkarni et al., 2014). Value type: each device owns one.
public struct HybridClock: Sendable, Hashable {
    /// The last timestamp issued or observed.
    public private(set) var last: HybridTimestamp

    /// Creates a clock that has seen nothing later than `last`.
    public init(last: HybridTimestamp = .zero) { self.last = last }

    /// Issues a timestamp for a new local event, given the local wall clock in milliseconds.
    public mutating func tick(wallMillis: UInt64) -> HybridTimestamp {
        if wallMillis > last.millis {
            last = HybridTimestamp(millis: wallMillis, counter: 0)
        } else {
            last =
                last.counter == .max
                ? HybridTimestamp(millis: last.millis + 1, counter: 0)
                : HybridTimestamp(millis: last.millis, counter: last.counter + 1)
        }
        return last
    }

    /// Takes a remote timestamp into account so that later local events order after it.
    public mutating func observe(_ remote: HybridTimestamp) {
        if remote > last { last = remote }
    }
}
