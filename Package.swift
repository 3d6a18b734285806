// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "FieldSync",
    platforms: [.macOS(.v15), .iOS(.v18)],
    products: [
        .library(name: "FieldSyncCore", targets: ["FieldSyncCore"]),
        .library(name: "FieldSyncStore", targets: ["FieldSyncStore"]),
        .executable(name: "fieldsync", targets: ["fieldsync"]),
        .executable(name: "fieldsync-bench", targets: ["fieldsync-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.0"),
    ],
    targets: [
        // The sync core: model, clocks, merge. No I/O, Foundation only, builds for iOS.
        .target(name: "FieldSyncCore"),
        // The system SQLite library (libsqlite3-dev).
        .systemLibrary(name: "CSQLite", providers: [.apt(["libsqlite3-dev"]), .brew(["sqlite"])]),
        // Durable storage of logs, materialized reports and conflicts on SQLite.
        .target(name: "FieldSyncStore", dependencies: ["FieldSyncCore", "CSQLite"]),
        // Seeded workloads shared by the demo, the benchmarks and the tests.
        .target(name: "FieldSyncScenario", dependencies: ["FieldSyncCore"]),
        .executableTarget(
            name: "fieldsync",
            dependencies: [
                "FieldSyncCore", "FieldSyncStore", "FieldSyncScenario",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "fieldsync-bench",
            dependencies: [
                "FieldSyncCore", "FieldSyncStore", "FieldSyncScenario", "CSQLite",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "FieldSyncCoreTests",
            dependencies: [
                "FieldSyncCore", "FieldSyncScenario",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(
            name: "FieldSyncStoreTests",
            dependencies: [
                "FieldSyncCore", "FieldSyncStore", "FieldSyncScenario",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
