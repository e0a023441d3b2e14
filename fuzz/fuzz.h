/* fuzz.h - shared by the fuzz targets: CHECK, a reader of the fuzzer's bytes, a checker of
   the frames a connection sends, and a connection whose callbacks check what ws.h promises.

   Every target includes this file first. Alone (libFuzzer, AFL++, coverage, the cross
   replays) a target compiles ws.h's implementation itself; the replay drivers of make check
   link every target with one ws.h object instead (FZ_SHARED_IMPL, fuzz/fuzz.mk), so a
   target uses nothing of the implementation but its public functions. A broken promise
   calls abort() (CHECK), which libFuzzer and fuzz/replay.c report as a crash. */
#ifndef FUZZ_H_INCLUDED
#define FUZZ_H_INCLUDED

#ifndef FZ_SHARED_IMPL
#define WS_IMPLEMENTATION
#endif
#include "ws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/unit/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ static __attribute__((unused))

#define FZ_MIN(a, b) ((a) < (b) ? (a) : (b))

#define CHECK(c) do { if (!(c)) fz_fail(__FILE__, __LINE__, #c); } while (0)

FZ void fz_fail(const char *file, int line, const char *what) {
    fprintf(stderr, "%s:%d: CHECK failed: %s\n", file, line, what);
    abort();
}

/* Every error code ws.h defines, and its message. */
FZ int fz_known_err(int rc) {
    return rc <= 0 && rc >= WS__ERR_LAST && ws_strerror(rc)[0] &&
           strcmp(ws_strerror(rc), "unknown error") != 0;
}

/* a[0..n-1] equals b[0..n-1], ignoring ASCII case (strncasecmp is not C99) */
FZ int fz_ieq(const char *a, const char *b, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) {
        int x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x >= 'A' && x <= 'Z') x += 32;
        if (y >= 'A' && y <= 'Z') y += 32;
        if (x != y) return 0;
    }
    return 1;
}

/* ---- UTF-8, independently of ws.h ------------------------------------------------ */

/* RFC 3629's table read one byte at a time (tests/unit/wire.h, shared with the unit
   tests): the same contract as ws_utf8_validate. */
#define fz_utf8 wire_utf8
#define fz_utf8_valid wire_utf8_valid

/* ---- the fuzzer's bytes ---------------------------------------------------- */

typedef struct fz_in {
    const uint8_t *p;
    size_t n;
} fz_in;

FZ unsigned fz_u8(fz_in *in) {
    if (!in->n) return 0;
    in->n--;
    return *in->p++;
}

FZ unsigned fz_u16(fz_in *in) {
    unsigned v = fz_u8(in);
    return v << 8 | fz_u8(in);
}

FZ uint64_t fz_u64(fz_in *in) {
    uint64_t v = 0;
    int i;
    for (i = 0; i < 8; i++) v = v << 8 | fz_u8(in);
    return v;
}

/* Up to want bytes; *n tells how many there were. */
FZ const uint8_t *fz_take(fz_in *in, size_t want, size_t *n) {
    const uint8_t *p = in->p;
    *n = want < in->n ? want : in->n;
    in->p += *n;
    in->n -= *n;
    return p;
}

/* ---- growable bytes ------------------------------------------------------------ */

typedef struct fz_buf {
    uint8_t *p;
    size_t len, cap;
} fz_buf;

FZ void fz_put(fz_buf *b, const void *d, size_t n) {
    if (!n) return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n) cap *= 2;
        b->p = (uint8_t *)realloc(b->p, cap);
        CHECK(b->p != NULL);
        b->cap = cap;
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
}

FZ void fz_put8(fz_buf *b, unsigned v) {
    uint8_t c = (uint8_t)v;
    fz_put(b, &c, 1);
}

FZ void fz_put64(fz_buf *b, uint64_t v) {
    int i;
    for (i = 0; i < 8; i++) fz_put8(b, (unsigned)(v >> (56 - 8 * i)));
}

FZ void fz_free(fz_buf *b) {
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

FZ int fz_same(const fz_buf *a, const fz_buf *b) {
    return a->len == b->len && (!a->len || memcmp(a->p, b->p, a->len) == 0);
}

/* a is a prefix of b */
FZ int fz_prefix(const fz_buf *a, const fz_buf *b) {
    return a->len <= b->len && (!a->len || memcmp(a->p, b->p, a->len) == 0);
}

/* A copy of p[0..n-1] on the heap, exactly n long (never NULL): AddressSanitizer catches a
   read one byte past it. */
FZ uint8_t *fz_dup(const void *p, size_t n) {
    uint8_t *d = (uint8_t *)malloc(n ? n : 1);
    CHECK(d != NULL);
    if (n) memcpy(d, p, n);
    return d;
}

/* ---- the frames a connection sends ------------------------------------------------ */

/* Reads, one byte at a time, the bytes a connection hands to its send callback. Every frame
   is checked by the decoder the unit tests use too (tests/unit/wire.h: masking for the role,
   no RSV bit, the shortest length, control frames whole and at most 125 bytes, continuation
   only inside a fragmented message, a valid close body, nothing after a close frame), and
   here besides: a masked frame uses the key the random callback just gave. */
typedef struct fz_wire {
    wire_dec d;                     /* the decoder: frame fields, closed, close_code, ctrl */
    int      http;                  /* still the handshake: bytes are not frames */
    unsigned last_ctrl;             /* opcode of the last whole control frame, 0 if none */
    uint8_t  rkey[4];               /* the last 4 bytes the random callback gave */
    int      rkey_fresh;            /* ... and no frame used them yet */
    uint64_t http_bytes;
    uint64_t hdrs;                  /* frame headers seen, and the last one's fields: */
    unsigned h_op;
    int      h_fin;
    uint64_t h_len;
    fz_buf  *data;                  /* when set: every data payload byte, unmasked */
    fz_buf  *events;                /* when set: frame headers (op, fin, len) and controls */
} fz_wire;

FZ void fz_wire_byte(fz_wire *w, uint8_t b) {
    wire_dec *d = &w->d;
    int ev;
    if (w->http) {
        w->http_bytes++;
        return;
    }
    ev = wire_byte(d, b, &b);
    if (ev & WIRE_BAD) fz_fail(__FILE__, __LINE__, d->err);
    if (ev & WIRE_HEADER) {
        if (d->masked) {                                /* a fresh random key */
            CHECK(w->rkey_fresh && memcmp(d->key, w->rkey, 4) == 0);
            w->rkey_fresh = 0;
        }
        if (w->events) {
            fz_put8(w->events, 'F');
            fz_put8(w->events, d->op | (d->fin ? 0x80u : 0));
            fz_put64(w->events, d->len);
        }
        w->hdrs++;
        w->h_op = d->op;
        w->h_fin = d->fin;
        w->h_len = d->len;
    }
    if ((ev & WIRE_BYTE) && d->op < 8 && w->data) fz_put(w->data, &b, 1);
    if ((ev & WIRE_END) && d->op >= 8) {
        w->last_ctrl = d->op;
        if (w->events) {
            fz_put8(w->events, 'C');
            fz_put8(w->events, d->op);
            fz_put8(w->events, (unsigned)d->clen);
            fz_put(w->events, d->ctrl, d->clen);
        }
    }
}

FZ void fz_wire_put(fz_wire *w, const void *p, size_t n) {
    const uint8_t *b = (const uint8_t *)p;
    size_t i;
    for (i = 0; i < n; i++) fz_wire_byte(w, b[i]);
}

/* Bytes of the frame being sent that are still owed (0 between frames). */
FZ uint64_t fz_wire_owed(const fz_wire *w) {
    return wire_owed(&w->d);
}

/* ---- a connection that checks its callbacks -------------------------------------------- */

typedef struct fz_conn fz_conn;
/* Called at the end of every message callback: the place to call the API from inside a
   callback, as an echo server does. */
typedef void (*fz_hook)(fz_conn *f, int event);

struct fz_conn {
    ws_config cfg;
    ws_conn   c;
    fz_wire   wire;
    const uint8_t *feed_p;          /* the buffer of the ws_conn_feed under way */
    size_t    feed_n;
    uint64_t  fed, delivered;       /* bytes fed, payload bytes handed to callbacks */
    int       in_msg;               /* streamed: between on_begin and on_end */
    unsigned  msg_op;
    uint64_t  msg_size, msg_bytes;  /* on_begin's size, bytes of this frame/message so far */
    uint32_t  utf8;
    uint8_t  *mbuf;                 /* whole-message buffer, when buffered */
    size_t    mcap;
    int       buffered;
    int       opened;               /* the harness saw the connection open */
    int       close_calls;
    unsigned  close_code;
    int       send_fail;            /* the send callback fails while set */
    int       send_fail_at;         /* ... or from this send call on (0 = never) */
    int       random_fail;
    long      api_closes;           /* ws_conn_close calls that succeeded */
    uint64_t  rng;                  /* random bytes: from rnd_in, then a PRNG */
    fz_in    *rnd_in;
    long      sends, callbacks;
    int       in_callback;
    int       eofs;                 /* ws_conn_eof calls the harness made */
    int       nested;               /* the harness calls from inside a callback: on_close
                                       waits for the outermost call to return */
    fz_buf    sent;                 /* every byte sent, when keep_sent */
    int       keep_sent;
    fz_buf    log, pending, dropped;   /* events, for comparing two runs */
    fz_buf    wdata;                /* data payloads sent, unmasked (wire.data = &wdata) */
    fz_hook   hook;
    const void *ev_data;            /* the callback's data, for the hook */
    size_t    ev_len;
    unsigned  ev_op;
    uint64_t  ev_size;
    void     *user;
};

#define FZ_OF(c) ((fz_conn *)(c)->user)

FZ void fz_flush(fz_conn *f) {
    if (!f->pending.len) return;
    fz_put8(&f->log, 'D');
    fz_put64(&f->log, f->pending.len);
    fz_put(&f->log, f->pending.p, f->pending.len);
    f->pending.len = 0;
}

FZ int fz_text_checked(fz_conn *f, unsigned op) {
    return op == WS_OP_TEXT && ws_conn_message_rsv(&f->c) == 0;
}

FZ uint64_t fz_max_message(const fz_conn *f) {
    return f->cfg.max_message_size ? f->cfg.max_message_size : (uint64_t)16 << 20;
}

FZ uint64_t fz_max_frame(const fz_conn *f) {
    return f->cfg.max_frame_size ? f->cfg.max_frame_size : fz_max_message(f);
}

/* Common to every message callback: the connection is open or closing and did not end. */
FZ void fz_cb_enter(fz_conn *f) {
    ws_state s = ws_conn_state(&f->c);
    CHECK(f->opened && !f->close_calls && !f->in_callback);
    CHECK(s == WS_STATE_OPEN || s == WS_STATE_CLOSING);
    f->callbacks++;
    f->in_callback = 1;
}

FZ void fz_cb_leave(fz_conn *f, int event, unsigned op, const void *data, size_t len) {
    f->in_callback = 0;
    f->ev_op = op;
    f->ev_data = data;
    f->ev_len = len;
    if (f->hook) f->hook(f, event);
}

FZ void fz_on_begin(ws_conn *c, ws_opcode op, uint64_t size) {
    fz_conn *f = FZ_OF(c);
    fz_cb_enter(f);
    CHECK(!f->buffered && !f->in_msg);
    CHECK(op == WS_OP_TEXT || op == WS_OP_BINARY);
    CHECK(size == WS_SIZE_UNKNOWN || size <= fz_max_frame(f));
    f->in_msg = 1;
    f->msg_op = op;
    f->msg_size = size;
    f->msg_bytes = 0;
    f->utf8 = 0;
    fz_flush(f);
    fz_put8(&f->log, 'B');
    fz_put8(&f->log, op);
    fz_put64(&f->log, size);
    f->ev_size = size;
    fz_cb_leave(f, 'B', op, NULL, 0);
}

FZ void fz_on_data(ws_conn *c, const void *data, size_t len) {
    fz_conn *f = FZ_OF(c);
    const uint8_t *p = (const uint8_t *)data;
    fz_cb_enter(f);
    CHECK(!f->buffered && f->in_msg && len > 0 && p);
    CHECK(p >= f->feed_p && len <= f->feed_n && p - f->feed_p <= (ptrdiff_t)(f->feed_n - len));
    f->msg_bytes += len;
    CHECK(f->msg_bytes <= fz_max_message(f));
    if (f->msg_size != WS_SIZE_UNKNOWN) CHECK(f->msg_bytes <= f->msg_size);
    f->delivered += len;
    CHECK(f->delivered <= f->fed);
    if (fz_text_checked(f, f->msg_op)) CHECK(fz_utf8(&f->utf8, p, len) == len);
    fz_put(&f->pending, p, len);
    fz_cb_leave(f, 'D', f->msg_op, data, len);
}

FZ void fz_on_end(ws_conn *c) {
    fz_conn *f = FZ_OF(c);
    fz_cb_enter(f);
    CHECK(!f->buffered && f->in_msg);
    if (fz_text_checked(f, f->msg_op)) CHECK(f->utf8 == 0);
    if (f->msg_size != WS_SIZE_UNKNOWN) CHECK(f->msg_bytes == f->msg_size);
    f->in_msg = 0;
    fz_flush(f);
    fz_put8(&f->log, 'E');
    fz_cb_leave(f, 'E', f->msg_op, NULL, 0);
}

FZ void fz_on_message(ws_conn *c, ws_opcode op, const void *data, size_t len) {
    fz_conn *f = FZ_OF(c);
    fz_cb_enter(f);
    CHECK(f->buffered && (op == WS_OP_TEXT || op == WS_OP_BINARY));
    CHECK(len <= f->mcap && len <= fz_max_message(f));
    CHECK(len == 0 || (const uint8_t *)data == f->mbuf);
    if (fz_text_checked(f, op)) CHECK(fz_utf8_valid(data, len));
    f->delivered += len;
    CHECK(f->delivered <= f->fed);
    fz_put8(&f->log, 'M');
    fz_put8(&f->log, op);
    fz_put64(&f->log, len);
    fz_put(&f->log, data, len);
    fz_cb_leave(f, 'M', op, data, len);
}

FZ void fz_on_control(ws_conn *c, ws_opcode op, const void *data, size_t len) {
    fz_conn *f = FZ_OF(c);
    fz_cb_enter(f);
    CHECK(op == WS_OP_PING || op == WS_OP_PONG);
    CHECK(len <= 125 && (len == 0 || data));
    if (op == WS_OP_PING && !f->cfg.no_auto_pong && ws_conn_state(c) == WS_STATE_OPEN &&
        !fz_wire_owed(&f->wire)) {
        /* the automatic pong went out first, with the same payload */
        CHECK(f->wire.last_ctrl == WS_OP_PONG && f->wire.d.clen == len &&
              (len == 0 || memcmp(f->wire.d.ctrl, data, len) == 0));
    }
    fz_flush(f);
    fz_put8(&f->log, 'P');
    fz_put8(&f->log, op);
    fz_put8(&f->log, (unsigned)len);
    fz_put(&f->log, data, len);
    fz_cb_leave(f, 'P', op, data, len);
}

FZ void fz_on_close(ws_conn *c, unsigned code, const char *reason, size_t len) {
    fz_conn *f = FZ_OF(c);
    ws_state s = ws_conn_state(c);
    CHECK(f->opened && f->close_calls == 0 && !f->in_callback);
    f->close_calls++;
    f->close_code = code;
    CHECK(ws_conn_close_code(c) == code);
    CHECK(len <= 123 && (len == 0 || reason) && fz_utf8_valid(reason, len));
    if (s == WS_STATE_FAILED) {
        int err = ws_conn_error(c), want = ws_close_code_for(err);
        CHECK(err < 0 && code == (unsigned)(want ? want : WS_CLOSE_ABNORMAL));
        /* how much of a failed message came before the failure depends on the split */
        fz_put(&f->dropped, f->pending.p, f->pending.len);
        f->pending.len = 0;
    } else {
        CHECK(s == WS_STATE_CLOSED);
        CHECK(code == WS_CLOSE_NO_STATUS || ws_close_code_valid(code));
        fz_flush(f);
    }
    fz_put8(&f->log, 'X');
    fz_put8(&f->log, s);
    fz_put8(&f->log, code >> 8);
    fz_put8(&f->log, code);
    fz_put(&f->log, reason, len);
}

FZ int fz_send(ws_conn *c, const ws_buf *bufs, size_t n) {
    fz_conn *f = FZ_OF(c);
    size_t i;
    f->sends++;
    CHECK(n > 0 && bufs);
    CHECK(!f->close_calls);                 /* on_close is the last thing that happens */
    if (f->send_fail || (f->send_fail_at && f->sends >= f->send_fail_at)) return -1;
    for (i = 0; i < n; i++) {
        CHECK(bufs[i].len == 0 || bufs[i].data);
        fz_wire_put(&f->wire, bufs[i].data, bufs[i].len);
        if (f->keep_sent) fz_put(&f->sent, bufs[i].data, bufs[i].len);
    }
    return 0;
}

FZ int fz_random(ws_conn *c, void *out, size_t n) {
    fz_conn *f = FZ_OF(c);
    uint8_t *o = (uint8_t *)out;
    size_t i;
    CHECK(f->cfg.role == WS_ROLE_CLIENT && n > 0);
    CHECK(!f->close_calls);
    if (f->random_fail) return -1;
    for (i = 0; i < n; i++) {
        if (f->rnd_in && f->rnd_in->n) {
            o[i] = (uint8_t)fz_u8(f->rnd_in);
        } else {
            f->rng ^= f->rng << 13; f->rng ^= f->rng >> 7; f->rng ^= f->rng << 17;
            o[i] = (uint8_t)(f->rng >> 24);
        }
    }
    if (n == 4) {
        memcpy(f->wire.rkey, o, 4);
        f->wire.rkey_fresh = 1;
    }
    return 0;
}

/* Sets f up (cfg's limits and flags; its callbacks are replaced) in CONNECTING. */
FZ void fz_conn_init(fz_conn *f, const ws_config *cfg) {
    memset(f, 0, sizeof *f);
    f->cfg = *cfg;
    f->cfg.send = fz_send;
    f->cfg.random = fz_random;
    f->cfg.on_begin = fz_on_begin;
    f->cfg.on_data = fz_on_data;
    f->cfg.on_end = fz_on_end;
    f->cfg.on_message = fz_on_message;
    f->cfg.on_control = fz_on_control;
    f->cfg.on_close = fz_on_close;
    wire_init(&f->wire.d, cfg->role == WS_ROLE_CLIENT, 0);
    f->wire.http = 1;
    f->rng = 0x9E3779B97F4A7C15ull;
    CHECK(ws_conn_init(&f->c, &f->cfg, f) == WS_OK);
    CHECK(ws_conn_state(&f->c) == WS_STATE_CONNECTING && ws_conn_error(&f->c) == WS_OK);
}

/* Gives f a whole-message buffer of cap bytes (0: streaming). Returns what
   ws_conn_set_buffer returned: on a refusal (WS_ERR_STATE half a message in, or the sticky
   error) the connection keeps its old buffer, and so does f. */
FZ int fz_conn_buffer(fz_conn *f, size_t cap) {
    uint8_t *b = cap ? (uint8_t *)malloc(cap) : NULL;
    int rc;
    CHECK(!cap || b);
    rc = ws_conn_set_buffer(&f->c, b, cap);
    CHECK(rc == WS_OK || rc == WS_ERR_STATE || rc == ws_conn_error(&f->c));
    if (rc != WS_OK) {
        free(b);
        return rc;
    }
    free(f->mbuf);
    f->mbuf = b;
    f->mcap = cap;
    f->buffered = cap != 0;
    return rc;
}

/* Opens f without a handshake: ws_conn_accept(NULL) or ws_conn_connected(NULL). */
FZ void fz_conn_open(fz_conn *f) {
    int rc = f->cfg.role == WS_ROLE_CLIENT ? ws_conn_connected(&f->c, NULL)
                                           : ws_conn_accept(&f->c, NULL, NULL);
    CHECK(rc == WS_OK && ws_conn_state(&f->c) == WS_STATE_OPEN);
    f->opened = 1;
    f->wire.http = 0;
}

FZ void fz_conn_free(fz_conn *f) {
    free(f->mbuf);
    fz_free(&f->sent);
    fz_free(&f->log);
    fz_free(&f->pending);
    fz_free(&f->dropped);
    fz_free(&f->wdata);
}

/* What every API call must leave behind. before/before_err: state and error before the
   call; sends0/cbs0: counters before it; rc: what it returned. */
typedef struct fz_snap {
    ws_state state;
    int      err;
    long     sends, callbacks;
    int      owed;                  /* a streamed frame was unfinished */
    int      wire_closed;           /* a close frame had gone out */
    long     api_closes;
} fz_snap;

FZ fz_snap fz_snap_take(fz_conn *f) {
    fz_snap s;
    s.state = ws_conn_state(&f->c);
    s.err = ws_conn_error(&f->c);
    s.sends = f->sends;
    s.callbacks = f->callbacks;
    s.owed = fz_wire_owed(&f->wire) != 0;
    s.wire_closed = f->wire.d.closed;
    s.api_closes = f->api_closes;
    return s;
}

FZ void fz_after(fz_conn *f, const fz_snap *b, int rc) {
    ws_state s = ws_conn_state(&f->c);
    int err = ws_conn_error(&f->c);
    CHECK(fz_known_err(rc) && fz_known_err(err));
    if (b->state == WS_STATE_FAILED) {
        /* sticky: the same error, nothing sent, nothing called */
        CHECK(rc == b->err && err == b->err && s == WS_STATE_FAILED);
        CHECK(f->sends == b->sends && f->callbacks == b->callbacks);
        return;
    }
    CHECK((s == WS_STATE_FAILED) == (err != WS_OK));
    /* states only move forward; CLOSED is the end (set once the close is out) */
    if (s != WS_STATE_FAILED) CHECK(s >= b->state);
    if (b->state == WS_STATE_CLOSED) CHECK(s == WS_STATE_CLOSED);
    if (s == WS_STATE_FAILED && rc != WS_OK) CHECK(rc == err);
    if (s == WS_STATE_FAILED && b->state != WS_STATE_CONNECTING) {
        int code = ws_close_code_for(err);
        /* failing an open connection sends the code, unless our own close went first or a
           streamed frame cannot be cut */
        if (code && b->state == WS_STATE_OPEN && !b->owed && !b->wire_closed &&
            b->api_closes == f->api_closes && !f->send_fail && !f->send_fail_at &&
            !f->random_fail) {
            CHECK(f->wire.d.closed && f->wire.d.close_code == (unsigned)code);
        }
        CHECK(ws_conn_close_code(&f->c) == (unsigned)(code ? code : WS_CLOSE_ABNORMAL));
    }
    if (f->opened && s >= WS_STATE_CLOSED) CHECK(f->close_calls == (f->nested ? 0 : 1));
    /* CLOSED only once our close went out: never while a streamed frame holds it back */
    if (s == WS_STATE_CLOSED) CHECK(f->wire.d.closed && !fz_wire_owed(&f->wire));
    if (f->in_msg && s != WS_STATE_FAILED) CHECK(!f->buffered);
}

/* ws_conn_feed_part of a copy of p[0..n-1] exactly n long; checks the outcome. Stores how
   many bytes it read in *used (when not NULL): fewer than n only with WS_ERR_BUSY, while
   a pong is owed behind a frame going out (then it stopped right after that ping). */
FZ int fz_feed_part(fz_conn *f, const uint8_t *p, size_t n, size_t *used) {
    uint8_t *copy = fz_dup(p, n);
    fz_snap b = fz_snap_take(f);
    size_t got = 0;
    int rc;
    f->feed_p = copy;
    f->feed_n = n;
    f->fed += n;
    rc = ws_conn_feed_part(&f->c, copy, n, &got);
    f->fed -= n - got;
    f->feed_p = NULL;
    f->feed_n = 0;
    free(copy);
    fz_after(f, &b, rc);
    CHECK(got <= n && (got == n || rc != WS_OK));
    if (used) *used = got;
    if (b.state == WS_STATE_CONNECTING) {
        CHECK(rc == WS_ERR_STATE && f->callbacks == b.callbacks && f->sends == b.sends);
    } else if (b.state == WS_STATE_CLOSED) {
        CHECK(rc == WS_OK && f->callbacks == b.callbacks && f->sends == b.sends);
    } else if (b.state != WS_STATE_FAILED) {
        CHECK(rc == WS_OK || rc == WS_ERR_PROTOCOL || rc == WS_ERR_UTF8 ||
              rc == WS_ERR_TOO_BIG || rc == WS_ERR_IO || rc == WS_ERR_RANDOM ||
              (rc == WS_ERR_EOF && f->eofs) ||
              (rc == WS_ERR_BUSY && fz_wire_owed(&f->wire)));   /* a pong owed behind it */
        CHECK((rc == WS_OK || rc == WS_ERR_BUSY) == (ws_conn_state(&f->c) != WS_STATE_FAILED));
    }
    return rc;
}

/* The same, for a connection that never streams a frame: every byte is read. */
FZ int fz_feed(fz_conn *f, const uint8_t *p, size_t n) {
    return fz_feed_part(f, p, n, NULL);
}

/* After a failure: every call gives the same error and does nothing. */
FZ void fz_check_sticky(fz_conn *f) {
    static uint8_t frame[] = { 0x82, 0x81, 1, 2, 3, 4, 5 };
    fz_snap b = fz_snap_take(f);
    int err = b.err;
    uint8_t copy[sizeof frame];
    if (b.state != WS_STATE_FAILED) return;
    memcpy(copy, frame, sizeof frame);
    if (f->cfg.role == WS_ROLE_CLIENT) copy[1] = 1;
    CHECK(ws_conn_feed(&f->c, copy, sizeof copy) == err);
    CHECK(ws_conn_send(&f->c, WS_OP_TEXT, "x", 1) == err);
    CHECK(ws_conn_send_begin(&f->c, WS_OP_BINARY, "x", 1) == err);
    CHECK(ws_conn_close(&f->c, 1000, NULL, 0) == err);
    CHECK(ws_conn_tick(&f->c, 1) == err);
    CHECK(ws_conn_send_payload(&f->c, "x", 1) == err);
    CHECK(ws_conn_send_header(&f->c, true, WS_OP_BINARY, 1) == err);
    CHECK(ws_conn_set_buffer(&f->c, NULL, 0) == err);
    CHECK(ws_conn_eof(&f->c) == err);
#ifndef WS_NO_SERVER
    CHECK(ws_conn_send_raw(&f->c, frame, 2) == err);
#endif
    CHECK(ws_conn_state(&f->c) == WS_STATE_FAILED && ws_conn_error(&f->c) == err);
    CHECK(ws_conn_deadline(&f->c) == UINT64_MAX);
    CHECK(f->sends == b.sends && f->callbacks == b.callbacks);
}

#endif
