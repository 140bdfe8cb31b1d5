// swift-tools-version:6.0
import Foundation
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

/// Linker flags that put link/static-cxx first on the search path, where GCC's static
/// C++ runtime is installed in the GCC the compiler links with (the newest version under
/// /usr/lib/gcc/TRIPLE, as clang picks it); none otherwise, and the release build loads
/// libstdc++.so.6 and libgcc_s.so.1 as before rather than failing to link.
let staticCxxFlags: [String] = {
    let fm = FileManager.default
    let root = "/usr/lib/gcc"
    for triple in (try? fm.contentsOfDirectory(atPath: root)) ?? [] where triple.hasPrefix("x86_64") {
        let versions = ((try? fm.contentsOfDirectory(atPath: "\(root)/\(triple)")) ?? [])
            .filter { fm.fileExists(atPath: "\(root)/\(triple)/\($0)/crtbegin.o") }
        guard let newest = versions.max(by: { $0.compare($1, options: .numeric) == .orderedAscending }) else { continue }
        let dir = "\(root)/\(triple)/\(newest)"
        if fm.fileExists(atPath: dir + "/libstdc++.a") && fm.fileExists(atPath: dir + "/libgcc_eh.a") {
            return ["-L\(packageDirectory)/link/static-cxx"]
        }
    }
    return []
}()

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
        // is linked in too where GCC's archives are installed, through the linker scripts
        // of link/static-cxx: loading those two libraries was another 0.5 ms of every
        // start. libc and libm stay shared
        // (the line editor is a library pidsh loads, and user names come through NSS).
        // Debug builds (swift run, swift test) link as usual.
        .executableTarget(name: "pidsh", dependencies: [
            "PidshKit", "PidshSystem",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: swift5, linkerSettings: [
            .unsafeFlags(["-static-stdlib", "-l_FoundationCollections", "-l_FoundationCShims"] + staticCxxFlags,
                         .when(platforms: [.linux], configuration: .release)),
        ]),
        .testTarget(name: "PidshSystemTests", dependencies: ["PidshSystem", "CPidsh"], swiftSettings: swift5),
        .testTarget(name: "PidshKitTests", dependencies: ["PidshKit", "PidshSystem"], swiftSettings: swift5),
        .testTarget(name: "PidshEndToEndTests", dependencies: ["PidshKit"], swiftSettings: swift5),
    ]
)
