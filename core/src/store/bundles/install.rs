//! Install: a bundle into the store — from a file, a stream, a verified download or a delta tree — under one protocol (`downloading` record, produce without the main lock, `pending`), plus what installs are checked against (downgrade policy, installed copies, reuse sources).

use super::*;

impl BundleStore {
    /// Installs the bundle file `input` as a new `pending` bundle: checks free space, then runs the
    /// whole pipeline (decrypt with the configured public key, verify, safe unzip) into the store.
    /// Blocks for the whole install; holds the lock meanwhile.
    pub fn install(
        &self,
        input: &Path,
        version: &str,
        checksum: &str,
        session_key: Option<&str>,
    ) -> Result<BundleInfo> {
        let version = parse_version(version)?;
        let trust = self.trust(checksum, session_key)?;
        let len = std::fs::metadata(input)
            .map_err(Error::io("reading metadata of", input))?
            .len();
        let guard = DataFolder::install_guard(&self.data_dir)?;
        let options = self.extract_options();
        // Read twice (hash, then extract through on-the-fly decryption): no plaintext copy.
        self.install_unpacked(&guard, version, len, None, |dir| {
            crate::bundle::unpack::unpack_path(input, &trust, dir, &options)
        })
    }

    /// [`BundleStore::install_with`] for the zip paths: the unpack report's SHA-256 is the bundle's
    /// checksum, and the caller wants the record.
    fn install_unpacked(
        &self,
        guard: &InstallGuard,
        version: &str,
        len_hint: u64,
        id: Option<&str>,
        unpack: impl FnOnce(&Path) -> Result<crate::bundle::unpack::UnpackReport>,
    ) -> Result<BundleInfo> {
        self.install_with(guard, version, len_hint, id, |dir| {
            unpack(dir).map(|r| ((), r.sha256))
        })
        .map(|(info, ())| info)
    }

    /// The app's keys applied to a release's checksum and session key (pure computation).
    pub(super) fn trust(
        &self,
        checksum: &str,
        session_key: Option<&str>,
    ) -> Result<crate::bundle::unpack::ParsedTrust> {
        if let Some(problem) = &self.config.key_problem {
            return Err(Error::PublicKey(format!(
                "the configured key is unusable ({problem})"
            )));
        }
        BundleTrust {
            public_key: self.config.public_key.as_ref(),
            session_key: session_key.filter(|s| !s.trim().is_empty()),
            checksum,
        }
        .parse_with_keys(&self.config.extra_public_keys)
    }

    /// [`BundleStore::install`] from any reader of `len_hint` bytes (the disk-full tests).
    #[cfg(test)]
    pub fn install_from(
        &self,
        input: impl std::io::Read,
        len_hint: u64,
        version: &str,
        checksum: &str,
        session_key: Option<&str>,
    ) -> Result<BundleInfo> {
        let version = parse_version(version)?;
        let trust = self.trust(checksum, session_key)?;
        // The install lock keeps sweeps away from this install while the main lock is released
        // for the long unpack, so launch and notify_app_ready are never blocked by a download.
        let guard = DataFolder::install_guard(&self.data_dir)?;
        let options = self.extract_options();
        self.install_unpacked(&guard, version, len_hint, None, |dir| {
            crate::bundle::unpack::unpack_reader(input, &trust, dir, &options)
        })
    }

    /// Installs a bundle whose zip was already verified (the download path, which hashes while
    /// the bytes arrive). The caller holds the install lock for the whole download.
    /// `id` names the new bundle (a fresh random id when `None`). The verified file (the
    /// download's partial file) is deleted once extracted, before the install's flush.
    pub fn install_verified(
        &self,
        guard: &InstallGuard,
        verified: &VerifiedZip,
        version: &str,
        id: Option<&str>,
    ) -> Result<BundleInfo> {
        let version = parse_version(version)?;
        let options = self.extract_options();
        self.install_unpacked(guard, version, 0, id, |dir| {
            unpack_verified_consuming(verified, dir, &options)
        })
    }

    /// Installs a bundle folder made by `produce` (the delta path: a tree assembled from local
    /// and fetched files) under the same protocol as zips: a `downloading` record, `produce`
    /// without the main lock, then `pending` with `checksum` as the bundle's identity — or no
    /// record and no folder if `produce` failed. `produce` must create the folder it is given
    /// atomically. The caller holds the install lock. Blocks; disk I/O.
    pub fn install_tree<T, E: From<Error>>(
        &self,
        guard: &InstallGuard,
        version: &str,
        id: Option<&str>,
        checksum: &str,
        produce: impl FnOnce(&Path) -> std::result::Result<T, E>,
    ) -> std::result::Result<(BundleInfo, T), E> {
        let version = parse_version(version)?;
        self.install_with(guard, version, 0, id, |dir| {
            produce(dir).map(|t| (t, checksum.to_string()))
        })
    }

    /// Where an update may find files it needs, most likely first: the current bundle, next,
    /// the fallback, every other servable installed bundle (with their ids, for their file
    /// indexes), then the builtin folder. One locked read of the state. Does I/O.
    pub fn reuse_sources(&self) -> Result<ReuseSources> {
        Ok(ReuseSources {
            bundles: self.servable_bundles()?,
            builtin: self.builtin_dir.clone(),
        })
    }

    /// The installed bundles that may be served and have their files (id, folder), most likely
    /// reuse source first: current, next, fallback, then the newest. Does I/O.
    pub fn servable_bundles(&self) -> Result<Vec<(String, PathBuf)>> {
        let s = self.session()?;
        let mut ids: Vec<String> = vec![s.state.current.clone()];
        ids.extend(s.state.next.clone());
        ids.push(s.state.fallback.clone());
        let mut others: Vec<&BundleInfo> = s
            .state
            .bundles
            .values()
            .filter(|b| b.status.is_servable())
            .collect();
        others.sort_by(|a, b| b.downloaded.cmp(&a.downloaded));
        ids.extend(others.into_iter().map(|b| b.id.clone()));
        let mut out: Vec<(String, PathBuf)> = Vec::new();
        for id in ids {
            if id == BUILTIN || !s.store.has_files(&id) || out.iter().any(|(o, _)| *o == id) {
                continue;
            }
            let dir = s.store.bundle_dir(&id);
            out.push((id, dir));
        }
        Ok(out)
    }

    /// The folder of verified files fetched for delta releases (see `delta::Pool`).
    pub fn pool_dir(&self) -> PathBuf {
        self.data_dir.join(crate::store::POOL)
    }

    /// Takes the install lock (for a download followed by [`BundleStore::install_verified`]).
    pub fn install_guard(&self) -> Result<InstallGuard> {
        DataFolder::install_guard(&self.data_dir)
    }

    pub(super) fn extract_options(&self) -> ExtractOptions {
        ExtractOptions {
            limits: self.config.limits,
            ..ExtractOptions::default()
        }
    }

    /// The install protocol around `produce` (which creates the bundle folder it is given):
    /// record `downloading` (under the main lock), produce without the main lock, then record
    /// `pending` — or remove the record if producing failed or a reset cancelled the install.
    pub(super) fn install_with<T, E: From<Error>>(
        &self,
        _guard: &InstallGuard,
        version: &str,
        len_hint: u64,
        id: Option<&str>,
        produce: impl FnOnce(&Path) -> std::result::Result<(T, String), E>,
    ) -> std::result::Result<(BundleInfo, T), E> {
        let chosen = match id {
            Some(id) if crate::store::is_valid_id(id) => Some(id.to_string()),
            Some(id) => return Err(Error::Usage(format!("invalid bundle id {id:?}")).into()),
            None => None,
        };
        let (id, mut info, bundle_dir) = {
            let mut s = self.session()?;
            self.check_downgrade(&s.state, version)?;
            self.clear_interrupted_installs(&mut s)?;
            self.make_room(&mut s, 1)?;
            let needed = len_hint.saturating_mul(2).saturating_add(SPACE_MARGIN);
            if let Some(available) = s.store.available_space()
                && available < needed
            {
                return Err(Error::NoSpace { needed, available }.into());
            }
            let id = match chosen {
                Some(id) if !s.state.bundles.contains_key(&id) => id,
                _ => random_alnum(10)?,
            };
            let info = BundleInfo {
                id: id.clone(),
                version: version.to_string(),
                downloaded: iso8601(self.now_ms()),
                checksum: String::new(),
                status: BundleStatus::Downloading,
            };
            s.state.bundles.insert(id.clone(), info.clone());
            s.save()?;
            let dir = s.store.bundle_dir(&id);
            (id, info, dir)
        };
        let result = produce(&bundle_dir);
        let mut s = self.session()?;
        let still_ours = s
            .state
            .get(&id)
            .is_some_and(|b| b.status == BundleStatus::Downloading);
        match result {
            Ok((out, checksum)) if still_ours => {
                info.status = BundleStatus::Pending;
                info.checksum = checksum;
                s.state.bundles.insert(id, info.clone());
                s.save()?;
                Ok((info, out))
            }
            Ok(_) => {
                s.store.remove_bundle_files(&id)?;
                Err(Error::refused(
                    Refusal::InstallCancelled,
                    "the install was cancelled by a reset of the store",
                )
                .into())
            }
            Err(e) => {
                if still_ours {
                    s.state.bundles.remove(&id);
                    s.save()?;
                }
                Err(e)
            }
        }
    }

    /// The record of a servable bundle with files whose version and checksum match, if any.
    pub fn find_installed(&self, version: &str, sha256: &str) -> Result<Option<BundleInfo>> {
        let s = self.session()?;
        Ok(s.state
            .bundles
            .values()
            .find(|b| {
                b.version == version
                    && b.checksum == sha256
                    && b.status.is_servable()
                    && s.store.has_files(&b.id)
            })
            .cloned())
    }

    /// The downgrade policy: with `refuse_downgrade`, a version older than the highest one that
    /// ever reached `success` is refused (the record survives restarts in the state file).
    pub(super) fn check_downgrade(&self, state: &State, version: &str) -> Result<()> {
        if !self.config.refuse_downgrade {
            return Ok(());
        }
        let Some(highest) = &state.highest_success_version else {
            return Ok(());
        };
        match crate::store::state::version_cmp(version, highest) {
            Some(std::cmp::Ordering::Less) => Err(Error::refused(
                Refusal::Downgrade,
                format!(
                    "downgrade refused: {version} is older than {highest}, which already ran successfully"
                ),
            )),
            Some(_) => Ok(()),
            // Fail closed: a label that cannot be ordered could be anything, older included.
            None => Err(Error::refused(
                Refusal::Downgrade,
                format!(
                    "downgrade refused: {version:?} cannot be ordered against {highest} as a version (downgradePolicy: refuse)"
                ),
            )),
        }
    }

    /// Whether installing `version` would be refused by the downgrade policy.
    pub fn is_downgrade_refused(&self, version: &str) -> Result<bool> {
        let s = self.session()?;
        Ok(self.check_downgrade(&s.state, version).is_err())
    }
}

/// The local places an update may take files from ([`BundleStore::reuse_sources`]).
#[derive(Debug, Clone)]
pub struct ReuseSources {
    /// Servable installed bundles with files: (id, folder), most likely source first.
    pub bundles: Vec<(String, PathBuf)>,
    /// The builtin web folder.
    pub builtin: PathBuf,
}
