//! Config: the updater's typed configuration, read from a Capacitor config (`plugins.CapacitorUpdater`) with Capgo's defaults.

use std::path::Path;

use serde_json::Value;

use crate::bundle::crypto::PublicKey;
use crate::bundle::unzip::Limits;
use crate::error::{Error, Result};

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

/// What the native app says about itself (platform, native version, device): sent with every
/// request and every stat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppIdentity {
    /// `android` or `ios` (or another platform name the server knows).
    pub platform: String,
    /// Native version name (`versionName` / `CFBundleShortVersionString`); a change resets to
    /// builtin (`resetWhenUpdate`).
    pub native_version: Option<String>,
    /// Native build number (`versionCode` / `CFBundleVersion`).
    pub version_code: String,
    /// OS version.
    pub os_version: String,
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

impl Default for AppIdentity {
    fn default() -> Self {
        Self {
            platform: "android".into(),
            native_version: None,
            version_code: String::new(),
            os_version: String::new(),
            device_id: None,
            custom_id: String::new(),
            is_emulator: false,
            is_prod: true,
            install_source: None,
        }
    }
}

impl AppIdentity {
    /// `version_build` as Capgo sends it: the config's `version`, else the native version.
    pub fn version_build(&self, config: &Config) -> String {
        config
            .version
            .clone()
            .or_else(|| self.native_version.clone())
            .unwrap_or_default()
    }
}

/// When updates are checked and how a downloaded one is applied: Capgo's `autoUpdate` modes, with
/// the legacy `directUpdate` folded in (mapped once, in [`AutoUpdateMode::from_config`]). The one
/// policy of the update flow, whichever surface runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoUpdateMode {
    /// No automatic checks (an explicit update still queues what it downloads as next).
    Off,
    /// Check on foreground; install `next` at the next background (Capgo's default).
    AtBackground,
    /// As `AtBackground`, but apply at once in the first check after an install or a native
    /// update.
    AtInstall,
    /// As `AtBackground`, but apply at once until the first direct update of the process.
    OnLaunch,
    /// Check and apply at once, every time.
    Always,
    /// Check and download, never queue or apply (the app decides).
    OnlyDownload,
}

impl AutoUpdateMode {
    /// Reads `autoUpdate` and `directUpdate` as Capgo does: a string mode is used as is; `true`
    /// or absent takes the mode from `directUpdate`; `false` is off; an unknown string is
    /// `atBackground` (logged).
    pub fn from_config(auto: Option<&Value>, direct: Option<&Value>) -> Self {
        let from_direct = || match direct {
            Some(Value::Bool(true)) => Self::Always,
            Some(Value::String(s)) => match s.as_str() {
                "always" => Self::Always,
                "atInstall" => Self::AtInstall,
                "onLaunch" => Self::OnLaunch,
                _ => Self::AtBackground,
            },
            _ => Self::AtBackground,
        };
        match auto {
            Some(Value::Bool(false)) => Self::Off,
            Some(Value::String(s)) => match s.as_str() {
                "off" => Self::Off,
                "atBackground" => Self::AtBackground,
                "atInstall" => Self::AtInstall,
                "onLaunch" => Self::OnLaunch,
                "always" => Self::Always,
                "onlyDownload" => Self::OnlyDownload,
                other => {
                    log::error!("unknown autoUpdate mode {other:?}: using atBackground");
                    Self::AtBackground
                }
            },
            _ => from_direct(),
        }
    }
}

/// The app's configuration — every key of `plugins.CapacitorUpdater` the core reads, with Capgo's
/// names, units and defaults — read once from `capacitor.config.json` ([`CapacitorConfig::parse`])
/// and adjusted by the host's options. The one configuration of the engine and every surface.
#[derive(Debug, Clone)]
pub struct Config {
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
    /// `updateProtocol: "static"`: `update_url` is the base URL of a signed static site
    /// (`channels/<channel>.json` + `.sig`) instead of a Capgo-protocol server; channels are kept
    /// on the device and stats go only to an explicitly set `statsUrl` (docs/static-channels.md).
    pub static_channels: bool,
    /// Seconds without progress before a request fails (`responseTimeout`, default 20).
    pub response_timeout_s: u64,
    /// When to check and how to apply (`autoUpdate`, with `directUpdate` folded in).
    pub auto_update: AutoUpdateMode,
    /// Most bytes one download may transfer (`maxDownloadBytes`, default 1 GiB): endless-body protection.
    pub max_download_bytes: u64,
    /// Attempts per download, counting the first (`downloadAttempts`, default 5: the first and 4 retries).
    pub download_attempts: u32,
    /// Upper bound for a whole `update()` in seconds (`updateTimeout`, default 300).
    pub update_timeout_s: u64,
    /// Refuse bundles older (semver) than the highest version that ever reached `success`
    /// (`downgradePolicy: "refuse"`); default `"allow"`, so servers can revert a bad release.
    pub refuse_downgrade: bool,
    /// Why a configured public key is unusable, if one is: every update is then refused (a
    /// broken key never means "no key").
    pub key_problem: Option<String>,
    /// `periodCheckDelay` in seconds (0 = off, else at least 600).
    pub period_check_delay_s: u64,
    /// `autoSplashscreen`: hide the splash at `appReady`, show it before a direct update.
    pub auto_splashscreen: bool,
    /// `autoSplashscreenTimeout` in ms.
    pub auto_splashscreen_timeout_ms: u64,
    /// `allowModifyUrl`: gate for `setUpdateUrl`, `setStatsUrl`, `setChannelUrl`.
    pub allow_modify_url: bool,
    /// `persistModifyUrl`: keep those URLs across restarts.
    pub persist_modify_url: bool,
    /// `allowModifyAppId`: gate for `setAppId`.
    pub allow_modify_app_id: bool,
    /// `allowManualBundleError`: gate for `setBundleError`.
    pub allow_manual_bundle_error: bool,
    /// `allowPreview`: gate for `getLatest({appId})`.
    pub allow_preview: bool,
    /// `persistCustomId`: keep `setCustomId` across restarts.
    pub persist_custom_id: bool,
    /// `allowSetDefaultChannel`: false makes `setChannel` answer `disabled_by_config`.
    pub allow_set_default_channel: bool,
    /// `keepUrlPathAfterReload` (passed to the shell with reloads).
    pub keep_url_path_after_reload: bool,
    /// Capacitor's root `server.url`: when set, the web view loads a live server and updates are
    /// off.
    pub server_url: Option<String>,
}

impl Default for Config {
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
            static_channels: false,
            response_timeout_s: 20,
            auto_update: AutoUpdateMode::AtBackground,
            max_download_bytes: 1 << 30,
            download_attempts: 5,
            update_timeout_s: 300,
            refuse_downgrade: false,
            key_problem: None,
            period_check_delay_s: 0,
            auto_splashscreen: false,
            auto_splashscreen_timeout_ms: 10_000,
            allow_modify_url: false,
            persist_modify_url: false,
            allow_modify_app_id: false,
            allow_manual_bundle_error: false,
            allow_preview: false,
            persist_custom_id: false,
            allow_set_default_channel: true,
            keep_url_path_after_reload: false,
            server_url: None,
        }
    }
}

/// Reads the keys of one JSON object with their types checked: a key of the wrong type or out
/// of range reads as absent (its default applies) and is reported in `warnings`, so a typo in a
/// config never leaves an app without its updater.
struct Keys<'a> {
    map: Option<&'a serde_json::Map<String, Value>>,
    prefix: &'static str,
    warnings: Vec<String>,
}

impl<'a> Keys<'a> {
    fn new(map: Option<&'a Value>, prefix: &'static str) -> Self {
        let mut warnings = Vec::new();
        let map = match map {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) => Some(m),
            Some(_) => {
                warnings.push(format!("{prefix} is not an object: ignored"));
                None
            }
        };
        Self {
            map,
            prefix,
            warnings,
        }
    }

    fn get(&self, k: &str) -> Option<&'a Value> {
        self.map?.get(k).filter(|v| !v.is_null())
    }

    fn has(&self, k: &str) -> bool {
        self.map.is_some_and(|m| m.contains_key(k))
    }

    fn wrong(&mut self, k: &str, want: &str, v: &Value) {
        let mut shown = v.to_string();
        if shown.len() > 40 {
            shown.truncate(40);
            shown.push('…');
        }
        self.warnings.push(format!(
            "{}.{k} must be {want}, not {shown}: its default is used",
            self.prefix
        ));
    }

    fn bool(&mut self, k: &str) -> Option<bool> {
        match self.get(k)? {
            Value::Bool(b) => Some(*b),
            other => {
                self.wrong(k, "true or false", other);
                None
            }
        }
    }

    fn string(&mut self, k: &str) -> Option<String> {
        match self.get(k)? {
            Value::String(s) => Some(s.clone()),
            other => {
                self.wrong(k, "a string", other);
                None
            }
        }
    }

    /// A whole number from 0 to 2^53 (a fraction is dropped); anything else reads as absent.
    fn number(&mut self, k: &str) -> Option<u64> {
        let v = self.get(k)?;
        let n = match v {
            Value::Number(n) => n.as_u64().or_else(|| {
                n.as_f64()
                    .filter(|f| (0.0..=9.0e15).contains(f))
                    .map(|f| f as u64)
            }),
            _ => None,
        };
        if n.is_none() {
            self.wrong(k, "a whole number from 0 to 2^53", v);
        }
        n
    }

    /// Like [`Keys::number`], but a negative number reads as 0 (keys where Capgo treats 0 and
    /// less alike).
    fn number_or_zero(&mut self, k: &str) -> Option<u64> {
        match self.get(k)? {
            Value::Number(n) if n.as_i64().is_some_and(|i| i < 0) => Some(0),
            _ => self.number(k),
        }
    }

    fn strings(&mut self, k: &str) -> Vec<String> {
        match self.get(k) {
            None => Vec::new(),
            Some(Value::Array(a)) if a.iter().all(Value::is_string) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            Some(other) => {
                self.wrong(k, "a list of strings", other);
                Vec::new()
            }
        }
    }
}

/// `capacitor.config.json` read once: the core's keys, the plugin's keys, and what was wrong in
/// it (each wrong key is named and its default used).
#[derive(Debug, Clone)]
pub struct CapacitorConfig {
    /// The configuration.
    pub config: Config,
    /// One line per key that was ignored, for the log.
    pub warnings: Vec<String>,
    /// Which of `updateUrl`, `statsUrl`, `channelUrl` the config names (even as `""`).
    pub names_update_url: bool,
    /// See `names_update_url`.
    pub names_stats_url: bool,
    /// See `names_update_url`.
    pub names_channel_url: bool,
}

impl CapacitorConfig {
    /// Parses the text of a `capacitor.config.json`: unknown keys are ignored, a key of the wrong
    /// type or out of range is reported in `warnings` and its default used, and an unusable
    /// public key makes every update fail (never "no key"). Only text that is not a JSON object
    /// is an error. Pure computation.
    pub fn parse(text: &str) -> Result<Self> {
        let root: Value = serde_json::from_str(text)
            .map_err(|e| Error::Config(format!("capacitor config: {e}")))?;
        if !root.is_object() {
            return Err(Error::Config(
                "capacitor config: the file is not a JSON object".into(),
            ));
        }
        let mut top = Keys::new(Some(&root), "capacitor config");
        let root_app_id = top.string("appId");
        let mut server = Keys::new(root.get("server"), "server");
        let server_url = server.string("url").filter(|s| !s.trim().is_empty());
        let plugins = root.get("plugins");
        let mut u = Keys::new(
            plugins.and_then(|p| p.get("CapacitorUpdater")),
            "plugins.CapacitorUpdater",
        );
        let d = Config::default();
        let mut key_problem = None;
        let mut keys = Vec::new();
        let first = u.string("publicKey");
        for pem in first.iter().cloned().chain(u.strings("publicKeys")) {
            if pem.trim().is_empty() {
                continue;
            }
            match PublicKey::parse_pem(&pem) {
                Ok(k) => keys.push(k),
                Err(e) => {
                    u.warnings.push(format!(
                        "plugins.CapacitorUpdater: {e}: every update is refused until it is fixed"
                    ));
                    key_problem.get_or_insert(e.to_string());
                }
            }
        }
        let mut keys = keys.into_iter();
        let public_key = keys.next();
        let extra_public_keys = keys.collect();
        let downgrade = u.string("downgradePolicy");
        let refuse_downgrade = match downgrade.as_deref() {
            None | Some("allow") => false,
            Some("refuse") => true,
            Some(other) => {
                u.warnings.push(format!(
                    "plugins.CapacitorUpdater.downgradePolicy must be \"allow\" or \"refuse\", not {other:?}: \"allow\" is used"
                ));
                false
            }
        };
        let auto_update = u.get("autoUpdate");
        let direct = u.get("directUpdate");
        let mut config = Config {
            app_id: u.string("appId").or(root_app_id).unwrap_or_default(),
            public_key,
            extra_public_keys,
            key_problem,
            app_ready_timeout_ms: u
                .number("appReadyTimeout")
                .unwrap_or(d.app_ready_timeout_ms)
                .clamp(1000, MAX_APP_READY_TIMEOUT_MS),
            auto_delete_failed: u.bool("autoDeleteFailed").unwrap_or(d.auto_delete_failed),
            auto_delete_previous: u
                .bool("autoDeletePrevious")
                .unwrap_or(d.auto_delete_previous),
            reset_when_update: u.bool("resetWhenUpdate").unwrap_or(d.reset_when_update),
            version: u.string("version").filter(|v| !v.is_empty()),
            max_stored_bundles: u
                .number("maxStoredBundles")
                .map_or(d.max_stored_bundles, |n| {
                    usize::try_from(n).unwrap_or(usize::MAX)
                })
                .max(1),
            limits: Limits {
                max_bytes: u.number("maxBundleBytes").unwrap_or(d.limits.max_bytes),
                max_files: u.number("maxBundleFiles").unwrap_or(d.limits.max_files),
            },
            update_url: d.update_url,
            stats_url: u.string("statsUrl").unwrap_or(d.stats_url),
            channel_url: u.string("channelUrl").unwrap_or(d.channel_url),
            default_channel: u.string("defaultChannel").unwrap_or(d.default_channel),
            static_channels: match u.string("updateProtocol").as_deref() {
                None | Some("capgo") | Some("") => false,
                Some("static") => true,
                Some(other) => {
                    u.warnings.push(format!(
                        "plugins.CapacitorUpdater.updateProtocol: {other:?} is neither \"static\" nor \"capgo\"; using \"capgo\""
                    ));
                    false
                }
            },
            response_timeout_s: match u.number_or_zero("responseTimeout") {
                Some(v) if v > 0 => v.min(MAX_RESPONSE_TIMEOUT_S),
                _ => d.response_timeout_s,
            },
            auto_update: AutoUpdateMode::from_config(auto_update, direct),
            max_download_bytes: u.number("maxDownloadBytes").unwrap_or(d.max_download_bytes),
            download_attempts: u
                .number("downloadAttempts")
                .map_or(d.download_attempts, |n| u32::try_from(n).unwrap_or(20))
                .clamp(1, 20),
            update_timeout_s: u
                .number("updateTimeout")
                .unwrap_or(d.update_timeout_s)
                .clamp(1, MAX_UPDATE_TIMEOUT_S),
            refuse_downgrade,
            period_check_delay_s: match u.number_or_zero("periodCheckDelay") {
                // At least 600 s (Capgo), at most 30 days.
                Some(v) if v > 0 => v.clamp(600, 30 * 86_400),
                _ => 0,
            },
            auto_splashscreen: u.bool("autoSplashscreen").unwrap_or(d.auto_splashscreen),
            auto_splashscreen_timeout_ms: u
                .number_or_zero("autoSplashscreenTimeout")
                .map_or(d.auto_splashscreen_timeout_ms, |v| v.min(3_600_000)),
            allow_modify_url: u.bool("allowModifyUrl").unwrap_or(d.allow_modify_url),
            persist_modify_url: u.bool("persistModifyUrl").unwrap_or(d.persist_modify_url),
            allow_modify_app_id: u.bool("allowModifyAppId").unwrap_or(d.allow_modify_app_id),
            allow_manual_bundle_error: u
                .bool("allowManualBundleError")
                .unwrap_or(d.allow_manual_bundle_error),
            allow_preview: u.bool("allowPreview").unwrap_or(d.allow_preview),
            persist_custom_id: u.bool("persistCustomId").unwrap_or(d.persist_custom_id),
            allow_set_default_channel: u
                .bool("allowSetDefaultChannel")
                .unwrap_or(d.allow_set_default_channel),
            keep_url_path_after_reload: u
                .bool("keepUrlPathAfterReload")
                .unwrap_or(d.keep_url_path_after_reload),
            server_url,
        };
        if let Some(url) = u.string("updateUrl") {
            config.set_update_url(url);
        }
        if config.static_channels {
            // A static site takes no POSTs: stats only where explicitly configured, channels on
            // the device.
            if !u.has("statsUrl") {
                config.stats_url = String::new();
            }
            config.channel_url = String::new();
        }
        let mut warnings = top.warnings;
        warnings.extend(server.warnings);
        warnings.extend(u.warnings.iter().cloned());
        Ok(Self {
            config,
            warnings,
            names_update_url: u.has("updateUrl"),
            names_stats_url: u.has("statsUrl"),
            names_channel_url: u.has("channelUrl"),
        })
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

impl Config {
    /// Points the updater at a self-hosted update server. `statsUrl` and `channelUrl` that are
    /// still Capgo's cloud defaults follow it to the same server (`/stats`, `/channel_self`), so a
    /// self-hosted app never sends telemetry or channel calls to Capgo unless configured to.
    pub fn set_update_url(&mut self, url: String) {
        if !url.is_empty() && url != DEFAULT_UPDATE_URL && !self.static_channels {
            if self.stats_url == DEFAULT_STATS_URL {
                self.stats_url = sibling_url(&url, "stats");
            }
            if self.channel_url == DEFAULT_CHANNEL_URL {
                self.channel_url = sibling_url(&url, "channel_self");
            }
        }
        self.update_url = url;
    }

    /// [`CapacitorConfig::parse`] with its warnings logged. Pure computation.
    pub fn from_capacitor_json(text: &str) -> Result<Self> {
        let c = CapacitorConfig::parse(text)?;
        for w in &c.warnings {
            log::warn!("{w}");
        }
        Ok(c.config)
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
        let c = Config::from_capacitor_json(r#"{"appId":"com.x"}"#).unwrap();
        assert_eq!(c.app_id, "com.x");
        assert_eq!(c.app_ready_timeout_ms, 10_000);
        assert!(c.auto_delete_failed && c.auto_delete_previous && c.reset_when_update);
        assert!(c.public_key.is_none());
        let c = Config::from_capacitor_json(
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
        let c = Config::from_capacitor_json(
            r#"{"plugins":{"CapacitorUpdater":{"updateUrl":"https://u.example.com/api/updates"}}}"#,
        )
        .unwrap();
        assert_eq!(c.stats_url, "https://u.example.com/api/stats");
        assert_eq!(c.channel_url, "https://u.example.com/api/channel_self");
        let c = Config::from_capacitor_json(
            r#"{"plugins":{"CapacitorUpdater":{"updateUrl":"http://127.0.0.1:9/check","statsUrl":""}}}"#,
        )
        .unwrap();
        assert_eq!(c.stats_url, "", "an explicit value wins");
        assert_eq!(c.channel_url, "http://127.0.0.1:9/channel_self");
        assert_eq!(Config::default().stats_url, DEFAULT_STATS_URL);
    }

    #[test]
    fn wrong_types_and_out_of_range_values_use_the_default_with_a_warning() {
        let c = CapacitorConfig::parse(
            r#"{"plugins":{"CapacitorUpdater":{"appReadyTimeout":"soon","responseTimeout":"20",
                "updateTimeout":1e308,"autoDeleteFailed":"yes","maxStoredBundles":-3,
                "downgradePolicy":"refuze","periodCheckDelay":[1],"allowModifyUrl":1,
                "publicKeys":"x"}}}"#,
        )
        .unwrap();
        let d = Config::default();
        assert_eq!(c.config.app_ready_timeout_ms, d.app_ready_timeout_ms);
        assert_eq!(c.config.response_timeout_s, 20);
        assert_eq!(c.config.update_timeout_s, d.update_timeout_s);
        assert!(c.config.auto_delete_failed);
        assert_eq!(c.config.max_stored_bundles, d.max_stored_bundles);
        assert!(!c.config.refuse_downgrade);
        assert_eq!(c.config.period_check_delay_s, 0);
        assert!(!c.config.allow_modify_url);
        assert_eq!(c.warnings.len(), 9, "{:#?}", c.warnings);
        assert!(c.warnings.iter().any(|w| w.contains("responseTimeout")));
        // Numbers that are whole and in range are taken, fractions dropped.
        let c = CapacitorConfig::parse(
            r#"{"plugins":{"CapacitorUpdater":{"responseTimeout":5.0,"appReadyTimeout":2500.7}}}"#,
        )
        .unwrap();
        assert_eq!(c.config.response_timeout_s, 5);
        assert_eq!(c.config.app_ready_timeout_ms, 2500);
        assert!(c.warnings.is_empty());
        // Text that is not a JSON object is the one error.
        assert!(CapacitorConfig::parse("{nope").is_err());
        assert!(CapacitorConfig::parse("[1]").is_err());
    }

    #[test]
    fn an_unusable_public_key_refuses_updates_instead_of_meaning_no_key() {
        let c = CapacitorConfig::parse(r#"{"plugins":{"CapacitorUpdater":{"publicKey":"nope"}}}"#)
            .unwrap();
        assert!(c.config.public_key.is_none());
        let problem = c.config.key_problem.unwrap();
        assert!(problem.contains("bad public key"), "{problem}");
    }
}
