/* harness.c - the helpers declared in harness.h (no suite of its own). */
#include "harness.h"
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const uint8_t test_key[4] = { 0x37, 0xfa, 0x21, 0x3d };   /* RFC 6455 5.7's example key */

/* ---- tbuf ---------------------------------------------------------------------- */

void tbuf_put(tbuf *b, const void *data, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->p = (uint8_t *)realloc(b->p, cap);
        if (!b->p) {
            fprintf(stderr, "out of memory\n");
            abort();
        }
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = 0;
}

void tbuf_puts(tbuf *b, const char *s) {
    tbuf_put(b, s, strlen(s));
}

void tbuf_escape(tbuf *b, const void *data, size_t n) {
    static const char hex[] = "0123456789abcdef";
    const uint8_t *p = (const uint8_t *)data;
    size_t i;
    for (i = 0; i < n; i++) {
        if (p[i] > 0x20 && p[i] < 0x7f && p[i] != '\\') {
            tbuf_put(b, p + i, 1);
        } else {
            char e[4];
            e[0] = '\\';
            e[1] = 'x';
            e[2] = hex[p[i] >> 4];
            e[3] = hex[p[i] & 15];
            tbuf_put(b, e, 4);
        }
    }
}

void tbuf_free(tbuf *b) {
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

const char *tbuf_str(tbuf *b) {
    return b->p ? (const char *)b->p : "";
}

uint8_t *dup_exact(const void *p, size_t n) {
    uint8_t *d = (uint8_t *)malloc(n ? n : 1);
    if (!d) {
        fprintf(stderr, "out of memory\n");
        abort();
    }
    if (n)
        memcpy(d, p, n);
    return d;
}

/* ---- reference UTF-8 validator ------------------------------------------------- */

/* state: 0, or (bytes still needed << 16) | (lowest allowed next byte << 8) | highest. */
size_t ref_utf8_validate(uint32_t *state, const uint8_t *p, size_t n) {
    uint32_t st = *state;
    size_t i;
    for (i = 0; i < n; i++) {
        unsigned b = p[i];
        if (st) {
            unsigned need = st >> 16, lo = (st >> 8) & 0xff, hi = st & 0xff;
            if (b < lo || b > hi)
                break;
            need--;
            st = need ? (need << 16) | (0x80u << 8) | 0xbfu : 0;
        } else if (b < 0x80) {
            continue;
        } else if (b >= 0xc2 && b <= 0xdf) {
            st = (1u << 16) | (0x80u << 8) | 0xbfu;
        } else if (b == 0xe0) {
            st = (2u << 16) | (0xa0u << 8) | 0xbfu;
        } else if ((b >= 0xe1 && b <= 0xec) || b == 0xee || b == 0xef) {
            st = (2u << 16) | (0x80u << 8) | 0xbfu;
        } else if (b == 0xed) {
            st = (2u << 16) | (0x80u << 8) | 0x9fu;
        } else if (b == 0xf0) {
            st = (3u << 16) | (0x90u << 8) | 0xbfu;
        } else if (b >= 0xf1 && b <= 0xf3) {
            st = (3u << 16) | (0x80u << 8) | 0xbfu;
        } else if (b == 0xf4) {
            st = (3u << 16) | (0x80u << 8) | 0x8fu;
        } else {
            break;
        }
    }
    *state = st;
    return i;
}

/* ---- the recording connection --------------------------------------------------- */

static harness *H(ws_conn *c) {
    return (harness *)c->user;
}

static void h_token(harness *h, const char *tok) {
    if (h->log.len)
        tbuf_puts(&h->log, " ");
    tbuf_puts(&h->log, tok);
}

static void h_flush(harness *h) {
    if (h->pending.len) {
        h_token(h, "D:");
        tbuf_escape(&h->log, h->pending.p, h->pending.len);
        h->pending.len = 0;
    }
}

static void h_after_close(harness *h) {
    if (h->close_calls)
        h->order_errors++;          /* nothing may follow on_close */
}

static int cb_send(ws_conn *c, const ws_buf *bufs, size_t n) {
    harness *h = H(c);
    size_t i;
    if (h->send_fail)
        return -1;
    if (h->ncalls < H_MAX_CALLS) {
        h_call *call = &h->calls[h->ncalls];
        call->n = n;
        for (i = 0; i < n && i < 4; i++) {
            call->len[i] = bufs[i].len;
            call->ptr[i] = bufs[i].data;
        }
    }
    h->ncalls++;
    for (i = 0; i < n; i++)
        tbuf_put(&h->sent, bufs[i].data, bufs[i].len);
    return 0;
}

static int cb_random(ws_conn *c, void *out, size_t n) {
    harness *h = H(c);
    uint8_t *o = (uint8_t *)out;
    size_t i;
    for (i = 0; i < n; i++)
        o[i] = (uint8_t)test_rand(&h->rng);
    tbuf_put(&h->rnd, out, n);
    h->random_calls++;
    return 0;
}

static void cb_begin(ws_conn *c, ws_opcode op, uint64_t size) {
    harness *h = H(c);
    char tok[64];
    h_after_close(h);
    if (h->buffered) {
        h->begins_buffered++;
        return;
    }
    h_flush(h);
    if (h->in_msg)
        h->order_errors++;
    h->in_msg = 1;
    h->msg_op = (int)op;
    h->text_state = 0;
    if (size == WS_SIZE_UNKNOWN)
        snprintf(tok, sizeof tok, "B%d:?", (int)op);
    else
        snprintf(tok, sizeof tok, "B%d:%llu", (int)op, (unsigned long long)size);
    h_token(h, tok);
}

static void cb_data(ws_conn *c, const void *data, size_t len) {
    harness *h = H(c);
    h_after_close(h);
    if (!h->in_msg)
        h->order_errors++;
    if (len == 0)
        return;
    if (h->msg_op == WS_OP_TEXT &&
        ref_utf8_validate(&h->text_state, (const uint8_t *)data, len) != len)
        h->bad_text = 1;
    tbuf_put(&h->pending, data, len);
}

static void cb_end(ws_conn *c) {
    harness *h = H(c);
    h_after_close(h);
    h_flush(h);
    if (!h->in_msg)
        h->order_errors++;
    if (h->msg_op == WS_OP_TEXT && h->text_state != 0)
        h->bad_text = 1;            /* the text ended inside a sequence */
    h->in_msg = 0;
    h_token(h, "E");
}

static void cb_message(ws_conn *c, ws_opcode op, const void *data, size_t len) {
    harness *h = H(c);
    char tok[32];
    uint32_t st = 0;
    h_after_close(h);
    h_flush(h);
    if (!h->buffered || h->in_msg)
        h->order_errors++;
    if (op == WS_OP_TEXT &&
        (ref_utf8_validate(&st, (const uint8_t *)data, len) != len || st != 0))
        h->bad_text = 1;
    snprintf(tok, sizeof tok, "M%d:", (int)op);
    h_token(h, tok);
    tbuf_escape(&h->log, data, len);
}

static void cb_control(ws_conn *c, ws_opcode op, const void *data, size_t len) {
    harness *h = H(c);
    char tok[32];
    h_after_close(h);
    h_flush(h);
    if (op != WS_OP_PING && op != WS_OP_PONG)
        h->order_errors++;
    snprintf(tok, sizeof tok, "P%X:", (unsigned)op);
    h_token(h, tok);
    tbuf_escape(&h->log, data, len);
}

static void cb_close(ws_conn *c, unsigned code, const char *reason, size_t len) {
    harness *h = H(c);
    char tok[32];
    h->pending.len = 0;             /* see harness.h: the unfinished message is dropped */
    h->close_calls++;
    h->close_code = code;
    h->close_reason.len = 0;
    tbuf_put(&h->close_reason, reason ? reason : "", reason ? len : 0);
    snprintf(tok, sizeof tok, "X%u:", code);
    h_token(h, tok);
    if (reason)
        tbuf_escape(&h->log, reason, len);
}

h_setup setup_server(void) {
    h_setup s;
    memset(&s, 0, sizeof s);
    s.cfg.role = WS_ROLE_SERVER;
    return s;
}

h_setup setup_client(void) {
    h_setup s;
    memset(&s, 0, sizeof s);
    s.cfg.role = WS_ROLE_CLIENT;
    return s;
}

int h_init(harness *h, const h_setup *s) {
    h_setup def = setup_server();
    if (!s)
        s = &def;
    memset(h, 0, sizeof *h);
    h->cfg = s->cfg;
    h->cfg.send = cb_send;
    h->cfg.random = cb_random;
    h->cfg.on_message = cb_message;
    h->cfg.on_begin = cb_begin;
    h->cfg.on_data = cb_data;
    h->cfg.on_end = cb_end;
    h->cfg.on_control = cb_control;
    h->cfg.on_close = cb_close;
    h->rng = 0x9e3779b97f4a7c15ull ^ (uint64_t)test_seed();
    if (!CHECK_EQ_INT(ws_conn_init(&h->conn, &h->cfg, h), WS_OK))
        return -1;
    if (!CHECK(h->conn.user == h))
        return -1;
    if (s->bufcap) {
        h->mbuf = (uint8_t *)malloc(s->bufcap);
        h->mcap = s->bufcap;
        h->buffered = 1;
        ws_conn_set_buffer(&h->conn, h->mbuf, h->mcap);
    }
    return 0;
}

int h_open(harness *h, const h_setup *s) {
    if (h_init(h, s) < 0)
        return -1;
    if (h->cfg.role == WS_ROLE_SERVER) {
        if (!CHECK_EQ_INT(ws_conn_accept(&h->conn, NULL, NULL), WS_OK))
            return -1;
    } else {
        ws_client_opts o;
        memset(&o, 0, sizeof o);
        o.host = "example.com";
        o.path = "/chat";
        if (!CHECK_EQ_INT(ws_conn_connect(&h->conn, &o), WS_OK))
            return -1;
        if (!CHECK_EQ_INT(ws_conn_connected(&h->conn, NULL), WS_OK))
            return -1;
    }
    if (!CHECK_EQ_INT(ws_conn_state(&h->conn), WS_STATE_OPEN))
        return -1;
    if (s && s->close_first) {
        if (!CHECK_EQ_INT(ws_conn_close(&h->conn, s->close_first, "bye", 3), WS_OK) ||
            !CHECK_EQ_INT(ws_conn_state(&h->conn), WS_STATE_CLOSING))
            return -1;
    }
    h_clear_sent(h);
    h->rnd.len = 0;
    h->random_calls = 0;
    return 0;
}

void h_clear_sent(harness *h) {
    h->sent.len = 0;
    h->ncalls = 0;
}

const char *h_log(harness *h) {
    h_flush(h);
    return tbuf_str(&h->log);
}

void h_free(harness *h) {
    tbuf_free(&h->log);
    tbuf_free(&h->pending);
    tbuf_free(&h->sent);
    tbuf_free(&h->rnd);
    tbuf_free(&h->close_reason);
    free(h->mbuf);
    h->mbuf = NULL;
}

/* ---- frames in sent bytes -------------------------------------------------------- */

int sframes_parse(const uint8_t *p, size_t n, sframe *out, size_t max, size_t *count) {
    wire_dec w;
    size_t i, k = 0;
    *count = 0;
    /* masked or not as the first frame is, any RSV bit (the caller looks at rsv) */
    wire_init(&w, -1, 0x70);
    for (i = 0; i < n; i++) {
        uint8_t b = 0;
        int ev = wire_byte(&w, p[i], &b);
        if (ev & WIRE_BAD) {
            printf("%-12s sent bytes: %s, at byte %llu of %lu\n", "", w.err,
                   (unsigned long long)w.bad_at, (unsigned long)n);
            return -1;
        }
        if (ev & WIRE_HEADER) {
            sframe *f;
            if (k == max) {
                printf("%-12s sent bytes: more than %lu frames\n", "", (unsigned long)max);
                return -1;
            }
            f = &out[k];
            memset(f, 0, sizeof *f);
            f->fin = w.fin;
            f->rsv = (int)w.rsv;
            f->op = (int)w.op;
            f->masked = w.masked;
            memcpy(f->key, w.key, 4);
            f->len = w.len;
            if (w.len > n - i - 1) {
                printf("%-12s sent bytes: they end inside a frame\n", "");
                return -1;
            }
            f->payload = (uint8_t *)malloc(w.len ? (size_t)w.len : 1);
            if (!f->payload) {
                fprintf(stderr, "out of memory\n");
                abort();
            }
            *count = ++k;
        }
        if (ev & WIRE_BYTE)
            out[k - 1].payload[w.pos - 1] = b;
    }
    if (n && (wire_owed(&w) || w.hlen)) {
        printf("%-12s sent bytes: they end inside a frame\n", "");
        return -1;
    }
    return 0;
}

void sframes_free(sframe *f, size_t count) {
    size_t i;
    for (i = 0; i < count; i++) {
        free(f[i].payload);
        f[i].payload = NULL;
    }
}

int check_close_frame_at(const uint8_t *bytes, size_t n, int mask_expected, unsigned code,
                         const char *file, int line) {
    sframe f[MAX_SFRAMES];
    size_t count = 0, i;
    int ok = 1;
    if (sframes_parse(bytes, n, f, MAX_SFRAMES, &count) < 0 || count == 0) {
        char hex[200];
        test_hex_brief(hex, sizeof hex, bytes, n, 40);
        test_fail(file, line, "expected frames ending in a close %u, sent bytes are %s", code,
                  hex);
        sframes_free(f, count);
        return -1;
    }
    for (i = 0; i < count; i++)
        if (f[i].masked != mask_expected)
            ok = test_fail(file, line, "sent frame %lu is %s", (unsigned long)i,
                           f[i].masked ? "masked (a server must not mask)"
                                       : "not masked (a client must mask)");
    i = count - 1;
    if (f[i].op != WS_OP_CLOSE || !f[i].fin || f[i].rsv) {
        ok = test_fail(file, line, "last frame sent: opcode %d fin %d rsv %d, expected a close",
                       f[i].op, f[i].fin, f[i].rsv);
    } else if (code == 0) {
        if (f[i].len != 0)
            ok = test_fail(file, line, "expected an empty close, sent a %llu-byte body",
                           (unsigned long long)f[i].len);
    } else if (f[i].len < 2) {
        ok = test_fail(file, line, "expected close %u, sent a close with a %llu-byte body",
                       code, (unsigned long long)f[i].len);
    } else {
        unsigned sent = (unsigned)f[i].payload[0] << 8 | f[i].payload[1];
        if (sent != code)
            ok = test_fail(file, line, "close code sent: expected %u, got %u", code, sent);
        if (f[i].len > 125 || !wire_utf8_valid(f[i].payload + 2, (size_t)f[i].len - 2))
            ok = test_fail(file, line, "the close reason sent is not valid");
    }
    if (ok)
        test_check(1, file, line, "close frame sent");
    sframes_free(f, count);
    return ok ? (int)count : -1;
}

/* ---- inputs ------------------------------------------------------------------------ */

void frame_put_ext(tbuf *b, int fin, int rsv, int op, const void *payload, size_t len,
                   const uint8_t *key, int force_len_bytes) {
    uint8_t hdr[14];
    size_t hl = 2, i;
    hdr[0] = (uint8_t)((fin ? 0x80 : 0) | (rsv & 0x70) | (op & 0x0f));
    if (len < 126 && force_len_bytes == 0) {
        hdr[1] = (uint8_t)len;
    } else if (len <= 0xffff && force_len_bytes != 8) {
        hdr[1] = 126;
        hdr[2] = (uint8_t)(len >> 8);
        hdr[3] = (uint8_t)len;
        hl = 4;
    } else {
        uint64_t l = len;
        hdr[1] = 127;
        for (i = 0; i < 8; i++)
            hdr[2 + i] = (uint8_t)(l >> (56 - 8 * i));
        hl = 10;
    }
    if (key) {
        hdr[1] |= 0x80;
        memcpy(hdr + hl, key, 4);
        hl += 4;
    }
    tbuf_put(b, hdr, hl);
    for (i = 0; i < len; i++) {
        uint8_t ch = ((const uint8_t *)payload)[i];
        if (key)
            ch ^= key[i & 3];
        tbuf_put(b, &ch, 1);
    }
}

void frame_put(tbuf *b, int fin, int rsv, int op, const void *payload, size_t len,
               const uint8_t *key) {
    frame_put_ext(b, fin, rsv, op, payload, len, key, 0);
}

size_t close_body(uint8_t *out, unsigned code, const char *reason, size_t reason_len) {
    out[0] = (uint8_t)(code >> 8);
    out[1] = (uint8_t)code;
    if (reason_len)
        memcpy(out + 2, reason, reason_len);
    return 2 + reason_len;
}

/* ---- every split ---------------------------------------------------------------------- */

void feed_result_free(feed_result *r) {
    tbuf_free(&r->log);
    tbuf_free(&r->sent);
}

/* mode 0: whole; 1: one byte at a time; 2: two pieces, the first `cut` bytes long. */
static void feed_run(const h_setup *s, const uint8_t *in, size_t len, int mode, size_t cut,
                     feed_result *r, int sticky_probe) {
    harness h;
    size_t pos = 0;
    memset(r, 0, sizeof *r);
    r->rc = WS_OK;
    if (h_open(&h, s) < 0) {
        r->rc = 1000;               /* cannot happen with a working ws_conn_accept */
        h_free(&h);
        return;
    }
    while (pos < len) {
        size_t n = mode == 0 ? len : mode == 1 ? 1 : (pos == 0 ? cut : len - cut);
        uint8_t *piece = dup_exact(in + pos, n);
        int rc = ws_conn_feed(&h.conn, piece, n);
        free(piece);
        if (r->rc == WS_OK)
            r->rc = rc;
        else if (rc != r->rc)
            r->later_rc_differs = 1;
        pos += n;
    }
    if (sticky_probe && r->rc != WS_OK) {
        /* errors are sticky: a valid frame now returns the same error and does nothing */
        tbuf f = { 0 };
        size_t sent = h.sent.len, logged;
        int rc;
        h_log(&h);
        logged = h.log.len;
        frame_put(&f, 1, 0, WS_OP_PING, "x", 1,
                  h.cfg.role == WS_ROLE_SERVER ? test_key : NULL);
        rc = ws_conn_feed(&h.conn, f.p, f.len);
        CHECK_EQ_INT(rc, r->rc);
        CHECK_EQ_INT(h.sent.len, sent);
        CHECK_EQ_INT(h.log.len, logged);
        CHECK_EQ_INT(ws_conn_error(&h.conn), r->rc);
        tbuf_free(&f);
    }
    tbuf_puts(&r->log, h_log(&h));
    tbuf_put(&r->sent, h.sent.p, h.sent.len);
    r->state = ws_conn_state(&h.conn);
    r->err = ws_conn_error(&h.conn);
    r->close_code = ws_conn_close_code(&h.conn);
    r->close_calls = h.close_calls;
    r->cb_code = h.close_code;
    r->order_errors = h.order_errors;
    r->bad_text = h.bad_text;
    h_free(&h);
}

static int feed_same(const feed_result *a, const feed_result *b) {
    return a->rc == b->rc && !b->later_rc_differs && a->log.len == b->log.len &&
           (a->log.len == 0 || memcmp(a->log.p, b->log.p, a->log.len) == 0) &&
           a->sent.len == b->sent.len &&
           (a->sent.len == 0 || memcmp(a->sent.p, b->sent.p, a->sent.len) == 0) &&
           a->state == b->state && a->err == b->err && a->close_code == b->close_code &&
           a->close_calls == b->close_calls && a->cb_code == b->cb_code &&
           a->order_errors == b->order_errors && a->bad_text == b->bad_text;
}

static void feed_report(const feed_result *w, feed_result *r, const char *how,
                        const char *file, int line) {
    char saved[sizeof test_g.context];
    memcpy(saved, test_g.context, sizeof saved);
    test_context_add(", %s (compared with the input fed whole)", how);
    test_check_int(r->rc, w->rc, file, line, "ws_conn_feed's first error");
    test_check_int(r->later_rc_differs, 0, file, line, "another error after the first");
    test_check_str(tbuf_str(&r->log), w->log.p ? (const char *)w->log.p : "", file, line,
                   "events");
    test_check_mem(r->sent.p ? r->sent.p : (const uint8_t *)"", r->sent.len,
                   w->sent.p ? w->sent.p : (const uint8_t *)"", w->sent.len, file, line,
                   "bytes sent");
    test_check_int(r->state, w->state, file, line, "ws_conn_state");
    test_check_int(r->err, w->err, file, line, "ws_conn_error");
    test_check_int(r->close_code, w->close_code, file, line, "ws_conn_close_code");
    test_check_int(r->close_calls, w->close_calls, file, line, "on_close calls");
    test_check_int(r->order_errors, w->order_errors, file, line, "callbacks out of order");
    test_check_int(r->bad_text, w->bad_text, file, line, "invalid UTF-8 delivered");
    memcpy(test_g.context, saved, sizeof saved);
}

void feed_all_splits_at(const h_setup *s, const uint8_t *in, size_t len, feed_result *whole,
                        const char *file, int line) {
    feed_result r;
    char hex[160], how[64];
    size_t cut;
    int bad = 0;
    test_hex_brief(hex, sizeof hex, in, len, 24);
    test_context("input %s, %s", hex,
                 s && s->cfg.role == WS_ROLE_CLIENT ? "client role" : "server role");
    feed_run(s, in, len, 0, 0, whole, 1);
    if (len > 1) {
        feed_run(s, in, len, 1, 0, &r, 0);
        if (!feed_same(whole, &r)) {
            feed_report(whole, &r, "fed one byte at a time", file, line);
            bad = 1;
        }
        feed_result_free(&r);
    }
    for (cut = 1; cut < len && !bad; cut++) {
        if (len > 4096 && cut > 512 && cut < len - 512 && cut % 251 != 0)
            continue;
        feed_run(s, in, len, 2, cut, &r, 0);
        if (!feed_same(whole, &r)) {
            snprintf(how, sizeof how, "split at %lu", (unsigned long)cut);
            feed_report(whole, &r, how, file, line);
            bad = 1;
        }
        feed_result_free(&r);
    }
    test_check(!bad, file, line, "same outcome for every split of the input");
}

/* expected may end in '*': then it is a prefix. */
static int log_matches(const char *actual, const char *expected) {
    size_t n = strlen(expected);
    if (n && expected[n - 1] == '*')
        return strncmp(actual, expected, n - 1) == 0;
    return strcmp(actual, expected) == 0;
}

void expect_feed_at(const h_setup *s, const uint8_t *in, size_t len, int rc,
                    const char *log, int close_sent, ws_state state, const char *file,
                    int line) {
    feed_result w;
    int client = s && s->cfg.role == WS_ROLE_CLIENT;
    feed_all_splits_at(s, in, len, &w, file, line);
    test_check_int(w.rc, rc, file, line, "ws_conn_feed");
    if (log) {
        if (log_matches(tbuf_str(&w.log), log))
            test_check(1, file, line, "events");
        else
            test_check_str(tbuf_str(&w.log), log, file, line, "events");
    }
    test_check_int(w.state, state, file, line, "ws_conn_state");
    test_check_int(w.err, rc, file, line, "ws_conn_error");
    test_check_int(w.order_errors, 0, file, line, "callbacks out of order");
    test_check_int(w.bad_text, 0, file, line, "invalid UTF-8 delivered as text");
    test_check_int(w.close_calls, state == WS_STATE_CLOSED || state == WS_STATE_FAILED, file,
                   line, "on_close calls");
    if (close_sent < 0) {
        test_check_int(w.sent.len, 0, file, line, "bytes sent");
    } else if (close_sent > 0) {
        check_close_frame_at(w.sent.p, w.sent.len, client, (unsigned)close_sent, file, line);
        if (rc != WS_OK) {
            test_check_int(w.close_code, close_sent, file, line, "ws_conn_close_code");
            test_check_int(w.cb_code, close_sent, file, line, "code given to on_close");
            test_check_int(ws_close_code_for(rc), close_sent, file, line,
                           "ws_close_code_for");
        }
    }
    test_context(NULL);
    feed_result_free(&w);
}

/* ---- HTTP heads ------------------------------------------------------------------------ */

int str_is(ws_str s, const char *want) {
    if (!want)
        return s.ptr == NULL && s.len == 0;
    return s.ptr != NULL && s.len == strlen(want) && memcmp(s.ptr, want, s.len) == 0;
}

int check_str_at(ws_str s, const char *want, const char *file, int line, const char *expr) {
    char got[200];
    if (str_is(s, want))
        return test_check(1, file, line, expr);
    if (!s.ptr)
        snprintf(got, sizeof got, "{NULL, %lu}", (unsigned long)s.len);
    else
        snprintf(got, sizeof got, "\"%.*s\"", (int)(s.len < 150 ? s.len : 150), s.ptr);
    return test_fail(file, line, "%s: expected %s%s%s, got %s", expr, want ? "\"" : "",
                     want ? want : "{NULL, 0}", want ? "\"" : "", got);
}

static int same_str(ws_str a, ws_str b) {
    return a.ptr == b.ptr && a.len == b.len;
}

/* The public fields of two parses of the same buffer are identical (same pointers). */
static int http_same(const ws_http *a, const ws_http *b) {
    size_t i;
    if (!(same_str(a->method, b->method) && same_str(a->target, b->target) &&
          same_str(a->path, b->path) && same_str(a->query, b->query) &&
          a->status == b->status && same_str(a->reason, b->reason) &&
          a->version == b->version && same_str(a->host, b->host) &&
          same_str(a->origin, b->origin) && same_str(a->upgrade, b->upgrade) &&
          same_str(a->connection, b->connection) && same_str(a->key, b->key) &&
          same_str(a->ws_version, b->ws_version) && same_str(a->protocol, b->protocol) &&
          same_str(a->extensions, b->extensions) && same_str(a->accept, b->accept) &&
          a->size == b->size && a->num_headers == b->num_headers))
        return 0;
    for (i = 0; i < a->num_headers && i < WS_MAX_HEADERS; i++)
        if (!same_str(a->headers[i].name, b->headers[i].name) ||
            !same_str(a->headers[i].value, b->headers[i].value))
            return 0;
    return 1;
}

static int http_parse(ws_http *h, const void *buf, size_t len, int response) {
#if !defined(WS_NO_SERVER) && !defined(WS_NO_CLIENT)
    return response ? ws_http_parse_response(h, buf, len) : ws_http_parse_request(h, buf, len);
#else
    (void)h; (void)buf; (void)len; (void)response;
    return -1000;
#endif
}

int http_parse_all_at(ws_http *h, char **buf, const char *text, size_t len, size_t max,
                      int response, const char *file, int line) {
    ws_http t;
    size_t k;
    int rc, r, bad = 0;
    char hex[160];
    test_hex_brief(hex, sizeof hex, text, len, 20);
    *buf = (char *)dup_exact(text, len);
    ws_http_init(h, max);
    rc = http_parse(h, *buf, len, response);
    /* every prefix alone, in a buffer of exactly its size */
    for (k = 0; k < len && !bad; k++) {
        char *pre = (char *)dup_exact(text, k);
        int complete = rc > 0 && k >= h->size;
        ws_http_init(&t, max);
        r = http_parse(&t, pre, k, response);
        if (!(r == WS_HS_PARTIAL && !complete) && !(rc < 0 && r == rc) &&
            !(complete && r == rc && t.size == h->size)) {
            test_context("input %s, only the first %lu bytes", hex, (unsigned long)k);
            test_check_int(r, complete ? rc : WS_HS_PARTIAL, file, line, "parse of a prefix");
            bad = 1;
        }
        free(pre);
    }
    /* the same buffer, grown one byte at a time */
    ws_http_init(&t, max);
    r = WS_HS_PARTIAL;
    for (k = 1; k <= len && r == WS_HS_PARTIAL; k++)
        r = http_parse(&t, *buf, k, response);
    if (!bad && (r != rc || (rc > 0 && !http_same(&t, h)))) {
        test_context("input %s, the buffer grown one byte at a time", hex);
        test_check_int(r, rc, file, line, "result");
        test_check(rc <= 0 || http_same(&t, h), file, line, "same fields as the whole parse");
        bad = 1;
    }
    /* two calls: the first k bytes, then all */
    for (k = 1; k < len && !bad; k++) {
        ws_http_init(&t, max);
        r = http_parse(&t, *buf, k, response);
        if (r == WS_HS_PARTIAL)
            r = http_parse(&t, *buf, len, response);
        if (r != rc || (rc > 0 && !http_same(&t, h))) {
            test_context("input %s, %lu bytes then all", hex, (unsigned long)k);
            test_check_int(r, rc, file, line, "result");
            test_check(rc <= 0 || http_same(&t, h), file, line,
                       "same fields as the whole parse");
            bad = 1;
        }
    }
    test_context("input %s", hex);
    test_check(!bad, file, line, "same result for every split of the head");
    return rc;
}
