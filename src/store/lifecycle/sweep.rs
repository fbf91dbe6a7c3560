//! Sweep: what interrupted steps and old bundles leave behind, removed under the lock — unfinished installs, bundles over the cap, unclaimed folders, stale partial downloads, delta pool and index files, old tombstones.

use super::*;

impl Device {
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
                crate::fs_atomic::remove_tree(&s.store.bundles_dir().join(&name))?;
            }
        }
        Ok(())
    }

    /// Evicts the oldest unused bundles until `incoming` more fit under `maxStoredBundles`.
    pub(super) fn make_room(&self, s: &mut Session, incoming: usize) -> Result<()> {
        loop {
            let stored: Vec<&BundleInfo> = s
                .state
                .bundles
                .values()
                .filter(|b| s.store.has_files(&b.id) && b.status != BundleStatus::Deleted)
                .collect();
            if stored.len() + incoming <= self.config.max_stored_bundles {
                return Ok(());
            }
            let victim = stored
                .iter()
                .filter(|b| !s.state.is_in_use(&b.id))
                .min_by(|a, b| {
                    // Failed bundles go first, then the oldest.
                    (a.status != BundleStatus::Error, &a.downloaded)
                        .cmp(&(b.status != BundleStatus::Error, &b.downloaded))
                })
                .map(|b| b.id.clone());
            let Some(victim) = victim else {
                return Ok(());
            };
            log::info!("store full: deleting bundle {victim}");
            self.delete_files(s, &victim)?;
        }
    }

    /// Removes what interrupted or finished steps left behind: unfinished installs, interrupted
    /// deletes, failed bundles' files (`autoDeleteFailed`), staging folders, orphan folders, temp
    /// files; enforces the stored-bundle cap; bounds tombstones and known-bad entries.
    pub(super) fn sweep(&self, s: &mut Session) -> Result<()> {
        let mut changed = false;
        let installing = s.store.install_in_progress()?;
        // Unfinished installs (only when no install holds the install lock).
        let unfinished: Vec<String> = s
            .state
            .bundles
            .values()
            .filter(|b| b.status == BundleStatus::Downloading && !installing)
            .map(|b| b.id.clone())
            .collect();
        for id in unfinished {
            s.state.bundles.remove(&id);
            changed = true;
        }
        if changed {
            s.save()?;
        }
        let deleting: Vec<String> = s
            .state
            .bundles
            .values()
            .filter(|b| b.status == BundleStatus::Deleting)
            .map(|b| b.id.clone())
            .collect();
        for id in deleting {
            self.delete_files(s, &id)?;
        }
        // Folders on disk that no servable (or kept failed) record claims.
        let mut swept = false;
        for name in s.store.list_bundle_folder()? {
            let keep = match s.state.get(&name) {
                _ if installing && name.starts_with('.') => true,
                Some(b) => match b.status {
                    BundleStatus::Pending | BundleStatus::Success => true,
                    BundleStatus::Downloading => installing,
                    BundleStatus::Error => !self.config.auto_delete_failed,
                    _ => false,
                },
                None => false,
            };
            if !keep {
                swept = true;
                let path = s.store.bundles_dir().join(&name);
                log::info!("sweeping {}", path.display());
                if path.is_dir() {
                    crate::fs_atomic::remove_tree(&path)?;
                } else {
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        if swept {
            crate::fs_atomic::sync_dir(&s.store.bundles_dir())?;
        }
        s.store.sweep_temp_files()?;
        if !installing {
            // Temporary files of delta fetches that are not running; verified files older than
            // a week (a release that kept failing).
            crate::delta::Pool::sweep(&self.pool_dir(), crate::delta::fetch::POOL_MAX_AGE);
            let keep: Vec<String> = s
                .state
                .bundles
                .values()
                .filter(|b| b.status.is_servable())
                .map(|b| b.id.clone())
                .collect();
            crate::delta::index::sweep(&self.data_dir, &keep);
            // Partial downloads of a download that is not running (killed process).
            if let Ok(entries) = std::fs::read_dir(s.store.downloads_path()) {
                for e in entries.flatten() {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        self.make_room(s, 0)?;
        // Bound what the state file itself remembers.
        let mut tombstones: Vec<(String, String)> = s
            .state
            .bundles
            .values()
            .filter(|b| b.status == BundleStatus::Deleted)
            .map(|b| (b.downloaded.clone(), b.id.clone()))
            .collect();
        let mut pruned = false;
        if tombstones.len() > MAX_TOMBSTONES {
            tombstones.sort();
            for (_, id) in &tombstones[..tombstones.len() - MAX_TOMBSTONES] {
                s.state.bundles.remove(id);
            }
            pruned = true;
        }
        if s.state.known_bad.len() > MAX_KNOWN_BAD {
            let extra = s.state.known_bad.len() - MAX_KNOWN_BAD;
            s.state.known_bad.drain(..extra);
            pruned = true;
        }
        if pruned {
            s.save()?;
        }
        Ok(())
    }
}
