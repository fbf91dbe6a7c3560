//! Crash consistency: `liveupdate device` processes are SIGKILLed at random instants of install, next, set,
//! launch, ready, background, delete and reset; after each kill a new `launch` must succeed and serve
//! builtin or a complete, verified bundle, with leftovers swept and disk use bounded.
//!
//! Default: 120 iterations (about 50 kills inside an operation). Long mode: `LIVEUPDATE_KILL_ITERATIONS=1000 cargo test --release --test crash_kill`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use liveupdate_test_support::*;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

struct Harness {
    data: PathBuf,
    www: PathBuf,
    config: PathBuf,
    set: CapgoSet,
    expected: BTreeMap<String, Option<String>>,
}

impl Harness {
    /// A builtin web folder and a data folder in `tmp`, installing the Capgo fixture `set_name`.
    fn new(tmp: &Path, set_name: &str) -> Self {
        let www = tmp.join("www");
        fs::create_dir(&www).unwrap();
        fs::write(www.join("index.html"), "<html>builtin</html>").unwrap();
        let set = capgo_set(set_name);
        let manifest: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(set.dir.join("manifest.json")).unwrap())
                .unwrap();
        let expected = manifest["expected_extracted_tree"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["path"].as_str().unwrap().to_string(),
                    e["sha256"].as_str().map(String::from),
                )
            })
            .collect();
        Self {
            data: tmp.join("data"),
            www,
            config: set.dir.join("capacitor.config.json"),
            set,
            expected,
        }
    }

    fn base(&self) -> Command {
        let mut c = cli_command(env!("CARGO_BIN_EXE_liveupdate"));
        c.arg("device")
            .arg("--data-dir")
            .arg(&self.data)
            .arg("--builtin")
            .arg(&self.www)
            .arg("--config")
            .arg(&self.config)
            .arg("--native-version")
            .arg("1.0");
        c
    }

    fn op_args(&self, op: &str, arg: &str) -> Vec<String> {
        match op {
            "install" => vec![
                "install".into(),
                "--in".into(),
                self.set.encrypted_zip.to_string_lossy().into_owned(),
                "--version".into(),
                arg.into(),
                "--checksum".into(),
                self.set.checksum.clone(),
                "--session-key".into(),
                self.set.session_key.clone(),
            ],
            "reset" if arg == "last" => vec!["reset".into(), "--to-last-successful".into()],
            "reset" | "launch" | "background" | "status" => vec![op.into()],
            _ => vec![op.into(), arg.into()],
        }
    }

    fn run(&self, args: &[String]) -> (bool, serde_json::Value, String) {
        let o = self.base().args(args).output().unwrap();
        let v = serde_json::from_slice(&o.stdout).unwrap_or(serde_json::Value::Null);
        (
            o.status.success(),
            v,
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    }

    /// Starts the command and SIGKILLs it after `delay` (or lets it finish). Returns whether it was killed.
    fn run_and_kill(&self, args: &[String], delay: Duration) -> bool {
        let mut child = self
            .base()
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + delay;
        loop {
            if child.try_wait().unwrap().is_some() {
                return false;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return true;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    }

    fn served_bundle(&self) -> bool {
        let (_, st, _) = self.run(&["status".into()]);
        st["current"]["id"] != "builtin"
    }

    /// The invariants after a crash, checked through a fresh `launch`.
    fn check(&self) -> String {
        let (ok, v, err) = self.run(&["launch".into()]);
        assert!(ok, "launch failed after a kill: {err}");
        let web_root = PathBuf::from(v["web_root"].as_str().unwrap());
        let id = v["bundle"]["id"].as_str().unwrap();
        if id == "builtin" {
            assert_eq!(web_root, fs::canonicalize(&self.www).unwrap());
        } else {
            assert_eq!(
                hash_tree(&web_root),
                self.expected,
                "served bundle {id} incomplete"
            );
            let status = v["bundle"]["status"].as_str().unwrap();
            assert!(
                status == "pending" || status == "success",
                "served a {status} bundle"
            );
        }
        let state: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(self.data.join("state.json")).unwrap())
                .expect("state file parses");
        let bundles = self.data.join("bundles");
        for name in names_in(&bundles) {
            assert!(
                !name.starts_with('.'),
                "staging leftover {name} after launch"
            );
            let status = state["bundles"][&name]["status"].as_str().unwrap_or("none");
            assert!(
                status == "pending" || status == "success",
                "folder {name} has record status {status}"
            );
            assert!(bundles.join(&name).join("index.html").is_file());
        }
        for (id, b) in state["bundles"].as_object().unwrap() {
            let status = b["status"].as_str().unwrap();
            if status == "pending" || status == "success" {
                assert!(
                    bundles.join(id).join("index.html").is_file(),
                    "record {id} without files"
                );
            }
            assert_ne!(
                status, "downloading",
                "unfinished install record survived launch"
            );
            assert_ne!(status, "deleting", "interrupted delete not resumed");
        }
        assert!(names_in(&bundles).len() <= 5, "more folders than the cap");
        assert!(
            !names_in(&self.data).iter().any(|n| n.contains(".tmp-")),
            "temp state file left"
        );
        v["launch_id"].as_str().unwrap().to_string()
    }
}

fn hash_tree(root: &Path) -> BTreeMap<String, Option<String>> {
    tree(root)
        .into_iter()
        .map(|(p, c)| (p, c.map(|c| sha256_hex(&c))))
        .collect()
}

#[test]
fn random_kills_never_break_launch() {
    let iterations: usize = std::env::var("LIVEUPDATE_KILL_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(120);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("seed {seed}");
    let mut rng = Rng(seed);
    let tmp = tempfile::tempdir().unwrap();
    let h = Harness::new(tmp.path(), "set-b-large");

    // Measure how long each operation takes, so kills land anywhere inside it.
    let t = Instant::now();
    let (ok, v, err) = h.run(&h.op_args("install", "0.0.1"));
    assert!(ok, "{err}");
    let install_time = t.elapsed();
    let first = v["bundle"]["id"].as_str().unwrap().to_string();
    h.run(&h.op_args("next", &first));
    let t = Instant::now();
    let mut launch_id = h.check();
    let launch_time = t.elapsed();
    h.run(&["ready".into(), launch_id.clone()]);

    let ops = [
        "install",
        "install",
        "install",
        "next",
        "next",
        "next",
        "set",
        "set",
        "launch",
        "ready",
        "background",
        "delete",
        "reset",
    ];
    let mut kills = 0;
    let mut completed = 0;
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut max_disk = 0u64;
    let mut served = 0;
    for i in 0..iterations {
        let op = ops[rng.below(ops.len() as u64) as usize];
        let (_, st, _) = h.run(&["status".into()]);
        let ids: Vec<String> = st["bundles"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|b| b["status"] != "error")
                    .map(|b| b["id"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default();
        let pick = |rng: &mut Rng| {
            ids.get(rng.below(ids.len() as u64) as usize)
                .cloned()
                .unwrap_or_else(|| "builtin".into())
        };
        let arg = match op {
            "install" => format!("1.0.{i}"),
            "next" | "set" | "delete" => pick(&mut rng),
            "ready" => launch_id.clone(),
            "reset" => if rng.below(2) == 0 { "last" } else { "builtin" }.into(),
            _ => String::new(),
        };
        let span = if op == "install" {
            install_time
        } else {
            launch_time
        };
        // Up to 1.2x the measured duration: most operations are cut somewhere, some complete.
        let delay = Duration::from_micros(rng.below(span.as_micros() as u64 * 6 / 5 + 1));
        if h.run_and_kill(&h.op_args(op, &arg), delay) {
            kills += 1;
            *counts.entry(op).or_default() += 1;
        } else {
            completed += 1;
        }
        launch_id = h.check();
        // Mostly confirm (as a healthy app does), so bundles stay served and fallbacks and
        // autoDeletePrevious get exercised; sometimes not, so rollbacks happen too.
        if rng.below(4) != 0 {
            h.run(&["ready".into(), launch_id.clone()]);
        }
        max_disk = max_disk.max(dir_size(&h.data));
        if std::env::var_os("KILL_DEBUG").is_some() {
            let (_, st, _) = h.run(&["status".into()]);
            println!(
                "{i} {op} {arg} -> current {} next {} bundles {}",
                st["current"]["id"],
                st["next"]["id"],
                st["bundles"]
                    .as_array()
                    .map(|a| a
                        .iter()
                        .map(|b| format!("{}:{}", b["id"], b["status"]))
                        .collect::<Vec<_>>()
                        .join(","))
                    .unwrap_or_default()
            );
        }
        if h.served_bundle() {
            served += 1;
        }
    }
    let bundle_size: u64 = 5_300_000;
    println!(
        "{iterations} iterations: {kills} killed mid-operation ({counts:?}), {completed} completed; \
         a downloaded bundle was current after {served}; max data folder {:.1} MB",
        max_disk as f64 / 1e6
    );
    assert!(
        max_disk <= 6 * bundle_size,
        "disk use grew to {max_disk} bytes"
    );
    assert!(kills > 0, "no kill landed inside an operation");
}

fn dir_size(p: &Path) -> u64 {
    let mut total = 0;
    if let Ok(rd) = fs::read_dir(p) {
        for e in rd.flatten() {
            let m = e.metadata().unwrap();
            total += if m.is_dir() {
                dir_size(&e.path())
            } else {
                m.len()
            };
        }
    }
    total
}

#[test]
fn repeated_killed_installs_do_not_pile_up_without_a_launch() {
    let tmp = tempfile::tempdir().unwrap();
    let h = Harness::new(tmp.path(), "set-b-large");
    let t = Instant::now();
    let (ok, _, err) = h.run(&h.op_args("install", "0.0.1"));
    assert!(ok, "{err}");
    let full = t.elapsed();
    let mut rng = Rng(0x5eed);
    let mut max_disk = 0;
    for i in 0..20 {
        let delay = Duration::from_micros(rng.below(full.as_micros() as u64 * 9 / 10) + 1);
        h.run_and_kill(&h.op_args("install", &format!("1.0.{i}")), delay);
        // Leftovers of killed installs never pile up: at most the last one's staging folder.
        let staging = names_in(&h.data.join("bundles"))
            .iter()
            .filter(|n| n.starts_with('.'))
            .count();
        assert!(staging <= 1, "{staging} staging folders after kill {i}");
        max_disk = max_disk.max(dir_size(&h.data));
    }
    // Installs that finished are capped by maxStoredBundles (5); plus one interrupted install
    // (its plain zip and partial tree).
    assert!(
        max_disk <= 7 * 5_300_000,
        "disk grew to {max_disk} bytes without a launch"
    );
    h.check();
}

/// Aborts the process at every durability point (each rename, each folder fsync, each bundle
/// removal) of every operation in turn, through the `LIVEUPDATE_CRASH_AT` hook, and checks the
/// invariants after each crash.
#[test]
#[cfg(feature = "crash-hooks")]
fn a_crash_at_every_durability_point_leaves_a_launchable_state() {
    let tmp = tempfile::tempdir().unwrap();
    let h = Harness::new(tmp.path(), "set-a-small");
    let mut crashes = 0;
    let mut steps: Vec<Vec<String>> = vec![h.op_args("install", "1.0.0")];
    for round in 0..4 {
        // Whatever is installed now is the subject of the lifecycle operations.
        let (_, st, _) = h.run(&["status".into()]);
        let ids: Vec<String> = st["bundles"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b["status"] != "error")
            .map(|b| b["id"].as_str().unwrap().to_string())
            .collect();
        if let Some(id) = ids.first() {
            steps.push(h.op_args("next", id));
            steps.push(vec!["launch".into()]);
            steps.push(h.op_args("set", id));
            steps.push(vec!["background".into()]);
            steps.push(h.op_args("reset", "builtin"));
            if let Some(other) = ids.get(1) {
                steps.push(h.op_args("delete", other));
            }
        }
        steps.push(h.op_args("install", &format!("1.1.{round}")));
        for args in steps.drain(..) {
            // Bounded: no operation has anywhere near 200 durability points.
            for n in 1..200 {
                let out = h
                    .base()
                    .args(&args)
                    .env("LIVEUPDATE_CRASH_AT", n.to_string())
                    .output()
                    .unwrap();
                if out.status.success() || out.status.code().is_some() {
                    break; // ran to the end without reaching point n
                }
                crashes += 1;
                let launch_id = h.check();
                h.run(&["ready".into(), launch_id]);
            }
            h.run(&args);
        }
    }
    println!("{crashes} crashes at durability points, every one followed by a clean launch");
    assert!(crashes > 30, "only {crashes} crash points were reached");
}
