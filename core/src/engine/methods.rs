//! Methods: every Capgo 8.51.23 JS method — arguments read from the call's options, Capgo's result shapes and reject messages.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::{Inner, Reject, delay};
use crate::config::PLUGIN_COMPAT_VERSION;
use crate::effects::{Effects, bundle_json};
use crate::net::check::Release;
use crate::store::state::{BUILTIN, BundleStatus};
use crate::update::UpdateOutcome;

type Answer = Result<Value, Reject>;

/// Longest `customId` kept (bytes): it is persisted and sent with every request and stat.
pub const MAX_CUSTOM_ID: usize = 256;
/// Longest `appId` accepted by `setAppId` (bytes).
pub const MAX_APP_ID: usize = 256;
/// Longest URL accepted by `setUpdateUrl`, `setStatsUrl`, `setChannelUrl` (bytes).
pub const MAX_URL: usize = 2048;
/// Longest channel name accepted by `setChannel` (bytes).
pub const MAX_CHANNEL: usize = 256;

/// Refuses a JS value longer than `max` bytes (every value a JS call persists is bounded, so no
/// sequence of calls grows the data folder's state or a later start's memory).
fn too_long(what: &str, value: &str, max: usize) -> Result<(), Reject> {
    if value.len() > max {
        return Err(Reject::code(
            format!("{what} is longer than {max} bytes"),
            "INVALID_ARGUMENT",
        ));
    }
    Ok(())
}

/// Methods of Capgo's API this engine does not implement, and why. They reject as Capacitor's
/// `unimplemented` does (code `UNIMPLEMENTED`).
pub const UNIMPLEMENTED: &[(&str, &str)] = &[
    ("startPreviewSession", "preview sessions are not supported"),
    ("listPreviews", "preview sessions are not supported"),
    ("setPreview", "preview sessions are not supported"),
    ("resetPreview", "preview sessions are not supported"),
    ("deletePreview", "preview sessions are not supported"),
    ("checkPreviewUpdate", "preview sessions are not supported"),
    ("updatePreview", "preview sessions are not supported"),
    ("setShakeMenu", "the shake menu is not supported"),
    ("isShakeMenuEnabled", "the shake menu is not supported"),
    ("setShakeChannelSelector", "the shake menu is not supported"),
    (
        "isShakeChannelSelectorEnabled",
        "the shake menu is not supported",
    ),
    (
        "getAppUpdateInfo",
        "app-store updates are not part of the live-update core",
    ),
    (
        "openAppStore",
        "app-store updates are not part of the live-update core",
    ),
    (
        "performImmediateUpdate",
        "app-store updates are not part of the live-update core",
    ),
    (
        "startFlexibleUpdate",
        "app-store updates are not part of the live-update core",
    ),
    (
        "completeFlexibleUpdate",
        "app-store updates are not part of the live-update core",
    ),
];

/// Runs one JS call and publishes what it caused (even when it rejects).
pub(crate) fn dispatch(inner: &Arc<Inner>, method: &str, options: &Value) -> Answer {
    let mut fx = Effects::none();
    let empty = Value::Object(Map::new());
    let o = if options.is_object() { options } else { &empty };
    let answer = run(inner, method, o, &mut fx);
    if method == "notifyAppReady" {
        inner.publish_deferring_stats(fx);
    } else {
        inner.publish(fx);
    }
    answer
}

/// A non-empty string option.
fn s(o: &Value, key: &str) -> Option<String> {
    o.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// A string option that may be empty (`""` has a meaning: clear or disable).
fn s_or_empty(o: &Value, key: &str) -> Option<String> {
    o.get(key).and_then(Value::as_str).map(str::to_string)
}

fn flag(o: &Value, key: &str) -> bool {
    o.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn run(inner: &Arc<Inner>, method: &str, o: &Value, fx: &mut Effects) -> Answer {
    match method {
        "notifyAppReady" => notify_app_ready(inner, o, fx),
        "download" => download(inner, o, fx),
        "next" => next(inner, o, fx),
        "set" => set(inner, o, fx),
        "delete" => delete(inner, o, fx),
        "setBundleError" => set_bundle_error(inner, o, fx),
        "list" => list(inner, o),
        "reset" => reset(inner, o, fx),
        "current" => {
            let c = inner
                .current()
                .map_err(|e| Reject::internal("current failed", &e))?;
            // The native version, as Capgo reports it.
            Ok(json!({"bundle": bundle_json(&c), "native": inner.version_build()}))
        }
        "reload" => reload(inner, fx),
        "setMultiDelay" => {
            let conds = match delay::parse_conditions(o) {
                None => return Err(Reject::msg("setMultiDelay called without delayCondition")),
                Some(Err(why)) => return Err(Reject::code(why, "INVALID_ARGUMENT")),
                Some(Ok(c)) => c,
            };
            inner
                .update_prefs(|p| p.delay_conditions = conds)
                .map_err(|e| Reject::internal("Failed to delay update", &e))?;
            Ok(Value::Null)
        }
        "cancelDelay" => {
            inner
                .update_prefs(|p| p.delay_conditions.clear())
                .map_err(|e| Reject::internal("Failed to cancel delay", &e))?;
            Ok(Value::Null)
        }
        "triggerUpdateCheck" => {
            let (status, queued) = if !inner.auto_enabled() {
                ("unavailable", false)
            } else if inner.spawn_cycle() {
                ("queued", true)
            } else {
                ("already_running", false)
            };
            Ok(json!({"status": status, "queued": queued}))
        }
        "getLatest" => get_latest(inner, o, fx),
        "getMissingBundleFiles" => {
            let Some(manifest) = o.get("manifest").filter(|m| m.is_array()) else {
                return Err(Reject::msg("getMissingBundleFiles called without manifest"));
            };
            let entries = match crate::delta::parse_manifest(Some(manifest)) {
                Ok(e) => e.unwrap_or_default(),
                Err(e) => return Err(Reject::internal("getMissingBundleFiles failed", &e)),
            };
            crate::update::missing_bundle_files(
                &inner.registry(),
                &entries,
                s(o, "sessionKey").as_deref(),
            )
            .map_err(|e| Reject::internal("getMissingBundleFiles failed", &e))
        }
        "getBundleDownloadSize" => {
            let Some(manifest) = o.get("manifest").filter(|m| m.is_array()) else {
                return Err(Reject::msg("getBundleDownloadSize called without manifest"));
            };
            let entries = match crate::delta::parse_manifest(Some(manifest)) {
                Ok(e) => e.unwrap_or_default(),
                Err(e) => return Err(Reject::internal("getBundleDownloadSize failed", &e)),
            };
            crate::update::bundle_download_size(
                &inner.registry(),
                s(o, "version").as_deref(),
                &entries,
            )
            .map_err(|e| Reject::internal("getBundleDownloadSize failed", &e))
        }
        "setChannel" => set_channel(inner, o, fx),
        "unsetChannel" => {
            inner.registry().unset_channel().map_err(|e| {
                Reject::internal("Failed to unset channel", &e).with_code("UNSETCHANNEL_FAILED")
            })?;
            if flag(o, "triggerAutoUpdate") && inner.auto_enabled() {
                inner.spawn_cycle();
            }
            Ok(json!({"status": "ok", "message": "Channel override removed"}))
        }
        "getChannel" => get_channel(inner),
        "listChannels" => list_channels(inner),
        "setCustomId" => {
            let Some(id) = s_or_empty(o, "customId") else {
                return Err(Reject::msg("setCustomId called without customId"));
            };
            too_long("customId", &id, MAX_CUSTOM_ID)?;
            inner
                .change_settings(|st| st.custom_id = id.clone())
                .map_err(|e| Reject::internal("setCustomId failed", &e))?;
            let keep = inner.config().persist_custom_id;
            inner
                .update_prefs(|p| p.custom_id = (keep && !id.is_empty()).then_some(id))
                .map_err(|e| Reject::internal("setCustomId failed", &e))?;
            Ok(Value::Null)
        }
        "getBuiltinVersion" => Ok(json!({"version": inner.version_build()})),
        "getDeviceId" => {
            let id = inner
                .registry()
                .device_id()
                .map_err(|e| Reject::internal("getDeviceId failed", &e))?;
            Ok(json!({"deviceId": id}))
        }
        "getPluginVersion" => Ok(json!({"version": PLUGIN_COMPAT_VERSION})),
        "isAutoUpdateEnabled" => Ok(json!({"enabled": inner.auto_enabled()})),
        "isAutoUpdateAvailable" => Ok(json!({"available": inner.config().server_url.is_none()})),
        "getNextBundle" => {
            let st = inner
                .store
                .status()
                .map_err(|e| Reject::internal("getNextBundle failed", &e))?;
            Ok(st.next.as_ref().map_or(Value::Null, bundle_json))
        }
        "getFailedUpdate" => {
            let failed = inner
                .update_prefs(|p| p.last_failed.take())
                .map_err(|e| Reject::internal("getFailedUpdate failed", &e))?;
            Ok(failed.map_or(Value::Null, |b| json!({"bundle": bundle_json(&b)})))
        }
        "getAppId" => Ok(json!({"appId": inner.settings().app_id})),
        "setAppId" => {
            if !inner.config().allow_modify_app_id {
                return Err(Reject::msg("setAppId not allowed"));
            }
            let Some(id) = s(o, "appId") else {
                return Err(Reject::msg("setAppId called without appId"));
            };
            too_long("appId", &id, MAX_APP_ID)?;
            inner
                .change_settings(|st| st.app_id = id)
                .map_err(|e| Reject::internal("setAppId failed", &e))?;
            Ok(Value::Null)
        }
        "setUpdateUrl" | "setStatsUrl" | "setChannelUrl" => set_url(inner, method, o),
        _ => {
            let reason = UNIMPLEMENTED
                .iter()
                .find(|(m, _)| *m == method)
                .map_or("it is not a CapacitorUpdater method", |(_, r)| *r);
            Err(Reject::code(
                format!("\"CapacitorUpdater.{method}()\" is not implemented: {reason}"),
                "UNIMPLEMENTED",
            ))
        }
    }
}

impl Reject {
    fn with_code(mut self, code: &str) -> Self {
        self.code = Some(code.into());
        self
    }
}

fn notify_app_ready(inner: &Arc<Inner>, o: &Value, fx: &mut Effects) -> Answer {
    let r = inner
        .ready(s(o, "launchId"), fx)
        .map_err(|e| Reject::internal("Failed to commit app ready state.", &e))?;
    Ok(json!({"bundle": bundle_json(&r.bundle)}))
}

fn download(inner: &Arc<Inner>, o: &Value, fx: &mut Effects) -> Answer {
    let Some(url) = s(o, "url") else {
        return Err(Reject::msg("Download called without url"));
    };
    let Some(version) = s(o, "version") else {
        return Err(Reject::msg("Download called without version"));
    };
    let release = Release {
        version: version.clone(),
        url: url.clone(),
        session_key: s(o, "sessionKey"),
        checksum: s(o, "checksum").unwrap_or_default(),
        manifest: crate::net::answer::Manifest::from_value(o.get("manifest")),
        link: None,
        comment: None,
        breaking: false,
        origin: crate::net::check::ReleaseOrigin::Caller,
    };
    let failed = |fx: &mut Effects, error: &str, message: &str| {
        fx.event("downloadFailed", json!({"version": version}));
        Reject::msg(format!("Failed to download from: {url}"))
            .with_data(json!({"error": error, "message": message}))
    };
    match inner.fetch_with_progress(&release, None) {
        Ok(Ok(f)) => {
            fx.event("updateAvailable", json!({"bundle": bundle_json(&f.bundle)}));
            Ok(bundle_json(&f.bundle))
        }
        Ok(Err(UpdateOutcome::Failed { error, message })) => Err(failed(fx, &error, &message)),
        Ok(Err(other)) => Err(failed(fx, "download_fail", &format!("{other:?}"))),
        Err(e) => {
            let public = crate::error::LiveUpdateError::from_ref(&e);
            Err(failed(fx, public.code(), &public.to_string()))
        }
    }
}

fn next(inner: &Arc<Inner>, o: &Value, fx: &mut Effects) -> Answer {
    let Some(id) = s(o, "id") else {
        return Err(Reject::msg("Next called without id"));
    };
    let b = inner
        .next(&id, fx)
        .map_err(|_| Reject::msg(format!("Set next id failed. Bundle {id} does not exist.")))?;
    Ok(bundle_json(&b))
}

fn set(inner: &Arc<Inner>, o: &Value, fx: &mut Effects) -> Answer {
    let Some(id) = s(o, "id") else {
        return Err(Reject::msg("Set called without id"));
    };
    inner
        .set(&id, fx)
        .map_err(|e| Reject::internal(&format!("Update failed, id {id} does not exist."), &e))?;
    Ok(Value::Null)
}

fn delete(inner: &Arc<Inner>, o: &Value, fx: &mut Effects) -> Answer {
    let Some(id) = s(o, "id") else {
        return Err(Reject::msg("missing id"));
    };
    inner.delete(&id, fx).map_err(|e| {
        Reject::internal(
            &format!(
                "Delete failed, id {id} does not exist or it cannot be deleted (perhaps it is the 'next' bundle)"
            ),
            &e,
        )
    })?;
    Ok(Value::Null)
}

fn set_bundle_error(inner: &Arc<Inner>, o: &Value, fx: &mut Effects) -> Answer {
    if !inner.config().allow_manual_bundle_error {
        return Err(Reject::msg(
            "setBundleError not allowed. Set allowManualBundleError to true in your config to enable it.",
        ));
    }
    let Some(id) = s(o, "id") else {
        return Err(Reject::msg("setBundleError called without id"));
    };
    if id == BUILTIN {
        return Err(Reject::msg("Cannot set builtin bundle to error state"));
    }
    let missing = || Reject::msg(format!("Bundle {id} does not exist"));
    let known = inner.store.record_of(&id).map_err(|_| missing())?;
    if known.is_none_or(|b| b.status == BundleStatus::Deleted) {
        return Err(missing());
    }
    let b = inner
        .error(&id, fx)
        .map_err(|e| Reject::internal(&format!("Bundle {id} does not exist"), &e))?;
    Ok(json!({"bundle": bundle_json(&b)}))
}

fn list(inner: &Arc<Inner>, o: &Value) -> Answer {
    let raw = flag(o, "raw");
    let bundles = inner
        .store
        .with_state(|_, s| {
            Ok(s.bundles
                .values()
                .filter(|b| raw || b.status != BundleStatus::Deleted)
                .map(bundle_json)
                .collect::<Vec<_>>())
        })
        .map_err(|e| Reject::internal("list failed", &e))?;
    Ok(json!({"bundles": bundles}))
}

fn reset(inner: &Arc<Inner>, o: &Value, fx: &mut Effects) -> Answer {
    inner
        .reset(flag(o, "toLastSuccessful"), flag(o, "usePendingBundle"), fx)
        .map_err(|e| Reject::internal("Reset failed", &e))?;
    Ok(Value::Null)
}

fn reload(inner: &Arc<Inner>, fx: &mut Effects) -> Answer {
    let current = inner
        .current()
        .map_err(|e| Reject::internal("Reload failed", &e))?;
    let l = inner
        .reload_page(true, fx)
        .map_err(|e| Reject::internal("Reload failed", &e))?;
    if l.applied_next {
        fx.stat(
            crate::net::stats::Event::new(crate::net::stats::Action::Set, &l.bundle.version)
                .old(&current.version),
        );
        fx.event("set", json!({"bundle": bundle_json(&l.bundle)}));
    }
    Ok(Value::Null)
}

fn get_latest(inner: &Arc<Inner>, o: &Value, fx: &mut Effects) -> Answer {
    let app_id = s(o, "appId");
    if app_id.is_some() && !inner.config().allow_preview {
        return Err(Reject::msg("getLatest preview override not allowed"));
    }
    let current = inner
        .current()
        .map_err(|e| Reject::internal("Error getting Latest", &e))?;
    let latest = inner
        .registry()
        .latest(s(o, "channel").as_deref(), app_id.as_deref())
        .map_err(|e| Reject::internal("Error getting Latest", &e))?;
    for st in &latest.stats {
        fx.stat(st.clone());
    }
    let mut raw = latest.raw.clone();
    if raw.is_empty() {
        return Err(
            Reject::msg("updateUrl is empty: update checks are disabled")
                .with_data(json!({"error": "disabled"})),
        );
    }
    let text = |k: &str| raw.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let version = text("version");
    let breaking = ["breaking", "major"]
        .iter()
        .any(|k| raw.get(*k).and_then(Value::as_bool).unwrap_or(false))
        || text("error") == "disable_auto_update_to_major"
        || text("message") == "store_update_required";
    if breaking {
        fx.event("breakingAvailable", json!({"version": version}));
        fx.event("majorAvailable", json!({"version": version}));
    }
    if raw.contains_key("error") || raw.contains_key("kind") {
        let kind = match text("kind").as_str() {
            k @ ("up_to_date" | "blocked") => k.to_string(),
            _ => "failed".to_string(),
        };
        if kind == "failed" {
            let error = text("error");
            let msg = if error.is_empty() {
                text("message")
            } else {
                error
            };
            return Err(Reject::msg(msg).with_data(Value::Object(raw)));
        }
        raw.insert("kind".into(), json!(kind));
        if version.is_empty() {
            raw.insert("version".into(), json!(current.version));
        }
        return Ok(Value::Object(raw));
    }
    if version.is_empty() && raw.contains_key("message") {
        return Err(Reject::msg(text("message")));
    }
    // `includeBundleSize`: what a delta release would fetch here, and its size per the server.
    let manifest = match &latest.result {
        crate::net::check::CheckResult::Available(r) => match &r.manifest {
            crate::net::answer::Manifest::Entries(e) => Some(e),
            _ => None,
        },
        _ => None,
    };
    let session = text("sessionKey");
    if flag(o, "includeBundleSize")
        && let Some(manifest) = manifest
    {
        let registry = inner.registry();
        let session = (!session.is_empty()).then_some(session);
        if let Ok(m) = crate::update::missing_bundle_files(&registry, manifest, session.as_deref())
        {
            raw.insert("missing".into(), m);
        }
        if let Ok(size) = crate::update::bundle_download_size(&registry, Some(&version), manifest) {
            raw.insert("downloadSize".into(), size);
        }
    }
    if let Some(m) = manifest {
        raw.insert(
            "manifest".into(),
            Value::Array(m.iter().map(|e| e.to_json()).collect()),
        );
    }
    Ok(Value::Object(raw))
}

fn set_channel(inner: &Arc<Inner>, o: &Value, fx: &mut Effects) -> Answer {
    let Some(channel) = s(o, "channel") else {
        return Err(Reject::code(
            "setChannel called without channel",
            "SETCHANNEL_INVALID_PARAMS",
        )
        .with_data(json!({"error": "missing_parameter"})));
    };
    too_long("channel", &channel, MAX_CHANNEL)?;
    if !inner.config().allow_set_default_channel {
        let message = "setChannel is disabled by configuration";
        return Err(Reject::code(message, "SETCHANNEL_FAILED")
            .with_data(json!({"error": "disabled_by_config", "message": message})));
    }
    let answer = inner
        .registry()
        .set_channel(&channel)
        .map_err(|e| Reject::internal("setChannel failed", &e).with_code("SETCHANNEL_FAILED"))?;
    match answer {
        Ok(mut v) => {
            if let Some(m) = v.as_object_mut() {
                m.entry("status").or_insert(json!("ok"));
            }
            if flag(o, "triggerAutoUpdate") && inner.auto_enabled() {
                inner.spawn_cycle();
            }
            Ok(v)
        }
        Err(e) => {
            let private = [
                "cannot_update_via_private_channel",
                "channel_self_set_not_allowed",
            ]
            .iter()
            .any(|p| e.error.contains(p) || e.message.contains(p));
            if private {
                fx.event(
                    "channelPrivate",
                    json!({"channel": channel, "message": e.message}),
                );
            }
            let message = if e.message.is_empty() {
                e.error.clone()
            } else {
                e.message.clone()
            };
            Err(Reject::code(message, "SETCHANNEL_FAILED")
                .with_data(json!({"error": e.error, "message": e.message})))
        }
    }
}

fn get_channel(inner: &Arc<Inner>) -> Answer {
    let answer = inner
        .registry()
        .get_channel()
        .map_err(|e| Reject::internal("getChannel failed", &e).with_code("GETCHANNEL_FAILED"))?;
    match answer {
        Ok(v) => Ok(v),
        Err(e) => {
            let default = inner.config().default_channel.clone();
            let not_found = e.status == Some(400)
                && (e.error.contains("channel_not_found")
                    || e.message.contains("channel_not_found"));
            if not_found && !default.is_empty() {
                return Ok(json!({"channel": default, "status": "default"}));
            }
            Err(Reject::code(e.message.clone(), "GETCHANNEL_FAILED")
                .with_data(json!({"error": e.error, "message": e.message})))
        }
    }
}

fn list_channels(inner: &Arc<Inner>) -> Answer {
    let answer = inner.registry().list_channels().map_err(|e| {
        Reject::internal("listChannels failed", &e).with_code("LISTCHANNELS_FAILED")
    })?;
    let fail = |error: &str, message: String| {
        Reject::code(message.clone(), "LISTCHANNELS_FAILED")
            .with_data(json!({"error": error, "message": message}))
    };
    let channels = answer.map_err(|e| fail(&e.error, e.message))?;
    Ok(json!({"channels": channels}))
}

fn set_url(inner: &Arc<Inner>, method: &str, o: &Value) -> Answer {
    if !inner.config().allow_modify_url {
        return Err(Reject::msg(format!("{method} not allowed")));
    }
    let Some(url) = s_or_empty(o, "url") else {
        return Err(Reject::msg(format!("{method} called without url")));
    };
    too_long("url", &url, MAX_URL)?;
    let url = url.trim().to_string();
    inner
        .change_settings(|st| match method {
            "setUpdateUrl" => st.update_url = url.clone(),
            "setStatsUrl" => st.stats_url = url.clone(),
            _ => st.channel_url = url.clone(),
        })
        .map_err(|e| Reject::internal(&format!("{method} failed"), &e))?;
    if inner.config().persist_modify_url {
        inner
            .update_prefs(|p| {
                let slot = match method {
                    "setUpdateUrl" => &mut p.update_url,
                    "setStatsUrl" => &mut p.stats_url,
                    _ => &mut p.channel_url,
                };
                *slot = Some(url);
            })
            .map_err(|e| Reject::internal(&format!("{method} failed"), &e))?;
    }
    Ok(Value::Null)
}
