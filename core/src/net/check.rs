//! Check: the Capgo update-check protocol — the request's info object and the typed reading of the server's answer.

use serde_json::{Value, json};

use crate::net::answer::{self, Manifest, RateHints, RateLimitBody, Unreadable, UpdateAnswer};

use crate::config::{AppIdentity, Config, PLUGIN_COMPAT_VERSION};

pub use crate::store::state::MAX_RATE_LIMIT_MS;

/// A bundle the server offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// Version name.
    pub version: String,
    /// Where the (encrypted) zip is.
    pub url: String,
    /// `ivSessionKey`, if the bundle is encrypted.
    pub session_key: Option<String>,
    /// Checksum (V3/V2 with encryption, plain SHA-256 without); empty if the server sent none.
    pub checksum: String,
    /// The delta manifest, if the server sent one (then the release is installed file by file and
    /// `url` and `checksum` are not used).
    pub manifest: Manifest,
    /// Release link shown to users, if any.
    pub link: Option<String>,
    /// Release comment, if any.
    pub comment: Option<String>,
    /// The server flagged the update as breaking (`breaking` or the deprecated `major`).
    pub breaking: bool,
    /// Who described this release: the update server's answer, or the app's own `download()`
    /// call. Refusals name the one that left something out.
    pub origin: ReleaseOrigin,
}

/// Who described a [`Release`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReleaseOrigin {
    /// The update server's answer to a check.
    #[default]
    Server,
    /// The app's `download({url, version, checksum, sessionKey})` call.
    Caller,
}

impl ReleaseOrigin {
    /// How a refusal names the missing field: `the update server's answer has no `checksum``
    /// or `download() was called without `checksum``.
    pub fn missing(self, server_field: &str, caller_field: &str) -> String {
        match self {
            ReleaseOrigin::Server => format!("the update server's answer has no `{server_field}`"),
            ReleaseOrigin::Caller => format!("download() was called without `{caller_field}`"),
        }
    }
}

/// The server's answer to an update check, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckResult {
    /// A different bundle is available.
    Available(Release),
    /// Nothing to do.
    UpToDate {
        /// Machine code, if the server gave one (`no_new_version_available`, …).
        error: Option<String>,
        /// Human text.
        message: String,
    },
    /// Go back to the builtin bundle.
    Builtin,
    /// The server refuses updates for this device (`disable_emulator`, `key_id_mismatch`, …).
    Blocked {
        /// Machine code.
        error: String,
        /// Human text.
        message: String,
    },
    /// The check failed.
    Failed {
        /// Machine code (`network_error`, `response_error`, `parse_error`, `too_many_requests`, or the server's).
        error: String,
        /// Human text.
        message: String,
        /// HTTP status, when a response arrived.
        status: Option<u16>,
    },
}

/// Keeps only printable ASCII and Latin-1 (as Capgo does for User-Agent parts); `unknown` if empty.
fn ua_part(s: &str) -> String {
    let kept: String = s
        .chars()
        .filter(|&c| ('\u{20}'..='\u{7e}').contains(&c) || ('\u{a0}'..='\u{ff}').contains(&c))
        .collect();
    let kept = kept.trim();
    if kept.is_empty() {
        "unknown".into()
    } else {
        kept.to_string()
    }
}

/// The `User-Agent` Capgo's plugin sends: `CapacitorUpdater/<v> (<appId>) <platform>/<os version>`.
pub fn user_agent(config: &Config, host: &AppIdentity) -> String {
    format!(
        "CapacitorUpdater/{} ({}) {}/{}",
        PLUGIN_COMPAT_VERSION,
        ua_part(&config.app_id),
        ua_part(&host.platform),
        ua_part(&host.os_version)
    )
}

/// The "info object" every request carries (Capgo `createInfoObject`), with the current bundle's
/// version name and the effective channel. `key_id` is sent only when a public key is configured.
pub fn info_object(
    config: &Config,
    host: &AppIdentity,
    device_id: &str,
    current_version: &str,
    channel: &str,
) -> Value {
    let mut o = json!({
        "platform": host.platform,
        "device_id": device_id,
        "app_id": config.app_id,
        "custom_id": host.custom_id,
        "version_build": host.version_build(config),
        "version_code": host.version_code,
        "version_os": host.os_version,
        "version_name": current_version,
        "plugin_version": PLUGIN_COMPAT_VERSION,
        "is_emulator": host.is_emulator,
        "is_prod": host.is_prod,
        "defaultChannel": channel,
    });
    if let Some(map) = o.as_object_mut() {
        if let Some(src) = &host.install_source {
            map.insert("install_source".into(), json!(src));
        }
        if let Some(key) = &config.public_key {
            map.insert("key_id".into(), json!(key.key_id()));
        }
    }
    o
}

/// A non-2xx answer without a JSON error (Capgo's `response_error`, or `too_many_requests` for 429).
fn server_error(status: u16) -> CheckResult {
    CheckResult::Failed {
        error: if status == 429 {
            "too_many_requests"
        } else {
            "response_error"
        }
        .into(),
        message: format!("Server error: {status}"),
        status: Some(status),
    }
}

/// Reads an update-check answer's body into its typed form: `Err` when it is not a JSON object
/// (or deeper than the nesting limit, or was cut at the body cap). Pure; memory bounded by the
/// body's own size (see `answer.rs`).
pub fn read_answer(body: &[u8], truncated: bool) -> Result<UpdateAnswer, Unreadable> {
    if truncated {
        return Err(Unreadable(
            "the answer is larger than the answer cap".into(),
        ));
    }
    answer::read(body)
}

/// Reads an update-check response (any status) into a [`CheckResult`] (the fuzz target). Pure.
#[cfg(any(test, feature = "fuzzing"))]
pub fn parse_response(status: u16, body: &[u8], current_version: &str) -> CheckResult {
    classify(status, read_answer(body, false), current_version)
}

/// What a (read or unreadable) answer with `status` means for this device. Pure.
pub fn classify(
    status: u16,
    answer: Result<UpdateAnswer, Unreadable>,
    current_version: &str,
) -> CheckResult {
    let ok = (200..300).contains(&status);
    let m = match answer {
        Ok(m) => m,
        Err(_) if ok => {
            return CheckResult::Failed {
                error: "parse_error".into(),
                message: "the update server did not answer with a JSON object".into(),
                status: Some(status),
            };
        }
        Err(_) => return server_error(status),
    };
    let error = m.error.non_empty().map(str::to_string);
    let kind = m.kind.get().map(str::to_string);
    if error.is_some() || kind.is_some() {
        let message = m
            .message
            .get()
            .unwrap_or("server did not provide a message")
            .to_string();
        let code = error.clone().unwrap_or_default();
        return match kind.as_deref() {
            Some("up_to_date") => CheckResult::UpToDate { error, message },
            Some("blocked") => CheckResult::Blocked {
                error: code,
                message,
            },
            _ => CheckResult::Failed {
                error: if code.is_empty() {
                    "failed".into()
                } else {
                    code
                },
                message,
                status: Some(status),
            },
        };
    }
    if !ok {
        // `{"message": "m"}` with a 4xx/5xx: the server's own words beat "Server error: 400".
        return match (server_error(status), m.message.non_empty()) {
            (CheckResult::Failed { error, status, .. }, Some(message)) => CheckResult::Failed {
                error,
                message: message.to_string(),
                status,
            },
            (plain, _) => plain,
        };
    }
    let version = m.version.get().unwrap_or_default().to_string();
    if version.is_empty() {
        // Legacy "no update" shape: {"message": "..."}.
        return CheckResult::UpToDate {
            error: None,
            message: m
                .message
                .get()
                .unwrap_or("No new version available")
                .to_string(),
        };
    }
    if version == "builtin" {
        return CheckResult::Builtin;
    }
    if version == current_version {
        return CheckResult::UpToDate {
            error: None,
            message: "No need to update".into(),
        };
    }
    let url = m.url.get().unwrap_or_default().to_string();
    let valid_url = url.parse::<http::Uri>().is_ok_and(|u| {
        u.host().is_some() && matches!(u.scheme_str(), Some("http") | Some("https"))
    });
    if !valid_url {
        return CheckResult::Failed {
            error: "no_url".into(),
            message: "Error no url or wrong format".into(),
            status: Some(status),
        };
    }
    CheckResult::Available(Release {
        version,
        url,
        session_key: m.session_key.non_empty().map(str::to_string),
        checksum: m.checksum.get().unwrap_or_default().to_string(),
        manifest: m.manifest,
        link: m.link.get().map(str::to_string),
        comment: m.comment.get().map(str::to_string),
        breaking: m.breaking.0.unwrap_or(false) || m.major.0.unwrap_or(false),
        origin: ReleaseOrigin::Server,
    })
}

/// For a 429, until when (ms since epoch) requests must stop: `Retry-After` seconds, else the
/// body's `retryAfterSeconds` / `rateLimitResetAt` (also under `moreInfo`); capped at 24 h.
/// `None` when there is no hint (Capgo then does not block).
pub fn rate_limit_until(retry_after: Option<&str>, body: &[u8], now_ms: u64) -> Option<u64> {
    let cap = now_ms.saturating_add(MAX_RATE_LIMIT_MS);
    if let Some(secs) = retry_after.and_then(|v| v.trim().parse::<u64>().ok()) {
        return Some(now_ms.saturating_add(secs.saturating_mul(1000)).min(cap));
    }
    let b: RateLimitBody = answer::read(body).ok()?;
    for h in [
        &b.more_info,
        &RateHints {
            retry_after_seconds: b.retry_after_seconds,
            reset_at_ms: b.reset_at_ms,
        },
    ] {
        if let Some(secs) = h.retry_after_seconds.0 {
            return Some(now_ms.saturating_add(secs.saturating_mul(1000)).min(cap));
        }
        if let Some(at) = h.reset_at_ms.0 {
            return Some(at.min(cap));
        }
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn parse(status: u16, body: &str) -> CheckResult {
        parse_response(status, body.as_bytes(), "1.0.0")
    }

    #[test]
    fn answers_are_typed() {
        match parse(
            200,
            r#"{"version":"1.0.1","url":"https://x.test/b.zip","session_key":"a:b","checksum":"c","breaking":true}"#,
        ) {
            CheckResult::Available(r) => {
                assert_eq!(r.version, "1.0.1");
                assert_eq!(r.session_key.as_deref(), Some("a:b"));
                assert!(r.breaking);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(parse(200, r#"{"version":"builtin"}"#), CheckResult::Builtin);
        assert!(matches!(
            parse(200, r#"{"version":"1.0.0","url":"https://x.test/b"}"#),
            CheckResult::UpToDate { .. }
        ));
        assert!(matches!(
            parse(
                200,
                r#"{"error":"no_new_version_available","kind":"up_to_date","message":"m"}"#
            ),
            CheckResult::UpToDate { error: Some(_), .. }
        ));
        assert!(matches!(
            parse(
                200,
                r#"{"error":"disable_emulator","kind":"blocked","message":"m"}"#
            ),
            CheckResult::Blocked { .. }
        ));
        assert!(matches!(
            parse(200, r#"{"error":"semver_error","message":"m"}"#),
            CheckResult::Failed { .. }
        ));
        assert!(matches!(
            parse(200, r#"{"error":"x","kind":"weird"}"#),
            CheckResult::Failed { .. }
        ));
        assert!(
            matches!(parse(200, "<html>"), CheckResult::Failed { ref error, .. } if error == "parse_error")
        );
        assert!(
            matches!(parse(503, "<html>"), CheckResult::Failed { ref error, status: Some(503), .. } if error == "response_error")
        );
        assert!(
            matches!(parse(200, r#"{"version":"2","url":"nope"}"#), CheckResult::Failed { ref error, .. } if error == "no_url")
        );
        assert!(matches!(
            parse(200, r#"{"message":"No new version"}"#),
            CheckResult::UpToDate { .. }
        ));
    }

    #[test]
    fn rate_limit_hints() {
        assert_eq!(rate_limit_until(Some("60"), b"", 1000), Some(61_000));
        assert_eq!(
            rate_limit_until(None, br#"{"moreInfo":{"retryAfterSeconds":2}}"#, 0),
            Some(2000)
        );
        assert_eq!(
            rate_limit_until(None, br#"{"rateLimitResetAt":5000}"#, 0),
            Some(5000)
        );
        assert_eq!(
            rate_limit_until(Some("999999999"), b"", 0),
            Some(MAX_RATE_LIMIT_MS)
        );
        assert_eq!(rate_limit_until(None, b"{}", 0), None);
    }

    #[test]
    fn user_agent_is_sanitised() {
        let c = Config {
            app_id: "com.x\u{1}".into(),
            ..Config::default()
        };
        let h = AppIdentity {
            os_version: String::new(),
            ..AppIdentity::default()
        };
        assert_eq!(
            user_agent(&c, &h),
            "CapacitorUpdater/8.51.23 (com.x) android/unknown"
        );
    }
}
