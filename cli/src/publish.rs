//! Publish: makes a signed static site (`liveupdate-static/1`) — the bundle encrypted and signed exactly as the Capgo CLI does, content-addressed files, then the channel file and its signature, each replaced atomically.

use std::collections::BTreeSet;
use std::fs;
use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};

use aes::Aes128;
use base64ct::{Base64, Encoding};
use cbc::cipher::{BlockModeEncrypt, KeyIvInit, block_padding::Pkcs7};
use liveupdate::static_site;
use ring::rand::{SecureRandom, SystemRandom};
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::pkcs8::DecodePrivateKey;
use rsa::{Pkcs1v15Sign, RsaPrivateKey};
use serde_json::{Map, Value, json};

/// What `liveupdate publish` was asked to do.
#[derive(Debug, Clone)]
pub struct Publish {
    /// The site folder (created if missing).
    pub site: PathBuf,
    /// The channel to publish to.
    pub channel: String,
    /// The version label.
    pub version: String,
    /// A built web folder or a zip.
    pub bundle: PathBuf,
    /// The private key PEM (`.capgo_key_v2`, PKCS#1; PKCS#8 accepted).
    pub private_key: PathBuf,
    /// The app id; `None` = `appId` of `./capacitor.config.json`.
    pub app_id: Option<String>,
    /// Absolute base URL of the site for the URLs in the channel file; `None` = relative URLs.
    pub base_url: Option<String>,
    /// `rollout_percent` (0–100).
    pub rollout: Option<u64>,
    /// `min_native_version`.
    pub min_native_version: Option<String>,
    /// `expires_at` = now + this many days.
    pub expires_in_days: Option<u64>,
    /// Also write the delta files and the manifest.
    pub delta: bool,
    /// Publish the plain zip (an app without a public key).
    pub no_encrypt: bool,
}

/// What was published (`--json` prints it).
#[derive(Debug, Clone)]
pub struct Published {
    /// The channel.
    pub channel: String,
    /// The version.
    pub version: String,
    /// The bundle URL as written in the channel file.
    pub url: String,
    /// The checksum (V3 signed hex, or the plain SHA-256 with `--no-encrypt`).
    pub checksum: String,
    /// `ivSessionKey`, when encrypted.
    pub session_key: Option<String>,
    /// `published_at`.
    pub published_at: String,
    /// Files written (bundle, delta files, channel file, signature, index).
    pub files_written: usize,
}

impl Published {
    /// `{"channel","version","url","checksum","session_key","published_at"}`.
    pub fn to_json(&self) -> Value {
        json!({"channel": self.channel, "version": self.version, "url": self.url,
               "checksum": self.checksum, "session_key": self.session_key,
               "published_at": self.published_at})
    }
}

type Res<T> = Result<T, String>;
/// A bundle's files: `/`-separated names with their bytes, in name order.
type Files = Vec<(String, Vec<u8>)>;
/// A web folder's sub-folders and files (name, path on disk).
type Tree = (BTreeSet<String>, Vec<(String, PathBuf)>);

/// The key material: Capgo's type-1 private operation (the `rsa` crate) and the channel
/// signature (RSASSA-PKCS1-v1_5 SHA-256, `ring`).
struct Signer {
    rsa: RsaPrivateKey,
    ring: ring::signature::RsaKeyPair,
}

impl Signer {
    fn load(path: &Path) -> Res<Self> {
        let pem = fs::read_to_string(path)
            .map_err(|e| format!("cannot read the private key {}: {e}", path.display()))?;
        let rsa = RsaPrivateKey::from_pkcs1_pem(pem.trim())
            .or_else(|_| RsaPrivateKey::from_pkcs8_pem(pem.trim()))
            .map_err(|_| {
                "the private key is not an RSA private key in PEM (PKCS#1 as `npx @capgo/cli key create` writes, or PKCS#8)".to_string()
            })?;
        let der = rsa
            .to_pkcs1_der()
            .map_err(|e| format!("cannot encode the private key: {e}"))?;
        let ring = ring::signature::RsaKeyPair::from_der(der.as_bytes())
            .map_err(|e| format!("the private key cannot sign (2048 to 8192 bits needed): {e}"))?;
        Ok(Self { rsa, ring })
    }

    /// Capgo's private operation: PKCS#1 v1.5 type-1 padding, no DigestInfo.
    fn type1(&self, payload: &[u8]) -> Res<Vec<u8>> {
        self.rsa
            .sign(Pkcs1v15Sign::new_unprefixed(), payload)
            .map_err(|e| format!("RSA private operation failed: {e}"))
    }

    /// The channel file's signature.
    fn sign_sha256(&self, message: &[u8]) -> Res<Vec<u8>> {
        let mut sig = vec![0u8; self.ring.public().modulus_len()];
        self.ring
            .sign(
                &ring::signature::RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                message,
                &mut sig,
            )
            .map_err(|_| "signing the channel file failed".to_string())?;
        Ok(sig)
    }
}

fn sha256(b: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, b);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn random16() -> Res<[u8; 16]> {
    let mut b = [0u8; 16];
    SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| "no randomness available".to_string())?;
    Ok(b)
}

/// The files of a built web folder, `/`-separated relative paths in name order (folders too).
fn walk(root: &Path) -> Res<Tree> {
    let mut dirs = BTreeSet::new();
    let mut files = Vec::new();
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = stack.pop() {
        let entries =
            fs::read_dir(&dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        for e in entries {
            let e = e.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
            let name = e
                .file_name()
                .into_string()
                .map_err(|_| format!("a file name in {} is not UTF-8", dir.display()))?;
            let rel = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            let t = e
                .file_type()
                .map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
            if t.is_dir() {
                dirs.insert(rel.clone());
                stack.push((e.path(), rel));
            } else if t.is_file() {
                files.push((rel, e.path()));
            } else {
                return Err(format!(
                    "{rel}: only files and folders can be published (a link or special file)"
                ));
            }
        }
    }
    files.sort();
    Ok((dirs, files))
}

/// The bundle's files (name, bytes) and its zip: a folder is zipped as `bundle zip` does
/// (every non-empty file deflated, folder entries, names sorted); a zip is used as it is.
fn bundle_files(path: &Path) -> Res<(Files, Vec<u8>)> {
    if path.is_dir() {
        let (dirs, files) = walk(path)?;
        let mut read = Vec::new();
        for (rel, p) in files {
            let b = fs::read(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
            read.push((rel, b));
        }
        use zip::write::SimpleFileOptions;
        let deflated = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .unix_permissions(0o644);
        let stored = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .unix_permissions(0o755);
        let mut zw = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let mut names: Vec<(String, Option<&[u8]>)> =
            dirs.iter().map(|d| (format!("{d}/"), None)).collect();
        names.extend(read.iter().map(|(n, b)| (n.clone(), Some(b.as_slice()))));
        names.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, data) in names {
            match data {
                None => zw
                    .add_directory(name.trim_end_matches('/'), stored)
                    .map_err(|e| format!("zip: {e}"))?,
                Some(d) => {
                    let o = if d.is_empty() { stored } else { deflated };
                    zw.start_file(name, o).map_err(|e| format!("zip: {e}"))?;
                    zw.write_all(d).map_err(|e| format!("zip: {e}"))?;
                }
            }
        }
        let zip = zw.finish().map_err(|e| format!("zip: {e}"))?.into_inner();
        Ok((read, zip))
    } else {
        let zip = fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mut archive = zip::ZipArchive::new(Cursor::new(zip.as_slice()))
            .map_err(|e| format!("{} is neither a folder nor a zip: {e}", path.display()))?;
        let mut read = Vec::new();
        for i in 0..archive.len() {
            let mut f = archive.by_index(i).map_err(|e| format!("zip: {e}"))?;
            if f.is_dir() {
                continue;
            }
            let name = f.name().map_err(|e| format!("zip: {e}"))?.to_string();
            let mut b = Vec::new();
            f.read_to_end(&mut b).map_err(|e| format!("zip: {e}"))?;
            read.push((name, b));
        }
        read.sort_by(|a, b| a.0.cmp(&b.0));
        Ok((read, zip))
    }
}

/// Writes `bytes` as `dir/<sha256 of bytes><ext>` unless that file is there already (with the
/// same bytes, by construction); never overwrites other bytes. Returns the name and whether it
/// was written.
fn put_content(dir: &Path, bytes: &[u8], ext: &str) -> Res<(String, bool)> {
    fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let name = format!("{}{ext}", hex(&sha256(bytes)));
    let path = dir.join(&name);
    if let Ok(existing) = fs::read(&path) {
        if existing == bytes {
            return Ok((name, false));
        }
        return Err(format!(
            "{} exists with other bytes: refusing to overwrite a published file",
            path.display()
        ));
    }
    static_site::write_atomic(&path, bytes)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok((name, true))
}

fn app_id_from_config() -> Res<String> {
    let text = fs::read_to_string("capacitor.config.json")
        .map_err(|_| "no --app-id and no ./capacitor.config.json to read appId from".to_string())?;
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| format!("./capacitor.config.json is not JSON: {e}"))?;
    v.get("appId")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| "./capacitor.config.json has no appId: pass --app-id".to_string())
}

/// Publishes one release to one channel of a site (see the module doc). Blocking file I/O.
pub fn publish(p: &Publish) -> Res<Published> {
    if !static_site::valid_channel(&p.channel) {
        return Err(format!(
            "channel {:?} cannot name a file: 1–128 of A-Z a-z 0-9 . _ -",
            p.channel
        ));
    }
    if p.version.trim().is_empty()
        || p.version.len() > 256
        || p.version.chars().any(char::is_control)
    {
        return Err("--version must be 1–256 characters without control characters".into());
    }
    if let Some(r) = p.rollout
        && r > 100
    {
        return Err("--rollout must be from 0 to 100".into());
    }
    let app_id = match &p.app_id {
        Some(a) => a.clone(),
        None => app_id_from_config()?,
    };
    let signer = Signer::load(&p.private_key)?;
    let (files, zip) = bundle_files(&p.bundle)?;
    if !files.iter().any(|(n, _)| n == "index.html") {
        return Err("the bundle has no index.html at its root".into());
    }
    let base = p.base_url.as_ref().map(|b| {
        if b.ends_with('/') {
            b.clone()
        } else {
            format!("{b}/")
        }
    });
    let link = |folder: &str, name: &str| match &base {
        Some(b) => format!("{b}{folder}/{name}"),
        None => format!("../{folder}/{name}"),
    };
    let mut written = 0;
    let digest = sha256(&zip);
    let (body, checksum, session_key, key_iv) = if p.no_encrypt {
        (zip, hex(&digest), None, None)
    } else {
        let (key, iv) = (random16()?, random16()?);
        let cipher = cbc::Encryptor::<Aes128>::new(&key.into(), &iv.into())
            .encrypt_padded_vec::<Pkcs7>(&zip);
        let wrapped = signer.type1(&key)?;
        let sk = format!(
            "{}:{}",
            Base64::encode_string(&iv),
            Base64::encode_string(&wrapped)
        );
        (
            cipher,
            hex(&signer.type1(&digest)?),
            Some(sk),
            Some((key, iv)),
        )
    };
    let (bundle_name, w) = put_content(&p.site.join("bundles"), &body, ".zip")?;
    written += usize::from(w);
    let url = link("bundles", &bundle_name);
    let mut file = Map::new();
    file.insert("format".into(), json!(static_site::FORMAT));
    file.insert("app_id".into(), json!(app_id));
    file.insert("channel".into(), json!(p.channel));
    file.insert("version".into(), json!(p.version));
    file.insert("url".into(), json!(url));
    file.insert("checksum".into(), json!(checksum));
    if let Some(sk) = &session_key {
        file.insert("session_key".into(), json!(sk));
    }
    if p.delta {
        // Capgo's delta manifest, as `bundle upload --delta` writes it: one entry per file, the
        // plain file's signed SHA-256, its body brotli-compressed when that pays (`.br` added to
        // the name) and encrypted with the release's session key.
        let mut manifest = Vec::with_capacity(files.len());
        for (plain_name, bytes) in &files {
            let h = sha256(bytes);
            let (name, plain_body) = match brotli_if_smaller(bytes)? {
                Some(c) => (format!("{plain_name}.br"), c),
                None => (plain_name.clone(), bytes.clone()),
            };
            let (file_hash, body) = match key_iv {
                Some((key, iv)) => (
                    hex(&signer.type1(&h)?),
                    cbc::Encryptor::<Aes128>::new(&key.into(), &iv.into())
                        .encrypt_padded_vec::<Pkcs7>(&plain_body),
                ),
                None => (hex(&h), plain_body),
            };
            let (stored, w) = put_content(&p.site.join("files"), &body, "")?;
            written += usize::from(w);
            manifest.push(json!({"file_name": name, "file_hash": file_hash,
                                 "download_url": link("files", &stored)}));
        }
        file.insert("manifest".into(), Value::Array(manifest));
    }
    if let Some(m) = &p.min_native_version {
        file.insert("min_native_version".into(), json!(m));
    }
    if let Some(r) = p.rollout {
        file.insert("rollout_percent".into(), json!(r));
    }
    let channels = p.site.join("channels");
    fs::create_dir_all(&channels)
        .map_err(|e| format!("cannot create {}: {e}", channels.display()))?;
    let channel_path = channels.join(format!("{}.json", p.channel));
    // published_at: now, strictly later than the file it replaces.
    let previous = fs::read(&channel_path)
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|v| {
            v.get("published_at")
                .and_then(Value::as_str)
                .and_then(static_site::parse_time)
        });
    let now = liveupdate_now_ms();
    let published_ms = match previous {
        Some(prev) if prev >= now => prev + 1,
        _ => now,
    };
    let published_at = static_site::format_time(published_ms);
    file.insert("published_at".into(), json!(published_at));
    if let Some(days) = p.expires_in_days {
        let ms = published_ms.saturating_add(days.saturating_mul(86_400_000));
        file.insert("expires_at".into(), json!(static_site::format_time(ms)));
    }
    let mut text = serde_json::to_vec_pretty(&Value::Object(file))
        .map_err(|e| format!("cannot write the channel file: {e}"))?;
    text.push(b'\n');
    let sig = format!("{}\n", Base64::encode_string(&signer.sign_sha256(&text)?));
    // The channel file, then its signature: between the two renames a device sees a mismatch,
    // refuses that answer and retries at its next check.
    static_site::write_atomic(&channel_path, &text)
        .map_err(|e| format!("cannot write {}: {e}", channel_path.display()))?;
    let sig_path = channels.join(format!("{}.json.sig", p.channel));
    static_site::write_atomic(&sig_path, sig.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", sig_path.display()))?;
    written += 2;
    // channels/index.json lists every channel published here.
    let index_path = channels.join("index.json");
    let mut names: BTreeSet<String> = fs::read(&index_path)
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|v| v.get("channels").and_then(Value::as_array).cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    if names.insert(p.channel.clone()) || !index_path.exists() {
        let mut idx = serde_json::to_vec_pretty(&json!({"channels": names}))
            .map_err(|e| format!("cannot write the index: {e}"))?;
        idx.push(b'\n');
        static_site::write_atomic(&index_path, &idx)
            .map_err(|e| format!("cannot write {}: {e}", index_path.display()))?;
        written += 1;
    }
    Ok(Published {
        channel: p.channel.clone(),
        version: p.version.clone(),
        url,
        checksum,
        session_key,
        published_at,
        files_written: written,
    })
}

fn liveupdate_now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The Capgo CLI's rule for delta bodies: brotli (quality 11, window 22, Node's defaults) for
/// files of at least 8 KiB whose compressed form is more than 10 bytes smaller.
fn brotli_if_smaller(bytes: &[u8]) -> Res<Option<Vec<u8>>> {
    if bytes.len() < 8192 {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(bytes.len() / 2);
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 64 * 1024, 11, 22);
        w.write_all(bytes)
            .map_err(|e| format!("brotli compression failed: {e}"))?;
        w.flush()
            .map_err(|e| format!("brotli compression failed: {e}"))?;
    }
    Ok((out.len() + 10 < bytes.len()).then_some(out))
}
