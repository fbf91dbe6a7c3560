//! Engine: the façade every surface drives — the plugin's behaviour (every JS method, event and lifecycle rule), the typed operations of hosts that manage their own web view, the update cycle, timers and stats — owning the store, the registry client and the one configuration.
//!
//! ```text
//! host (shell, CLI, C, UniFFI)                 engine
//! ──────────────────────────────               ──────────────────────────────────────────────────
//! Engine::start(options, host)   ──► managed pages: launch transition → Load(page) → timer,
//!                                    stats and maintenance threads
//! Engine::open(options, host)    ──► headless: the host calls launch/ready itself
//! engine.call("set", {id})       ──► methods (JS shapes) ─┐
//! engine.set(id), launch(), …    ──► typed ───────────────┴► transitions.rs → Effects → publish
//! engine.update(), foreground()  ──► cycle.rs: check → refuse → fetch → decide → activate → report
//! timer thread                   ──► notifyAppReady watchdog (rollback), periodic checks
//! stats thread                   ──► flushes the durable stats queue about every second
//! engine.shutdown()              ──► cancel, stop threads, flush stats (≤ 2 s)
//! ```
//!
//! Every transition and every update step reports the [`Effects`] it causes, and
//! `Inner::publish` is the only way they leave the engine (stats queued durably, then events
//! and web-view actions to the host), so no surface skips or doubles a stat. No engine lock is
//! held while the host is called.

mod cycle;
pub mod delay;
pub(crate) mod methods;
mod options;
mod transitions;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::config::Config;
use crate::effects::{Effect, Effects, Host};
use crate::error::{Error, PublicResult, Result};
use crate::net::Registry;
use crate::net::download::DownloadListener;
use crate::net::stats;
use crate::store::state::{BUILTIN, BundleInfo, BundleStatus, DelayCondition, PluginPrefs};
use crate::store::{BundleStore, LaunchResult, ReadyResult, Status};
use crate::update::UpdateOutcome;

pub use options::{EngineOptions, HostOptions};

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
    pub(crate) fn internal(message: &str, e: &Error) -> Self {
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
    host: Arc<dyn Host>,
    /// The bundles on disk (the configuration as started).
    store: BundleStore,
    /// The registry client, rebuilt when a run-time setting changes.
    registry: RwLock<Arc<Registry>>,
    settings: Mutex<Settings>,
    rt: Mutex<Runtime>,
    wake: Condvar,
    cancel: Arc<AtomicBool>,
    /// This process owns the data folder's launches (`None`: another live process does, and
    /// this one never rolls back or applies anything at a launch).
    launch_lock: Option<crate::store::LaunchLock>,
    /// The engine tells the host which page to load and keeps a token per page (started with
    /// [`Engine::start`]); headless engines ([`Engine::open`]) leave launches to their host.
    pages: bool,
    /// Stats of the app-start path (launch, ready), with their times: kept off that path's
    /// critical section and queued durably by the stats thread, the next transition,
    /// `flush_stats` or `shutdown` (a crash in between loses only these events).
    deferred_stats: Mutex<Vec<(stats::Event, u64)>>,
}

/// The engine of one app process and data folder. Thread-safe; calls block the calling thread
/// for their duration (downloads and update checks run for as long as the network needs, bounded
/// by the configured timeouts), so hosts call it off their UI thread.
pub struct Engine {
    inner: Arc<Inner>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn is_confirmed(b: &BundleInfo) -> bool {
    b.id == BUILTIN || b.status == BundleStatus::Success
}

impl Engine {
    /// Starts the engine for one app process that shows its bundles in a web view the engine
    /// manages (the Capacitor shells, the C engine bridge, `device … session`): makes the
    /// launch decision (rolling back a bundle whose previous launch never confirmed, applying a
    /// pending `next` unless a delay condition holds) and tells the host to load that page
    /// ([`crate::HostAction::Load`]) before returning. Starts the timer, stats and clean-up
    /// threads. Blocks for the disk work (milliseconds); no network.
    pub fn start(options: EngineOptions, host: Arc<dyn Host>) -> PublicResult<Engine> {
        Ok(Self::start_inner(options, host)?)
    }

    fn start_inner(options: EngineOptions, host: Arc<dyn Host>) -> Result<Engine> {
        let engine = Self::build(options, host, true)?;
        let inner = &engine.inner;
        let mut fx = Effects::none();
        inner.launch(&mut fx)?;
        inner.publish_deferring_stats(fx);
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

    /// Opens the engine for a host that manages its own web view and launches (the typed
    /// UniFFI `Updater`, the C `liveupdate_*` handle, the `liveupdate device` commands): no page
    /// is loaded and no thread started; the host calls [`Engine::launch`] when its web view
    /// starts and [`Engine::notify_app_ready`] when the page is up. Blocks for the disk work; no
    /// network.
    pub fn open(options: EngineOptions, host: Arc<dyn Host>) -> PublicResult<Engine> {
        Ok(Self::build(options, host, false)?)
    }

    fn build(mut options: EngineOptions, host: Arc<dyn Host>, pages: bool) -> Result<Engine> {
        options.hooks = options.hooks.with_process_defaults();
        let clock = options.hooks.clock();
        let store = BundleStore::new(
            &options.data_dir,
            &options.builtin_dir,
            options.config.clone(),
            options.app.native_version.clone(),
        )?
        .with_clock(clock);
        let prefs: PluginPrefs = store
            .with_state(|_, s| Ok(s.plugin.clone()))
            .unwrap_or_else(|e| {
                log::warn!("the plugin's stored settings are not readable: {e}");
                PluginPrefs::default()
            });
        let base = &options.config;
        let settings = Settings {
            app_id: base.app_id.clone(),
            custom_id: prefs
                .custom_id
                .clone()
                .filter(|_| base.persist_custom_id)
                .unwrap_or_else(|| options.app.custom_id.clone()),
            update_url: prefs
                .update_url
                .clone()
                .filter(|_| base.persist_modify_url)
                .unwrap_or_else(|| base.update_url.clone()),
            stats_url: prefs
                .stats_url
                .clone()
                .filter(|_| base.persist_modify_url)
                .unwrap_or_else(|| base.stats_url.clone()),
            channel_url: prefs
                .channel_url
                .clone()
                .filter(|_| base.persist_modify_url)
                .unwrap_or_else(|| base.channel_url.clone()),
        };
        let cancel = Arc::new(AtomicBool::new(false));
        let launch_lock = crate::store::DataFolder::try_launch_lock(&options.data_dir)?;
        if launch_lock.is_none() {
            log::warn!(
                "another live process owns this data folder's launches: this one serves the current bundle and decides nothing at launch"
            );
        }
        let registry = build_registry(&options, &store, &settings, cancel.clone());
        let inner = Arc::new(Inner {
            options,
            host,
            store,
            registry: RwLock::new(registry),
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
            pages,
            deferred_stats: Mutex::new(Vec::new()),
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

    /// The app went to the background: stats, delay conditions, and a pending `next` applied
    /// (a managed web view reloads onto it; a headless host reloads and calls
    /// [`Engine::launch`]). Returns the current bundle afterwards. Blocks for the disk work.
    pub fn background(&self) -> PublicResult<BundleInfo> {
        Ok(self.inner.run(|i, fx| i.background(fx))?)
    }

    /// The process is ending: cancels running downloads, stops the threads and flushes queued
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
        self.inner.persist_deferred_stats();
        if let Err(e) = self.inner.registry().flush_stats(FINAL_FLUSH) {
            log::warn!("stats not flushed at process end: {e}");
        }
    }

    /// Cancels running downloads and checks now (from any thread); they end with a
    /// `cancelled` failure. A later [`Engine::update`] runs again.
    pub fn cancel_running(&self) {
        self.inner.cancel.store(true, Ordering::SeqCst);
    }

    /// The launch token of the page shown now (managed pages).
    pub fn current_launch_id(&self) -> Option<String> {
        lock(&self.inner.rt)
            .page
            .as_ref()
            .map(|p| p.launch_id.clone())
    }

    /// The whole update flow now, on the calling thread — check → refuse → fetch → decide →
    /// activate → report, the same cycle a foreground starts — and what it came to. Progress
    /// reaches `listener` (and `download` events the host). Blocks for the whole update,
    /// bounded by `updateTimeout`; network and disk I/O.
    pub fn update(
        &self,
        listener: Option<Arc<dyn DownloadListener>>,
    ) -> PublicResult<UpdateOutcome> {
        Ok(self.inner.run_cycle_blocking(listener)?)
    }

    /// At web view start (headless hosts): rolls back a bundle whose previous launch never
    /// confirmed, applies a pending `next` (unless a delay condition holds), records this launch
    /// and returns the folder to load and the token to confirm it with. Disk I/O only.
    pub fn launch(&self) -> PublicResult<LaunchResult> {
        let mut fx = Effects::none();
        let l = self.inner.launch(&mut fx);
        self.inner.publish_deferring_stats(fx);
        Ok(l?)
    }

    /// The page of launch `launch_id` started fine (`notifyAppReady`): its bundle becomes
    /// `success` and the fallback. A stale or foreign id changes nothing (`accepted: false`).
    pub fn notify_app_ready(&self, launch_id: &str) -> PublicResult<ReadyResult> {
        let mut fx = Effects::none();
        let r = self.inner.ready(Some(launch_id.to_string()), &mut fx);
        self.inner.publish_deferring_stats(fx);
        Ok(r?)
    }

    /// Rolls back if `launch_id` is still unconfirmed after `appReadyTimeout`, for hosts that
    /// keep their own timer; returns what was rolled back. Disk I/O.
    pub fn check_app_ready_timeout(
        &self,
        launch_id: &str,
    ) -> PublicResult<Option<crate::store::state::Rollback>> {
        Ok(self.inner.run(|i, fx| i.timeout(launch_id, fx))?)
    }

    /// Queues bundle `id` (or `builtin`) for the next launch or background.
    pub fn next(&self, id: &str) -> PublicResult<BundleInfo> {
        Ok(self.inner.run(|i, fx| i.next(id, fx))?)
    }

    /// Makes bundle `id` (or `builtin`) current now (a managed web view reloads onto it; a
    /// headless host reloads and calls [`Engine::launch`]).
    pub fn set(&self, id: &str) -> PublicResult<BundleInfo> {
        Ok(self.inner.run(|i, fx| i.set(id, fx))?)
    }

    /// Deletes a stored bundle's files (not builtin, current, next or fallback).
    pub fn delete(&self, id: &str) -> PublicResult<BundleInfo> {
        Ok(self.inner.run(|i, fx| i.delete(id, fx))?)
    }

    /// Back to builtin, or to the last confirmed bundle. Returns the current bundle.
    pub fn reset(&self, to_last_successful: bool) -> PublicResult<BundleInfo> {
        Ok(self
            .inner
            .run(|i, fx| i.reset(to_last_successful, false, fx))?)
    }

    /// Marks a bundle as failed (known-bad); if it is current, the fallback takes its place.
    pub fn set_bundle_error(&self, id: &str) -> PublicResult<BundleInfo> {
        Ok(self.inner.run(|i, fx| i.error(id, fx))?)
    }

    /// Current, next, fallback and every stored bundle. Disk I/O only.
    pub fn status(&self) -> PublicResult<Status> {
        Ok(self.inner.store.status()?)
    }

    /// Installs a bundle file (decrypted with the configured key, verified, unzipped) as a new
    /// `pending` bundle. Blocks for the whole install.
    pub fn install_file(
        &self,
        path: &std::path::Path,
        version: &str,
        checksum: &str,
        session_key: Option<&str>,
    ) -> PublicResult<BundleInfo> {
        Ok(self
            .inner
            .store
            .install(path, version, checksum, session_key)?)
    }

    /// Sends queued stats now for at most `budget`. Blocks; network I/O.
    pub fn flush_stats(&self, budget: Duration) -> PublicResult<usize> {
        self.inner.persist_deferred_stats();
        Ok(self.inner.registry().flush_stats(budget)?)
    }

    /// Puts this device on `channel` (server call); the server's answer, or its refusal.
    pub fn set_channel(
        &self,
        channel: &str,
    ) -> PublicResult<std::result::Result<Value, crate::net::ServerError>> {
        Ok(self.inner.registry().set_channel(channel)?)
    }

    /// The server's view of this device's channel.
    pub fn get_channel(&self) -> PublicResult<std::result::Result<Value, crate::net::ServerError>> {
        Ok(self.inner.registry().get_channel()?)
    }

    /// The channels this device may choose.
    pub fn list_channels(
        &self,
    ) -> PublicResult<std::result::Result<Value, crate::net::ServerError>> {
        Ok(self.inner.registry().list_channels()?)
    }

    /// Forgets the device's channel locally (no request).
    pub fn unset_channel(&self) -> PublicResult<()> {
        Ok(self.inner.registry().unset_channel()?)
    }

    /// The device id sent to the server (generated and kept on first use).
    pub fn device_id(&self) -> PublicResult<String> {
        Ok(self.inner.registry().device_id()?)
    }

    /// One step of the clean-up a launch defers, for at most `budget` (managed engines run it
    /// on their own thread); returns whether nothing is left. Disk I/O.
    pub fn maintain(&self, budget: Duration) -> PublicResult<bool> {
        Ok(self.inner.store.maintain(budget)?)
    }

    /// The configuration in use.
    pub fn config(&self) -> &Config {
        &self.inner.options.config
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .map_err(Error::io("starting a thread", ""))
}

/// The registry client for the run-time settings (URLs, app id, custom id).
fn build_registry(
    options: &EngineOptions,
    store: &BundleStore,
    settings: &Settings,
    cancel: Arc<AtomicBool>,
) -> Arc<Registry> {
    let mut config = options.config.clone();
    config.app_id = settings.app_id.clone();
    config.update_url = settings.update_url.clone();
    config.stats_url = settings.stats_url.clone();
    config.channel_url = settings.channel_url.clone();
    let mut app = options.app.clone();
    app.custom_id = settings.custom_id.clone();
    Arc::new(Registry::new(
        store.clone().with_config(config),
        app,
        options.allow_insecure,
        cancel,
        &options.hooks,
    ))
}

impl Inner {
    /// The registry client in use now.
    fn registry(&self) -> Arc<Registry> {
        self.registry
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn config(&self) -> &Config {
        &self.options.config
    }

    /// Runs a transition and publishes what it caused (also when it fails).
    fn run<T>(&self, f: impl FnOnce(&Self, &mut Effects) -> Result<T>) -> Result<T> {
        let mut fx = Effects::none();
        let out = f(self, &mut fx);
        self.publish(fx);
        out
    }

    /// Applies a change to the run-time settings and rebuilds the registry client.
    fn change_settings(&self, f: impl FnOnce(&mut Settings)) -> Result<()> {
        let mut s = lock(&self.settings);
        f(&mut s);
        let registry = build_registry(&self.options, &self.store, &s, self.cancel.clone());
        *self
            .registry
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = registry;
        Ok(())
    }

    fn settings(&self) -> Settings {
        lock(&self.settings).clone()
    }

    /// Publishes effects: stats are queued durably in one step (after any deferred ones, so
    /// the queue keeps their order), then events and web-view actions reach the host in order.
    /// With [`Inner::publish_deferring_stats`], the only way effects leave the engine.
    fn publish(&self, fx: Effects) {
        self.publish_with(fx, false);
    }

    /// [`Inner::publish`] for the app-start path (launch, ready): the stats are kept in memory
    /// and queued durably shortly after, off that path (see `deferred_stats`).
    fn publish_deferring_stats(&self, fx: Effects) {
        self.publish_with(fx, true);
    }

    fn publish_with(&self, fx: Effects, defer: bool) {
        let stats: Vec<stats::Event> =
            fx.0.iter()
                .filter_map(|e| match e {
                    Effect::Stat(s) => Some(s.clone()),
                    _ => None,
                })
                .collect();
        if defer {
            if !stats.is_empty() {
                let now = self.store.now_ms();
                let mut d = lock(&self.deferred_stats);
                d.extend(stats.into_iter().map(|e| (e, now)));
                let extra = d.len().saturating_sub(stats::MAX_QUEUED);
                d.drain(..extra);
                drop(d);
                lock(&self.rt).stats_dirty = true;
                self.wake.notify_all();
            }
        } else {
            self.persist_deferred_stats();
            if !stats.is_empty() {
                self.registry().enqueue_stats(&stats);
                lock(&self.rt).stats_dirty = true;
            }
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

    /// Queues the deferred stats durably (one write), if any.
    fn persist_deferred_stats(&self) {
        let deferred = std::mem::take(&mut *lock(&self.deferred_stats));
        if !deferred.is_empty() {
            self.registry().enqueue_stats_at(&deferred);
        }
    }

    fn current(&self) -> Result<BundleInfo> {
        Ok(self.store.status()?.current)
    }

    fn update_prefs<T>(&self, f: impl FnOnce(&mut PluginPrefs) -> T) -> Result<T> {
        self.store.with_state(|_, s| Ok(f(&mut s.plugin)))
    }

    fn version_build(&self) -> String {
        self.options.version_build()
    }

    /// Re-evaluates the delay conditions after `source`; returns those that still hold. The
    /// background timestamp is kept in the same locked step: set when the app goes to the
    /// background (before the evaluation), cleared when it comes back (after it).
    fn check_cancel_delay(&self, source: delay::Source) -> Result<Vec<DelayCondition>> {
        let native = self.version_build();
        let now = self.store.now_ms();
        self.update_prefs(|p| {
            if source == delay::Source::Background {
                p.background_ms = Some(now);
            }
            let facts = delay::Facts {
                now_ms: now,
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
        let timeout = Duration::from_millis(self.config().app_ready_timeout_ms);
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

    fn auto_enabled(&self) -> bool {
        self.config().auto_update != crate::config::AutoUpdateMode::Off
            && !lock(&self.settings).update_url.is_empty()
            && self.config().server_url.is_none()
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
            stats::Action::AppMovedToForeground,
            &current.version,
        ));
        if let Err(e) = self.check_cancel_delay(delay::Source::Foreground) {
            log::warn!("delay conditions: {e}");
        }
        if self.config().server_url.is_some() {
            fx.stat(stats::Event::new(
                stats::Action::BlockedByServerUrl,
                &current.version,
            ));
        }
        // Capgo re-arms the app-ready check on every foreground.
        {
            let timeout = Duration::from_millis(self.config().app_ready_timeout_ms);
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
                json!({"bundle": crate::effects::bundle_json(&current), "status": "disabled"}),
            );
        }
        self.publish(fx);
        if start_check {
            self.spawn_cycle();
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
            if let Err(e) = me.run_cycle(None) {
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

    fn run_cycle_blocking(
        self: &Arc<Self>,
        listener: Option<Arc<dyn DownloadListener>>,
    ) -> Result<UpdateOutcome> {
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
            // A host's earlier `cancel` stopped that update, not this one (a process that is
            // ending stays cancelled).
            if !rt.stopping {
                self.cancel.store(false, Ordering::SeqCst);
            }
        }
        let r = self.run_cycle(listener);
        lock(&self.rt).check_since = None;
        self.wake.notify_all();
        r
    }

    /// The watchdog fired for `launch_id`: roll back if that page never confirmed.
    fn on_watchdog(&self, launch_id: &str) {
        let mut fx = Effects::none();
        match self.timeout(launch_id, &mut fx) {
            Ok(Some(_)) => {}
            Ok(None) => {
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
                                self.config().period_check_delay_s.max(1),
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
        // Another updater's leftovers (Capgo's bundles after a switch) go first, once per start
        // until they are gone: nothing overlapping the data or builtin folder is touched.
        if !self.options.leftover_paths.is_empty() {
            let keep = [
                self.options.data_dir.as_path(),
                self.options.builtin_dir.as_path(),
            ];
            crate::store::leftovers::remove(&self.options.leftover_paths, &keep);
        }
        for _ in 0..100_000 {
            if lock(&self.rt).stopping {
                return;
            }
            match self.store.maintain(MAINTENANCE_STEP) {
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
            self.persist_deferred_stats();
            let registry = self.registry();
            match registry.flush_stats(FINAL_FLUSH) {
                Ok(_) => {
                    if registry.stats_pending() {
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
