//! Lifecycle: install, activate, launch, confirm, roll back and clean up bundles — each operation one locked, crash-safe step.
//!
//! Every public method of [`BundleStore`] takes the data folder's lock, loads the state, applies the
//! start-up rules (native version change), does its work and saves the state atomically before it
//! returns. A kill at any instant leaves either the old or the new state on disk, and the next
//! [`BundleStore::launch_with`] sweeps what an interrupted step left behind. See `docs/state-machine.md`.
//! Installing is in `lifecycle/install.rs`, clean-up in `lifecycle/sweep.rs`; activation, launch,
//! confirmation and rollback are here.

use std::path::{Path, PathBuf};

use crate::bundle::checksum::VerifiedZip;
use crate::bundle::fs_atomic::random_alnum;
use crate::bundle::unpack::{BundleTrust, unpack_verified_consuming};
use crate::bundle::unzip::ExtractOptions;
use crate::config::Config;
use crate::error::{Error, Refusal, Result};
use crate::store::state::{BUILTIN, BundleInfo, BundleStatus, Launch, Rollback, State};
use crate::store::{DataFolder, InstallGuard};
use crate::time::iso8601;

mod install;
mod sweep;

pub use install::ReuseSources;

/// Tombstones (`deleted` records) kept at most; older ones are forgotten.
const MAX_TOMBSTONES: usize = 20;
/// Known-bad entries kept at most (oldest forgotten first).
const MAX_KNOWN_BAD: usize = 100;
/// Free space kept beyond an install's estimate.
const SPACE_MARGIN: u64 = 16 * 1024 * 1024;

/// A bundle version name as given by the server or the host: trimmed, not empty, not `builtin`,
/// at most 256 bytes, no control characters (NUL, newlines: a label ends up in logs, stats and
/// JSON lines).
pub(crate) fn parse_version(version: &str) -> Result<&str> {
    let version = version.trim();
    if version.is_empty()
        || version == BUILTIN
        || version.len() > 256
        || version.chars().any(char::is_control)
    {
        return Err(Error::refused(
            Refusal::InvalidVersion,
            format!("invalid bundle version {version:?}"),
        ));
    }
    Ok(version)
}

/// One app's updater on one device: the data folder, the builtin web folder and the configuration.
#[derive(Clone)]
pub struct BundleStore {
    data_dir: PathBuf,
    builtin_dir: PathBuf,
    config: Config,
    native_version: Option<String>,
    clock: std::sync::Arc<dyn crate::hooks::Clock>,
}

impl std::fmt::Debug for BundleStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BundleStore")
            .field("data_dir", &self.data_dir)
            .field("builtin_dir", &self.builtin_dir)
            .finish()
    }
}

/// What [`BundleStore::launch_with`] decided: the folder to serve and the id to confirm it with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchResult {
    /// Pass this to [`BundleStore::notify_app_ready`] once the web app has started.
    pub launch_id: String,
    /// Absolute path of the folder the web view must load.
    pub web_root: PathBuf,
    /// The bundle served.
    pub bundle: BundleInfo,
    /// Set when an unconfirmed bundle was rolled back by this launch.
    pub rolled_back: Option<Rollback>,
    /// True when a pending `next` bundle was applied by this launch.
    pub applied_next: bool,
}

/// What [`BundleStore::notify_app_ready`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadyResult {
    /// The current bundle after the call.
    pub bundle: BundleInfo,
    /// False when the launch id was stale or foreign: nothing was changed.
    pub accepted: bool,
}

/// The store's bundles as the host sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The bundle served now.
    pub current: BundleInfo,
    /// The bundle queued for the next launch or background.
    pub next: Option<BundleInfo>,
    /// The rollback target (last confirmed bundle, or builtin).
    pub fallback: BundleInfo,
    /// Every downloaded bundle's record except tombstones.
    pub bundles: Vec<BundleInfo>,
}

/// A locked store with its loaded state.
struct Session {
    store: DataFolder,
    state: State,
    /// The state as the state file holds it (what a crash would come back to).
    persisted: State,
}

impl Session {
    /// True when the state differs from the state file in more than the latest launch's token.
    fn changed_beyond_launch(&self) -> bool {
        let mut same = self.state.clone();
        same.last_launch = self.persisted.last_launch.clone();
        same != self.persisted
    }

    /// Saves the state durably (temp file, flush, rename, folder flush).
    fn save(&mut self) -> Result<()> {
        self.store.save(&self.state)?;
        self.persisted = self.state.clone();
        Ok(())
    }

    /// A pending `next` whose files are gone can never be applied: mark it failed.
    fn drop_next_without_files(&mut self) {
        if let Some(next) = self.state.next.clone()
            && next != BUILTIN
            && !self.store.has_files(&next)
        {
            self.state.mark_error(&next);
        }
    }

    /// Rolls back from the current bundle if it may not be served (failed, or its files gone).
    fn rollback_unservable_current(&mut self) -> Option<Rollback> {
        let current = self.state.current.clone();
        if current != BUILTIN
            && (!self.state.is_servable(&current) || !self.store.has_files(&current))
        {
            log::warn!("current bundle {current} is not servable: rolling back");
            return Some(self.state.rollback(&current));
        }
        None
    }

    /// Records a launch of the current bundle (durably) and describes it.
    fn record_launch(
        &mut self,
        device: &BundleStore,
        rolled_back: Option<Rollback>,
        applied_next: bool,
    ) -> Result<LaunchResult> {
        let launch = self.state.begin_launch(random_alnum(16)?, device.now_ms());
        // A launch of a confirmed bundle that changed nothing else needs nothing durable: its
        // token goes to the volatile launch record (no flush). A crash or power loss can only
        // lose that token, and a confirmed bundle has nothing left to confirm or roll back.
        if self.state.booting.is_none() && !self.changed_beyond_launch() {
            self.store.write_volatile_launch(&launch)?;
        } else {
            self.save()?;
            self.store.remove_volatile_launch();
        }
        Ok(LaunchResult {
            web_root: device.web_root(&self.store, &launch.bundle),
            bundle: device.info(&self.state, &launch.bundle),
            launch_id: launch.launch_id,
            rolled_back,
            applied_next,
        })
    }
}

impl BundleStore {
    /// Describes a device. `builtin_dir` is the app's shipped web folder; `native_version` is the
    /// native app version (a change of it triggers `resetWhenUpdate`). No I/O beyond checking that
    /// the builtin folder exists.
    pub fn new(
        data_dir: &Path,
        builtin_dir: &Path,
        config: Config,
        native_version: Option<String>,
    ) -> Result<Self> {
        let builtin_dir = std::fs::canonicalize(builtin_dir)
            .map_err(Error::io("opening the builtin web folder", builtin_dir))?;
        if !builtin_dir.is_dir() {
            return Err(Error::Config(format!(
                "the builtin web folder {} is not a folder",
                builtin_dir.display()
            )));
        }
        Ok(Self {
            data_dir: data_dir.to_path_buf(),
            builtin_dir,
            config,
            native_version: native_version.filter(|v| !v.is_empty()),
            clock: std::sync::Arc::new(crate::hooks::SystemClock),
        })
    }

    /// This store reading `clock` for launch times, timeouts and install dates.
    pub fn with_clock(mut self, clock: std::sync::Arc<dyn crate::hooks::Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// This store with another configuration (the engine's run-time settings).
    pub fn with_config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// The wall clock now, in ms since the epoch.
    pub fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// The configuration in use.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The builtin bundle's record (always `success`, never deleted).
    pub fn builtin_info(&self) -> BundleInfo {
        BundleInfo {
            id: BUILTIN.into(),
            version: self
                .config
                .version
                .clone()
                .or_else(|| self.native_version.clone())
                .unwrap_or_else(|| BUILTIN.into()),
            downloaded: iso8601(0),
            checksum: String::new(),
            status: BundleStatus::Success,
        }
    }

    fn info(&self, state: &State, id: &str) -> BundleInfo {
        match state.get(id) {
            Some(b) if id != BUILTIN => b.clone(),
            _ => self.builtin_info(),
        }
    }

    fn web_root(&self, store: &DataFolder, id: &str) -> PathBuf {
        if id == BUILTIN {
            self.builtin_dir.clone()
        } else {
            store.bundle_dir(id)
        }
    }

    /// Locks the store, loads the state and applies the start-up rules.
    fn session(&self) -> Result<Session> {
        let store = DataFolder::open(&self.data_dir)?;
        let (mut state, _) = store.load()?;
        let persisted = state.clone();
        // The token of the latest launch of a confirmed bundle lives in the volatile record.
        if let Some(v) = store.read_volatile_launch()
            && v.bundle == state.current
            && state
                .last_launch
                .as_ref()
                .is_none_or(|l| l.started_ms <= v.started_ms)
        {
            state.last_launch = Some(v);
        }
        let mut s = Session {
            store,
            state,
            persisted,
        };
        if let Some(v) = &self.native_version
            && s.state.native_version.as_deref() != Some(v)
        {
            let changed = s.state.native_version.is_some();
            s.state.native_version = Some(v.clone());
            s.state.installed_or_updated = true;
            if changed && self.config.reset_when_update {
                log::info!(
                    "native version changed to {v}: back to builtin, removing downloaded bundles"
                );
                s.state.reset(false);
                s.state.fallback = BUILTIN.into();
                for b in s.state.bundles.values_mut() {
                    if b.status != BundleStatus::Deleted {
                        b.status = BundleStatus::Deleting;
                    }
                }
                s.save()?;
                self.sweep(&mut s, std::time::Instant::now() + sweep::LAUNCH_SWEEP)?;
            }
            s.save()?;
        }
        Ok(s)
    }

    /// Refuses `builtin` (with `what` it cannot undergo) and ids with no record.
    fn require_stored(s: &Session, id: &str, what: &str) -> Result<()> {
        if id == BUILTIN {
            return Err(Error::refused(
                Refusal::Builtin,
                format!("the builtin bundle cannot be {what}"),
            ));
        }
        if s.state.get(id).is_none() {
            return Err(Error::refused(
                Refusal::UnknownBundle,
                format!("unknown bundle {id:?}"),
            ));
        }
        Ok(())
    }

    fn require_installable(&self, s: &Session, id: &str) -> Result<()> {
        if id == BUILTIN {
            return Ok(());
        }
        let Some(b) = s.state.get(id) else {
            return Err(Error::refused(
                Refusal::UnknownBundle,
                format!("unknown bundle {id:?}"),
            ));
        };
        if !b.status.is_servable() {
            return Err(Error::refused(
                Refusal::NotServable,
                format!("bundle {id} cannot be used: its status is {}", b.status),
            ));
        }
        if !s.store.has_files(id) {
            return Err(Error::refused(
                Refusal::NoFiles,
                format!("bundle {id} has no files on disk"),
            ));
        }
        Ok(())
    }

    /// The data folder this device keeps its state and bundles in.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Queues bundle `id` (or `builtin`) to be applied at the next launch or background.
    pub fn next(&self, id: &str) -> Result<BundleInfo> {
        let mut s = self.session()?;
        self.require_installable(&s, id)?;
        s.state.next = Some(id.to_string());
        s.save()?;
        Ok(self.info(&s.state, id))
    }

    /// Makes bundle `id` (or `builtin`) current now. The host reloads the web view and calls
    /// [`BundleStore::launch_with`] for it, which records the launch that `notify_app_ready` confirms.
    pub fn set(&self, id: &str) -> Result<BundleInfo> {
        let mut s = self.session()?;
        self.require_installable(&s, id)?;
        s.state.current = id.to_string();
        if s.state.next.as_deref() == Some(id) {
            s.state.next = None;
        }
        // Switching away from an unconfirmed bundle on purpose is not a crash of it.
        if s.state.booting.as_ref().is_some_and(|l| l.bundle != id) {
            s.state.booting = None;
        }
        s.save()?;
        Ok(self.info(&s.state, id))
    }

    /// Deletes bundle `id`'s files, keeping a `deleted` tombstone. Refuses builtin, current, next
    /// and fallback. Persists `deleting` first, so an interrupted delete is resumed by the next launch.
    pub fn delete(&self, id: &str) -> Result<BundleInfo> {
        let mut s = self.session()?;
        Self::require_stored(&s, id, "deleted")?;
        for (role, used) in [
            ("current", s.state.current == id),
            ("next", s.state.next.as_deref() == Some(id)),
            ("fallback", s.state.fallback == id),
        ] {
            if used {
                return Err(Error::refused(
                    Refusal::InUse,
                    format!("bundle {id} is the {role} bundle and cannot be deleted"),
                ));
            }
        }
        self.delete_files(&mut s, id)?;
        Ok(self.info(&s.state, id))
    }

    /// The crash-safe delete protocol: persist `deleting`, remove the folder, persist `deleted`.
    fn delete_files(&self, s: &mut Session, id: &str) -> Result<()> {
        if let Some(b) = s.state.bundles.get_mut(id) {
            b.status = BundleStatus::Deleting;
        }
        s.save()?;
        s.store.remove_bundle_files(id)?;
        if let Some(b) = s.state.bundles.get_mut(id) {
            b.status = BundleStatus::Deleted;
        }
        s.save()
    }

    /// Marks bundle `id` as failed (`error`, known-bad). If it is current, the fallback (else
    /// builtin) becomes current right away.
    pub fn set_bundle_error(&self, id: &str) -> Result<BundleInfo> {
        let mut s = self.session()?;
        Self::require_stored(&s, id, "marked as failed")?;
        if s.state.current == id {
            s.state.rollback(id);
        } else {
            s.state.mark_error(id);
            if s.state.fallback == id {
                s.state.fallback = BUILTIN.into();
            }
        }
        s.save()?;
        Ok(self.info(&s.state, id))
    }

    /// Goes back to builtin, or to the last confirmed bundle when `to_last_successful`. Clears next.
    pub fn reset(&self, to_last_successful: bool) -> Result<BundleInfo> {
        let mut s = self.session()?;
        s.state.reset(to_last_successful);
        if s.state.current != BUILTIN && !s.store.has_files(&s.state.current) {
            s.state.reset(false);
        }
        s.save()?;
        Ok(self.info(&s.state, &s.state.current.clone()))
    }

    /// A launch by a process that does not own the data folder's launches (another live
    /// process holds the launch lock, see [`DataFolder::try_launch_lock`]): it serves the current
    /// bundle and changes nothing durable — no rollback of the owner's unconfirmed launch, no
    /// `next` applied, no sweep. Its token confirms nothing unless the current bundle is already
    /// confirmed (then it is recorded like any launch of a confirmed bundle, without a flush).
    pub fn launch_secondary(&self) -> Result<LaunchResult> {
        let r = (|| -> Result<LaunchResult> {
            let s = self.session()?;
            let current = s.state.current.clone();
            let servable = current == BUILTIN
                || (s.state.is_servable(&current) && s.store.has_files(&current));
            let bundle = if servable { current } else { BUILTIN.into() };
            let launch = Launch {
                launch_id: random_alnum(16)?,
                bundle: bundle.clone(),
                started_ms: self.now_ms(),
            };
            let confirmed = bundle == BUILTIN
                || s.state
                    .get(&bundle)
                    .is_some_and(|b| b.status == BundleStatus::Success);
            if confirmed && s.state.booting.is_none() {
                s.store.write_volatile_launch(&launch)?;
            }
            Ok(LaunchResult {
                web_root: self.web_root(&s.store, &bundle),
                bundle: self.info(&s.state, &bundle),
                launch_id: launch.launch_id,
                rolled_back: None,
                applied_next: false,
            })
        })();
        match r {
            Err(e) if e.is_unwritable() => self.launch_with(false),
            other => other,
        }
    }

    /// Call at every web view start (process start or reload), before loading it.
    ///
    /// Steps: roll back a bundle whose previous launch never confirmed (crash, kill, timeout);
    /// serve builtin if the current bundle is gone; apply a pending `next` unless `apply_next` is
    /// false (a delay condition holds); sweep leftovers; record this launch durably (as `booting`
    /// when the bundle is unconfirmed); return the web root.
    pub fn launch_with(&self, apply_next: bool) -> Result<LaunchResult> {
        match self.launch_inner(apply_next) {
            Err(e) if e.is_unwritable() => {
                log::warn!(
                    "the data folder cannot be written ({e}): starting on the builtin bundle"
                );
                Ok(LaunchResult {
                    launch_id: random_alnum(16)?,
                    web_root: self.builtin_dir.clone(),
                    bundle: self.builtin_info(),
                    rolled_back: None,
                    applied_next: false,
                })
            }
            other => other,
        }
    }

    fn launch_inner(&self, apply_next: bool) -> Result<LaunchResult> {
        let mut s = self.session()?;
        let loaded = s.state.clone();
        let mut rolled_back = None;
        if let Some(booting) = s.state.booting.clone() {
            log::warn!(
                "bundle {} was launched and never confirmed: rolling back",
                booting.bundle
            );
            if booting.bundle != BUILTIN {
                rolled_back = Some(s.state.rollback(&booting.bundle));
            }
            s.state.booting = None;
        }
        if let Some(r) = s.rollback_unservable_current() {
            rolled_back = Some(r);
        }
        s.drop_next_without_files();
        let applied_next = apply_next && s.state.apply_next();
        // Decisions are durable before the sweep removes any file they release.
        if s.state != loaded {
            s.save()?;
        }
        self.sweep(&mut s, std::time::Instant::now() + sweep::LAUNCH_SWEEP)?;
        s.record_launch(self, rolled_back, applied_next)
    }

    /// A new page load inside the running process (after `set`, `reload`, `next` at background,
    /// a rollback or a reset): applies a pending `next` when `apply_next`, records the launch
    /// (as `booting` while its bundle is unconfirmed) and returns the web root and a fresh launch
    /// id. Unlike [`BundleStore::launch_with`], an unconfirmed earlier page of this process is not a crash:
    /// its launch is simply replaced, so its token no longer confirms anything.
    pub fn relaunch(&self, apply_next: bool) -> Result<LaunchResult> {
        let mut s = self.session()?;
        let mut applied_next = false;
        if apply_next {
            s.drop_next_without_files();
            applied_next = s.state.apply_next();
        }
        let rolled_back = s.rollback_unservable_current();
        s.record_launch(self, rolled_back, applied_next)
    }

    /// The web app started fine on the launch `launch_id`: that bundle becomes `success` and the
    /// fallback; with `autoDeletePrevious` the previous fallback's files are deleted. A stale or
    /// foreign launch id changes nothing (`accepted: false`).
    pub fn notify_app_ready(&self, launch_id: &str) -> Result<ReadyResult> {
        let mut s = self.session()?;
        let accepted = match s.state.confirm(launch_id) {
            Ok(previous) => {
                // Confirming an already confirmed bundle changes nothing durable.
                if s.changed_beyond_launch() {
                    s.save()?;
                }
                if let Some(prev) = previous
                    && self.config.auto_delete_previous
                    && prev != BUILTIN
                    && !s.state.is_in_use(&prev)
                    && s.state.get(&prev).is_some()
                {
                    self.delete_files(&mut s, &prev)?;
                }
                true
            }
            Err(()) => false,
        };
        let current = s.state.current.clone();
        Ok(ReadyResult {
            bundle: self.info(&s.state, &current),
            accepted,
        })
    }

    /// Rolls back if `launch_id` is still unconfirmed after the configured `appReadyTimeout`.
    /// For hosts that keep a timer in-process; returns what was rolled back, if anything.
    pub fn check_app_ready_timeout(&self, launch_id: &str) -> Result<Option<Rollback>> {
        let mut s = self.session()?;
        let Some(Launch {
            launch_id: booting_id,
            bundle,
            started_ms,
        }) = s.state.booting.clone()
        else {
            return Ok(None);
        };
        if booting_id != launch_id
            || bundle != s.state.current
            || self.now_ms().saturating_sub(started_ms) < self.config.app_ready_timeout_ms
        {
            return Ok(None);
        }
        let r = s.state.rollback(&bundle);
        s.save()?;
        self.sweep(&mut s, std::time::Instant::now() + sweep::LAUNCH_SWEEP)?;
        Ok(Some(r))
    }

    /// The app went to the background: apply a pending `next` now, as Capgo does. Returns the
    /// current bundle afterwards; the host reloads the web view and calls [`BundleStore::launch_with`].
    pub fn on_background(&self) -> Result<BundleInfo> {
        let mut s = self.session()?;
        s.drop_next_without_files();
        if s.state.apply_next() {
            if s.state
                .booting
                .as_ref()
                .is_some_and(|l| l.bundle != s.state.current)
            {
                s.state.booting = None;
            }
            s.save()?;
        }
        let current = s.state.current.clone();
        Ok(self.info(&s.state, &current))
    }

    /// Current, next, fallback and every downloaded bundle (tombstones excluded). A data folder
    /// that cannot be written reports what the app then serves: builtin only.
    pub fn status(&self) -> Result<Status> {
        let s = match self.session() {
            Ok(s) => s,
            Err(e) if e.is_unwritable() => {
                let b = self.builtin_info();
                return Ok(Status {
                    current: b.clone(),
                    next: None,
                    fallback: b,
                    bundles: Vec::new(),
                });
            }
            Err(e) => return Err(e),
        };
        Ok(Status {
            current: self.info(&s.state, &s.state.current),
            next: s.state.next.as_deref().map(|id| self.info(&s.state, id)),
            fallback: self.info(&s.state, &s.state.fallback),
            bundles: s
                .state
                .bundles
                .values()
                .filter(|b| b.status != BundleStatus::Deleted)
                .cloned()
                .collect(),
        })
    }

    /// The record of bundle `id` (tombstones included), if any.
    pub fn record_of(&self, id: &str) -> Result<Option<BundleInfo>> {
        Ok(self.session()?.state.get(id).cloned())
    }

    /// True if this version + checksum was rolled back or marked failed before.
    pub fn is_known_bad(&self, version: &str, checksum: &str) -> Result<bool> {
        Ok(self.session()?.state.is_known_bad(version, checksum))
    }

    /// Runs `f` on the locked store and its state; saves the state if `f` changed it. For the
    /// registry client (device id, channel, rate limit, stats queue).
    pub(crate) fn with_state<T>(
        &self,
        f: impl FnOnce(&DataFolder, &mut State) -> Result<T>,
    ) -> Result<T> {
        let mut s = self.session()?;
        let before = s.state.clone();
        let out = f(&s.store, &mut s.state)?;
        if s.state != before {
            s.save()?;
        }
        Ok(out)
    }
}
