#!/usr/bin/env bash
# Regenerates the UniFFI Kotlin and Swift bindings from the built (unstripped, debug) library into
# their one place in the repository, the plugin shells that ship them:
#   android/src/main/kotlin/app/liveupdate/liveupdate.kt
#   ios/Sources/LiveUpdatePlugin/LiveUpdate.swift, ios/Frameworks/include/{LiveUpdateFFI.h,module.modulemap}
# Native apps without Capacitor take the same files (docs/bindings.md).
#   bindings/generate.sh          write them
#   bindings/generate.sh --check  fail if the committed ones differ from a fresh generation
# The uniffi-bindgen binary lives in its own workspace crate so library builds stay fast.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-write}
# Progress on stderr: the first builds take a minute or two.
# One build of the whole workspace (the library and uniffi-bindgen): the same selection as the
# other test scripts, so the check compiles the crates once for all of them.
echo "bindings: building the library and uniffi-bindgen (debug) ..." >&2
cargo build --workspace --locked -q
echo "bindings: generating Kotlin and Swift ..." >&2
case "$(uname -s)" in Darwin) lib=target/debug/libliveupdate.dylib ;; *) lib=target/debug/libliveupdate.so ;; esac
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
target/debug/uniffi-bindgen generate --no-format --library "$lib" \
  --language kotlin --language swift --out-dir "$out" >/dev/null
# generated file → its place
pairs=(
  "$out/app/liveupdate/liveupdate.kt:android/src/main/kotlin/app/liveupdate/liveupdate.kt"
  "$out/LiveUpdate.swift:ios/Sources/LiveUpdatePlugin/LiveUpdate.swift"
  "$out/LiveUpdateFFI.h:ios/Frameworks/include/LiveUpdateFFI.h"
  "$out/LiveUpdateFFI.modulemap:ios/Frameworks/include/module.modulemap"
)
stale=0
for p in "${pairs[@]}"; do
  src=${p%%:*} dst=${p#*:}
  if [ "$mode" = "--check" ]; then
    if ! cmp -s "$src" "$dst"; then
      echo "$dst is stale: run bindings/generate.sh and commit the result" >&2
      diff -u "$dst" "$src" | head -20 >&2 || true
      stale=1
    fi
  else
    mkdir -p "$(dirname "$dst")"
    cp "$src" "$dst"
  fi
done
[ "$stale" = 0 ] || exit 1
if [ "$mode" = "--check" ]; then echo "bindings are up to date"; else echo "bindings written to android/ and ios/"; fi
