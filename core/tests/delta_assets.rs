//! Delta reuse of builtin files that are not a folder (Android's APK assets) through the host's reader: a device whose builtin is the
//! 2.0.0 app served only by a reader updates to 2.0.1 fetching only the changed files; a reader's wrong bytes are never used.
//! The reader is given in the engine's hooks (`Hooks::builtin_assets`), as the Android shell does.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use liveupdate::{
    BuiltinReader, Config, Engine, EngineOptions, Hooks, NoHost, PublicKey, UpdateOutcome,
};
use liveupdate_test_support::fault_server::FaultServer;
use liveupdate_test_support::*;
use serde_json::{Value, json};

fn delta_dir() -> PathBuf {
    fixtures().join("capgo/delta")
}

fn read(p: impl AsRef<Path>) -> String {
    fs::read_to_string(p).unwrap().trim().to_string()
}

/// Serves files of a folder by relative path, as `AssetManager.open("public/" + path)` would;
/// `corrupt` flips a byte of that file.
struct FolderAssets {
    root: PathBuf,
    corrupt: Option<String>,
    calls: AtomicUsize,
}

impl BuiltinReader for FolderAssets {
    fn read(&self, path: &str) -> Option<Vec<u8>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let mut b = fs::read(self.root.join(path)).ok()?;
        if self.corrupt.as_deref() == Some(path) && !b.is_empty() {
            b[0] ^= 1;
        }
        Some(b)
    }
}

fn percent(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Installs 2.0.1 by delta on a device whose builtin folder has only index.html while the
/// reader serves 2.0.0; returns (reused, fetched, bytes served).
fn update_with(corrupt: Option<&str>) -> (u64, u64, u64, PathBuf, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let www = tmp.path().join("www");
    fs::create_dir_all(&www).unwrap();
    // An (almost) empty folder stands for the builtin, as the Android shell's does.
    let server = FaultServer::start(Vec::new());
    let mut m: Value =
        serde_json::from_str(&read(delta_dir().join("v2.0.1/manifest.json"))).unwrap();
    for e in m.as_array_mut().unwrap() {
        let name = e["file_name"].as_str().unwrap().to_string();
        let body = fs::read(delta_dir().join("v2.0.1/uploaded").join(&name)).unwrap();
        e["download_url"] = json!(server.add_file(&percent(&name), body));
    }
    server.set_updates(
        200,
        &json!({"version": "2.0.1", "url": "https://404.capgo.app/no.zip",
                "session_key": read(delta_dir().join("v2.0.1/ivSessionKey.txt")),
                "checksum": null, "manifest": m})
        .to_string(),
    );
    let assets = Arc::new(FolderAssets {
        root: delta_dir().join("v2.0.0/original"),
        corrupt: corrupt.map(String::from),
        calls: AtomicUsize::new(0),
    });
    let config = Config {
        app_id: "com.example.deltadev".into(),
        public_key: Some(PublicKey::from_pem(&read(delta_dir().join("capgo_key_v2.pub"))).unwrap()),
        update_url: server.url("/updates"),
        stats_url: String::new(),
        response_timeout_s: 2,
        ..Config::default()
    };
    let mut options = EngineOptions {
        config,
        retry_backoff_ms: 20,
        hooks: Hooks {
            builtin_assets: Some(assets.clone()),
            ..Hooks::default()
        },
        ..EngineOptions::new(tmp.path().join("data"), &www)
    };
    options.app.native_version = Some("1.0".into());
    let u = Engine::open(options, Arc::new(NoHost)).unwrap();
    let o = u.update(None).unwrap();
    let UpdateOutcome::Installed {
        bundle, download, ..
    } = o
    else {
        panic!("{o:?}")
    };
    assert!(assets.calls.load(Ordering::SeqCst) >= 8);
    let d = download.delta.unwrap();
    let dir = tmp.path().join("data/bundles").join(&bundle.id);
    (d.reused, d.fetched, server.files_bytes_sent(), dir, tmp)
}

#[test]
fn builtin_assets_read_through_the_host_are_reused_and_checked() {
    let expected = |dir: &Path| {
        for e in fs::read_dir(delta_dir().join("v2.0.1/original/edge")).unwrap() {
            let e = e.unwrap();
            assert_eq!(
                fs::read(e.path()).unwrap(),
                fs::read(dir.join("edge").join(e.file_name())).unwrap()
            );
        }
        assert_eq!(
            fs::read(dir.join("main.js")).unwrap(),
            fs::read(delta_dir().join("v2.0.1/original/main.js")).unwrap()
        );
    };
    let (reused, fetched, served, dir, _tmp) = update_with(None);
    assert_eq!((reused, fetched), (8, 3));
    assert!(served < 4_000, "only the changed bodies: {served}");
    expected(&dir);
    // A reader that returns wrong bytes for one file: that file is fetched instead.
    let (reused, fetched, _, dir, _tmp) = update_with(Some("theme.css"));
    assert_eq!((reused, fetched), (7, 4));
    assert_eq!(
        fs::read(dir.join("theme.css")).unwrap(),
        fs::read(delta_dir().join("v2.0.1/original/theme.css")).unwrap()
    );
}
