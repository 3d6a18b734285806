/// The scorecard's working form: each report in 48 bytes with no references (its service and
/// ward as numbers into `Names`), so that a daemon can keep a large county's year in memory and
/// count it in one pass.
extension Scorecard {
    /// The services and wards entries name, numbered from 1 (0 is none).
    public struct Names: Sendable {
        /// The names by number (index 0 is unused).
        public private(set) var list: [String] = [""]
        private var numbers: [String: UInt32] = [:]

        /// No names yet.
        public init() {}

        /// The number of a name (0 for none), numbering it if new.
        public mutating func number(_ name: String?) -> UInt32 {
            guard let name else { return 0 }
            if let n = numbers[name] { return n }
            let n = UInt32(list.count)
            list.append(name)
            numbers[name] = n
            return n
        }

        /// The name of a number (nil for 0).
        public func name(_ number: UInt32) -> String? { number == 0 ? nil : list[Int(number)] }
    }

    /// One report's figures; times are milliseconds since 1970, `Packed.none` where there is none.
    public struct Packed: Sendable, Hashable, BitwiseCopyable {
        /// No time.
        public static let none = UInt64.max
        /// A key for the report (a 64-bit FNV-1a hash of its id).
        public var key: UInt64
        /// Its service's number in `Names` (0: none).
        public var service: UInt32
        /// Its ward's number in `Names` (0: none).
        public var ward: UInt32
        /// When it was received.
        public var created: UInt64
        /// When it last changed.
        public var updated: UInt64
        /// When it was first acknowledged.
        public var acknowledged: UInt64
        /// When it was first closed.
        public var closed: UInt64
        /// Whether it was set back to a non-closing status after it was first closed.
        public var reopened: Bool
        /// Whether it is open now.
        public var isOpen: Bool

        /// The packed form of an entry, numbering its names in `names`.
        public init(_ e: Entry, names: inout Names) {
            key = Self.key(e.report)
            service = names.number(e.serviceCode)
            ward = names.number(e.ward)
            created = e.createdMillis
            updated = e.updatedMillis
            acknowledged = e.status.acknowledgedMillis ?? Self.none
            closed = e.status.closedMillis ?? Self.none
            reopened = e.status.wasReopened
            isOpen = e.isOpen
        }

        /// The key of a report id.
        public static func key(_ report: ReportID) -> UInt64 {
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for b in report.rawValue.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
            return h
        }
    }
}
