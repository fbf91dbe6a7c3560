#!/usr/bin/env bash
# Regenerates the Kotlin and Swift bindings from the built (unstripped, debug) library.
#   bindings/generate.sh          write them into bindings/
#   bindings/generate.sh --check  fail if the committed ones differ from a fresh generation
# The uniffi-bindgen binary lives in its own workspace crate so library builds stay fast.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-write}
cargo build --locked -q -p liveupdate --lib
cargo build --locked -q -p uniffi-bindgen
case "$(uname -s)" in Darwin) lib=target/debug/libliveupdate.dylib ;; *) lib=target/debug/libliveupdate.so ;; esac
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
target/debug/uniffi-bindgen generate --no-format --library "$lib" \
  --language kotlin --language swift --out-dir "$out" >/dev/null
mkdir -p "$out/tree/kotlin/app/liveupdate" "$out/tree/swift"
cp "$out/app/liveupdate/liveupdate.kt" "$out/tree/kotlin/app/liveupdate/"
cp "$out/LiveUpdate.swift" "$out/LiveUpdateFFI.h" "$out/LiveUpdateFFI.modulemap" "$out/tree/swift/"
# The plugin shells ship their own copies (npm installs them without bindings/).
shells_current() {
  cmp -s "$out/tree/kotlin/app/liveupdate/liveupdate.kt" android/src/main/kotlin/app/liveupdate/liveupdate.kt &&
    cmp -s "$out/tree/swift/LiveUpdate.swift" ios/Sources/LiveUpdatePlugin/LiveUpdate.swift &&
    cmp -s "$out/tree/swift/LiveUpdateFFI.h" ios/Frameworks/include/LiveUpdateFFI.h &&
    cmp -s "$out/tree/swift/LiveUpdateFFI.modulemap" ios/Frameworks/include/module.modulemap
}
if [ "$mode" = "--check" ]; then
  if ! diff -ru bindings/kotlin "$out/tree/kotlin" >/dev/null || ! diff -ru bindings/swift "$out/tree/swift" >/dev/null || ! shells_current; then
    echo "bindings/ is stale: run bindings/generate.sh and commit the result" >&2
    diff -ru bindings/kotlin "$out/tree/kotlin" | head -20 >&2 || true
    exit 1
  fi
  echo "bindings are up to date"
else
  rm -rf bindings/kotlin bindings/swift
  cp -r "$out/tree/kotlin" "$out/tree/swift" bindings/
  mkdir -p android/src/main/kotlin/app/liveupdate ios/Sources/LiveUpdatePlugin ios/Frameworks/include
  cp "$out/tree/kotlin/app/liveupdate/liveupdate.kt" android/src/main/kotlin/app/liveupdate/liveupdate.kt
  cp "$out/tree/swift/LiveUpdate.swift" ios/Sources/LiveUpdatePlugin/LiveUpdate.swift
  cp "$out/tree/swift/LiveUpdateFFI.h" ios/Frameworks/include/LiveUpdateFFI.h
  cp "$out/tree/swift/LiveUpdateFFI.modulemap" ios/Frameworks/include/module.modulemap
  echo "bindings written to bindings/kotlin and bindings/swift"
fi
