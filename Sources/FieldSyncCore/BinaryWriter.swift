/// Appends FieldSync's compact binary primitives to a byte buffer: LEB128 varints, zigzag
/// integers, little-endian doubles and length-prefixed UTF-8 strings. `protocol/binary.md`
/// specifies the format.
public struct BinaryWriter: Sendable {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8] = []

    /// An empty writer.
    public init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    /// Appends one byte.
    public mutating func byte(_ b: UInt8) { bytes.append(b) }

    /// Appends an unsigned LEB128 varint.
    public mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    /// Appends a signed integer, zigzag-encoded.
    public mutating func signed(_ value: Int64) {
        varint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    /// Appends a double as its 8 IEEE-754 bytes, little-endian.
    public mutating func double(_ value: Double) {
        var bits = value.bitPattern.littleEndian
        withUnsafeBytes(of: &bits) { bytes.append(contentsOf: $0) }
    }

    /// Appends a string: its UTF-8 length as a varint, then the bytes.
    public mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            varint(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    /// Appends raw bytes with a varint length.
    public mutating func blob(_ data: some Collection<UInt8>) {
        varint(UInt64(data.count))
        bytes.append(contentsOf: data)
    }
}

/// Reads FieldSync's binary primitives from untrusted bytes. Every read is bounds-checked and
/// throws `malformed` instead of trapping.
public struct BinaryReader: ~Copyable {
    private let bytes: UnsafeRawBufferPointer
    /// The read position.
    public private(set) var offset = 0

    /// Reads from `bytes`, which must outlive the reader.
    public init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// Whether every byte has been read.
    public var isAtEnd: Bool { offset == bytes.count }

    /// Bytes left to read.
    public var remaining: Int { bytes.count - offset }

    /// Reads one byte.
    public mutating func byte() throws(FieldSyncError) -> UInt8 {
        guard offset < bytes.count else { throw Self.truncated(offset) }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// Reads an unsigned LEB128 varint (at most 10 bytes).
    public mutating func varint() throws(FieldSyncError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try byte()
            if shift == 63 && b > 1 { throw FieldSyncError(.malformed, "varint at byte \(offset) overflows 64 bits") }
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 {
                // One value, one form: a final zero byte after others would be a longer spelling.
                guard b != 0 || shift == 0 else {
                    throw FieldSyncError(.malformed, "varint ending at byte \(offset) is not in its shortest form")
                }
                return result
            }
            shift += 7
            if shift > 63 { throw FieldSyncError(.malformed, "varint at byte \(offset) is longer than 10 bytes") }
        }
    }

    /// Reads a varint that must fit `limit`.
    public mutating func count(max limit: Int, of what: String) throws(FieldSyncError) -> Int {
        let n = try varint()
        guard n <= UInt64(limit) else {
            throw FieldSyncError(.malformed, "\(what) count \(n) exceeds the limit of \(limit)")
        }
        return Int(n)
    }

    /// Reads a zigzag-encoded signed integer.
    public mutating func signed() throws(FieldSyncError) -> Int64 {
        let u = try varint()
        return Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
    }

    /// Reads an 8-byte little-endian double.
    public mutating func double() throws(FieldSyncError) -> Double {
        guard remaining >= 8 else { throw Self.truncated(offset) }
        var bits: UInt64 = 0
        for i in 0..<8 { bits |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
        offset += 8
        return Double(bitPattern: bits)
    }

    /// Reads a length-prefixed UTF-8 string of at most `maxBytes` bytes.
    public mutating func string(maxBytes: Int = 1 << 20) throws(FieldSyncError) -> String {
        let n = try count(max: maxBytes, of: "string byte")
        guard remaining >= n else { throw Self.truncated(offset) }
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + n])
        guard let s = String(validating: slice.bindMemory(to: UInt8.self), as: UTF8.self) else {
            throw FieldSyncError(.malformed, "string at byte \(offset) is not valid UTF-8")
        }
        offset += n
        return s
    }

    /// Reads length-prefixed raw bytes.
    public mutating func blob(maxBytes: Int = 1 << 20) throws(FieldSyncError) -> [UInt8] {
        let n = try count(max: maxBytes, of: "blob byte")
        guard remaining >= n else { throw Self.truncated(offset) }
        defer { offset += n }
        return Array(bytes[offset..<offset + n])
    }

    static func truncated(_ at: Int) -> FieldSyncError {
        FieldSyncError(.malformed, "input ends early at byte \(at); send the complete message")
    }
}
