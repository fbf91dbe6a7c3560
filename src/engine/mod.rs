//! Engine: the plugin's behaviour in one façade — every JS method, event and lifecycle rule — owning the store, registry client, stats and timers.
//!
//! ```text
//! host (shell, CLI session, C, UniFFI)                    engine
//! ─────────────────────────────────────                   ──────────────────────────────────────────────
//! Engine::start(options, host)  ──► configs → store → launch decision → Load(page) → timers
//! engine.call("set", {id})      ──► methods::dispatch → transition → Effects → publish (stats queued,
//!                                   then events and web-view actions to the host, in order)
//! engine.foreground()/background() ─► delay conditions, auto-update cycle (own thread), next at background
//! timer thread                  ──► notifyAppReady watchdog (rollback), periodic checks, date delays
//! stats thread                  ──► flushes the durable stats queue about every second
//! engine.shutdown()             ──► cancel, stop timers, flush stats (≤ 2 s)
//! ```
//!
//! Every transition returns the [`Effects`] it causes and `Inner::publish` is the only way out,
//! so no path skips its stats or events. No engine lock is held while the host is called.

mod auto;
pub mod delay;
pub mod host;
pub mod methods;
pub mod options;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::config::UpdaterConfig;
use crate::error::{Error, Result};
use crate::lifecycle::{Device, LaunchResult};
use crate::state::{BUILTIN, BundleInfo, BundleStatus, DelayCondition, PluginPrefs};
use crate::stats::{self, Action};
use crate::time::now_ms;
use crate::update::Updater;

pub use host::{Effect, Effects, Host, HostAction, NoHost, Page, bundle_json};
pub use options::{AutoUpdateMode, EngineOptions, PluginConfig};

/// How long an auto-update check may run before another one is allowed (Capgo `DOWNLOAD_TIMEOUT_MS`).
const CHECK_STUCK_AFTER: Duration = Duration::from_secs(600);
/// Stats are flushed about this often while the app runs (Capgo's flush timer).
const STATS_EVERY: Duration = Duration::from_secs(1);
/// Longest stats flush at process end (clarifications: about 2 s).
const FINAL_FLUSH: Duration = Duration::from_secs(2);
/// One step of background clean-up (the store lock is held for it), and the pause between steps.
const MAINTENANCE_STEP: Duration = Duration::from_millis(50);
const MAINTENANCE_PAUSE: Duration = Duration::from_millis(20);

/// A rejected JS call: Capgo's message, and the code and data Capacitor's `reject` carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Reject {
    /// The message the JS promise rejects with.
    pub message: String,
    /// The error code (`SETCHANNEL_FAILED`, `UNIMPLEMENTED`, …), if any.
    pub code: Option<String>,
    /// Extra data, if any.
    pub data: Option<Value>,
}

impl Reject {
    /// A reject with only a message.
    pub fn msg(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: None,
            data: None,
        }
    }

    /// A reject with a code.
    pub fn code(message: impl Into<String>, code: &str) -> Self {
        Self {
            message: message.into(),
            code: Some(code.into()),
            data: None,
        }
    }

    /// Adds data.
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    /// Capgo's `message` for an internal failure, with the cause in `data` (typed code + text).
    pub fn internal(message: &str, e: &Error) -> Self {
        let public = crate::error::LiveUpdateError::from_ref(e);
        Self::msg(message).with_data(json!({"error": public.code(), "message": public.to_string()}))
    }

    /// The JSON form: `{"message", "code"?, "data"?}`.
    pub fn to_json(&self) -> Value {
        let mut o = json!({"message": self.message});
        if let Some(c) = &self.code {
            o["code"] = json!(c);
        }
        if let Some(d) = &self.data {
            o["data"] = d.clone();
        }
        o
    }
}

/// What can change at run time through the JS API (`setAppId`, `setCustomId`, `set*Url`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Settings {
    app_id: String,
    custom_id: String,
    update_url: String,
    stats_url: String,
    channel_url: String,
}

/// The page the web view shows now.
#[derive(Debug, Clone)]
struct PageState {
    launch_id: String,
    confirmed: bool,
    ready_sent: bool,
    watchdog_at: Option<Instant>,
    /// Re-checks when the watchdog fired a hair early against the wall clock.
    early_fires: u32,
}

/// In-memory runtime state (never persisted: a new process starts it afresh).
#[derive(Debug)]
struct Runtime {
    page: Option<PageState>,
    check_since: Option<Instant>,
    on_launch_direct_used: bool,
    splash_timed_out: bool,
    next_periodic: Option<Instant>,
    stats_dirty: bool,
    stopping: bool,
}

/// The engine's shared core; every thread of the engine holds it.
pub(crate) struct Inner {
    options: EngineOptions,
    plugin: PluginConfig,
    base: UpdaterConfig,
    host: Arc<dyn Host>,
    core: RwLock<Arc<Updater>>,
    settings: Mutex<Settings>,
    rt: Mutex<Runtime>,
    wake: Condvar,
    cancel: Arc<AtomicBool>,
    /// This process owns the data folder's launches (`None`: another live process does, and
    /// this one never rolls back or applies anything at a launch).
    launch_lock: Option<crate::store::LaunchLock>,
}

/// The plugin engine: one per app process and data folder. Thread-safe; calls block the calling
/// thread for their duration (downloads and update checks run for as long as the network needs,
/// bounded by the configured timeouts), so hosts call it off their UI thread.
pub struct Engine {
    inner: Arc<Inner>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn page_of(l: &LaunchResult) -> Page {
    Page {
        web_root: l.web_root.clone(),
        launch_id: l.launch_id.clone(),
        bundle: l.bundle.clone(),
    }
}

fn is_confirmed(b: &BundleInfo) -> bool {
    b.id == BUILTIN || b.status == BundleStatus::Success
}

impl Engine {
    /// Starts the engine for one app process: reads the options, opens the data folder, makes the
    /// launch decision (rolling back a bundle whose previous launch never confirmed, applying a
    /// pending `next` unless a delay condition holds) and tells the host to load that page
    /// ([`HostAction::Load`]) before returning. Starts the timer and stats threads. Blocks for the
    /// disk work (milliseconds); no network.
    pub fn start(options: EngineOptions, host: Arc<dyn Host>) -> Result<Engine> {
        let engine = Self::open(options, host)?;
        let inner = &engine.inner;
        let mut fx = Effects::none();
        inner.load(&mut fx)?;
        inner.publish(fx);
        let mut threads = Vec::new();
        let i = inner.clone();
        threads.push(spawn("liveupdate-timer", move || i.timer_loop())?);
        let i = inner.clone();
        threads.push(spawn("liveupdate-stats", move || i.stats_loop())?);
        if inner.launch_lock.is_some() {
            let i = inner.clone();
            threads.push(spawn("liveupdate-maintenance", move || {
                i.maintenance_loop()
            })?);
        }
        *lock(&engine.threads) = threads;
        Ok(engine)
    }

    /// Opens the engine without loading a page or starting timers: for one-shot hosts (the
    /// `liveupdate device` commands) that act on the store the way an app process would between
    /// its start and its end. Blocks for the disk work; no network.
    pub fn open(options: EngineOptions, host: Arc<dyn Host>) -> Result<Engine> {
        let (base, plugin) = options.configs()?;
        let probe = Device::new(
            &options.data_dir,
            &options.builtin_dir,
            base.clone(),
            options.native_version.clone(),
        )?;
        let prefs: PluginPrefs = probe
            .with_store(|_, s| Ok(s.plugin.clone()))
            .unwrap_or_else(|e| {
                log::warn!("the plugin's stored settings are not readable: {e}");
                PluginPrefs::default()
            });
        let settings = Settings {
            app_id: base.app_id.clone(),
            custom_id: prefs
                .custom_id
                .clone()
                .filter(|_| plugin.persist_custom_id)
                .or_else(|| options.initial_custom_id.clone())
                .unwrap_or_default(),
            update_url: prefs
                .update_url
                .clone()
                .filter(|_| plugin.persist_modify_url)
                .unwrap_or_else(|| base.update_url.clone()),
            stats_url: prefs
                .stats_url
                .clone()
                .filter(|_| plugin.persist_modify_url)
                .unwrap_or_else(|| base.stats_url.clone()),
            channel_url: prefs
                .channel_url
                .clone()
                .filter(|_| plugin.persist_modify_url)
                .unwrap_or_else(|| base.channel_url.clone()),
        };
        let cancel = Arc::new(AtomicBool::new(false));
        let launch_lock = crate::store::Store::try_launch_lock(&options.data_dir)?;
        if launch_lock.is_none() {
            log::warn!(
                "another live process owns this data folder's launches: this one serves the current bundle and decides nothing at launch"
            );
        }
        let core = build_core(
            &options,
            &base,
            &settings,
            cancel.clone(),
            launch_lock.is_some(),
        )?;
        let inner = Arc::new(Inner {
            options,
            plugin,
            base,
            host,
            core: RwLock::new(core),
            settings: Mutex::new(settings),
            rt: Mutex::new(Runtime {
                page: None,
                check_since: None,
                on_launch_direct_used: false,
                splash_timed_out: false,
                next_periodic: None,
                stats_dirty: true,
                stopping: false,
            }),
            wake: Condvar::new(),
            cancel,
            launch_lock,
        });
        Ok(Engine {
            inner,
            threads: Mutex::new(Vec::new()),
        })
    }

    /// Runs the JS method `method` with its options object (Capgo 8.51.23 names and shapes):
    /// resolves with the JSON value the JS promise gets (`null` for void) or rejects with Capgo's
    /// message, code and data. Blocks until the call is done.
    pub fn call(&self, method: &str, options: &Value) -> std::result::Result<Value, Reject> {
        methods::dispatch(&self.inner, method, options)
    }

    /// The app came to the foreground: stats, delay conditions, an auto-update check (on its own
    /// thread) or `appReady "disabled"`, and the notifyAppReady watchdog re-armed. Returns quickly.
    pub fn foreground(&self) {
        self.inner.foreground();
    }

    /// The app went to the background: stats, delay conditions, and a pending `next` installed
    /// (the web view reloads onto it). Blocks for the disk work.
    pub fn background(&self) {
        self.inner.background();
    }

    /// The process is ending: cancels running downloads, stops the timers and flushes queued
    /// stats for at most about 2 s (what cannot be delivered stays queued on disk). Idempotent.
    pub fn shutdown(&self) {
        {
            let mut rt = lock(&self.inner.rt);
            if rt.stopping {
                return;
            }
            rt.stopping = true;
        }
        self.inner.cancel.store(true, Ordering::SeqCst);
        self.inner.wake.notify_all();
        let threads = std::mem::take(&mut *lock(&self.threads));
        for t in threads {
            let _ = t.join();
        }
        // Give a running auto-update a moment to notice the cancellation.
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut rt = lock(&self.inner.rt);
        while rt.check_since.is_some() && Instant::now() < deadline {
            rt = self
                .inner
                .wake
                .wait_timeout(rt, Duration::from_millis(50))
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
        drop(rt);
        if let Err(e) = self.inner.core().flush_stats(FINAL_FLUSH) {
            log::warn!("stats not flushed at process end: {e}");
        }
    }

    /// Cancels running downloads now (and any started later): for a host whose process is about
    /// to end. Calls in flight end with a `cancelled` failure.
    pub fn cancel_running(&self) {
        self.inner.cancel.store(true, Ordering::SeqCst);
    }

    /// The launch token of the page shown now.
    pub fn current_launch_id(&self) -> Option<String> {
        lock(&self.inner.rt)
            .page
            .as_ref()
            .map(|p| p.launch_id.clone())
    }

    /// Runs one auto-update cycle on the calling thread (what a foreground check does) and returns
    /// what it came to. For hosts without a plugin shell (`liveupdate device update`, the typed
    /// API). Blocks; network I/O.
    pub fn update_now(&self) -> Result<auto::CycleOutcome> {
        self.inner.run_cycle_blocking()
    }

    /// Sends queued stats now for at most `budget`. Blocks; network I/O.
    pub fn flush_stats(&self, budget: Duration) -> Result<usize> {
        self.inner.core().flush_stats(budget)
    }

    /// The registry client (for surfaces that still offer the low-level calls).
    pub fn updater(&self) -> Arc<Updater> {
        self.inner.core()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.shutdown();
    }
}

pub use auto::CycleOutcome;

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .map_err(Error::io("starting a thread", ""))
}

fn build_core(
    options: &EngineOptions,
    base: &UpdaterConfig,
    settings: &Settings,
    cancel: Arc<AtomicBool>,
    launch_owner: bool,
) -> Result<Arc<Updater>> {
    let mut config = base.clone();
    config.app_id = settings.app_id.clone();
    config.update_url = settings.update_url.clone();
    config.stats_url = settings.stats_url.clone();
    config.channel_url = settings.channel_url.clone();
    let host = options.host_info(&config, &settings.custom_id);
    let device = Device::new(
        &options.data_dir,
        &options.builtin_dir,
        config,
        options.native_version.clone(),
    )?;
    let mut updater = Updater::new(device, host, options.allow_insecure);
    updater.set_retry_backoff(Duration::from_millis(options.retry_backoff_ms));
    updater.set_cancel_handle(cancel);
    updater.set_launch_owner(launch_owner);
    Ok(Arc::new(updater))
}

impl Inner {
    /// The registry client and store in use now.
    fn core(&self) -> Arc<Updater> {
        self.core
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn device_ok<T>(&self, f: impl FnOnce(&Device) -> Result<T>) -> Result<T> {
        let core = self.core();
        f(core.device())
    }

    /// Applies a change to the run-time settings and rebuilds the registry client.
    fn change_settings(&self, f: impl FnOnce(&mut Settings)) -> Result<()> {
        let mut s = lock(&self.settings);
        f(&mut s);
        let core = build_core(
            &self.options,
            &self.base,
            &s,
            self.cancel.clone(),
            self.launch_lock.is_some(),
        )?;
        *self
            .core
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = core;
        Ok(())
    }

    fn settings(&self) -> Settings {
        lock(&self.settings).clone()
    }

    /// Publishes a transition's effects: stats are queued durably in one step, then events and
    /// web-view actions reach the host in order. The only way effects leave the engine.
    fn publish(&self, fx: Effects) {
        let stats: Vec<stats::Event> =
            fx.0.iter()
                .filter_map(|e| match e {
                    Effect::Stat(s) => Some(s.clone()),
                    _ => None,
                })
                .collect();
        if !stats.is_empty() {
            self.core().record(&stats);
            lock(&self.rt).stats_dirty = true;
        }
        for e in fx.0 {
            // A host that panics must not take an engine thread (the watchdog) down with it.
            let host = &self.host;
            let delivered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match &e {
                Effect::Event(name, data) => host.event(name, data),
                Effect::Action(a) => host.action(a),
                Effect::Stat(_) => {}
            }));
            if delivered.is_err() {
                log::error!("the host panicked while handling {e:?}");
            }
        }
    }

    fn current(&self) -> Result<BundleInfo> {
        self.device_ok(|d| Ok(d.status()?.current))
    }

    fn update_prefs<T>(&self, f: impl FnOnce(&mut PluginPrefs) -> T) -> Result<T> {
        self.device_ok(|d| d.with_store(|_, s| Ok(f(&mut s.plugin))))
    }

    fn version_build(&self) -> String {
        self.options.version_build(&self.base)
    }

    /// Re-evaluates the delay conditions after `source`; returns those that still hold. The
    /// background timestamp is kept in the same locked step: set when the app goes to the
    /// background (before the evaluation), cleared when it comes back (after it).
    fn check_cancel_delay(&self, source: delay::Source) -> Result<Vec<DelayCondition>> {
        let native = self.version_build();
        self.update_prefs(|p| {
            if source == delay::Source::Background {
                p.background_ms = Some(now_ms());
            }
            let facts = delay::Facts {
                now_ms: now_ms(),
                background_ms: p.background_ms,
                native_version: &native,
            };
            p.delay_conditions = delay::remaining(&p.delay_conditions, source, facts);
            if source == delay::Source::Foreground {
                p.background_ms = None;
            }
            p.delay_conditions.clone()
        })
    }

    /// Records the page now shown and arms the notifyAppReady watchdog when it is unconfirmed.
    fn arm_page(&self, l: &LaunchResult) {
        let confirmed = is_confirmed(&l.bundle);
        let timeout = Duration::from_millis(self.base.app_ready_timeout_ms);
        let mut rt = lock(&self.rt);
        rt.page = Some(PageState {
            launch_id: l.launch_id.clone(),
            confirmed,
            ready_sent: false,
            watchdog_at: (!confirmed).then(|| crate::time::after(timeout)),
            early_fires: 0,
        });
        drop(rt);
        self.wake.notify_all();
    }

    /// Plugin load: the launch decision and the first page.
    ///
    /// Only the launch decision itself can fail it; the bookkeeping around it (delay conditions,
    /// the failed-update record, version-change stats) is logged and skipped when the data
    /// folder cannot be written, so the app always gets a page.
    fn load(&self, fx: &mut Effects) -> Result<()> {
        let delays = self
            .check_cancel_delay(delay::Source::Killed)
            .unwrap_or_else(|e| {
                log::warn!("delay conditions not read: {e}");
                Vec::new()
            });
        let core = self.core();
        let l = if self.launch_lock.is_some() {
            core.device().launch_with(delays.is_empty())?
        } else {
            core.device().launch_secondary()?
        };
        self.arm_page(&l);
        fx.action(HostAction::Load(page_of(&l)));
        fx.stat(stats::Event::new(Action::AppLaunchStart, &l.bundle.version));
        if let Some(r) = &l.rolled_back {
            let failed = core.device().record_of(&r.failed).unwrap_or(None);
            if let Some(b) = &failed {
                if let Err(e) = self.update_prefs(|p| p.last_failed = Some(b.clone())) {
                    log::warn!("the failed update is not recorded: {e}");
                }
                fx.event("updateFailed", json!({"bundle": bundle_json(b)}));
                fx.stat(stats::Event::new(Action::UpdateFail, &b.version));
            }
        }
        if l.applied_next {
            fx.stat(stats::Event::new(Action::Set, &l.bundle.version));
        }
        if let Err(e) = self.version_change_stats(&l.bundle.version, fx) {
            log::warn!("version changes not recorded: {e}");
        }
        let period = self.plugin.period_check_delay_s;
        if period > 0 {
            lock(&self.rt).next_periodic = Some(crate::time::after(Duration::from_secs(period)));
        }
        Ok(())
    }

    /// Capgo's `os_version_changed` and `native_app_version_changed` at plugin load: sent when a
    /// value seen at an earlier start differs; the stored values then move on (they are queued
    /// durably in the same publish, so none is lost).
    fn version_change_stats(&self, version: &str, fx: &mut Effects) -> Result<()> {
        let os = self.options.os_version.clone();
        let build = self.version_build();
        let code = self.options.version_code.clone();
        let (prev_os, prev_build, prev_code) = self.update_prefs(|p| {
            (
                p.last_version_os.replace(os.clone()),
                p.last_version_build.replace(build.clone()),
                p.last_version_code.replace(code.clone()),
            )
        })?;
        if let Some(prev) = prev_os.filter(|p| *p != os) {
            fx.stat(
                stats::Event::new(Action::OsVersionChanged, version)
                    .meta("previous_version_os", prev)
                    .meta("current_version_os", os),
            );
        }
        let build_changed = prev_build.as_ref().is_some_and(|p| *p != build);
        let code_changed = prev_code.as_ref().is_some_and(|p| *p != code);
        if build_changed || code_changed {
            fx.stat(
                stats::Event::new(Action::NativeAppVersionChanged, version)
                    .meta("previous_version_build", prev_build.unwrap_or_default())
                    .meta("current_version_build", build)
                    .meta("previous_version_code", prev_code.unwrap_or_default())
                    .meta("current_version_code", code),
            );
        }
        Ok(())
    }

    /// A new page in this process: optionally applies `next`, records the launch, tells the host
    /// to reload, arms the watchdog. Returns the launch.
    fn reload_page(&self, apply_next: bool, fx: &mut Effects) -> Result<LaunchResult> {
        let l = if self.launch_lock.is_some() {
            self.core().device().relaunch(apply_next)?
        } else {
            self.core().device().launch_secondary()?
        };
        self.arm_page(&l);
        fx.action(HostAction::Reload(page_of(&l)));
        fx.event("appReloaded", json!({}));
        Ok(l)
    }

    fn auto_enabled(&self) -> bool {
        self.plugin.auto_update != AutoUpdateMode::Off
            && !lock(&self.settings).update_url.is_empty()
            && self.plugin.server_url.is_none()
    }

    fn foreground(self: &Arc<Self>) {
        let mut fx = Effects::none();
        let current = match self.current() {
            Ok(c) => c,
            Err(e) => {
                log::error!("foreground: {e}");
                return;
            }
        };
        fx.stat(stats::Event::new(
            Action::AppMovedToForeground,
            &current.version,
        ));
        if let Err(e) = self.check_cancel_delay(delay::Source::Foreground) {
            log::warn!("delay conditions: {e}");
        }
        if self.plugin.server_url.is_some() {
            fx.stat(stats::Event::new(
                Action::BlockedByServerUrl,
                &current.version,
            ));
        }
        // Capgo re-arms the app-ready check on every foreground.
        {
            let timeout = Duration::from_millis(self.base.app_ready_timeout_ms);
            let mut rt = lock(&self.rt);
            if let Some(p) = rt.page.as_mut()
                && !p.confirmed
            {
                p.watchdog_at = Some(crate::time::after(timeout));
            }
        }
        self.wake.notify_all();
        let start_check = self.auto_enabled();
        if !start_check {
            fx.event(
                "appReady",
                json!({"bundle": bundle_json(&current), "status": "disabled"}),
            );
        }
        self.publish(fx);
        if start_check {
            self.spawn_cycle();
        }
    }

    fn background(&self) {
        let mut fx = Effects::none();
        if let Err(e) = self.background_inner(&mut fx) {
            log::error!("background: {e}");
        }
        self.publish(fx);
    }

    fn background_inner(&self, fx: &mut Effects) -> Result<()> {
        lock(&self.rt).splash_timed_out = false;
        let current = self.current()?;
        if self.plugin.auto_splashscreen && self.auto_enabled() && self.direct_now(false) {
            fx.action(HostAction::SplashShow);
        }
        fx.stat(stats::Event::new(
            Action::AppMovedToBackground,
            &current.version,
        ));
        let delays = self.check_cancel_delay(delay::Source::Background)?;
        if !delays.is_empty() {
            log::info!("background: next not installed, delay conditions hold");
            return Ok(());
        }
        let status = self.device_ok(|d| d.status())?;
        let Some(next) = status.next else {
            return Ok(());
        };
        if next.id == current.id || next.status == BundleStatus::Error {
            return Ok(());
        }
        let l = self.reload_page(true, fx)?;
        if l.applied_next {
            fx.stat(stats::Event::new(Action::Set, &l.bundle.version).old(&current.version));
            fx.event("set", json!({"bundle": bundle_json(&l.bundle)}));
        }
        Ok(())
    }

    /// Whether a downloaded update would be applied at once now (mode, splash time-out).
    fn direct_now(&self, consume: bool) -> bool {
        let mut rt = lock(&self.rt);
        if rt.splash_timed_out {
            return false;
        }
        match self.plugin.auto_update {
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
                self.device_ok(|d| {
                    d.with_store(|_, s| {
                        let f = s.installed_or_updated;
                        if consume {
                            s.installed_or_updated = false;
                        }
                        Ok(f)
                    })
                })
                .unwrap_or(false)
            }
            _ => false,
        }
    }

    /// Starts an auto-update cycle on its own thread unless one is running. Returns whether it started.
    fn spawn_cycle(self: &Arc<Self>) -> bool {
        {
            let mut rt = lock(&self.rt);
            if rt.stopping {
                return false;
            }
            if let Some(since) = rt.check_since
                && since.elapsed() < CHECK_STUCK_AFTER
            {
                return false;
            }
            rt.check_since = Some(Instant::now());
        }
        let me = self.clone();
        let started = spawn("liveupdate-check", move || {
            if let Err(e) = me.run_cycle() {
                log::error!("auto-update: {e}");
            }
            lock(&me.rt).check_since = None;
            me.wake.notify_all();
        });
        if started.is_err() {
            lock(&self.rt).check_since = None;
            return false;
        }
        true
    }

    fn run_cycle_blocking(self: &Arc<Self>) -> Result<CycleOutcome> {
        {
            let mut rt = lock(&self.rt);
            if rt
                .check_since
                .is_some_and(|s| s.elapsed() < CHECK_STUCK_AFTER)
            {
                return Err(Error::refused(
                    crate::error::Refusal::Busy,
                    "an update check is already running",
                ));
            }
            rt.check_since = Some(Instant::now());
        }
        let r = self.run_cycle();
        lock(&self.rt).check_since = None;
        self.wake.notify_all();
        r
    }

    /// The watchdog fired for `launch_id`: roll back if that page never confirmed.
    fn on_watchdog(&self, launch_id: &str) {
        let mut fx = Effects::none();
        match self.watchdog_inner(launch_id, &mut fx) {
            Ok(true) => {}
            Ok(false) => {
                // The wall clock said "not yet" (the monotonic timer fired a hair early): re-check soon.
                let mut rt = lock(&self.rt);
                if let Some(p) = rt.page.as_mut()
                    && p.launch_id == launch_id
                    && !p.confirmed
                    && p.early_fires < 40
                {
                    p.early_fires += 1;
                    p.watchdog_at = Some(Instant::now() + Duration::from_millis(25));
                }
            }
            Err(e) => log::error!("app-ready watchdog: {e}"),
        }
        self.publish(fx);
    }

    fn watchdog_inner(&self, launch_id: &str, fx: &mut Effects) -> Result<bool> {
        let core = self.core();
        let Some(r) = core.device().check_app_ready_timeout(launch_id)? else {
            return Ok(false);
        };
        log::warn!(
            "bundle {} did not call notifyAppReady in time: rolled back to {}",
            r.failed,
            r.to
        );
        let failed = core.device().record_of(&r.failed)?;
        if let Some(b) = &failed {
            self.update_prefs(|p| p.last_failed = Some(b.clone()))?;
            fx.event("updateFailed", json!({"bundle": bundle_json(b)}));
            fx.stat(
                stats::Event::new(Action::AppLaunchTimeout, &b.version)
                    .meta("timeout_ms", self.base.app_ready_timeout_ms.to_string()),
            );
            fx.stat(stats::Event::new(Action::UpdateFail, &b.version));
        }
        self.reload_page(false, fx)?;
        Ok(true)
    }

    /// The timer thread: the watchdog, periodic checks and `date` delay conditions.
    fn timer_loop(self: Arc<Self>) {
        loop {
            let (watchdog, periodic) = {
                let mut rt = lock(&self.rt);
                loop {
                    if rt.stopping {
                        return;
                    }
                    let now = Instant::now();
                    let due_watchdog = rt.page.as_ref().and_then(|p| {
                        p.watchdog_at
                            .filter(|t| *t <= now)
                            .map(|_| p.launch_id.clone())
                    });
                    let due_periodic = rt.next_periodic.is_some_and(|t| t <= now);
                    if due_watchdog.is_some() || due_periodic {
                        if let Some(p) = rt.page.as_mut()
                            && due_watchdog.is_some()
                        {
                            p.watchdog_at = None;
                        }
                        if due_periodic {
                            rt.next_periodic = Some(crate::time::after(Duration::from_secs(
                                self.plugin.period_check_delay_s.max(1),
                            )));
                        }
                        break (due_watchdog, due_periodic);
                    }
                    let next = [
                        rt.page.as_ref().and_then(|p| p.watchdog_at),
                        rt.next_periodic,
                    ]
                    .into_iter()
                    .flatten()
                    .min();
                    let wait = next
                        .map(|t| t.saturating_duration_since(now))
                        .unwrap_or(Duration::from_secs(1))
                        .min(Duration::from_secs(1));
                    rt = self
                        .wake
                        .wait_timeout(rt, wait)
                        .map(|(g, _)| g)
                        .unwrap_or_else(|e| e.into_inner().0);
                }
            };
            if let Some(id) = watchdog {
                self.on_watchdog(&id);
            }
            if periodic && self.auto_enabled() {
                self.spawn_cycle();
            }
        }
    }

    /// The maintenance thread: finishes the clean-up the launch left (a launch sweeps for a few
    /// milliseconds only), one short locked step at a time, then ends.
    fn maintenance_loop(self: Arc<Self>) {
        for _ in 0..100_000 {
            if lock(&self.rt).stopping {
                return;
            }
            match self.core().device().maintain(MAINTENANCE_STEP) {
                Ok(true) => return,
                Ok(false) => {}
                Err(e) => {
                    log::warn!("background clean-up: {e}");
                    return;
                }
            }
            let rt = lock(&self.rt);
            if rt.stopping {
                return;
            }
            drop(
                self.wake
                    .wait_timeout(rt, MAINTENANCE_PAUSE)
                    .map(|(g, _)| g)
                    .unwrap_or_else(|e| e.into_inner().0),
            );
        }
    }

    /// The stats thread: flushes the durable queue about every second while there is something.
    fn stats_loop(self: Arc<Self>) {
        loop {
            {
                let mut rt = lock(&self.rt);
                if rt.stopping {
                    return;
                }
                if !rt.stats_dirty {
                    rt = self
                        .wake
                        .wait_timeout(rt, STATS_EVERY)
                        .map(|(g, _)| g)
                        .unwrap_or_else(|e| e.into_inner().0);
                    if rt.stopping {
                        return;
                    }
                    if !rt.stats_dirty {
                        continue;
                    }
                }
                rt.stats_dirty = false;
            }
            let core = self.core();
            match core.flush_stats(FINAL_FLUSH) {
                Ok(_) => {
                    let left = core
                        .device()
                        .with_store(|store, _| Ok(!stats::snapshot(store).is_empty()))
                        .unwrap_or(false);
                    if left {
                        // Not delivered (server down, rate limited): try again a bit later.
                        let mut rt = lock(&self.rt);
                        if !rt.stopping {
                            rt = self
                                .wake
                                .wait_timeout(rt, STATS_EVERY * 5)
                                .map(|(g, _)| g)
                                .unwrap_or_else(|e| e.into_inner().0);
                        }
                        rt.stats_dirty = true;
                    }
                }
                Err(e) => log::warn!("stats flush: {e}"),
            }
            std::thread::sleep(STATS_EVERY.min(Duration::from_millis(200)));
        }
    }
}
