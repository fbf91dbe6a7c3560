#!/usr/bin/env bash
# Kotlin binding test: compiles the generated bindings with tests/bindings/kotlin/Main.kt and runs it on
# the JVM against the real cdylib, with the dev registry serving a Capgo CLI fixture on 127.0.0.1.
# Installs what is missing: Debian's libjna-java (JNA 5.13) and npm's kotlin-compiler@2.4.20 (into .tools/).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f /usr/share/java/jna.jar ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libjna-java >/dev/null
fi
command -v java >/dev/null || { echo "test-kotlin: a JDK (java) is needed" >&2; exit 1; }
K=.tools/kotlin/node_modules/kotlin-compiler
if [ ! -x "$K/bin/kotlinc" ]; then
  mkdir -p .tools/kotlin
  npm install --silent --no-audit --no-fund --prefix .tools/kotlin kotlin-compiler@2.4.20 >/dev/null
fi
cargo build --locked -q -p liveupdate
work=$(mktemp -d)
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
. scripts/start-registry.sh
"$K/bin/kotlinc" -nowarn -cp /usr/share/java/jna.jar bindings/kotlin/app/liveupdate/liveupdate.kt \
  tests/bindings/kotlin/Main.kt -d "$work/test.jar" 2>&1 | grep -v '^warning' || true
[ -f "$work/test.jar" ] || { echo "test-kotlin: compilation failed" >&2; exit 1; }
java -Djna.library.path="$PWD/target/debug" \
  -cp "$work/test.jar:/usr/share/java/jna.jar:$K/lib/kotlin-stdlib.jar" MainKt "$REGISTRY_URL" "$PWD/$S"
