//! Download: stream a bundle over HTTP straight into the pipeline, keeping the received bytes so a cut connection resumes with `Range`.
//!
//! The body is read once: each network chunk is appended to `downloads/<key>.part` and handed to the
//! consumer (the unpack pipeline) in the same pass. After a network failure the next attempt feeds
//! the consumer the bytes already on disk, then asks the server only for the rest (`Range` +
//! `If-Range`), so a resumed download transfers each byte about once. A 200 instead of a 206, or a
//! 206 for the wrong range, restarts cleanly from zero. Any failure that is not the network's (a
//! checksum mismatch, say) discards the partial file.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};

use crate::bundle::fs_atomic::write_unflushed;
use crate::error::{Error, Result};
use crate::net::http::Http;

/// Receives download progress. Called from the downloading thread, at most about 100 times.
pub trait DownloadListener: Send + Sync {
    /// `received` bytes of `total` (if known); `percent` is 0–100 (0 while the total is unknown).
    fn on_progress(&self, received: u64, total: Option<u64>, percent: u8);
    /// The transfer begins: the release passed the refusal rule and no installed copy could be
    /// reused (a refused or reused release never starts one). Default: nothing.
    fn on_start(&self) {}
}

/// One download's settings.
pub struct DownloadJob<'a> {
    /// The client.
    pub http: &'a Http,
    /// The bundle URL.
    pub url: &'a str,
    /// Folder for the partial file and its sidecar.
    pub dir: &'a Path,
    /// Names the partial file: the same key resumes the same bytes (derive it from version + checksum).
    pub key: &'a str,
    /// Most bytes the body may have (endless-body protection).
    pub max_bytes: u64,
    /// Attempts in all (first + retries).
    pub attempts: u32,
    /// First retry delay; doubled each time (with jitter), at most 16×.
    pub backoff: Duration,
    /// No attempt starts, and no read continues, after this instant.
    pub deadline: Instant,
    /// Set from another thread to stop the download; honoured within ~100 ms, even while the
    /// network is stalled.
    pub cancel: &'a Arc<AtomicBool>,
    /// Progress receiver (called from the network thread).
    pub listener: Option<Arc<dyn DownloadListener>>,
}

/// What the download did, for reports and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DownloadStats {
    /// Attempts made.
    pub attempts: u32,
    /// Bytes received from the network in all attempts.
    pub network_bytes: u64,
    /// Bytes reused from the partial file instead of being fetched again.
    pub resumed_bytes: u64,
    /// For a delta (manifest) release: what came from the device and what was fetched.
    pub delta: Option<DeltaFigures>,
}

/// The file counts of a delta (manifest) install.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeltaFigures {
    /// Files in the new bundle.
    pub files: u64,
    /// Files taken from the device (installed bundles, builtin, pool), each re-hashed.
    pub reused: u64,
    /// Files fetched over the network.
    pub fetched: u64,
    /// Plain bytes taken from the device.
    pub reused_bytes: u64,
    /// Plain bytes of the fetched files.
    pub fetched_bytes: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Sidecar {
    url: String,
    validator: Option<String>,
    total: Option<u64>,
}

/// Why a read of the network stream stopped.
#[derive(Debug)]
struct NetFailure {
    retryable: bool,
    error: Error,
}

/// What the network thread hands to the consumer.
enum Msg {
    /// A buffer of `CHUNK` bytes whose first `n` hold data (buffers keep their length, so a
    /// recycled one is never zeroed again).
    Data(Vec<u8>, usize),
    Fail(NetFailure),
    End,
}

/// Network chunk size handed to the consumer.
const CHUNK: usize = 256 * 1024;
/// Chunks in flight between the network thread and the consumer (bounded memory).
const IN_FLIGHT: usize = 4;

/// How often a consumer waiting for the network looks at cancellation and the deadline.
const POLL: Duration = Duration::from_millis(100);

/// The network side of one attempt, run on its own (detached) thread so the transfer overlaps
/// decryption, hashing and writing: read the body, append it to the partial file, report progress,
/// pass it on. It owns everything it touches, so a consumer that gives up (cancellation, deadline)
/// never waits for a stalled read: it raises `stop`, and the pump writes nothing more and ends when
/// its read returns (at the latest after the stall timeout).
struct Pump {
    net: Box<dyn Read + Send>,
    part: File,
    received: u64,
    total: Option<u64>,
    cancel: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    deadline: Instant,
    max_bytes: u64,
    listener: Option<Arc<dyn DownloadListener>>,
    network_bytes: Arc<AtomicU64>,
    last_percent: Option<u8>,
    last_report: u64,
    /// Buffers the consumer is done with (a small pool: no allocation or page faults per chunk).
    recycled: mpsc::Receiver<Vec<u8>>,
}

impl Pump {
    fn report(&mut self) {
        let Some(listener) = self.listener.clone() else {
            return;
        };
        match self.total {
            Some(t) if t > 0 => {
                let p =
                    u8::try_from((self.received.saturating_mul(100) / t).min(100)).unwrap_or(100);
                if self.last_percent != Some(p) {
                    self.last_percent = Some(p);
                    listener.on_progress(self.received, self.total, p);
                }
            }
            _ => {
                // Unknown size: every 4 MiB.
                if self.received >= self.last_report + (4 << 20) {
                    self.last_report = self.received;
                    listener.on_progress(self.received, None, 0);
                }
            }
        }
    }

    /// Reads the next chunk: `Ok(None)` at a complete end of body.
    fn next_chunk(&mut self) -> std::result::Result<Option<(Vec<u8>, usize)>, NetFailure> {
        let fail = |retryable, error| NetFailure { retryable, error };
        if self.cancel.load(Ordering::Relaxed) || self.stop.load(Ordering::Relaxed) {
            return Err(fail(false, Error::Cancelled));
        }
        if Instant::now() >= self.deadline {
            return Err(fail(
                false,
                Error::Network("the download did not finish within the update time limit".into()),
            ));
        }
        let mut buf = self
            .recycled
            .try_recv()
            .unwrap_or_else(|_| vec![0u8; CHUNK]);
        let n = loop {
            match self.net.read(&mut buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(fail(
                        true,
                        Error::Network(format!("download interrupted: {e}")),
                    ));
                }
            }
        };
        if n == 0 {
            if let Some(total) = self.total
                && self.received < total
            {
                return Err(fail(
                    true,
                    Error::Network(format!(
                        "connection closed after {} of {total} bytes",
                        self.received
                    )),
                ));
            }
            return Ok(None);
        }
        if self.received + n as u64 > self.max_bytes {
            return Err(fail(
                false,
                Error::Limit(format!(
                    "the download is larger than {} bytes (maxDownloadBytes)",
                    self.max_bytes
                )),
            ));
        }
        // A consumer that gave up may already have started over on this file: write nothing more.
        if self.stop.load(Ordering::SeqCst) || self.cancel.load(Ordering::SeqCst) {
            return Err(fail(false, Error::Cancelled));
        }
        self.network_bytes.fetch_add(n as u64, Ordering::Relaxed);
        if let Err(e) = self.part.write_all(&buf[..n]) {
            return Err(fail(false, Error::io("writing", "the partial download")(e)));
        }
        self.received += n as u64;
        self.report();
        Ok(Some((buf, n)))
    }

    /// Runs until the body ends, fails, or the consumer hangs up.
    fn run(mut self, tx: mpsc::SyncSender<Msg>) {
        loop {
            let msg = match self.next_chunk() {
                Ok(Some((chunk, n))) => Msg::Data(chunk, n),
                Ok(None) => Msg::End,
                Err(f) => Msg::Fail(f),
            };
            let last = !matches!(msg, Msg::Data(..));
            if tx.send(msg).is_err() || last {
                return;
            }
        }
    }
}

/// The consumer's view of one attempt: the bytes already on disk, then the network chunks.
struct Feed {
    /// Exactly the bytes on disk before this attempt (the network thread appends after them).
    prefix: Option<io::Take<File>>,
    rx: mpsc::Receiver<Msg>,
    /// The chunk being read (`cur[..cur_len]`), and where its buffer goes when done.
    cur: Vec<u8>,
    cur_len: usize,
    recycle: mpsc::SyncSender<Vec<u8>>,
    pos: usize,
    failure: Option<NetFailure>,
    cancel: Arc<AtomicBool>,
    deadline: Instant,
    /// The pump sent its last message (end of body or its own failure).
    pump_done: bool,
}

impl Feed {
    /// The next message, waiting in short steps so cancellation and the deadline are honoured
    /// even while the network is stalled.
    fn next_msg(&mut self) -> Msg {
        loop {
            if self.cancel.load(Ordering::Relaxed) {
                return Msg::Fail(NetFailure {
                    retryable: false,
                    error: Error::Cancelled,
                });
            }
            if Instant::now() >= self.deadline {
                return Msg::Fail(NetFailure {
                    retryable: false,
                    error: Error::Network(
                        "the download did not finish within the update time limit".into(),
                    ),
                });
            }
            match self.rx.recv_timeout(POLL) {
                Ok(m) => {
                    self.pump_done = !matches!(m, Msg::Data(..));
                    return m;
                }
                Err(mpsc::RecvTimeoutError::Timeout) => continue,
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    self.pump_done = true;
                    return Msg::Fail(NetFailure {
                        retryable: true,
                        error: Error::Network("the download stopped".into()),
                    });
                }
            }
        }
    }
}

impl Read for Feed {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(prefix) = &mut self.prefix {
            let n = prefix.read(buf)?;
            if n > 0 {
                return Ok(n);
            }
            self.prefix = None;
        }
        if self.pos == self.cur_len {
            match self.next_msg() {
                Msg::Data(chunk, n) => {
                    let done = std::mem::replace(&mut self.cur, chunk);
                    if !done.is_empty() {
                        let _ = self.recycle.try_send(done);
                    }
                    self.cur_len = n;
                    self.pos = 0;
                }
                Msg::End => return Ok(0),
                Msg::Fail(f) => {
                    let msg = f.error.to_string();
                    self.failure = Some(f);
                    return Err(io::Error::other(msg));
                }
            }
        }
        let n = buf.len().min(self.cur_len - self.pos);
        buf[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

fn jitter(d: Duration) -> Duration {
    let mut b = [0u8; 2];
    let r = SystemRandom::new()
        .fill(&mut b)
        .map(|_| u16::from_le_bytes(b))
        .unwrap_or(32768);
    // 50 % to 150 % of d.
    d.mul_f64(0.5 + f64::from(r) / 65535.0)
}

fn sleep_until_before(deadline: Instant, d: Duration, cancel: &AtomicBool) -> bool {
    let end = Instant::now() + d;
    if end >= deadline {
        return false;
    }
    while Instant::now() < end {
        if cancel.load(Ordering::Relaxed) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20).min(end - Instant::now()));
    }
    true
}

/// Paths of the partial file and its sidecar for `key`.
fn paths(dir: &Path, key: &str) -> (PathBuf, PathBuf) {
    (
        dir.join(format!("{key}.part")),
        dir.join(format!("{key}.json")),
    )
}

/// The file that holds the downloaded body for `key` (complete once `fetch_with` returned Ok).
pub fn part_path(dir: &Path, key: &str) -> PathBuf {
    paths(dir, key).0
}

/// Removes the partial download for `key`, if any.
pub fn discard(dir: &Path, key: &str) {
    let (part, meta) = paths(dir, key);
    let _ = fs::remove_file(part);
    let _ = fs::remove_file(meta);
}

/// Downloads `job.url` into [`part_path`] and runs `consume` over the whole body as one stream
/// while it arrives (see the module doc), retrying network failures with backoff and resume.
/// `consume` gets the stream and the expected size (0 if unknown). On success the complete body
/// stays in the partial file for the caller, who must [`discard`] it. Blocks; network and disk I/O.
pub fn fetch_with<T>(
    job: &DownloadJob<'_>,
    mut consume: impl FnMut(&mut dyn Read, u64) -> Result<T>,
) -> Result<(T, DownloadStats)> {
    fs::create_dir_all(job.dir).map_err(Error::io("creating", job.dir))?;
    let (part_path, meta_path) = paths(job.dir, job.key);
    let mut stats = DownloadStats::default();
    let mut last_error = Error::Network("no download attempt was made".into());
    let mut delay = job.backoff;
    for attempt in 0..job.attempts.max(1) {
        if job.cancel.load(Ordering::Relaxed) {
            return Err(Error::Cancelled);
        }
        if attempt > 0 {
            if !sleep_until_before(job.deadline, jitter(delay), job.cancel) {
                return Err(if job.cancel.load(Ordering::Relaxed) {
                    Error::Cancelled
                } else {
                    last_error
                });
            }
            delay = (delay * 2).min(job.backoff * 16);
        }
        stats.attempts += 1;
        let sidecar: Option<Sidecar> = fs::read(&meta_path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .filter(|s: &Sidecar| s.url == job.url);
        let have = match (&sidecar, fs::metadata(&part_path)) {
            (Some(_), Ok(m)) => m.len(),
            _ => {
                discard(job.dir, job.key);
                0
            }
        };
        let validator = sidecar.as_ref().and_then(|s| s.validator.clone());
        let range = (have > 0).then_some((have, validator.as_deref()));
        let resp = match job.http.stream(job.url, range, job.deadline) {
            Ok(r) => r,
            Err(e @ Error::UrlPolicy(_)) => return Err(e),
            Err(e) => {
                last_error = e;
                continue;
            }
        };
        let (start, total) = match resp.status {
            200 => (0, resp.content_length),
            206 => match resp.content_range {
                Some((a, _, total)) if a == have => (have, total),
                _ => {
                    // Not the range we asked for: start over without Range.
                    discard(job.dir, job.key);
                    last_error = Error::Network("the server answered a different range".into());
                    continue;
                }
            },
            416 => {
                discard(job.dir, job.key);
                last_error = Error::Network("the server refused the resume range".into());
                continue;
            }
            408 | 429 | 500..=599 => {
                last_error = Error::Network(format!("the server answered HTTP {}", resp.status));
                if let Some(secs) = resp
                    .retry_after
                    .as_deref()
                    .and_then(|v| v.parse::<u64>().ok())
                {
                    delay = delay.max(Duration::from_secs(secs.min(60)));
                }
                continue;
            }
            s => {
                return Err(Error::Network(format!(
                    "the server answered HTTP {s} for the bundle"
                )));
            }
        };
        if let Some(t) = total
            && t > job.max_bytes
        {
            discard(job.dir, job.key);
            return Err(Error::Limit(format!(
                "the bundle is {t} bytes, more than maxDownloadBytes ({})",
                job.max_bytes
            )));
        }
        if start == 0 && have > 0 {
            discard(job.dir, job.key);
        }
        let meta = Sidecar {
            url: job.url.to_string(),
            validator: resp.etag.clone().or(resp.last_modified.clone()),
            total,
        };
        let meta_bytes = serde_json::to_vec(&meta)
            .map_err(|e| Error::Network(format!("cannot encode download state: {e}")))?;
        // A resume hint, not a commit: the partial file beside it is not flushed either, and every
        // byte is checked against the signed checksum in the end. A sidecar lost or torn by a power
        // cut only makes the next attempt start from zero (it is read with a fallback).
        write_unflushed(&meta_path, &meta_bytes)?;
        let part = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&part_path)
            .map_err(Error::io("opening", &part_path))?;
        let prefix = if start > 0 {
            stats.resumed_bytes += start;
            Some(
                File::open(&part_path)
                    .map_err(Error::io("opening", &part_path))?
                    .take(start),
            )
        } else {
            None
        };
        let stop = Arc::new(AtomicBool::new(false));
        let network_bytes = Arc::new(AtomicU64::new(0));
        let (recycle, recycled) = mpsc::sync_channel(IN_FLIGHT + 2);
        let pump = Pump {
            net: resp.body,
            part,
            received: start,
            total,
            cancel: job.cancel.clone(),
            stop: stop.clone(),
            deadline: job.deadline,
            max_bytes: job.max_bytes,
            listener: job.listener.clone(),
            network_bytes: network_bytes.clone(),
            last_percent: None,
            last_report: start,
            recycled,
        };
        let (tx, rx) = mpsc::sync_channel(IN_FLIGHT);
        let mut feed = Feed {
            prefix,
            rx,
            cur: Vec::new(),
            cur_len: 0,
            recycle,
            pos: 0,
            failure: None,
            cancel: job.cancel.clone(),
            deadline: job.deadline,
            pump_done: false,
        };
        let net = std::thread::Builder::new()
            .name("liveupdate-download".into())
            .spawn(move || pump.run(tx))
            .map_err(Error::io("starting the download thread", ""))?;
        let result = consume(&mut feed, total.unwrap_or(start));
        // Hanging up stops the network thread at its next chunk; `stop` keeps a thread that is
        // still in a stalled read from writing anything when it wakes up.
        stop.store(true, Ordering::SeqCst);
        drop(feed.rx);
        if feed.pump_done {
            // The pump ended on its own (end of body or its failure): join it, so the partial
            // file is quiet before the next attempt or the caller reads it. Otherwise it is left
            // to end by itself (detached), writing nothing more.
            let _ = net.join();
        }
        stats.network_bytes += network_bytes.load(Ordering::Relaxed);
        let failure = feed.failure;
        match (result, failure) {
            // The partial file now holds the whole body; the caller uses it, then discards it.
            (Ok(v), _) => return Ok((v, stats)),
            (Err(_), Some(f)) if f.retryable => {
                last_error = f.error;
            }
            (Err(_), Some(f)) => {
                if !matches!(f.error, Error::Cancelled) {
                    discard(job.dir, job.key);
                }
                return Err(f.error);
            }
            (Err(e), None) => {
                // Not the network's fault (checksum, zip, disk): these bytes are not worth keeping.
                discard(job.dir, job.key);
                return Err(e);
            }
        }
    }
    Err(last_error)
}
