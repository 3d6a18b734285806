import Foundation

/// The wall clock in milliseconds since the Unix epoch.
func wallMillis() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }
