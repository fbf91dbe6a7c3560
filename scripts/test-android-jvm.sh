#!/usr/bin/env bash
# The Android plugin without an Android SDK: (1) kotlinc type-checks the plugin class and its logic
# against Capacitor's real Android sources (npm @capacitor/android 8.5.2, used as a Java source
# root), the UniFFI Kotlin, JNA and AOSP's org.json (the only android.*-using file, AndroidHost.kt,
# is replaced by a stand-in with the same members, and a check keeps the two in step); (2) the
# plain-Kotlin PluginShell runs on the JVM against the real cdylib and the dev registry on 127.0.0.1.
# Installs what is missing: Debian's libjna-java and libandroid-json-java, npm's kotlin-compiler.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
[ -f /usr/share/java/jna.jar ] || need+=(libjna-java)
[ -f /usr/share/java/com.android.json.jar ] || need+=(libandroid-json-java)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
K=.tools/kotlin/node_modules/kotlin-compiler
if [ ! -x "$K/bin/kotlinc" ]; then
  mkdir -p .tools/kotlin
  npm install --silent --no-audit --no-fund --prefix .tools/kotlin kotlin-compiler@2.4.20 >/dev/null
fi
[ -d node_modules/@capacitor/android ] || npm ci --no-audit --no-fund --silent
CAP=node_modules/@capacitor/android/capacitor/src/main/java
SRC=android/src/main/java/app/liveupdate/capacitor
CP=/usr/share/java/jna.jar:/usr/share/java/com.android.json.jar
# The stand-in declares exactly the members the real AndroidHost has.
for member in "class AndroidHost(" "fun engineOptions(): UpdaterOptions" "fun builtinAssets(): BuiltinAssets" "fun observeLifecycle(shell: PluginShell)" \
  "override fun notifyListeners(event: String, data: JSONObject, retain: Boolean)" \
  "override fun showBundle(builtin: Boolean, webRoot: String, launchId: String, reload: Boolean)" "override fun splash(show: Boolean)"; do
  grep -qF "$member" "$SRC/AndroidHost.kt" || { echo "AndroidHost.kt lacks: $member" >&2; exit 1; }
  grep -qF "$member" android/src/jvmCheck/kotlin/app/liveupdate/capacitor/AndroidHost.kt || { echo "stand-in lacks: $member" >&2; exit 1; }
done
cargo build --workspace --locked -q
work=$(mktemp -d)
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
"$K/bin/kotlinc" -nowarn -cp "$CP" "$SRC/CapacitorUpdaterPlugin.kt" "$SRC/PluginShell.kt" "$SRC/ShellHost.kt" "$SRC/PlatformTrust.kt" "$SRC/PlatformHttp.kt" \
  android/src/jvmCheck/kotlin/app/liveupdate/capacitor/AndroidHost.kt android/src/main/kotlin/app/liveupdate/liveupdate.kt "$CAP" \
  -d "$work/check" 2>&1 | grep -v '^warning' || true
[ -f "$work/check/app/liveupdate/capacitor/CapacitorUpdaterPlugin.class" ] || { echo "test-android-jvm: the plugin does not compile against Capacitor's API" >&2; exit 1; }
methods=$(grep -c '^    @PluginMethod$' "$SRC/CapacitorUpdaterPlugin.kt")
echo "ok   CapacitorUpdaterPlugin compiles against @capacitor/android 8.5.2 ($methods @PluginMethod)"
. scripts/start-registry.sh
"$K/bin/kotlinc" -nowarn -cp "$CP" "$SRC/PluginShell.kt" "$SRC/ShellHost.kt" android/src/main/kotlin/app/liveupdate/liveupdate.kt \
  android/src/test/kotlin/app/liveupdate/capacitor/PluginShellTest.kt -d "$work/test.jar" 2>&1 | grep -v '^warning' || true
[ -f "$work/test.jar" ] || { echo "test-android-jvm: the shell test does not compile" >&2; exit 1; }
java -Djna.library.path="$PWD/target/debug" -cp "$work/test.jar:$CP:$K/lib/kotlin-stdlib.jar" \
  app.liveupdate.capacitor.PluginShellTestKt "$REGISTRY_URL" "$PWD/$S" > "$work/out.txt" 2>&1 || true
# The same shell where the native library cannot be loaded (an app built without it).
mkdir -p "$work/nolib"
java -Djna.library.path="$work/nolib" -Djna.nosys=true -cp "$work/test.jar:$CP:$K/lib/kotlin-stdlib.jar" \
  app.liveupdate.capacitor.PluginShellTestKt --no-library > "$work/out2.txt" 2>&1 || true
grep -v -E '^[0-9]+ passed, [0-9]+ failed$' "$work/out.txt" "$work/out2.txt" | sed 's/^[^:]*://' || true
p=$(grep -Eho '^[0-9]+ passed' "$work/out.txt" "$work/out2.txt" | awk '{s+=$1} END {print s+0}')
f=$(grep -Eho '[0-9]+ failed$' "$work/out.txt" "$work/out2.txt" | awk '{s+=$1; n++} END {print (n==2 ? s : 1)}')
echo "$(( ${p:-0} + 1 )) passed, ${f:-1} failed"
[ "${f:-1}" -eq 0 ]
