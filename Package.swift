// swift-tools-version: 6.0
import PackageDescription

/// Every target: the upcoming features that make imports explicit (a file sees only the members of
/// the modules it imports; imports are internal unless marked public).
let settings: [SwiftSetting] = [
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "FieldSync",
    platforms: [.macOS(.v15), .iOS(.v18)],
    products: [
        .library(name: "FieldSyncCore", targets: ["FieldSyncCore"]),
        .library(name: "FieldSyncStore", targets: ["FieldSyncStore"]),
        .library(name: "FieldSyncSQLite", targets: ["FieldSyncSQLite"]),
        .executable(name: "fieldsync", targets: ["fieldsync"]),
        .executable(name: "fieldsync-bench", targets: ["fieldsync-bench"]),
        .executable(name: "fieldsyncd", targets: ["fieldsyncd"]),
        .library(name: "FieldSyncClient", targets: ["FieldSyncClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.20.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
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
        .target(name: "FieldSyncCore", swiftSettings: settings),
        // The storage seams, engine-neutral: ServerStore and DeviceStore, records, filters, the
        // ingest plan, stored forms, fault points. No I/O.
        .target(name: "FieldSyncStore", dependencies: ["FieldSyncCore"], swiftSettings: settings),
        // The system SQLite library (libsqlite3-dev).
        .systemLibrary(name: "CSQLite", providers: [.apt(["libsqlite3-dev"]), .brew(["sqlite"])]),
        // The SQLite engine: a device's store, or one daemon's database.
        .target(
            name: "FieldSyncSQLite", dependencies: ["FieldSyncCore", "FieldSyncStore", "CSQLite"],
            swiftSettings: settings),
        // The PostgreSQL engine (postgres-nio), for several daemons behind one database.
        .target(
            name: "FieldSyncPostgres",
            dependencies: [
                "FieldSyncCore", "FieldSyncStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: settings
        ),
        // zlib (zlib1g-dev), for gzip and deflate bodies.
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        // Signatures of changes (Ed25519) and hashing of bearer tokens.
        .target(
            name: "FieldSyncSigning",
            dependencies: ["FieldSyncCore", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: settings),
        // The wire protocol: messages, the body codec seam, compression. No network I/O.
        .target(name: "FieldSyncProtocol", dependencies: ["FieldSyncCore", "CZlib"], swiftSettings: settings),
        // Open311 GeoReport v2: its documents (XML and JSON from one tree), forms, status mapping
        // and the rules for a citizen's request. No I/O.
        .target(name: "FieldSyncOpen311", dependencies: ["FieldSyncCore"], swiftSettings: settings),
        // The operators' console: its pages rendered from the service's answers (HTML escaped by
        // construction), its stylesheet and script. No I/O.
        .target(
            name: "FieldSyncConsole", dependencies: ["FieldSyncCore", "FieldSyncProtocol", "FieldSyncStore"],
            swiftSettings: settings),
        // The daemon: the sync service, its HTTP API, authentication, scopes, metrics.
        .target(
            name: "FieldSyncServer",
            dependencies: [
                "FieldSyncCore", "FieldSyncStore", "FieldSyncSQLite", "FieldSyncProtocol", "FieldSyncSigning",
                "FieldSyncOpen311", "FieldSyncConsole",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: settings
        ),
        // The device side of sync: transports (HTTP via URLSession), the sync loop, peer exchange,
        // record and replay. Works on any DeviceStore.
        .target(
            name: "FieldSyncClient",
            dependencies: ["FieldSyncCore", "FieldSyncStore", "FieldSyncProtocol", "FieldSyncSigning"],
            swiftSettings: settings),
        // Fleet simulation: many devices, offline periods, peers, links, convergence check.
        .target(
            name: "FieldSyncPeerTCP",
            dependencies: [
                "FieldSyncCore", "FieldSyncClient", "FieldSyncProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: settings),
        .target(
            name: "FieldSyncFleet",
            dependencies: [
                "FieldSyncCore", "FieldSyncStore", "FieldSyncSQLite", "FieldSyncClient", "FieldSyncSigning",
                "FieldSyncProtocol", "FieldSyncPeerTCP",
            ],
            swiftSettings: settings),
        .executableTarget(
            name: "fieldsyncd",
            dependencies: [
                "FieldSyncCore", "FieldSyncProtocol", "FieldSyncServer", "FieldSyncStore", "FieldSyncSQLite",
                "FieldSyncSigning", "FieldSyncPostgres", "FieldSyncConsole",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: settings
        ),
        // Seeded workloads shared by the demo, the benchmarks and the tests.
        .target(name: "FieldSyncScenario", dependencies: ["FieldSyncCore"], swiftSettings: settings),
        // The device CLI. It links the server only for the demo and the simulator, which run a
        // county server in process when no --server is given.
        .executableTarget(
            name: "fieldsync",
            dependencies: [
                "FieldSyncCore", "FieldSyncStore", "FieldSyncSQLite", "FieldSyncScenario", "FieldSyncClient",
                "FieldSyncSigning", "FieldSyncProtocol", "FieldSyncServer", "FieldSyncFleet", "FieldSyncPeerTCP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: settings
        ),
        .executableTarget(
            name: "fieldsync-bench",
            dependencies: [
                "FieldSyncCore", "FieldSyncStore", "FieldSyncSQLite", "FieldSyncScenario", "CSQLite",
                "FieldSyncServer", "FieldSyncClient", "FieldSyncSigning", "FieldSyncProtocol", "FieldSyncPostgres",
                "FieldSyncPeerTCP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: settings
        ),
        // What the tests share: temporary directories, both store engines, a server on loopback,
        // raw HTTP and sockets.
        .target(
            name: "FieldSyncTestSupport",
            dependencies: [
                "FieldSyncCore", "FieldSyncStore", "FieldSyncSQLite", "FieldSyncPostgres", "FieldSyncProtocol",
                "FieldSyncSigning", "FieldSyncServer", "FieldSyncClient",
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            path: "Tests/FieldSyncTestSupport",
            swiftSettings: settings
        ),
        .testTarget(
            name: "FieldSyncCoreTests",
            dependencies: [
                "FieldSyncCore", "FieldSyncScenario",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: settings
        ),
        // The storage seams: one conformance suite run against both engines; the ingest plan alone.
        .testTarget(
            name: "FieldSyncStoreTests",
            dependencies: [
                "FieldSyncCore", "FieldSyncStore", "FieldSyncScenario",
                "FieldSyncTestSupport", .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: settings
        ),
        .testTarget(
            name: "FieldSyncSQLiteTests",
            dependencies: [
                "FieldSyncCore", "FieldSyncStore", "FieldSyncSQLite", "FieldSyncScenario", "FieldSyncTestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: settings
        ),
        .testTarget(
            name: "FieldSyncPostgresTests",
            dependencies: ["FieldSyncCore", "FieldSyncPostgres", "FieldSyncTestSupport"],
            swiftSettings: settings
        ),
        .testTarget(
            name: "FieldSyncProtocolTests",
            dependencies: ["FieldSyncCore", "FieldSyncProtocol"],
            swiftSettings: settings
        ),
        .testTarget(
            name: "FieldSyncConsoleTests",
            dependencies: ["FieldSyncCore", "FieldSyncProtocol", "FieldSyncStore", "FieldSyncConsole"],
            swiftSettings: settings
        ),
        .testTarget(
            name: "FieldSyncOpen311Tests",
            dependencies: ["FieldSyncCore", "FieldSyncOpen311"],
            swiftSettings: settings
        ),
        .testTarget(
            name: "FieldSyncSigningTests",
            dependencies: ["FieldSyncCore", "FieldSyncSigning"],
            swiftSettings: settings
        ),
        .testTarget(
            name: "FieldSyncClientTests",
            dependencies: [
                "FieldSyncCore", "FieldSyncScenario", "FieldSyncStore", "FieldSyncSQLite", "FieldSyncProtocol",
                "FieldSyncSigning",
                "FieldSyncClient", "FieldSyncServer", "FieldSyncTestSupport",
            ],
            swiftSettings: settings
        ),
        .testTarget(
            name: "FieldSyncFleetTests",
            dependencies: [
                "FieldSyncCore", "FieldSyncFleet", "FieldSyncClient",
                "FieldSyncTestSupport",
            ],
            swiftSettings: settings
        ),
        .testTarget(
            name: "FieldSyncServerTests",
            dependencies: [
                "FieldSyncCore", "FieldSyncScenario", "FieldSyncStore", "FieldSyncSQLite", "FieldSyncProtocol",
                "FieldSyncSigning",
                "FieldSyncServer", "FieldSyncClient", "FieldSyncTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: settings
        ),
        // The command-line tools and daemons as processes: the built fieldsync and fieldsyncd.
        .testTarget(
            name: "FieldSyncCLITests",
            dependencies: [
                "FieldSyncCore", "FieldSyncSigning", "FieldSyncStore", "FieldSyncSQLite", "FieldSyncProtocol",
                "FieldSyncServer", "FieldSyncClient", "FieldSyncFleet", "FieldSyncTestSupport",
            ],
            swiftSettings: settings
        ),
        .testTarget(
            name: "FieldSyncDaemonTests",
            dependencies: [
                "FieldSyncCore", "FieldSyncStore", "FieldSyncSQLite", "FieldSyncProtocol", "FieldSyncSigning",
                "FieldSyncClient", "FieldSyncTestSupport",
            ],
            swiftSettings: settings
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
            dependencies: ["FieldSyncCore", "FieldSyncProtocol", "FieldSyncClient", "FieldSyncOpen311"],
            swiftSettings: settings + [.unsafeFlags(["-parse-as-library"])]
        ))
}
