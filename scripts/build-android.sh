#!/usr/bin/env bash
# Builds the engine for Android: libliveupdate.so for arm64-v8a, armeabi-v7a, x86_64 and x86 into
# android/src/main/jniLibs/<abi>/ (never committed), API level 24, the library only (no CLI, no dev
# registry), stripped by the release profile, every LOAD segment aligned to 16 KB (Android 15+
# devices with 16 KB pages), checked with llvm-readelf. Needs an NDK (ANDROID_NDK_HOME; r28 or newer
# aligns to 16 KB by default, the linker flag below makes older ones do it too). Prints each size.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${ANDROID_NDK_HOME:?set ANDROID_NDK_HOME to an Android NDK}"
command -v cargo-ndk >/dev/null || cargo install cargo-ndk --locked
rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android i686-linux-android
export RUSTFLAGS="${RUSTFLAGS:-} -C link-arg=-Wl,-z,max-page-size=16384"
out=android/src/main/jniLibs
rm -rf "$out"
cargo ndk -t arm64-v8a -t armeabi-v7a -t x86_64 -t x86 --platform 24 -o "$out" \
  build --release --locked -p liveupdate --lib --no-default-features
readelf=$(ls "$ANDROID_NDK_HOME"/toolchains/llvm/prebuilt/*/bin/llvm-readelf 2>/dev/null | head -n 1 || true)
[ -n "$readelf" ] || readelf=$(command -v llvm-readelf || true)
for so in "$out"/*/libliveupdate.so; do
  size=$(wc -c < "$so" | tr -d ' ')
  if [ -n "$readelf" ]; then
    for a in $("$readelf" -lW "$so" | awk '$1 == "LOAD" { print $NF }' | sort -u); do
      [ $((a)) -ge 16384 ] || { echo "$so: a LOAD segment is aligned to $a, not 16 KB" >&2; exit 1; }
    done
    echo "$so: $size bytes, LOAD segments aligned to 16 KB"
  else
    echo "$so: $size bytes (llvm-readelf not found: alignment not checked)"
  fi
done
