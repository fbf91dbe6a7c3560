//! Capgo 8's rules where a caller or a server leaves something out, through the real engine and
//! a loopback server: a missing checksum or session key is refused naming who left it out; a
//! checksum in base64 of the signed digest installs; a public key with whitespace in its body
//! works; an error answer's message survives a 400; a session key without a public key is ignored.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::sync::{Arc, Mutex};

use base64ct::{Base64, Encoding};
use liveupdate::{Engine, Host, HostAction, HostOptions, PublicKey};
use liveupdate_test_support::*;
use serde_json::{Value, json};

#[derive(Default)]
struct Rec(Mutex<Vec<Value>>);
impl Host for Rec {
    fn event(&self, name: &str, data: &Value) {
        self.0
            .lock()
            .unwrap()
            .push(json!({"event": name, "data": data}));
    }
    fn action(&self, _: &HostAction) {}
}

struct Env {
    app: TestApp,
    set: CapgoSet,
}

impl Env {
    fn new(bundle: Vec<u8>) -> Self {
        Self {
            app: TestApp::new(bundle),
            set: capgo_set("set-a-small"),
        }
    }

    /// An engine with `public_pem` (none when empty) as the app's key.
    fn start(&self, public_pem: &str) -> Engine {
        let mut p = self.app.plugin_config(
            public_pem,
            &json!({"appReadyTimeout": 1000, "responseTimeout": 2, "autoUpdate": false}),
        );
        if public_pem.is_empty() {
            p.as_object_mut().unwrap().remove("publicKey");
        }
        let o = HostOptions {
            data_dir: self.app.data.to_string_lossy().into_owned(),
            builtin_dir: self.app.www.to_string_lossy().into_owned(),
            capacitor_config_json: Some(TestApp::capacitor_config(p).to_string()),
            native_version: Some("1.0".into()),
            ..HostOptions::default()
        }
        .into_engine_options(false)
        .unwrap();
        Engine::start(o, Arc::new(Rec::default())).unwrap()
    }
}

fn reject(e: &Engine, method: &str, options: Value) -> (String, Value) {
    match e.call(method, &options) {
        Ok(v) => panic!("{method} resolved {v}"),
        Err(r) => (r.message, r.data.unwrap_or(Value::Null)),
    }
}

#[test]
fn a_download_without_checksum_is_refused_naming_the_caller_with_or_without_a_key() {
    let env = Env::new(fs::read(capgo_set("set-a-small").encrypted_zip).unwrap());
    let url = env.app.server.url("/bundle.zip");
    for key in [env.set.public_pem.clone(), String::new()] {
        let e = env.start(&key);
        let (msg, data) = reject(&e, "download", json!({"url": url, "version": "1.0.1"}));
        assert_eq!(msg, format!("Failed to download from: {url}"));
        assert_eq!(data["error"], "checksum_required", "{data}");
        assert_eq!(
            data["message"],
            "Checksum required: download() was called without `checksum`"
        );
        assert_eq!(e.call("list", &json!({})).unwrap(), json!({"bundles": []}));
    }
    // With a key and a checksum but no session key: the session key is named.
    let e = env.start(&env.set.public_pem);
    let (_, data) = reject(
        &e,
        "download",
        json!({"url": url, "version": "1.0.1", "checksum": env.set.checksum}),
    );
    assert_eq!(data["error"], "session_key_required");
    assert_eq!(
        data["message"],
        "Session key required when public key is present: download() was called without `sessionKey`"
    );
    drop(e);
    let stats = env.app.server.stats_actions();
    assert!(stats.contains(&"checksum_required".into()), "{stats:?}");
    assert!(stats.contains(&"session_key_required".into()), "{stats:?}");
}

#[test]
fn a_server_answer_without_checksum_is_refused_naming_the_server() {
    let env = Env::new(fs::read(capgo_set("set-a-small").encrypted_zip).unwrap());
    env.app.server.offer("1.0.1", &env.set.session_key, "");
    let e = env.start(&env.set.public_pem);
    let out = e.update(None).unwrap();
    let text = format!("{out:?}");
    assert!(text.contains("checksum_required"), "{text}");
    assert!(
        text.contains("Checksum required: the update server's answer has no `checksum`"),
        "{text}"
    );
}

#[test]
fn a_checksum_in_base64_of_the_signed_digest_installs() {
    let set = capgo_set("set-a-small");
    let env = Env::new(fs::read(&set.encrypted_zip).unwrap());
    let enc = Encryptor::new(&set.private_pem);
    let signed = enc.sign_type1(&from_hex(&set.sha256));
    let b64 = Base64::encode_string(&signed);
    let e = env.start(&set.public_pem);
    let b = e
        .call(
            "download",
            &json!({"url": env.app.server.url("/bundle.zip"), "version": "1.0.1",
                    "sessionKey": set.session_key, "checksum": b64}),
        )
        .unwrap();
    assert_eq!(b["status"], "pending", "{b}");
    assert_eq!(b["checksum"], set.sha256);
}

#[test]
fn a_public_key_with_whitespace_in_its_body_is_the_same_key_and_junk_is_refused() {
    let set = capgo_set("set-a-small");
    let canonical = PublicKey::from_pem(&set.public_pem).unwrap();
    let lines: Vec<&str> = set.public_pem.lines().collect();
    let body = lines[1..lines.len() - 1].join("");
    let spaced: String = body
        .as_bytes()
        .chunks(7)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(" \t");
    for variant in [
        format!("{}\n{spaced}\n{}", lines[0], lines[lines.len() - 1]),
        format!("{} {body} {}", lines[0], lines[lines.len() - 1]),
        set.public_pem.replace('\n', "\r\n"),
    ] {
        let k = PublicKey::from_pem(&variant).unwrap_or_else(|e| panic!("{e}: {variant:?}"));
        assert_eq!(k.key_id(), canonical.key_id());
    }
    let junk = format!(
        "{}\n{}*{}\n{}",
        lines[0],
        &body[..10],
        &body[10..],
        lines[lines.len() - 1]
    );
    let e = PublicKey::from_pem(&junk).unwrap_err().to_string();
    assert!(e.contains("neither base64 nor whitespace"), "{e}");
    // And the engine takes the spaced key and installs with it.
    let env = Env::new(fs::read(&set.encrypted_zip).unwrap());
    let e = env.start(&format!(
        "{}\n{spaced}\n{}",
        lines[0],
        lines[lines.len() - 1]
    ));
    let b = e
        .call(
            "download",
            &json!({"url": env.app.server.url("/bundle.zip"), "version": "1.0.1",
                    "sessionKey": set.session_key, "checksum": set.checksum}),
        )
        .unwrap();
    assert_eq!(b["status"], "pending");
}

#[test]
fn an_error_answer_keeps_the_servers_message_on_a_400() {
    let env = Env::new(Vec::new());
    let e = env.start("");
    env.app
        .server
        .set_updates(400, r#"{"message":"app not found for this key"}"#);
    let out = format!("{:?}", e.update(None).unwrap());
    assert!(out.contains("app not found for this key"), "{out}");
    assert!(out.contains("response_error"), "{out}");
    // With an error code too, both are kept.
    env.app
        .server
        .set_updates(400, r#"{"error":"invalid_app","message":"no such app"}"#);
    let (msg, data) = reject(&e, "getLatest", json!({}));
    assert_eq!(msg, "invalid_app");
    assert_eq!(data["message"], "no such app");
    // Channel answers too.
    env.app
        .server
        .answer_channel(400, r#"{"message":"channel is private"}"#);
    let (_, data) = reject(&e, "setChannel", json!({"channel": "beta"}));
    assert!(data.to_string().contains("channel is private"), "{data}");
}

#[test]
fn without_a_public_key_a_session_key_is_ignored_as_capgo_does() {
    let set = capgo_set("set-a-small");
    // A plain zip announced with a session key: installed (the key ignored).
    let env = Env::new(fs::read(&set.plain_zip).unwrap());
    let e = env.start("");
    let b = e
        .call(
            "download",
            &json!({"url": env.app.server.url("/bundle.zip"), "version": "1.0.1",
                    "sessionKey": set.session_key, "checksum": set.sha256}),
        )
        .unwrap();
    assert_eq!(b["status"], "pending", "{b}");
    // An encrypted zip with its plain SHA-256: the ciphertext does not match it, refused clearly.
    let env = Env::new(fs::read(&set.encrypted_zip).unwrap());
    let e = env.start("");
    let (_, data) = reject(
        &e,
        "download",
        json!({"url": env.app.server.url("/bundle.zip"), "version": "1.0.1",
               "sessionKey": set.session_key, "checksum": set.sha256}),
    );
    assert_eq!(data["error"], "checksum_fail", "{data}");
    assert_eq!(e.call("list", &json!({})).unwrap(), json!({"bundles": []}));
}

#[test]
fn capgo_leftovers_are_removed_in_the_background_and_nothing_else() {
    let env = Env::new(Vec::new());
    let root = env.app.tmp.path();
    let files = root.join("files");
    let versions = files.join("versions");
    fs::create_dir_all(versions.join("ab12cd34ef/assets")).unwrap();
    fs::write(versions.join("ab12cd34ef/index.html"), "capgo bundle").unwrap();
    fs::write(files.join("update_ab12.dat"), "x").unwrap();
    fs::write(files.join("temp_ab12.tmp"), vec![0u8; 4096]).unwrap();
    fs::write(files.join("keep-me.txt"), "app file").unwrap();
    // A link inside a leftover folder: removed as a link, its target untouched.
    let outside = root.join("outside.txt");
    fs::write(&outside, "not capgo's").unwrap();
    std::os::unix::fs::symlink(&outside, versions.join("ab12cd34ef/link")).unwrap();
    let mut p = env.app.plugin_config("", &json!({"autoUpdate": false}));
    p.as_object_mut().unwrap().remove("publicKey");
    let o = HostOptions {
        data_dir: env.app.data.to_string_lossy().into_owned(),
        builtin_dir: env.app.www.to_string_lossy().into_owned(),
        capacitor_config_json: Some(TestApp::capacitor_config(p).to_string()),
        native_version: Some("1.0".into()),
        leftover_paths: vec![
            versions.to_string_lossy().into_owned(),
            files.join("update_*.dat").to_string_lossy().into_owned(),
            files.join("temp_*.tmp").to_string_lossy().into_owned(),
            // Overlapping the updater's own folders or relative: ignored.
            root.to_string_lossy().into_owned(),
            env.app.www.to_string_lossy().into_owned(),
            "relative/versions".into(),
        ],
        ..HostOptions::default()
    }
    .into_engine_options(false)
    .unwrap();
    let e = Engine::start(o, Arc::new(Rec::default())).unwrap();
    let end = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while versions.exists() && std::time::Instant::now() < end {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(!versions.exists(), "Capgo's bundle folder is gone");
    assert!(!files.join("update_ab12.dat").exists());
    assert!(!files.join("temp_ab12.tmp").exists());
    assert!(files.join("keep-me.txt").exists(), "other app files stay");
    assert_eq!(fs::read_to_string(&outside).unwrap(), "not capgo's");
    assert!(env.app.www.join("index.html").exists(), "builtin untouched");
    // The app runs on its builtin bundle and works.
    let cur = e.call("current", &json!({})).unwrap();
    assert_eq!(cur["bundle"]["id"], "builtin", "{cur}");
}
