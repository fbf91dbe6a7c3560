//! FFI: the UniFFI surface for Kotlin and Swift — records, enums, the `Updater` object and callback traits; it only translates.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::effects::{HostAction, NoHost};
use crate::engine::{Engine, EngineOptions, HostOptions};
use crate::error::LiveUpdateError;
use crate::store::state;
use crate::update::UpdateOutcome;

type Result<T> = std::result::Result<T, LiveUpdateError>;

/// How to build an [`Updater`]: where its data lives, the app's configuration and identity.
#[derive(Debug, Clone, uniffi::Record)]
pub struct UpdaterOptions {
    /// Folder owned by the updater (bundles, state, downloads). Created if missing.
    pub data_dir: String,
    /// The app's shipped web folder (the builtin bundle).
    pub builtin_dir: String,
    /// The text of the app's `capacitor.config.json` (`plugins.CapacitorUpdater` keys), if any.
    #[uniffi(default = None)]
    pub capacitor_config_json: Option<String>,
    /// Native version name; a change resets to builtin (`resetWhenUpdate`).
    #[uniffi(default = None)]
    pub native_version: Option<String>,
    /// Native build number (`version_code`).
    #[uniffi(default = "")]
    pub version_code: String,
    /// `android` or `ios`.
    #[uniffi(default = "android")]
    pub platform: String,
    /// OS version.
    #[uniffi(default = "")]
    pub os_version: String,
    /// Device id; `None` = a UUID v4 generated once and kept.
    #[uniffi(default = None)]
    pub device_id: Option<String>,
    /// Custom id sent with requests.
    #[uniffi(default = "")]
    pub custom_id: String,
    /// Running on an emulator or simulator.
    #[uniffi(default = false)]
    pub is_emulator: bool,
    /// Release build.
    #[uniffi(default = true)]
    pub is_prod: bool,
    /// Overrides `updateUrl` when set.
    #[uniffi(default = None)]
    pub update_url: Option<String>,
    /// Overrides `statsUrl` when set (`""` disables stats).
    #[uniffi(default = None)]
    pub stats_url: Option<String>,
    /// Overrides `channelUrl` when set.
    #[uniffi(default = None)]
    pub channel_url: Option<String>,
    /// Allow plain http to non-loopback hosts (development only).
    #[uniffi(default = false)]
    pub allow_insecure: bool,
    /// Another updater's folders and files to remove once in the background (Capgo's, after a
    /// switch): absolute paths, a last component with one `*` a name pattern.
    #[uniffi(default = [])]
    pub leftover_paths: Vec<String>,
}

/// Lifecycle status of a bundle (Capgo's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum BundleStatus {
    /// Being installed.
    Downloading,
    /// Installed, not confirmed yet.
    Pending,
    /// Confirmed by `notifyAppReady`.
    Success,
    /// Failed; never served again.
    Error,
    /// Its files are being removed.
    Deleting,
    /// Removed (tombstone).
    Deleted,
}

/// A bundle, in Capgo's `BundleInfo` shape.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct BundleInfo {
    /// 10 random characters, or `builtin`.
    pub id: String,
    /// Version name.
    pub version: String,
    /// Install time, ISO-8601 UTC.
    pub downloaded: String,
    /// Hex SHA-256 of the plain zip (`""` for builtin).
    pub checksum: String,
    /// Lifecycle status.
    pub status: BundleStatus,
}

/// What `launch` decided.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LaunchInfo {
    /// Give this to `notifyAppReady` once the web app has started.
    pub launch_id: String,
    /// Absolute path of the folder the web view must load.
    pub web_root: String,
    /// The bundle served.
    pub bundle: BundleInfo,
    /// The id of a bundle rolled back by this launch (it never confirmed), if any.
    pub rolled_back_from: Option<String>,
}

/// What `notifyAppReady` did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ReadyInfo {
    /// The current bundle.
    pub bundle: BundleInfo,
    /// False for a stale or foreign launch id (nothing changed).
    pub accepted: bool,
}

/// Current, next, fallback and every stored bundle.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct UpdaterStatus {
    /// Served now.
    pub current: BundleInfo,
    /// Queued for the next launch or background.
    pub next: Option<BundleInfo>,
    /// Rollback target.
    pub fallback: BundleInfo,
    /// Stored bundles (tombstones excluded).
    pub bundles: Vec<BundleInfo>,
}

/// What one `update` came to.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum UpdateResult {
    /// A bundle was installed (or reused) and queued, or applied when `applied`.
    Installed {
        /// The bundle.
        bundle: BundleInfo,
        /// Made current now (`directUpdate`).
        applied: bool,
    },
    /// Nothing to do.
    UpToDate {
        /// The server's message.
        message: String,
    },
    /// The server sent the app back to builtin.
    Builtin,
    /// The server refuses updates for this device.
    Blocked {
        /// Machine code.
        code: String,
        /// Human text.
        message: String,
    },
    /// The update failed; the current bundle is unchanged.
    Failed {
        /// Machine code (`network_error`, `checksum_fail`, …).
        code: String,
        /// Human text.
        message: String,
    },
}

/// Receives download progress; called from the updating thread at most about 100 times.
#[uniffi::export(callback_interface)]
pub trait ProgressListener: Send + Sync {
    /// `received` of `total` bytes (`total` 0 when unknown), `percent` 0–100.
    fn on_progress(&self, received: u64, total: u64, percent: u8);
}

fn status(s: state::BundleStatus) -> BundleStatus {
    match s {
        state::BundleStatus::Downloading => BundleStatus::Downloading,
        state::BundleStatus::Pending => BundleStatus::Pending,
        state::BundleStatus::Success => BundleStatus::Success,
        state::BundleStatus::Error => BundleStatus::Error,
        state::BundleStatus::Deleting => BundleStatus::Deleting,
        state::BundleStatus::Deleted => BundleStatus::Deleted,
    }
}

impl From<state::BundleInfo> for BundleInfo {
    fn from(b: state::BundleInfo) -> Self {
        Self {
            id: b.id,
            version: b.version,
            downloaded: b.downloaded,
            checksum: b.checksum,
            status: status(b.status),
        }
    }
}

struct Progress(Arc<dyn ProgressListener>);

impl crate::net::download::DownloadListener for Progress {
    fn on_progress(&self, received: u64, total: Option<u64>, percent: u8) {
        self.0.on_progress(received, total.unwrap_or(0), percent);
    }
}

/// The updater of one app, for hosts that manage their own web view and launches: the engine
/// driven without one. Thread-safe: every method may be called from any thread; `update` blocks
/// (call it off the main thread) and can be stopped with `cancel` from another thread.
#[derive(uniffi::Object)]
pub struct Updater {
    inner: Engine,
    listener: Mutex<Option<Arc<dyn ProgressListener>>>,
}

#[uniffi::export]
impl Updater {
    /// Builds the updater. Reads no network; checks the builtin folder and parses the config.
    #[uniffi::constructor]
    pub fn new(options: UpdaterOptions) -> Result<Arc<Self>> {
        crate::logging::init_platform();
        let engine = Engine::open(options.try_into()?, Arc::new(NoHost))?;
        Ok(Arc::new(Self {
            inner: engine,
            listener: Mutex::new(None),
        }))
    }

    /// Call when the web view starts (process start or reload), before loading it: rolls back an
    /// unconfirmed previous launch, applies a pending next, records this launch, returns the folder
    /// to load. Disk I/O only.
    pub fn launch(&self) -> Result<LaunchInfo> {
        let l = self.inner.launch()?;
        Ok(LaunchInfo {
            launch_id: l.launch_id,
            web_root: l.web_root.to_string_lossy().into_owned(),
            bundle: l.bundle.into(),
            rolled_back_from: l.rolled_back.map(|r| r.failed),
        })
    }

    /// The web app started fine on `launch_id`: its bundle becomes `success` and the fallback.
    pub fn notify_app_ready(&self, launch_id: String) -> Result<ReadyInfo> {
        let r = self.inner.notify_app_ready(&launch_id)?;
        Ok(ReadyInfo {
            bundle: r.bundle.into(),
            accepted: r.accepted,
        })
    }

    /// Rolls back if `launch_id` is still unconfirmed after `appReadyTimeout`; true if it did.
    /// Call it from a timer `appReadyTimeout` after `launch`.
    pub fn check_app_ready_timeout(&self, launch_id: String) -> Result<bool> {
        Ok(self.inner.check_app_ready_timeout(&launch_id)?.is_some())
    }

    /// Sets the listener that receives download progress during `update`.
    pub fn set_progress_listener(&self, listener: Box<dyn ProgressListener>) {
        if let Ok(mut slot) = self.listener.lock() {
            *slot = Some(Arc::from(listener));
        }
    }

    /// Runs the whole update flow (check, download, verify, install, queue or apply, stats).
    /// Blocks: call it from a background thread. Network and disk I/O.
    pub fn update(&self) -> Result<UpdateResult> {
        // The listener is cloned out of its lock: no lock is held while the update calls it, so
        // the listener may call back into this updater (set_progress_listener, cancel, update).
        let listener = self
            .listener
            .lock()
            .map_err(|_| LiveUpdateError::Internal {
                message: "progress listener lock poisoned".into(),
            })?
            .clone();
        let progress = listener
            .map(|l| Arc::new(Progress(l)) as Arc<dyn crate::net::download::DownloadListener>);
        let outcome = self.inner.update(progress)?;
        Ok(match outcome {
            UpdateOutcome::Installed {
                bundle, applied, ..
            } => UpdateResult::Installed {
                bundle: bundle.into(),
                applied,
            },
            UpdateOutcome::UpToDate { message } => UpdateResult::UpToDate { message },
            UpdateOutcome::Builtin => UpdateResult::Builtin,
            UpdateOutcome::Blocked { error, message } => UpdateResult::Blocked {
                code: error,
                message,
            },
            UpdateOutcome::Failed { error, message } => UpdateResult::Failed {
                code: error,
                message,
            },
        })
    }

    /// Stops a running `update` (from any thread); it returns `Failed { code: "cancelled" }`.
    pub fn cancel(&self) {
        self.inner.cancel_running();
    }

    /// Every stored bundle (tombstones excluded). Disk I/O only.
    pub fn list(&self) -> Result<Vec<BundleInfo>> {
        Ok(self
            .inner
            .status()?
            .bundles
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Current, next, fallback and stored bundles. Disk I/O only.
    pub fn status(&self) -> Result<UpdaterStatus> {
        let s = self.inner.status()?;
        Ok(UpdaterStatus {
            current: s.current.into(),
            next: s.next.map(Into::into),
            fallback: s.fallback.into(),
            bundles: s.bundles.into_iter().map(Into::into).collect(),
        })
    }

    /// Queues bundle `id` (or `builtin`) for the next launch or background.
    pub fn next(&self, id: String) -> Result<BundleInfo> {
        Ok(self.inner.next(&id)?.into())
    }

    /// Makes bundle `id` (or `builtin`) current now; reload the web view and call `launch`.
    pub fn set(&self, id: String) -> Result<BundleInfo> {
        Ok(self.inner.set(&id)?.into())
    }

    /// Deletes a stored bundle (not builtin, current, next or fallback).
    pub fn delete(&self, id: String) -> Result<BundleInfo> {
        Ok(self.inner.delete(&id)?.into())
    }

    /// Back to builtin, or to the last confirmed bundle.
    pub fn reset(&self, to_last_successful: bool) -> Result<BundleInfo> {
        Ok(self.inner.reset(to_last_successful)?.into())
    }

    /// Marks a bundle as failed (rolls back if it is current).
    pub fn set_bundle_error(&self, id: String) -> Result<BundleInfo> {
        Ok(self.inner.set_bundle_error(&id)?.into())
    }

    /// The app went to the background: applies a pending next; returns the current bundle.
    pub fn on_background(&self) -> Result<BundleInfo> {
        Ok(self.inner.background()?.into())
    }

    /// Sends queued stats for at most `timeout_ms`; returns how many were delivered.
    pub fn flush_stats(&self, timeout_ms: u64) -> Result<u32> {
        let n = self.inner.flush_stats(Duration::from_millis(timeout_ms))?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// Puts this device on `channel` (server call); returns the server's JSON answer.
    pub fn set_channel(&self, channel: String) -> Result<String> {
        match self.inner.set_channel(&channel)? {
            Ok(v) => Ok(v.to_string()),
            Err(e) => Err(LiveUpdateError::Network {
                message: format!("{}: {}", e.error, e.message),
            }),
        }
    }

    /// The server's view of this device's channel, as JSON.
    pub fn get_channel(&self) -> Result<String> {
        match self.inner.get_channel()? {
            Ok(v) => Ok(v.to_string()),
            Err(e) => Err(LiveUpdateError::Network {
                message: format!("{}: {}", e.error, e.message),
            }),
        }
    }

    /// The channels this device may choose, as the server's JSON array.
    pub fn list_channels(&self) -> Result<String> {
        match self.inner.list_channels()? {
            Ok(v) => Ok(v.to_string()),
            Err(e) => Err(LiveUpdateError::Network {
                message: format!("{}: {}", e.error, e.message),
            }),
        }
    }

    /// Forgets the device's channel locally.
    pub fn unset_channel(&self) -> Result<()> {
        self.inner.unset_channel()
    }
}

/// The Capgo `key_id` of a public key PEM (first 20 characters of its PKCS#1 base64 body).
#[uniffi::export]
pub fn key_id(public_key_pem: String) -> Result<String> {
    Ok(crate::bundle::crypto::PublicKey::from_pem(&public_key_pem)?
        .key_id()
        .to_string())
}

impl From<UpdaterOptions> for HostOptions {
    fn from(o: UpdaterOptions) -> Self {
        HostOptions {
            data_dir: o.data_dir,
            builtin_dir: o.builtin_dir,
            capacitor_config_json: o.capacitor_config_json,
            capacitor_config: None,
            native_version: o.native_version,
            version_code: o.version_code,
            platform: Some(o.platform),
            os_version: o.os_version,
            device_id: o.device_id,
            custom_id: o.custom_id,
            is_emulator: o.is_emulator,
            is_prod: Some(o.is_prod),
            install_source: None,
            update_url: o.update_url,
            stats_url: o.stats_url,
            channel_url: o.channel_url,
            allow_insecure: o.allow_insecure,
            leftover_paths: o.leftover_paths,
        }
    }
}

impl TryFrom<UpdaterOptions> for EngineOptions {
    type Error = LiveUpdateError;
    fn try_from(o: UpdaterOptions) -> Result<Self> {
        HostOptions::from(o).into_engine_options(true)
    }
}

/// The app side of the JSON bridge: receives JS events and web-view actions from the engine.
///
/// Called from engine threads (a download thread, the timer thread, the caller's thread), never
/// while the engine holds a lock, so an implementation may call back into the engine. Keep it
/// short: hand the work to the UI thread and return. A thrown exception is logged and ignored.
#[uniffi::export(with_foreign)]
pub trait EngineHost: Send + Sync {
    /// A JS event (`download`, `set`, `updateFailed`, …) and its payload as JSON.
    fn on_event(&self, name: String, data_json: String) -> Result<()>;
    /// A web-view action as JSON: `{"host": "load"|"reload", "webRoot", "launchId", "bundle"}` or
    /// `{"host": "splashShow"|"splashHide"}`.
    fn on_host_action(&self, action_json: String) -> Result<()>;
}

struct ForeignHost(Arc<dyn EngineHost>);

impl crate::effects::Host for ForeignHost {
    fn event(&self, name: &str, data: &Value) {
        if let Err(e) = self.0.on_event(name.to_string(), data.to_string()) {
            log::warn!("host event handler failed: {e}");
        }
    }
    fn action(&self, action: &HostAction) {
        if let Err(e) = self.0.on_host_action(action.to_json().to_string()) {
            log::warn!("host action handler failed: {e}");
        }
    }
}

/// How a JS call ended: the value the promise resolves with, or Capgo's reject.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum CallAnswer {
    /// Resolved with this JSON (`null` for void methods).
    Resolve {
        /// The result as JSON text.
        json: String,
    },
    /// Rejected.
    Reject {
        /// The message the promise rejects with.
        message: String,
        /// The error code (`SETCHANNEL_FAILED`, `UNIMPLEMENTED`, …), if any.
        code: Option<String>,
        /// Extra data as JSON text, if any.
        data_json: Option<String>,
    },
}

/// The plugin engine behind a JSON bridge: what a Capacitor shell (or React Native, Flutter,
/// Electron) forwards JS calls and app lifecycle to. Every decision is taken here.
#[derive(uniffi::Object)]
pub struct PluginEngine {
    engine: Engine,
}

#[uniffi::export]
impl PluginEngine {
    /// Starts the engine for this app process: makes the launch decision and calls
    /// `host.onHostAction` with the `load` action before returning; starts its timers. Call it in
    /// the plugin's `load()`, before the web view loads. Blocks for the disk work (milliseconds).
    #[uniffi::constructor]
    pub fn start(options: UpdaterOptions, host: Arc<dyn EngineHost>) -> Result<Arc<Self>> {
        crate::logging::init_platform();
        let engine = Engine::start(options.try_into()?, Arc::new(ForeignHost(host)))?;
        Ok(Arc::new(Self { engine }))
    }

    /// Runs a JS method (`"download"`, `"set"`, …) with its options object as JSON text. Blocks
    /// for as long as the method takes (downloads: the transfer); call it off the UI thread.
    pub fn call(&self, method: String, options_json: String) -> CallAnswer {
        let options: Value = if options_json.trim().is_empty() {
            Value::Null
        } else {
            match serde_json::from_str(&options_json) {
                Ok(v) => v,
                Err(e) => {
                    return CallAnswer::Reject {
                        message: format!("the options of {method} are not JSON: {e}"),
                        code: Some("INVALID_ARGUMENT".into()),
                        data_json: None,
                    };
                }
            }
        };
        match self.engine.call(&method, &options) {
            Ok(v) => CallAnswer::Resolve {
                json: v.to_string(),
            },
            Err(r) => CallAnswer::Reject {
                message: r.message,
                code: r.code,
                data_json: r.data.map(|d| d.to_string()),
            },
        }
    }

    /// The app came to the foreground (auto-update check on an engine thread). Returns quickly.
    pub fn foreground(&self) {
        self.engine.foreground();
    }

    /// The app went to the background (a pending bundle is installed: expect a `reload` action).
    pub fn background(&self) {
        if let Err(e) = self.engine.background() {
            log::error!("background: {e}");
        }
    }

    /// The process is ending: cancels downloads, stops timers, flushes stats (≤ ~2 s). Blocks.
    pub fn shutdown(&self) {
        self.engine.shutdown();
    }

    /// The launch token of the page shown now (the shell injects it into the page).
    pub fn current_launch_id(&self) -> Option<String> {
        self.engine.current_launch_id()
    }
}

/// The platform's certificate trust, implemented by the app: Android with the platform's
/// `X509TrustManager` (the app's network security config and user/MDM CAs apply), iOS with
/// `SecTrust`. Install it with [`set_certificate_verifier`] before starting the engine.
///
/// Called on a network thread during TLS handshakes; do not call back into the updater from it.
/// The host name is checked by the core as well, so an implementation only judges the chain.
#[uniffi::export(with_foreign)]
pub trait CertificateVerifier: Send + Sync {
    /// `host`: the name connected to; `chain_der`: the server's certificates, DER, leaf first.
    /// Returns `None` when trusted, or the reason it is not (shown in the update error and the
    /// `download_fail` stat). A thrown exception refuses the connection.
    fn verify(&self, host: String, chain_der: Vec<Vec<u8>>) -> Result<Option<String>>;
}

struct ForeignVerifier(Arc<dyn CertificateVerifier>);

impl crate::hooks::CertificateVerifier for ForeignVerifier {
    fn verify(&self, host: &str, chain: &[Vec<u8>]) -> Option<String> {
        match self.0.verify(host.to_string(), chain.to_vec()) {
            Ok(answer) => answer,
            Err(e) => Some(format!("the app's certificate verifier failed: {e}")),
        }
    }
}

/// Makes every HTTPS request of the clients built after this call trust what `verifier` trusts
/// (`None`: back to the operating system's store). Process-wide: trust is the platform's. No I/O.
#[uniffi::export]
pub fn set_certificate_verifier(verifier: Option<Arc<dyn CertificateVerifier>>) {
    crate::hooks::set_certificate_verifier(
        verifier
            .map(|v| Arc::new(ForeignVerifier(v)) as Arc<dyn crate::hooks::CertificateVerifier>),
    );
}

/// The app's builtin web files where they are not a folder (Android: the APK's
/// `assets/public`): lets delta updates reuse them without a copy of the assets. Install it with
/// [`set_builtin_assets`]. Called on the updating thread; do not call back into the updater.
#[uniffi::export(with_foreign)]
pub trait BuiltinAssets: Send + Sync {
    /// The bytes of the builtin file at `path` (`/`-separated, relative to the web root), or
    /// `None` when there is none. Every byte is hash-checked before use.
    fn read(&self, path: String) -> Result<Option<Vec<u8>>>;
}

struct ForeignAssets(Arc<dyn BuiltinAssets>);

impl crate::hooks::BuiltinReader for ForeignAssets {
    fn read(&self, path: &str) -> Option<Vec<u8>> {
        self.0.read(path.to_string()).ok().flatten()
    }
}

/// Makes delta updates look for builtin files through `assets` (process-wide; `None` removes
/// it). No I/O.
#[uniffi::export]
pub fn set_builtin_assets(assets: Option<Arc<dyn BuiltinAssets>>) {
    crate::hooks::set_builtin_reader(
        assets.map(|a| Arc::new(ForeignAssets(a)) as Arc<dyn crate::hooks::BuiltinReader>),
    );
}

/// One request the app's HTTP stack must send ([`HttpTransport::send`]).
#[derive(Debug, Clone, uniffi::Record)]
pub struct HttpRequest {
    /// `GET`, `POST` or `PUT`.
    pub method: String,
    /// Absolute URL, already checked against the URL policy.
    pub url: String,
    /// Headers to send as given (`Range`, `If-Range`, `Accept-Encoding: identity`, …).
    pub headers: Vec<HttpHeader>,
    /// JSON body for `POST` / `PUT`.
    pub body: Option<Vec<u8>>,
    /// Connect timeout and the longest wait for any byte, in milliseconds.
    pub timeout_ms: u64,
}

/// One HTTP header.
#[derive(Debug, Clone, uniffi::Record)]
pub struct HttpHeader {
    /// Name (any case).
    pub name: String,
    /// Value.
    pub value: String,
}

/// Status and headers of an answer; its body is read with [`HttpTransport::read`].
#[derive(Debug, Clone, uniffi::Record)]
pub struct HttpResponseHead {
    /// The app's handle for this answer's body.
    pub id: u64,
    /// HTTP status (redirects included: the core follows them itself).
    pub status: u16,
    /// Response headers.
    pub headers: Vec<HttpHeader>,
}

/// The app's HTTP stack carrying the core's requests: Android `HttpURLConnection` (the app's
/// network security config, user/MDM CAs, proxies), iOS `URLSession`. Install it with
/// [`set_http_transport`] before starting the engine; phone builds have no other HTTP client.
///
/// Called on the core's network threads, several at once; each call may block up to the
/// request's timeout; do not call back into the updater. Never follow redirects (the core
/// checks and follows them), never decompress unasked (`Accept-Encoding: identity` means the
/// bytes as sent). A thrown exception fails the request with its message.
#[uniffi::export(with_foreign)]
pub trait HttpTransport: Send + Sync {
    /// Sends `request`; returns when the status and headers are in. Blocks; network I/O.
    fn send(&self, request: HttpRequest) -> Result<HttpResponseHead>;
    /// Up to `max_bytes` of the body of answer `id`; empty means the end. Blocks until at least
    /// one byte or the end.
    fn read(&self, id: u64, max_bytes: u32) -> Result<Vec<u8>>;
    /// The core is done with answer `id`: release its connection.
    fn close(&self, id: u64);
}

struct ForeignTransport(Arc<dyn HttpTransport>);

/// The reason a foreign call failed, without UniFFI's wrapping.
fn foreign_reason(e: LiveUpdateError) -> String {
    let text = e.to_string();
    text.strip_prefix("callback failed: ")
        .map(str::to_string)
        .unwrap_or(text)
}

impl crate::hooks::HttpTransport for ForeignTransport {
    fn send(
        &self,
        request: crate::hooks::TransportRequest,
    ) -> std::result::Result<crate::hooks::TransportHead, String> {
        let head = self
            .0
            .send(HttpRequest {
                method: request.method,
                url: request.url,
                headers: request
                    .headers
                    .into_iter()
                    .map(|(name, value)| HttpHeader { name, value })
                    .collect(),
                body: request.body,
                timeout_ms: u64::try_from(request.timeout.as_millis()).unwrap_or(u64::MAX),
            })
            .map_err(foreign_reason)?;
        Ok(crate::hooks::TransportHead {
            id: head.id,
            status: head.status,
            headers: head
                .headers
                .into_iter()
                .map(|h| (h.name, h.value))
                .collect(),
        })
    }

    fn read(&self, id: u64, max: u32) -> std::result::Result<Vec<u8>, String> {
        self.0.read(id, max).map_err(foreign_reason)
    }

    fn close(&self, id: u64) {
        self.0.close(id);
    }
}

/// Makes every client built after this call send through `transport` (`None`: back to the
/// built-in client, where the build has one). Process-wide. No I/O.
#[uniffi::export]
pub fn set_http_transport(transport: Option<Arc<dyn HttpTransport>>) {
    crate::hooks::set_http_transport(
        transport.map(|t| Arc::new(ForeignTransport(t)) as Arc<dyn crate::hooks::HttpTransport>),
    );
}
