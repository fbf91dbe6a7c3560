//! Config: the updater's typed configuration, read from a Capacitor config (`plugins.CapacitorUpdater`) with Capgo's defaults.

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::crypto::PublicKey;
use crate::error::{Error, Result};
use crate::unzip::Limits;

/// Capgo's default update endpoint.
pub const DEFAULT_UPDATE_URL: &str = "https://plugin.capgo.app/updates";
/// Capgo's default stats endpoint.
pub const DEFAULT_STATS_URL: &str = "https://plugin.capgo.app/stats";
/// Capgo's default channel endpoint.
pub const DEFAULT_CHANNEL_URL: &str = "https://plugin.capgo.app/channel_self";

/// Longest `responseTimeout` honoured (1 hour); larger values are clamped, never an error.
pub const MAX_RESPONSE_TIMEOUT_S: u64 = 3600;
/// Longest `updateTimeout` honoured (1 day).
pub const MAX_UPDATE_TIMEOUT_S: u64 = 86_400;
/// Longest `appReadyTimeout` honoured (1 day, in ms).
pub const MAX_APP_READY_TIMEOUT_MS: u64 = 86_400_000;

/// The `plugin_version` this core reports: the `@capgo/capacitor-updater` release whose protocol and
/// bundle formats it implements (servers use it to pick V3 checksums and features).
pub const PLUGIN_COMPAT_VERSION: &str = "8.51.23";

/// What the host (the native app) knows about itself at run time; sent with every request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostInfo {
    /// `android` or `ios` (or another platform name the server knows).
    pub platform: String,
    /// Native version name (`versionName` / `CFBundleShortVersionString`).
    pub version_build: String,
    /// Native build number (`versionCode` / `CFBundleVersion`).
    pub version_code: String,
    /// OS version.
    pub version_os: String,
    /// Device id; `None` = generate a lowercase UUID v4 once and keep it in the data folder.
    pub device_id: Option<String>,
    /// The app's custom id (`""` if none).
    pub custom_id: String,
    /// Running on an emulator or simulator.
    pub is_emulator: bool,
    /// A production (release) build.
    pub is_prod: bool,
    /// Store the app came from, if known (`google_play`, `app_store`, …).
    pub install_source: Option<String>,
}

impl Default for HostInfo {
    fn default() -> Self {
        Self {
            platform: "android".into(),
            version_build: String::new(),
            version_code: String::new(),
            version_os: String::new(),
            device_id: None,
            custom_id: String::new(),
            is_emulator: false,
            is_prod: true,
            install_source: None,
        }
    }
}

/// How an update is applied once it is downloaded (Capgo `directUpdate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectUpdate {
    /// Queue as next; applied at the next background or launch (Capgo's default).
    Never,
    /// Apply immediately after every download.
    Always,
    /// Apply immediately only while the app has never confirmed a downloaded bundle (first install).
    AtInstall,
    /// Apply immediately only for the first update of the process (at launch).
    OnLaunch,
}

/// Everything the core needs to know about the app, with Capgo's names, units and defaults.
#[derive(Debug, Clone)]
pub struct UpdaterConfig {
    /// The app id (`appId` at the config root, overridden by `plugins.CapacitorUpdater.appId`).
    pub app_id: String,
    /// The developer's public key; `None` for apps without encryption. Its `key_id` is the one
    /// sent to the server.
    pub public_key: Option<PublicKey>,
    /// More trusted keys, for key rotation (`publicKeys`, a list of PEM): a bundle is accepted
    /// when its session key and checksum verify under `public_key` or under one of these.
    pub extra_public_keys: Vec<PublicKey>,
    /// How long a new bundle has to call `notify_app_ready`, in ms (Capgo `appReadyTimeout`,
    /// default 10,000, at least 1,000).
    pub app_ready_timeout_ms: u64,
    /// Delete a bundle's files after it is rolled back (default true).
    pub auto_delete_failed: bool,
    /// Delete the previous fallback once a new bundle is confirmed (default true).
    pub auto_delete_previous: bool,
    /// On a native app version change, go back to builtin and delete downloaded bundles (default true).
    pub reset_when_update: bool,
    /// The builtin bundle's version name (Capgo `version`; default: the native version).
    pub version: Option<String>,
    /// How many bundles may be kept on disk at most, besides builtin (`maxStoredBundles`, default 5).
    pub max_stored_bundles: usize,
    /// Extraction limits (`maxBundleBytes`, `maxBundleFiles`).
    pub limits: Limits,
    /// Update check endpoint (`updateUrl`); empty disables checks.
    pub update_url: String,
    /// Stats endpoint (`statsUrl`); empty disables stats.
    pub stats_url: String,
    /// Channel endpoint (`channelUrl`).
    pub channel_url: String,
    /// Channel sent when none was set on the device (`defaultChannel`).
    pub default_channel: String,
    /// Seconds without progress before a request fails (`responseTimeout`, default 20).
    pub response_timeout_s: u64,
    /// How a downloaded update is applied (`directUpdate`; `autoUpdate` string modes map onto it).
    pub direct_update: DirectUpdate,
    /// Most bytes one download may transfer (`maxDownloadBytes`, default 1 GiB): endless-body protection.
    pub max_download_bytes: u64,
    /// Attempts per download, counting the first (`downloadAttempts`, default 5: the first and 4 retries).
    pub download_attempts: u32,
    /// Upper bound for a whole `update()` in seconds (`updateTimeout`, default 300).
    pub update_timeout_s: u64,
    /// Refuse bundles older (semver) than the highest version that ever reached `success`
    /// (`downgradePolicy: "refuse"`); default `"allow"`, so servers can revert a bad release.
    pub refuse_downgrade: bool,
}

impl Default for UpdaterConfig {
    fn default() -> Self {
        Self {
            app_id: String::new(),
            public_key: None,
            extra_public_keys: Vec::new(),
            app_ready_timeout_ms: 10_000,
            auto_delete_failed: true,
            auto_delete_previous: true,
            reset_when_update: true,
            version: None,
            max_stored_bundles: 5,
            limits: Limits::default(),
            update_url: DEFAULT_UPDATE_URL.into(),
            stats_url: DEFAULT_STATS_URL.into(),
            channel_url: DEFAULT_CHANNEL_URL.into(),
            default_channel: String::new(),
            response_timeout_s: 20,
            direct_update: DirectUpdate::Never,
            max_download_bytes: 1 << 30,
            download_attempts: 5,
            update_timeout_s: 300,
            refuse_downgrade: false,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRoot {
    app_id: Option<String>,
    #[serde(default)]
    plugins: RawPlugins,
}

#[derive(Debug, Default, Deserialize)]
struct RawPlugins {
    #[serde(rename = "CapacitorUpdater", default)]
    updater: RawUpdater,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawUpdater {
    app_id: Option<String>,
    public_key: Option<String>,
    public_keys: Option<Vec<String>>,
    app_ready_timeout: Option<u64>,
    auto_delete_failed: Option<bool>,
    auto_delete_previous: Option<bool>,
    reset_when_update: Option<bool>,
    version: Option<String>,
    max_stored_bundles: Option<usize>,
    max_bundle_bytes: Option<u64>,
    max_bundle_files: Option<u64>,
    update_url: Option<String>,
    stats_url: Option<String>,
    channel_url: Option<String>,
    default_channel: Option<String>,
    response_timeout: Option<i64>,
    direct_update: Option<Value>,
    auto_update: Option<Value>,
    max_download_bytes: Option<u64>,
    download_attempts: Option<u32>,
    update_timeout: Option<u64>,
    downgrade_policy: Option<String>,
}

fn direct_update_mode(auto_update: Option<&Value>, direct: Option<&Value>) -> DirectUpdate {
    let from_direct = |v: Option<&Value>| match v {
        Some(Value::Bool(true)) => DirectUpdate::Always,
        Some(Value::String(s)) => match s.as_str() {
            "always" => DirectUpdate::Always,
            "atInstall" => DirectUpdate::AtInstall,
            "onLaunch" => DirectUpdate::OnLaunch,
            _ => DirectUpdate::Never,
        },
        _ => DirectUpdate::Never,
    };
    match auto_update {
        Some(Value::String(s)) => match s.as_str() {
            "always" => DirectUpdate::Always,
            "atInstall" => DirectUpdate::AtInstall,
            "onLaunch" => DirectUpdate::OnLaunch,
            _ => DirectUpdate::Never,
        },
        _ => from_direct(direct),
    }
}

/// The sibling endpoint `name` of a self-hosted update URL: `…/updates` → `…/<name>`, otherwise
/// `<scheme>://<host>/<name>`.
fn sibling_url(update_url: &str, name: &str) -> String {
    if let Some(base) = update_url.strip_suffix("/updates") {
        return format!("{base}/{name}");
    }
    let origin_end = update_url
        .find("://")
        .and_then(|i| update_url[i + 3..].find('/').map(|j| i + 3 + j))
        .unwrap_or(update_url.len());
    format!("{}/{name}", &update_url[..origin_end])
}

impl UpdaterConfig {
    /// Points the updater at a self-hosted update server. `statsUrl` and `channelUrl` that are
    /// still Capgo's cloud defaults follow it to the same server (`/stats`, `/channel_self`), so a
    /// self-hosted app never sends telemetry or channel calls to Capgo unless configured to.
    pub fn set_update_url(&mut self, url: String) {
        if !url.is_empty() && url != DEFAULT_UPDATE_URL {
            if self.stats_url == DEFAULT_STATS_URL {
                self.stats_url = sibling_url(&url, "stats");
            }
            if self.channel_url == DEFAULT_CHANNEL_URL {
                self.channel_url = sibling_url(&url, "channel_self");
            }
        }
        self.update_url = url;
    }

    /// Parses the text of a `capacitor.config.json`. Unknown keys are ignored; a key of the wrong
    /// type or an unusable public key is an error naming it. Pure computation.
    pub fn from_capacitor_json(text: &str) -> Result<Self> {
        let raw: RawRoot = serde_json::from_str(text)
            .map_err(|e| Error::Config(format!("capacitor config: {e}")))?;
        let u = raw.plugins.updater;
        let d = Self::default();
        let mut keys = Vec::new();
        for pem in u.public_key.iter().chain(u.public_keys.iter().flatten()) {
            if !pem.trim().is_empty() {
                keys.push(PublicKey::from_pem(pem)?);
            }
        }
        let mut keys = keys.into_iter();
        let public_key = keys.next();
        let extra_public_keys = keys.collect();
        let mut config = Self {
            app_id: u.app_id.or(raw.app_id).unwrap_or_default(),
            public_key,
            extra_public_keys,
            app_ready_timeout_ms: u
                .app_ready_timeout
                .unwrap_or(d.app_ready_timeout_ms)
                .clamp(1000, MAX_APP_READY_TIMEOUT_MS),
            auto_delete_failed: u.auto_delete_failed.unwrap_or(d.auto_delete_failed),
            auto_delete_previous: u.auto_delete_previous.unwrap_or(d.auto_delete_previous),
            reset_when_update: u.reset_when_update.unwrap_or(d.reset_when_update),
            version: u.version.filter(|v| !v.is_empty()),
            max_stored_bundles: u.max_stored_bundles.unwrap_or(d.max_stored_bundles).max(1),
            limits: Limits {
                max_bytes: u.max_bundle_bytes.unwrap_or(d.limits.max_bytes),
                max_files: u.max_bundle_files.unwrap_or(d.limits.max_files),
            },
            update_url: d.update_url,
            stats_url: u.stats_url.unwrap_or(d.stats_url),
            channel_url: u.channel_url.unwrap_or(d.channel_url),
            default_channel: u.default_channel.unwrap_or(d.default_channel),
            response_timeout_s: match u.response_timeout {
                Some(v) if v > 0 => (v as u64).min(MAX_RESPONSE_TIMEOUT_S),
                _ => d.response_timeout_s,
            },
            direct_update: direct_update_mode(u.auto_update.as_ref(), u.direct_update.as_ref()),
            max_download_bytes: u.max_download_bytes.unwrap_or(d.max_download_bytes),
            download_attempts: u
                .download_attempts
                .unwrap_or(d.download_attempts)
                .clamp(1, 20),
            update_timeout_s: u
                .update_timeout
                .unwrap_or(d.update_timeout_s)
                .clamp(1, MAX_UPDATE_TIMEOUT_S),
            refuse_downgrade: match u.downgrade_policy.as_deref() {
                None | Some("allow") => false,
                Some("refuse") => true,
                Some(other) => {
                    return Err(Error::Config(format!(
                        "downgradePolicy must be \"allow\" or \"refuse\", not {other:?}"
                    )));
                }
            },
        };
        if let Some(url) = u.update_url {
            config.set_update_url(url);
        }
        Ok(config)
    }

    /// Reads and parses a `capacitor.config.json` file. Does file I/O.
    pub fn from_capacitor_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(Error::io("reading config", path))?;
        Self::from_capacitor_json(&text)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let c = UpdaterConfig::from_capacitor_json(r#"{"appId":"com.x"}"#).unwrap();
        assert_eq!(c.app_id, "com.x");
        assert_eq!(c.app_ready_timeout_ms, 10_000);
        assert!(c.auto_delete_failed && c.auto_delete_previous && c.reset_when_update);
        assert!(c.public_key.is_none());
        let c = UpdaterConfig::from_capacitor_json(
            r#"{"appId":"com.x","plugins":{"CapacitorUpdater":{"appId":"com.y","appReadyTimeout":5,
                "autoDeleteFailed":false,"statsUrl":"","publicKey":"","responseTimeout":0}}}"#,
        )
        .unwrap();
        assert_eq!(c.app_id, "com.y");
        assert_eq!(c.app_ready_timeout_ms, 1000);
        assert!(!c.auto_delete_failed);
        assert_eq!(c.stats_url, "");
        assert_eq!(c.response_timeout_s, 20);
    }

    #[test]
    fn self_hosted_update_url_takes_stats_and_channel_along() {
        let c = UpdaterConfig::from_capacitor_json(
            r#"{"plugins":{"CapacitorUpdater":{"updateUrl":"https://u.example.com/api/updates"}}}"#,
        )
        .unwrap();
        assert_eq!(c.stats_url, "https://u.example.com/api/stats");
        assert_eq!(c.channel_url, "https://u.example.com/api/channel_self");
        let c = UpdaterConfig::from_capacitor_json(
            r#"{"plugins":{"CapacitorUpdater":{"updateUrl":"http://127.0.0.1:9/check","statsUrl":""}}}"#,
        )
        .unwrap();
        assert_eq!(c.stats_url, "", "an explicit value wins");
        assert_eq!(c.channel_url, "http://127.0.0.1:9/channel_self");
        assert_eq!(UpdaterConfig::default().stats_url, DEFAULT_STATS_URL);
    }

    #[test]
    fn wrong_types_and_bad_keys_are_errors() {
        let e = UpdaterConfig::from_capacitor_json(
            r#"{"plugins":{"CapacitorUpdater":{"appReadyTimeout":"soon"}}}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("capacitor config"), "{e}");
        let e = UpdaterConfig::from_capacitor_json(
            r#"{"plugins":{"CapacitorUpdater":{"publicKey":"nope"}}}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("bad public key"), "{e}");
    }
}
