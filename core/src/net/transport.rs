//! Transport: the app's own HTTP stack (Android `HttpURLConnection`, iOS `URLSession`) carrying the core's requests, so a phone build needs no TLS library and trusts exactly what the platform trusts.
//!
//! The core keeps every decision: which URL (the URL policy, each redirect checked and followed
//! by the core — a transport must not follow redirects itself), which headers (Range, If-Range,
//! identity encoding), what an answer means (status, Content-Range, retries, resume) and how
//! much of a body it reads (limits, deadlines). The transport only moves bytes: [`send`] returns
//! the status and headers, [`read`] pulls the body a bounded chunk at a time, [`close`] releases
//! it. Given with the engine's options (`Hooks::transport`); builds with the `builtin-http`
//! feature (CLI, desktop, the C ABI's batteries-included build) fall back to their own client
//! when none is given, phone builds (`--no-default-features`) need one.
//!
//! [`send`]: HttpTransport::send
//! [`read`]: HttpTransport::read
//! [`close`]: HttpTransport::close

use std::io::{self, Read};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Largest body chunk asked of the transport at once; a transport returning more is refused. As
/// large as the download's own chunks, so a 40 MB bundle costs ~160 foreign calls at most (each
/// one a crossing of JNA or the C ABI), not ~640.
pub const READ_CHUNK: u32 = 256 * 1024;
/// [`READ_CHUNK`] as a length (256 KiB fits every `usize` of 32 bits and more).
const READ_CHUNK_LEN: usize = 256 * 1024;

pub use crate::hooks::{HttpTransport, TransportHead, TransportRequest};

/// What the exchange thread hands over: the answer's head, then body chunks on demand, and the
/// acknowledgment that the answer was closed.
enum Part {
    Head(Result<TransportHead, String>),
    Chunk(Result<Vec<u8>, String>),
    Closed,
}

/// What the reader asks of the exchange thread.
enum Demand {
    Read,
    Close,
}

/// Longest a dropped body waits for the transport's `close` when no call of the transport is
/// running on it.
const CLOSE_WAIT: Duration = Duration::from_secs(2);
/// Longest a dropped body waits when the transport is still in a `read` of it (a transport
/// honouring its timeouts returns within a chunk's time): the most any deadline is overrun.
const BUSY_CLOSE_WAIT: Duration = Duration::from_secs(1);

/// Sends `request` through the transport and returns the head, by `deadline` whatever the
/// transport does. The exchange runs on its own thread — `send`, then one `read` per chunk the
/// reader asks for, then `close` — and the caller never waits for it past the deadline: a
/// transport that blocks beyond its timeouts keeps only that thread, which closes the answer
/// when the blocked call returns. `close` is never called while a `read` of the same answer
/// runs, and an answer is closed before its last chunk (end, error) is handed over. A panic in a
/// Rust-implemented transport becomes an error.
pub(crate) fn exchange(
    transport: &Arc<dyn HttpTransport>,
    request: TransportRequest,
    deadline: Instant,
) -> Result<(TransportHead, TransportBody), String> {
    let (tx, rx) = std::sync::mpsc::channel::<Part>();
    let (demand_tx, demand_rx) = std::sync::mpsc::channel::<Demand>();
    let t = transport.clone();
    let close = move |t: &Arc<dyn HttpTransport>, id: u64| {
        let _ = catch_unwind(AssertUnwindSafe(|| t.close(id)));
    };
    let spawned = std::thread::Builder::new()
        .name("liveupdate-transport".into())
        .spawn(move || {
            let head = catch_unwind(AssertUnwindSafe(|| t.send(request)))
                .unwrap_or_else(|_| Err("the app's HTTP transport failed".to_string()));
            let id = head.as_ref().ok().map(|h| h.id);
            if tx.send(Part::Head(head)).is_err() {
                // Nobody waits any more (the deadline passed): release the answer.
                if let Some(id) = id {
                    close(&t, id);
                }
                return;
            }
            let Some(id) = id else { return };
            // A reader gone (dropped) counts as a close.
            while let Ok(Demand::Read) = demand_rx.recv() {
                let got = catch_unwind(AssertUnwindSafe(|| t.read(id, READ_CHUNK)))
                    .unwrap_or_else(|_| Err("the app's HTTP transport failed".to_string()));
                let last = match &got {
                    Ok(b) => b.is_empty() || b.len() > READ_CHUNK_LEN,
                    Err(_) => true,
                };
                if last {
                    close(&t, id);
                    let _ = tx.send(Part::Chunk(got));
                    return;
                }
                if tx.send(Part::Chunk(got)).is_err() {
                    break;
                }
            }
            close(&t, id);
            let _ = tx.send(Part::Closed);
        });
    if spawned.is_err() {
        return Err("cannot start a thread for the app's HTTP transport".into());
    }
    match wait(&rx, deadline) {
        Some(Part::Head(Ok(head))) => Ok((
            head,
            TransportBody {
                rx,
                demand: demand_tx,
                deadline,
                chunk: Vec::new(),
                pos: 0,
                done: false,
                busy: false,
            },
        )),
        Some(Part::Head(Err(e))) => Err(e),
        Some(_) => Err("the app's HTTP transport answered out of order".into()),
        None => Err("the app's HTTP transport did not answer within the time limit".into()),
    }
}

/// The next part, or `None` when the deadline passed or the exchange thread ended.
fn wait(rx: &std::sync::mpsc::Receiver<Part>, deadline: Instant) -> Option<Part> {
    let left = deadline.saturating_duration_since(Instant::now());
    rx.recv_timeout(left).ok()
}

/// A body read through the transport: bounded chunks, each waited for only until the request's
/// deadline; dropping it closes the answer (waiting for that only when no transport call is
/// still running).
pub(crate) struct TransportBody {
    rx: std::sync::mpsc::Receiver<Part>,
    demand: std::sync::mpsc::Sender<Demand>,
    deadline: Instant,
    chunk: Vec<u8>,
    pos: usize,
    /// The last chunk was handed over (the answer is closed).
    done: bool,
    /// A `read` was asked for and its chunk has not arrived (the transport may be stuck in it).
    busy: bool,
}

impl Read for TransportBody {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        if self.pos == self.chunk.len() {
            if self.done {
                return Ok(0);
            }
            let timed_out = || {
                io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the time limit for this request ran out",
                )
            };
            if Instant::now() >= self.deadline {
                return Err(timed_out());
            }
            if !self.busy {
                if self.demand.send(Demand::Read).is_err() {
                    return Err(io::Error::other("the app's HTTP transport stopped"));
                }
                self.busy = true;
            }
            let got = match wait(&self.rx, self.deadline) {
                Some(Part::Chunk(c)) => {
                    self.busy = false;
                    c
                }
                Some(_) => {
                    self.busy = false;
                    self.done = true;
                    return Err(io::Error::other(
                        "the app's HTTP transport answered out of order",
                    ));
                }
                None if Instant::now() >= self.deadline => return Err(timed_out()),
                None => return Err(io::Error::other("the app's HTTP transport stopped")),
            };
            let got = match got {
                Ok(b) => b,
                Err(e) => {
                    self.done = true;
                    return Err(io::Error::other(e));
                }
            };
            if got.len() > READ_CHUNK_LEN {
                self.done = true;
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the app's HTTP transport returned more bytes than asked",
                ));
            }
            if got.is_empty() {
                self.done = true;
                return Ok(0);
            }
            self.chunk = got;
            self.pos = 0;
        }
        let n = out.len().min(self.chunk.len() - self.pos);
        out[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Drop for TransportBody {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let _ = self.demand.send(Demand::Close);
        // While the transport is still in a `read`, the exchange thread closes the answer when
        // it returns: wait for that only briefly, never for a transport that may not return.
        let until = Instant::now()
            + if self.busy {
                BUSY_CLOSE_WAIT
            } else {
                CLOSE_WAIT
            };
        while let Some(p) = wait(&self.rx, until) {
            if matches!(p, Part::Closed) {
                break;
            }
        }
    }
}
