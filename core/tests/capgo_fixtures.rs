//! Real Capgo CLI bundles: every fixture unpacks to exactly its manifest's tree; the deterministic
//! vector is reproduced byte for byte; V2 checksums, SPKI keys, nested roots and other key sizes work.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::Path;

use liveupdate::{
    BundleTrust, ChecksumFormat, ExtractOptions, LiveUpdateError, PublicKey, UnpackReport, unpack,
};
use liveupdate_test_support::*;

fn unpack_bytes(
    bytes: &[u8],
    pem: Option<&str>,
    session: Option<&str>,
    checksum: &str,
    dest: &Path,
) -> Result<UnpackReport, LiveUpdateError> {
    let key = pem.map(|p| PublicKey::from_pem(p).unwrap());
    let trust = BundleTrust {
        public_key: key.as_ref(),
        session_key: session,
        checksum,
    };
    unpack(bytes, &trust, dest, &ExtractOptions::default())
}

fn check_against_manifest(set: &CapgoSet, dest: &Path) {
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(set.dir.join("manifest.json")).unwrap()).unwrap();
    let expected = manifest["expected_extracted_tree"].as_array().unwrap();
    let got = tree(dest);
    assert_eq!(got.len(), expected.len(), "entry count differs: {got:?}");
    for (e, (path, content)) in expected.iter().zip(&got) {
        assert_eq!(e["path"].as_str().unwrap(), path);
        match e["type"].as_str().unwrap() {
            "dir" => assert!(content.is_none(), "{path} should be a folder"),
            "file" => {
                let c = content.as_ref().unwrap();
                assert_eq!(e["size"].as_u64().unwrap(), c.len() as u64, "{path}");
                assert_eq!(e["sha256"].as_str().unwrap(), sha256_hex(c), "{path}");
            }
            t => panic!("unknown type {t}"),
        }
    }
}

#[test]
fn every_cli_fixture_unpacks_to_its_manifest_tree() {
    for name in ["set-a-small", "set-b-large"] {
        let set = capgo_set(name);
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("bundle");
        let bytes = fs::read(&set.encrypted_zip).unwrap();
        let report = unpack_bytes(
            &bytes,
            Some(&set.public_pem),
            Some(&set.session_key),
            &set.checksum,
            &dest,
        )
        .unwrap();
        assert_eq!(report.sha256, set.sha256, "{name}");
        assert_eq!(report.checksum_format, ChecksumFormat::V3);
        check_against_manifest(&set, &dest);
        assert_eq!(names_in(tmp.path()), vec!["bundle"], "{name}: leftovers");

        // The plain zip with its plain checksum (an app without encryption).
        let plain = fs::read(&set.plain_zip).unwrap();
        let dest2 = tmp.path().join("plain");
        let r = unpack_bytes(&plain, None, None, &set.sha256, &dest2).unwrap();
        assert_eq!(r.checksum_format, ChecksumFormat::Plain);
        check_against_manifest(&set, &dest2);
    }
}

#[test]
fn deterministic_vector_is_reproduced_byte_for_byte() {
    let dir = fixtures().join("capgo/vectors");
    let v: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join("set-a_fixed-iv-key.json")).unwrap())
            .unwrap();
    let set = capgo_set("set-a-small");
    let plain = fs::read(&set.plain_zip).unwrap();
    let iv: [u8; 16] = from_hex(v["iv_hex"].as_str().unwrap()).try_into().unwrap();
    let key: [u8; 16] = from_hex(v["session_key_hex"].as_str().unwrap())
        .try_into()
        .unwrap();
    let enc = Encryptor::new(&set.private_pem);
    let (cipher, session, checksum) = enc.encrypt(&plain, &iv, &key, ChecksumVersion::V3);
    assert_eq!(
        cipher,
        fs::read(dir.join("set-a_fixed-iv-key_encrypted.zip")).unwrap()
    );
    assert_eq!(session, v["ivSessionKey"].as_str().unwrap());
    assert_eq!(checksum, v["encrypted_checksum_V3"].as_str().unwrap());
    // The CLI's own V3 checksum for set a is deterministic too.
    assert_eq!(checksum, set.checksum);

    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("b");
    unpack_bytes(
        &cipher,
        Some(&set.public_pem),
        Some(&session),
        &checksum,
        &dest,
    )
    .unwrap();
    check_against_manifest(&set, &dest);
}

#[test]
fn v2_checksum_is_accepted() {
    let set = capgo_set("set-a-small");
    let plain = fs::read(&set.plain_zip).unwrap();
    let enc = Encryptor::new(&set.private_pem);
    let (cipher, session, checksum) = enc.encrypt(&plain, &[9; 16], &[4; 16], ChecksumVersion::V2);
    assert!(checksum.contains('=') || !checksum.chars().all(|c| c.is_ascii_hexdigit()));
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("b");
    let r = unpack_bytes(
        &cipher,
        Some(&set.public_pem),
        Some(&session),
        &checksum,
        &dest,
    )
    .unwrap();
    assert_eq!(r.checksum_format, ChecksumFormat::V2);
    check_against_manifest(&set, &dest);
}

#[test]
fn full_padding_block_is_handled() {
    // A zip whose length is a multiple of 16 gets a whole 16-byte padding block (Capgo set c).
    let (public, private) = key_a();
    let mut files = small_app();
    let mut zip;
    let mut pad = 0usize;
    loop {
        files[2].1 = vec![b'x'; 14 + pad];
        zip = writer_zip(&as_refs(&files), ZipStyle::Stored);
        if zip.len() % 16 == 0 {
            break;
        }
        pad += 1;
    }
    let enc = Encryptor::new(&private);
    let (cipher, session, checksum) = enc.encrypt(&zip, &[1; 16], &[2; 16], ChecksumVersion::V3);
    assert_eq!(cipher.len(), zip.len() + 16);
    let tmp = tempfile::tempdir().unwrap();
    let r = unpack_bytes(
        &cipher,
        Some(&public),
        Some(&session),
        &checksum,
        &tmp.path().join("b"),
    )
    .unwrap();
    assert_eq!(r.sha256, sha256_hex(&zip));
}

#[test]
fn nested_www_root_is_flattened_and_hidden_top_level_entries_ignored() {
    let app = small_app();
    let mut files: Vec<(String, Vec<u8>)> = app
        .iter()
        .map(|(n, d)| (format!("www/{n}"), d.clone()))
        .collect();
    files.push(("__MACOSX/www/._index.html".into(), b"junk".to_vec()));
    files.push((".DS_Store".into(), b"junk".to_vec()));
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    for style in [ZipStyle::CapgoLike, ZipStyle::FilesOnly] {
        let zip = writer_zip(&refs, style);
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("b");
        let r = unpack_bytes(&zip, None, None, &sha256_hex(&zip), &dest).unwrap();
        assert_eq!(r.files, app.len() as u64);
        let got = tree(&dest);
        assert!(got.iter().any(|(p, _)| p == "index.html"));
        assert!(
            !got.iter()
                .any(|(p, _)| p.starts_with("www") || p.starts_with("__MACOSX"))
        );
        assert!(!got.iter().any(|(p, _)| p == ".DS_Store"));
    }
}

#[test]
fn zips_of_every_shape_unpack_to_the_same_tree() {
    let app = small_app();
    let refs = as_refs(&app);
    let mut trees = Vec::new();
    for style in [
        ZipStyle::CapgoLike,
        ZipStyle::Stored,
        ZipStyle::FilesOnly,
        ZipStyle::DataDescriptors,
    ] {
        let zip = writer_zip(&refs, style);
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("b");
        let r = unpack_bytes(&zip, None, None, &sha256_hex(&zip), &dest)
            .unwrap_or_else(|e| panic!("{style:?}: {e}"));
        assert_eq!(r.files, 6, "{style:?}");
        assert_eq!(
            r.bytes,
            app.iter().map(|(_, d)| d.len() as u64).sum::<u64>()
        );
        trees.push(tree(&dest));
    }
    for t in &trees[1..] {
        assert_eq!(t, &trees[0]);
    }
    let files: Vec<_> = trees[0].iter().filter(|(_, c)| c.is_some()).collect();
    assert_eq!(files.len(), 6);
}

#[test]
fn spki_and_larger_keys_work_and_key_ids_match() {
    let set = capgo_set("set-a-small");
    let pkcs1 = PublicKey::from_pem(&set.public_pem).unwrap();
    assert_eq!(pkcs1.key_id(), "MIIBCgKCAQEApY7EX2bX");
    // SPKI form of key A, made with the rsa crate.
    use rsa::pkcs1::DecodeRsaPublicKey;
    use rsa::pkcs8::{EncodePublicKey, LineEnding};
    let spki = rsa::RsaPublicKey::from_pkcs1_pem(&set.public_pem)
        .unwrap()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    let spki_key = PublicKey::from_pem(&spki).unwrap();
    assert_eq!(spki_key.key_id(), pkcs1.key_id());
    let tmp = tempfile::tempdir().unwrap();
    let bytes = fs::read(&set.encrypted_zip).unwrap();
    unpack_bytes(
        &bytes,
        Some(&spki),
        Some(&set.session_key),
        &set.checksum,
        &tmp.path().join("s"),
    )
    .unwrap();

    for name in ["rsa3072", "rsa4096"] {
        let (public, private) = test_key(name);
        let zip = writer_zip(&as_refs(&small_app()), ZipStyle::CapgoLike);
        let enc = Encryptor::new(&private);
        for v in [ChecksumVersion::V3, ChecksumVersion::V2] {
            let (cipher, session, checksum) = enc.encrypt(&zip, &[3; 16], &[5; 16], v);
            let dest = tmp.path().join(format!("{name}-{v:?}"));
            unpack_bytes(&cipher, Some(&public), Some(&session), &checksum, &dest)
                .unwrap_or_else(|e| panic!("{name} {v:?}: {e}"));
            let spki =
                fs::read_to_string(fixtures().join(format!("keys/{name}.spki.pub"))).unwrap();
            assert_eq!(
                PublicKey::from_pem(&spki).unwrap().key_id(),
                PublicKey::from_pem(&public).unwrap().key_id()
            );
        }
    }
}

#[test]
fn bad_keys_are_clear_errors() {
    let cases = [
        (test_key("rsa1024").0, "1024 bits"),
        (
            fs::read_to_string(fixtures().join("keys/rsa1024.spki.pub")).unwrap(),
            "1024 bits",
        ),
        (
            fs::read_to_string(fixtures().join("keys/ec.spki.pub")).unwrap(),
            "SPKI",
        ),
        (key_a().1, "private key"),
        ("hello".to_string(), "expected a PEM"),
        (
            "-----BEGIN RSA PUBLIC KEY-----\nAAAA\n-----END RSA PUBLIC KEY-----\n".to_string(),
            "PKCS#1",
        ),
        (String::new(), "expected a PEM"),
    ];
    for (pem, needle) in cases {
        let e = PublicKey::from_pem(&pem).unwrap_err().to_string();
        assert!(e.starts_with("bad public key"), "{e}");
        assert!(e.contains(needle), "{e:?} should mention {needle:?}");
    }
}

#[test]
fn trees_match_what_unzip_gives() {
    if std::process::Command::new("unzip")
        .arg("-v")
        .output()
        .is_err()
    {
        eprintln!("unzip not installed; scripts/setup.sh installs it");
        return;
    }
    // The large CLI fixture and a 5,000-file bundle, extracted by both.
    let mut names = Vec::new();
    for i in 0..5000 {
        names.push((
            format!("js/{:02}/f{i}.js", i % 7),
            format!("console.log({i});").into_bytes(),
        ));
    }
    names.push(("index.html".into(), b"<html>".to_vec()));
    let refs: Vec<(&str, &[u8])> = names
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    let many = tmp.path().join("many.zip");
    fs::write(&many, writer_zip(&refs, ZipStyle::FilesOnly)).unwrap();
    for zip in [capgo_set("set-b-large").plain_zip, many] {
        let bytes = fs::read(&zip).unwrap();
        let ours = tmp.path().join(format!("ours-{}", bytes.len()));
        let theirs = tmp.path().join(format!("unzip-{}", bytes.len()));
        unpack_bytes(&bytes, None, None, &sha256_hex(&bytes), &ours).unwrap();
        let st = std::process::Command::new("unzip")
            .arg("-q")
            .arg(&zip)
            .arg("-d")
            .arg(&theirs)
            .status()
            .unwrap();
        assert!(st.success());
        assert_eq!(tree(&ours), tree(&theirs), "{}", zip.display());
    }
}
