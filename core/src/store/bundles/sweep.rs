//! Sweep: what interrupted steps and old bundles leave behind, removed under the lock within a time budget — unfinished installs, bundles over the cap, unclaimed folders, stale partial downloads, delta pool and index files, old tombstones.
//!
//! The state decisions (dropping unfinished records, marking bundles over the cap `deleting`,
//! bounding tombstones and known-bad entries) are cheap and always made. Trees are taken out of
//! `bundles/` with one rename each into `trash/`, and the file work (emptying the trash, stale
//! delta and download files) is done until the deadline it is given and resumed by the next
//! sweep: a launch gives it a few milliseconds ([`LAUNCH_SWEEP`]) so a start stays fast
//! whatever the folders hold, and the engine finishes the rest on a background thread
//! ([`BundleStore::maintain`]).

use std::time::{Duration, Instant};

use super::*;

/// File work a launch (or a rollback) may do before it returns; the rest waits for the
/// engine's background maintenance or the next launch.
pub const LAUNCH_SWEEP: Duration = Duration::from_millis(15);

impl BundleStore {
    /// With the install lock held by the caller, every `downloading` record and staging folder is
    /// a leftover of a killed install: remove them now, so repeated interrupted installs never
    /// pile up on disk even when no launch runs in between.
    pub(super) fn clear_interrupted_installs(&self, s: &mut Session) -> Result<()> {
        let stale: Vec<String> = s
            .state
            .bundles
            .values()
            .filter(|b| b.status == BundleStatus::Downloading)
            .map(|b| b.id.clone())
            .collect();
        for id in &stale {
            s.state.bundles.remove(id);
        }
        if !stale.is_empty() {
            s.save()?;
        }
        for name in s.store.list_bundle_folder()? {
            let orphan = stale.contains(&name) || name.starts_with('.');
            if orphan {
                crate::bundle::fs_atomic::remove_tree(&s.store.bundles_dir().join(&name))?;
            }
        }
        Ok(())
    }

    /// Evicts the oldest unused bundles until `incoming` more fit under `maxStoredBundles`.
    pub(super) fn make_room(&self, s: &mut Session, incoming: usize) -> Result<()> {
        while let Some(victim) = self.eviction_victim(s, incoming) {
            log::info!("store full: deleting bundle {victim}");
            self.delete_files(s, &victim)?;
        }
        Ok(())
    }

    /// The unused bundle to evict first when `incoming` more must fit under the cap, if any.
    fn eviction_victim(&self, s: &Session, incoming: usize) -> Option<String> {
        let stored: Vec<&BundleInfo> = s
            .state
            .bundles
            .values()
            .filter(|b| {
                s.store.has_files(&b.id)
                    && !matches!(b.status, BundleStatus::Deleted | BundleStatus::Deleting)
            })
            .collect();
        if stored.len() + incoming <= self.config.max_stored_bundles {
            return None;
        }
        stored
            .iter()
            .filter(|b| !s.state.is_in_use(&b.id))
            .min_by(|a, b| {
                // Failed bundles go first, then the oldest.
                (a.status != BundleStatus::Error, &a.downloaded)
                    .cmp(&(b.status != BundleStatus::Error, &b.downloaded))
            })
            .map(|b| b.id.clone())
    }

    /// Removes what interrupted or finished steps left behind — unfinished installs, interrupted
    /// deletes, failed bundles' files (`autoDeleteFailed`), staging folders, orphan folders, temp
    /// files, stale delta files and partial downloads — and enforces the stored-bundle cap and
    /// the bounds on tombstones and known-bad entries. File work stops at `deadline`; returns
    /// whether everything was done (else the next sweep resumes it).
    pub(super) fn sweep(&self, s: &mut Session, deadline: Instant) -> Result<bool> {
        let installing = s.store.install_in_progress()?;
        let before = s.state.clone();
        // State decisions, made at once and durable before any file they release is removed.
        if !installing {
            s.state
                .bundles
                .retain(|_, b| b.status != BundleStatus::Downloading);
        }
        while let Some(victim) = self.eviction_victim(s, 0) {
            if let Some(b) = s.state.bundles.get_mut(&victim) {
                b.status = BundleStatus::Deleting;
            }
        }
        self.prune_records(s);
        if s.state != before {
            s.save()?;
        }
        // Small folders first: the data folder's own temp files, then the delta pool (outside an
        // install it holds only what interrupted fetches left: their temp files, verified files
        // older than a week), so even a slow CPU's first launch after a crash removes them
        // before the bigger work takes the budget (found on armv7 under QEMU).
        let mut done = sweep_temp_files(s.store.root(), deadline);
        if !installing {
            done &=
                crate::store::Pool::sweep(&self.pool_dir(), crate::store::POOL_MAX_AGE, deadline);
        }
        done &= self.finish_deletes(s, deadline)?;
        done &= self.remove_unclaimed(s, installing, deadline)?;
        if !installing {
            let keep: Vec<String> = s
                .state
                .bundles
                .values()
                .filter(|b| b.status.is_servable())
                .map(|b| b.id.clone())
                .collect();
            done &= crate::store::index::sweep(&self.data_dir, &keep, deadline);
            // Partial downloads of a download that is not running (killed process).
            done &= remove_entries(&s.store.downloads_path(), deadline, |_| true);
        }
        done &= s.store.empty_trash(deadline)?;
        Ok(done)
    }

    /// Removes the files of `deleting` bundles (until `deadline`) and records those done as
    /// `deleted` in one state write.
    fn finish_deletes(&self, s: &mut Session, deadline: Instant) -> Result<bool> {
        let deleting: Vec<String> = s
            .state
            .bundles
            .values()
            .filter(|b| b.status == BundleStatus::Deleting)
            .map(|b| b.id.clone())
            .collect();
        let mut finished = Vec::new();
        let mut done = true;
        for (n, id) in deleting.into_iter().enumerate() {
            if !crate::store::is_valid_id(&id) {
                finished.push(id);
                continue;
            }
            if crate::store::sweep_stops(n, deadline) {
                done = false;
                break;
            }
            crate::bundle::fs_atomic::crash_point();
            s.store.move_to_trash(&s.store.bundle_dir(&id))?;
            finished.push(id);
        }
        if !finished.is_empty() {
            for id in &finished {
                if let Some(b) = s.state.bundles.get_mut(id) {
                    b.status = BundleStatus::Deleted;
                }
            }
            s.save()?;
        }
        Ok(done)
    }

    /// Removes the names in the bundles folder that no servable (or kept failed) record claims:
    /// staging folders of installs that are not running, orphans, half-deleted folders.
    fn remove_unclaimed(&self, s: &Session, installing: bool, deadline: Instant) -> Result<bool> {
        let dir = s.store.bundles_dir();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) => return Err(Error::io("listing", &dir)(e)),
        };
        let mut done = true;
        for (seen, e) in entries.enumerate() {
            if crate::store::sweep_stops(seen, deadline) {
                done = false;
                break;
            }
            let e = e.map_err(Error::io("listing", &dir))?;
            let name = e.file_name().to_string_lossy().into_owned();
            let keep = match s.state.get(&name) {
                _ if installing && name.starts_with('.') => true,
                Some(b) => match b.status {
                    BundleStatus::Pending | BundleStatus::Success => true,
                    BundleStatus::Downloading => installing,
                    BundleStatus::Error => !self.config.auto_delete_failed,
                    // Removed by `finish_deletes`, which records them.
                    BundleStatus::Deleting => true,
                    BundleStatus::Deleted => false,
                },
                None => false,
            };
            if keep {
                continue;
            }
            let path = e.path();
            log::info!("sweeping {}", path.display());
            let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
            if is_dir {
                s.store.move_to_trash(&path)?;
            } else {
                let _ = std::fs::remove_file(&path);
            }
        }
        // Not flushed: a removal a crash undoes leaves an unclaimed name, which the next sweep
        // removes again.
        Ok(done)
    }

    /// Bounds what the state file itself remembers: at most [`MAX_TOMBSTONES`] tombstones and
    /// [`MAX_KNOWN_BAD`] known-bad entries (the oldest are forgotten).
    fn prune_records(&self, s: &mut Session) {
        let mut tombstones: Vec<(String, String)> = s
            .state
            .bundles
            .values()
            .filter(|b| b.status == BundleStatus::Deleted)
            .map(|b| (b.downloaded.clone(), b.id.clone()))
            .collect();
        if tombstones.len() > MAX_TOMBSTONES {
            tombstones.sort();
            for (_, id) in &tombstones[..tombstones.len() - MAX_TOMBSTONES] {
                s.state.bundles.remove(id);
            }
        }
        if s.state.known_bad.len() > MAX_KNOWN_BAD {
            let extra = s.state.known_bad.len() - MAX_KNOWN_BAD;
            s.state.known_bad.drain(..extra);
        }
    }

    /// One step of background maintenance: takes the lock and sweeps for at most `budget`.
    /// Returns whether nothing is left to do. The engine calls it on its own thread after a
    /// start until it returns true, so the clean-up a launch deferred is finished without
    /// slowing any call down for long (the lock is held for one step only). Blocks; disk I/O.
    pub fn maintain(&self, budget: Duration) -> Result<bool> {
        let mut s = self.session()?;
        self.sweep(&mut s, Instant::now() + budget)
    }
}

/// Removes leftovers of interrupted atomic writes in the data folder itself (`.<name>.tmp-*`),
/// until `deadline`. Returns whether the listing was finished.
fn sweep_temp_files(root: &Path, deadline: Instant) -> bool {
    remove_entries(root, deadline, |name| {
        name.starts_with('.') && name.contains(".tmp-")
    })
}

/// Removes the files of `dir` whose names `pick` selects, until `deadline` (as every sweep:
/// [`crate::store::sweep_stops`]). Returns whether the listing was finished (a missing folder is).
pub(crate) fn remove_entries(dir: &Path, deadline: Instant, pick: impl Fn(&str) -> bool) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return true;
    };
    for (seen, e) in entries.flatten().enumerate() {
        if crate::store::sweep_stops(seen, deadline) {
            return false;
        }
        let name = e.file_name().to_string_lossy().into_owned();
        if pick(&name) && e.file_type().is_ok_and(|t| !t.is_dir()) {
            let _ = std::fs::remove_file(e.path());
        }
    }
    true
}
