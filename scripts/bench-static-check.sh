#!/usr/bin/env bash
# Requests and bytes on the wire of static-channel checks (docs/static-channels.md): publishes a
# release with the Capgo CLI fixture key, serves the site with Python's plain http.server behind a
# byte-counting loopback proxy, and runs `device … update` three times: the first check (the
# release is offered and installed), the next one (up to date: file and .sig read again, the
# validators kept), and a conditional one (304). Prints one line per check.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --workspace --locked -q
LU=$PWD/target/debug/liveupdate
S=$PWD/tests/fixtures/capgo/set-a-small
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/www" "$work/app/js"
echo '<html>builtin</html>' > "$work/www/index.html"
echo '<html>app 1.0.1</html>' > "$work/app/index.html"
head -c 200000 /dev/urandom | base64 > "$work/app/js/vendor.js"
"$LU" publish --site "$work/site" --channel production --version 1.0.1 --bundle "$work/app" \
  --private-key "$S/capgo_key_v2" --app-id com.example.liveupdate >/dev/null
(cd "$work/site" && exec python3 -u -m http.server 0 --bind 127.0.0.1 > "$work/http.log" 2>&1) &
for _ in $(seq 1 100); do grep -q 'port' "$work/http.log" 2>/dev/null && break; sleep 0.1; done
port=$(grep -o 'port [0-9]*' "$work/http.log" | head -n 1 | cut -d' ' -f2)
python3 - "$port" "$work/proxy" <<'PY' &
import socket, sys, threading
up, out = int(sys.argv[1]), sys.argv[2]
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(16)
open(out + ".port", "w").write(str(srv.getsockname()[1]))
lock = threading.Lock()
def pipe(a, b, key):
    while True:
        d = a.recv(65536)
        if not d: break
        with lock:
            n = dict(l.split() for l in open(out).read().split("\n") if l) if __import__("os").path.exists(out) else {}
            n[key] = str(int(n.get(key, "0")) + len(d))
            n["conns"] = n.get("conns", "0")
            open(out, "w").write("\n".join(f"{k} {v}" for k, v in n.items()))
        b.sendall(d)
    try: b.shutdown(socket.SHUT_WR)
    except OSError: pass
while True:
    c, _ = srv.accept()
    u = socket.create_connection(("127.0.0.1", up))
    threading.Thread(target=pipe, args=(c, u, "sent"), daemon=True).start()
    threading.Thread(target=pipe, args=(u, c, "received"), daemon=True).start()
PY
for _ in $(seq 1 100); do [ -f "$work/proxy.port" ] && break; sleep 0.1; done
pport=$(cat "$work/proxy.port")
python3 - "$pport" "$S/capgo_key_v2.pub" "$work/cap.json" <<'PY'
import json, sys
json.dump({"appId": "com.example.liveupdate", "plugins": {"CapacitorUpdater": {
    "updateProtocol": "static", "updateUrl": f"http://127.0.0.1:{sys.argv[1]}/",
    "publicKey": open(sys.argv[2]).read(), "directUpdate": "always"}}}, open(sys.argv[3], "w"))
PY
for what in "first check (offered, installed)" "next check (up to date)" "conditional check"; do
  rm -f "$work/proxy"
  n0=$(grep -c '"GET' "$work/http.log" || true)
  result=$("$LU" device --data-dir "$work/data" --builtin "$work/www" --config "$work/cap.json" --native-version 1.0 update \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"])')
  sleep 0.3
  reqs=$(tail -n +$((n0 + 1)) <(grep '"GET' "$work/http.log") | sed 's/.*"GET \([^ ]*\) HTTP[^"]*" \([0-9]*\).*/\1 \2/' | tr '\n' ',' | sed 's/,$//')
  sent=$(grep sent "$work/proxy" | cut -d' ' -f2); recv=$(grep received "$work/proxy" | cut -d' ' -f2)
  echo "$what: result $result; requests: $reqs; bytes sent $sent, received $recv"
done
