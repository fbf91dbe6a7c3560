#!/usr/bin/env python3
"""The example app's update, driven through `liveupdate device … session` exactly as the native shells drive
the engine: the app's own capacitor.config.json and builtin www (0.9.0), the registry of serve-v2.sh (2.0.0).
foreground → download → background install → the new page confirms with its token → 2.0.0 success.
Usage: e2e-session.py LIVEUPDATE_BINARY [REGISTRY_URL]: with a registry URL (serve-v2.sh's $REGISTRY_URL on a
free port), the config's updateUrl is pointed at it. Exits 0 on success. Every wait is bounded."""
import json, os, queue, shutil, subprocess, sys, tempfile, threading, time

here = os.path.dirname(os.path.abspath(__file__))
data = tempfile.mkdtemp()
config = os.path.join(here, "capacitor.config.json")
if len(sys.argv) > 2:
    c = json.load(open(config))
    c["plugins"]["CapacitorUpdater"]["updateUrl"] = sys.argv[2].rstrip("/") + "/updates"
    config = os.path.join(data, "capacitor.config.json")
    json.dump(c, open(config, "w"))
p = subprocess.Popen([sys.argv[1], "device", "--data-dir", os.path.join(data, "device"), "--builtin", os.path.join(here, "www"),
                      "--config", config, "--native-version", "0.9.0", "session"],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
lines = queue.Queue()
threading.Thread(target=lambda: [lines.put(json.loads(l)) for l in p.stdout], daemon=True).start()

def send(o):
    p.stdin.write(json.dumps(o) + "\n")
    p.stdin.flush()

def until(what, pred, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        try:
            m = lines.get(timeout=0.2)
        except queue.Empty:
            continue
        if pred(m):
            return m
    sys.exit(f"timed out waiting for {what}")

load = until("load", lambda m: m.get("host") == "load")
assert load["bundle"]["id"] == "builtin" and load["bundle"]["version"] == "0.9.0", load
send({"lifecycle": "foreground"})
ready = until("appReady", lambda m: m.get("event") == "appReady")
assert ready["data"]["status"] == "update downloaded, will install next background", ready
send({"lifecycle": "background"})
page = until("reload", lambda m: m.get("host") == "reload")
assert page["bundle"]["version"] == "2.0.0" and os.path.isfile(os.path.join(page["webRoot"], "index.html")), page
assert "liveupdate-example ready" in open(os.path.join(page["webRoot"], "index.html")).read()
send({"id": 1, "method": "notifyAppReady", "options": {"launchId": page["launchId"]}})
r = until("answer", lambda m: m.get("id") == 1)
assert r["resolve"]["bundle"]["status"] == "success", r
p.stdin.close()
p.wait(timeout=20)
shutil.rmtree(data, ignore_errors=True)
print("example app: 0.9.0 → 2.0.0, confirmed by its new page")
