/* frames.h - the body of fuzz_frames_server.c and fuzz_frames_client.c: an open connection
   of one role is fed the fuzzer's bytes as frames from its peer.

   Input: 4 bytes of settings, then the bytes fed.
     [0] bit 0: a whole-message buffer (cap 16 << bits 5-7), else streamed callbacks
         bit 1: no_auto_pong; bits 2-4: rsv_allowed (0x10, 0x20, 0x40)
     [1] low 6 bits: the bytes go to ws_conn_feed in pieces of this size (0: all at once);
         top 2 bits: max_fragments 0 (default), 1, 2 or 5
     [2] max_frame_size = 4 * [2] (0: default)
     [3] max_message_size = 8 * [3] (0: default, 16 MiB)
   Beyond fuzz.h's checks of every callback and of every byte sent: an independent reading
   of RFC 6455 and of ws.h's documented limits (model(), below) predicts every callback,
   the error and the close code, and the connection must agree exactly (so a frame wrongly
   refused fails here as surely as one wrongly accepted); a failure sent its close code; a
   close from the peer was answered; afterwards the connection still closes cleanly or
   stays failed. The input also checks ws_utf8_validate and ws_mask (fast paths included)
   against plain byte-at-a-time versions. */
#ifndef FRAMES_H_INCLUDED
#define FRAMES_H_INCLUDED

#include "fuzz.h"

/* What the connection must do with p[0..n-1]: the log fz_conn writes (without the final
   X entry of a failure, whose reason is ws.h's own text), and how it ends. */
typedef struct model {
    fz_buf   log, pend;
    int      err;                   /* WS_OK, or the error it must fail with */
    ws_state state;                 /* OPEN, CLOSED (peer's close) or FAILED */
    unsigned code;                  /* CLOSED: the peer's code */
    uint8_t  reason[123];
    size_t   rlen;
} model;

static void model_flush(model *m) {
    if (!m->pend.len) return;
    fz_put8(&m->log, 'D');
    fz_put64(&m->log, m->pend.len);
    fz_put(&m->log, m->pend.p, m->pend.len);
    m->pend.len = 0;
}

static int model_fail(model *m, int err) {
    m->err = err;
    m->state = WS_STATE_FAILED;
    m->pend.len = 0;
    return err;
}

static void run_model(model *m, const ws_config *cfg, size_t cap, const uint8_t *p, size_t n) {
    uint64_t max_msg = cfg->max_message_size ? cfg->max_message_size : (uint64_t)16 << 20;
    uint64_t max_frame = cfg->max_frame_size ? cfg->max_frame_size : max_msg;
    uint32_t max_frags = cfg->max_fragments ? cfg->max_fragments : 131072;
    int client = cfg->role == WS_ROLE_CLIENT;
    unsigned msg_op = 0, msg_rsv = 0;
    uint64_t msg = 0;
    uint32_t frags = 0, utf8 = 0;
    fz_buf whole = { NULL, 0, 0 };
    size_t i = 0;
    m->state = WS_STATE_OPEN;
    while (i < n) {
        unsigned b0, b1, op, rsv, l7, k;
        int fin, masked;
        uint64_t len;
        size_t hl;
        uint8_t key[4] = { 0, 0, 0, 0 };
        if (n - i < 2) break;
        b0 = p[i];
        b1 = p[i + 1];
        fin = (b0 & 0x80) != 0;
        rsv = b0 & 0x70;
        op = b0 & 0x0F;
        masked = (b1 & 0x80) != 0;
        l7 = b1 & 0x7F;
        hl = 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + (masked ? 4 : 0);
        if (n - i < hl) break;                          /* the header is not all there */
        len = l7;
        if (l7 == 126) len = (uint64_t)p[i + 2] << 8 | p[i + 3];
        if (l7 == 127)
            for (len = 0, k = 0; k < 8; k++) len = len << 8 | p[i + 2 + k];
        if (masked) memcpy(key, p + i + hl - 4, 4);
        i += hl;
        /* RFC 6455 5.2, 5.3, 5.4, 5.5 */
        if (rsv & ~(unsigned)cfg->rsv_allowed) { model_fail(m, WS_ERR_PROTOCOL); break; }
        if (masked == client) { model_fail(m, WS_ERR_PROTOCOL); break; }
        if (len >> 63) { model_fail(m, WS_ERR_PROTOCOL); break; }
        if ((op > 2 && op < 8) || op > 10) { model_fail(m, WS_ERR_PROTOCOL); break; }
        if (op >= 8 && (!fin || len > 125)) { model_fail(m, WS_ERR_PROTOCOL); break; }
        if (op == 0 && !msg_op) { model_fail(m, WS_ERR_PROTOCOL); break; }
        if ((op == 1 || op == 2) && msg_op) { model_fail(m, WS_ERR_PROTOCOL); break; }
        if (op >= 8) {
            uint8_t body[125];
            size_t bl = (size_t)len;
            if (n - i < bl) break;                      /* a control frame still arriving */
            for (k = 0; k < bl; k++) body[k] = (uint8_t)(p[i + k] ^ key[k & 3]);
            i += bl;
            if (op == WS_OP_CLOSE) {
                unsigned code = WS_CLOSE_NO_STATUS;
                if (bl == 1) { model_fail(m, WS_ERR_PROTOCOL); break; }
                if (bl >= 2) {
                    code = (unsigned)body[0] << 8 | body[1];
                    if (!((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
                          (code >= 3000 && code <= 4999))) {
                        model_fail(m, WS_ERR_PROTOCOL);
                        break;
                    }
                    if (!fz_utf8_valid(body + 2, bl - 2)) { model_fail(m, WS_ERR_UTF8); break; }
                    memcpy(m->reason, body + 2, bl - 2);
                    m->rlen = bl - 2;
                }
                m->state = WS_STATE_CLOSED;
                m->code = code;
                model_flush(m);
                break;
            }
            model_flush(m);
            fz_put8(&m->log, 'P');
            fz_put8(&m->log, op);
            fz_put8(&m->log, (unsigned)bl);
            fz_put(&m->log, body, bl);
            continue;
        }
        /* a data frame: ws.h's limits */
        if (op) {
            msg_op = op;
            msg_rsv = rsv;
            msg = 0;
            frags = 0;
            utf8 = 0;
            whole.len = 0;
        }
        if (len > max_frame || len > max_msg - msg || (cap && len > cap - msg) ||
            ++frags > max_frags) {
            model_fail(m, WS_ERR_TOO_BIG);
            break;
        }
        msg += len;
        if (op && !cap) {
            model_flush(m);
            fz_put8(&m->log, 'B');
            fz_put8(&m->log, op);
            fz_put64(&m->log, fin ? len : WS_SIZE_UNKNOWN);
        }
        {
            size_t have = (size_t)FZ_MIN(len, (uint64_t)(n - i)), j, ok;
            uint8_t *d = (uint8_t *)malloc(have ? have : 1);
            CHECK(d != NULL);
            for (j = 0; j < have; j++) d[j] = (uint8_t)(p[i + j] ^ key[j & 3]);
            i += have;
            ok = msg_op == WS_OP_TEXT && !msg_rsv ? fz_utf8(&utf8, d, have) : have;
            if (ok < have || (have == len && fin && msg_op == WS_OP_TEXT && !msg_rsv && utf8)) {
                free(d);
                model_fail(m, WS_ERR_UTF8);
                break;
            }
            if (cap) fz_put(&whole, d, have);
            else fz_put(&m->pend, d, have);
            free(d);
            if (have < len) break;                      /* the input ends inside it */
        }
        if (fin) {
            if (cap) {
                fz_put8(&m->log, 'M');
                fz_put8(&m->log, msg_op);
                fz_put64(&m->log, whole.len);
                fz_put(&m->log, whole.p, whole.len);
            } else {
                model_flush(m);
                fz_put8(&m->log, 'E');
            }
            msg_op = 0;
        }
    }
    if (m->state == WS_STATE_OPEN) model_flush(m);
    fz_free(&whole);
}

/* ws_utf8_validate and ws_mask, fast paths included, against byte-at-a-time versions. */
static void check_utilities(const uint8_t *p, size_t n, unsigned piece) {
    uint32_t a = 0, b = 0;
    size_t i, step = piece ? piece : n, ra, rb;
    uint8_t key[4], *x = fz_dup(p, n), *y = fz_dup(p, n);
    /* the same bytes, whole and in pieces, keep the same verdict */
    for (i = 0; i < n; i += step) {
        size_t m = FZ_MIN(step, n - i);
        ra = ws_utf8_validate(&a, p + i, m);
        rb = fz_utf8(&b, p + i, m);
        CHECK(ra == rb && (a == 0) == (b == 0));
        if (ra < m) break;
    }
    CHECK(ws_utf8_valid(p, n) == fz_utf8_valid(p, n));
    /* masking from every key position */
    memcpy(key, n >= 4 ? p : (const uint8_t *)"\x12\x34\x56\x78", 4);
    for (i = 0; i < 4; i++) {
        size_t j;
        ws_mask(x, n, key, i);
        for (j = 0; j < n; j++) CHECK(x[j] == (uint8_t)(y[j] ^ key[(i + j) & 3]));
        memcpy(x, y, n);
    }
    free(x);
    free(y);
}

static void fz_frames(const uint8_t *data, size_t size, ws_role role) {
    fz_in in = { data, size };
    ws_config cfg;
    fz_conn *f = (fz_conn *)calloc(1, sizeof *f);
    static const uint32_t frags[4] = { 0, 1, 2, 5 };
    unsigned flags = fz_u8(&in), piece = fz_u8(&in);
    int rc = WS_OK;
    model m;
    fz_in all;
    memset(&m, 0, sizeof m);
    CHECK(f != NULL);
    memset(&cfg, 0, sizeof cfg);
    cfg.role = role;
    cfg.no_auto_pong = (flags & 2) != 0;
    cfg.rsv_allowed = (uint8_t)((flags << 2) & 0x70);
    cfg.max_frame_size = 4 * (uint64_t)fz_u8(&in);
    cfg.max_message_size = 8 * (uint64_t)fz_u8(&in);
    cfg.max_fragments = frags[piece >> 6];
    piece &= 63;
    fz_conn_init(f, &cfg);
    if (flags & 1) fz_conn_buffer(f, (size_t)16 << (flags >> 5));
    fz_conn_open(f);
    check_utilities(in.p, in.n, piece);
    run_model(&m, &cfg, f->mcap, in.p, in.n);
    all = in;
    while (in.n) {
        size_t n;
        const uint8_t *p = fz_take(&in, piece ? piece : in.n, &n);
        rc = fz_feed(f, p, n);
        if (ws_conn_state(&f->c) >= WS_STATE_CLOSED) break;
    }
    /* what the model says */
    (void)all;
    fz_flush(f);
    CHECK(ws_conn_state(&f->c) == m.state && rc == m.err);
    if (m.state == WS_STATE_FAILED) {
        CHECK(fz_prefix(&m.log, &f->log) && f->log.len > m.log.len && f->log.p[m.log.len] == 'X');
        CHECK(f->close_code == (unsigned)ws_close_code_for(m.err));
    } else if (m.state == WS_STATE_CLOSED) {
        CHECK(f->log.len == m.log.len + 4 + m.rlen && fz_prefix(&m.log, &f->log));
        CHECK(f->close_code == m.code && f->log.p[m.log.len] == 'X' &&
              (m.rlen == 0 || memcmp(f->log.p + m.log.len + 4, m.reason, m.rlen) == 0));
    } else {
        CHECK(fz_same(&m.log, &f->log));
    }
    fz_free(&m.log);
    fz_free(&m.pend);
    /* what the documentation says of each ending */
    switch (ws_conn_state(&f->c)) {
    case WS_STATE_OPEN:
        CHECK(rc == WS_OK && f->close_calls == 0 && !f->wire.d.closed);
        /* our own close still works, and the peer's answer ends it */
        CHECK(ws_conn_close(&f->c, WS_CLOSE_NORMAL, "bye", 3) == WS_OK);
        CHECK(ws_conn_state(&f->c) == WS_STATE_CLOSING && f->wire.d.closed &&
              f->wire.d.close_code == WS_CLOSE_NORMAL);
        break;
    case WS_STATE_CLOSED:
        CHECK(rc == WS_OK && f->close_calls == 1 && f->wire.d.closed);
        /* we echoed the peer's code */
        CHECK(f->wire.d.close_code == f->close_code);
        CHECK(fz_feed(f, (const uint8_t *)"\x88\x00", 2) == WS_OK);
        CHECK(ws_conn_send(&f->c, WS_OP_TEXT, "x", 1) == WS_ERR_STATE);
        break;
    case WS_STATE_FAILED:
        CHECK(rc == ws_conn_error(&f->c) && f->close_calls == 1 && f->wire.d.closed);
        CHECK(f->wire.d.close_code == (unsigned)ws_close_code_for(rc));
        fz_check_sticky(f);
        break;
    default:
        CHECK(0);
    }
    fz_conn_free(f);
    free(f);
}

#endif
