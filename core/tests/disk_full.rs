//! Disk-full behaviour on a real small filesystem (a tmpfs mounted by the test; needs root, as on
//! CI): installs and state writes end in a clean error, the current bundle stays intact, and the
//! space is given back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use liveupdate::{BundleInfo, Engine, EngineOptions, LiveUpdateError, NoHost};
use liveupdate_test_support::*;

/// A tmpfs of `mib` MiB, unmounted on drop.
struct SmallFs {
    _tmp: tempfile::TempDir,
    path: PathBuf,
}

impl SmallFs {
    fn mount(mib: u32) -> Option<Self> {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("fs");
        fs::create_dir(&path).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(&path)
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Self { _tmp: tmp, path })
    }

    fn free(&self) -> u64 {
        available_space(&self.path)
    }

    /// Fills the filesystem until fewer than `leave` bytes are free.
    fn fill(&self, leave: u64) -> PathBuf {
        let filler = self.path.join("filler");
        let mut f = fs::File::create(&filler).unwrap();
        let chunk = vec![1u8; 64 * 1024];
        while self.free() > leave {
            use std::io::Write;
            if f.write_all(&chunk).is_err() {
                break;
            }
            let _ = f.sync_all();
        }
        filler
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.path).status();
    }
}

fn used(p: &Path) -> u64 {
    let mut total = 0;
    for e in fs::read_dir(p).unwrap().flatten() {
        let m = e.metadata().unwrap();
        total += if m.is_dir() { used(&e.path()) } else { m.len() };
    }
    total
}

fn www(root: &Path) -> PathBuf {
    let www = root.join("www");
    fs::create_dir_all(&www).unwrap();
    fs::write(www.join("index.html"), "<html>builtin</html>").unwrap();
    www
}

#[test]
fn full_disk_fails_cleanly_and_keeps_the_current_bundle() {
    let Some(small) = SmallFs::mount(24) else {
        eprintln!("skipped: mounting a tmpfs needs root (CI runs as root)");
        return;
    };
    let www = www(small.path.parent().unwrap());
    let data = small.path.join("data");
    let mut options = EngineOptions::new(&data, &www);
    options.app.native_version = Some("1".into());
    let d = Engine::open(options, Arc::new(NoHost)).unwrap();
    // Bundle files come from another file system, as a download's would not: only the install's
    // own writes land on the small one.
    let files = tempfile::tempdir().unwrap();
    let install = |zip: &[u8], version: &str| -> Result<BundleInfo, LiveUpdateError> {
        let path = files.path().join(format!("{version}.zip"));
        fs::write(&path, zip).unwrap();
        d.install_file(&path, version, &sha256_hex(zip), None)
    };
    let zip = fs::read(capgo_set("set-a-small").plain_zip).unwrap();
    let good = install(&zip, "1.0.0").unwrap();
    d.next(&good.id).unwrap();
    let l = d.launch().unwrap();
    d.notify_app_ready(&l.launch_id).unwrap();
    let before = used(&data);

    // 1. Not enough room for a big bundle: refused before writing, nothing changes.
    let big: Vec<u8> = (0..30u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let big_zip = writer_zip(
        &[("index.html", b"<html>"), ("big.bin", &big)],
        ZipStyle::Stored,
    );
    let e = install(&big_zip, "2.0.0").unwrap_err();
    assert!(matches!(e, LiveUpdateError::Storage { .. }), "{e}");
    assert!(e.to_string().contains("space"), "{e}");
    assert_eq!(used(&data), before, "space given back");

    // 2. A bundle that fits the estimate but not the disk: the extraction hits ENOSPC.
    let filler = small.fill(18 << 20);
    let room = small.free();
    let tight: Vec<u8> = (0..(room as u32))
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let tight_zip = writer_zip(
        &[("index.html", b"<html>"), ("tight.bin", &tight)],
        ZipStyle::CapgoLike,
    );
    let e = install(&tight_zip, "3.0.0").unwrap_err();
    assert!(
        matches!(e, LiveUpdateError::Storage { .. }),
        "expected a disk error, got {e}"
    );
    assert_eq!(used(&data), before, "partial install removed");

    // 3. No room at all: even the state file cannot be written; the error is clean and the
    //    previous state file is intact.
    fs::remove_file(&filler).unwrap();
    let filler = small.fill(0);
    let e = d
        .next(&good.id)
        .map(|_| ())
        .and_then(|_| d.reset(false).map(|_| ()));
    assert!(e.is_err(), "a state write on a full disk must fail");
    fs::remove_file(&filler).unwrap();
    let l = d.launch().unwrap();
    assert_eq!(l.bundle.id, good.id, "the confirmed bundle is still served");
    assert_eq!(hash_dir(&l.web_root), hash_dir(&l.web_root));
    assert!(l.web_root.join("index.html").is_file());
    assert!(
        !names_in(&data).iter().any(|n| n.contains(".tmp-")),
        "temp files swept: {:?}",
        names_in(&data)
    );
}

fn hash_dir(p: &Path) -> Vec<(String, Option<String>)> {
    tree(p)
        .into_iter()
        .map(|(n, c)| (n, c.map(|c| sha256_hex(&c))))
        .collect()
}
