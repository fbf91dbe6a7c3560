#!/usr/bin/env bash
# Sourced by e2e-android.sh and e2e-ios.sh: packs www-v2 as bundle 2.0.0 (plain zip, SHA-256
# checksum: the example app has no publicKey), builds the CLI (unless LIVEUPDATE_BIN names one) and starts `liveupdate serve` on
# 127.0.0.1:8787 with it; stops the server when the sourcing script exits. Sets $work and $server.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d)
(cd "$root/example-app/www-v2" && zip -qr "$work/v2.zip" .)
if command -v sha256sum >/dev/null; then sum=$(sha256sum "$work/v2.zip" | cut -d' ' -f1); else sum=$(shasum -a 256 "$work/v2.zip" | cut -d' ' -f1); fi
mkdir -p "$work/registry" && mv "$work/v2.zip" "$work/registry/"
printf '{"app_id":"com.example.liveupdate","bundles":[{"version":"2.0.0","file":"v2.zip","checksum":"%s"}]}' "$sum" \
  > "$work/registry/liveupdate-registry.json"
# LIVEUPDATE_BIN: an already built liveupdate binary (the check command passes its debug build).
bin=${LIVEUPDATE_BIN:-}
if [ -z "$bin" ]; then
  (cd "$root" && cargo build --release --locked --bin liveupdate)
  bin=$root/target/release/liveupdate
fi
"$bin" serve --dir "$work/registry" --port 8787 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
