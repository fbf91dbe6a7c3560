#!/usr/bin/env bash
# The Rust test suite on emulated phone CPUs: arm64 (aarch64) and armv7 (32-bit ARM) under QEMU
# user mode, and 32-bit x86 (i686, linked with Debian's gcc-i686-linux-gnu) under qemu-i386 with the
# cross sysroot's loader (the machine has no i386 multilib). Installs what it needs (rustup targets,
# Debian cross compilers and qemu-user), prints which target runs, and "target: N passed, M failed".
#
# Scope per target: the core's whole suite (unit, property, fuzz-corpus replay, every integration
# test: engine, registry and network faults, hostile archives, disk full, host transport, Capgo
# fixtures and rules, C header). On armv7, the 32-bit phone CPU, also the command-line suites with
# the crash and fault harnesses (crash_kill at LIVEUPDATE_KILL_ITERATIONS=30 instead of 120).
# Reductions under emulation (tests/support `emulated()`): liveness bounds get more room and the
# peak-RSS figures of the memory tests are not asserted (QEMU's own memory is in the process).
# Builds with the `cross` profile (opt-level 1, no debug info): debug code under QEMU is 10–20×
# slower. LIVEUPDATE_CROSS_TARGETS overrides the target list. Per target it prints
# "<target>: passed N, failed M (S s)", and at the end "N passed, M failed" (the check command's sum).
set -euo pipefail
cd "$(dirname "$0")/.."
targets=${LIVEUPDATE_CROSS_TARGETS:-"aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf i686-unknown-linux-gnu"}

need=()
command -v qemu-aarch64 >/dev/null || need+=(qemu-user)
command -v aarch64-linux-gnu-gcc >/dev/null || need+=(gcc-aarch64-linux-gnu)
command -v arm-linux-gnueabihf-gcc >/dev/null || need+=(gcc-arm-linux-gnueabihf)
command -v i686-linux-gnu-gcc >/dev/null || need+=(gcc-i686-linux-gnu)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "test-cross: installing ${need[*]} with apt-get" >&2
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
installed=$(rustup target list --installed)
for t in $targets; do
  grep -qx "$t" <<<"$installed" || rustup target add "$t" >/dev/null
done

# A target folder of its own (under target/, cached between runs): the check command runs this
# beside its other steps, whose cargo builds would otherwise wait for this one's lock.
export CARGO_TARGET_DIR=${LIVEUPDATE_CROSS_TARGET_DIR:-$PWD/target/cross-build}
total_p=0; total_f=0
for t in $targets; do
  case "$t" in
    aarch64-unknown-linux-gnu) cc=aarch64-linux-gnu-gcc; qemu=qemu-aarch64; sysroot=/usr/aarch64-linux-gnu ;;
    armv7-unknown-linux-gnueabihf) cc=arm-linux-gnueabihf-gcc; qemu=qemu-arm; sysroot=/usr/arm-linux-gnueabihf ;;
    i686-unknown-linux-gnu) cc=i686-linux-gnu-gcc; qemu=qemu-i386; sysroot=/usr/i686-linux-gnu ;;
    *) echo "test-cross: unknown target $t" >&2; exit 2 ;;
  esac
  T=$(tr 'a-z-' 'A-Z_' <<<"$t")
  runner="$qemu -L $sysroot"
  export "CARGO_TARGET_${T}_LINKER=$cc" "CC_${t//-/_}=$cc" "CARGO_TARGET_${T}_RUNNER=$runner"
  export LIVEUPDATE_TEST_RUNNER="$runner" LIVEUPDATE_KILL_ITERATIONS=30
  packages=(-p liveupdate)
  if [ "$t" = armv7-unknown-linux-gnueabihf ]; then
    packages+=(-p liveupdate-cli --features liveupdate-cli/crash-hooks)
  fi
  echo "== cross: $t under $runner (${packages[*]})"
  start=$(date +%s)
  log=$(mktemp)
  rc=0
  cargo test --locked --profile cross --target "$t" "${packages[@]}" > "$log" 2>&1 || rc=$?
  p=$(grep -Eo 'test result: .* ([0-9]+) passed' "$log" | grep -Eo '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
  f=$(grep -Eo '[0-9]+ failed;' "$log" | awk '{s+=$1} END {print s+0}')
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    f=1   # a build failure or a crashed test binary
    tail -n 30 "$log"
  fi
  grep -E '^test .* FAILED|panicked at' "$log" | head -n 20 || true
  rm -f "$log"
  echo "$t: passed $p, failed $f ($(( $(date +%s) - start )) s)"
  total_p=$((total_p + p)); total_f=$((total_f + f))
done
echo "$total_p passed, $total_f failed"
[ "$total_f" -eq 0 ]
