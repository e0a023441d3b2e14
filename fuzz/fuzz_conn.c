/* fuzz_conn.c - the whole connection: received bytes interleaved with API calls the fuzzer
   chooses (send, fragments, streamed frames, ping, close, the clock advancing, buffered
   and streamed delivery, a failing send or random callback, calls made from inside the
   callbacks), in either role, through the handshake or without it.

   Input: 4 bytes of settings, then operations (see the switch in LLVMFuzzerTestOneInput).
     [0] bit 0 client; bit 1 no_auto_pong; bits 2-4 rsv_allowed; bit 5 whole-message buffer
         from the start; bit 6 through the handshake (server: the fuzzer's bytes are the
         request; client: a correct 101 is prepended to them); bit 7 clock starts at 2^40
     [1] ping_interval_ms and timeout_ms (table indexes)
     [2] handshake_timeout_ms and close_timeout_ms (table indexes); top 2 bits:
         client offers (handshake) or max_fragments
     [3] max_frame_size 16 * low nibble, max_message_size 64 * high nibble (0: default)
   Beyond fuzz.h's checks of callbacks, frames sent and sticky errors: every call succeeds
   exactly when its documented preconditions hold, and otherwise returns one of the errors
   that apply (a failing send callback gives WS_ERR_IO, a failing random callback
   WS_ERR_RANDOM; ws_conn_send_header refuses sizes of 2^63 and more, ws_conn_send_raw
   anything but one whole unmasked frame, ws_conn_set_buffer a message half received, as
   an independent tracker of the frames fed tells; ws_conn_feed inside a callback of its
   own feed is WS_ERR_BUSY and reads nothing; ws_conn_eof fails an unfinished connection
   with 1006, and on_close comes when the outermost call returns, not from inside a
   callback); a successful send puts exactly that frame on the wire; a ping or the peer's
   close that arrives while a streamed frame is unfinished is answered once its last byte
   is out, the pong with the latest ping's payload, then the close, and only then is the
   connection CLOSED; ws_conn_tick times out
   exactly when the documented time has passed (never early, never late), sends keepalive
   pings only when nothing was received for ping_interval_ms, and ws_conn_deadline is
   0 before the clock started, later than now after a tick, and a tick before it does
   nothing. */
#include "fuzz.h"

static const uint32_t ping_ms[8] = { 0, 0, 10, 100, 1000, 30000, 1, 7 };
static const uint32_t timeout_ms[8] = { 0, 0, 5, 50, 500, 60000, 1, 15 };
static const uint32_t hs_ms[8] = { 0, 0, 100, 5000, 1, 20, UINT32_MAX, 300 };
static const uint32_t frag_max[4] = { 0, 1, 3, 200 };
static const uint32_t close_ms[8] = { 0, 0, 10, 1000, 1, 50, 0, 7 };
static const unsigned codes[16] = { 0, 1000, 1001, 1002, 1003, 1005, 1006, 1007,
                                    1011, 1014, 1015, 1016, 2999, 3000, 4999, 5000 };

/* What the harness expects of the connection's timers and sending state. */
typedef struct model {
    uint64_t now;
    int      ticked, activity;
    uint64_t mark;                  /* start of the current idle period, in tick time */
    int      wait_set;
    uint64_t wait;                  /* handshake / close wait start, or last keepalive ping */
    int      frag;                  /* we are inside a fragmented message */
    uint64_t owed;                  /* payload bytes of a streamed frame still owed */
    uint64_t quiet_until;           /* a tick before this does nothing (0: unknown) */
} model;

/* The frames fed to the connection, followed independently of ws.h from the bytes: is a
   data message half received (what ws_conn_set_buffer refuses), did the peer's close
   arrive (ws.h reads nothing after it), and its body. Only frames ws.h accepted matter:
   once it fails, its errors are sticky. */
typedef struct rx_track {
    uint8_t  hdr[14];
    size_t   hlen;
    int      in_payload, fin, masked, mid, closed;
    unsigned op;
    uint64_t left, pos;
    uint8_t  key[4], body[125];
    size_t   blen;
} rx_track;

static void track(rx_track *t, const uint8_t *p, size_t n) {
    size_t i = 0;
    while (i < n && !t->closed) {
        if (!t->in_payload) {
            size_t need;
            t->hdr[t->hlen++] = p[i++];
            if (t->hlen < 2) continue;
            need = 2 + ((t->hdr[1] & 0x7F) == 126 ? 2 : (t->hdr[1] & 0x7F) == 127 ? 8 : 0) +
                   (t->hdr[1] & 0x80 ? 4 : 0);
            if (t->hlen < need) continue;
            t->op = t->hdr[0] & 0x0F;
            t->fin = (t->hdr[0] & 0x80) != 0;
            t->masked = (t->hdr[1] & 0x80) != 0;
            t->left = t->hdr[1] & 0x7F;
            if (t->left >= 126) {
                size_t k, m = t->left == 126 ? 2 : 8;
                for (t->left = 0, k = 0; k < m; k++) t->left = t->left << 8 | t->hdr[2 + k];
            }
            if (t->masked) memcpy(t->key, t->hdr + need - 4, 4);
            t->hlen = 0;
            t->pos = 0;
            t->blen = 0;
            t->in_payload = 1;
            if (t->op == WS_OP_TEXT || t->op == WS_OP_BINARY) t->mid = 1;
        } else {
            uint8_t b = p[i++];
            if (t->masked) b ^= t->key[t->pos & 3];
            t->pos++;
            t->left--;
            if (t->op == WS_OP_CLOSE && t->blen < sizeof t->body) t->body[t->blen++] = b;
        }
        if (t->in_payload && !t->left) {
            t->in_payload = 0;
            if (t->op == WS_OP_CLOSE) t->closed = 1;
            else if (t->op < 8 && t->fin) t->mid = 0;
        }
    }
}

static struct {
    fz_conn *f;
    fz_in    in;
    model    m;
    int      hs;                    /* handshake in progress through the parser */
    fz_buf   acc;                   /* received handshake bytes */
    ws_http  http;
    char     accept[29];
    int      hook_mode;
    int      depth;
    int      trace;                 /* FZ_TRACE=1 in the environment: print every call */
    rx_track rx;
    fz_buf   wev;                   /* the frames sent (fz_wire events) */
    int      pong_due;              /* a ping arrived while a streamed frame was unfinished */
    uint8_t  pong[125];             /* ... and the latest one's payload */
    size_t   pong_len;
} g;

#define TRACE(...) do { if (g.trace) fprintf(stderr, __VA_ARGS__); } while (0)

#define F (g.f)
#define C (&g.f->c)

enum { E_ARG = 1, E_STATE = 2 };

/* A failure of the callbacks: WS_ERR_IO from the send callback, WS_ERR_RANDOM from a
   client's random callback, each only while it fails. */
static int tx_error(int rc) {
    return (rc == WS_ERR_IO && (F->send_fail || F->send_fail_at)) ||
           (rc == WS_ERR_RANDOM && F->random_fail && F->cfg.role == WS_ROLE_CLIENT);
}

/* rc is OK when no error applies (or a callback's failure), else one that applies. */
static void expect(int rc, unsigned applies, const fz_snap *b) {
    TRACE("  -> rc %d applies %u state %d\n", rc, applies, (int)ws_conn_state(C));
    if (b->state == WS_STATE_FAILED) return;            /* sticky: fz_after checked it */
    if (!applies) {
        CHECK(rc == WS_OK || tx_error(rc));
    } else {
        CHECK(((applies & E_ARG) && rc == WS_ERR_ARG) || ((applies & E_STATE) && rc == WS_ERR_STATE));
        CHECK(F->sends == b->sends);
    }
}

/* The state checks shared by every sending call. */
static unsigned send_state(void) {
    ws_state s = ws_conn_state(C);
    return (s != WS_STATE_OPEN || g.m.owed) ? E_STATE : 0;
}

static void opened(void) {
    F->opened = 1;
    F->wire.http = 0;
    g.m.activity = 1;
    g.m.wait_set = 0;
    g.m.quiet_until = 0;
    g.hs = 0;
}

/* ---- receiving --------------------------------------------------------------- */

static void feed(const uint8_t *p, size_t n) {
    ws_state s = ws_conn_state(C);
    rx_track before = g.rx;
    int owed = g.pong_due, rc;
    size_t used = 0;
    TRACE("feed %zu bytes in state %d\n", n, (int)s);
    if ((s == WS_STATE_OPEN || s == WS_STATE_CLOSING) && n) {
        g.m.activity = 1;
        track(&g.rx, p, n);                             /* what ws.h is about to read */
    }
    g.m.quiet_until = 0;
    rc = fz_feed_part(F, p, n, &used);
    if (rc == WS_ERR_BUSY) {
        /* a pong owed behind the frame we stream: nothing read while it was owed, else
           up to the end of the ping that owes it; the rest is dropped (this peer's bytes
           begin a frame again) */
        CHECK(g.pong_due && (!owed || used == 0) && (used < n || n == 0));
        g.rx = before;
        track(&g.rx, p, used);
        CHECK(!g.rx.in_payload && g.rx.hlen == 0 && (used == 0 || g.rx.op == WS_OP_PING));
    }
    /* the peer's close behind a streamed frame: CLOSING from now on, the close timeout
       counted from the next tick (as after our own close) */
    if (s == WS_STATE_OPEN && ws_conn_state(C) == WS_STATE_CLOSING) g.m.wait_set = 0;
}

static void handshake_server(void) {
    static const char *const supported[] = { "chat", "v2.bin" };
    int r = ws_http_parse_request(&g.http, g.acc.p, g.acc.len), rc;
    fz_snap b = fz_snap_take(F);
    if (r == WS_HS_PARTIAL) return;
    if (r == WS_HS_HTTP) {                              /* not ours: the conn waits on */
        g.hs = 0;
        return;
    }
    if (r == WS_HS_UPGRADE) {
        const char *proto = ws_handshake_select_protocol(&g.http, supported, 2);
        rc = ws_conn_accept(C, &g.http, proto);
        fz_after(F, &b, rc);
        if (rc == WS_OK) {
            CHECK(ws_conn_state(C) == WS_STATE_OPEN && F->wire.http_bytes > 0);
            opened();
            if (g.acc.len > g.http.size) feed(g.acc.p + g.http.size, g.acc.len - g.http.size);
        } else {
            CHECK(rc == WS_ERR_IO && F->send_fail && ws_conn_state(C) == WS_STATE_FAILED);
            CHECK(!F->opened && !F->close_calls);       /* a failed handshake: no on_close */
        }
    } else {
        rc = ws_conn_reject(C, r);
        fz_after(F, &b, rc);                            /* "returns err, or WS_ERR_IO" */
        CHECK(rc == r || (rc == WS_ERR_IO && F->send_fail));
        /* and the sticky error is what it returned */
        CHECK(ws_conn_state(C) == WS_STATE_FAILED && ws_conn_error(C) == rc && !F->close_calls);
    }
    g.hs = 0;
}

static void handshake_client(void) {
    ws_http *h = &g.http;
    fz_snap b = fz_snap_take(F);
    int r = ws_http_parse_response(h, g.acc.p, g.acc.len), rc;
    if (r == WS_HS_PARTIAL) return;
    g.hs = 0;
    if (r < 0) return;                                  /* a client gives up */
    rc = ws_conn_connected(C, h);
    fz_after(F, &b, rc);
    CHECK(F->sends == b.sends);
    if (rc == WS_OK) {
        CHECK(ws_conn_state(C) == WS_STATE_OPEN);
        opened();
        if (g.acc.len > h->size) feed(g.acc.p + h->size, g.acc.len - h->size);
    } else {
        CHECK(rc <= WS_ERR_HS_STATUS && rc >= WS_ERR_HS_EXTENSION);
        CHECK(ws_conn_state(C) == WS_STATE_FAILED && ws_conn_error(C) == rc);
    }
}

static void receive(const uint8_t *p, size_t n) {
    if (g.hs && ws_conn_state(C) == WS_STATE_CONNECTING) {
        fz_put(&g.acc, p, n);
        if (F->cfg.role == WS_ROLE_CLIENT) handshake_client();
        else handshake_server();
        return;
    }
    feed(p, n);
}

/* A well-formed frame from the peer, masked as the role expects. */
static void receive_frame(void) {
    unsigned b0 = fz_u8(&g.in), len = fz_u8(&g.in);
    uint8_t frame[14 + 255], key[4] = { 0, 0, 0, 0 };
    size_t n, hl;
    const uint8_t *pay;
    if (b0 & 0x08) len %= 126;                          /* mostly control-sized */
    pay = fz_take(&g.in, len, &n);
    if (F->cfg.role == WS_ROLE_SERVER) {
        const uint8_t *k = fz_take(&g.in, 4, &hl);     /* sets hl: call it first */
        if (hl) memcpy(key, k, hl);
    }
    hl = ws_frame_header(frame, (b0 & 0x80) != 0, (ws_opcode)(b0 & 0x0F), n,
                         F->cfg.role == WS_ROLE_SERVER ? key : NULL);
    frame[0] |= (uint8_t)(b0 & 0x70);                   /* RSV bits as the fuzzer says */
    if (n) memcpy(frame + hl, pay, n);
    if (F->cfg.role == WS_ROLE_SERVER) ws_mask(frame + hl, n, key, 0);
    receive(frame, hl + n);
}

/* ---- sending ----------------------------------------------------------------- */

/* The frame just sent is exactly op/fin/payload. */
static void check_sent(const fz_snap *b, uint64_t hdrs0, size_t wlen0, unsigned op, int fin,
                       const void *data, size_t len) {
    (void)b;
    CHECK(F->wire.hdrs == hdrs0 + 1 && F->wire.h_op == op && F->wire.h_fin == fin &&
          F->wire.h_len == len);
    if (op >= 8) {
        CHECK(F->wire.d.clen == len && (len == 0 || memcmp(F->wire.d.ctrl, data, len) == 0));
    } else {
        CHECK(F->wdata.len == wlen0 + len && (len == 0 || memcmp(F->wdata.p + wlen0, data, len) == 0));
    }
}

/* ws_conn_send / _begin / _continue / _end: kind 0..3 */
static void do_send(int kind, unsigned op, const void *data, size_t len) {
    fz_snap b = fz_snap_take(F);
    uint64_t hdrs0 = F->wire.hdrs;
    size_t wlen0 = F->wdata.len;
    unsigned applies = send_state(), wop = kind == 0 || kind == 1 ? op : WS_OP_CONT;
    int fin = kind == 0 || kind == 3, rc;
    int data_op = wop <= WS_OP_BINARY;
    TRACE("send kind %d op %u len %zu (frag %d owed %llu)\n", kind, op, len, g.m.frag,
          (unsigned long long)g.m.owed);
    switch (kind) {
    case 0: rc = ws_conn_send(C, (ws_opcode)op, data, len); break;
    case 1: rc = ws_conn_send_begin(C, (ws_opcode)op, data, len); break;
    case 2: rc = ws_conn_send_continue(C, data, len); break;
    default: rc = ws_conn_send_end(C, data, len); break;
    }
    fz_after(F, &b, rc);
    if (kind == 0 && op == WS_OP_CONT) applies |= E_ARG;
    if (kind == 1 && op != WS_OP_TEXT && op != WS_OP_BINARY) applies |= E_ARG;
    if (len && !data) applies |= E_ARG;
    if (!data_op && !(wop == WS_OP_PING || wop == WS_OP_PONG)) applies |= E_ARG;
    if (!data_op && len > 125) applies |= E_ARG;
    if (data_op && (wop == WS_OP_CONT) != (g.m.frag != 0)) applies |= E_STATE;
    expect(rc, applies, &b);
    if (rc == WS_OK) {
        check_sent(&b, hdrs0, wlen0, wop, fin, data, len);
        if (data_op) g.m.frag = !fin;
    }
}

static void do_send_header(int fin, unsigned op, uint64_t size) {
    fz_snap b = fz_snap_take(F);
    uint64_t hdrs0 = F->wire.hdrs;
    unsigned applies = send_state();
    int rc = ws_conn_send_header(C, fin, (ws_opcode)op, size);
    TRACE("send_header fin %d op %u size %llu -> %d\n", fin, op, (unsigned long long)size, rc);
    fz_after(F, &b, rc);
    if (op > WS_OP_BINARY) applies |= E_ARG;
    if (size >> 63) applies |= E_ARG;                   /* no peer may take 2^63 bytes */
    if (op <= WS_OP_BINARY && (op == WS_OP_CONT) != (g.m.frag != 0)) applies |= E_STATE;
    expect(rc, applies, &b);
    if (rc == WS_OK) {
        CHECK(F->wire.hdrs == hdrs0 + 1 && F->wire.h_op == op && F->wire.h_fin == fin &&
              F->wire.h_len == size);
        g.m.frag = !fin;
        g.m.owed = size;
        g.m.quiet_until = 0;
        CHECK(fz_wire_owed(&F->wire) == g.m.owed);
    }
}

/* The frames that went out since the events log was ev0 long, after the streamed frame
   ended: the pong owed (with the latest ping's payload), then the close echo owed (with
   the peer's code), and nothing else. */
static void check_released(size_t ev0, int pong, int echo) {
    size_t at = ev0;
    const uint8_t *e = g.wev.p;
    int pongs = 0, closes = 0;
    while (at < g.wev.len) {
        if (e[at] == 'F') {
            unsigned op = e[at + 1] & 0x0F;
            CHECK(op == WS_OP_PONG || op == WS_OP_CLOSE);
            at += 10;
        } else {
            unsigned op = e[at + 1];
            size_t n = e[at + 2];
            CHECK(e[at] == 'C');
            if (op == WS_OP_PONG) {
                CHECK(pong && !pongs && !closes && n == g.pong_len &&
                      (n == 0 || memcmp(e + at + 3, g.pong, n) == 0));
                pongs++;
            } else {
                CHECK(op == WS_OP_CLOSE && echo && !closes);
                /* the echo carries the peer's code (none when its close had none) */
                CHECK(n == (g.rx.blen >= 2 ? 2u : 0u) && (n == 0 || memcmp(e + at + 3, g.rx.body, 2) == 0));
                closes++;
            }
            at += 3 + n;
        }
    }
    CHECK(pongs == pong && closes == echo);
}

static void do_send_payload(const void *data, size_t len) {
    fz_snap b = fz_snap_take(F);
    size_t wlen0 = F->wdata.len, ev0 = g.wev.len;
    /* what the end of the frame releases: a pong, and the answer to the peer's close */
    int pong = g.pong_due, echo = g.rx.closed && b.state == WS_STATE_CLOSING && !F->wire.d.closed;
    int rc = ws_conn_send_payload(C, data, len);
    TRACE("send_payload %zu -> %d\n", len, rc);
    fz_after(F, &b, rc);
    if (b.state == WS_STATE_FAILED) return;
    if (len > g.m.owed || (len && !data)) {
        CHECK(rc == WS_ERR_ARG && F->sends == b.sends);
        return;
    }
    /* the last bytes may also release a held-back pong or close, which needs random */
    CHECK(rc == WS_OK || tx_error(rc));
    if (rc == WS_OK) {
        CHECK(F->wdata.len == wlen0 + len && (len == 0 || memcmp(F->wdata.p + wlen0, data, len) == 0));
        g.m.owed -= len;
        CHECK(fz_wire_owed(&F->wire) == g.m.owed);
        if (g.m.owed == 0) g.m.quiet_until = 0;         /* a held-back ping may go now */
        if (g.m.owed == 0 && len) {
            check_released(ev0, pong, echo);
            g.pong_due = 0;
            if (echo) {
                /* the close handshake is complete only now */
                CHECK(ws_conn_state(C) == WS_STATE_CLOSED && F->close_calls == 1);
                CHECK(F->close_code == (g.rx.blen >= 2 ? (unsigned)g.rx.body[0] << 8 | g.rx.body[1]
                                                       : (unsigned)WS_CLOSE_NO_STATUS));
            }
        } else {
            CHECK(g.wev.len == ev0);                    /* nothing may cut into the frame */
            if (echo) CHECK(ws_conn_state(C) == WS_STATE_CLOSING && !F->close_calls);
        }
    } else if (b.state != WS_STATE_FAILED) {
        g.pong_due = 0;                                 /* failed: nothing more is owed */
    }
}

static void do_close(unsigned code, const char *reason, size_t len) {
    fz_snap b = fz_snap_take(F);
    unsigned applies = send_state();
    int rc = ws_conn_close(C, code, reason, len);
    TRACE("close %u len %zu -> %d\n", code, len, rc);
    fz_after(F, &b, rc);
    if ((code == 0 && len) || (code && !ws_close_code_valid(code)) || len > 123 ||
        (len && !reason) || !fz_utf8_valid(reason, len))
        applies |= E_ARG;
    expect(rc, applies, &b);
    if (rc == WS_OK) {
        F->api_closes++;
        CHECK(ws_conn_state(C) == WS_STATE_CLOSING);
        CHECK(F->wire.d.closed && F->wire.d.close_code == (code ? code : WS_CLOSE_NO_STATUS));
        CHECK(F->wire.d.clen == (code ? 2 + len : 0) &&
              (len == 0 || memcmp(F->wire.d.ctrl + 2, reason, len) == 0));
        g.m.wait_set = 0;
        g.m.quiet_until = 0;
    }
}

#ifndef WS_NO_SERVER
/* variant: 1 the frame's last byte cut off, 2 a byte too many, 3 masked (a client's frame):
   not one whole unmasked frame, which ws_conn_send_raw refuses; else the frame as encoded */
static void do_send_raw(int fin, unsigned op, const void *data, size_t len, unsigned variant) {
    static const uint8_t key[4] = { 1, 2, 3, 4 };
    uint8_t frame[14 + 256];
    size_t flen = 0;
    fz_snap b;
    uint64_t hdrs0 = F->wire.hdrs;
    size_t wlen0 = F->wdata.len;
    unsigned applies = send_state();
    int rc = ws_frame_encode(frame, sizeof frame - 1, &flen, fin, (ws_opcode)op, data, len,
                             variant == 3 ? key : NULL);
    if (rc != WS_OK) {
        CHECK(rc == WS_ERR_ARG && (op > WS_OP_PONG || (op > WS_OP_BINARY && op < WS_OP_CLOSE) ||
                                   (op >= WS_OP_CLOSE && (!fin || len > 125))));
        return;
    }
    if (op == WS_OP_CLOSE) return;                      /* only ws_conn_close sends one */
    if (variant == 1) flen--;
    if (variant == 2) frame[flen++] = 0;
    b = fz_snap_take(F);
    rc = ws_conn_send_raw(C, frame, flen);
    TRACE("send_raw fin %d op %u len %zu variant %u -> %d\n", fin, op, len, variant, rc);
    fz_after(F, &b, rc);
    if (F->cfg.role == WS_ROLE_CLIENT || (variant >= 1 && variant <= 3)) applies |= E_ARG;
    if (op <= WS_OP_BINARY && (op == WS_OP_CONT) != (g.m.frag != 0)) applies |= E_STATE;
    expect(rc, applies, &b);
    if (rc == WS_OK) {
        check_sent(&b, hdrs0, wlen0, op, fin, data, len);
        if (op <= WS_OP_BINARY) g.m.frag = !fin;
    }
}
#endif

/* ---- the clock ----------------------------------------------------------------- */

static uint64_t since(uint64_t now, uint64_t t) { return now > t ? now - t : 0; }

static void do_tick(uint64_t delta) {
    const ws_config *cfg = &F->cfg;
    fz_snap b = fz_snap_take(F);
    ws_state s = b.state;
    uint64_t hdrs0 = F->wire.hdrs, quiet = g.m.quiet_until, d;
    int rc, want_timeout = 0, may_ping = 0;
    g.m.now += delta;
    if (s != WS_STATE_FAILED && s != WS_STATE_CLOSED) {
        uint64_t to = cfg->timeout_ms ? cfg->timeout_ms : 2 * (uint64_t)cfg->ping_interval_ms;
        if (!g.m.ticked || g.m.activity) {
            g.m.mark = g.m.now;
            g.m.ticked = 1;
            g.m.activity = 0;
        }
        if (!g.m.wait_set) {
            g.m.wait = g.m.now;
            g.m.wait_set = 1;
        }
        if (s == WS_STATE_CONNECTING) {
            want_timeout = since(g.m.now, g.m.wait) >=
                           (cfg->handshake_timeout_ms ? cfg->handshake_timeout_ms : 10000u);
        } else if (s == WS_STATE_CLOSING) {
            want_timeout = since(g.m.now, g.m.wait) >=
                           (cfg->close_timeout_ms ? cfg->close_timeout_ms : 5000u);
        } else {
            uint64_t idle = since(g.m.now, g.m.mark);
            want_timeout = to && idle >= to;
            may_ping = !want_timeout && cfg->ping_interval_ms && idle >= cfg->ping_interval_ms &&
                       since(g.m.now, g.m.wait) >= cfg->ping_interval_ms && !g.m.owed;
        }
    }
    rc = ws_conn_tick(C, g.m.now);
    TRACE("tick +%llu = %llu -> %d (state %d, timeout %d, ping %d)\n", (unsigned long long)delta,
          (unsigned long long)g.m.now, rc, (int)s, want_timeout, may_ping);
    fz_after(F, &b, rc);
    if (s == WS_STATE_FAILED) return;
    if (s == WS_STATE_CLOSED) {
        CHECK(rc == WS_OK && F->sends == b.sends);
        return;
    }
    if (quiet && g.m.now < quiet) CHECK(rc == WS_OK && F->sends == b.sends);
    if (want_timeout) {
        /* exactly on time, and nothing goes out: the peer is gone */
        CHECK(rc == WS_ERR_TIMEOUT && ws_conn_state(C) == WS_STATE_FAILED && F->sends == b.sends);
        return;
    }
    if (may_ping) {
        /* a keepalive ping is due: it goes out, or the send fails */
        if (rc == WS_OK) {
            CHECK(F->wire.hdrs == hdrs0 + 1 && F->wire.h_op == WS_OP_PING);
            g.m.wait = g.m.now;
        } else {
            CHECK(tx_error(rc));
            return;
        }
    } else {
        CHECK(rc == WS_OK && F->sends == b.sends);
    }
    /* the next deadline: later than now (a poll loop must not spin), except while a
       streamed frame holds a due ping back */
    d = ws_conn_deadline(C);
    CHECK(d > g.m.now || (g.m.owed && cfg->ping_interval_ms));
    g.m.quiet_until = d;
}

/* ws_conn_set_buffer, refused (WS_ERR_STATE, nothing changed) exactly while a data message
   is half received. mid: what the tracker or the callback under way says of that. */
static void do_set_buffer(size_t cap, int mid) {
    fz_snap b = fz_snap_take(F);
    int buffered = F->buffered, rc = fz_conn_buffer(F, cap);
    TRACE("set_buffer %zu (mid %d) -> %d\n", cap, mid, rc);
    if (b.state == WS_STATE_FAILED) {
        CHECK(rc == b.err);
    } else {
        CHECK(rc == (mid ? WS_ERR_STATE : WS_OK));
        if (rc != WS_OK) CHECK(F->buffered == buffered);
    }
    CHECK(ws_conn_state(C) == b.state && ws_conn_error(C) == b.err && F->sends == b.sends &&
          F->callbacks == b.callbacks);
}

/* ws_conn_eof: an unfinished connection fails with WS_ERR_EOF (nothing sent, on_close 1006
   when it had opened, once the outermost call returns); a finished one is left as it is. */
static void do_eof(void) {
    fz_snap b = fz_snap_take(F);
    int closes = F->close_calls, rc;
    F->eofs++;
    rc = ws_conn_eof(C);
    TRACE("eof in state %d -> %d\n", (int)b.state, rc);
    fz_after(F, &b, rc);
    CHECK(F->sends == b.sends);
    if (b.state == WS_STATE_FAILED) return;
    if (b.state == WS_STATE_CLOSED) {
        CHECK(rc == WS_OK && ws_conn_state(C) == WS_STATE_CLOSED && F->close_calls == closes);
        return;
    }
    CHECK(rc == WS_ERR_EOF && ws_conn_state(C) == WS_STATE_FAILED && ws_conn_error(C) == WS_ERR_EOF);
    if (b.state != WS_STATE_CONNECTING) CHECK(ws_conn_close_code(C) == WS_CLOSE_ABNORMAL);
    g.pong_due = 0;
    if (F->in_callback || g.depth) {
        CHECK(F->close_calls == closes);                /* not from the middle of a call */
    } else {
        CHECK(F->close_calls == (F->opened ? 1 : 0));
        if (F->opened) CHECK(F->close_code == WS_CLOSE_ABNORMAL);
    }
}

/* ---- calls from inside the callbacks ------------------------------------------------ */

static void hook(fz_conn *f, int event) {
    (void)f;
    /* a ping that must wait for a streamed frame: its pong goes out when the frame ends */
    if (event == 'P' && g.f->ev_op == WS_OP_PING && !g.f->cfg.no_auto_pong &&
        ws_conn_state(C) == WS_STATE_OPEN && g.m.owed) {
        g.pong_due = 1;
        g.pong_len = g.f->ev_len;
        if (g.pong_len) memcpy(g.pong, g.f->ev_data, g.pong_len);
    }
    if (g.depth) return;
    g.depth++;
    F->nested++;
    switch (g.hook_mode) {
    case 1:     /* echo whole messages */
        if (event == 'M') do_send(0, g.f->ev_op, g.f->ev_data, g.f->ev_len);
        break;
    case 2:     /* echo each chunk as it arrives */
        if (event == 'D') do_send(0, WS_OP_BINARY, g.f->ev_data, g.f->ev_len);
        if (event == 'B') do_send_header(1, WS_OP_BINARY, 0);
        break;
    case 3:     /* close when anything arrives */
        if (event != 'P' || g.f->ev_op == WS_OP_PING) do_close(WS_CLOSE_NORMAL, "cb", 2);
        break;
    case 4:     /* answer controls with controls */
        if (event == 'P') do_send(0, WS_OP_PING, g.f->ev_data, g.f->ev_len);
        break;
    case 5:     /* switch delivery between messages (and try inside one) */
        if (event == 'E' || event == 'M') do_set_buffer(g.f->buffered ? 0 : 200, 0);
        else if (event == 'B' || event == 'D') do_set_buffer(g.f->buffered ? 0 : 200, 1);
        break;
    case 6: {   /* feed inside a callback of the same feed: refused, nothing read */
        static const uint8_t ping[] = { 0x89, 0x80, 0, 0, 0, 0 };
        uint8_t copy[sizeof ping];
        fz_snap b = fz_snap_take(F);
        int rc;
        memcpy(copy, ping, sizeof ping);
        if (F->cfg.role == WS_ROLE_CLIENT) copy[1] = 0;
        rc = ws_conn_feed(C, copy, F->cfg.role == WS_ROLE_CLIENT ? 2 : sizeof copy);
        TRACE("feed inside callback %c -> %d\n", event, rc);
        CHECK(rc == (b.state == WS_STATE_FAILED ? b.err : WS_ERR_BUSY));
        CHECK(ws_conn_state(C) == b.state && F->sends == b.sends && F->callbacks == b.callbacks);
        break;
    }
    case 7:     /* the TCP connection ends under a callback */
        if (event != 'P') do_eof();
        break;
    default:
        break;
    }
    F->nested--;
    g.depth--;
}

/* ---- the program the fuzzer writes ----------------------------------------------------- */

static void setup(void) {
    unsigned flags = fz_u8(&g.in), t1 = fz_u8(&g.in), t2 = fz_u8(&g.in), lim = fz_u8(&g.in);
    ws_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.role = flags & 1 ? WS_ROLE_CLIENT : WS_ROLE_SERVER;
    cfg.no_auto_pong = (flags & 2) != 0;
    cfg.rsv_allowed = (uint8_t)((flags << 2) & 0x70);
    cfg.ping_interval_ms = ping_ms[t1 & 7];
    cfg.timeout_ms = timeout_ms[(t1 >> 3) & 7];
    cfg.handshake_timeout_ms = hs_ms[t2 & 7];
    cfg.close_timeout_ms = close_ms[(t2 >> 3) & 7];
    cfg.max_frame_size = (lim & 15) * (uint64_t)16;
    cfg.max_message_size = (lim >> 4) * (uint64_t)64;
    cfg.max_fragments = frag_max[t2 >> 6];
    g.m.now = flags & 0x80 ? (uint64_t)1 << 40 : 0;
    fz_conn_init(F, &cfg);
    F->wire.data = &F->wdata;
    F->wire.events = &g.wev;
    F->hook = hook;
    if (flags & 0x20) CHECK(fz_conn_buffer(F, 256) == WS_OK);
    if (!(flags & 0x40)) {
        fz_conn_open(F);
        opened();
        return;
    }
    g.hs = 1;
    ws_http_init(&g.http, 0);
    if (cfg.role == WS_ROLE_CLIENT) {
        ws_client_opts o;
        ws_http req;
        static const char *const offers[4] = { NULL, "chat", "chat, v2.bin", "x" };
        int rc;
        memset(&o, 0, sizeof o);
        o.host = "h";
        o.protocols = offers[t2 >> 6];
        o.extensions = (t2 & 0x40) ? "permessage-deflate" : NULL;
        F->keep_sent = 1;
        rc = ws_conn_connect(C, &o);
        CHECK(rc == WS_OK);
        ws_http_init(&req, 0);
        CHECK(ws_http_parse_request(&req, F->sent.p, F->sent.len) == WS_HS_UPGRADE);
        ws_accept_key(req.key.ptr, req.key.len, g.accept);
        F->keep_sent = 0;
        {
            static const char head[] = "HTTP/1.1 101 Switching Protocols\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ";
            fz_put(&g.acc, head, sizeof head - 1);
        }
        fz_put(&g.acc, g.accept, 28);
        fz_put(&g.acc, "\r\n", 2);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int steps = 0;
    memset(&g, 0, sizeof g);
    g.f = (fz_conn *)calloc(1, sizeof *g.f);
    CHECK(g.f != NULL);
    g.in.p = data;
    g.in.n = size;
    g.trace = getenv("FZ_TRACE") != NULL;
    setup();
    TRACE("role %d\n", (int)F->cfg.role);
    while (g.in.n && ++steps <= 2000) {
        unsigned op = fz_u8(&g.in), a = op % 16 == 2 ? 0 : fz_u8(&g.in);
        size_t n;
        const uint8_t *p;
        ws_state s = ws_conn_state(C);
        /* the deadline is 0 until the clock started, never a time once it ended */
        if (s >= WS_STATE_CLOSED) CHECK(ws_conn_deadline(C) == UINT64_MAX);
        else if (!g.m.ticked || !g.m.wait_set) CHECK(ws_conn_deadline(C) == 0);
        switch (op % 16) {
        case 0: case 1:
            p = fz_take(&g.in, a, &n);
            receive(p, n);
            break;
        case 2:
            receive_frame();
            break;
        case 3: {
            static const unsigned ops[6] = { WS_OP_TEXT, WS_OP_BINARY, WS_OP_PING,
                                             WS_OP_PONG, WS_OP_CONT, WS_OP_CLOSE };
            p = fz_take(&g.in, fz_u8(&g.in), &n);
            do_send(0, ops[a % 6], n ? p : NULL, n);
            break;
        }
        case 4:
            p = fz_take(&g.in, fz_u8(&g.in), &n);
            do_send(1, a % 4, n ? p : NULL, n);
            break;
        case 5: case 6:
            p = fz_take(&g.in, a, &n);
            do_send(op % 16 == 5 ? 2 : 3, 0, n ? p : NULL, n);
            break;
        case 7:     /* bits 4-6 all set: a size of 2^63 or more */
            do_send_header((a & 0x80) != 0, a & 0x0F, (a & 0x70) == 0x70
                           ? (uint64_t)1 << 63 | fz_u16(&g.in) << 20 : fz_u16(&g.in) % 600);
            break;
        case 8:
            p = fz_take(&g.in, a, &n);
            do_send_payload(n ? p : NULL, n);
            break;
        case 9: {
            unsigned code = a & 0x10 ? fz_u16(&g.in) : codes[a & 15];
            p = fz_take(&g.in, fz_u8(&g.in) % 130, &n);
            do_close(code, n ? (const char *)p : NULL, n);
            break;
        }
        case 10:
            do_tick(a < 128 ? a : (uint64_t)(a - 127) * fz_u8(&g.in) * 97);
            break;
        case 11:    /* refused half a message in: the tracker of the frames fed knows when */
            do_set_buffer(F->buffered ? 0 : (size_t)a * 4 + 1, g.rx.mid);
            break;
        case 12:
            TRACE("send_fail %u\n", a & 1);
            F->send_fail = a & 1;
            break;
        case 13:
            if (a & 0x80) {
                do_eof();
                break;
            }
            TRACE("random_fail %u\n", a & 1);
            F->random_fail = F->cfg.role == WS_ROLE_CLIENT && (a & 1);
            break;
        case 14:
#ifndef WS_NO_SERVER
            p = fz_take(&g.in, fz_u8(&g.in), &n);
            do_send_raw((a & 0x80) != 0, a & 0x0F, n ? p : NULL, n, (a >> 4) & 7);
#endif
            break;
        default:
            TRACE("hook %u\n", a % 8);
            g.hook_mode = a % 8;
            break;
        }
    }
    if (ws_conn_state(C) == WS_STATE_FAILED) fz_check_sticky(F);
    fz_conn_free(F);
    free(F);
    fz_free(&g.acc);
    fz_free(&g.wev);
    return 0;
}
