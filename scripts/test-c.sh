#!/usr/bin/env bash
# C binding test: compiles tests/bindings/c/test_liveupdate.c with gcc against bindings/c/liveupdate.h
# and the real cdylib, and runs it against the dev registry on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked -q -p liveupdate
work=$(mktemp -d)
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
. scripts/start-registry.sh
mkdir -p "$work/www" && echo '<html>builtin</html>' > "$work/www/index.html"
gcc -std=c11 -Wall -Wextra -Werror -I bindings/c tests/bindings/c/test_liveupdate.c \
  -L target/debug -lliveupdate -lpthread -o "$work/test_liveupdate"
pem_json=$(jq -Rs . < tests/fixtures/capgo/set-a-small/capgo_key_v2.pub)
LD_LIBRARY_PATH="$PWD/target/debug" "$work/test_liveupdate" "$REGISTRY_URL" "$work" "$pem_json"
