/// A version vector: for each device, the highest sequence number seen.
///
/// FieldSync uses version vectors in two places. A replica keeps one per report (what it has
/// applied of that report), and every change carries one as its *causal context* (what its
/// author had applied of that report when writing it). Both hold only the devices that wrote
/// the report, never the whole fleet; `protocol/causality.md` explains why that is enough.
///
/// Entries are kept sorted by device, so equal vectors are equal in memory and on the wire.
public struct VersionVector: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The entries, sorted by device, every sequence number at least 1.
    public private(set) var entries: [Entry]

    /// One device's entry.
    public struct Entry: Hashable, Sendable {
        public var device: DeviceID
        public var seq: UInt64
    }

    /// The empty vector: nothing seen.
    public init() { entries = [] }

    /// Creates a vector from a dictionary; zero entries are dropped.
    public init(_ dictionary: [DeviceID: UInt64]) {
        entries = dictionary.filter { $0.value > 0 }.map { Entry(device: $0.key, seq: $0.value) }
            .sorted { $0.device < $1.device }
    }

    /// Whether nothing has been seen.
    public var isEmpty: Bool { entries.isEmpty }

    /// The number of devices with an entry.
    public var count: Int { entries.count }

    /// The devices with an entry, in order.
    public var devices: [DeviceID] { entries.map(\.device) }

    /// The highest sequence seen from `device`, 0 if none.
    public subscript(device: DeviceID) -> UInt64 {
        get {
            if let i = index(of: device) { return entries[i].seq }
            return 0
        }
        set {
            switch (index(of: device), newValue) {
            case (let i?, 0): entries.remove(at: i)
            case (let i?, _): entries[i].seq = newValue
            case (nil, 0): break
            case (nil, _):
                let at = entries.firstIndex { $0.device > device } ?? entries.endIndex
                entries.insert(Entry(device: device, seq: newValue), at: at)
            }
        }
    }

    /// Whether the event `dot` is included: its device's entry is at least its sequence.
    public func contains(_ dot: Dot) -> Bool { self[dot.device] >= dot.seq }

    /// Whether every entry of `other` is included in this vector.
    public func includes(_ other: VersionVector) -> Bool {
        // Both are sorted: walk them together.
        var i = 0
        for e in other.entries {
            while i < entries.count && entries[i].device < e.device { i += 1 }
            guard i < entries.count, entries[i].device == e.device, entries[i].seq >= e.seq else { return false }
        }
        return true
    }

    /// Compares two vectors in causal time.
    public func compare(_ other: VersionVector) -> CausalOrder {
        let mine = includes(other), theirs = other.includes(self)
        switch (mine, theirs) {
        case (true, true): return .equal
        case (true, false): return .after
        case (false, true): return .before
        case (false, false): return .concurrent
        }
    }

    /// Raises each entry to the maximum of both vectors.
    public mutating func merge(_ other: VersionVector) {
        for e in other.entries where self[e.device] < e.seq { self[e.device] = e.seq }
    }

    /// The entry-wise maximum of both vectors.
    public func merging(_ other: VersionVector) -> VersionVector {
        var copy = self
        copy.merge(other)
        return copy
    }

    /// Records that `dot` has been seen (raising the device's entry if lower).
    public mutating func add(_ dot: Dot) {
        if self[dot.device] < dot.seq { self[dot.device] = dot.seq }
    }

    private func index(of device: DeviceID) -> Int? {
        // Small vectors: a linear scan beats hashing.
        if entries.count <= 8 {
            return entries.firstIndex { $0.device == device }
        }
        var lo = 0, hi = entries.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if entries[mid].device < device { lo = mid + 1 } else { hi = mid }
        }
        return lo < entries.count && entries[lo].device == device ? lo : nil
    }

    public var description: String {
        "{" + entries.map { "\($0.device.rawValue):\($0.seq)" }.joined(separator: ",") + "}"
    }

    // Wire form: a JSON object from device id to sequence number.
    public init(from decoder: any Decoder) throws {
        let dict = try decoder.singleValueContainer().decode([String: UInt64].self)
        var result: [DeviceID: UInt64] = [:]
        for (k, v) in dict {
            guard let d = DeviceID(rawValue: k) else {
                throw DecodingError.refused(
                    .invalidContext, "invalid device id '\(k.prefix(80))' in version vector", at: decoder.codingPath)
            }
            guard v > 0 else {
                throw DecodingError.refused(
                    .invalidContext, "version vector entry for '\(k)' must be at least 1", at: decoder.codingPath)
            }
            result[d] = v
        }
        self.init(result)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(Dictionary(uniqueKeysWithValues: entries.map { ($0.device.rawValue, $0.seq) }))
    }
}
