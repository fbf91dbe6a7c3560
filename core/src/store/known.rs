//! Known hashes: signed `file_hash` strings this device already verified, so an unchanged file costs no RSA operation in the next release's plan.
//!
//! The Capgo CLI signs each file's SHA-256 deterministically, so an unchanged file has the same
//! `file_hash` string in every version. After a delta install, each (key, `file_hash`) →
//! SHA-256 pair of the release is kept in `delta-hashes.bin` in the data folder (at most
//! [`MAX_ENTRIES`], newest first). The file is as trusted as the installed bundles beside it: a
//! process that can write it can also rewrite those bundles. A missing, torn or foreign file is
//! simply ignored (every hash is then verified again).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::Result;

/// The cache file's name in the data folder.
pub const FILE: &str = "delta-hashes.bin";
/// Most pairs kept (64 bytes each: 3.2 MB at most).
pub const MAX_ENTRIES: usize = 50_000;
const MAGIC: &[u8; 8] = b"LUKH0001";

/// Verified (key fingerprint, `file_hash`) → SHA-256 pairs.
#[derive(Debug, Default, Clone)]
pub struct KnownHashes {
    map: HashMap<[u8; 32], [u8; 32]>,
    order: Vec<[u8; 32]>,
}

/// The cache key of a `file_hash` string under the key with `fingerprint`. Pure.
pub fn id(fingerprint: &[u8; 32], file_hash: &str) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(fingerprint);
    ctx.update(b"\0");
    ctx.update(file_hash.trim().to_ascii_lowercase().as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

impl KnownHashes {
    /// Reads the cache in `data_dir` (empty when absent or unreadable). Does I/O.
    pub fn load(data_dir: &Path) -> Self {
        let Ok(bytes) = std::fs::read(path(data_dir)) else {
            return Self::default();
        };
        let Some(body) = bytes.strip_prefix(MAGIC.as_slice()) else {
            return Self::default();
        };
        let mut out = Self::default();
        for rec in body.chunks_exact(64).take(MAX_ENTRIES) {
            let (mut k, mut v) = ([0u8; 32], [0u8; 32]);
            k.copy_from_slice(&rec[..32]);
            v.copy_from_slice(&rec[32..]);
            if out.map.insert(k, v).is_none() {
                out.order.push(k);
            }
        }
        out
    }

    /// The SHA-256 a verified `id` stands for.
    pub fn get(&self, id: &[u8; 32]) -> Option<[u8; 32]> {
        self.map.get(id).copied()
    }

    /// Puts `pairs` first, keeps at most [`MAX_ENTRIES`], and writes the cache (temp file +
    /// rename, not flushed: a cache that a power loss tears is ignored, or its zeroed records
    /// match no real hash). Does I/O.
    pub fn remember(mut self, data_dir: &Path, pairs: &[([u8; 32], [u8; 32])]) -> Result<()> {
        // Every pair already known: nothing to write (the order only matters at the cap).
        if pairs.iter().all(|(k, _)| self.map.contains_key(k)) {
            return Ok(());
        }
        let mut order: Vec<[u8; 32]> = Vec::with_capacity(pairs.len() + self.order.len());
        let mut map = HashMap::with_capacity(order.capacity());
        for (k, v) in pairs {
            if map.insert(*k, *v).is_none() {
                order.push(*k);
            }
        }
        for k in self.order.drain(..) {
            if order.len() >= MAX_ENTRIES {
                break;
            }
            if let Some(v) = self.map.get(&k)
                && map.insert(k, *v).is_none()
            {
                order.push(k);
            }
        }
        order.truncate(MAX_ENTRIES);
        let mut bytes = Vec::with_capacity(8 + order.len() * 64);
        bytes.extend_from_slice(MAGIC);
        for k in &order {
            if let Some(v) = map.get(k) {
                bytes.extend_from_slice(k);
                bytes.extend_from_slice(v);
            }
        }
        crate::bundle::fs_atomic::write_unflushed(&path(data_dir), &bytes)
    }
}

fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE)
}
