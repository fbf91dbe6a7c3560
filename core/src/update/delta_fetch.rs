//! Fetch: the files no local source had, downloaded in parallel through the resumable download machinery, decrypted, brotli-decoded, hashed, and kept in a verified pool.
//!
//! Each body goes `download::fetch_with` (retries, backoff, `Range` resume of its `.part`, stall
//! timeout, cancellation, deadline) → AES-128-CBC with the release's session key → a streaming
//! brotli decoder for `.br` names → a size cap shared by every file of the release → SHA-256 → a
//! temporary file in the pool. Only a file whose hash is the signed one is renamed to
//! `pool/<sha256 hex>`; anything else is deleted with its partial body. The pool outlives a failed
//! attempt and a killed process (it is not a download folder, which sweeps empty), so the next
//! attempt fetches only what is still missing. Pool files are not flushed: after a power loss one
//! may be torn, and that is harmless because every use re-hashes it (`reuse.rs`).

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use crate::bundle::checksum::{HashingWriter, to_hex};
use crate::bundle::crypto::{self, SessionKey};
use crate::bundle::fs_atomic::random_alnum;
use crate::delta::PlannedFile;
pub(crate) use crate::delta::assemble::{FetchReport, FileFailure};
use crate::error::{Error, Result};
use crate::net::download::{self, DownloadJob, DownloadListener, DownloadStats};
use crate::net::http::Http;
use crate::store::Pool;

/// The settings of one release's fetch.
pub struct FetchJob<'a> {
    /// The client.
    pub http: &'a Http,
    /// Where partial bodies are kept between attempts.
    pub parts_dir: &'a Path,
    /// Where verified files go.
    pub pool: &'a Pool,
    /// The release's session key (every body is encrypted with it), if encrypted.
    pub session_key: Option<&'a SessionKey>,
    /// Most bytes one body may have on the wire.
    pub max_body_bytes: u64,
    /// Most plain bytes the fetched files may have together (the rest of `maxBundleBytes`);
    /// enforced while decoding, so a brotli bomb stops at the cap.
    pub plain_budget: u64,
    /// Attempts per file (first + retries).
    pub attempts: u32,
    /// First retry delay.
    pub backoff: Duration,
    /// Nothing runs after this instant.
    pub deadline: Instant,
    /// The host's cancel flag.
    pub cancel: &'a Arc<AtomicBool>,
    /// Files transferred at the same time.
    pub concurrency: usize,
    /// Receives `(bytes received, None, percent of files done)`.
    pub progress: Option<Arc<dyn DownloadListener>>,
    /// Files already in place (reused) before this fetch, and the release's file count, for the
    /// percentage.
    pub files_done_before: usize,
    /// The release's file count.
    pub files_total: usize,
}

/// Marks a write refused by the size cap (told apart from disk errors by downcasting).
#[derive(Debug)]
struct OverBudget;

impl std::fmt::Display for OverBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("over the size cap")
    }
}

impl std::error::Error for OverBudget {}

/// The plain bytes every file of the release may still add.
struct Budget {
    used: AtomicU64,
    limit: u64,
}

/// The memory every brotli decoder of a release may take together (their windows), shared so
/// that parallel bodies stay within one figure whatever they are: a body waits for its window
/// before its decoder is made. One decoder takes at most a 16 MiB window (standard streams:
/// large-window streams are refused) plus its tables, so two of the largest fit at once and
/// many small-window ones.
pub const BROTLI_WINDOWS_BUDGET: u64 = 36 * 1024 * 1024;
/// What a decoder takes besides its window (Huffman tables, context maps, the output buffer).
const BROTLI_DECODER_OVERHEAD: u64 = 2 * 1024 * 1024;

/// The shared window budget of one release's brotli decoders, and the window buffers they pass
/// on to each other: a freed window goes back to this pool instead of the allocator, because
/// the allocator of the thread that freed it would keep it (a 16 MiB block in each worker
/// thread's arena) and the process would grow by a window per worker.
struct Windows {
    used: Mutex<u64>,
    freed: std::sync::Condvar,
    limit: u64,
    pool: Mutex<Vec<Vec<u8>>>,
}

/// Allocations of the decoder at least this large come from (and go back to) the pool.
const POOLED_FROM: usize = 256 * 1024;
/// Window buffers kept for reuse at most.
const POOLED_KEPT: usize = 4;

impl Windows {
    fn new(limit: u64) -> Self {
        Self {
            used: Mutex::new(0),
            freed: std::sync::Condvar::new(),
            limit,
            pool: Mutex::new(Vec::new()),
        }
    }

    /// A zeroed buffer of `len` bytes, reusing a pooled one when it is large enough.
    fn take(&self, len: usize) -> Vec<u8> {
        let reused = {
            let mut pool = self
                .pool
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            pool.iter()
                .position(|v| v.capacity() >= len)
                .map(|i| pool.swap_remove(i))
        };
        match reused {
            Some(mut v) => {
                v.clear();
                v.resize(len, 0);
                v
            }
            None => vec![0u8; len],
        }
    }

    /// Keeps a freed buffer for the next decoder.
    fn give_back(&self, v: Vec<u8>) {
        let mut pool = self
            .pool
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if pool.len() < POOLED_KEPT {
            pool.push(v);
        }
    }

    /// Waits until `n` bytes fit, then takes them; `Err` when `stop` is set or `deadline`
    /// passes first. A body holds its reservation only while its own decoder lives and never
    /// asks twice, so waiting cannot deadlock.
    fn acquire(&self, n: u64, stop: &AtomicBool, deadline: Instant) -> io::Result<()> {
        let mut used = self
            .used
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        loop {
            if *used + n <= self.limit || *used == 0 {
                *used += n;
                return Ok(());
            }
            if stop.load(Ordering::SeqCst) || Instant::now() >= deadline {
                return Err(io::Error::other(Stopped));
            }
            used = self
                .freed
                .wait_timeout(used, Duration::from_millis(100))
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
    }

    fn release(&self, n: u64) {
        let mut used = self
            .used
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *used = used.saturating_sub(n);
        self.freed.notify_all();
    }
}

/// Marks a wait for the window budget that ended because the fetch was stopped.
#[derive(Debug)]
struct Stopped;

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stopped while waiting for decoder memory")
    }
}

impl std::error::Error for Stopped {}

/// The window size a brotli stream declares in its first byte (`WBITS`, RFC 7932 §9.1: read
/// from the least significant bit), or `None` for a large-window stream (which is refused).
/// Only this header field is read here; the stream itself is decoded by `brotli-decompressor`.
fn declared_window(first: u8) -> Option<u64> {
    let bits = if first & 1 == 0 {
        16
    } else {
        match (first >> 1) & 7 {
            0 => match (first >> 4) & 7 {
                0 => 17,
                1 => return None,
                m => 8 + u32::from(m),
            },
            n => 17 + u32::from(n),
        }
    };
    Some(1u64 << bits)
}

/// Memory handed to a brotli decoder.
#[derive(Default)]
struct Cell(Vec<u8>);

impl brotli_decompressor::SliceWrapper<u8> for Cell {
    fn slice(&self) -> &[u8] {
        &self.0
    }
}

impl brotli_decompressor::SliceWrapperMut<u8> for Cell {
    fn slice_mut(&mut self) -> &mut [u8] {
        &mut self.0
    }
}

/// The decoders' byte allocator: large blocks (windows) through the shared pool.
struct PooledBytes<'a>(&'a Windows);

impl brotli_decompressor::Allocator<u8> for PooledBytes<'_> {
    type AllocatedMemory = Cell;
    fn alloc_cell(&mut self, len: usize) -> Cell {
        if len >= POOLED_FROM {
            Cell(self.0.take(len))
        } else {
            Cell(vec![0u8; len])
        }
    }
    fn free_cell(&mut self, cell: Cell) {
        if cell.0.capacity() >= POOLED_FROM {
            self.0.give_back(cell.0);
        }
    }
}

type Decoder<'a, W> = brotli_decompressor::writer::DecompressorWriterCustomAlloc<
    &'a mut W,
    Cell,
    PooledBytes<'a>,
    brotli_decompressor::StandardAlloc,
    brotli_decompressor::StandardAlloc,
>;

/// A brotli decoder made on the first byte, once its window is reserved in the shared budget.
struct LazyBrotli<'a, W: Write> {
    out: Option<&'a mut W>,
    decoder: Option<Decoder<'a, W>>,
    windows: &'a Windows,
    reserved: u64,
    stop: &'a AtomicBool,
    deadline: Instant,
}

impl<W: Write> Write for LazyBrotli<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.decoder.is_none() {
            let Some(window) = declared_window(buf[0]) else {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "a large-window brotli stream",
                ));
            };
            let need = window + BROTLI_DECODER_OVERHEAD;
            self.windows.acquire(need, self.stop, self.deadline)?;
            self.reserved = need;
            let Some(out) = self.out.take() else {
                return Err(io::Error::other("the brotli output is gone"));
            };
            let mut decoder = Decoder::new(
                out,
                Cell(vec![0u8; 64 * 1024]),
                PooledBytes(self.windows),
                brotli_decompressor::StandardAlloc::default(),
                brotli_decompressor::StandardAlloc::default(),
            );
            // Standard windows only (≤ 16 MiB): the crate accepts "large window" streams (up to
            // 1 GiB of ring buffer) unless told otherwise, and these bytes are not authenticated
            // yet.
            decoder.set_parameter(
                brotli_decompressor::BrotliDecoderParameter::BROTLI_DECODER_PARAM_LARGE_WINDOW,
                0,
            );
            self.decoder = Some(decoder);
        }
        match self.decoder.as_mut() {
            Some(d) => d.write(buf),
            None => Err(io::Error::other("no brotli decoder")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.decoder.as_mut() {
            Some(d) => d.flush(),
            None => Ok(()),
        }
    }
}

impl<W: Write> Drop for LazyBrotli<'_, W> {
    fn drop(&mut self) {
        // The decoder's memory goes first, then its reservation.
        self.decoder = None;
        self.windows.release(self.reserved);
    }
}

/// Counts what goes through against the shared [`Budget`].
struct Capped<'b, W> {
    inner: W,
    budget: &'b Budget,
    written: u64,
}

impl<W: Write> Write for Capped<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = buf.len() as u64;
        if self.budget.used.fetch_add(n, Ordering::SeqCst) + n > self.budget.limit {
            self.budget.used.fetch_sub(n, Ordering::SeqCst);
            return Err(io::Error::other(OverBudget));
        }
        self.written += n;
        self.inner.write_all(buf)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Progress of the whole fetch, fed by each file's transfer.
struct Aggregate {
    outer: Arc<dyn DownloadListener>,
    bytes: AtomicU64,
    done: AtomicUsize,
    total: usize,
}

impl Aggregate {
    /// Tells the listener the current figures if they differ from `last` (what it was told
    /// before). Only the coordinating thread reports, so the figures never go back and no worker
    /// calls into the host.
    fn report(&self, last: &mut (u64, usize)) {
        let now = (
            self.bytes.load(Ordering::SeqCst),
            self.done.load(Ordering::SeqCst),
        );
        if *last == now {
            return;
        }
        *last = now;
        let percent =
            u8::try_from((now.1.saturating_mul(100) / self.total.max(1)).min(100)).unwrap_or(100);
        self.outer.on_progress(now.0, None, percent);
    }
}

/// One file's transfer, reported as bytes into the aggregate.
struct FileProgress {
    agg: Arc<Aggregate>,
    last: AtomicU64,
}

impl DownloadListener for FileProgress {
    fn on_progress(&self, received: u64, _total: Option<u64>, _percent: u8) {
        let before = self.last.swap(received, Ordering::SeqCst);
        if received > before {
            self.agg
                .bytes
                .fetch_add(received - before, Ordering::SeqCst);
        }
    }
}

/// Fetches `files` into the pool, `job.concurrency` at a time. The first failure stops the others
/// (at their next chunk) and is returned; files verified before it stay in the pool. Blocks;
/// network and disk I/O on `concurrency` threads.
pub fn fetch_into_pool(
    job: &FetchJob<'_>,
    files: &[&PlannedFile],
) -> std::result::Result<FetchReport, FileFailure> {
    let mut report = FetchReport::default();
    if files.is_empty() {
        return Ok(report);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let next = AtomicUsize::new(0);
    let budget = Budget {
        used: AtomicU64::new(0),
        limit: job.plain_budget,
    };
    let windows = Windows::new(BROTLI_WINDOWS_BUDGET);
    let agg = job.progress.clone().map(|outer| {
        Arc::new(Aggregate {
            outer,
            bytes: AtomicU64::new(0),
            done: AtomicUsize::new(job.files_done_before),
            total: job.files_total,
        })
    });
    let first_failure: Mutex<Option<FileFailure>> = Mutex::new(None);
    let mut reported = (0, job.files_done_before);
    let workers = job.concurrency.clamp(1, 16).min(files.len());
    let (tx, rx) = mpsc::channel::<(u64, DownloadStats)>();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let tx = tx.clone();
            let (stop, next, budget, windows, agg, first_failure) =
                (&stop, &next, &budget, &windows, agg.clone(), &first_failure);
            scope.spawn(move || {
                loop {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(f) = files.get(i) else { return };
                    let listener = agg.clone().map(|agg| {
                        Arc::new(FileProgress {
                            agg,
                            last: AtomicU64::new(0),
                        }) as Arc<dyn DownloadListener>
                    });
                    match fetch_one(job, f, stop, budget, windows, listener) {
                        Ok(done) => {
                            if let Some(agg) = &agg {
                                agg.done.fetch_add(1, Ordering::SeqCst);
                            }
                            let _ = tx.send(done);
                        }
                        Err(error) => {
                            stop.store(true, Ordering::SeqCst);
                            let mut slot = first_failure
                                .lock()
                                .unwrap_or_else(std::sync::PoisonError::into_inner);
                            // The first real failure wins over the cancellations it caused.
                            let replace = match &*slot {
                                None => true,
                                Some(prev) => {
                                    matches!(prev.error, Error::Cancelled)
                                        && !matches!(error, Error::Cancelled)
                                }
                            };
                            if replace {
                                *slot = Some(FileFailure {
                                    file_name: Some(f.file_name()),
                                    error,
                                });
                            }
                            return;
                        }
                    }
                }
            });
        }
        drop(tx);
        // Pass the host's cancellation on to the workers' own flag and report progress, until
        // every worker is done.
        loop {
            if job.cancel.load(Ordering::Relaxed) {
                stop.store(true, Ordering::SeqCst);
            }
            if let Some(agg) = &agg {
                agg.report(&mut reported);
            }
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok((plain, d)) => {
                    report.files += 1;
                    report.plain_bytes += plain;
                    report.download.attempts += d.attempts;
                    report.download.network_bytes += d.network_bytes;
                    report.download.resumed_bytes += d.resumed_bytes;
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        if let Some(agg) = &agg {
            agg.report(&mut reported);
        }
    });
    match first_failure
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
    {
        Some(f) => Err(f),
        None if job.cancel.load(Ordering::Relaxed) && report.files < files.len() => {
            Err(FileFailure {
                file_name: None,
                error: Error::Cancelled,
            })
        }
        None => Ok(report),
    }
}

/// Fetches one file into the pool: `(plain bytes, transfer figures)`.
fn fetch_one(
    job: &FetchJob<'_>,
    f: &PlannedFile,
    stop: &Arc<AtomicBool>,
    budget: &Budget,
    windows: &Windows,
    listener: Option<Arc<dyn DownloadListener>>,
) -> Result<(u64, DownloadStats)> {
    let hex = to_hex(&f.sha256);
    let key = format!("delta-{}", &hex[..32]);
    let tmp = job
        .pool
        .dir()
        .join(format!(".tmp-{}-{}", &hex[..16], random_alnum(8)?));
    let dj = DownloadJob {
        http: job.http,
        url: &f.url,
        dir: job.parts_dir,
        key: &key,
        max_bytes: job.max_body_bytes,
        attempts: job.attempts,
        backoff: job.backoff,
        deadline: job.deadline,
        cancel: stop,
        listener,
    };
    let gate = Gate {
        windows,
        stop,
        deadline: job.deadline,
    };
    let result = download::fetch_with(&dj, |body, _| {
        decode_into(
            body,
            job.session_key,
            f.brotli,
            &tmp,
            budget,
            &gate,
            &f.sha256,
        )
    });
    match result {
        Ok((plain, stats)) => {
            let dest = job.pool.path_of(&f.sha256);
            crate::bundle::fs_atomic::crash_point();
            let renamed =
                fs::rename(&tmp, &dest).map_err(Error::io("renaming into the pool", &dest));
            download::discard(job.parts_dir, &key);
            if renamed.is_err() {
                let _ = fs::remove_file(&tmp);
            }
            renamed?;
            Ok((plain, stats))
        }
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Decrypts, decodes and hashes one body into `tmp`; succeeds only when the plain file's SHA-256
/// is `expected`. Returns the plain length. A failed attempt gives its bytes back to the budget.
/// What a brotli body waits on for its decoder's memory.
struct Gate<'a> {
    windows: &'a Windows,
    stop: &'a AtomicBool,
    deadline: Instant,
}

fn decode_into(
    body: &mut dyn Read,
    key: Option<&SessionKey>,
    brotli: bool,
    tmp: &Path,
    budget: &Budget,
    gate: &Gate<'_>,
    expected: &[u8; 32],
) -> Result<u64> {
    let file = File::create(tmp).map_err(Error::io("creating", tmp))?;
    let mut capped = Capped {
        inner: HashingWriter::new(BufWriter::with_capacity(64 * 1024, file)),
        budget,
        written: 0,
    };
    let outcome = decode_body(body, key, brotli, &mut capped, tmp, gate);
    let written = capped.written;
    let result = outcome.and_then(|()| {
        let (buffered, digest) = capped.inner.finish();
        buffered
            .into_inner()
            .map_err(|e| Error::io("writing", tmp)(e.into_error()))?;
        if &digest != expected {
            return Err(Error::ChecksumMismatch);
        }
        Ok(written)
    });
    if result.is_err() {
        budget.used.fetch_sub(written, Ordering::SeqCst);
    }
    result
}

/// The decryption and decoding chain into `out`.
fn decode_body<W: Write>(
    body: &mut dyn Read,
    key: Option<&SessionKey>,
    brotli: bool,
    out: &mut Capped<'_, W>,
    tmp: &Path,
    gate: &Gate<'_>,
) -> Result<()> {
    let on_write = |e: io::Error| -> Error {
        if e.get_ref().is_some_and(|inner| inner.is::<OverBudget>()) {
            Error::Limit(
                "the delta files are larger than the bundle size limit (maxBundleBytes)".into(),
            )
        } else if e.get_ref().is_some_and(|inner| inner.is::<Stopped>()) {
            Error::Cancelled
        } else if brotli && e.kind() == io::ErrorKind::InvalidData {
            Error::Brotli("the body is not a valid brotli stream".into())
        } else if brotli && e.kind() == io::ErrorKind::WriteZero {
            Error::Brotli("data after the end of the brotli stream".into())
        } else {
            Error::io("writing", tmp)(e)
        }
    };
    let on_read = |e: io::Error| Error::Network(e.to_string());
    if !brotli {
        crypto::decrypt_stream(body, key, out, on_read, on_write)?;
        return Ok(());
    }
    let mut decoder = LazyBrotli {
        out: Some(out),
        decoder: None,
        windows: gate.windows,
        reserved: 0,
        stop: gate.stop,
        deadline: gate.deadline,
    };
    crypto::decrypt_stream(body, key, &mut decoder, on_read, on_write)?;
    // No decoder: nothing was fed, and an empty body is an empty file (as both Capgo plugins
    // treat it).
    if let Some(d) = decoder.decoder.as_mut() {
        d.close().map_err(|e| {
            if e.kind() == io::ErrorKind::InvalidData {
                Error::Brotli("the brotli stream is truncated or corrupt".into())
            } else {
                on_write(e)
            }
        })?;
    }
    // Dropping it frees the decoder, then its window reservation.
    drop(decoder);
    Ok(())
}

impl PlannedFile {
    /// The manifest's `file_name` of this file (the target, plus `.br` for a brotli body).
    pub fn file_name(&self) -> String {
        let name = self.target.parts().join("/");
        if self.brotli {
            format!("{name}.br")
        } else {
            name
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn declared_windows_follow_rfc_7932() {
        // WBITS 16: a first bit 0.
        assert_eq!(declared_window(0b0000_0000), Some(1 << 16));
        // WBITS 17 + n for n = 1..7 in bits 1-3 (the 64 MiB-of-zeros bomb: 24).
        assert_eq!(declared_window(0xcf), Some(1 << 24));
        assert_eq!(declared_window(0b0000_0011), Some(1 << 18));
        // n = 0: WBITS 8 + m for m = 2..7 in bits 4-6, 17 for m = 0, large window for m = 1.
        assert_eq!(declared_window(0b0010_0001), Some(1 << 10));
        assert_eq!(declared_window(0b0000_0001), Some(1 << 17));
        assert_eq!(declared_window(0x11), None);
    }

    #[test]
    fn the_window_budget_waits_and_can_be_stopped() {
        let w = Windows::new(10);
        let stop = AtomicBool::new(false);
        let soon = Instant::now() + Duration::from_millis(200);
        w.acquire(6, &stop, soon).unwrap();
        // Over the limit: waits until the deadline, then gives up.
        assert!(w.acquire(6, &stop, soon).is_err());
        w.release(6);
        w.acquire(6, &stop, soon).unwrap();
        // A single request larger than the whole budget is granted when nothing else runs.
        w.release(6);
        w.acquire(50, &stop, soon).unwrap();
        stop.store(true, Ordering::SeqCst);
        assert!(
            w.acquire(1, &stop, Instant::now() + Duration::from_secs(5))
                .is_err()
        );
    }
}
