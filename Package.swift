// swift-tools-version:6.0
import PackageDescription

// The interpreter runs on one thread by design (unshare/setns act on the calling
// thread), so Swift 5 mode's lighter concurrency checking fits; no code uses async.
//
// Release builds reach each generic type's metadata through its accessor function, not
// by demangling its name at run time (the optimiser's default, smaller code): the
// first use of every such type demangled it and looked up its conformances by scanning
// every conformance record of the executable, about 12 % of a start's CPU, and each
// spawn still paid for the cached look-ups (docs/performance.md, "Where a start goes").
let swift5: [SwiftSetting] = [
    .swiftLanguageMode(.v5),
    .unsafeFlags(["-Xfrontend", "-disable-concrete-type-metadata-mangled-name-accessors"], .when(configuration: .release)),
]

/// This manifest's directory: linker flags need absolute paths.
let packageDirectory = String(#filePath.dropLast("/Package.swift".count))

let package = Package(
    name: "pidsh",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "pidsh", targets: ["pidsh"]),
        .library(name: "PidshKit", targets: ["PidshKit"]),
        .library(name: "PidshSystem", targets: ["PidshSystem"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.4.0"),
    ],
    targets: [
        // Only what must be C: the child side of every fork, clone3, the init loop.
        .target(name: "CPidsh"),
        // Swift over the kernel: namespaces, process handles, /proc views, mounts.
        .target(name: "PidshSystem", dependencies: [
            "CPidsh",
            .product(name: "SystemPackage", package: "swift-system"),
        ], swiftSettings: swift5),
        // The language: syntax, runtime, builtins, REPL, golden tests.
        .target(name: "PidshKit", dependencies: ["PidshSystem"], swiftSettings: swift5),
        // Release builds carry the Swift runtime inside (as --static-swift-stdlib does):
        // loading and binding its shared libraries was a third of every start-up
        // (4.9 -> 3.4 ms for `pidsh -c true`), and the binary then runs where no Swift
        // toolchain is installed. The C++ runtime under it (libstdc++, libgcc's unwinder)
        // is linked in too, through the linker scripts of link/static-cxx: loading those
        // two libraries was another 0.5 ms of every start. libc and libm stay shared
        // (the line editor is a library pidsh loads, and user names come through NSS).
        // Debug builds (swift run, swift test) link as usual.
        .executableTarget(name: "pidsh", dependencies: [
            "PidshKit", "PidshSystem",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: swift5, linkerSettings: [
            .unsafeFlags(["-static-stdlib", "-l_FoundationCollections", "-l_FoundationCShims",
                          "-L\(packageDirectory)/link/static-cxx"],
                         .when(platforms: [.linux], configuration: .release)),
        ]),
        .testTarget(name: "PidshSystemTests", dependencies: ["PidshSystem", "CPidsh"], swiftSettings: swift5),
        .testTarget(name: "PidshKitTests", dependencies: ["PidshKit", "PidshSystem"], swiftSettings: swift5),
        .testTarget(name: "PidshEndToEndTests", dependencies: ["PidshKit"], swiftSettings: swift5),
    ]
)
