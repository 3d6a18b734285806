/// A multi-value register: the values of one field that no later write has superseded.
///
/// Writes that saw each other replace each other; writes that did not (concurrent writes) are
/// all kept. One candidate means no conflict; several candidates with different values mean a
/// conflict, shown with a deterministic winner until someone resolves it.
public struct Register: Hashable, Sendable, Codable {
    /// The surviving writes, sorted by dot; pairwise concurrent.
    public private(set) var candidates: [Candidate]

    /// An empty register.
    public init() { candidates = [] }

    /// A register holding candidates already sorted by dot (for decoding).
    init(sortedCandidates: [Candidate]) { candidates = sortedCandidates }

    /// The value to display: the candidate with the highest timestamp, then the highest dot.
    public var winner: Candidate? { candidates.max(by: Candidate.displayOrder) }

    /// Whether concurrent writes left different values.
    public var isConflicted: Bool {
        guard candidates.count > 1, let first = candidates.first?.value else { return false }
        return candidates.contains { $0.value != first }
    }

    /// Applies a write whose author had seen `context`: it replaces every candidate it saw.
    public mutating func write(_ candidate: Candidate, context: VersionVector) {
        if candidates.count == 1 && context.contains(candidates[0].dot) {
            candidates[0] = candidate
            return
        }
        candidates.removeAll { context.contains($0.dot) }
        let at = candidates.firstIndex { candidate.dot < $0.dot } ?? candidates.endIndex
        candidates.insert(candidate, at: at)
    }
}
