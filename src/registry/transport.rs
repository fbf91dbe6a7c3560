//! Transport: the app's own HTTP stack (Android `HttpURLConnection`, iOS `URLSession`) carrying the core's requests, so a phone build needs no TLS library and trusts exactly what the platform trusts.
//!
//! The core keeps every decision: which URL (the URL policy, each redirect checked and followed
//! by the core — a transport must not follow redirects itself), which headers (Range, If-Range,
//! identity encoding), what an answer means (status, Content-Range, retries, resume) and how
//! much of a body it reads (limits, deadlines). The transport only moves bytes: [`send`] returns
//! the status and headers, [`read`] pulls the body a bounded chunk at a time, [`close`] releases
//! it. Installed process-wide with [`set_http_transport`] before the engine starts; builds with
//! the `builtin-http` feature (CLI, desktop, the C ABI's batteries-included build) fall back to
//! their own client when none is installed, phone builds (`--no-default-features`) need one.
//!
//! [`send`]: HttpTransport::send
//! [`read`]: HttpTransport::read
//! [`close`]: HttpTransport::close

use std::io::{self, Read};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

/// Largest body chunk asked of the transport at once; a transport returning more is refused. As
/// large as the download's own chunks, so a 40 MB bundle costs ~160 foreign calls at most (each
/// one a crossing of JNA or the C ABI), not ~640.
pub const READ_CHUNK: u32 = 256 * 1024;

/// One request, as the transport must send it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportRequest {
    /// `GET`, `POST` or `PUT`.
    pub method: String,
    /// The absolute URL, already checked against the URL policy.
    pub url: String,
    /// Headers to send as given (the transport may add its own, e.g. `Host`, `Content-Length`).
    pub headers: Vec<(String, String)>,
    /// The request body (JSON), for `POST` and `PUT`.
    pub body: Option<Vec<u8>>,
    /// Connect timeout and the longest wait for any byte (`responseTimeout`).
    pub timeout: Duration,
}

/// The start of an answer: status and headers; the body is read with [`HttpTransport::read`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportHead {
    /// The transport's handle for this answer's body, passed to `read` and `close`.
    pub id: u64,
    /// HTTP status code (redirects included: the core follows them).
    pub status: u16,
    /// Response headers (names in any case).
    pub headers: Vec<(String, String)>,
}

/// The app's HTTP stack. Called on the core's network threads, several at once; each call may
/// block up to the request's timeout and must not call back into the updater. Errors are a
/// reason in words (shown in the update error and the `download_fail` stat).
pub trait HttpTransport: Send + Sync {
    /// Sends `request` without following redirects and returns once the status and headers are
    /// in. Blocks; network I/O.
    fn send(&self, request: TransportRequest) -> Result<TransportHead, String>;
    /// Up to `max` bytes of the body of answer `id`; an empty answer is the end of the body.
    /// Blocks until at least one byte or the end (at most the request's timeout).
    fn read(&self, id: u64, max: u32) -> Result<Vec<u8>, String>;
    /// The core is done with answer `id` (read to the end or not): release the connection.
    fn close(&self, id: u64);
}

fn slot() -> &'static RwLock<Option<Arc<dyn HttpTransport>>> {
    static SLOT: OnceLock<RwLock<Option<Arc<dyn HttpTransport>>>> = OnceLock::new();
    SLOT.get_or_init(|| RwLock::new(None))
}

/// Makes every client built after this call send through `transport` (`None`: back to the
/// built-in client where the build has one). Process-wide; call it before starting the engine.
/// No I/O.
pub fn set_http_transport(transport: Option<Arc<dyn HttpTransport>>) {
    *slot()
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = transport;
}

/// The installed transport, if any.
pub(crate) fn http_transport() -> Option<Arc<dyn HttpTransport>> {
    slot()
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

/// Sends through the transport; a panic in a Rust-implemented transport becomes an error.
pub(crate) fn send(
    transport: &Arc<dyn HttpTransport>,
    request: TransportRequest,
) -> Result<TransportHead, String> {
    catch_unwind(AssertUnwindSafe(|| transport.send(request)))
        .unwrap_or_else(|_| Err("the app's HTTP transport failed".to_string()))
}

/// A body read through the transport: bounded chunks, the request's deadline checked before each
/// read, the answer closed when dropped.
pub(crate) struct TransportBody {
    transport: Arc<dyn HttpTransport>,
    id: u64,
    deadline: Instant,
    chunk: Vec<u8>,
    pos: usize,
    done: bool,
}

impl TransportBody {
    pub(crate) fn new(transport: Arc<dyn HttpTransport>, id: u64, deadline: Instant) -> Self {
        Self {
            transport,
            id,
            deadline,
            chunk: Vec::new(),
            pos: 0,
            done: false,
        }
    }
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
            if Instant::now() >= self.deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the time limit for this request ran out",
                ));
            }
            let (transport, id) = (&self.transport, self.id);
            let got = catch_unwind(AssertUnwindSafe(|| transport.read(id, READ_CHUNK)))
                .unwrap_or_else(|_| Err("the app's HTTP transport failed".to_string()))
                .map_err(io::Error::other)?;
            if got.len() > READ_CHUNK as usize {
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
        let (transport, id) = (&self.transport, self.id);
        let _ = catch_unwind(AssertUnwindSafe(|| transport.close(id)));
    }
}
