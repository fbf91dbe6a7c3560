//! The `liveupdate` command line, run as a real process: exact interface, JSON output, `error:` lines, exit codes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Output;

use liveupdate_test_support::*;

fn liveupdate(args: &[&str]) -> Output {
    cli_command(env!("CARGO_BIN_EXE_liveupdate"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn unpack_json_success() {
    let set = capgo_set("set-b-large");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = liveupdate(&[
        "unpack",
        "--in",
        set.encrypted_zip.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--public-key",
        set.dir.join("capgo_key_v2.pub").to_str().unwrap(),
        "--session-key",
        &set.session_key,
        "--checksum",
        &set.checksum,
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8(o.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["files"], 7);
    assert_eq!(v["bytes"], 5_245_333);
    assert_eq!(v["sha256"], set.sha256.as_str());
    assert_eq!(v["checksum_format"], "v3");
    assert!(out.join("assets/big/blob.bin").is_file());
    assert_eq!(names_in(tmp.path()), vec!["out"]);
}

#[test]
fn unpack_plain_zip_and_key_id() {
    let set = capgo_set("set-a-small");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = liveupdate(&[
        "unpack",
        "--in",
        set.plain_zip.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--checksum",
        &set.sha256,
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["checksum_format"], "plain");

    let o = liveupdate(&[
        "key-id",
        "--public-key",
        set.dir.join("capgo_key_v2.pub").to_str().unwrap(),
    ]);
    assert!(o.status.success());
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        "MIIBCgKCAQEApY7EX2bX\n"
    );
}

#[test]
fn failures_print_one_error_line_and_leave_nothing() {
    let set = capgo_set("set-a-small");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let pub_path = set.dir.join("capgo_key_v2.pub");
    let priv_path = set.dir.join("capgo_key_v2");
    let other = capgo_set("set-b-large");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "--checksum",
                &other.checksum,
                "--public-key",
                pub_path.to_str().unwrap(),
                "--session-key",
                &set.session_key,
            ],
            "checksum mismatch",
        ),
        (
            vec![
                "--checksum",
                &set.checksum,
                "--public-key",
                pub_path.to_str().unwrap(),
                "--session-key",
                "nope",
            ],
            "bad session key",
        ),
        (
            vec![
                "--checksum",
                &set.checksum,
                "--public-key",
                priv_path.to_str().unwrap(),
                "--session-key",
                &set.session_key,
            ],
            "bad public key",
        ),
        (vec!["--checksum", "4f4b3f1d"], "CRC-32"),
        (
            vec![
                "--checksum",
                &set.checksum,
                "--public-key",
                pub_path.to_str().unwrap(),
                "--session-key",
                &set.session_key,
                "--max-bytes",
                "100",
            ],
            "limit exceeded",
        ),
        (
            vec![
                "--checksum",
                &set.checksum,
                "--public-key",
                pub_path.to_str().unwrap(),
                "--session-key",
                &set.session_key,
                "--max-files",
                "2",
            ],
            "limit exceeded",
        ),
    ];
    for (extra, needle) in cases {
        let mut args = vec![
            "unpack",
            "--in",
            set.encrypted_zip.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(extra);
        let o = liveupdate(&args);
        assert_eq!(o.status.code(), Some(1), "{needle}");
        let stderr = String::from_utf8(o.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with("error: "), "{stderr}");
        assert!(
            stderr.contains(needle),
            "{stderr:?} should contain {needle:?}"
        );
        assert!(o.stdout.is_empty());
        assert!(
            names_in(tmp.path()).is_empty(),
            "leftovers: {:?}",
            names_in(tmp.path())
        );
    }
    // A missing input file.
    let o = liveupdate(&[
        "unpack",
        "--in",
        "/nonexistent/bundle.zip",
        "--out",
        out.to_str().unwrap(),
        "--checksum",
        &set.sha256,
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).starts_with("error: "));
    assert!(names_in(tmp.path()).is_empty());
}

#[test]
fn every_command_has_help() {
    for args in [
        vec!["--help"],
        vec!["unpack", "--help"],
        vec!["key-id", "--help"],
        vec!["demo", "--help"],
    ] {
        let o = liveupdate(&args);
        assert!(o.status.success());
        assert!(String::from_utf8_lossy(&o.stdout).contains("Usage:"));
    }
    let o = liveupdate(&["unpack", "--help"]);
    let help = String::from_utf8(o.stdout).unwrap();
    for flag in [
        "--in",
        "--out",
        "--public-key",
        "--session-key",
        "--checksum",
        "--max-bytes",
        "--max-files",
        "--json",
    ] {
        assert!(help.contains(flag), "{flag} missing from help");
    }
}

#[test]
fn demo_runs_on_the_embedded_bundle() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("demo");
    let o = liveupdate(&["demo", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("is now `success`"), "{stdout}");
    assert!(stdout.contains("download_complete"), "{stdout}");
    assert!(out.join("app/www/index.html").is_file());
}
