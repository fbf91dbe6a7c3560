//! Static channel: the update check against a signed static site — GET `channels/<channel>.json` and its `.sig` (conditional), verify the signature over the raw bytes before parsing, refuse foreign, unknown, expired, replayed or off-policy files, decide rollout and the minimum native version on the device, and hand the release to the one update flow.

use std::fmt;

use base64ct::{Base64, Encoding};
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value, json};

use super::Registry;
use super::answer::{self, Capped, Manifest, ManifestEntry, Text};
use super::check::{CheckResult, Release, ReleaseOrigin};
use super::http::{BodyCap, Method, check_url};
use super::registry::Latest;
use super::stats::{Action, Event};
use crate::error::{Error, Result};
use crate::store::state::version_cmp;

/// The format this device reads (`"format"` of a channel file).
pub const FORMAT: &str = "liveupdate-static/1";
/// The channel used when neither `setChannel` nor `defaultChannel` names one.
pub const DEFAULT_CHANNEL: &str = "production";
/// Most static channels remembered (published times, validators); the oldest are dropped.
const MAX_REMEMBERED: usize = 32;

/// `rollout_percent`: absent (100 %), a whole number, or anything else (the file is refused,
/// never read as 100 %).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Percent {
    #[default]
    Absent,
    Value(u64),
    Invalid,
}

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Percent;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a percentage")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<Percent, E> {
                Ok(Percent::Value(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<Percent, E> {
                Ok(u64::try_from(v).map_or(Percent::Invalid, Percent::Value))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<Percent, E> {
                Ok(if v.fract() == 0.0 && (0.0..=100.0).contains(&v) {
                    // Exact: whole numbers from 0 to 100.
                    Percent::Value(v as u64)
                } else {
                    Percent::Invalid
                })
            }
            fn visit_unit<E: de::Error>(self) -> std::result::Result<Percent, E> {
                Ok(Percent::Absent)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> std::result::Result<Percent, E> {
                Ok(Percent::Invalid)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> std::result::Result<Percent, E> {
                Ok(Percent::Invalid)
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut s: A,
            ) -> std::result::Result<Percent, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Percent::Invalid)
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut m: A,
            ) -> std::result::Result<Percent, A::Error> {
                while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Percent::Invalid)
            }
        }
        d.deserialize_any(V)
    }
}

/// A channel file (`liveupdate-static/1`), typed: unknown fields are skipped unbuilt.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct ChannelFile {
    format: Text<64>,
    app_id: Text<1024>,
    channel: Text<256>,
    version: Text<1024>,
    url: Text<8192>,
    checksum: Text<1024>,
    session_key: Text<2048>,
    manifest: Manifest,
    min_native_version: Text<256>,
    rollout_percent: Percent,
    published_at: Text<64>,
    expires_at: Text<64>,
}

/// `channels/index.json`: the channels `listChannels` offers.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct ChannelIndex {
    channels: Capped<Text<256>, { answer::MAX_CHANNELS }>,
}

/// A refusal of a static answer: its code (`bad_signature`, `wrong_app`, …) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// Machine code.
    pub code: &'static str,
    /// Human text.
    pub message: String,
}

fn refuse(code: &'static str, message: impl Into<String>) -> Refused {
    Refused {
        code,
        message: message.into(),
    }
}

/// What the device needs to judge a channel file.
pub struct Judge<'a> {
    /// The app's keys (configured key first, then rotation keys); empty = no key.
    pub keys: Vec<&'a crate::bundle::crypto::PublicKey>,
    /// The app id the file must name.
    pub app_id: &'a str,
    /// The channel asked for.
    pub channel: &'a str,
    /// Where the file was fetched from (relative URLs resolve against it).
    pub file_url: &'a str,
    /// Plain http allowed beyond loopback (development).
    pub allow_insecure: bool,
    /// Now, ms since the epoch.
    pub now_ms: u64,
    /// The newest `published_at` accepted before for this channel.
    pub newest_ms: Option<u64>,
}

/// A channel file that passed every check: the release it names, when it was published, and
/// what the device decided about rollout and the native version.
#[derive(Debug, Clone)]
pub struct Accepted {
    /// The release, URLs resolved.
    pub release: Release,
    /// `published_at`, ms since the epoch.
    pub published_ms: u64,
    /// `min_native_version`, if any.
    pub min_native_version: Option<String>,
    /// `rollout_percent` (0–100).
    pub rollout_percent: u64,
}

/// Verifies `signature` (the `.sig` body, if one was served) over the exact bytes of `file`,
/// then reads and checks the file. With keys, a missing or wrong signature refuses it before
/// any byte is parsed; without keys an unsigned file is accepted (TLS only, Capgo's keyless
/// mode) and a present signature must still be one line of base64, though there is no key to
/// verify it with. Pure apart from RSA.
pub fn judge(
    file: &[u8],
    signature: Option<&[u8]>,
    j: &Judge<'_>,
) -> std::result::Result<Accepted, Refused> {
    match (j.keys.is_empty(), signature) {
        (false, None) => {
            return Err(refuse(
                "bad_signature",
                "the channel file has no signature (.sig), and the app has a public key",
            ));
        }
        (_, Some(sig)) => {
            let text = std::str::from_utf8(sig).unwrap_or("").trim();
            let raw = Base64::decode_vec(text)
                .map_err(|_| refuse("bad_signature", "the .sig is not one line of base64"))?;
            if j.keys.is_empty() {
                // Nothing to verify it with: the file is trusted as far as TLS (keyless mode).
                log::warn!(
                    "the channel file is signed but the app has no public key: the signature is not verified"
                );
            } else if !j.keys.iter().any(|k| k.verifies_pkcs1_sha256(file, &raw)) {
                return Err(refuse(
                    "bad_signature",
                    "the channel file's signature does not verify under the app's public key",
                ));
            }
        }
        (true, None) => {}
    }
    let f: ChannelFile = answer::read(file).map_err(|e| {
        refuse(
            "invalid_channel_file",
            format!("the channel file is not readable: {}", e.0),
        )
    })?;
    let format = f.format.get().unwrap_or("");
    if format != FORMAT {
        return Err(refuse(
            "unknown_format",
            format!("channel file format {format:?} is not {FORMAT:?}"),
        ));
    }
    let app_id = f.app_id.get().unwrap_or("");
    if app_id != j.app_id {
        return Err(refuse(
            "wrong_app",
            format!("the channel file is for app {app_id:?}, not {:?}", j.app_id),
        ));
    }
    let channel = f.channel.get().unwrap_or("");
    if channel != j.channel {
        return Err(refuse(
            "wrong_channel",
            format!(
                "the channel file is for channel {channel:?}, not {:?}",
                j.channel
            ),
        ));
    }
    let published_ms = f
        .published_at
        .get()
        .and_then(crate::time::parse_iso8601)
        .ok_or_else(|| {
            refuse(
                "invalid_channel_file",
                "published_at is missing or not RFC 3339",
            )
        })?;
    if let Some(e) = f.expires_at.get() {
        let expires = crate::time::parse_iso8601(e)
            .ok_or_else(|| refuse("invalid_channel_file", "expires_at is not RFC 3339"))?;
        if expires <= j.now_ms {
            return Err(refuse(
                "expired",
                format!("the channel file expired at {e}: a newer one must be published"),
            ));
        }
    }
    if let Some(newest) = j.newest_ms
        && published_ms < newest
    {
        return Err(refuse(
            "replayed",
            format!(
                "the channel file was published at {}, before the newest one this device accepted ({})",
                crate::time::iso8601(published_ms),
                crate::time::iso8601(newest)
            ),
        ));
    }
    let rollout_percent = match f.rollout_percent {
        Percent::Absent => 100,
        Percent::Value(v) if v <= 100 => v,
        _ => {
            return Err(refuse(
                "invalid_channel_file",
                "rollout_percent must be a whole number from 0 to 100",
            ));
        }
    };
    let version = f
        .version
        .non_empty()
        .ok_or_else(|| refuse("invalid_channel_file", "the channel file names no version"))?
        .to_string();
    let resolve_checked = |u: &str, what: &str| -> std::result::Result<String, Refused> {
        let abs = resolve(j.file_url, u)
            .ok_or_else(|| refuse("invalid_url", format!("{what} {u:?} is not a usable URL")))?;
        check_url(&abs, j.allow_insecure)
            .map_err(|e| refuse("insecure_url", format!("{what}: {e}")))?;
        Ok(abs)
    };
    let manifest = match f.manifest {
        Manifest::Entries(entries) => {
            let mut out = Vec::with_capacity(entries.len());
            for e in entries {
                out.push(ManifestEntry {
                    download_url: resolve_checked(&e.download_url, "download_url")?,
                    ..e
                });
            }
            Manifest::Entries(out)
        }
        other => other,
    };
    let url = match f.url.non_empty() {
        Some(u) => resolve_checked(u, "url")?,
        None if matches!(manifest, Manifest::Entries(_)) => String::new(),
        None => {
            return Err(refuse(
                "invalid_channel_file",
                "the channel file names no url",
            ));
        }
    };
    Ok(Accepted {
        release: Release {
            version,
            url,
            session_key: f.session_key.non_empty().map(str::to_string),
            checksum: f.checksum.get().unwrap_or_default().to_string(),
            manifest,
            link: None,
            comment: None,
            breaking: false,
            origin: ReleaseOrigin::Server,
        },
        published_ms,
        min_native_version: f.min_native_version.non_empty().map(str::to_string),
        rollout_percent,
    })
}

/// Whether `device_id` is in a `percent` rollout of `version`: the first 4 bytes, big-endian,
/// of SHA-256(`device_id` + ":" + `version`), mod 100, below `percent`. Pure.
pub fn in_rollout(device_id: &str, version: &str, percent: u64) -> bool {
    let d = ring::digest::digest(
        &ring::digest::SHA256,
        format!("{device_id}:{version}").as_bytes(),
    );
    let b = d.as_ref();
    let n = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    u64::from(n % 100) < percent
}

/// `rel` resolved against `base` (RFC 3986, for the forms a site uses: absolute `http(s)://`,
/// origin-relative `/…`, and relative paths with `.` and `..`). `None` for other schemes or a
/// base without an origin. Pure.
pub fn resolve(base: &str, rel: &str) -> Option<String> {
    let rel = rel.trim();
    if rel.is_empty() || rel.chars().any(|c| c.is_control() || c == '\\') {
        return None;
    }
    let lower = rel.to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        return Some(rel.to_string());
    }
    // Any other scheme (`file:`, `javascript:`), or a network-path reference: not allowed.
    let first_seg = rel.split(['/', '?', '#']).next().unwrap_or("");
    if first_seg.contains(':') || rel.starts_with("//") {
        return None;
    }
    let scheme_end = base.find("://")? + 3;
    let origin_end = base[scheme_end..]
        .find(['/', '?', '#'])
        .map_or(base.len(), |i| scheme_end + i);
    let origin = &base[..origin_end];
    let base_path = base[origin_end..].split(['?', '#']).next().unwrap_or("");
    let (rel_path, query) = match rel.find(['?', '#']) {
        Some(i) => (&rel[..i], &rel[i..]),
        None => (rel, ""),
    };
    let joined = if rel_path.starts_with('/') {
        rel_path.to_string()
    } else {
        let dir = match base_path.rfind('/') {
            Some(i) => &base_path[..=i],
            None => "/",
        };
        format!("{dir}{rel_path}")
    };
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = joined.split('/').collect();
    for (i, seg) in segments.iter().enumerate() {
        match *seg {
            "." => {}
            ".." => {
                out.pop();
            }
            s if s.is_empty() && i > 0 && i + 1 < segments.len() => {}
            s => out.push(s),
        }
    }
    let mut path = out.join("/");
    if !path.starts_with('/') {
        path.insert(0, '/');
    }
    Some(format!("{origin}{path}{query}"))
}

/// A channel name usable as a file name in a site: 1–128 of `A-Z a-z 0-9 . _ -`, not `.`/`..`.
pub fn valid_channel(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

impl Registry {
    /// The channel a static check reads: `override_channel`, else the one `setChannel` stored,
    /// else `defaultChannel`, else `production`.
    fn static_channel_name(&self, override_channel: Option<&str>) -> Result<String> {
        if let Some(c) = override_channel.filter(|c| !c.is_empty()) {
            return Ok(c.to_string());
        }
        let stored = self.store().with_state(|_, s| Ok(s.channel.clone()))?;
        Ok(stored
            .filter(|c| !c.is_empty())
            .or_else(|| Some(self.config().default_channel.clone()).filter(|c| !c.is_empty()))
            .unwrap_or_else(|| DEFAULT_CHANNEL.to_string()))
    }

    /// `path` under the site's base URL (`updateUrl`, with or without its final `/`).
    fn site_url(&self, path: &str) -> String {
        let base = &self.config().update_url;
        format!("{}/{path}", base.trim_end_matches('/'))
    }

    /// The update check of `updateProtocol: "static"` (see the module doc); the same
    /// [`Latest`] as a protocol check, so everything after it is the one update flow. Refusals
    /// send a `download_fail` stat with the code. Blocks; network I/O.
    pub(crate) fn static_latest(&self, override_channel: Option<&str>) -> Result<Latest> {
        let (_, current) = self.info()?;
        let failed = Latest::failed;
        if let Some((error, message)) = self.blocked_now()? {
            return Ok(failed(&error, message, None));
        }
        let channel = self.static_channel_name(override_channel)?;
        if !valid_channel(&channel) {
            return Ok(failed(
                "invalid_channel",
                format!("channel {channel:?} cannot name a file (A-Z a-z 0-9 . _ -)"),
                None,
            ));
        }
        let file_url = self.site_url(&format!("channels/{channel}.json"));
        let seen = self
            .store()
            .with_state(|_, s| Ok(s.static_channels.get(&channel).cloned()))?;
        // The decision a 304 repeats depends on this device's current and native versions.
        let context = format!(
            "{current}\n{}",
            self.app().native_version.as_deref().unwrap_or("")
        );
        let mut headers = Vec::new();
        if let Some(s) = seen
            .as_ref()
            .filter(|s| s.context.as_deref() == Some(context.as_str()))
        {
            if let Some(e) = &s.etag {
                headers.push(("If-None-Match", e.clone()));
            }
            if let Some(m) = &s.last_modified {
                headers.push(("If-Modified-Since", m.clone()));
            }
        }
        let deadline = self.request_deadline();
        let get = |url: &str, headers: Vec<(&'static str, String)>, cap: BodyCap| {
            self.http().small_until(
                Method::Get,
                url,
                None,
                headers,
                deadline,
                Some(self.cancel()),
                cap,
            )
        };
        let resp = match get(&file_url, headers, BodyCap::UPDATE) {
            Ok(r) => r,
            Err(e) => return Ok(transport_failure(e)),
        };
        if resp.status == 304 {
            // Unchanged since an answer that left nothing to do: up to date, nothing parsed.
            return Ok(up_to_date(
                None,
                "channel file not modified".into(),
                &current,
            ));
        }
        if resp.status == 429 {
            let first = self.note_rate_limit(resp.retry_after.as_deref(), &resp.body, None)?;
            let mut l = failed("too_many_requests", "Too many requests".into(), Some(429));
            if first {
                l.stats.push(Event::new(Action::RateLimitReached, &current));
            }
            return Ok(l);
        }
        if !(200..300).contains(&resp.status) {
            return Ok(failed(
                "response_error",
                format!("Server error: {} for {file_url}", resp.status),
                Some(resp.status),
            ));
        }
        if resp.truncated {
            return Ok(failed(
                "invalid_channel_file",
                "the channel file is larger than the answer cap".into(),
                Some(resp.status),
            ));
        }
        let sig = match get(&format!("{file_url}.sig"), Vec::new(), BodyCap::SIGNATURE) {
            Ok(r) if (200..300).contains(&r.status) && !r.truncated => Some(r.body),
            Ok(r) if r.status == 404 || r.status == 410 => None,
            Ok(r) => {
                return Ok(failed(
                    "response_error",
                    format!(
                        "Server error: {} for the channel file's signature",
                        r.status
                    ),
                    Some(r.status),
                ));
            }
            Err(e) => return Ok(transport_failure(e)),
        };
        let cfg = self.config();
        let keys: Vec<_> = cfg
            .public_key
            .iter()
            .chain(cfg.extra_public_keys.iter())
            .collect();
        let judged = judge(
            &resp.body,
            sig.as_deref(),
            &Judge {
                keys,
                app_id: &cfg.app_id,
                channel: &channel,
                file_url: &file_url,
                allow_insecure: self.http().config().allow_insecure,
                now_ms: self.store().now_ms(),
                newest_ms: seen.as_ref().map(|s| s.published_ms),
            },
        );
        let accepted = match judged {
            Ok(a) => a,
            Err(r) => {
                let mut l = failed(r.code, r.message, Some(resp.status));
                l.stats
                    .push(Event::new(Action::DownloadFail, &current).meta("error", r.code));
                return Ok(l);
            }
        };
        let v = accepted.release.version.clone();
        // What the device decides; only a "nothing to do" answer keeps its validators, so a
        // release still to be fetched is never hidden behind a 304.
        let decision = if v == current {
            Some(up_to_date(None, "No need to update".into(), &current))
        } else if let Some(min) = &accepted.min_native_version
            && let Some(native) = &self.app().native_version
            && version_cmp(native, min) == Some(std::cmp::Ordering::Less)
        {
            Some(up_to_date(
                Some("native_version_too_low"),
                format!("{v} needs native version {min} or later; this app is {native}"),
                &current,
            ))
        } else if accepted.rollout_percent < 100
            && !in_rollout(&self.device_id()?, &v, accepted.rollout_percent)
        {
            Some(up_to_date(
                Some("rollout_excluded"),
                format!(
                    "{v} is rolled out to {} % of devices; not this one yet",
                    accepted.rollout_percent
                ),
                &current,
            ))
        } else {
            None
        };
        let keep_validators = decision.is_some();
        self.store().with_state(|_, s| {
            let entry = s.static_channels.entry(channel.clone()).or_default();
            entry.published_ms = entry.published_ms.max(accepted.published_ms);
            if keep_validators {
                entry.etag = resp.etag.clone().filter(|e| e.len() <= 256);
                entry.last_modified = resp.last_modified.clone().filter(|m| m.len() <= 256);
                entry.context = Some(context.clone()).filter(|c| c.len() <= 2048);
            } else {
                entry.etag = None;
                entry.last_modified = None;
                entry.context = None;
            }
            while s.static_channels.len() > MAX_REMEMBERED {
                let oldest = s
                    .static_channels
                    .iter()
                    .filter(|(k, _)| **k != channel)
                    .min_by_key(|(_, v)| v.published_ms)
                    .map(|(k, _)| k.clone());
                match oldest {
                    Some(k) => {
                        s.static_channels.remove(&k);
                    }
                    None => break,
                }
            }
            Ok(())
        })?;
        if let Some(d) = decision {
            return Ok(d);
        }
        let r = &accepted.release;
        let mut raw = Map::new();
        raw.insert("version".into(), json!(r.version));
        raw.insert("url".into(), json!(r.url));
        raw.insert("checksum".into(), json!(r.checksum));
        if let Some(s) = &r.session_key {
            raw.insert("sessionKey".into(), json!(s));
        }
        raw.insert("statusCode".into(), json!(resp.status));
        Ok(Latest {
            result: CheckResult::Available(accepted.release),
            raw,
            stats: Vec::new(),
        })
    }

    /// `setChannel` on a static site: stored on the device, no request. Blocks on disk I/O.
    pub(crate) fn static_set_channel(
        &self,
        channel: &str,
    ) -> Result<std::result::Result<Value, super::ServerError>> {
        if !valid_channel(channel) {
            return Ok(Err(super::ServerError::new(
                "invalid_channel",
                format!("channel {channel:?} cannot name a file (A-Z a-z 0-9 . _ -)"),
                None,
            )));
        }
        let c = channel.to_string();
        self.store().with_state(|_, s| {
            s.channel = Some(c);
            Ok(())
        })?;
        Ok(Ok(
            json!({"status": "ok", "channel": channel, "allowSet": true}),
        ))
    }

    /// `getChannel` on a static site: the stored channel, else the default. Disk I/O only.
    pub(crate) fn static_get_channel(&self) -> Result<Value> {
        let stored = self.store().with_state(|_, s| Ok(s.channel.clone()))?;
        let channel = self.static_channel_name(None)?;
        let status = if stored.is_some() { "self" } else { "default" };
        Ok(json!({"channel": channel, "status": status, "allowSet": true}))
    }

    /// `listChannels` on a static site: `channels/index.json` (`{"channels": [names]}`), as
    /// Capgo's `[{id, name, public, allow_self_set}]`. Blocks; network I/O.
    pub(crate) fn static_list_channels(
        &self,
    ) -> Result<std::result::Result<Value, super::ServerError>> {
        let url = self.site_url("channels/index.json");
        let r = match self.http().small_until(
            Method::Get,
            &url,
            None,
            Vec::new(),
            self.request_deadline(),
            Some(self.cancel()),
            BodyCap::CHANNEL,
        ) {
            Ok(r) => r,
            Err(e) => {
                return Ok(Err(super::ServerError::new(
                    "network_error",
                    format!("Request failed: {e}"),
                    None,
                )));
            }
        };
        if !(200..300).contains(&r.status) || r.truncated {
            return Ok(Err(super::ServerError::new(
                "response_error",
                format!("Server error: {}", r.status),
                Some(r.status),
            )));
        }
        let index: ChannelIndex = answer::read(&r.body).map_err(|e| Error::Network(e.0))?;
        let list: Vec<Value> = index
            .channels
            .0
            .iter()
            .filter_map(|t| t.non_empty())
            .enumerate()
            .map(|(i, name)| {
                json!({"id": i + 1, "name": name, "public": true, "allow_self_set": true})
            })
            .collect();
        Ok(Ok(Value::Array(list)))
    }
}

/// A request that did not get an answer: cancelled, or Capgo's `network_error`.
fn transport_failure(e: Error) -> Latest {
    match e {
        Error::Cancelled => {
            Latest::failed("cancelled", "the update check was cancelled".into(), None)
        }
        e => Latest::failed("network_error", format!("Request failed: {e}"), None),
    }
}

fn up_to_date(error: Option<&str>, message: String, current: &str) -> Latest {
    let mut raw = Map::new();
    raw.insert("version".into(), json!(current));
    raw.insert("kind".into(), json!("up_to_date"));
    raw.insert("message".into(), json!(message));
    if let Some(e) = error {
        raw.insert("error".into(), json!(e));
    }
    Latest {
        result: CheckResult::UpToDate {
            error: error.map(str::to_string),
            message,
        },
        raw,
        stats: Vec::new(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn urls_resolve_against_the_channel_file() {
        let b = "https://cdn.example.com/app/channels/production.json";
        assert_eq!(
            resolve(b, "../bundles/a.zip").unwrap(),
            "https://cdn.example.com/app/bundles/a.zip"
        );
        assert_eq!(
            resolve(b, "b.zip").unwrap(),
            "https://cdn.example.com/app/channels/b.zip"
        );
        assert_eq!(
            resolve(b, "/x/y.zip?v=1").unwrap(),
            "https://cdn.example.com/x/y.zip?v=1"
        );
        assert_eq!(
            resolve(b, "../../../../a.zip").unwrap(),
            "https://cdn.example.com/a.zip"
        );
        assert_eq!(
            resolve(b, "https://other.example/z.zip").unwrap(),
            "https://other.example/z.zip"
        );
        assert_eq!(resolve(b, "file:///etc/passwd"), None);
        assert_eq!(resolve(b, "javascript:alert(1)"), None);
        assert_eq!(resolve(b, "//evil.example/a.zip"), None);
        assert_eq!(resolve(b, ""), None);
    }

    #[test]
    fn rollout_is_a_stable_hash_bucket() {
        assert!(in_rollout("d", "1.0.0", 100));
        assert!(!in_rollout("d", "1.0.0", 0));
        let ids: Vec<String> = (0..1000).map(|i| format!("device-{i}")).collect();
        let n = ids.iter().filter(|d| in_rollout(d, "2.0.0", 30)).count();
        assert!((200..400).contains(&n), "{n}");
        // The bucket is the documented one: first 4 bytes big-endian of SHA-256(id:version) mod 100.
        let d = ring::digest::digest(&ring::digest::SHA256, b"abc:1.2.3");
        let b = d.as_ref();
        let bucket = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) % 100;
        assert!(in_rollout("abc", "1.2.3", u64::from(bucket) + 1));
        assert!(!in_rollout("abc", "1.2.3", u64::from(bucket)));
    }

    #[test]
    fn channel_names_are_file_names() {
        assert!(valid_channel("production"));
        assert!(valid_channel("beta-2.x_y"));
        for bad in ["", ".", "..", "a/b", "a\\b", "a b", "é", &"x".repeat(129)] {
            assert!(!valid_channel(bad), "{bad:?}");
        }
    }

    #[test]
    fn rollout_percent_is_strict() {
        for (text, want) in [
            ("{}", Percent::Absent),
            (r#"{"rollout_percent": 30}"#, Percent::Value(30)),
            (r#"{"rollout_percent": 30.0}"#, Percent::Value(30)),
            (r#"{"rollout_percent": "30"}"#, Percent::Invalid),
            (r#"{"rollout_percent": 30.5}"#, Percent::Invalid),
            (r#"{"rollout_percent": -1}"#, Percent::Invalid),
            (r#"{"rollout_percent": [1]}"#, Percent::Invalid),
        ] {
            let f: ChannelFile = answer::read(text.as_bytes()).unwrap();
            assert_eq!(f.rollout_percent, want, "{text}");
        }
    }
}
