//! The `liveupdate` command line: a thin adapter over the library (argument parsing and output only), plus the development registry (`serve`).

mod demo;
mod session;

use std::fmt;
use std::fs::{self, File};
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use std::io::IsTerminal;

use liveupdate::{
    BundleTrust, DownloadListener, Engine, ExtractOptions, HostOptions, Limits, LiveUpdateError,
    NoHost, PublicKey, UnpackReport, UpdateOutcome,
};
use liveupdate_cli::serve::{self, DevRegistry};

/// What a command failed with: the library's error, or the command line's own (arguments,
/// files it reads itself). Printed as one `error:` line.
#[derive(Debug)]
pub enum Failure {
    /// The library refused or failed.
    Core(LiveUpdateError),
    /// The command line's own failure, in words.
    Cli(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Core(e) => e.fmt(f),
            Failure::Cli(m) => f.write_str(m),
        }
    }
}

impl From<LiveUpdateError> for Failure {
    fn from(e: LiveUpdateError) -> Self {
        Failure::Core(e)
    }
}

/// An I/O failure of the command line itself, named like the library's.
fn io(op: &'static str, path: &Path) -> impl Fn(std::io::Error) -> Failure {
    let path = path.to_path_buf();
    move |e| Failure::Cli(format!("i/o error while {op} {}: {e}", path.display()))
}

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
    /// bundle files with Range) serving DIR, described by DIR/liveupdate-registry.json — or, with
    /// --site, a signed static site as any static host would (files with ETag, Last-Modified,
    /// 304 and Range; POST /stats accepted and logged).
    Serve {
        /// The folder with the bundles and liveupdate-registry.json.
        #[arg(
            long,
            value_name = "DIR",
            required_unless_present = "site",
            conflicts_with = "site"
        )]
        dir: Option<PathBuf>,
        /// A static site made by `liveupdate publish`.
        #[arg(long, value_name = "DIR")]
        site: Option<PathBuf>,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// Port (0 picks a free one).
        #[arg(long, default_value_t = 8787)]
        port: u16,
    },
    /// Publish a release to a signed static site (liveupdate-static/1): the bundle encrypted and
    /// signed as the Capgo CLI does, content-addressed under bundles/ (and files/ with --delta),
    /// then channels/<channel>.json and its .sig, each replaced atomically.
    Publish {
        /// The site folder (created if missing).
        #[arg(long, value_name = "DIR")]
        site: PathBuf,
        /// The channel (a file name: A-Z a-z 0-9 . _ -).
        #[arg(long, value_name = "NAME")]
        channel: String,
        /// The version label.
        #[arg(long, value_name = "V")]
        version: String,
        /// A built web folder or a zip.
        #[arg(long, value_name = "PATH")]
        bundle: PathBuf,
        /// The private key (.capgo_key_v2 from `npx @capgo/cli key create`).
        #[arg(long, value_name = "PEM")]
        private_key: PathBuf,
        /// The app id (default: appId of ./capacitor.config.json).
        #[arg(long, value_name = "ID")]
        app_id: Option<String>,
        /// Absolute base URL of the site for the URLs written (default: relative URLs).
        #[arg(long, value_name = "URL")]
        base_url: Option<String>,
        /// Percentage of devices offered the release (0–100; default 100).
        #[arg(long, value_name = "N")]
        rollout: Option<u64>,
        /// Lowest native app version that may take the release.
        #[arg(long, value_name = "V")]
        min_native_version: Option<String>,
        /// The channel file expires after this many days (freeze protection).
        #[arg(long, value_name = "DAYS")]
        expires_in: Option<u64>,
        /// Also write the delta files and the manifest.
        #[arg(long)]
        delta: bool,
        /// Publish the plain zip (for an app without a public key).
        #[arg(long)]
        no_encrypt: bool,
        /// Print {"channel","version","url","checksum","session_key","published_at"}.
        #[arg(long)]
        json: bool,
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
        /// Working folder, kept afterwards (default: a temporary folder removed at the end).
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

fn read_key(path: &Path) -> Result<PublicKey, Failure> {
    let pem = fs::read_to_string(path).map_err(io("reading public key", path))?;
    Ok(PublicKey::from_pem(&pem)?)
}

fn run(command: Command) -> Result<(), Failure> {
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
            let file = File::open(&input).map_err(io("opening bundle", &input))?;
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
        Command::Demo { out } => demo::run(out),
        Command::Device {
            data_dir,
            builtin,
            config,
            native_version,
            command,
        } => {
            let config_text = match &config {
                Some(path) => Some(fs::read_to_string(path).map_err(io("reading config", path))?),
                None => None,
            };
            // The one mapping of host options; without a configured update server the CLI
            // sends nothing anywhere (never Capgo's cloud by default).
            let mut host = HostOptions {
                data_dir: data_dir.to_string_lossy().into_owned(),
                builtin_dir: builtin.to_string_lossy().into_owned(),
                capacitor_config_json: config_text,
                native_version,
                ..HostOptions::default()
            };
            if let DeviceCommand::Update {
                update_url,
                stats_url,
                channel_url,
                insecure,
                host: who,
            } = &command
            {
                host.update_url = update_url.clone();
                host.stats_url = stats_url.clone();
                host.channel_url = channel_url.clone();
                host.allow_insecure = *insecure;
                host.platform = Some(who.platform.clone());
                host.version_code = who.version_code.clone();
                host.os_version = who.os_version.clone();
                host.device_id = who.device_id.clone();
                host.custom_id = who.custom_id.clone();
            }
            let options = host.into_engine_options(false)?;
            if let DeviceCommand::Session = command {
                return session::run(options);
            }
            if let DeviceCommand::Update { .. } = &command
                && options.config.update_url.is_empty()
            {
                return Err(Failure::Cli(
                    "bad config: no update server configured: set plugins.CapacitorUpdater.updateUrl in --config or pass --update-url (liveupdate never falls back to Capgo's cloud)".into(),
                ));
            }
            let engine = Engine::open(options, Arc::new(NoHost))?;
            let (json, failed) = device_command(&engine, command)?;
            println!("{json}");
            if failed {
                return Err(Failure::Cli(format!(
                    "the update failed: {}",
                    json["error"]["message"]
                        .as_str()
                        .unwrap_or("see the JSON on stdout")
                )));
            }
            Ok(())
        }
        Command::Serve {
            site: Some(site),
            host,
            port,
            ..
        } => {
            let server = DevRegistry::start_site(&site, &host, port).map_err(Failure::Cli)?;
            eprintln!(
                "liveupdate static site serving {} on {} (updateUrl {0}/ with updateProtocol \"static\")",
                server.url(),
                site.display()
            );
            server.wait();
            Ok(())
        }
        Command::Publish {
            site,
            channel,
            version,
            bundle,
            private_key,
            app_id,
            base_url,
            rollout,
            min_native_version,
            expires_in,
            delta,
            no_encrypt,
            json,
        } => {
            let done = liveupdate_cli::publish::publish(&liveupdate_cli::publish::Publish {
                site,
                channel,
                version,
                bundle,
                private_key,
                app_id,
                base_url,
                rollout,
                min_native_version,
                expires_in_days: expires_in,
                delta,
                no_encrypt,
            })
            .map_err(Failure::Cli)?;
            if json {
                println!("{}", done.to_json());
            } else {
                println!(
                    "published {} to channel {} ({} files written, published_at {})\nurl {}",
                    done.version, done.channel, done.files_written, done.published_at, done.url
                );
            }
            Ok(())
        }
        Command::Serve {
            dir, host, port, ..
        } => {
            let dir = dir.ok_or_else(|| Failure::Cli("serve needs --dir or --site".into()))?;
            let registry = DevRegistry::start(&dir, &host, port).map_err(Failure::Cli)?;
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
    engine: &Engine,
    command: DeviceCommand,
) -> Result<(serde_json::Value, bool), Failure> {
    use serde_json::json;
    let bundle = |b: liveupdate::BundleInfo| json!({ "bundle": b });
    if let DeviceCommand::Update { .. } = command {
        return run_update(engine);
    }
    Ok((
        match command {
            DeviceCommand::Install {
                input,
                version,
                checksum,
                session_key,
            } => {
                bundle(engine.install_file(&input, &version, &checksum, session_key.as_deref())?)
            }
            DeviceCommand::Next { id } => bundle(engine.next(&id)?),
            DeviceCommand::Set { id } => bundle(engine.set(&id)?),
            DeviceCommand::Delete { id } => bundle(engine.delete(&id)?),
            DeviceCommand::Error { id } => bundle(engine.set_bundle_error(&id)?),
            DeviceCommand::Reset { to_last_successful } => {
                bundle(engine.reset(to_last_successful)?)
            }
            DeviceCommand::Launch => {
                let l = engine.launch()?;
                json!({
                    "launch_id": l.launch_id,
                    "web_root": l.web_root,
                    "bundle": l.bundle,
                    "rolled_back": l.rolled_back.map(|r| json!({"failed": r.failed, "to": r.to})),
                })
            }
            DeviceCommand::Ready { launch_id } => {
                let r = engine.notify_app_ready(&launch_id)?;
                json!({ "bundle": r.bundle, "accepted": r.accepted })
            }
            DeviceCommand::Background => bundle(engine.background()?),
            DeviceCommand::Update { .. } | DeviceCommand::Session => {
                return Err(Failure::Cli("handled before".into()));
            }
            DeviceCommand::Status => {
                let s = engine.status()?;
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

fn run_update(engine: &Engine) -> Result<(serde_json::Value, bool), Failure> {
    let listener: Option<Arc<dyn DownloadListener>> = if std::io::stderr().is_terminal() {
        Some(Arc::new(ProgressBar))
    } else {
        None
    };
    let outcome = engine.update(listener)?;
    // A short-lived process: deliver queued stats now (bounded); the rest stays queued on disk.
    if let Err(e) = engine.flush_stats(std::time::Duration::from_secs(2)) {
        log::warn!("stats not flushed: {e}");
    }
    let current = engine.status()?.current;
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
