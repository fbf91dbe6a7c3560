/*
 * liveupdate C ABI — safe, self-hostable live updates for Capacitor-style apps (Capgo-compatible).
 *
 * Written by hand and checked against src/c_api.rs by tests/c_header.rs.
 *
 * Conventions
 *   - Every function returns LIVEUPDATE_OK (0) or an error code; after an error,
 *     liveupdate_last_error() returns the message (per thread, valid until the next call).
 *   - Results are UTF-8 JSON strings written to `char **out`; free them with liveupdate_string_free.
 *   - A handle may be used from several threads at once; liveupdate_update blocks (call it off the
 *     UI thread) and liveupdate_cancel stops it from another thread.
 *   - No panic crosses this boundary: it is reported as LIVEUPDATE_ERR_PANIC.
 */
#ifndef LIVEUPDATE_H
#define LIVEUPDATE_H

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
 *    "allow_insecure": false}
 */
int32_t liveupdate_create(const char *config_json, LiveUpdate **out);

/* Frees a handle (NULL is ignored). */
void liveupdate_free(LiveUpdate *handle);

/* At web view start. *out = {"launch_id","web_root","bundle","rolled_back"}. */
int32_t liveupdate_launch(const LiveUpdate *handle, char **out);

/* The web app is ready on launch_id. *out = {"bundle","accepted"}. */
int32_t liveupdate_notify_ready(const LiveUpdate *handle, const char *launch_id, char **out);

/* Check, download, verify, install (blocking). *out = {"result","bundle","error",...}. */
int32_t liveupdate_update(const LiveUpdate *handle, char **out);

/* Cancels a running liveupdate_update. */
int32_t liveupdate_cancel(const LiveUpdate *handle);

/* *out = {"current","next","fallback","bundles"}. */
int32_t liveupdate_list(const LiveUpdate *handle, char **out);

/* Back to builtin, or to the last confirmed bundle when to_last_successful != 0. *out = {"bundle"}. */
int32_t liveupdate_reset(const LiveUpdate *handle, int32_t to_last_successful, char **out);

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
