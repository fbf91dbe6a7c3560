//! Options: what a host hands the engine once — folders, the one configuration, the app's identity, the platform's hooks — and the one mapping every surface (UniFFI, C, CLI) fills them through.

use std::path::PathBuf;

use serde::Deserialize;

use crate::config::{AppIdentity, Config, DEFAULT_CHANNEL_URL, DEFAULT_STATS_URL};
use crate::hooks::Hooks;

/// Everything a host hands the engine at start-up: the one configuration (read from
/// `capacitor.config.json` once, adjusted by the host), the app's identity and the platform's
/// hooks. Built by [`HostOptions::into_engine_options`] on every surface.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Folder owned by the engine (bundles, state, stats queue). Created if missing.
    pub data_dir: PathBuf,
    /// The app's shipped web folder (the builtin bundle) as a real folder. On Android the builtin
    /// lives in the APK's assets: the shell passes an empty folder and maps
    /// `bundle.id == "builtin"` to its asset path itself (see `docs/engine.md`).
    pub builtin_dir: PathBuf,
    /// The configuration.
    pub config: Config,
    /// What the app says about itself.
    pub app: AppIdentity,
    /// Another updater's folders and files to remove once, in the background (Capgo's bundle
    /// folders and partial downloads after a switch; docs/migrating-from-capgo.md). Absolute
    /// paths; a last component with one `*` is a name pattern. Nothing overlapping the data or
    /// builtin folder is ever touched.
    pub leftover_paths: Vec<String>,
    /// Allow plain http to non-loopback hosts (development only).
    pub allow_insecure: bool,
    /// First retry delay of downloads in ms (tests shorten it).
    pub retry_backoff_ms: u64,
    /// The platform's hooks.
    pub hooks: Hooks,
}

impl EngineOptions {
    /// Options with Capgo's defaults for the given folders.
    pub fn new(data_dir: impl Into<PathBuf>, builtin_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            builtin_dir: builtin_dir.into(),
            config: Config::default(),
            app: AppIdentity::default(),
            allow_insecure: false,
            leftover_paths: Vec::new(),
            retry_backoff_ms: 500,
            hooks: Hooks::default(),
        }
    }

    /// `version_build`: the config's `version`, else the native version.
    pub fn version_build(&self) -> String {
        self.app.version_build(&self.config)
    }
}

/// What a host says when it creates an engine, as every surface receives it: the C ABI's JSON
/// configuration (`liveupdate_create`, `liveupdate_engine_start`), the UniFFI `UpdaterOptions`
/// record and the CLI's flags all become this, and [`HostOptions::into_engine_options`] is the
/// one mapping to [`EngineOptions`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct HostOptions {
    /// Folder owned by the updater (bundles, state, downloads). Created if missing.
    pub data_dir: String,
    /// The app's shipped web folder (the builtin bundle).
    pub builtin_dir: String,
    /// The text of the app's `capacitor.config.json`, if any.
    #[serde(skip)]
    pub capacitor_config_json: Option<String>,
    /// The app's `capacitor.config.json` as a JSON object (the C ABI's form).
    pub capacitor_config: Option<serde_json::Value>,
    /// Native version name; a change resets to builtin (`resetWhenUpdate`).
    pub native_version: Option<String>,
    /// Native build number.
    pub version_code: String,
    /// `android` or `ios` (default `android`).
    pub platform: Option<String>,
    /// OS version.
    pub os_version: String,
    /// Device id; `None` = a UUID v4 generated once and kept.
    pub device_id: Option<String>,
    /// Custom id sent with requests.
    pub custom_id: String,
    /// Running on an emulator or simulator.
    pub is_emulator: bool,
    /// Release build (default true).
    pub is_prod: Option<bool>,
    /// Store the app came from, if known.
    pub install_source: Option<String>,
    /// Overrides `updateUrl` when set.
    pub update_url: Option<String>,
    /// Overrides `statsUrl` when set (`""` disables stats).
    pub stats_url: Option<String>,
    /// Overrides `channelUrl` when set.
    pub channel_url: Option<String>,
    /// Another updater's leftovers to remove (see [`EngineOptions::leftover_paths`]).
    pub leftover_paths: Vec<String>,
    /// Allow plain http to non-loopback hosts (development only).
    pub allow_insecure: bool,
}

impl HostOptions {
    /// The engine options these say. `capgo_cloud_defaults`: when the config names no
    /// `updateUrl`, use Capgo's cloud endpoints (what a drop-in for `@capgo/capacitor-updater`
    /// must do); false (the CLI) disables all network traffic instead, so nothing is ever sent
    /// to Capgo's cloud by accident. Only a `capacitor.config.json` that is not a JSON object
    /// is an error; a wrong key is logged and its default used. Pure apart from logging.
    pub fn into_engine_options(
        self,
        capgo_cloud_defaults: bool,
    ) -> crate::error::PublicResult<EngineOptions> {
        let text = match (&self.capacitor_config_json, &self.capacitor_config) {
            (Some(t), _) => t.clone(),
            (None, Some(v)) => v.to_string(),
            (None, None) => "{}".to_string(),
        };
        let parsed = crate::config::CapacitorConfig::parse(&text)?;
        for w in &parsed.warnings {
            log::warn!("{w}");
        }
        let mut config = parsed.config;
        if let Some(u) = &self.update_url {
            config.set_update_url(u.clone());
        }
        if !capgo_cloud_defaults {
            if self.update_url.is_none() && !parsed.names_update_url {
                config.update_url.clear();
            }
            if !parsed.names_stats_url && config.stats_url == DEFAULT_STATS_URL {
                config.stats_url.clear();
            }
            if !parsed.names_channel_url && config.channel_url == DEFAULT_CHANNEL_URL {
                config.channel_url.clear();
            }
        }
        if let Some(u) = self.stats_url {
            config.stats_url = u;
        }
        if let Some(u) = self.channel_url {
            config.channel_url = u;
        }
        let d = AppIdentity::default();
        Ok(EngineOptions {
            data_dir: PathBuf::from(self.data_dir),
            builtin_dir: PathBuf::from(self.builtin_dir),
            config,
            app: AppIdentity {
                platform: self.platform.unwrap_or(d.platform),
                native_version: self.native_version.filter(|v| !v.is_empty()),
                version_code: self.version_code,
                os_version: self.os_version,
                device_id: self.device_id,
                custom_id: self.custom_id,
                is_emulator: self.is_emulator,
                is_prod: self.is_prod.unwrap_or(d.is_prod),
                install_source: self.install_source,
            },
            allow_insecure: self.allow_insecure,
            leftover_paths: self.leftover_paths,
            retry_backoff_ms: 500,
            hooks: Hooks::default(),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::AutoUpdateMode;
    use serde_json::{Value, json};

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
        let o = HostOptions {
            data_dir: "/d".into(),
            builtin_dir: "/b".into(),
            ..HostOptions::default()
        };
        let c = o.clone().into_engine_options(false).unwrap().config;
        assert!(c.update_url.is_empty() && c.stats_url.is_empty() && c.channel_url.is_empty());
        let c = HostOptions {
            capacitor_config_json: Some(
                r#"{"plugins":{"CapacitorUpdater":{"updateUrl":"http://127.0.0.1:1/updates"}}}"#
                    .into(),
            ),
            ..o
        }
        .into_engine_options(false)
        .unwrap()
        .config;
        assert_eq!(c.stats_url, "http://127.0.0.1:1/stats");
        let p = crate::config::CapacitorConfig::parse(
            r#"{"server":{"url":"http://x"},"plugins":{"CapacitorUpdater":{"periodCheckDelay":5}}}"#,
        )
        .unwrap()
        .config;
        assert_eq!(p.period_check_delay_s, 600);
        assert_eq!(p.server_url.as_deref(), Some("http://x"));
    }
}
