// swift-tools-version:6.0
import PackageDescription

// The kernels are built for Haswell-class x86 (AVX2, FMA, F16C): without it
// `addProduct` lowers to calls to `fmaf` and Float16 arithmetic is emulated.
#if arch(x86_64)
let cpuFlags = ["-target-cpu", "haswell"]
#else
let cpuFlags: [String] = []
#endif

// The AVX-512 microkernel's module is built for skylake-avx512 (AVX-512F, VL, BW, DQ) and only called after a
// runtime check of the CPU (DeformConv's CPUFeatures).
#if arch(x86_64)
let avx512Flags = ["-target-cpu", "skylake-avx512"]
#else
let avx512Flags: [String] = []
#endif

// The C intrinsics module: AVX2, as the Swift kernels' haswell target (without it, scalar loops only);
// -O3 in debug builds too, which the tests and the sanitizer runs use.
#if arch(x86_64)
let intrinsicsFlags = ["-mavx2", "-O3"]
#else
let intrinsicsFlags = ["-O3"]
#endif

let kernelSettings: [SwiftSetting] = [
    .unsafeFlags(cpuFlags),
    .unsafeFlags(["-Ounchecked", "-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let harnessSettings: [SwiftSetting] = [.unsafeFlags(cpuFlags)]

let package = Package(
    name: "dcn",
    products: [
        .library(name: "DeformConv", targets: ["DeformConv"]),
        .library(name: "Conformance", targets: ["Conformance"]),
        .library(name: "HDF5", targets: ["HDF5"]),
        .executable(name: "dcn", targets: ["dcn"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CHDF5",
            pkgConfig: "hdf5",
            providers: [.apt(["libhdf5-dev"])]
        ),
        .target(name: "HDF5", dependencies: ["CHDF5"]),
        .target(
            name: "DeformConvAVX512",
            swiftSettings: [
                .unsafeFlags(avx512Flags),
                .unsafeFlags(["-Ounchecked", "-enforce-exclusivity=unchecked"], .when(configuration: .release)),
            ]
        ),
        // The pieces that need exact instructions (the 8×8 register transpose), in C with AVX2 intrinsics.
        .target(name: "DeformConvIntrinsics", cSettings: [.unsafeFlags(intrinsicsFlags)]),
        .target(name: "DeformConv", dependencies: ["DeformConvAVX512", "DeformConvIntrinsics"], swiftSettings: kernelSettings),
        // The harness, in layers whose dependencies point one way (README: Architecture):
        // file formats → scoring → suites, evaluation of sources, bench → reports. `Conformance`
        // re-exports them all for the command line and the tests.
        .target(name: "Formats", dependencies: ["DeformConv", "HDF5"], swiftSettings: harnessSettings),
        .target(name: "Scoring", dependencies: ["DeformConv", "Formats"], swiftSettings: harnessSettings),
        .target(name: "Suites", dependencies: ["DeformConv", "Formats", "Scoring"], swiftSettings: harnessSettings),
        .target(name: "Evaluation", dependencies: ["DeformConv", "HDF5", "Formats", "Scoring", "Suites"], swiftSettings: harnessSettings),
        .target(name: "Bench", dependencies: ["DeformConv", "Evaluation", "Suites"], swiftSettings: harnessSettings),
        .target(name: "Reports", dependencies: ["DeformConv", "Formats", "Scoring", "Suites", "Evaluation", "Bench"], swiftSettings: harnessSettings),
        .target(name: "Conformance", dependencies: ["Formats", "Scoring", "Suites", "Evaluation", "Bench", "Reports"], swiftSettings: harnessSettings),
        .executableTarget(
            name: "dcn",
            dependencies: [
                "Conformance", "DeformConv",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "HDF5Tests", dependencies: ["HDF5"], resources: [.copy("Fixtures")]),
        .testTarget(name: "DeformConvTests", dependencies: ["DeformConv"], swiftSettings: [.unsafeFlags(cpuFlags)]),
        .testTarget(name: "ConformanceTests", dependencies: ["Conformance", "DeformConv", "HDF5"], swiftSettings: [.unsafeFlags(cpuFlags)]),
    ]
)
