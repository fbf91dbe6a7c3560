#!/usr/bin/env bash
# The main job on an embedded default: a whole self-hosted live update on this machine (a dev
# registry on 127.0.0.1 serving a real Capgo CLI bundle built into the binary, a device folder,
# check → download → verify → install → launch → notifyAppReady → stats).
# Needs only Rust (cargo) and a C linker; installs the linker with apt-get if it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v cargo >/dev/null; then
  echo "demo: Rust is needed (cargo 1.89 or newer): install it with rustup, then run this again" >&2
  exit 1
fi
if ! command -v cc >/dev/null; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "demo: installing gcc (the linker Rust needs) with apt-get" >&2
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc >/dev/null
fi
bin=target/release/liveupdate
if [ ! -x "$bin" ]; then
  echo "demo: building the liveupdate command line (cargo build --release): the first build compiles" >&2
  echo "      about 130 crates and takes about 2 minutes on 2 cores; later runs start at once" >&2
fi
cargo build --release --locked -p liveupdate-cli --bin liveupdate
echo "demo: running $bin demo" >&2
exec "$bin" demo "$@"
