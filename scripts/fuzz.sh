#!/usr/bin/env bash
# Runs the cargo-fuzz targets (nightly toolchain; installs cargo-fuzz if missing).
#   scripts/fuzz.sh SECONDS [TARGET...]      default: every target, one after the other
# Each run starts from the committed seeds in fuzz/corpus/TARGET, then merges the inputs that add
# coverage back into it. Logs: target/fuzz-logs/TARGET.log; crashes: fuzz/artifacts/TARGET/.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:?usage: scripts/fuzz.sh SECONDS [TARGET...]}
shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(session_key checksum public_key entry_name unzip update_response state_file delta_manifest)
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
mkdir -p target/fuzz-logs
(cd fuzz && cargo +nightly fuzz build -O)
for t in "${targets[@]}"; do
  work=$(mktemp -d)
  cp -r "fuzz/corpus/$t/." "$work/"
  (cd fuzz && cargo +nightly fuzz run -O "$t" "$work" -- -max_total_time="$secs" -print_final_stats=1 \
      -rss_limit_mb=2048 -timeout=20) > "target/fuzz-logs/$t.log" 2>&1 || { echo "$t: FINDING, see target/fuzz-logs/$t.log"; }
  (cd fuzz && cargo +nightly fuzz run -O "$t" "corpus/$t" "$work" -- -merge=1) >/dev/null 2>&1 || true
  rm -rf "$work"
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "target/fuzz-logs/$t.log" | grep -o '[0-9]*$' || echo "?")
  echo "$t: ${secs}s, $execs executions, corpus $(ls "fuzz/corpus/$t" | wc -l) files"
done
