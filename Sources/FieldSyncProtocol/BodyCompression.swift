import CZlib
public import FieldSyncCore
public import Foundation

/// gzip and deflate bodies (RFC 1952 / RFC 1950) through zlib.
public enum BodyCompression: String, Sendable, CaseIterable {
    case gzip
    case deflate

    /// The encoding named by a `Content-Encoding` value (`identity` and empty are `nil`), or an
    /// `unsupported_encoding` error.
    public static func from(contentEncoding value: String?) throws(FieldSyncError) -> BodyCompression? {
        guard let raw = value?.trimmingCharacters(in: .whitespaces).lowercased(), !raw.isEmpty, raw != "identity" else {
            return nil
        }
        guard let e = BodyCompression(rawValue: raw) else {
            throw FieldSyncError(
                .unsupportedEncoding, "Content-Encoding '\(raw.prefix(40))' is not supported; use gzip, deflate or none"
            )
        }
        return e
    }

    /// The preferred encoding an `Accept-Encoding` value allows (gzip first), if any.
    public static func preferred(acceptEncoding value: String?) -> BodyCompression? {
        guard let value = value?.lowercased() else { return nil }
        let offered = value.split(separator: ",").map { part -> (String, Double) in
            let pieces = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            let q = pieces.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
            return (pieces.first ?? "", q)
        }
        for e in [BodyCompression.gzip, .deflate] where offered.contains(where: { $0.0 == e.rawValue && $0.1 > 0 }) {
            return e
        }
        return nil
    }

    private var windowBits: Int32 { self == .gzip ? 15 + 16 : 15 }

    /// Compresses `data` at level 6.
    public func compress(_ data: Data) -> Data {
        var stream = z_stream()
        guard
            deflateInit2_(
                &stream, 6, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
                Int32(MemoryLayout<z_stream>.size)) == Z_OK
        else {
            return Data()
        }
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, uLong(data.count))) + 32
        var out = Data(count: bound)
        var input = data
        let produced: Int = input.withUnsafeMutableBytes { inPtr in
            out.withUnsafeMutableBytes { outPtr in
                stream.next_in = inPtr.bindMemory(to: Bytef.self).baseAddress
                stream.avail_in = uInt(inPtr.count)
                stream.next_out = outPtr.bindMemory(to: Bytef.self).baseAddress
                stream.avail_out = uInt(outPtr.count)
                _ = CZlib.deflate(&stream, Z_FINISH)
                return outPtr.count - Int(stream.avail_out)
            }
        }
        out.count = produced
        return out
    }

    /// Decompresses `data`, refusing output larger than `maxBytes` and truncated or corrupt input.
    public func decompress(_ data: Data, maxBytes: Int) throws(FieldSyncError) -> Data {
        var stream = z_stream()
        guard inflateInit2_(&stream, windowBits, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw FieldSyncError(.internalError, "zlib could not start")
        }
        defer { inflateEnd(&stream) }
        var output = Data()
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var input = data
        var status: Int32 = Z_OK
        var failure: FieldSyncError?
        input.withUnsafeMutableBytes { inPtr in
            stream.next_in = inPtr.bindMemory(to: Bytef.self).baseAddress
            stream.avail_in = uInt(inPtr.count)
            while status == Z_OK {
                status = chunk.withUnsafeMutableBytes { outPtr in
                    stream.next_out = outPtr.bindMemory(to: Bytef.self).baseAddress
                    stream.avail_out = uInt(outPtr.count)
                    return CZlib.inflate(&stream, Z_NO_FLUSH)
                }
                let produced = chunk.count - Int(stream.avail_out)
                if output.count + produced > maxBytes {
                    failure = FieldSyncError(
                        .bodyTooLarge, "the \(rawValue) body expands beyond \(maxBytes) bytes; send smaller batches")
                    return
                }
                output.append(contentsOf: chunk[0..<produced])
                if status == Z_BUF_ERROR && stream.avail_in == 0 { break }
                if status == Z_BUF_ERROR { status = Z_OK }
            }
        }
        if let failure { throw failure }
        guard status == Z_STREAM_END else {
            throw FieldSyncError(
                .malformed,
                "the \(rawValue) body is truncated or corrupt (zlib status \(status)); send the complete compressed body"
            )
        }
        return output
    }
}
