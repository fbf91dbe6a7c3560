//! Crash-safe filesystem steps: hidden staging folders, fsync of files and folders, publish by rename.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use ring::rand::{SecureRandom, SystemRandom};

use crate::error::{Error, Result};

/// Alphabet for random names and ids: `[0-9A-Za-z]`, as Capgo bundle ids use.
const ALNUM: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Returns `len` random characters from `[0-9A-Za-z]` (uniform, rejection sampling over the OS RNG).
pub fn random_alnum(len: usize) -> Result<String> {
    let rng = SystemRandom::new();
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        rng.fill(&mut buf).map_err(|_| Error::Io {
            op: "reading the system random generator",
            path: PathBuf::new(),
            source: std::io::Error::other("no randomness available"),
        })?;
        for &b in &buf {
            // 248 = 4 * 62: accept only bytes that map uniformly.
            if b < 248 && out.len() < len {
                out.push(char::from(ALNUM[usize::from(b % 62)]));
            }
        }
    }
    Ok(out)
}

/// Test hook for crash-consistency tests, compiled only with the `crash-hooks` cargo feature (never
/// in release or mobile builds): when the environment variable `LIVEUPDATE_CRASH_AT=N` is set, the
/// process aborts (as if the battery died) at the N-th durability point it reaches — before and
/// after each rename, and before each folder fsync.
#[cfg(feature = "crash-hooks")]
pub fn crash_point() {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static AT: OnceLock<Option<u64>> = OnceLock::new();
    static SEEN: AtomicU64 = AtomicU64::new(0);
    let at = AT.get_or_init(|| {
        std::env::var("LIVEUPDATE_CRASH_AT")
            .ok()
            .and_then(|v| v.parse().ok())
    });
    if let Some(at) = at
        && SEEN.fetch_add(1, Ordering::SeqCst) + 1 == *at
    {
        std::process::abort();
    }
}

/// Without the `crash-hooks` feature the durability points cost nothing.
#[cfg(not(feature = "crash-hooks"))]
#[inline(always)]
pub fn crash_point() {}

/// Flushes a folder's entry list to disk so a rename or create inside it survives power loss: a
/// commit point ([`durable::commit`]). A no-op where folders cannot be opened for syncing (not on
/// Android, iOS or Linux).
pub fn sync_dir(path: &Path) -> Result<()> {
    crash_point();
    #[cfg(unix)]
    {
        let dir = File::open(path).map_err(Error::io("opening folder for fsync", path))?;
        durable::commit(&dir).map_err(Error::io("fsyncing folder", path))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// How durability is paid for, chosen per platform in the code rather than inherited from
/// `File::sync_all` (which on Apple targets issues `F_FULLFSYNC`, a whole drive-cache flush, per
/// call — once per extracted file). The guarantee is the same everywhere: a published bundle is
/// complete after a crash or power loss, and the state file never goes back. See
/// `docs/state-machine.md`, "What is durable when".
pub mod durable {
    use std::fs::File;
    use std::io;
    use std::path::Path;

    use crate::error::{Error, Result};

    /// Whether each extracted file and folder needs a flush of its own before the install's
    /// commit. Linux and Android: no — the commit's `syncfs` writes every dirty page of the file
    /// system and commits the journal once. Apple: a plain `fsync` each (it hands the data to the
    /// drive without flushing the drive's cache). Elsewhere: `sync_all` each.
    pub const PER_ENTRY: bool = !cfg!(any(target_os = "linux", target_os = "android"));

    /// The per-entry flush of an extracted file or folder (see [`PER_ENTRY`]).
    pub fn entry(f: &File) -> io::Result<()> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            let _ = f;
            Ok(())
        }
        #[cfg(target_vendor = "apple")]
        {
            // Plain fsync(2), not F_FULLFSYNC: the full flush comes once, at the commit.
            rustix::fs::fsync(f).map_err(io::Error::from)
        }
        #[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
        {
            f.sync_all()
        }
    }

    /// Makes everything written under `dir` durable before the rename that publishes it: once
    /// per install. Linux/Android: `syncfs` of `dir`'s file system. Apple: `F_FULLFSYNC` (the
    /// drive cache, with every entry `fsync`ed before, reaches stable storage, so the rename that
    /// follows can never be persisted ahead of the files). Elsewhere: nothing more (each entry
    /// had `sync_all`).
    pub fn commit_batch(dir: &Path) -> Result<()> {
        #[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
        {
            let d = File::open(dir).map_err(Error::io("opening folder for flushing", dir))?;
            #[cfg(any(target_os = "linux", target_os = "android"))]
            rustix::fs::syncfs(&d)
                .map_err(|e| Error::io("flushing the file system of", dir)(io::Error::from(e)))?;
            #[cfg(target_vendor = "apple")]
            rustix::fs::fcntl_fullfsync(&d)
                .map_err(|e| Error::io("flushing (F_FULLFSYNC)", dir)(io::Error::from(e)))?;
        }
        #[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
        let _ = dir;
        Ok(())
    }

    /// Not a commit point: starts the disk on what is already written under `dir` while more is
    /// being written, so the batched commit at the end ([`commit_batch`]) has less left to wait
    /// for. Linux/Android: `syncfs` (the caller runs it on a helper thread); elsewhere nothing
    /// (Apple flushes each entry as it is done). Errors are left to the final commit. Blocks.
    pub fn write_back(dir: &Path) {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if let Ok(d) = File::open(dir) {
            let _ = rustix::fs::syncfs(&d);
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let _ = dir;
    }

    /// A commit point on one file or folder (a folder after a rename in it, the state file, a
    /// deletion record): Apple `F_FULLFSYNC`, elsewhere `fsync` (`sync_all`).
    pub fn commit(f: &File) -> io::Result<()> {
        #[cfg(target_vendor = "apple")]
        {
            rustix::fs::fcntl_fullfsync(f).map_err(io::Error::from)
        }
        #[cfg(not(target_vendor = "apple"))]
        {
            f.sync_all()
        }
    }
}

/// Writes `bytes` to `path` atomically: temp file in the same folder, fsync, rename, fsync the folder.
/// Readers see either the old content or the new one, never a mix, even after a crash.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let (dir, tmp) = temp_beside(path)?;
    let result = (|| {
        let mut f = File::create_new(&tmp).map_err(Error::io("creating", &tmp))?;
        f.write_all(bytes).map_err(Error::io("writing", &tmp))?;
        durable::commit(&f).map_err(Error::io("fsyncing", &tmp))?;
        drop(f);
        crash_point();
        fs::rename(&tmp, path).map_err(Error::io("renaming into place", path))?;
        crash_point();
        sync_dir(&dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Replaces `path` with `bytes` through a temp file and a rename, **without flushing**: readers
/// see the old or the new content; after a power loss the file may be old, missing or torn, so
/// use it only for caches and records whose loss is harmless (and that are checked when read).
pub fn write_unflushed(path: &Path, bytes: &[u8]) -> Result<()> {
    let (_, tmp) = temp_beside(path)?;
    fs::write(&tmp, bytes).map_err(Error::io("writing", &tmp))?;
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        Error::io("renaming into place", path)(e)
    })
}

/// `path`'s folder and a fresh temp name in it, `.<name>.tmp-<random>` (which sweeps recognise).
fn temp_beside(path: &Path) -> Result<(PathBuf, PathBuf)> {
    hidden_sibling(path, "file", "tmp", 8)
}

/// `path`'s folder and a fresh hidden name next to it, `.<name>.<kind>-<random of len>`; `what`
/// names what `path` must be in the error when it has no file name.
fn hidden_sibling(path: &Path, what: &str, kind: &str, len: usize) -> Result<(PathBuf, PathBuf)> {
    let dir = parent_of(path)?;
    let name = path
        .file_name()
        .ok_or_else(|| Error::Usage(format!("not a {what} path: {}", path.display())))?;
    let sibling = dir.join(format!(
        ".{}.{kind}-{}",
        name.to_string_lossy(),
        random_alnum(len)?
    ));
    Ok((dir, sibling))
}

/// The folder that holds `path` (`.` for a bare name).
pub fn parent_of(path: &Path) -> Result<PathBuf> {
    match path.parent() {
        Some(p) if p.as_os_str().is_empty() => Ok(PathBuf::from(".")),
        Some(p) => Ok(p.to_path_buf()),
        None => Err(Error::Usage(format!(
            "{} has no parent folder",
            path.display()
        ))),
    }
}

/// A hidden staging folder next to a destination, removed on drop unless it was published.
///
/// Everything a step writes goes inside it; publishing is one `rename` of a folder inside it to the
/// destination, followed by an fsync of the parent, so the destination appears complete or not at all.
#[derive(Debug)]
pub struct Staging {
    path: PathBuf,
    parent: PathBuf,
}

impl Staging {
    /// Creates `.<dest name>.staging-<random>` in `dest`'s parent folder (which must exist).
    pub fn next_to(dest: &Path) -> Result<Self> {
        let (parent, path) = hidden_sibling(dest, "folder", "staging", 10)?;
        fs::create_dir(&path).map_err(Error::io("creating staging folder", &path))?;
        Ok(Self { path, parent })
    }

    /// The staging folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renames `inner` (a folder inside the staging folder) to `dest`, fsyncs `dest`'s parent and
    /// removes what is left of the staging folder. `dest` must not exist.
    pub fn publish(self, inner: &Path, dest: &Path) -> Result<()> {
        if fs::symlink_metadata(dest).is_ok() {
            return Err(Error::DestinationExists(dest.to_path_buf()));
        }
        crash_point();
        fs::rename(inner, dest).map_err(Error::io("renaming staged folder to", dest))?;
        crash_point();
        let dest_parent = parent_of(dest)?;
        sync_dir(&dest_parent)?;
        if dest_parent != self.parent {
            sync_dir(&self.parent)?;
        }
        // Dropping removes the (now nearly empty) staging folder.
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// Bytes available to this process on the filesystem holding `path` (`None` where it cannot be
/// told). Used before installs so a full disk fails early and cleanly. Does one `statvfs`.
pub fn available_space(path: &Path) -> Option<u64> {
    #[cfg(unix)]
    {
        let st = rustix::fs::statvfs(path).ok()?;
        Some(st.f_bavail.saturating_mul(st.f_frsize))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Removes a folder tree if it exists; a missing folder is not an error.
pub fn remove_tree(path: &Path) -> Result<()> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("removing", path)(e)),
    }
}

/// Removes a folder tree (or a file, or a link: never followed) until `deadline`, checking the
/// clock between entries. Returns whether it is gone (`false`: partly removed; call again).
pub fn remove_tree_until(path: &Path, deadline: std::time::Instant) -> Result<bool> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(true),
        Err(e) => return Err(Error::io("reading", path)(e)),
    };
    if !meta.is_dir() {
        return match fs::remove_file(path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
            Err(e) => Err(Error::io("removing", path)(e)),
        };
    }
    let entries = fs::read_dir(path).map_err(Error::io("listing", path))?;
    for e in entries {
        if std::time::Instant::now() >= deadline {
            return Ok(false);
        }
        let e = e.map_err(Error::io("listing", path))?;
        if !remove_tree_until(&e.path(), deadline)? {
            return Ok(false);
        }
    }
    match fs::remove_dir(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(Error::io("removing", path)(e)),
    }
}

/// Reads at `offset` without moving any shared cursor (so threads can share one open file).
pub fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_at(file, buf, offset)
    }
    #[cfg(windows)]
    {
        std::os::windows::fs::FileExt::seek_read(file, buf, offset)
    }
}
