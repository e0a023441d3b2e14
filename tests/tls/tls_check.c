/* tls_check.c - ws.h's TLS layer (WS_MBEDTLS) in memory: a server and a client ws_tls, each
   under a ws_conn, exchange ciphertext through queues the test pumps, with no socket.

   Run by tests/run_tls.sh with the folder of certificates tests/tls/make_certs.sh made:
       build/tls_check DIR
   Checks: the handshake, SNI and ALPN; the WebSocket upgrade, an echo and the close
   handshake over TLS; close_notify; every certificate a client must refuse, each with its
   reason; garbage, plain HTTP, a ClientHello cut at every length and the whole exchange fed
   a byte at a time; the bytes mbedTLS holds per connection. One line per check; the last
   line is "N passed, N failed". */
#define _DEFAULT_SOURCE
#define WS_MBEDTLS
#define WS_IMPLEMENTATION
#include "../../ws.h"

#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;

static void check(int ok, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("%s ", ok ? "PASS" : "FAIL");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    if (ok) passed++; else failed++;
}

static char *slurp(const char *dir, const char *name, size_t *len) {
    char path[512];
    FILE *f;
    char *p;
    long n;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (!(f = fopen(path, "rb")) || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0) {
        fprintf(stderr, "tls_check: cannot read %s\n", path);
        exit(2);
    }
    rewind(f);
    p = (char *)malloc((size_t)n + 1);
    if (fread(p, 1, (size_t)n, f) != (size_t)n) exit(2);
    p[n] = 0;                                   /* PEM: a NUL-terminated string */
    fclose(f);
    *len = (size_t)n + 1;
    return p;
}

/* ---- an endpoint: ws_tls under ws_conn, ciphertext out to a queue ------------------- */

typedef struct bytes { uint8_t *p; size_t len, cap; } bytes;

static void put(bytes *b, const void *p, size_t n) {
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 64;
        b->p = (uint8_t *)realloc(b->p, b->cap);
    }
    if (n) memcpy(b->p + b->len, p, n);
    b->len += n;
}

typedef struct end {
    ws_tls    tls;
    ws_conn   ws;
    ws_http   http;
    bytes     out;                  /* ciphertext to the other end */
    bytes     head;                 /* plaintext of the HTTP head so far */
    bytes     got;                  /* messages received: "op:payload;" */
    uint8_t   buf[16384];
    int       opened, closes, upgraded;
    int       nested, nested_busy;  /* feeds tried inside on_data, and refused */
    unsigned  close_code;
    char      sni[64];
    int       server;
    const char *host;
} end;

static int e_tls_send(ws_tls *t, const void *data, size_t len) {
    put(&((end *)t->user)->out, data, len);
    return 0;
}

static int e_ws_send(ws_conn *c, const ws_buf *b, size_t n) {
    end *e = (end *)c->user;
    return ws_tls_send(&e->tls, b, n) == WS_OK ? 0 : -1;
}

static int e_random(ws_conn *c, void *out, size_t n) {
    size_t i;
    (void)c;
    for (i = 0; i < n; i++) ((uint8_t *)out)[i] = (uint8_t)rand();
    return 0;
}

static void e_on_open(ws_tls *t) {
    end *e = (end *)t->user;
    e->opened++;
    if (!e->server) {
        ws_client_opts o;
        memset(&o, 0, sizeof o);
        o.host = e->host ? e->host : "localhost";
        o.path = "/echo";
        ws_conn_connect(&e->ws, &o);
    }
}

static void e_on_data(ws_tls *t, void *data, size_t len) {
    end *e = (end *)t->user;
    int r;
    static const uint8_t record[5] = { 0x17, 0x03, 0x03, 0x00, 0x10 };
    e->nested++;                    /* a feed inside a feed: refused, the outer one intact */
    e->nested_busy += ws_tls_feed(t, record, sizeof record) == WS_ERR_BUSY;
    if (ws_conn_state(&e->ws) != WS_STATE_CONNECTING) {
        ws_conn_feed(&e->ws, data, len);
        return;
    }
    put(&e->head, data, len);
    r = e->server ? ws_http_parse_request(&e->http, e->head.p, e->head.len)
                  : ws_http_parse_response(&e->http, e->head.p, e->head.len);
    if (r == WS_HS_PARTIAL) return;
    if (e->server) {
        if (r == WS_HS_UPGRADE) r = ws_conn_accept(&e->ws, &e->http, NULL);
        else ws_conn_reject(&e->ws, r < 0 ? r : WS_ERR_HS_CONNECTION);
    } else {
        r = ws_conn_connected(&e->ws, r == WS_HS_UPGRADE || r == WS_HS_HTTP ? &e->http : NULL);
    }
    if (r == WS_OK) {
        e->upgraded = 1;
        if (e->head.len > e->http.size)
            ws_conn_feed(&e->ws, e->head.p + e->http.size, e->head.len - e->http.size);
    }
}

static int e_on_name(ws_tls *t, const char *name, size_t len) {
    end *e = (end *)t->user;
    snprintf(e->sni, sizeof e->sni, "%.*s", (int)len, name);
    return 0;
}

static void e_on_message(ws_conn *c, ws_opcode op, const void *data, size_t len) {
    end *e = (end *)c->user;
    char t[8];
    snprintf(t, sizeof t, "%d:", (int)op);
    put(&e->got, t, strlen(t));
    put(&e->got, data, len);
    put(&e->got, ";", 1);
    if (e->server) ws_conn_send(c, op, data, len);         /* the echo */
}

static void e_on_close(ws_conn *c, unsigned code, const char *reason, size_t len) {
    end *e = (end *)c->user;
    (void)reason; (void)len;
    e->closes++;
    e->close_code = code;
}

static ws_config ws_server_cfg, ws_client_cfg;
static uint8_t msgbuf[2][1 << 20];

static void end_init(end *e, const ws_tls_config *tc, int server, const char *host, int slot) {
    memset(e, 0, sizeof *e);
    e->server = server;
    e->host = host;
    ws_conn_init(&e->ws, server ? &ws_server_cfg : &ws_client_cfg, e);
    ws_conn_set_buffer(&e->ws, msgbuf[slot], sizeof msgbuf[slot]);
    ws_http_init(&e->http, 0);
    ws_tls_init(&e->tls, tc, host, e->buf, sizeof e->buf, e);
}

static void end_free(end *e) {
    ws_tls_free(&e->tls);
    free(e->out.p);
    free(e->head.p);
    free(e->got.p);
}

/* Moves ciphertext both ways until neither end has any, feeding `step` bytes at a time
   (0: all at once). Returns the last error either feed returned (WS_OK if none). */
static int pump(end *a, end *b, size_t step) {
    int round, rc = WS_OK;
    for (round = 0; round < 1000 && (a->out.len || b->out.len); round++) {
        end *from = a->out.len ? a : b, *to = from == a ? b : a;
        bytes q = from->out;
        size_t i, n;
        memset(&from->out, 0, sizeof from->out);
        for (i = 0; i < q.len; i += n) {
            int r;
            n = step && step < q.len - i ? step : q.len - i;
            r = ws_tls_feed(&to->tls, q.p + i, n);
            if (r != WS_OK) rc = r;
        }
        free(q.p);
    }
    return rc;
}

/* ---- the checks ------------------------------------------------------------------- */

static ws_tls_config server_tc, client_tc;

static void setup_configs(ws_tls_config *s, ws_tls_config *c) {
    memset(s, 0, sizeof *s);
    memset(c, 0, sizeof *c);
    s->send = c->send = e_tls_send;
    s->on_data = c->on_data = e_on_data;
    s->on_open = c->on_open = e_on_open;
    s->on_name = e_on_name;
}

static void echo_over_tls(size_t step) {
    end *s = (end *)calloc(1, sizeof *s), *c = (end *)calloc(1, sizeof *c);
    int rc;
    end_init(s, &server_tc, 1, NULL, 0);
    end_init(c, &client_tc, 0, "localhost", 1);
    rc = pump(s, c, step);
    check(rc == WS_OK && ws_tls_ready(&s->tls) && ws_tls_ready(&c->tls) && s->opened == 1 &&
          c->opened == 1, "step %zu: TLS handshake done on both ends (rc %d)", step, rc);
    check(strcmp(s->sni, "localhost") == 0 && strcmp(ws_tls_server_name(&s->tls), "localhost") == 0,
          "step %zu: the server saw SNI 'localhost' (got '%s')", step, s->sni);
    check(ws_conn_state(&s->ws) == WS_STATE_OPEN && ws_conn_state(&c->ws) == WS_STATE_OPEN,
          "step %zu: WebSocket upgrade over TLS", step);
    ws_conn_send(&c->ws, WS_OP_TEXT, "hello wss \xE4\xBD\xA0\xE5\xA5\xBD", 16);
    {
        static uint8_t big[200000];
        size_t i;
        for (i = 0; i < sizeof big; i++) big[i] = (uint8_t)(i * 7);
        ws_conn_send(&c->ws, WS_OP_BINARY, big, sizeof big);
        pump(s, c, step);
        check(c->got.len == 2 + 16 + 1 + 2 + sizeof big + 1 &&
              memcmp(c->got.p, "1:hello wss \xE4\xBD\xA0\xE5\xA5\xBD;2:", 21) == 0 &&
              memcmp(c->got.p + 21, big, sizeof big) == 0,
              "step %zu: text and a 200000-byte binary message echoed through TLS", step);
    }
    check(s->nested > 0 && s->nested_busy == s->nested && c->nested_busy == c->nested,
          "step %zu: ws_tls_feed inside on_data: WS_ERR_BUSY all %d times", step, s->nested + c->nested);
    ws_conn_close(&c->ws, 1000, "bye", 3);
    pump(s, c, step);
    check(ws_conn_state(&s->ws) == WS_STATE_CLOSED && ws_conn_state(&c->ws) == WS_STATE_CLOSED &&
          s->close_code == 1000 && c->close_code == 1000, "step %zu: close handshake over TLS", step);
    rc = ws_tls_close(&c->tls);
    pump(s, c, step);
    check(rc == WS_OK && ws_tls_feed(&s->tls, NULL, 0) == WS_ERR_EOF,
          "step %zu: close_notify reaches the server as WS_ERR_EOF", step);
    end_free(s);
    end_free(c);
    free(s);
    free(c);
}

static void refused(const char *dir, const char *cert, const char *host, const char *why) {
    ws_tls_config stc, ctc;
    size_t cl, kl, al;
    char name[64];
    char *pem, *key, *ca = slurp(dir, "ca.pem", &al);
    end *s = (end *)calloc(1, sizeof *s), *c = (end *)calloc(1, sizeof *c);
    int rc;
    snprintf(name, sizeof name, "%s.pem", cert);
    pem = slurp(dir, name, &cl);
    snprintf(name, sizeof name, "%s.key", cert);
    key = slurp(dir, name, &kl);
    setup_configs(&stc, &ctc);
    check(ws_tls_server_setup(&stc, pem, cl, key, kl, NULL) == WS_OK &&
          ws_tls_client_setup(&ctc, ca, al, 0) == WS_OK, "%s: configs set up", cert);
    end_init(s, &stc, 1, NULL, 0);
    end_init(c, &ctc, 0, host, 1);
    rc = pump(s, c, 0);
    check(ws_tls_feed(&c->tls, NULL, 0) == WS_ERR_TLS_CERT && !ws_tls_ready(&c->tls) &&
          c->opened == 0 && strcmp(ws_tls_why(&c->tls), why) == 0,
          "%s for %s: the client refuses it: '%s' (want '%s'; %s)", cert, host,
          ws_tls_why(&c->tls), why, ws_strerror(rc));
    check(c->head.len == 0 && !c->upgraded, "%s: no plaintext went either way", cert);
    end_free(s);
    end_free(c);
    free(s);
    free(c);
    ws_tls_config_free(&stc);
    ws_tls_config_free(&ctc);
    free(pem);
    free(key);
    free(ca);
}

static void hostile(void) {
    static const char http[] = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
    uint8_t junk[4096];
    size_t i;
    end *s = (end *)calloc(1, sizeof *s), *c = (end *)calloc(1, sizeof *c);
    int rc;
    /* plain HTTP on the TLS port */
    end_init(s, &server_tc, 1, NULL, 0);
    rc = ws_tls_feed(&s->tls, http, sizeof http - 1);
    check(rc == WS_ERR_TLS && s->head.len == 0, "plain HTTP to the TLS port: WS_ERR_TLS ('%s')",
          ws_tls_why(&s->tls));
    check(ws_tls_feed(&s->tls, http, sizeof http - 1) == WS_ERR_TLS, "and the error is sticky");
    end_free(s);
    /* garbage */
    srand(7);
    for (i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)rand();
    end_init(s, &server_tc, 1, NULL, 0);
    rc = ws_tls_feed(&s->tls, junk, sizeof junk);
    check(rc == WS_ERR_TLS, "4 KiB of random bytes: WS_ERR_TLS ('%s')", ws_tls_why(&s->tls));
    end_free(s);
    /* a ClientHello cut at every length: the server waits for the rest, says nothing */
    end_init(c, &client_tc, 0, "localhost", 1);
    {
        bytes hello = c->out;
        int bad = 0;
        size_t k;
        memset(&c->out, 0, sizeof c->out);
        for (k = 1; k < hello.len; k++) {
            end_init(s, &server_tc, 1, NULL, 0);
            rc = ws_tls_feed(&s->tls, hello.p, k);
            if (rc != WS_OK || s->out.len || s->opened) bad++;
            end_free(s);
        }
        check(hello.len > 40 && bad == 0,
              "a ClientHello (%zu bytes) cut at every length: the server waits, silent (%d bad)",
              hello.len, bad);
        end_init(s, &server_tc, 1, NULL, 0);
        rc = ws_tls_feed(&s->tls, hello.p, hello.len);
        check(rc == WS_OK && s->out.len > 0, "the whole ClientHello gets the server's answer");
        end_free(s);
        free(hello.p);
    }
    end_free(c);
    free(s);
    free(c);
}

#ifndef __SANITIZE_ADDRESS__          /* AddressSanitizer's malloc keeps no mallinfo */
static void memory(void) {
    enum { N = 20 };
    end *s[N], *c[N];
    struct mallinfo2 a, b;
    int i, ok = 1;
    a = mallinfo2();
    for (i = 0; i < N; i++) {
        s[i] = (end *)calloc(1, sizeof *s[i]);
        c[i] = (end *)calloc(1, sizeof *c[i]);
        end_init(s[i], &server_tc, 1, NULL, 0);
        end_init(c[i], &client_tc, 0, "localhost", 1);
        pump(s[i], c[i], 0);
        ok &= ws_tls_ready(&s[i]->tls);
    }
    b = mallinfo2();
    {
        size_t per = (b.uordblks - a.uordblks) / N - 2 * sizeof(end);
        printf("bytes per TLS connection pair held by mbedTLS (heap): %zu, per end about %zu; "
               "sizeof(ws_tls) %zu\n", per, per / 2, sizeof(ws_tls));
        check(ok && per / 2 < 64 * 1024, "an open TLS connection holds %zu heap bytes (< 64 KiB)",
              per / 2);
    }
    for (i = 0; i < N; i++) {
        end_free(s[i]);
        end_free(c[i]);
        free(s[i]);
        free(c[i]);
    }
}
#endif

int main(int argc, char **argv) {
    size_t cl, kl, al;
    char *pem, *key, *ca;
    if (argc != 2) {
        fprintf(stderr, "usage: %s CERT_DIR (tests/tls/make_certs.sh makes one)\n", argv[0]);
        return 2;
    }
    pem = slurp(argv[1], "server.pem", &cl);
    key = slurp(argv[1], "server.key", &kl);
    ca = slurp(argv[1], "ca.pem", &al);
    ws_server_cfg.send = ws_client_cfg.send = e_ws_send;
    ws_server_cfg.on_message = ws_client_cfg.on_message = e_on_message;
    ws_server_cfg.on_close = ws_client_cfg.on_close = e_on_close;
    ws_client_cfg.role = WS_ROLE_CLIENT;
    ws_client_cfg.random = e_random;
    setup_configs(&server_tc, &client_tc);
    check(ws_tls_server_setup(&server_tc, pem, cl, key, kl, NULL) == WS_OK,
          "server config from PEM certificate and key");
    check(ws_tls_client_setup(&client_tc, ca, al, 0) == WS_OK, "client config from a PEM CA");
    {
        ws_tls_config bad;
        memset(&bad, 0, sizeof bad);
        bad.send = e_tls_send;
        bad.on_data = e_on_data;
        check(ws_tls_server_setup(&bad, "junk", 5, key, kl, NULL) == WS_ERR_ARG,
              "an unreadable certificate: WS_ERR_ARG");
        ws_tls_config_free(&bad);
        {   /* the key of another certificate */
            size_t ol;
            char *other = slurp(argv[1], "other-name.key", &ol);
            memset(&bad, 0, sizeof bad);
            bad.send = e_tls_send;
            bad.on_data = e_on_data;
            check(ws_tls_server_setup(&bad, pem, cl, other, ol, NULL) == WS_ERR_ARG,
                  "a key that is not the certificate's: WS_ERR_ARG");
            ws_tls_config_free(&bad);
            free(other);
        }
        {   /* a CA bundle with a certificate mbedTLS cannot read: the rest still counts */
            static const char junk[] = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n"
                                       "-----END CERTIFICATE-----\n";
            size_t n = strlen(ca), j = sizeof junk - 1;
            char *bundle = (char *)malloc(n + j + 1);
            memcpy(bundle, junk, j);
            memcpy(bundle + j, ca, n + 1);
            memset(&bad, 0, sizeof bad);
            bad.send = e_tls_send;
            bad.on_data = e_on_data;
            check(ws_tls_client_setup(&bad, bundle, n + j + 1, 0) == WS_OK,
                  "a CA bundle with one unreadable certificate: the others are used");
            ws_tls_config_free(&bad);
            free(bundle);
        }
    }
    echo_over_tls(0);
    echo_over_tls(1);           /* every record split at every byte */
    echo_over_tls(1000);
    refused(argv[1], "expired", "localhost", "certificate expired");
    refused(argv[1], "other-name", "localhost", "certificate is for another name");
    refused(argv[1], "server", "wrong.example", "certificate is for another name");
    refused(argv[1], "unknown-ca", "localhost", "certificate signed by an unknown CA");
    refused(argv[1], "self-signed", "localhost", "self-signed certificate");
    hostile();
#ifndef __SANITIZE_ADDRESS__
    memory();
#endif
    ws_tls_config_free(&server_tc);
    ws_tls_config_free(&client_tc);
    free(pem);
    free(key);
    free(ca);
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
