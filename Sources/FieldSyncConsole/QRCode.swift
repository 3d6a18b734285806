/// A QR code (ISO/IEC 18004) of a short text, for a phone to scan an enrollment token: byte mode,
/// error correction level M, versions 1–10 (up to 213 bytes), the mask with the lowest penalty
/// (rules 1, 2 and 4 of the standard). Written after Project Nayuki's reference implementation.
public struct QRCode: Sendable {
    /// Modules per side.
    public let size: Int
    /// The dark modules, row by row.
    public private(set) var modules: [[Bool]]
    private var isFunction: [[Bool]]
    private let version: Int

    // Level M, versions 1...10: error-correction codewords per block, and blocks.
    private static let eccPerBlock = [0, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26]
    private static let blocks = [0, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5]

    /// The code of `text`, or nil if it is longer than version 10 holds.
    public init?(_ text: String) {
        let data = Array(text.utf8)
        guard
            let version = (1...10).first(where: {
                Self.dataCodewords($0) * 8 >= 4 + Self.countBits($0) + data.count * 8
            })
        else { return nil }
        self.version = version
        size = version * 4 + 17
        modules = Array(repeating: Array(repeating: false, count: size), count: size)
        isFunction = modules
        drawFunctionPatterns()
        drawCodewords(Self.interleave(Self.codewords(data, version: version), version: version))
        var best = 0
        var lowest = Int.max
        for mask in 0..<8 {
            applyMask(mask)
            drawFormatBits(mask)
            let p = penalty()
            if p < lowest { (best, lowest) = (mask, p) }
            applyMask(mask)  // undo (XOR)
        }
        applyMask(best)
        drawFormatBits(best)
    }

    // MARK: Data

    static func countBits(_ version: Int) -> Int { version < 10 ? 8 : 16 }

    static func rawCodewords(_ v: Int) -> Int {
        var result = (16 * v + 128) * v + 64
        if v >= 2 {
            let align = v / 7 + 2
            result -= (25 * align - 10) * align - 55
            if v >= 7 { result -= 36 }
        }
        return result / 8
    }

    static func dataCodewords(_ v: Int) -> Int { rawCodewords(v) - eccPerBlock[v] * blocks[v] }

    /// Mode, count, bytes, terminator and padding, as codewords.
    static func codewords(_ data: [UInt8], version: Int) -> [UInt8] {
        var bits: [Bool] = []
        func append(_ value: Int, _ count: Int) {
            for i in stride(from: count - 1, through: 0, by: -1) { bits.append((value >> i) & 1 == 1) }
        }
        append(0b0100, 4)
        append(data.count, countBits(version))
        for b in data { append(Int(b), 8) }
        let capacity = dataCodewords(version) * 8
        append(0, min(4, capacity - bits.count))
        append(0, (8 - bits.count % 8) % 8)
        var pad: UInt8 = 0xEC
        while bits.count < capacity {
            append(Int(pad), 8)
            pad ^= 0xEC ^ 0x11
        }
        return stride(from: 0, to: bits.count, by: 8).map { i in
            bits[i..<i + 8].reduce(UInt8(0)) { $0 << 1 | ($1 ? 1 : 0) }
        }
    }

    /// Splits into blocks, adds each block's Reed–Solomon codewords, and interleaves.
    static func interleave(_ data: [UInt8], version: Int) -> [UInt8] {
        let count = blocks[version]
        let ecc = eccPerBlock[version]
        let raw = rawCodewords(version)
        let shortBlocks = count - raw % count
        let shortLength = raw / count
        let divisor = rsDivisor(ecc)
        var all: [[UInt8]] = []
        var k = 0
        for i in 0..<count {
            let length = shortLength - ecc + (i < shortBlocks ? 0 : 1)
            var block = Array(data[k..<k + length])
            k += length
            let remainder = rsRemainder(block, divisor)
            if i < shortBlocks { block.append(0) }
            all.append(block + remainder)
        }
        var result: [UInt8] = []
        for i in 0..<all[0].count {
            for (j, block) in all.enumerated() where i != shortLength - ecc || j >= shortBlocks {
                result.append(block[i])
            }
        }
        return result
    }

    static func multiply(_ x: UInt8, _ y: UInt8) -> UInt8 {
        var z = 0
        for i in stride(from: 7, through: 0, by: -1) {
            z = (z << 1) ^ ((z >> 7) * 0x11D)
            z ^= ((Int(y) >> i) & 1) * Int(x)
        }
        return UInt8(z & 0xFF)
    }

    static func rsDivisor(_ degree: Int) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: degree)
        result[degree - 1] = 1
        var root: UInt8 = 1
        for _ in 0..<degree {
            for j in 0..<degree {
                result[j] = multiply(result[j], root)
                if j + 1 < degree { result[j] ^= result[j + 1] }
            }
            root = multiply(root, 0x02)
        }
        return result
    }

    static func rsRemainder(_ data: [UInt8], _ divisor: [UInt8]) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: divisor.count)
        for b in data {
            let factor = b ^ result.removeFirst()
            result.append(0)
            for i in result.indices { result[i] ^= multiply(divisor[i], factor) }
        }
        return result
    }

    // MARK: Drawing

    private mutating func set(_ x: Int, _ y: Int, _ dark: Bool) {
        modules[y][x] = dark
        isFunction[y][x] = true
    }

    private mutating func drawFunctionPatterns() {
        for i in 0..<size {
            set(6, i, i % 2 == 0)
            set(i, 6, i % 2 == 0)
        }
        for (x, y) in [(3, 3), (size - 4, 3), (3, size - 4)] { drawFinder(x, y) }
        let positions = alignmentPositions()
        for (i, a) in positions.enumerated() {
            for (j, b) in positions.enumerated() {
                let corner =
                    (i == 0 && j == 0) || (i == 0 && j == positions.count - 1) || (i == positions.count - 1 && j == 0)
                if !corner { drawAlignment(a, b) }
            }
        }
        drawFormatBits(0)  // reserves the areas; drawn again with the mask chosen
        drawVersion()
    }

    private mutating func drawFinder(_ x: Int, _ y: Int) {
        for dy in -4...4 {
            for dx in -4...4 {
                let d = max(abs(dx), abs(dy))
                let (xx, yy) = (x + dx, y + dy)
                if (0..<size).contains(xx), (0..<size).contains(yy) { set(xx, yy, d != 2 && d != 4) }
            }
        }
    }

    private mutating func drawAlignment(_ x: Int, _ y: Int) {
        for dy in -2...2 { for dx in -2...2 { set(x + dx, y + dy, max(abs(dx), abs(dy)) != 1) } }
    }

    private func alignmentPositions() -> [Int] {
        guard version > 1 else { return [] }
        let count = version / 7 + 2
        let step = (version * 8 + count * 3 + 5) / (count * 4 - 4) * 2
        var result = [6]
        for i in 0..<(count - 1) { result.insert(size - 7 - i * step, at: 1) }
        return result
    }

    private mutating func drawFormatBits(_ mask: Int) {
        let data = (0b00 << 3) | mask  // level M
        var rem = data
        for _ in 0..<10 { rem = (rem << 1) ^ ((rem >> 9) * 0x537) }
        let bits = ((data << 10) | rem) ^ 0x5412
        func bit(_ i: Int) -> Bool { (bits >> i) & 1 == 1 }
        for i in 0...5 { set(8, i, bit(i)) }
        set(8, 7, bit(6))
        set(8, 8, bit(7))
        set(7, 8, bit(8))
        for i in 9..<15 { set(14 - i, 8, bit(i)) }
        for i in 0..<8 { set(size - 1 - i, 8, bit(i)) }
        for i in 8..<15 { set(8, size - 15 + i, bit(i)) }
        set(8, size - 8, true)
    }

    private mutating func drawVersion() {
        guard version >= 7 else { return }
        var rem = version
        for _ in 0..<12 { rem = (rem << 1) ^ ((rem >> 11) * 0x1F25) }
        let bits = (version << 12) | rem
        for i in 0..<18 {
            let dark = (bits >> i) & 1 == 1
            let (a, b) = (size - 11 + i % 3, i / 3)
            set(a, b, dark)
            set(b, a, dark)
        }
    }

    private mutating func drawCodewords(_ data: [UInt8]) {
        var i = 0
        var right = size - 1
        while right >= 1 {
            if right == 6 { right = 5 }
            for vert in 0..<size {
                for j in 0..<2 {
                    let x = right - j
                    let upward = (right + 1) & 2 == 0
                    let y = upward ? size - 1 - vert : vert
                    if !isFunction[y][x], i < data.count * 8 {
                        modules[y][x] = (data[i >> 3] >> (7 - (i & 7))) & 1 == 1
                        i += 1
                    }
                }
            }
            right -= 2
        }
    }

    private mutating func applyMask(_ mask: Int) {
        for y in 0..<size {
            for x in 0..<size where !isFunction[y][x] {
                let invert: Bool
                switch mask {
                case 0: invert = (x + y) % 2 == 0
                case 1: invert = y % 2 == 0
                case 2: invert = x % 3 == 0
                case 3: invert = (x + y) % 3 == 0
                case 4: invert = (x / 3 + y / 2) % 2 == 0
                case 5: invert = x * y % 2 + x * y % 3 == 0
                case 6: invert = (x * y % 2 + x * y % 3) % 2 == 0
                default: invert = ((x + y) % 2 + x * y % 3) % 2 == 0
                }
                if invert { modules[y][x].toggle() }
            }
        }
    }

    /// Rules 1 (runs of five or more), 2 (2×2 blocks) and 4 (balance of dark modules).
    private func penalty() -> Int {
        var result = 0
        for horizontal in [true, false] {
            for a in 0..<size {
                var run = 1
                for b in 1..<size {
                    let (p, q) = horizontal ? (modules[a][b], modules[a][b - 1]) : (modules[b][a], modules[b - 1][a])
                    if p == q {
                        run += 1
                        if run == 5 { result += 3 } else if run > 5 { result += 1 }
                    } else {
                        run = 1
                    }
                }
            }
        }
        for y in 0..<(size - 1) {
            for x in 0..<(size - 1) {
                let c = modules[y][x]
                if c == modules[y][x + 1] && c == modules[y + 1][x] && c == modules[y + 1][x + 1] { result += 3 }
            }
        }
        let dark = modules.reduce(0) { $0 + $1.filter { $0 }.count }
        let total = size * size
        result += ((abs(dark * 20 - total * 10) + total - 1) / total - 1) * 10
        return result
    }

    /// The code as an SVG (4 modules of quiet zone), `label` its text alternative.
    func svg(_ w: inout HTMLWriter, label: String, pixels: Int = 4) {
        let side = size + 8
        w.element(
            "svg",
            [
                "role": "img", "aria-label": label, "viewBox": "0 0 \(side) \(side)", "width": "\(side * pixels)",
                "height": "\(side * pixels)", "xmlns": "http://www.w3.org/2000/svg", "class": "qr",
            ]
        ) { w in
            w.element("rect", ["x": "0", "y": "0", "width": "\(side)", "height": "\(side)", "class": "qr-light"])
            var path = ""
            for y in 0..<size {
                for x in 0..<size where modules[y][x] { path += "M\(x + 4) \(y + 4)h1v1h-1z" }
            }
            w.element("path", ["d": path, "class": "qr-dark"])
        }
    }
}
