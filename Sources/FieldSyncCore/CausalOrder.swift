/// How two version vectors (or the events they describe) relate in causal time.
public enum CausalOrder: String, Sendable, Hashable, Codable {
    /// The left side happened before the right side.
    case before
    /// The left side happened after the right side.
    case after
    /// Both describe the same history.
    case equal
    /// Neither saw the other: the two are concurrent.
    case concurrent
}
