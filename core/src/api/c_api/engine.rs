//! C ABI, the plugin engine: the JSON bridge a C host drives as a Capacitor shell does (`liveupdate_engine_*`), with its callbacks struct.

use super::*;

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
        unsafe { engine(e) }?.background().map_err(fail)?;
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
