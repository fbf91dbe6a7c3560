//! HTTP: the one place that talks to the network — through the app's HTTP stack when it installed one (`transport.rs`), else the built-in client (ureq over rustls, feature `builtin-http`) — with the URL policy, timeouts and manual redirects.

use std::io::Read;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use http::Uri;

use crate::error::{Error, Result};
use crate::net::transport::{self, HttpTransport, TransportBody, TransportRequest};

/// Most redirects followed for one request.
const MAX_REDIRECTS: usize = 5;
/// How much of an answer's body is read, by what the answer is. A body longer than its cap is
/// cut there and marked [`SmallResponse::truncated`]: the caller treats it as unreadable, never
/// as a shorter answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyCap {
    /// For a 2xx answer.
    pub success: u64,
    /// For any other status (error bodies, 429s): small by nature.
    pub failure: u64,
}

impl BodyCap {
    /// Update checks. An answer with a delta manifest carries about 1.5 KB per file (a 512-hex
    /// signed hash and Capgo's ~1,000-character storage URL), so 32 MiB covers a ~20,000-file
    /// release (~50,000 files with short URLs).
    pub const UPDATE: BodyCap = BodyCap {
        success: 32 * 1024 * 1024,
        failure: 16 * 1024,
    };
    /// Channel answers (`setChannel`, `getChannel`, `listChannels`: a few hundred bytes a channel).
    pub const CHANNEL: BodyCap = BodyCap {
        success: 256 * 1024,
        failure: 16 * 1024,
    };
    /// `manifest_size` answers (about 1.5 KB a file of the manifest sent).
    pub const SIZE: BodyCap = BodyCap {
        success: 32 * 1024 * 1024,
        failure: 16 * 1024,
    };
    /// A static channel file's signature (`.sig`: one line of base64, ~350 bytes for RSA-2048).
    pub const SIGNATURE: BodyCap = BodyCap {
        success: 4 * 1024,
        failure: 16 * 1024,
    };
    /// Stats answers (only the status is used).
    pub const STATS: BodyCap = BodyCap {
        success: 16 * 1024,
        failure: 16 * 1024,
    };

    fn for_status(self, status: u16) -> u64 {
        if (200..300).contains(&status) {
            self.success
        } else {
            self.failure
        }
    }
}

/// How requests are made: timeouts, identity and the plain-HTTP policy.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Connect and per-read timeout: a request that receives no byte for this long fails.
    pub timeout: Duration,
    /// The `User-Agent` header.
    pub user_agent: String,
    /// Allow plain `http://` to non-loopback hosts (tests and local development only).
    pub allow_insecure: bool,
}

/// A blocking HTTP client. Cheap to clone; safe to share between threads.
#[derive(Clone)]
pub struct Http {
    backend: Backend,
    config: HttpConfig,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let backend = match self.backend {
            Backend::Host(_) => "app transport",
            #[cfg(feature = "builtin-http")]
            Backend::Builtin(_) => "built-in",
            Backend::Missing => "none",
        };
        f.debug_struct("Http")
            .field("backend", &backend)
            .field("config", &self.config)
            .finish()
    }
}

/// Who carries the bytes.
#[derive(Clone)]
enum Backend {
    /// The app's HTTP stack (`set_http_transport`).
    Host(Arc<dyn HttpTransport>),
    /// ureq over rustls.
    #[cfg(feature = "builtin-http")]
    Builtin(ureq::Agent),
    /// A build without the built-in client whose app installed no transport.
    #[cfg_attr(feature = "builtin-http", allow(dead_code))]
    Missing,
}

/// Status, headers and the body still to read, whoever carried them.
struct Head {
    status: u16,
    headers: Vec<(String, String)>,
    body: Body,
}

enum Body {
    Host(TransportBody),
    #[cfg(feature = "builtin-http")]
    Builtin(ureq::Body),
}

impl Head {
    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_string())
    }
}

impl Body {
    /// At most `cap` bytes of the body, and whether there was more (then the rest is not read).
    fn read_capped(self, cap: u64, uri: &Uri) -> Result<(Vec<u8>, bool)> {
        let reader = self.into_reader();
        let mut out = Vec::new();
        reader.take(cap + 1).read_to_end(&mut out).map_err(|e| {
            Error::Network(format!(
                "reading the answer from {} failed: {e}",
                uri.host().unwrap_or("?")
            ))
        })?;
        let truncated = out.len() as u64 > cap;
        if truncated {
            out.truncate(usize::try_from(cap).unwrap_or(usize::MAX));
        }
        Ok((out, truncated))
    }

    fn into_reader(self) -> Box<dyn Read + Send> {
        match self {
            #[cfg(feature = "builtin-http")]
            Body::Builtin(b) => Box::new(b.into_reader()),
            Body::Host(b) => Box::new(b),
        }
    }
}

/// A small response read whole (JSON APIs).
#[derive(Debug, Clone)]
pub struct SmallResponse {
    /// HTTP status code.
    pub status: u16,
    /// `Retry-After` header, if any.
    pub retry_after: Option<String>,
    /// The body, at most its [`BodyCap`].
    pub body: Vec<u8>,
    /// The body was longer than its cap and was cut: it must be treated as unreadable.
    pub truncated: bool,
    /// `ETag` header, if any (static channel files: sent back as `If-None-Match`).
    pub etag: Option<String>,
    /// `Last-Modified` header, if any (sent back as `If-Modified-Since`).
    pub last_modified: Option<String>,
}

/// A response whose body is streamed (downloads).
pub struct StreamResponse {
    /// HTTP status code.
    pub status: u16,
    /// `Content-Length`, if given.
    pub content_length: Option<u64>,
    /// `Content-Range` (`bytes a-b/total`), parsed, if given.
    pub content_range: Option<(u64, u64, Option<u64>)>,
    /// `ETag`, if given.
    pub etag: Option<String>,
    /// `Last-Modified`, if given.
    pub last_modified: Option<String>,
    /// `Retry-After`, if given.
    pub retry_after: Option<String>,
    /// The body.
    pub body: Box<dyn Read + Send>,
}

/// HTTP methods used by the Capgo protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
    /// PUT
    Put,
}

/// True for 127.0.0.0/8, ::1 and `localhost`.
pub fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost") || h.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Parses `url` and applies the policy: `https://` always, `http://` only to loopback hosts
/// unless `allow_insecure`. Anything else is a clear [`Error::UrlPolicy`].
pub fn check_url(url: &str, allow_insecure: bool) -> Result<Uri> {
    let uri: Uri = url
        .parse()
        .map_err(|_| Error::UrlPolicy(format!("invalid URL {url:?}")))?;
    let host = uri
        .host()
        .ok_or_else(|| Error::UrlPolicy(format!("URL without host: {url:?}")))?;
    match uri.scheme_str() {
        Some("https") => Ok(uri),
        Some("http") if allow_insecure || is_loopback_host(host) => Ok(uri),
        Some("http") => Err(Error::UrlPolicy(format!(
            "plain http to {host}: bundles and update checks must use https"
        ))),
        _ => Err(Error::UrlPolicy(format!(
            "unsupported URL scheme in {url:?}"
        ))),
    }
}

/// Parses `bytes a-b/total` (total may be `*`).
fn parse_content_range(v: &str) -> Option<(u64, u64, Option<u64>)> {
    let rest = v.trim().strip_prefix("bytes ")?;
    let (span, total) = rest.split_once('/')?;
    let (a, b) = span.split_once('-')?;
    let total = if total.trim() == "*" {
        None
    } else {
        Some(total.trim().parse().ok()?)
    };
    Some((a.trim().parse().ok()?, b.trim().parse().ok()?, total))
}

#[cfg(feature = "builtin-http")]
fn net_error(url: &Uri, e: ureq::Error) -> Error {
    let host = url.host().unwrap_or("?");
    match e {
        ureq::Error::Timeout(t) => Error::Network(format!("timeout ({t}) talking to {host}")),
        ureq::Error::Rustls(tls) => Error::Network(tls_message(host, &tls)),
        // rustls reports handshake refusals through the I/O error it returns.
        ureq::Error::Io(io)
            if io
                .get_ref()
                .is_some_and(|inner| inner.is::<rustls::Error>()) =>
        {
            match io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                Some(tls) => Error::Network(tls_message(host, tls)),
                None => Error::Network(format!("request to {host} failed: {io}")),
            }
        }
        other => Error::Network(format!("request to {host} failed: {other}")),
    }
}

/// Says which host's certificate was refused and why, in words (`download_fail` carries it).
#[cfg(feature = "builtin-http")]
fn tls_message(host: &str, e: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    let why = match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::UnknownIssuer => {
                "unknown issuer (no trusted root CA; for a private CA add it to the trust store, \
                 e.g. SSL_CERT_FILE)"
                    .to_string()
            }
            C::Expired | C::ExpiredContext { .. } => "the certificate has expired".to_string(),
            C::NotValidYet | C::NotValidYetContext { .. } => {
                "the certificate is not valid yet".to_string()
            }
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                format!("the certificate is not valid for the name {host}")
            }
            C::Revoked => "the certificate is revoked".to_string(),
            C::BadSignature => "the certificate's signature is bad".to_string(),
            C::Other(other) => match other.0.downcast_ref::<crate::net::tls::HostRefusal>() {
                Some(refusal) => refusal.to_string(),
                None => format!("the certificate was refused ({other})"),
            },
            other => format!("the certificate was refused ({other:?})"),
        },
        other => other.to_string(),
    };
    format!("TLS handshake with {host} failed: {why}")
}

/// The root certificates HTTPS trusts when the app installed no verifier (`tls.rs`), loaded once
/// per process: the operating system's store, honouring `SSL_CERT_FILE` / `SSL_CERT_DIR` as
/// OpenSSL does (`rustls-native-certs`). Android: those variables, else the system store folders
/// (`/apex/com.android.conscrypt/cacerts`, `/system/etc/security/cacerts`). iOS has no store a
/// process can read and no root list is compiled in: the app installs the platform's verifier
/// (the Capacitor shell does, `PlatformTrust`), else every HTTPS server is refused with
/// "unknown issuer".
#[cfg(feature = "builtin-http")]
fn root_certs() -> ureq::tls::RootCerts {
    use std::sync::OnceLock;
    static ROOTS: OnceLock<ureq::tls::RootCerts> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            #[cfg(target_os = "ios")]
            {
                log::warn!(
                    "no certificate verifier installed: HTTPS needs setCertificateVerifier on iOS"
                );
                ureq::tls::RootCerts::Specific(Arc::new(Vec::new()))
            }
            #[cfg(not(target_os = "ios"))]
            {
                #[cfg_attr(not(target_os = "android"), allow(unused_mut))]
                let mut found = rustls_native_certs::load_native_certs();
                #[cfg(target_os = "android")]
                if std::env::var_os("SSL_CERT_FILE").is_none()
                    && std::env::var_os("SSL_CERT_DIR").is_none()
                {
                    for dir in [
                        "/apex/com.android.conscrypt/cacerts",
                        "/system/etc/security/cacerts",
                    ] {
                        let more = rustls_native_certs::load_certs_from_paths(
                            None,
                            Some(std::path::Path::new(dir)),
                        );
                        found.certs.extend(more.certs);
                    }
                }
                for e in &found.errors {
                    log::warn!("trust store: {e}");
                }
                log::debug!("trust store: {} root certificates", found.certs.len());
                let certs: Vec<ureq::tls::Certificate<'static>> = found
                    .certs
                    .iter()
                    .map(|c| ureq::tls::Certificate::from_der(c.as_ref()).to_owned())
                    .collect();
                ureq::tls::RootCerts::Specific(Arc::new(certs))
            }
        })
        .clone()
}

impl Http {
    /// Builds a client: the app's transport when the hooks give one, else the built-in client
    /// (when the build has one), trusting the hooks' certificate verifier or the OS store. No I/O.
    pub fn new(config: HttpConfig, hooks: &crate::hooks::Hooks) -> Self {
        let backend = match &hooks.transport {
            Some(t) => Backend::Host(t.clone()),
            None => Self::builtin(&config, hooks),
        };
        Self { backend, config }
    }

    #[cfg(not(feature = "builtin-http"))]
    fn builtin(_config: &HttpConfig, _hooks: &crate::hooks::Hooks) -> Backend {
        Backend::Missing
    }

    #[cfg(feature = "builtin-http")]
    fn builtin(config: &HttpConfig, hooks: &crate::hooks::Hooks) -> Backend {
        use ureq::Agent;
        let builder = Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(config.timeout))
            .timeout_recv_response(Some(config.timeout))
            .timeout_per_read(Some(config.timeout))
            .timeout_send_request(Some(config.timeout))
            .user_agent(config.user_agent.clone());
        // The app's own verifier when it supplied one (the platform's trust), else the OS store.
        let host_tls = hooks
            .certificate_verifier
            .clone()
            .and_then(|v| crate::net::tls::HostTlsConnector::new(v).ok());
        let agent: Agent = match host_tls {
            Some(tls) => {
                use ureq::unversioned::transport::{
                    ConnectProxyConnector, Connector, TcpConnector,
                };
                let connector =
                    ().chain(ConnectProxyConnector::default())
                        .chain(TcpConnector::default())
                        .chain(tls);
                Agent::with_parts(
                    builder.build(),
                    connector,
                    ureq::unversioned::resolver::DefaultResolver::default(),
                )
            }
            None => builder
                .tls_config(
                    ureq::tls::TlsConfig::builder()
                        .provider(ureq::tls::TlsProvider::Rustls)
                        .root_certs(root_certs())
                        .unversioned_rustls_crypto_provider(Arc::new(
                            rustls::crypto::ring::default_provider(),
                        ))
                        .build(),
                )
                .build()
                .into(),
        };
        Backend::Builtin(agent)
    }

    /// One exchange with no redirect followed, through the backend.
    fn exchange(
        &self,
        method: Method,
        uri: &Uri,
        json: Option<&[u8]>,
        headers: &[(&str, String)],
        left: Duration,
    ) -> Result<Head> {
        let target = uri.to_string();
        let deadline = Instant::now() + left;
        match &self.backend {
            Backend::Missing => Err(Error::Network(
                "no HTTP transport: this build has no built-in HTTP client, and the app \
                 installed none (C: liveupdate_set_http_transport; Kotlin/Swift: \
                 setHttpTransport; Rust: Hooks::transport)"
                    .into(),
            )),
            Backend::Host(t) => {
                let mut all: Vec<(String, String)> =
                    vec![("User-Agent".into(), self.config.user_agent.clone())];
                let body = match method {
                    Method::Get => None,
                    Method::Post | Method::Put => {
                        all.push((
                            "Content-Type".into(),
                            "application/json; charset=utf-8".into(),
                        ));
                        Some(json.unwrap_or(b"{}").to_vec())
                    }
                };
                all.extend(headers.iter().map(|(k, v)| (k.to_string(), v.clone())));
                let request = TransportRequest {
                    method: match method {
                        Method::Get => "GET",
                        Method::Post => "POST",
                        Method::Put => "PUT",
                    }
                    .into(),
                    url: target,
                    headers: all,
                    body,
                    timeout: self.config.timeout.min(left),
                };
                let (head, body) = transport::exchange(t, request, deadline).map_err(|why| {
                    Error::Network(format!(
                        "request to {} failed: {why}",
                        uri.host().unwrap_or("?")
                    ))
                })?;
                Ok(Head {
                    status: head.status,
                    headers: head.headers,
                    body: Body::Host(body),
                })
            }
            #[cfg(feature = "builtin-http")]
            Backend::Builtin(agent) => {
                let resp = match method {
                    Method::Get => {
                        let mut r = agent.get(&target);
                        for (k, v) in headers {
                            r = r.header(*k, v);
                        }
                        r.config().timeout_global(Some(left)).build().call()
                    }
                    Method::Post | Method::Put => {
                        let mut r = if method == Method::Post {
                            agent.post(&target)
                        } else {
                            agent.put(&target)
                        };
                        r = r.header("Content-Type", "application/json; charset=utf-8");
                        for (k, v) in headers {
                            r = r.header(*k, v);
                        }
                        r.config()
                            .timeout_global(Some(left))
                            .build()
                            .send(json.unwrap_or(b"{}"))
                    }
                }
                .map_err(|e| net_error(uri, e))?;
                let status = resp.status().as_u16();
                let headers = resp
                    .headers()
                    .iter()
                    .filter_map(|(k, v)| {
                        Some((k.as_str().to_string(), v.to_str().ok()?.to_string()))
                    })
                    .collect();
                Ok(Head {
                    status,
                    headers,
                    body: Body::Builtin(resp.into_body()),
                })
            }
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &HttpConfig {
        &self.config
    }

    /// Sends one request, following up to 5 redirects, each checked against the URL policy. The
    /// whole exchange — every hop, and reading the body afterwards — ends by `deadline`.
    fn send(
        &self,
        method: Method,
        url: &str,
        json: Option<&[u8]>,
        headers: &[(&str, String)],
        deadline: Instant,
    ) -> Result<(Uri, Head)> {
        let mut uri = check_url(url, self.config.allow_insecure)?;
        for _ in 0..=MAX_REDIRECTS {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::Network(format!(
                    "no answer from {} within the time limit",
                    uri.host().unwrap_or("?")
                )));
            }
            let resp = self.exchange(method, &uri, json, headers, left)?;
            let status = resp.status;
            if matches!(status, 301 | 302 | 303 | 307 | 308) {
                let Some(loc) = resp.header("location") else {
                    return Err(Error::Network(format!(
                        "redirect {status} without Location"
                    )));
                };
                let next = if loc.starts_with("http://") || loc.starts_with("https://") {
                    loc
                } else {
                    let base = format!(
                        "{}://{}",
                        uri.scheme_str().unwrap_or("https"),
                        uri.authority().map(|a| a.as_str()).unwrap_or("")
                    );
                    if loc.starts_with('/') {
                        format!("{base}{loc}")
                    } else {
                        // `file:`, `ftp:`, `data:` …: a policy refusal, never retried.
                        return Err(Error::UrlPolicy(format!(
                            "unsupported redirect target {loc:?}"
                        )));
                    }
                };
                let next_uri = check_url(&next, self.config.allow_insecure)?;
                if uri.scheme_str() == Some("https") && next_uri.scheme_str() != Some("https") {
                    return Err(Error::UrlPolicy(format!(
                        "a redirect from https to plain http ({next})"
                    )));
                }
                uri = next_uri;
                continue;
            }
            return Ok((uri, resp));
        }
        Err(Error::UrlPolicy(format!(
            "too many redirects (more than {MAX_REDIRECTS}) from {url}"
        )))
    }

    /// A JSON request that ends by `deadline` whatever the server does (a server trickling one
    /// byte a second included), and within ~100 ms of `cancel` being set: the exchange runs on a
    /// helper thread the caller stops waiting for (it ends by itself at the deadline). Blocks;
    /// network I/O.
    pub fn json_until(
        &self,
        method: Method,
        url: &str,
        body: Option<&serde_json::Value>,
        deadline: Instant,
        cancel: Option<&Arc<AtomicBool>>,
        cap: BodyCap,
    ) -> Result<SmallResponse> {
        let bytes = body.map(|b| b.to_string().into_bytes());
        let accept = vec![("Accept", "application/json".to_string())];
        self.small_until(method, url, bytes, accept, deadline, cancel, cap)
    }

    /// [`Http::json_until`] for any small exchange: `headers` are sent as given (a static
    /// channel file's conditional `If-None-Match` / `If-Modified-Since`), and the answer's
    /// validators come back in the response. Blocks; network I/O.
    #[allow(clippy::too_many_arguments)]
    pub fn small_until(
        &self,
        method: Method,
        url: &str,
        body: Option<Vec<u8>>,
        headers: Vec<(&'static str, String)>,
        deadline: Instant,
        cancel: Option<&Arc<AtomicBool>>,
        cap: BodyCap,
    ) -> Result<SmallResponse> {
        let deadline = deadline.min(crate::time::after(self.config.timeout));
        let Some(cancel) = cancel else {
            return self.small_blocking(method, url, body.as_deref(), &headers, deadline, cap);
        };
        if cancel.load(Ordering::Relaxed) {
            return Err(Error::Cancelled);
        }
        let (tx, rx) = mpsc::channel();
        let (me, url_owned) = (self.clone(), url.to_string());
        std::thread::Builder::new()
            .name("liveupdate-request".into())
            .spawn(move || {
                let _ = tx.send(me.small_blocking(
                    method,
                    &url_owned,
                    body.as_deref(),
                    &headers,
                    deadline,
                    cap,
                ));
            })
            .map_err(Error::io("starting a request thread", ""))?;
        loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(r) => return r,
                Err(mpsc::RecvTimeoutError::Timeout) if cancel.load(Ordering::Relaxed) => {
                    return Err(Error::Cancelled);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    // The helper ends at the deadline; this is only a backstop.
                    if Instant::now() > deadline + Duration::from_secs(2) {
                        return Err(Error::Network("no answer within the time limit".into()));
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(Error::Network("the request thread stopped".into()));
                }
            }
        }
    }

    fn small_blocking(
        &self,
        method: Method,
        url: &str,
        body: Option<&[u8]>,
        headers: &[(&str, String)],
        deadline: Instant,
        cap: BodyCap,
    ) -> Result<SmallResponse> {
        let (uri, resp) = self.send(method, url, body, headers, deadline)?;
        let status = resp.status;
        let retry_after = resp.header("retry-after");
        let etag = resp.header("etag");
        let last_modified = resp.header("last-modified");
        let (body, truncated) = resp.body.read_capped(cap.for_status(status), &uri)?;
        Ok(SmallResponse {
            status,
            retry_after,
            body,
            truncated,
            etag,
            last_modified,
        })
    }

    /// Starts a GET whose body is streamed. `range` asks for the bytes from an offset, validated by
    /// `If-Range` with the given ETag or Last-Modified. Blocks until the headers arrive; the
    /// exchange, body included, ends by `deadline`.
    pub fn stream(
        &self,
        url: &str,
        range: Option<(u64, Option<&str>)>,
        deadline: Instant,
    ) -> Result<StreamResponse> {
        let mut headers = vec![("Accept-Encoding", "identity".to_string())];
        if let Some((from, validator)) = range {
            headers.push(("Range", format!("bytes={from}-")));
            if let Some(v) = validator {
                headers.push(("If-Range", v.to_string()));
            }
        }
        let (_, resp) = self.send(Method::Get, url, None, &headers, deadline)?;
        Ok(StreamResponse {
            status: resp.status,
            content_length: resp.header("content-length").and_then(|v| v.parse().ok()),
            content_range: resp
                .header("content-range")
                .and_then(|v| parse_content_range(&v)),
            etag: resp.header("etag"),
            last_modified: resp.header("last-modified"),
            retry_after: resp.header("retry-after"),
            body: resp.body.into_reader(),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn url_policy() {
        assert!(check_url("https://updates.example.com/x", false).is_ok());
        assert!(check_url("http://127.0.0.1:8080/updates", false).is_ok());
        assert!(check_url("http://127.8.9.1/updates", false).is_ok());
        assert!(check_url("http://localhost/updates", false).is_ok());
        assert!(check_url("http://[::1]:9/updates", false).is_ok());
        assert!(check_url("http://example.com/x", false).is_err());
        assert!(check_url("http://10.0.0.1/x", false).is_err());
        assert!(check_url("http://example.com/x", true).is_ok());
        assert!(check_url("ftp://example.com/x", true).is_err());
        assert!(check_url("not a url", true).is_err());
    }

    #[test]
    fn content_range() {
        assert_eq!(
            parse_content_range("bytes 10-19/20"),
            Some((10, 19, Some(20)))
        );
        assert_eq!(parse_content_range("bytes 0-9/*"), Some((0, 9, None)));
        assert_eq!(parse_content_range("items 0-9/10"), None);
    }
}
