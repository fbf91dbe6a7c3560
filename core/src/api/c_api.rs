//! C ABI: a small, stable `liveupdate_*` API over an opaque handle, for Flutter, React Native and C++ hosts; it only translates.
//!
//! Conventions: every function returns an `int32_t` status (`LIVEUPDATE_OK` = 0); results are
//! UTF-8 JSON strings written to an out-parameter and freed with `liveupdate_string_free`; on an
//! error, `liveupdate_last_error()` gives the message (per thread). No panic crosses the boundary:
//! each entry point runs under `catch_unwind` and reports `LIVEUPDATE_ERR_PANIC`.
#![allow(unsafe_code)]

mod engine;
mod transport;
mod trust;

pub use engine::*;
pub use transport::*;
pub use trust::*;

use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::effects::{Host, HostAction, NoHost};
use crate::engine::{Engine, EngineOptions, HostOptions};
use crate::error::LiveUpdateError;

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

/// The opaque handle C code holds: a headless engine (the host drives its own launches).
pub struct LiveUpdate {
    engine: Engine,
}

/// The JSON configuration of `liveupdate_create` / `liveupdate_engine_start`: the fields of
/// [`HostOptions`] (`data_dir`, `builtin_dir`, `capacitor_config` as an object,
/// `native_version`, `version_code`, `platform`, `os_version`, `device_id`, `custom_id`,
/// `update_url`, `stats_url`, `channel_url`, `allow_insecure`, …).
///
/// # Safety
/// `config_json` must be null or a NUL-terminated string valid for the call.
unsafe fn read_config(config_json: *const c_char) -> Result<EngineOptions, (i32, String)> {
    // SAFETY: forwarded caller guarantee.
    let text = unsafe { read_str(config_json, "config_json") }?;
    let host: HostOptions = serde_json::from_str(text).map_err(|e| {
        (
            LIVEUPDATE_ERR_CONFIG,
            format!("bad configuration JSON: {e}"),
        )
    })?;
    host.into_engine_options(true).map_err(fail)
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
fn fail(e: LiveUpdateError) -> (i32, String) {
    let message = e.to_string();
    let code = match e {
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

/// Borrows the engine behind a handle.
///
/// # Safety
/// `h` must be null or a handle returned by `liveupdate_create` and not yet freed.
unsafe fn handle<'a>(h: *const LiveUpdate) -> Result<&'a Engine, (i32, String)> {
    if h.is_null() {
        return Err(arg_error("the handle is null"));
    }
    // SAFETY: non-null, created by liveupdate_create (Box::into_raw) and not freed yet; the
    // engine is Sync, so shared references from several threads are fine.
    Ok(unsafe { &(*h).engine })
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
        let boxed = Box::new(LiveUpdate { engine });
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
        let current = u.status().map_err(fail)?.current;
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
        u.cancel_running();
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
        let s = u.status().map_err(fail)?;
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
    f: impl FnOnce(&Engine) -> Result<Value, LiveUpdateError>,
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
    f: impl FnOnce(&Engine, &str) -> Result<Value, LiveUpdateError>,
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
    unsafe { with_handle(h, out, |u| Ok(json!({"bundle": u.background()?}))) }
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
fn channel_answer(r: Result<Value, crate::net::ServerError>) -> Value {
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
