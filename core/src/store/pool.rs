//! Pool: the data folder's folder of verified delta files (`delta-pool/<sha256>`), which outlive a failed attempt, and the places a file may be taken from locally.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crate::bundle::checksum::to_hex;
use crate::error::{Error, Result};

/// One place a planned file may be: a path under a source folder, opened without following a
/// link on any component.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The source folder (trusted as given).
    pub root: PathBuf,
    /// The file's path under it.
    pub rel: PathBuf,
    /// May be hard-linked (see [`Source::link`]).
    pub link: bool,
}

/// The folder of verified files fetched for delta releases, named by their SHA-256.
#[derive(Debug, Clone)]
pub struct Pool {
    dir: PathBuf,
    /// Files of installed bundles by SHA-256 (`index.rs`): more places a file may be found, as
    /// (bundle folder, path in it).
    elsewhere: std::collections::HashMap<[u8; 32], (PathBuf, PathBuf)>,
}

/// How long an unused pool file is kept (a release that keeps failing is not retried forever).
pub const POOL_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

impl Pool {
    /// The pool in `dir` (created on demand). Does I/O.
    pub fn open(dir: &Path) -> Result<Self> {
        fs::create_dir_all(dir).map_err(Error::io("creating", dir))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            elsewhere: Default::default(),
        })
    }

    /// Adds installed bundles' files, by SHA-256, as places to look (see `index.rs`).
    pub fn with_elsewhere(
        mut self,
        elsewhere: std::collections::HashMap<[u8; 32], (PathBuf, PathBuf)>,
    ) -> Self {
        self.elsewhere = elsewhere;
        self
    }

    /// Where a file with this SHA-256 may be: the pool, then an installed bundle that holds it
    /// under another path. Every candidate is re-hashed before use.
    pub fn candidates(&self, sha256: &[u8; 32]) -> Vec<Candidate> {
        std::iter::once(self.candidate(sha256))
            .chain(self.elsewhere.get(sha256).map(|(root, rel)| Candidate {
                root: root.clone(),
                rel: rel.clone(),
                link: true,
            }))
            .collect()
    }

    /// The pool's own file with this SHA-256, as a place to take it from.
    pub fn candidate(&self, sha256: &[u8; 32]) -> Candidate {
        Candidate {
            root: self.dir.clone(),
            rel: PathBuf::from(to_hex(sha256)),
            link: true,
        }
    }

    /// The pool's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the file with this SHA-256 is (or would be).
    pub fn path_of(&self, sha256: &[u8; 32]) -> PathBuf {
        self.dir.join(to_hex(sha256))
    }

    /// Forgets the file with this SHA-256 (after it went into an installed bundle).
    pub fn remove(&self, sha256: &[u8; 32]) {
        let _ = fs::remove_file(self.path_of(sha256));
    }

    /// Removes temporary files (interrupted fetches) and files older than `max_age`, until
    /// `deadline` (as every sweep: [`super::sweep_stops`]). Call only when no install runs.
    /// Returns whether the folder was gone through. Does I/O.
    pub fn sweep(dir: &Path, max_age: Duration, deadline: Instant) -> bool {
        let Ok(entries) = fs::read_dir(dir) else {
            return true;
        };
        let now = SystemTime::now();
        for (seen, e) in entries.flatten().enumerate() {
            if super::sweep_stops(seen, deadline) {
                return false;
            }
            let name = e.file_name().to_string_lossy().into_owned();
            let old = e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| now.duration_since(t).ok())
                .is_some_and(|age| age > max_age);
            let verified_name = name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit());
            if old || !verified_name {
                let _ = fs::remove_file(e.path());
            }
        }
        true
    }
}
