//! Stats: Capgo-format events queued durably in the data folder and sent in batches to `statsUrl`.
//!
//! Each event is the info object plus `action`, `version_name`, `old_version_name`, `timestamp`
//! and optional string `metadata`. The queue keeps the newest 200 events across restarts; a flush
//! POSTs them as one JSON array: 2xx or a permanent 4xx drops them, 408/429/5xx or a network error
//! keeps them for later. With an empty `statsUrl` nothing is queued or sent.

use std::fs;

use serde_json::{Map, Value, json};

use crate::bundle::fs_atomic::{random_alnum, write_atomic};
use crate::error::{Error, Result};
use crate::net::http::{BodyCap, Http, Method};
use crate::store::DataFolder;

/// Events kept at most; the oldest are dropped first.
pub const MAX_QUEUED: usize = 200;
/// Longest metadata value kept in a queued event (bytes).
pub const MAX_META: usize = 1024;
const QUEUE_FILE: &str = "stats.json";
/// Internal id used to remove exactly the events that were delivered.
const QID: &str = "_qid";

/// The Capgo stats actions this core sends (spec §3.2); the wire form is Capgo's string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `app_launch_start`
    AppLaunchStart,
    /// `app_launch_ready`
    AppLaunchReady,
    /// `app_launch_timeout`
    AppLaunchTimeout,
    /// `app_moved_to_foreground`
    AppMovedToForeground,
    /// `app_moved_to_background`
    AppMovedToBackground,
    /// `blocked_by_server_url`
    BlockedByServerUrl,
    /// `download_zip_start`
    DownloadZipStart,
    /// `download_complete`
    DownloadComplete,
    /// `download_manifest_start`
    DownloadManifestStart,
    /// `download_manifest_complete`
    DownloadManifestComplete,
    /// `download_manifest_file_fail` (version name `"<version>:<file_name>"`)
    DownloadManifestFileFail,
    /// `download_manifest_checksum_fail` (version name `"<version>:<file_name>"`)
    DownloadManifestChecksumFail,
    /// `download_manifest_brotli_fail` (version name `"<version>:<file_name>"`)
    DownloadManifestBrotliFail,
    /// `manifest_path_fail` (version name `"<version>:<file_name>"`)
    ManifestPathFail,
    /// `download_fail`
    DownloadFail,
    /// `checksum_required`
    ChecksumRequired,
    /// `session_key_required`
    SessionKeyRequired,
    /// `checksum_fail`
    ChecksumFail,
    /// `decrypt_fail`
    DecryptFail,
    /// `unzip_fail`
    UnzipFail,
    /// `insufficient_disk_space`
    InsufficientDiskSpace,
    /// `set`
    Set,
    /// `set_fail`
    SetFail,
    /// `set_next`
    SetNext,
    /// `reset`
    Reset,
    /// `update_fail`
    UpdateFail,
    /// `delete`
    Delete,
    /// `rate_limit_reached`
    RateLimitReached,
    /// `os_version_changed`
    OsVersionChanged,
    /// `native_app_version_changed`
    NativeAppVersionChanged,
    /// `download_<N>`: the download crossed N % (a multiple of 10).
    DownloadPercent(u8),
}

impl Action {
    /// Capgo's action string.
    pub fn wire(self) -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed(match self {
            Action::AppLaunchStart => "app_launch_start",
            Action::AppLaunchReady => "app_launch_ready",
            Action::AppLaunchTimeout => "app_launch_timeout",
            Action::AppMovedToForeground => "app_moved_to_foreground",
            Action::AppMovedToBackground => "app_moved_to_background",
            Action::BlockedByServerUrl => "blocked_by_server_url",
            Action::DownloadZipStart => "download_zip_start",
            Action::DownloadComplete => "download_complete",
            Action::DownloadManifestStart => "download_manifest_start",
            Action::DownloadManifestComplete => "download_manifest_complete",
            Action::DownloadManifestFileFail => "download_manifest_file_fail",
            Action::DownloadManifestChecksumFail => "download_manifest_checksum_fail",
            Action::DownloadManifestBrotliFail => "download_manifest_brotli_fail",
            Action::ManifestPathFail => "manifest_path_fail",
            Action::DownloadFail => "download_fail",
            Action::ChecksumRequired => "checksum_required",
            Action::SessionKeyRequired => "session_key_required",
            Action::ChecksumFail => "checksum_fail",
            Action::DecryptFail => "decrypt_fail",
            Action::UnzipFail => "unzip_fail",
            Action::InsufficientDiskSpace => "insufficient_disk_space",
            Action::Set => "set",
            Action::SetFail => "set_fail",
            Action::SetNext => "set_next",
            Action::Reset => "reset",
            Action::UpdateFail => "update_fail",
            Action::Delete => "delete",
            Action::RateLimitReached => "rate_limit_reached",
            Action::OsVersionChanged => "os_version_changed",
            Action::NativeAppVersionChanged => "native_app_version_changed",
            Action::DownloadPercent(n) => return format!("download_{n}").into(),
        })
    }
}

/// One stats event before it is stamped with the info object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// What happened.
    pub action: Action,
    /// The version the event is about.
    pub version_name: String,
    /// The previous version, or `""`.
    pub old_version_name: String,
    /// Extra string fields.
    pub metadata: Vec<(String, String)>,
}

impl Event {
    /// An event with no previous version and no metadata.
    pub fn new(action: Action, version: &str) -> Self {
        Self {
            action,
            version_name: version.into(),
            old_version_name: String::new(),
            metadata: Vec::new(),
        }
    }

    /// Sets the previous version.
    pub fn old(mut self, old: &str) -> Self {
        self.old_version_name = old.into();
        self
    }

    /// Adds a metadata field (at most [`MAX_META`] bytes of it: server messages end up here).
    pub fn meta(mut self, k: &str, v: impl Into<String>) -> Self {
        let mut v: String = v.into();
        if v.len() > MAX_META {
            let mut end = MAX_META;
            while !v.is_char_boundary(end) {
                end -= 1;
            }
            v.truncate(end);
        }
        self.metadata.push((k.into(), v));
        self
    }

    /// The wire object: `info` plus this event's fields.
    pub fn to_json(&self, info: &Value, timestamp_ms: u64) -> Value {
        let mut o = info.as_object().cloned().unwrap_or_default();
        o.insert("action".into(), json!(self.action.wire()));
        o.insert("version_name".into(), json!(self.version_name));
        o.insert("old_version_name".into(), json!(self.old_version_name));
        o.insert("timestamp".into(), json!(timestamp_ms));
        if !self.metadata.is_empty() {
            let m: Map<String, Value> = self
                .metadata
                .iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect();
            o.insert("metadata".into(), Value::Object(m));
        }
        Value::Object(o)
    }
}

fn load(store: &DataFolder) -> Vec<Value> {
    fs::read(store.root().join(QUEUE_FILE))
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|v| v.get("events").and_then(Value::as_array).cloned())
        .unwrap_or_default()
}

fn save(store: &DataFolder, events: &[Value]) -> Result<()> {
    let bytes = serde_json::to_vec(&json!({"format": 1, "events": events}))
        .map_err(|e| Error::StateFormat(format!("cannot encode stats: {e}")))?;
    write_atomic(&store.root().join(QUEUE_FILE), &bytes)
}

/// Appends events to the durable queue (the caller holds the store lock), keeping the newest 200.
pub fn enqueue(store: &DataFolder, events: Vec<Value>) -> Result<()> {
    let mut queue = load(store);
    for mut e in events {
        if let Some(o) = e.as_object_mut() {
            o.insert(QID.into(), json!(random_alnum(12)?));
        }
        queue.push(e);
    }
    if queue.len() > MAX_QUEUED {
        let extra = queue.len() - MAX_QUEUED;
        queue.drain(..extra);
    }
    save(store, &queue)
}

/// Empties the queue (stats were disabled).
pub fn clear(store: &DataFolder) -> Result<()> {
    let _ = fs::remove_file(store.root().join(QUEUE_FILE));
    Ok(())
}

/// A snapshot of the queued events (with their internal ids).
pub fn snapshot(store: &DataFolder) -> Vec<Value> {
    load(store)
}

/// Removes delivered (or permanently refused) events by internal id.
pub fn remove(store: &DataFolder, sent: &[Value]) -> Result<()> {
    let ids: Vec<&str> = sent
        .iter()
        .filter_map(|e| e.get(QID).and_then(Value::as_str))
        .collect();
    let queue: Vec<Value> = load(store)
        .into_iter()
        .filter(|e| {
            e.get(QID)
                .and_then(Value::as_str)
                .is_none_or(|q| !ids.contains(&q))
        })
        .collect();
    save(store, &queue)
}

/// What a send of one batch came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendOutcome {
    /// Delivered (2xx): drop the batch.
    Delivered,
    /// Permanently refused (4xx other than 408/429): drop the batch.
    Refused,
    /// Try again later (408, 5xx, network).
    Retry,
    /// HTTP 429: keep the batch and stop sending.
    RateLimited,
}

/// A 429's hints: the `Retry-After` header and the body.
pub type RateLimitHint = (Option<String>, Vec<u8>);

/// POSTs one batch as a JSON array (without the internal ids), over by `deadline` whatever the
/// server does. Blocks; network I/O.
pub fn send(
    http: &Http,
    url: &str,
    batch: &[Value],
    deadline: std::time::Instant,
) -> (SendOutcome, Option<RateLimitHint>) {
    let body: Vec<Value> = batch
        .iter()
        .map(|e| {
            let mut e = e.clone();
            if let Some(o) = e.as_object_mut() {
                o.remove(QID);
            }
            e
        })
        .collect();
    let body = Value::Array(body);
    match http.json_until(
        Method::Post,
        url,
        Some(&body),
        deadline,
        None,
        BodyCap::STATS,
    ) {
        Ok(r) if (200..300).contains(&r.status) => (SendOutcome::Delivered, None),
        Ok(r) if r.status == 429 => (SendOutcome::RateLimited, Some((r.retry_after, r.body))),
        Ok(r) if r.status == 408 || r.status >= 500 => (SendOutcome::Retry, None),
        Ok(_) => (SendOutcome::Refused, None),
        Err(_) => (SendOutcome::Retry, None),
    }
}
