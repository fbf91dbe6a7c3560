#!/usr/bin/env bash
# End to end on an Android emulator (run by .github/workflows/mobile.yml, with the emulator up and
# android/src/main/jniLibs built): `liveupdate serve` on the host offers www-v2 as 2.0.0; the app
# (builtin 0.9.0) checks on foreground, downloads, installs at background, reloads onto 2.0.0,
# whose page confirms it. Passes when the app's log says "ready 2.0.0 success".
set -euo pipefail
cd "$(dirname "$0")"
. ./serve-v2.sh
npm install --no-audit --no-fund
[ -d android ] || npx cap add android
# The phone build's requests go through HttpURLConnection, which refuses plain HTTP unless the app's
# network security config allows it (as for Capgo's plugin): the test registry is plain HTTP on the
# emulator's 127.0.0.1, so this app allows cleartext to the loopback names only.
mkdir -p android/app/src/main/res/xml
cat > android/app/src/main/res/xml/network_security_config.xml <<'XML'
<?xml version="1.0" encoding="utf-8"?>
<network-security-config>
  <domain-config cleartextTrafficPermitted="true">
    <domain includeSubdomains="false">127.0.0.1</domain>
    <domain includeSubdomains="false">localhost</domain>
  </domain-config>
</network-security-config>
XML
grep -q networkSecurityConfig android/app/src/main/AndroidManifest.xml ||
  sed -i 's|<application|<application android:networkSecurityConfig="@xml/network_security_config"|' \
    android/app/src/main/AndroidManifest.xml
npx cap sync android
(cd android && ./gradlew assembleDebug)
adb install -r android/app/build/outputs/apk/debug/app-debug.apk
adb reverse tcp:8787 tcp:8787          # the app's 127.0.0.1:8787 is the host's registry
adb logcat -c
adb shell monkey -p com.example.liveupdate -c android.intent.category.LAUNCHER 1
sleep 15                               # foreground check + download
adb shell input keyevent KEYCODE_HOME  # background: next is installed
sleep 5
adb shell monkey -p com.example.liveupdate -c android.intent.category.LAUNCHER 1
for _ in $(seq 1 60); do
  if adb logcat -d | grep -q 'liveupdate-example ready 2.0.0 success'; then echo "updated to 2.0.0 and confirmed"; exit 0; fi
  sleep 2
done
adb logcat -d | grep -i -E 'liveupdate|Capacitor' | tail -50
exit 1
