#!/usr/bin/env bash
# End to end on an iOS simulator (macOS, run by .github/workflows/mobile.yml after
# scripts/build-ios.sh): same story as e2e-android.sh; the simulator shares the host's 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")"
. ./serve-v2.sh
npm install --no-audit --no-fund
npx cap sync ios
dev=$(xcrun simctl list devices available | grep -m1 -o 'iPhone[^(]*([0-9A-F-]*)' | grep -o '[0-9A-F-]\{36\}')
xcrun simctl boot "$dev" || true
xcodebuild -project ios/App/App.xcodeproj -scheme App -sdk iphonesimulator -destination "id=$dev" \
  -derivedDataPath "$work/dd" build
xcrun simctl install "$dev" "$work/dd/Build/Products/Debug-iphonesimulator/App.app"
xcrun simctl launch --console-pty "$dev" com.example.liveupdate > "$work/log1.txt" 2>&1 &
sleep 20
xcrun simctl terminate "$dev" com.example.liveupdate || true   # next applies at the next start
xcrun simctl launch --console-pty "$dev" com.example.liveupdate > "$work/log2.txt" 2>&1 &
for _ in $(seq 1 60); do
  if grep -q 'liveupdate-example ready 2.0.0 success' "$work/log2.txt"; then echo "updated to 2.0.0 and confirmed"; exit 0; fi
  sleep 2
done
tail -50 "$work/log1.txt" "$work/log2.txt"
exit 1
