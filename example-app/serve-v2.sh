#!/usr/bin/env bash
# Sourced by e2e-android.sh and e2e-ios.sh: packs www-v2 as bundle 2.0.0 (plain zip, SHA-256
# checksum: the example app has no publicKey), builds the CLI (unless LIVEUPDATE_BIN names one) and starts `liveupdate serve` on
# 127.0.0.1:8787 with it (LIVEUPDATE_PORT overrides; 0 = a free port); stops the server when the sourcing
# script exits. Sets $work, $server and $REGISTRY_URL.
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
# LIVEUPDATE_PORT: 8787 by default (the port the emulator/simulator configs name); 0 takes a free
# one (the check command). A port that cannot be bound fails here, loudly.
port=${LIVEUPDATE_PORT:-8787}
"$bin" serve --dir "$work/registry" --port "$port" 2> "$work/serve.log" &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
REGISTRY_URL=""
for _ in $(seq 1 100); do
  REGISTRY_URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/serve.log" | head -n 1 || true)
  [ -n "$REGISTRY_URL" ] && break
  kill -0 "$server" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$REGISTRY_URL" ]; then
  echo "serve-v2.sh: the example registry could not start on 127.0.0.1:$port (port in use?):" >&2
  cat "$work/serve.log" >&2
  exit 1
fi
