//! Delta manifests planned before any transfer: the real CLI's v2.0.1 manifest (every hash recovered with the
//! app's key equals the SHA-256 of the original file), and hostile or broken manifests refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::PathBuf;

use crate::bundle::checksum::to_hex;
use crate::delta::{DeltaTrust, ManifestEntry, Source, parse_manifest, plan};
use crate::{Limits, PublicKey};
use liveupdate_test_support::sha256_hex;
use serde_json::{Value, json};

fn dir() -> PathBuf {
    liveupdate_test_support::fixtures().join("capgo/delta")
}

fn key() -> PublicKey {
    PublicKey::from_pem(&fs::read_to_string(dir().join("capgo_key_v2.pub")).unwrap()).unwrap()
}

fn session() -> String {
    fs::read_to_string(dir().join("v2.0.1/ivSessionKey.txt"))
        .unwrap()
        .trim()
        .to_string()
}

fn manifest_json() -> Value {
    serde_json::from_str(&fs::read_to_string(dir().join("v2.0.1/manifest.json")).unwrap()).unwrap()
}

/// The fixture's `download_url`s are paths into its `uploaded/` folder: served from loopback here.
fn entries() -> Vec<ManifestEntry> {
    let mut es = parse_manifest(Some(&manifest_json())).unwrap().unwrap();
    for e in &mut es {
        e.download_url = format!("http://127.0.0.1:9/{}", e.download_url);
    }
    es
}

/// The real manifest's URLs point at the CLI's loopback stand-in over http: allowed (loopback).
fn try_plan(entries: &[ManifestEntry]) -> crate::error::Result<crate::delta::Plan> {
    let k = key();
    let s = session();
    plan(
        entries,
        &DeltaTrust {
            public_key: Some(&k),
            older_keys: &[],
            known: None,
            session_key: Some(&s),
        },
        &Limits::default(),
        false,
    )
}

fn refused(entries: &[ManifestEntry]) -> String {
    try_plan(entries)
        .expect_err("a hostile manifest was planned")
        .to_string()
}

#[test]
fn the_real_cli_manifest_plans_and_every_hash_is_the_original_files_sha256() {
    let es = entries();
    let p = try_plan(&es).unwrap();
    assert_eq!(p.files.len(), es.len());
    assert!(p.session_key.is_some());
    for f in &p.files {
        let name = f.target.parts().join("/");
        let original = fs::read(dir().join("v2.0.1/original").join(&name))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(to_hex(&f.sha256), sha256_hex(&original), "{name}");
        let listed = es
            .iter()
            .find(|e| e.file_name.trim_end_matches(".br") == name)
            .unwrap();
        assert_eq!(f.brotli, listed.file_name.ends_with(".br"), "{name}");
        assert_eq!(f.url, listed.download_url, "URLs are used verbatim");
    }
    assert!(p.files.iter().any(|f| f.brotli) && p.files.iter().any(|f| !f.brotli));
    // The identity does not depend on the manifest's order.
    let mut reversed = es.clone();
    reversed.reverse();
    assert_eq!(try_plan(&reversed).unwrap().digest, p.digest);
    assert_eq!(p.digest.len(), 64);
}

#[test]
fn absent_empty_and_malformed_manifests() {
    assert_eq!(parse_manifest(None).unwrap(), None);
    assert_eq!(parse_manifest(Some(&Value::Null)).unwrap(), None);
    assert_eq!(parse_manifest(Some(&json!([]))).unwrap(), None);
    for bad in [
        json!({"file_name": "a"}),
        json!(["x"]),
        json!([{"file_name": "a.js", "file_hash": "00"}]),
        json!([{"file_name": "a.js", "file_hash": "", "download_url": "https://x.test/a"}]),
        json!([{"file_name": 7, "file_hash": "00", "download_url": "https://x.test/a"}]),
    ] {
        let e = parse_manifest(Some(&bad)).unwrap_err();
        assert!(e.to_string().starts_with("bad manifest"), "{e}");
    }
}

#[test]
fn hostile_manifests_are_refused_before_any_transfer() {
    let es = entries();
    let with = |f: &dyn Fn(&mut Vec<ManifestEntry>)| {
        let mut v = es.clone();
        f(&mut v);
        refused(&v)
    };
    // Escaping names.
    for name in [
        "../evil.js",
        "a/../../evil.js",
        "/etc/passwd",
        "C:/x.js",
        "a\\b.js",
        "evil\u{1b}.js",
    ] {
        let e = with(&|v| v[0].file_name = name.into());
        assert!(e.starts_with("unsafe entry name"), "{name}: {e}");
    }
    // Duplicates, also through `.br`; case and normalisation collisions; a file that is a folder.
    let e = with(&|v| v[1].file_name = v[0].file_name.clone());
    assert!(e.contains("duplicates"), "{e}");
    let e = with(&|v| {
        let plain = v[0].file_name.trim_end_matches(".br").to_string();
        v[1].file_name = format!("{plain}.br");
        v[0].file_name = plain;
    });
    assert!(e.contains("duplicates"), "{e}");
    let e = with(&|v| v[1].file_name = v[0].file_name.trim_end_matches(".br").to_uppercase());
    assert!(e.contains("case-insensitive"), "{e}");
    let e = with(&|v| {
        v[0].file_name = "caf\u{e9}.js".into();
        v[1].file_name = "cafe\u{301}.js".into();
    });
    assert!(e.contains("case-insensitive"), "{e}");
    let e = with(&|v| {
        v[0].file_name = "lib".into();
        v[1].file_name = "lib/x.js".into();
    });
    assert!(e.contains("also a file"), "{e}");
    // A file and a folder whose names differ only in case or normalisation (the zip path refuses
    // the same pair): one of them would land inside the other on iOS and macOS.
    for (file, inside) in [
        ("Css", "css/a.js"),
        ("css/a.js", "Css"),
        ("lib", "LIB/x.js"),
        ("caf\u{e9}", "cafe\u{301}/x.js"),
        ("a/B", "a/b/c.js"),
    ] {
        let e = with(&|v| {
            v[0].file_name = file.into();
            v[1].file_name = inside.into();
        });
        assert!(e.contains("case-insensitive"), "{file} / {inside}: {e}");
    }
    // The same folder under the same name is fine.
    let mut ok = es.clone();
    ok[0].file_name = "css/a.js".into();
    ok[1].file_name = "css/b.js".into();
    assert!(
        plan(
            &ok,
            &DeltaTrust {
                public_key: Some(&key()),
                older_keys: &[],
                known: None,
                session_key: Some(&session()),
            },
            &Limits::default(),
            false
        )
        .is_ok()
    );
    // A signature that does not verify; a plain hash where the app has a key; a validly signed
    // hash moved to another file is caught later, by the hash of the downloaded file.
    for i in [0, 3] {
        let e = with(&|v| {
            let mut h = v[i].file_hash.clone().into_bytes();
            h[10] = if h[10] == b'0' { b'1' } else { b'0' };
            v[i].file_hash = String::from_utf8(h).unwrap();
        });
        assert!(
            e.starts_with("bad manifest") || e.starts_with("bad checksum"),
            "{e}"
        );
        let e = with(&|v| v[i].file_hash = "ab".repeat(32));
        assert!(
            e.starts_with("bad manifest") || e.starts_with("bad checksum"),
            "{e}"
        );
    }
    // URLs under the policy.
    let e = with(&|v| v[0].download_url = "http://cdn.example.com/a.js".into());
    assert!(e.contains("plain http"), "{e}");
    let e = with(&|v| v[0].download_url = "file:///etc/passwd".into());
    assert!(e.starts_with("refused URL"), "{e}");
    // Limits, session keys.
    let k = key();
    let s = session();
    let few = Limits {
        max_files: 3,
        ..Limits::default()
    };
    let e = plan(
        &es,
        &DeltaTrust {
            public_key: Some(&k),
            older_keys: &[],
            known: None,
            session_key: Some(&s),
        },
        &few,
        false,
    )
    .unwrap_err();
    assert!(e.to_string().contains("maxBundleFiles"), "{e}");
    let e = plan(
        &es,
        &DeltaTrust {
            public_key: Some(&k),
            older_keys: &[],
            known: None,
            session_key: None,
        },
        &Limits::default(),
        false,
    )
    .unwrap_err();
    assert!(e.to_string().contains("session_key_required"), "{e}");
    let e = plan(
        &es,
        &DeltaTrust {
            public_key: None,
            older_keys: &[],
            known: None,
            session_key: Some(&s),
        },
        &Limits::default(),
        false,
    )
    .unwrap_err();
    assert!(e.to_string().contains("no public key"), "{e}");
    // Signed with another key: refused; accepted when that key is among the rotated ones.
    let (other_pem, _) = liveupdate_test_support::key_a();
    let other = PublicKey::from_pem(&other_pem).unwrap();
    let e = plan(
        &es,
        &DeltaTrust {
            public_key: Some(&other),
            older_keys: &[],
            known: None,
            session_key: Some(&s),
        },
        &Limits::default(),
        false,
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("session key") || e.to_string().contains("bad"),
        "{e}"
    );
    let ok = plan(
        &es,
        &DeltaTrust {
            public_key: Some(&other),
            older_keys: std::slice::from_ref(&k),
            known: None,
            session_key: Some(&s),
        },
        &Limits::default(),
        false,
    );
    assert!(ok.is_ok(), "{:?}", ok.err());
}

/// Paths of the planned files at these indexes.
fn names(p: &crate::delta::Plan, idx: &[usize]) -> Vec<String> {
    let mut v: Vec<String> = idx
        .iter()
        .map(|&i| p.files[i].target.parts().join("/"))
        .collect();
    v.sort();
    v
}

#[test]
fn a_device_on_2_0_0_reuses_exactly_the_unchanged_files_verified_in_place() {
    let p = try_plan(&entries()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let staging = tmp.path().join("staging");
    fs::create_dir(&staging).unwrap();
    let old = dir().join("v2.0.0/original");
    let r =
        crate::delta::reuse::reuse_local(&p, &[Source::store(&old)], None, None, &staging).unwrap();
    // The CLI's own diff of the two versions says which files changed.
    let diff: Vec<Value> =
        serde_json::from_str(&fs::read_to_string(dir().join("diff-2.0.0-to-2.0.1.json")).unwrap())
            .unwrap();
    let mut unchanged: Vec<String> = diff
        .iter()
        .filter(|d| d["status"] == "unchanged")
        .map(|d| d["path"].as_str().unwrap().to_string())
        .collect();
    unchanged.sort();
    assert_eq!(names(&p, &r.reused), unchanged);
    assert_eq!(
        names(&p, &r.missing),
        vec![
            "lib/runtime/framework.js",
            "main.js",
            "pages/onboarding/step-1.js"
        ]
    );
    for name in names(&p, &r.reused) {
        assert_eq!(
            fs::read(staging.join(&name)).unwrap(),
            fs::read(dir().join("v2.0.1/original").join(&name)).unwrap(),
            "{name}"
        );
    }
    for name in names(&p, &r.missing) {
        assert!(!staging.join(&name).exists(), "{name}");
    }
}

#[test]
fn corrupted_or_linked_local_files_are_never_carried_over() {
    let p = try_plan(&entries()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let local = tmp.path().join("local");
    let staging = tmp.path().join("staging");
    fs::create_dir(&staging).unwrap();
    // A copy of 2.0.0 where one unchanged file was altered on disk and another replaced by a link.
    copy_tree(&dir().join("v2.0.0/original"), &local);
    let mut css = fs::read(local.join("theme.css")).unwrap();
    css[0] ^= 0x20;
    fs::write(local.join("theme.css"), css).unwrap();
    fs::remove_file(local.join("index.html")).unwrap();
    std::os::unix::fs::symlink(
        dir().join("v2.0.1/original/index.html"),
        local.join("index.html"),
    )
    .unwrap();
    let r = crate::delta::reuse::reuse_local(&p, &[Source::store(&local)], None, None, &staging)
        .unwrap();
    let missing = names(&p, &r.missing);
    assert!(missing.contains(&"theme.css".to_string()), "{missing:?}");
    assert!(
        missing.contains(&"index.html".to_string()),
        "links are not followed: {missing:?}"
    );
    assert!(
        !staging.join("theme.css").exists(),
        "the altered copy was removed"
    );
    // The untouched 2.0.0 originals then provide what they can.
    let old = dir().join("v2.0.0/original");
    let r2 = crate::delta::reuse::reuse_local(
        &p,
        &[Source::store(&local), Source::store(&old)],
        None,
        None,
        &staging,
    )
    .unwrap();
    assert!(names(&p, &r2.reused).contains(&"theme.css".to_string()));
}

fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            fs::copy(e.path(), dest).unwrap();
        }
    }
}
