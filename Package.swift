// swift-tools-version: 5.9
// The iOS side of the Capacitor plugin. The Capacitor CLI names the package and product after the
// npm package: "LiveupdateCapacitor" for @liveupdate/capacitor, "CapgoCapacitorUpdater" when it is
// installed under the @capgo/capacitor-updater alias — both products are offered. The Rust engine is
// the binary target LiveUpdateFFI (ios/Frameworks/LiveUpdateFFI.xcframework, built by
// scripts/build-ios.sh on macOS, never committed).
import PackageDescription

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
