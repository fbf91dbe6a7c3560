/* C against the real cdylib and bindings/c/liveupdate.h: the update flow over loopback and error
 * paths. Run by scripts/test-c.sh; prints "N passed, N failed". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "liveupdate.h"

static int passed = 0, failed = 0;
static void check(const char *name, int ok, const char *detail) {
    if (ok) { passed++; printf("ok   %s\n", name); }
    else { failed++; printf("FAIL %s %s\n", name, detail ? detail : ""); }
}

/* Copies the string value of "key" from a flat JSON text into buf. */
static int json_str(const char *json, const char *key, char *buf, size_t len) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *p = strstr(json, pat);
    if (!p) return 0;
    p += strlen(pat);
    size_t i = 0;
    while (p[i] && p[i] != '"' && i + 1 < len) { buf[i] = p[i]; i++; }
    buf[i] = 0;
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: %s REGISTRY_URL WORK_DIR PUBLIC_KEY_JSON_STRING\n", argv[0]); return 2; }
    const char *url = argv[1], *work = argv[2], *pem_json = argv[3];
    char cfg[8192], *out = NULL;
    LiveUpdate *h = NULL;

    check("version is set", strlen(liveupdate_version()) > 0, NULL);
    check("null config is an argument error", liveupdate_create(NULL, &h) == LIVEUPDATE_ERR_ARGUMENT, NULL);
    check("bad JSON is a config error", liveupdate_create("{nope", &h) == LIVEUPDATE_ERR_CONFIG, NULL);
    check("the error message says why", strstr(liveupdate_last_error(), "configuration JSON") != NULL, liveupdate_last_error());
    snprintf(cfg, sizeof cfg, "{\"data_dir\":\"%s/x\",\"builtin_dir\":\"%s/missing\"}", work, work);
    int rc = liveupdate_create(cfg, &h);
    check("a missing builtin folder is a storage error", rc == LIVEUPDATE_ERR_STORAGE, liveupdate_last_error());
    check("null handle is an argument error", liveupdate_launch(NULL, &out) == LIVEUPDATE_ERR_ARGUMENT, NULL);

    snprintf(cfg, sizeof cfg,
        "{\"data_dir\":\"%s/data\",\"builtin_dir\":\"%s/www\",\"native_version\":\"1.0\","
        "\"capacitor_config\":{\"appId\":\"com.example.liveupdate\",\"plugins\":{\"CapacitorUpdater\":"
        "{\"publicKey\":%s,\"updateUrl\":\"%s/updates\",\"statsUrl\":\"%s/stats\"}}}}",
        work, work, pem_json, url, url);
    rc = liveupdate_create(cfg, &h);
    check("create", rc == LIVEUPDATE_OK && h != NULL, liveupdate_last_error());
    if (!h) { printf("%d passed, %d failed\n", passed, failed + 1); return 1; }

    rc = liveupdate_launch(h, &out);
    check("first launch serves builtin", rc == 0 && strstr(out, "\"id\":\"builtin\""), out);
    liveupdate_string_free(out); out = NULL;

    rc = liveupdate_update(h, &out);
    check("update installs the bundle", rc == 0 && strstr(out, "\"result\":\"installed\""), out);
    char id[64] = "";
    if (out) { const char *b = strstr(out, "\"bundle\":"); if (b) json_str(b, "id", id, sizeof id); }
    liveupdate_string_free(out); out = NULL;

    rc = liveupdate_launch(h, &out);
    char launch_id[64] = "";
    check("next launch serves it", rc == 0 && id[0] && strstr(out, id) && json_str(out, "launch_id", launch_id, sizeof launch_id), out);
    liveupdate_string_free(out); out = NULL;

    rc = liveupdate_notify_ready(h, launch_id, &out);
    check("notify_ready confirms it", rc == 0 && strstr(out, "\"accepted\":true") && strstr(out, "\"status\":\"success\""), out);
    liveupdate_string_free(out); out = NULL;

    rc = liveupdate_notify_ready(h, "stale", &out);
    check("a stale launch id is ignored", rc == 0 && strstr(out, "\"accepted\":false"), out);
    liveupdate_string_free(out); out = NULL;

    rc = liveupdate_list(h, &out);
    check("list shows the bundle as fallback", rc == 0 && strstr(out, "\"fallback\":{") && strstr(out, id), out);
    liveupdate_string_free(out); out = NULL;

    rc = liveupdate_reset(h, 0, &out);
    check("reset goes back to builtin", rc == 0 && strstr(out, "\"id\":\"builtin\""), out);
    liveupdate_string_free(out); out = NULL;

    check("notify_ready with a null id is an argument error", liveupdate_notify_ready(h, NULL, &out) == LIVEUPDATE_ERR_ARGUMENT, NULL);
    check("cancel works on an idle handle", liveupdate_cancel(h) == LIVEUPDATE_OK, NULL);
    liveupdate_string_free(NULL);
    liveupdate_free(h);
    liveupdate_free(NULL);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
