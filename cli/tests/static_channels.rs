//! Signed static channels end to end: sites made by `liveupdate publish` with a Capgo-CLI-made key, served by a plain static file server with no logic (Python's `http.server` on 127.0.0.1), taken by the real CLI's `device … session` and `device … update` — zip and delta — and every refusal (tampered, wrong signature, replayed, expired, another app or channel, rollout 0/100, min_native_version, 304) leaving the store as it was.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use liveupdate_test_support::*;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_liveupdate");
const APP: &str = "com.example.liveupdate";

/// `python3 -m http.server` on a free loopback port, serving `dir`: a static host with no logic
/// (it answers If-Modified-Since with 304, as any static host does).
struct StaticServer {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl StaticServer {
    fn start(dir: &Path, log: PathBuf) -> Self {
        let mut child = Command::new("python3")
            .args(["-u", "-m", "http.server", "0", "--bind", "127.0.0.1"])
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(fs::File::create(&log).unwrap())
            .spawn()
            .expect("python3 is needed for the plain static server");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        let end = Instant::now() + Duration::from_secs(10);
        while Instant::now() < end {
            line.clear();
            if out.read_line(&mut line).unwrap() == 0 {
                break;
            }
            if let Some(p) = line.split(" port ").nth(1) {
                let port = p.split_whitespace().next().unwrap().parse().unwrap();
                return Self { child, port, log };
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("the static server did not start: {line}");
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// Request lines logged so far (`"GET /channels/production.json HTTP/1.1" 304 -`).
    fn requests(&self) -> Vec<String> {
        fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_once("] ").map(|(_, r)| r.to_string()))
            .collect()
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Env {
    tmp: tempfile::TempDir,
    set: CapgoSet,
    server: StaticServer,
}

impl Env {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let site = tmp.path().join("site");
        fs::create_dir_all(&site).unwrap();
        let www = tmp.path().join("www");
        fs::create_dir_all(&www).unwrap();
        fs::write(www.join("index.html"), "<html>builtin 1.0.0</html>").unwrap();
        let server = StaticServer::start(&site, tmp.path().join("http.log"));
        Self {
            tmp,
            set: capgo_set("set-a-small"),
            server,
        }
    }

    fn site(&self) -> PathBuf {
        self.tmp.path().join("site")
    }

    fn data(&self) -> PathBuf {
        self.tmp.path().join("data")
    }

    /// A built web app of `version` (index.html names it; `extra` adds files).
    fn app(&self, version: &str, extra: &[(&str, &str)]) -> PathBuf {
        let dir = self.tmp.path().join(format!("build-{version}"));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("js")).unwrap();
        fs::write(
            dir.join("index.html"),
            format!("<html>app {version}</html>"),
        )
        .unwrap();
        fs::write(
            dir.join("js/vendor.js"),
            "// a large unchanged vendor file\n".repeat(400),
        )
        .unwrap();
        for (name, body) in extra {
            fs::write(dir.join(name), body).unwrap();
        }
        dir
    }

    /// `liveupdate publish … --json` with the fixture's Capgo CLI key.
    fn publish(&self, channel: &str, version: &str, bundle: &Path, extra: &[&str]) -> Value {
        let out = cli_command(BIN)
            .args(["publish", "--site"])
            .arg(self.site())
            .args(["--channel", channel, "--version", version, "--bundle"])
            .arg(bundle)
            .arg("--private-key")
            .arg(self.set.dir.join("capgo_key_v2"))
            .args(["--app-id", APP, "--json"])
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn config(&self, extra: Value) -> PathBuf {
        let mut p = json!({"updateProtocol": "static", "updateUrl": self.server.base(),
                           "publicKey": self.set.public_pem, "autoUpdate": true,
                           "responseTimeout": 5});
        for (k, v) in extra.as_object().unwrap() {
            p[k] = v.clone();
        }
        let path = self.tmp.path().join("capacitor.config.json");
        fs::write(
            &path,
            json!({"appId": APP, "plugins": {"CapacitorUpdater": p}}).to_string(),
        )
        .unwrap();
        path
    }

    fn device(&self, config: &Path, native: &str, args: &[&str]) -> Output {
        cli_command(BIN)
            .args(["device", "--data-dir"])
            .arg(self.data())
            .arg("--builtin")
            .arg(self.tmp.path().join("www"))
            .arg("--config")
            .arg(config)
            .args(["--native-version", native])
            .args(args)
            .output()
            .unwrap()
    }

    /// `device update`: the outcome JSON.
    fn update(&self, config: &Path, native: &str) -> Value {
        let out = self.device(config, native, &["update"]);
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)))
    }

    /// What a refusal must not change: the bundles, the current one, next and fallback.
    fn store(&self, config: &Path) -> Value {
        let out = self.device(config, "1.0", &["status"]);
        let mut v: Value = serde_json::from_slice(&out.stdout).unwrap();
        if let Some(o) = v.as_object_mut() {
            o.remove("launch");
        }
        v
    }

    /// Takes the newest release through `device … session` (foreground, background, the new
    /// page confirms) with scripts/session-update.py, as a phone's shell would.
    fn session_update(&self, config: &Path, expected: &str) {
        let out = Command::new("python3")
            .arg(repo_root().join("scripts/session-update.py"))
            .arg(BIN)
            .arg(config)
            .arg(self.tmp.path().join("www"))
            .args(["1.0", expected, "--verbose"])
            .env("LIVEUPDATE_SESSION_DATA", self.data())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn channel_file(&self, channel: &str) -> PathBuf {
        self.site().join(format!("channels/{channel}.json"))
    }
}

fn error_code(outcome: &Value) -> &str {
    outcome["error"]["code"].as_str().unwrap_or("")
}

#[test]
fn a_published_site_updates_a_device_through_session_zip_then_delta() {
    let env = Env::new();
    let config = env.config(json!({}));
    let one = "console.log('one');\n".repeat(1000);
    let v1 = env.app("1.0.1", &[("js/app.js", one.as_str())]);
    let p = env.publish("production", "1.0.1", &v1, &[]);
    assert!(p["url"].as_str().unwrap().starts_with("../bundles/"), "{p}");
    env.session_update(&config, "1.0.1");
    // The delta release: one file changed; only its body is fetched.
    let two = "console.log('two');\n".repeat(1000);
    let v2 = env.app("1.0.2", &[("js/app.js", two.as_str())]);
    env.publish("production", "1.0.2", &v2, &["--delta"]);
    // Files of 8 KiB and more that compress are brotli bodies (`.br`), as the Capgo CLI writes them.
    let file: Value =
        serde_json::from_slice(&fs::read(env.channel_file("production")).unwrap()).unwrap();
    let names: Vec<&str> = file["manifest"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["file_name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["index.html", "js/app.js.br", "js/vendor.js.br"],
        "{names:?}"
    );
    let before = env.server.requests().len();
    env.session_update(&config, "1.0.2");
    let fetched: Vec<String> = env.server.requests()[before..]
        .iter()
        .filter(|r| r.contains("/files/"))
        .cloned()
        .collect();
    // index.html and js/app.js changed; js/vendor.js was reused from the installed 1.0.1.
    assert_eq!(fetched.len(), 2, "{fetched:?}");
    assert!(
        !env.server.requests()[before..]
            .iter()
            .any(|r| r.contains("/bundles/")),
        "the delta release never fetches the zip"
    );
}

#[test]
fn every_refused_channel_file_leaves_the_store_as_it_was() {
    let env = Env::new();
    let config = env.config(json!({}));
    let v1 = env.app("1.0.1", &[]);
    env.publish("production", "1.0.1", &v1, &[]);
    let out = env.update(&config, "1.0");
    assert_eq!(out["result"], "installed", "{out}");
    let prod = env.channel_file("production");
    let sig = env.site().join("channels/production.json.sig");
    let good = (fs::read(&prod).unwrap(), fs::read(&sig).unwrap());
    let v2 = env.app("1.0.2", &[]);
    env.publish("production", "1.0.2", &v2, &[]);
    let newer = (fs::read(&prod).unwrap(), fs::read(&sig).unwrap());
    let restore = |f: &(Vec<u8>, Vec<u8>)| {
        fs::write(&prod, &f.0).unwrap();
        fs::write(&sig, &f.1).unwrap();
    };
    let refused = |what: &str, code: &str| {
        let before = env.store(&config);
        let out = env.update(&config, "1.0");
        assert_eq!(out["result"], "failed", "{what}: {out}");
        assert_eq!(error_code(&out), code, "{what}: {out}");
        assert_eq!(env.store(&config), before, "{what}: the store changed");
    };
    // A tampered channel file (one byte of the version changed after signing).
    let tampered = String::from_utf8(newer.0.clone())
        .unwrap()
        .replace("1.0.2", "1.0.9");
    fs::write(&prod, tampered).unwrap();
    refused("tampered", "bad_signature");
    // A wrong signature: the right file signed by another key.
    restore(&newer);
    let other = tempfile::tempdir().unwrap();
    let (_, other_private) = test_key("rsa3072");
    let key_path = other.path().join("other.pem");
    fs::write(&key_path, other_private).unwrap();
    let status = cli_command(BIN)
        .args(["publish", "--site"])
        .arg(other.path())
        .args(["--channel", "production", "--version", "1.0.2", "--bundle"])
        .arg(&v2)
        .arg("--private-key")
        .arg(&key_path)
        .args(["--app-id", APP])
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    fs::copy(other.path().join("channels/production.json.sig"), &sig).unwrap();
    refused("signed by another key", "bad_signature");
    fs::remove_file(&sig).unwrap();
    refused("no signature", "bad_signature");
    // Another app, another channel, an unknown format (each validly signed).
    restore(&newer);
    let rewrite = |edit: &dyn Fn(&mut Value)| {
        let mut v: Value = serde_json::from_slice(&newer.0).unwrap();
        edit(&mut v);
        let text = serde_json::to_vec_pretty(&v).unwrap();
        fs::write(&prod, &text).unwrap();
        // The channel signature is RSASSA-PKCS1-v1_5 SHA-256 over the file: openssl makes it.
        let raw = env.tmp.path().join("sig.bin");
        let key = env.set.dir.join("capgo_key_v2");
        let ok = Command::new("openssl")
            .args(["dgst", "-sha256", "-sign"])
            .arg(&key)
            .arg("-out")
            .arg(&raw)
            .arg(&prod)
            .status()
            .unwrap();
        assert!(ok.success());
        let b64 = base64_line(&fs::read(&raw).unwrap());
        fs::write(&sig, b64).unwrap();
    };
    rewrite(&|v| v["app_id"] = json!("com.other.app"));
    refused("another app", "wrong_app");
    rewrite(&|v| v["channel"] = json!("beta"));
    refused("another channel", "wrong_channel");
    rewrite(&|v| v["format"] = json!("liveupdate-static/2"));
    refused("unknown format", "unknown_format");
    rewrite(&|v| v["url"] = json!("http://cdn.example.com/a.zip"));
    refused("a plain-http URL to another host", "insecure_url");
    rewrite(&|v| v["expires_at"] = json!("2020-01-01T00:00:00Z"));
    refused("expired", "expired");
    // The newer file is accepted once (1.0.2 installed), then the older one is a replay.
    restore(&newer);
    let out = env.update(&config, "1.0");
    assert_eq!(out["result"], "installed", "{out}");
    restore(&good);
    refused("replayed older channel file", "replayed");
    // --expires-in 0: expired as soon as it is published.
    env.publish(
        "production",
        "1.0.3",
        &env.app("1.0.3", &[]),
        &["--expires-in", "0"],
    );
    refused("published already expired", "expired");
}

#[test]
fn rollout_native_version_and_not_modified_are_decided_on_the_device() {
    let env = Env::new();
    // Applied at once, so the next check sees the new version as current.
    let config = env.config(json!({"directUpdate": "always"}));
    let v1 = env.app("1.0.1", &[]);
    let before = env.store(&config);
    env.publish("production", "1.0.1", &v1, &["--rollout", "0"]);
    let out = env.update(&config, "1.0");
    assert_eq!(out["result"], "up_to_date", "{out}");
    assert!(
        out["message"]
            .as_str()
            .unwrap()
            .contains("rolled out to 0 %"),
        "{out}"
    );
    assert_eq!(env.store(&config), before);
    // Last-Modified has a resolution of one second: a file replaced within the same second as
    // the answer the device kept would look unchanged to If-Modified-Since (ETags do not have
    // this limit; Python's server sends none).
    std::thread::sleep(Duration::from_millis(1100));
    env.publish("production", "1.0.1", &v1, &["--min-native-version", "2.0"]);
    let out = env.update(&config, "1.0");
    assert_eq!(out["result"], "up_to_date", "{out}");
    assert!(
        out["message"]
            .as_str()
            .unwrap()
            .contains("needs native version 2.0"),
        "{out}"
    );
    assert_eq!(env.store(&config), before);
    // A native 2.0 app takes it (resetWhenUpdate puts the new native build on builtin first).
    let out = env.update(&config, "2.0");
    assert_eq!(out["result"], "installed", "{out}");
    // Up to date now; the next check sends the validators and gets a 304: one request, no body.
    let out = env.update(&config, "2.0");
    assert_eq!(out["result"], "up_to_date", "{out}");
    let n = env.server.requests().len();
    let out = env.update(&config, "2.0");
    assert_eq!(out["result"], "up_to_date", "{out}");
    let after: Vec<String> = env.server.requests()[n..].to_vec();
    assert_eq!(after.len(), 1, "{after:?}");
    assert!(
        after[0].contains("GET /channels/production.json ") && after[0].contains(" 304 "),
        "{after:?}"
    );
    // Rollout 100: offered to every device.
    std::thread::sleep(Duration::from_millis(1100));
    env.publish(
        "production",
        "1.0.2",
        &env.app("1.0.2", &[]),
        &["--rollout", "100"],
    );
    let out = env.update(&config, "2.0");
    assert_eq!(out["result"], "installed", "{out}");
}

#[test]
fn channels_are_kept_on_the_device_and_listed_from_the_index() {
    let env = Env::new();
    let config = env.config(json!({"defaultChannel": "production"}));
    env.publish("production", "1.0.1", &env.app("1.0.1", &[]), &[]);
    env.publish("beta", "1.1.0", &env.app("1.1.0", &[]), &[]);
    let index: Value =
        serde_json::from_slice(&fs::read(env.site().join("channels/index.json")).unwrap()).unwrap();
    assert_eq!(index, json!({"channels": ["beta", "production"]}));
    let calls = [
        json!({"id": 1, "method": "getChannel", "options": {}}),
        json!({"id": 2, "method": "setChannel", "options": {"channel": "beta"}}),
        json!({"id": 3, "method": "getChannel", "options": {}}),
        json!({"id": 4, "method": "listChannels", "options": {}}),
        json!({"id": 5, "method": "getLatest", "options": {}}),
    ];
    let input: String = calls.iter().map(|c| format!("{c}\n")).collect();
    let mut child = cli_command(BIN)
        .args(["device", "--data-dir"])
        .arg(env.data())
        .arg("--builtin")
        .arg(env.tmp.path().join("www"))
        .arg("--config")
        .arg(&config)
        .args(["--native-version", "1.0", "session"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let answers: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("id").is_some())
        .collect();
    let by_id = |i: u64| answers.iter().find(|a| a["id"] == i).unwrap().clone();
    assert_eq!(by_id(1)["resolve"]["channel"], "production", "{answers:?}");
    assert_eq!(by_id(2)["resolve"]["channel"], "beta", "{answers:?}");
    assert_eq!(by_id(3)["resolve"]["channel"], "beta", "{answers:?}");
    let list = by_id(4)["resolve"].to_string();
    assert!(
        list.contains("\"beta\"") && list.contains("\"production\""),
        "{list}"
    );
    assert_eq!(by_id(5)["resolve"]["version"], "1.1.0", "{answers:?}");
    // Nothing was POSTed to the static host (no channel endpoint, no stats without statsUrl).
    assert!(
        !env.server
            .requests()
            .iter()
            .any(|r| r.starts_with("\"POST")),
        "{:?}",
        env.server.requests()
    );
}

fn base64_line(raw: &[u8]) -> String {
    use std::io::Write;
    let mut child = Command::new("base64")
        .arg("-w0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(raw).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn an_app_without_a_key_takes_an_unencrypted_site_signed_or_not() {
    let env = Env::new();
    let config = env.config(json!({"directUpdate": "always"}));
    // The same config without publicKey.
    let mut c: Value = serde_json::from_slice(&fs::read(&config).unwrap()).unwrap();
    c["plugins"]["CapacitorUpdater"]
        .as_object_mut()
        .unwrap()
        .remove("publicKey");
    fs::write(&config, c.to_string()).unwrap();
    let p = env.publish(
        "production",
        "1.0.1",
        &env.app("1.0.1", &[]),
        &["--no-encrypt"],
    );
    assert!(p["session_key"].is_null(), "{p}");
    assert_eq!(p["checksum"].as_str().unwrap().len(), 64, "{p}");
    let sig = env.site().join("channels/production.json.sig");
    // A malformed signature is refused even without a key.
    let good_sig = fs::read(&sig).unwrap();
    fs::write(&sig, "not base64 at all!").unwrap();
    let before = env.store(&config);
    let out = env.update(&config, "1.0");
    assert_eq!(error_code(&out), "bad_signature", "{out}");
    assert_eq!(env.store(&config), before);
    // Signed (not verifiable without a key) or unsigned: installed over TLS trust alone.
    fs::write(&sig, good_sig).unwrap();
    let out = env.update(&config, "1.0");
    assert_eq!(out["result"], "installed", "{out}");
    fs::remove_file(&sig).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    env.publish(
        "production",
        "1.0.2",
        &env.app("1.0.2", &[]),
        &["--no-encrypt"],
    );
    fs::remove_file(&sig).unwrap();
    let out = env.update(&config, "1.0");
    assert_eq!(out["result"], "installed", "{out}");
    assert_eq!(out["bundle"]["version"], "1.0.2", "{out}");
}
