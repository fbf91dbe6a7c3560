//! Reuse: files the device already has (installed bundles, the builtin folder) placed in the new bundle's staging folder, each re-hashed there before it counts.

use std::fs::{self, File};
use std::io::Read;
use std::path::Path;

use super::plan::{Plan, PlannedFile};
use crate::error::{Error, Result};
use crate::store::{Candidate, Pool};

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

/// A folder local files may be taken from.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// The folder (an installed bundle, the builtin folder, the pool).
    pub dir: &'a Path,
    /// Files from it may be hard-linked into the new bundle (installed bundles and the pool: the
    /// store's own files, never modified in place). False for the builtin folder, whose files
    /// belong to the app package (or a developer's working copy): always copied, so nothing done
    /// to them later reaches an installed, verified bundle.
    pub link: bool,
}

impl<'a> Source<'a> {
    /// A store folder (linkable).
    pub fn store(dir: &'a Path) -> Self {
        Self { dir, link: true }
    }

    /// A folder that is not the store's (copied from).
    pub fn foreign(dir: &'a Path) -> Self {
        Self { dir, link: false }
    }
}

/// For each planned file, tries the same path in each of `sources`, in order (for example the
/// current bundle, the fallback, the builtin folder): a regular file, reached without following
/// a link on any component of its path, is hard-linked into `staging` when it belongs to the
/// store and no other name shares it (link count 1: bundles are never modified in place, so
/// sharing the inode between bundles is safe), and copied otherwise — from the builtin folder,
/// from a file whose link count shows it is shared with something else, or when linking is
/// impossible — and then **hashed in the staging folder**: only bytes whose SHA-256 is the
/// signed one count, so a corrupted or tampered local file is never carried into the new bundle
/// (it is removed and the file fetched instead). After the same-path sources, the `pool` is
/// tried by hash: files fetched earlier, and files of delta-installed bundles under another path
/// (a file moved between releases). Blocks; disk I/O.
pub fn reuse_local(
    plan: &Plan,
    sources: &[Source<'_>],
    pool: Option<&Pool>,
    reader: Option<&dyn BuiltinReader>,
    staging: &Path,
) -> Result<Reuse> {
    let mut out = Reuse::default();
    for (i, f) in plan.files.iter().enumerate() {
        let dest = staging.join(f.target.to_path());
        let placed = match place(f, &candidates(f, sources, pool), &dest)? {
            Some(len) => Some(len),
            // The host's builtin files that are not a folder (Android assets), hash-checked.
            None => from_reader(f, reader)
                .map(|b| place_bytes(&b, &dest))
                .transpose()?,
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

/// Puts the first of `candidates` whose bytes have `f`'s signed hash at `dest` (hard link when
/// allowed, else a copy read from the opened file; hashed at `dest`, so what is checked is what
/// the bundle gets). Returns its length, or `None` when no candidate matches (nothing is left at
/// `dest` then). Blocks; disk I/O.
pub(crate) fn place(f: &PlannedFile, candidates: &[Candidate], dest: &Path) -> Result<Option<u64>> {
    for c in candidates {
        let Ok(opened) = nofollow::open(&c.root, &c.rel) else {
            continue;
        };
        let Ok(meta) = opened.file.metadata() else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        clear_dest(dest)?;
        let linked = c.link && nofollow::exclusive(&meta) && nofollow::link(&opened, &meta, dest);
        if !linked {
            copy_from(&opened.file, dest)?;
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

/// Copies an opened file's bytes to a new file `dest`.
fn copy_from(file: &File, dest: &Path) -> Result<()> {
    let mut src = file;
    let mut out = File::create_new(dest).map_err(Error::io("creating", dest))?;
    std::io::copy(&mut src, &mut out).map_err(Error::io("copying to", dest))?;
    Ok(())
}

/// Opening a path under a trusted folder without following links, and linking what was opened.
mod nofollow {
    use std::fs::{File, Metadata};
    use std::io;
    use std::path::{Component, Path};

    /// A file opened under a root, and how to name it again for a link.
    pub struct Opened {
        pub file: File,
        #[cfg(unix)]
        parent: std::os::fd::OwnedFd,
        #[cfg(unix)]
        name: std::ffi::OsString,
    }

    fn parts(rel: &Path) -> io::Result<Vec<&std::ffi::OsStr>> {
        rel.components()
            .map(|c| match c {
                Component::Normal(n) => Ok(n),
                _ => Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "not a plain path",
                )),
            })
            .collect()
    }

    /// Opens `root/rel` for reading; fails if any component of `rel` is a symbolic link (or
    /// not a folder where one is needed).
    #[cfg(unix)]
    pub fn open(root: &Path, rel: &Path) -> io::Result<Opened> {
        use rustix::fs::{CWD, Mode, OFlags, openat};
        let parts = parts(rel)?;
        let Some((last, folders)) = parts.split_last() else {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "empty path"));
        };
        let dir_flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let mut dir = openat(CWD, root, dir_flags, Mode::empty())?;
        for f in folders {
            dir = openat(&dir, *f, dir_flags | OFlags::NOFOLLOW, Mode::empty())?;
        }
        let file = openat(
            &dir,
            *last,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(Opened {
            file: File::from(file),
            parent: dir,
            name: (*last).to_owned(),
        })
    }

    /// Opens `root/rel` for reading; fails if any component of `rel` is a symbolic link.
    #[cfg(not(unix))]
    pub fn open(root: &Path, rel: &Path) -> io::Result<Opened> {
        let mut p = root.to_path_buf();
        for part in parts(rel)? {
            p.push(part);
            if std::fs::symlink_metadata(&p)?.file_type().is_symlink() {
                return Err(io::Error::new(io::ErrorKind::InvalidInput, "a link"));
            }
        }
        Ok(Opened {
            file: File::open(&p)?,
        })
    }

    /// True when no other name shares the file (link count 1).
    #[cfg(unix)]
    pub fn exclusive(meta: &Metadata) -> bool {
        use std::os::unix::fs::MetadataExt;
        meta.nlink() == 1
    }

    /// Link counts are not read here: never link.
    #[cfg(not(unix))]
    pub fn exclusive(_meta: &Metadata) -> bool {
        false
    }

    /// Hard-links the opened file to `dest` (relative to its opened parent, the last component
    /// not followed) and checks that `dest` is that very file. False when it could not (another
    /// volume, a file swapped meanwhile): the caller copies instead.
    #[cfg(unix)]
    pub fn link(opened: &Opened, meta: &Metadata, dest: &Path) -> bool {
        use rustix::fs::{AtFlags, CWD, linkat};
        use std::os::unix::fs::MetadataExt;
        if linkat(&opened.parent, &opened.name, CWD, dest, AtFlags::empty()).is_err() {
            return false;
        }
        let same = std::fs::symlink_metadata(dest)
            .is_ok_and(|m| m.is_file() && m.dev() == meta.dev() && m.ino() == meta.ino());
        if !same {
            let _ = std::fs::remove_file(dest);
        }
        same
    }

    /// No links where link counts are not read.
    #[cfg(not(unix))]
    pub fn link(_opened: &Opened, _meta: &Metadata, _dest: &Path) -> bool {
        false
    }
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
fn candidates(f: &PlannedFile, sources: &[Source<'_>], pool: Option<&Pool>) -> Vec<Candidate> {
    let rel = f.target.to_path();
    sources
        .iter()
        .map(|s| Candidate {
            root: s.dir.to_path_buf(),
            rel: rel.clone(),
            link: s.link,
        })
        .chain(pool.map(|p| p.candidates(&f.sha256)).unwrap_or_default())
        .collect()
}

/// For each planned file, whether a local copy with the signed hash exists (hashed in place,
/// nothing written): the answer to Capgo's `getMissingBundleFiles`. Blocks; disk reads.
pub fn locate(
    plan: &Plan,
    sources: &[Source<'_>],
    pool: Option<&Pool>,
    reader: Option<&dyn BuiltinReader>,
) -> Vec<bool> {
    plan.files
        .iter()
        .map(|f| {
            candidates(f, sources, pool).iter().any(|c| {
                nofollow::open(&c.root, &c.rel).is_ok_and(|o| {
                    o.file.metadata().is_ok_and(|m| m.is_file())
                        && sha256_reader(&o.file).is_ok_and(|(d, _)| d == f.sha256)
                })
            }) || from_reader(f, reader).is_some()
        })
        .collect()
}

/// SHA-256 and length of an opened file, streamed.
fn sha256_reader(mut file: &File) -> std::io::Result<([u8; 32], u64)> {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0u8; 64 * 1024];
    let mut len = 0u64;
    loop {
        let n = file.read(&mut buf)?;
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

pub use crate::hooks::BuiltinReader;

/// The builtin file for `f` through the host's reader, if its bytes have the signed hash.
fn from_reader(f: &PlannedFile, reader: Option<&dyn BuiltinReader>) -> Option<Vec<u8>> {
    let reader = reader?;
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
