//! The registry client against a real HTTP server on 127.0.0.1 with injected faults: every case ends in
//! a resume, a clean typed result, or success — never an unverified activation, never the current bundle lost.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::double_ended_iterator_last
)]

use std::fs;
use std::time::{Duration, Instant};

use liveupdate::{
    AppIdentity, AutoUpdateMode, BundleStatus, Config, DownloadListener, Engine, EngineOptions,
    NoHost, PublicKey, UpdateOutcome,
};
use liveupdate_test_support::fault_server::Fault;
use liveupdate_test_support::*;

/// The headless engine, as the typed surfaces (UniFFI `Updater`, the C handle) drive it.
type Updater = Engine;

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

impl Env {
    fn new() -> Self {
        let set = capgo_set("set-b-large");
        Self {
            app: TestApp::new(fs::read(&set.encrypted_zip).unwrap()),
            set,
        }
    }

    fn config(&self) -> Config {
        Config {
            app_id: "com.example.liveupdate".into(),
            public_key: Some(PublicKey::from_pem(&self.set.public_pem).unwrap()),
            update_url: self.server.url("/updates"),
            stats_url: self.server.url("/stats"),
            channel_url: self.server.url("/channel_self"),
            response_timeout_s: 1,
            ..Config::default()
        }
    }

    fn updater_with(&self, config: Config) -> Updater {
        let options = EngineOptions {
            config,
            app: AppIdentity {
                native_version: Some("1.0".into()),
                version_code: "10".into(),
                os_version: "14".into(),
                ..AppIdentity::default()
            },
            retry_backoff_ms: 20,
            ..EngineOptions::new(&self.data, &self.www)
        };
        Engine::open(options, std::sync::Arc::new(NoHost)).unwrap()
    }

    fn updater(&self) -> Updater {
        self.updater_with(self.config())
    }

    fn offer(&self) {
        self.server
            .offer("1.1.0", &self.set.session_key, &self.set.checksum);
    }

    fn len(&self) -> u64 {
        fs::metadata(&self.set.encrypted_zip).unwrap().len()
    }
}

fn installed(o: &UpdateOutcome) -> &liveupdate::BundleInfo {
    match o {
        UpdateOutcome::Installed { bundle, .. } => bundle,
        other => panic!("expected installed, got {other:?}"),
    }
}

fn failed_code(o: &UpdateOutcome) -> String {
    match o {
        UpdateOutcome::Failed { error, .. } => error.clone(),
        other => panic!("expected failed, got {other:?}"),
    }
}

/// No downloaded bundle became current, and nothing half-installed is left.
fn assert_untouched(u: &Updater) {
    let s = u.status().unwrap();
    assert_eq!(s.current.id, "builtin");
    assert_eq!(s.next, None);
    assert!(
        s.bundles
            .iter()
            .all(|b| b.status != BundleStatus::Pending && b.status != BundleStatus::Success)
    );
}

#[test]
fn happy_path_sends_the_capgo_request_and_stats() {
    let env = Env::new();
    env.offer();
    let u = env.updater();
    let o = u.update(None).unwrap();
    let b = installed(&o);
    assert_eq!(b.version, "1.1.0");
    assert_eq!(b.checksum, env.set.sha256);
    assert_eq!(u.status().unwrap().next.unwrap().id, b.id);
    u.flush_stats(Duration::from_secs(2)).unwrap();
    let actions = env.server.stats_actions();
    for a in ["download_zip_start", "download_complete", "set_next"] {
        assert!(
            actions.iter().any(|x| x == a),
            "{a} missing from {actions:?}"
        );
    }
    // The check request carries every info-object field, typed.
    let check = env
        .server
        .seen()
        .into_iter()
        .find(|s| s.path == "/updates")
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&check.body).unwrap();
    for k in [
        "platform",
        "device_id",
        "app_id",
        "custom_id",
        "version_build",
        "version_code",
        "version_os",
        "version_name",
        "plugin_version",
        "defaultChannel",
        "key_id",
    ] {
        assert!(v[k].is_string(), "{k} should be a string in {v}");
    }
    assert!(v["is_emulator"].is_boolean() && v["is_prod"].is_boolean());
    assert_eq!(v["key_id"], "MIIBCgKCAQEApY7EX2bX");
    assert_eq!(v["version_name"], "1.0");
    let id = v["device_id"].as_str().unwrap();
    assert_eq!(id.len(), 36);
    assert_eq!(id, id.to_lowercase());
    assert!(check.user_agent.unwrap().starts_with("CapacitorUpdater/"));
    // The device id is kept.
    env.server.answer_updates(
        200,
        &[],
        r#"{"error":"no_new_version_available","kind":"up_to_date","message":"m"}"#,
    );
    let _ = env.updater().update(None).unwrap();
    let again = env
        .server
        .seen()
        .into_iter()
        .filter(|s| s.path == "/updates")
        .last()
        .unwrap();
    let v2: serde_json::Value = serde_json::from_slice(&again.body).unwrap();
    assert_eq!(v2["device_id"], v["device_id"]);
}

#[test]
fn cut_connection_resumes_with_range() {
    let env = Env::new();
    env.offer();
    let cut = env.len() as usize / 3;
    env.server.faults(vec![Fault::CutAfter(cut)]);
    let o = env.updater().update(None).unwrap();
    let UpdateOutcome::Installed { download, .. } = &o else {
        panic!("{o:?}")
    };
    assert_eq!(download.attempts, 2);
    assert_eq!(download.resumed_bytes, cut as u64);
    let gets: Vec<_> = env
        .server
        .seen()
        .into_iter()
        .filter(|s| s.path == "/bundle.zip")
        .collect();
    assert_eq!(
        gets[1].range.as_deref(),
        Some(format!("bytes={cut}-").as_str())
    );
    assert_eq!(gets[1].if_range.as_deref(), Some("\"bundle-v1\""));
    let served = env.server.bundle_bytes_sent();
    assert!(
        served as f64 <= env.len() as f64 * 1.1,
        "served {served} for {}",
        env.len()
    );
}

#[test]
fn resume_answered_with_200_or_a_wrong_range_restarts_cleanly() {
    for second in [Fault::IgnoreRange, Fault::WrongRange] {
        let env = Env::new();
        env.offer();
        env.server
            .faults(vec![Fault::CutAfter(100_000), second.clone()]);
        let o = env.updater().update(None).unwrap();
        assert_eq!(installed(&o).checksum, env.set.sha256, "{second:?}");
    }
}

#[test]
fn reset_stall_trickle_and_5xx_are_retried() {
    for first in [
        Fault::ResetAfterHeaders,
        Fault::StallAfter(50_000, Duration::from_secs(3)),
        Fault::Status(503, None),
        Fault::Status(429, Some("1")),
        Fault::Status(408, None),
        Fault::ContentLength(10_000_000),
    ] {
        let env = Env::new();
        env.offer();
        env.server.faults(vec![first.clone()]);
        let t = Instant::now();
        let o = env.updater().update(None).unwrap();
        assert_eq!(installed(&o).checksum, env.set.sha256, "{first:?}");
        // A liveness bound (retries end), not a speed target: emulated CPUs get more room.
        let bound = Duration::from_secs(if emulated() { 120 } else { 20 });
        assert!(t.elapsed() < bound, "{first:?} took {:?}", t.elapsed());
    }
}

#[test]
fn persistent_failures_end_in_a_typed_failure_within_bounds() {
    let env = Env::new();
    env.offer();
    env.server.faults(vec![Fault::Status(500, None); 10]);
    let u = env.updater();
    let o = u.update(None).unwrap();
    assert_eq!(failed_code(&o), "network_error");
    assert_untouched(&u);
    assert_eq!(
        env.server.requests_to("/bundle.zip"),
        5,
        "first attempt + 4 retries"
    );

    let env = Env::new();
    env.offer();
    env.server.faults(vec![Fault::Status(404, None)]);
    let u = env.updater();
    assert_eq!(failed_code(&u.update(None).unwrap()), "network_error");
    assert_eq!(
        env.server.requests_to("/bundle.zip"),
        1,
        "a 404 is not retried"
    );

    let env = Env::new();
    env.offer();
    env.server
        .faults(vec![Fault::Trickle(Duration::from_millis(300)); 10]);
    let mut c = env.config();
    c.update_timeout_s = 3;
    let u = env.updater_with(c);
    let t = Instant::now();
    let o = u.update(None).unwrap();
    assert!(matches!(o, UpdateOutcome::Failed { .. }), "{o:?}");
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "trickle took {:?}",
        t.elapsed()
    );
    assert_untouched(&u);
}

#[test]
fn corrupted_bytes_fail_the_checksum_and_keep_the_current_bundle() {
    let env = Env::new();
    env.offer();
    env.server
        .faults(vec![Fault::Corrupt(env.len() as usize / 2)]);
    let u = env.updater();
    let o = u.update(None).unwrap();
    assert_eq!(failed_code(&o), "checksum_fail");
    assert_untouched(&u);
    u.flush_stats(Duration::from_secs(2)).unwrap();
    assert!(
        env.server
            .stats_actions()
            .iter()
            .any(|a| a == "checksum_fail")
    );
    // The corrupt partial is not kept: the next update downloads afresh and succeeds.
    let o = env.updater().update(None).unwrap();
    installed(&o);
    let last = env
        .server
        .seen()
        .into_iter()
        .filter(|s| s.path == "/bundle.zip")
        .last()
        .unwrap();
    assert_eq!(last.range, None);
}

#[test]
fn endless_body_and_hostile_redirects_are_refused() {
    let env = Env::new();
    env.offer();
    env.server.faults(vec![Fault::Endless]);
    let mut c = env.config();
    c.max_download_bytes = 4 << 20;
    let u = env.updater_with(c);
    let o = u.update(None).unwrap();
    assert!(
        failed_code(&o).contains("fail") || failed_code(&o) == "network_error",
        "{o:?}"
    );
    assert_untouched(&u);

    for target in [
        "http://example.com/bundle.zip".to_string(),
        env.server.url("/bundle.zip"),
    ] {
        let env2 = Env::new();
        env2.offer();
        let loop_or_plain = if target.contains("example.com") {
            vec![Fault::Redirect(target.clone())]
        } else {
            vec![Fault::Redirect(env2.server.url("/bundle.zip")); 20]
        };
        env2.server.faults(loop_or_plain);
        let u = env2.updater();
        let o = u.update(None).unwrap();
        assert!(matches!(o, UpdateOutcome::Failed { .. }), "{target}: {o:?}");
        assert_untouched(&u);
    }
}

#[test]
fn every_check_answer_is_reported_as_such() {
    let cases: Vec<(u16, &str, &str)> = vec![
        (
            200,
            r#"{"error":"no_new_version_available","kind":"up_to_date","message":"m"}"#,
            "up_to_date",
        ),
        (
            200,
            r#"{"error":"already_on_builtin","kind":"up_to_date","message":"m"}"#,
            "up_to_date",
        ),
        (
            200,
            r#"{"error":"disable_emulator","kind":"blocked","message":"m"}"#,
            "blocked",
        ),
        (
            200,
            r#"{"error":"key_id_mismatch","kind":"blocked","message":"m"}"#,
            "blocked",
        ),
        (
            200,
            r#"{"error":"semver_error","kind":"failed","message":"m"}"#,
            "failed",
        ),
        (
            200,
            r#"{"error":"unknown_version_build","message":"m"}"#,
            "failed",
        ),
        (200, r#"{"version":"builtin"}"#, "builtin"),
        (200, r#"{"version":"1.0"}"#, "up_to_date"),
        (200, "not json at all", "failed"),
        (500, "<html>oops</html>", "failed"),
        (
            200,
            r#"{"version":"2.0.0","url":"https://x.test/b.zip","session_key":"","checksum":"aa"}"#,
            "failed",
        ),
        (
            200,
            r#"{"version":"2.0.0","url":"https://x.test/b.zip","session_key":"a:b"}"#,
            "failed",
        ),
    ];
    for (status, body, want) in cases {
        let env = Env::new();
        env.server.answer_updates(status, &[], body);
        let u = env.updater();
        let o = u.update(None).unwrap();
        assert_eq!(o.kind(), want, "{body}: {o:?}");
        assert_untouched(&u);
    }
}

#[test]
fn rate_limit_blocks_the_next_check_without_reaching_the_server() {
    let env = Env::new();
    env.server.answer_updates(
        429,
        &[("Retry-After", "60")],
        r#"{"error":"too_many_requests","message":"slow down"}"#,
    );
    let u = env.updater();
    assert_eq!(failed_code(&u.update(None).unwrap()), "too_many_requests");
    assert_eq!(env.server.requests_to("/updates"), 1);
    // A new process (new Updater) is blocked too: the block is persisted.
    let u2 = env.updater();
    assert_eq!(failed_code(&u2.update(None).unwrap()), "too_many_requests");
    assert_eq!(env.server.requests_to("/updates"), 1);
    // Stats stay queued while blocked.
    u2.flush_stats(Duration::from_secs(1)).unwrap();
    assert_eq!(env.server.requests_to("/stats"), 0);
}

#[test]
fn a_rolled_back_version_is_never_downloaded_again() {
    let env = Env::new();
    env.offer();
    let u = env.updater();
    let b = installed(&u.update(None).unwrap()).clone();
    let d = &u;
    assert_eq!(d.launch().unwrap().bundle.id, b.id);
    let l = d.launch().unwrap();
    assert_eq!(l.rolled_back.unwrap().failed, b.id);
    let before = env.server.requests_to("/bundle.zip");
    let o = env.updater().update(None).unwrap();
    assert_eq!(failed_code(&o), "known_bad_version");
    assert_eq!(
        env.server.requests_to("/bundle.zip"),
        before,
        "no download of a known-bad bundle"
    );
}

#[test]
fn an_installed_bundle_is_reused_not_downloaded_twice() {
    let env = Env::new();
    env.offer();
    let u = env.updater();
    installed(&u.update(None).unwrap());
    let o = env.updater().update(None).unwrap();
    let UpdateOutcome::Installed { download, .. } = o else {
        panic!()
    };
    assert_eq!(download.attempts, 0);
    assert_eq!(env.server.requests_to("/bundle.zip"), 1);
}

#[test]
fn direct_update_applies_now() {
    let env = Env::new();
    env.offer();
    let mut c = env.config();
    c.auto_update = AutoUpdateMode::Always;
    let u = env.updater_with(c);
    let UpdateOutcome::Installed {
        bundle, applied, ..
    } = u.update(None).unwrap()
    else {
        panic!()
    };
    assert!(applied);
    assert_eq!(u.status().unwrap().current.id, bundle.id);
}

#[test]
fn cancellation_from_another_thread_stops_a_stalled_download() {
    let env = Env::new();
    env.offer();
    env.server
        .faults(vec![Fault::StallAfter(10_000, Duration::from_secs(30))]);
    let mut c = env.config();
    c.response_timeout_s = 20;
    let u = env.updater_with(c);
    let t = Instant::now();
    std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(300));
            u.cancel_running();
        });
        let o = u.update(None).unwrap();
        assert_eq!(failed_code(&o), "cancelled", "{o:?}");
    });
    // Honoured while the read is stalled, not after the 20 s stall timeout.
    println!(
        "stalled download cancelled 300 ms in, ended after {:?}",
        t.elapsed()
    );
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    assert_untouched(&u);
}

#[test]
fn progress_is_reported_at_most_about_a_hundred_times() {
    struct Count(std::sync::Mutex<Vec<u8>>);
    impl DownloadListener for Count {
        fn on_progress(&self, _: u64, _: Option<u64>, p: u8) {
            self.0.lock().unwrap().push(p);
        }
    }
    let env = Env::new();
    env.offer();
    let c = std::sync::Arc::new(Count(Default::default()));
    installed(&env.updater().update(Some(c.clone())).unwrap());
    let v = c.0.lock().unwrap().clone();
    assert!(v.len() <= 101 && v.len() >= 2, "{} events", v.len());
    assert_eq!(*v.last().unwrap(), 100);
    assert!(v.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn trickling_update_and_stats_servers_are_bounded_by_the_deadlines() {
    let env = Env::new();
    env.offer();
    // One byte a second: each read makes progress, so only an overall deadline can end it.
    env.server.trickle_json(Some(Duration::from_secs(1)));
    let mut c = env.config();
    c.response_timeout_s = 30;
    c.update_timeout_s = 2;
    let u = env.updater_with(c.clone());
    let t = Instant::now();
    let o = u.update(None).unwrap();
    assert_eq!(failed_code(&o), "network_error", "{o:?}");
    println!(
        "trickled check with updateTimeout 2 s ended after {:?}",
        t.elapsed()
    );
    assert!(
        t.elapsed() < Duration::from_secs(6),
        "update took {:?}",
        t.elapsed()
    );
    assert_untouched(&u);
    // The stats flush keeps to its budget too (events stay queued).
    u.background().unwrap(); // queues app_moved_to_background
    let t = Instant::now();
    let _ = u.flush_stats(Duration::from_secs(2));
    println!(
        "trickled stats flush with a 2 s budget ended after {:?}",
        t.elapsed()
    );
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "flush took {:?}",
        t.elapsed()
    );
    // Cancellation ends a trickling update check from another thread within a second or so.
    c.update_timeout_s = 300;
    let u = env.updater_with(c);
    let t = Instant::now();
    std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(500));
            u.cancel_running();
        });
        let o = u.update(None).unwrap();
        assert_eq!(failed_code(&o), "cancelled", "{o:?}");
    });
    println!("check cancelled 500 ms in ended after {:?}", t.elapsed());
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "cancel took {:?}",
        t.elapsed()
    );
}

#[test]
fn a_redirect_to_another_scheme_is_a_policy_refusal_not_retried() {
    let env = Env::new();
    env.offer();
    env.server
        .faults(vec![Fault::Redirect("file:///etc/passwd".into()); 5]);
    let u = env.updater();
    let o = u.update(None).unwrap();
    assert_eq!(failed_code(&o), "insecure_url", "{o:?}");
    // The server records a request after answering it: give its bookkeeping a moment (bounded).
    let t = Instant::now();
    while env.server.requests_to("/bundle.zip") == 0 && t.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(env.server.requests_to("/bundle.zip"), 1, "not retried");
}

#[test]
fn huge_timeouts_are_clamped_not_a_panic() {
    let env = Env::new();
    env.offer();
    let c = Config::from_capacitor_json(&format!(
        r#"{{"plugins":{{"CapacitorUpdater":{{"updateUrl":"{}","responseTimeout":9000000000000000000,
            "updateTimeout":18000000000000000000,"appReadyTimeout":18000000000000000000}}}}}}"#,
        env.server.url("/updates")
    ))
    .unwrap();
    assert_eq!(c.response_timeout_s, 3600);
    assert_eq!(c.update_timeout_s, 86_400);
    assert_eq!(c.app_ready_timeout_ms, 86_400_000);
    let mut c2 = env.config();
    c2.response_timeout_s = c.response_timeout_s;
    c2.update_timeout_s = c.update_timeout_s;
    let u = env.updater_with(c2);
    installed(&u.update(None).unwrap());
    // A host-given flush budget of u64::MAX ms neither panics nor hangs (the queue is empty or
    // delivered at once).
    u.flush_stats(Duration::from_millis(u64::MAX)).unwrap();
}

#[test]
fn unusable_version_labels_are_refused_before_any_transfer() {
    let long = "9".repeat(300);
    for label in [
        "builtin ",
        "   ",
        long.as_str(),
        "1.0.1\u{0}",
        "1.0.1\nforged log line",
        "1.0\u{1b}[31m.1",
    ] {
        let env = Env::new();
        env.server
            .offer(label, &env.set.session_key, &env.set.checksum);
        let u = env.updater();
        let o = u.update(None).unwrap();
        if label.trim().is_empty() {
            // A blank version is Capgo's "nothing to do" shape.
            assert!(
                matches!(
                    o,
                    UpdateOutcome::UpToDate { .. } | UpdateOutcome::Failed { .. }
                ),
                "{o:?}"
            );
        } else {
            assert_eq!(failed_code(&o), "invalid_version", "{label:?}: {o:?}");
        }
        assert_eq!(
            env.server.requests_to("/bundle.zip"),
            0,
            "{label:?} was downloaded"
        );
    }
}

#[test]
fn a_rate_limit_stored_under_a_clock_that_ran_ahead_is_dropped() {
    let env = Env::new();
    env.server.answer_updates(
        429,
        &[("Retry-After", "60")],
        r#"{"error":"too_many_requests","message":"slow down"}"#,
    );
    let u = env.updater();
    assert_eq!(failed_code(&u.update(None).unwrap()), "too_many_requests");
    assert_eq!(env.server.requests_to("/updates"), 1);
    // The block was stored while the device clock was ten years ahead: its deadline is in 2036.
    let state_file = env.data.join("state.json");
    let mut state: serde_json::Value =
        serde_json::from_slice(&fs::read(&state_file).unwrap()).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    state["rate_limited_until_ms"] = serde_json::json!(now + 10 * 365 * 24 * 3600 * 1000);
    fs::write(&state_file, state.to_string()).unwrap();
    // Back on the right clock: the block is more than 24 h ahead of now, so it is dropped and
    // the next check reaches the server.
    env.server.set_updates(
        200,
        r#"{"error":"no_new_version_available","kind":"up_to_date","message":"none"}"#,
    );
    let u2 = env.updater();
    assert_eq!(u2.update(None).unwrap().kind(), "up_to_date");
    assert_eq!(env.server.requests_to("/updates"), 2);
    let state: serde_json::Value = serde_json::from_slice(&fs::read(&state_file).unwrap()).unwrap();
    assert!(
        state["rate_limited_until_ms"].is_null(),
        "the stale block is forgotten: {state}"
    );
    // A block within 24 h still holds.
    let mut state = state;
    state["rate_limited_until_ms"] = serde_json::json!(now + 3600 * 1000);
    fs::write(&state_file, state.to_string()).unwrap();
    assert_eq!(
        failed_code(&env.updater().update(None).unwrap()),
        "too_many_requests"
    );
    assert_eq!(env.server.requests_to("/updates"), 2);
}
