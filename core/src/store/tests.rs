//! The store's transitions (install, next, set, launch, ready, rollback, delete, reset, sweeps) on a real filesystem in temp folders.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::PathBuf;

use crate::bundle::crypto::PublicKey;
use crate::config::Config as UpdaterConfig;
use crate::error::Error;
use crate::store::BundleStore as Device;
use crate::store::state::BundleStatus;
use liveupdate_test_support::*;

struct App {
    _tmp: tempfile::TempDir,
    data: PathBuf,
    www: PathBuf,
    zip: Vec<u8>,
}

impl App {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let www = tmp.path().join("www");
        fs::create_dir(&www).unwrap();
        fs::write(www.join("index.html"), "<html>builtin</html>").unwrap();
        let zip = fs::read(capgo_set("set-a-small").plain_zip).unwrap();
        Self {
            data: tmp.path().join("data"),
            www,
            zip,
            _tmp: tmp,
        }
    }

    fn device(&self, config: UpdaterConfig, native: &str) -> Device {
        Device::new(&self.data, &self.www, config, Some(native.into())).unwrap()
    }

    fn install(&self, d: &Device, version: &str) -> String {
        let sha = sha256_hex(&self.zip);
        d.install_from(
            self.zip.as_slice(),
            self.zip.len() as u64,
            version,
            &sha,
            None,
        )
        .unwrap()
        .id
    }

    fn bundle_dirs(&self) -> Vec<String> {
        names_in(&self.data.join("bundles"))
    }
}

fn cfg() -> UpdaterConfig {
    UpdaterConfig::default()
}

/// Queues `id`, launches it and confirms it (the healthy-app path).
fn confirm(d: &Device, id: &str) {
    d.next(id).unwrap();
    d.notify_app_ready(&d.launch_with(true).unwrap().launch_id)
        .unwrap();
}

fn status_of(d: &Device, id: &str) -> BundleStatus {
    d.status()
        .unwrap()
        .bundles
        .into_iter()
        .find(|b| b.id == id)
        .map(|b| b.status)
        .unwrap_or(BundleStatus::Deleted)
}

#[test]
fn unconfirmed_launch_then_relaunch_rolls_back_and_remembers_bad() {
    let app = App::new();
    let d = app.device(cfg(), "1");
    let id = app.install(&d, "1.0.1");
    assert_eq!(status_of(&d, &id), BundleStatus::Pending);
    d.next(&id).unwrap();
    let l1 = d.launch_with(true).unwrap();
    assert!(l1.applied_next);
    assert_eq!(l1.bundle.id, id);
    assert_eq!(
        l1.web_root,
        fs::canonicalize(&app.data)
            .unwrap()
            .join("bundles")
            .join(&id)
    );
    assert!(l1.web_root.join("index.html").is_file());
    // The process dies without notify_app_ready; the next start rolls back.
    let l2 = d.launch_with(true).unwrap();
    assert_eq!(l2.bundle.id, "builtin");
    assert_eq!(l2.web_root, fs::canonicalize(&app.www).unwrap());
    let rb = l2.rolled_back.unwrap();
    assert_eq!(
        (rb.failed.as_str(), rb.to.as_str()),
        (id.as_str(), "builtin")
    );
    assert_eq!(status_of(&d, &id), BundleStatus::Error);
    assert!(d.is_known_bad("1.0.1", &sha256_hex(&app.zip)).unwrap());
    // autoDeleteFailed (default): files gone, record kept as error.
    assert!(app.bundle_dirs().is_empty());
    // The old launch id cannot resurrect it.
    let r = d.notify_app_ready(&l1.launch_id).unwrap();
    assert!(!r.accepted);
    assert_eq!(status_of(&d, &id), BundleStatus::Error);
    // And it cannot be queued again.
    assert!(matches!(d.next(&id), Err(Error::Refused { .. })));
}

#[test]
fn confirmed_launch_stays_and_becomes_fallback() {
    let app = App::new();
    let d = app.device(cfg(), "1");
    let a = app.install(&d, "1.0.1");
    d.next(&a).unwrap();
    let l = d.launch_with(true).unwrap();
    let r = d.notify_app_ready(&l.launch_id).unwrap();
    assert!(r.accepted);
    assert_eq!(r.bundle.status, BundleStatus::Success);
    for _ in 0..3 {
        let l = d.launch_with(true).unwrap();
        assert_eq!(l.bundle.id, a);
        assert!(l.rolled_back.is_none());
    }
    let s = d.status().unwrap();
    assert_eq!(
        (s.current.id.as_str(), s.fallback.id.as_str()),
        (a.as_str(), a.as_str())
    );

    // A second bundle that never confirms goes back to the first, not to builtin.
    let b = app.install(&d, "1.0.2");
    d.next(&b).unwrap();
    assert_eq!(d.launch_with(true).unwrap().bundle.id, b);
    let l = d.launch_with(true).unwrap();
    assert_eq!(l.bundle.id, a);
    assert_eq!(status_of(&d, &b), BundleStatus::Error);
}

#[test]
fn auto_delete_previous_and_failed_can_be_turned_off() {
    let app = App::new();
    let d = app.device(cfg(), "1");
    let a = app.install(&d, "1");
    confirm(&d, &a);
    let b = app.install(&d, "2");
    confirm(&d, &b);
    assert_eq!(
        status_of(&d, &a),
        BundleStatus::Deleted,
        "previous fallback deleted"
    );
    assert_eq!(app.bundle_dirs(), vec![b.clone()]);

    let app = App::new();
    let mut c = cfg();
    c.auto_delete_previous = false;
    c.auto_delete_failed = false;
    let d = app.device(c, "1");
    let a = app.install(&d, "1");
    confirm(&d, &a);
    let b = app.install(&d, "2");
    confirm(&d, &b);
    assert_eq!(status_of(&d, &a), BundleStatus::Success);
    let x = app.install(&d, "3");
    d.next(&x).unwrap();
    d.launch_with(true).unwrap();
    assert_eq!(d.launch_with(true).unwrap().bundle.id, b);
    assert_eq!(status_of(&d, &x), BundleStatus::Error);
    let mut dirs = app.bundle_dirs();
    dirs.sort();
    let mut want = vec![a, b, x];
    want.sort();
    assert_eq!(dirs, want, "failed bundle files kept");
}

#[test]
fn native_version_change_resets_to_builtin_unless_disabled() {
    let app = App::new();
    let d = app.device(cfg(), "1");
    let a = app.install(&d, "1");
    confirm(&d, &a);
    // Same version: nothing happens.
    assert_eq!(
        app.device(cfg(), "1").launch_with(true).unwrap().bundle.id,
        a
    );
    let d2 = app.device(cfg(), "2");
    let l = d2.launch_with(true).unwrap();
    assert_eq!(l.bundle.id, "builtin");
    assert!(app.bundle_dirs().is_empty());
    assert!(d2.status().unwrap().bundles.is_empty());

    let app = App::new();
    let mut keep = cfg();
    keep.reset_when_update = false;
    let d = app.device(keep.clone(), "1");
    let a = app.install(&d, "1");
    confirm(&d, &a);
    assert_eq!(
        app.device(keep, "2").launch_with(true).unwrap().bundle.id,
        a
    );
}

#[test]
fn stale_launch_id_does_not_credit_a_newer_bundle() {
    let app = App::new();
    let d = app.device(cfg(), "1");
    let a = app.install(&d, "1");
    d.next(&a).unwrap();
    let old = d.launch_with(true).unwrap();
    let b = app.install(&d, "2");
    d.next(&b).unwrap();
    assert_eq!(d.on_background().unwrap().id, b);
    let new = d.launch_with(true).unwrap();
    assert_eq!(new.bundle.id, b);
    // The old page's late notifyAppReady (Capgo #907) is ignored.
    assert!(!d.notify_app_ready(&old.launch_id).unwrap().accepted);
    assert!(!d.notify_app_ready("made-up").unwrap().accepted);
    assert_eq!(status_of(&d, &b), BundleStatus::Pending);
    assert!(d.notify_app_ready(&new.launch_id).unwrap().accepted);
    assert_eq!(status_of(&d, &b), BundleStatus::Success);
}

#[test]
fn delete_refuses_bundles_in_use_and_leaves_a_tombstone() {
    let app = App::new();
    let d = app.device(cfg(), "1");
    let a = app.install(&d, "1");
    let b = app.install(&d, "2");
    let c = app.install(&d, "3");
    confirm(&d, &a);
    d.next(&b).unwrap();
    let refused = |id: &str| match d.delete(id) {
        Err(Error::Refused { detail, .. }) => detail,
        other => panic!("{id}: {other:?}"),
    };
    assert!(refused("builtin").contains("builtin"));
    assert!(refused(&a).contains("current"));
    assert!(refused(&b).contains("next"));
    assert!(refused("nope").contains("unknown"));
    let gone = d.delete(&c).unwrap();
    assert_eq!(gone.status, BundleStatus::Deleted);
    assert!(!app.bundle_dirs().contains(&c));
    assert!(d.status().unwrap().bundles.iter().all(|x| x.id != c));
    // Fallback is protected too.
    d.set(&b).unwrap();
    assert!(refused(&a).contains("fallback"));
}

#[test]
fn reset_and_set_bundle_error() {
    let app = App::new();
    let d = app.device(cfg(), "1");
    let a = app.install(&d, "1");
    confirm(&d, &a);
    let b = app.install(&d, "2");
    d.set(&b).unwrap();
    assert_eq!(d.reset(true).unwrap().id, a);
    d.set(&b).unwrap();
    assert_eq!(d.reset(false).unwrap().id, "builtin");
    assert_eq!(d.status().unwrap().fallback.id, "builtin");
    // Marking the current bundle failed serves the fallback (builtin now) at once.
    d.set(&b).unwrap();
    let e = d.set_bundle_error(&b).unwrap();
    assert_eq!(e.status, BundleStatus::Error);
    assert_eq!(d.status().unwrap().current.id, "builtin");
    assert!(matches!(
        d.set_bundle_error("builtin"),
        Err(Error::Refused { .. })
    ));
}

#[test]
fn app_ready_timeout_rolls_back_in_process() {
    let app = App::new();
    let mut c = cfg();
    c.app_ready_timeout_ms = 1000;
    let d = app.device(c, "1");
    let a = app.install(&d, "1");
    d.next(&a).unwrap();
    let l = d.launch_with(true).unwrap();
    assert_eq!(
        d.check_app_ready_timeout(&l.launch_id).unwrap(),
        None,
        "not yet"
    );
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let r = d.check_app_ready_timeout(&l.launch_id).unwrap().unwrap();
    assert_eq!(r.to, "builtin");
    assert_eq!(d.status().unwrap().current.id, "builtin");
    assert_eq!(status_of(&d, &a), BundleStatus::Error);
}

#[test]
fn stored_bundles_are_capped() {
    let app = App::new();
    let mut c = cfg();
    c.max_stored_bundles = 2;
    let d = app.device(c, "1");
    let ids: Vec<String> = (0..5)
        .map(|i| app.install(&d, &format!("1.0.{i}")))
        .collect();
    assert_eq!(app.bundle_dirs().len(), 2);
    let dirs = app.bundle_dirs();
    assert!(
        dirs.contains(&ids[3]) && dirs.contains(&ids[4]),
        "newest kept: {dirs:?}"
    );
}

#[test]
fn failed_install_leaves_no_record_and_no_folder() {
    let app = App::new();
    let d = app.device(cfg(), "1");
    let wrong = "0".repeat(64);
    let e = d
        .install_from(app.zip.as_slice(), 10, "1", &wrong, None)
        .unwrap_err();
    assert!(e.to_string().contains("checksum mismatch"), "{e}");
    assert!(d.status().unwrap().bundles.is_empty());
    assert!(app.bundle_dirs().is_empty());
    // Encrypted app: a missing session key is refused before anything is written.
    let mut c = cfg();
    c.public_key = Some(PublicKey::from_pem(&key_a().0).unwrap());
    let d = app.device(c, "1");
    let e = d
        .install_from(
            app.zip.as_slice(),
            10,
            "1",
            &capgo_set("set-a-small").checksum,
            None,
        )
        .unwrap_err();
    assert!(e.to_string().contains("session_key_required"), "{e}");
}

#[test]
fn leftovers_of_interrupted_steps_are_swept_at_launch() {
    let app = App::new();
    let d = app.device(cfg(), "1");
    let a = app.install(&d, "1");
    let b = app.install(&d, "2");
    let bundles = app.data.join("bundles");
    // An interrupted extraction, an orphan folder, a stray temp state file.
    fs::create_dir_all(bundles.join(".Xyz.staging-abc/root")).unwrap();
    fs::create_dir_all(bundles.join("Orphan1234")).unwrap();
    fs::write(bundles.join("Orphan1234/index.html"), "x").unwrap();
    fs::write(app.data.join(".state.json.tmp-zzzz"), "partial").unwrap();
    // An interrupted delete: status `deleting` with half its files.
    let state_path = app.data.join("state.json");
    let mut state: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&state_path).unwrap()).unwrap();
    state["bundles"][&b]["status"] = "deleting".into();
    fs::write(&state_path, serde_json::to_vec(&state).unwrap()).unwrap();
    fs::remove_file(bundles.join(&b).join("index.html")).unwrap();

    d.launch_with(true).unwrap();
    assert_eq!(app.bundle_dirs(), vec![a.clone()]);
    assert_eq!(status_of(&d, &b), BundleStatus::Deleted);
    assert!(!app.data.join(".state.json.tmp-zzzz").exists());
}

#[test]
fn unreadable_state_falls_back_to_builtin_and_newer_state_is_refused() {
    let app = App::new();
    let d = app.device(cfg(), "1");
    let a = app.install(&d, "1");
    confirm(&d, &a);
    fs::write(app.data.join("state.json"), b"\0\0garbage").unwrap();
    let l = d.launch_with(true).unwrap();
    assert_eq!(l.bundle.id, "builtin");
    assert!(app.bundle_dirs().is_empty(), "orphaned bundle swept");
    assert!(
        names_in(&app.data)
            .iter()
            .any(|n| n.starts_with("state.json.corrupt-"))
    );

    fs::write(
        app.data.join("state.json"),
        br#"{"format": 7, "future": true}"#,
    )
    .unwrap();
    let e = d.launch_with(true).unwrap_err();
    assert!(matches!(e, Error::StateFormat(_)), "{e}");
    assert!(
        fs::read_to_string(app.data.join("state.json"))
            .unwrap()
            .contains("future")
    );
}

#[test]
fn concurrent_processes_serialise_on_the_lock() {
    let app = App::new();
    let d = app.device(cfg(), "1");
    std::thread::scope(|s| {
        for i in 0..4 {
            let (d, app) = (&d, &app);
            s.spawn(move || {
                app.install(d, &format!("2.0.{i}"));
                d.launch_with(true).unwrap();
            });
        }
    });
    let st = d.status().unwrap();
    assert_eq!(st.bundles.len(), 4);
    assert_eq!(app.bundle_dirs().len(), 4);
}

#[test]
fn builtin_folder_must_exist() {
    let tmp = tempfile::tempdir().unwrap();
    let e = Device::new(tmp.path(), &tmp.path().join("missing"), cfg(), None).unwrap_err();
    assert!(e.to_string().contains("builtin"), "{e}");
}

#[test]
fn key_rotation_accepts_bundles_signed_by_any_trusted_key() {
    let app = App::new();
    let a = capgo_set("set-a-small");
    let (new_pub, new_priv) = test_key("rsa3072");
    let config = UpdaterConfig::from_capacitor_json(
        &serde_json::json!({"plugins": {"CapacitorUpdater": {"publicKeys": [new_pub, a.public_pem]}}})
            .to_string(),
    )
    .unwrap();
    assert_eq!(
        config.public_key.as_ref().unwrap().key_id(),
        PublicKey::from_pem(&new_pub).unwrap().key_id(),
        "the first key is the one whose key_id goes to the server"
    );
    assert_eq!(config.extra_public_keys.len(), 1);
    let d = app.device(config, "1");
    // A bundle made with the old key (A) still installs...
    let old = fs::read(&a.encrypted_zip).unwrap();
    d.install_from(
        old.as_slice(),
        old.len() as u64,
        "1.0.0",
        &a.checksum,
        Some(&a.session_key),
    )
    .unwrap();
    // ...and one made with the new key.
    let (cipher, session, checksum) =
        Encryptor::new(&new_priv).encrypt(&app.zip, &[1; 16], &[2; 16], ChecksumVersion::V3);
    d.install_from(
        cipher.as_slice(),
        cipher.len() as u64,
        "1.0.1",
        &checksum,
        Some(&session),
    )
    .unwrap();
    // Session key from one key and checksum from the other: refused.
    let e = d
        .install_from(
            old.as_slice(),
            old.len() as u64,
            "1.0.2",
            &checksum,
            Some(&a.session_key),
        )
        .unwrap_err();
    assert!(e.to_string().starts_with("bad"), "{e}");
    // With only the new key, the old bundle is refused.
    let only_new = UpdaterConfig {
        public_key: Some(PublicKey::from_pem(&new_pub).unwrap()),
        ..UpdaterConfig::default()
    };
    let d2 = app.device(only_new, "1");
    let e = d2
        .install_from(
            old.as_slice(),
            old.len() as u64,
            "1.0.3",
            &a.checksum,
            Some(&a.session_key),
        )
        .unwrap_err();
    assert!(e.to_string().starts_with("bad session key"), "{e}");
}

#[test]
fn downgrade_policy_refuses_older_than_highest_success_and_survives_restarts() {
    let app = App::new();
    let refuse = UpdaterConfig::from_capacitor_json(
        r#"{"plugins":{"CapacitorUpdater":{"downgradePolicy":"refuse"}}}"#,
    )
    .unwrap();
    let d = app.device(refuse.clone(), "1");
    let b2 = app.install(&d, "2.0.0");
    confirm(&d, &b2);
    let sha = sha256_hex(&app.zip);
    let e = d
        .install_from(app.zip.as_slice(), 10, "1.9.9", &sha, None)
        .unwrap_err();
    assert!(e.to_string().contains("downgrade refused"), "{e}");
    // A new process (new Device) still remembers 2.0.0.
    let d2 = app.device(refuse, "1");
    assert!(d2.is_downgrade_refused("1.0.0").unwrap());
    assert!(!d2.is_downgrade_refused("2.0.1").unwrap());
    // Fail closed: labels that cannot be ordered are refused while the policy is on.
    for label in ["1.0.0.0", "1.0.0 (old build)", "latest", "2.0.0.1"] {
        assert!(d2.is_downgrade_refused(label).unwrap(), "{label}");
        let e = d2
            .install_from(app.zip.as_slice(), 10, label, &sha, None)
            .unwrap_err();
        assert!(e.to_string().contains("cannot be ordered"), "{e}");
    }
    // SemVer 2.0 precedence for pre-releases, not string order.
    assert!(d2.is_downgrade_refused("2.0.0-rc.1").unwrap());
    let b3 = app.install(&d2, "3.0.0-beta.9");
    confirm(&d2, &b3);
    assert!(!d2.is_downgrade_refused("3.0.0-beta.10").unwrap());
    assert!(d2.is_downgrade_refused("3.0.0-beta.8").unwrap());
    assert!(d2.is_downgrade_refused("3.0.0-alpha").unwrap());
    app.install(&d2, "3.0.0");
    // The default policy allows the server to revert a release.
    let allow = app.device(UpdaterConfig::default(), "1");
    app.install(&allow, "1.0.0");
    // A value it does not know is a typo: the default ("allow") is used and the key is named
    // in a warning — a config typo never leaves the app without its updater.
    let typo = crate::config::CapacitorConfig::parse(
        r#"{"plugins":{"CapacitorUpdater":{"downgradePolicy":"never"}}}"#,
    )
    .unwrap();
    assert!(!typo.config.refuse_downgrade);
    assert!(
        typo.warnings[0].contains("downgradePolicy"),
        "{:?}",
        typo.warnings
    );
}

#[test]
fn symlinked_data_folders_are_moved_aside_never_deleted_through() {
    let app = App::new();
    let victim = app.data.parent().unwrap().join("victim");
    let victim_downloads = app.data.parent().unwrap().join("victim-downloads");
    let victim_bundle = app.data.parent().unwrap().join("victim-bundle");
    for (dir, file) in [
        (&victim, "orphan-looking-folder/keep.txt"),
        (&victim_downloads, "precious.part"),
        (&victim_bundle, "index.html"),
    ] {
        fs::create_dir_all(dir.join(file).parent().unwrap()).unwrap();
        fs::write(dir.join(file), "keep me").unwrap();
    }
    fs::create_dir_all(&app.data).unwrap();
    std::os::unix::fs::symlink(&victim, app.data.join("bundles")).unwrap();
    std::os::unix::fs::symlink(&victim_downloads, app.data.join("downloads")).unwrap();
    let d = app.device(UpdaterConfig::default(), "1");
    // A launch sweeps bundles/ and downloads/: through a link it would delete the targets.
    let l = d.launch_with(true).unwrap();
    assert_eq!(l.bundle.id, "builtin");
    assert!(victim.join("orphan-looking-folder/keep.txt").is_file());
    assert!(victim_downloads.join("precious.part").is_file());
    let bundles = fs::symlink_metadata(app.data.join("bundles")).unwrap();
    assert!(
        bundles.file_type().is_dir(),
        "a real folder took the link's place"
    );
    let aside: Vec<String> = names_in(&app.data)
        .into_iter()
        .filter(|n| n.contains(".foreign-"))
        .collect();
    assert_eq!(aside.len(), 2, "{aside:?}");
    // A link inside bundles/ (no record claims it) is removed as a link: its target survives.
    std::os::unix::fs::symlink(&victim_bundle, app.data.join("bundles/AbCdEfGhIj")).unwrap();
    d.launch_with(true).unwrap();
    assert!(!app.data.join("bundles/AbCdEfGhIj").exists());
    assert!(victim_bundle.join("index.html").is_file());
    // The store still works.
    let id = app.install(&d, "1.0.1");
    d.set(&id).unwrap();
    assert_eq!(d.launch_with(true).unwrap().bundle.id, id);
}

/// A launch of a confirmed bundle writes nothing durable (the state file is not rewritten): its
/// token lives in a volatile record that a new process still reads; losing that record (a power
/// loss) only forgets the token — the bundle stays current and confirmed. A trial launch is still
/// recorded durably before it is served.
#[test]
fn a_confirmed_launch_writes_nothing_durable() {
    let app = App::new();
    let d = app.device(cfg(), "1");
    let id = app.install(&d, "1.0.1");
    d.set(&id).unwrap();
    let trial = d.launch_with(true).unwrap();
    let state = app.data.join("state.json");
    let booting: serde_json::Value = serde_json::from_slice(&fs::read(&state).unwrap()).unwrap();
    assert_eq!(
        booting["booting"]["launch_id"],
        trial.launch_id.as_str(),
        "a trial launch is durable"
    );
    assert!(d.notify_app_ready(&trial.launch_id).unwrap().accepted);

    let before = fs::read(&state).unwrap();
    let modified = fs::metadata(&state).unwrap().modified().unwrap();
    let l = d.launch_with(true).unwrap();
    assert_eq!(l.bundle.id, id);
    // A new process (a new Device on the same folder) accepts the token; a stale one is refused.
    let other = app.device(cfg(), "1");
    assert!(!other.notify_app_ready(&trial.launch_id).unwrap().accepted);
    assert!(other.notify_app_ready(&l.launch_id).unwrap().accepted);
    assert_eq!(
        fs::read(&state).unwrap(),
        before,
        "the state file was not rewritten"
    );
    assert_eq!(fs::metadata(&state).unwrap().modified().unwrap(), modified);

    // Power loss: the volatile record is gone. The token is forgotten, nothing else.
    let l2 = d.launch_with(true).unwrap();
    fs::remove_file(app.data.join("launch.json")).unwrap();
    let r = d.notify_app_ready(&l2.launch_id).unwrap();
    assert!(!r.accepted);
    assert_eq!(r.bundle.id, id);
    assert_eq!(status_of(&d, &id), BundleStatus::Success);
    assert_eq!(d.launch_with(true).unwrap().bundle.id, id);
    // A torn record is ignored the same way.
    fs::write(app.data.join("launch.json"), b"{\"launch_id\":").unwrap();
    assert_eq!(d.launch_with(true).unwrap().bundle.id, id);
}

#[test]
fn a_state_file_that_is_a_folder_a_pipe_or_huge_is_moved_aside_and_the_app_starts_on_builtin() {
    for kind in ["folder", "pipe", "huge"] {
        let app = App::new();
        let d = app.device(cfg(), "1");
        let id = app.install(&d, "1.0.1");
        confirm(&d, &id);
        let state = app.data.join("state.json");
        fs::remove_file(&state).unwrap();
        match kind {
            "folder" => fs::create_dir(&state).unwrap(),
            "pipe" => assert!(
                std::process::Command::new("mkfifo")
                    .arg(&state)
                    .status()
                    .unwrap()
                    .success()
            ),
            // 200 MB, sparse: reading it would cost 200 MB; it is not read at all.
            _ => fs::File::create(&state)
                .unwrap()
                .set_len(200 * 1024 * 1024)
                .unwrap(),
        }
        let started = std::time::Instant::now();
        let l = d.launch_with(true).unwrap();
        assert_eq!(l.bundle.id, "builtin", "{kind}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "{kind}"
        );
        let aside: Vec<String> = names_in(&app.data)
            .into_iter()
            .filter(|n| n.starts_with("state.json.corrupt-"))
            .collect();
        assert_eq!(aside.len(), 1, "{kind}: moved aside once");
        // The next start reads the fresh state it wrote.
        assert_eq!(d.launch_with(true).unwrap().bundle.id, "builtin");
        assert!(fs::symlink_metadata(&state).unwrap().is_file(), "{kind}");
    }
}

/// A tmpfs mounted by the test and then made read-only (root cannot write through a read-only
/// mount, whatever the permission bits say). `None` where mounting is not possible.
struct ReadOnlyMount(PathBuf);

impl ReadOnlyMount {
    fn mount(at: &std::path::Path) -> Option<Self> {
        fs::create_dir_all(at).unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64m", "tmpfs"])
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Self(at.to_path_buf()))
    }

    fn read_only(&self) {
        let ok = std::process::Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(ok.success());
    }
}

impl Drop for ReadOnlyMount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_read_only_data_folder_still_starts_the_app_on_builtin() {
    let app = App::new();
    let Some(mount) = ReadOnlyMount::mount(&app.data) else {
        eprintln!("skipped: cannot mount a tmpfs here (needs root, as on CI)");
        return;
    };
    let d = app.device(cfg(), "1");
    let id = app.install(&d, "1.0.1");
    d.next(&id).unwrap();
    mount.read_only();
    let l = d.launch_with(true).unwrap();
    assert_eq!(l.bundle.id, "builtin");
    assert_eq!(l.web_root, fs::canonicalize(&app.www).unwrap());
    assert_eq!(d.status().unwrap().current.id, "builtin");
    // An empty read-only folder (no lock file, no state) as well.
    let app2 = App::new();
    let Some(m2) = ReadOnlyMount::mount(&app2.data) else {
        return;
    };
    m2.read_only();
    let d2 = app2.device(cfg(), "1");
    assert_eq!(d2.launch_with(true).unwrap().bundle.id, "builtin");
}

#[test]
fn a_launch_over_thousands_of_stale_entries_defers_the_clean_up() {
    let app = App::new();
    let d = app.device(cfg(), "1");
    let id = app.install(&d, "1.0.1");
    confirm(&d, &id);
    let made = leave_stale_entries(&app.data, 7_000);
    // The launch does a few milliseconds of clean-up and serves the confirmed bundle; the
    // rest is left for later (figures: `BENCH_ONLY=launch-stale cargo bench --bench unpack`).
    let l = d.launch_with(true).unwrap();
    assert_eq!(l.bundle.id, id);
    let left = stale_entries_left(&app.data);
    assert!(
        left > 0,
        "a launch does a bounded part of the clean-up, not all: {left} of {made} left"
    );
    // Background maintenance finishes it in short locked steps.
    let mut steps = 0;
    while !d.maintain(std::time::Duration::from_millis(50)).unwrap() {
        steps += 1;
        assert!(steps < 10_000);
    }
    assert_eq!(stale_entries_left(&app.data), 0);
    assert!(steps > 0, "it took more than one step");
    // The confirmed bundle and its files were never touched.
    assert_eq!(d.status().unwrap().current.id, id);
    assert!(
        app.data
            .join("bundles")
            .join(&id)
            .join("index.html")
            .is_file()
    );
    assert_eq!(d.launch_with(true).unwrap().bundle.id, id);
}
