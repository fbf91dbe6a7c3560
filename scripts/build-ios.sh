#!/usr/bin/env bash
# Builds the engine for iOS (macOS with Xcode): static libraries for devices (aarch64-apple-ios) and
# simulators (aarch64 + x86_64, joined with lipo), the library only (no CLI features), packed with
# the UniFFI C header and module map (ios/Frameworks/include) into
# ios/Frameworks/LiveUpdateFFI.xcframework, which Package.swift and the podspecs reference (never
# committed).
set -euo pipefail
cd "$(dirname "$0")/.."
targets="aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios"
rustup target add $targets
for t in $targets; do
  cargo build --release --locked -p liveupdate --lib --no-default-features --target "$t"
done
mkdir -p target/ios-sim
lipo -create target/aarch64-apple-ios-sim/release/libliveupdate.a target/x86_64-apple-ios/release/libliveupdate.a \
  -output target/ios-sim/libliveupdate.a
for lib in target/aarch64-apple-ios/release/libliveupdate.a target/ios-sim/libliveupdate.a; do strip -S "$lib"; done
rm -rf ios/Frameworks/LiveUpdateFFI.xcframework
xcodebuild -create-xcframework \
  -library target/aarch64-apple-ios/release/libliveupdate.a -headers ios/Frameworks/include \
  -library target/ios-sim/libliveupdate.a -headers ios/Frameworks/include \
  -output ios/Frameworks/LiveUpdateFFI.xcframework
du -sh ios/Frameworks/LiveUpdateFFI.xcframework/*/libliveupdate.a
