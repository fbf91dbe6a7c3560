//! Reuse: files the device already has (installed bundles, the builtin folder) placed in the new bundle's staging folder, each re-hashed there before it counts.

use std::fs::{self, File};
use std::io::Read;
use std::path::Path;

use super::fetch::Pool;
use super::plan::{Plan, PlannedFile};
use crate::error::{Error, Result};

/// What local files provided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reuse {
    /// Indexes (into `plan.files`) of the files now in the staging folder, verified.
    pub reused: Vec<usize>,
    /// Indexes of the files still to fetch.
    pub missing: Vec<usize>,
    /// Bytes placed from local files.
    pub bytes: u64,
}

/// For each planned file, tries the same path in each of `sources`, in order (for example the
/// current bundle, the fallback, the builtin folder): a regular file (never a link) is hard-linked
/// into `staging` — bundles are never modified in place, so sharing the inode is safe — or copied
/// when linking is impossible (another volume, the app's read-only bundle), and then **hashed in
/// the staging folder**: only bytes whose SHA-256 is the signed one count, so a corrupted or
/// tampered local file is never carried into the new bundle (it is removed and the file fetched
/// instead). After the same-path sources, the `pool` is tried by hash: files fetched earlier, and
/// files of delta-installed bundles under another path (a file moved between releases).
/// Blocks; disk I/O.
pub fn reuse_local(
    plan: &Plan,
    sources: &[&Path],
    pool: Option<&Pool>,
    staging: &Path,
) -> Result<Reuse> {
    let mut out = Reuse::default();
    for (i, f) in plan.files.iter().enumerate() {
        let dest = staging.join(f.target.to_path());
        let placed = match place(f, &candidates(f, sources, pool), &dest)? {
            Some(len) => Some(len),
            // The host's builtin files that are not a folder (Android assets), hash-checked.
            None => from_reader(f).map(|b| place_bytes(&b, &dest)).transpose()?,
        };
        match placed {
            Some(len) => {
                out.bytes += len;
                out.reused.push(i);
            }
            None => out.missing.push(i),
        }
    }
    Ok(out)
}

/// Puts the first of `candidates` whose bytes have `f`'s signed hash at `dest` (hard link, else
/// copy; hashed at `dest`, so what is checked is what the bundle gets). Returns its length, or
/// `None` when no candidate matches (nothing is left at `dest` then). Blocks; disk I/O.
pub(crate) fn place(
    f: &PlannedFile,
    candidates: &[std::path::PathBuf],
    dest: &Path,
) -> Result<Option<u64>> {
    for candidate in candidates {
        let is_file = fs::symlink_metadata(candidate).is_ok_and(|m| m.file_type().is_file());
        if !is_file {
            continue;
        }
        clear_dest(dest)?;
        if fs::hard_link(candidate, dest).is_err() {
            fs::copy(candidate, dest).map_err(Error::io("copying", candidate))?;
        }
        let (digest, len) = sha256_file(dest)?;
        if digest == f.sha256 {
            return Ok(Some(len));
        }
        log::warn!(
            "local copy of {} does not match its signed hash: not reused",
            f.target.parts().join("/")
        );
        fs::remove_file(dest).map_err(Error::io("removing", dest))?;
    }
    Ok(None)
}

/// Makes `dest`'s folder and removes whatever has its name: never write through an existing
/// name, it may be a link to another bundle's file.
fn clear_dest(dest: &Path) -> Result<()> {
    if let Some(parent) = dest.parent() {
        fs::create_dir_all(parent).map_err(Error::io("creating folder", parent))?;
    }
    match fs::remove_file(dest) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("removing", dest)(e)),
    }
}

/// Where a planned file may be found locally: the same path in each source, then the pool.
fn candidates(f: &PlannedFile, sources: &[&Path], pool: Option<&Pool>) -> Vec<std::path::PathBuf> {
    let rel = f.target.to_path();
    sources
        .iter()
        .map(|s| s.join(&rel))
        .chain(pool.map(|p| p.candidates(&f.sha256)).unwrap_or_default())
        .collect()
}

/// For each planned file, whether a local copy with the signed hash exists (hashed in place,
/// nothing written): the answer to Capgo's `getMissingBundleFiles`. Blocks; disk reads.
pub fn locate(plan: &Plan, sources: &[&Path], pool: Option<&Pool>) -> Vec<bool> {
    plan.files
        .iter()
        .map(|f| {
            candidates(f, sources, pool).iter().any(|c| {
                fs::symlink_metadata(c).is_ok_and(|m| m.file_type().is_file())
                    && sha256_file(c).is_ok_and(|(d, _)| d == f.sha256)
            }) || from_reader(f).is_some()
        })
        .collect()
}

/// SHA-256 and length of a file, streamed.
fn sha256_file(path: &Path) -> Result<([u8; 32], u64)> {
    let mut file = File::open(path).map_err(Error::io("opening", path))?;
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0u8; 64 * 1024];
    let mut len = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(Error::io("reading", path))?;
        if n == 0 {
            break;
        }
        ctx.update(&buf[..n]);
        len += n as u64;
    }
    let mut digest = [0u8; 32];
    digest.copy_from_slice(ctx.finish().as_ref());
    Ok((digest, len))
}

/// Reads the app's builtin files where they are not a folder (Android: the APK's
/// `assets/public`), so delta updates can reuse them without a copy of the assets.
/// Implemented by the host; called on the updating thread; must not call back into the updater.
pub trait BuiltinReader: Send + Sync {
    /// The bytes of the builtin file at `path` (`/`-separated, relative to the web root), or
    /// `None` when there is none.
    fn read(&self, path: &str) -> Option<Vec<u8>>;
}

fn reader_slot() -> &'static std::sync::RwLock<Option<std::sync::Arc<dyn BuiltinReader>>> {
    static SLOT: std::sync::OnceLock<std::sync::RwLock<Option<std::sync::Arc<dyn BuiltinReader>>>> =
        std::sync::OnceLock::new();
    SLOT.get_or_init(|| std::sync::RwLock::new(None))
}

/// Installs (or with `None` removes) the host's reader of builtin files (process-wide). No I/O.
pub fn set_builtin_reader(reader: Option<std::sync::Arc<dyn BuiltinReader>>) {
    *reader_slot()
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = reader;
}

fn builtin_reader() -> Option<std::sync::Arc<dyn BuiltinReader>> {
    reader_slot()
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

/// The builtin file for `f` through the host's reader, if its bytes have the signed hash.
fn from_reader(f: &PlannedFile) -> Option<Vec<u8>> {
    let reader = builtin_reader()?;
    let path = f.target.parts().join("/");
    let bytes = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| reader.read(&path)))
        .ok()
        .flatten()?;
    let digest = ring::digest::digest(&ring::digest::SHA256, &bytes);
    (digest.as_ref() == f.sha256).then_some(bytes)
}

/// Writes a builtin file read through the host's reader at `dest` (hash already checked).
fn place_bytes(bytes: &[u8], dest: &Path) -> Result<u64> {
    clear_dest(dest)?;
    let mut file = File::create_new(dest).map_err(Error::io("creating", dest))?;
    std::io::Write::write_all(&mut file, bytes).map_err(Error::io("writing", dest))?;
    Ok(bytes.len() as u64)
}
