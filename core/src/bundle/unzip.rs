//! Unzip: turn a `VerifiedZip` into a folder tree, refusing unsafe names and types, within limits, on all cores.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use zip::ZipArchive;

use crate::bundle::checksum::VerifiedZip;
use crate::bundle::fs_atomic::{available_space, durable};
use crate::error::{Error, Result};

/// Limits on what one bundle may extract. Checked while inflating, not from the zip headers' claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum total bytes written for all files.
    pub max_bytes: u64,
    /// Maximum number of files (folders are limited to the same number separately).
    pub max_files: u64,
}

impl Limits {
    /// Default total extracted size: 512 MiB (web bundles are typically 1–50 MB).
    pub const DEFAULT_MAX_BYTES: u64 = 512 * 1024 * 1024;
    /// Default number of files: 50,000 (large SPAs ship a few thousand).
    pub const DEFAULT_MAX_FILES: u64 = 50_000;
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: Self::DEFAULT_MAX_BYTES,
            max_files: Self::DEFAULT_MAX_FILES,
        }
    }
}

/// How extraction behaves beyond the limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtractOptions {
    /// The size and count limits.
    pub limits: Limits,
    /// Worker threads (at least 1). Default: the available cores, at most 4.
    pub threads: usize,
    /// fsync every file and folder before the result is published (default true).
    pub durable: bool,
}

impl Default for ExtractOptions {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            limits: Limits::default(),
            threads: cores.clamp(1, 4),
            durable: true,
        }
    }
}

/// A zip entry name that is safe to join under the bundle root: relative, no `..`, no backslash,
/// no NUL, no drive letter. `.` and empty segments are dropped. Built only by [`EntryPath::parse`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntryPath {
    parts: Vec<String>,
}

/// Longest entry name accepted, in bytes (paths in real web bundles stay far below).
pub const MAX_NAME_BYTES: usize = 1024;
/// Longest path segment accepted, in bytes (`NAME_MAX` on Linux, Android and Apple systems).
pub const MAX_SEGMENT_BYTES: usize = 255;
/// Most nested folders accepted in one entry name.
pub const MAX_DEPTH: usize = 64;

impl EntryPath {
    /// Parses a zip entry name (already decoded to text) into safe path segments.
    ///
    /// Returns the path (possibly empty, for `./`-like names) or the reason the name is refused.
    /// Names over [`MAX_NAME_BYTES`], segments over [`MAX_SEGMENT_BYTES`] and paths deeper than
    /// [`MAX_DEPTH`] are refused before anything is allocated for them.
    pub fn parse(name: &str) -> std::result::Result<Self, &'static str> {
        if name.len() > MAX_NAME_BYTES {
            return Err("is longer than 1024 bytes");
        }
        if name.contains('\0') {
            return Err("contains a NUL byte");
        }
        if name.chars().any(|c| c.is_control()) {
            return Err("contains a control character");
        }
        if name.contains('\\') {
            return Err("contains a backslash");
        }
        if name.starts_with('/') {
            return Err("is an absolute path");
        }
        let mut parts = Vec::new();
        for (i, seg) in name.split('/').enumerate() {
            if i == 0 && is_drive(seg) {
                return Err("starts with a drive letter");
            }
            match seg {
                "" | "." => {}
                ".." => return Err("has a '..' component"),
                s if s.len() > MAX_SEGMENT_BYTES => {
                    return Err("has a path segment longer than 255 bytes");
                }
                s => {
                    if parts.len() == MAX_DEPTH {
                        return Err("is nested deeper than 64 folders");
                    }
                    parts.push(s.to_string())
                }
            }
        }
        Ok(Self { parts })
    }

    /// The segments, outermost first.
    pub fn parts(&self) -> &[String] {
        &self.parts
    }

    /// True for the bundle root itself.
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// The path relative to the bundle root, for joining with the root folder.
    pub fn to_path(&self) -> PathBuf {
        self.parts.iter().collect()
    }

    fn strip_first(&self) -> Self {
        Self {
            parts: self.parts[1..].to_vec(),
        }
    }
}

fn is_drive(seg: &str) -> bool {
    let b = seg.as_bytes();
    b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':'
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dir,
    File,
}

/// One file to write: the zip index and where it goes.
#[derive(Debug)]
struct FileJob {
    index: usize,
    path: EntryPath,
    compressed: u64,
}

/// What the zip will produce, decided before any byte is written.
#[derive(Debug, Default)]
struct Plan {
    dirs: Vec<EntryPath>,
    files: Vec<FileJob>,
    /// Sum of the uncompressed sizes the headers claim (for the free-space check only).
    claimed_bytes: u64,
}

/// S_IFMT bits of a Unix mode.
const S_IFMT: u32 = 0o170000;
const S_IFREG: u32 = 0o100000;
const S_IFDIR: u32 = 0o040000;

/// Why two names that differ only in case or Unicode normalisation are refused.
pub(crate) const COLLIDES: &str =
    "collides with another entry on case-insensitive or normalising file systems (iOS, macOS)";

/// A path as a case-insensitive, normalisation-insensitive file system compares it.
pub(crate) fn fold(p: &EntryPath) -> String {
    fold_str(&p.parts.join("/"))
}

/// [`fold`] of a `/`-joined path.
pub(crate) fn fold_str(p: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    p.to_lowercase().nfd().collect()
}

/// Reads the central directory and decides the output tree: checks every name and type, refuses
/// duplicates and file/folder clashes, counts against the limits, applies Capgo's root flattening
/// and requires `index.html` at the root. No I/O beyond reading the archive's metadata.
fn plan<R: Read + Seek>(archive: &ZipArchive<R>, limits: &Limits) -> Result<Plan> {
    if archive.has_duplicate_names() {
        return Err(Error::UnsafeEntry {
            name: String::new(),
            reason: "the zip has duplicate entry names",
        });
    }
    // normalized path -> (kind, explicit entry index if any, compressed size)
    let mut tree: BTreeMap<EntryPath, (Kind, Option<usize>, u64)> = BTreeMap::new();
    let mut files = 0u64;
    let mut dirs = 0u64;
    // Every planned path as iOS/macOS file systems compare names (case- and normalisation-
    // insensitive): two entries that would land on one file there are refused everywhere.
    let mut folded: HashSet<String> = HashSet::new();
    for i in 0..archive.len() {
        let entry = archive.by_index_data(i)?;
        let raw = entry.name_raw();
        // Shown in errors: at most 200 characters of the name.
        let mut shown: String = String::from_utf8_lossy(raw).chars().take(200).collect();
        if raw.len() > shown.len() {
            shown.push('…');
        }
        let refuse = |reason: &'static str| Error::UnsafeEntry {
            name: shown.clone(),
            reason,
        };
        if raw.contains(&0) {
            return Err(refuse("contains a NUL byte"));
        }
        let name = entry.name().map_err(|_| refuse("name is not valid text"))?;
        let path = EntryPath::parse(&name).map_err(refuse)?;
        if entry.encrypted() {
            return Err(refuse("is encrypted with a zip password (not supported)"));
        }
        let mode_type = entry.unix_mode().map(|m| m & S_IFMT).unwrap_or(0);
        if entry.is_symlink() {
            return Err(refuse("is a symbolic link"));
        }
        let kind = match mode_type {
            0 | S_IFREG if !entry.is_dir() => Kind::File,
            0 | S_IFDIR | S_IFREG if entry.is_dir() => Kind::Dir,
            S_IFDIR => Kind::Dir,
            _ => return Err(refuse("is neither a file nor a folder")),
        };
        if path.is_empty() {
            if kind == Kind::File {
                return Err(refuse("has an empty name"));
            }
            continue;
        }
        // Every ancestor is an (implicit) folder and must not clash with a file. Walk up from the
        // parent and stop at the first one already planned: its own ancestors were planned with
        // it, so each folder is visited once and the work stays linear in the archive's size.
        for depth in (1..path.parts.len()).rev() {
            let anc = EntryPath {
                parts: path.parts[..depth].to_vec(),
            };
            match tree.get(&anc) {
                Some((Kind::File, _, _)) => {
                    return Err(refuse("is inside a path that is also a file"));
                }
                Some(_) => break,
                None => {
                    dirs += 1;
                    if dirs > limits.max_files {
                        return Err(Error::Limit(format!(
                            "more than {} folders (raise --max-files)",
                            limits.max_files
                        )));
                    }
                    if !folded.insert(fold(&anc)) {
                        return Err(refuse(COLLIDES));
                    }
                    tree.insert(anc, (Kind::Dir, None, 0));
                }
            }
        }
        match tree.get(&path) {
            None => {
                match kind {
                    Kind::File => files += 1,
                    Kind::Dir => dirs += 1,
                }
                if !folded.insert(fold(&path)) {
                    return Err(refuse(COLLIDES));
                }
                tree.insert(path, (kind, Some(i), entry.compressed_size()));
            }
            Some((Kind::Dir, None, _)) if kind == Kind::Dir => {
                tree.insert(path, (kind, Some(i), 0));
            }
            Some(_) => return Err(refuse("duplicates another entry")),
        }
        if files > limits.max_files {
            return Err(Error::Limit(format!(
                "more than {} files (raise --max-files)",
                limits.max_files
            )));
        }
        if dirs > limits.max_files {
            return Err(Error::Limit(format!(
                "more than {} folders (raise --max-files)",
                limits.max_files
            )));
        }
    }

    // Capgo's flattening: a single top-level folder (ignoring `.*` and `__MACOSX`) becomes the root.
    let mut top = tree
        .keys()
        .filter(|p| p.parts.len() == 1)
        .filter(|p| !p.parts[0].starts_with('.') && p.parts[0] != "__MACOSX");
    let flatten = match (top.next(), top.next()) {
        (Some(only), None) if matches!(tree.get(only), Some((Kind::Dir, _, _))) => {
            Some(only.parts[0].clone())
        }
        _ => None,
    };

    let mut plan = Plan::default();
    for (path, (kind, index, compressed)) in tree {
        let path = match &flatten {
            Some(root) if path.parts[0] == *root => path.strip_first(),
            Some(_) => continue,
            None => path,
        };
        if path.is_empty() {
            continue;
        }
        match (kind, index) {
            (Kind::Dir, _) => plan.dirs.push(path),
            (Kind::File, Some(index)) => {
                plan.claimed_bytes = plan
                    .claimed_bytes
                    .saturating_add(archive.by_index_data(index)?.size());
                plan.files.push(FileJob {
                    index,
                    path,
                    compressed,
                })
            }
            (Kind::File, None) => {}
        }
    }
    let has_index = plan
        .files
        .iter()
        .any(|f| f.path.parts.len() == 1 && f.path.parts[0] == "index.html");
    if !has_index {
        return Err(Error::MissingIndexHtml);
    }
    // Sizes stay u64 from the archive to here (zip64 declares up to 2^64 − 1 bytes): a bundle
    // that declares more than the limit is refused before anything is written, on every CPU.
    if plan.claimed_bytes > limits.max_bytes {
        return Err(Error::Limit(format!(
            "the archive declares {} bytes of files, more than the {}-byte limit",
            plan.claimed_bytes, limits.max_bytes
        )));
    }
    Ok(plan)
}

/// What an extraction produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtractStats {
    /// Files written.
    pub files: u64,
    /// Folders created (not counting the root).
    pub dirs: u64,
    /// Bytes written across all files.
    pub bytes: u64,
}

/// Extracts `zip` into `root`, which must not exist yet (it is created). On error `root` may hold a
/// partial tree: callers extract inside a staging folder and discard it. Blocks; uses
/// `options.threads` threads for file entries. `early_flush` says whether a batched durable install may flush early (see `extract_from`):
/// not when unwritten data that is about to be thrown away shares the file system (a download's
/// partial file, deleted before the commit), since an early flush would write it for nothing.
pub(crate) fn extract_with(
    zip: &VerifiedZip,
    root: &Path,
    options: &ExtractOptions,
    early_flush: bool,
) -> Result<ExtractStats> {
    match zip.cipher() {
        None => extract_from(
            ZipArchive::new(PosFile::open(zip.path())?)?,
            root,
            options,
            early_flush,
        ),
        Some((key, plain_len)) => {
            let reader = crate::bundle::crypto::CbcFile::open(zip.path(), key, *plain_len)?;
            extract_from(ZipArchive::new(reader)?, root, options, early_flush)
        }
    }
}

fn extract_from<R: Read + Seek + Clone + Send>(
    archive: ZipArchive<R>,
    root: &Path,
    options: &ExtractOptions,
    early_flush: bool,
) -> Result<ExtractStats> {
    let mut plan = plan(&archive, &options.limits)?;

    if let Some(parent) = root.parent()
        && let Some(available) = available_space(parent)
    {
        let needed = plan
            .claimed_bytes
            .min(options.limits.max_bytes)
            .saturating_add(SPACE_MARGIN);
        if available < needed {
            return Err(Error::NoSpace { needed, available });
        }
    }
    fs::create_dir(root).map_err(Error::io("creating folder", root))?;
    // BTreeMap order puts every parent before its children.
    for d in &plan.dirs {
        let p = root.join(d.to_path());
        fs::create_dir(&p).map_err(Error::io("creating folder", &p))?;
    }

    // Largest first, so no thread is left with one big entry at the end.
    plan.files.sort_by_key(|f| std::cmp::Reverse(f.compressed));
    let jobs = &plan.files;
    let next = AtomicUsize::new(0);
    let total = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let first_error: Mutex<Option<Error>> = Mutex::new(None);
    let threads = options.threads.clamp(1, jobs.len().max(1));

    // fsync is mostly waiting on the device: a few extra threads flush finished files while
    // the extraction threads keep the cores busy. The bounded queue caps open descriptors.
    let (tx, rx) = mpsc::sync_channel::<(Option<File>, PathBuf)>(SYNC_QUEUE);
    let rx = Mutex::new(rx);
    // Linux/Android flush the whole install once (syncfs at the end); Apple and others flush each
    // entry here and commit once (see fs_atomic::durable).
    let per_entry = options.durable && durable::PER_ENTRY;
    // Batched flushing (Linux/Android): while the workers inflate, a helper has the file system
    // flushed each time EARLY_FLUSH_BYTES more were written, so the disk works while the cores
    // inflate and the one commit at the end waits only for the tail (51 MB bundle on journaled
    // ext4: 152 → 125 ms). Small bundles never reach the threshold.
    let batched = early_flush && options.durable && !durable::PER_ENTRY;
    let (done_tx, done_rx) = mpsc::channel::<()>();
    std::thread::scope(|s| {
        if batched {
            let total = &total;
            s.spawn(move || {
                let mut flushed = 0u64;
                while let Err(mpsc::RecvTimeoutError::Timeout) =
                    done_rx.recv_timeout(EARLY_FLUSH_POLL)
                {
                    let written = total.load(Ordering::Relaxed);
                    if written >= flushed + EARLY_FLUSH_BYTES {
                        flushed = written;
                        durable::write_back(root);
                    }
                }
            });
        }
        if per_entry {
            for _ in 0..SYNC_THREADS {
                let (rx, stop, first_error) = (&rx, &stop, &first_error);
                s.spawn(move || {
                    loop {
                        let job = match rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => break,
                        };
                        let Ok((file, path)) = job else { break };
                        let result = match file {
                            Some(f) => {
                                durable::entry(&f).map_err(Error::io("fsyncing file", &path))
                            }
                            None => File::open(&path)
                                .and_then(|d| durable::entry(&d))
                                .map_err(Error::io("fsyncing folder", &path)),
                        };
                        if let Err(e) = result {
                            fail(stop, first_error, e);
                        }
                    }
                });
            }
        }
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let mut archive = archive.clone();
                let tx = tx.clone();
                let (next, total, stop, first_error) = (&next, &total, &stop, &first_error);
                s.spawn(move || {
                    let mut buf = vec![0u8; 64 * 1024];
                    while !stop.load(Ordering::Relaxed) {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(job) = jobs.get(i) else { break };
                        match write_entry(&mut archive, job, root, &mut buf, total, options) {
                            Ok((file, path)) if per_entry => {
                                if tx.send((Some(file), path)).is_err() {
                                    break;
                                }
                            }
                            Ok(_) => {}
                            Err(e) => {
                                fail(stop, first_error, e);
                                break;
                            }
                        }
                    }
                })
            })
            .collect();
        for w in workers {
            let _ = w.join();
        }
        drop(done_tx);
        if per_entry && !stop.load(Ordering::Relaxed) {
            // Folders after all their entries exist; the root last in queue order.
            for d in plan.dirs.iter().rev() {
                let _ = tx.send((None, root.join(d.to_path())));
            }
            let _ = tx.send((None, root.to_path_buf()));
        }
        drop(tx);
    });
    if let Some(e) = first_error.into_inner().ok().flatten() {
        return Err(e);
    }
    // The install's one durability payment (`durable::commit_batch`) is the caller's, after
    // it has dropped what need not reach the disk (`unpack.rs`).
    Ok(ExtractStats {
        files: jobs.len() as u64,
        dirs: plan.dirs.len() as u64,
        bytes: total.load(Ordering::Relaxed),
    })
}

/// Records the first error and tells every thread to stop.
fn fail(stop: &AtomicBool, first_error: &Mutex<Option<Error>>, e: Error) {
    stop.store(true, Ordering::Relaxed);
    if let Ok(mut slot) = first_error.lock() {
        slot.get_or_insert(e);
    }
}

/// Free space kept beyond an extraction's claimed size.
const SPACE_MARGIN: u64 = 4 * 1024 * 1024;

/// Bytes written between two early flushes of a batched install (see `extract_from`).
const EARLY_FLUSH_BYTES: u64 = 8 * 1024 * 1024;
/// How often the early flusher looks at the bytes written.
const EARLY_FLUSH_POLL: std::time::Duration = std::time::Duration::from_millis(10);

/// Threads that fsync finished files and folders.
const SYNC_THREADS: usize = 8;
/// Files waiting for fsync at most (each holds an open descriptor).
const SYNC_QUEUE: usize = 64;

fn write_entry<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    job: &FileJob,
    root: &Path,
    buf: &mut [u8],
    total: &AtomicU64,
    options: &ExtractOptions,
) -> Result<(File, PathBuf)> {
    let dest = root.join(job.path.to_path());
    let mut entry = archive.by_index(job.index)?;
    let mut out = File::create_new(&dest).map_err(Error::io("creating file", &dest))?;
    loop {
        let n = match entry.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(Error::Zip(format!(
                    "cannot read entry {:?}: {e}",
                    job.path.parts().join("/")
                )));
            }
        };
        let before = total.fetch_add(n as u64, Ordering::Relaxed);
        if before + n as u64 > options.limits.max_bytes {
            return Err(Error::Limit(format!(
                "the bundle expands to more than {} bytes (raise --max-bytes)",
                options.limits.max_bytes
            )));
        }
        out.write_all(&buf[..n])
            .map_err(Error::io("writing file", &dest))?;
    }
    Ok((out, dest))
}

/// A cloneable positional reader over one shared open file, with a small read-ahead buffer for the
/// many tiny reads of central-directory parsing. Each clone has its own position, so threads can
/// read different entries of the same archive without reopening or locking.
#[derive(Clone)]
struct PosFile {
    file: Arc<File>,
    len: u64,
    pos: u64,
    buf: Vec<u8>,
    buf_start: u64,
}

const POS_BUF: usize = 8 * 1024;

impl PosFile {
    fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(Error::io("opening", path))?;
        let len = file
            .metadata()
            .map_err(Error::io("reading metadata of", path))?
            .len();
        Ok(Self {
            file: Arc::new(file),
            len,
            pos: 0,
            buf: Vec::new(),
            buf_start: 0,
        })
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        crate::bundle::fs_atomic::read_at(&self.file, buf, offset)
    }
}

impl Read for PosFile {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let buf_end = self.buf_start + self.buf.len() as u64;
        if self.pos >= self.buf_start && self.pos < buf_end {
            // Inside the buffer (checked above): the offset fits a usize.
            let from = usize::try_from(self.pos - self.buf_start)
                .map_err(|_| io::Error::other("read position outside the buffer"))?;
            let n = out.len().min(self.buf.len().saturating_sub(from));
            out[..n].copy_from_slice(&self.buf[from..from + n]);
            self.pos += n as u64;
            return Ok(n);
        }
        if out.len() >= POS_BUF {
            let n = self.read_at(out, self.pos)?;
            self.pos += n as u64;
            return Ok(n);
        }
        self.buf.resize(POS_BUF, 0);
        let mut tmp = std::mem::take(&mut self.buf);
        let got = self.read_at(&mut tmp, self.pos);
        self.buf = tmp;
        let got = match got {
            Ok(n) => n,
            Err(e) => {
                self.buf.clear();
                return Err(e);
            }
        };
        self.buf.truncate(got);
        self.buf_start = self.pos;
        let n = out.len().min(got);
        out[..n].copy_from_slice(&self.buf[..n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for PosFile {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let new = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        let new =
            new.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek out of range"))?;
        self.pos = new;
        Ok(new)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn entry_names() {
        let ok = |s: &str| EntryPath::parse(s).unwrap().parts().join("/");
        assert_eq!(ok("a/b.js"), "a/b.js");
        assert_eq!(ok("a/./b.js"), "a/b.js");
        assert_eq!(ok("a//b/"), "a/b");
        assert_eq!(ok("./"), "");
        assert_eq!(ok("i18n/ünïcødé-文件.json"), "i18n/ünïcødé-文件.json");
        assert_eq!(ok("a..b/c..d"), "a..b/c..d");
        for bad in [
            "../x",
            "a/../../x",
            "a/..",
            "/etc/passwd",
            "C:/x",
            "c:x",
            "a\\b",
            "..\\x",
            "a\0b",
        ] {
            assert!(EntryPath::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
