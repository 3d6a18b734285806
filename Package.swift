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
        .executable(name: "fieldsyncd", targets: ["fieldsyncd"]),
        .library(name: "FieldSyncClient", targets: ["FieldSyncClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.20.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.1.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.25.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.25.0"),
    ],
    targets: [
        // The sync core: model, clocks, merge. No I/O, Foundation only, builds for iOS.
        .target(name: "FieldSyncCore"),
        // The system SQLite library (libsqlite3-dev).
        .systemLibrary(name: "CSQLite", providers: [.apt(["libsqlite3-dev"]), .brew(["sqlite"])]),
        // Durable storage of logs, materialized reports and conflicts on SQLite.
        .target(name: "FieldSyncStore", dependencies: ["FieldSyncCore", "CSQLite"]),
        // The same storage on PostgreSQL (postgres-nio), for several daemons behind one database.
        .target(
            name: "FieldSyncPostgres",
            dependencies: [
                "FieldSyncCore", "FieldSyncStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // zlib (zlib1g-dev), for gzip and deflate bodies.
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        // Signatures of changes (Ed25519) and hashing of bearer tokens.
        .target(
            name: "FieldSyncSigning",
            dependencies: ["FieldSyncCore", .product(name: "Crypto", package: "swift-crypto")]),
        // The wire protocol: messages, the body codec seam, compression. No network I/O.
        .target(name: "FieldSyncProtocol", dependencies: ["FieldSyncCore", "CZlib"]),
        // The daemon: HTTP API, authentication, scopes, metrics.
        .target(
            name: "FieldSyncServer",
            dependencies: [
                "FieldSyncCore", "FieldSyncStore", "FieldSyncProtocol", "FieldSyncSigning",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // The device side of sync: transports (HTTP via URLSession) and the sync loop.
        .target(
            name: "FieldSyncClient",
            dependencies: ["FieldSyncCore", "FieldSyncStore", "FieldSyncProtocol", "FieldSyncSigning"]),
        // Fleet simulation: many devices, offline periods, peers, links, convergence check.
        .target(
            name: "FieldSyncFleet",
            dependencies: [
                "FieldSyncCore", "FieldSyncStore", "FieldSyncClient", "FieldSyncSigning", "FieldSyncProtocol",
            ]),
        .executableTarget(
            name: "fieldsyncd",
            dependencies: [
                "FieldSyncServer", "FieldSyncStore", "FieldSyncSigning", "FieldSyncPostgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Seeded workloads shared by the demo, the benchmarks and the tests.
        .target(name: "FieldSyncScenario", dependencies: ["FieldSyncCore"]),
        .executableTarget(
            name: "fieldsync",
            dependencies: [
                "FieldSyncCore", "FieldSyncStore", "FieldSyncScenario", "FieldSyncClient", "FieldSyncSigning",
                "FieldSyncProtocol", "FieldSyncServer", "FieldSyncFleet",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "fieldsync-bench",
            dependencies: [
                "FieldSyncCore", "FieldSyncStore", "FieldSyncScenario", "CSQLite",
                "FieldSyncServer", "FieldSyncClient", "FieldSyncSigning", "FieldSyncProtocol",
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
            name: "FieldSyncServerTests",
            dependencies: [
                "FieldSyncCore", "FieldSyncStore", "FieldSyncProtocol", "FieldSyncSigning", "FieldSyncServer",
                "FieldSyncClient", "FieldSyncScenario", "FieldSyncFleet",
            ]
        ),
        .testTarget(
            name: "FieldSyncStoreTests",
            dependencies: [
                "FieldSyncCore", "FieldSyncStore", "FieldSyncScenario", "FieldSyncPostgres",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

// Fuzz targets for every decoder of untrusted bytes (scripts/fuzz). Built only with
// FIELDSYNC_FUZZ=1 and `-sanitize=fuzzer`, which supplies main(); absent from normal builds.
if Context.environment["FIELDSYNC_FUZZ"] == "1" {
    package.products.append(.executable(name: "fieldsync-fuzz", targets: ["fieldsync-fuzz"]))
    package.targets.append(
        .executableTarget(
            name: "fieldsync-fuzz",
            dependencies: ["FieldSyncCore", "FieldSyncProtocol", "FieldSyncClient"],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ))
}
