//! The `liveupdate` command line: a thin adapter over the library (argument parsing and output only).

mod session;

use std::fs::{self, File};
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use std::io::IsTerminal;

use liveupdate::download::DownloadListener;
use liveupdate::serve::DevRegistry;
use liveupdate::{
    BundleTrust, Device, Error, ExtractOptions, HostInfo, Limits, PublicKey, UnpackReport,
    UpdateOutcome, Updater, UpdaterConfig,
};

/// Safe, self-hostable over-the-air web bundle updates for Capacitor apps (Capgo-compatible).
#[derive(Debug, Parser)]
#[command(name = "liveupdate", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decrypt, verify and safely extract a bundle (Capgo CLI format) into a new folder.
    ///
    /// The bundle is streamed: with a public key and session key it is AES-128-CBC decrypted,
    /// its SHA-256 is checked against the (signed) checksum, and only then is it unzipped into a
    /// hidden staging folder next to DIR and renamed into place. On failure DIR does not exist and
    /// nothing is left next to it; the exit code is 1 and stderr has one line starting with `error:`.
    Unpack {
        /// The bundle file (encrypted zip from `bundle encrypt`, or a plain zip).
        #[arg(long = "in", value_name = "FILE")]
        input: PathBuf,
        /// The folder to create; it must not exist.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// The app's public key PEM (`.capgo_key_v2.pub`; PKCS#1 or SPKI, 2048–4096 bits).
        #[arg(long, value_name = "PEM_FILE")]
        public_key: Option<PathBuf>,
        /// The `ivSessionKey` printed by `bundle encrypt` (`base64(iv):base64(key)`).
        #[arg(long, value_name = "IV_SESSION_KEY")]
        session_key: Option<String>,
        /// The checksum: encrypted V3 (hex) or V2 (base64) with a public key, else the plain SHA-256 hex.
        #[arg(long)]
        checksum: String,
        /// Maximum total bytes extracted, counted while inflating.
        #[arg(long, value_name = "N", default_value_t = Limits::DEFAULT_MAX_BYTES)]
        max_bytes: u64,
        /// Maximum number of files extracted (folders are limited to the same number).
        #[arg(long, value_name = "N", default_value_t = Limits::DEFAULT_MAX_FILES)]
        max_files: u64,
        /// Print one JSON object on stdout: {"files","bytes","sha256","checksum_format"}.
        #[arg(long)]
        json: bool,
        /// Extraction threads (default: available cores, at most 4).
        #[arg(long, value_name = "N")]
        threads: Option<usize>,
    },
    /// Work on an app's bundle store as the app itself would (one call = one app process).
    ///
    /// State lives only in DIR. Every command prints one JSON object on stdout; on failure it exits
    /// 1 with one `error:` line on stderr.
    Device {
        /// The app's data folder for liveupdate (created if missing).
        #[arg(long, value_name = "DIR")]
        data_dir: PathBuf,
        /// The app's shipped web folder (the builtin bundle).
        #[arg(long, value_name = "WEB_DIR")]
        builtin: PathBuf,
        /// The app's capacitor.config.json (appId, plugins.CapacitorUpdater: publicKey, appReadyTimeout,
        /// autoDeleteFailed, autoDeletePrevious, resetWhenUpdate, version, maxStoredBundles, …).
        #[arg(long, value_name = "CAPACITOR_CONFIG_JSON")]
        config: Option<PathBuf>,
        /// The native app version; a change resets to builtin (resetWhenUpdate).
        #[arg(long, value_name = "V")]
        native_version: Option<String>,
        #[command(subcommand)]
        command: DeviceCommand,
    },
    /// Run a small self-hosted dev registry (Capgo protocol: /updates, /stats, /channel_self,
    /// bundle files with Range) serving DIR, described by DIR/liveupdate-registry.json.
    Serve {
        /// The folder with the bundles and liveupdate-registry.json.
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// Port (0 picks a free one).
        #[arg(long, default_value_t = 8787)]
        port: u16,
    },
    /// Print the Capgo key_id of a public key (first 20 characters of its PKCS#1 base64 body).
    KeyId {
        /// The public key PEM file.
        #[arg(long, value_name = "PEM_FILE")]
        public_key: PathBuf,
    },
    /// The whole update flow on this machine: a dev registry on 127.0.0.1 serving a real Capgo CLI
    /// bundle (embedded in this binary), a device folder with a builtin bundle, then check →
    /// download → verify → install → launch → ready.
    Demo {
        /// Working folder (default: a new folder under the system temp folder).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum DeviceCommand {
    /// Install a bundle file as a new pending bundle → {"bundle": BundleInfo}.
    Install {
        /// The bundle file (encrypted with the config's public key, or a plain zip).
        #[arg(long = "in", value_name = "FILE")]
        input: PathBuf,
        /// The bundle's version name.
        #[arg(long, value_name = "V")]
        version: String,
        /// The checksum (encrypted V3/V2 with a public key, else the plain SHA-256).
        #[arg(long, value_name = "C")]
        checksum: String,
        /// The ivSessionKey of an encrypted bundle.
        #[arg(long, value_name = "S")]
        session_key: Option<String>,
    },
    /// Queue a bundle for the next launch or background → {"bundle": BundleInfo}.
    Next {
        /// Bundle id (or `builtin`).
        id: String,
    },
    /// Make a bundle current now → {"bundle": BundleInfo}.
    Set {
        /// Bundle id (or `builtin`).
        id: String,
    },
    /// Delete a bundle's files (not builtin, current, next or fallback) → {"bundle": BundleInfo}.
    Delete {
        /// Bundle id.
        id: String,
    },
    /// Mark a bundle as failed → {"bundle": BundleInfo}.
    Error {
        /// Bundle id.
        id: String,
    },
    /// Back to builtin (or the last confirmed bundle) → {"bundle": BundleInfo} (now current).
    Reset {
        /// Go back to the last bundle that called notify_app_ready instead of builtin.
        #[arg(long)]
        to_last_successful: bool,
    },
    /// App start: roll back an unconfirmed launch, apply next, sweep, record the launch
    /// → {"launch_id", "web_root", "bundle", "rolled_back"}.
    Launch,
    /// The web app is ready (notifyAppReady) for this launch → {"bundle": BundleInfo, "accepted": bool}.
    Ready {
        /// The launch id printed by `launch`.
        launch_id: String,
    },
    /// The app went to the background: apply a pending next → {"bundle": BundleInfo}.
    Background,
    /// {"current", "next", "fallback", "bundles": [BundleInfo…]}.
    Status,
    /// One whole app process driven over JSON lines, exactly as the Android/iOS shells drive the
    /// engine: `{"id", "method", "options"}` calls and `{"lifecycle": "foreground"|"background"}`
    /// in; the `load` action first, then answers, events and host actions out. End of input ends
    /// the process (queued stats flushed for at most ~2 s). See docs/engine.md.
    Session,
    /// Run the whole update flow against the update server
    /// → {"result": "installed"|"up_to_date"|"builtin"|"blocked"|"failed", "bundle": BundleInfo|null, "error": …}.
    Update {
        /// Update check endpoint (overrides the config's updateUrl).
        #[arg(long, value_name = "URL")]
        update_url: Option<String>,
        /// Stats endpoint (overrides statsUrl; "" disables stats).
        #[arg(long, value_name = "URL")]
        stats_url: Option<String>,
        /// Channel endpoint (overrides channelUrl).
        #[arg(long, value_name = "URL")]
        channel_url: Option<String>,
        /// Allow plain http to hosts other than loopback (development only).
        #[arg(long)]
        insecure: bool,
        #[command(flatten)]
        host: HostArgs,
    },
}

/// What the app reports about itself in update requests.
#[derive(Debug, clap::Args)]
struct HostArgs {
    /// Platform name sent to the server.
    #[arg(long, default_value = "android")]
    platform: String,
    /// Device id (default: a UUID v4 generated once and kept in the data folder).
    #[arg(long, value_name = "ID")]
    device_id: Option<String>,
    /// Custom id sent to the server.
    #[arg(long, default_value = "")]
    custom_id: String,
    /// OS version sent to the server.
    #[arg(long, default_value = "")]
    os_version: String,
    /// Native build number (version_code) sent to the server.
    #[arg(long, default_value = "")]
    version_code: String,
}

/// Logs to stderr at the level of `LIVEUPDATE_LOG` (error, warn, info, debug; default: off, or info
/// for `serve`), so JSON on stdout stays clean.
struct StderrLogger;

impl log::Log for StderrLogger {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= log::max_level()
    }
    fn log(&self, r: &log::Record<'_>) {
        if self.enabled(r.metadata()) {
            eprintln!("{}: {}", r.level().as_str().to_lowercase(), r.args());
        }
    }
    fn flush(&self) {}
}

static LOGGER: StderrLogger = StderrLogger;

fn init_logging(default: log::LevelFilter) {
    let level = std::env::var("LIVEUPDATE_LOG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(level);
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let default = if matches!(cli.command, Command::Serve { .. }) {
        log::LevelFilter::Info
    } else {
        log::LevelFilter::Off
    };
    init_logging(default);
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let msg = e.to_string().replace('\n', " ");
            eprintln!("error: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn read_key(path: &Path) -> Result<PublicKey, Error> {
    let pem = fs::read_to_string(path).map_err(|source| Error::Io {
        op: "reading public key",
        path: path.to_path_buf(),
        source,
    })?;
    PublicKey::from_pem(&pem)
}

fn run(command: Command) -> Result<(), Error> {
    match command {
        Command::Unpack {
            input,
            out,
            public_key,
            session_key,
            checksum,
            max_bytes,
            max_files,
            json,
            threads,
        } => {
            let key = public_key.as_deref().map(read_key).transpose()?;
            let trust = BundleTrust {
                public_key: key.as_ref(),
                session_key: session_key.as_deref(),
                checksum: &checksum,
            };
            let parsed = trust.parse()?;
            let file = File::open(&input).map_err(|source| Error::Io {
                op: "opening bundle",
                path: input.clone(),
                source,
            })?;
            let mut options = ExtractOptions {
                limits: Limits {
                    max_bytes,
                    max_files,
                },
                ..ExtractOptions::default()
            };
            if let Some(t) = threads {
                options.threads = t.max(1);
            }
            // A regular file is read twice (hash, then extract through on-the-fly decryption): no
            // plaintext copy is written. A pipe is streamed once into a plaintext copy.
            let regular = file.metadata().is_ok_and(|m| m.is_file());
            let report = if regular {
                drop(file);
                liveupdate::unpack_file(&input, &parsed, &out, &options)?
            } else {
                liveupdate::unpack_parsed(BufReader::new(file), &parsed, &out, &options)?
            };
            if json {
                println!("{}", report_json(&report));
            } else {
                println!(
                    "unpacked {} files ({} bytes) into {} — sha256 {}, checksum {}",
                    report.files,
                    report.bytes,
                    out.display(),
                    report.sha256,
                    report.checksum_format
                );
            }
            Ok(())
        }
        Command::KeyId { public_key } => {
            println!("{}", read_key(&public_key)?.key_id());
            Ok(())
        }
        Command::Demo { out } => demo(out),
        Command::Device {
            data_dir,
            builtin,
            config,
            native_version,
            command,
        } => {
            let config_text = match &config {
                Some(path) => Some(fs::read_to_string(path).map_err(|source| Error::Io {
                    op: "reading config",
                    path: path.clone(),
                    source,
                })?),
                None => None,
            };
            // Host set-up lives once, in EngineOptions; without a configured update server the
            // CLI sends nothing anywhere (never Capgo's cloud by default).
            let mut options = liveupdate::EngineOptions::new(&data_dir, &builtin);
            options.capacitor_config_json = config_text;
            options.native_version = native_version;
            options.capgo_cloud_defaults = false;
            if let DeviceCommand::Session = command {
                return session::run(options);
            }
            if let DeviceCommand::Update {
                update_url,
                stats_url,
                channel_url,
                insecure,
                host,
            } = &command
            {
                options.update_url = update_url.clone();
                options.stats_url = stats_url.clone();
                options.channel_url = channel_url.clone();
                options.allow_insecure = *insecure;
                options.platform = host.platform.clone();
                options.version_code = host.version_code.clone();
                options.os_version = host.os_version.clone();
                options.device_id = host.device_id.clone();
                options.initial_custom_id =
                    (!host.custom_id.is_empty()).then(|| host.custom_id.clone());
            }
            let engine =
                liveupdate::Engine::open(options, std::sync::Arc::new(liveupdate::engine::NoHost))?;
            let updater = engine.updater();
            if let DeviceCommand::Update { .. } = &command
                && updater.device().config().update_url.is_empty()
            {
                return Err(Error::Config(
                    "no update server configured: set plugins.CapacitorUpdater.updateUrl in --config or pass --update-url (liveupdate never falls back to Capgo's cloud)".into(),
                ));
            }
            let (json, failed) = device_command(&updater, command)?;
            println!("{json}");
            if failed {
                return Err(Error::refused(
                    liveupdate::error::Refusal::Failed,
                    format!(
                        "the update failed: {}",
                        json["error"]["message"]
                            .as_str()
                            .unwrap_or("see the JSON on stdout")
                    ),
                ));
            }
            Ok(())
        }
        Command::Serve { dir, host, port } => {
            let registry = DevRegistry::start(&dir, &host, port)?;
            eprintln!(
                "liveupdate dev registry serving {} on {} (updateUrl {0}/updates, statsUrl {0}/stats, channelUrl {0}/channel_self)",
                registry.url(),
                dir.display()
            );
            registry.wait();
            Ok(())
        }
    }
}

/// Runs one `device` command: its JSON, and whether it reports a failed update.
fn device_command(
    updater: &Updater,
    command: DeviceCommand,
) -> Result<(serde_json::Value, bool), Error> {
    use serde_json::json;
    let bundle = |b: liveupdate::BundleInfo| json!({ "bundle": b });
    let device = updater.device();
    if let DeviceCommand::Update { .. } = command {
        return run_update(updater);
    }
    Ok((
        match command {
            DeviceCommand::Install {
                input,
                version,
                checksum,
                session_key,
            } => bundle(device.install(&input, &version, &checksum, session_key.as_deref())?),
            DeviceCommand::Next { id } => bundle(updater.next(&id)?),
            DeviceCommand::Set { id } => bundle(updater.set(&id)?),
            DeviceCommand::Delete { id } => bundle(updater.delete(&id)?),
            DeviceCommand::Error { id } => bundle(updater.set_bundle_error(&id)?),
            DeviceCommand::Reset { to_last_successful } => {
                bundle(updater.reset(to_last_successful)?)
            }
            DeviceCommand::Launch => {
                let l = updater.launch()?;
                json!({
                    "launch_id": l.launch_id,
                    "web_root": l.web_root,
                    "bundle": l.bundle,
                    "rolled_back": l.rolled_back.map(|r| json!({"failed": r.failed, "to": r.to})),
                })
            }
            DeviceCommand::Ready { launch_id } => {
                let r = updater.notify_app_ready(&launch_id)?;
                json!({ "bundle": r.bundle, "accepted": r.accepted })
            }
            DeviceCommand::Background => bundle(updater.on_background()?),
            DeviceCommand::Update { .. } | DeviceCommand::Session => {
                return Err(Error::Usage("handled before".into()));
            }
            DeviceCommand::Status => {
                let s = device.status()?;
                json!({ "current": s.current, "next": s.next, "fallback": s.fallback, "bundles": s.bundles })
            }
        },
        false,
    ))
}

/// A progress bar on stderr, drawn only when stderr is a terminal.
struct ProgressBar;

impl DownloadListener for ProgressBar {
    fn on_progress(&self, received: u64, total: Option<u64>, percent: u8) {
        let mb = received as f64 / 1e6;
        match total {
            Some(t) => {
                let filled = usize::from(percent) / 4;
                eprint!(
                    "\r[{}{}] {percent:3}% {mb:.1}/{:.1} MB",
                    "#".repeat(filled),
                    " ".repeat(25 - filled.min(25)),
                    t as f64 / 1e6
                );
            }
            None => eprint!("\r{mb:.1} MB"),
        }
        if percent == 100 {
            eprintln!();
        }
    }
}

fn run_update(updater: &Updater) -> Result<(serde_json::Value, bool), Error> {
    let listener: Option<std::sync::Arc<dyn DownloadListener>> = if std::io::stderr().is_terminal()
    {
        Some(std::sync::Arc::new(ProgressBar))
    } else {
        None
    };
    let outcome = updater.update(listener)?;
    // A short-lived process: deliver queued stats now (bounded); the rest stays queued on disk.
    if let Err(e) = updater.flush_stats(std::time::Duration::from_secs(2)) {
        log::warn!("stats not flushed: {e}");
    }
    let current = updater.device().status()?.current;
    Ok((
        outcome.to_json(&current),
        matches!(outcome, UpdateOutcome::Failed { .. }),
    ))
}

fn report_json(r: &UnpackReport) -> String {
    serde_json::json!({
        "files": r.files,
        "bytes": r.bytes,
        "sha256": r.sha256,
        "checksum_format": r.checksum_format.as_str(),
    })
    .to_string()
}

/// Set a of the Capgo fixtures: made by the real `@capgo/cli` 8.68.1.
const DEMO_BUNDLE: &[u8] = include_bytes!(
    "../../../tests/fixtures/capgo/set-a-small/com.example.liveupdate_1.0.0.zip_encrypted.zip"
);
const DEMO_PUBLIC_KEY: &str =
    include_str!("../../../tests/fixtures/capgo/set-a-small/capgo_key_v2.pub");
const DEMO_SESSION_KEY: &str =
    include_str!("../../../tests/fixtures/capgo/set-a-small/ivSessionKey.txt");
const DEMO_CHECKSUM: &str =
    include_str!("../../../tests/fixtures/capgo/set-a-small/encrypted_checksum.txt");

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

fn demo(out: Option<PathBuf>) -> Result<(), Error> {
    use std::time::{Duration, Instant};
    let root = match out {
        Some(o) => o,
        None => std::env::temp_dir().join(format!(
            "liveupdate-demo-{}",
            liveupdate::fs_atomic::random_alnum(6)?
        )),
    };
    let io = |op: &'static str, p: &Path| {
        let p = p.to_path_buf();
        move |source| Error::Io {
            op,
            path: p,
            source,
        }
    };
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
        registry_dir.join(liveupdate::serve::MANIFEST),
        manifest.to_string(),
    )
    .map_err(io("writing", &registry_dir))?;
    fs::write(
        www.join("index.html"),
        "<!doctype html><h1>builtin bundle shipped in the app</h1>",
    )
    .map_err(io("writing", &www))?;

    let registry = DevRegistry::start(&registry_dir, "127.0.0.1", 0)?;
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
    let config = UpdaterConfig {
        app_id: "com.example.liveupdate".into(),
        public_key: Some(key),
        update_url: format!("{}/updates", registry.url()),
        stats_url: format!("{}/stats", registry.url()),
        channel_url: format!("{}/channel_self", registry.url()),
        ..UpdaterConfig::default()
    };
    let host = HostInfo {
        version_build: "0.9.0".into(),
        version_code: "9".into(),
        version_os: std::env::consts::OS.into(),
        ..HostInfo::default()
    };
    let updater = Updater::new(
        Device::new(&data, &www, config, Some("0.9.0".into()))?,
        host,
        false,
    );

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
        return Err(Error::refused(
            liveupdate::error::Refusal::Failed,
            format!("the demo update did not install: {outcome:?}"),
        ));
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
    println!("\neverything is under {}", root.display());
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
