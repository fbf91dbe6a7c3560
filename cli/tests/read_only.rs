//! A read-only data folder through the command line: `status`, `launch` and a whole `session` start the app on its builtin bundle instead of failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use liveupdate_test_support::*;

/// A tmpfs mounted by the test and then made read-only (root cannot write through a read-only
/// mount, whatever the permission bits say). `None` where mounting is not possible.
struct ReadOnlyMount(PathBuf);

impl ReadOnlyMount {
    fn mount(at: &Path) -> Option<Self> {
        fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64m", "tmpfs"])
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Self(at.to_path_buf()))
    }

    fn read_only(&self) {
        let ok = Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(ok.success());
    }
}

impl Drop for ReadOnlyMount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn device(data: &Path, www: &Path, args: &[&str]) -> Output {
    cli_command(env!("CARGO_BIN_EXE_liveupdate"))
        .args(["device", "--data-dir"])
        .arg(data)
        .arg("--builtin")
        .arg(www)
        .args(["--native-version", "1"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn first_json(out: &Output) -> serde_json::Value {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().next().unwrap()).unwrap()
}

#[test]
fn a_read_only_data_folder_starts_the_app_on_builtin_from_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let www = tmp.path().join("www");
    fs::create_dir(&www).unwrap();
    fs::write(www.join("index.html"), "<html>builtin</html>").unwrap();
    let data = tmp.path().join("data");
    let Some(mount) = ReadOnlyMount::mount(&data) else {
        eprintln!("skipped: cannot mount a tmpfs here (needs root, as on CI)");
        return;
    };
    // A bundle installed and queued while the folder was writable.
    let zip = capgo_set("set-a-small").plain_zip;
    let sha = sha256_hex(&fs::read(&zip).unwrap());
    let out = device(
        &data,
        &www,
        &[
            "install",
            "--in",
            zip.to_str().unwrap(),
            "--version",
            "1.0.1",
            "--checksum",
            &sha,
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = first_json(&out)["bundle"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let out = device(&data, &www, &["next", &id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    mount.read_only();
    for cmd in ["status", "launch", "session"] {
        let out = device(&data, &www, &[cmd]);
        assert!(
            out.status.success(),
            "{cmd}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let first = first_json(&out);
        let bundle = if cmd == "status" {
            &first["current"]
        } else {
            &first["bundle"]
        };
        assert_eq!(bundle["id"], "builtin", "{cmd}: {first}");
    }
}
