#!/usr/bin/env bash
# The Rust test suite on phone CPUs: arm64 (aarch64) and armv7 (32-bit ARM) under QEMU user mode,
# and 32-bit x86 (i686, linked with Debian's gcc-i686-linux-gnu) run natively by the x86_64 kernel
# with the cross sysroot's loader (the machine has no i386 multilib). Installs what it needs
# (rustup targets, Debian cross compilers and qemu-user), prints which target runs, and per target
# "<target>: passed N, failed M (S s)", then "N passed, M failed" (the check command's sum).
#
# Scope on every target: the whole suite of the core and the command line — unit, property,
# fuzz-corpus replay, engine, registry and network faults, hostile archives, disk full, host
# transport, Capgo fixtures and rules, C header, sessions, delta, static channels, bounded memory,
# the crash and fault harnesses.
# Reductions under QEMU (tests/support `emulated()`): crash_kill runs 30 kill points instead of
# 120, liveness bounds get more room, and the peak-RSS figures of the memory tests are not
# asserted (QEMU's own memory is in the process). i686 runs natively: nothing is reduced.
# One cargo invocation builds the three targets (with the `cross` profile: optimised, no debug
# info — debug code under QEMU is 10–20× slower), then each target's tests run.
# LIVEUPDATE_CROSS_TARGETS overrides the target list: the check command runs i686 alone (all three
# with LIVEUPDATE_CHECK_CROSS=1); the CI job phone-cpus runs the three.
set -euo pipefail
cd "$(dirname "$0")/.."
targets=${LIVEUPDATE_CROSS_TARGETS:-"aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf i686-unknown-linux-gnu"}

# Per target: its cross C compiler (and linker), the emulator that runs it (none: native), and
# the Debian packages those come from.
declare -A cc runner pkgs
for t in $targets; do
  case "$t" in
    aarch64-unknown-linux-gnu)
      cc[$t]=aarch64-linux-gnu-gcc; runner[$t]="qemu-aarch64 -L /usr/aarch64-linux-gnu"
      pkgs[$t]="gcc-aarch64-linux-gnu qemu-user" ;;
    armv7-unknown-linux-gnueabihf)
      cc[$t]=arm-linux-gnueabihf-gcc; runner[$t]="qemu-arm -L /usr/arm-linux-gnueabihf"
      pkgs[$t]="gcc-arm-linux-gnueabihf qemu-user" ;;
    i686-unknown-linux-gnu)
      # Native: the binaries name the cross sysroot's loader and libraries themselves, so the
      # tests' child processes (the CLI) run without a runner too.
      cc[$t]=i686-linux-gnu-gcc; runner[$t]=""; pkgs[$t]="gcc-i686-linux-gnu"
      export CARGO_TARGET_I686_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C link-arg=-Wl,--dynamic-linker=/usr/i686-linux-gnu/lib/ld-linux.so.2 -C link-arg=-Wl,-rpath=/usr/i686-linux-gnu/lib"
      ;;
    *) echo "test-cross: unknown target $t" >&2; exit 2 ;;
  esac
done

# Install what a target's compiler or emulator lacks.
need=()
for t in $targets; do
  emulator=${runner[$t]%% *}
  if ! command -v "${cc[$t]}" >/dev/null || { [ -n "$emulator" ] && ! command -v "$emulator" >/dev/null; }; then
    read -ra list <<<"${pkgs[$t]}"; need+=("${list[@]}")
  fi
done
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u | grep . || true)
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

# A target folder of its own (under target/, kept between runs): the check command runs this
# beside its other steps, whose cargo builds would otherwise wait for this one's lock.
export CARGO_TARGET_DIR=${LIVEUPDATE_CROSS_TARGET_DIR:-$PWD/target/cross-build}
# The check exports clippy-driver as the workspace wrapper for its host builds; these builds are
# not linted again.
unset RUSTC_WORKSPACE_WRAPPER CLIPPY_ARGS
target_args=()
for t in $targets; do
  T=$(tr 'a-z-' 'A-Z_' <<<"$t")
  export "CARGO_TARGET_${T}_LINKER=${cc[$t]}" "CC_${t//-/_}=${cc[$t]}"
  [ -n "${runner[$t]}" ] && export "CARGO_TARGET_${T}_RUNNER=${runner[$t]}"
  target_args+=(--target "$t")
done
packages=(-p liveupdate -p liveupdate-cli --features liveupdate-cli/crash-hooks)

echo "== cross: building the suites for $targets"
start=$(date +%s)
# At a lower priority: in the check the host steps beside it are the longer chain, and their
# tests have time bounds; a build has none.
nice -n 10 cargo test --locked --profile cross "${target_args[@]}" "${packages[@]}" --no-run 2>&1 | grep -Ev '^\s+(Compiling|Executable)' || true
echo "cross build: $(( $(date +%s) - start )) s"

total_p=0; total_f=0
for t in $targets; do
  echo "== cross: $t ${runner[$t]:-(native)}"
  start=$(date +%s)
  # Kept after the run (target/cross-build/test-<target>.log): a failure's whole output.
  log=$CARGO_TARGET_DIR/test-$t.log
  rc=0
  LIVEUPDATE_TEST_RUNNER="${runner[$t]}" LIVEUPDATE_KILL_ITERATIONS=$([ -n "${runner[$t]}" ] && echo 30 || echo 120) \
    cargo test --locked --no-fail-fast --profile cross --target "$t" "${packages[@]}" > "$log" 2>&1 || rc=$?
  p=$(grep -Eo 'test result: .* ([0-9]+) passed' "$log" | grep -Eo '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
  f=$(grep -Eo '[0-9]+ failed;' "$log" | awk '{s+=$1} END {print s+0}')
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    f=1   # a build failure or a crashed test binary
    tail -n 30 "$log"
  fi
  grep -E -A4 'panicked at' "$log" | head -n 40 || true
  # The slowest test binaries, for the record.
  awk '/Running /{b=$2} /finished in/{print $NF, b}' "$log" | sort -rn | head -n 4 | tr '\n' ' ' | sed 's/^/  slowest: /; s/$/\n/'
  [ "$f" -eq 0 ] || echo "  whole output: $log"
  echo "$t: passed $p, failed $f ($(( $(date +%s) - start )) s)"
  total_p=$((total_p + p)); total_f=$((total_f + f))
done
echo "$total_p passed, $total_f failed"
[ "$total_f" -eq 0 ]
