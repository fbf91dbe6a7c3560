//! A scriptable HTTP/1.1 server on 127.0.0.1 for fault tests: Capgo endpoints plus a bundle file
//! whose delivery can be cut, reset, stalled, corrupted, mis-ranged or lied about.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How one bundle request is answered.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Correct answer (200, or 206 for a Range request).
    Ok,
    /// Correct headers, then only this many body bytes, then the connection closes.
    CutAfter(usize),
    /// Close the connection right after the headers.
    ResetAfterHeaders,
    /// Send this many bytes, then stall for the duration.
    StallAfter(usize, Duration),
    /// Flip one byte of the body at this offset of the file.
    Corrupt(usize),
    /// Ignore Range: always 200 with the whole file.
    IgnoreRange,
    /// Answer 206 for a range starting elsewhere than asked.
    WrongRange,
    /// Claim this Content-Length, send the whole file (truncated by the client) or close early.
    ContentLength(u64),
    /// An endless body without Content-Length (chunked), until the client gives up.
    Endless,
    /// Reply with this status and a short body.
    Status(u16, Option<&'static str>),
    /// Redirect to this URL.
    Redirect(String),
    /// Send one byte every interval.
    Trickle(Duration),
}

/// A request as the server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub range: Option<String>,
    pub if_range: Option<String>,
    pub user_agent: Option<String>,
    pub body: Vec<u8>,
    pub body_bytes_sent: u64,
}

pub struct Script {
    /// Answers for /updates, in order; the last one repeats.
    pub updates: VecDeque<(u16, Vec<(String, String)>, String)>,
    /// Faults for successive bundle requests; `Ok` when empty.
    pub bundle_faults: VecDeque<Fault>,
    pub bundle: Vec<u8>,
    pub seen: Vec<Seen>,
    pub stats: Vec<serde_json::Value>,
    /// Answers for /channel_self (any method), in order; the last one repeats.
    pub channel: VecDeque<(u16, String)>,
    /// When set, JSON answers (/updates, /stats, /channel_self) trickle one byte per interval.
    pub trickle_json: Option<Duration>,
    /// Delta bodies served at `/files/<key>` (the raw, percent-encoded request path after
    /// `/files/`), each with its own fault queue.
    pub files: std::collections::HashMap<String, (Vec<u8>, VecDeque<Fault>)>,
}

pub struct FaultServer {
    pub port: u16,
    pub script: Arc<Mutex<Script>>,
    stop: Arc<AtomicBool>,
}

impl FaultServer {
    pub fn start(bundle: Vec<u8>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let script = Arc::new(Mutex::new(Script {
            updates: VecDeque::new(),
            bundle_faults: VecDeque::new(),
            bundle,
            seen: Vec::new(),
            stats: Vec::new(),
            channel: VecDeque::new(),
            trickle_json: None,
            files: Default::default(),
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (script.clone(), stop.clone());
        std::thread::spawn(move || {
            // Bounded: the test process ends, or `stop` is set on drop.
            while !st.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let (s, st) = (s.clone(), st.clone());
                        std::thread::spawn(move || {
                            let _ = handle(conn, &s, &st);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Self { port, script, stop }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Queues an /updates answer.
    pub fn answer_updates(&self, status: u16, headers: &[(&str, &str)], body: &str) {
        self.script.lock().unwrap().updates.push_back((
            status,
            headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body.to_string(),
        ));
    }

    /// Offers the bundle with this session key and checksum.
    pub fn offer(&self, version: &str, session_key: &str, checksum: &str) {
        let body = serde_json::json!({
            "version": version,
            "url": self.url("/bundle.zip"),
            "session_key": session_key,
            "checksum": checksum,
        })
        .to_string();
        self.answer_updates(200, &[], &body);
    }

    /// Sets the /channel_self answer from now on.
    pub fn answer_channel(&self, status: u16, body: &str) {
        let mut s = self.script.lock().unwrap();
        s.channel.clear();
        s.channel.push_back((status, body.to_string()));
    }

    /// JSON answers trickle one byte per `interval` from now on (`None`: normal answers).
    pub fn trickle_json(&self, interval: Option<Duration>) {
        self.script.lock().unwrap().trickle_json = interval;
    }

    /// Sets the /updates answer from now on (dropping queued ones).
    pub fn set_updates(&self, status: u16, body: &str) {
        self.script.lock().unwrap().updates.clear();
        self.answer_updates(status, &[], body);
    }

    pub fn faults(&self, faults: Vec<Fault>) {
        self.script.lock().unwrap().bundle_faults = faults.into();
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.script.lock().unwrap().seen.clone()
    }

    pub fn stats_actions(&self) -> Vec<String> {
        self.script
            .lock()
            .unwrap()
            .stats
            .iter()
            .filter_map(|e| e["action"].as_str().map(String::from))
            .collect()
    }

    pub fn bundle_bytes_sent(&self) -> u64 {
        self.seen()
            .iter()
            .filter(|s| s.path == "/bundle.zip")
            .map(|s| s.body_bytes_sent)
            .sum()
    }

    /// Serves `body` at `/files/<key>`; returns its URL.
    pub fn add_file(&self, key: &str, body: Vec<u8>) -> String {
        self.script
            .lock()
            .unwrap()
            .files
            .insert(key.to_string(), (body, VecDeque::new()));
        self.url(&format!("/files/{key}"))
    }

    /// Faults for successive requests of `/files/<key>`.
    pub fn file_faults(&self, key: &str, faults: Vec<Fault>) {
        if let Some(f) = self.script.lock().unwrap().files.get_mut(key) {
            f.1 = faults.into();
        }
    }

    /// Body bytes sent for `/files/…` requests.
    pub fn files_bytes_sent(&self) -> u64 {
        self.seen()
            .iter()
            .filter(|s| s.path.starts_with("/files/"))
            .map(|s| s.body_bytes_sent)
            .sum()
    }

    pub fn requests_to(&self, path: &str) -> usize {
        self.seen().iter().filter(|s| s.path == path).count()
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn handle(conn: TcpStream, script: &Mutex<Script>, stop: &AtomicBool) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let get = |k: &str| headers.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let len: usize = get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body)?;
    let mut seen = Seen {
        method: method.clone(),
        path: path.clone(),
        range: get("range"),
        if_range: get("if-range"),
        user_agent: get("user-agent"),
        body: body.clone(),
        body_bytes_sent: 0,
    };
    let mut out = conn;
    let p = path.split('?').next().unwrap_or("").to_string();
    // Recorded on arrival, so a test that looks right after its call returns sees it; the bytes
    // sent are filled in when the answer is done.
    let slot = {
        let mut s = script.lock().unwrap();
        s.seen.push(seen.clone());
        s.seen.len() - 1
    };
    let result = match p.as_str() {
        "/updates" => {
            let (status, hs, b) = {
                let mut s = script.lock().unwrap();
                if s.updates.len() > 1 {
                    s.updates.pop_front().unwrap()
                } else {
                    s.updates
                        .front()
                        .cloned()
                        .unwrap_or((200, vec![], r#"{"error":"no_new_version_available","kind":"up_to_date","message":"none"}"#.into()))
                }
            };
            let trickle = script.lock().unwrap().trickle_json;
            respond_json(&mut out, status, &hs, b.as_bytes(), trickle, stop)
        }
        "/channel_self" => {
            let (status, b) = {
                let mut s = script.lock().unwrap();
                if s.channel.len() > 1 {
                    s.channel.pop_front().unwrap()
                } else {
                    s.channel
                        .front()
                        .cloned()
                        .unwrap_or((200, r#"{"status":"ok"}"#.into()))
                }
            };
            let trickle = script.lock().unwrap().trickle_json;
            respond_json(&mut out, status, &[], b.as_bytes(), trickle, stop)
        }
        "/stats" => {
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let mut s = script.lock().unwrap();
            match v {
                serde_json::Value::Array(a) => s.stats.extend(a),
                other => s.stats.push(other),
            }
            let trickle = s.trickle_json;
            drop(s);
            respond_json(&mut out, 200, &[], br#"{"status":"ok"}"#, trickle, stop)
        }
        "/bundle.zip" => {
            let (fault, file) = {
                let mut s = script.lock().unwrap();
                (
                    s.bundle_faults.pop_front().unwrap_or(Fault::Ok),
                    s.bundle.clone(),
                )
            };
            serve_bundle(
                &mut out,
                fault,
                &file,
                seen.range.as_deref(),
                &mut seen.body_bytes_sent,
                stop,
            )
        }
        f if f.starts_with("/files/") => {
            let entry = {
                let mut s = script.lock().unwrap();
                s.files
                    .get_mut(&f["/files/".len()..])
                    .map(|(b, q)| (q.pop_front().unwrap_or(Fault::Ok), b.clone()))
            };
            match entry {
                Some((fault, file)) => serve_bundle(
                    &mut out,
                    fault,
                    &file,
                    seen.range.as_deref(),
                    &mut seen.body_bytes_sent,
                    stop,
                ),
                None => respond(&mut out, 404, &[], b"{}"),
            }
        }
        _ => respond(&mut out, 404, &[], b"{}"),
    };
    if let Some(entry) = script.lock().unwrap().seen.get_mut(slot) {
        entry.body_bytes_sent = seen.body_bytes_sent;
    }
    result
}

fn respond(
    out: &mut TcpStream,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
) -> std::io::Result<()> {
    out.write_all(json_head(status, headers, body.len()).as_bytes())?;
    out.write_all(body)?;
    out.flush()
}

/// The status line and headers of a JSON answer of `len` bytes.
fn json_head(status: u16, headers: &[(String, String)], len: usize) -> String {
    let mut head = format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {len}\r\nConnection: close\r\nContent-Type: application/json\r\n"
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    head
}

/// A JSON answer, whole or trickled one byte per interval (bounded by the body and `stop`).
fn respond_json(
    out: &mut TcpStream,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
    trickle: Option<Duration>,
    stop: &AtomicBool,
) -> std::io::Result<()> {
    let Some(every) = trickle else {
        return respond(out, status, headers, body);
    };
    out.write_all(json_head(status, headers, body.len()).as_bytes())?;
    out.flush()?;
    for b in body {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        std::thread::sleep(every);
        out.write_all(&[*b])?;
        out.flush()?;
    }
    Ok(())
}

const ETAG: &str = "\"bundle-v1\"";

fn serve_bundle(
    out: &mut TcpStream,
    fault: Fault,
    file: &[u8],
    range: Option<&str>,
    sent: &mut u64,
    stop: &AtomicBool,
) -> std::io::Result<()> {
    let total = file.len();
    let from = range
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|r| r.parse::<usize>().ok())
        .filter(|f| *f < total);
    let (status, start, extra) = match (&fault, from) {
        (Fault::IgnoreRange, _) | (_, None) => (200, 0, String::new()),
        (Fault::WrongRange, Some(f)) => {
            let s = f / 2;
            (
                206,
                s,
                format!("Content-Range: bytes {s}-{}/{total}\r\n", total - 1),
            )
        }
        (_, Some(f)) => (
            206,
            f,
            format!("Content-Range: bytes {f}-{}/{total}\r\n", total - 1),
        ),
    };
    let body = &file[start..];
    let header = |len: String| {
        format!(
            "HTTP/1.1 {status} X\r\n{len}ETag: {ETAG}\r\nAccept-Ranges: bytes\r\nConnection: close\r\n{extra}\r\n"
        )
    };
    match fault {
        Fault::Status(code, retry_after) => {
            let hs: Vec<(String, String)> = retry_after
                .map(|r| vec![("Retry-After".to_string(), r.to_string())])
                .unwrap_or_default();
            return respond(out, code, &hs, b"{\"error\":\"server_error\"}");
        }
        Fault::Redirect(to) => {
            return respond(out, 302, &[("Location".into(), to)], b"");
        }
        Fault::Endless => {
            out.write_all(
                "HTTP/1.1 200 X
Transfer-Encoding: chunked
Connection: close

"
                .to_string()
                .as_bytes(),
            )?;
            let chunk = vec![0x5au8; 64 * 1024];
            // Bounded: at most 4 GiB, or until the client hangs up.
            for _ in 0..65_536 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                out.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())?;
                out.write_all(&chunk)?;
                out.write_all(b"\r\n")?;
                *sent += chunk.len() as u64;
            }
            return Ok(());
        }
        _ => {}
    }
    let claimed = match fault {
        Fault::ContentLength(n) => n,
        _ => body.len() as u64,
    };
    out.write_all(header(format!("Content-Length: {claimed}\r\n")).as_bytes())?;
    match fault {
        Fault::CutAfter(n) => {
            let n = n.min(body.len());
            out.write_all(&body[..n])?;
            *sent += n as u64;
            let _ = out.shutdown(std::net::Shutdown::Both);
        }
        Fault::ResetAfterHeaders => {
            let _ = out.shutdown(std::net::Shutdown::Both);
        }
        Fault::StallAfter(n, d) => {
            let n = n.min(body.len());
            out.write_all(&body[..n])?;
            *sent += n as u64;
            out.flush()?;
            std::thread::sleep(d);
            let _ = out.shutdown(std::net::Shutdown::Both);
        }
        Fault::Corrupt(at) => {
            let mut b = body.to_vec();
            if at >= start && at - start < b.len() {
                b[at - start] ^= 0x40;
            }
            out.write_all(&b)?;
            *sent += b.len() as u64;
        }
        Fault::ContentLength(n) => {
            let n = (n as usize).min(body.len());
            out.write_all(&body[..n])?;
            *sent += n as u64;
            let _ = out.shutdown(std::net::Shutdown::Both);
        }
        Fault::Trickle(every) => {
            for b in body.iter().take(50) {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                out.write_all(&[*b])?;
                out.flush()?;
                *sent += 1;
                std::thread::sleep(every);
            }
            let _ = out.shutdown(std::net::Shutdown::Both);
        }
        _ => {
            out.write_all(body)?;
            *sent += body.len() as u64;
        }
    }
    out.flush()
}
