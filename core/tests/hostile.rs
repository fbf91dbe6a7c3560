//! Hostile and damaged bundles: each is refused with a clear error, the destination absent and nothing left next to it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use liveupdate::{BundleTrust, ExtractOptions, Limits, LiveUpdateError, PublicKey, unpack};
use liveupdate_test_support::*;

/// Encrypts `zip` with key A (V3) and unpacks it with `options`; returns the error text.
fn refuse_encrypted(zip: &[u8], options: &ExtractOptions) -> String {
    let (public, private) = key_a();
    let enc = Encryptor::new(&private);
    let (cipher, session, checksum) = enc.encrypt(zip, &[7; 16], &[8; 16], ChecksumVersion::V3);
    refuse_with(&cipher, Some(&public), Some(&session), &checksum, options)
}

fn refuse_with(
    bytes: &[u8],
    pem: Option<&str>,
    session: Option<&str>,
    checksum: &str,
    options: &ExtractOptions,
) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("bundle");
    let key = pem.map(|p| PublicKey::from_pem(p).unwrap());
    let trust = BundleTrust {
        public_key: key.as_ref(),
        session_key: session,
        checksum,
    };
    let err = unpack(bytes, &trust, &dest, options).expect_err("hostile bundle was accepted");
    assert_nothing_left(tmp.path(), &dest);
    err.to_string()
}

fn assert_nothing_left(parent: &Path, dest: &Path) {
    assert!(!dest.exists(), "destination exists after a failure");
    assert!(
        names_in(parent).is_empty(),
        "leftovers next to the destination: {:?}",
        names_in(parent)
    );
}

fn with_index(mut entries: Vec<RawEntry>) -> Vec<u8> {
    entries.insert(0, RawEntry::file("index.html", b"<html>"));
    raw_zip(&entries)
}

#[test]
fn unsafe_entry_names_are_refused() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"../evil.js".to_vec(), "'..'"),
        (b"assets/../../evil.js".to_vec(), "'..'"),
        (b"assets/..".to_vec(), "'..'"),
        (b"/tmp/evil.js".to_vec(), "absolute"),
        (b"C:/evil.js".to_vec(), "drive letter"),
        (b"c:evil.js".to_vec(), "drive letter"),
        (b"..\\evil.js".to_vec(), "backslash"),
        (b"assets\\evil.js".to_vec(), "backslash"),
        (b"evil\0.js".to_vec(), "NUL"),
    ];
    for (name, reason) in cases {
        let zip = with_index(vec![RawEntry {
            name: name.clone(),
            data: b"x".to_vec(),
            mode: 0o100644,
        }]);
        let e = refuse_encrypted(&zip, &ExtractOptions::default());
        assert!(e.starts_with("unsafe entry name"), "{e}");
        assert!(e.contains(reason), "{name:?}: {e:?} should say {reason:?}");
    }
}

#[test]
fn symlinks_and_special_files_are_refused() {
    for (mode, reason) in [
        (0o120777, "symbolic link"),
        (0o010644, "neither a file nor a folder"),
        (0o020644, "neither a file nor a folder"),
        (0o140644, "neither a file nor a folder"),
    ] {
        let zip = with_index(vec![RawEntry::file("link", b"/etc/passwd").with_mode(mode)]);
        let e = refuse_encrypted(&zip, &ExtractOptions::default());
        assert!(e.contains(reason), "mode {mode:o}: {e}");
    }
}

#[test]
fn duplicates_and_clashes_are_refused() {
    let cases = vec![
        vec![
            RawEntry::file("app.js", b"a"),
            RawEntry::file("app.js", b"b"),
        ],
        vec![RawEntry::file("index.html", b"again")],
        vec![
            RawEntry::file("a/./b.js", b"a"),
            RawEntry::file("a/b.js", b"b"),
        ],
        vec![
            RawEntry::file("a", b"file"),
            RawEntry::file("a/b.js", b"inside"),
        ],
        vec![
            RawEntry::file("a/b.js", b"inside"),
            RawEntry::file("a", b"file"),
        ],
        vec![RawEntry::dir("a/"), RawEntry::file("a", b"file")],
    ];
    for entries in cases {
        let names: Vec<String> = entries
            .iter()
            .map(|e| String::from_utf8_lossy(&e.name).into_owned())
            .collect();
        let zip = with_index(entries);
        let e = refuse_encrypted(&zip, &ExtractOptions::default());
        assert!(e.starts_with("unsafe entry name"), "{names:?}: {e}");
    }
}

#[test]
fn limits_are_enforced_while_inflating() {
    // 8 MiB of zeros deflates to a few KiB: a small zip that expands far beyond its size.
    let big = vec![0u8; 8 << 20];
    let zip = writer_zip(
        &[("index.html", b"<html>"), ("bomb.bin", &big)],
        ZipStyle::CapgoLike,
    );
    assert!(zip.len() < 100_000);
    let mut options = ExtractOptions {
        limits: Limits {
            max_bytes: 1 << 20,
            max_files: 100,
        },
        ..ExtractOptions::default()
    };
    let e = refuse_encrypted(&zip, &options);
    assert!(e.contains("limit exceeded") && e.contains("bytes"), "{e}");

    // Raised limit: the same bundle is fine.
    options.limits.max_bytes = 16 << 20;
    let tmp = tempfile::tempdir().unwrap();
    let trust = BundleTrust {
        public_key: None,
        session_key: None,
        checksum: &sha256_hex(&zip),
    };
    let r = unpack(zip.as_slice(), &trust, &tmp.path().join("b"), &options).unwrap();
    assert_eq!(r.bytes, (8 << 20) + 6);

    // Too many files.
    let names: Vec<String> = (0..20).map(|i| format!("f{i}.js")).collect();
    let mut files: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"x"[..])).collect();
    files.push(("index.html", b"<html>"));
    let zip = writer_zip(&files, ZipStyle::CapgoLike);
    options.limits.max_files = 10;
    let e = refuse_encrypted(&zip, &options);
    assert!(e.contains("limit exceeded") && e.contains("files"), "{e}");
}

#[test]
fn a_lying_size_header_does_not_beat_the_byte_limit() {
    // Central directory and local header claim 10 bytes; the deflate stream holds 4 MiB of zeros.
    let big = vec![0u8; 4 << 20];
    let mut zip = writer_zip(
        &[("index.html", b"<html>"), ("liar.bin", &big)],
        ZipStyle::CapgoLike,
    );
    let claimed = (4u32 << 20).to_le_bytes();
    let mut patched = 0;
    let mut i = 0;
    while i + 4 <= zip.len() {
        if zip[i..i + 4] == claimed {
            zip[i..i + 4].copy_from_slice(&10u32.to_le_bytes());
            patched += 1;
        }
        i += 1;
    }
    assert!(patched >= 2);
    let mut options = ExtractOptions::default();
    options.limits.max_bytes = 1 << 20;
    let e = refuse_encrypted(&zip, &options);
    assert!(e.contains("limit exceeded") || e.contains("bad zip"), "{e}");
}

#[test]
fn bundle_without_index_html_is_refused() {
    let zip = raw_zip(&[RawEntry::file("main.js", b"x"), RawEntry::dir("assets/")]);
    let e = refuse_encrypted(&zip, &ExtractOptions::default());
    assert!(e.contains("index.html"), "{e}");
    // Two top-level folders: no flattening, so no index.html at the root.
    let zip = raw_zip(&[
        RawEntry::file("a/index.html", b"x"),
        RawEntry::file("b/index.html", b"x"),
    ]);
    let e = refuse_encrypted(&zip, &ExtractOptions::default());
    assert!(e.contains("index.html"), "{e}");
}

#[test]
fn damaged_ciphertext_is_refused() {
    let set = capgo_set("set-b-large");
    let cipher = std::fs::read(&set.encrypted_zip).unwrap();
    let opts = ExtractOptions::default();
    let pk = Some(set.public_pem.as_str());
    let sk = Some(set.session_key.as_str());

    // Bit flips at the start, the middle and the last blocks.
    for pos in [
        0,
        100,
        cipher.len() / 2,
        cipher.len() - 20,
        cipher.len() - 1,
    ] {
        let mut bad = cipher.clone();
        bad[pos] ^= 0x01;
        let e = refuse_with(&bad, pk, sk, &set.checksum, &opts);
        assert!(
            e.contains("checksum mismatch") || e.contains("bad padding"),
            "flip at {pos}: {e}"
        );
    }
    // Truncations: mid-block, at a block boundary, to nothing.
    for len in [cipher.len() - 7, cipher.len() - 16, 16 * 1000, 0] {
        let e = refuse_with(&cipher[..len], pk, sk, &set.checksum, &opts);
        assert!(
            e.contains("bad ciphertext") || e.contains("checksum mismatch"),
            "truncated to {len}: {e}"
        );
    }
    // Appended garbage.
    let mut longer = cipher.clone();
    longer.extend([0u8; 16]);
    let e = refuse_with(&longer, pk, sk, &set.checksum, &opts);
    assert!(e.contains("bad") || e.contains("mismatch"), "{e}");
}

#[test]
fn wrong_keys_and_checksums_are_refused() {
    let a = capgo_set("set-a-small");
    let b = capgo_set("set-b-large");
    let opts = ExtractOptions::default();
    let cipher = std::fs::read(&a.encrypted_zip).unwrap();
    let pk = Some(a.public_pem.as_str());

    // The checksum of another bundle (same key): mismatch after decryption.
    let e = refuse_with(&cipher, pk, Some(&a.session_key), &b.checksum, &opts);
    assert!(e.contains("checksum mismatch"), "{e}");
    // Another bundle's session key: wrong AES key.
    let e = refuse_with(&cipher, pk, Some(&b.session_key), &a.checksum, &opts);
    assert!(e.contains("bad padding") || e.contains("mismatch"), "{e}");
    // A public key that did not make the bundle.
    let (other, _) = test_key("rsa3072");
    let e = refuse_with(
        &cipher,
        Some(&other),
        Some(&a.session_key),
        &a.checksum,
        &opts,
    );
    assert!(e.starts_with("bad session key"), "{e}");
    // A bundle made by an attacker with their own key, verified with key A.
    let (_, attacker_priv) = test_key("rsa4096");
    let zip = std::fs::read(&a.plain_zip).unwrap();
    let (c2, s2, k2) =
        Encryptor::new(&attacker_priv).encrypt(&zip, &[1; 16], &[1; 16], ChecksumVersion::V3);
    let e = refuse_with(&c2, pk, Some(&s2), &k2, &opts);
    assert!(e.starts_with("bad session key"), "{e}");
    // Key A's session key, attacker's checksum (re-signed digest of a tampered zip).
    let (_, s_a, _) =
        Encryptor::new(&a.private_pem).encrypt(&zip, &[1; 16], &[1; 16], ChecksumVersion::V3);
    let e = refuse_with(&c2, pk, Some(&s_a), &k2, &opts);
    assert!(e.starts_with("bad checksum"), "{e}");

    // Plain checksum where the signed one is required; CRC-32; garbage; missing session key.
    let e = refuse_with(&cipher, pk, Some(&a.session_key), &a.sha256, &opts);
    assert!(e.contains("encrypted one"), "{e}");
    let e = refuse_with(&cipher, pk, Some(&a.session_key), "4f4b3f1d", &opts);
    assert!(e.contains("CRC-32"), "{e}");
    let e = refuse_with(
        &cipher,
        pk,
        Some(&a.session_key),
        "zz-not-a-checksum",
        &opts,
    );
    assert!(e.starts_with("bad checksum"), "{e}");
    let e = refuse_with(&cipher, pk, None, &a.checksum, &opts);
    assert!(e.contains("session_key_required"), "{e}");
    // Session key without a public key; encrypted bytes with a plain checksum.
    let e = refuse_with(&cipher, None, Some(&a.session_key), &a.sha256, &opts);
    assert!(e.contains("no public key"), "{e}");
    let e = refuse_with(&cipher, None, None, &a.sha256, &opts);
    assert!(e.contains("checksum mismatch"), "{e}");
}

#[test]
fn bad_type1_padding_in_session_key_is_refused() {
    use base64ct::{Base64, Encoding};
    let a = capgo_set("set-a-small");
    let cipher = std::fs::read(&a.encrypted_zip).unwrap();
    // A random block never recovers to valid type-1 padding.
    let junk: Vec<u8> = (0..256u32).map(|i| (i * 31 % 251) as u8 + 1).collect();
    let session = format!(
        "{}:{}",
        Base64::encode_string(&[0u8; 16]),
        Base64::encode_string(&junk)
    );
    let e = refuse_with(
        &cipher,
        Some(&a.public_pem),
        Some(&session),
        &a.checksum,
        &ExtractOptions::default(),
    );
    assert!(e.contains("padding") || e.contains("modulus"), "{e}");
}

#[test]
fn existing_destination_is_never_touched() {
    let a = capgo_set("set-a-small");
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("bundle");
    std::fs::create_dir(&dest).unwrap();
    std::fs::write(dest.join("keep.txt"), b"mine").unwrap();
    let key = PublicKey::from_pem(&a.public_pem).unwrap();
    let trust = BundleTrust {
        public_key: Some(&key),
        session_key: Some(&a.session_key),
        checksum: &a.checksum,
    };
    let cipher = std::fs::read(&a.encrypted_zip).unwrap();
    let e = unpack(cipher.as_slice(), &trust, &dest, &ExtractOptions::default()).unwrap_err();
    assert!(matches!(e, LiveUpdateError::Refused { .. }), "{e}");
    assert!(e.to_string().contains("already exists"), "{e}");
    assert_eq!(std::fs::read(dest.join("keep.txt")).unwrap(), b"mine");
    assert_eq!(names_in(tmp.path()), vec!["bundle"]);
}

#[test]
fn missing_parent_folders_are_created_and_removed_on_failure() {
    let a = capgo_set("set-a-small");
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("x/y/bundle");
    let key = PublicKey::from_pem(&a.public_pem).unwrap();
    let cipher = std::fs::read(&a.encrypted_zip).unwrap();
    let bad = BundleTrust {
        public_key: Some(&key),
        session_key: Some(&a.session_key),
        checksum: &capgo_set("set-b-large").checksum,
    };
    unpack(cipher.as_slice(), &bad, &dest, &ExtractOptions::default()).unwrap_err();
    assert!(names_in(tmp.path()).is_empty());
    let good = BundleTrust {
        checksum: &a.checksum,
        ..bad
    };
    unpack(cipher.as_slice(), &good, &dest, &ExtractOptions::default()).unwrap();
    assert!(dest.join("index.html").is_file());
    assert_eq!(names_in(&tmp.path().join("x/y")), vec!["bundle"]);
}

#[test]
fn a_failing_reader_is_an_io_error_and_leaves_nothing() {
    struct Failing(usize);
    impl std::io::Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0 == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "cut",
                ));
            }
            let n = buf.len().min(self.0).min(1000);
            buf[..n].fill(0);
            self.0 -= n;
            Ok(n)
        }
    }
    let a = capgo_set("set-a-small");
    let key = PublicKey::from_pem(&a.public_pem).unwrap();
    let trust = BundleTrust {
        public_key: Some(&key),
        session_key: Some(&a.session_key),
        checksum: &a.checksum,
    };
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("b");
    let e = unpack(Failing(5000), &trust, &dest, &ExtractOptions::default()).unwrap_err();
    assert!(e.to_string().contains("reading"), "{e}");
    assert_nothing_left(tmp.path(), &dest);
}

#[test]
fn deep_long_and_control_character_names_are_refused_before_planning_them() {
    // 16,000 segments in a 32 KB name used to cost gigabytes of ancestor paths and abort.
    let deep = "a/".repeat(16_000) + "x.js";
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (deep.into_bytes(), "longer than 1024 bytes"),
        (
            ("d/".repeat(65) + "x.js").into_bytes(),
            "deeper than 64 folders",
        ),
        (
            ("n".repeat(256) + ".js").into_bytes(),
            "segment longer than 255 bytes",
        ),
        (b"evil\x1b[2Jname.js".to_vec(), "control character"),
        (b"line\nbreak.js".to_vec(), "control character"),
    ];
    for (name, reason) in cases {
        let zip = with_index(vec![RawEntry {
            name: name.clone(),
            data: b"x".to_vec(),
            mode: 0o100644,
        }]);
        let e = refuse_encrypted(&zip, &ExtractOptions::default());
        assert!(e.contains(reason), "{e:?} should say {reason:?}");
        // The refusal never echoes raw control characters to a terminal.
        assert!(!e.contains('\x1b') && !e.contains('\n'), "{e:?}");
    }
    // 64 levels are fine, and a bundle with many files deep down is planned in linear time.
    let mut entries: Vec<RawEntry> = (0..800)
        .map(|i| RawEntry::file(&format!("{}f{i}.js", "d/".repeat(63)), b"x"))
        .collect();
    entries.push(RawEntry::file("index.html", b"<html>"));
    let tmp = tempfile::tempdir().unwrap();
    let (public, private) = key_a();
    let (cipher, session, checksum) = Encryptor::new(&private).encrypt(
        &raw_zip(&entries),
        &[7; 16],
        &[8; 16],
        ChecksumVersion::V3,
    );
    let key = PublicKey::from_pem(&public).unwrap();
    let trust = BundleTrust {
        public_key: Some(&key),
        session_key: Some(&session),
        checksum: &checksum,
    };
    let r = unpack(
        &cipher[..],
        &trust,
        &tmp.path().join("b"),
        &ExtractOptions::default(),
    )
    .unwrap();
    assert_eq!(r.files, 801);
}

#[test]
fn names_colliding_on_case_insensitive_or_normalising_file_systems_are_refused() {
    let cases = vec![
        vec![RawEntry::file("A.js", b"a"), RawEntry::file("a.js", b"b")],
        // NFC (é precomposed) and NFD (e + combining acute) spell the same name on APFS/HFS+.
        vec![
            RawEntry::file("caf\u{e9}.js", b"a"),
            RawEntry::file("cafe\u{301}.js", b"b"),
        ],
        vec![
            RawEntry::file("Assets/x.js", b"a"),
            RawEntry::file("assets/y.js", b"b"),
        ],
        vec![RawEntry::dir("IMG/"), RawEntry::file("img/logo.png", b"b")],
        vec![RawEntry::file("INDEX.HTML", b"again")],
    ];
    for entries in cases {
        let names: Vec<String> = entries
            .iter()
            .map(|e| String::from_utf8_lossy(&e.name).into_owned())
            .collect();
        let e = refuse_encrypted(&with_index(entries), &ExtractOptions::default());
        assert!(
            e.contains("case-insensitive or normalising"),
            "{names:?}: {e}"
        );
    }
}

/// A stored zip whose `big.bin` declares `declared` bytes through a zip64 extra field (in the
/// local header and the central directory) while holding only `data`; `index.html` first.
fn zip64_liar(data: &[u8], declared: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    let entries: [(&[u8], &[u8], bool); 2] =
        [(b"index.html", b"<html>", false), (b"big.bin", data, true)];
    for (name, body, big) in entries {
        let offset = out.len() as u32;
        let crc = crc32(body);
        let (size32, extra): (u32, Vec<u8>) = if big {
            let mut x = Vec::new();
            x.extend(1u16.to_le_bytes());
            x.extend(16u16.to_le_bytes());
            x.extend(declared.to_le_bytes()); // uncompressed
            x.extend(declared.to_le_bytes()); // compressed (stored)
            (u32::MAX, x)
        } else {
            (body.len() as u32, Vec::new())
        };
        let version: u16 = if big { 45 } else { 20 };
        out.extend(0x0403_4b50u32.to_le_bytes());
        out.extend(version.to_le_bytes());
        out.extend(0x0800u16.to_le_bytes());
        out.extend(0u16.to_le_bytes());
        out.extend(0u16.to_le_bytes());
        out.extend(0x5A21u16.to_le_bytes());
        out.extend(crc.to_le_bytes());
        out.extend(size32.to_le_bytes());
        out.extend(size32.to_le_bytes());
        out.extend((name.len() as u16).to_le_bytes());
        out.extend((extra.len() as u16).to_le_bytes());
        out.extend(name);
        out.extend(&extra);
        out.extend(body);
        central.extend(0x0201_4b50u32.to_le_bytes());
        central.extend(((3u16 << 8) | version).to_le_bytes());
        central.extend(version.to_le_bytes());
        central.extend(0x0800u16.to_le_bytes());
        central.extend(0u16.to_le_bytes());
        central.extend(0u16.to_le_bytes());
        central.extend(0x5A21u16.to_le_bytes());
        central.extend(crc.to_le_bytes());
        central.extend(size32.to_le_bytes());
        central.extend(size32.to_le_bytes());
        central.extend((name.len() as u16).to_le_bytes());
        central.extend((extra.len() as u16).to_le_bytes());
        central.extend(0u16.to_le_bytes());
        central.extend(0u16.to_le_bytes());
        central.extend(0u16.to_le_bytes());
        central.extend((0o100644u32 << 16).to_le_bytes());
        central.extend(offset.to_le_bytes());
        central.extend(name);
        central.extend(&extra);
    }
    let cd_offset = out.len() as u32;
    let cd_len = central.len() as u32;
    out.extend(&central);
    out.extend(0x0605_4b50u32.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out.extend(2u16.to_le_bytes());
    out.extend(2u16.to_le_bytes());
    out.extend(cd_len.to_le_bytes());
    out.extend(cd_offset.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out
}

#[test]
fn declared_sizes_beyond_4_gib_are_refused_with_their_real_value_on_every_cpu() {
    // 5 GiB + 16 bytes declared: on a 32-bit CPU a wrapped length would read as 16 bytes (under
    // every limit) — the refusal must name the real figure, and nothing may be written.
    let declared: u64 = (5 << 30) + 16;
    let zip = zip64_liar(&[0u8; 16], declared);
    let e = refuse_with(
        &zip,
        None,
        None,
        &sha256_hex(&zip),
        &ExtractOptions::default(),
    );
    assert!(e.contains("limit exceeded"), "{e}");
    // The real total (5 GiB + 16 bytes and index.html's 6), not a wrapped one.
    assert!(
        e.contains(&(declared + 6).to_string()),
        "the real size is named: {e}"
    );
    // With the byte limit raised beyond 4 GiB the archive is still refused (its data is 16
    // bytes, not 5 GiB): a clear error and, as refuse_with checks, nothing written.
    let options = ExtractOptions {
        limits: Limits {
            max_bytes: 8 << 30,
            max_files: 100,
        },
        ..ExtractOptions::default()
    };
    let e = refuse_with(&zip, None, None, &sha256_hex(&zip), &options);
    assert!(e.contains("bad zip") || e.contains("limit exceeded"), "{e}");
}
