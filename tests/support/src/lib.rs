//! Test support: what every test suite of the project shares — fixture paths, a test-only Capgo-format encryptor (the private-key side the product never has), zip builders for hostile bundles, the loopback fault server, stale-entry makers and a peak-RSS runner.
#![allow(
    dead_code,
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::type_complexity
)]

pub mod fault_server;

use std::fs;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use aes::Aes128;
use base64ct::{Base64, Encoding};
use cbc::cipher::{BlockModeEncrypt, KeyIvInit, block_padding::Pkcs7};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::{Pkcs1v15Sign, RsaPrivateKey};

/// The repository's fixture folder (`tests/fixtures`).
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

/// The repository's root folder.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A Capgo CLI fixture set (`set-a-small`, `set-b-large`).
pub struct CapgoSet {
    pub dir: PathBuf,
    pub plain_zip: PathBuf,
    pub encrypted_zip: PathBuf,
    pub public_pem: String,
    pub private_pem: String,
    pub session_key: String,
    pub checksum: String,
    pub sha256: String,
}

pub fn capgo_set(name: &str) -> CapgoSet {
    let dir = fixtures().join("capgo").join(name);
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    let read = |f: &str| fs::read_to_string(dir.join(f)).unwrap().trim().to_string();
    CapgoSet {
        plain_zip: dir.join(manifest["plain_zip"].as_str().unwrap()),
        encrypted_zip: dir.join(manifest["encrypted_zip"].as_str().unwrap()),
        public_pem: read("capgo_key_v2.pub"),
        private_pem: read("capgo_key_v2"),
        session_key: read("ivSessionKey.txt"),
        checksum: read("encrypted_checksum.txt"),
        sha256: read("checksum_sha256.txt"),
        dir,
    }
}

/// Key pair A of the Capgo fixtures.
pub fn key_a() -> (String, String) {
    let s = capgo_set("set-a-small");
    (s.public_pem, s.private_pem)
}

/// A key pair made with openssl for these tests (`rsa1024`, `rsa3072`, `rsa4096`).
pub fn test_key(name: &str) -> (String, String) {
    let dir = fixtures().join("keys");
    (
        fs::read_to_string(dir.join(format!("{name}.pub"))).unwrap(),
        fs::read_to_string(dir.join(format!("{name}.pem"))).unwrap(),
    )
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChecksumVersion {
    V2,
    V3,
}

/// Test-only Capgo encryptor (the RSA private operation is never in the product).
pub struct Encryptor {
    key: RsaPrivateKey,
}

impl Encryptor {
    pub fn new(private_pem: &str) -> Self {
        Self {
            key: RsaPrivateKey::from_pkcs1_pem(private_pem).unwrap(),
        }
    }

    /// RSA private operation with PKCS#1 v1.5 type-1 padding and no DigestInfo (Node `privateEncrypt`).
    pub fn sign_type1(&self, payload: &[u8]) -> Vec<u8> {
        self.key
            .sign(Pkcs1v15Sign::new_unprefixed(), payload)
            .unwrap()
    }

    /// `base64(iv):base64(rsa(key))`.
    pub fn session_key(&self, iv: &[u8; 16], key: &[u8; 16]) -> String {
        format!(
            "{}:{}",
            Base64::encode_string(iv),
            Base64::encode_string(&self.sign_type1(key))
        )
    }

    /// The encrypted checksum of a plain zip, as `bundle encrypt` prints it.
    pub fn checksum(&self, plain_zip: &[u8], version: ChecksumVersion) -> String {
        let hex = sha256_hex(plain_zip);
        match version {
            ChecksumVersion::V3 => to_hex(&self.sign_type1(&from_hex(&hex))),
            ChecksumVersion::V2 => {
                let pseudo = Base64::decode_vec(&hex).unwrap();
                Base64::encode_string(&self.sign_type1(&pseudo))
            }
        }
    }

    /// Encrypts like `bundle encrypt`: returns (ciphertext, ivSessionKey, encrypted checksum).
    pub fn encrypt(
        &self,
        plain_zip: &[u8],
        iv: &[u8; 16],
        key: &[u8; 16],
        version: ChecksumVersion,
    ) -> (Vec<u8>, String, String) {
        (
            aes_cbc_encrypt(plain_zip, iv, key),
            self.session_key(iv, key),
            self.checksum(plain_zip, version),
        )
    }
}

pub fn aes_cbc_encrypt(data: &[u8], iv: &[u8; 16], key: &[u8; 16]) -> Vec<u8> {
    cbc::Encryptor::<Aes128>::new(&(*key).into(), &(*iv).into()).encrypt_padded_vec::<Pkcs7>(data)
}

pub fn sha256_hex(data: &[u8]) -> String {
    to_hex(ring::digest::digest(&ring::digest::SHA256, data).as_ref())
}

pub fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn from_hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// One entry of a zip built by [`raw_zip`]: full control over names, modes and flags.
#[derive(Clone, Debug)]
pub struct RawEntry {
    pub name: Vec<u8>,
    pub data: Vec<u8>,
    /// Unix mode including the type bits (0o100644 file, 0o040755 dir, 0o120777 symlink).
    pub mode: u32,
}

impl RawEntry {
    pub fn file(name: &str, data: &[u8]) -> Self {
        Self {
            name: name.as_bytes().to_vec(),
            data: data.to_vec(),
            mode: 0o100644,
        }
    }
    pub fn dir(name: &str) -> Self {
        Self {
            name: name.as_bytes().to_vec(),
            data: Vec::new(),
            mode: 0o040755,
        }
    }
    pub fn with_mode(mut self, mode: u32) -> Self {
        self.mode = mode;
        self
    }
}

/// CRC-32 (IEEE) of `data`, as zip headers carry it.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Writes a stored (method 0) zip by hand, so tests can make archives no zip writer would
/// (duplicate names, `..`, NUL, backslashes, special file types).
pub fn raw_zip(entries: &[RawEntry]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for e in entries {
        let offset = out.len() as u32;
        let crc = crc32(&e.data);
        let size = e.data.len() as u32;
        let name_len = e.name.len() as u16;
        // local file header
        out.extend(0x0403_4b50u32.to_le_bytes());
        out.extend(20u16.to_le_bytes()); // version needed
        out.extend(0x0800u16.to_le_bytes()); // UTF-8 flag
        out.extend(0u16.to_le_bytes()); // stored
        out.extend(0u16.to_le_bytes()); // time
        out.extend(0x5A21u16.to_le_bytes()); // date 2025-01-01
        out.extend(crc.to_le_bytes());
        out.extend(size.to_le_bytes());
        out.extend(size.to_le_bytes());
        out.extend(name_len.to_le_bytes());
        out.extend(0u16.to_le_bytes());
        out.extend(&e.name);
        out.extend(&e.data);
        // central directory header
        central.extend(0x0201_4b50u32.to_le_bytes());
        central.extend(((3u16 << 8) | 20).to_le_bytes()); // made by unix
        central.extend(20u16.to_le_bytes());
        central.extend(0x0800u16.to_le_bytes());
        central.extend(0u16.to_le_bytes());
        central.extend(0u16.to_le_bytes());
        central.extend(0x5A21u16.to_le_bytes());
        central.extend(crc.to_le_bytes());
        central.extend(size.to_le_bytes());
        central.extend(size.to_le_bytes());
        central.extend(name_len.to_le_bytes());
        central.extend(0u16.to_le_bytes()); // extra
        central.extend(0u16.to_le_bytes()); // comment
        central.extend(0u16.to_le_bytes()); // disk
        central.extend(0u16.to_le_bytes()); // internal attrs
        central.extend((e.mode << 16).to_le_bytes());
        central.extend(offset.to_le_bytes());
        central.extend(&e.name);
    }
    let cd_offset = out.len() as u32;
    let cd_len = central.len() as u32;
    out.extend(&central);
    out.extend(0x0605_4b50u32.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out.extend((entries.len() as u16).to_le_bytes());
    out.extend((entries.len() as u16).to_le_bytes());
    out.extend(cd_len.to_le_bytes());
    out.extend(cd_offset.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out
}

/// How [`writer_zip`] stores entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZipStyle {
    /// Deflated files, stored folders and empty files, with folder entries (what the Capgo CLI makes).
    CapgoLike,
    /// Every entry stored (method 0).
    Stored,
    /// Files only, no folder entries (the CLI on Windows).
    FilesOnly,
    /// Written to a non-seekable stream: sizes and CRC in data descriptors after each entry.
    DataDescriptors,
}

/// Builds a zip with the `zip` crate's writer from `(path, content)` pairs (paths with `/`).
pub fn writer_zip(files: &[(&str, &[u8])], style: ZipStyle) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let method = match style {
        ZipStyle::Stored => zip::CompressionMethod::Stored,
        _ => zip::CompressionMethod::Deflated,
    };
    let opts = SimpleFileOptions::default()
        .compression_method(method)
        .unix_permissions(0o644);
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut dirs = std::collections::BTreeSet::new();
    for (p, _) in files {
        let parts: Vec<&str> = p.split('/').collect();
        for i in 1..parts.len() {
            dirs.insert(parts[..i].join("/"));
        }
    }
    let write_all = |w: &mut dyn FnMut(&str, Option<&[u8]>)| {
        if style != ZipStyle::FilesOnly {
            for d in &dirs {
                w(d, None);
            }
        }
        for (p, data) in files {
            w(p, Some(data));
        }
    };
    if style == ZipStyle::DataDescriptors {
        let mut out = Vec::new();
        {
            let mut zw = zip::ZipWriter::new_stream(&mut out);
            write_all(&mut |name, data| match data {
                None => zw.add_directory(name, stored).unwrap(),
                Some(d) => {
                    zw.start_file(name, if d.is_empty() { stored } else { opts })
                        .unwrap();
                    zw.write_all(d).unwrap();
                }
            });
            zw.finish().unwrap();
        }
        return out;
    }
    let mut zw = zip::ZipWriter::new(Cursor::new(Vec::new()));
    write_all(&mut |name, data| match data {
        None => zw.add_directory(name, stored).unwrap(),
        Some(d) => {
            zw.start_file(name, if d.is_empty() { stored } else { opts })
                .unwrap();
            zw.write_all(d).unwrap();
        }
    });
    zw.finish().unwrap().into_inner()
}

/// A small realistic web app: index.html, js, css, nested asset, unicode name, empty file.
pub fn small_app() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "index.html",
            b"<!doctype html><script src=app.js></script>".to_vec(),
        ),
        ("app.js", b"CapacitorUpdater.notifyAppReady();\n".repeat(20)),
        ("style.css", b"body{margin:0}".to_vec()),
        (
            "assets/img/logo.png",
            (0..2000u32).map(|i| (i * 7919 % 251) as u8).collect(),
        ),
        (
            "i18n/ünïcødé-文件.json",
            "{\"hello\":\"wörld\"}".as_bytes().to_vec(),
        ),
        ("empty.txt", Vec::new()),
    ]
}

pub fn as_refs<'a>(files: &'a [(&'static str, Vec<u8>)]) -> Vec<(&'static str, &'a [u8])> {
    files.iter().map(|(n, d)| (*n, d.as_slice())).collect()
}

/// Every file and folder under `root` as (relative path, Some(content) | None for folders), sorted.
pub fn tree(root: &Path) -> Vec<(String, Option<Vec<u8>>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Option<Vec<u8>>)>) {
        for e in fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            let rel = p
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let ft = fs::symlink_metadata(&p).unwrap().file_type();
            assert!(!ft.is_symlink(), "symlink in output: {rel}");
            if ft.is_dir() {
                out.push((rel, None));
                walk(root, &p, out);
            } else {
                out.push((rel, Some(fs::read(&p).unwrap())));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

/// Names in a folder (to prove nothing was left next to a destination).
pub fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// What a child process did: exit code, output, and its own peak resident memory.
pub struct Measured {
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// The child's peak RSS in bytes (`ru_maxrss` from `wait4`, that child only).
    pub peak_rss: u64,
}

impl Measured {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}): {} / stderr: {}",
                String::from_utf8_lossy(&self.stdout),
                String::from_utf8_lossy(&self.stderr)
            )
        })
    }
}

/// Runs `cmd` to its end (stdin from `input`) and measures its own peak RSS.
///
/// Linux counts into a child's `ru_maxrss` the memory of the process it was forked from (the
/// old address space at `exec`), so a command spawned straight from this test process — which
/// holds the large answers it serves — would be charged for them. The command is therefore
/// spawned by a fresh copy of this test binary running only its `measure_launcher` test (a few
/// MiB; a test file that uses this function declares it with [`measure_launcher!`]),
/// which waits for it with `wait4` and writes its peak RSS to a file. Bounded by `limit`: the
/// launcher kills a command still running then.
pub fn run_measured(
    cmd: &mut std::process::Command,
    input: &[u8],
    limit: std::time::Duration,
) -> Measured {
    let dir = tempfile::tempdir().unwrap();
    let path = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
    fs::write(path("stdin"), input).unwrap();
    let env: Vec<serde_json::Value> = cmd
        .get_envs()
        .map(|(k, v)| {
            serde_json::json!([
                k.to_string_lossy(),
                v.map(|v| v.to_string_lossy().into_owned())
            ])
        })
        .collect();
    let spec = serde_json::json!({
        "program": cmd.get_program().to_string_lossy(),
        "args": cmd.get_args().map(|a| a.to_string_lossy().into_owned()).collect::<Vec<_>>(),
        "env": env,
        "cwd": cmd.get_current_dir().map(|d| d.to_string_lossy().into_owned()),
        "stdin": path("stdin"), "stdout": path("stdout"), "stderr": path("stderr"),
        "rss": path("rss"), "limit_ms": limit.as_millis() as u64,
    });
    let me = std::env::current_exe().unwrap();
    let status = cli_command(&me.to_string_lossy())
        .args([
            "--exact",
            "measure_launcher",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("LIVEUPDATE_MEASURE", spec.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "the measuring launcher failed");
    let report: serde_json::Value =
        serde_json::from_slice(&fs::read(path("rss")).unwrap()).unwrap();
    Measured {
        code: report["code"].as_i64().map(|c| c as i32),
        stdout: fs::read(path("stdout")).unwrap(),
        stderr: fs::read(path("stderr")).unwrap(),
        peak_rss: report["peak_rss"].as_u64().unwrap(),
    }
}

/// The other half of [`run_measured`]: runs only in a launcher process (`LIVEUPDATE_MEASURE`
/// set); in a normal test run it returns at once. Test-only `unsafe`: libc's `wait4` and `kill`,
/// which std does not offer.
#[allow(unsafe_code)]
pub fn measure_launcher_body() {
    let Ok(spec) = std::env::var("LIVEUPDATE_MEASURE") else {
        return;
    };
    let spec: serde_json::Value = serde_json::from_str(&spec).unwrap();
    let s = |k: &str| spec[k].as_str().unwrap().to_string();
    let mut c = std::process::Command::new(s("program"));
    for a in spec["args"].as_array().unwrap() {
        c.arg(a.as_str().unwrap());
    }
    for kv in spec["env"].as_array().unwrap() {
        match kv[1].as_str() {
            Some(v) => c.env(kv[0].as_str().unwrap(), v),
            None => c.env_remove(kv[0].as_str().unwrap()),
        };
    }
    if let Some(d) = spec["cwd"].as_str() {
        c.current_dir(d);
    }
    c.env_remove("LIVEUPDATE_MEASURE")
        .stdin(fs::File::open(s("stdin")).unwrap())
        .stdout(fs::File::create(s("stdout")).unwrap())
        .stderr(fs::File::create(s("stderr")).unwrap());
    let child = c.spawn().unwrap();
    let pid = child.id() as libc::pid_t;
    let limit = std::time::Duration::from_millis(spec["limit_ms"].as_u64().unwrap());
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let d = done.clone();
    std::thread::spawn(move || {
        let end = std::time::Instant::now() + limit;
        while std::time::Instant::now() < end && !d.load(std::sync::atomic::Ordering::SeqCst) {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        if !d.load(std::sync::atomic::Ordering::SeqCst) {
            // SAFETY: signalling our own child, not reaped yet (wait4 below has not returned).
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    });
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our child; `status` and `usage` are valid for writes.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(r, pid, "wait4 failed");
    std::mem::forget(child);
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    // Linux reports kilobytes.
    let report = serde_json::json!({"code": code, "peak_rss": (usage.ru_maxrss as u64) * 1024});
    fs::write(s("rss"), report.to_string()).unwrap();
}

/// Declares the `measure_launcher` test [`run_measured`] relaunches the test binary with (a
/// normal test run passes it at once).
#[macro_export]
macro_rules! measure_launcher {
    () => {
        #[test]
        fn measure_launcher() {
            $crate::measure_launcher_body();
        }
    };
}

/// Leaves `n` stale entries in a data folder, as killed installs, deletes and downloads would
/// over a long time: orphan bundle folders (with files), staging folders, partial downloads,
/// delta pool temporaries and orphan file indexes. Returns how many entries were made.
pub fn leave_stale_entries(data: &Path, n: usize) -> usize {
    let dirs = [
        data.join("bundles"),
        data.join("downloads"),
        data.join("delta-pool"),
        data.join("delta-index"),
    ];
    for d in &dirs {
        fs::create_dir_all(d).unwrap();
    }
    for i in 0..n {
        match i % 4 {
            0 => {
                let b = dirs[0].join(format!("orphan{i:06}"));
                fs::create_dir_all(b.join("js")).unwrap();
                fs::write(b.join("index.html"), b"<html>").unwrap();
                fs::write(b.join("js/app.js"), b"x").unwrap();
            }
            1 => fs::write(dirs[1].join(format!("stale-{i}.part")), b"partial").unwrap(),
            2 => fs::write(dirs[2].join(format!(".tmp-{i:06}-abcdefgh")), b"t").unwrap(),
            _ => fs::write(dirs[3].join(format!("gone{i:06}")), b"h\tp\n").unwrap(),
        }
    }
    n
}

/// The stale entries [`leave_stale_entries`] made that are still there.
pub fn stale_entries_left(data: &Path) -> usize {
    let count = |d: &str, pick: &dyn Fn(&str) -> bool| {
        fs::read_dir(data.join(d))
            .map(|r| {
                r.flatten()
                    .filter(|e| pick(&e.file_name().to_string_lossy()))
                    .count()
            })
            .unwrap_or(0)
    };
    count("bundles", &|n| n.starts_with("orphan"))
        + count("downloads", &|n| n.starts_with("stale-"))
        + count("delta-pool", &|n| n.starts_with(".tmp-"))
        + count("delta-index", &|n| n.starts_with("gone"))
        + count("trash", &|_| true)
}

/// Bytes available to an unprivileged user on the file system holding `path` (`df`), for tests
/// that fill a small file system.
pub fn available_space(path: &Path) -> u64 {
    let out = std::process::Command::new("df")
        .args(["-B1", "--output=avail"])
        .arg(path)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines().nth(1).unwrap().trim().parse().unwrap()
}

/// One app under test, the set-up the suites share: a temp folder with the builtin web folder
/// (`www/index.html`), the data folder's path (not created: the core creates it) and the loopback
/// fault server serving `bundle` at `/bundle.zip`. Suites wrap it in their own `Env` with what
/// they add (a key set, a config file, an engine) and reach its fields through `Deref`.
pub struct TestApp {
    /// Removed with everything in it when the app is dropped.
    pub tmp: tempfile::TempDir,
    /// The data folder (`<tmp>/data`).
    pub data: PathBuf,
    /// The builtin web folder (`<tmp>/www`).
    pub www: PathBuf,
    /// The update server.
    pub server: fault_server::FaultServer,
}

impl TestApp {
    /// A one-page builtin app and a server serving `bundle`.
    pub fn new(bundle: Vec<u8>) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let www = tmp.path().join("www");
        fs::create_dir(&www).unwrap();
        fs::write(www.join("index.html"), "<html>builtin</html>").unwrap();
        Self {
            data: tmp.path().join("data"),
            www,
            server: fault_server::FaultServer::start(bundle),
            tmp,
        }
    }

    /// `plugins.CapacitorUpdater` pointing at this app's server (updates, stats, channels) with
    /// `public_pem`, then `extra`'s keys on top.
    pub fn plugin_config(&self, public_pem: &str, extra: &serde_json::Value) -> serde_json::Value {
        let mut p = serde_json::json!({
            "updateUrl": self.server.url("/updates"),
            "statsUrl": self.server.url("/stats"),
            "channelUrl": self.server.url("/channel_self"),
            "publicKey": public_pem,
        });
        for (k, v) in extra.as_object().into_iter().flatten() {
            p[k] = v.clone();
        }
        p
    }

    /// A whole `capacitor.config.json` for app `com.example.liveupdate` with `plugin` as its
    /// `CapacitorUpdater` section.
    pub fn capacitor_config(plugin: serde_json::Value) -> serde_json::Value {
        serde_json::json!({"appId": "com.example.liveupdate", "plugins": {"CapacitorUpdater": plugin}})
    }
}

/// The `liveupdate` command line at `path` as a command to spawn: run directly, or through the
/// runner `LIVEUPDATE_TEST_RUNNER` names (cross-compiled test runs: `qemu-aarch64 -L
/// /usr/aarch64-linux-gnu`), so the CLI suites run on emulated CPUs without binfmt_misc.
pub fn cli_command(path: &str) -> std::process::Command {
    let runner = std::env::var("LIVEUPDATE_TEST_RUNNER").unwrap_or_default();
    let mut parts = runner.split_whitespace();
    match parts.next() {
        Some(program) => {
            let mut c = std::process::Command::new(program);
            c.args(parts).arg(path);
            c
        }
        None => std::process::Command::new(path),
    }
}

/// Whether the tests run under an emulator (`LIVEUPDATE_TEST_RUNNER` set): the slow harnesses
/// take fewer iterations, and figures that measure the host process (peak RSS) are skipped.
pub fn emulated() -> bool {
    !std::env::var("LIVEUPDATE_TEST_RUNNER")
        .unwrap_or_default()
        .trim()
        .is_empty()
}
