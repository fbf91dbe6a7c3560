//! State: the versioned record of bundles, current/next/fallback and launches, with its pure transitions.
//!
//! This module does no I/O. `store` loads and saves it (atomically); `lifecycle` decides when each
//! transition runs. The state machine is described in `docs/state-machine.md`; the invariants kept here:
//!
//! 1. `current`, `next` and `fallback` name `builtin` or a record whose status is `pending` or `success`
//!    (a bundle that failed is never served; `next` is never an `error` bundle).
//! 2. A launch of a bundle that has not reached `success` is recorded (`booting`) **before** its web
//!    root is returned; if the process dies before `notify_app_ready`, the next launch rolls it back.
//! 3. Readiness is credited only to the bundle of the launch id it names (Capgo #907).
//! 4. A rolled-back bundle's version + checksum go to `known_bad`, which the update flow consults.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Longest a server may block requests with a 429 (Capgo's `MAX_RATE_LIMIT_WINDOW_MS`, 24 h).
pub const MAX_RATE_LIMIT_MS: u64 = 24 * 60 * 60 * 1000;

/// The reserved id of the app's shipped web folder.
pub const BUILTIN: &str = "builtin";
/// The state file format this build writes and reads.
pub const FORMAT: u32 = 1;

/// Lifecycle status of a bundle, as Capgo names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BundleStatus {
    /// Being downloaded or installed.
    Downloading,
    /// Installed, not yet confirmed by `notify_app_ready`.
    Pending,
    /// Confirmed: the web app called `notify_app_ready` while it was served.
    Success,
    /// Failed (rolled back, or marked bad); never served again.
    Error,
    /// Its files are being removed.
    Deleting,
    /// Files removed; the record is kept as a tombstone.
    Deleted,
}

impl BundleStatus {
    /// The lowercase Capgo name (`pending`, `success`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            BundleStatus::Downloading => "downloading",
            BundleStatus::Pending => "pending",
            BundleStatus::Success => "success",
            BundleStatus::Error => "error",
            BundleStatus::Deleting => "deleting",
            BundleStatus::Deleted => "deleted",
        }
    }

    /// True when a bundle with this status may be served (has complete files and has not failed).
    pub fn is_servable(self) -> bool {
        matches!(self, BundleStatus::Pending | BundleStatus::Success)
    }
}

impl fmt::Display for BundleStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One bundle, in Capgo's `BundleInfo` shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleInfo {
    /// 10 random `[0-9A-Za-z]` characters, or `builtin`.
    pub id: String,
    /// The bundle's version name.
    pub version: String,
    /// When it was installed, ISO-8601 UTC with milliseconds.
    pub downloaded: String,
    /// Lowercase hex SHA-256 of the plain zip (`""` for builtin and unfinished installs).
    pub checksum: String,
    /// Where it is in its lifecycle.
    pub status: BundleStatus,
}

/// A bundle that failed after activation and must never be installed again.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct KnownBad {
    /// Version name.
    pub version: String,
    /// Hex SHA-256 of the plain zip.
    pub checksum: String,
}

/// A recorded launch: which bundle a web view was started on, under which launch id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Launch {
    /// Random id handed to the host; `notify_app_ready` must present it.
    pub launch_id: String,
    /// The bundle served by this launch.
    pub bundle: String,
    /// When the launch was recorded (ms since the Unix epoch).
    pub started_ms: u64,
}

/// The whole persistent state of one app's updater.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// File format; a newer one is refused.
    pub format: u32,
    /// Every bundle record except builtin, by id.
    pub bundles: BTreeMap<String, BundleInfo>,
    /// The bundle served now.
    pub current: String,
    /// The bundle to switch to at the next launch or background, if any.
    pub next: Option<String>,
    /// The last bundle confirmed by `notify_app_ready` (rollback target).
    pub fallback: String,
    /// The latest launch of a bundle that has not been confirmed yet.
    pub booting: Option<Launch>,
    /// The latest launch of any bundle (readiness is credited only to it).
    pub last_launch: Option<Launch>,
    /// Bundles that failed after activation.
    pub known_bad: Vec<KnownBad>,
    /// The native app version seen at the last start (for `resetWhenUpdate`).
    pub native_version: Option<String>,
    /// The device id generated for this install (lowercase UUID v4), when the host gives none.
    #[serde(default)]
    pub device_id: Option<String>,
    /// The channel set on this device (`setChannel`/`getChannel`), overriding `defaultChannel`.
    #[serde(default)]
    pub channel: Option<String>,
    /// Until when (ms since epoch) the server asked us to stop sending requests (HTTP 429).
    #[serde(default)]
    pub rate_limited_until_ms: Option<u64>,
    /// The last rate-limit error code and message, reported while blocked.
    #[serde(default)]
    pub rate_limit_error: Option<(String, String)>,
    /// The highest version (semver order) that ever reached `success`, for the downgrade policy.
    #[serde(default)]
    pub highest_success_version: Option<String>,
    /// Set when this start is the first one after an install or a native version change
    /// (Capgo `atInstall` direct updates); cleared once the first update check used it.
    #[serde(default)]
    pub installed_or_updated: bool,
    /// The plugin's persisted settings and one-shot records (custom id, URLs, delays, …).
    #[serde(default)]
    pub plugin: PluginPrefs,
    /// Per static channel: the newest `published_at` accepted (metadata rollback protection)
    /// and the validators of the last answer that left nothing to do (conditional GETs).
    #[serde(default)]
    pub static_channels: BTreeMap<String, StaticSeen>,
}

/// What this device remembers of one static channel file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaticSeen {
    /// The newest `published_at` accepted, ms since the epoch: an older file is a replay.
    pub published_ms: u64,
    /// `ETag` of the last answer that left nothing to do, sent as `If-None-Match`.
    #[serde(default)]
    pub etag: Option<String>,
    /// `Last-Modified` of that answer, sent as `If-Modified-Since`.
    #[serde(default)]
    pub last_modified: Option<String>,
    /// What that "nothing to do" depended on (the current version, the native version): the
    /// validators are sent only while it is unchanged, so an app update or a reset re-reads the file.
    #[serde(default)]
    pub context: Option<String>,
}

/// What the plugin layer persists besides bundles: Capgo's `CapacitorUpdater.*` preferences.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginPrefs {
    /// `setCustomId` value (kept only with `persistCustomId`).
    #[serde(default)]
    pub custom_id: Option<String>,
    /// `setUpdateUrl` value (kept only with `persistModifyUrl`).
    #[serde(default)]
    pub update_url: Option<String>,
    /// `setStatsUrl` value (kept only with `persistModifyUrl`).
    #[serde(default)]
    pub stats_url: Option<String>,
    /// `setChannelUrl` value (kept only with `persistModifyUrl`).
    #[serde(default)]
    pub channel_url: Option<String>,
    /// `setMultiDelay` conditions still in force (`{kind, value}` as Capgo stores them).
    #[serde(default)]
    pub delay_conditions: Vec<DelayCondition>,
    /// When the app last went to the background (ms since the epoch).
    #[serde(default)]
    pub background_ms: Option<u64>,
    /// The bundle rolled back last, until `getFailedUpdate` reads it once.
    #[serde(default)]
    pub last_failed: Option<BundleInfo>,
    /// The OS version seen at the last start (`os_version_changed`).
    #[serde(default)]
    pub last_version_os: Option<String>,
    /// The native version name and build number seen at the last start (`native_app_version_changed`).
    #[serde(default)]
    pub last_version_build: Option<String>,
    /// See `last_version_build`.
    #[serde(default)]
    pub last_version_code: Option<String>,
}

/// One delay condition: installation of `next` waits until it no longer holds (Capgo `DelayCondition`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelayCondition {
    /// `background`, `kill`, `date` or `nativeVersion`.
    pub kind: DelayKind,
    /// The kind's value (ms for `background`, ISO-8601 for `date`, semver for `nativeVersion`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// The kinds of delay condition Capgo defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DelayKind {
    /// Until the app has been in the background longer than `value` ms (checked on foreground).
    #[serde(rename = "background")]
    Background,
    /// Until the app process is killed and started again.
    #[serde(rename = "kill")]
    Kill,
    /// Until the date `value` has passed.
    #[serde(rename = "date")]
    Date,
    /// Until the native app version is at least `value`.
    #[serde(rename = "nativeVersion")]
    NativeVersion,
}

/// Compares two version names by SemVer 2.0 precedence: `MAJOR[.MINOR[.PATCH]][-pre][+build]`
/// (a leading `v` and missing MINOR/PATCH are tolerated and read as 0); pre-release identifiers
/// compare dot by dot — numeric ones numerically and below alphanumeric ones, a shorter list
/// first when it is a prefix — and a pre-release sorts before its release; build metadata is
/// ignored. `None` when either label is not such a version (`1.0.0.0`, `1.0.0 (old build)`, `latest`):
/// such labels cannot be ordered, and the downgrade policy refuses them.
pub fn version_cmp(a: &str, b: &str) -> Option<std::cmp::Ordering> {
    use std::cmp::Ordering;
    fn ident_ok(s: &str) -> bool {
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    }
    fn parse(v: &str) -> Option<([u64; 3], Vec<&str>)> {
        let v = v.strip_prefix('v').unwrap_or(v);
        let (v, build) = match v.split_once('+') {
            Some((v, b)) => (v, Some(b)),
            None => (v, None),
        };
        if build.is_some_and(|b| !b.split('.').all(ident_ok)) {
            return None;
        }
        let (core, pre) = match v.split_once('-') {
            Some((c, p)) => (c, Some(p)),
            None => (v, None),
        };
        let mut n = [0u64; 3];
        let mut parts = core.split('.');
        for (i, slot) in n.iter_mut().enumerate() {
            match parts.next() {
                Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                    *slot = p.parse().ok()?
                }
                None if i > 0 => break,
                _ => return None,
            }
        }
        if parts.next().is_some() {
            return None;
        }
        let pre: Vec<&str> = match pre {
            Some(p) => {
                let ids: Vec<&str> = p.split('.').collect();
                if !ids.iter().all(|i| ident_ok(i)) {
                    return None;
                }
                ids
            }
            None => Vec::new(),
        };
        Some((n, pre))
    }
    fn cmp_ident(x: &str, y: &str) -> Ordering {
        let num = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        match (num(x), num(y)) {
            // Compare numerically without overflow: by length (leading zeros stripped), then text.
            (true, true) => {
                let (x, y) = (x.trim_start_matches('0'), y.trim_start_matches('0'));
                x.len().cmp(&y.len()).then_with(|| x.cmp(y))
            }
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => x.cmp(y),
        }
    }
    let (na, pa) = parse(a.trim())?;
    let (nb, pb) = parse(b.trim())?;
    Some(
        na.cmp(&nb)
            .then_with(|| match (pa.is_empty(), pb.is_empty()) {
                (true, true) => Ordering::Equal,
                (false, true) => Ordering::Less,
                (true, false) => Ordering::Greater,
                (false, false) => {
                    for (x, y) in pa.iter().zip(pb.iter()) {
                        let o = cmp_ident(x, y);
                        if o != Ordering::Equal {
                            return o;
                        }
                    }
                    pa.len().cmp(&pb.len())
                }
            }),
    )
}

impl Default for State {
    fn default() -> Self {
        Self {
            format: FORMAT,
            bundles: BTreeMap::new(),
            current: BUILTIN.into(),
            next: None,
            fallback: BUILTIN.into(),
            booting: None,
            last_launch: None,
            known_bad: Vec::new(),
            native_version: None,
            device_id: None,
            channel: None,
            rate_limited_until_ms: None,
            rate_limit_error: None,
            highest_success_version: None,
            installed_or_updated: false,
            plugin: PluginPrefs::default(),
            static_channels: BTreeMap::new(),
        }
    }
}

/// What a rollback did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollback {
    /// The bundle that failed.
    pub failed: String,
    /// The bundle served instead.
    pub to: String,
}

impl State {
    /// The record of `id` (not for builtin).
    pub fn get(&self, id: &str) -> Option<&BundleInfo> {
        self.bundles.get(id)
    }

    fn set_status(&mut self, id: &str, status: BundleStatus) {
        if let Some(b) = self.bundles.get_mut(id) {
            b.status = status;
        }
    }

    /// True if `id` is builtin or a servable record.
    pub fn is_servable(&self, id: &str) -> bool {
        id == BUILTIN || self.get(id).is_some_and(|b| b.status.is_servable())
    }

    /// Until when (ms since the epoch) requests are blocked by a 429, as of `now_ms`. A stored
    /// block that ends more than [`MAX_RATE_LIMIT_MS`] after
    /// `now_ms` cannot have been set under the right clock (the cap is applied when it is
    /// stored): it was recorded while the device clock ran ahead, and is dropped here, so a
    /// clock that was years ahead never blocks updates for years.
    pub fn rate_limit_in_force(&mut self, now_ms: u64) -> Option<u64> {
        match self.rate_limited_until_ms {
            Some(t) if t > now_ms.saturating_add(MAX_RATE_LIMIT_MS) => {
                log::warn!("a rate-limit block stored under a clock that ran ahead: dropped");
                self.rate_limited_until_ms = None;
                self.rate_limit_error = None;
                None
            }
            Some(t) if t > now_ms => Some(t),
            _ => None,
        }
    }

    /// True if this version + checksum failed before.
    pub fn is_known_bad(&self, version: &str, checksum: &str) -> bool {
        self.known_bad
            .iter()
            .any(|k| k.version == version && k.checksum == checksum)
    }

    /// Marks `id` failed: status `error`, remembered as known-bad, removed from `next`.
    pub fn mark_error(&mut self, id: &str) {
        if let Some(b) = self.bundles.get_mut(id) {
            b.status = BundleStatus::Error;
            let bad = KnownBad {
                version: b.version.clone(),
                checksum: b.checksum.clone(),
            };
            if !self.known_bad.contains(&bad) {
                self.known_bad.push(bad);
            }
        }
        if self.next.as_deref() == Some(id) {
            self.next = None;
        }
        if self.booting.as_ref().is_some_and(|l| l.bundle == id) {
            self.booting = None;
        }
    }

    /// Rolls back from the failed bundle `failed`: marks it `error` and serves the fallback if it
    /// is still servable, else builtin. `next` is cleared if it was the failed bundle.
    pub fn rollback(&mut self, failed: &str) -> Rollback {
        self.mark_error(failed);
        let to = if self.fallback != failed && self.is_servable(&self.fallback) {
            self.fallback.clone()
        } else {
            self.fallback = BUILTIN.into();
            BUILTIN.to_string()
        };
        self.current = to.clone();
        self.booting = None;
        Rollback {
            failed: failed.to_string(),
            to,
        }
    }

    /// Applies a pending `next` if it is servable and differs from current. Returns whether it did.
    pub fn apply_next(&mut self) -> bool {
        let Some(next) = self.next.take() else {
            return false;
        };
        if next == self.current || !self.is_servable(&next) {
            return false;
        }
        self.current = next;
        true
    }

    /// Records a launch of the current bundle. A bundle not yet confirmed is recorded as booting.
    pub fn begin_launch(&mut self, launch_id: String, now_ms: u64) -> Launch {
        let launch = Launch {
            launch_id,
            bundle: self.current.clone(),
            started_ms: now_ms,
        };
        let confirmed = self.current == BUILTIN
            || self
                .get(&self.current)
                .is_some_and(|b| b.status == BundleStatus::Success);
        self.booting = (!confirmed).then(|| launch.clone());
        self.last_launch = Some(launch.clone());
        launch
    }

    /// Credits readiness to the launch `launch_id`: its bundle becomes `success` and the fallback.
    /// Returns the previous fallback (a candidate for `autoDeletePrevious`) when it changed, or
    /// `Err(())` when the id is stale, foreign, or its bundle is no longer current.
    #[allow(clippy::result_unit_err)]
    pub fn confirm(&mut self, launch_id: &str) -> Result<Option<String>, ()> {
        let Some(launch) = self.last_launch.as_ref() else {
            return Err(());
        };
        if launch.launch_id != launch_id || launch.bundle != self.current {
            return Err(());
        }
        let id = launch.bundle.clone();
        if id != BUILTIN {
            match self.get(&id).map(|b| b.status) {
                Some(BundleStatus::Pending | BundleStatus::Success) => {
                    self.set_status(&id, BundleStatus::Success)
                }
                _ => return Err(()),
            }
        }
        if self
            .booting
            .as_ref()
            .is_some_and(|l| l.launch_id == launch_id)
        {
            self.booting = None;
        }
        if id != BUILTIN
            && let Some(v) = self.get(&id).map(|b| b.version.clone())
        {
            let higher = match &self.highest_success_version {
                None => version_cmp(&v, &v).is_some(),
                Some(h) => version_cmp(&v, h) == Some(std::cmp::Ordering::Greater),
            };
            if higher {
                self.highest_success_version = Some(v);
            }
        }
        if self.fallback == id {
            return Ok(None);
        }
        let previous = std::mem::replace(&mut self.fallback, id);
        Ok(Some(previous))
    }

    /// Back to builtin, or to the fallback when `to_last_successful` and it is servable.
    pub fn reset(&mut self, to_last_successful: bool) {
        let target =
            if to_last_successful && self.fallback != BUILTIN && self.is_servable(&self.fallback) {
                self.fallback.clone()
            } else {
                self.fallback = BUILTIN.into();
                BUILTIN.to_string()
            };
        self.current = target;
        self.next = None;
        self.booting = None;
    }

    /// True if `id` is current, next or fallback (must not be deleted).
    pub fn is_in_use(&self, id: &str) -> bool {
        self.current == id || self.next.as_deref() == Some(id) || self.fallback == id
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn with(ids: &[(&str, BundleStatus)]) -> State {
        let mut s = State::default();
        for (id, st) in ids {
            s.bundles.insert(
                id.to_string(),
                BundleInfo {
                    id: id.to_string(),
                    version: format!("v-{id}"),
                    downloaded: String::new(),
                    checksum: format!("c-{id}"),
                    status: *st,
                },
            );
        }
        s
    }

    #[test]
    fn next_is_applied_only_when_servable() {
        let mut s = with(&[("a", BundleStatus::Pending), ("b", BundleStatus::Error)]);
        s.next = Some("a".into());
        assert!(s.apply_next());
        assert_eq!(s.current, "a");
        assert_eq!(s.next, None);
        s.next = Some("b".into());
        assert!(!s.apply_next());
        assert_eq!(s.current, "a");
        s.next = Some("a".into());
        assert!(!s.apply_next(), "same as current");
    }

    #[test]
    fn unconfirmed_launch_is_booting_and_confirm_needs_the_right_id() {
        let mut s = with(&[("a", BundleStatus::Pending)]);
        s.current = "a".into();
        let l = s.begin_launch("L1".into(), 5);
        assert_eq!(s.booting.as_ref(), Some(&l));
        assert!(s.confirm("other").is_err());
        assert_eq!(s.get("a").unwrap().status, BundleStatus::Pending);
        assert_eq!(s.confirm("L1"), Ok(Some(BUILTIN.to_string())));
        assert_eq!(s.get("a").unwrap().status, BundleStatus::Success);
        assert_eq!(s.fallback, "a");
        assert_eq!(s.booting, None);
        // A confirmed bundle's next launch is not booting.
        s.begin_launch("L2".into(), 6);
        assert_eq!(s.booting, None);
    }

    #[test]
    fn confirm_of_a_stale_launch_does_not_credit_the_new_bundle() {
        let mut s = with(&[("a", BundleStatus::Success), ("b", BundleStatus::Pending)]);
        s.current = "a".into();
        s.fallback = "a".into();
        s.begin_launch("old".into(), 1);
        s.next = Some("b".into());
        s.apply_next();
        s.begin_launch("new".into(), 2);
        assert!(s.confirm("old").is_err());
        assert_eq!(s.get("b").unwrap().status, BundleStatus::Pending);
    }

    #[test]
    fn rollback_goes_to_fallback_else_builtin_and_remembers_bad() {
        let mut s = with(&[("a", BundleStatus::Success), ("b", BundleStatus::Pending)]);
        s.fallback = "a".into();
        s.current = "b".into();
        s.begin_launch("L".into(), 1);
        let r = s.rollback("b");
        assert_eq!(r.to, "a");
        assert_eq!(s.current, "a");
        assert_eq!(s.get("b").unwrap().status, BundleStatus::Error);
        assert!(s.is_known_bad("v-b", "c-b"));
        assert_eq!(s.booting, None);
        // Fallback itself failing: builtin.
        let r = s.rollback("a");
        assert_eq!(r.to, BUILTIN);
        assert_eq!(s.fallback, BUILTIN);
    }

    #[test]
    fn reset_variants() {
        let mut s = with(&[("a", BundleStatus::Success), ("b", BundleStatus::Pending)]);
        s.fallback = "a".into();
        s.current = "b".into();
        s.next = Some("b".into());
        s.reset(true);
        assert_eq!((s.current.as_str(), s.next.as_deref()), ("a", None));
        s.reset(false);
        assert_eq!(
            (s.current.as_str(), s.fallback.as_str()),
            (BUILTIN, BUILTIN)
        );
    }

    #[test]
    fn semver_order() {
        use std::cmp::Ordering::*;
        assert_eq!(version_cmp("1.2.3", "1.2.10"), Some(Less));
        assert_eq!(version_cmp("2.0.0", "1.99.99"), Some(Greater));
        assert_eq!(version_cmp("1.0.0-beta.1", "1.0.0"), Some(Less));
        assert_eq!(version_cmp("v1.0", "1.0.0"), Some(Equal));
        assert_eq!(version_cmp("1.0.0+build5", "1.0.0"), Some(Equal));
        assert_eq!(version_cmp("builtin", "1.0.0"), None);
        assert_eq!(version_cmp("1.x", "1.0.0"), None);
        assert_eq!(version_cmp("1.0.0.0", "2.0.0"), None);
        assert_eq!(version_cmp("1.0.0 (old build)", "2.0.0"), None);
        assert_eq!(version_cmp("", "2.0.0"), None);
        // SemVer 2.0 §11 precedence example.
        let chain = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.9",
            "1.0.0-beta.10",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
        ];
        for w in chain.windows(2) {
            assert_eq!(version_cmp(w[0], w[1]), Some(Less), "{} < {}", w[0], w[1]);
            assert_eq!(
                version_cmp(w[1], w[0]),
                Some(Greater),
                "{} > {}",
                w[1],
                w[0]
            );
        }
        assert_eq!(
            version_cmp(
                "1.0.0-99999999999999999999999",
                "1.0.0-100000000000000000000000"
            ),
            Some(Less)
        );
    }

    #[test]
    fn state_round_trips_through_json() {
        let mut s = with(&[("a", BundleStatus::Deleted)]);
        s.known_bad.push(KnownBad {
            version: "1".into(),
            checksum: "x".into(),
        });
        let j = serde_json::to_string(&s).unwrap();
        assert!(j.contains("\"status\":\"deleted\""));
        assert_eq!(serde_json::from_str::<State>(&j).unwrap(), s);
    }
}
