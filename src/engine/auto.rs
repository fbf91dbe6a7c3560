//! Auto: one auto-update cycle (Capgo `backgroundDownload`) — check, download with progress events, then queue, apply or only announce per mode.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::host::{Effects, HostAction, bundle_json};
use super::{AutoUpdateMode, Inner, delay};
use crate::check::{CheckResult, Release};
use crate::download::DownloadListener;
use crate::error::Result;
use crate::fs_atomic::random_alnum;
use crate::state::{BUILTIN, BundleInfo, BundleStatus};
use crate::stats::{Action, Event};
use crate::time::{iso8601, now_ms};
use crate::update::{Fetched, UpdateOutcome};

/// What one auto-update cycle came to (the same shape `liveupdate device update` prints).
pub type CycleOutcome = UpdateOutcome;

/// Download progress as Capgo reports it: `download` events with the transfer mapped onto
/// 10–70 %, and a `download_<N>` stat at each multiple of 10.
struct Progress {
    inner: Arc<Inner>,
    bundle: BundleInfo,
    last: AtomicU8,
    last_stat: AtomicU8,
}

impl Progress {
    fn emit(&self, percent: u8) {
        if self.last.fetch_max(percent, Ordering::SeqCst) >= percent && percent != 0 {
            return;
        }
        let mut fx = Effects::none();
        let step = percent / 10 * 10;
        if self.last_stat.fetch_max(step + 1, Ordering::SeqCst) <= step {
            fx.stat(Event::new(
                Action::DownloadPercent(step),
                &self.bundle.version,
            ));
        }
        fx.event(
            "download",
            json!({"percent": percent, "bundle": bundle_json(&self.bundle)}),
        );
        self.inner.publish(fx);
    }
}

impl DownloadListener for Progress {
    fn on_progress(&self, _received: u64, _total: Option<u64>, percent: u8) {
        let mapped = 10 + u16::from(percent.min(100)) * 60 / 100;
        self.emit(u8::try_from(mapped).unwrap_or(70));
    }
}

/// What a cycle decided, before its closing events.
struct Step {
    outcome: UpdateOutcome,
    message: String,
    /// A failure counted as an error: `downloadFailed {version}` (+ `download_fail` for checks).
    failed_version: Option<String>,
    check_failed: bool,
    suppress_no_need: bool,
}

impl Step {
    fn quiet(outcome: UpdateOutcome, message: impl Into<String>) -> Self {
        Self {
            outcome,
            message: message.into(),
            failed_version: None,
            check_failed: false,
            suppress_no_need: false,
        }
    }
}

fn str_of<'a>(m: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    m.get(k).and_then(Value::as_str)
}

impl Inner {
    /// Downloads and installs `release` as bundle `id`, with progress events. The `download` 0 %
    /// event comes first, `download` 100 % and `downloadComplete` last. Blocks; network I/O.
    pub(super) fn fetch_with_progress(
        self: &Arc<Self>,
        release: &Release,
    ) -> Result<std::result::Result<Fetched, UpdateOutcome>> {
        let id = random_alnum(10)?;
        let progress = Arc::new(Progress {
            inner: self.clone(),
            bundle: BundleInfo {
                id: id.clone(),
                version: release.version.clone(),
                downloaded: iso8601(now_ms()),
                checksum: String::new(),
                status: BundleStatus::Downloading,
            },
            last: AtomicU8::new(0),
            last_stat: AtomicU8::new(0),
        });
        let core = self.core();
        let deadline = crate::time::after(Duration::from_secs(self.base.update_timeout_s));
        progress.emit(0);
        let listener: Arc<dyn DownloadListener> = progress.clone();
        let fetched = core.fetch_release(release, Some(&id), deadline, Some(listener))?;
        if let Ok(f) = &fetched
            && !f.reused
        {
            let mut fx = Effects::none();
            fx.event(
                "download",
                json!({"percent": 100, "bundle": bundle_json(&f.bundle)}),
            );
            fx.event(
                "downloadComplete",
                json!({"bundle": bundle_json(&f.bundle)}),
            );
            self.publish(fx);
        }
        Ok(fetched)
    }

    /// One auto-update cycle, ending with `noNeedUpdate` (unless suppressed) and `appReady`.
    pub(super) fn run_cycle(self: &Arc<Self>) -> Result<CycleOutcome> {
        let mut fx = Effects::none();
        let step = match self.cycle(&mut fx) {
            Ok(s) => s,
            Err(e) => {
                log::error!("update check: {e}");
                Step {
                    outcome: UpdateOutcome::Failed {
                        error: "internal_error".into(),
                        message: e.to_string(),
                    },
                    message: "Error in update check".into(),
                    failed_version: None,
                    check_failed: true,
                    suppress_no_need: false,
                }
            }
        };
        let current = self.current()?;
        if step.check_failed {
            let code = match &step.outcome {
                UpdateOutcome::Failed { error, .. } => error.clone(),
                _ => String::new(),
            };
            fx.stat(Event::new(Action::DownloadFail, &current.version).meta("error", code));
        }
        if let Some(v) = &step.failed_version {
            fx.event("downloadFailed", json!({"version": v}));
        }
        if !step.suppress_no_need {
            fx.event("noNeedUpdate", json!({"bundle": bundle_json(&current)}));
        }
        fx.event(
            "appReady",
            json!({"bundle": bundle_json(&current), "status": step.message}),
        );
        if self.plugin.auto_splashscreen {
            fx.action(HostAction::SplashHide);
        }
        self.publish(fx);
        Ok(step.outcome)
    }

    fn cycle(self: &Arc<Self>, fx: &mut Effects) -> Result<Step> {
        let core = self.core();
        let current = self.current()?;
        if core.device().config().update_url.is_empty() {
            return Ok(Step::quiet(
                UpdateOutcome::UpToDate {
                    message: "updateUrl is empty: update checks are disabled".into(),
                },
                "disabled",
            ));
        }
        let latest = core.latest(None, None)?;
        let raw = &latest.raw;
        let version = str_of(raw, "version").unwrap_or("").to_string();
        let breaking = ["breaking", "major"]
            .iter()
            .any(|k| raw.get(*k).and_then(Value::as_bool).unwrap_or(false))
            || str_of(raw, "error") == Some("disable_auto_update_to_major")
            || str_of(raw, "message") == Some("store_update_required");
        if breaking {
            fx.event("breakingAvailable", json!({"version": version}));
            fx.event("majorAvailable", json!({"version": version}));
        }
        if raw.contains_key("error") || raw.contains_key("kind") {
            let kind = str_of(raw, "kind")
                .filter(|k| matches!(*k, "up_to_date" | "blocked"))
                .unwrap_or("failed");
            fx.event(
                "updateCheckResult",
                json!({"kind": kind, "error": raw.get("error").cloned().unwrap_or(Value::Null),
                       "message": raw.get("message").cloned().unwrap_or(Value::Null),
                       "statusCode": raw.get("statusCode").cloned().unwrap_or(Value::Null),
                       "version": version, "bundle": bundle_json(&current)}),
            );
        }
        Ok(match latest.result {
            CheckResult::UpToDate { error, message } => {
                let msg = if error.is_some() {
                    message.clone()
                } else {
                    "No need to update".into()
                };
                Step::quiet(UpdateOutcome::UpToDate { message }, msg)
            }
            CheckResult::Blocked { error, message } => Step::quiet(
                UpdateOutcome::Blocked {
                    error,
                    message: message.clone(),
                },
                message,
            ),
            CheckResult::Failed { error, message, .. } => Step {
                outcome: UpdateOutcome::Failed {
                    error,
                    message: message.clone(),
                },
                message,
                failed_version: Some(if version.is_empty() {
                    current.version.clone()
                } else {
                    version
                }),
                check_failed: true,
                suppress_no_need: false,
            },
            CheckResult::Builtin => self.to_builtin(&current, fx)?,
            CheckResult::Available(release) => self.take_release(&release, &current, fx)?,
        })
    }

    /// The server sent the app back to its builtin bundle.
    fn to_builtin(&self, current: &BundleInfo, fx: &mut Effects) -> Result<Step> {
        if current.id == BUILTIN {
            return Ok(Step::quiet(
                UpdateOutcome::UpToDate {
                    message: "already on the builtin bundle".into(),
                },
                "No need to update",
            ));
        }
        let core = self.core();
        if self.plugin.auto_update == AutoUpdateMode::OnlyDownload {
            let builtin = core.device().builtin_info();
            fx.event("updateAvailable", json!({"bundle": bundle_json(&builtin)}));
            return Ok(Step {
                suppress_no_need: true,
                ..Step::quiet(
                    UpdateOutcome::Builtin,
                    "Latest version is builtin, autoUpdate onlyDownload",
                )
            });
        }
        if self.direct_now(true) && self.delays()?.is_empty() {
            core.device().reset(false)?;
            let l = self.reload_page(false, fx)?;
            fx.stat(Event::new(Action::Reset, &l.bundle.version).old(&current.version));
            return Ok(Step::quiet(
                UpdateOutcome::Builtin,
                "Updated to builtin version",
            ));
        }
        let b = core.device().next(BUILTIN)?;
        fx.event("setNext", json!({"bundle": bundle_json(&b)}));
        fx.stat(Event::new(Action::SetNext, &b.version).old(&current.version));
        Ok(Step::quiet(
            UpdateOutcome::Builtin,
            "Next update will be to builtin version",
        ))
    }

    fn delays(&self) -> Result<Vec<crate::state::DelayCondition>> {
        self.check_cancel_delay(delay::Source::Check)
    }

    /// A newer bundle is offered: download it (or reuse an installed copy), then queue, apply or
    /// only announce it.
    fn take_release(
        self: &Arc<Self>,
        release: &Release,
        current: &BundleInfo,
        fx: &mut Effects,
    ) -> Result<Step> {
        let core = self.core();
        let failed_before = core
            .device()
            .status()?
            .bundles
            .iter()
            .any(|b| b.version == release.version && b.status == BundleStatus::Error);
        if failed_before {
            return Ok(Step {
                outcome: UpdateOutcome::Failed {
                    error: "known_bad_version".into(),
                    message: format!(
                        "version {} failed on this device before; it will not be installed again",
                        release.version
                    ),
                },
                message: "Latest bundle already exists, and is in error state. Aborting update."
                    .into(),
                failed_version: Some(release.version.clone()),
                check_failed: false,
                suppress_no_need: false,
            });
        }
        let fetched = match self.fetch_with_progress(release)? {
            Ok(f) => f,
            Err(outcome) => {
                return Ok(Step {
                    outcome,
                    message: "Error downloading file".into(),
                    failed_version: Some(release.version.clone()),
                    check_failed: false,
                    suppress_no_need: false,
                });
            }
        };
        let bundle = fetched.bundle.clone();
        fx.event("updateAvailable", json!({"bundle": bundle_json(&bundle)}));
        let installed = |applied: bool, bundle: BundleInfo| UpdateOutcome::Installed {
            bundle,
            applied,
            download: fetched.download,
        };
        if self.plugin.auto_update == AutoUpdateMode::OnlyDownload {
            return Ok(Step {
                suppress_no_need: true,
                ..Step::quiet(
                    installed(false, bundle),
                    "update downloaded, autoUpdate onlyDownload",
                )
            });
        }
        if self.direct_now(true) {
            if !self.delays()?.is_empty() {
                return Ok(Step::quiet(
                    installed(false, bundle),
                    "Update delayed until delay conditions met",
                ));
            }
            core.device().set(&bundle.id)?;
            let l = self.reload_page(false, fx)?;
            fx.stat(Event::new(Action::Set, &l.bundle.version).old(&current.version));
            fx.event("set", json!({"bundle": bundle_json(&l.bundle)}));
            return Ok(Step::quiet(installed(true, l.bundle), "Update installed"));
        }
        let b = core.device().next(&bundle.id)?;
        fx.event("setNext", json!({"bundle": bundle_json(&b)}));
        fx.stat(Event::new(Action::SetNext, &b.version).old(&current.version));
        Ok(Step::quiet(
            installed(false, b),
            "update downloaded, will install next background",
        ))
    }
}
