import FieldSyncCore
import FieldSyncStore
import FieldSyncTestSupport
import Foundation
import Testing

/// Both engines keep every version of each county's catalogue, numbered from 1 per county, and
/// Open311 client keys by their hash, revocable once.
@Suite struct CatalogueStoreConformanceTests {
    @Test(arguments: StoreKind.available)
    func everyVersionIsKeptAndNumberedPerCounty(kind: StoreKind) async throws {
        let s = try await StoreUnderTest.open(kind)
        #expect(try await s.store.catalogue(county: "kisumu", version: nil) == nil)
        let first = try await s.store.publishCatalogue(county: "kisumu", body: Data("a".utf8), atMillis: 5, by: "admin")
        let second = try await s.store.publishCatalogue(
            county: "kisumu", body: Data("b".utf8), atMillis: 9, by: "shell:x")
        let other = try await s.store.publishCatalogue(county: "nakuru", body: Data("c".utf8), atMillis: 7, by: "admin")
        let numbers: [Int] = [first.version, second.version, other.version]
        #expect(numbers == [1, 2, 1])
        #expect(try await s.store.catalogue(county: "kisumu", version: nil)?.body == Data("b".utf8))
        #expect(try await s.store.catalogue(county: "kisumu", version: 1)?.body == Data("a".utf8))
        #expect(try await s.store.catalogue(county: "kisumu", version: 3) == nil)
        let versions = try await s.store.catalogueVersions(county: "kisumu")
        #expect(versions.map(\.version) == [2, 1] && versions.map(\.by) == ["shell:x", "admin"])
        #expect(versions.map(\.atMillis) == [9, 5] && versions.allSatisfy(\.body.isEmpty))
        await s.finish()
    }

    @Test(arguments: StoreKind.available)
    func open311KeysAreFoundByHashAndRevokedOnce(kind: StoreKind) async throws {
        let s = try await StoreUnderTest.open(kind)
        let record = Open311KeyRecord(id: "k1", name: "FixMyStreet", county: "kisumu", createdMillis: 3)
        try await s.store.createOpen311Key(record, keyHash: Data([1, 2, 3]))
        #expect(try await s.store.open311Key(keyHash: Data([1, 2, 3])) == record)
        #expect(try await s.store.open311Key(keyHash: Data([9])) == nil)
        #expect(try await s.store.revokeOpen311Key("k1", nowMillis: 10))
        #expect(try await s.store.revokeOpen311Key("k1", nowMillis: 20))
        #expect(try await s.store.open311Key(keyHash: Data([1, 2, 3]))?.revokedMillis == 10, "the first time is kept")
        #expect(try await s.store.revokeOpen311Key("nope", nowMillis: 20) == false)
        #expect(try await s.store.open311Keys().map(\.id) == ["k1"])
        await s.finish()
    }
}
