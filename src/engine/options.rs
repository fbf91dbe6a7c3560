//! Options: what a host hands the engine once (folders, config text, identity) and the plugin-level config keys read from it.

use std::path::PathBuf;

use serde_json::Value;

use crate::config::{
    CapacitorConfig, DEFAULT_CHANNEL_URL, DEFAULT_STATS_URL, HostInfo, UpdaterConfig,
};
use crate::error::Result;

/// Capgo's `autoUpdate` modes (spec §6.2), with the legacy `directUpdate` folded in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoUpdateMode {
    /// No automatic checks.
    Off,
    /// Check on foreground; install `next` at the next background (Capgo's default).
    AtBackground,
    /// As `AtBackground`, but apply at once in the first check after an install or native update.
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

/// The plugin-level keys of `plugins.CapacitorUpdater` (the core keys live in [`UpdaterConfig`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginConfig {
    /// `autoUpdate` / `directUpdate`.
    pub auto_update: AutoUpdateMode,
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
    /// Capacitor's root `server.url`: when set, the web view loads a live server and updates are off.
    pub server_url: Option<String>,
}

impl Default for PluginConfig {
    fn default() -> Self {
        Self {
            auto_update: AutoUpdateMode::AtBackground,
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

impl PluginConfig {
    /// The plugin's part of [`CapacitorConfig::parse`]. Pure.
    pub fn from_capacitor_json(text: &str) -> Result<Self> {
        Ok(CapacitorConfig::parse(text)?.plugin)
    }
}

/// Everything a host hands the engine at start-up. Host set-up lives here, once: the CLI, the
/// UniFFI and C surfaces and the plugin shells only fill this in.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Folder owned by the engine (bundles, state, stats queue). Created if missing.
    pub data_dir: PathBuf,
    /// The app's shipped web folder (the builtin bundle) as a real folder. On Android the builtin
    /// lives in the APK's assets: the shell extracts nothing and passes an empty folder path, and
    /// maps `bundle.id == "builtin"` to its asset path itself (see `docs/engine.md`).
    pub builtin_dir: PathBuf,
    /// The text of `capacitor.config.json`, if any.
    pub capacitor_config_json: Option<String>,
    /// Native version name (`versionName` / `CFBundleShortVersionString`).
    pub native_version: Option<String>,
    /// Native build number.
    pub version_code: String,
    /// `android` or `ios`.
    pub platform: String,
    /// OS version.
    pub os_version: String,
    /// Device id; `None` = a UUID v4 generated once and kept in the data folder.
    pub device_id: Option<String>,
    /// Running on an emulator or simulator.
    pub is_emulator: bool,
    /// A release build.
    pub is_prod: bool,
    /// The store the app came from, if known.
    pub install_source: Option<String>,
    /// Overrides `updateUrl` when set.
    pub update_url: Option<String>,
    /// Overrides `statsUrl` when set (`""` disables stats).
    pub stats_url: Option<String>,
    /// Overrides `channelUrl` when set.
    pub channel_url: Option<String>,
    /// Allow plain http to non-loopback hosts (development only).
    pub allow_insecure: bool,
    /// When the config names no `updateUrl`, use Capgo's cloud endpoints (what a drop-in for
    /// `@capgo/capacitor-updater` must do). False (the CLI) disables all network traffic instead,
    /// so nothing is ever sent to Capgo's cloud by accident.
    pub capgo_cloud_defaults: bool,
    /// First retry delay of downloads (tests shorten it).
    pub retry_backoff_ms: u64,
    /// A custom id the host knows at start (`setCustomId` overrides it).
    pub initial_custom_id: Option<String>,
}

impl EngineOptions {
    /// Options with Capgo's defaults for the given folders.
    pub fn new(data_dir: impl Into<PathBuf>, builtin_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            builtin_dir: builtin_dir.into(),
            capacitor_config_json: None,
            native_version: None,
            version_code: String::new(),
            platform: "android".into(),
            os_version: String::new(),
            device_id: None,
            is_emulator: false,
            is_prod: true,
            install_source: None,
            update_url: None,
            stats_url: None,
            channel_url: None,
            allow_insecure: false,
            capgo_cloud_defaults: true,
            retry_backoff_ms: 500,
            initial_custom_id: None,
        }
    }

    /// The core and plugin configurations these options describe. Pure.
    pub fn configs(&self) -> Result<(UpdaterConfig, PluginConfig)> {
        let text = self.capacitor_config_json.as_deref().unwrap_or("{}");
        let parsed = CapacitorConfig::parse(text)?;
        for w in &parsed.warnings {
            log::warn!("{w}");
        }
        let mut core = parsed.updater;
        let plugin = parsed.plugin;
        if let Some(u) = &self.update_url {
            core.set_update_url(u.clone());
        }
        if !self.capgo_cloud_defaults {
            if self.update_url.is_none() && !parsed.names_update_url {
                core.update_url.clear();
            }
            if !parsed.names_stats_url && core.stats_url == DEFAULT_STATS_URL {
                core.stats_url.clear();
            }
            if !parsed.names_channel_url && core.channel_url == DEFAULT_CHANNEL_URL {
                core.channel_url.clear();
            }
        }
        if let Some(u) = &self.stats_url {
            core.stats_url = u.clone();
        }
        if let Some(u) = &self.channel_url {
            core.channel_url = u.clone();
        }
        Ok((core, plugin))
    }

    /// What the app reports about itself, for `core`.
    pub fn host_info(&self, core: &UpdaterConfig, custom_id: &str) -> HostInfo {
        HostInfo {
            platform: self.platform.clone(),
            version_build: self.version_build(core),
            version_code: self.version_code.clone(),
            version_os: self.os_version.clone(),
            device_id: self.device_id.clone(),
            custom_id: custom_id.to_string(),
            is_emulator: self.is_emulator,
            is_prod: self.is_prod,
            install_source: self.install_source.clone(),
        }
    }

    /// `version_build`: the config's `version`, else the native version.
    pub fn version_build(&self, core: &UpdaterConfig) -> String {
        core.version
            .clone()
            .or_else(|| self.native_version.clone())
            .unwrap_or_default()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn modes() {
        use AutoUpdateMode::*;
        let m = |a: Value, d: Value| {
            AutoUpdateMode::from_config((!a.is_null()).then_some(&a), (!d.is_null()).then_some(&d))
        };
        assert_eq!(m(Value::Null, Value::Null), AtBackground);
        assert_eq!(m(json!(true), json!(true)), Always);
        assert_eq!(m(json!(true), json!("atInstall")), AtInstall);
        assert_eq!(m(json!(false), json!(true)), Off);
        assert_eq!(m(json!("onlyDownload"), json!(true)), OnlyDownload);
        assert_eq!(m(json!("nonsense"), Value::Null), AtBackground);
    }

    #[test]
    fn cli_defaults_send_nothing_to_the_cloud() {
        let mut o = EngineOptions::new("/d", "/b");
        o.capgo_cloud_defaults = false;
        let (c, _) = o.configs().unwrap();
        assert!(c.update_url.is_empty() && c.stats_url.is_empty() && c.channel_url.is_empty());
        o.capacitor_config_json = Some(
            r#"{"plugins":{"CapacitorUpdater":{"updateUrl":"http://127.0.0.1:1/updates"}}}"#.into(),
        );
        let (c, _) = o.configs().unwrap();
        assert_eq!(c.stats_url, "http://127.0.0.1:1/stats");
        let p = PluginConfig::from_capacitor_json(
            r#"{"server":{"url":"http://x"},"plugins":{"CapacitorUpdater":{"periodCheckDelay":5}}}"#,
        )
        .unwrap();
        assert_eq!(p.period_check_delay_s, 600);
        assert_eq!(p.server_url.as_deref(), Some("http://x"));
    }
}
