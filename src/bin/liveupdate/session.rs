//! Session: `liveupdate device … session` — one app process driven as the Android/iOS shells drive the engine, over JSON lines on stdin/stdout.
//!
//! In: `{"id": N, "method": "<Capgo JS method>", "options": {…}}`, `{"lifecycle": "foreground"}`,
//! `{"lifecycle": "background"}`; end of input ends the process. Out: `{"host": "load", …}` first,
//! then one `{"id", "resolve"|"reject"}` per call in order, `{"event", "data"}` for every JS event,
//! `{"host": …}` for web-view actions, `{"error"}` for lines that are none of the above.

use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use liveupdate::engine::{Engine, EngineOptions, Host, HostAction};

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

fn parse(line: &str) -> Input {
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
        Some(id @ (Value::Number(_) | Value::String(_))) => id.clone(),
        Some(_) => return Input::Bad("\"id\" must be a number".into()),
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

/// After end of input, calls already read get this long to finish before running downloads are
/// cancelled (the OS is ending the process; a stalled transfer must not keep it alive).
const END_GRACE: Duration = Duration::from_secs(10);

/// Runs the session until end of input; the engine is shut down (stats flushed, ≤ ~2 s) before
/// returning. Errors only when the engine cannot start.
pub fn run(options: EngineOptions) -> Result<(), liveupdate::Error> {
    let out = Out(Arc::new(Mutex::new(std::io::stdout())));
    let engine = Arc::new(Engine::start(options, Arc::new(out.clone()))?);
    let worker_engine = engine.clone();
    let done = Arc::new(AtomicBool::new(false));
    let worker_done = done.clone();
    // Calls and lifecycle events are carried out one at a time, in input order, on a worker
    // thread, while this thread keeps reading; the engine's timers run meanwhile.
    let (tx, rx) = mpsc::channel::<Input>();
    let worker_out = out.clone();
    let worker = std::thread::Builder::new()
        .name("session-worker".into())
        .spawn(move || {
            for input in rx {
                match input {
                    Input::Call {
                        id,
                        method,
                        options,
                    } => match worker_engine.call(&method, &options) {
                        Ok(v) => worker_out.line(&json!({"id": id, "resolve": v})),
                        Err(r) => worker_out.line(&json!({"id": id, "reject": r.to_json()})),
                    },
                    Input::Foreground => worker_engine.foreground(),
                    Input::Background => worker_engine.background(),
                    Input::Bad(why) => worker_out.line(&json!({"error": why})),
                }
            }
            worker_engine.shutdown();
            worker_done.store(true, Ordering::SeqCst);
        })
        .map_err(|e| liveupdate::Error::Io {
            op: "starting the session worker",
            path: Default::default(),
            source: e,
        })?;
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let Ok(line) = line else {
            break;
        };
        if line.trim().is_empty() {
            continue;
        }
        if tx.send(parse(&line)).is_err() {
            break;
        }
    }
    drop(tx);
    let deadline = Instant::now() + END_GRACE;
    while !done.load(Ordering::SeqCst) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    if !done.load(Ordering::SeqCst) {
        log::warn!("end of input: cancelling the work still running");
        engine.cancel_running();
        // Requests in flight end within their own timeouts; never wait longer than this.
        let hard = Instant::now() + END_GRACE * 3;
        while !done.load(Ordering::SeqCst) && Instant::now() < hard {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    if done.load(Ordering::SeqCst) {
        let _ = worker.join();
    }
    Ok(())
}
