#!/usr/bin/env bash
# Installs what the build, tests and benchmarks need on a fresh Debian/Ubuntu machine, and nothing
# that is already there. Safe to run again. Needs root (or sudo) only when something is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v cc >/dev/null || need_apt+=(gcc)
command -v g++ >/dev/null || need_apt+=(g++)      # the C header is checked as C++ too
command -v unzip >/dev/null || need_apt+=(unzip)
command -v zip >/dev/null || need_apt+=(zip)       # packs the example app's update bundle   # the benchmark's side-by-side baseline and CLI tests
command -v jq >/dev/null || need_apt+=(jq)
command -v java >/dev/null || need_apt+=(default-jdk-headless)   # the Kotlin binding test runs on the JVM
command -v npm >/dev/null || need_apt+=(npm)                     # the TypeScript package, kotlin-compiler, Node 22 for the Capacitor CLI
python3 -c 'import yaml' 2>/dev/null || need_apt+=(python3-yaml)  # the workflow parse check
[ -f /usr/share/java/jna.jar ] || need_apt+=(libjna-java)       # JNA for the generated Kotlin
[ -f /usr/share/java/com.android.json.jar ] || need_apt+=(libandroid-json-java)  # AOSP org.json (Capacitor's JSObject)
if [ ${#need_apt[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "setup: installing ${need_apt[*]} with apt-get" >&2
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null; then
  echo "setup: cargo is missing; install Rust (rustup) 1.89 or newer first" >&2
  exit 1
fi
if command -v rustup >/dev/null; then
  installed=$(rustup component list --installed 2>/dev/null || true)
  for c in rustfmt clippy; do
    grep -q "^$c" <<<"$installed" || rustup component add "$c"
  done
fi
