/* fuzz_roundtrip.c - encode, then parse: messages sent by one connection (whole, in
   fragments, as streamed frames, pre-encoded, with pings between fragments; a client masks
   with keys from a fuzzer-given random) and fed to a connection of the other role come out
   the same: same opcodes, same bytes, same pings, then the close handshake completes both
   ways with the code and reason sent. Where a message breaks the receiver's limits or is
   text that is not UTF-8 (text is sent as given), the receiver must fail with exactly the
   documented error at exactly that frame, having delivered everything before it.

   Input: [0] bit 0 the sender is a client, bit 1 the receiver collects whole messages,
   bit 2 receiver no_auto_pong, bits 3-4 receiver max_fragments 0 (default), 1, 2, 4;
   [1] receiver max_frame_size 16 * low nibble, max_message_size 64 * high nibble (0:
   default); [2] pieces the receiver is fed in (0: whole); [3..34] the random pool; then
   messages, each: [h] bits 0-1 how it is sent (whole, fragments, streamed, pre-encoded),
   bit 2 binary, bit 3 a ping after each fragment, bit 6 a control frame instead (bit 2:
   pong), bit 7 a large payload (65536 + [len]); [len] or [len16]; the payload bytes (a
   pattern where the input runs out); [fragment count] and 2-byte cut points; for a
   pre-encoded client frame, a 4-byte mask key. */
#include "fuzz.h"

typedef struct expect_state {
    fz_buf   log;                   /* the receiver's log, as it must be */
    int      err;                   /* the error the receiver must fail with, 0 if none */
    uint64_t max_frame, max_msg, cap;
    uint32_t max_frags;
    int      buffered;
    unsigned op;                    /* message being checked */
    uint64_t msg;                   /* its bytes so far */
    uint32_t frags;
    uint32_t utf8;
    int      begun;                 /* its first frame passed */
    fz_buf   whole;                 /* buffered: its bytes */
    fz_buf   pings;                 /* ping payloads sent: [len][bytes]... */
    fz_buf   pend;                  /* streamed data not logged yet (as fz_conn does) */
} expect_state;


static struct {
    fz_conn     *tx, *rx;
    expect_state e;
    fz_in        in;
    fz_buf       raw;               /* bytes on the wire from tx to rx */
} g;

/* Logs the pending data as one D entry, as fz_flush does. */
static void model_flush(void) {
    if (!g.e.pend.len) return;
    fz_put8(&g.e.log, 'D');
    fz_put64(&g.e.log, g.e.pend.len);
    fz_put(&g.e.log, g.e.pend.p, g.e.pend.len);
    g.e.pend.len = 0;
}

/* The receiver's model: one data frame of len bytes, with its payload. */
static void model_frame(unsigned op, int fin, const uint8_t *p, size_t len) {
    expect_state *e = &g.e;
    if (e->err) return;
    if (op != WS_OP_CONT) {
        e->op = op;
        e->msg = 0;
        e->frags = 0;
        e->utf8 = 0;
        e->begun = 0;
        e->whole.len = 0;
    }
    if (len > e->max_frame || len > e->max_msg - e->msg || (e->buffered && len > e->cap - e->msg) ||
        ++e->frags > e->max_frags) {
        e->err = WS_ERR_TOO_BIG;
        e->pend.len = 0;                /* a failed message's data is not compared */
        return;
    }
    e->msg += len;
    if (!e->begun && !e->buffered) {
        model_flush();
        fz_put8(&e->log, 'B');
        fz_put8(&e->log, op);
        fz_put64(&e->log, fin ? len : WS_SIZE_UNKNOWN);
    }
    e->begun = 1;
    if (e->op == WS_OP_TEXT) {
        if (fz_utf8(&e->utf8, p, len) != len || (fin && e->utf8)) {
            e->err = WS_ERR_UTF8;
            e->pend.len = 0;
            return;
        }
    }
    if (e->buffered) {
        fz_put(&e->whole, p, len);
    } else {
        fz_put(&e->pend, p, len);
    }
    if (fin) {
        if (e->buffered) {
            fz_put8(&e->log, 'M');
            fz_put8(&e->log, e->op);
            fz_put64(&e->log, e->whole.len);
            fz_put(&e->log, e->whole.p, e->whole.len);
        } else {
            model_flush();
            fz_put8(&e->log, 'E');
        }
    }
}

static void model_control(unsigned op, const uint8_t *p, size_t len) {
    if (g.e.err) return;
    model_flush();
    fz_put8(&g.e.log, 'P');
    fz_put8(&g.e.log, op);
    fz_put8(&g.e.log, (unsigned)len);
    fz_put(&g.e.log, p, len);
    if (op == WS_OP_PING) {
        fz_put8(&g.e.pings, (unsigned)len);
        fz_put(&g.e.pings, p, len);
    }
}

/* ---- sending ------------------------------------------------------------------ */

/* Every sending call here is valid: it must succeed. */
static void tx_ok_at(int rc, int line) {
    if (rc != WS_OK) fprintf(stderr, "line %d: sender call failed: %s\n", line, ws_strerror(rc));
    CHECK(rc == WS_OK);
}
#define tx_ok(rc) tx_ok_at((rc), __LINE__)

static void send_ping_between(void) {
    uint8_t p[3];
    size_t n = fz_u8(&g.in) % 4;
    memset(p, 'p', sizeof p);
    tx_ok(ws_conn_send(&g.tx->c, WS_OP_PING, n ? p : NULL, n));
    model_control(WS_OP_PING, p, n);
}

static void send_message(unsigned h, const uint8_t *p, size_t len) {
    unsigned op = h & 4 ? WS_OP_BINARY : WS_OP_TEXT, how = h & 3;
    int pings = (h & 8) != 0;
    size_t nfrag = 1 + fz_u8(&g.in) % 6, cut[8], i, at = 0;
    ws_conn *c = &g.tx->c;
    for (i = 0; i + 1 < nfrag; i++) cut[i] = len ? fz_u16(&g.in) % (len + 1) : 0;
    cut[nfrag - 1] = len;
    for (i = 1; i < nfrag; i++) if (cut[i] < cut[i - 1]) cut[i] = cut[i - 1];
    if (cut[0] > len) cut[0] = len;
    switch (how) {
    case 0:
        tx_ok(ws_conn_send(c, (ws_opcode)op, len ? p : NULL, len));
        model_frame(op, 1, p, len);
        break;
    case 1:     /* ws_conn_send_begin / continue / end */
    case 2:     /* streamed frames: ws_conn_send_header and payload in two parts */
        for (i = 0; i < nfrag; i++) {
            size_t n = cut[i] - at;
            int fin = i + 1 == nfrag;
            unsigned fop = i ? WS_OP_CONT : op;
            if (how == 1) {
                if (!i && fin) tx_ok(ws_conn_send(c, (ws_opcode)op, n ? p + at : NULL, n));
                else if (!i) tx_ok(ws_conn_send_begin(c, (ws_opcode)op, n ? p + at : NULL, n));
                else if (!fin) tx_ok(ws_conn_send_continue(c, n ? p + at : NULL, n));
                else tx_ok(ws_conn_send_end(c, n ? p + at : NULL, n));
            } else {
                size_t half = n / 2;
                tx_ok(ws_conn_send_header(c, fin, (ws_opcode)fop, n));
                tx_ok(ws_conn_send_payload(c, half ? p + at : NULL, half));
                tx_ok(ws_conn_send_payload(c, n - half ? p + at + half : NULL, n - half));
            }
            model_frame(fop, fin, p + at, n);
            at = cut[i];
            if (pings && !fin) send_ping_between();
        }
        break;
    default: {  /* encoded once: ws_frame_encode, then ws_conn_send_raw / straight out */
        size_t cap = len + 14, flen = 0;
        uint8_t *frame = (uint8_t *)malloc(cap), key[4];
        CHECK(frame != NULL);
        if (g.tx->cfg.role == WS_ROLE_CLIENT) {
            size_t kn;
            const uint8_t *k = fz_take(&g.in, 4, &kn);   /* sets kn: call it first */
            memset(key, 0, sizeof key);
            if (kn) memcpy(key, k, kn);
            CHECK(ws_frame_encode(frame, cap, &flen, true, (ws_opcode)op, p, len, key) == WS_OK);
            fz_put(&g.raw, frame, flen);
        } else {
            CHECK(ws_frame_encode(frame, cap, &flen, true, (ws_opcode)op, p, len, NULL) == WS_OK);
            tx_ok(ws_conn_send_raw(c, frame, flen));
        }
        CHECK(flen == len + (len < 126 ? 2 : len < 65536 ? 4 : 10) +
                     (g.tx->cfg.role == WS_ROLE_CLIENT ? 4 : 0));
        CHECK(ws_frame_encode(frame, flen - 1, &flen, true, (ws_opcode)op, p, len, NULL) ==
              WS_ERR_NOSPACE || g.tx->cfg.role == WS_ROLE_CLIENT);
        free(frame);
        model_frame(op, 1, p, len);
        break;
    }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const uint32_t frag_max[4] = { 0, 1, 2, 4 };
    fz_in pool;
    ws_config tcfg, rcfg;
    unsigned flags, lim, piece;
    size_t n, i;
    uint8_t *big = NULL;
    int rc = WS_OK, msgs = 0;

    memset(&g, 0, sizeof g);
    g.in.p = data;
    g.in.n = size;
    flags = fz_u8(&g.in);
    lim = fz_u8(&g.in);
    piece = fz_u8(&g.in);
    pool.p = fz_take(&g.in, 32, &pool.n);

    memset(&tcfg, 0, sizeof tcfg);
    memset(&rcfg, 0, sizeof rcfg);
    tcfg.role = flags & 1 ? WS_ROLE_CLIENT : WS_ROLE_SERVER;
    rcfg.role = flags & 1 ? WS_ROLE_SERVER : WS_ROLE_CLIENT;
    rcfg.no_auto_pong = (flags & 4) != 0;
    rcfg.max_fragments = frag_max[(flags >> 3) & 3];
    rcfg.max_frame_size = (lim & 15) * (uint64_t)16;
    rcfg.max_message_size = (lim >> 4) * (uint64_t)64;
    g.tx = (fz_conn *)calloc(1, sizeof *g.tx);
    g.rx = (fz_conn *)calloc(1, sizeof *g.rx);
    CHECK(g.tx && g.rx);
    fz_conn_init(g.tx, &tcfg);
    fz_conn_init(g.rx, &rcfg);
    g.tx->rnd_in = &pool;
    g.tx->keep_sent = 1;
    g.rx->keep_sent = 1;
    if (flags & 2) fz_conn_buffer(g.rx, 1024);
    fz_conn_open(g.tx);
    fz_conn_open(g.rx);

    g.e.max_frame = fz_max_frame(g.rx);
    g.e.max_msg = fz_max_message(g.rx);
    g.e.max_frags = rcfg.max_fragments ? rcfg.max_fragments : 131072;
    g.e.buffered = (flags & 2) != 0;
    g.e.cap = 1024;

    /* the sender: messages until the input ends or the receiver must fail */
    while (g.in.n && !g.e.err && ++msgs <= 64) {
        unsigned h = fz_u8(&g.in);
        size_t len = h & 0x40 ? fz_u8(&g.in) % 126
                   : h & 0x80 ? 65536 + (size_t)fz_u8(&g.in) : fz_u16(&g.in) % 1100;
        const uint8_t *p = fz_take(&g.in, len, &n);
        if (n < len) {          /* the input ran out: a pattern completes the payload */
            free(big);
            big = (uint8_t *)malloc(len ? len : 1);
            CHECK(big != NULL);
            if (n) memcpy(big, p, n);
            for (i = n; i < len; i++) big[i] = (uint8_t)(n ? p[i % n] + i / n : 'a' + i % 26);
            p = big;
        }
        if (h & 0x40) {
            unsigned op = h & 4 ? WS_OP_PONG : WS_OP_PING;
            tx_ok(ws_conn_send(&g.tx->c, (ws_opcode)op, len ? p : NULL, len));
            model_control(op, p, len);
        } else {
            send_message(h, p, len);
        }
        /* raw frames (a client's pre-encoded ones) went straight to g.raw: keep order */
        fz_put(&g.raw, g.tx->sent.p, g.tx->sent.len);
        g.tx->sent.len = 0;
    }
    if (!g.e.err) {
        tx_ok(ws_conn_close(&g.tx->c, 4000 + (unsigned)(size % 999), "rt", 2));
        fz_put(&g.raw, g.tx->sent.p, g.tx->sent.len);
        g.tx->sent.len = 0;
    }

    /* the receiver */
    for (i = 0; i < g.raw.len && rc == WS_OK; i += n) {
        n = piece ? FZ_MIN(piece, g.raw.len - i) : g.raw.len - i;
        rc = fz_feed(g.rx, g.raw.p + i, n);
        if (ws_conn_state(&g.rx->c) == WS_STATE_CLOSED) break;
    }
    fz_flush(g.rx);
    model_flush();
    if (g.e.err) {
        /* everything before the bad frame, then the failure with its close code */
        CHECK(rc == g.e.err && ws_conn_state(&g.rx->c) == WS_STATE_FAILED);
        CHECK(g.rx->close_code == (unsigned)ws_close_code_for(g.e.err));
        CHECK(g.rx->log.len > g.e.log.len && fz_prefix(&g.e.log, &g.rx->log));
        CHECK(g.rx->log.p[g.e.log.len] == 'X' && g.rx->wire.d.closed &&
              g.rx->wire.d.close_code == (unsigned)ws_close_code_for(g.e.err));
    } else {
        /* every message, then the close with our code and reason */
        CHECK(rc == WS_OK && ws_conn_state(&g.rx->c) == WS_STATE_CLOSED);
        CHECK(g.rx->close_calls == 1 && g.rx->close_code == 4000 + size % 999);
        CHECK(g.rx->log.len == g.e.log.len + 6 && fz_prefix(&g.e.log, &g.rx->log));
        CHECK(memcmp(g.rx->log.p + g.e.log.len, "X\x03", 2) == 0 &&
              memcmp(g.rx->log.p + g.e.log.len + 4, "rt", 2) == 0);
        /* the receiver's answers (pongs, the close echo) complete the sender's side */
        rc = fz_feed(g.tx, g.rx->sent.p, g.rx->sent.len);
        CHECK(rc == WS_OK && ws_conn_state(&g.tx->c) == WS_STATE_CLOSED);
        CHECK(g.tx->close_calls == 1 && g.tx->close_code == 4000 + size % 999);
        if (!rcfg.no_auto_pong) {
            /* one pong per ping, same payloads, in order */
            size_t at = 0, k = 0;
            fz_flush(g.tx);
            while (k < g.tx->log.len && g.tx->log.p[k] == 'P') {
                size_t pl = g.tx->log.p[k + 2];
                CHECK(g.tx->log.p[k + 1] == WS_OP_PONG && at < g.e.pings.len &&
                      g.e.pings.p[at] == pl && memcmp(g.e.pings.p + at + 1, g.tx->log.p + k + 3, pl) == 0);
                at += 1 + pl;
                k += 3 + pl;
            }
            CHECK(at == g.e.pings.len && g.tx->log.p[k] == 'X');
        }
    }
    free(big);
    fz_conn_free(g.tx);
    fz_conn_free(g.rx);
    free(g.tx);
    free(g.rx);
    fz_free(&g.raw);
    fz_free(&g.e.log);
    fz_free(&g.e.whole);
    fz_free(&g.e.pings);
    fz_free(&g.e.pend);
    return 0;
}
