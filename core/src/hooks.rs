//! Hooks: what the app's platform provides the core — its HTTP stack, certificate trust, builtin files that are not a folder, a clock — given with the options when an engine is built (process-wide setters remain only as a shim for hosts written before).

use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

/// One request, as the app's HTTP stack must send it.
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

/// The app's HTTP stack (Android `HttpURLConnection`, iOS `URLSession`) carrying the core's
/// requests, so a phone build needs no TLS library and trusts exactly what the platform trusts.
/// The core keeps every decision (URL policy, redirects — a transport must not follow them —,
/// `Range` / `If-Range` / identity encoding, retries, limits, deadlines); the transport only
/// moves bytes. Called on the core's network threads, several at once; each call may block up
/// to the request's timeout (the core never waits past its own deadline) and must not call back
/// into the updater. Errors are a reason in words.
pub trait HttpTransport: Send + Sync {
    /// Sends `request` without following redirects and returns once the status and headers are
    /// in. Blocks; network I/O.
    fn send(&self, request: TransportRequest) -> Result<TransportHead, String>;
    /// Up to `max` bytes of the body of answer `id`; an empty answer is the end of the body.
    /// Blocks until at least one byte or the end (at most the request's timeout).
    fn read(&self, id: u64, max: u32) -> Result<Vec<u8>, String>;
    /// The core is done with answer `id` (read to the end or not): release the connection.
    /// Never called while a `read` of the same answer runs.
    fn close(&self, id: u64);
}

/// Decides whether a server's certificate chain is trusted, the way the platform would: Android
/// with the platform's `X509TrustManager` (the app's network security config and user/MDM CAs
/// apply), iOS with `SecTrust`. Called on a network thread during each TLS handshake of the
/// built-in client (feature `builtin-http`); it may block briefly and must not call back into the
/// updater. A build whose requests go through the app's [`HttpTransport`] trusts what that
/// transport trusts.
pub trait CertificateVerifier: Send + Sync {
    /// `host` is the name connected to; `chain` the server's certificates, DER, leaf first.
    /// `None` means trusted; `Some(reason)` refuses the connection with that reason (shown in
    /// the update error and the `download_fail` stat).
    fn verify(&self, host: &str, chain: &[Vec<u8>]) -> Option<String>;
}

/// Reads the app's builtin files where they are not a folder (Android: the APK's
/// `assets/public`), so delta updates can reuse them without a copy of the assets. Called on the
/// updating thread; must not call back into the updater. Every byte is hash-checked before use.
pub trait BuiltinReader: Send + Sync {
    /// The bytes of the builtin file at `path` (`/`-separated, relative to the web root), or
    /// `None` when there is none.
    fn read(&self, path: &str) -> Option<Vec<u8>>;
}

/// The wall clock the engine reads (milliseconds since the Unix epoch): the system's unless the
/// host gives another.
pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        crate::time::now_ms()
    }
}

/// The platform's pieces an engine uses instead of its own, given with its options.
#[derive(Clone, Default)]
pub struct Hooks {
    /// The app's HTTP stack: every request goes through it. Phone builds have no other client.
    pub transport: Option<Arc<dyn HttpTransport>>,
    /// The platform's certificate trust, for builds with the built-in HTTP client.
    pub certificate_verifier: Option<Arc<dyn CertificateVerifier>>,
    /// The app's builtin files where they are not a folder (Android assets), for delta reuse.
    pub builtin_assets: Option<Arc<dyn BuiltinReader>>,
    /// The wall clock (tests and hosts with their own time source); the system clock when `None`.
    pub clock: Option<Arc<dyn Clock>>,
}

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hooks")
            .field("transport", &self.transport.is_some())
            .field("certificate_verifier", &self.certificate_verifier.is_some())
            .field("builtin_assets", &self.builtin_assets.is_some())
            .field("clock", &self.clock.is_some())
            .finish()
    }
}

impl Hooks {
    /// These hooks, with what is `None` taken from the process-wide setters (kept for hosts
    /// written before hooks came with the options).
    pub(crate) fn with_process_defaults(&self) -> Hooks {
        Hooks {
            transport: self.transport.clone().or_else(|| TRANSPORT.get()),
            certificate_verifier: self.certificate_verifier.clone().or_else(|| VERIFIER.get()),
            builtin_assets: self.builtin_assets.clone().or_else(|| ASSETS.get()),
            clock: self.clock.clone(),
        }
    }

    /// The clock to read.
    pub(crate) fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone().unwrap_or_else(|| Arc::new(SystemClock))
    }
}

/// A process-wide default for one hook (the compatibility shim).
struct Slot<T: ?Sized>(OnceLock<RwLock<Option<Arc<T>>>>);

impl<T: ?Sized> Slot<T> {
    const fn new() -> Self {
        Self(OnceLock::new())
    }

    fn lock(&self) -> &RwLock<Option<Arc<T>>> {
        self.0.get_or_init(|| RwLock::new(None))
    }

    fn set(&self, v: Option<Arc<T>>) {
        *self
            .lock()
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = v;
    }

    fn get(&self) -> Option<Arc<T>> {
        self.lock()
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

static TRANSPORT: Slot<dyn HttpTransport> = Slot::new();
static VERIFIER: Slot<dyn CertificateVerifier> = Slot::new();
static ASSETS: Slot<dyn BuiltinReader> = Slot::new();

/// The process-wide default transport for engines built after this call whose options give
/// none (`None` removes it). A shim: prefer [`Hooks::transport`]. No I/O.
pub fn set_http_transport(transport: Option<Arc<dyn HttpTransport>>) {
    TRANSPORT.set(transport);
}

/// The process-wide default certificate verifier for engines built after this call whose
/// options give none (`None` removes it). A shim: prefer [`Hooks::certificate_verifier`]. No I/O.
pub fn set_certificate_verifier(verifier: Option<Arc<dyn CertificateVerifier>>) {
    #[cfg(not(feature = "builtin-http"))]
    if verifier.is_some() {
        log::warn!(
            "a certificate verifier was installed, but this build has no built-in HTTP client: \
             requests go through the app's HttpTransport, whose own TLS decides"
        );
    }
    VERIFIER.set(verifier);
}

/// The process-wide default reader of builtin files for engines built after this call whose
/// options give none (`None` removes it). A shim: prefer [`Hooks::builtin_assets`]. No I/O.
pub fn set_builtin_reader(reader: Option<Arc<dyn BuiltinReader>>) {
    ASSETS.set(reader);
}
