//! C ABI: a small, stable `liveupdate_*` API over an opaque handle, for Flutter, React Native and C++ hosts; it only translates.
//!
//! Conventions: every function returns an `int32_t` status (`LIVEUPDATE_OK` = 0); results are
//! UTF-8 JSON strings written to an out-parameter and freed with `liveupdate_string_free`; on an
//! error, `liveupdate_last_error()` gives the message (per thread). No panic crosses the boundary:
//! each entry point runs under `catch_unwind` and reports `LIVEUPDATE_ERR_PANIC`.
#![allow(unsafe_code)]

use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::ptr;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::engine::{Engine, EngineOptions, Host, HostAction, NoHost};
use crate::error::{Error, LiveUpdateError};
use crate::update::Updater;

/// Success.
pub const LIVEUPDATE_OK: i32 = 0;
/// A null pointer, invalid UTF-8 or malformed JSON argument.
pub const LIVEUPDATE_ERR_ARGUMENT: i32 = 1;
/// The configuration is unusable.
pub const LIVEUPDATE_ERR_CONFIG: i32 = 2;
/// Network or server failure.
pub const LIVEUPDATE_ERR_NETWORK: i32 = 3;
/// A key, session key or checksum did not verify.
pub const LIVEUPDATE_ERR_VERIFICATION: i32 = 4;
/// The bundle archive is unsafe, broken or over a limit.
pub const LIVEUPDATE_ERR_BUNDLE: i32 = 5;
/// Disk full or a file operation failed.
pub const LIVEUPDATE_ERR_STORAGE: i32 = 6;
/// The operation does not apply (unknown bundle, bundle in use).
pub const LIVEUPDATE_ERR_REFUSED: i32 = 7;
/// Cancelled by the host.
pub const LIVEUPDATE_ERR_CANCELLED: i32 = 8;
/// A bug inside the library (a panic was caught).
pub const LIVEUPDATE_ERR_PANIC: i32 = 9;

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// The opaque handle C code holds.
pub struct LiveUpdate {
    updater: Arc<Updater>,
    _engine: Engine,
}

/// The JSON configuration of `liveupdate_create`.
#[derive(Debug, Deserialize)]
struct CreateConfig {
    data_dir: String,
    builtin_dir: String,
    /// The app's capacitor.config.json, as an object.
    #[serde(default)]
    capacitor_config: Option<Value>,
    #[serde(default)]
    native_version: Option<String>,
    #[serde(default)]
    version_code: String,
    #[serde(default)]
    platform: Option<String>,
    #[serde(default)]
    os_version: String,
    #[serde(default)]
    device_id: Option<String>,
    #[serde(default)]
    custom_id: String,
    #[serde(default)]
    update_url: Option<String>,
    #[serde(default)]
    stats_url: Option<String>,
    #[serde(default)]
    channel_url: Option<String>,
    #[serde(default)]
    allow_insecure: bool,
}

impl CreateConfig {
    /// The engine options these settings describe (host set-up lives in `EngineOptions`).
    fn into_options(self) -> EngineOptions {
        let mut o = EngineOptions::new(
            PathBuf::from(self.data_dir),
            PathBuf::from(self.builtin_dir),
        );
        o.capacitor_config_json = self.capacitor_config.map(|v| v.to_string());
        o.native_version = self.native_version;
        o.version_code = self.version_code;
        if let Some(p) = self.platform {
            o.platform = p;
        }
        o.os_version = self.os_version;
        o.device_id = self.device_id;
        o.initial_custom_id = (!self.custom_id.is_empty()).then_some(self.custom_id);
        o.update_url = self.update_url;
        o.stats_url = self.stats_url;
        o.channel_url = self.channel_url;
        o.allow_insecure = self.allow_insecure;
        o
    }
}

/// Parses the JSON configuration of `liveupdate_create` / `liveupdate_engine_start`.
///
/// # Safety
/// `config_json` must be null or a NUL-terminated string valid for the call.
unsafe fn read_config(config_json: *const c_char) -> Result<EngineOptions, (i32, String)> {
    // SAFETY: forwarded caller guarantee.
    let text = unsafe { read_str(config_json, "config_json") }?;
    let c: CreateConfig = serde_json::from_str(text).map_err(|e| {
        (
            LIVEUPDATE_ERR_CONFIG,
            format!("bad configuration JSON: {e}"),
        )
    })?;
    Ok(c.into_options())
}

/// Fails unless the result pointer can be written: checked before any work, so a bad call has
/// no side effect.
fn need_out<T>(out: *mut *mut T) -> Result<(), (i32, String)> {
    if out.is_null() {
        return Err(arg_error("the result pointer is null"));
    }
    Ok(())
}

/// The C status of an error: the public error enum (converted in one place, `error.rs`) mapped
/// to its integer code.
fn fail(e: Error) -> (i32, String) {
    let message = e.to_string();
    let code = match LiveUpdateError::from(e) {
        LiveUpdateError::Config { .. } => LIVEUPDATE_ERR_CONFIG,
        LiveUpdateError::Network { .. } => LIVEUPDATE_ERR_NETWORK,
        LiveUpdateError::Verification { .. } => LIVEUPDATE_ERR_VERIFICATION,
        LiveUpdateError::BundleRejected { .. } => LIVEUPDATE_ERR_BUNDLE,
        LiveUpdateError::Storage { .. } => LIVEUPDATE_ERR_STORAGE,
        LiveUpdateError::Refused { .. } => LIVEUPDATE_ERR_REFUSED,
        LiveUpdateError::Cancelled => LIVEUPDATE_ERR_CANCELLED,
        LiveUpdateError::Internal { .. } => LIVEUPDATE_ERR_PANIC,
    };
    (code, message)
}

fn set_last_error(msg: &str) {
    let c = CString::new(msg.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR.with(|slot| *slot.borrow_mut() = c);
}

/// Runs `f` with panics caught, recording the error message for `liveupdate_last_error`.
fn guard(f: impl FnOnce() -> Result<(), (i32, String)>) -> i32 {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => {
            set_last_error("");
            LIVEUPDATE_OK
        }
        Ok(Err((code, msg))) => {
            set_last_error(&msg);
            code
        }
        Err(_) => {
            set_last_error("internal error: a panic was caught at the C boundary");
            LIVEUPDATE_ERR_PANIC
        }
    }
}

fn arg_error(msg: &str) -> (i32, String) {
    (LIVEUPDATE_ERR_ARGUMENT, msg.to_string())
}

/// Reads a C string argument.
///
/// # Safety
/// `s` must be null or point to a NUL-terminated string valid for the call.
unsafe fn read_str<'a>(s: *const c_char, name: &str) -> Result<&'a str, (i32, String)> {
    if s.is_null() {
        return Err(arg_error(&format!("{name} is null")));
    }
    // SAFETY: non-null, and the caller guarantees a NUL-terminated string alive for the call.
    let c = unsafe { CStr::from_ptr(s) };
    c.to_str()
        .map_err(|_| arg_error(&format!("{name} is not valid UTF-8")))
}

/// Writes a JSON result to `out`.
///
/// # Safety
/// `out` must be null or a valid pointer to writable `char *` storage.
unsafe fn write_json(out: *mut *mut c_char, v: &Value) -> Result<(), (i32, String)> {
    if out.is_null() {
        return Err(arg_error("the result pointer is null"));
    }
    let s = CString::new(v.to_string()).map_err(|_| arg_error("result contains NUL"))?;
    // SAFETY: `out` is non-null and the caller guarantees it points to writable storage.
    unsafe { *out = s.into_raw() };
    Ok(())
}

/// Borrows the updater behind a handle.
///
/// # Safety
/// `h` must be null or a handle returned by `liveupdate_create` and not yet freed.
unsafe fn handle<'a>(h: *const LiveUpdate) -> Result<&'a Updater, (i32, String)> {
    if h.is_null() {
        return Err(arg_error("the handle is null"));
    }
    // SAFETY: non-null, created by liveupdate_create (Box::into_raw) and not freed yet; the
    // updater is Sync, so shared references from several threads are fine.
    Ok(unsafe { &(*h).updater })
}

/// Creates an updater from a JSON configuration; writes the handle to `*out`.
///
/// # Safety
/// `config_json` must be a NUL-terminated UTF-8 string; `out` a valid `LiveUpdate **`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn liveupdate_create(
    config_json: *const c_char,
    out: *mut *mut LiveUpdate,
) -> i32 {
    guard(|| {
        if out.is_null() {
            return Err(arg_error("the result pointer is null"));
        }
        // SAFETY: forwarded caller guarantee for `config_json`.
        let options = unsafe { read_config(config_json) }?;
        let engine = Engine::open(options, Arc::new(NoHost)).map_err(fail)?;
        let boxed = Box::new(LiveUpdate {
            updater: engine.updater(),
            _engine: engine,
        });
        // SAFETY: `out` is non-null and points to writable storage (caller guarantee).
        unsafe { *out = Box::into_raw(boxed) };
        Ok(())
    })
}

/// Frees a handle (null is ignored). Do not use the handle afterwards.
///
/// # Safety
/// `h` must be null or a handle from `liveupdate_create` not freed before, with no call in flight.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn liveupdate_free(h: *mut LiveUpdate) {
    if h.is_null() {
        return;
    }
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `h` came from Box::into_raw in liveupdate_create and is freed only once.
        drop(unsafe { Box::from_raw(h) });
    }));
}

/// At web view start: rolls back an unconfirmed launch, applies next, records the launch.
/// `*out` = `{"launch_id","web_root","bundle","rolled_back"}`.
///
/// # Safety
/// `h` a live handle; `out` a valid `char **`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn liveupdate_launch(h: *const LiveUpdate, out: *mut *mut c_char) -> i32 {
    guard(|| {
        need_out(out)?;
        // SAFETY: forwarded caller guarantees.
        let u = unsafe { handle(h) }?;
        let l = u.launch().map_err(fail)?;
        let v = json!({
            "launch_id": l.launch_id, "web_root": l.web_root, "bundle": l.bundle,
            "rolled_back": l.rolled_back.map(|r| json!({"failed": r.failed, "to": r.to})),
        });
        // SAFETY: forwarded caller guarantee for `out`.
        unsafe { write_json(out, &v) }
    })
}

/// The web app is ready on `launch_id`. `*out` = `{"bundle","accepted"}`.
///
/// # Safety
/// `h` a live handle; `launch_id` a NUL-terminated string; `out` a valid `char **`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn liveupdate_notify_ready(
    h: *const LiveUpdate,
    launch_id: *const c_char,
    out: *mut *mut c_char,
) -> i32 {
    guard(|| {
        need_out(out)?;
        // SAFETY: forwarded caller guarantees.
        let (u, id) = unsafe { (handle(h)?, read_str(launch_id, "launch_id")?) };
        let r = u.notify_app_ready(id).map_err(fail)?;
        // SAFETY: forwarded caller guarantee for `out`.
        unsafe { write_json(out, &json!({"bundle": r.bundle, "accepted": r.accepted})) }
    })
}

/// Checks for an update and installs it (blocking). `*out` = `{"result","bundle","error",…}`;
/// the status is `LIVEUPDATE_OK` whenever the flow ran, whatever `result` says.
///
/// # Safety
/// `h` a live handle; `out` a valid `char **`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn liveupdate_update(h: *const LiveUpdate, out: *mut *mut c_char) -> i32 {
    guard(|| {
        need_out(out)?;
        // SAFETY: forwarded caller guarantees.
        let u = unsafe { handle(h) }?;
        let outcome = u.update(None).map_err(fail)?;
        let current = u.device().status().map_err(fail)?.current;
        // SAFETY: forwarded caller guarantee for `out`.
        unsafe { write_json(out, &outcome.to_json(&current)) }
    })
}

/// Cancels a running `liveupdate_update` (from any thread).
///
/// # Safety
/// `h` a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn liveupdate_cancel(h: *const LiveUpdate) -> i32 {
    guard(|| {
        // SAFETY: forwarded caller guarantee.
        let u = unsafe { handle(h) }?;
        u.cancel_handle()
            .store(true, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    })
}

/// Current, next, fallback and stored bundles. `*out` = `{"current","next","fallback","bundles"}`.
///
/// # Safety
/// `h` a live handle; `out` a valid `char **`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn liveupdate_list(h: *const LiveUpdate, out: *mut *mut c_char) -> i32 {
    guard(|| {
        need_out(out)?;
        // SAFETY: forwarded caller guarantees.
        let u = unsafe { handle(h) }?;
        let s = u.device().status().map_err(fail)?;
        let v = json!({"current": s.current, "next": s.next, "fallback": s.fallback, "bundles": s.bundles});
        // SAFETY: forwarded caller guarantee for `out`.
        unsafe { write_json(out, &v) }
    })
}

/// Back to builtin (or the last confirmed bundle when `to_last_successful` is non-zero).
/// `*out` = `{"bundle"}` (now current).
///
/// # Safety
/// `h` a live handle; `out` a valid `char **`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn liveupdate_reset(
    h: *const LiveUpdate,
    to_last_successful: i32,
    out: *mut *mut c_char,
) -> i32 {
    guard(|| {
        need_out(out)?;
        // SAFETY: forwarded caller guarantees.
        let u = unsafe { handle(h) }?;
        let b = u.reset(to_last_successful != 0).map_err(fail)?;
        // SAFETY: forwarded caller guarantee for `out`.
        unsafe { write_json(out, &json!({ "bundle": b })) }
    })
}

/// The message of the last failed call on this thread (empty after a success). The pointer stays
/// valid until the next `liveupdate_*` call on this thread; do not free it.
#[unsafe(no_mangle)]
pub extern "C" fn liveupdate_last_error() -> *const c_char {
    catch_unwind(|| LAST_ERROR.with(|s| s.borrow().as_ptr())).unwrap_or(ptr::null())
}

/// Frees a string returned through an out-parameter (null is ignored).
///
/// # Safety
/// `s` must be null or a string from this library not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn liveupdate_string_free(s: *mut c_char) {
    if s.is_null() {
        return;
    }
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `s` came from CString::into_raw in write_json and is freed only once.
        drop(unsafe { CString::from_raw(s) });
    }));
}

/// The library version (static string; do not free).
#[unsafe(no_mangle)]
pub extern "C" fn liveupdate_version() -> *const c_char {
    static VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    VERSION.as_ptr().cast()
}

/// Runs a handle operation that writes one JSON value: `out` and `h` are checked first.
///
/// # Safety
/// `h` must be null or a live handle; `out` null or a valid `char **`.
unsafe fn with_handle(
    h: *const LiveUpdate,
    out: *mut *mut c_char,
    f: impl FnOnce(&Updater) -> Result<Value, Error>,
) -> i32 {
    guard(|| {
        need_out(out)?;
        // SAFETY: forwarded caller guarantee for `h`.
        let u = unsafe { handle(h) }?;
        let v = f(u).map_err(fail)?;
        // SAFETY: forwarded caller guarantee for `out`.
        unsafe { write_json(out, &v) }
    })
}

/// Runs a handle operation on a bundle id: `out`, `h` and `id` are all checked before any work.
///
/// # Safety
/// `h` null or a live handle; `id` null or a NUL-terminated string; `out` null or a valid `char **`.
unsafe fn with_id(
    h: *const LiveUpdate,
    id: *const c_char,
    out: *mut *mut c_char,
    f: impl FnOnce(&Updater, &str) -> Result<Value, Error>,
) -> i32 {
    guard(|| {
        need_out(out)?;
        // SAFETY: forwarded caller guarantees.
        let (u, id) = unsafe { (handle(h)?, read_str(id, "id")?) };
        let v = f(u, id).map_err(fail)?;
        // SAFETY: forwarded caller guarantee for `out`.
        unsafe { write_json(out, &v) }
    })
}

/// Queues bundle `id` (or `"builtin"`) for the next launch or background. `*out` = `{"bundle"}`.
///
/// # Safety
/// `h` a live handle; `id` a NUL-terminated string; `out` a valid `char **`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn liveupdate_next(
    h: *const LiveUpdate,
    id: *const c_char,
    out: *mut *mut c_char,
) -> i32 {
    // SAFETY: forwarded caller guarantees.
    unsafe { with_id(h, id, out, |u, id| Ok(json!({"bundle": u.next(id)?}))) }
}

/// Makes bundle `id` (or `"builtin"`) current; the host reloads and calls `liveupdate_launch`.
/// `*out` = `{"bundle"}`.
///
/// # Safety
/// `h` a live handle; `id` a NUL-terminated string; `out` a valid `char **`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn liveupdate_set(
    h: *const LiveUpdate,
    id: *const c_char,
    out: *mut *mut c_char,
) -> i32 {
    // SAFETY: forwarded caller guarantees.
    unsafe { with_id(h, id, out, |u, id| Ok(json!({"bundle": u.set(id)?}))) }
}

/// Deletes bundle `id`'s files (not builtin, current, next or fallback). `*out` = `{"bundle"}`.
///
/// # Safety
/// `h` a live handle; `id` a NUL-terminated string; `out` a valid `char **`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn liveupdate_delete(
    h: *const LiveUpdate,
    id: *const c_char,
    out: *mut *mut c_char,
) -> i32 {
    // SAFETY: forwarded caller guarantees.
    unsafe { with_id(h, id, out, |u, id| Ok(json!({"bundle": u.delete(id)?}))) }
}

/// Marks bundle `id` as failed (falls back if it is current). `*out` = `{"bundle"}`.
///
/// # Safety
/// `h` a live handle; `id` a NUL-terminated string; `out` a valid `char **`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn liveupdate_set_bundle_error(
    h: *const LiveUpdate,
    id: *const c_char,
    out: *mut *mut c_char,
) -> i32 {
    // SAFETY: forwarded caller guarantees.
    unsafe {
        with_id(h, id, out, |u, id| {
            Ok(json!({"bundle": u.set_bundle_error(id)?}))
        })
    }
}

/// The app went to the background: a pending next is applied. `*out` = `{"bundle"}` (current).
///
/// # Safety
/// `h` a live handle; `out` a valid `char **`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn liveupdate_background(h: *const LiveUpdate, out: *mut *mut c_char) -> i32 {
    // SAFETY: forwarded caller guarantees.
    unsafe { with_handle(h, out, |u| Ok(json!({"bundle": u.on_background()?}))) }
}

/// Rolls back if `launch_id` is still unconfirmed after `appReadyTimeout` (for hosts that keep
/// their own timer). `*out` = `{"rolled_back": {"failed","to"} | null}`.
///
/// # Safety
/// `h` a live handle; `launch_id` a NUL-terminated string; `out` a valid `char **`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn liveupdate_check_app_ready_timeout(
    h: *const LiveUpdate,
    launch_id: *const c_char,
    out: *mut *mut c_char,
) -> i32 {
    // SAFETY: forwarded caller guarantees.
    unsafe {
        with_id(h, launch_id, out, |u, id| {
            let r = u.check_app_ready_timeout(id)?;
            Ok(json!({"rolled_back": r.map(|r| json!({"failed": r.failed, "to": r.to}))}))
        })
    }
}

/// Sends queued stats for at most `timeout_ms` (blocking). `*out` = `{"delivered": N}`.
///
/// # Safety
/// `h` a live handle; `out` a valid `char **`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn liveupdate_flush_stats(
    h: *const LiveUpdate,
    timeout_ms: u32,
    out: *mut *mut c_char,
) -> i32 {
    // SAFETY: forwarded caller guarantees.
    unsafe {
        with_handle(h, out, |u| {
            let n = u.flush_stats(Duration::from_millis(u64::from(timeout_ms)))?;
            Ok(json!({"delivered": n}))
        })
    }
}

/// A channel request's answer as JSON: the server's answer, or `{"error","message"}`.
fn channel_answer(r: Result<Value, crate::update::ServerError>) -> Value {
    match r {
        Ok(v) => v,
        Err(e) => json!({"error": e.error, "message": e.message}),
    }
}

/// Puts this device on `channel` (POST channelUrl, blocking). `*out` = the server's answer or
/// `{"error","message"}`.
///
/// # Safety
/// `h` a live handle; `channel` a NUL-terminated string; `out` a valid `char **`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn liveupdate_set_channel(
    h: *const LiveUpdate,
    channel: *const c_char,
    out: *mut *mut c_char,
) -> i32 {
    // SAFETY: forwarded caller guarantees.
    unsafe {
        with_id(h, channel, out, |u, c| {
            Ok(channel_answer(u.set_channel(c)?))
        })
    }
}

/// This device's channel as the server sees it (PUT channelUrl, blocking). `*out` as above.
///
/// # Safety
/// `h` a live handle; `out` a valid `char **`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn liveupdate_get_channel(
    h: *const LiveUpdate,
    out: *mut *mut c_char,
) -> i32 {
    // SAFETY: forwarded caller guarantees.
    unsafe { with_handle(h, out, |u| Ok(channel_answer(u.get_channel()?))) }
}

/// The channels this device may choose (GET channelUrl, blocking). `*out` as above.
///
/// # Safety
/// `h` a live handle; `out` a valid `char **`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn liveupdate_list_channels(
    h: *const LiveUpdate,
    out: *mut *mut c_char,
) -> i32 {
    // SAFETY: forwarded caller guarantees.
    unsafe { with_handle(h, out, |u| Ok(channel_answer(u.list_channels()?))) }
}

/// Forgets this device's channel locally (no request). `*out` = `{"status": "ok"}`.
///
/// # Safety
/// `h` a live handle; `out` a valid `char **`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn liveupdate_unset_channel(
    h: *const LiveUpdate,
    out: *mut *mut c_char,
) -> i32 {
    // SAFETY: forwarded caller guarantees.
    unsafe {
        with_handle(h, out, |u| {
            u.unset_channel()?;
            Ok(json!({"status": "ok"}))
        })
    }
}

// ───────────────────────────── the plugin engine (JSON bridge) ─────────────────────────────

/// The host callbacks of the engine bridge. Both are called from engine threads (never with an
/// engine lock held), with strings valid only for the duration of the call.
#[repr(C)]
pub struct LiveUpdateHostCallbacks {
    /// Passed back to every callback.
    pub user_data: *mut c_void,
    /// A JS event: its name and its payload as JSON. May be null (events dropped).
    pub on_event: Option<unsafe extern "C" fn(*mut c_void, *const c_char, *const c_char)>,
    /// A web-view action as JSON (`{"host": "load"|"reload"|"splashShow"|"splashHide", …}`).
    /// May be null (actions dropped).
    pub on_host_action: Option<unsafe extern "C" fn(*mut c_void, *const c_char)>,
}

/// The callbacks, owned by the engine.
struct CHost {
    user_data: *mut c_void,
    on_event: Option<unsafe extern "C" fn(*mut c_void, *const c_char, *const c_char)>,
    on_host_action: Option<unsafe extern "C" fn(*mut c_void, *const c_char)>,
}

// SAFETY: the header requires the callbacks and `user_data` to be usable from any thread (the
// engine calls them from its own threads); the engine never dereferences `user_data` itself.
unsafe impl Send for CHost {}
// SAFETY: as above; concurrent calls are allowed by the documented contract.
unsafe impl Sync for CHost {}

impl Host for CHost {
    fn event(&self, name: &str, data: &Value) {
        let (Some(f), Ok(n), Ok(d)) = (
            self.on_event,
            CString::new(name),
            CString::new(data.to_string()),
        ) else {
            return;
        };
        // SAFETY: `f` is the host's callback; both strings are NUL-terminated and live for the call.
        unsafe { f(self.user_data, n.as_ptr(), d.as_ptr()) };
    }
    fn action(&self, action: &HostAction) {
        let (Some(f), Ok(a)) = (
            self.on_host_action,
            CString::new(action.to_json().to_string()),
        ) else {
            return;
        };
        // SAFETY: `f` is the host's callback; the string is NUL-terminated and lives for the call.
        unsafe { f(self.user_data, a.as_ptr()) };
    }
}

/// The opaque engine handle.
pub struct LiveUpdateEngine {
    engine: Engine,
}

/// Borrows the engine behind a handle.
///
/// # Safety
/// `e` must be null or a handle from `liveupdate_engine_start` not yet freed.
unsafe fn engine<'a>(e: *const LiveUpdateEngine) -> Result<&'a Engine, (i32, String)> {
    if e.is_null() {
        return Err(arg_error("the engine handle is null"));
    }
    // SAFETY: non-null, created by Box::into_raw in liveupdate_engine_start and not freed; Engine is Sync.
    Ok(unsafe { &(*e).engine })
}

/// Starts the plugin engine for this app process (same `config_json` as `liveupdate_create`):
/// makes the launch decision and calls `host->on_host_action` with the `load` action before
/// returning, then runs its timers. `host` is copied.
///
/// # Safety
/// `config_json` a NUL-terminated string; `host` a valid pointer whose callbacks and `user_data`
/// stay valid and thread-safe until `liveupdate_engine_free` returns; `out` a valid `LiveUpdateEngine **`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn liveupdate_engine_start(
    config_json: *const c_char,
    host: *const LiveUpdateHostCallbacks,
    out: *mut *mut LiveUpdateEngine,
) -> i32 {
    guard(|| {
        need_out(out)?;
        if host.is_null() {
            return Err(arg_error("host is null"));
        }
        // SAFETY: forwarded caller guarantee for `config_json`.
        let options = unsafe { read_config(config_json) }?;
        // SAFETY: `host` is non-null and valid for reads (caller guarantee).
        let h = unsafe { &*host };
        let c = CHost {
            user_data: h.user_data,
            on_event: h.on_event,
            on_host_action: h.on_host_action,
        };
        let engine = Engine::start(options, Arc::new(c)).map_err(fail)?;
        // SAFETY: `out` is non-null and writable (caller guarantee).
        unsafe { *out = Box::into_raw(Box::new(LiveUpdateEngine { engine })) };
        Ok(())
    })
}

/// Runs a Capgo JS method (`"download"`, `"set"`, …) with its options as JSON (null = `{}`).
/// Blocks for the call's duration. `*out` = `{"resolve": value}` or `{"reject": {"message",
/// "code"?, "data"?}}`; the status is `LIVEUPDATE_OK` for both (a reject is an answer).
///
/// # Safety
/// `e` a live engine handle; `method` a NUL-terminated string; `options_json` null or a
/// NUL-terminated string; `out` a valid `char **`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn liveupdate_engine_call(
    e: *const LiveUpdateEngine,
    method: *const c_char,
    options_json: *const c_char,
    out: *mut *mut c_char,
) -> i32 {
    guard(|| {
        need_out(out)?;
        // SAFETY: forwarded caller guarantees.
        let (engine, method) = unsafe { (engine(e)?, read_str(method, "method")?) };
        let options: Value = if options_json.is_null() {
            json!({})
        } else {
            // SAFETY: non-null, NUL-terminated (caller guarantee).
            let text = unsafe { read_str(options_json, "options_json") }?;
            serde_json::from_str(text)
                .map_err(|err| arg_error(&format!("options_json is not JSON: {err}")))?
        };
        let answer = match engine.call(method, &options) {
            Ok(v) => json!({"resolve": v}),
            Err(r) => json!({"reject": r.to_json()}),
        };
        // SAFETY: forwarded caller guarantee for `out`.
        unsafe { write_json(out, &answer) }
    })
}

/// The app came to the foreground. Returns quickly (checks run on an engine thread).
///
/// # Safety
/// `e` a live engine handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn liveupdate_engine_foreground(e: *const LiveUpdateEngine) -> i32 {
    guard(|| {
        // SAFETY: forwarded caller guarantee.
        unsafe { engine(e) }?.foreground();
        Ok(())
    })
}

/// The app went to the background (a pending bundle is installed: expect a `reload` action).
///
/// # Safety
/// `e` a live engine handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn liveupdate_engine_background(e: *const LiveUpdateEngine) -> i32 {
    guard(|| {
        // SAFETY: forwarded caller guarantee.
        unsafe { engine(e) }?.background();
        Ok(())
    })
}

/// The launch token of the page shown now. `*out` = `{"launch_id": "…" | null}`.
///
/// # Safety
/// `e` a live engine handle; `out` a valid `char **`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn liveupdate_engine_launch_id(
    e: *const LiveUpdateEngine,
    out: *mut *mut c_char,
) -> i32 {
    guard(|| {
        need_out(out)?;
        // SAFETY: forwarded caller guarantee.
        let id = unsafe { engine(e) }?.current_launch_id();
        // SAFETY: forwarded caller guarantee for `out`.
        unsafe { write_json(out, &json!({"launch_id": id})) }
    })
}

/// The process is ending: cancels downloads, stops timers, flushes stats (≤ ~2 s). Blocks.
///
/// # Safety
/// `e` a live engine handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn liveupdate_engine_shutdown(e: *const LiveUpdateEngine) -> i32 {
    guard(|| {
        // SAFETY: forwarded caller guarantee.
        unsafe { engine(e) }?.shutdown();
        Ok(())
    })
}

/// Shuts the engine down (if not done) and frees it (null is ignored). No callback runs after
/// this returns.
///
/// # Safety
/// `e` null or a handle from `liveupdate_engine_start` not freed before, with no call in flight.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn liveupdate_engine_free(e: *mut LiveUpdateEngine) {
    if e.is_null() {
        return;
    }
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `e` came from Box::into_raw in liveupdate_engine_start and is freed only once.
        drop(unsafe { Box::from_raw(e) });
    }));
}

/// The platform's certificate trust for C hosts (see `liveupdate.h`).
#[repr(C)]
pub struct LiveUpdateCertificateVerifier {
    /// Passed back to `verify`.
    pub user_data: *mut c_void,
    /// Judges a chain: `host`, `count` certificates (DER, leaf first) at `certs[i]` with
    /// `lens[i]` bytes. Returns 1 when trusted, 0 when not (it may then write a NUL-terminated
    /// reason into `reason`, at most `reason_cap` bytes). Called on network threads.
    pub verify: Option<
        unsafe extern "C" fn(
            *mut c_void,
            *const c_char,
            *const *const u8,
            *const usize,
            usize,
            *mut c_char,
            usize,
        ) -> i32,
    >,
}

/// A C verifier, owned by the process-wide slot.
struct CVerifier {
    user_data: *mut c_void,
    verify: unsafe extern "C" fn(
        *mut c_void,
        *const c_char,
        *const *const u8,
        *const usize,
        usize,
        *mut c_char,
        usize,
    ) -> i32,
}

// SAFETY: the header requires `verify` and `user_data` to be usable from any thread (TLS
// handshakes run on network threads); the core never dereferences `user_data` itself.
unsafe impl Send for CVerifier {}
// SAFETY: as above; concurrent calls are allowed by the documented contract.
unsafe impl Sync for CVerifier {}

impl crate::tls::CertificateVerifier for CVerifier {
    fn verify(&self, host: &str, chain: &[Vec<u8>]) -> Option<String> {
        let Ok(host) = CString::new(host) else {
            return Some("invalid host name".into());
        };
        let ptrs: Vec<*const u8> = chain.iter().map(|c| c.as_ptr()).collect();
        let lens: Vec<usize> = chain.iter().map(Vec::len).collect();
        let mut reason = vec![0u8; 512];
        // SAFETY: every pointer is valid for the call: `host` is NUL-terminated, `ptrs[i]` points
        // at `lens[i]` bytes, `reason` is writable for its length; the callee may not keep them.
        let trusted = unsafe {
            (self.verify)(
                self.user_data,
                host.as_ptr(),
                ptrs.as_ptr(),
                lens.as_ptr(),
                ptrs.len(),
                reason.as_mut_ptr().cast::<c_char>(),
                reason.len(),
            )
        };
        if trusted == 1 {
            return None;
        }
        let end = reason.iter().position(|&b| b == 0).unwrap_or(0);
        let text = String::from_utf8_lossy(&reason[..end]).into_owned();
        Some(if text.is_empty() {
            "the app's verifier did not trust the chain".into()
        } else {
            text
        })
    }
}

/// Makes HTTPS trust what `verifier` trusts, for every client built after this call
/// (process-wide); NULL, or a NULL `verify`, goes back to the operating system's store. The
/// struct is copied. Returns `LIVEUPDATE_OK`.
///
/// # Safety
/// `verifier` is NULL or points at a valid `LiveUpdateCertificateVerifier` whose `verify` and
/// `user_data` stay usable from any thread until replaced.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn liveupdate_set_certificate_verifier(
    verifier: *const LiveUpdateCertificateVerifier,
) -> i32 {
    guard(|| {
        // SAFETY: `verifier` is NULL or valid for reads (caller guarantee).
        let v = unsafe { verifier.as_ref() };
        let installed = v.and_then(|v| {
            v.verify.map(|verify| {
                Arc::new(CVerifier {
                    user_data: v.user_data,
                    verify,
                }) as Arc<dyn crate::tls::CertificateVerifier>
            })
        });
        crate::tls::set_certificate_verifier(installed);
        Ok(())
    })
}
