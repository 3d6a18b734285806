/// The identity of one change: the device that wrote it and its position in that device's log.
///
/// Sequence numbers are dense per device and start at 1, so a device's log is `1...n`.
public struct Dot: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// The author device.
    public var device: DeviceID
    /// The position in the author's log, starting at 1.
    public var seq: UInt64

    /// Creates a dot.
    public init(device: DeviceID, seq: UInt64) {
        self.device = device
        self.seq = seq
    }

    /// Orders by device, then sequence: a total order every replica agrees on.
    public static func < (lhs: Dot, rhs: Dot) -> Bool {
        lhs.device == rhs.device ? lhs.seq < rhs.seq : lhs.device < rhs.device
    }

    public var description: String { "\(device.rawValue):\(seq)" }
}
