# Sourced by the binding test scripts: serves the set-a Capgo fixture with `liveupdate serve` on
# 127.0.0.1 (a free port) and sets REGISTRY_URL. Needs $work (a temp folder) and a built target/debug/liveupdate.
S=tests/fixtures/capgo/set-a-small
mkdir -p "$work/registry"
cp "$S/com.example.liveupdate_1.0.0.zip_encrypted.zip" "$work/registry/"
jq -n --arg sk "$(cat "$S/ivSessionKey.txt")" --arg ck "$(cat "$S/encrypted_checksum.txt")" \
  '{app_id: "com.example.liveupdate", bundles: [{version: "1.0.0", file: "com.example.liveupdate_1.0.0.zip_encrypted.zip", session_key: $sk, checksum: $ck}]}' \
  > "$work/registry/liveupdate-registry.json"
target/debug/liveupdate serve --dir "$work/registry" --port 0 2> "$work/serve.log" &
server=$!
REGISTRY_URL=""
for _ in $(seq 1 100); do
  REGISTRY_URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/serve.log" | head -n 1 || true)
  [ -n "$REGISTRY_URL" ] && break
  sleep 0.1
done
[ -n "$REGISTRY_URL" ] || { echo "the dev registry did not start" >&2; cat "$work/serve.log" >&2; exit 1; }
