//! Update: the auto-update flow over the Capgo protocol — check, skip known-bad, reuse, download, install, activate, report — plus stats and channels.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use crate::check::{self, CheckResult, Release};
use crate::config::{DirectUpdate, HostInfo, UpdaterConfig};
use crate::download::{self, DownloadJob, DownloadListener, DownloadStats};
use crate::error::{Error, Result};
use crate::http::{BodyCap, Http, HttpConfig, Method};
use crate::lifecycle::Device;
use crate::state::{BUILTIN, BundleInfo, State};
use crate::stats::{self, Action, Event, SendOutcome};
use crate::time::now_ms;
use crate::unpack::{self, BundleTrust};

/// What one `update()` came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// A new bundle was installed (or an installed one reused) and queued or applied.
    Installed {
        /// The bundle.
        bundle: BundleInfo,
        /// True when it was made current right away (`directUpdate`), false when queued as next.
        applied: bool,
        /// Transfer figures (zero when an installed bundle was reused).
        download: DownloadStats,
    },
    /// Nothing to do.
    UpToDate {
        /// The server's message.
        message: String,
    },
    /// The server sent the app back to its builtin bundle (queued or applied).
    Builtin,
    /// The server refuses updates for this device.
    Blocked {
        /// Machine code.
        error: String,
        /// Human text.
        message: String,
    },
    /// The update failed; the current bundle is untouched.
    Failed {
        /// Machine code (`network_error`, `checksum_fail`, `too_many_requests`, `known_bad_version`, …).
        error: String,
        /// Human text.
        message: String,
    },
}

impl UpdateOutcome {
    /// The JSON the CLI and the C ABI print: `{"result", "bundle", "error"}` (+ `applied` and
    /// `download` figures when installed). `current` is reported as the bundle when nothing was
    /// installed but the app keeps running on it (up to date, builtin).
    pub fn to_json(&self, current: &BundleInfo) -> Value {
        match self {
            UpdateOutcome::Installed {
                bundle,
                applied,
                download,
            } => {
                let mut out = json!({
                    "result": "installed", "bundle": bundle, "error": null, "applied": applied,
                    "download": {"attempts": download.attempts, "network_bytes": download.network_bytes,
                                 "resumed_bytes": download.resumed_bytes},
                });
                if let Some(d) = download.delta {
                    out["delta"] = json!({
                        "files": d.files, "reused": d.reused, "fetched": d.fetched,
                        "reused_bytes": d.reused_bytes, "fetched_bytes": d.fetched_bytes,
                    });
                }
                out
            }
            UpdateOutcome::UpToDate { message } => {
                json!({"result": "up_to_date", "bundle": current, "error": null, "message": message})
            }
            UpdateOutcome::Builtin => {
                json!({"result": "builtin", "bundle": current, "error": null})
            }
            UpdateOutcome::Blocked { error, message }
            | UpdateOutcome::Failed { error, message } => {
                json!({"result": self.kind(), "bundle": null, "error": {"code": error, "message": message}})
            }
        }
    }

    /// `installed`, `up_to_date`, `builtin`, `blocked` or `failed`.
    pub fn kind(&self) -> &'static str {
        match self {
            UpdateOutcome::Installed { .. } => "installed",
            UpdateOutcome::UpToDate { .. } => "up_to_date",
            UpdateOutcome::Builtin => "builtin",
            UpdateOutcome::Blocked { .. } => "blocked",
            UpdateOutcome::Failed { .. } => "failed",
        }
    }
}

mod channels;
mod delta;

pub use delta::DELTA_CONCURRENCY;

pub use channels::ServerError;

/// What [`Updater::latest`] received: the typed result and the answer as Capgo's JS shows it.
#[derive(Debug, Clone)]
pub struct Latest {
    /// The typed reading (an offered release carries its manifest).
    pub result: CheckResult,
    /// The server's answer as Capgo's JS shows it (its fields plus `statusCode`, without the
    /// manifest, which `result` carries), or Capgo's `{error, message, kind}` for a transport
    /// failure; empty when checks are disabled.
    pub raw: Map<String, Value>,
}

/// A bundle [`Updater::fetch_release`] installed or found installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// Its record (`pending`, or the existing copy's).
    pub bundle: BundleInfo,
    /// Transfer figures (zero when reused).
    pub download: DownloadStats,
    /// True when an installed copy was reused.
    pub reused: bool,
}

/// The registry client of one app: a [`Device`] plus the host's identity and an HTTP client.
pub struct Updater {
    device: Device,
    host: HostInfo,
    http: Http,
    cancel: Arc<AtomicBool>,
    direct_used: AtomicBool,
    backoff: Duration,
    /// The deadline of the running `update()`, which its requests must also meet.
    deadline: std::sync::Mutex<Option<Instant>>,
    /// This process owns the data folder's launches (see `Store::try_launch_lock`).
    launch_owner: bool,
}

fn failed(error: &str, message: impl Into<String>) -> UpdateOutcome {
    UpdateOutcome::Failed {
        error: error.into(),
        message: message.into(),
    }
}

/// The stats action that names a pipeline failure (Capgo's names).
fn failure_action(e: &Error) -> Action {
    match e {
        Error::ChecksumMismatch | Error::ChecksumFormat(_) => Action::ChecksumFail,
        Error::SessionKey(_) => Action::SessionKeyRequired,
        Error::UnsafeEntry { .. } | Error::Zip(_) | Error::MissingIndexHtml | Error::Limit(_) => {
            Action::UnzipFail
        }
        Error::Decrypt(_) => Action::DecryptFail,
        Error::NoSpace { .. } => Action::InsufficientDiskSpace,
        _ => Action::DownloadFail,
    }
}

/// The machine code reported for a pipeline failure.
fn failure_code(e: &Error) -> &'static str {
    match e {
        Error::Network(_) => "network_error",
        Error::UrlPolicy(_) => "insecure_url",
        Error::Cancelled => "cancelled",
        Error::NoSpace { .. } => "insufficient_disk_space",
        other => match failure_action(other) {
            Action::ChecksumFail => "checksum_fail",
            Action::SessionKeyRequired => "session_key_required",
            Action::UnzipFail => "unzip_fail",
            Action::DecryptFail => "decrypt_fail",
            Action::InsufficientDiskSpace => "insufficient_disk_space",
            _ => "download_fail",
        },
    }
}

impl Updater {
    /// Builds the client for `device`, identified by `host`. `allow_insecure` permits plain http to
    /// non-loopback hosts (development only). No I/O.
    pub fn new(device: Device, host: HostInfo, allow_insecure: bool) -> Self {
        let cfg = device.config();
        let http = Http::new(HttpConfig {
            timeout: Duration::from_secs(cfg.response_timeout_s),
            user_agent: check::user_agent(cfg, &host),
            allow_insecure,
        });
        Self {
            device,
            host,
            http,
            cancel: Arc::new(AtomicBool::new(false)),
            direct_used: AtomicBool::new(false),
            backoff: Duration::from_millis(500),
            deadline: std::sync::Mutex::new(None),
            launch_owner: true,
        }
    }

    /// Shares `cancel` as this client's cancellation flag (the engine cancels every client it
    /// built through one flag at process end).
    pub fn set_cancel_handle(&mut self, cancel: Arc<AtomicBool>) {
        self.cancel = cancel;
    }

    /// When a request started now must be over: the running `update()`'s deadline if one is set,
    /// else the response timeout (applied by [`Http::json_until`] in any case).
    fn request_deadline(&self) -> Instant {
        let own = crate::time::after(Duration::from_secs(self.config().response_timeout_s));
        match *self
            .deadline
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
        {
            Some(d) => d.min(own),
            None => own,
        }
    }

    /// Whether this process owns the data folder's launches (default true; the engine sets it
    /// from the launch lock). A non-owner's [`Updater::launch`] decides nothing.
    pub fn set_launch_owner(&mut self, owner: bool) {
        self.launch_owner = owner;
    }

    /// Sets the first retry delay of downloads (default 500 ms; tests use less).
    pub fn set_retry_backoff(&mut self, d: Duration) {
        self.backoff = d;
    }

    /// The device this client updates.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// A flag that cancels a running `update()` from another thread when set.
    pub fn cancel_handle(&self) -> Arc<AtomicBool> {
        self.cancel.clone()
    }

    fn config(&self) -> &UpdaterConfig {
        self.device.config()
    }

    /// Device id, current version name, channel, rate-limit state — and the device id persisted.
    /// The info object and the current version name, read from (and, for a first device id,
    /// written to) the state the caller holds under the store lock.
    fn info_from(&self, state: &mut State) -> Result<(Value, String)> {
        let device_id = match &self.host.device_id {
            Some(id) => id.clone(),
            None => match &state.device_id {
                Some(id) => id.clone(),
                None => {
                    let id = uuid_v4()?;
                    state.device_id = Some(id.clone());
                    id
                }
            },
        };
        let builtin_version = self.device.builtin_info().version;
        let current = match state.get(&state.current) {
            Some(b) if state.current != BUILTIN => b.version.clone(),
            _ => builtin_version,
        };
        let channel = state
            .channel
            .clone()
            .unwrap_or_else(|| self.config().default_channel.clone());
        let info = check::info_object(self.config(), &self.host, &device_id, &current, &channel);
        Ok((info, current))
    }

    /// The device id sent to the server (generated and persisted on first use).
    pub fn device_id(&self) -> Result<String> {
        let (info, _) = self.info()?;
        Ok(info
            .get("device_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string())
    }

    fn info(&self) -> Result<(Value, String)> {
        self.device.with_store(|_, state| self.info_from(state))
    }

    /// Queues stats events (nothing when `statsUrl` is empty) in one locked step. Never fails the
    /// caller's operation.
    pub fn record(&self, events: &[Event]) {
        if self.config().stats_url.is_empty() || events.is_empty() {
            return;
        }
        let now = now_ms();
        let result = self.device.with_store(|store, state| {
            let (info, _) = self.info_from(state)?;
            stats::enqueue(
                store,
                events.iter().map(|e| e.to_json(&info, now)).collect(),
            )
        });
        if let Err(e) = result {
            log::warn!("cannot queue stats: {e}");
        }
    }

    /// Sends queued stats until the queue is empty, a send must be retried later, or `budget` is
    /// spent. Returns how many events were delivered. Blocks; network I/O.
    pub fn flush_stats(&self, budget: Duration) -> Result<usize> {
        let url = self.config().stats_url.clone();
        if url.is_empty() {
            self.device.with_store(|store, _| stats::clear(store))?;
            return Ok(0);
        }
        let deadline = crate::time::after(budget);
        let mut delivered = 0;
        while Instant::now() < deadline {
            let (batch, blocked) = self.device.with_store(|store, state| {
                Ok((stats::snapshot(store), state.rate_limit_in_force(now_ms())))
            })?;
            if batch.is_empty() || blocked.is_some() {
                break;
            }
            let (outcome, limit) = stats::send(&self.http, &url, &batch, deadline);
            match outcome {
                SendOutcome::Delivered | SendOutcome::Refused => {
                    if outcome == SendOutcome::Delivered {
                        delivered += batch.len();
                    }
                    self.device
                        .with_store(|store, _| stats::remove(store, &batch))?;
                }
                SendOutcome::RateLimited => {
                    if let Some((retry_after, body)) = limit {
                        self.note_rate_limit(retry_after.as_deref(), &body, None)?;
                    }
                    break;
                }
                SendOutcome::Retry => break,
            }
        }
        Ok(delivered)
    }

    /// Records a 429: blocks requests until the hinted time (capped at 24 h), persisted.
    fn note_rate_limit(
        &self,
        retry_after: Option<&str>,
        body: &[u8],
        error: Option<(String, String)>,
    ) -> Result<bool> {
        let Some(until) = check::rate_limit_until(retry_after, body, now_ms()) else {
            return Ok(false);
        };
        self.device.with_store(|_, state| {
            let first = state.rate_limited_until_ms.is_none_or(|t| t < now_ms());
            state.rate_limited_until_ms = Some(until);
            if let Some(e) = error {
                state.rate_limit_error = Some(e);
            }
            Ok(first)
        })
    }

    fn blocked_now(&self) -> Result<Option<UpdateOutcome>> {
        self.device.with_store(|_, state| {
            Ok(match state.rate_limit_in_force(now_ms()) {
                Some(_) => {
                    let (error, message) = state
                        .rate_limit_error
                        .clone()
                        .unwrap_or(("too_many_requests".into(), "Too many requests".into()));
                    Some(UpdateOutcome::Failed { error, message })
                }
                _ => None,
            })
        })
    }

    /// Asks the update server what to do. Blocks; network I/O.
    pub fn check(&self) -> Result<CheckResult> {
        Ok(self.latest(None, None)?.result)
    }

    /// The update check with the server's answer kept as Capgo's JS `getLatest` shows it:
    /// `channel` overrides the device's channel and `app_id` the app id for this request only.
    /// Transport failures become `{error, message, kind: "failed"}` maps, as in Capgo. Blocks;
    /// network I/O.
    pub fn latest(&self, channel: Option<&str>, app_id: Option<&str>) -> Result<Latest> {
        let fail = |error: &str, message: String, status: Option<u16>| {
            let mut raw = Map::new();
            raw.insert("error".into(), json!(error));
            raw.insert("message".into(), json!(message));
            raw.insert("kind".into(), json!("failed"));
            if let Some(s) = status {
                raw.insert("statusCode".into(), json!(s));
            }
            Latest {
                result: CheckResult::Failed {
                    error: error.into(),
                    message,
                    status,
                },
                raw,
            }
        };
        if self.config().update_url.is_empty() {
            return Ok(Latest {
                result: CheckResult::UpToDate {
                    error: Some("disabled".into()),
                    message: "updateUrl is empty: update checks are disabled".into(),
                },
                raw: Map::new(),
            });
        }
        if let Some(UpdateOutcome::Failed { error, message }) = self.blocked_now()? {
            return Ok(fail(&error, message, None));
        }
        let (mut info, current) = self.info()?;
        if let Some(o) = info.as_object_mut() {
            if let Some(c) = channel.filter(|c| !c.is_empty()) {
                o.insert("defaultChannel".into(), json!(c));
            }
            if let Some(a) = app_id.filter(|a| !a.is_empty()) {
                o.insert("app_id".into(), json!(a));
            }
        }
        let deadline = self.request_deadline();
        let resp = match self.http.json_until(
            Method::Post,
            &self.config().update_url,
            Some(&info),
            deadline,
            Some(&self.cancel),
            BodyCap::UPDATE,
        ) {
            Ok(r) => r,
            Err(Error::Cancelled) => {
                return Ok(fail(
                    "cancelled",
                    "the update check was cancelled".into(),
                    None,
                ));
            }
            Err(e) => return Ok(fail("network_error", format!("Request failed: {e}"), None)),
        };
        let answer = check::read_answer(&resp.body, resp.truncated);
        // Only a 429's (small) body is needed after this: its hints.
        let hints = if resp.status == 429 {
            resp.body
        } else {
            drop(resp.body);
            Vec::new()
        };
        // The JS view of the answer, without the manifest (`getLatest` adds it when it needs it:
        // a 50,000-entry manifest is not copied into a JSON tree for every check).
        let answered = answer.as_ref().ok().map(|a| a.to_js(resp.status));
        let result = check::classify(resp.status, answer, &current);
        if resp.status == 429 {
            let code = match &result {
                CheckResult::Failed { error, message, .. } => {
                    Some((error.clone(), message.clone()))
                }
                _ => None,
            };
            let first = self.note_rate_limit(resp.retry_after.as_deref(), &hints, code.clone())?;
            if first && code.is_some_and(|(e, _)| e == "too_many_requests") {
                self.record(&[Event::new(Action::RateLimitReached, &current)]);
            }
        }
        let raw = match (answered, &result) {
            (Some(m), _) => m,
            (None, CheckResult::Failed { error, message, .. }) => {
                fail(error, message.clone(), Some(resp.status)).raw
            }
            (None, _) => Map::new(),
        };
        Ok(Latest { result, raw })
    }

    /// The whole flow: check → skip known-bad → reuse an installed copy → download (resumable) →
    /// install → queue as next, or apply now per `directUpdate` → report (result and stats). Any
    /// failure leaves the current bundle active. Blocks for the whole update, bounded by
    /// `updateTimeout`; cancellable through [`Updater::cancel_handle`].
    pub fn update(&self, listener: Option<Arc<dyn DownloadListener>>) -> Result<UpdateOutcome> {
        self.cancel.store(false, Ordering::Relaxed);
        let deadline = crate::time::after(Duration::from_secs(self.config().update_timeout_s));
        *self
            .deadline
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(deadline);
        let result = self.update_until(deadline, listener);
        *self
            .deadline
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
        result
    }

    fn update_until(
        &self,
        deadline: Instant,
        listener: Option<Arc<dyn DownloadListener>>,
    ) -> Result<UpdateOutcome> {
        let (_, current) = self.info()?;
        let check_started = Instant::now();
        let checked = self.check()?;
        log::debug!(
            "update: check {:.1} ms",
            check_started.elapsed().as_secs_f64() * 1e3
        );
        let outcome = match checked {
            CheckResult::UpToDate { message, .. } => UpdateOutcome::UpToDate { message },
            CheckResult::Blocked { error, message } => UpdateOutcome::Blocked { error, message },
            CheckResult::Failed { error, message, .. } => {
                // The message says what failed (a TLS refusal names the host and the reason).
                self.record(&[Event::new(Action::DownloadFail, &current)
                    .meta("error", error.as_str())
                    .meta("message", message.as_str())]);
                UpdateOutcome::Failed { error, message }
            }
            CheckResult::Builtin => {
                let status = self.device.status()?;
                if status.current.id != BUILTIN {
                    self.activate(BUILTIN, &current)?;
                }
                UpdateOutcome::Builtin
            }
            CheckResult::Available(release) => {
                match self.fetch_release(&release, None, deadline, listener)? {
                    Err(f) => f,
                    Ok(fetched) => {
                        let applied = self.activate(&fetched.bundle.id, &current)?;
                        let bundle = self
                            .device
                            .status()?
                            .bundles
                            .into_iter()
                            .find(|b| b.id == fetched.bundle.id)
                            .unwrap_or(fetched.bundle);
                        UpdateOutcome::Installed {
                            bundle,
                            applied,
                            download: fetched.download,
                        }
                    }
                }
            }
        };
        Ok(outcome)
    }

    /// Downloads, verifies and installs `release` as a new `pending` bundle (or finds an installed
    /// copy of the same version and checksum), without activating it. `id` names the new bundle
    /// (a random one when `None`). Download stats (`download_zip_start`, `download_complete`,
    /// failures) are queued here. `Ok(Err(outcome))` is a refused or failed update whose
    /// `UpdateOutcome::Failed` says why; the current bundle is untouched. Blocks; network I/O.
    pub fn fetch_release(
        &self,
        release: &Release,
        id: Option<&str>,
        deadline: Instant,
        listener: Option<Arc<dyn DownloadListener>>,
    ) -> Result<std::result::Result<Fetched, UpdateOutcome>> {
        let v = release.version.as_str();
        // A configured public key that does not parse refuses every update (never "no key").
        if let Some(problem) = &self.config().key_problem {
            self.record(&[Event::new(Action::DownloadFail, v).meta("error", "bad_public_key")]);
            return Ok(Err(failed(
                "bad_public_key",
                format!(
                    "the app's public key is unusable ({problem}): fix publicKey in capacitor.config.json"
                ),
            )));
        }
        // An unusable label ("builtin ", blank, 300 characters) is refused before any transfer.
        if let Err(e) = crate::lifecycle::parse_version(v) {
            self.record(&[Event::new(Action::DownloadFail, v).meta("error", "invalid_version")]);
            return Ok(Err(failed("invalid_version", e.to_string())));
        }
        // A manifest makes it a delta release: the zip (and its checksum) is not used at all.
        match release.manifest.entries() {
            Ok(Some(entries)) => {
                return self.fetch_manifest_release(release, entries, id, deadline, listener);
            }
            Ok(None) => {}
            Err(why) => {
                let e = Error::Manifest(why);
                self.record(&[
                    Event::new(Action::ManifestPathFail, v).meta("error", e.to_string()),
                    Event::new(Action::DownloadFail, v).meta("error", "manifest_invalid"),
                ]);
                return Ok(Err(failed("manifest_invalid", e.to_string())));
            }
        }
        if release.checksum.is_empty() {
            self.record(&[
                Event::new(Action::ChecksumRequired, v),
                Event::new(Action::DownloadFail, v).meta("error", "checksum_required"),
            ]);
            return Ok(Err(failed(
                "checksum_required",
                "the server sent no checksum for the bundle",
            )));
        }
        let trust = BundleTrust {
            public_key: self.config().public_key.as_ref(),
            session_key: release.session_key.as_deref(),
            checksum: &release.checksum,
        };
        let parsed = match trust.parse_with_keys(&self.config().extra_public_keys) {
            Ok(p) => p,
            Err(e) => {
                self.record(&[
                    Event::new(failure_action(&e), v),
                    Event::new(Action::DownloadFail, v).meta("error", failure_code(&e)),
                ]);
                return Ok(Err(failed(failure_code(&e), e.to_string())));
            }
        };
        let sha = parsed.expected_sha256_hex();
        if let Some(refused) = self.refusal(v, &sha)? {
            return Ok(Err(refused));
        }
        if let Some(existing) = self.device.find_installed(v, &sha)? {
            return Ok(Ok(Fetched {
                bundle: existing,
                download: DownloadStats::default(),
                reused: true,
            }));
        }
        self.record(&[Event::new(Action::DownloadZipStart, v)]);
        let dir = self.device.with_store(|store, _| store.downloads_dir())?;
        let key = format!("{}-{}", sanitize(v), &sha[..16.min(sha.len())]);
        let job = DownloadJob {
            http: &self.http,
            url: &release.url,
            dir: &dir,
            key: &key,
            max_bytes: self.config().max_download_bytes,
            attempts: self.config().download_attempts,
            backoff: self.backoff,
            deadline,
            cancel: &self.cancel,
            listener,
        };
        // Held for the download and the install, so no sweep removes the partial file meanwhile.
        let guard = self.device.install_guard()?;
        let fetch_started = Instant::now();
        // The network thread keeps the ciphertext on disk; this thread decrypts it as it arrives
        // and another hashes it (the two passes overlap), writing no plaintext. Only a verified
        // file is then read as a zip, through an on-the-fly decryptor.
        let result = download::fetch_with(&job, |reader, _| unpack::hash_stream(reader, &parsed))
            .and_then(|((digest, plain_len), stats)| {
                let part = download::part_path(&dir, &key);
                let verified = unpack::verify_file(part, digest, plain_len, &parsed)
                    .inspect_err(|_| download::discard(&dir, &key))?;
                let installed = self.device.install_verified(&guard, &verified, v, id);
                download::discard(&dir, &key);
                Ok((installed?, stats))
            });
        drop(guard);
        let (bundle, stats) = match result {
            Ok(ok) => ok,
            Err(e) => {
                let action = failure_action(&e);
                let mut events = vec![Event::new(action, v).meta("error", e.to_string())];
                if action != Action::DownloadFail {
                    events.push(Event::new(Action::DownloadFail, v));
                }
                self.record(&events);
                return Ok(Err(failed(failure_code(&e), e.to_string())));
            }
        };
        log::debug!(
            "update: download+install {:.1} ms",
            fetch_started.elapsed().as_secs_f64() * 1e3
        );
        self.record(&[Event::new(Action::DownloadComplete, v)]);
        Ok(Ok(Fetched {
            bundle,
            download: stats,
            reused: false,
        }))
    }

    /// Why release `v` with identity `checksum` must not be installed here (the downgrade policy, a
    /// version + checksum that failed on this device before), its `download_fail` stat queued.
    fn refusal(&self, v: &str, checksum: &str) -> Result<Option<UpdateOutcome>> {
        if self.device.is_downgrade_refused(v)? {
            self.record(&[Event::new(Action::DownloadFail, v).meta("error", "downgrade_refused")]);
            return Ok(Some(failed(
                "downgrade_refused",
                format!(
                    "version {v} is older than a version that already ran successfully (downgradePolicy: refuse)"
                ),
            )));
        }
        if self.device.is_known_bad(v, checksum)? {
            self.record(&[Event::new(Action::DownloadFail, v).meta("error", "known_bad_version")]);
            return Ok(Some(failed(
                "known_bad_version",
                format!("version {v} failed on this device before; it will not be installed again"),
            )));
        }
        Ok(None)
    }

    /// Queues `id` as next, or applies it now when `directUpdate` says so. Returns whether applied.
    fn activate(&self, id: &str, current_version: &str) -> Result<bool> {
        let direct = match self.config().direct_update {
            DirectUpdate::Never => false,
            DirectUpdate::Always => true,
            DirectUpdate::OnLaunch => !self.direct_used.swap(true, Ordering::Relaxed),
            DirectUpdate::AtInstall => {
                let s = self.device.status()?;
                s.fallback.id == BUILTIN && s.current.id == BUILTIN
            }
        };
        let b = if direct {
            self.device.set(id)?
        } else {
            self.device.next(id)?
        };
        let action = if direct { Action::Set } else { Action::SetNext };
        self.record(&[Event::new(action, &b.version).old(current_version)]);
        Ok(direct)
    }

    /// [`Device::launch`] plus the stats a Capgo server expects (`app_moved_to_foreground`, and
    /// `update_fail` when an unconfirmed bundle was rolled back). No network: events are queued.
    pub fn launch(&self) -> Result<crate::lifecycle::LaunchResult> {
        let l = if self.launch_owner {
            self.device.launch()?
        } else {
            self.device.launch_secondary()?
        };
        let mut events = Vec::new();
        if let Some(r) = &l.rolled_back {
            let failed_version = self
                .device
                .status()?
                .bundles
                .iter()
                .find(|b| b.id == r.failed)
                .map(|b| b.version.clone())
                .unwrap_or_default();
            events.push(Event::new(Action::UpdateFail, &failed_version));
        }
        if l.applied_next {
            events.push(Event::new(Action::Set, &l.bundle.version));
        }
        events.push(Event::new(Action::AppMovedToForeground, &l.bundle.version));
        self.record(&events);
        Ok(l)
    }

    /// [`Device::notify_app_ready`]; queues `app_launch_ready` when accepted.
    pub fn notify_app_ready(&self, launch_id: &str) -> Result<crate::lifecycle::ReadyResult> {
        let r = self.device.notify_app_ready(launch_id)?;
        if r.accepted {
            self.record(&[Event::new(Action::AppLaunchReady, &r.bundle.version)]);
        }
        Ok(r)
    }

    /// [`Device::on_background`]; queues `app_moved_to_background` (and `set` if next was applied).
    pub fn on_background(&self) -> Result<BundleInfo> {
        let before = self.device.status()?.current;
        let b = self.device.on_background()?;
        let mut events = vec![Event::new(Action::AppMovedToBackground, &before.version)];
        if b.id != before.id {
            events.push(Event::new(Action::Set, &b.version).old(&before.version));
        }
        self.record(&events);
        Ok(b)
    }

    /// [`Device::next`]; queues `set_next`.
    pub fn next(&self, id: &str) -> Result<BundleInfo> {
        let current = self.device.status()?.current.version;
        let b = self.device.next(id)?;
        self.record(&[Event::new(Action::SetNext, &b.version).old(&current)]);
        Ok(b)
    }

    /// [`Device::set`]; queues `set`.
    pub fn set(&self, id: &str) -> Result<BundleInfo> {
        let current = self.device.status()?.current.version;
        let b = self.device.set(id)?;
        self.record(&[Event::new(Action::Set, &b.version).old(&current)]);
        Ok(b)
    }

    /// [`Device::set_bundle_error`]; queues `update_fail`.
    pub fn set_bundle_error(&self, id: &str) -> Result<BundleInfo> {
        let b = self.device.set_bundle_error(id)?;
        self.record(&[Event::new(Action::UpdateFail, &b.version).meta("reason", "setBundleError")]);
        Ok(b)
    }

    /// [`Device::check_app_ready_timeout`]; queues `app_launch_timeout` and `update_fail` when it
    /// rolled back.
    pub fn check_app_ready_timeout(
        &self,
        launch_id: &str,
    ) -> Result<Option<crate::state::Rollback>> {
        let r = self.device.check_app_ready_timeout(launch_id)?;
        if let Some(r) = &r {
            let version = self
                .device
                .record_of(&r.failed)?
                .map(|b| b.version)
                .unwrap_or_default();
            self.record(&[
                Event::new(Action::AppLaunchTimeout, &version),
                Event::new(Action::UpdateFail, &version),
            ]);
        }
        Ok(r)
    }

    /// [`Device::delete`]; queues `delete`.
    pub fn delete(&self, id: &str) -> Result<BundleInfo> {
        let b = self.device.delete(id)?;
        self.record(&[Event::new(Action::Delete, &b.version)]);
        Ok(b)
    }

    /// [`Device::reset`]; queues `reset`.
    pub fn reset(&self, to_last_successful: bool) -> Result<BundleInfo> {
        let current = self.device.status()?.current.version;
        let b = self.device.reset(to_last_successful)?;
        self.record(&[Event::new(Action::Reset, &b.version).old(&current)]);
        Ok(b)
    }
}

fn sanitize(v: &str) -> String {
    v.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect()
}

/// A random lowercase UUID v4.
pub fn uuid_v4() -> Result<String> {
    use ring::rand::{SecureRandom, SystemRandom};
    let mut b = [0u8; 16];
    SystemRandom::new().fill(&mut b).map_err(|_| Error::Io {
        op: "reading the system random generator",
        path: Default::default(),
        source: std::io::Error::other("no randomness available"),
    })?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = crate::checksum::to_hex(&b);
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}
