import FieldSyncCore
import Synchronization

/// The newest decoded catalogue of each county, so that Open311 requests and syncs do not decode
/// the stored JSON each time. An entry is used only while the store's newest version is the
/// same, so that a catalogue published through another daemon is seen at once.
final class CatalogueCache: Sendable {
    private let entries = Mutex<[String: ServiceCatalogue]>([:])

    /// The cached catalogue of `county` if it is `version`.
    func get(_ county: String, version: Int) -> ServiceCatalogue? {
        entries.withLock { $0[county].flatMap { $0.version == version ? $0 : nil } }
    }

    /// Keeps a catalogue (bounded: counties are few).
    func put(_ catalogue: ServiceCatalogue) {
        entries.withLock { e in
            if e.count > 1_000 { e.removeAll() }
            e[catalogue.county] = catalogue
        }
    }
}
