//! Folder: the data folder on disk — lock, versioned state file, bundle folders — and its crash-safe file operations.
//!
//! Layout under the host-given data folder:
//!
//! ```text
//! DATA/
//! ├── .lock                      exclusive lock held by the process working on the store
//! ├── state.json                 the versioned State, only ever replaced by write_atomic
//! └── bundles/
//!     ├── <id>/                  published bundles: complete, verified, never modified in place
//!     └── .<id>.staging-<rand>/  an install in progress (swept when no process holds the lock)
//! ```

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use crate::bundle::fs_atomic::{self, remove_tree, sync_dir, write_atomic};
use crate::error::{Error, Result};
use crate::store::state::{BUILTIN, FORMAT, State};

const STATE_FILE: &str = "state.json";
const LOCK_FILE: &str = ".lock";
const BUNDLES: &str = "bundles";
const INSTALL_LOCK: &str = ".install.lock";
/// Held for its whole life by the process that owns the data folder's launches.
const LAUNCH_LOCK: &str = ".launch.lock";
const DOWNLOADS: &str = "downloads";
/// The volatile record of the latest launch of a confirmed bundle (never flushed).
const LAUNCH_FILE: &str = "launch.json";
/// The folder of verified delta files (`delta::Pool`), which sweeps keep across restarts.
pub const POOL: &str = "delta-pool";
/// Where sweeps move what they remove (one rename each), to be deleted in the background.
const TRASH: &str = "trash";

/// The data folder, locked for the lifetime of this value.
///
/// Holding a `DataFolder` means no other process of the app is reading or writing the same data folder
/// (std `File::lock`, released when the value is dropped or the process dies).
#[derive(Debug)]
pub struct DataFolder {
    root: PathBuf,
    _lock: File,
}

/// Proof that this process owns the data folder's launches (see [`DataFolder::try_launch_lock`]).
#[derive(Debug)]
pub struct LaunchLock {
    _file: Option<File>,
}

/// Proof that this thread holds the install lock (see [`DataFolder::install_guard`]).
#[derive(Debug)]
pub struct InstallGuard {
    _file: File,
}

/// How the state file was found when it was loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadOutcome {
    /// It existed and was read.
    Read,
    /// There was none yet (first start).
    Fresh,
    /// It was unreadable; it was moved aside to this file and a fresh state was started.
    Recovered(PathBuf),
}

/// True if `id` is a bundle id this store can hold: 1–64 characters of `[0-9A-Za-z]` (so it can
/// never name a path outside the bundles folder), and not `builtin`.
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id != BUILTIN
        && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

impl DataFolder {
    /// Opens (creating it if needed) the data folder and takes its exclusive lock, waiting for any
    /// other process that holds it. Blocks; does I/O.
    pub fn open(root: &Path) -> Result<Self> {
        fs::create_dir_all(root).map_err(Error::io("creating data folder", root))?;
        let lock_path = root.join(LOCK_FILE);
        let lock = open_lock_file(&lock_path)?;
        lock.lock().map_err(Error::io("locking", &lock_path))?;
        let root = fs::canonicalize(root).map_err(Error::io("resolving", root))?;
        // The folders the store deletes in must be its own: a link (or a file) in their place
        // would make sweeps delete whatever it points to. Move it aside, never follow it.
        for name in [BUNDLES, DOWNLOADS, POOL, TRASH] {
            set_aside_if_foreign(&root, name)?;
        }
        fs::create_dir_all(root.join(BUNDLES))
            .map_err(Error::io("creating", root.join(BUNDLES)))?;
        Ok(Self { root, _lock: lock })
    }

    /// The data folder (absolute).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder holding every bundle folder.
    pub fn bundles_dir(&self) -> PathBuf {
        self.root.join(BUNDLES)
    }

    /// The folder of bundle `id` (which must be a valid id).
    pub fn bundle_dir(&self, id: &str) -> PathBuf {
        self.bundles_dir().join(id)
    }

    /// True if bundle `id` has a complete folder with an `index.html` at its root.
    pub fn has_files(&self, id: &str) -> bool {
        is_valid_id(id) && self.bundle_dir(id).join("index.html").is_file()
    }

    /// Loads the state. A missing file gives a fresh state; a file from a newer format is an
    /// error (never overwritten); an unreadable one is moved aside and a fresh state is returned,
    /// so the app falls back to builtin and the orphaned bundles are swept. Does I/O.
    pub fn load(&self) -> Result<(State, LoadOutcome)> {
        let path = self.root.join(STATE_FILE);
        let bytes = match read_state_file(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok((State::default(), LoadOutcome::Fresh));
            }
            Err(e) => {
                log::warn!("state file unusable ({e})");
                return self.set_aside(&path);
            }
        };
        #[derive(serde::Deserialize)]
        struct Probe {
            format: u32,
        }
        if let Ok(p) = serde_json::from_slice::<Probe>(&bytes)
            && p.format > FORMAT
        {
            return Err(Error::StateFormat(format!(
                "{} has format {} but this build reads up to {FORMAT}; it was written by a newer liveupdate",
                path.display(),
                p.format
            )));
        }
        match parse_state(&bytes) {
            Some(state) => Ok((state, LoadOutcome::Read)),
            None => self.set_aside(&path),
        }
    }

    /// Moves an unusable state file (unreadable, not a regular file, too large) aside and starts
    /// afresh: the app falls back to builtin and the orphaned bundles are swept. When it cannot
    /// even be moved (a read-only folder), the fresh state is used without it.
    fn set_aside(&self, path: &Path) -> Result<(State, LoadOutcome)> {
        let aside = self.root.join(format!(
            "state.json.corrupt-{}",
            fs_atomic::random_alnum(6)?
        ));
        match fs::rename(path, &aside) {
            Ok(()) => {
                let _ = sync_dir(&self.root);
                log::warn!("state file unreadable; moved to {}", aside.display());
                Ok((State::default(), LoadOutcome::Recovered(aside)))
            }
            Err(e) => {
                log::warn!(
                    "state file unreadable and cannot be moved aside ({e}): starting afresh"
                );
                Ok((State::default(), LoadOutcome::Recovered(path.to_path_buf())))
            }
        }
    }

    /// Saves the state atomically (temp file, fsync, rename, fsync of the folder).
    pub fn save(&self, state: &State) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(state)
            .map_err(|e| Error::StateFormat(format!("cannot encode state: {e}")))?;
        write_atomic(&self.root.join(STATE_FILE), &bytes)
    }

    /// Records the latest launch of a confirmed bundle without flushing anything (temp file +
    /// rename, so a reader sees the old or the new record; after a power loss it may be gone or
    /// unreadable, which only forgets a token nobody needs). Does I/O, never `fsync`.
    pub fn write_volatile_launch(&self, launch: &crate::store::state::Launch) -> Result<()> {
        let bytes = serde_json::to_vec(launch)
            .map_err(|e| Error::StateFormat(format!("cannot encode the launch record: {e}")))?;
        let path = self.root.join(LAUNCH_FILE);
        let tmp = self.root.join(format!(
            ".{LAUNCH_FILE}.tmp-{}",
            fs_atomic::random_alnum(8)?
        ));
        fs::write(&tmp, &bytes).map_err(Error::io("writing", &tmp))?;
        fs::rename(&tmp, &path).map_err(|e| {
            let _ = fs::remove_file(&tmp);
            Error::io("renaming into place", &path)(e)
        })
    }

    /// The volatile launch record, if present and readable.
    pub fn read_volatile_launch(&self) -> Option<crate::store::state::Launch> {
        let bytes = fs::read(self.root.join(LAUNCH_FILE)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Forgets the volatile launch record (a durable launch record replaced it).
    pub fn remove_volatile_launch(&self) {
        let _ = fs::remove_file(self.root.join(LAUNCH_FILE));
    }

    /// Removes bundle `id`'s folder (if any) and makes the removal durable.
    pub fn remove_bundle_files(&self, id: &str) -> Result<()> {
        if !is_valid_id(id) {
            return Ok(());
        }
        fs_atomic::crash_point();
        remove_tree(&self.bundle_dir(id))?;
        sync_dir(&self.bundles_dir())
    }

    /// The folder sweeps move removed trees into (may not exist yet).
    pub fn trash_path(&self) -> PathBuf {
        self.root.join(TRASH)
    }

    /// Takes `path` (a tree inside the data folder) out of the way with one rename into the
    /// trash, from where [`DataFolder::empty_trash`] deletes it; removed on the spot if it cannot be
    /// moved. Not flushed: a move a crash undoes leaves the tree where it was, for the next
    /// sweep. Does I/O.
    pub fn move_to_trash(&self, path: &Path) -> Result<()> {
        let trash = self.trash_path();
        fs::create_dir_all(&trash).map_err(Error::io("creating", &trash))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let dest = trash.join(format!(
            "{}-{}",
            name.trim_start_matches('.'),
            fs_atomic::random_alnum(8)?
        ));
        match fs::rename(path, &dest) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(_) => remove_tree(path),
        }
    }

    /// Deletes the trash's contents until `deadline`. Returns whether it is empty.
    pub fn empty_trash(&self, deadline: std::time::Instant) -> Result<bool> {
        let trash = self.trash_path();
        let Ok(entries) = fs::read_dir(&trash) else {
            return Ok(true);
        };
        for e in entries.flatten() {
            if !fs_atomic::remove_tree_until(&e.path(), deadline)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Names in the bundles folder (bundle folders, staging folders, stray files).
    pub fn list_bundle_folder(&self) -> Result<Vec<String>> {
        let dir = self.bundles_dir();
        let mut names = Vec::new();
        for e in fs::read_dir(&dir).map_err(Error::io("listing", &dir))? {
            let e = e.map_err(Error::io("listing", &dir))?;
            names.push(e.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        Ok(names)
    }

    /// Takes the install lock (waiting for another install to finish). While it is held, sweeps
    /// leave `downloading` records, staging folders and partial downloads alone, even though the
    /// main lock is released during the long unpack. Released on drop or process death.
    /// Takes no main lock: call it before opening the store.
    pub fn install_guard(root: &Path) -> Result<InstallGuard> {
        fs::create_dir_all(root).map_err(Error::io("creating data folder", root))?;
        let path = root.join(INSTALL_LOCK);
        let f = open_lock_file(&path)?;
        f.lock().map_err(Error::io("locking", &path))?;
        Ok(InstallGuard { _file: f })
    }

    /// Takes the launch lock if no other live process holds it: `Some(lock)` makes this process
    /// the owner of the data folder's launches for as long as it keeps the lock (an app process
    /// keeps it for its lifetime; it is released when the process ends, however it ends).
    /// `None` means another live process owns them: its unconfirmed launch is not a crash and
    /// must not be rolled back (see [`Device::launch_secondary`](crate::store::lifecycle::Device::launch_secondary)).
    /// A folder where no lock file can be made (read-only) has no other owner either. Does I/O.
    pub fn try_launch_lock(root: &Path) -> Result<Option<LaunchLock>> {
        let path = root.join(LAUNCH_LOCK);
        let opened = fs::create_dir_all(root).and_then(|()| {
            File::options()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
        });
        let file = match opened {
            Ok(f) => f,
            Err(e) if is_unwritable(&e) => match File::open(&path) {
                Ok(f) => f,
                // A read-only folder without a lock file: no other process can own it either.
                Err(_) => return Ok(Some(LaunchLock { _file: None })),
            },
            Err(e) => return Err(Error::io("opening lock file", &path)(e)),
        };
        match file.try_lock() {
            Ok(()) => Ok(Some(LaunchLock { _file: Some(file) })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(Error::io("locking", &path)(e)),
        }
    }

    /// True if some thread or process holds the install lock right now.
    pub fn install_in_progress(&self) -> Result<bool> {
        let path = self.root.join(INSTALL_LOCK);
        let f = open_lock_file(&path)?;
        match f.try_lock() {
            Ok(()) => Ok(false),
            Err(std::fs::TryLockError::WouldBlock) => Ok(true),
            Err(std::fs::TryLockError::Error(e)) => Err(Error::io("locking", &path)(e)),
        }
    }

    /// Where partial downloads live (may not exist yet).
    pub fn downloads_path(&self) -> PathBuf {
        self.root.join(DOWNLOADS)
    }

    /// The folder for partial downloads (created on demand).
    pub fn downloads_dir(&self) -> Result<PathBuf> {
        let d = self.downloads_path();
        fs::create_dir_all(&d).map_err(Error::io("creating", &d))?;
        Ok(d)
    }

    /// Bytes free on the data folder's filesystem, if known.
    pub fn available_space(&self) -> Option<u64> {
        fs_atomic::available_space(&self.root)
    }
}

/// If `root/name` exists and is not a real folder (a symbolic link, a file), renames it to
/// `name.foreign-<random>` (the link itself moves; nothing it points to is touched).
fn set_aside_if_foreign(root: &Path, name: &str) -> Result<()> {
    let path = root.join(name);
    match fs::symlink_metadata(&path) {
        Ok(m) if m.file_type().is_dir() => Ok(()),
        Ok(_) => {
            let aside = root.join(format!("{name}.foreign-{}", fs_atomic::random_alnum(6)?));
            log::warn!(
                "{name} in the data folder is not a folder (a link?): moved aside, not followed"
            );
            fs::rename(&path, &aside).map_err(Error::io("moving aside", &path))?;
            sync_dir(root)
        }
        Err(_) => Ok(()),
    }
}

/// Opens (creating) a lock file; the lock itself is taken by the caller. An existing lock file
/// in a folder that cannot be written is opened for reading (a lock needs no write access), so a
/// read-only data folder can still be read under the lock.
fn open_lock_file(path: &Path) -> Result<File> {
    match File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
    {
        Ok(f) => Ok(f),
        Err(e) if is_unwritable(&e) && path.is_file() => {
            File::open(path).map_err(Error::io("opening lock file", path))
        }
        Err(e) => Err(Error::io("opening lock file", path)(e)),
    }
}

/// True for the errors of a folder or file system that cannot be written.
pub fn is_unwritable(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
    )
}

/// Largest state file read (bytes). What the JS API can persist is bounded so that a state file
/// stays well under 1 MiB; anything larger is not a state this build wrote, and is moved aside
/// unread.
pub const MAX_STATE_BYTES: u64 = 2 * 1024 * 1024;

/// Reads the state file: only a regular file (never through a link, never a folder, a pipe or a
/// device, which would block or never end), at most [`MAX_STATE_BYTES`].
fn read_state_file(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let meta = fs::symlink_metadata(path)?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    if meta.len() > MAX_STATE_BYTES {
        return Err(std::io::Error::other(format!(
            "larger than {MAX_STATE_BYTES} bytes"
        )));
    }
    let mut out = Vec::new();
    File::open(path)?
        .take(MAX_STATE_BYTES + 1)
        .read_to_end(&mut out)?;
    if out.len() as u64 > MAX_STATE_BYTES {
        return Err(std::io::Error::other(format!(
            "larger than {MAX_STATE_BYTES} bytes"
        )));
    }
    Ok(out)
}

/// Parses state-file bytes: `None` if they are not a coherent state of a format this build reads
/// (a state that parses but whose references are broken counts as unreadable). Pure.
pub fn parse_state(bytes: &[u8]) -> Option<State> {
    serde_json::from_slice::<State>(bytes)
        .ok()
        .filter(|s| s.format <= FORMAT && state_is_coherent(s))
}

/// A state that parses but whose references are broken is treated as unreadable.
fn state_is_coherent(s: &State) -> bool {
    let known = |id: &str| id == BUILTIN || s.bundles.contains_key(id);
    s.bundles.iter().all(|(k, b)| k == &b.id && is_valid_id(k))
        && known(&s.current)
        && known(&s.fallback)
        && s.next.as_deref().is_none_or(known)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(is_valid_id("aZ09aZ09aZ"));
        for bad in ["", "builtin", "../x", "a/b", "a.b", &"a".repeat(65)] {
            assert!(!is_valid_id(bad), "{bad}");
        }
    }

    #[test]
    fn load_save_recover_and_refuse_newer() {
        let tmp = tempfile::tempdir().unwrap();
        let store = DataFolder::open(tmp.path()).unwrap();
        assert_eq!(store.load().unwrap().1, LoadOutcome::Fresh);
        let s = State {
            native_version: Some("1".into()),
            ..State::default()
        };
        store.save(&s).unwrap();
        assert_eq!(store.load().unwrap(), (s, LoadOutcome::Read));

        fs::write(tmp.path().join("state.json"), b"{not json").unwrap();
        let (s, outcome) = store.load().unwrap();
        assert_eq!(s, State::default());
        assert!(matches!(outcome, LoadOutcome::Recovered(_)));

        fs::write(tmp.path().join("state.json"), br#"{"format": 99}"#).unwrap();
        let e = store.load().unwrap_err();
        assert!(e.to_string().contains("newer"), "{e}");
        assert!(
            tmp.path().join("state.json").exists(),
            "a newer state is never moved"
        );
    }
}
