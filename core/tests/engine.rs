//! The plugin engine driven as a Capacitor host drives it (JS calls, lifecycle, a recording host)
//! against a real loopback server: results and rejects, events, host actions, auto-update modes,
//! background install, watchdog rollback, stale tokens, delay conditions, channels and stats.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use liveupdate::{Engine, EngineOptions, Host, HostAction, HostOptions};
use liveupdate_test_support::*;
use serde_json::{Value, json};

/// Records everything the engine tells the host, in order.
#[derive(Default)]
struct Rec {
    lines: Mutex<Vec<Value>>,
    cv: Condvar,
}

impl Host for Rec {
    fn event(&self, name: &str, data: &Value) {
        self.lines
            .lock()
            .unwrap()
            .push(json!({"event": name, "data": data}));
        self.cv.notify_all();
    }
    fn action(&self, action: &HostAction) {
        self.lines.lock().unwrap().push(action.to_json());
        self.cv.notify_all();
    }
}

impl Rec {
    fn all(&self) -> Vec<Value> {
        self.lines.lock().unwrap().clone()
    }
    fn clear(&self) {
        self.lines.lock().unwrap().clear();
    }
    /// Waits (bounded) until a recorded line satisfies `pred`; returns it.
    fn wait(&self, what: &str, timeout: Duration, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + timeout;
        let mut lines = self.lines.lock().unwrap();
        loop {
            if let Some(v) = lines.iter().find(|v| pred(v)) {
                return v.clone();
            }
            let now = Instant::now();
            assert!(
                now < deadline,
                "timed out waiting for {what}; got {lines:#?}"
            );
            lines = self.cv.wait_timeout(lines, deadline - now).unwrap().0;
        }
    }
    fn wait_event(&self, name: &str, timeout: Duration) -> Value {
        self.wait(name, timeout, |v| v["event"] == name)["data"].clone()
    }
    fn events(&self) -> Vec<String> {
        self.all()
            .iter()
            .filter_map(|v| v["event"].as_str().map(String::from))
            .collect()
    }
    fn actions(&self) -> Vec<Value> {
        self.all()
            .into_iter()
            .filter(|v| v.get("host").is_some())
            .collect()
    }
}

struct Env {
    app: TestApp,
    set: CapgoSet,
}

impl std::ops::Deref for Env {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.app
    }
}

const T: Duration = Duration::from_secs(20);

impl Env {
    fn new() -> Self {
        let set = capgo_set("set-a-small");
        Self {
            app: TestApp::new(fs::read(&set.encrypted_zip).unwrap()),
            set,
        }
    }

    /// `plugins.CapacitorUpdater` with the server's URLs, the fixture key and `extra` merged in.
    fn config(&self, extra: Value) -> String {
        let mut p = self.plugin_config(
            &self.set.public_pem,
            &json!({"appReadyTimeout": 1000, "responseTimeout": 2, "autoUpdate": false}),
        );
        for (k, v) in extra.as_object().unwrap() {
            p[k] = v.clone();
        }
        TestApp::capacitor_config(p).to_string()
    }

    fn start(&self, extra: Value) -> (Engine, Arc<Rec>) {
        self.start_with(extra, |_| {})
    }

    /// `start` with the host's identity adjusted by `edit`.
    fn start_with(
        &self,
        extra: Value,
        edit: impl FnOnce(&mut EngineOptions),
    ) -> (Engine, Arc<Rec>) {
        let rec = Arc::new(Rec::default());
        let mut o = HostOptions {
            data_dir: self.data.to_string_lossy().into_owned(),
            builtin_dir: self.www.to_string_lossy().into_owned(),
            capacitor_config_json: Some(self.config(extra)),
            native_version: Some("1.0".into()),
            version_code: "10".into(),
            os_version: "14".into(),
            ..HostOptions::default()
        }
        .into_engine_options(false)
        .unwrap();
        o.retry_backoff_ms = 20;
        edit(&mut o);
        let e = Engine::start(o, rec.clone()).unwrap();
        (e, rec)
    }

    fn offer(&self, version: &str) {
        self.server
            .offer(version, &self.set.session_key, &self.set.checksum);
    }

    fn stats(&self) -> Vec<String> {
        self.server.stats_actions()
    }
}

fn ok(e: &Engine, method: &str, options: Value) -> Value {
    e.call(method, &options)
        .unwrap_or_else(|r| panic!("{method} rejected: {r:?}"))
}

fn reject(e: &Engine, method: &str, options: Value) -> liveupdate::Reject {
    match e.call(method, &options) {
        Ok(v) => panic!("{method} resolved {v}"),
        Err(r) => r,
    }
}

/// getLatest → download → next; returns the downloaded bundle.
fn download_next(env: &Env, e: &Engine) -> Value {
    env.offer("1.1.0");
    let latest = ok(e, "getLatest", json!({}));
    assert_eq!(latest["version"], "1.1.0");
    let b = ok(
        e,
        "download",
        json!({"url": latest["url"], "version": latest["version"],
               "sessionKey": latest["sessionKey"], "checksum": latest["checksum"]}),
    );
    assert_eq!(b["status"], "pending");
    let n = ok(e, "next", json!({"id": b["id"]}));
    assert_eq!(n["id"], b["id"]);
    b
}

#[test]
fn manual_flow_background_install_confirm_and_restart() {
    let env = Env::new();
    let (e, rec) = env.start(json!({}));
    let load = rec.actions()[0].clone();
    assert_eq!(load["host"], "load", "the load action comes first");
    assert_eq!(load["bundle"]["id"], "builtin");
    ok(&e, "notifyAppReady", json!({}));
    let b = download_next(&env, &e);
    let events = rec.events();
    for ev in ["download", "downloadComplete", "updateAvailable", "setNext"] {
        assert!(
            events.contains(&ev.to_string()),
            "{ev} missing in {events:?}"
        );
    }
    let percents: Vec<u64> = rec
        .all()
        .iter()
        .filter(|v| v["event"] == "download")
        .map(|v| v["data"]["percent"].as_u64().unwrap())
        .collect();
    assert_eq!(percents.first(), Some(&0));
    assert_eq!(percents.last(), Some(&100));
    assert!(percents.windows(2).all(|w| w[0] <= w[1]), "{percents:?}");
    rec.clear();
    e.background().unwrap();
    let reload = rec.wait("reload", T, |v| v["host"] == "reload");
    assert_eq!(reload["bundle"]["id"], b["id"]);
    assert!(
        reload["webRoot"]
            .as_str()
            .unwrap()
            .ends_with(b["id"].as_str().unwrap())
    );
    assert!(
        PathBuf::from(reload["webRoot"].as_str().unwrap())
            .join("index.html")
            .is_file()
    );
    assert_eq!(rec.wait_event("set", T)["bundle"]["id"], b["id"]);
    let r = ok(
        &e,
        "notifyAppReady",
        json!({"launchId": reload["launchId"]}),
    );
    assert_eq!(r["bundle"]["status"], "success");
    // No rollback comes after a confirmation.
    std::thread::sleep(Duration::from_millis(1300));
    assert!(!rec.events().contains(&"updateFailed".to_string()));
    drop(e);
    let stats = env.stats();
    for a in [
        "app_launch_start",
        "download_zip_start",
        "download_complete",
        "set_next",
        "app_moved_to_background",
        "set",
        "app_launch_ready",
    ] {
        assert!(stats.contains(&a.to_string()), "{a} missing in {stats:?}");
    }
    // A confirmed bundle is kept across restarts, without a watchdog.
    let (e, rec) = env.start(json!({}));
    let load = rec.actions()[0].clone();
    assert_eq!(load["bundle"]["id"], b["id"]);
    assert_eq!(load["bundle"]["status"], "success");
    std::thread::sleep(Duration::from_millis(1300));
    assert!(!rec.events().contains(&"updateFailed".to_string()));
    assert_eq!(ok(&e, "current", json!({}))["bundle"]["id"], b["id"]);
}

#[test]
fn no_notify_app_ready_rolls_back_and_stale_tokens_change_nothing() {
    let env = Env::new();
    let (e, rec) = env.start(json!({}));
    let first_page = rec.actions()[0]["launchId"].clone();
    ok(&e, "notifyAppReady", json!({"launchId": first_page}));
    let b = download_next(&env, &e);
    rec.clear();
    let started = Instant::now();
    e.background().unwrap();
    let reload = rec.wait("reload", T, |v| v["host"] == "reload");
    // The outgoing page confirms late (Capgo #907): ignored, the new bundle stays pending.
    let r = ok(&e, "notifyAppReady", json!({"launchId": first_page}));
    assert_eq!(r["bundle"]["status"], "pending");
    let failed = rec.wait_event("updateFailed", T);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1000),
        "rolled back after {took:?}"
    );
    assert_eq!(failed["bundle"]["id"], b["id"]);
    assert_eq!(failed["bundle"]["status"], "error");
    let back = rec.wait("second reload", T, |v| {
        v["host"] == "reload" && v["launchId"] != reload["launchId"]
    });
    assert_eq!(back["bundle"]["id"], "builtin");
    // The rolled-back page's token is dead now too.
    let r = ok(
        &e,
        "notifyAppReady",
        json!({"launchId": reload["launchId"]}),
    );
    assert_eq!(r["bundle"]["id"], "builtin");
    let f = ok(&e, "getFailedUpdate", json!({}));
    assert_eq!(f["bundle"]["id"], b["id"]);
    assert_eq!(
        ok(&e, "getFailedUpdate", json!({})),
        Value::Null,
        "read once"
    );
    assert_eq!(ok(&e, "current", json!({}))["bundle"]["id"], "builtin");
    drop(e);
    let stats = env.stats();
    for a in ["app_launch_timeout", "update_fail"] {
        assert!(stats.contains(&a.to_string()), "{a} missing in {stats:?}");
    }
    // The failed version is never downloaded again by the auto-update.
    let (e, rec) = env.start(json!({"autoUpdate": "atBackground"}));
    let before = env.server.requests_to("/bundle.zip");
    e.foreground();
    let ready = rec.wait_event("appReady", T);
    assert_eq!(
        ready["status"],
        "Latest bundle already exists, and is in error state. Aborting update."
    );
    assert_eq!(env.server.requests_to("/bundle.zip"), before);
    assert_eq!(rec.wait_event("downloadFailed", T)["version"], "1.1.0");
}

#[test]
fn a_page_that_confirms_in_time_keeps_its_bundle() {
    let env = Env::new();
    let (e, rec) = env.start(json!({}));
    let b = download_next(&env, &e);
    ok(&e, "set", json!({"id": b["id"]}));
    let page = rec.wait("reload", T, |v| v["host"] == "reload");
    // Without a launchId the current page is meant.
    let r = ok(&e, "notifyAppReady", json!({}));
    assert_eq!(r["bundle"]["status"], "success");
    std::thread::sleep(Duration::from_millis(1300));
    assert!(!rec.events().contains(&"updateFailed".to_string()));
    assert_eq!(
        ok(&e, "current", json!({}))["bundle"]["id"],
        page["bundle"]["id"]
    );
    // The app dies before its next page confirms: the next start rolls back.
    let b2 = {
        env.offer("1.2.0");
        ok(
            &e,
            "download",
            json!({"url": env.server.url("/bundle.zip"), "version": "1.2.0",
                   "sessionKey": env.set.session_key, "checksum": env.set.checksum}),
        )
    };
    ok(&e, "set", json!({"id": b2["id"]}));
    drop(e);
    let (_e, rec) = env.start(json!({}));
    let load = rec.actions()[0].clone();
    assert_eq!(
        load["bundle"]["id"], b["id"],
        "back to the last confirmed bundle"
    );
    assert_eq!(rec.wait_event("updateFailed", T)["bundle"]["id"], b2["id"]);
}

#[test]
fn auto_update_at_background_cycle() {
    let env = Env::new();
    env.offer("1.1.0");
    let (e, rec) = env.start(json!({"autoUpdate": "atBackground"}));
    ok(&e, "notifyAppReady", json!({}));
    assert_eq!(ok(&e, "isAutoUpdateEnabled", json!({}))["enabled"], true);
    e.foreground();
    let ready = rec.wait_event("appReady", T);
    assert_eq!(
        ready["status"],
        "update downloaded, will install next background"
    );
    let events = rec.events();
    let pos = |n: &str| events.iter().position(|e| e == n).unwrap_or(usize::MAX);
    assert!(pos("download") < pos("updateAvailable"));
    assert!(pos("updateAvailable") < pos("setNext"));
    assert!(pos("setNext") < pos("noNeedUpdate"));
    assert!(pos("noNeedUpdate") < pos("appReady"));
    let next = ok(&e, "getNextBundle", json!({}));
    assert_eq!(next["version"], "1.1.0");
    rec.clear();
    e.background().unwrap();
    let reload = rec.wait("reload", T, |v| v["host"] == "reload");
    assert_eq!(reload["bundle"]["version"], "1.1.0");
    ok(
        &e,
        "notifyAppReady",
        json!({"launchId": reload["launchId"]}),
    );
    rec.clear();
    // The server keeps offering 1.1.0, which is now current: nothing to do.
    e.foreground();
    let ready = rec.wait_event("appReady", T);
    assert_eq!(ready["status"], "No need to update");
    assert!(rec.events().contains(&"noNeedUpdate".to_string()));
    assert_eq!(env.server.requests_to("/bundle.zip"), 1);
}

#[test]
fn direct_update_always_applies_at_once() {
    let env = Env::new();
    env.offer("1.1.0");
    let (e, rec) = env.start(json!({"autoUpdate": "always"}));
    e.foreground();
    let ready = rec.wait_event("appReady", T);
    assert_eq!(ready["status"], "Update installed");
    assert_eq!(ready["bundle"]["version"], "1.1.0");
    let reload = rec.wait("reload", T, |v| v["host"] == "reload");
    assert_eq!(reload["bundle"]["version"], "1.1.0");
    assert!(rec.events().contains(&"set".to_string()));
    assert_eq!(ok(&e, "getNextBundle", json!({})), Value::Null);
}

#[test]
fn only_download_announces_and_queues_nothing() {
    let env = Env::new();
    env.offer("1.1.0");
    let (e, rec) = env.start(json!({"autoUpdate": "onlyDownload"}));
    e.foreground();
    let ready = rec.wait_event("appReady", T);
    assert_eq!(
        ready["status"],
        "update downloaded, autoUpdate onlyDownload"
    );
    let events = rec.events();
    assert!(events.contains(&"updateAvailable".to_string()));
    assert!(!events.contains(&"noNeedUpdate".to_string()));
    assert!(!events.contains(&"setNext".to_string()));
    assert_eq!(ok(&e, "getNextBundle", json!({})), Value::Null);
}

#[test]
fn server_answers_reach_js_as_capgo_shows_them() {
    let env = Env::new();
    let (e, rec) = env.start(json!({"autoUpdate": "atBackground"}));
    env.server.set_updates(
        200,
        r#"{"error":"disable_auto_update_to_major","kind":"blocked","message":"major","version":"2.0.0","major":true}"#,
    );
    let l = ok(&e, "getLatest", json!({}));
    assert_eq!(l["kind"], "blocked");
    assert_eq!(rec.wait_event("breakingAvailable", T)["version"], "2.0.0");
    rec.wait_event("majorAvailable", T);
    e.foreground();
    let r = rec.wait_event("updateCheckResult", T);
    assert_eq!(r["kind"], "blocked");
    assert_eq!(r["error"], "disable_auto_update_to_major");
    assert_eq!(rec.wait_event("appReady", T)["status"], "major");
    assert!(
        !rec.events().contains(&"downloadFailed".to_string()),
        "blocked is no error"
    );
    // A failed check rejects getLatest with the error code, and counts as an error in the cycle.
    env.server.set_updates(
        200,
        r#"{"error":"unknown_version_build","kind":"failed","message":"nope"}"#,
    );
    let r = reject(&e, "getLatest", json!({}));
    assert_eq!(r.message, "unknown_version_build");
    rec.clear();
    e.foreground();
    rec.wait_event("downloadFailed", T);
    assert_eq!(rec.wait_event("appReady", T)["status"], "nope");
    // A 5xx without JSON.
    env.server.set_updates(503, "<html>down</html>");
    let r = reject(&e, "getLatest", json!({}));
    assert_eq!(r.message, "response_error");
    let preview = reject(&e, "getLatest", json!({"appId": "other.app"}));
    assert_eq!(preview.message, "getLatest preview override not allowed");
}

#[test]
fn delay_conditions_hold_next_until_they_lapse() {
    let env = Env::new();
    let (e, rec) = env.start(json!({}));
    ok(&e, "notifyAppReady", json!({}));
    download_next(&env, &e);
    let r = reject(&e, "setMultiDelay", json!({}));
    assert_eq!(r.message, "setMultiDelay called without delayCondition");
    ok(
        &e,
        "setMultiDelay",
        json!({"delayConditions": [{"kind": "nativeVersion", "value": "99.0.0"}, {"kind": "date", "value": "2099-01-01T00:00:00Z"}]}),
    );
    rec.clear();
    e.background().unwrap();
    e.foreground();
    e.background().unwrap();
    assert!(
        rec.actions().is_empty(),
        "no reload while delayed: {:?}",
        rec.all()
    );
    // A delay in the past or a native version already reached lapses.
    ok(
        &e,
        "setMultiDelay",
        json!({"delayConditions": [{"kind": "nativeVersion", "value": "0.5.0"}, {"kind": "date", "value": "2001-01-01T00:00:00Z"}]}),
    );
    e.background().unwrap();
    rec.wait("reload", T, |v| v["host"] == "reload");
    drop(e);

    // `kill` holds through backgrounds and lapses at the next process start; `background`
    // needs one foreground after more than `value` ms in the background.
    let env = Env::new();
    let (e, rec) = env.start(json!({}));
    download_next(&env, &e);
    ok(
        &e,
        "setMultiDelay",
        json!({"delayConditions": [{"kind": "kill"}, {"kind": "background", "value": "50"}]}),
    );
    rec.clear();
    e.background().unwrap();
    std::thread::sleep(Duration::from_millis(80));
    e.foreground();
    e.background().unwrap();
    assert!(
        rec.actions().is_empty(),
        "kill still holds: {:?}",
        rec.all()
    );
    ok(&e, "cancelDelay", json!({}));
    e.background().unwrap();
    rec.wait("reload", T, |v| v["host"] == "reload");
}

#[test]
fn kill_delay_is_dropped_at_the_next_start() {
    let env = Env::new();
    let (e, _rec) = env.start(json!({}));
    let b = download_next(&env, &e);
    ok(
        &e,
        "setMultiDelay",
        json!({"delayConditions": [{"kind": "kill"}]}),
    );
    drop(e);
    let (_e, rec) = env.start(json!({}));
    // The condition lapsed with the kill, so the pending next applies at this cold start.
    assert_eq!(rec.actions()[0]["bundle"]["id"], b["id"]);
}

#[test]
fn channels_and_custom_id() {
    let env = Env::new();
    let (e, rec) = env.start(json!({"defaultChannel": "beta"}));
    let r = reject(&e, "setChannel", json!({}));
    assert_eq!(r.code.as_deref(), Some("SETCHANNEL_INVALID_PARAMS"));
    assert_eq!(r.data.unwrap()["error"], "missing_parameter");
    env.server
        .answer_channel(200, r#"{"status":"ok","message":"channel set"}"#);
    let v = ok(&e, "setChannel", json!({"channel": "nightly"}));
    assert_eq!(v["status"], "ok");
    let seen = env.server.seen();
    let post = seen
        .iter()
        .rev()
        .find(|s| s.path == "/channel_self")
        .unwrap();
    assert_eq!(post.method, "POST");
    let body: Value = serde_json::from_slice(&post.body).unwrap();
    assert_eq!(body["channel"], "nightly");
    // The channel set is sent from now on.
    env.server.set_updates(
        200,
        r#"{"error":"no_new_version_available","kind":"up_to_date","message":"none"}"#,
    );
    ok(&e, "getLatest", json!({}));
    let upd = env
        .server
        .seen()
        .into_iter()
        .rev()
        .find(|s| s.path == "/updates")
        .unwrap();
    let body: Value = serde_json::from_slice(&upd.body).unwrap();
    assert_eq!(body["defaultChannel"], "nightly");
    // getChannel is a PUT.
    env.server.answer_channel(
        200,
        r#"{"channel":"nightly","status":"override","allowSet":true}"#,
    );
    let g = ok(&e, "getChannel", json!({}));
    assert_eq!(g["channel"], "nightly");
    assert_eq!(
        env.server
            .seen()
            .iter()
            .rev()
            .find(|s| s.path == "/channel_self")
            .unwrap()
            .method,
        "PUT"
    );
    // listChannels is a GET with the info object in the query.
    env.server.answer_channel(
        200,
        r#"[{"id":1,"name":"production","public":true,"allow_self_set":false},{"id":2,"name":"nightly","public":false,"allow_self_set":true}]"#,
    );
    let l = ok(&e, "listChannels", json!({}));
    assert_eq!(l["channels"].as_array().unwrap().len(), 2);
    assert_eq!(l["channels"][1]["allow_self_set"], true);
    let get = env
        .server
        .seen()
        .into_iter()
        .rev()
        .find(|s| s.path.starts_with("/channel_self"))
        .unwrap();
    assert_eq!(get.method, "GET");
    assert!(get.path.contains("device_id="), "{}", get.path);
    // unsetChannel is local: no request.
    let before = env.server.requests_to("/channel_self");
    let u = ok(&e, "unsetChannel", json!({}));
    assert_eq!(
        u,
        json!({"status": "ok", "message": "Channel override removed"})
    );
    assert_eq!(env.server.requests_to("/channel_self"), before);
    ok(&e, "getLatest", json!({}));
    let upd = env
        .server
        .seen()
        .into_iter()
        .rev()
        .find(|s| s.path == "/updates")
        .unwrap();
    let body: Value = serde_json::from_slice(&upd.body).unwrap();
    assert_eq!(
        body["defaultChannel"], "beta",
        "back to the config's default"
    );
    // A private channel: rejected with SETCHANNEL_FAILED and a channelPrivate event.
    env.server.answer_channel(
        400,
        r#"{"error":"cannot_update_via_private_channel","message":"private"}"#,
    );
    let r = reject(&e, "setChannel", json!({"channel": "secret"}));
    assert_eq!(r.code.as_deref(), Some("SETCHANNEL_FAILED"));
    assert_eq!(r.message, "private");
    assert_eq!(rec.wait_event("channelPrivate", T)["channel"], "secret");
    // getChannel: channel_not_found with a default channel resolves the default.
    env.server
        .answer_channel(400, r#"{"error":"channel_not_found","message":"no"}"#);
    let g = ok(&e, "getChannel", json!({}));
    assert_eq!(g, json!({"channel": "beta", "status": "default"}));
    env.server.answer_channel(500, "oops");
    let r = reject(&e, "listChannels", json!({}));
    assert_eq!(r.code.as_deref(), Some("LISTCHANNELS_FAILED"));
    // setCustomId reaches the info object.
    let r = reject(&e, "setCustomId", json!({}));
    assert_eq!(r.message, "setCustomId called without customId");
    ok(&e, "setCustomId", json!({"customId": "user-42"}));
    ok(&e, "getLatest", json!({}));
    let upd = env
        .server
        .seen()
        .into_iter()
        .rev()
        .find(|s| s.path == "/updates")
        .unwrap();
    let body: Value = serde_json::from_slice(&upd.body).unwrap();
    assert_eq!(body["custom_id"], "user-42");
    let id = ok(&e, "getDeviceId", json!({}))["deviceId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(body["device_id"], id.as_str());
    assert_eq!(id.len(), 36);
}

#[test]
fn gates_rejects_and_unimplemented_methods() {
    let env = Env::new();
    let (e, _rec) = env.start(json!({}));
    let cases = [
        ("next", json!({}), "Next called without id"),
        (
            "next",
            json!({"id": "nope"}),
            "Set next id failed. Bundle nope does not exist.",
        ),
        ("set", json!({}), "Set called without id"),
        (
            "set",
            json!({"id": "nope"}),
            "Update failed, id nope does not exist.",
        ),
        ("delete", json!({}), "missing id"),
        (
            "delete",
            json!({"id": "builtin"}),
            "Delete failed, id builtin does not exist or it cannot be deleted (perhaps it is the 'next' bundle)",
        ),
        (
            "setBundleError",
            json!({"id": "x"}),
            "setBundleError not allowed. Set allowManualBundleError to true in your config to enable it.",
        ),
        (
            "setUpdateUrl",
            json!({"url": "http://127.0.0.1:1/u"}),
            "setUpdateUrl not allowed",
        ),
        ("setStatsUrl", json!({"url": ""}), "setStatsUrl not allowed"),
        ("setAppId", json!({"appId": "x"}), "setAppId not allowed"),
        ("download", json!({}), "Download called without url"),
        (
            "getMissingBundleFiles",
            json!({}),
            "getMissingBundleFiles called without manifest",
        ),
        (
            "getBundleDownloadSize",
            json!({"manifest": "x"}),
            "getBundleDownloadSize called without manifest",
        ),
        (
            "download",
            json!({"url": "http://127.0.0.1:1/b.zip"}),
            "Download called without version",
        ),
    ];
    for (m, o, msg) in cases {
        assert_eq!(reject(&e, m, o).message, msg, "{m}");
    }
    for m in [
        "startPreviewSession",
        "setShakeMenu",
        "getAppUpdateInfo",
        "noSuchMethod",
    ] {
        let r = reject(&e, m, json!({}));
        assert_eq!(r.code.as_deref(), Some("UNIMPLEMENTED"), "{m}");
        assert!(r.message.contains(m), "{}", r.message);
    }
    assert_eq!(
        ok(&e, "getPluginVersion", json!({})),
        json!({"version": "8.51.23"})
    );
    assert_eq!(
        ok(&e, "getBuiltinVersion", json!({})),
        json!({"version": "1.0"})
    );
    assert_eq!(
        ok(&e, "getAppId", json!({})),
        json!({"appId": "com.example.liveupdate"})
    );
    assert_eq!(
        ok(&e, "isAutoUpdateEnabled", json!({})),
        json!({"enabled": false})
    );
    assert_eq!(
        ok(&e, "isAutoUpdateAvailable", json!({})),
        json!({"available": true})
    );
    assert_eq!(
        ok(&e, "triggerUpdateCheck", json!({})),
        json!({"status": "unavailable", "queued": false})
    );
    assert_eq!(ok(&e, "list", json!({})), json!({"bundles": []}));
    let c = ok(&e, "current", json!({}));
    assert_eq!(
        (c["bundle"]["id"].clone(), c["native"].clone()),
        (json!("builtin"), json!("1.0"))
    );

    // With the gates open.
    drop(e);
    let (e, rec) = env.start(
        json!({"allowManualBundleError": true, "allowModifyUrl": true,
                                    "allowModifyAppId": true, "persistModifyUrl": true}),
    );
    assert_eq!(
        reject(&e, "setBundleError", json!({"id": "builtin"})).message,
        "Cannot set builtin bundle to error state"
    );
    assert_eq!(
        reject(&e, "setBundleError", json!({"id": "abcdefghij"})).message,
        "Bundle abcdefghij does not exist"
    );
    let b = download_next(&env, &e);
    ok(&e, "set", json!({"id": b["id"]}));
    rec.clear();
    let r = ok(&e, "setBundleError", json!({"id": b["id"]}));
    assert_eq!(r["bundle"]["status"], "error");
    let back = rec.wait("reload", T, |v| v["host"] == "reload");
    assert_eq!(back["bundle"]["id"], "builtin");
    // setUpdateUrl is persisted with persistModifyUrl.
    ok(
        &e,
        "setUpdateUrl",
        json!({"url": "http://127.0.0.1:9/elsewhere"}),
    );
    ok(&e, "setAppId", json!({"appId": "com.other"}));
    assert_eq!(ok(&e, "getAppId", json!({})), json!({"appId": "com.other"}));
    drop(e);
    let (e, _rec) = env.start(json!({"allowModifyUrl": true, "persistModifyUrl": true}));
    let before = env.server.requests_to("/updates");
    assert!(
        e.call("getLatest", &json!({})).is_err(),
        "the persisted URL points nowhere"
    );
    assert_eq!(env.server.requests_to("/updates"), before);
}

#[test]
fn download_failures_reject_with_capgo_message_and_events() {
    let env = Env::new();
    let (e, rec) = env.start(json!({}));
    // Nothing listens on port 1 of loopback.
    let url = "http://127.0.0.1:1/bundle.zip";
    let r = reject(
        &e,
        "download",
        json!({"url": url, "version": "9.9.9", "sessionKey": env.set.session_key, "checksum": env.set.checksum}),
    );
    assert_eq!(r.message, format!("Failed to download from: {url}"));
    assert_eq!(r.data.unwrap()["error"], "network_error");
    assert_eq!(rec.wait_event("downloadFailed", T)["version"], "9.9.9");
    // A wrong checksum: the bundle is refused, nothing stays.
    let bad = "0".repeat(512);
    let r = reject(
        &e,
        "download",
        json!({"url": env.server.url("/bundle.zip"), "version": "9.9.8",
               "sessionKey": env.set.session_key, "checksum": bad}),
    );
    assert!(r.message.starts_with("Failed to download from"), "{r:?}");
    assert_eq!(ok(&e, "list", json!({})), json!({"bundles": []}));
    drop(e);
    let stats = env.stats();
    assert!(stats.contains(&"download_fail".to_string()), "{stats:?}");
}

#[test]
fn reset_and_reload() {
    let env = Env::new();
    let (e, rec) = env.start(json!({}));
    let b = download_next(&env, &e);
    rec.clear();
    // reload applies a pending next.
    ok(&e, "reload", json!({}));
    let r = rec.wait("reload", T, |v| v["host"] == "reload");
    assert_eq!(r["bundle"]["id"], b["id"]);
    assert!(rec.events().contains(&"appReloaded".to_string()));
    ok(&e, "notifyAppReady", json!({}));
    rec.clear();
    ok(&e, "reset", json!({}));
    let r = rec.wait("reload", T, |v| v["host"] == "reload");
    assert_eq!(r["bundle"]["id"], "builtin");
    // toLastSuccessful goes back to the confirmed bundle.
    rec.clear();
    ok(&e, "reset", json!({"toLastSuccessful": true}));
    let r = rec.wait("reload", T, |v| v["host"] == "reload");
    assert_eq!(
        r["bundle"]["id"], "builtin",
        "reset() made builtin the fallback"
    );
    drop(e);
    let stats = env.stats();
    assert!(stats.contains(&"reset".to_string()), "{stats:?}");
}

#[test]
fn os_and_native_version_changes_are_reported_once() {
    let env = Env::new();
    drop(env.start(json!({})).0);
    drop(env.start(json!({})).0);
    let events = || env.server.script.lock().unwrap().stats.clone();
    let named = |a: &str| {
        events()
            .into_iter()
            .filter(|e| e["action"] == a)
            .collect::<Vec<Value>>()
    };
    assert!(
        named("os_version_changed").is_empty(),
        "nothing changed yet"
    );
    drop(
        env.start_with(json!({}), |o| {
            o.app.os_version = "15".into();
            o.app.native_version = Some("1.1".into());
            o.app.version_code = "11".into();
        })
        .0,
    );
    let os = named("os_version_changed");
    assert_eq!(os.len(), 1, "{os:?}");
    assert_eq!(os[0]["metadata"]["previous_version_os"], "14");
    assert_eq!(os[0]["metadata"]["current_version_os"], "15");
    let native = named("native_app_version_changed");
    assert_eq!(native.len(), 1, "{native:?}");
    assert_eq!(native[0]["metadata"]["previous_version_build"], "1.0");
    assert_eq!(native[0]["metadata"]["current_version_code"], "11");
    // The stored values moved on: the next start reports nothing.
    drop(
        env.start_with(json!({}), |o| {
            o.app.os_version = "15".into();
            o.app.native_version = Some("1.1".into());
            o.app.version_code = "11".into();
        })
        .0,
    );
    assert_eq!(named("os_version_changed").len(), 1);
    assert_eq!(named("native_app_version_changed").len(), 1);
}

#[test]
fn the_engine_finishes_the_clean_up_its_start_deferred_in_the_background() {
    let env = Env::new();
    leave_stale_entries(&env.data, 4_000);
    let (e, rec) = env.start(json!({}));
    assert_eq!(rec.actions()[0]["bundle"]["id"], "builtin");
    let deadline = Instant::now() + T;
    while stale_entries_left(&env.data) > 0 {
        assert!(
            Instant::now() < deadline,
            "the background clean-up did not finish"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The engine answered calls meanwhile.
    assert_eq!(
        e.call("current", &json!({})).unwrap()["bundle"]["id"],
        "builtin"
    );
}

#[test]
fn a_config_typo_never_leaves_the_app_without_its_updater() {
    let env = Env::new();
    // Wrongly typed and out-of-range values: each key's default is used (and logged).
    let (e, rec) = env.start(json!({"responseTimeout": "20", "updateTimeout": 1e308,
        "appReadyTimeout": "soon", "autoDeleteFailed": "yes", "periodCheckDelay": -1}));
    assert_eq!(rec.actions()[0]["host"], "load");
    env.offer("1.1.0");
    let latest = ok(&e, "getLatest", json!({}));
    assert_eq!(latest["version"], "1.1.0");
    drop(e);
    // An unusable public key: the app starts, and every update is refused (never "no key").
    let env = Env::new();
    let (e, rec) = env.start(json!({"publicKey": "-----BEGIN RSA PUBLIC KEY-----\nbroken\n-----END RSA PUBLIC KEY-----"}));
    assert_eq!(rec.actions()[0]["bundle"]["id"], "builtin");
    env.offer("1.1.0");
    let r = reject(
        &e,
        "download",
        json!({"url": env.server.url("/bundle.zip"), "version": "1.1.0",
        "sessionKey": env.set.session_key, "checksum": env.set.checksum}),
    );
    assert_eq!(r.data.unwrap()["error"], "bad_public_key");
    assert_eq!(env.server.requests_to("/bundle.zip"), 0);
}
