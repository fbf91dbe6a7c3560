/*
 * liveupdate C ABI — safe, self-hostable live updates for Capacitor-style apps (Capgo-compatible).
 *
 * Written by hand and checked against core/src/api/c_api.rs (and core/src/api/c_api/) by
 * core/tests/c_header.rs. Build and link recipes: docs/bindings.md.
 *
 * Two APIs over the same engine:
 *   - LiveUpdate (liveupdate_create …): typed operations for hosts that drive launches themselves.
 *   - LiveUpdateEngine (liveupdate_engine_start …): the plugin engine behind a JSON bridge — every
 *     Capgo JS method through liveupdate_engine_call, app lifecycle, and host callbacks receiving
 *     JS events and web-view actions. This is what React Native, Flutter or Electron shells use.
 *
 * Conventions
 *   - Every int32_t function returns LIVEUPDATE_OK (0) or an error code; after an error,
 *     liveupdate_last_error() returns the message (per thread, valid until the next call).
 *   - Arguments are checked before anything is done: a call with a NULL handle, string or result
 *     pointer returns LIVEUPDATE_ERR_ARGUMENT and has no side effect.
 *
 * Ownership
 *   - Strings passed in are borrowed for the duration of the call only.
 *   - Results are UTF-8 JSON strings written to `char **out`, owned by the caller: free each with
 *     liveupdate_string_free (never with free()). *out is untouched when the call fails.
 *   - Handles are owned by the caller: free with liveupdate_free / liveupdate_engine_free, once,
 *     when no call on them is in flight. Strings passed to callbacks are valid during the callback only.
 *   - liveupdate_last_error() and liveupdate_version() return static or thread-local storage: do not free.
 *
 * Threading
 *   - Handles may be used from several threads at once. Calls block the calling thread for their
 *     duration (liveupdate_update and network methods: the whole transfer): call them off the UI thread.
 *     liveupdate_cancel stops a running liveupdate_update from another thread.
 *   - Engine callbacks run on engine threads (the caller's, a download thread, the timer thread),
 *     never while the engine holds a lock, so they may call back into the engine; they must be
 *     thread-safe and return quickly.
 *   - No panic crosses this boundary: it is reported as LIVEUPDATE_ERR_PANIC.
 *
 * JSON shapes
 *   BundleInfo = {"id","version","downloaded","checksum","status"} (status: downloading | pending |
 *   success | error | deleting | deleted; id "builtin" is the app's shipped bundle).
 *   Each function below states what *out holds.
 */
#ifndef LIVEUPDATE_H
#define LIVEUPDATE_H

/* Self-contained: compiles first in a translation unit, as C99 and later or as C++. */
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LIVEUPDATE_OK 0
#define LIVEUPDATE_ERR_ARGUMENT 1     /* null pointer, invalid UTF-8 or malformed JSON argument */
#define LIVEUPDATE_ERR_CONFIG 2       /* unusable configuration */
#define LIVEUPDATE_ERR_NETWORK 3      /* network or server failure */
#define LIVEUPDATE_ERR_VERIFICATION 4 /* key, session key or checksum did not verify */
#define LIVEUPDATE_ERR_BUNDLE 5       /* unsafe, broken or oversized bundle archive */
#define LIVEUPDATE_ERR_STORAGE 6      /* disk full or file operation failed */
#define LIVEUPDATE_ERR_REFUSED 7      /* operation does not apply (unknown bundle, bundle in use) */
#define LIVEUPDATE_ERR_CANCELLED 8    /* cancelled by the host */
#define LIVEUPDATE_ERR_PANIC 9        /* internal error (a caught panic) */

/* Opaque updater handle. */
typedef struct LiveUpdate LiveUpdate;

/*
 * Creates an updater. config_json:
 *   {"data_dir": "...", "builtin_dir": "...",            required
 *    "capacitor_config": { ...capacitor.config.json... }, optional (plugins.CapacitorUpdater keys)
 *    "native_version": "1.0", "version_code": "10", "platform": "android", "os_version": "14",
 *    "device_id": null, "custom_id": "", "update_url": null, "stats_url": null, "channel_url": null,
 *    "allow_insecure": false, "leftover_paths": ["/abs/dir", "/abs/dir/update_*.dat"]}   another updater's leftovers, removed once
 */
int32_t liveupdate_create(const char *config_json, LiveUpdate **out);

/* Frees a handle (NULL is ignored). */
void liveupdate_free(LiveUpdate *handle);

/* At web view start. *out = {"launch_id","web_root","bundle","rolled_back"}. */
int32_t liveupdate_launch(const LiveUpdate *handle, char **out);

/* The web app is ready on launch_id. *out = {"bundle","accepted"}. */
int32_t liveupdate_notify_ready(const LiveUpdate *handle, const char *launch_id, char **out);

/*
 * Check, download, verify, install (blocking). *out = {"result","bundle","error",...}.
 * Returns LIVEUPDATE_OK whenever the update flow ran to an outcome — including an update that was
 * refused or failed (server down, bad checksum, known-bad version): read *out's "result", one of
 * "installed" | "up_to_date" | "builtin" | "blocked" | "failed"; with "blocked" or "failed",
 * "error" is {"code": Capgo's code such as "checksum_fail", "message": why} and nothing changed on
 * disk. A code other than LIVEUPDATE_OK means the call itself could not run (a bad argument,
 * cancellation, a storage failure): *out is then untouched and liveupdate_last_error() says why.
 */
int32_t liveupdate_update(const LiveUpdate *handle, char **out);

/* Cancels a running liveupdate_update. */
int32_t liveupdate_cancel(const LiveUpdate *handle);

/* *out = {"current","next","fallback","bundles"}. */
int32_t liveupdate_list(const LiveUpdate *handle, char **out);

/* Back to builtin, or to the last confirmed bundle when to_last_successful != 0. *out = {"bundle"}. */
int32_t liveupdate_reset(const LiveUpdate *handle, int32_t to_last_successful, char **out);

/* Queues bundle id (or "builtin") for the next launch or background. *out = {"bundle"}. */
int32_t liveupdate_next(const LiveUpdate *handle, const char *id, char **out);

/* Makes bundle id (or "builtin") current; reload the web view and call liveupdate_launch. *out = {"bundle"}. */
int32_t liveupdate_set(const LiveUpdate *handle, const char *id, char **out);

/* Deletes a bundle's files (not builtin, current, next or fallback). *out = {"bundle"}. */
int32_t liveupdate_delete(const LiveUpdate *handle, const char *id, char **out);

/* Marks a bundle as failed (falls back if it is current). *out = {"bundle"}. */
int32_t liveupdate_set_bundle_error(const LiveUpdate *handle, const char *id, char **out);

/* The app went to the background: a pending next is applied. *out = {"bundle"} (current). */
int32_t liveupdate_background(const LiveUpdate *handle, char **out);

/* Rolls back if launch_id is unconfirmed after appReadyTimeout. *out = {"rolled_back": {"failed","to"} | null}. */
int32_t liveupdate_check_app_ready_timeout(const LiveUpdate *handle, const char *launch_id, char **out);

/* Sends queued stats for at most timeout_ms (blocking). *out = {"delivered": N}. */
int32_t liveupdate_flush_stats(const LiveUpdate *handle, uint32_t timeout_ms, char **out);

/* Channel calls (blocking). *out = the server's JSON answer, or {"error","message"}. */
int32_t liveupdate_set_channel(const LiveUpdate *handle, const char *channel, char **out);
int32_t liveupdate_get_channel(const LiveUpdate *handle, char **out);
int32_t liveupdate_list_channels(const LiveUpdate *handle, char **out);
/* Forgets the device's channel locally (no request). *out = {"status":"ok"}. */
int32_t liveupdate_unset_channel(const LiveUpdate *handle, char **out);

/* ─────────────── The plugin engine (JSON bridge) ─────────────── */

/* Opaque engine handle. */
typedef struct LiveUpdateEngine LiveUpdateEngine;

/*
 * Host callbacks, copied by liveupdate_engine_start. Either may be NULL.
 *   on_event(user_data, name, data_json): a JS event, e.g. "download" {"percent","bundle"},
 *     "set" {"bundle"}, "updateFailed" {"bundle"}, "appReady" {"bundle","status"}.
 *   on_host_action(user_data, action_json): {"host":"load"|"reload","webRoot","launchId","bundle"}
 *     (point the web view at webRoot — or at the app's own assets when bundle.id is "builtin" —
 *     and give the page launchId), or {"host":"splashShow"|"splashHide"}.
 */
typedef struct LiveUpdateHostCallbacks {
  void *user_data;
  void (*on_event)(void *user_data, const char *name, const char *data_json);
  void (*on_host_action)(void *user_data, const char *action_json);
} LiveUpdateHostCallbacks;

/* Starts the engine (config_json as for liveupdate_create); on_host_action receives the "load"
 * action before this returns. */
int32_t liveupdate_engine_start(const char *config_json, const LiveUpdateHostCallbacks *host, LiveUpdateEngine **out);

/* Runs a Capgo JS method with its options (JSON object, NULL = {}). Blocks.
 * *out = {"resolve": value} or {"reject": {"message","code"?,"data"?}}; LIVEUPDATE_OK for both. */
int32_t liveupdate_engine_call(const LiveUpdateEngine *engine, const char *method, const char *options_json, char **out);

/* App lifecycle. foreground returns quickly (checks run on an engine thread). */
int32_t liveupdate_engine_foreground(const LiveUpdateEngine *engine);
int32_t liveupdate_engine_background(const LiveUpdateEngine *engine);

/* *out = {"launch_id": "…" | null}: the token of the page shown now. */
int32_t liveupdate_engine_launch_id(const LiveUpdateEngine *engine, char **out);

/* Process end: cancels downloads, stops timers, flushes stats (≤ ~2 s). Blocks. */
int32_t liveupdate_engine_shutdown(const LiveUpdateEngine *engine);

/* Shuts down (if needed) and frees the engine (NULL is ignored); no callback runs afterwards. */
void liveupdate_engine_free(LiveUpdateEngine *engine);

/*
 * The platform's certificate trust (process-wide). verify(user_data, host, certs, lens, count,
 * reason, reason_cap) gets the server's chain (count DER certificates, leaf first: certs[i] has
 * lens[i] bytes) and returns 1 when trusted, 0 when not (it may write a NUL-terminated reason into
 * reason, at most reason_cap bytes). The core still checks the host name. Called on network
 * threads; must not call back into liveupdate. The pointers are valid only during the call.
 */
typedef struct LiveUpdateCertificateVerifier {
  void *user_data;
  int32_t (*verify)(void *user_data, const char *host, const uint8_t *const *certs, const size_t *lens,
                    size_t count, char *reason, size_t reason_cap);
} LiveUpdateCertificateVerifier;

/* Installs the verifier for every client created after this call (the struct is copied);
 * NULL, or a NULL verify, goes back to the operating system's store. */
int32_t liveupdate_set_certificate_verifier(const LiveUpdateCertificateVerifier *verifier);

/*
 * The app's own HTTP stack (process-wide), for builds without the built-in client
 * (--no-default-features: phones) or to use the platform's networking anyway. The core keeps every
 * decision (URL policy, redirects — never follow them here —, Range/If-Range, limits, deadlines);
 * the transport only moves bytes. Callbacks run on network threads, several at once; they must not
 * call back into liveupdate; pointers are valid only during the call.
 *   send(user_data, request_json, body, body_len, id, status, head, head_cap):
 *     request_json = {"method": "GET"|"POST"|"PUT", "url": "…", "headers": [["name","value"],…],
 *     "timeout_ms": n} (connect and idle timeout); body/body_len: the JSON body or NULL/0.
 *     Returns 1 and writes the answer's id, its HTTP status and its headers (NUL-terminated JSON
 *     array of ["name","value"] pairs, at most head_cap bytes) into head; or 0 with a
 *     NUL-terminated reason in head (shown in the update error).
 *   read(user_data, id, buf, cap): up to cap body bytes into buf; returns the count, 0 at the end,
 *     or -1 with a NUL-terminated reason in buf. Blocks until at least one byte or the end.
 *   close(user_data, id): the core is done with the answer (read to the end or not).
 */
typedef struct LiveUpdateHttpTransport {
  void *user_data;
  int32_t (*send)(void *user_data, const char *request_json, const uint8_t *body, size_t body_len,
                  uint64_t *id, uint16_t *status, char *head, size_t head_cap);
  int64_t (*read)(void *user_data, uint64_t id, uint8_t *buf, size_t cap);
  void (*close)(void *user_data, uint64_t id);
} LiveUpdateHttpTransport;

/* Installs the transport for every handle or engine created after this call (the struct is
 * copied); NULL, or any NULL callback, goes back to the built-in client where the build has one. */
int32_t liveupdate_set_http_transport(const LiveUpdateHttpTransport *transport);

/* Message of the last failed call on this thread ("" after a success). Do not free. */
const char *liveupdate_last_error(void);

/* Frees a string returned through an out-parameter (NULL is ignored). */
void liveupdate_string_free(char *s);

/* Library version (static, do not free). */
const char *liveupdate_version(void);

#ifdef __cplusplus
}
#endif

#endif /* LIVEUPDATE_H */
