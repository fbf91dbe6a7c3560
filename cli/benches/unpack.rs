//! Unpack benchmark: a ~50 MB realistic bundle (hundreds of JS files plus incompressible images)
//! unpacked by liveupdate (decrypt + verify + extract + fsync) against `unzip -q` of the already
//! decrypted zip, side by side in the same run; a 5,000-file bundle the same way; and the peak RSS of
//! unpacking a bundle with a 1 GiB entry. Prints figures; asserts nothing about time.
//!
//! Run: `cargo bench --bench unpack` (env `BENCH_RUNS=N`, default 5; `BENCH_SKIP_RSS=1` skips the 1 GiB case;
//! `BENCH_ONLY=large`, `delta`, `update`, `launch`, `launch-stale` or `rss` runs only that part).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use liveupdate_test_support as common;

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use liveupdate::{
    BundleTrust, Config, Engine, EngineOptions, ExtractOptions, Limits, NoHost, PublicKey,
};

/// A headless engine (what `device update`, the C handle and UniFFI drive) on `data`.
fn headless(data: &Path, www: &Path, config: Config) -> Engine {
    let mut options = EngineOptions {
        config,
        ..EngineOptions::new(data, www)
    };
    options.app.native_version = Some("1".into());
    Engine::open(options, std::sync::Arc::new(NoHost)).unwrap()
}

/// Installs `zip` (written next to the data folder) as a pending bundle.
fn install(e: &Engine, work: &Path, zip: &[u8], version: &str) -> liveupdate::BundleInfo {
    let path = work.join(format!("install-{version}.zip"));
    fs::write(&path, zip).unwrap();
    let b = e
        .install_file(&path, version, &common::sha256_hex(zip), None)
        .unwrap();
    fs::remove_file(&path).unwrap();
    b
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

const WORDS: &[&str] = &[
    "function",
    "return",
    "const",
    "let",
    "this",
    "props",
    "state",
    "render",
    "=>",
    "{",
    "}",
    "(",
    ")",
    "useEffect",
    "document",
    "window",
    "null",
    "undefined",
    "async",
    "await",
    "import",
    "export",
    "default",
    "if",
    "else",
    "for",
    "of",
    "new",
    "Promise",
    "map",
    "filter",
    "length",
    ";",
    ",",
    ".",
    "e",
    "t",
    "n",
    "r",
    "i",
    "o",
    "a",
    "s",
    "0",
    "1",
    "true",
    "false",
    "\"click\"",
    "\n",
];

fn js_file(rng: &mut Rng, size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size + 16);
    while out.len() < size {
        let w = WORDS[(rng.next() % WORDS.len() as u64) as usize];
        out.extend_from_slice(w.as_bytes());
        out.push(b' ');
    }
    out.truncate(size);
    out
}

/// Writes a Capgo-like zip (folder entries, everything deflated) of a realistic web app.
fn make_large_zip(path: &Path) -> u64 {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut files: Vec<(String, Vec<u8>)> = vec![(
        "index.html".into(),
        b"<!doctype html><html><body><script src=\"main.js\"></script></body></html>".to_vec(),
    )];
    for i in 0..600 {
        let size = 2_000 + (rng.next() % 40_000) as usize;
        files.push((
            format!("assets/js/chunk-{i:04}.js"),
            js_file(&mut rng, size),
        ));
    }
    for i in 0..40 {
        let size = 400_000 + (rng.next() % 1_000_000) as usize;
        let mut img = vec![0u8; size];
        rng.fill(&mut img);
        files.push((format!("assets/img/photo-{i:03}.jpg"), img));
    }
    for i in 0..12 {
        files.push((
            format!("assets/css/style-{i}.css"),
            js_file(&mut rng, 30_000),
        ));
    }
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    let zip = common::writer_zip(&refs, common::ZipStyle::CapgoLike);
    fs::write(path, &zip).unwrap();
    files.iter().map(|(_, d)| d.len() as u64).sum()
}

fn make_manyfiles_zip(path: &Path) {
    let mut rng = Rng(42);
    let mut files: Vec<(String, Vec<u8>)> = vec![("index.html".into(), b"<html></html>".to_vec())];
    for i in 0..5_000 {
        let size = 20 + (rng.next() % 300) as usize;
        files.push((
            format!("m/{:02}/f{i:05}.js", i % 4),
            js_file(&mut rng, size),
        ));
    }
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    fs::write(path, common::writer_zip(&refs, common::ZipStyle::CapgoLike)).unwrap();
}

struct Encrypted {
    cipher: PathBuf,
    session: String,
    checksum: String,
}

fn encrypt(plain: &Path, out: &Path) -> Encrypted {
    let (_, private) = common::key_a();
    let enc = common::Encryptor::new(&private);
    let data = fs::read(plain).unwrap();
    let (cipher, session, checksum) =
        enc.encrypt(&data, &[0x11; 16], &[0x22; 16], common::ChecksumVersion::V3);
    fs::write(out, cipher).unwrap();
    Encrypted {
        cipher: out.to_path_buf(),
        session,
        checksum,
    }
}

fn unpack_once(e: &Encrypted, dest: &Path, limits: Limits) -> Duration {
    let key = PublicKey::from_pem(&common::key_a().0).unwrap();
    let trust = BundleTrust {
        public_key: Some(&key),
        session_key: Some(&e.session),
        checksum: &e.checksum,
    };
    let options = ExtractOptions {
        limits,
        ..ExtractOptions::default()
    };
    let start = Instant::now();
    let parsed = trust.parse().unwrap();
    liveupdate::unpack_file(&e.cipher, &parsed, dest, &options).unwrap();
    start.elapsed()
}

fn unzip_once(plain: &Path, dest: &Path) -> Duration {
    let start = Instant::now();
    let st = Command::new("unzip")
        .arg("-q")
        .arg(plain)
        .arg("-d")
        .arg(dest)
        .status()
        .expect("`unzip` is needed for the comparison (apt-get install unzip)");
    let t = start.elapsed();
    assert!(st.success());
    t
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn compare(name: &str, work: &Path, plain: &Path, enc: &Encrypted, runs: usize) {
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    // One discarded warm-up each; then alternate, always into fresh folders (nothing deleted meanwhile).
    unpack_once(
        enc,
        &work.join(format!("{name}-warm-ours")),
        Limits::default(),
    );
    unzip_once(plain, &work.join(format!("{name}-warm-unzip")));
    for i in 0..runs {
        let _ = Command::new("sync").status();
        ours.push(ms(unpack_once(
            enc,
            &work.join(format!("{name}-ours-{i}")),
            Limits::default(),
        )));
        let _ = Command::new("sync").status();
        theirs.push(ms(unzip_once(
            plain,
            &work.join(format!("{name}-unzip-{i}")),
        )));
    }
    let (min_o, min_t) = (
        ours.iter().copied().fold(f64::MAX, f64::min),
        theirs.iter().copied().fold(f64::MAX, f64::min),
    );
    let (med_o, med_t) = (median(&mut ours), median(&mut theirs));
    println!(
        "{name:<10} liveupdate unpack (decrypt+verify+extract+fsync): median {med_o:7.1} ms  min {min_o:7.1} ms"
    );
    println!(
        "{name:<10} unzip -q on the plain zip:                        median {med_t:7.1} ms  min {min_t:7.1} ms"
    );
    println!(
        "{name:<10} ratio unpack/unzip: median {:.2}  min/min {:.2}",
        med_o / med_t,
        min_o / min_t
    );
}

/// Full update over loopback (dev registry in this process → check → download → install) against
/// unpack alone of the same encrypted file, alternating, each into a fresh device folder.
fn compare_update(work: &Path, enc: &Encrypted, runs: usize) {
    use liveupdate::UpdateOutcome;
    use liveupdate_cli::serve::{DevRegistry, MANIFEST};
    let reg_dir = work.join("registry");
    fs::create_dir_all(&reg_dir).unwrap();
    fs::hard_link(&enc.cipher, reg_dir.join("large.enc"))
        .or_else(|_| fs::copy(&enc.cipher, reg_dir.join("large.enc")).map(|_| ()))
        .unwrap();
    let manifest = serde_json::json!({"bundles": [{"version": "2.0.0", "file": "large.enc",
        "session_key": enc.session, "checksum": enc.checksum}]});
    fs::write(reg_dir.join(MANIFEST), manifest.to_string()).unwrap();
    let registry = DevRegistry::start(&reg_dir, "127.0.0.1", 0).unwrap();
    let www = work.join("www");
    fs::create_dir_all(&www).unwrap();
    fs::write(www.join("index.html"), "<html>").unwrap();
    let update_once = |i: usize| {
        let config = Config {
            app_id: "bench".into(),
            public_key: Some(PublicKey::from_pem(&common::key_a().0).unwrap()),
            update_url: format!("{}/updates", registry.url()),
            stats_url: String::new(),
            ..Config::default()
        };
        let updater = headless(&work.join(format!("device-{i}")), &www, config);
        let start = Instant::now();
        let o = updater.update(None).unwrap();
        let t = start.elapsed();
        assert!(matches!(o, UpdateOutcome::Installed { .. }), "{o:?}");
        t
    };
    update_once(usize::MAX);
    let (mut upd, mut unp) = (Vec::new(), Vec::new());
    for i in 0..runs {
        let _ = Command::new("sync").status();
        upd.push(ms(update_once(i)));
        let _ = Command::new("sync").status();
        unp.push(ms(unpack_once(
            enc,
            &work.join(format!("upd-unpack-{i}")),
            Limits::default(),
        )));
    }
    let (mu, mp) = (median(&mut upd), median(&mut unp));
    println!(
        "update     full update over loopback (check+download+install): median {mu:7.1} ms  min {:7.1} ms",
        upd[0]
    );
    println!(
        "update     unpack alone of the same bundle:                    median {mp:7.1} ms  min {:7.1} ms",
        unp[0]
    );
    println!("update     ratio update/unpack: median {:.2}", mu / mp);
}

/// A 5,001-file app (the `manyfiles` tree) updated to a version where 1 % of the files changed:
/// a delta (manifest) update against a full zip update of the same new version, both over
/// loopback from the dev registry, each device on the old version as its builtin folder.
fn compare_delta(work: &Path, runs: usize) {
    use liveupdate::UpdateOutcome;
    use liveupdate_cli::serve::{DevRegistry, MANIFEST};
    let mut rng = Rng(7);
    let mut files: Vec<(String, Vec<u8>)> = vec![("index.html".into(), b"<html></html>".to_vec())];
    for i in 0..5_000 {
        let size = 20 + (rng.next() % 300) as usize;
        files.push((
            format!("m/{:02}/f{i:05}.js", i % 4),
            js_file(&mut rng, size),
        ));
    }
    let old = work.join("delta-old");
    for (n, d) in &files {
        let p = old.join(n);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, d).unwrap();
    }
    let (public, private) = common::key_a();
    let enc = common::Encryptor::new(&private);
    let sign =
        |d: &[u8]| common::to_hex(&enc.sign_type1(&common::from_hex(&common::sha256_hex(d))));
    // The old version's manifest (its bodies are never fetched: every file is on the device).
    let v1: Vec<serde_json::Value> = files
        .iter()
        .map(|(n, d)| serde_json::json!({"file_name": n, "file_hash": sign(d), "download_url": format!("uploaded/{n}")}))
        .collect();
    // 1 %: 50 files change.
    for (i, f) in files.iter_mut().enumerate().skip(1).step_by(100) {
        f.1 = js_file(&mut rng, 40 + i % 200);
    }
    let (iv, key) = ([0x33u8; 16], [0x44u8; 16]);
    let session = enc.session_key(&iv, &key);
    let reg = work.join("delta-registry");
    let mut manifest = Vec::new();
    let mut changed_bytes = 0u64;
    for (i, (n, d)) in files.iter().enumerate() {
        let body = common::aes_cbc_encrypt(d, &iv, &key);
        if i % 100 == 1 {
            changed_bytes += body.len() as u64;
        }
        let p = reg.join("v2/uploaded").join(n);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, body).unwrap();
        let hash = sign(d);
        manifest.push(serde_json::json!({"file_name": n, "file_hash": hash,
            "download_url": format!("uploaded/{n}")}));
    }
    fs::write(
        reg.join("v2/manifest.json"),
        serde_json::Value::Array(manifest).to_string(),
    )
    .unwrap();
    fs::create_dir_all(reg.join("v1")).unwrap();
    fs::write(
        reg.join("v1/manifest.json"),
        serde_json::Value::Array(v1).to_string(),
    )
    .unwrap();
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    let zip = common::writer_zip(&refs, common::ZipStyle::CapgoLike);
    let (cipher, zsession, zchecksum) = enc.encrypt(&zip, &iv, &key, common::ChecksumVersion::V3);
    fs::write(reg.join("v2.enc"), &cipher).unwrap();
    fs::write(
        reg.join(MANIFEST),
        serde_json::json!({"bundles": [
            {"version": "2.0.0", "file": "v2.enc", "session_key": zsession, "checksum": zchecksum, "channel": "zip"},
            {"version": "2.0.0", "manifest": "v2/manifest.json", "session_key": session, "checksum": "", "channel": "delta"},
            {"version": "1.0.0", "manifest": "v1/manifest.json", "session_key": session, "checksum": "", "channel": "delta-v1"},
        ]})
        .to_string(),
    )
    .unwrap();
    let registry = DevRegistry::start(&reg, "127.0.0.1", 0).unwrap();
    // `warm`: the device got the old version by delta before (its signed hashes are known).
    let once = |channel: &str, i: usize, warm: bool| {
        let config = |channel: &str| Config {
            app_id: "bench".into(),
            public_key: Some(PublicKey::from_pem(&public).unwrap()),
            update_url: format!("{}/updates", registry.url()),
            stats_url: String::new(),
            default_channel: channel.into(),
            ..Config::default()
        };
        let dir = work.join(format!("delta-device-{channel}-{warm}-{i}"));
        if warm {
            let o = headless(&dir, &old, config("delta-v1"))
                .update(None)
                .unwrap();
            assert!(matches!(o, UpdateOutcome::Installed { .. }), "{o:?}");
        }
        let updater = headless(&dir, &old, config(channel));
        let served = registry.bytes_served();
        let start = Instant::now();
        let o = updater.update(None).unwrap();
        let t = start.elapsed();
        let UpdateOutcome::Installed { download, .. } = &o else {
            panic!("{o:?}")
        };
        if let Some(d) = download.delta {
            assert_eq!((d.files, d.fetched), (5_001, 50), "{o:?}");
        }
        (t, registry.bytes_served() - served)
    };
    once("delta", usize::MAX, false);
    once("zip", usize::MAX, false);
    let (mut delta, mut warm, mut full) = (Vec::new(), Vec::new(), Vec::new());
    let (mut delta_bytes, mut full_bytes) = (0, 0);
    for i in 0..runs {
        let _ = Command::new("sync").status();
        let (t, b) = once("delta", i, false);
        delta.push(ms(t));
        delta_bytes = b;
        let _ = Command::new("sync").status();
        warm.push(ms(once("delta", i, true).0));
        let _ = Command::new("sync").status();
        let (t, b) = once("zip", i, false);
        full.push(ms(t));
        full_bytes = b;
    }
    let (md, mw, mf) = (median(&mut delta), median(&mut warm), median(&mut full));
    println!(
        "delta      5,001 files, 50 changed (1 %): delta update median {md:7.1} ms ({delta_bytes} B served; changed bodies {changed_bytes} B)"
    );
    println!(
        "delta      the same, device on the old version by delta (hashes known): median {mw:7.1} ms"
    );
    println!(
        "delta      the same version as a full zip update:  median {mf:7.1} ms ({full_bytes} B served)"
    );
    println!(
        "delta      ratio delta/zip: time {:.2} (hashes known: {:.2}), bytes {:.3}",
        md / mf,
        mw / mf,
        delta_bytes as f64 / full_bytes as f64
    );
}

/// `launch` of an already confirmed bundle, in-process, as an app start does it: p50 and p99 over
/// 1,000 launches (each followed by `notifyAppReady`, as a healthy page does), and whether the
/// state file was rewritten.
fn launch_latency(work: &Path) {
    let www = work.join("launch-www");
    fs::create_dir_all(&www).unwrap();
    fs::write(www.join("index.html"), "<html>").unwrap();
    let data = work.join("launch-data");
    let zip = common::writer_zip(
        &[("index.html", b"<html>v1</html>".as_slice())],
        common::ZipStyle::CapgoLike,
    );
    let d = headless(&data, &www, Config::default());
    let b = install(&d, work, &zip, "1.0.1");
    d.set(&b.id).unwrap();
    let l = d.launch().unwrap();
    d.notify_app_ready(&l.launch_id).unwrap();
    let state = data.join("state.json");
    let before = fs::metadata(&state).unwrap().modified().unwrap();
    let mut times = Vec::with_capacity(1000);
    for _ in 0..1000 {
        let t = Instant::now();
        let l = d.launch().unwrap();
        times.push(t.elapsed().as_secs_f64() * 1e6);
        assert_eq!(l.bundle.id, b.id);
        d.notify_app_ready(&l.launch_id).unwrap();
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let after = fs::metadata(&state).unwrap().modified().unwrap();
    println!(
        "launch     confirmed bundle, in-process, 1,000 launches: p50 {:.0} µs, p99 {:.0} µs; state file rewritten: {}",
        times[500],
        times[990],
        if after != before { "yes" } else { "no" }
    );
}

/// A launch over 7,000 stale entries (orphan bundle folders, partial downloads, delta
/// temporaries, orphan indexes): the launch itself, and the whole clean-up it defers to the
/// engine's background maintenance, each on a fresh data folder.
fn launch_stale(work: &Path, runs: usize) {
    let www = work.join("stale-www");
    fs::create_dir_all(&www).unwrap();
    fs::write(www.join("index.html"), "<html>").unwrap();
    let zip = common::writer_zip(
        &[("index.html", b"<html>v1</html>".as_slice())],
        common::ZipStyle::CapgoLike,
    );
    let (mut launches, mut cleanups) = (Vec::new(), Vec::new());
    for run in 0..runs {
        let data = work.join(format!("stale-data-{run}"));
        let d = headless(&data, &www, Config::default());
        let b = install(&d, work, &zip, "1.0.1");
        d.set(&b.id).unwrap();
        let l = d.launch().unwrap();
        d.notify_app_ready(&l.launch_id).unwrap();
        common::leave_stale_entries(&data, 7_000);
        let _ = Command::new("sync").status();
        let t = Instant::now();
        let l = d.launch().unwrap();
        launches.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(l.bundle.id, b.id);
        let t = Instant::now();
        while !d.maintain(Duration::from_millis(50)).unwrap() {}
        cleanups.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(common::stale_entries_left(&data), 0);
        let _ = fs::remove_dir_all(&data);
    }
    launches.sort_by(|a, b| a.partial_cmp(b).unwrap());
    cleanups.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "launch-stale  7,000 stale entries, {runs} fresh folders: launch median {:.1} ms, max {:.1} ms; deferred clean-up median {:.0} ms",
        launches[runs / 2],
        launches[runs - 1],
        cleanups[runs / 2]
    );
}

/// The 1 GiB entry, unpacked in a child process whose peak RSS is reported.
fn rss_case(work: &Path, exe: &str) {
    let args = [exe.to_string()];
    let huge = work.join("huge.zip");
    make_huge_zip(&huge);
    let huge_enc = encrypt_streaming(&huge, &work.join("huge.enc"));
    fs::remove_file(&huge).unwrap();
    let out = Command::new(&args[0])
        .arg("--rss-child")
        .arg(&huge_enc.cipher)
        .arg(&huge_enc.session)
        .arg(&huge_enc.checksum)
        .arg(work.join("huge-out"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8_lossy(&out.stdout);
    let v: Vec<&str> = line.split_whitespace().collect();
    let (before, peak, t): (u64, u64, f64) = (
        v[0].parse().unwrap(),
        v[1].parse().unwrap(),
        v[2].parse().unwrap(),
    );
    println!(
        "1 GiB entry: encrypted bundle {:.0} MB; unpack {:.1} s; peak RSS {:.1} MiB (process baseline {:.1} MiB)",
        fs::metadata(&huge_enc.cipher).unwrap().len() as f64 / 1e6,
        t / 1000.0,
        peak as f64 / 1024.0,
        before as f64 / 1024.0
    );
}

fn peak_rss_kib() -> u64 {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Child mode: unpack one bundle and print the peak RSS of this process.
fn rss_child(cipher: &str, session: &str, checksum: &str, dest: &str) {
    let e = Encrypted {
        cipher: cipher.into(),
        session: session.into(),
        checksum: checksum.into(),
    };
    let before = peak_rss_kib();
    let t = unpack_once(
        &e,
        Path::new(dest),
        Limits {
            max_bytes: 2 << 30,
            max_files: 10,
        },
    );
    println!("{} {} {:.0}", before, peak_rss_kib(), ms(t));
}

fn make_huge_zip(path: &Path) {
    // One 1 GiB entry of 16-symbol noise (deflates ~2:1), streamed through the zip writer.
    use zip::write::SimpleFileOptions;
    let f = BufWriter::new(File::create(path).unwrap());
    let mut zw = zip::ZipWriter::new_stream(f);
    zw.start_file("index.html", SimpleFileOptions::default())
        .unwrap();
    zw.write_all(b"<html></html>").unwrap();
    let opts = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1))
        .large_file(true);
    zw.start_file("assets/huge.bin", opts).unwrap();
    let mut rng = Rng(7);
    let mut buf = vec![0u8; 1 << 20];
    for _ in 0..1024 {
        rng.fill(&mut buf);
        for b in &mut buf {
            *b &= 0x0F;
        }
        zw.write_all(&buf).unwrap();
    }
    zw.finish().unwrap().flush().unwrap();
}

fn encrypt_streaming(plain: &Path, out: &Path) -> Encrypted {
    // The test encryptor works in memory; for 1 GiB, encrypt in a streaming way with the same primitives.
    use aes::Aes128;
    use cbc::cipher::{BlockModeEncrypt, KeyIvInit, block_padding::Pkcs7};
    let (_, private) = common::key_a();
    let enc = common::Encryptor::new(&private);
    let (iv, key) = ([0x33u8; 16], [0x44u8; 16]);
    let mut cbc = cbc::Encryptor::<Aes128>::new(&key.into(), &iv.into());
    let data = fs::read(plain).unwrap();
    let checksum = enc.checksum(&data, common::ChecksumVersion::V3);
    let whole = data.len() / 16 * 16;
    let mut w = BufWriter::new(File::create(out).unwrap());
    for chunk in data[..whole].chunks(1 << 20) {
        let mut c = chunk.to_vec();
        let (blocks, _) = cbc::cipher::Array::slice_as_chunks_mut(&mut c);
        cbc.encrypt_blocks(blocks);
        w.write_all(&c).unwrap();
    }
    let tail = cbc.encrypt_padded_vec::<Pkcs7>(&data[whole..]);
    w.write_all(&tail).unwrap();
    w.flush().unwrap();
    Encrypted {
        cipher: out.to_path_buf(),
        session: enc.session_key(&iv, &key),
        checksum,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--rss-child") {
        rss_child(&args[i + 1], &args[i + 2], &args[i + 3], &args[i + 4]);
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--make") {
        // Writes the bundles and their keys to a folder, for timing the CLI by hand.
        let dir = Path::new(&args[i + 1]);
        fs::create_dir_all(dir).unwrap();
        for (name, make) in [
            ("large", make_large_zip as fn(&Path) -> u64),
            ("many", |p: &Path| {
                make_manyfiles_zip(p);
                0
            }),
        ] {
            let plain = dir.join(format!("{name}.zip"));
            make(&plain);
            let e = encrypt(&plain, &dir.join(format!("{name}.enc")));
            fs::write(dir.join(format!("{name}.session")), e.session).unwrap();
            fs::write(dir.join(format!("{name}.checksum")), e.checksum).unwrap();
        }
        return;
    }
    if args.iter().any(|a| a == "--list") {
        return;
    }
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // BENCH_DIR: measure on another file system (e.g. a journaled ext4 on a loop device: phones'
    // file systems have journals, and this machine's root has none, which hides fsync's cost).
    let base = std::env::var_os("BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-work"));
    let work = base.join(stamp.to_string());
    fs::create_dir_all(&work).unwrap();
    let fs_kind = std::process::Command::new("findmnt")
        .args(["-n", "-o", "FSTYPE,OPTIONS", "-T"])
        .arg(&work)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let journal = std::process::Command::new("findmnt")
        .args(["-n", "-o", "SOURCE", "-T"])
        .arg(&work)
        .output()
        .ok()
        .and_then(|o| {
            let dev = String::from_utf8_lossy(&o.stdout).trim().to_string();
            std::process::Command::new("tune2fs")
                .args(["-l", &dev])
                .output()
                .ok()
        })
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("has_journal"));
    println!(
        "liveupdate unpack benchmark — work folder {} ({fs_kind}; journal: {})",
        work.display(),
        match journal {
            Some(true) => "yes",
            Some(false) => "no",
            None => "unknown",
        }
    );
    println!(
        "machine: {} cores; extraction threads: {}",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        ExtractOptions::default().threads
    );

    let only = std::env::var("BENCH_ONLY").ok();
    match only.as_deref() {
        Some("delta") => return compare_delta(&work, runs),
        Some("launch") => return launch_latency(&work),
        Some("launch-stale") => return launch_stale(&work, runs),
        Some("rss") => return rss_case(&work, &args[0]),
        _ => {}
    }
    let plain = work.join("large.zip");
    let raw = make_large_zip(&plain);
    let enc = encrypt(&plain, &work.join("large.enc"));
    if let Some(part @ ("large" | "update")) = only.as_deref() {
        // Let the writeback of the generated input settle before timing anything.
        let _ = Command::new("sync").status();
        std::thread::sleep(Duration::from_secs(2));
        return if part == "large" {
            compare("large", &work, &plain, &enc, runs)
        } else {
            compare_update(&work, &enc, runs)
        };
    }
    println!(
        "large:     {} files, {:.1} MB extracted, zip {:.1} MB, encrypted {:.1} MB",
        654,
        raw as f64 / 1e6,
        fs::metadata(&plain).unwrap().len() as f64 / 1e6,
        fs::metadata(&enc.cipher).unwrap().len() as f64 / 1e6
    );
    let many = work.join("many.zip");
    make_manyfiles_zip(&many);
    let many_enc = encrypt(&many, &work.join("many.enc"));
    // Let the writeback of the generated inputs settle before timing anything.
    let _ = Command::new("sync").status();
    std::thread::sleep(Duration::from_secs(5));
    compare("large", &work, &plain, &enc, runs);

    println!(
        "manyfiles: 5001 files, zip {:.2} MB",
        fs::metadata(&many).unwrap().len() as f64 / 1e6
    );
    compare("manyfiles", &work, &many, &many_enc, runs);
    compare_update(&work, &enc, runs);
    compare_delta(&work, runs);
    launch_latency(&work);
    launch_stale(&work, runs);

    if std::env::var("BENCH_SKIP_RSS").is_err() {
        rss_case(&work, &args[0]);
    }
    // Give the disk back (the bench writes to fresh folders, so deleting at the end is fine).
    let _ = fs::remove_dir_all(&work);
}
