//! Assemble: the new bundle's folder built in staging from verified local and fetched files, checked for `index.html`, flushed once, published with one rename.

use std::fs;
use std::path::Path;

use super::plan::{Plan, PlannedFile};
use super::reuse::{Source, place, reuse_local};
use crate::bundle::fs_atomic::{Staging, durable};
use crate::error::{Error, Result};
use crate::net::download::DownloadStats;
use crate::store::Pool;

/// What a fetch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FetchReport {
    /// Files fetched and verified.
    pub files: usize,
    /// Their plain bytes.
    pub plain_bytes: u64,
    /// Transfer figures summed over the files.
    pub download: DownloadStats,
}

/// The first failure of a fetch, with the file it concerned.
#[derive(Debug)]
pub struct FileFailure {
    /// The manifest `file_name` of the failing file (`None` for a failure of no one file).
    pub file_name: Option<String>,
    /// What went wrong.
    pub error: Error,
}

impl From<Error> for FileFailure {
    /// A failure of no one file (the store's, around the files).
    fn from(error: Error) -> Self {
        Self {
            file_name: None,
            error,
        }
    }
}

/// What the assembly of one delta bundle did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Assembly {
    /// Files in the new bundle.
    pub files: usize,
    /// Files taken from the device (installed bundles, builtin, pool), verified.
    pub reused: usize,
    /// Files fetched over the network.
    pub fetched: usize,
    /// Plain bytes in the new bundle.
    pub bytes: u64,
    /// Plain bytes taken from the device.
    pub reused_bytes: u64,
    /// The network part.
    pub fetch: FetchReport,
}

/// Name of the tree inside the staging folder.
const TREE: &str = "root";

fn whole(error: Error) -> FileFailure {
    FileFailure {
        file_name: None,
        error,
    }
}

/// Builds the bundle folder `dest` (which must not exist) from `plan`: a staging folder next to
/// it gets every file that `sources` (same path) or the `pool` (same hash) has with the signed
/// hash; `fetch` is called once with the rest and the plain bytes they may still take under
/// `max_bytes` (it puts them in the pool); they are then placed from the pool, re-hashed. The
/// tree must have `index.html` at its root; it is flushed once (per platform, see
/// `fs_atomic::durable`) and renamed to `dest`. On any failure `dest` does not exist and the
/// staging folder is removed; files verified into the pool stay. Blocks; disk and network I/O.
pub fn assemble(
    plan: &Plan,
    sources: &[Source<'_>],
    pool: &Pool,
    reader: Option<&dyn super::reuse::BuiltinReader>,
    dest: &Path,
    max_bytes: u64,
    fetch: impl FnOnce(&[&PlannedFile], u64, usize) -> std::result::Result<FetchReport, FileFailure>,
) -> std::result::Result<Assembly, FileFailure> {
    if fs::symlink_metadata(dest).is_ok() {
        return Err(whole(Error::DestinationExists(dest.to_path_buf())));
    }
    let staging = Staging::next_to(dest).map_err(whole)?;
    let tree = staging.path().join(TREE);
    fs::create_dir(&tree)
        .map_err(Error::io("creating", &tree))
        .map_err(whole)?;
    let reuse = reuse_local(plan, sources, Some(pool), reader, &tree).map_err(whole)?;
    if reuse.bytes > max_bytes {
        return Err(whole(Error::Limit(format!(
            "the bundle is larger than {max_bytes} bytes (maxBundleBytes)"
        ))));
    }
    let missing: Vec<&PlannedFile> = reuse.missing.iter().map(|&i| &plan.files[i]).collect();
    let report = fetch(&missing, max_bytes - reuse.bytes, reuse.reused.len())?;
    let mut bytes = reuse.bytes;
    for f in &missing {
        let dest_file = tree.join(f.target.to_path());
        match place(f, &[pool.candidate(&f.sha256)], &dest_file).map_err(whole)? {
            Some(len) => bytes += len,
            None => {
                return Err(FileFailure {
                    file_name: Some(f.file_name()),
                    error: Error::ChecksumMismatch,
                });
            }
        }
    }
    if !tree.join("index.html").is_file() {
        return Err(whole(Error::MissingIndexHtml));
    }
    if durable::PER_ENTRY {
        flush_tree(&tree).map_err(whole)?;
    }
    durable::commit_batch(&tree).map_err(whole)?;
    staging.publish(&tree, dest).map_err(whole)?;
    Ok(Assembly {
        files: plan.files.len(),
        reused: reuse.reused.len(),
        fetched: missing.len(),
        bytes,
        reused_bytes: reuse.bytes,
        fetch: report,
    })
}

/// The per-entry flush of every file and folder under `dir` (platforms where
/// [`durable::PER_ENTRY`] holds).
fn flush_tree(dir: &Path) -> Result<()> {
    for e in fs::read_dir(dir).map_err(Error::io("listing", dir))? {
        let e = e.map_err(Error::io("listing", dir))?;
        let path = e.path();
        let ty = e.file_type().map_err(Error::io("reading", &path))?;
        if ty.is_dir() {
            flush_tree(&path)?;
        } else {
            let f = fs::File::open(&path).map_err(Error::io("opening", &path))?;
            durable::entry(&f).map_err(Error::io("flushing", &path))?;
        }
    }
    let d = fs::File::open(dir).map_err(Error::io("opening", dir))?;
    durable::entry(&d).map_err(Error::io("flushing", dir))
}
