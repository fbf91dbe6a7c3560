#!/usr/bin/env python3
"""Takes one update through `liveupdate device … session` as a phone's shell would, and checks it:
the app starts on its builtin bundle, {"lifecycle":"foreground"} makes the engine check and download,
{"lifecycle":"background"} installs, the new page confirms with its launch token.
Usage: session-update.py LIVEUPDATE CONFIG_JSON WWW NATIVE_VERSION EXPECTED_VERSION. Every wait is bounded.
Prints the session's lines with --verbose. Exits 0 when EXPECTED_VERSION is confirmed."""
import json, os, queue, shutil, subprocess, sys, tempfile, threading, time

binary, config, www, native, expected = sys.argv[1:6]
verbose = "--verbose" in sys.argv
# LIVEUPDATE_SESSION_DATA: a data folder kept across runs (a device taking several updates).
keep = os.environ.get("LIVEUPDATE_SESSION_DATA")
data = keep or tempfile.mkdtemp(prefix="liveupdate-session-")
# LIVEUPDATE_TEST_RUNNER: an emulator to run the binary with (cross-compiled test runs).
runner = os.environ.get("LIVEUPDATE_TEST_RUNNER", "").split()
# Under an emulator every step runs 5-20x slower, beside the host's own tests: each wait gets 4x.
room = 4 if runner else 1
p = subprocess.Popen(runner + [binary, "device", "--data-dir", data, "--builtin", www, "--config", config,
                      "--native-version", native, "session"],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
lines = queue.Queue()

def read():
    for l in p.stdout:
        if verbose:
            print("  <", l.rstrip())
        lines.put(json.loads(l))

threading.Thread(target=read, daemon=True).start()

def send(o):
    if verbose:
        print("  >", json.dumps(o))
    p.stdin.write(json.dumps(o) + "\n")
    p.stdin.flush()

def until(what, pred, timeout=30):
    end = time.time() + timeout * room
    while time.time() < end:
        try:
            m = lines.get(timeout=0.2)
        except queue.Empty:
            continue
        if pred(m):
            return m
    p.kill()
    sys.exit(f"timed out waiting for {what}")

try:
    load = until("load", lambda m: m.get("host") == "load")
    assert keep or load["bundle"]["id"] == "builtin", load
    send({"lifecycle": "foreground"})
    done = until("downloadComplete", lambda m: m.get("event") in ("downloadComplete", "downloadFailed", "updateFailed"))
    assert done["event"] == "downloadComplete", done
    send({"lifecycle": "background"})
    page = until("reload", lambda m: m.get("host") == "reload")
    assert page["bundle"]["version"] == expected, page
    assert os.path.isfile(os.path.join(page["webRoot"], "index.html")), page
    send({"id": 1, "method": "notifyAppReady", "options": {"launchId": page["launchId"]}})
    r = until("answer", lambda m: m.get("id") == 1)
    assert r["resolve"]["bundle"]["status"] == "success", r
    p.stdin.close()
    p.wait(timeout=20 * room)
    print(f"updated to {expected} and confirmed by its page")
finally:
    if p.poll() is None:
        p.kill()
    if not keep:
        shutil.rmtree(data, ignore_errors=True)
