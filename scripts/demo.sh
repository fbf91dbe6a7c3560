#!/usr/bin/env bash
# The main job on an embedded default: unpack a real Capgo CLI bundle built into the binary.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo run --quiet --release --locked -- demo "$@"
