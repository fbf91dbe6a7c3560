//! FFI: the UniFFI surface for Kotlin and Swift — records, enums, the `Updater` object and callback traits; it only translates.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::config::{HostInfo, UpdaterConfig};
use crate::error::LiveUpdateError;
use crate::lifecycle::Device;
use crate::state;
use crate::update::{UpdateOutcome, Updater as CoreUpdater};

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

struct Progress<'a>(&'a dyn ProgressListener);

impl crate::download::DownloadListener for Progress<'_> {
    fn on_progress(&self, received: u64, total: Option<u64>, percent: u8) {
        self.0.on_progress(received, total.unwrap_or(0), percent);
    }
}

/// The updater of one app. Thread-safe: every method may be called from any thread; `update`
/// blocks (call it off the main thread) and can be stopped with `cancel` from another thread.
#[derive(uniffi::Object)]
pub struct Updater {
    inner: CoreUpdater,
    listener: Mutex<Option<Box<dyn ProgressListener>>>,
}

#[uniffi::export]
impl Updater {
    /// Builds the updater. Reads no network; checks the builtin folder and parses the config.
    #[uniffi::constructor]
    pub fn new(options: UpdaterOptions) -> Result<Arc<Self>> {
        crate::logging::init_platform();
        let mut config = match &options.capacitor_config_json {
            Some(json) => UpdaterConfig::from_capacitor_json(json)?,
            None => UpdaterConfig::default(),
        };
        if let Some(u) = options.update_url {
            config.set_update_url(u);
        }
        if let Some(u) = options.stats_url {
            config.stats_url = u;
        }
        if let Some(u) = options.channel_url {
            config.channel_url = u;
        }
        let host = HostInfo {
            platform: options.platform,
            version_build: config
                .version
                .clone()
                .or(options.native_version.clone())
                .unwrap_or_default(),
            version_code: options.version_code,
            version_os: options.os_version,
            device_id: options.device_id,
            custom_id: options.custom_id,
            is_emulator: options.is_emulator,
            is_prod: options.is_prod,
            install_source: None,
        };
        let device = Device::new(
            &PathBuf::from(options.data_dir),
            &PathBuf::from(options.builtin_dir),
            config,
            options.native_version,
        )?;
        Ok(Arc::new(Self {
            inner: CoreUpdater::new(device, host, options.allow_insecure),
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
        Ok(self
            .inner
            .device()
            .check_app_ready_timeout(&launch_id)?
            .is_some())
    }

    /// Sets the listener that receives download progress during `update`.
    pub fn set_progress_listener(&self, listener: Box<dyn ProgressListener>) {
        if let Ok(mut slot) = self.listener.lock() {
            *slot = Some(listener);
        }
    }

    /// Runs the whole update flow (check, download, verify, install, queue or apply, stats).
    /// Blocks: call it from a background thread. Network and disk I/O.
    pub fn update(&self) -> Result<UpdateResult> {
        let guard = self
            .listener
            .lock()
            .map_err(|_| LiveUpdateError::Internal {
                message: "progress listener lock poisoned".into(),
            })?;
        let progress = guard.as_deref().map(Progress);
        let outcome = self.inner.update(
            progress
                .as_ref()
                .map(|p| p as &dyn crate::download::DownloadListener),
        )?;
        drop(guard);
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
        self.inner
            .cancel_handle()
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Every stored bundle (tombstones excluded). Disk I/O only.
    pub fn list(&self) -> Result<Vec<BundleInfo>> {
        Ok(self
            .inner
            .device()
            .status()?
            .bundles
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Current, next, fallback and stored bundles. Disk I/O only.
    pub fn status(&self) -> Result<UpdaterStatus> {
        let s = self.inner.device().status()?;
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
        Ok(self.inner.device().set_bundle_error(&id)?.into())
    }

    /// The app went to the background: applies a pending next; returns the current bundle.
    pub fn on_background(&self) -> Result<BundleInfo> {
        Ok(self.inner.on_background()?.into())
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
        Ok(self.inner.unset_channel()?)
    }
}

/// The Capgo `key_id` of a public key PEM (first 20 characters of its PKCS#1 base64 body).
#[uniffi::export]
pub fn key_id(public_key_pem: String) -> Result<String> {
    Ok(crate::crypto::PublicKey::from_pem(&public_key_pem)?
        .key_id()
        .to_string())
}
