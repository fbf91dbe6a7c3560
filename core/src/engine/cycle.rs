//! Cycle: the one update orchestrator — check → refuse → fetch (zip | delta) → decide → activate → report — run by a foreground (Capgo `backgroundDownload`), a periodic check, `triggerUpdateCheck` and every headless `update` alike.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use serde_json::json;

use super::{Inner, delay};
use crate::bundle::fs_atomic::random_alnum;
use crate::config::AutoUpdateMode;
use crate::effects::{Effects, HostAction, bundle_json};
use crate::error::Result;
use crate::net::check::{CheckResult, Release};
use crate::net::download::DownloadListener;
use crate::net::stats::{Action, Event};
use crate::store::state::{BUILTIN, BundleInfo, BundleStatus};
use crate::time::iso8601;
use crate::update::{self, Ctx, Fetched, UpdateOutcome};

/// Download progress from the one source every surface listens to: `download` events (the
/// transfer mapped onto Capgo's 10–70 %) and a `download_<N>` stat at each multiple of 10 for
/// the host, and the raw figures for a typed listener (UniFFI `ProgressListener`, the CLI's
/// progress bar).
struct Progress {
    inner: Arc<Inner>,
    bundle: BundleInfo,
    listener: Option<Arc<dyn DownloadListener>>,
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
    fn on_start(&self) {
        if let Some(l) = &self.listener {
            l.on_start();
        }
        self.emit(0);
    }

    fn on_progress(&self, received: u64, total: Option<u64>, percent: u8) {
        if let Some(l) = &self.listener {
            l.on_progress(received, total, percent);
        }
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

/// How a downloaded update is applied (the decide step).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    /// Make it current now.
    Apply,
    /// Queue it as next.
    Queue,
    /// Leave it downloaded (`onlyDownload`).
    Keep,
}

impl Inner {
    /// Whether a downloaded update would be applied at once now (mode, splash time-out).
    /// `consume` uses up the one-shot modes (`onLaunch`, `atInstall`).
    pub(super) fn direct_now(&self, consume: bool) -> bool {
        let mut rt = super::lock(&self.rt);
        if rt.splash_timed_out {
            return false;
        }
        match self.config().auto_update {
            AutoUpdateMode::Always => true,
            AutoUpdateMode::OnLaunch => {
                let ok = !rt.on_launch_direct_used;
                if consume {
                    rt.on_launch_direct_used = true;
                }
                ok
            }
            AutoUpdateMode::AtInstall => {
                drop(rt);
                self.store
                    .with_state(|_, s| {
                        let f = s.installed_or_updated;
                        if consume {
                            s.installed_or_updated = false;
                        }
                        Ok(f)
                    })
                    .unwrap_or(false)
            }
            _ => false,
        }
    }

    /// The decide step: the one policy (`autoUpdate`, with `directUpdate` folded in) applied to
    /// this process's facts.
    fn decide(&self) -> Decision {
        match self.config().auto_update {
            AutoUpdateMode::OnlyDownload => Decision::Keep,
            _ if self.direct_now(true) => Decision::Apply,
            _ => Decision::Queue,
        }
    }

    /// The context of one update's steps: their stats and events are published as they happen.
    fn with_ctx<T>(self: &Arc<Self>, f: impl FnOnce(&Ctx<'_>) -> T) -> T {
        let registry = self.registry();
        let me = self.clone();
        let report = move |fx: Effects| me.publish(fx);
        let ctx = Ctx {
            store: registry.store(),
            registry: &registry,
            backoff: Duration::from_millis(self.options.retry_backoff_ms),
            report: &report,
        };
        f(&ctx)
    }

    /// Downloads and installs `release` with progress (the `download` 0 % event first,
    /// `download` 100 % and `downloadComplete` last). Blocks; network I/O.
    pub(super) fn fetch_with_progress(
        self: &Arc<Self>,
        release: &Release,
        listener: Option<Arc<dyn DownloadListener>>,
    ) -> Result<std::result::Result<Fetched, UpdateOutcome>> {
        let id = random_alnum(10)?;
        let progress = Arc::new(Progress {
            inner: self.clone(),
            bundle: BundleInfo {
                id: id.clone(),
                version: release.version.clone(),
                downloaded: iso8601(self.store.now_ms()),
                checksum: String::new(),
                status: BundleStatus::Downloading,
            },
            listener,
            last: AtomicU8::new(0),
            last_stat: AtomicU8::new(0),
        });
        let deadline = crate::time::after(Duration::from_secs(self.config().update_timeout_s));
        let as_listener: Arc<dyn DownloadListener> = progress.clone();
        let fetched = self.with_ctx(|ctx| {
            ctx.registry.within(deadline, || {
                update::fetch_release(ctx, release, Some(&id), deadline, Some(as_listener))
            })
        })?;
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

    /// One update cycle, ending with `noNeedUpdate` (unless suppressed) and `appReady`.
    pub(super) fn run_cycle(
        self: &Arc<Self>,
        listener: Option<Arc<dyn DownloadListener>>,
    ) -> Result<UpdateOutcome> {
        let mut fx = Effects::none();
        let step = match self.cycle(listener, &mut fx) {
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
        if step.check_failed
            && let UpdateOutcome::Failed { error, message } = &step.outcome
        {
            fx.stat(
                Event::new(Action::DownloadFail, &current.version)
                    .meta("error", error.as_str())
                    .meta("message", message.as_str()),
            );
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
        if self.pages && self.config().auto_splashscreen {
            fx.action(HostAction::SplashHide);
        }
        self.publish(fx);
        Ok(step.outcome)
    }

    fn cycle(
        self: &Arc<Self>,
        listener: Option<Arc<dyn DownloadListener>>,
        fx: &mut Effects,
    ) -> Result<Step> {
        let registry = self.registry();
        let current = self.current()?;
        if registry.store().config().update_url.is_empty() {
            return Ok(Step::quiet(
                UpdateOutcome::UpToDate {
                    message: "updateUrl is empty: update checks are disabled".into(),
                },
                "disabled",
            ));
        }
        // Check.
        let deadline = crate::time::after(Duration::from_secs(self.config().update_timeout_s));
        let latest = registry.within(deadline, || registry.latest(None, None))?;
        for s in &latest.stats {
            fx.stat(s.clone());
        }
        let raw = &latest.raw;
        let text = |k: &str| raw.get(k).and_then(|v| v.as_str()).unwrap_or("");
        let version = text("version").to_string();
        let breaking = ["breaking", "major"]
            .iter()
            .any(|k| raw.get(*k).and_then(|v| v.as_bool()).unwrap_or(false))
            || text("error") == "disable_auto_update_to_major"
            || text("message") == "store_update_required";
        if breaking {
            fx.event("breakingAvailable", json!({"version": version}));
            fx.event("majorAvailable", json!({"version": version}));
        }
        if raw.contains_key("error") || raw.contains_key("kind") {
            let kind = match text("kind") {
                k @ ("up_to_date" | "blocked") => k,
                _ => "failed",
            };
            fx.event(
                "updateCheckResult",
                json!({"kind": kind, "error": raw.get("error").cloned().unwrap_or_default(),
                       "message": raw.get("message").cloned().unwrap_or_default(),
                       "statusCode": raw.get("statusCode").cloned().unwrap_or_default(),
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
            CheckResult::Available(release) => self.take_release(&release, listener, fx)?,
        })
    }

    /// The server sent the app back to its builtin bundle.
    fn to_builtin(&self, current: &BundleInfo, fx: &mut Effects) -> Result<Step> {
        if current.id == BUILTIN {
            // Already there: nothing changes (the JS side sees "No need to update"); the
            // outcome still says what the server asked for.
            return Ok(Step::quiet(UpdateOutcome::Builtin, "No need to update"));
        }
        match self.decide() {
            Decision::Keep => {
                let builtin = self.store.builtin_info();
                fx.event("updateAvailable", json!({"bundle": bundle_json(&builtin)}));
                Ok(Step {
                    suppress_no_need: true,
                    ..Step::quiet(
                        UpdateOutcome::Builtin,
                        "Latest version is builtin, autoUpdate onlyDownload",
                    )
                })
            }
            Decision::Apply if self.delays()?.is_empty() => {
                self.store.reset(false)?;
                let shown = if self.pages {
                    self.reload_page(false, fx)?.bundle
                } else {
                    self.current()?
                };
                fx.stat(Event::new(Action::Reset, &shown.version).old(&current.version));
                Ok(Step::quiet(
                    UpdateOutcome::Builtin,
                    "Updated to builtin version",
                ))
            }
            _ => {
                self.next(BUILTIN, fx)?;
                Ok(Step::quiet(
                    UpdateOutcome::Builtin,
                    "Next update will be to builtin version",
                ))
            }
        }
    }

    fn delays(&self) -> Result<Vec<crate::store::state::DelayCondition>> {
        self.check_cancel_delay(delay::Source::Check)
    }

    /// A newer bundle is offered: refuse it (downgrade, known-bad), fetch it (or reuse an
    /// installed copy), then apply, queue or only announce it.
    fn take_release(
        self: &Arc<Self>,
        release: &Release,
        listener: Option<Arc<dyn DownloadListener>>,
        fx: &mut Effects,
    ) -> Result<Step> {
        let fetched = match self.fetch_with_progress(release, listener)? {
            Ok(f) => f,
            Err(outcome) => {
                let message = match &outcome {
                    UpdateOutcome::Failed { error, .. } if error == "known_bad_version" => {
                        "Latest bundle already exists, and is in error state. Aborting update."
                    }
                    _ => "Error downloading file",
                };
                return Ok(Step {
                    outcome,
                    message: message.into(),
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
        match self.decide() {
            Decision::Keep => Ok(Step {
                suppress_no_need: true,
                ..Step::quiet(
                    installed(false, bundle),
                    "update downloaded, autoUpdate onlyDownload",
                )
            }),
            Decision::Apply if !self.delays()?.is_empty() => Ok(Step::quiet(
                installed(false, bundle),
                "Update delayed until delay conditions met",
            )),
            Decision::Apply => {
                let shown = self.set(&bundle.id, fx)?;
                Ok(Step::quiet(installed(true, shown), "Update installed"))
            }
            Decision::Queue => {
                let b = self.next(&bundle.id, fx)?;
                Ok(Step::quiet(
                    installed(false, b),
                    "update downloaded, will install next background",
                ))
            }
        }
    }
}
