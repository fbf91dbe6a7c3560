//! Demo: a whole self-hosted live update on this machine — a development registry on 127.0.0.1 serving a real Capgo CLI bundle (embedded in the binary), an app's data folder starting on its builtin bundle, then check → download → verify → install → launch → ready.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use liveupdate::{DownloadListener, Engine, HostOptions, NoHost, PublicKey, UpdateOutcome};

use crate::serve::DevRegistry;
use crate::{Failure, io};

/// Set a of the Capgo fixtures: made by the real `@capgo/cli` 8.68.1.
const DEMO_BUNDLE: &[u8] = include_bytes!(
    "../../tests/fixtures/capgo/set-a-small/com.example.liveupdate_1.0.0.zip_encrypted.zip"
);
const DEMO_PUBLIC_KEY: &str =
    include_str!("../../tests/fixtures/capgo/set-a-small/capgo_key_v2.pub");
const DEMO_SESSION_KEY: &str =
    include_str!("../../tests/fixtures/capgo/set-a-small/ivSessionKey.txt");
const DEMO_CHECKSUM: &str =
    include_str!("../../tests/fixtures/capgo/set-a-small/encrypted_checksum.txt");

/// Prints download progress as a line every 10 %.
struct DemoProgress(std::sync::atomic::AtomicU8);

impl DownloadListener for DemoProgress {
    fn on_progress(&self, received: u64, total: Option<u64>, percent: u8) {
        let step = percent / 10 * 10;
        if self
            .0
            .fetch_max(step + 1, std::sync::atomic::Ordering::Relaxed)
            <= step
        {
            println!(
                "    download {step:3}%  {received} / {} bytes",
                total.map_or("?".to_string(), |t| t.to_string())
            );
        }
    }
}

/// Runs the demo in `out`, kept afterwards for inspection; without `out`, in a new temporary
/// folder removed at the end (success or failure). Network on 127.0.0.1 only.
pub fn run(out: Option<PathBuf>) -> Result<(), Failure> {
    match out {
        Some(o) => run_in(o, true),
        None => {
            let root = std::env::temp_dir().join(format!("liveupdate-demo-{}", std::process::id()));
            let result = run_in(root.clone(), false);
            let _ = fs::remove_dir_all(&root);
            result
        }
    }
}

fn run_in(root: PathBuf, keep: bool) -> Result<(), Failure> {
    use std::time::{Duration, Instant};
    let (registry_dir, www, data) = (
        root.join("registry"),
        root.join("app/www"),
        root.join("app/data"),
    );
    fs::create_dir_all(&registry_dir).map_err(io("creating", &registry_dir))?;
    fs::create_dir_all(&www).map_err(io("creating", &www))?;
    let bundle_file = "com.example.liveupdate_1.0.0.zip_encrypted.zip";
    fs::write(registry_dir.join(bundle_file), DEMO_BUNDLE).map_err(io("writing", &registry_dir))?;
    let manifest = serde_json::json!({
        "app_id": "com.example.liveupdate",
        "bundles": [{"version": "1.0.0", "file": bundle_file,
                     "session_key": DEMO_SESSION_KEY.trim(), "checksum": DEMO_CHECKSUM.trim()}],
    });
    fs::write(
        registry_dir.join(crate::serve::MANIFEST),
        manifest.to_string(),
    )
    .map_err(io("writing", &registry_dir))?;
    fs::write(
        www.join("index.html"),
        "<!doctype html><h1>builtin bundle shipped in the app</h1>",
    )
    .map_err(io("writing", &www))?;

    let registry = DevRegistry::start(&registry_dir, "127.0.0.1", 0).map_err(Failure::Cli)?;
    let key = PublicKey::from_pem(DEMO_PUBLIC_KEY)?;
    println!("liveupdate demo — a self-hosted live update, end to end, on this machine");
    println!(
        "  registry  {} serving a bundle made by the real Capgo CLI (`bundle zip` + `bundle encrypt`)",
        registry.url()
    );
    println!(
        "  app       {} (builtin web folder {})",
        data.display(),
        www.display()
    );
    println!(
        "  key       RSA-{} public key built into the app, key_id {}",
        key.bits(),
        key.key_id()
    );
    let config = serde_json::json!({"appId": "com.example.liveupdate", "plugins": {"CapacitorUpdater": {
        "publicKey": DEMO_PUBLIC_KEY, "updateUrl": format!("{}/updates", registry.url())}}});
    let options = HostOptions {
        data_dir: data.to_string_lossy().into_owned(),
        builtin_dir: www.to_string_lossy().into_owned(),
        capacitor_config_json: Some(config.to_string()),
        native_version: Some("0.9.0".into()),
        version_code: "9".into(),
        os_version: std::env::consts::OS.into(),
        ..HostOptions::default()
    }
    .into_engine_options(false)?;
    // The app manages its own web view here: the demo plays the app's part.
    let updater = Engine::open(options, Arc::new(NoHost))?;

    let first = updater.launch()?;
    println!(
        "\n1. app start: serving `{}` from {}",
        first.bundle.id,
        first.web_root.display()
    );
    updater.notify_app_ready(&first.launch_id)?;

    println!(
        "2. update check → download → RSA-unwrap → AES-128-CBC decrypt → verify SHA-256 → safe unzip → install:"
    );
    let started = Instant::now();
    let progress = std::sync::Arc::new(DemoProgress(std::sync::atomic::AtomicU8::new(0)));
    let outcome = updater.update(Some(progress))?;
    let UpdateOutcome::Installed { bundle, .. } = outcome else {
        return Err(Failure::Cli(format!(
            "the demo update did not install: {outcome:?}"
        )));
    };
    println!(
        "    installed bundle {} (version {}, sha256 {}…) in {:.1} ms, queued for the next start",
        bundle.id,
        bundle.version,
        &bundle.checksum[..16],
        started.elapsed().as_secs_f64() * 1000.0
    );

    let second = updater.launch()?;
    println!(
        "3. next app start: serving `{}` (status {}) from {}",
        second.bundle.id,
        second.bundle.status,
        second.web_root.display()
    );
    let ready = updater.notify_app_ready(&second.launch_id)?;
    println!(
        "4. the web app called notifyAppReady: bundle {} is now `{}` and the rollback target",
        ready.bundle.id, ready.bundle.status
    );
    updater.flush_stats(Duration::from_secs(2))?;
    let actions: Vec<String> = registry
        .stats()
        .iter()
        .filter_map(|e| e.get("action").and_then(|a| a.as_str()).map(String::from))
        .collect();
    println!("5. stats received by the registry: {}", actions.join(", "));
    println!("\nwhat changed — the web root now holds:");
    print_tree(&second.web_root, &second.web_root);
    if keep {
        println!("\neverything is under {}", root.display());
    } else {
        println!(
            "\n(the demo's temporary folder is removed; `liveupdate demo --out DIR` keeps it)"
        );
    }
    Ok(())
}

fn print_tree(root: &Path, dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let rel = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .display()
            .to_string();
        if path.is_dir() {
            println!("  {rel}/");
            print_tree(root, &path);
        } else {
            let size = e.metadata().map(|m| m.len()).unwrap_or(0);
            println!("  {rel}  ({size} bytes)");
        }
    }
}
