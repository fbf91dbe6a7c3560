//! C ABI: a small, stable `liveupdate_*` API over an opaque handle, for Flutter, React Native and C++ hosts; it only translates.
//!
//! Conventions: every function returns an `int32_t` status (`LIVEUPDATE_OK` = 0); results are
//! UTF-8 JSON strings written to an out-parameter and freed with `liveupdate_string_free`; on an
//! error, `liveupdate_last_error()` gives the message (per thread). No panic crosses the boundary:
//! each entry point runs under `catch_unwind` and reports `LIVEUPDATE_ERR_PANIC`.
#![allow(unsafe_code)]

use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::ptr;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::config::{HostInfo, UpdaterConfig};
use crate::error::{Error, LiveUpdateError};
use crate::lifecycle::Device;
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
    updater: Updater,
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
        let text = unsafe { read_str(config_json, "config_json") }?;
        let c: CreateConfig = serde_json::from_str(text).map_err(|e| {
            (
                LIVEUPDATE_ERR_CONFIG,
                format!("bad configuration JSON: {e}"),
            )
        })?;
        let mut config = match &c.capacitor_config {
            Some(v) => UpdaterConfig::from_capacitor_json(&v.to_string()).map_err(fail)?,
            None => UpdaterConfig::default(),
        };
        if let Some(v) = c.update_url {
            config.set_update_url(v);
        }
        for (slot, v) in [
            (&mut config.stats_url, c.stats_url),
            (&mut config.channel_url, c.channel_url),
        ] {
            if let Some(v) = v {
                *slot = v;
            }
        }
        let host = HostInfo {
            platform: c.platform.unwrap_or_else(|| "android".into()),
            version_build: config
                .version
                .clone()
                .or(c.native_version.clone())
                .unwrap_or_default(),
            version_code: c.version_code,
            version_os: c.os_version,
            device_id: c.device_id,
            custom_id: c.custom_id,
            ..HostInfo::default()
        };
        let device = Device::new(
            &PathBuf::from(c.data_dir),
            &PathBuf::from(c.builtin_dir),
            config,
            c.native_version,
        )
        .map_err(fail)?;
        let boxed = Box::new(LiveUpdate {
            updater: Updater::new(device, host, c.allow_insecure),
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
