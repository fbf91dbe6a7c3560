//! Index: which file (by SHA-256) each delta-installed bundle holds at which path, so a file that moved between releases is still taken from the device instead of fetched.
//!
//! Written after a delta install (`delta-index/<bundle id>`: one `hex\tpath` line per file) and
//! read when planning the next one. It is a hint, never trusted: every candidate it names is
//! re-hashed where it lands (`reuse::place`). Unflushed (a torn index only costs a download),
//! and an index whose bundle is gone or not servable is ignored and swept.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::bundle::checksum::to_hex;

/// The index folder's name in the data folder.
pub const DIR: &str = "delta-index";

/// Records bundle `id`'s files — (SHA-256, `/`-separated path) — (best effort: a failure only
/// loses reuse). Does I/O.
pub fn write(data_dir: &Path, id: &str, files: impl Iterator<Item = ([u8; 32], String)>) {
    let dir = data_dir.join(DIR);
    if fs::create_dir_all(&dir).is_err() || !crate::store::is_valid_id(id) {
        return;
    }
    let mut text = String::new();
    for (sha, path) in files {
        text.push_str(&to_hex(&sha));
        text.push('\t');
        text.push_str(&path);
        text.push('\n');
    }
    if let Err(e) = crate::bundle::fs_atomic::write_unflushed(&dir.join(id), text.as_bytes()) {
        log::warn!("cannot write the file index of bundle {id}: {e}");
    }
}

/// SHA-256 → (bundle folder, path in it) holding it, over the indexes of `bundles` (id and folder; servable bundles
/// with files only), the first bundle first. Only safe relative paths are taken. Does I/O.
pub fn load(
    data_dir: &Path,
    bundles: &[(String, PathBuf)],
) -> HashMap<[u8; 32], (PathBuf, PathBuf)> {
    let mut out = HashMap::new();
    for (id, folder) in bundles {
        let Ok(text) = fs::read_to_string(data_dir.join(DIR).join(id)) else {
            continue;
        };
        for line in text.lines() {
            let Some((hex, path)) = line.split_once('\t') else {
                continue;
            };
            let (Some(sha), Ok(entry)) =
                (parse_hex(hex), crate::bundle::unzip::EntryPath::parse(path))
            else {
                continue;
            };
            if entry.is_empty() {
                continue;
            }
            out.entry(sha)
                .or_insert_with(|| (folder.clone(), entry.to_path()));
        }
    }
    out
}

/// Removes the indexes of bundles not in `keep` (and temp files), until `deadline`. Call when
/// no install runs. Returns whether the folder was gone through.
pub fn sweep(data_dir: &Path, keep: &[String], deadline: std::time::Instant) -> bool {
    let Ok(entries) = fs::read_dir(data_dir.join(DIR)) else {
        return true;
    };
    for (seen, e) in entries.flatten().enumerate() {
        if super::sweep_stops(seen, deadline) {
            return false;
        }
        let name = e.file_name().to_string_lossy().into_owned();
        if !keep.contains(&name) {
            let _ = fs::remove_file(e.path());
        }
    }
    true
}

fn parse_hex(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}
