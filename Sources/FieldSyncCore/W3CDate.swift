/// W3C date-times (ISO 8601 profile) as Open311 writes them, read and written without
/// Foundation's formatters: `2026-11-29`, `2026-11-29T18:21`, `2026-11-29T18:21:10.5+03:00`.
/// Times are milliseconds since 1970 (UTC); a date alone is its midnight in UTC.
public enum W3CDate {
    /// Parses a date or date-time; a time needs a zone (`Z` or `±hh:mm`). Nil if malformed or
    /// outside the years 1970 to 9999.
    public static func parse(_ text: String) -> Int64? {
        let b = Array(text.utf8)
        guard b.count >= 10, b.count <= 40, b[4] == 45, b[7] == 45,
            let y = number(b, 0, 4), let m = number(b, 5, 2), let d = number(b, 8, 2),
            (1970...9999).contains(y), (1...12).contains(m), (1...daysIn(m, y)).contains(d)
        else { return nil }
        var millis = days(y, m, d) * 86_400_000
        if b.count == 10 { return millis }
        guard b[10] == 84 || b[10] == 116 || b[10] == 32, b.count >= 17, b[13] == 58,
            let h = number(b, 11, 2), let mi = number(b, 14, 2), h < 24, mi < 60
        else { return nil }
        millis += (h * 3_600 + mi * 60) * 1_000
        var i = 16
        if i < b.count, b[i] == 58 {
            guard let s = number(b, i + 1, 2), s < 61 else { return nil }
            millis += s * 1_000
            i += 3
            if i < b.count, b[i] == 46 {
                var scale: Int64 = 100
                i += 1
                let start = i
                while i < b.count, (48...57).contains(b[i]) {
                    millis += Int64(b[i] - 48) * scale
                    scale /= 10
                    i += 1
                }
                guard i > start else { return nil }
            }
        }
        guard let offset = zone(b, from: i) else { return nil }
        return millis - offset * 60_000
    }

    /// Writes a time as `YYYY-MM-DDThh:mm:ss±hh:mm` (`Z` for UTC) in the zone `offsetMinutes`.
    public static func format(_ millis: Int64, offsetMinutes: Int = 0) -> String {
        let local = millis / 1_000 + Int64(offsetMinutes) * 60
        let (y, m, d) = civil(local >= 0 ? local / 86_400 : (local - 86_399) / 86_400)
        let secs = ((local % 86_400) + 86_400) % 86_400
        var out =
            "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(secs / 3_600, 2)):\(pad(secs / 60 % 60, 2)):\(pad(secs % 60, 2))"
        if offsetMinutes == 0 {
            out += "Z"
        } else {
            let o = Int64(abs(offsetMinutes))
            out += "\(offsetMinutes < 0 ? "-" : "+")\(pad(o / 60, 2)):\(pad(o % 60, 2))"
        }
        return out
    }

    static func zone(_ b: [UInt8], from i: Int) -> Int64? {
        guard i < b.count else { return nil }
        if b[i] == 90 || b[i] == 122 { return i + 1 == b.count ? 0 : nil }
        // A `+` sent unescaped in a query string arrives as a space.
        guard b[i] == 43 || b[i] == 45 || b[i] == 32, b.count == i + 6, b[i + 3] == 58,
            let h = number(b, i + 1, 2), let m = number(b, i + 4, 2), h < 24, m < 60
        else { return nil }
        return (b[i] == 45 ? -1 : 1) * (h * 60 + m)
    }

    static func number(_ b: [UInt8], _ at: Int, _ count: Int) -> Int64? {
        guard at + count <= b.count else { return nil }
        var n: Int64 = 0
        for c in b[at..<(at + count)] {
            guard (48...57).contains(c) else { return nil }
            n = n * 10 + Int64(c - 48)
        }
        return n
    }

    static func daysIn(_ m: Int64, _ y: Int64) -> Int64 {
        switch m {
        case 2: return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a civil date (H. Hinnant's algorithm).
    static func days(_ y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The civil date of a day since 1970-01-01.
    static func civil(_ z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    static func pad(_ n: Int64, _ width: Int) -> String {
        let s = String(n)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }
}
