//! The app's HTTP transport: with one installed, every request of an update goes through it (a real HTTP client on 127.0.0.1 here) while the core keeps the decisions — URL policy and redirects, resume ranges, limits — and a lying, failing or panicking transport fails the update with a clear error and leaves the device as it was.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use liveupdate::{
    BundleStatus, Config, Engine, EngineOptions, Hooks, HttpTransport, NoHost, PublicKey,
    TransportHead, TransportRequest, UpdateOutcome, set_http_transport,
};
use liveupdate_test_support::fault_server::Fault;
use liveupdate_test_support::*;

type Updater = Engine;

/// The process-wide transport (`set_http_transport`, the UniFFI setter) is shared: the tests of
/// this binary take turns.
static SERIAL: Mutex<()> = Mutex::new(());

#[derive(Clone, Copy, PartialEq)]
enum Behaviour {
    Honest,
    /// `read` hands back more bytes than asked.
    TooMuch,
    /// `read` panics (a bug in a Rust-implemented transport).
    PanicOnRead,
    /// `send` fails the way a platform stack reports an untrusted certificate.
    RefuseTls,
    /// `read` hands back one byte every 100 ms (each read within its timeout, the whole never ending
    /// in time).
    Trickle,
}

/// A transport over a real HTTP client (ureq, redirects off), recording what it was asked.
struct Recording {
    agent: ureq::Agent,
    behaviour: Behaviour,
    next: AtomicU64,
    open: Mutex<HashMap<u64, ureq::BodyReader<'static>>>,
    sent: Mutex<Vec<TransportRequest>>,
    closed: AtomicUsize,
}

impl Recording {
    fn new(behaviour: Behaviour) -> Arc<Self> {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        Arc::new(Self {
            agent,
            behaviour,
            next: AtomicU64::new(1),
            open: Mutex::default(),
            sent: Mutex::default(),
            closed: AtomicUsize::new(0),
        })
    }

    fn sent(&self) -> Vec<TransportRequest> {
        self.sent.lock().unwrap().clone()
    }
}

impl HttpTransport for Recording {
    fn send(&self, request: TransportRequest) -> Result<TransportHead, String> {
        self.sent.lock().unwrap().push(request.clone());
        if self.behaviour == Behaviour::RefuseTls {
            return Err(
                "javax.net.ssl.SSLHandshakeException: Trust anchor for certification \
                        path not found."
                    .into(),
            );
        }
        let mut builder = ureq::http::Request::builder()
            .method(request.method.as_str())
            .uri(request.url.as_str());
        for (k, v) in &request.headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        let response = match request.body {
            Some(body) => self.agent.run(builder.body(body).unwrap()),
            None => self.agent.run(builder.body(()).unwrap()),
        }
        .map_err(|e| e.to_string())?;
        let id = self.next.fetch_add(1, Ordering::SeqCst);
        let head = TransportHead {
            id,
            status: response.status().as_u16(),
            headers: response
                .headers()
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
                .collect(),
        };
        self.open
            .lock()
            .unwrap()
            .insert(id, response.into_body().into_reader());
        Ok(head)
    }

    fn read(&self, id: u64, max: u32) -> Result<Vec<u8>, String> {
        if self.behaviour == Behaviour::PanicOnRead {
            panic!("a bug in the transport");
        }
        if self.behaviour == Behaviour::Trickle {
            std::thread::sleep(Duration::from_millis(100));
            return Ok(vec![b' ']);
        }
        let mut open = self.open.lock().unwrap();
        let body = open.get_mut(&id).ok_or("no such answer")?;
        let mut buf = vec![0u8; max as usize];
        let n = body.read(&mut buf).map_err(|e| e.to_string())?;
        buf.truncate(n);
        if self.behaviour == Behaviour::TooMuch && n > 0 {
            buf.resize(max as usize + 1, 0);
        }
        Ok(buf)
    }

    fn close(&self, id: u64) {
        self.open.lock().unwrap().remove(&id);
        self.closed.fetch_add(1, Ordering::SeqCst);
    }
}

struct Env {
    app: TestApp,
    set: CapgoSet,
    updater: Updater,
}

impl std::ops::Deref for Env {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.app
    }
}

fn env(transport: Option<Arc<Recording>>) -> Env {
    env_with(|_| {}, transport)
}

/// An engine whose options carry `transport` (`Hooks::transport`), the way the shells give it.
fn env_with(adjust: impl FnOnce(&mut Config), transport: Option<Arc<Recording>>) -> Env {
    let set = capgo_set("set-a-small");
    let app = TestApp::new(fs::read(&set.encrypted_zip).unwrap());
    app.server.offer("1.1.0", &set.session_key, &set.checksum);
    let config = Config {
        app_id: "com.example.liveupdate".into(),
        public_key: Some(PublicKey::from_pem(&set.public_pem).unwrap()),
        update_url: app.server.url("/updates"),
        stats_url: String::new(),
        response_timeout_s: 2,
        ..Config::default()
    };
    let mut config = config;
    adjust(&mut config);
    let mut options = EngineOptions {
        config,
        retry_backoff_ms: 20,
        hooks: Hooks {
            transport: transport.map(|t| t as Arc<dyn HttpTransport>),
            ..Hooks::default()
        },
        ..EngineOptions::new(&app.data, &app.www)
    };
    options.app.native_version = Some("1.0".into());
    let updater = Engine::open(options, Arc::new(NoHost)).unwrap();
    Env { app, set, updater }
}

fn failed(o: &UpdateOutcome) -> String {
    match o {
        UpdateOutcome::Failed { message, .. } => message.clone(),
        other => panic!("expected a failure, got {other:?}"),
    }
}

/// Nothing was installed: the builtin is current, no next, no half bundle.
fn assert_untouched(u: &Updater) {
    let s = u.status().unwrap();
    assert_eq!(s.current.id, "builtin");
    assert_eq!(s.next, None);
    assert!(s.bundles.iter().all(|b| b.status != BundleStatus::Pending));
}

/// An engine with `transport` in its hooks, prepared, then one update.
fn update_through(transport: &Arc<Recording>, prepare: impl FnOnce(&Env)) -> (Env, UpdateOutcome) {
    let e = env(Some(transport.clone()));
    prepare(&e);
    let o = e.updater.update(None).unwrap();
    (e, o)
}

#[test]
fn every_request_of_an_update_goes_through_the_apps_transport() {
    let _turn = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let t = Recording::new(Behaviour::Honest);
    let (e, o) = update_through(&t, |e| {
        // The first transfer is cut: the core resumes it with a Range request, through the app.
        e.server.faults(vec![Fault::CutAfter(1_000)]);
    });
    let UpdateOutcome::Installed { bundle, .. } = &o else {
        panic!("{o:?}")
    };
    assert_eq!(bundle.checksum, e.set.sha256);
    let sent = t.sent();
    let seen = e.server.seen();
    assert_eq!(sent.len(), seen.len(), "{sent:?} vs {seen:?}");
    let check = &sent[0];
    assert_eq!(check.method, "POST");
    assert!(check.url.ends_with("/updates"));
    let header = |r: &TransportRequest, name: &str| {
        r.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    assert!(header(check, "user-agent").is_some());
    assert!(
        header(check, "content-type")
            .unwrap()
            .starts_with("application/json")
    );
    let body: serde_json::Value = serde_json::from_slice(check.body.as_deref().unwrap()).unwrap();
    assert_eq!(body["app_id"], "com.example.liveupdate");
    let gets: Vec<_> = sent.iter().filter(|r| r.method == "GET").collect();
    assert_eq!(gets.len(), 2, "{sent:?}");
    assert_eq!(
        header(gets[0], "accept-encoding").as_deref(),
        Some("identity")
    );
    assert_eq!(header(gets[0], "range"), None);
    assert_eq!(header(gets[1], "range").as_deref(), Some("bytes=1000-"));
    assert!(gets.iter().all(|r| r.timeout == Duration::from_secs(2)));
    // Every answer was released.
    assert_eq!(t.closed.load(Ordering::SeqCst), sent.len());
}

#[test]
fn the_core_follows_redirects_itself_under_the_url_policy() {
    let _turn = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    // A loopback redirect is followed (by the core, through the transport)…
    let t = Recording::new(Behaviour::Honest);
    let (e, o) = update_through(&t, |e| {
        let to = e.server.url("/bundle.zip?moved=1");
        e.server.faults(vec![Fault::Redirect(to), Fault::Ok]);
    });
    assert!(matches!(o, UpdateOutcome::Installed { .. }), "{o:?}");
    let bundle_requests = e
        .server
        .seen()
        .iter()
        .filter(|s| s.path.starts_with("/bundle.zip"))
        .count();
    assert_eq!(bundle_requests, 2);
    assert!(
        t.sent()
            .iter()
            .any(|r| r.url.ends_with("/bundle.zip?moved=1"))
    );
    // …a redirect to plain http elsewhere is refused before anything is sent there.
    let t = Recording::new(Behaviour::Honest);
    let (e, o) = update_through(&t, |e| {
        e.server.faults(vec![Fault::Redirect(
            "http://updates.example.com/bundle.zip".into(),
        )]);
    });
    let m = failed(&o);
    assert!(m.contains("plain http"), "{m}");
    assert!(t.sent().iter().all(|r| r.url.contains("127.0.0.1")));
    assert_untouched(&e.updater);
}

#[test]
fn a_failing_lying_or_panicking_transport_fails_the_update_cleanly() {
    let _turn = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    // The platform refused the certificate: its reason and the host reach the error.
    let t = Recording::new(Behaviour::RefuseTls);
    let (e, o) = update_through(&t, |_| {});
    let m = failed(&o);
    assert!(m.contains("request to 127.0.0.1 failed"), "{m}");
    assert!(
        m.contains("Trust anchor for certification path not found"),
        "{m}"
    );
    assert_untouched(&e.updater);

    // More bytes than asked: refused (memory stays bounded by what the core asks for).
    let t = Recording::new(Behaviour::TooMuch);
    let (e, o) = update_through(&t, |_| {});
    let m = failed(&o);
    assert!(m.contains("more bytes than asked"), "{m}");
    assert_untouched(&e.updater);
    assert_eq!(t.closed.load(Ordering::SeqCst), t.sent().len());

    // A panic inside the transport: an error, not a crash.
    let t = Recording::new(Behaviour::PanicOnRead);
    let (e, o) = update_through(&t, |_| {});
    let m = failed(&o);
    assert!(m.contains("the app's HTTP transport failed"), "{m}");
    assert_untouched(&e.updater);

    // Without a transport: the built-in client serves the same update where the build has one;
    // a phone build (no `builtin-http`) says what is missing and changes nothing.
    let e = env(None);
    let o = e.updater.update(None).unwrap();
    if cfg!(feature = "builtin-http") {
        assert!(matches!(o, UpdateOutcome::Installed { .. }), "{o:?}");
    } else {
        let m = failed(&o);
        assert!(m.contains("no HTTP transport"), "{m}");
        assert!(m.contains("setHttpTransport"), "{m}");
        assert!(m.contains("liveupdate_set_http_transport"), "{m}");
        assert_untouched(&e.updater);
        assert!(e.server.seen().is_empty());
    }
}

#[test]
fn a_trickling_transport_is_stopped_by_the_update_deadline() {
    let _turn = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    // Through the process-wide setter this time (what the UniFFI `set_http_transport` does).
    let t = Recording::new(Behaviour::Trickle);
    set_http_transport(Some(t.clone()));
    let e = env_with(|c| c.update_timeout_s = 2, None);
    let started = std::time::Instant::now();
    let o = e.updater.update(None).unwrap();
    set_http_transport(None);
    let took = started.elapsed();
    let m = failed(&o);
    assert!(took < Duration::from_secs(6), "{took:?}: {m}");
    assert_untouched(&e.updater);
    assert_eq!(t.closed.load(Ordering::SeqCst), t.sent().len());
}
