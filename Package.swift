// swift-tools-version: 5.9
// The iOS side of the Capacitor plugin. The Capacitor CLI names the package and product after the
// npm package: "LiveupdateCapacitor" for @liveupdate/capacitor, "CapgoCapacitorUpdater" when it is
// installed under the @capgo/capacitor-updater alias — both products are offered. The Rust engine is
// the binary target LiveUpdateFFI (ios/Frameworks/LiveUpdateFFI.xcframework, built by
// scripts/build-ios.sh on macOS, never committed).
import Foundation
import PackageDescription

// The engine ships in the npm package (packed by the release workflow). Without it, fail while
// resolving the package, saying what to run, rather than with a missing-module error later.
let liveUpdateFramework = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("ios/Frameworks/LiveUpdateFFI.xcframework/Info.plist").path
if !FileManager.default.fileExists(atPath: liveUpdateFramework) {
    fatalError("liveupdate: ios/Frameworks/LiveUpdateFFI.xcframework is missing. Install the released npm tarball (it carries it), or build it in the package folder on macOS with: bash scripts/build-ios.sh")
}

let package = Package(
    name: "LiveupdateCapacitor",
    platforms: [.iOS(.v15)],
    products: [
        .library(name: "LiveupdateCapacitor", targets: ["LiveUpdatePlugin"]),
        .library(name: "CapgoCapacitorUpdater", targets: ["LiveUpdatePlugin"]),
    ],
    dependencies: [
        .package(url: "https://github.com/ionic-team/capacitor-swift-pm.git", from: "8.0.0"),
    ],
    targets: [
        .binaryTarget(name: "LiveUpdateFFI", path: "ios/Frameworks/LiveUpdateFFI.xcframework"),
        .target(
            name: "LiveUpdatePlugin",
            dependencies: [
                .product(name: "Capacitor", package: "capacitor-swift-pm"),
                .product(name: "Cordova", package: "capacitor-swift-pm"),
                "LiveUpdateFFI",
            ],
            path: "ios/Sources/LiveUpdatePlugin"
        ),
    ]
)
