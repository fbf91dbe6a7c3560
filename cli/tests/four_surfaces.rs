//! One flow behind every surface: the same scenarios — `directUpdate` `always`, `atInstall`, `onLaunch`, a failed version re-offered with the same and with other content, a downgrade refused — driven through `device … session`, `device update`, the C ABI and the typed UniFFI API end in the same outcomes, the same bundles and the same update stats.
//!
//! Each step is one app process: a launch, `notifyAppReady` (unless the step plays a crash),
//! one update cycle, and — when the update applied a bundle at once — the reload onto it, as
//! a host does. The session drives the managed engine (`load`, a `foreground` that runs the
//! cycle, `reload`); the three headless surfaces call `launch`, `notify_app_ready`, `update`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, unsafe_code)]

use std::ffi::{CStr, CString, c_char};
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

use liveupdate::c_api;
use liveupdate::ffi::{UpdateResult, Updater, UpdaterOptions};
use liveupdate_test_support::*;
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, Debug, PartialEq)]
enum Surface {
    Session,
    DeviceUpdate,
    CAbi,
    Uniffi,
}

const SURFACES: [Surface; 4] = [
    Surface::Session,
    Surface::DeviceUpdate,
    Surface::CAbi,
    Surface::Uniffi,
];

/// Two different bundles signed with the fixtures' key A: (encrypted zip, session key, checksum).
struct Bundles {
    a: (Vec<u8>, String, String),
    b: (Vec<u8>, String, String),
}

fn bundles() -> Bundles {
    let set = capgo_set("set-a-small");
    let a = (
        fs::read(&set.encrypted_zip).unwrap(),
        set.session_key.clone(),
        set.checksum.clone(),
    );
    let mut files = small_app();
    files.push(("fix.js", b"console.log('the fixed build')".to_vec()));
    let zip = writer_zip(&as_refs(&files), ZipStyle::CapgoLike);
    let (cipher, session, checksum) =
        Encryptor::new(&key_a().1).encrypt(&zip, &[7; 16], &[9; 16], ChecksumVersion::V3);
    Bundles {
        a,
        b: (cipher, session, checksum),
    }
}

/// What the server offers at a step.
#[derive(Clone, Copy)]
enum Offer {
    /// Version label and which bundle ('a' or 'b').
    Release(&'static str, char),
}

/// One app process.
#[derive(Clone, Copy)]
struct Step {
    offer: Offer,
    /// The page calls notifyAppReady (false: the process dies before it does).
    ready: bool,
}

fn step(version: &'static str, bundle: char) -> Step {
    Step {
        offer: Offer::Release(version, bundle),
        ready: true,
    }
}

/// What a surface saw and left: per step the outcome (`result` of the typed surfaces, the
/// `appReady` status of the session), and at the end the bundles and update stats.
#[derive(Debug, Clone, PartialEq)]
struct Observed {
    current: String,
    next: Option<String>,
    bundles: Vec<(String, String)>,
    stats: Vec<String>,
}

struct Env {
    app: TestApp,
    config_path: PathBuf,
    config: Value,
}

impl std::ops::Deref for Env {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.app
    }
}

impl Env {
    fn new(extra: &Value, bundles: &Bundles) -> Self {
        let app = TestApp::new(Vec::new());
        app.server.add_file("a.zip", bundles.a.0.clone());
        app.server.add_file("b.zip", bundles.b.0.clone());
        let mut p = app.plugin_config(
            &key_a().0,
            &json!({"appReadyTimeout": 60_000, "responseTimeout": 5}),
        );
        for (k, v) in extra.as_object().unwrap() {
            p[k] = v.clone();
        }
        let config = TestApp::capacitor_config(p);
        let config_path = app.tmp.path().join("capacitor.config.json");
        fs::write(&config_path, config.to_string()).unwrap();
        Self {
            app,
            config_path,
            config,
        }
    }

    fn offer(&self, offer: Offer, bundles: &Bundles) {
        let Offer::Release(version, which) = offer;
        let (key, b) = if which == 'a' {
            ("a.zip", &bundles.a)
        } else {
            ("b.zip", &bundles.b)
        };
        self.server.set_updates(
            200,
            &json!({"version": version, "url": self.server.url(&format!("/files/{key}")),
                    "session_key": b.1, "checksum": b.2})
            .to_string(),
        );
    }

    fn device(&self, args: &[&str]) -> Value {
        let out = cli_command(env!("CARGO_BIN_EXE_liveupdate"))
            .args(["device", "--data-dir"])
            .arg(&self.data)
            .arg("--builtin")
            .arg(&self.www)
            .arg("--config")
            .arg(&self.config_path)
            .args(["--native-version", "1.0"])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        // A failed update exits non-zero with its JSON answer on stdout.
        assert!(
            out.status.success() || (args == ["update"] && !out.stdout.is_empty()),
            "device {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// The data folder's bundles and the update stats the server received (lifecycle stats —
    /// launches, foreground, background — are the hosts' own and differ by surface).
    fn observed(&self) -> Observed {
        let s = self.device(&["status"]);
        let version_of = |b: &Value| b["version"].as_str().unwrap().to_string();
        let mut bundles: Vec<(String, String)> = s["bundles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| (version_of(b), b["status"].as_str().unwrap().to_string()))
            .collect();
        bundles.sort();
        let lifecycle = [
            "app_launch_start",
            "app_launch_ready",
            "app_moved_to_foreground",
            "app_moved_to_background",
        ];
        Observed {
            current: version_of(&s["current"]),
            next: s["next"].as_object().map(|_| version_of(&s["next"])),
            bundles,
            stats: self
                .server
                .stats_actions()
                .into_iter()
                .filter(|a| !lifecycle.contains(&a.as_str()))
                .collect(),
        }
    }
}

/// One app process on `surface`; returns the update's outcome in a surface-neutral word.
fn run_step(surface: Surface, env: &Env, ready: bool) -> String {
    match surface {
        Surface::Session => session_step(env, ready),
        Surface::DeviceUpdate => {
            let l = env.device(&["launch"]);
            if ready {
                env.device(&["ready", l["launch_id"].as_str().unwrap()]);
            }
            let o = env.device(&["update"]);
            headless_after(
                &o,
                ready,
                || env.device(&["launch"]),
                |id| {
                    env.device(&["ready", id]);
                },
            )
        }
        Surface::CAbi => c_step(env, ready),
        Surface::Uniffi => uniffi_step(env, ready),
    }
}

/// The outcome word of a typed surface's update answer (`{"result", "applied", "error"}`), after
/// the host's reload onto a bundle the update applied at once.
fn headless_after(
    o: &Value,
    ready: bool,
    launch: impl FnOnce() -> Value,
    confirm: impl FnOnce(&str),
) -> String {
    let result = o["result"].as_str().unwrap().to_string();
    if result == "installed" && o["applied"] == true {
        let l = launch();
        if ready {
            confirm(l["launch_id"].as_str().unwrap());
        }
        return "applied".into();
    }
    match result.as_str() {
        "installed" => "queued".into(),
        "failed" => format!("failed:{}", o["error"]["code"].as_str().unwrap()),
        other => other.into(),
    }
}

fn session_step(env: &Env, ready: bool) -> String {
    let mut child = cli_command(env!("CARGO_BIN_EXE_liveupdate"))
        .args(["device", "--data-dir"])
        .arg(&env.data)
        .arg("--builtin")
        .arg(&env.www)
        .arg("--config")
        .arg(&env.config_path)
        .args(["--native-version", "1.0", "session"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, rx) = channel::<Value>();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(serde_json::from_str(&line).unwrap()).is_err() {
                break;
            }
        }
    });
    let mut stdin = child.stdin.take().unwrap();
    let mut send = |v: Value| {
        writeln!(stdin, "{v}").unwrap();
        stdin.flush().unwrap();
    };
    let deadline = Instant::now() + T;
    let mut seen: Vec<Value> = Vec::new();
    let until = |seen: &mut Vec<Value>, pred: &dyn Fn(&Value) -> bool| -> Value {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let v = rx
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("session timed out; saw {seen:#?}"));
            seen.push(v.clone());
            if pred(&v) {
                return v;
            }
        }
    };
    let load = until(&mut seen, &|v| v["host"] == "load");
    if ready {
        send(
            json!({"id": 1, "method": "notifyAppReady", "options": {"launchId": load["launchId"]}}),
        );
        until(&mut seen, &|v| v["id"] == 1);
    }
    send(json!({"lifecycle": "foreground"}));
    let app_ready = until(&mut seen, &|v| v["event"] == "appReady");
    let status = app_ready["data"]["status"].as_str().unwrap().to_string();
    // A bundle applied at once reloads the page (before appReady); the new page confirms.
    let reload = seen
        .iter()
        .rfind(|v| v["host"] == "reload")
        .map(|v| v["launchId"].clone());
    if let Some(launch_id) = reload
        && ready
    {
        send(json!({"id": 2, "method": "notifyAppReady", "options": {"launchId": launch_id}}));
        until(&mut seen, &|v| v["id"] == 2);
    }
    drop(stdin);
    let end = Instant::now() + Duration::from_secs(15);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < end, "session did not end");
        std::thread::sleep(Duration::from_millis(20));
    }
    session_outcome(&status)
}

/// The `appReady` status (Capgo's messages) as the typed surfaces' outcome words, without the
/// failure code (JS learns it from the `downloadFailed`/`updateFailed` events instead).
fn session_outcome(status: &str) -> String {
    match status {
        "Update installed" => "applied",
        "update downloaded, will install next background" => "queued",
        "No need to update" => "up_to_date",
        _ => "failed",
    }
    .into()
}

fn c_step(env: &Env, ready: bool) -> String {
    let config = json!({
        "data_dir": env.data, "builtin_dir": env.www, "capacitor_config": env.config,
        "native_version": "1.0",
    });
    let config = CString::new(config.to_string()).unwrap();
    let mut handle = std::ptr::null_mut();
    // SAFETY: a NUL-terminated config and a valid out pointer.
    let rc = unsafe { c_api::liveupdate_create(config.as_ptr(), &mut handle) };
    assert_eq!(rc, 0, "{}", last_error());
    let call = |f: &dyn Fn(*mut *mut c_char) -> i32| -> Value {
        let mut out: *mut c_char = std::ptr::null_mut();
        let rc = f(&mut out);
        assert_eq!(rc, 0, "{}", last_error());
        // SAFETY: on success `out` is a NUL-terminated string the library allocated.
        let text = unsafe { CStr::from_ptr(out) }.to_str().unwrap().to_string();
        // SAFETY: freed once, with the library's own function.
        unsafe { c_api::liveupdate_string_free(out) };
        serde_json::from_str(&text).unwrap()
    };
    // SAFETY (all calls below): `handle` is live until liveupdate_free; strings are NUL-terminated.
    let launch = || call(&|out| unsafe { c_api::liveupdate_launch(handle, out) });
    let confirm = |id: &str| {
        let id = CString::new(id).unwrap();
        call(&|out| unsafe { c_api::liveupdate_notify_ready(handle, id.as_ptr(), out) });
    };
    let l = launch();
    if ready {
        confirm(l["launch_id"].as_str().unwrap());
    }
    let o = call(&|out| unsafe { c_api::liveupdate_update(handle, out) });
    let outcome = headless_after(&o, ready, launch, confirm);
    // SAFETY: the handle is freed once.
    unsafe { c_api::liveupdate_free(handle) };
    outcome
}

fn last_error() -> String {
    let p = c_api::liveupdate_last_error();
    if p.is_null() {
        return String::new();
    }
    // SAFETY: as above, valid until the next call on this thread.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

fn uniffi_step(env: &Env, ready: bool) -> String {
    let u = Updater::new(UpdaterOptions {
        data_dir: env.data.to_string_lossy().into_owned(),
        builtin_dir: env.www.to_string_lossy().into_owned(),
        capacitor_config_json: Some(env.config.to_string()),
        native_version: Some("1.0".into()),
        version_code: String::new(),
        platform: "android".into(),
        os_version: String::new(),
        device_id: None,
        custom_id: String::new(),
        is_emulator: false,
        is_prod: true,
        update_url: None,
        stats_url: None,
        channel_url: None,
        allow_insecure: false,
        leftover_paths: vec![],
    })
    .unwrap();
    let l = u.launch().unwrap();
    if ready {
        u.notify_app_ready(l.launch_id.clone()).unwrap();
    }
    let o = match u.update().unwrap() {
        UpdateResult::Installed { applied, .. } => {
            json!({"result": "installed", "applied": applied})
        }
        UpdateResult::UpToDate { .. } => json!({"result": "up_to_date"}),
        UpdateResult::Builtin => json!({"result": "builtin"}),
        UpdateResult::Blocked { .. } => json!({"result": "blocked"}),
        UpdateResult::Failed { code, .. } => json!({"result": "failed", "error": {"code": code}}),
    };
    let outcome = headless_after(
        &o,
        ready,
        || json!({"launch_id": u.launch().unwrap().launch_id}),
        |id| {
            u.notify_app_ready(id.to_string()).unwrap();
        },
    );
    drop(u);
    outcome
}

/// Runs `steps` on every surface (each on a fresh data folder and server) and checks that they
/// agree; returns the common observation and per-step outcomes of the typed surfaces.
fn agree(name: &str, extra: Value, steps: &[Step]) -> (Observed, Vec<String>) {
    let b = bundles();
    let mut results: Vec<(Surface, Vec<String>, Observed)> = Vec::new();
    for surface in SURFACES {
        let env = Env::new(&extra, &b);
        let mut outcomes = Vec::new();
        for s in steps {
            env.offer(s.offer, &b);
            outcomes.push(run_step(surface, &env, s.ready));
        }
        results.push((surface, outcomes, env.observed()));
    }
    let (_, typed, first) = &results[1];
    let (typed, first) = (typed.clone(), first.clone());
    for (surface, outcomes, observed) in &results {
        assert_eq!(
            observed, &first,
            "{name}: {surface:?} left other bundles or stats than device update"
        );
        if *surface == Surface::Session {
            let coarse: Vec<String> = typed
                .iter()
                .map(|o| o.split(':').next().unwrap().to_string())
                .collect();
            assert_eq!(outcomes, &coarse, "{name}: the session's appReady statuses");
        } else {
            assert_eq!(outcomes, &typed, "{name}: {surface:?} outcomes");
        }
    }
    println!(
        "{name}: {typed:?}, session said {:?}; {first:?}",
        results[0].1
    );
    (first, typed)
}

#[test]
fn direct_update_always_applies_at_once_everywhere() {
    let (o, outcomes) = agree(
        "always",
        json!({"directUpdate": "always"}),
        &[step("1.1.0", 'a'), step("1.1.0", 'a'), step("1.2.0", 'b')],
    );
    assert_eq!(outcomes, ["applied", "up_to_date", "applied"]);
    assert_eq!(o.current, "1.2.0");
    assert!(o.stats.iter().filter(|a| *a == "set").count() >= 2, "{o:?}");
}

#[test]
fn direct_update_at_install_applies_only_in_the_first_check_after_the_install() {
    let (o, outcomes) = agree(
        "atInstall",
        json!({"directUpdate": "atInstall"}),
        &[step("1.1.0", 'a'), step("1.2.0", 'b')],
    );
    assert_eq!(outcomes, ["applied", "queued"]);
    assert_eq!(
        (o.current.as_str(), o.next.as_deref()),
        ("1.1.0", Some("1.2.0"))
    );
}

#[test]
fn direct_update_on_launch_applies_in_each_process_first_check() {
    let (o, outcomes) = agree(
        "onLaunch",
        json!({"directUpdate": "onLaunch"}),
        &[step("1.1.0", 'a'), step("1.2.0", 'b')],
    );
    assert_eq!(outcomes, ["applied", "applied"]);
    assert_eq!(o.current, "1.2.0");
}

#[test]
fn a_failed_version_is_refused_with_the_same_content_and_taken_with_other_content() {
    let crash = Step {
        offer: Offer::Release("1.1.0", 'a'),
        ready: false,
    };
    let (o, outcomes) = agree(
        "known-bad",
        json!({"autoUpdate": "atBackground"}),
        &[
            step("1.1.0", 'a'),
            // The next start applies 1.1.0; the page never confirms.
            crash,
            // Rolled back at this start; the same bundle again is refused without a download.
            step("1.1.0", 'a'),
            // The same version name with other content (a fixed build): taken.
            step("1.1.0", 'b'),
        ],
    );
    assert_eq!(
        outcomes,
        ["queued", "up_to_date", "failed:known_bad_version", "queued"]
    );
    assert!(o.stats.contains(&"update_fail".to_string()), "{o:?}");
    assert_eq!(
        o.current, "1.0",
        "back on the builtin bundle (its version is the native one)"
    );
    assert_eq!(o.next.as_deref(), Some("1.1.0"));
    // Refused before any transfer: no `download_0` for the refused step.
    let refused_at = o.stats.iter().position(|a| a == "update_fail").unwrap();
    assert_eq!(o.stats[refused_at + 1], "download_fail", "{o:?}");
    assert!(
        o.bundles.contains(&("1.1.0".into(), "error".into())),
        "{o:?}"
    );
    assert!(
        o.bundles.contains(&("1.1.0".into(), "pending".into())),
        "{o:?}"
    );
}

#[test]
fn a_downgrade_is_refused_everywhere_when_the_policy_says_so() {
    let (o, outcomes) = agree(
        "downgrade",
        json!({"directUpdate": "always", "downgradePolicy": "refuse"}),
        &[step("2.0.0", 'a'), step("1.9.0", 'b')],
    );
    assert_eq!(outcomes[0], "applied");
    assert!(outcomes[1].starts_with("failed:"), "{outcomes:?}");
    assert_eq!(o.current, "2.0.0");
}
