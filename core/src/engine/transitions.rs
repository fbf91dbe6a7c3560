//! Transitions: the one set of bundle transitions — launch, ready, timeout, set, next, reset, delete, error, background — each a store operation plus the events, stats and web-view actions it causes, shared by the JS methods and the typed API of every surface.
//!
//! A managed engine (one that shows pages, [`Engine::start`](super::Engine::start)) reloads its
//! web view where a transition changes the bundle shown, and keeps a token per page; a headless
//! engine leaves that to its host, which calls `launch` for the new page.

use serde_json::json;

use super::{Inner, delay, lock};
use crate::effects::{Effects, HostAction, Page, bundle_json};
use crate::error::Result;
use crate::net::stats::{Action, Event};
use crate::store::LaunchResult;
use crate::store::state::{BUILTIN, BundleInfo, Rollback};

fn page_of(l: &LaunchResult) -> Page {
    Page {
        web_root: l.web_root.clone(),
        launch_id: l.launch_id.clone(),
        bundle: l.bundle.clone(),
    }
}

impl Inner {
    /// Launch: a web view starts (the engine's start, or a headless host's `launch`). `kill`
    /// delay conditions lapse; the store's launch decision (roll back an unconfirmed previous
    /// launch, serve builtin if the current bundle is gone, apply a pending `next` unless a
    /// delay condition holds, sweep) — or, when another live process owns the launches, the
    /// current bundle with nothing decided. Stats `app_launch_start` (+ `update_fail` for a
    /// rollback, `set` for an applied next, version changes); event `updateFailed`; a managed
    /// engine loads the page and arms its watchdog. Only the launch decision can fail it: the
    /// bookkeeping around it is logged and skipped when the data folder cannot be written.
    pub(super) fn launch(&self, fx: &mut Effects) -> Result<LaunchResult> {
        let delays = self
            .check_cancel_delay(delay::Source::Killed)
            .unwrap_or_else(|e| {
                log::warn!("delay conditions not read: {e}");
                Vec::new()
            });
        let l = if self.launch_lock.is_some() {
            self.store.launch_with(delays.is_empty())?
        } else {
            self.store.launch_secondary()?
        };
        if self.pages {
            self.arm_page(&l);
            fx.action(HostAction::Load(page_of(&l)));
        }
        fx.stat(Event::new(Action::AppLaunchStart, &l.bundle.version));
        if let Some(r) = &l.rolled_back {
            let failed = self.store.record_of(&r.failed).unwrap_or(None);
            if let Some(b) = &failed {
                if let Err(e) = self.update_prefs(|p| p.last_failed = Some(b.clone())) {
                    log::warn!("the failed update is not recorded: {e}");
                }
                fx.event("updateFailed", json!({"bundle": bundle_json(b)}));
                fx.stat(Event::new(Action::UpdateFail, &b.version));
            }
        }
        if l.applied_next {
            fx.stat(Event::new(Action::Set, &l.bundle.version));
        }
        if let Err(e) = self.version_change_stats(&l.bundle.version, fx) {
            log::warn!("version changes not recorded: {e}");
        }
        let period = self.config().period_check_delay_s;
        if self.pages && period > 0 {
            lock(&self.rt).next_periodic =
                Some(crate::time::after(std::time::Duration::from_secs(period)));
        }
        Ok(l)
    }

    /// Capgo's `os_version_changed` and `native_app_version_changed` at a launch: sent when a
    /// value seen at an earlier start differs; the stored values then move on (they are queued
    /// durably in the same publish, so none is lost).
    fn version_change_stats(&self, version: &str, fx: &mut Effects) -> Result<()> {
        let os = self.options.app.os_version.clone();
        let build = self.version_build();
        let code = self.options.app.version_code.clone();
        let (prev_os, prev_build, prev_code) = self.update_prefs(|p| {
            (
                p.last_version_os.replace(os.clone()),
                p.last_version_build.replace(build.clone()),
                p.last_version_code.replace(code.clone()),
            )
        })?;
        if let Some(prev) = prev_os.filter(|p| *p != os) {
            fx.stat(
                Event::new(Action::OsVersionChanged, version)
                    .meta("previous_version_os", prev)
                    .meta("current_version_os", os),
            );
        }
        let build_changed = prev_build.as_ref().is_some_and(|p| *p != build);
        let code_changed = prev_code.as_ref().is_some_and(|p| *p != code);
        if build_changed || code_changed {
            fx.stat(
                Event::new(Action::NativeAppVersionChanged, version)
                    .meta("previous_version_build", prev_build.unwrap_or_default())
                    .meta("current_version_build", build)
                    .meta("previous_version_code", prev_code.unwrap_or_default())
                    .meta("current_version_code", code),
            );
        }
        Ok(())
    }

    /// A new page in this process (managed engines): optionally applies `next`, records the
    /// launch, tells the host to reload, arms the watchdog. Returns the launch.
    pub(super) fn reload_page(&self, apply_next: bool, fx: &mut Effects) -> Result<LaunchResult> {
        let l = if self.launch_lock.is_some() {
            self.store.relaunch(apply_next)?
        } else {
            self.store.launch_secondary()?
        };
        self.arm_page(&l);
        fx.action(HostAction::Reload(page_of(&l)));
        fx.event("appReloaded", json!({}));
        Ok(l)
    }

    /// The bundle the host shows after a transition changed the current one: a managed engine
    /// reloads its page onto it (returning the page's bundle), a headless one returns it for
    /// its host to reload.
    fn shown_after_change(&self, fx: &mut Effects) -> Result<BundleInfo> {
        if self.pages {
            Ok(self.reload_page(false, fx)?.bundle)
        } else {
            self.current()
        }
    }

    /// Ready (`notifyAppReady`): the page of `launch_id` (a managed engine's current page when
    /// `None`) started fine: its bundle becomes `success` and the fallback; stat
    /// `app_launch_ready` once per page. A stale or foreign token changes nothing.
    pub(super) fn ready(
        &self,
        launch_id: Option<String>,
        fx: &mut Effects,
    ) -> Result<crate::store::ReadyResult> {
        let page_token = lock(&self.rt).page.as_ref().map(|p| p.launch_id.clone());
        let Some(token) = launch_id.or(page_token) else {
            return Ok(crate::store::ReadyResult {
                bundle: self.current()?,
                accepted: false,
            });
        };
        let r = self.store.notify_app_ready(&token)?;
        if r.accepted {
            let first = if self.pages {
                let mut rt = lock(&self.rt);
                match rt.page.as_mut() {
                    Some(p) if p.launch_id == token => {
                        p.confirmed = true;
                        p.watchdog_at = None;
                        !std::mem::replace(&mut p.ready_sent, true)
                    }
                    _ => false,
                }
            } else {
                true
            };
            if first {
                fx.stat(Event::new(Action::AppLaunchReady, &r.bundle.version));
            }
        } else {
            log::info!("notifyAppReady from a page that is no longer current: ignored");
        }
        Ok(r)
    }

    /// Timeout: the page of `launch_id` did not confirm within `appReadyTimeout`: its bundle
    /// becomes `error` (known-bad) and the fallback takes its place; event `updateFailed`, stats
    /// `app_launch_timeout` + `update_fail`; a managed engine reloads. `None` when that launch
    /// is not unconfirmed past its time.
    pub(super) fn timeout(&self, launch_id: &str, fx: &mut Effects) -> Result<Option<Rollback>> {
        let Some(r) = self.store.check_app_ready_timeout(launch_id)? else {
            return Ok(None);
        };
        log::warn!(
            "bundle {} did not call notifyAppReady in time: rolled back to {}",
            r.failed,
            r.to
        );
        let failed = self.store.record_of(&r.failed)?;
        if let Some(b) = &failed {
            self.update_prefs(|p| p.last_failed = Some(b.clone()))?;
            fx.event("updateFailed", json!({"bundle": bundle_json(b)}));
            fx.stat(
                Event::new(Action::AppLaunchTimeout, &b.version)
                    .meta("timeout_ms", self.config().app_ready_timeout_ms.to_string()),
            );
            fx.stat(Event::new(Action::UpdateFail, &b.version));
        }
        if self.pages {
            self.reload_page(false, fx)?;
        }
        Ok(Some(r))
    }

    /// Set: bundle `id` (or builtin) becomes current now; stat `set` (or `set_fail`), event
    /// `set`. Returns the bundle shown.
    pub(super) fn set(&self, id: &str, fx: &mut Effects) -> Result<BundleInfo> {
        let current = self.current()?;
        if let Err(e) = self.store.set(id) {
            let version = self
                .store
                .record_of(id)
                .ok()
                .flatten()
                .map_or(id.to_string(), |b| b.version);
            fx.stat(Event::new(Action::SetFail, &version));
            return Err(e);
        }
        let shown = self.shown_after_change(fx)?;
        fx.stat(Event::new(Action::Set, &shown.version).old(&current.version));
        fx.event("set", json!({"bundle": bundle_json(&shown)}));
        Ok(shown)
    }

    /// Next: bundle `id` (or builtin) is queued for the next launch or background; stat
    /// `set_next`, event `setNext`.
    pub(super) fn next(&self, id: &str, fx: &mut Effects) -> Result<BundleInfo> {
        let current = self.current()?;
        let b = self.store.next(id)?;
        fx.event("setNext", json!({"bundle": bundle_json(&b)}));
        fx.stat(Event::new(Action::SetNext, &b.version).old(&current.version));
        Ok(b)
    }

    /// Reset: back to builtin, to the last confirmed bundle (`to_last_successful`), or to the
    /// pending next (`use_pending`, when it can be served); stat `reset`, event `set` for a
    /// bundle that is not builtin. Returns the bundle shown.
    pub(super) fn reset(
        &self,
        to_last_successful: bool,
        use_pending: bool,
        fx: &mut Effects,
    ) -> Result<BundleInfo> {
        let current = self.current()?;
        let status = self.store.status()?;
        let pending = status
            .next
            .filter(|n| use_pending && n.status.is_servable());
        match pending {
            Some(n) => self.store.set(&n.id)?,
            None => self.store.reset(to_last_successful)?,
        };
        let shown = self.shown_after_change(fx)?;
        fx.stat(Event::new(Action::Reset, &shown.version).old(&current.version));
        if shown.id != BUILTIN {
            fx.event("set", json!({"bundle": bundle_json(&shown)}));
        }
        Ok(shown)
    }

    /// Delete: a stored bundle's files go (not builtin, current, next or fallback); stat
    /// `delete`.
    pub(super) fn delete(&self, id: &str, fx: &mut Effects) -> Result<BundleInfo> {
        let b = self.store.delete(id)?;
        fx.stat(Event::new(Action::Delete, &b.version));
        Ok(b)
    }

    /// Error (`setBundleError`): bundle `id` is marked failed (known-bad); if it was current,
    /// the fallback is shown; stat `update_fail` (reason `setBundleError`). Returns the bundle
    /// marked.
    pub(super) fn error(&self, id: &str, fx: &mut Effects) -> Result<BundleInfo> {
        let current = self.current()?;
        let b = self.store.set_bundle_error(id)?;
        fx.stat(Event::new(Action::UpdateFail, &b.version).meta("reason", "setBundleError"));
        if current.id == id && self.pages {
            // The web view shows a bundle that is now failed: show the one the store fell back to.
            self.reload_page(false, fx)?;
        }
        Ok(b)
    }

    /// Background: the app went to the background: stat `app_moved_to_background`, the
    /// background time kept for delay conditions, and — unless a delay condition holds — a
    /// pending `next` (not `error`, not current) applied: stat `set`, event `set`, a managed
    /// engine reloads. Returns the current bundle afterwards.
    pub(super) fn background(&self, fx: &mut Effects) -> Result<BundleInfo> {
        lock(&self.rt).splash_timed_out = false;
        let current = self.current()?;
        if self.pages
            && self.config().auto_splashscreen
            && self.auto_enabled()
            && self.direct_now(false)
        {
            fx.action(HostAction::SplashShow);
        }
        fx.stat(Event::new(Action::AppMovedToBackground, &current.version));
        let delays = self.check_cancel_delay(delay::Source::Background)?;
        if !delays.is_empty() {
            log::info!("background: next not installed, delay conditions hold");
            return Ok(current);
        }
        let status = self.store.status()?;
        let Some(next) = status.next else {
            return Ok(current);
        };
        if next.id == current.id || !next.status.is_servable() {
            return Ok(current);
        }
        let (applied, now) = if self.pages {
            let l = self.reload_page(true, fx)?;
            (l.applied_next, l.bundle)
        } else {
            let now = self.store.on_background()?;
            (now.id != current.id, now)
        };
        if applied {
            fx.stat(Event::new(Action::Set, &now.version).old(&current.version));
            fx.event("set", json!({"bundle": bundle_json(&now)}));
        }
        Ok(now)
    }
}
