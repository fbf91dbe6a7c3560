//! Leftovers: folders and files another updater left outside the data folder (Capgo's bundles, partial downloads, delta caches), removed once in the background after a switch.

use std::fs;
use std::path::{Component, Path};

/// Removes each of `paths` (absolute; a last component with one `*` matches the files and
/// folders of its parent whose names start and end as around the `*`), never following a
/// symbolic link and never touching anything that is, contains or lies inside one of `keep`
/// (the data folder, the builtin folder). Missing paths are fine. Returns how many entries were
/// removed. Blocking disk I/O; meant for a background thread.
pub(crate) fn remove(paths: &[String], keep: &[&Path]) -> usize {
    let mut removed = 0;
    for raw in paths {
        let path = Path::new(raw);
        if !path.is_absolute() || path.components().any(|c| c == Component::ParentDir) {
            log::warn!("leftover path ignored (not a plain absolute path)");
            continue;
        }
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        match (name.split_once('*'), path.parent()) {
            (Some((prefix, suffix)), Some(parent)) if !suffix.contains('*') => {
                let Ok(entries) = fs::read_dir(parent) else {
                    continue;
                };
                for e in entries.flatten() {
                    let n = e.file_name();
                    let Some(n) = n.to_str() else { continue };
                    if n.len() >= prefix.len() + suffix.len()
                        && n.starts_with(prefix)
                        && n.ends_with(suffix)
                    {
                        removed += remove_one(&e.path(), keep);
                    }
                }
            }
            (None, _) => removed += remove_one(path, keep),
            _ => log::warn!("leftover pattern ignored (one `*` in the last component only)"),
        }
    }
    removed
}

fn remove_one(path: &Path, keep: &[&Path]) -> usize {
    let overlaps = keep.iter().any(|k| {
        let k = fs::canonicalize(k).unwrap_or_else(|_| k.to_path_buf());
        let p = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        k.starts_with(&p) || p.starts_with(&k)
    });
    if overlaps {
        log::warn!("leftover path ignored: it overlaps the updater's own folders");
        return 0;
    }
    let Ok(meta) = fs::symlink_metadata(path) else {
        return 0;
    };
    // A link is removed as a link: what it points to is never followed.
    let result = if meta.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    };
    match result {
        Ok(()) => {
            log::info!(
                "removed another updater's leftover ({} bytes or a folder)",
                meta.len()
            );
            1
        }
        Err(e) => {
            log::warn!("cannot remove another updater's leftover: {}", e.kind());
            0
        }
    }
}
