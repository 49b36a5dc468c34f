// swift-tools-version: 6.1
import PackageDescription

// Layering (dependencies point down):
//   binderd, binder (executables: thin mains)
//   BinderBroker (binderd's io_uring event loop, container launcher), Binder (client/service runtime)
//   BinderBrokerCore (the broker's state machine: pure Swift, no I/O)
//   BinderWire (parcels, frames, statuses: pure Swift, no I/O)
//   BinderPlatform (the only module that calls the kernel)
//   CURing (liburing), CBinderShims (GNU calls Swift's Glibc hides)
let package = Package(
    name: "swift-binder",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Binder", targets: ["Binder"]),
        .library(name: "BinderWire", targets: ["BinderWire"]),
        .executable(name: "binderd", targets: ["binderd"]),
        .executable(name: "binder", targets: ["binder"]),
        .executable(name: "binder-init", targets: ["binder-init"]),
        .executable(name: "netd", targets: ["netd"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-atomics", from: "1.2.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.4.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CURing",
            pkgConfig: "liburing",
            providers: [.apt(["liburing-dev"])]
        ),
        .target(name: "CBinderShims"),
        .target(
            name: "BinderPlatform",
            // swift-system: `Errno` names and describes the errors of system calls (SystemError).
            dependencies: ["CURing", "CBinderShims", .product(name: "SystemPackage", package: "swift-system")]
        ),
        .target(name: "BinderWire"),
        // The broker's state machine: routing, objects, flow control, the service manager. It may
        // use nothing that does I/O (no BinderPlatform, Logging or Glibc): every effect goes out
        // through `BrokerOutbox`, which is what lets BinderBrokerTests drive it with no sockets.
        .target(
            name: "BinderBrokerCore",
            dependencies: [
                "BinderWire",
                .product(name: "HeapModule", package: "swift-collections"),
            ],
            // All broker state is owned by the one event-loop thread, so Swift's dynamic exclusivity
            // checks only cost time: measured with callgrind, they were ~27% of the broker's
            // instructions per routed frame. Static (compile-time) checking still applies.
            // -cross-module-optimization: the event loop (another module) calls the core's generic
            // entry points (`handleFrame<O: BrokerOutbox>` ...) with its own outbox type. Without the
            // core's bodies serialized into its module, those calls stay unspecialized, and every
            // outbox call on a routed frame becomes a protocol-witness call; with them, binderd
            // specializes and inlines them as it did when core and loop were one module.
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked", "-cross-module-optimization"])]
        ),
        .target(
            name: "BinderBroker",
            dependencies: [
                "BinderBrokerCore", "BinderWire", "BinderPlatform",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            // As BinderBrokerCore (the same one thread owns everything): also the setting that the
            // core's code inlined into the event loop is compiled with.
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"])]
        ),
        .target(
            name: "Binder",
            dependencies: [
                "BinderWire", "BinderPlatform",
                .product(name: "DequeModule", package: "swift-collections"),
                // UnsafeAtomic: atomics at addresses in memory shared with another process (ChannelRing).
                .product(name: "Atomics", package: "swift-atomics"),
            ]
        ),
        // What the daemons share: --log-level as a Logger.Level, and their logging setup.
        .target(
            name: "DaemonSupport",
            dependencies: [
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "binderd",
            dependencies: [
                "BinderBroker", "BinderBrokerCore", "BinderPlatform", "DaemonSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // PID 1 of every container: reaps orphans, exits on SIGTERM (C, no Swift runtime).
        .executableTarget(name: "binder-init"),
        .executableTarget(
            name: "binder",
            dependencies: [
                "Binder", "BinderWire", "BinderPlatform", "BinderTestTypes", "BinderNet",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // AIDL → Swift (issue 3): the compiler library (pure, no runtime dependency) and its thin CLI;
        // the round-trip test interface (served by `binder test-types serve`); the compiled netd
        // fixture, which exists to prove the generated Swift builds.
        .target(name: "BinderAIDL"),
        .executableTarget(
            name: "binder-aidl",
            dependencies: ["BinderAIDL", "BinderPlatform", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .target(name: "BinderTestTypes", dependencies: ["Binder", "BinderWire"]),
        // netd (issue 7): the service (rtnetlink through BinderPlatform) and its generated INetd,
        // and the thin executable.
        .target(
            name: "BinderNet",
            dependencies: ["Binder", "BinderWire", "BinderPlatform", .product(name: "Logging", package: "swift-log")]
        ),
        .executableTarget(
            name: "netd",
            dependencies: [
                "BinderNet", "Binder", "BinderPlatform", "DaemonSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "NetdFixtureGenerated", dependencies: ["Binder", "BinderWire"], path: "Tests/NetdFixtureGenerated"),
        .testTarget(
            name: "BinderAIDLTests", dependencies: ["BinderAIDL", "NetdFixtureGenerated", "Binder", "BinderWire", "BinderPlatform"],
            exclude: ["Fixtures"]
        ),
        .testTarget(name: "BinderWireTests", dependencies: ["BinderWire"]),
        // The client runtime's pure core, driven with scripted frames (no sockets, no root).
        .testTarget(name: "BinderTests", dependencies: ["Binder", "BinderWire"]),
        .testTarget(name: "BinderPlatformTests", dependencies: ["BinderPlatform"]),
        // The broker core, driven with scripted frames (no sockets, no root).
        .testTarget(name: "BinderBrokerTests", dependencies: ["BinderBrokerCore", "BinderWire", "BinderPlatform"]),
        .testTarget(
            name: "BinderIntegrationTests",
            dependencies: ["Binder", "BinderWire", "BinderPlatform", "BinderTestTypes", "BinderNet", "binderd", "binder", "binder-aidl", "binder-init", "netd"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
