//! Delta (manifest) updates end to end on the real CLI delta uploads (2.0.0 → 2.0.1), served by a loopback HTTP server the way Capgo's backend
//! serves them: only changed files fetched, each verified; hostile manifests and bodies fail with nothing activated and no folder left.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use liveupdate::{
    AppIdentity, BundleStatus, Config, Engine, EngineOptions, HostOptions, NoHost, PublicKey,
    UpdateOutcome,
};

/// The headless engine, as `device update`, the C handle and UniFFI drive it.
type Updater = Engine;

/// A headless engine on `data` with `config`, native version 1.0, short retry delays.
fn headless(data: &Path, www: &Path, config: Config) -> Updater {
    let options = EngineOptions {
        config,
        app: AppIdentity {
            native_version: Some("1.0".into()),
            version_code: "10".into(),
            os_version: "14".into(),
            ..AppIdentity::default()
        },
        retry_backoff_ms: 20,
        ..EngineOptions::new(data, www)
    };
    Engine::open(options, std::sync::Arc::new(NoHost)).unwrap()
}
use liveupdate_test_support::fault_server::Fault;
use liveupdate_test_support::*;
use serde_json::{Value, json};

fn delta_dir() -> PathBuf {
    fixtures().join("capgo/delta")
}

fn read(p: impl AsRef<Path>) -> String {
    fs::read_to_string(p).unwrap().trim().to_string()
}

/// The 2.0.1 release's AES key and IV (from the research set's `recovered.json`), to make
/// synthetic bodies a device decrypts with the real 2.0.1 session key.
const IV_201: &str = "87fc99eecbdd61770a67ff83961933d8";
const KEY_201: &str = "de6ef999ca6e7218904d9a934b66c166";

fn arr16(hex: &str) -> [u8; 16] {
    from_hex(hex).try_into().unwrap()
}

/// Percent-encodes each path segment as the fixtures' relative `download_url`s are.
fn url_key(version: &str, file_name: &str) -> String {
    let mut out = format!("v{version}/");
    for b in file_name.bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

struct Env {
    app: TestApp,
}

impl std::ops::Deref for Env {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.app
    }
}

impl Env {
    /// A device whose builtin is a one-file app (or `builtin`'s files).
    fn new(builtin: Option<&Path>) -> Self {
        let zip =
            delta_dir().join("v2.0.0/full-bundle/com.example.deltadev_2.0.0.zip_encrypted.zip");
        let app = TestApp::new(fs::read(zip).unwrap());
        if let Some(src) = builtin {
            fs::remove_dir_all(&app.www).unwrap();
            copy_tree(src, &app.www);
        }
        let env = Self { app };
        // Every body of both uploads, at the URL the manifest names.
        for v in ["2.0.0", "2.0.1"] {
            for e in env.manifest(v).as_array().unwrap() {
                let name = e["file_name"].as_str().unwrap();
                let body = fs::read(delta_dir().join(format!("v{v}/uploaded")).join(name)).unwrap();
                env.server.add_file(&url_key(v, name), body);
            }
        }
        env
    }

    /// The device-facing manifest of `version` with absolute URLs on this server.
    fn manifest(&self, version: &str) -> Value {
        let mut m: Value =
            serde_json::from_str(&read(delta_dir().join(format!("v{version}/manifest.json"))))
                .unwrap();
        for e in m.as_array_mut().unwrap() {
            let name = e["file_name"].as_str().unwrap().to_string();
            e["download_url"] = json!(
                self.server
                    .url(&format!("/files/{}", url_key(version, &name)))
            );
        }
        m
    }

    fn config(&self) -> Config {
        Config {
            app_id: "com.example.deltadev".into(),
            public_key: Some(
                PublicKey::from_pem(&read(delta_dir().join("capgo_key_v2.pub"))).unwrap(),
            ),
            update_url: self.server.url("/updates"),
            stats_url: self.server.url("/stats"),
            channel_url: self.server.url("/channel_self"),
            response_timeout_s: 2,
            ..Config::default()
        }
    }

    fn updater_with(&self, config: Config) -> Updater {
        headless(&self.data, &self.www, config)
    }

    fn updater(&self) -> Updater {
        self.updater_with(self.config())
    }

    /// Offers `version` as Capgo's backend does for a `--delta-only` upload: the placeholder zip
    /// URL, no zip checksum, the manifest.
    fn offer_delta(&self, version: &str, manifest: &Value) {
        let body = json!({
            "version": version,
            "url": "https://404.capgo.app/no.zip",
            "session_key": read(delta_dir().join(format!("v{version}/ivSessionKey.txt"))),
            "checksum": null,
            "manifest": manifest,
        });
        self.server.set_updates(200, &body.to_string());
    }

    /// Offers 2.0.0 as a plain zip release.
    fn offer_zip_200(&self) {
        self.server.set_updates(
            200,
            &json!({
                "version": "2.0.0",
                "url": self.server.url("/bundle.zip"),
                "session_key": read(delta_dir().join("v2.0.0/ivSessionKey.txt")),
                "checksum": read(delta_dir().join("v2.0.0/checksum.txt")),
            })
            .to_string(),
        );
    }

    /// Installs and applies the pending bundle (as the next launch would).
    fn update_and_apply(&self, u: &Updater) -> (liveupdate::BundleInfo, liveupdate::DownloadStats) {
        let o = u.update(None).unwrap();
        let UpdateOutcome::Installed {
            bundle, download, ..
        } = o
        else {
            panic!("not installed: {o:?}");
        };
        u.set(&bundle.id).unwrap();
        (bundle, download)
    }

    fn bundle_dir(&self, id: &str) -> PathBuf {
        self.data.join("bundles").join(id)
    }

    fn bundle_folders(&self) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(self.data.join("bundles"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    fn pool_files(&self) -> Vec<String> {
        fs::read_dir(self.data.join("delta-pool"))
            .map(|r| {
                r.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// Relative path → bytes of every file under `root`.
fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                walk(root, &e.path(), out);
            } else {
                let rel = e
                    .path()
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.insert(rel, fs::read(e.path()).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// The 2.0.1 web build as a delta install has it: every file but the empty one (not in manifests).
fn expected_201() -> BTreeMap<String, Vec<u8>> {
    let mut t = tree(&delta_dir().join("v2.0.1/original"));
    assert_eq!(t.remove("lib/noop.js").map(|b| b.len()), Some(0));
    t
}

/// Body bytes of the 2.0.1 files that changed or were added.
fn changed_bodies_201() -> u64 {
    [
        "lib/runtime/framework.js.br",
        "main.js",
        "pages/onboarding/step-1.js",
    ]
    .iter()
    .map(|n| {
        fs::metadata(delta_dir().join("v2.0.1/uploaded").join(n))
            .unwrap()
            .len()
    })
    .sum()
}

fn assert_within_10_percent(served: u64, expected: u64) {
    assert!(
        served >= expected && served as f64 <= expected as f64 * 1.10,
        "served {served} bytes, the changed bodies are {expected}"
    );
}

#[test]
fn a_zip_installed_2_0_0_updates_by_fetching_only_the_changed_files() {
    let env = Env::new(None);
    let u = env.updater();
    env.offer_zip_200();
    let (b200, _) = env.update_and_apply(&u);
    assert_eq!(b200.version, "2.0.0");
    let seen_before = env.server.seen().len();

    env.offer_delta("2.0.1", &env.manifest("2.0.1"));
    let o = u.update(None).unwrap();
    let UpdateOutcome::Installed {
        bundle, download, ..
    } = &o
    else {
        panic!("{o:?}");
    };
    let d = download.delta.expect("delta figures");
    assert_eq!((d.files, d.reused, d.fetched), (11, 8, 3), "{o:?}");
    assert_eq!(tree(&env.bundle_dir(&bundle.id)), expected_201());
    assert!(
        !env.bundle_dir(&bundle.id)
            .join("pages/legacy/banner.js")
            .exists()
    );
    // Only changed bodies crossed the network; the zip URL was never asked for.
    let after: Vec<_> = env.server.seen()[seen_before..].to_vec();
    assert!(after.iter().all(|s| s.path != "/bundle.zip"));
    let served: u64 = after
        .iter()
        .filter(|s| s.path.starts_with("/files/"))
        .map(|s| s.body_bytes_sent)
        .sum();
    assert_within_10_percent(served, changed_bodies_201());
    assert_eq!(download.network_bytes, served);
    // The identity is the manifest digest, and the pool let go of what went into the bundle.
    assert_eq!(bundle.checksum.len(), 64);
    assert_eq!(bundle.status, BundleStatus::Pending);
    assert!(env.pool_files().is_empty(), "{:?}", env.pool_files());
    // The JSON the CLI prints carries the figures.
    let j = o.to_json(bundle);
    assert_eq!(j["delta"]["reused"], 8);
    assert_eq!(j["delta"]["fetched"], 3);
    u.flush_stats(Duration::from_secs(2)).unwrap();
    let actions = env.server.stats_actions();
    for a in [
        "download_manifest_start",
        "download_manifest_complete",
        "download_complete",
    ] {
        assert!(
            actions.iter().any(|x| x == a),
            "{a} missing from {actions:?}"
        );
    }
    let since = actions
        .iter()
        .position(|a| a == "download_manifest_start")
        .unwrap();
    assert!(
        !actions[since..].iter().any(|x| x == "download_zip_start"),
        "{actions:?}"
    );
    // The same release again is found installed, nothing fetched.
    let again = u.update(None).unwrap();
    assert!(
        matches!(again, UpdateOutcome::Installed { download, .. } if download.network_bytes == 0),
        "{again:?}"
    );
}

#[test]
fn a_device_whose_builtin_is_2_0_0_fetches_only_the_changed_files() {
    let env = Env::new(Some(&delta_dir().join("v2.0.0/original")));
    let u = env.updater();
    env.offer_delta("2.0.1", &env.manifest("2.0.1"));
    let (b, download) = env.update_and_apply(&u);
    let d = download.delta.unwrap();
    assert_eq!((d.reused, d.fetched), (8, 3));
    assert_eq!(tree(&env.bundle_dir(&b.id)), expected_201());
    assert_within_10_percent(env.server.files_bytes_sent(), changed_bodies_201());
    // The builtin folder was copied from, never changed.
    assert_eq!(tree(&env.www), tree(&delta_dir().join("v2.0.0/original")));
}

#[test]
fn a_device_on_2_0_0_installed_by_delta_updates_by_delta() {
    let env = Env::new(None);
    let u = env.updater();
    env.offer_delta("2.0.0", &env.manifest("2.0.0"));
    let (b200, d200) = env.update_and_apply(&u);
    let d = d200.delta.unwrap();
    assert_eq!((d.files, d.reused, d.fetched), (11, 0, 11));
    let mut expected_200 = tree(&delta_dir().join("v2.0.0/original"));
    expected_200.remove("lib/noop.js");
    assert_eq!(tree(&env.bundle_dir(&b200.id)), expected_200);
    let sent_200 = env.server.files_bytes_sent();

    env.offer_delta("2.0.1", &env.manifest("2.0.1"));
    let (b201, d201) = env.update_and_apply(&u);
    assert_eq!(d201.delta.unwrap().fetched, 3);
    assert_eq!(tree(&env.bundle_dir(&b201.id)), expected_201());
    assert_within_10_percent(
        env.server.files_bytes_sent() - sent_200,
        changed_bodies_201(),
    );
    // Deleting the old bundle leaves the new one whole (shared files were hard links).
    u.delete(&b200.id).unwrap();
    assert_eq!(tree(&env.bundle_dir(&b201.id)), expected_201());
}

/// Installs 2.0.0 by zip, then runs a 2.0.1 delta with `manifest`; returns the failure.
fn failing_update(env: &Env, manifest: &Value) -> (String, String) {
    let u = env.updater();
    env.offer_zip_200();
    let (b200, _) = env.update_and_apply(&u);
    let before = env.bundle_folders();
    env.offer_delta("2.0.1", manifest);
    let started = Instant::now();
    let o = u.update(None).unwrap();
    assert!(started.elapsed() < Duration::from_secs(20));
    let UpdateOutcome::Failed { error, message } = o else {
        panic!("expected a failure, got {o:?}");
    };
    // Nothing activated, nothing queued, no folder left.
    let s = u.status().unwrap();
    assert_eq!(s.current.id, b200.id);
    assert!(s.next.is_none(), "{s:?}");
    assert_eq!(env.bundle_folders(), before, "{message}");
    assert!(
        s.bundles.iter().all(|b| b.version != "2.0.1"),
        "a 2.0.1 record remained: {:?}",
        s.bundles
    );
    assert!(env.pool_files().iter().all(|n| !n.starts_with(".tmp")));
    (error, message)
}

/// After a failure, the genuine 2.0.1 release still installs.
fn good_update_still_works(env: &Env) {
    env.server.set_updates(200, "{}");
    env.offer_delta("2.0.1", &env.manifest("2.0.1"));
    let u = env.updater();
    let (b, _) = env.update_and_apply(&u);
    assert_eq!(tree(&env.bundle_dir(&b.id)), expected_201());
}

fn entry_mut<'a>(m: &'a mut Value, name: &str) -> &'a mut Value {
    m.as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|e| e["file_name"] == name)
        .unwrap()
}

#[test]
fn a_tampered_body_fails_the_update_and_a_later_good_one_installs() {
    let env = Env::new(None);
    // One bit of main.js's ciphertext flipped in transit (every request).
    env.server
        .file_faults(&url_key("2.0.1", "main.js"), vec![Fault::Corrupt(100); 8]);
    let (error, message) = failing_update(&env, &env.manifest("2.0.1"));
    assert_eq!(error, "checksum_fail", "{message}");
    assert!(message.contains("main.js"), "{message}");
    env.server.file_faults(&url_key("2.0.1", "main.js"), vec![]);
    good_update_still_works(&env);
}

#[test]
fn a_validly_signed_hash_of_other_content_fails() {
    let env = Env::new(None);
    let mut m = env.manifest("2.0.1");
    let other = entry_mut(&mut m, "theme.css")["file_hash"].clone();
    entry_mut(&mut m, "main.js")["file_hash"] = other;
    let (error, message) = failing_update(&env, &m);
    assert_eq!(error, "checksum_fail", "{message}");
    good_update_still_works(&env);
}

#[test]
fn an_invalid_signature_or_escaping_path_fails_before_any_transfer() {
    let env = Env::new(None);
    let mut m = env.manifest("2.0.1");
    let h = entry_mut(&mut m, "main.js")["file_hash"]
        .as_str()
        .unwrap()
        .to_string();
    let flipped = format!("{}{}", if h.starts_with('0') { "1" } else { "0" }, &h[1..]);
    entry_mut(&mut m, "main.js")["file_hash"] = json!(flipped);
    let (error, _) = failing_update(&env, &m);
    assert_eq!(error, "checksum_fail");
    assert_eq!(env.server.files_bytes_sent(), 0);

    for evil in ["../escape.js", "/etc/evil.js", "a/../../x.js", "INDEX.html"] {
        let env = Env::new(None);
        let mut m = env.manifest("2.0.1");
        let mut e = entry_mut(&mut m, "main.js").clone();
        e["file_name"] = json!(evil);
        m.as_array_mut().unwrap().push(e);
        let (error, message) = failing_update(&env, &m);
        assert_eq!(error, "manifest_path_fail", "{evil}: {message}");
        assert_eq!(env.server.files_bytes_sent(), 0, "{evil}");
        assert!(!env.data.join("escape.js").exists());
    }
}

#[test]
fn a_corrupted_local_file_is_never_copied_into_the_new_bundle() {
    let env = Env::new(None);
    let u = env.updater();
    env.offer_zip_200();
    let (b200, _) = env.update_and_apply(&u);
    // Bit rot (or tampering) in an installed bundle's unchanged file.
    let theme = env.bundle_dir(&b200.id).join("theme.css");
    let mut bytes = fs::read(&theme).unwrap();
    bytes[3] ^= 0x20;
    fs::write(&theme, &bytes).unwrap();
    env.offer_delta("2.0.1", &env.manifest("2.0.1"));
    let (b, download) = env.update_and_apply(&u);
    let d = download.delta.unwrap();
    assert_eq!((d.reused, d.fetched), (7, 4), "theme.css must be fetched");
    assert_eq!(tree(&env.bundle_dir(&b.id)), expected_201());
    // The damaged copy stays where it was: bundles are never modified.
    assert_eq!(fs::read(&theme).unwrap(), bytes);
}

#[test]
fn a_body_cut_mid_file_resumes_with_range() {
    let env = Env::new(None);
    let key = url_key("2.0.1", "lib/runtime/framework.js.br");
    env.server
        .file_faults(&key, vec![Fault::CutAfter(1000), Fault::CutAfter(1000)]);
    let u = env.updater();
    env.offer_zip_200();
    env.update_and_apply(&u);
    let sent_before = env.server.files_bytes_sent();
    env.offer_delta("2.0.1", &env.manifest("2.0.1"));
    let (b, download) = env.update_and_apply(&u);
    assert_eq!(tree(&env.bundle_dir(&b.id)), expected_201());
    assert!(download.resumed_bytes >= 1000, "{download:?}");
    let ranged: Vec<_> = env
        .server
        .seen()
        .into_iter()
        .filter(|s| s.path.ends_with("framework.js.br") && s.range.is_some())
        .collect();
    assert_eq!(ranged.len(), 2, "two resumes with Range");
    assert_within_10_percent(
        env.server.files_bytes_sent() - sent_before,
        changed_bodies_201(),
    );
}

#[test]
fn verified_files_survive_a_failed_attempt_and_are_not_fetched_again() {
    let env = Env::new(None);
    let key = url_key("2.0.1", "pages/onboarding/step-1.js");
    // The added file stalls a while (the other two finish meanwhile), then is gone.
    let mut faults = vec![Fault::StallAfter(0, Duration::from_millis(800))];
    faults.extend(vec![Fault::Status(404, None); 8]);
    env.server.file_faults(&key, faults);
    let (error, _) = failing_update(&env, &env.manifest("2.0.1"));
    assert_eq!(error, "network_error");
    assert_eq!(
        env.pool_files().len(),
        2,
        "main.js and framework.js verified and kept"
    );
    env.server.file_faults(&key, vec![]);
    let u = env.updater();
    let before = env.server.seen().len();
    env.offer_delta("2.0.1", &env.manifest("2.0.1"));
    let (b, download) = env.update_and_apply(&u);
    assert_eq!(tree(&env.bundle_dir(&b.id)), expected_201());
    let fetched_after: Vec<String> = env.server.seen()[before..]
        .iter()
        .filter(|s| s.path.starts_with("/files/"))
        .map(|s| s.path.clone())
        .collect();
    assert_eq!(fetched_after, vec![format!("/files/{key}")]);
    let d = download.delta.unwrap();
    assert_eq!((d.reused, d.fetched), (10, 1));
    assert!(env.pool_files().is_empty());
}

/// A synthetic 2.0.1-keyed release: `files` are (file_name, plain bytes, body as served before
/// encryption); hashes signed with the fixture key.
fn synthetic(env: &Env, files: &[(&str, Vec<u8>, Vec<u8>)]) -> Value {
    let enc = Encryptor::new(&read(delta_dir().join("capgo_key_v2")));
    let mut m = Vec::new();
    for (name, plain, body) in files {
        let hash = to_hex(&enc.sign_type1(&from_hex(&sha256_hex(plain))));
        let cipher = aes_cbc_encrypt(body, &arr16(IV_201), &arr16(KEY_201));
        let key = url_key("syn", name);
        let url = env.server.add_file(&key, cipher);
        m.push(json!({"file_name": name, "file_hash": hash, "download_url": url}));
    }
    Value::Array(m)
}

#[test]
fn a_brotli_bomb_stops_at_the_size_cap() {
    let env = Env::new(None);
    let bomb = fs::read(fixtures().join("delta/bomb-64MiB-zeros.br")).unwrap();
    let zeros = vec![0u8; 64 << 20];
    let m = synthetic(
        &env,
        &[
            (
                "index.html",
                b"<html>x</html>".to_vec(),
                b"<html>x</html>".to_vec(),
            ),
            ("bomb.bin.br", zeros, bomb),
        ],
    );
    let mut cfg = env.config();
    cfg.limits.max_bytes = 1 << 20;
    let u = env.updater_with(cfg);
    env.offer_delta("2.0.1", &m);
    let o = u.update(None).unwrap();
    let UpdateOutcome::Failed { error, message } = o else {
        panic!("{o:?}")
    };
    assert!(message.contains("size limit"), "{error}: {message}");
    assert!(
        env.bundle_folders().is_empty(),
        "{:?}",
        env.bundle_folders()
    );
    let pool_bytes: u64 = fs::read_dir(env.data.join("delta-pool"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert!(pool_bytes < 1 << 20, "{pool_bytes}");
}

#[test]
fn brotli_edge_cases_and_garbage() {
    // Not a brotli stream, a valid one followed by garbage, and a "large window" stream (a
    // 1 GiB window: refused, only standard windows are decoded): a typed brotli failure.
    for body in [b"this is not brotli at all".to_vec(), vec![0x11, 0xDE], {
        let mut b = fs::read(fixtures().join("delta/bomb-64MiB-zeros.br")).unwrap();
        b.extend_from_slice(b"trailing");
        b
    }] {
        let env = Env::new(None);
        let m = synthetic(
            &env,
            &[
                (
                    "index.html",
                    b"<html>x</html>".to_vec(),
                    b"<html>x</html>".to_vec(),
                ),
                ("x.js.br", Vec::new(), body),
            ],
        );
        env.offer_delta("2.0.1", &m);
        let o = env.updater().update(None).unwrap();
        let UpdateOutcome::Failed { error, message } = o else {
            panic!("{o:?}")
        };
        assert_eq!(error, "brotli_fail", "{message}");
        assert!(message.contains("x.js.br"), "{message}");
        assert!(env.bundle_folders().is_empty());
    }
    // An empty body for a `.br` name is an empty file.
    let env = Env::new(None);
    let m = synthetic(
        &env,
        &[
            (
                "index.html",
                b"<html>x</html>".to_vec(),
                b"<html>x</html>".to_vec(),
            ),
            ("empty.txt.br", Vec::new(), Vec::new()),
        ],
    );
    env.offer_delta("2.0.1", &m);
    let (b, _) = env.update_and_apply(&env.updater());
    assert_eq!(
        fs::read(env.bundle_dir(&b.id).join("empty.txt")).unwrap(),
        b""
    );
}

#[test]
fn a_release_without_index_html_is_refused_with_nothing_left() {
    let env = Env::new(None);
    let m = synthetic(
        &env,
        &[("app/index.html", b"<html/>".to_vec(), b"<html/>".to_vec())],
    );
    env.offer_delta("2.0.1", &m);
    let o = env.updater().update(None).unwrap();
    assert!(
        matches!(&o, UpdateOutcome::Failed { message, .. } if message.contains("index.html")),
        "{o:?}"
    );
    assert!(env.bundle_folders().is_empty());
}

#[test]
fn a_malformed_manifest_fails_and_never_falls_back_to_the_zip() {
    let env = Env::new(None);
    let body = json!({
        "version": "2.0.1",
        "url": env.server.url("/bundle.zip"),
        "session_key": read(delta_dir().join("v2.0.0/ivSessionKey.txt")),
        "checksum": read(delta_dir().join("v2.0.0/checksum.txt")),
        "manifest": [{"file_name": "index.html"}],
    });
    env.server.set_updates(200, &body.to_string());
    let o = env.updater().update(None).unwrap();
    assert!(
        matches!(&o, UpdateOutcome::Failed { error, .. } if error == "manifest_invalid"),
        "{o:?}"
    );
    assert_eq!(env.server.requests_to("/bundle.zip"), 0);
}

/// Records the engine's events.
#[derive(Default)]
struct Rec {
    events: std::sync::Mutex<Vec<(String, Value)>>,
}

impl liveupdate::Host for Rec {
    fn event(&self, name: &str, data: &Value) {
        self.events
            .lock()
            .unwrap()
            .push((name.to_string(), data.clone()));
    }
    fn action(&self, _action: &liveupdate::HostAction) {}
}

#[test]
fn the_engine_downloads_a_manifest_release_and_answers_the_delta_methods() {
    let env = Env::new(Some(&delta_dir().join("v2.0.0/original")));
    let rec = std::sync::Arc::new(Rec::default());
    let config = json!({"appId": "com.example.deltadev", "plugins": {"CapacitorUpdater": {
        "updateUrl": env.server.url("/updates"), "statsUrl": env.server.url("/stats"),
        "channelUrl": env.server.url("/channel_self"), "autoUpdate": false, "responseTimeout": 2,
        "publicKey": read(delta_dir().join("capgo_key_v2.pub")),
    }}});
    let mut o = HostOptions {
        data_dir: env.data.to_string_lossy().into_owned(),
        builtin_dir: env.www.to_string_lossy().into_owned(),
        capacitor_config_json: Some(config.to_string()),
        native_version: Some("1.0".into()),
        ..HostOptions::default()
    }
    .into_engine_options(false)
    .unwrap();
    o.retry_backoff_ms = 20;
    let e = liveupdate::Engine::start(o, rec.clone()).unwrap();
    let manifest = env.manifest("2.0.1");
    let session = read(delta_dir().join("v2.0.1/ivSessionKey.txt"));

    let m = e
        .call(
            "getMissingBundleFiles",
            &json!({"manifest": manifest, "sessionKey": session}),
        )
        .unwrap();
    assert_eq!(
        (
            m["total"].as_u64(),
            m["missingCount"].as_u64(),
            m["reusableCount"].as_u64()
        ),
        (Some(11), Some(3), Some(8)),
        "{m}"
    );
    let mut names: Vec<&str> = m["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["file_name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "lib/runtime/framework.js.br",
            "main.js",
            "pages/onboarding/step-1.js"
        ]
    );
    // This server has no manifest_size endpoint: Capgo's unavailable answer.
    let size = e
        .call(
            "getBundleDownloadSize",
            &json!({"manifest": manifest, "version": "2.0.1"}),
        )
        .unwrap();
    assert_eq!(
        (size["totalSize"].as_u64(), size["unknownFiles"].as_u64()),
        (Some(0), Some(11))
    );
    assert_eq!(size["files"][0]["error"], "response_error");

    env.offer_delta("2.0.1", &manifest);
    let latest = e
        .call("getLatest", &json!({"includeBundleSize": true}))
        .unwrap();
    assert_eq!(latest["missing"]["missingCount"], 3, "{latest}");
    assert_eq!(latest["downloadSize"]["unknownFiles"], 11);

    let b = e
        .call(
            "download",
            &json!({"url": latest["url"], "version": "2.0.1",
               "sessionKey": latest["sessionKey"], "manifest": latest["manifest"]}),
        )
        .unwrap();
    assert_eq!(b["status"], "pending");
    assert_eq!(
        tree(&env.bundle_dir(b["id"].as_str().unwrap())),
        expected_201()
    );
    let events = rec.events.lock().unwrap().clone();
    let percents: Vec<u64> = events
        .iter()
        .filter(|(n, _)| n == "download")
        .map(|(_, d)| d["percent"].as_u64().unwrap())
        .collect();
    assert_eq!(percents.first(), Some(&0));
    assert_eq!(percents.last(), Some(&100));
    assert!(
        percents.iter().any(|p| (10..=70).contains(p) && *p > 10),
        "{percents:?}"
    );
    assert!(percents.windows(2).all(|w| w[0] <= w[1]), "{percents:?}");
    assert!(events.iter().any(|(n, _)| n == "downloadComplete"));
    // Now nothing is missing.
    let m = e
        .call(
            "getMissingBundleFiles",
            &json!({"manifest": manifest, "sessionKey": session}),
        )
        .unwrap();
    assert_eq!(m["missingCount"], 0);
    e.shutdown();
}

/// Aborts `liveupdate device update` at every durability point of a delta install (pool renames,
/// the publish rename, folder flushes, the state file), for a device on 2.0.0 (zip); after each
/// crash a new launch serves 2.0.0 or the complete 2.0.1, no staging folder or temp file
/// survives, and the next run finishes the update fetching only what is not yet verified.
#[test]
#[cfg(feature = "crash-hooks")]
fn a_crash_at_every_durability_point_of_a_delta_install_leaves_a_launchable_state() {
    let env = Env::new(None);
    let config = env.data.parent().unwrap().join("capacitor.config.json");
    fs::write(
        &config,
        json!({"appId": "com.example.deltadev", "plugins": {"CapacitorUpdater": {
            "publicKey": read(delta_dir().join("capgo_key_v2.pub")), "responseTimeout": 2,
            "directUpdate": "always", "statsUrl": ""}}})
        .to_string(),
    )
    .unwrap();
    let run = |args: &[&str], crash_at: Option<u32>| {
        let mut c = cli_command(env!("CARGO_BIN_EXE_liveupdate"));
        c.args(["device", "--data-dir"])
            .arg(&env.data)
            .arg("--builtin")
            .arg(&env.www)
            .arg("--config")
            .arg(&config)
            .args(["--native-version", "1.0"])
            .args(args);
        if let Some(n) = crash_at {
            c.env("LIVEUPDATE_CRASH_AT", n.to_string());
        }
        c.output().unwrap()
    };
    let update_url = env.server.url("/updates");
    env.offer_zip_200();
    assert!(
        run(&["update", "--update-url", &update_url], None)
            .status
            .success()
    );
    let launch = |expect_201: Option<bool>| -> String {
        let out = run(&["launch"], None);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let version = v["bundle"]["version"].as_str().unwrap().to_string();
        let root = PathBuf::from(v["web_root"].as_str().unwrap());
        let t = tree(&root);
        match version.as_str() {
            "2.0.1" => assert_eq!(t, expected_201(), "a served 2.0.1 must be complete"),
            "2.0.0" => assert_eq!(t, tree(&delta_dir().join("v2.0.0/original"))),
            other => {
                assert_eq!(other, "1.0", "builtin");
                assert_eq!(t, tree(&env.www));
            }
        }
        if let Some(e) = expect_201 {
            assert_eq!(version == "2.0.1", e);
        }
        for n in fs::read_dir(env.data.join("bundles")).unwrap() {
            let n = n.unwrap().file_name().to_string_lossy().into_owned();
            assert!(!n.starts_with('.'), "staging leftover {n}");
        }
        assert!(
            env.pool_files().iter().all(|n| !n.starts_with('.')),
            "{:?}",
            env.pool_files()
        );
        // The page confirms, as a healthy app does.
        let ready = run(&["ready", v["launch_id"].as_str().unwrap()], None);
        assert!(ready.status.success());
        version
    };
    launch(Some(false));
    env.offer_delta("2.0.1", &env.manifest("2.0.1"));
    let mut crashes = 0;
    for n in 1..200 {
        let out = run(&["update", "--update-url", &update_url], Some(n));
        if out.status.code().is_some() {
            break; // ran to the end without reaching point n
        }
        crashes += 1;
        launch(None);
        // A 2.0.1 that made it is removed, so the next crash point is reached in a new install
        // (2.0.0 stays installed: a reuse source whether it is current or not).
        let s: Value = serde_json::from_slice(&run(&["status"], None).stdout).unwrap();
        if s["bundles"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["version"] == "2.0.1")
        {
            assert!(run(&["reset"], None).status.success());
            for b in s["bundles"].as_array().unwrap() {
                if b["version"] == "2.0.1" {
                    assert!(
                        run(&["delete", b["id"].as_str().unwrap()], None)
                            .status
                            .success()
                    );
                }
            }
        }
    }
    assert!(crashes >= 5, "only {crashes} crash points reached");
    let before = env.server.files_bytes_sent();
    let out = run(&["update", "--update-url", &update_url], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    launch(Some(true));
    // The last run fetched at most the three changed files.
    assert!(env.server.files_bytes_sent() - before <= changed_bodies_201() * 11 / 10);
    println!("{crashes} crashes inside a delta install, every one followed by a clean launch");
}

/// A delta release that does not fit the disk (a 6 MiB tmpfs; needs root, as on CI): a typed
/// `insufficient_disk_space` failure, the current bundle kept, and the space given back.
#[test]
fn a_full_disk_fails_a_delta_install_cleanly() {
    use std::process::Command;
    let env = Env::new(None);
    let small = env.data.parent().unwrap().join("small");
    fs::create_dir(&small).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=6m", "tmpfs"])
        .arg(&small)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("skipped: mounting a tmpfs needs root (CI runs as root)");
        return;
    }
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(small.clone());
    let data = small.join("data");
    let u = headless(&data, &env.www, env.config());
    let big: Vec<u8> = (0..(4u32 << 20))
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let m = synthetic(
        &env,
        &[
            (
                "index.html",
                b"<html>x</html>".to_vec(),
                b"<html>x</html>".to_vec(),
            ),
            ("big-a.bin", big.clone(), big.clone()),
            (
                "big-b.bin",
                big.iter().map(|b| b ^ 0x5a).collect(),
                big.iter().map(|b| b ^ 0x5a).collect(),
            ),
        ],
    );
    env.offer_delta("2.0.1", &m);
    let o = u.update(None).unwrap();
    let UpdateOutcome::Failed { error, message } = o else {
        panic!("{o:?}")
    };
    assert_eq!(error, "insufficient_disk_space", "{message}");
    let s = u.status().unwrap();
    assert_eq!(s.current.id, "builtin");
    let folders: Vec<_> = fs::read_dir(data.join("bundles")).unwrap().collect();
    assert!(folders.is_empty());
    // The next launch sweeps what the failed attempt kept of unverified bytes.
    u.launch().unwrap();
    let free = available_space(&small);
    assert!(free > 5 << 20, "space not given back: {free} bytes free");
}

/// A file that moved between two delta releases is taken from the bundle that has it under its
/// old path (through that bundle's file index), re-hashed, not fetched again.
#[test]
fn a_file_moved_between_releases_is_reused_from_its_old_path() {
    let env = Env::new(None);
    let session = read(delta_dir().join("v2.0.1/ivSessionKey.txt"));
    let offer = |version: &str, manifest: &Value| {
        env.server.set_updates(
            200,
            &json!({"version": version, "url": "https://404.capgo.app/no.zip",
                    "session_key": session, "checksum": null, "manifest": manifest})
            .to_string(),
        );
    };
    let js: Vec<u8> = (0..20_000u32)
        .map(|i| b"abcdefghij"[(i * 7 % 10) as usize])
        .collect();
    let v1 = synthetic(
        &env,
        &[
            (
                "index.html",
                b"<html>1</html>".to_vec(),
                b"<html>1</html>".to_vec(),
            ),
            ("old/place/app.js", js.clone(), js.clone()),
        ],
    );
    let u = env.updater();
    offer("3.0.0", &v1);
    let (b1, _) = env.update_and_apply(&u);
    assert_eq!(
        fs::read(env.bundle_dir(&b1.id).join("old/place/app.js")).unwrap(),
        js
    );
    let v2 = synthetic(
        &env,
        &[
            (
                "index.html",
                b"<html>2</html>".to_vec(),
                b"<html>2</html>".to_vec(),
            ),
            ("new/app.js", js.clone(), js.clone()),
        ],
    );
    let before = env.server.files_bytes_sent();
    offer("3.0.1", &v2);
    let (b2, download) = env.update_and_apply(&u);
    let d = download.delta.unwrap();
    assert_eq!(
        (d.reused, d.fetched),
        (1, 1),
        "app.js reused from its old path: {d:?}"
    );
    assert_eq!(
        fs::read(env.bundle_dir(&b2.id).join("new/app.js")).unwrap(),
        js
    );
    // Only index.html crossed the network.
    assert!(env.server.files_bytes_sent() - before < 100);
    // The old bundle's copy is never trusted blindly: damage it and the file is fetched.
    let v3 = synthetic(
        &env,
        &[
            (
                "index.html",
                b"<html>3</html>".to_vec(),
                b"<html>3</html>".to_vec(),
            ),
            ("third/app.js", js.clone(), js.clone()),
        ],
    );
    let moved = env.bundle_dir(&b2.id).join("new/app.js");
    let mut bad = fs::read(&moved).unwrap();
    bad[10] ^= 1;
    fs::remove_file(&moved).unwrap(); // (a hard link: replace, do not write through)
    fs::write(&moved, &bad).unwrap();
    let old = env.bundle_dir(&b1.id).join("old/place/app.js");
    fs::remove_file(&old).unwrap();
    fs::write(&old, &bad).unwrap();
    offer("3.0.2", &v3);
    let (b3, download) = env.update_and_apply(&u);
    assert_eq!(download.delta.unwrap().fetched, 2);
    assert_eq!(
        fs::read(env.bundle_dir(&b3.id).join("third/app.js")).unwrap(),
        js
    );
}

fn inode(p: &Path) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let m = fs::symlink_metadata(p).unwrap();
    (m.dev(), m.ino())
}

#[test]
fn reuse_never_follows_a_linked_folder_nor_shares_a_file_linked_outside_the_store() {
    let env = Env::new(None);
    let u = env.updater();
    env.offer_zip_200();
    let (b200, _) = env.update_and_apply(&u);
    let old = env.bundle_dir(&b200.id);
    let outside = env.data.parent().unwrap().join("outside");
    fs::create_dir_all(&outside).unwrap();
    // A folder of the installed bundle replaced by a link to a copy of it elsewhere.
    copy_tree(&old.join("media"), &outside.join("media"));
    fs::remove_dir_all(old.join("media")).unwrap();
    std::os::unix::fs::symlink(outside.join("media"), old.join("media")).unwrap();
    // A file of the installed bundle that is also a name outside the data folder.
    fs::rename(old.join("theme.css"), outside.join("theme.css")).unwrap();
    fs::hard_link(outside.join("theme.css"), old.join("theme.css")).unwrap();

    env.offer_delta("2.0.1", &env.manifest("2.0.1"));
    let (b, download) = env.update_and_apply(&u);
    let d = download.delta.unwrap();
    assert_eq!(
        (d.reused, d.fetched),
        (6, 5),
        "the two files under the linked folder are fetched, not read through the link"
    );
    let new = env.bundle_dir(&b.id);
    assert_eq!(tree(&new), expected_201());
    // The shared file's bytes were taken by copy: what happens outside stays outside.
    assert_ne!(
        inode(&new.join("theme.css")),
        inode(&outside.join("theme.css"))
    );
    fs::write(outside.join("theme.css"), "body { display: none }").unwrap();
    assert_eq!(
        fs::read(new.join("theme.css")).unwrap(),
        fs::read(delta_dir().join("v2.0.1/original/theme.css")).unwrap()
    );
    // A file only this store holds is still shared by a hard link (no copy, no extra disk).
    assert_eq!(
        inode(&new.join("index.html")),
        inode(&old.join("index.html"))
    );
}

#[test]
fn files_reused_from_the_builtin_folder_are_copied_never_linked() {
    let env = Env::new(Some(&delta_dir().join("v2.0.0/original")));
    let u = env.updater();
    env.offer_delta("2.0.1", &env.manifest("2.0.1"));
    let (b, download) = env.update_and_apply(&u);
    assert_eq!(download.delta.unwrap().reused, 8);
    let new = env.bundle_dir(&b.id);
    for name in ["theme.css", "index.html", "media/blob/entropy.dat"] {
        assert_ne!(inode(&new.join(name)), inode(&env.www.join(name)), "{name}");
    }
    // A later change to the app's builtin files (a developer's copy over them) leaves the
    // installed, verified bundle as it was.
    fs::write(env.www.join("theme.css"), "changed").unwrap();
    assert_eq!(tree(&new), expected_201());
}
