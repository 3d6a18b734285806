import FieldSyncCore
import FieldSyncSigning
import FieldSyncStore
import FieldSyncTestSupport
import Foundation
import Testing

/// The media store's behaviour, the same on both engines (files beside SQLite, PostgreSQL).
@Suite(.serialized) struct BlobStoreConformanceTests {
    static func record(
        _ bytes: Data, id: String = "up-\(UUID().uuidString.prefix(8))", expires: UInt64 = .max / 2
    )
        -> UploadRecord
    {
        UploadRecord(
            id: id, sha256: Digest.sha256Hex(bytes), length: UInt64(bytes.count), device: "tab-1", county: "kisumu",
            contentType: "image/jpeg", createdMillis: 1, expiresMillis: expires)
    }

    static func bytes(_ n: Int, seed: UInt64 = 1) -> Data {
        var rng = SplitMix64(seed: seed)
        return Data((0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
    }

    @Test(arguments: StoreKind.available)
    func piecesAppendAtTheOffsetAndCommitIntoOneBlob(kind: StoreKind) async throws {
        let s = try await StoreUnderTest.open(kind)
        let blobs = try s.blobs()
        let file = Self.bytes(300_000)
        let up = Self.record(file)
        try await blobs.createUpload(up)
        #expect(try await blobs.upload(up.id)?.offset == 0)
        var at: UInt64 = 0
        for size in [1, 65_536, 100_000, 134_463] {
            let piece = file[Int(at)..<Int(at) + size]
            at = try await blobs.append(up.id, at: at, Data(piece))
        }
        #expect(at == UInt64(file.count))
        // Another handle (another daemon, or the daemon after a restart) sees the same offset.
        #expect(try await s.blobs().upload(up.id)?.offset == UInt64(file.count))
        #expect(try await blobs.readUpload(up.id, offset: 65_537, length: 10) == file[65_537..<65_547])
        let info = try await blobs.commitUpload(up.id)
        #expect(info == BlobInfo(sha256: up.sha256, size: UInt64(file.count)))
        #expect(try await blobs.upload(up.id) == nil, "a committed upload is gone")
        #expect(try await blobs.read(up.sha256, offset: 0, length: file.count + 10) == file)
        #expect(try await blobs.read(up.sha256, offset: 299_990, length: 100) == file[299_990...])
        #expect(try await blobs.read(up.sha256, offset: 65_000, length: 2_000) == file[65_000..<67_000])
        await s.finish()
    }

    @Test(arguments: StoreKind.available)
    func aWrongOffsetOrAPiecePastTheEndWritesNothing(kind: StoreKind) async throws {
        let s = try await StoreUnderTest.open(kind)
        let blobs = try s.blobs()
        let file = Self.bytes(1_000, seed: 2)
        let up = Self.record(file)
        try await blobs.createUpload(up)
        _ = try await blobs.append(up.id, at: 0, file.prefix(400))
        for (offset, piece) in [(UInt64(0), file.prefix(10)), (500, file.suffix(10)), (400, file + file)] {
            await #expect(throws: FieldSyncError.self) { try await blobs.append(up.id, at: offset, Data(piece)) }
        }
        #expect(try await blobs.upload(up.id)?.offset == 400)
        do {
            _ = try await blobs.append(up.id, at: 0, Data(file.prefix(10)))
        } catch { #expect(error.code == .uploadConflict) }
        await #expect(throws: FieldSyncError.self) { try await blobs.commitUpload(up.id) }
        await s.finish()
    }

    @Test(arguments: StoreKind.available)
    func aBlobIsStoredOnceAndPartialsAreDeletedOrCollected(kind: StoreKind) async throws {
        let s = try await StoreUnderTest.open(kind)
        let blobs = try s.blobs()
        let file = Self.bytes(5_000, seed: 3)
        for _ in 0..<2 {
            let up = Self.record(file)
            try await blobs.createUpload(up)
            _ = try await blobs.append(up.id, at: 0, file)
            #expect(try await blobs.commitUpload(up.id).size == 5_000)
        }
        #expect(try await blobs.read(Digest.sha256Hex(file), offset: 0, length: 10_000) == file)
        let stale = Self.record(Self.bytes(10, seed: 4), expires: 1_000)
        let fresh = Self.record(Self.bytes(10, seed: 5), expires: 5_000)
        let dropped = Self.record(Self.bytes(10, seed: 6))
        for r in [stale, fresh, dropped] { try await blobs.createUpload(r) }
        #expect(try await blobs.uploads(device: "tab-1").count == 3)
        try await blobs.deleteUpload(dropped.id)
        try await blobs.deleteUpload(dropped.id)
        #expect(try await blobs.collectExpired(nowMillis: 2_000) == 1)
        #expect(try await blobs.uploads(device: "tab-1").map(\.id) == [fresh.id])
        #expect(try await blobs.uploads(device: "tab-2").isEmpty)
        await s.finish()
    }

    @Test(arguments: StoreKind.available)
    func aPurgedBlobKeepsItsReasonAndLosesItsBytes(kind: StoreKind) async throws {
        let s = try await StoreUnderTest.open(kind)
        let blobs = try s.blobs()
        let file = Self.bytes(2_000, seed: 7)
        let up = Self.record(file)
        try await blobs.createUpload(up)
        _ = try await blobs.append(up.id, at: 0, file)
        _ = try await blobs.commitUpload(up.id)
        try await blobs.purge(up.sha256, size: 1, reason: "a face in the photo", nowMillis: 9)
        let purged = try await blobs.blob(up.sha256)
        #expect(purged?.purgedReason == "a face in the photo" && purged?.purgedMillis == 9 && purged?.size == 2_000)
        #expect((try? await blobs.read(up.sha256, offset: 0, length: 100)) ?? Data() == Data())
        try await blobs.purge(up.sha256, size: 1, reason: "a face and a name", nowMillis: 50)
        #expect(try await blobs.blob(up.sha256)?.purgedMillis == 9, "a second purge keeps the first one's time")
        #expect(try await blobs.blob(up.sha256)?.purgedReason == "a face and a name")
        await s.finish()
    }

    @Test(arguments: StoreKind.available)
    func aFileNeverStoredIsPurgedWithItsPartialUploadsAndPurgesListInOrder(kind: StoreKind) async throws {
        let s = try await StoreUnderTest.open(kind)
        let blobs = try s.blobs()
        let files = (0..<3).map { Self.bytes(500 + $0, seed: UInt64(20 + $0)) }
        let partial = Self.record(files[0])
        try await blobs.createUpload(partial)
        _ = try await blobs.append(partial.id, at: 0, files[0].prefix(100))
        try await blobs.purge(partial.sha256, size: 500, reason: "never uploaded", nowMillis: 30)
        #expect(try await blobs.blob(partial.sha256)?.purgedReason == "never uploaded")
        #expect(try await blobs.upload(partial.id) == nil, "the partial upload of a purged file is gone")
        let shas = files.map { Self.record($0).sha256 }
        try await blobs.purge(shas[2], size: 502, reason: "b", nowMillis: 10)
        try await blobs.purge(shas[1], size: 501, reason: "c", nowMillis: 30)
        let all = try await blobs.purges(after: nil, limit: 10)
        let expected =
            [PurgeMark(sha256: shas[2], atMillis: 10)]
            + [shas[0], shas[1]].sorted().map { PurgeMark(sha256: $0, atMillis: 30) }
        #expect(all == expected, "by time, then by hash")
        #expect(try await blobs.purges(after: all[0], limit: 1) == [all[1]])
        #expect(try await blobs.purges(after: all[2], limit: 10).isEmpty)
        #expect(PurgeMark(cursor: all[1].cursor) == all[1])
        for bad in ["", "12", "x.\(shas[0])", "1.\(shas[0])x", "99999999999999999999.\(shas[0])"] {
            #expect(PurgeMark(cursor: bad) == nil, "\(bad) is not a cursor")
        }
        await s.finish()
    }
}
