import Foundation

/// The device's wall clock, in milliseconds since the epoch (0 before it).
enum WallClock {
    static func millis() -> UInt64 { UInt64(max(0, Date().timeIntervalSince1970 * 1000)) }
}
