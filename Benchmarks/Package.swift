// swift-tools-version: 6.1
import PackageDescription

// Micro-benchmarks (ordo-one/package-benchmark). A separate package on purpose: the main package,
// `swift build`/`swift test` and CI never resolve or compile the benchmark framework.
//
//   cd Benchmarks && swift package --disable-sandbox benchmark --target ParcelCoding
//
// The repository was renamed from package-benchmark to benchmark; the old URL/identity still
// resolves but makes `swift package benchmark` print a deprecation warning on every run.
// Only the `MallocInterposer` trait is enabled (it counts mallocs without jemalloc); naming the
// traits explicitly also turns off the default `RuntimeInterposer` trait, whose extra dependency
// is not needed for these metrics.
let package = Package(
    name: "swift-binder-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "swift-binder", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.0", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "ParcelCoding",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "BinderWire", package: "swift-binder"),
            ],
            path: "Benchmarks/ParcelCoding",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
