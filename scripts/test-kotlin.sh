#!/usr/bin/env bash
# Kotlin binding test: compiles the generated bindings with tests/bindings/kotlin/Main.kt and runs it on
# the JVM against the real cdylib, with the dev registry serving a Capgo CLI fixture on 127.0.0.1.
# Installs what is missing: Debian's libjna-java (JNA 5.13) and npm's kotlin-compiler@2.4.20 (into .tools/).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f /usr/share/java/jna.jar ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libjna-java >/dev/null
fi
command -v java >/dev/null || { echo "test-kotlin: a JDK (java) is needed" >&2; exit 1; }
K=.tools/kotlin/node_modules/kotlin-compiler
if [ ! -x "$K/bin/kotlinc" ]; then
  mkdir -p .tools/kotlin
  npm install --silent --no-audit --no-fund --prefix .tools/kotlin kotlin-compiler@2.4.20 >/dev/null
fi
cargo build --workspace --locked -q
work=$(mktemp -d)
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
. scripts/start-registry.sh
"$K/bin/kotlinc" -nowarn -cp /usr/share/java/jna.jar android/src/main/kotlin/app/liveupdate/liveupdate.kt \
  tests/bindings/kotlin/Main.kt -d "$work/test.jar" 2>&1 | grep -v '^warning' || true
[ -f "$work/test.jar" ] || { echo "test-kotlin: compilation failed" >&2; exit 1; }
java -Djna.library.path="$PWD/target/debug" \
  -cp "$work/test.jar:/usr/share/java/jna.jar:$K/lib/kotlin-stdlib.jar" MainKt "$REGISTRY_URL" "$PWD/$S"

# Certificate trust through the app's verifier: a private CA and a server certificate for 127.0.0.1
# made with the JDK's keytool, an HTTPS server in the JVM, X509TrustManager-backed verifiers, then the
# Android plugin's HttpURLConnection transport carrying the whole update.
pki="$work/pki"; mkdir -p "$pki"
kt() { keytool -noprompt -storepass changeit -keypass changeit "$@" >/dev/null 2>&1; }
kt -genkeypair -alias ca -keyalg RSA -keysize 2048 -dname "CN=liveupdate test CA" -ext bc:c -validity 30 -keystore "$pki/ca.p12" -storetype PKCS12
kt -exportcert -rfc -alias ca -keystore "$pki/ca.p12" -file "$pki/ca.pem"
kt -genkeypair -alias other -keyalg RSA -keysize 2048 -dname "CN=another CA" -ext bc:c -validity 30 -keystore "$pki/other.p12" -storetype PKCS12
kt -exportcert -rfc -alias other -keystore "$pki/other.p12" -file "$pki/other.pem"
kt -genkeypair -alias server -keyalg RSA -keysize 2048 -dname "CN=127.0.0.1" -validity 30 -keystore "$pki/server.p12" -storetype PKCS12
kt -certreq -alias server -keystore "$pki/server.p12" -file "$pki/server.csr"
kt -gencert -alias ca -keystore "$pki/ca.p12" -infile "$pki/server.csr" -outfile "$pki/server.pem" -rfc -ext san=ip:127.0.0.1 -validity 30
cat "$pki/server.pem" "$pki/ca.pem" > "$pki/chain.pem"
kt -importcert -alias ca -file "$pki/ca.pem" -keystore "$pki/server.p12"
kt -importcert -alias server -file "$pki/chain.pem" -keystore "$pki/server.p12"
kt -importcert -alias ca -file "$pki/ca.pem" -keystore "$pki/ca-trust.p12" -storetype PKCS12
kt -importcert -alias other -file "$pki/other.pem" -keystore "$pki/other-trust.p12" -storetype PKCS12
"$K/bin/kotlinc" -nowarn -cp /usr/share/java/jna.jar android/src/main/kotlin/app/liveupdate/liveupdate.kt \
  android/src/main/java/app/liveupdate/capacitor/PlatformTrust.kt android/src/main/java/app/liveupdate/capacitor/PlatformHttp.kt \
  tests/bindings/kotlin-tls/TlsMain.kt -d "$work/tls.jar" 2>&1 | grep -v '^warning' || true
[ -f "$work/tls.jar" ] || { echo "test-kotlin: TLS test compilation failed" >&2; exit 1; }
env -u SSL_CERT_FILE -u SSL_CERT_DIR java -Djna.library.path="$PWD/target/debug" \
  -cp "$work/tls.jar:/usr/share/java/jna.jar:$K/lib/kotlin-stdlib.jar" TlsMainKt "$pki" "$PWD/$S"
