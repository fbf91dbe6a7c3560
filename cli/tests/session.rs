//! `liveupdate device … session` driven as an outside program drives it: JSON lines in and out of
//! the real binary, against a loopback Capgo-protocol server.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use liveupdate_test_support::*;
use serde_json::{Value, json};

// The launcher `run_measured` relaunches this test binary with.
liveupdate_test_support::measure_launcher!();

const T: Duration = Duration::from_secs(20);

struct Session {
    child: Child,
    stdin: Option<ChildStdin>,
    rx: Receiver<Value>,
    seen: Vec<Value>,
}

impl Session {
    fn start(data: &Path, www: &Path, config: &Path) -> Self {
        let mut child = cli_command(env!("CARGO_BIN_EXE_liveupdate"))
            .args(["device", "--data-dir"])
            .arg(data)
            .arg("--builtin")
            .arg(www)
            .arg("--config")
            .arg(config)
            .args(["--native-version", "1.0", "session"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(if std::env::var_os("SESSION_STDERR").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                let v: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}"));
                if tx.send(v).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        Self {
            child,
            stdin,
            rx,
            seen: Vec::new(),
        }
    }

    fn send_raw(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    fn send(&mut self, v: Value) {
        self.send_raw(&v.to_string());
    }

    /// The next line satisfying `pred` (bounded wait); every line read is kept in `seen`.
    fn until(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + T;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(v) => {
                    self.seen.push(v.clone());
                    if pred(&v) {
                        return v;
                    }
                }
                Err(_) => panic!("timed out waiting for {what}; saw {:#?}", self.seen),
            }
        }
    }

    fn call(&mut self, id: u64, method: &str, options: Value) -> Value {
        self.send(json!({"id": id, "method": method, "options": options}));
        self.until(method, |v| v["id"] == id)
    }

    /// A call's resolved value (fails the test on a reject).
    fn resolve(&mut self, id: u64, method: &str, options: Value) -> Value {
        let a = self.call(id, method, options);
        assert!(a.get("reject").is_none(), "{method} rejected: {a}");
        a["resolve"].clone()
    }

    /// Closes stdin (the OS ends the process) and waits for the exit code (bounded).
    fn end(mut self) -> i32 {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s.code().unwrap_or(-1);
            }
            assert!(Instant::now() < deadline, "session did not end");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

struct Env {
    app: TestApp,
    config: PathBuf,
    set: CapgoSet,
}

impl std::ops::Deref for Env {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.app
    }
}

impl Env {
    fn new(extra: Value) -> Self {
        let set = capgo_set("set-a-small");
        let app = TestApp::new(fs::read(&set.encrypted_zip).unwrap());
        let mut p = app.plugin_config(
            &set.public_pem,
            &json!({"appReadyTimeout": 1000, "responseTimeout": 2, "autoUpdate": false}),
        );
        for (k, v) in extra.as_object().unwrap() {
            p[k] = v.clone();
        }
        let config = app.tmp.path().join("capacitor.config.json");
        fs::write(&config, TestApp::capacitor_config(p).to_string()).unwrap();
        Self { app, config, set }
    }

    fn session(&self) -> Session {
        Session::start(&self.data, &self.www, &self.config)
    }
}

#[test]
fn protocol_load_first_answers_in_order_garbage_and_unknown_methods() {
    let env = Env::new(json!({}));
    let mut s = env.session();
    let first = s.until("load", |_| true);
    assert_eq!(
        first["host"], "load",
        "the first line is the load action: {first}"
    );
    assert_eq!(first["bundle"]["id"], "builtin");
    assert!(Path::new(first["webRoot"].as_str().unwrap()).is_absolute());
    assert!(first["launchId"].as_str().unwrap().len() >= 16);
    // Several calls written at once are answered once each, in order.
    for (i, m) in [
        "getPluginVersion",
        "current",
        "getAppId",
        "isAutoUpdateEnabled",
    ]
    .iter()
    .enumerate()
    {
        s.send(json!({"id": i + 1, "method": m}));
    }
    s.send_raw("this is not json");
    s.send_raw(r#"{"id": 9}"#);
    s.send_raw(r#"{"lifecycle": "sideways"}"#);
    s.send_raw(r#"[1, 2]"#);
    s.send(json!({"id": 5, "method": "frobnicate"}));
    s.send(json!({"id": 6, "method": "getBuiltinVersion"}));
    s.until("last answer", |v| v["id"] == 6);
    let answers: Vec<u64> = s.seen.iter().filter_map(|v| v["id"].as_u64()).collect();
    assert_eq!(answers, vec![1, 2, 3, 4, 5, 6]);
    let errors = s.seen.iter().filter(|v| v.get("error").is_some()).count();
    assert_eq!(errors, 4, "{:#?}", s.seen);
    let unknown = s.seen.iter().find(|v| v["id"] == 5).unwrap();
    assert_eq!(unknown["reject"]["code"], "UNIMPLEMENTED");
    assert_eq!(
        s.seen.iter().find(|v| v["id"] == 1).unwrap()["resolve"]["version"],
        "8.51.23"
    );
    assert_eq!(s.end(), 0);
    // Queued stats were delivered before the process ended.
    assert!(
        env.server
            .stats_actions()
            .contains(&"app_launch_start".to_string())
    );
}

#[test]
fn held_out_style_scenario_rollback_then_confirmed_bundle_kept() {
    let env = Env::new(json!({}));
    env.server
        .offer("1.1.0", &env.set.session_key, &env.set.checksum);
    let mut s = env.session();
    let load = s.until("load", |v| v["host"] == "load");
    s.resolve(1, "notifyAppReady", json!({}));
    let latest = s.resolve(2, "getLatest", json!({}));
    let b = s.resolve(
        3,
        "download",
        json!({"url": latest["url"], "version": latest["version"],
               "sessionKey": latest["sessionKey"], "checksum": latest["checksum"]}),
    );
    assert_eq!(b["status"], "pending");
    s.resolve(4, "next", json!({"id": b["id"]}));
    s.send(json!({"lifecycle": "background"}));
    let page = s.until("reload", |v| v["host"] == "reload");
    assert_eq!(page["bundle"]["id"], b["id"]);
    // The old page's notifyAppReady is ignored...
    let r = s.resolve(5, "notifyAppReady", json!({"launchId": load["launchId"]}));
    assert_eq!(r["bundle"]["status"], "pending");
    // ...so the watchdog rolls back.
    let failed = s.until("updateFailed", |v| v["event"] == "updateFailed");
    assert_eq!(failed["data"]["bundle"]["id"], b["id"]);
    let back = s.until("reload to builtin", |v| {
        v["host"] == "reload" && v["bundle"]["id"] == "builtin"
    });
    assert_ne!(back["launchId"], page["launchId"]);
    let f = s.resolve(6, "getFailedUpdate", json!({}));
    assert_eq!(f["bundle"]["id"], b["id"]);
    assert_eq!(s.resolve(7, "getFailedUpdate", json!({})), Value::Null);
    assert_eq!(s.end(), 0);
    let stats = env.server.stats_actions();
    for a in ["set_next", "set", "update_fail", "app_launch_timeout"] {
        assert!(stats.contains(&a.to_string()), "{a} missing: {stats:?}");
    }

    // Second process: a new version, confirmed by the right page, kept across a restart.
    env.server
        .offer("1.2.0", &env.set.session_key, &env.set.checksum);
    let mut s = env.session();
    s.until("load", |v| v["host"] == "load");
    let b = s.resolve(
        1,
        "download",
        json!({"url": env.server.url("/bundle.zip"), "version": "1.2.0",
               "sessionKey": env.set.session_key, "checksum": env.set.checksum}),
    );
    s.resolve(2, "set", json!({"id": b["id"]}));
    // `set` resolves once the web view was pointed at the bundle: the reload came first.
    let page = s
        .seen
        .iter()
        .find(|v| v["host"] == "reload" && v["bundle"]["id"] == b["id"])
        .cloned()
        .expect("reload before the set answer");
    let r = s.resolve(3, "notifyAppReady", json!({"launchId": page["launchId"]}));
    assert_eq!(r["bundle"]["status"], "success");
    assert_eq!(s.end(), 0);
    let mut s = env.session();
    let load = s.until("load", |v| v["host"] == "load");
    assert_eq!(load["bundle"]["id"], b["id"]);
    assert_eq!(load["bundle"]["status"], "success");
    assert_eq!(s.end(), 0);
}

#[test]
fn auto_update_at_background_from_foreground_to_no_need_update() {
    let env = Env::new(json!({"autoUpdate": "atBackground"}));
    env.server
        .offer("1.1.0", &env.set.session_key, &env.set.checksum);
    let mut s = env.session();
    s.until("load", |v| v["host"] == "load");
    s.send(json!({"lifecycle": "foreground"}));
    let ready = s.until("appReady", |v| v["event"] == "appReady");
    assert_eq!(
        ready["data"]["status"],
        "update downloaded, will install next background"
    );
    s.send(json!({"lifecycle": "background"}));
    let page = s.until("reload", |v| v["host"] == "reload");
    assert_eq!(page["bundle"]["version"], "1.1.0");
    s.resolve(1, "notifyAppReady", json!({"launchId": page["launchId"]}));
    s.send(json!({"lifecycle": "foreground"}));
    s.until("noNeedUpdate", |v| {
        v["event"] == "noNeedUpdate" && v["data"]["bundle"]["version"] == "1.1.0"
    });
    assert_eq!(s.end(), 0);
}

#[test]
fn end_of_input_cancels_a_stalled_download_and_the_process_ends() {
    // A long stall timeout: only the end of the process can stop this transfer.
    let env = Env::new(json!({"responseTimeout": 120}));
    env.server.faults(vec![fault_server::Fault::StallAfter(
        1000,
        Duration::from_secs(90),
    )]);
    let mut s = env.session();
    s.until("load", |v| v["host"] == "load");
    s.send(json!({"id": 1, "method": "download", "options": {
        "url": env.server.url("/bundle.zip"), "version": "1.1.0",
        "sessionKey": env.set.session_key, "checksum": env.set.checksum}}));
    s.send(json!({"id": 2, "method": "getPluginVersion"}));
    // Wait until the transfer has started, then the OS "ends the process".
    s.until("download started", |v| v["event"] == "download");
    let started = Instant::now();
    drop(s.stdin.take());
    let answer = s.until("download answer", |v| v["id"] == 1);
    assert!(answer.get("reject").is_some(), "{answer}");
    s.until("second answer", |v| v["id"] == 2);
    let code = s.end();
    assert_eq!(code, 0);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(25), "ended after {took:?}");
    // Nothing half-downloaded became a bundle.
    let data = env.data.join("bundles");
    let left: Vec<_> = fs::read_dir(&data)
        .map(|d| d.flatten().collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn bad_bytes_long_lines_and_inexact_ids_get_an_error_and_the_session_goes_on() {
    let env = Env::new(json!({}));
    let mut s = env.session();
    s.until("load", |v| v["host"] == "load");
    // Not UTF-8: an error line, not the end of the session.
    {
        let stdin = s.stdin.as_mut().unwrap();
        stdin
            .write_all(b"{\"id\": 1, \"method\": \"current\xff\"}\n")
            .unwrap();
        stdin.flush().unwrap();
    }
    let e = s.until("utf-8 error", |v| v.get("error").is_some());
    assert!(e["error"].as_str().unwrap().contains("UTF-8"), "{e}");
    // A line over the 4 MiB cap: an error, skipped to its newline.
    s.send_raw(&format!(
        r#"{{"id": 2, "method": "setCustomId", "options": {{"customId": "{}"}}}}"#,
        "x".repeat(5 * 1024 * 1024)
    ));
    let e = s.until("long line error", |v| v.get("error").is_some());
    assert!(e["error"].as_str().unwrap().contains("longer than"), "{e}");
    // Ids: a number JSON cannot carry exactly is refused; strings and integers come back as sent.
    s.send_raw(r#"{"id": 123456789012345678901234567890, "method": "current"}"#);
    let e = s.until("inexact id error", |v| v.get("error").is_some());
    assert!(e["error"].as_str().unwrap().contains("\"id\""), "{e}");
    s.send_raw(r#"{"id": "call-7", "method": "getAppId"}"#);
    assert_eq!(
        s.until("string id", |v| v.get("id").is_some())["id"],
        "call-7"
    );
    s.send_raw(r#"{"id": 18446744073709551615, "method": "getAppId"}"#);
    let a = s.until("u64 id", |v| v.get("id").is_some());
    assert_eq!(a["id"].to_string(), "18446744073709551615");
    assert_eq!(
        s.resolve(3, "current", json!({}))["bundle"]["id"],
        "builtin"
    );
    assert_eq!(s.end(), 0);
}

#[test]
fn huge_lines_cost_bounded_memory() {
    let env = Env::new(json!({}));
    let mut input = Vec::with_capacity(300 * 1024 * 1024);
    input.extend_from_slice(
        b"{\"id\": 1, \"method\": \"setCustomId\", \"options\": {\"customId\": \"",
    );
    input.resize(100 * 1024 * 1024, b'x');
    input.extend_from_slice(b"\"}}\n{\"id\": 2, \"method\": \"current\"}\n");
    // And a line without a newline up to the end of input.
    input.resize(input.len() + 200 * 1024 * 1024, b'y');
    let mut cmd = cli_command(env!("CARGO_BIN_EXE_liveupdate"));
    cmd.args(["device", "--data-dir"])
        .arg(&env.data)
        .arg("--builtin")
        .arg(&env.www)
        .arg("--config")
        .arg(&env.config)
        .args(["--native-version", "1.0", "session"]);
    let m = run_measured(&mut cmd, &input, Duration::from_secs(120));
    drop(input);
    let out: Vec<Value> = String::from_utf8_lossy(&m.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    eprintln!("peak RSS {:.1} MiB", m.peak_rss as f64 / 1048576.0);
    assert_eq!(m.code, Some(0));
    assert_eq!(
        out.iter().filter(|v| v.get("error").is_some()).count(),
        2,
        "{out:?}"
    );
    assert!(
        out.iter()
            .any(|v| v["id"] == 2 && v.get("resolve").is_some())
    );
    assert!(
        emulated() || m.peak_rss < 48 * 1024 * 1024,
        "300 MB of input took {} B",
        m.peak_rss
    );
}

#[test]
fn every_call_read_before_the_end_of_input_gets_one_answer() {
    // A download that only the end of the process stops, with many calls queued behind it.
    let env = Env::new(json!({"responseTimeout": 120}));
    env.server.faults(vec![fault_server::Fault::StallAfter(
        1000,
        Duration::from_secs(90),
    )]);
    let mut s = env.session();
    s.until("load", |v| v["host"] == "load");
    let mut lines = vec![
        json!({"id": 0, "method": "download", "options": {
            "url": env.server.url("/bundle.zip"), "version": "1.1.0",
            "sessionKey": env.set.session_key, "checksum": env.set.checksum}})
        .to_string(),
    ];
    for i in 1..=2000u64 {
        let call = if i % 2 == 0 {
            json!({"id": i, "method": "setMultiDelay", "options": {"delayConditions": [{"kind": "kill"}]}})
        } else {
            json!({"id": i, "method": "cancelDelay"})
        };
        lines.push(call.to_string());
    }
    s.send_raw(&lines.join("\n"));
    s.until("download started", |v| v["event"] == "download");
    let started = Instant::now();
    drop(s.stdin.take());
    s.until("download answer", |v| v["id"] == 0);
    s.until("last answer", |v| v["id"] == 2000);
    let seen = s.seen.clone();
    assert_eq!(s.end(), 0);
    assert!(
        started.elapsed() < Duration::from_secs(40),
        "{:?}",
        started.elapsed()
    );
    let s = Seen { seen };
    let mut answered = vec![0u32; 2001];
    for v in &s.seen {
        if let Some(id) = v.get("id").and_then(Value::as_u64) {
            answered[id as usize] += 1;
            if id != 0 && v.get("reject").is_some() {
                assert_eq!(v["reject"]["code"], "CANCELLED", "{v}");
            }
        }
    }
    assert!(answered.iter().all(|&n| n == 1), "every call answered once");
    let order: Vec<u64> = s
        .seen
        .iter()
        .filter_map(|v| v.get("id").and_then(Value::as_u64))
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "answers in order");
    let cancelled = s
        .seen
        .iter()
        .filter(|v| v["reject"]["code"] == "CANCELLED")
        .count();
    assert!(cancelled > 0, "the queued calls were cancelled, not run");
}

struct Seen {
    seen: Vec<Value>,
}

#[test]
fn values_js_persists_are_bounded_and_the_state_stays_small() {
    let env = Env::new(json!({"persistCustomId": true, "allowModifyUrl": true,
                              "persistModifyUrl": true}));
    let mut s = env.session();
    s.until("load", |v| v["host"] == "load");
    let reject = |s: &mut Session, id: u64, method: &str, options: Value| {
        let a = s.call(id, method, options);
        assert_eq!(a["reject"]["code"], "INVALID_ARGUMENT", "{method}: {a}");
    };
    reject(
        &mut s,
        1,
        "setCustomId",
        json!({"customId": "c".repeat(257)}),
    );
    let many: Vec<Value> = (0..17).map(|_| json!({"kind": "kill"})).collect();
    reject(&mut s, 2, "setMultiDelay", json!({"delayConditions": many}));
    reject(
        &mut s,
        3,
        "setMultiDelay",
        json!({"delayConditions": [{"kind": "date", "value": "d".repeat(257)}]}),
    );
    reject(
        &mut s,
        4,
        "setUpdateUrl",
        json!({"url": format!("https://x.test/{}", "u".repeat(2048))}),
    );
    reject(&mut s, 5, "setChannel", json!({"channel": "c".repeat(257)}));
    // The largest accepted values, then many calls that queue stats.
    s.resolve(6, "setCustomId", json!({"customId": "c".repeat(256)}));
    let most: Vec<Value> = (0..16)
        .map(|_| json!({"kind": "date", "value": "d".repeat(256)}))
        .collect();
    s.resolve(7, "setMultiDelay", json!({ "delayConditions": most }));
    for (i, m) in ["setUpdateUrl", "setStatsUrl", "setChannelUrl"]
        .iter()
        .enumerate()
    {
        let url = format!("http://127.0.0.1:1/{}", "u".repeat(2000));
        s.resolve(8 + i as u64, m, json!({ "url": url }));
    }
    for i in 0..400u64 {
        s.call(100 + i, "set", json!({"id": "builtin"}));
    }
    assert_eq!(s.end(), 0);
    let mut total = 0;
    for f in ["state.json", "stats.json", "launch.json"] {
        total += fs::metadata(env.data.join(f)).map(|m| m.len()).unwrap_or(0);
    }
    eprintln!("state + stats + launch record: {total} B");
    assert!(total <= 1024 * 1024, "{total} B");
}

#[test]
fn a_second_process_never_rolls_back_the_first_ones_live_launch() {
    // The watchdog is not what this test is about: with the default 10 s, a slow CPU (aarch64
    // under QEMU) could let the second process's own unconfirmed page time out, a rightful
    // rollback that is not the one tested here.
    let env = Env::new(json!({"appReadyTimeout": 120_000}));
    let cli = |args: &[&str]| -> Value {
        let out = cli_command(env!("CARGO_BIN_EXE_liveupdate"))
            .args(["device", "--data-dir"])
            .arg(&env.data)
            .arg("--builtin")
            .arg(&env.www)
            .arg("--config")
            .arg(&env.config)
            .args(["--native-version", "1.0"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let installed = cli(&[
        "install",
        "--in",
        env.set.encrypted_zip.to_str().unwrap(),
        "--version",
        "1.1.0",
        "--checksum",
        &env.set.checksum,
        "--session-key",
        &env.set.session_key,
    ]);
    let id = installed["bundle"]["id"].as_str().unwrap().to_string();
    cli(&["next", &id]);
    // The app's process starts and loads the new bundle (unconfirmed: booting).
    let mut first = env.session();
    let load = first.until("first load", |v| v["host"] == "load");
    assert_eq!(load["bundle"]["id"], id.as_str());
    // A second process on the same data folder (another process of the app, a tool) starts
    // while the first page is alive: it must not take the live launch for a crash.
    let mut second = env.session();
    let load2 = second.until("second load", |v| v["host"] == "load");
    assert_eq!(load2["bundle"]["id"], id.as_str(), "{load2}");
    assert_eq!(
        second.resolve(1, "current", json!({}))["bundle"]["status"],
        "pending"
    );
    assert_eq!(second.end(), 0);
    // The first page confirms later: its bundle becomes success, never known-bad.
    let ready = first.resolve(1, "notifyAppReady", json!({"launchId": load["launchId"]}));
    assert_eq!(ready["bundle"]["status"], "success", "{ready}");
    assert_eq!(first.end(), 0);
    let status = cli(&["status"]);
    assert_eq!(status["current"]["id"], id.as_str(), "{status}");
    assert_eq!(status["current"]["status"], "success", "{status}");
    let state: Value =
        serde_json::from_slice(&fs::read(env.data.join("state.json")).unwrap()).unwrap();
    assert_eq!(state["known_bad"], json!([]), "{state}");
    // And once the first process is gone, a start after an unconfirmed launch still rolls back.
    let again = cli(&[
        "install",
        "--in",
        env.set.encrypted_zip.to_str().unwrap(),
        "--version",
        "1.2.0",
        "--checksum",
        &env.set.checksum,
        "--session-key",
        &env.set.session_key,
    ]);
    let id2 = again["bundle"]["id"].as_str().unwrap().to_string();
    cli(&["next", &id2]);
    let l = cli(&["launch"]);
    assert_eq!(l["bundle"]["id"], id2.as_str());
    let l2 = cli(&["launch"]);
    assert_eq!(l2["rolled_back"]["failed"], id2.as_str(), "{l2}");
}
