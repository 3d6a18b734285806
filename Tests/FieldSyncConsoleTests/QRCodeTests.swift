import FieldSyncConsole
import Testing

/// The QR encoder's structure for every length it takes (the browser test reads a real code with
/// zbarimg): the smallest version that holds the text, finder patterns in three corners with their
/// separators, timing patterns, and the two copies of the format information equal.
struct QRCodeTests {
    @Test func everyLengthUpToVersionTenEncodesAndLongerIsRefused() {
        // Byte-mode capacity at level M, versions 1...10.
        let capacity = [14, 26, 42, 62, 84, 106, 122, 152, 180, 213]
        for length in 1...213 {
            let text = String(repeating: "fse_", count: 60).prefix(length)
            guard let qr = QRCode(String(text)) else {
                Issue.record("length \(length) refused")
                continue
            }
            let version = capacity.firstIndex { $0 >= length }! + 1
            #expect(qr.size == 17 + 4 * version, "length \(length)")
            let m = qr.modules
            for (x, y) in [(0, 0), (qr.size - 7, 0), (0, qr.size - 7)] {
                #expect(m[y][x] && m[y + 6][x + 6] && !m[y + 1][x + 1] && m[y + 3][x + 3], "finder at \(x),\(y)")
            }
            #expect(!m[7][7] && !m[7][qr.size - 8] && !m[qr.size - 8][7], "separators")
            #expect((8..<(qr.size - 8)).allSatisfy { m[6][$0] == ($0 % 2 == 0) }, "timing")
            let first = (0...5).map { m[$0][8] } + [m[7][8], m[8][8], m[8][7]] + (9..<15).map { m[8][14 - $0] }
            let second = (0..<8).map { m[8][qr.size - 1 - $0] } + (8..<15).map { m[qr.size - 15 + $0][8] }
            #expect(first == second, "format information, length \(length)")
        }
        #expect(QRCode(String(repeating: "x", count: 214)) == nil)
    }
}
