//! Plan: a delta manifest parsed strictly and checked before any transfer — session key, per-file signed hashes, safe targets, URLs, limits, bundle identity.

use std::collections::HashMap;

use serde_json::Value;

use crate::bundle::checksum::{ExpectedChecksum, to_hex};
use crate::bundle::crypto::{PublicKey, SessionKey, WrappedSessionKey};
use crate::bundle::unzip::{COLLIDES, EntryPath, Limits, fold_str};
use crate::error::{Error, Result};

use crate::net::answer::Manifest;
pub use crate::net::answer::ManifestEntry;

/// Reads the `manifest` of an update answer or a JS call: `None` when absent, `null` or an empty
/// array (the zip path applies); an error when it is anything but an array of objects with three
/// non-empty strings — never a silent fallback. Pure.
pub fn parse_manifest(v: Option<&Value>) -> Result<Option<Vec<ManifestEntry>>> {
    match Manifest::from_value(v) {
        Manifest::Absent => Ok(None),
        Manifest::Entries(e) => Ok(Some(e)),
        Manifest::Invalid(why) => Err(Error::Manifest(why)),
    }
}

/// What the planned release is checked against: the app's keys and the release's session key.
#[derive(Debug, Clone, Copy)]
pub struct DeltaTrust<'a> {
    /// The app's public key (`publicKey`); `None` for apps without encryption.
    pub public_key: Option<&'a PublicKey>,
    /// More trusted keys (`publicKeys`, key rotation).
    pub older_keys: &'a [PublicKey],
    /// The release's `ivSessionKey`.
    pub session_key: Option<&'a str>,
    /// Hashes verified before (`known.rs`): a `file_hash` found there needs no RSA operation.
    pub known: Option<&'a crate::store::known::KnownHashes>,
}

/// One file to put in the new bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedFile {
    /// Where it goes in the bundle (the name without `.br`), checked like a zip entry.
    pub target: EntryPath,
    /// The SHA-256 the final (decrypted, decompressed) file must have.
    pub sha256: [u8; 32],
    /// The body is brotli-compressed (`.br` name).
    pub brotli: bool,
    /// The body's URL, verbatim (already checked against the URL policy).
    pub url: String,
}

/// A release checked end to end before any transfer.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Every file, in manifest order.
    pub files: Vec<PlannedFile>,
    /// The key that decrypts every body, when the release is encrypted.
    pub session_key: Option<SessionKey>,
    /// The bundle's identity: SHA-256 over the sorted `target\thash\n` lines (hex). Manifest
    /// bundles have no zip checksum; this plays its part for known-bad tracking and reuse.
    pub digest: String,
    /// (cache id, SHA-256) of every signed hash, to remember after a successful install.
    pub verified: Vec<([u8; 32], [u8; 32])>,
}

/// Checks a manifest before any transfer (pure computation, RSA per entry): the session key is
/// unwrapped once and every `file_hash` must verify under the same trusted key (V3; plain 64-hex
/// only without a key); targets follow the zip-entry rules plus: no empty name, no duplicate
/// (also `a` and `a.br`), no file that is also a folder, no two names that collide on
/// case-insensitive or normalising file systems; every URL passes the URL policy; at most
/// `limits.max_files` entries.
pub fn plan(
    entries: &[ManifestEntry],
    trust: &DeltaTrust<'_>,
    limits: &Limits,
    allow_insecure: bool,
) -> Result<Plan> {
    if entries.len() as u64 > limits.max_files {
        return Err(Error::Limit(format!(
            "the manifest lists {} files, more than {} (maxBundleFiles)",
            entries.len(),
            limits.max_files
        )));
    }
    let (session_key, key) = choose_key(entries, trust)?;
    let mut files = Vec::with_capacity(entries.len());
    let mut named = Vec::with_capacity(entries.len());
    let mut names = Names::default();
    for e in entries.iter() {
        let refuse = |reason: &'static str| Error::UnsafeEntry {
            name: e.file_name.chars().take(200).collect(),
            reason,
        };
        let (name, brotli) = match e.file_name.strip_suffix(".br") {
            Some(n) => (n, true),
            None => (e.file_name.as_str(), false),
        };
        let target = EntryPath::parse(name).map_err(refuse)?;
        if target.is_empty() {
            return Err(refuse("names no file"));
        }
        names.add(&target).map_err(refuse)?;
        crate::net::http::check_url(&e.download_url, allow_insecure)?;
        named.push((target, brotli));
    }
    drop(names);
    // Every name is safe: now the signatures (one RSA public operation each, on every core).
    let fingerprint = key.map(PublicKey::fingerprint);
    let ids: Vec<Option<[u8; 32]>> = entries
        .iter()
        .map(|e| fingerprint.map(|f| crate::store::known::id(&f, &e.file_hash)))
        .collect();
    let digests = recover_all(entries, &ids, trust.known, key)?;
    let verified = ids
        .iter()
        .zip(&digests)
        .filter_map(|(id, d)| id.map(|id| (id, *d)))
        .collect();
    for ((e, (target, brotli)), sha256) in entries.iter().zip(named).zip(digests) {
        files.push(PlannedFile {
            target,
            sha256,
            brotli,
            url: e.download_url.clone(),
        });
    }
    Ok(Plan {
        digest: digest(&files),
        files,
        session_key,
        verified,
    })
}

/// Every planned name and the folders it implies, as case-insensitive, normalising file systems
/// (iOS, macOS) compare them: two names may not land on one file or folder there, and no name
/// may be a file and a folder at once — exactly the zip path's rules.
#[derive(Default)]
struct Names {
    /// Folded path → (the exact path first seen, whether it is a folder).
    seen: HashMap<String, (String, bool)>,
}

impl Names {
    fn add(&mut self, target: &EntryPath) -> std::result::Result<(), &'static str> {
        let parts = target.parts();
        for depth in 1..parts.len() {
            self.claim(parts[..depth].join("/"), true)?;
        }
        self.claim(parts.join("/"), false)
    }

    fn claim(&mut self, exact: String, dir: bool) -> std::result::Result<(), &'static str> {
        let key = fold_str(&exact);
        match self.seen.get(&key) {
            None => {
                self.seen.insert(key, (exact, dir));
                Ok(())
            }
            Some((e, d)) if *e == exact => match (*d, dir) {
                (true, true) => Ok(()),
                (false, false) => Err("duplicates another entry of the manifest"),
                _ => Err("is inside a path that is also a file"),
            },
            Some(_) => Err(COLLIDES),
        }
    }
}

/// The SHA-256 each entry's `file_hash` stands for, verified under `key` (V3; plain hex without a
/// key), computed on all cores; a hash in `known` (same key, same string) is taken from there.
/// The first failing entry (in manifest order) is reported.
fn recover_all(
    entries: &[ManifestEntry],
    ids: &[Option<[u8; 32]>],
    known: Option<&crate::store::known::KnownHashes>,
    key: Option<&PublicKey>,
) -> Result<Vec<[u8; 32]>> {
    let one = |(e, id): (&ManifestEntry, &Option<[u8; 32]>)| -> Result<[u8; 32]> {
        if let (Some(id), Some(known)) = (id, known)
            && let Some(d) = known.get(id)
        {
            return Ok(d);
        }
        let expected = ExpectedChecksum::parse(&e.file_hash, key).map_err(|err| match err {
            // A hash that does not verify under the app's key keeps its kind (checksum_fail).
            Error::ChecksumFormat(m) => {
                Error::ChecksumFormat(format!("entry {:?}: {m}", e.file_name))
            }
            other => Error::Manifest(format!("entry {:?}: {other}", e.file_name)),
        })?;
        expected.sha256().ok_or_else(|| {
            Error::Manifest(format!(
                "entry {:?}: a legacy (V2) hash; delta releases need V3 hashes",
                e.file_name
            ))
        })
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8);
    if threads == 1 || entries.len() < 64 {
        return entries.iter().zip(ids).map(one).collect();
    }
    let chunk = entries.len().div_ceil(threads);
    let parts: Vec<Result<Vec<[u8; 32]>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = entries
            .chunks(chunk)
            .zip(ids.chunks(chunk))
            .map(|(c, i)| scope.spawn(move || c.iter().zip(i).map(one).collect::<Result<Vec<_>>>()))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::Manifest("a hash check thread failed".into())))
            })
            .collect()
    });
    let mut out = Vec::with_capacity(entries.len());
    for p in parts {
        out.extend(p?);
    }
    Ok(out)
}

/// Unwraps the session key and picks the trusted key every hash verifies under (key rotation:
/// the app's key first, then `older_keys`).
fn choose_key<'a>(
    entries: &[ManifestEntry],
    trust: &DeltaTrust<'a>,
) -> Result<(Option<SessionKey>, Option<&'a PublicKey>)> {
    let session = trust.session_key.map(str::trim).filter(|s| !s.is_empty());
    let Some(first) = trust.public_key else {
        if session.is_some() {
            return Err(Error::Usage(
                "this release is encrypted, but the app has no public key to decrypt it".into(),
            ));
        }
        return Ok((None, None));
    };
    let Some(session) = session else {
        return Err(Error::SessionKey(
            "session_key_required: the app has a public key, so delta releases must be encrypted \
             and come with their ivSessionKey"
                .into(),
        ));
    };
    let wrapped = WrappedSessionKey::parse(session)?;
    let mut first_error = None;
    for key in std::iter::once(first).chain(trust.older_keys.iter()) {
        let attempt = wrapped.unwrap(key).and_then(|sk| {
            // One hash is enough to tell the key; every one is checked again while planning.
            if let Some(e) = entries.first() {
                ExpectedChecksum::parse(&e.file_hash, Some(key))?;
            }
            Ok(sk)
        });
        match attempt {
            Ok(sk) => return Ok((Some(sk), Some(key))),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or_else(|| Error::SessionKey("no trusted key".into())))
}

/// The bundle identity of a planned release. Pure.
fn digest(files: &[PlannedFile]) -> String {
    let mut lines: Vec<String> = files
        .iter()
        .map(|f| format!("{}\t{}\n", f.target.parts().join("/"), to_hex(&f.sha256)))
        .collect();
    lines.sort();
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for l in &lines {
        ctx.update(l.as_bytes());
    }
    to_hex(ctx.finish().as_ref())
}
