#define _POSIX_C_SOURCE 200809L
/* C against the real cdylib and bindings/c/liveupdate.h: the update flow over loopback and error
 * paths. Run by scripts/test-c.sh; prints "N passed, N failed". The header comes first: it must
 * compile on its own. */
#include "liveupdate.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

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

/* What the engine host callbacks saw (written from engine threads). */
typedef struct {
    pthread_mutex_t lock;
    char log[65536];
    int events, actions, foreign_thread;
    pthread_t main_thread;
} Seen;

static void on_event(void *user_data, const char *name, const char *data_json) {
    Seen *s = user_data;
    pthread_mutex_lock(&s->lock);
    s->events++;
    if (!pthread_equal(pthread_self(), s->main_thread)) s->foreign_thread = 1;
    size_t n = strlen(s->log);
    snprintf(s->log + n, sizeof s->log - n, "event %s %.200s\n", name, data_json);
    pthread_mutex_unlock(&s->lock);
}

static void on_host_action(void *user_data, const char *action_json) {
    Seen *s = user_data;
    pthread_mutex_lock(&s->lock);
    s->actions++;
    size_t n = strlen(s->log);
    snprintf(s->log + n, sizeof s->log - n, "action %.300s\n", action_json);
    pthread_mutex_unlock(&s->lock);
}

/* Waits (at most ~10 s) until the log contains needle. */
static int wait_for(Seen *s, const char *needle) {
    for (int i = 0; i < 1000; i++) {
        pthread_mutex_lock(&s->lock);
        int found = strstr(s->log, needle) != NULL;
        pthread_mutex_unlock(&s->lock);
        if (found) return 1;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

/* The plugin engine through the JSON bridge: load action, calls, events and actions from engine threads. */
static void engine_bridge(const char *work, const char *url, const char *pem_json) {
    char cfg[8192], *out = NULL;
    static Seen seen;
    pthread_mutex_init(&seen.lock, NULL);
    seen.main_thread = pthread_self();
    LiveUpdateHostCallbacks host = { &seen, on_event, on_host_action };
    LiveUpdateEngine *e = NULL;
    check("engine_start with a null host is an argument error",
          liveupdate_engine_start("{}", NULL, &e) == LIVEUPDATE_ERR_ARGUMENT && e == NULL, NULL);
    snprintf(cfg, sizeof cfg,
        "{\"data_dir\":\"%s/engine\",\"builtin_dir\":\"%s/www\",\"native_version\":\"1.0\","
        "\"capacitor_config\":{\"appId\":\"com.example.liveupdate\",\"plugins\":{\"CapacitorUpdater\":"
        "{\"publicKey\":%s,\"updateUrl\":\"%s/updates\",\"statsUrl\":\"%s/stats\",\"autoUpdate\":\"atBackground\","
        "\"appReadyTimeout\":1000}}}}",
        work, work, pem_json, url, url);
    int rc = liveupdate_engine_start(cfg, &host, &e);
    check("engine_start", rc == LIVEUPDATE_OK && e != NULL, liveupdate_last_error());
    if (!e) return;
    check("the load action arrived before engine_start returned", strstr(seen.log, "\"host\":\"load\"") != NULL, seen.log);

    rc = liveupdate_engine_call(e, "getPluginVersion", NULL, &out);
    check("engine_call resolves", rc == 0 && strstr(out, "{\"resolve\":{\"version\":\"8.51.23\"}}"), out);
    liveupdate_string_free(out); out = NULL;
    rc = liveupdate_engine_call(e, "next", "{}", &out);
    check("a reject is an answer", rc == 0 && strstr(out, "\"reject\"") && strstr(out, "Next called without id"), out);
    liveupdate_string_free(out); out = NULL;
    check("options that are not JSON are an argument error",
          liveupdate_engine_call(e, "next", "{nope", &out) == LIVEUPDATE_ERR_ARGUMENT && out == NULL, NULL);
    check("a null result pointer is refused before anything runs",
          liveupdate_engine_call(e, "reload", NULL, NULL) == LIVEUPDATE_ERR_ARGUMENT, NULL);

    /* Auto-update: the check runs on an engine thread; events arrive there. */
    check("foreground", liveupdate_engine_foreground(e) == LIVEUPDATE_OK, liveupdate_last_error());
    check("appReady after the download, from an engine thread",
          wait_for(&seen, "will install next background") && seen.foreign_thread, seen.log);
    check("download progress events arrived", strstr(seen.log, "event download ") != NULL, seen.log);
    check("background", liveupdate_engine_background(e) == LIVEUPDATE_OK, liveupdate_last_error());
    check("background installs next: a reload action", wait_for(&seen, "\"host\":\"reload\""), seen.log);
    rc = liveupdate_engine_launch_id(e, &out);
    char token[64] = "", opts[160];
    check("launch_id", rc == 0 && json_str(out, "launch_id", token, sizeof token), out);
    liveupdate_string_free(out); out = NULL;
    snprintf(opts, sizeof opts, "{\"launchId\":\"%s\"}", token);
    rc = liveupdate_engine_call(e, "notifyAppReady", opts, &out);
    check("notifyAppReady with the page's token confirms the bundle", rc == 0 && strstr(out, "\"status\":\"success\""), out);
    liveupdate_string_free(out); out = NULL;
    check("shutdown", liveupdate_engine_shutdown(e) == LIVEUPDATE_OK, NULL);
    liveupdate_engine_free(e);
    liveupdate_engine_free(NULL);
}

static int verify_calls = 0;
static int32_t refuse_all(void *ud, const char *host, const uint8_t *const *certs, const size_t *lens,
                          size_t count, char *reason, size_t cap) {
    (void)ud; (void)host; (void)certs; (void)lens; (void)count;
    verify_calls++;
    snprintf(reason, cap, "refused by the C test");
    return 0;
}

/* The app's HTTP stack, as a C host would supply it: here plain HTTP/1.0 over a socket to
 * 127.0.0.1 (the stand-in for a platform client). Counts calls; `t_refuse` makes send fail. */
static int t_sends = 0, t_closes = 0, t_refuse = 0, t_fds[64];
static pthread_mutex_t t_lock = PTHREAD_MUTEX_INITIALIZER;

/* Reads a JSON string starting at the opening quote *p into out (handles \" and \\). */
static const char *json_string_at(const char *p, char *out, size_t cap) {
    size_t i = 0;
    if (*p != '"') return NULL;
    for (p++; *p && *p != '"'; p++) {
        if (*p == '\\' && p[1]) p++;
        if (i + 1 < cap) out[i++] = *p;
    }
    out[i] = 0;
    return *p == '"' ? p + 1 : NULL;
}

static int32_t t_send(void *ud, const char *req, const uint8_t *body, size_t body_len, uint64_t *id,
                      uint16_t *status, char *head, size_t cap) {
    (void)ud;
    pthread_mutex_lock(&t_lock); t_sends++; pthread_mutex_unlock(&t_lock);
    if (t_refuse) { snprintf(head, cap, "the platform refused the connection (test)"); return 0; }
    char method[16], url[2048], host[64], path[2048];
    int port = 0;
    if (!json_str(req, "method", method, sizeof method) || !json_str(req, "url", url, sizeof url) ||
        sscanf(url, "http://%63[^:/]:%d%2047s", host, &port, path) != 3) {
        snprintf(head, cap, "unsupported request %s", req); return 0;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    inet_pton(AF_INET, host, &a.sin_addr);
    struct timeval tv = { .tv_sec = 10 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0) close(fd);
        snprintf(head, cap, "connect failed"); return 0;
    }
    char out[8192];
    int n = snprintf(out, sizeof out, "%s %s HTTP/1.0\r\nHost: %s:%d\r\nConnection: close\r\n", method, path, host, port);
    const char *h = strstr(req, "\"headers\":[");
    if (h) {
        h += strlen("\"headers\":[");
        while (*h == '[') {
            char name[256], value[2048];
            h = json_string_at(h + 1, name, sizeof name);
            if (!h || *h != ',') break;
            h = json_string_at(h + 1, value, sizeof value);
            if (!h || *h != ']') break;
            n += snprintf(out + n, sizeof out - (size_t)n, "%s: %s\r\n", name, value);
            h++;
            if (*h == ',') h++;
        }
    }
    if (body) n += snprintf(out + n, sizeof out - (size_t)n, "Content-Length: %zu\r\n", body_len);
    n += snprintf(out + n, sizeof out - (size_t)n, "\r\n");
    if (write(fd, out, (size_t)n) != n || (body_len && write(fd, body, body_len) != (ssize_t)body_len)) {
        close(fd); snprintf(head, cap, "write failed"); return 0;
    }
    /* The response head, byte by byte up to the blank line (bounded). */
    char resp[16384]; size_t got = 0;
    while (got + 1 < sizeof resp) {
        if (read(fd, resp + got, 1) != 1) break;
        got++;
        if (got >= 4 && memcmp(resp + got - 4, "\r\n\r\n", 4) == 0) break;
    }
    resp[got] = 0;
    int code = 0;
    if (sscanf(resp, "HTTP/%*s %d", &code) != 1) { close(fd); snprintf(head, cap, "no HTTP answer"); return 0; }
    size_t o = 0;
    o += (size_t)snprintf(head + o, cap - o, "[");
    char *line = strstr(resp, "\r\n");
    int first = 1;
    while (line && line[2] && line[2] != '\r') {
        line += 2;
        char *end = strstr(line, "\r\n"), *colon = strchr(line, ':');
        if (!end) break;
        if (colon && colon < end) {
            char *v = colon + 1;
            while (*v == ' ') v++;
            o += (size_t)snprintf(head + o, cap - o, "%s[\"%.*s\",\"", first ? "" : ",", (int)(colon - line), line);
            for (char *c = v; c < end && o + 4 < cap; c++) {   /* the value, JSON-escaped */
                if (*c == '"' || *c == '\\') head[o++] = '\\';
                head[o++] = *c;
            }
            o += (size_t)snprintf(head + o, cap - o, "\"]");
            first = 0;
        }
        line = end;
    }
    snprintf(head + o, cap - o, "]");
    pthread_mutex_lock(&t_lock);
    int slot = -1;
    for (int i = 0; i < 64; i++) if (!t_fds[i]) { t_fds[i] = fd; slot = i; break; }
    pthread_mutex_unlock(&t_lock);
    if (slot < 0) { close(fd); snprintf(head, cap, "too many open answers"); return 0; }
    *id = (uint64_t)slot + 1;
    *status = (uint16_t)code;
    return 1;
}

static int64_t t_read(void *ud, uint64_t id, uint8_t *buf, size_t cap) {
    (void)ud;
    ssize_t n = recv(t_fds[id - 1], buf, cap, 0);
    if (n < 0) { snprintf((char *)buf, cap, "recv failed"); return -1; }
    return (int64_t)n;
}

static void t_close(void *ud, uint64_t id) {
    (void)ud;
    pthread_mutex_lock(&t_lock);
    close(t_fds[id - 1]); t_fds[id - 1] = 0; t_closes++;
    pthread_mutex_unlock(&t_lock);
}

/* A handle on its own data folder `work/name` whose update server is `url` (no stats), for the
 * transport tests; NULL if it could not be made. */
static LiveUpdate *transport_handle(const char *work, const char *name, const char *pem_json, const char *url) {
    char cfg[8192];
    LiveUpdate *h = NULL;
    snprintf(cfg, sizeof cfg,
        "{\"data_dir\":\"%s/%s\",\"builtin_dir\":\"%s/www\",\"native_version\":\"1.0\","
        "\"capacitor_config\":{\"appId\":\"com.example.liveupdate\",\"plugins\":{\"CapacitorUpdater\":"
        "{\"publicKey\":%s,\"updateUrl\":\"%s/updates\",\"statsUrl\":\"\"}}}}",
        work, name, work, pem_json, url);
    return liveupdate_create(cfg, &h) == LIVEUPDATE_OK ? h : NULL;
}

/* The whole update through the C transport, then a refusing one. */
static void http_transport(const char *work, const char *url, const char *pem_json) {
    LiveUpdateHttpTransport t = { NULL, t_send, t_read, t_close };
    check("an HTTP transport can be installed", liveupdate_set_http_transport(&t) == LIVEUPDATE_OK, NULL);
    char *out = NULL;
    LiveUpdate *h = transport_handle(work, "transport", pem_json, url);
    check("create with the transport", h != NULL, liveupdate_last_error());
    int rc = liveupdate_update(h, &out);
    check("the update installs through the C transport", rc == 0 && out && strstr(out, "\"result\":\"installed\""), out);
    liveupdate_string_free(out); out = NULL;
    check("the check and the download went through it", t_sends >= 2, NULL);
    check("every answer was closed", t_sends == t_closes, NULL);
    liveupdate_free(h); h = NULL;

    t_refuse = 1;
    h = transport_handle(work, "transport-refused", pem_json, url);
    rc = liveupdate_update(h, &out);
    check("a refusing transport fails the update with its reason",
          out && strstr(out, "\"result\":\"failed\"") && strstr(out, "the platform refused the connection"), out);
    liveupdate_string_free(out); out = NULL;
    liveupdate_free(h);
    check("NULL goes back to the built-in client", liveupdate_set_http_transport(NULL) == LIVEUPDATE_OK, NULL);
}

/* Hostile transports: what a buggy C host can hand back. h_mode picks the fault. */
static int h_mode = 0, h_sends = 0, h_closes = 0;
static int32_t h_send(void *ud, const char *req, const uint8_t *body, size_t body_len, uint64_t *id,
                      uint16_t *status, char *head, size_t cap) {
    (void)ud; (void)req; (void)body; (void)body_len;
    h_sends++;
    *id = 7; *status = 200;
    if (h_mode == 0) { memset(head, 'x', cap); return 1; }   /* headers filling the buffer, no NUL */
    snprintf(head, cap, "[]");
    return 1;
}
static int64_t h_read(void *ud, uint64_t id, uint8_t *buf, size_t cap) {
    (void)ud; (void)id;
    if (h_mode == 1) return (int64_t)cap + 1;                 /* more than asked */
    if (h_mode == 2) { buf[0] = 0; return -1; }               /* a failure without a reason */
    return -42;                                               /* a negative count */
}
static void h_close(void *ud, uint64_t id) { (void)ud; (void)id; h_closes++; }

static void hostile_transports(const char *work, const char *pem_json) {
    static const char *names[] = { "headers without a terminator", "a read of more than asked",
                                   "a read failing without a reason", "a negative read count" };
    static const char *expect[] = { "unreadable headers", "more bytes than asked", "failed to read",
                                    "failed to read" };
    LiveUpdateHttpTransport t = { NULL, h_send, h_read, h_close };
    liveupdate_set_http_transport(&t);
    for (int m = 0; m < 4; m++) {
        char dir[32], *out = NULL, name[160];
        h_mode = m; h_sends = 0; h_closes = 0;
        snprintf(dir, sizeof dir, "hostile-%d", m);
        LiveUpdate *h = transport_handle(work, dir, pem_json, "http://127.0.0.1:9");
        int rc = liveupdate_update(h, &out);
        snprintf(name, sizeof name, "a transport returning %s fails the update cleanly", names[m]);
        check(name, rc == 0 && out && strstr(out, "\"result\":\"failed\"") && strstr(out, expect[m]), out);
        check("... and every answer it opened was closed", h_sends >= 1 && h_sends == h_closes, NULL);
        liveupdate_string_free(out);
        liveupdate_free(h);
    }
    liveupdate_set_http_transport(NULL);
}

/* A transport whose send never returns in time: calls that promise a time bound keep it. */
static int b_sends = 0;
static int32_t b_send(void *ud, const char *req, const uint8_t *body, size_t body_len, uint64_t *id,
                      uint16_t *status, char *head, size_t cap) {
    (void)ud; (void)req; (void)body; (void)body_len; (void)id; (void)status; (void)head; (void)cap;
    __sync_fetch_and_add(&b_sends, 1);
    sleep(120);
    return 0;
}
static int64_t b_read(void *ud, uint64_t id, uint8_t *buf, size_t cap) { (void)ud; (void)id; (void)buf; (void)cap; return 0; }
static void b_close(void *ud, uint64_t id) { (void)ud; (void)id; }
static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void blocking_transport(const char *work, const char *pem_json) {
    LiveUpdateHttpTransport t = { NULL, b_send, b_read, b_close };
    liveupdate_set_http_transport(&t);
    char cfg[8192], *out = NULL, detail[64];
    snprintf(cfg, sizeof cfg,
        "{\"data_dir\":\"%s/blocking\",\"builtin_dir\":\"%s/www\",\"native_version\":\"1.0\","
        "\"capacitor_config\":{\"appId\":\"com.example.liveupdate\",\"plugins\":{\"CapacitorUpdater\":"
        "{\"publicKey\":%s,\"updateUrl\":\"http://127.0.0.1:9/updates\",\"statsUrl\":\"http://127.0.0.1:9/stats\","
        "\"responseTimeout\":30}}}}",
        work, work, pem_json);
    LiveUpdate *h = NULL;
    check("create with a blocking transport", liveupdate_create(cfg, &h) == LIVEUPDATE_OK, liveupdate_last_error());
    if (!h) return;
    liveupdate_launch(h, &out); /* queues stats */
    liveupdate_string_free(out); out = NULL;
    double t0 = now_s();
    int rc = liveupdate_flush_stats(h, 1000, &out);
    double took = now_s() - t0;
    snprintf(detail, sizeof detail, "took %.1f s", took);
    check("flush_stats(1000 ms) returns in time though send blocks", rc == LIVEUPDATE_OK && took < 3.0, detail);
    liveupdate_string_free(out); out = NULL;
    liveupdate_free(h);

    static Seen seen;
    pthread_mutex_init(&seen.lock, NULL);
    seen.main_thread = pthread_self();
    LiveUpdateHostCallbacks host = { &seen, on_event, on_host_action };
    LiveUpdateEngine *e = NULL;
    snprintf(cfg, sizeof cfg,
        "{\"data_dir\":\"%s/blocking-engine\",\"builtin_dir\":\"%s/www\",\"native_version\":\"1.0\","
        "\"capacitor_config\":{\"appId\":\"com.example.liveupdate\",\"plugins\":{\"CapacitorUpdater\":"
        "{\"publicKey\":%s,\"updateUrl\":\"http://127.0.0.1:9/updates\",\"statsUrl\":\"http://127.0.0.1:9/stats\","
        "\"responseTimeout\":30}}}}",
        work, work, pem_json);
    check("engine with a blocking transport", liveupdate_engine_start(cfg, &host, &e) == LIVEUPDATE_OK, liveupdate_last_error());
    if (!e) return;
    liveupdate_engine_foreground(e);
    struct timespec pause = { 0, 300 * 1000 * 1000 };
    nanosleep(&pause, NULL); /* the check and a stats flush are now blocked in send */
    t0 = now_s();
    rc = liveupdate_engine_shutdown(e);
    took = now_s() - t0;
    snprintf(detail, sizeof detail, "took %.1f s", took);
    check("engine_shutdown returns in time though send blocks", rc == LIVEUPDATE_OK && took < 10.0, detail);
    check("... and the transport was really blocked", b_sends >= 2, NULL);
    liveupdate_engine_free(e);
    liveupdate_set_http_transport(NULL);
}

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: %s REGISTRY_URL WORK_DIR PUBLIC_KEY_JSON_STRING\n", argv[0]); return 2; }
    const char *url = argv[1], *work = argv[2], *pem_json = argv[3];
    char cfg[8192], *out = NULL;
    LiveUpdate *h = NULL;

    check("version is set", strlen(liveupdate_version()) > 0, NULL);
    LiveUpdateCertificateVerifier verifier = { NULL, refuse_all };
    check("a certificate verifier can be installed", liveupdate_set_certificate_verifier(&verifier) == LIVEUPDATE_OK, NULL);
    check("NULL goes back to the system store", liveupdate_set_certificate_verifier(NULL) == LIVEUPDATE_OK, NULL);
    check("the verifier was not called without TLS", verify_calls == 0, NULL);
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

    /* NULL result pointers are refused before anything is done (no launch recorded, no update run). */
    rc = liveupdate_launch(h, &out);
    char before[64] = "";
    check("launch again", rc == 0 && json_str(out, "launch_id", before, sizeof before), out);
    liveupdate_string_free(out); out = NULL;
    check("launch with a null result pointer is an argument error", liveupdate_launch(h, NULL) == LIVEUPDATE_ERR_ARGUMENT, NULL);
    rc = liveupdate_notify_ready(h, before, &out);
    check("... and recorded no launch: the earlier launch id still confirms", rc == 0 && strstr(out, "\"accepted\":true"), out);
    liveupdate_string_free(out); out = NULL;
    check("update with a null result pointer is an argument error", liveupdate_update(h, NULL) == LIVEUPDATE_ERR_ARGUMENT, NULL);
    rc = liveupdate_list(h, &out);
    check("... and installed nothing", rc == 0 && strstr(out, "\"next\":null"), out);
    liveupdate_string_free(out); out = NULL;

    /* The other operations. */
    rc = liveupdate_next(h, id, &out);
    check("next", rc == 0 && strstr(out, id), out);
    liveupdate_string_free(out); out = NULL;
    check("next with a null id is an argument error", liveupdate_next(h, NULL, &out) == LIVEUPDATE_ERR_ARGUMENT, NULL);
    rc = liveupdate_background(h, &out);
    check("background applies next", rc == 0 && strstr(out, id), out);
    liveupdate_string_free(out); out = NULL;
    rc = liveupdate_delete(h, id, &out);
    check("deleting the current bundle is refused", rc == LIVEUPDATE_ERR_REFUSED, liveupdate_last_error());
    rc = liveupdate_check_app_ready_timeout(h, "nope", &out);
    check("check_app_ready_timeout of an unknown launch does nothing", rc == 0 && strstr(out, "\"rolled_back\":null"), out);
    liveupdate_string_free(out); out = NULL;
    rc = liveupdate_flush_stats(h, 2000, &out);
    check("flush_stats delivers queued stats", rc == 0 && strstr(out, "\"delivered\":") && !strstr(out, "\"delivered\":0"), out);
    liveupdate_string_free(out); out = NULL;
    rc = liveupdate_unset_channel(h, &out);
    check("unset_channel", rc == 0 && strstr(out, "\"ok\""), out);
    liveupdate_string_free(out); out = NULL;
    check("cancel works on an idle handle", liveupdate_cancel(h) == LIVEUPDATE_OK, NULL);
    liveupdate_string_free(NULL);
    liveupdate_free(h);
    liveupdate_free(NULL);
    engine_bridge(work, url, pem_json);
    http_transport(work, url, pem_json);
    hostile_transports(work, pem_json);
    blocking_transport(work, pem_json);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
