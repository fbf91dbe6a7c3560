#!/usr/bin/env bash
# The TypeScript package: installs its npm dev dependencies (exact versions from package-lock.json,
# cached under .tools/npm-cache), builds dist/ (esm, cjs, iife), type-checks the drop-in test against
# the real @capgo/capacitor-updater 8.51.23 declarations, and runs the node tests (web fallback,
# launch-token passing through @capacitor/core's real native path). Prints "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
command -v npm >/dev/null || { echo "test-js: npm is needed (scripts/setup.sh installs it)" >&2; exit 1; }
export npm_config_cache="$PWD/.tools/npm-cache"
npm ci --no-audit --no-fund --silent
if ! build_out=$(npm run --silent build 2>&1); then echo "$build_out" >&2; exit 1; fi
echo "ok   build: dist/esm, dist/plugin.js (iife), dist/plugin.cjs.js"
npx --no-install tsc -p js/test/tsconfig.json
echo "ok   drop-in types: every method, event payload and exported type of @capgo/capacitor-updater 8.51.23, both ways"
out=$(node --test js/test/ 2>&1) || { echo "$out"; echo "0 passed, 1 failed"; exit 1; }
pass=$(grep -Eo '^# pass [0-9]+' <<<"$out" | awk '{print $3}')
fail=$(grep -Eo '^# fail [0-9]+' <<<"$out" | awk '{print $3}')
echo "ok   node tests: $pass passed"
echo "$(( pass + 2 )) passed, ${fail:-0} failed"
[ "${fail:-0}" -eq 0 ]
