//! Session: `liveupdate device … session` — one app process driven as the Android/iOS shells drive the engine, over JSON lines on stdin/stdout.
//!
//! In: `{"id": N, "method": "<Capgo JS method>", "options": {…}}`, `{"lifecycle": "foreground"}`,
//! `{"lifecycle": "background"}`; end of input ends the process. Out: `{"host": "load", …}` first,
//! then one `{"id", "resolve"|"reject"}` per call in order, `{"event", "data"}` for every JS event,
//! `{"host": …}` for web-view actions, `{"error"}` for lines that are none of the above (not
//! JSON, not UTF-8, longer than [`MAX_LINE`], an id that is neither a string nor an exact
//! integer). Every call read gets exactly one answer, also when the input ends before it ran.

use std::collections::VecDeque;
use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use liveupdate::{Engine, EngineOptions, Host, HostAction};

/// Longest input line read (bytes, newline excluded): a longer line is answered with
/// `{"error"}` and skipped to its newline without being kept in memory.
pub const MAX_LINE: usize = 4 * 1024 * 1024;

/// Writes one JSON value per line on stdout; shared by the engine's threads and the call worker.
#[derive(Clone)]
struct Out(Arc<Mutex<std::io::Stdout>>);

impl Out {
    fn line(&self, v: &Value) {
        let mut out = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // A closed stdout (the driver went away) is the end of the process, not an error to report.
        let _ = writeln!(out, "{v}");
        let _ = out.flush();
    }
}

impl Host for Out {
    fn event(&self, name: &str, data: &Value) {
        self.line(&json!({"event": name, "data": data}));
    }
    fn action(&self, action: &HostAction) {
        self.line(&action.to_json());
    }
}

/// One parsed input line.
enum Input {
    Call {
        id: Value,
        method: String,
        options: Value,
    },
    Foreground,
    Background,
    Bad(String),
}

/// A call id echoed back exactly: a string, or an integer that JSON numbers carry exactly.
fn call_id(id: &Value) -> Option<Value> {
    match id {
        Value::String(_) => Some(id.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(id.clone()),
        _ => None,
    }
}

fn parse(line: &[u8]) -> Input {
    let Ok(line) = std::str::from_utf8(line) else {
        return Input::Bad("the line is not UTF-8".into());
    };
    let v: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => return Input::Bad(format!("not a JSON line: {e}")),
    };
    let Some(o) = v.as_object() else {
        return Input::Bad("expected a JSON object".into());
    };
    if let Some(l) = o.get("lifecycle") {
        return match l.as_str() {
            Some("foreground") => Input::Foreground,
            Some("background") => Input::Background,
            _ => Input::Bad(format!(
                "unknown lifecycle {l}: expected \"foreground\" or \"background\""
            )),
        };
    }
    let id = match o.get("id") {
        Some(id) => match call_id(id) {
            Some(id) => id,
            None => {
                return Input::Bad(
                    "\"id\" must be a string or an integer (at most 64 bits)".into(),
                );
            }
        },
        None => return Input::Bad("expected {\"id\", \"method\"} or {\"lifecycle\"}".into()),
    };
    let Some(method) = o.get("method").and_then(Value::as_str) else {
        return Input::Bad("a call needs a \"method\" string".into());
    };
    let options = match o.get("options") {
        None | Some(Value::Null) => json!({}),
        Some(v @ Value::Object(_)) => v.clone(),
        Some(_) => return Input::Bad("\"options\" must be an object".into()),
    };
    Input::Call {
        id,
        method: method.to_string(),
        options,
    }
}

/// One input line, read with bounded memory.
enum Line {
    /// A whole line (newline removed).
    Text(Vec<u8>),
    /// A line longer than [`MAX_LINE`], skipped to its newline.
    TooLong,
    /// End of input (or an unreadable stdin).
    End,
}

/// Reads the next line: at most [`MAX_LINE`] bytes are kept; the rest of a longer line is
/// consumed and dropped.
fn next_line(input: &mut impl BufRead, buf: &mut Vec<u8>) -> Line {
    buf.clear();
    let mut too_long = false;
    loop {
        let chunk = match input.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return Line::End,
        };
        if chunk.is_empty() {
            return match (too_long, buf.is_empty()) {
                (true, _) => Line::TooLong,
                (false, true) => Line::End,
                (false, false) => Line::Text(std::mem::take(buf)),
            };
        }
        let (part, newline) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (&chunk[..i], Some(i)),
            None => (chunk, None),
        };
        if !too_long {
            if buf.len() + part.len() > MAX_LINE {
                too_long = true;
                buf.clear();
                buf.shrink_to(64 * 1024);
            } else {
                buf.extend_from_slice(part);
            }
        }
        let used = newline.map_or(chunk.len(), |i| i + 1);
        input.consume(used);
        if newline.is_some() {
            if too_long {
                return Line::TooLong;
            }
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
            return Line::Text(std::mem::take(buf));
        }
    }
}

/// After end of input, calls already read get this long to finish before running downloads are
/// cancelled and calls not started yet are answered with a `CANCELLED` reject (the OS is ending
/// the process; a stalled transfer must not keep it alive).
const END_GRACE: Duration = Duration::from_secs(10);
/// After the grace, how long the call in progress may still take before it is answered with a
/// `CANCELLED` reject and the process ends.
const END_HARD: Duration = Duration::from_secs(20);

/// The calls read and not yet carried out, shared by the reader and the worker.
#[derive(Default)]
struct Queue {
    items: VecDeque<Input>,
    /// End of input: no more items will come.
    closed: bool,
    /// The id of the call the worker is running, and whether its answer was already given.
    in_flight: Option<(Value, bool)>,
    /// The process is ending: calls not started are answered with a `CANCELLED` reject, in
    /// order, instead of being run.
    draining: bool,
}

fn lock(q: &Mutex<Queue>) -> std::sync::MutexGuard<'_, Queue> {
    q.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn cancelled(id: &Value) -> Value {
    json!({"id": id, "reject": {"message": "the process is ending: the call was cancelled",
                                "code": "CANCELLED"}})
}

/// Runs the session until end of input; the engine is shut down (stats flushed, ≤ ~2 s) before
/// returning. Errors only when the engine cannot start.
pub fn run(options: EngineOptions) -> Result<(), crate::Failure> {
    let out = Out(Arc::new(Mutex::new(std::io::stdout())));
    let engine = Arc::new(Engine::start(options, Arc::new(out.clone()))?);
    let shared = Arc::new((Mutex::new(Queue::default()), Condvar::new()));
    let done = Arc::new(AtomicBool::new(false));
    // Calls and lifecycle events are carried out one at a time, in input order, on a worker
    // thread, while this thread keeps reading; the engine's timers run meanwhile.
    let worker = {
        let (engine, shared, done, out) =
            (engine.clone(), shared.clone(), done.clone(), out.clone());
        std::thread::Builder::new()
            .name("session-worker".into())
            .spawn(move || {
                let (q, cv) = &*shared;
                loop {
                    let input = {
                        let mut g = lock(q);
                        loop {
                            if let Some(i) = g.items.pop_front() {
                                if let Input::Call { id, .. } = &i {
                                    if g.draining {
                                        out.line(&cancelled(id));
                                        continue;
                                    }
                                    g.in_flight = Some((id.clone(), false));
                                }
                                break Some(i);
                            }
                            if g.closed {
                                break None;
                            }
                            g = cv
                                .wait(g)
                                .unwrap_or_else(std::sync::PoisonError::into_inner);
                        }
                    };
                    let Some(input) = input else { break };
                    match input {
                        Input::Call {
                            id,
                            method,
                            options,
                        } => {
                            let answer = match engine.call(&method, &options) {
                                Ok(v) => json!({"id": id, "resolve": v}),
                                Err(r) => json!({"id": id, "reject": r.to_json()}),
                            };
                            let mut g = lock(q);
                            // Answered already when the process was ending and this call ran late.
                            if !g.in_flight.take().is_some_and(|(_, answered)| answered) {
                                out.line(&answer);
                            }
                        }
                        Input::Foreground => engine.foreground(),
                        Input::Background => {
                            if let Err(e) = engine.background() {
                                log::error!("background: {e}");
                            }
                        }
                        Input::Bad(why) => out.line(&json!({"error": why})),
                    }
                }
                engine.shutdown();
                done.store(true, Ordering::SeqCst);
                cv.notify_all();
            })
            .map_err(|e| crate::Failure::Cli(format!("cannot start the session worker: {e}")))?
    };
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut buf = Vec::new();
    loop {
        let item = match next_line(&mut input, &mut buf) {
            Line::End => break,
            Line::TooLong => {
                Input::Bad(format!("the line is longer than {MAX_LINE} bytes: skipped"))
            }
            Line::Text(t) if t.iter().all(u8::is_ascii_whitespace) => continue,
            Line::Text(t) => parse(&t),
        };
        let (q, cv) = &*shared;
        lock(q).items.push_back(item);
        cv.notify_all();
    }
    let (q, cv) = &*shared;
    lock(q).closed = true;
    cv.notify_all();
    let wait_done = |until: Instant| {
        let mut g = lock(q);
        while !done.load(Ordering::SeqCst) && Instant::now() < until {
            g = cv
                .wait_timeout(g, Duration::from_millis(50))
                .map_or_else(|e| e.into_inner().0, |(g, _)| g);
        }
    };
    wait_done(Instant::now() + END_GRACE);
    if !done.load(Ordering::SeqCst) {
        log::warn!("end of input: cancelling the work still running");
        // Calls not started are answered (in order, by the worker) without being run; the one
        // running is cancelled.
        lock(q).draining = true;
        cv.notify_all();
        engine.cancel_running();
        wait_done(Instant::now() + END_HARD);
    }
    if !done.load(Ordering::SeqCst) {
        // The call in progress does not end (a transport ignoring its timeouts): answer it and
        // the calls behind it, and end the process without them.
        let mut g = lock(q);
        if let Some((id, answered)) = g.in_flight.as_mut()
            && !*answered
        {
            *answered = true;
            out.line(&cancelled(id));
        }
        for i in g.items.drain(..) {
            match i {
                Input::Call { id, .. } => out.line(&cancelled(&id)),
                Input::Bad(why) => out.line(&json!({"error": why})),
                Input::Foreground | Input::Background => {}
            }
        }
        return Ok(());
    }
    let _ = worker.join();
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_bounded_and_bytes_are_not_text() {
        let mut long = vec![b'x'; MAX_LINE + 10];
        long.extend_from_slice(b"\n{\"id\":1}\r\n\xff\xfe\nlast");
        let mut r = std::io::BufReader::with_capacity(4096, &long[..]);
        let mut buf = Vec::new();
        assert!(matches!(next_line(&mut r, &mut buf), Line::TooLong));
        assert!(buf.capacity() <= MAX_LINE + 4096);
        assert!(matches!(next_line(&mut r, &mut buf), Line::Text(t) if t == b"{\"id\":1}"));
        match next_line(&mut r, &mut buf) {
            Line::Text(t) => assert!(matches!(parse(&t), Input::Bad(w) if w.contains("UTF-8"))),
            _ => unreachable!(),
        }
        assert!(matches!(next_line(&mut r, &mut buf), Line::Text(t) if t == b"last"));
        assert!(matches!(next_line(&mut r, &mut buf), Line::End));
    }

    #[test]
    fn ids_are_echoed_exactly_or_refused() {
        for ok in [r#""a""#, "1", "-5", "18446744073709551615"] {
            let v: Value = serde_json::from_str(ok).unwrap();
            assert_eq!(call_id(&v).unwrap().to_string(), ok);
        }
        for bad in [
            "123456789012345678901234567890",
            "1.5",
            "1e3",
            "null",
            "[1]",
            "{}",
        ] {
            let v: Value = serde_json::from_str(bad).unwrap();
            assert!(call_id(&v).is_none(), "{bad}");
        }
    }
}
