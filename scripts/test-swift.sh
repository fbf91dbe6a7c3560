#!/usr/bin/env bash
# Swift binding test — macOS only (needs Xcode's swiftc/XCTest; no Swift toolchain exists for this
# project's Linux machines). Builds the library, wraps the generated Swift bindings into a throwaway
# SwiftPM package with tests/bindings/swift/LiveUpdateTests.swift, and runs `swift test` against a
# dev registry on 127.0.0.1. Used by .github/workflows/mobile.yml.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(uname -s)" = Darwin ] || { echo "test-swift: needs macOS with Xcode" >&2; exit 1; }
cargo build --workspace --locked -q
work=$(mktemp -d)
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
. scripts/start-registry.sh
pkg="$work/pkg"
mkdir -p "$pkg/Sources/LiveUpdate" "$pkg/Sources/LiveUpdateFFI/include" "$pkg/Tests/LiveUpdateTests"
cp ios/Sources/LiveUpdatePlugin/LiveUpdate.swift "$pkg/Sources/LiveUpdate/"
cp ios/Frameworks/include/LiveUpdateFFI.h "$pkg/Sources/LiveUpdateFFI/include/"
printf 'module LiveUpdateFFI {\n  header "LiveUpdateFFI.h"\n  export *\n}\n' > "$pkg/Sources/LiveUpdateFFI/include/module.modulemap"
touch "$pkg/Sources/LiveUpdateFFI/shim.c"
cp tests/bindings/swift/LiveUpdateTests.swift "$pkg/Tests/LiveUpdateTests/"
cat > "$pkg/Package.swift" <<SWIFT
// swift-tools-version:5.9
import PackageDescription
let package = Package(
  name: "LiveUpdate",
  targets: [
    .target(name: "LiveUpdateFFI", linkerSettings: [.unsafeFlags(["-L$PWD/target/debug", "-lliveupdate"])]),
    .target(name: "LiveUpdate", dependencies: ["LiveUpdateFFI"]),
    .testTarget(name: "LiveUpdateTests", dependencies: ["LiveUpdate"]),
  ])
SWIFT
LIVEUPDATE_REGISTRY_URL="$REGISTRY_URL" LIVEUPDATE_FIXTURES="$PWD/$S" DYLD_LIBRARY_PATH="$PWD/target/debug" \
  swift test --package-path "$pkg"
