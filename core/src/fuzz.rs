//! Fuzz: the fuzz targets' bodies, shared by `cargo fuzz` (fuzz/fuzz_targets/*.rs, feature `fuzzing`) and the corpus replay test below. Each must never panic, whatever the bytes.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::type_complexity
)]

use std::sync::OnceLock;

use crate::BundleTrust;
use crate::bundle::checksum::ExpectedChecksum;
use crate::bundle::crypto::{PublicKey, WrappedSessionKey};
use crate::bundle::unzip::{EntryPath, ExtractOptions};

/// Key pair A of the Capgo fixtures (public half).
const KEY_A: &str = include_str!("../../tests/fixtures/capgo/set-a-small/capgo_key_v2.pub");

fn key() -> &'static PublicKey {
    static K: OnceLock<PublicKey> = OnceLock::new();
    K.get_or_init(|| PublicKey::from_pem(KEY_A).unwrap())
}

/// All targets by name, for the replay test.
pub const ALL: &[(&str, fn(&[u8]))] = &[
    ("session_key", session_key),
    ("checksum", checksum),
    ("public_key", public_key),
    ("entry_name", entry_name),
    ("unzip", unzip),
    ("update_response", update_response),
    ("state_file", state_file),
    ("delta_manifest", delta_manifest),
];

/// A delta manifest as JSON: parsed and planned (with and without the app's key) — never a
/// panic, and every planned target is a safe relative path.
pub fn delta_manifest(data: &[u8]) {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Ok(Some(entries)) = crate::delta::parse_manifest(Some(&v)) else {
        return;
    };
    for k in [None, Some(key())] {
        let trust = crate::delta::DeltaTrust {
            public_key: k,
            older_keys: &[],
            session_key: None,
            known: None,
        };
        if let Ok(plan) = crate::delta::plan(&entries, &trust, &crate::Limits::default(), false) {
            for f in &plan.files {
                assert!(f.target.to_path().is_relative());
                assert!(f.target.parts().iter().all(|p| p != ".." && !p.is_empty()));
            }
        }
    }
}

pub fn session_key(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(w) = WrappedSessionKey::parse(&text) {
        let _ = w.unwrap(key());
    }
}

pub fn checksum(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(c) = ExpectedChecksum::parse(&text, Some(key())) {
        let _ = c.sha256_hex();
    }
    let _ = ExpectedChecksum::parse(&text, None);
}

pub fn public_key(data: &[u8]) {
    if let Ok(k) = PublicKey::from_pem(&String::from_utf8_lossy(data)) {
        assert_eq!(k.key_id().len(), 20);
    }
}

pub fn entry_name(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(p) = EntryPath::parse(&text) {
        for part in p.parts() {
            assert!(part != ".." && part != "." && !part.is_empty() && !part.contains('/'));
            assert!(!part.contains('\\') && !part.contains('\0'));
        }
        assert!(p.to_path().is_relative());
    }
}

/// The unzip step fed arbitrary bytes: the checksum is made to match on purpose (a plain SHA-256
/// of the input), so every byte reaches the zip parser and the extractor.
pub fn unzip(data: &[u8]) {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    // One folder per call, removed at the end: nothing is left in the temp directory.
    let base = std::env::temp_dir().join(format!("liveupdate-fuzz-{}-{n}", std::process::id()));
    let _ = std::fs::create_dir_all(&base);
    let dest = base.join("b");
    let sha = ring::digest::digest(&ring::digest::SHA256, data);
    let hex: String = sha.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    let trust = BundleTrust {
        public_key: None,
        session_key: None,
        checksum: &hex,
    };
    let mut options = ExtractOptions {
        threads: 1,
        durable: false,
        ..ExtractOptions::default()
    };
    options.limits.max_bytes = 8 << 20;
    options.limits.max_files = 2000;
    if crate::unpack(data, &trust, &dest, &options).is_ok() {
        // Whatever was accepted is a plain tree inside dest, with an index.html.
        assert!(dest.join("index.html").is_file());
    }
    let _ = std::fs::remove_dir_all(&dest);
    let leftovers = std::fs::read_dir(&base).map(|d| d.count()).unwrap_or(0);
    let _ = std::fs::remove_dir(&base);
    assert_eq!(
        leftovers, 0,
        "unpack left something next to its destination"
    );
}

pub fn update_response(data: &[u8]) {
    for status in [200, 429, 500] {
        let _ = crate::net::check::parse_response(status, data, "1.0.0");
    }
    let text = String::from_utf8_lossy(data);
    let _ = crate::net::check::rate_limit_until(Some(&text), data, 1);
}

pub fn state_file(data: &[u8]) {
    if let Some(s) = crate::store::parse_state(data) {
        // A coherent state only names bundles it knows.
        assert!(s.current == "builtin" || s.bundles.contains_key(&s.current));
    }
}

#[cfg(test)]
mod tests {
    /// Replays every committed fuzz corpus input (fuzz/corpus/TARGET/*) through its target's
    /// body, so what the fuzzers found interesting stays covered by the regular tests.
    #[test]
    fn every_corpus_input_replays_without_panic() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
        let mut total = 0;
        for (name, run) in super::ALL {
            let dir = root.join(name);
            let mut n = 0;
            for e in std::fs::read_dir(&dir).unwrap() {
                let path = e.unwrap().path();
                run(&std::fs::read(&path).unwrap());
                n += 1;
            }
            assert!(n > 0, "no corpus for {name}");
            total += n;
        }
        println!("replayed {total} corpus inputs");
    }
}
