//! Update: the steps of the one update flow — refuse (downgrade, known-bad), fetch (zip or delta: download, verify, install) — and what an update comes to; the engine's update cycle (`engine/cycle.rs`) runs them for every surface.
//!
//! ```text
//! check (net::Registry::latest) → refuse → fetch (zip: fetch.rs | delta: delta.rs + delta_fetch.rs)
//!   → decide (AutoUpdateMode) → activate (a transition) → report (Effects: stats, events)
//! ```
//!
//! Every step reports what it causes as [`Effects`] through the context's `report`, so the
//! stats of an update are written in one place (the engine's `publish`), whichever surface runs
//! it. Nothing here knows about pages or JS.

use std::time::Duration;

use serde_json::{Value, json};

use crate::config::Config;
use crate::effects::Effects;
use crate::error::{Error, Result};
use crate::net::Registry;
use crate::net::download::DownloadStats;
use crate::net::stats::{Action, Event};
use crate::store::BundleStore;
use crate::store::state::BundleInfo;

mod delta;
mod delta_fetch;
mod fetch;

pub(crate) use delta::{bundle_download_size, missing_bundle_files};
pub(crate) use fetch::fetch_release;

/// What one `update()` came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// A new bundle was installed (or an installed one reused) and queued or applied.
    Installed {
        /// The bundle.
        bundle: BundleInfo,
        /// True when it was made current right away (`directUpdate`), false when queued as next.
        applied: bool,
        /// Transfer figures (zero when an installed bundle was reused).
        download: DownloadStats,
    },
    /// Nothing to do.
    UpToDate {
        /// The server's message.
        message: String,
    },
    /// The server sent the app back to its builtin bundle (queued or applied).
    Builtin,
    /// The server refuses updates for this device.
    Blocked {
        /// Machine code.
        error: String,
        /// Human text.
        message: String,
    },
    /// The update failed; the current bundle is untouched.
    Failed {
        /// Machine code (`network_error`, `checksum_fail`, `too_many_requests`, `known_bad_version`, …).
        error: String,
        /// Human text.
        message: String,
    },
}

impl UpdateOutcome {
    /// The JSON the CLI and the C ABI print: `{"result", "bundle", "error"}` (+ `applied` and
    /// `download` figures when installed). `current` is reported as the bundle when nothing was
    /// installed but the app keeps running on it (up to date, builtin).
    pub fn to_json(&self, current: &BundleInfo) -> Value {
        match self {
            UpdateOutcome::Installed {
                bundle,
                applied,
                download,
            } => {
                let mut out = json!({
                    "result": "installed", "bundle": bundle, "error": null, "applied": applied,
                    "download": {"attempts": download.attempts, "network_bytes": download.network_bytes,
                                 "resumed_bytes": download.resumed_bytes},
                });
                if let Some(d) = download.delta {
                    out["delta"] = json!({
                        "files": d.files, "reused": d.reused, "fetched": d.fetched,
                        "reused_bytes": d.reused_bytes, "fetched_bytes": d.fetched_bytes,
                    });
                }
                out
            }
            UpdateOutcome::UpToDate { message } => {
                json!({"result": "up_to_date", "bundle": current, "error": null, "message": message})
            }
            UpdateOutcome::Builtin => {
                json!({"result": "builtin", "bundle": current, "error": null})
            }
            UpdateOutcome::Blocked { error, message }
            | UpdateOutcome::Failed { error, message } => {
                json!({"result": self.kind(), "bundle": null, "error": {"code": error, "message": message}})
            }
        }
    }

    /// `installed`, `up_to_date`, `builtin`, `blocked` or `failed`.
    pub fn kind(&self) -> &'static str {
        match self {
            UpdateOutcome::Installed { .. } => "installed",
            UpdateOutcome::UpToDate { .. } => "up_to_date",
            UpdateOutcome::Builtin => "builtin",
            UpdateOutcome::Blocked { .. } => "blocked",
            UpdateOutcome::Failed { .. } => "failed",
        }
    }
}

/// A bundle [`fetch_release`] installed or found installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fetched {
    /// Its record (`pending`, or the existing copy's).
    pub bundle: BundleInfo,
    /// Transfer figures (zero when reused).
    pub download: DownloadStats,
    /// True when an installed copy was reused.
    pub reused: bool,
}

/// What one update's steps need: where bundles go, who talks to the server, the configuration,
/// and where what they cause goes as it happens.
pub(crate) struct Ctx<'a> {
    /// The bundle store.
    pub store: &'a BundleStore,
    /// The registry client (HTTP, cancel flag, deadlines).
    pub registry: &'a Registry,
    /// First retry delay of downloads.
    pub backoff: Duration,
    /// Publishes effects now (stats queued durably, events to the host).
    pub report: &'a (dyn Fn(Effects) + Sync),
}

impl Ctx<'_> {
    fn config(&self) -> &Config {
        self.store.config()
    }

    /// Reports stats now.
    fn stats(&self, events: Vec<Event>) {
        let mut fx = Effects::none();
        for e in events {
            fx.stat(e);
        }
        (self.report)(fx);
    }
}

pub(crate) fn failed(error: &str, message: impl Into<String>) -> UpdateOutcome {
    UpdateOutcome::Failed {
        error: error.into(),
        message: message.into(),
    }
}

/// The stats action that names a pipeline failure (Capgo's names).
fn failure_action(e: &Error) -> Action {
    match e {
        Error::ChecksumMismatch | Error::ChecksumFormat(_) => Action::ChecksumFail,
        Error::SessionKey(_) => Action::SessionKeyRequired,
        Error::UnsafeEntry { .. } | Error::Zip(_) | Error::MissingIndexHtml | Error::Limit(_) => {
            Action::UnzipFail
        }
        Error::Decrypt(_) => Action::DecryptFail,
        Error::NoSpace { .. } => Action::InsufficientDiskSpace,
        _ => Action::DownloadFail,
    }
}

/// The machine code reported for a pipeline failure.
fn failure_code(e: &Error) -> &'static str {
    match e {
        Error::Network(_) => "network_error",
        Error::UrlPolicy(_) => "insecure_url",
        Error::Cancelled => "cancelled",
        Error::NoSpace { .. } => "insufficient_disk_space",
        other => match failure_action(other) {
            Action::ChecksumFail => "checksum_fail",
            Action::SessionKeyRequired => "session_key_required",
            Action::UnzipFail => "unzip_fail",
            Action::DecryptFail => "decrypt_fail",
            Action::InsufficientDiskSpace => "insufficient_disk_space",
            _ => "download_fail",
        },
    }
}

/// The one refusal rule, applied before any transfer to zip and delta releases alike: the
/// downgrade policy, and a release whose version **and** content (the zip's SHA-256, or a delta
/// plan's digest) failed on this device before. Content, not the label alone: a failure is a
/// property of bytes, a fixed build re-published under the same label installs, and the same
/// bytes are never fetched again (no download → rollback → download loop). Its `download_fail`
/// stat is reported. `docs/state-machine.md` says why.
fn refusal(ctx: &Ctx<'_>, v: &str, content: &str) -> Result<Option<UpdateOutcome>> {
    if ctx.store.is_downgrade_refused(v)? {
        ctx.stats(vec![
            Event::new(Action::DownloadFail, v).meta("error", "downgrade_refused"),
        ]);
        return Ok(Some(failed(
            "downgrade_refused",
            format!(
                "version {v} is older than a version that already ran successfully (downgradePolicy: refuse)"
            ),
        )));
    }
    if ctx.store.is_known_bad(v, content)? {
        ctx.stats(vec![
            Event::new(Action::DownloadFail, v).meta("error", "known_bad_version"),
        ]);
        return Ok(Some(failed(
            "known_bad_version",
            format!("version {v} failed on this device before; it will not be installed again"),
        )));
    }
    Ok(None)
}

fn sanitize(v: &str) -> String {
    v.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect()
}
