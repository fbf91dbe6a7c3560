//! `liveupdate device … session` driven as an outside program drives it: JSON lines in and out of
//! the real binary, against a loopback Capgo-protocol server.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
#[path = "common/fault_server.rs"]
mod fault_server;

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use common::*;
use fault_server::FaultServer;
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(20);

struct Session {
    child: Child,
    stdin: Option<ChildStdin>,
    rx: Receiver<Value>,
    seen: Vec<Value>,
}

impl Session {
    fn start(data: &Path, www: &Path, config: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_liveupdate"))
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
    _tmp: tempfile::TempDir,
    data: PathBuf,
    www: PathBuf,
    config: PathBuf,
    server: FaultServer,
    set: CapgoSet,
}

impl Env {
    fn new(extra: Value) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let www = tmp.path().join("www");
        fs::create_dir(&www).unwrap();
        fs::write(www.join("index.html"), "<html>builtin</html>").unwrap();
        let set = capgo_set("set-a-small");
        let server = FaultServer::start(fs::read(&set.encrypted_zip).unwrap());
        let mut p = json!({
            "updateUrl": server.url("/updates"),
            "statsUrl": server.url("/stats"),
            "channelUrl": server.url("/channel_self"),
            "publicKey": set.public_pem,
            "appReadyTimeout": 1000,
            "responseTimeout": 2,
            "autoUpdate": false,
        });
        for (k, v) in extra.as_object().unwrap() {
            p[k] = v.clone();
        }
        let config = tmp.path().join("capacitor.config.json");
        fs::write(
            &config,
            json!({"appId": "com.example.liveupdate", "plugins": {"CapacitorUpdater": p}})
                .to_string(),
        )
        .unwrap();
        Self {
            data: tmp.path().join("data"),
            www,
            config,
            server,
            set,
            _tmp: tmp,
        }
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
