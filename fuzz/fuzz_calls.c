/* fuzz_calls.c - the callback contract (ws.h's CALLBACKS section, issue 11): fuzzer-chosen
   API calls made from inside every callback, on the connection whose callback runs and on
   another one, checked against a model of what each call may do there.

   Two set-ups: (a) one connection, fed the fuzzer's bytes and frames; (b) a server and a
   client wired back to back: each one's send callback feeds the other at once (or queues
   the bytes, when the fuzzer says so or when the other answers WS_ERR_BUSY), and a pump
   feeds what waits. Each connection lives on the heap alone, so that AddressSanitizer sees
   the library touch one that on_close freed.

   Input: 3 bytes of settings, then a program of actions.
     [0] bit 0: the pair (else one connection); bit 1: the lone connection is a client, or
         in the pair peer A is the client; bit 2: no_auto_pong; bit 3: start CONNECTING
         (the program opens them); bit 4: bytes go to the other side only when pumped;
         bits 5-7: limits (max_frame_size, max_message_size, max_fragments)
     [1] ping_interval_ms and timeout_ms (table indexes)
     [2] close_timeout_ms and handshake_timeout_ms (table indexes)
   Then actions until the input ends (at most MAX_ACTIONS in all). An action's first byte:
   bit 7 picks the connection: 0 this one (A at the top, the one whose callback runs in a
   hook), 1 the other one (B, the same one when there is no pair); the rest, modulo
   A_COUNT, the action (see run()). A_HOOK arms a script for a connection's next callbacks
   of one kind (send, random, on_begin, on_data, on_end, on_message, on_control, on_close):
   the script is a program of its own, run inside the callback, where it may arm further
   hooks (at most MAX_DEPTH deep). A_FREE and A_INIT act only inside the on_close of the
   connection they name: everywhere else the contract forbids them.

   The model, for each call: a connection that failed answers its sticky error and changes
   nothing; inside its own send callback (and the random callback that draws a frame's
   mask key) every call that would send (the senders, close, tick, accept, connect,
   connected, reject) is WS_ERR_BUSY, and
   ws_conn_feed inside any callback of its own feed is WS_ERR_BUSY and reads nothing;
   a call made where it does not apply (not OPEN, a streamed frame unfinished, a
   fragmented message open or not, a message half received for ws_conn_set_buffer, bad
   arguments) is WS_ERR_STATE or WS_ERR_ARG. Every refused call leaves the public state
   (state, error, close code, deadline, RSV bits), the bytes sent and the callbacks as they
   were. Calls that are taken do what they say: the first frame each one puts on the wire
   is exactly its frame, and the library adds nothing but pongs, its close echo, the close
   of a failure and keepalive pings from ws_conn_tick. ws_conn_eof is taken anywhere (it
   sends nothing); a frame whose mask key was being drawn when the connection failed
   still goes out whole, like the rest of a frame being written.

   Checked of every connection all along:
   - what it sends parses as whole frames (fuzz.h's checker: masked iff client with a
     fresh key, RSV clear, shortest lengths, controls whole), no frame inside another (the
     payload of every frame is what was asked for), at most one close and nothing after it;
     one HTTP head at most, before the frames; nothing after on_close;
   - the states move forward only, CLOSED and FAILED are never left until ws_conn_init
     (a close echo whose own send fails is the one way from CLOSED to FAILED), the error is
     set exactly when FAILED;
   - on_close comes at most once per ws_conn_init, only after OPEN, never inside another
     callback, from the outermost call on the connection, as the last thing that call
     does: afterwards the library touches nothing (the connection's bytes are compared
     with what on_close left, or it was freed there);
   - every ping read while OPEN with automatic pongs is answered by one pong with the
     payload of the latest ping owed, before our close, as soon as no frame is going out
     (at once, or when the send callback's frame or a streamed frame ends); so is the
     peer's close (state CLOSED only then, with the peer's code echoed) - unless the
     connection failed;
   - what the library sends of its own stays within the manual's bound: a server at most
     the bytes fed plus one close of 127 bytes, a client three times as many plus 131;
   - on_control reports exactly the control frames read, in order (an independent reader
     of the bytes fed follows the frames: rx_shadow). */
#include "fuzz.h"

#define MAX_DEPTH   5               /* hook scripts inside hook scripts */

/* Two known faults of ws_conn_connect (ws.h 0.2.0, reported), tolerated here until ws.h
   is fixed so that the fuzzer can look for others; -DFZ_CONNECT_FIXED=1 checks them too.
   - Calls made inside the random callback that draws its nonce are taken (the nonce is
     drawn outside the frame writer), and connect then writes its request anyway and
     returns WS_OK: after a nested ws_conn_connected the request goes out on an OPEN
     connection, after a nested ws_conn_eof on a FAILED one, after a nested
     ws_conn_connect there are two requests. Until fixed, that callback runs no hook.
   - A connection that fails inside the send callback of its request (ws_conn_eof there)
     gets WS_OK from ws_conn_connect, not its sticky error. */
#ifndef FZ_CONNECT_FIXED
#  define FZ_CONNECT_FIXED 1        /* fixed in ws.h (the nonce is drawn inside the writer) */
#endif

/* A third (reported): a client's pong is masked after the random callback that draws its
   key, from the owed pong's payload with the length taken before it; a ping fed inside that callback
   (or inside the send callback of a pong's first 64-byte chunk) replaces the owed pong
   meanwhile, so the pong on the wire carries neither ping's payload ("BBAA" for pings
   "AAAA" then "BB"). Until fixed (-DFZ_PONG_FIXED=1), no hook runs inside the random
   callback of a frame the library sends of its own, nor inside its send callbacks
   before its last byte. */
#ifndef FZ_PONG_FIXED
#  define FZ_PONG_FIXED 1           /* fixed in ws.h (a feed is refused while a pong goes out) */
#endif
#define MAX_ACTIONS 2000            /* actions per input, hooks included */

static const uint32_t ping_ms[8] = { 0, 0, 10, 100, 1000, 5, 1, 0 };
static const uint32_t timeout_ms[8] = { 0, 0, 5, 50, 500, 60000, 1, 0 };
static const uint32_t close_ms[8] = { 0, 0, 10, 1000, 1, 50, 0, 7 };
static const uint32_t hs_ms[8] = { 0, 0, 100, 5000, 1, 20, UINT32_MAX, 300 };
static const uint64_t max_frame[8] = { 0, 0, 0, 64, 200, 0, 16, 1000 };
static const uint64_t max_msg[8] = { 0, 0, 0, 0, 300, 100, 40, 1000 };
static const uint32_t max_frags[8] = { 0, 0, 0, 3, 0, 1, 2, 0 };
static const unsigned codes[16] = { 0, 1000, 1001, 1002, 1003, 1005, 1006, 1007,
                                    1011, 1014, 1015, 1016, 2999, 3000, 4999, 5000 };

enum { EV_SEND, EV_RANDOM, EV_BEGIN, EV_DATA, EV_END, EV_MESSAGE, EV_CONTROL, EV_CLOSE, EV_COUNT };

enum {
    A_FEED, A_FRAME, A_SEND, A_BEGIN, A_CONTINUE, A_END, A_HEADER, A_PAYLOAD, A_RAW, A_CLOSE,
    A_TICK, A_EOF, A_BUFFER, A_FAIL, A_OPEN, A_PUMP, A_DELIVERY, A_HOOK, A_FREE, A_INIT,
    A_COUNT
};

/* refusals that apply to a call */
enum { R_BUSY = 1, R_STATE = 2, R_ARG = 4 };

typedef struct hook {
    const uint8_t *script;
    size_t len;
    int count;                      /* runs left */
} hook;

/* A control frame read by the shadow reader: what on_control must report, in order. */
typedef struct ctrl_ev {
    unsigned op;
    int mid;                        /* a data message was half received around it */
    int answered;                   /* its pong went out before on_control (immediate) */
    size_t len;
    uint8_t data[125];
} ctrl_ev;

/* The frames fed to a connection, followed independently of ws.h from the bytes of each
   feed that reads (ws.h reads all of them unless it fails, and nothing after the peer's
   close). Only frames ws.h takes matter: once it fails its errors are sticky. */
typedef struct rx_shadow {
    uint8_t  hdr[14];
    size_t   hlen;
    int      in_payload, fin, masked;
    unsigned op;
    uint64_t left, pos;
    uint8_t  key[4], ctrl[125];
    size_t   clen;
    int      mid;                   /* a data message is half received */
    int      closed;                /* the peer's close was read */
    unsigned close_code;            /* its code (1005 when it had none) */
    uint8_t  close_body[125];
    size_t   close_len;
    ctrl_ev *q;                     /* control frames of the feed under way ... */
    size_t   qn, qcap, qi;          /* ... and the next on_control reports */
} rx_shadow;

/* The frame the call under way must put on the wire first. */
typedef struct expect {
    int on;
    unsigned op;
    int fin;
    uint64_t len;
    const uint8_t *ctrl;            /* a control frame's payload */
} expect;

typedef struct peer peer;
struct peer {
    int        id;
    ws_config  cfg;
    ws_conn   *c;                   /* NULL once on_close freed it */
    peer      *other;               /* the pair's other side, or NULL */
    int        epoch;               /* ws_conn_init calls */
    /* where the harness is with this connection (this epoch) */
    int        active;              /* wrapped calls on c under way */
    int        in_feed;             /* a ws_conn_feed that reads is under way */
    int        in_send, in_random, in_cb, in_close, in_tick;
    int        in_connect, in_nonce;    /* ws_conn_connect, and its random callback */
    long       nonce_calls;             /* calls made on c inside that callback */
    int        key_failed;              /* it failed inside the random callback that drew
                                           the key of the frame about to go out */
    int        cb_kind, cb_mid;     /* the innermost receive callback, and its message state */
    uint8_t   *feed_p;              /* the buffer of the feed under way */
    size_t     feed_n;
    /* what it sent */
    fz_wire    wire;
    fz_buf     wev, wdata;          /* frame events and data payloads (fz_wire) */
    size_t     wev_at;              /* events looked at */
    int        http_next, http_writes;
    uint64_t   sent_total;          /* every byte, HTTP included */
    long       sends, randoms, cbs;
    expect     ex;
    int        cur_user;            /* the frame being sent is one the user asked for */
    int        cur_pong;            /* ... or the library's pong */
    int        in_pong_key;         /* inside the random callback of that pong's key */
    int        in_pong_send;        /* inside a send callback with that pong's bytes */
    int        cur_keyed;           /* ... it started after the connection failed inside
                                       the random callback that drew its key */
    const uint8_t *cur_ctrl;        /* ... and its control payload */
    size_t     cur_clen;
    int        tick_pinged;
    uint64_t   data_allow;          /* data payload bytes the user's sends asked for */
    uint64_t   fed, lib_bytes;      /* bytes fed; bytes of the frames the library chose */
    /* the model */
    int        frag;                /* a fragmented message of ours is open */
    uint64_t   owed;                /* payload bytes of our streamed frame still owed */
    int        buffered;
    uint8_t   *mbuf;
    size_t     mcap;
    int        in_msg;              /* streamed: between on_begin and on_end */
    rx_shadow  rx;
    int        pong_owed;           /* a frame held back the pong of a ping read ... */
    uint8_t    pong[125];           /* ... the latest one's payload */
    size_t     pong_len;
    int        inflight;            /* a client's owed pong being sent (its key drawn) */
    uint8_t    fl[125];
    size_t     fl_len;
    ws_state   last;
    int        closed_final;        /* seen CLOSED outside its own close's send */
    int        opened;              /* seen OPEN or later */
    int        open_ok;             /* opened by a call that returned WS_OK: on_close owed */
    int        hs_sent;             /* ws_conn_connect sent its request */
    int        closes;              /* on_close calls */
    int        send_fail, random_fail, send_failed, random_failed;
    uint64_t   now, rng;
    int        snap_on;             /* the bytes of c when its on_close returned */
    ws_conn    snap;
    hook       hooks[EV_COUNT];
    fz_buf     inbox;               /* bytes from the other side not fed yet */
    int        queued;              /* deliver to this peer only when pumped */
    uint8_t  **bufs;                /* message buffers given, freed at the end */
    size_t     nbufs;
};

static struct {
    peer   p[2];
    int    pair;
    long   actions;
    int    trace;
    ws_http req;                    /* a valid upgrade request, for ws_conn_accept */
    int    req_ok;
} g;

#define TRACE(...) do { if (g.trace) fprintf(stderr, __VA_ARGS__); } while (0)

static int run(fz_in *in, peer *self, int depth);

/* ---- small helpers --------------------------------------------------------------- */

static size_t head_size(uint64_t len, int masked) {
    return 2 + (len < 126 ? 0 : len <= 0xFFFF ? 2 : 8) + (masked ? 4 : 0);
}

static int client(const peer *p) { return p->cfg.role == WS_ROLE_CLIENT; }

/* A frame writer of the connection is running (its send callback, or the random callback
   that draws a frame's mask key). ws_conn_connect draws its nonce before it writes: that
   random callback is not inside a writer, and calls made there are taken as outside. */
/* inside a send callback, or a random callback (a frame's key, or ws_conn_connect's nonce:
   it is drawn inside the writer too) */
static int busy_tx(const peer *p) { return p->in_send > 0 || p->in_random > 0 || p->in_nonce > 0; }

static void keep_buffer(peer *p, uint8_t *b) {
    p->bufs = (uint8_t **)realloc(p->bufs, (p->nbufs + 1) * sizeof *p->bufs);
    CHECK(p->bufs != NULL);
    p->bufs[p->nbufs++] = b;
}

/* The public face of a connection: what a refused call must leave as it was. */
typedef struct snapshot {
    ws_state st;
    int      err;
    unsigned code, rsv;
    uint64_t deadline, sent;
    long     sends, randoms, cbs;
} snapshot;

static snapshot take(const peer *p) {
    snapshot s;
    s.st = ws_conn_state(p->c);
    s.err = ws_conn_error(p->c);
    s.code = ws_conn_close_code(p->c);
    s.rsv = ws_conn_message_rsv(p->c);
    s.deadline = ws_conn_deadline(p->c);
    s.sent = p->sent_total;
    s.sends = p->sends;
    s.randoms = p->randoms;
    s.cbs = p->cbs;
    return s;
}

static void unchanged(const peer *p, const snapshot *b) {
    snapshot a = take(p);
    CHECK(a.st == b->st && a.err == b->err && a.code == b->code && a.rsv == b->rsv &&
          a.deadline == b->deadline);
    CHECK(a.sent == b->sent && a.sends == b->sends && a.randoms == b->randoms && a.cbs == b->cbs);
}

/* ---- one epoch of a connection: from ws_conn_init on ------------------------------- */

static void epoch_reset(peer *p) {
    fz_free(&p->wev);
    fz_free(&p->wdata);
    free(p->rx.q);
    memset(&p->wire, 0, sizeof p->wire);
    wire_init(&p->wire.d, client(p), 0);
    p->wire.events = &p->wev;
    p->wire.data = &p->wdata;
    p->wev_at = 0;
    p->http_next = p->http_writes = 0;
    memset(&p->ex, 0, sizeof p->ex);
    p->cur_user = 0;
    p->cur_ctrl = NULL;
    p->cur_clen = 0;
    p->tick_pinged = 0;
    p->data_allow = p->fed = p->lib_bytes = 0;
    p->frag = 0;
    p->owed = 0;
    p->buffered = 0;
    p->mbuf = NULL;
    p->mcap = 0;
    p->in_msg = 0;
    memset(&p->rx, 0, sizeof p->rx);
    p->rx.close_code = WS_CLOSE_NO_STATUS;
    p->pong_owed = p->inflight = 0;
    p->last = WS_STATE_CONNECTING;
    p->closed_final = p->opened = p->open_ok = p->hs_sent = p->closes = 0;
    p->send_failed = p->random_failed = 0;
    p->active = p->in_feed = p->in_send = p->in_random = p->in_cb = p->in_close = 0;
    p->in_tick = p->in_connect = p->in_nonce = 0;
    p->cb_kind = -1;
    p->cb_mid = 0;
    p->feed_p = NULL;
    p->feed_n = 0;
    p->epoch++;
}

static void owed_clear(peer *p) {
    p->pong_owed = 0;
    p->inflight = 0;
}

/* What a connection looks like now, against what it looked like before. */
static void observe(peer *p) {
    ws_state s = ws_conn_state(p->c);
    int err = ws_conn_error(p->c);
    CHECK(fz_known_err(err));
    CHECK((s == WS_STATE_FAILED) == (err != WS_OK));
    if (p->last == WS_STATE_FAILED) CHECK(s == WS_STATE_FAILED && err != WS_OK);
    if (p->last == WS_STATE_CLOSED && s != WS_STATE_CLOSED) {
        /* only a close echo whose own send (or random) fails: seen from inside it */
        CHECK(s == WS_STATE_FAILED && !p->closed_final &&
              (err == WS_ERR_IO || err == WS_ERR_RANDOM));
    }
    if (s != WS_STATE_FAILED) CHECK(s >= p->last);
    if (s == WS_STATE_CLOSED && !busy_tx(p)) p->closed_final = 1;
    if (s >= WS_STATE_OPEN && s <= WS_STATE_CLOSED) p->opened = 1;
    if (s == WS_STATE_FAILED) owed_clear(p);        /* a failure owes nothing more */
    p->last = s;
}

/* Nothing is going out and nothing is being read: everything owed has been paid. */
static void settled(peer *p) {
    ws_state s = ws_conn_state(p->c);
    if (s == WS_STATE_FAILED || busy_tx(p) || p->owed || p->in_feed) return;
    CHECK(!p->pong_owed && !p->inflight);   /* the latest ping is answered */
    if (p->rx.closed) CHECK(s == WS_STATE_CLOSED);
    if (s == WS_STATE_CLOSED) CHECK(p->wire.d.closed && p->rx.closed);
}

/* ---- wrapping a call ------------------------------------------------------------------ */

typedef struct call {
    peer    *p;
    int      ep;
    snapshot b;
} call;

static int call_begin(call *k, peer *p) {
    if (!p->c) return 0;
    k->p = p;
    k->ep = p->epoch;
    observe(p);
    k->b = take(p);
    if (p->in_nonce) p->nonce_calls++;
    p->active++;
    return 1;
}

/* After the call returned: 1 when it is still the same connection (not freed, not
   initialised again in its on_close), which the caller may then look at. */
static int call_end(call *k) {
    peer *p = k->p;
    if (p->snap_on) {
        /* on_close was the last thing the library did in this call */
        if (p->c) CHECK(memcmp(p->c, &p->snap, sizeof p->snap) == 0);
        p->snap_on = 0;
    }
    if (!p->c || p->epoch != k->ep) return 0;
    p->active--;
    observe(p);
    if (!p->active && p->open_ok && (p->last == WS_STATE_CLOSED || p->last == WS_STATE_FAILED))
        CHECK(p->closes == 1);              /* an opened connection that ended said so */
    return 1;
}

/* rc of a call given the refusals that apply. alive: call_end's answer. Returns 1 when
   the call was taken (not refused, not sticky). */
static int outcome(call *k, int rc, unsigned applies, int alive) {
    peer *p = k->p;
    TRACE("    -> %d (applies %u, state %d -> %d)\n", rc, applies, (int)k->b.st,
          alive ? (int)ws_conn_state(p->c) : -1);
    if (k->b.st == WS_STATE_FAILED) {
        CHECK(alive && rc == k->b.err);
        unchanged(p, &k->b);
        return 0;
    }
    if (applies & R_BUSY) {
        CHECK(alive && rc == WS_ERR_BUSY);
        unchanged(p, &k->b);
        return 0;
    }
    if (applies) {
        CHECK(alive);
        CHECK(((applies & R_STATE) && rc == WS_ERR_STATE) || ((applies & R_ARG) && rc == WS_ERR_ARG));
        unchanged(p, &k->b);
        return 0;
    }
    CHECK(rc != WS_ERR_BUSY);
    if (alive) {
        CHECK(rc != WS_ERR_IO || p->send_failed);
        CHECK(rc != WS_ERR_RANDOM || p->random_failed);
        /* a call either works or its error is the one that failed the connection */
        if (rc == WS_OK) CHECK(ws_conn_state(p->c) != WS_STATE_FAILED);
        else CHECK(ws_conn_state(p->c) == WS_STATE_FAILED && rc == ws_conn_error(p->c));
        settled(p);
    }
    return 1;
}

/* ---- the frames a connection sends ----------------------------------------------- */

static void pong_sent(peer *p, const uint8_t *d, size_t n) {
    rx_shadow *r = &p->rx;
    int ok = 0;
    CHECK(!p->cfg.no_auto_pong);
    /* at once, for the ping ws_conn_feed is reading now (before its on_control) */
    if (p->in_feed && !p->in_cb && r->qi < r->qn && r->q[r->qi].op == WS_OP_PING &&
        r->q[r->qi].len == n && (n == 0 || memcmp(r->q[r->qi].data, d, n) == 0)) {
        r->q[r->qi].answered = 1;
        ok = 1;
    }
    if (ok) {
        owed_clear(p);                      /* ws.h owes one pong: the latest ping's */
        return;
    }
    /* or the one owed since a frame held it back: the latest ping's payload when its key
       was drawn (a ping read meanwhile owes a pong of its own, next) */
    if (p->inflight && p->fl_len == n && (n == 0 || memcmp(p->fl, d, n) == 0)) {
        p->inflight = 0;
        return;
    }
    /* or the latest ping's, answering every one before it */
    CHECK(p->pong_owed && p->pong_len == n && (n == 0 || memcmp(p->pong, d, n) == 0));
    owed_clear(p);
}

static void close_sent(peer *p, int user, const uint8_t *d, size_t n) {
    ws_state s = ws_conn_state(p->c);
    if (user) {
        CHECK(!p->pong_owed && !p->inflight);   /* every owed pong goes before our close */
        return;
    }
    if (s == WS_STATE_FAILED) {
        /* a failure's close: the code its error sends; an owed pong is forgotten */
        int code = ws_close_code_for(ws_conn_error(p->c));
        CHECK(code && n >= 2 && ((unsigned)d[0] << 8 | d[1]) == (unsigned)code);
        owed_clear(p);
        return;
    }
    /* the answer to the peer's close, its code echoed, after every owed pong */
    CHECK(s == WS_STATE_CLOSED && p->rx.closed && !p->pong_owed && !p->inflight);
    CHECK(n == (p->rx.close_code == WS_CLOSE_NO_STATUS ? 0u : 2u));
    if (n) CHECK(memcmp(d, p->rx.close_body, 2) == 0);
}

/* The frame events fz_wire logged since the last look: each frame is the user's (the one
   the call under way asked for, or a keepalive ping of ws_conn_tick) or the library's
   own (a pong or a close), which counts against the bound on bytes sent. */
static void look(peer *p) {
    const uint8_t *e = p->wev.p;
    while (p->wev_at < p->wev.len) {
        size_t at = p->wev_at;
        if (e[at] == 'F') {
            unsigned op = e[at + 1] & 0x0F;
            int fin = (e[at + 1] & 0x80) != 0, k;
            uint64_t len = 0;
            for (k = 0; k < 8; k++) len = len << 8 | e[at + 2 + k];
            p->wev_at += 10;
            /* after a failure no frame starts but the failure's close, and the one whose
               mask key was being drawn when it failed (a frame being written is finished) */
            int failed = ws_conn_state(p->c) == WS_STATE_FAILED, keyed = p->key_failed;
            p->key_failed = 0;
            p->cur_keyed = failed && keyed;
            if (p->ex.on) {
                CHECK(op == p->ex.op && fin == p->ex.fin && len == p->ex.len);
                p->ex.on = 0;
                p->cur_user = 1;
                p->cur_pong = 0;
                p->cur_ctrl = p->ex.ctrl;
                p->cur_clen = (size_t)len;
                CHECK(!failed || keyed);
            } else if (op == WS_OP_PING && p->in_tick && !p->tick_pinged && len == 0) {
                p->tick_pinged = 1;             /* keepalive */
                p->cur_user = 1;
                p->cur_pong = 0;
                p->cur_ctrl = NULL;
                CHECK(!failed || keyed);
            } else {
                /* the library's own: a pong or a close, never inside a streamed frame */
                CHECK(op == WS_OP_PONG || op == WS_OP_CLOSE);
                CHECK(!p->owed);
                if (failed && !keyed) CHECK(op == WS_OP_CLOSE);
                p->cur_user = 0;
                p->cur_pong = op == WS_OP_PONG;
                p->lib_bytes += head_size(len, client(p)) + len;
                if (client(p)) CHECK(p->lib_bytes <= 3 * p->fed + 131);
                else CHECK(p->lib_bytes <= p->fed + 127);
            }
        } else {
            unsigned op = e[at + 1];
            size_t n = e[at + 2];
            const uint8_t *d = e + at + 3;
            CHECK(e[at] == 'C');
            p->wev_at += 3 + n;
            if (p->cur_user) {
                if (p->cur_ctrl) CHECK(n == p->cur_clen && (n == 0 || memcmp(d, p->cur_ctrl, n) == 0));
                if (op == WS_OP_CLOSE) close_sent(p, 1, d, n);
            } else if (op == WS_OP_PONG) {
                /* (one whose key was being drawn when the connection failed still goes out:
                   the failure forgot what it answers) */
                if (!p->cur_keyed) pong_sent(p, d, n);
            } else {
                close_sent(p, 0, d, n);
            }
        }
    }
}

/* ---- receiving -------------------------------------------------------------------- */

static void shadow_ctrl_end(rx_shadow *r) {
    ctrl_ev *ev;
    if (r->op == WS_OP_CLOSE) {
        r->closed = 1;
        r->close_len = r->clen;
        memcpy(r->close_body, r->ctrl, r->clen);
        r->close_code = r->clen >= 2 ? (unsigned)r->ctrl[0] << 8 | r->ctrl[1] : WS_CLOSE_NO_STATUS;
    }
    if (r->qn == r->qcap) {
        r->qcap = r->qcap ? 2 * r->qcap : 8;
        r->q = (ctrl_ev *)realloc(r->q, r->qcap * sizeof *r->q);
        CHECK(r->q != NULL);
    }
    ev = &r->q[r->qn++];
    ev->op = r->op;
    ev->mid = r->mid;
    ev->answered = 0;
    ev->len = r->clen;
    memcpy(ev->data, r->ctrl, r->clen);
}

/* Follows the frames in d[0..n-1] (as the peer sent them: masked for a server). */
static void shadow_feed(rx_shadow *r, const uint8_t *d, size_t n) {
    size_t i = 0;
    r->qn = r->qi = 0;
    while (i < n && !r->closed) {
        if (!r->in_payload) {
            size_t need;
            r->hdr[r->hlen++] = d[i++];
            if (r->hlen < 2) continue;
            need = 2 + ((r->hdr[1] & 0x7F) == 126 ? 2 : (r->hdr[1] & 0x7F) == 127 ? 8 : 0) +
                   (r->hdr[1] & 0x80 ? 4 : 0);
            if (r->hlen < need) continue;
            r->op = r->hdr[0] & 0x0F;
            r->fin = (r->hdr[0] & 0x80) != 0;
            r->masked = (r->hdr[1] & 0x80) != 0;
            r->left = r->hdr[1] & 0x7F;
            if (r->left >= 126) {
                size_t k, m = r->left == 126 ? 2 : 8;
                for (r->left = 0, k = 0; k < m; k++) r->left = r->left << 8 | r->hdr[2 + k];
            }
            if (r->masked) memcpy(r->key, r->hdr + need - 4, 4);
            r->hlen = 0;
            r->pos = 0;
            r->clen = 0;
            r->in_payload = 1;
            if (r->op == WS_OP_TEXT || r->op == WS_OP_BINARY) r->mid = 1;
        } else if (r->op >= 8) {
            uint8_t b = d[i++];
            if (r->masked) b ^= r->key[r->pos & 3];
            r->pos++;
            r->left--;
            if (r->clen < sizeof r->ctrl) r->ctrl[r->clen++] = b;
        } else {
            uint64_t take = r->left < n - i ? r->left : n - i;
            i += (size_t)take;
            r->left -= take;
        }
        if (r->in_payload && !r->left) {
            r->in_payload = 0;
            if (r->op >= 8) shadow_ctrl_end(r);
            else if (r->fin) r->mid = 0;
        }
    }
}

/* ws_conn_feed_part of a copy of d[0..n-1] exactly n long. Returns what it returned (or
   WS_OK without calling it when there is no connection to take the bytes), and in *used
   how many bytes were read: fewer than n only with WS_ERR_BUSY. */
static int do_feed(peer *p, const uint8_t *d, size_t n, size_t *used) {
    call k;
    uint8_t *copy, *saved_p;
    size_t saved_n, got = 0;
    unsigned applies = 0;
    int reads, rc, alive, owed_before = p->pong_owed;
    rx_shadow rx_before;
    *used = n;
    if (!call_begin(&k, p)) return WS_OK;
    *used = 0;
    if (p->in_feed) applies |= R_BUSY;
    /* while the library writes the pong it owes (its key drawn, or its bytes in a send
       callback), or owes one from the ping it keeps, a feed is refused: a ping read then
       would change that pong's payload */
    else if (p->in_pong_key || p->in_pong_send || p->pong_owed || p->inflight) applies |= R_BUSY;
    else if (k.b.st == WS_STATE_CONNECTING) applies |= R_STATE;
    reads = !applies && (k.b.st == WS_STATE_OPEN || k.b.st == WS_STATE_CLOSING) &&
            !p->rx.closed && n;
    TRACE("%*sfeed %c %zu bytes (state %d, reads %d)\n", 0, "", 'A' + p->id, n, (int)k.b.st, reads);
    copy = fz_dup(d, n);
    saved_p = p->feed_p;
    saved_n = p->feed_n;
    rx_before = p->rx;
    if (reads) {
        p->fed += n;
        shadow_feed(&p->rx, d, n);
        p->in_feed++;
        p->feed_p = copy;
        p->feed_n = n;
    }
    rc = ws_conn_feed_part(p->c, copy, n, &got);
    *used = got;
    alive = call_end(&k);
    CHECK(got <= n && (got == n || rc != WS_OK));
    if (alive && reads) {
        p->in_feed--;
        p->feed_p = saved_p;
        p->feed_n = saved_n;
        p->rx.qn = p->rx.qi = 0;
        if (rc == WS_ERR_BUSY) {
            /* it stopped right after a ping whose pong is owed (kept in the connection):
               the shadow reads only as far */
            ctrl_ev *q = p->rx.q;
            size_t qcap = p->rx.qcap;
            CHECK(!owed_before && got < n && (p->pong_owed || p->inflight));
            p->fed -= n - got;
            p->rx = rx_before;
            p->rx.q = q;
            p->rx.qcap = qcap;
            shadow_feed(&p->rx, d, got);
            p->rx.qn = p->rx.qi = 0;
            CHECK(!p->rx.in_payload && p->rx.hlen == 0 && p->rx.op == WS_OP_PING);
            rc = WS_OK;                     /* for outcome: what it read, it read */
        }
    }
    if (outcome(&k, rc, applies, alive) && alive) {
        if (!reads) unchanged(p, &k.b);     /* CLOSED, after the peer's close, or empty */
        else settled(p);
    }
    free(copy);
    return rc;
}

/* Bytes p sent, for its other side: fed at once, or queued behind what waits already. */
static void deliver(peer *from, const uint8_t *d, size_t n) {
    peer *to = from->other;
    if (!to || !to->c || !n) return;
    if (to->queued || to->inbox.len) {
        fz_put(&to->inbox, d, n);
        return;
    }
    size_t used;
    if (do_feed(to, d, n, &used) == WS_ERR_BUSY || used < n) fz_put(&to->inbox, d + used, n - used);
}

static void pump(peer *p) {
    fz_buf t = p->inbox;
    if (!t.len) return;
    memset(&p->inbox, 0, sizeof p->inbox);
    TRACE("pump %c %zu bytes\n", 'A' + p->id, t.len);
    size_t used = t.len;
    if (p->c && (do_feed(p, t.p, t.len, &used) == WS_ERR_BUSY || used < t.len)) {
        /* still busy: back in front of what came meanwhile */
        fz_buf rest = p->inbox;
        memset(&p->inbox, 0, sizeof p->inbox);
        fz_put(&p->inbox, t.p + used, t.len - used);
        fz_put(&p->inbox, rest.p, rest.len);
        fz_free(&rest);
    }
    fz_free(&t);
}

/* ---- the callbacks ---------------------------------------------------------------- */

static peer *peer_of(ws_conn *c) {
    peer *p = (peer *)c->user;
    CHECK(p && p->c == c);
    return p;
}

static void fire(peer *p, int ev, int depth) {
    hook *h = &p->hooks[ev];
    fz_in in;
    if (h->count <= 0 || depth > MAX_DEPTH) return;
    h->count--;
    in.p = h->script;
    in.n = h->len;
    run(&in, p, depth + 1);
}

static int depth_now;               /* hook scripts running */

static int cb_send(ws_conn *c, const ws_buf *bufs, size_t n) {
    peer *p = peer_of(c);
    fz_buf out = { NULL, 0, 0 };
    size_t i;
    /* a handshake head: what accept, connect or reject writes (and nothing is sent as a
       frame before OPEN) */
    int http = p->http_next || ws_conn_state(c) == WS_STATE_CONNECTING;
    CHECK(n > 0 && bufs);
    CHECK(!p->closes);                      /* nothing after on_close */
    CHECK(p->active > 0);
    p->sends++;
    if (p->send_fail) {
        p->send_failed = 1;
        return -1;
    }
    for (i = 0; i < n; i++) {
        CHECK(bufs[i].len == 0 || bufs[i].data);
        fz_put(&out, bufs[i].data, bufs[i].len);
    }
    p->http_next = 0;
    p->sent_total += out.len;
    if (http) {
        CHECK(++p->http_writes == 1 && p->wire.d.bytes == 0);   /* one head, before frames */
    } else {
        fz_wire_put(&p->wire, out.p, out.len);
        look(p);
        CHECK(p->wdata.len <= p->data_allow);   /* no data the user did not send */
    }
    p->in_send++;
    {
        /* the library's pong: from here on (its bytes reach the other peer, which may answer
           at once from inside), a feed of this peer is refused */
        int pong = !http && !p->cur_user && p->cur_pong;
        p->in_pong_send += pong;
        if (!http) deliver(p, out.p, out.len);
        fz_free(&out);
        if (FZ_PONG_FIXED || http || p->cur_user || !fz_wire_owed(&p->wire)) fire(p, EV_SEND, depth_now);
        p->in_pong_send -= pong;
    }
    p->in_send--;
    return 0;
}

static int cb_random(ws_conn *c, void *out, size_t n) {
    peer *p = peer_of(c);
    uint8_t *o = (uint8_t *)out;
    size_t i;
    int nonce, own;
    CHECK(client(p) && n > 0 && out);
    CHECK(!p->closes);
    nonce = p->in_connect && n == 16;
    /* the key of a frame the library sends of its own (no call asked for one, not tick's
       keepalive ping): a pong or a close */
    own = !nonce && n == 4 && !p->ex.on && !(p->in_tick && !p->tick_pinged);
    p->randoms++;
    if (own && p->pong_owed) {              /* the owed pong goes out now, with this key */
        p->in_pong_key++;
        p->inflight = 1;
        p->fl_len = p->pong_len;
        memcpy(p->fl, p->pong, p->pong_len);
        p->pong_owed = 0;
    }
    if (nonce) p->in_nonce++;
    else p->in_random++;
    if ((!nonce || FZ_CONNECT_FIXED) && (!own || FZ_PONG_FIXED)) fire(p, EV_RANDOM, depth_now);
    if (p->c != c) return 0;                /* (cannot be: on_close is not called here) */
    if (nonce) p->in_nonce--;
    else p->in_random--;
    p->in_pong_key = 0;
    if (!nonce && n == 4 && ws_conn_state(c) == WS_STATE_FAILED) p->key_failed = 1;
    if (p->random_fail) {
        p->random_failed = 1;
        return -1;
    }
    for (i = 0; i < n; i++) {
        p->rng ^= p->rng << 13;
        p->rng ^= p->rng >> 7;
        p->rng ^= p->rng << 17;
        o[i] = (uint8_t)(p->rng >> 24);
    }
    if (n == 4) {
        memcpy(p->wire.rkey, o, 4);
        p->wire.rkey_fresh = 1;
    }
    return 0;
}

/* Common to the receive callbacks: inside the feed under way, once per event. */
static void rx_enter(peer *p, int kind, int mid) {
    ws_state s = ws_conn_state(p->c);
    observe(p);
    CHECK(p->in_feed && !p->in_cb && !p->closes);
    CHECK(s == WS_STATE_OPEN || s == WS_STATE_CLOSING);
    p->cbs++;
    p->in_cb++;
    p->cb_kind = kind;
    p->cb_mid = mid;
}

static void rx_leave(peer *p, int ev, int ep) {
    fire(p, ev, depth_now);
    if (p->c && p->epoch == ep) {
        p->in_cb--;
        p->cb_kind = -1;
    }
}

static void cb_begin(ws_conn *c, ws_opcode op, uint64_t size) {
    peer *p = peer_of(c);
    int ep = p->epoch;
    rx_enter(p, EV_BEGIN, 1);
    CHECK(!p->buffered && !p->in_msg && (op == WS_OP_TEXT || op == WS_OP_BINARY));
    (void)size;
    p->in_msg = 1;
    rx_leave(p, EV_BEGIN, ep);
}

static void cb_data(ws_conn *c, const void *data, size_t len) {
    peer *p = peer_of(c);
    const uint8_t *d = (const uint8_t *)data;
    int ep = p->epoch;
    rx_enter(p, EV_DATA, 1);
    CHECK(!p->buffered && p->in_msg && len > 0 && d);
    CHECK(d >= p->feed_p && len <= p->feed_n && (size_t)(d - p->feed_p) <= p->feed_n - len);
    rx_leave(p, EV_DATA, ep);
}

static void cb_end(ws_conn *c) {
    peer *p = peer_of(c);
    int ep = p->epoch;
    rx_enter(p, EV_END, 0);
    CHECK(!p->buffered && p->in_msg);
    p->in_msg = 0;
    rx_leave(p, EV_END, ep);
}

static void cb_message(ws_conn *c, ws_opcode op, const void *data, size_t len) {
    peer *p = peer_of(c);
    int ep = p->epoch;
    rx_enter(p, EV_MESSAGE, 0);
    CHECK(p->buffered && (op == WS_OP_TEXT || op == WS_OP_BINARY));
    CHECK(len <= p->mcap && (len == 0 || (const uint8_t *)data == p->mbuf));
    rx_leave(p, EV_MESSAGE, ep);
}

static void cb_control(ws_conn *c, ws_opcode op, const void *data, size_t len) {
    peer *p = peer_of(c);
    rx_shadow *r = &p->rx;
    ctrl_ev *ev;
    int ep = p->epoch;
    CHECK(r->qi < r->qn);
    ev = &r->q[r->qi++];
    rx_enter(p, EV_CONTROL, ev->mid);
    /* exactly the control frame that was read next */
    CHECK((unsigned)op == ev->op && (op == WS_OP_PING || op == WS_OP_PONG));
    CHECK(len == ev->len && (len == 0 || memcmp(data, ev->data, len) == 0));
    if (op == WS_OP_PING && !p->cfg.no_auto_pong && ws_conn_state(c) == WS_STATE_OPEN) {
        if (!ev->answered) {
            /* held back: only while a frame is going out or a streamed one is unfinished */
            CHECK(busy_tx(p) || p->owed);
            p->pong_owed = 1;
            p->pong_len = len;
            if (len) memcpy(p->pong, data, len);
        }
    } else {
        CHECK(!ev->answered);
    }
    rx_leave(p, EV_CONTROL, ep);
}

static void cb_close(ws_conn *c, unsigned code, const char *reason, size_t len) {
    peer *p = peer_of(c);
    ws_state s = ws_conn_state(c);
    int ep = p->epoch, feed = p->in_feed;
    observe(p);
    TRACE("on_close %c %u (state %d)\n", 'A' + p->id, code, (int)s);
    /* once, after OPEN, from the outermost call and inside no other callback */
    CHECK(p->opened && p->closes == 0 && p->active == 1);
    CHECK(!p->in_send && !p->in_random && !p->in_cb && !p->in_close);
    CHECK(code == ws_conn_close_code(c));
    CHECK(len <= 123 && (len == 0 || reason) && fz_utf8_valid(reason, len));
    if (s == WS_STATE_CLOSED) {
        CHECK(p->rx.closed && p->wire.d.closed && code == p->rx.close_code);
        CHECK(len == (p->rx.close_len > 2 ? p->rx.close_len - 2 : 0) &&
              (len == 0 || memcmp(reason, p->rx.close_body + 2, len) == 0));
    } else {
        int want;
        CHECK(s == WS_STATE_FAILED);
        want = ws_close_code_for(ws_conn_error(c));
        CHECK(code == (unsigned)(want ? want : WS_CLOSE_ABNORMAL));
    }
    p->closes++;
    p->cbs++;
    p->in_close++;
    p->in_feed = 0;                         /* ws_conn_feed has done reading */
    p->cb_kind = EV_CLOSE;
    p->cb_mid = p->rx.mid;
    fire(p, EV_CLOSE, depth_now);
    if (p->c && p->epoch == ep) {
        p->in_close--;
        p->in_feed = feed;
        p->cb_kind = -1;
    }
    if (p->c) {
        memcpy(&p->snap, p->c, sizeof p->snap);
        p->snap_on = 1;
    }
}

/* ---- the calls --------------------------------------------------------------------- */

/* kind 0 ws_conn_send, 1 _begin, 2 _continue, 3 _end */
static void do_send(peer *p, int kind, unsigned op, const uint8_t *d, size_t n) {
    call k;
    expect saved;
    unsigned applies = 0, wop = kind <= 1 ? op : WS_OP_CONT;
    int fin = kind == 0 || kind == 3, data_op = wop <= WS_OP_BINARY, rc, alive;
    size_t wd0;
    if (!call_begin(&k, p)) return;
    TRACE("send %c kind %d op %u len %zu\n", 'A' + p->id, kind, op, n);
    if (busy_tx(p)) applies |= R_BUSY;
    if (kind == 0 && (op == WS_OP_CONT || (op > WS_OP_BINARY && op != WS_OP_PING && op != WS_OP_PONG)))
        applies |= R_ARG;
    if (kind == 1 && op != WS_OP_TEXT && op != WS_OP_BINARY) applies |= R_ARG;
    if (n && !d) applies |= R_ARG;
    if (!data_op && n > 125) applies |= R_ARG;
    if (k.b.st != WS_STATE_OPEN || p->owed) applies |= R_STATE;
    if (data_op && (wop == WS_OP_CONT) != (p->frag != 0)) applies |= R_STATE;
    saved = p->ex;
    p->ex.on = 1;
    p->ex.op = wop;
    p->ex.fin = fin;
    p->ex.len = n;
    p->ex.ctrl = data_op ? NULL : d;
    wd0 = p->wdata.len;
    if (data_op) p->data_allow += n;
    if (!applies && data_op) p->frag = !fin;
    switch (kind) {
    case 0: rc = ws_conn_send(p->c, (ws_opcode)op, d, n); break;
    case 1: rc = ws_conn_send_begin(p->c, (ws_opcode)op, d, n); break;
    case 2: rc = ws_conn_send_continue(p->c, d, n); break;
    default: rc = ws_conn_send_end(p->c, d, n); break;
    }
    alive = call_end(&k);
    if (!alive) return;
    if (rc == WS_OK) CHECK(!p->ex.on);      /* its frame went out */
    p->ex = saved;
    if (applies && data_op) p->data_allow -= n;
    if (outcome(&k, rc, applies, alive) && rc == WS_OK && data_op)
        CHECK(p->wdata.len == wd0 + n && (n == 0 || memcmp(p->wdata.p + wd0, d, n) == 0));
}

static void do_header(peer *p, int fin, unsigned op, uint64_t size) {
    call k;
    expect saved;
    unsigned applies = 0;
    int rc, alive;
    if (!call_begin(&k, p)) return;
    TRACE("send_header %c fin %d op %u size %llu\n", 'A' + p->id, fin, op, (unsigned long long)size);
    if (busy_tx(p)) applies |= R_BUSY;
    if (op > WS_OP_BINARY || size >> 63) applies |= R_ARG;
    if (k.b.st != WS_STATE_OPEN || p->owed) applies |= R_STATE;
    if (op <= WS_OP_BINARY && (op == WS_OP_CONT) != (p->frag != 0)) applies |= R_STATE;
    saved = p->ex;
    p->ex.on = 1;
    p->ex.op = op;
    p->ex.fin = fin;
    p->ex.len = size;
    p->ex.ctrl = NULL;
    if (!applies) {
        p->frag = !fin;
        p->owed = size;                     /* owed from now on, as ws.h has it */
        p->data_allow += size;
    }
    rc = ws_conn_send_header(p->c, fin, (ws_opcode)op, size);
    alive = call_end(&k);
    if (!alive) return;
    if (rc == WS_OK) CHECK(!p->ex.on);
    p->ex = saved;
    outcome(&k, rc, applies, alive);
}

static void do_payload(peer *p, const uint8_t *d, size_t n) {
    call k;
    unsigned applies = 0;
    int rc, alive;
    size_t wd0;
    if (!call_begin(&k, p)) return;
    TRACE("send_payload %c %zu (owed %llu)\n", 'A' + p->id, n, (unsigned long long)p->owed);
    if (busy_tx(p)) applies |= R_BUSY;
    if (n > p->owed || (n && !d)) applies |= R_ARG;
    wd0 = p->wdata.len;
    if (!applies) p->owed -= n;             /* before the bytes leave, as ws.h does */
    rc = ws_conn_send_payload(p->c, d, n);
    alive = call_end(&k);
    if (!alive) return;
    if (outcome(&k, rc, applies, alive) && rc == WS_OK) {
        CHECK(p->wdata.len == wd0 + n && (n == 0 || memcmp(p->wdata.p + wd0, d, n) == 0));
        if (!n) unchanged(p, &k.b);
    }
}

/* variant 1: the last byte cut off, 2: a byte too many, 3: masked; else as encoded */
static void do_raw(peer *p, int fin, unsigned op, const uint8_t *d, size_t n, unsigned variant) {
    static const uint8_t key[4] = { 9, 8, 7, 6 };
    uint8_t frame[14 + 256];
    size_t flen = 0, wd0;
    call k;
    expect saved;
    unsigned applies = 0;
    int rc, alive, data_op = op <= WS_OP_BINARY;
    if (ws_frame_encode(frame, sizeof frame - 1, &flen, fin, (ws_opcode)op, d, n,
                        variant == 3 ? key : NULL) != WS_OK)
        return;
    if (variant == 1) flen--;
    if (variant == 2) frame[flen++] = 0x81;
    if (!call_begin(&k, p)) return;
    TRACE("send_raw %c fin %d op %u len %zu variant %u\n", 'A' + p->id, fin, op, n, variant);
    if (busy_tx(p)) applies |= R_BUSY;
    if (client(p) || (variant >= 1 && variant <= 3) || op == WS_OP_CLOSE) applies |= R_ARG;
    if (k.b.st != WS_STATE_OPEN || p->owed) applies |= R_STATE;
    if (data_op && (op == WS_OP_CONT) != (p->frag != 0)) applies |= R_STATE;
    saved = p->ex;
    p->ex.on = 1;
    p->ex.op = op;
    p->ex.fin = fin;
    p->ex.len = n;
    p->ex.ctrl = data_op ? NULL : d;
    wd0 = p->wdata.len;
    if (data_op) p->data_allow += n;
    if (!applies && data_op) p->frag = !fin;
    rc = ws_conn_send_raw(p->c, frame, flen);
    alive = call_end(&k);
    if (!alive) return;
    if (rc == WS_OK) CHECK(!p->ex.on);
    p->ex = saved;
    if (applies && data_op) p->data_allow -= n;
    if (outcome(&k, rc, applies, alive) && rc == WS_OK && data_op)
        CHECK(p->wdata.len == wd0 + n && (n == 0 || memcmp(p->wdata.p + wd0, d, n) == 0));
}

static void do_close(peer *p, unsigned code, const uint8_t *reason, size_t n) {
    uint8_t body[125];
    call k;
    expect saved;
    unsigned applies = 0;
    int rc, alive;
    if (!call_begin(&k, p)) return;
    TRACE("close %c %u len %zu\n", 'A' + p->id, code, n);
    if (busy_tx(p)) applies |= R_BUSY;
    if ((code == 0 && n) || (code && !ws_close_code_valid(code)) || n > 123 || (n && !reason) ||
        !fz_utf8_valid(reason, n))
        applies |= R_ARG;
    if (k.b.st != WS_STATE_OPEN || p->owed) applies |= R_STATE;
    body[0] = (uint8_t)(code >> 8);
    body[1] = (uint8_t)code;
    if (code && n && n <= 123) memcpy(body + 2, reason, n);
    saved = p->ex;
    p->ex.on = 1;
    p->ex.op = WS_OP_CLOSE;
    p->ex.fin = 1;
    p->ex.len = code ? 2 + n : 0;
    p->ex.ctrl = body;
    rc = ws_conn_close(p->c, code, (const char *)reason, n);
    alive = call_end(&k);
    if (!alive) return;
    if (rc == WS_OK) CHECK(!p->ex.on);
    p->ex = saved;
    if (outcome(&k, rc, applies, alive) && rc == WS_OK) {
        ws_state s = ws_conn_state(p->c);
        CHECK(p->wire.d.closed && (s == WS_STATE_CLOSING || s == WS_STATE_CLOSED));
    }
}

static void do_tick(peer *p, uint64_t delta) {
    call k;
    unsigned applies = 0;
    int rc, alive, pinged;
    if (!call_begin(&k, p)) return;
    if (busy_tx(p)) applies |= R_BUSY;
    if (!applies) p->now += delta;
    TRACE("tick %c +%llu = %llu\n", 'A' + p->id, (unsigned long long)delta, (unsigned long long)p->now);
    pinged = p->tick_pinged;
    p->tick_pinged = 0;
    p->in_tick++;
    rc = ws_conn_tick(p->c, applies ? p->now + delta : p->now);
    alive = call_end(&k);
    if (!alive) return;
    p->in_tick--;
    p->tick_pinged = pinged;
    if (outcome(&k, rc, applies, alive)) {
        if (k.b.st == WS_STATE_CLOSED) unchanged(p, &k.b);
        if (rc == WS_ERR_TIMEOUT) CHECK(p->sent_total == k.b.sent);   /* nothing goes out */
        else CHECK(rc == WS_OK || rc == WS_ERR_IO || rc == WS_ERR_RANDOM || ws_conn_error(p->c) == rc);
    }
}

static void do_eof(peer *p) {
    call k;
    int rc, alive;
    if (!call_begin(&k, p)) return;
    TRACE("eof %c (state %d)\n", 'A' + p->id, (int)k.b.st);
    rc = ws_conn_eof(p->c);
    alive = call_end(&k);
    if (k.b.st == WS_STATE_FAILED || k.b.st == WS_STATE_CLOSED) {
        /* the sticky error; or the end of a finished connection: nothing changes */
        CHECK(alive && rc == (k.b.st == WS_STATE_FAILED ? k.b.err : WS_OK));
        unchanged(p, &k.b);
        return;
    }
    CHECK(rc == WS_ERR_EOF);
    if (!alive) return;
    CHECK(ws_conn_state(p->c) == WS_STATE_FAILED && ws_conn_error(p->c) == WS_ERR_EOF);
    CHECK(p->sent_total == k.b.sent);       /* nothing goes out */
    if (k.b.st != WS_STATE_CONNECTING) CHECK(ws_conn_close_code(p->c) == WS_CLOSE_ABNORMAL);
}

/* The harness knows whether a data message is half received: in a receive callback from
   the callback, outside the feed from the shadow reader; in a send or random callback
   inside a feed it does not (known = 0). */
static int mid_now(const peer *p, int *known) {
    *known = 1;
    if (p->cb_kind >= 0) return p->cb_mid;
    if (p->in_feed) {
        *known = 0;
        return 0;
    }
    return p->rx.mid;
}

static void do_buffer(peer *p, size_t cap) {
    call k;
    uint8_t *b = cap ? (uint8_t *)malloc(cap) : NULL;
    int rc, alive, known, mid;
    if (!call_begin(&k, p)) {
        free(b);
        return;
    }
    mid = mid_now(p, &known);
    TRACE("set_buffer %c %zu (mid %d known %d)\n", 'A' + p->id, cap, mid, known);
    rc = ws_conn_set_buffer(p->c, b, cap);
    alive = call_end(&k);
    CHECK(alive);
    unchanged(p, &k.b);                     /* no callback, no byte, no state change */
    if (k.b.st == WS_STATE_FAILED) CHECK(rc == k.b.err);
    else if (known) CHECK(rc == (mid ? WS_ERR_STATE : WS_OK));
    else CHECK(rc == WS_OK || rc == WS_ERR_STATE);
    if (rc == WS_OK) {
        p->buffered = b != NULL;
        p->mbuf = b;
        p->mcap = cap;
        CHECK(!p->in_msg);                  /* never between on_begin and on_end */
    }
    if (b) keep_buffer(p, b);               /* on_message may still hold an old one */
}

/* which: 0 accept(NULL), 1 accept(request, protocol), 2 accept(request, one not offered),
   3 connect, 4 connect with bad options, 5 connected(NULL), 6 reject(400), 7 reject(bad) */
static void do_open(peer *p, unsigned which) {
    call k;
    unsigned applies = 0;
    int rc, alive, hs = 0, http_next;
    long calls;
    ws_client_opts o;
    if (!call_begin(&k, p)) return;
    TRACE("open %c %u (state %d)\n", 'A' + p->id, which, (int)k.b.st);
    if (busy_tx(p)) applies |= R_BUSY;
    http_next = p->http_next;
    memset(&o, 0, sizeof o);
    o.host = which == 4 ? NULL : "h";
    o.protocols = "chat";
    switch (which) {
    case 0: case 1: case 2:
        if (k.b.st != WS_STATE_CONNECTING || client(p)) applies |= R_STATE;
        if (which == 2) applies |= R_ARG;
        hs = which != 0;
        p->http_next = p->http_next || (!applies && hs);
        rc = ws_conn_accept(p->c, which ? &g.req : NULL, which == 1 ? "chat" : which == 2 ? "nope" : NULL);
        break;
    case 3: case 4:
        if (k.b.st != WS_STATE_CONNECTING || !client(p) || p->hs_sent) applies |= R_STATE;
        /* the nonce is drawn before the options are looked at: a random callback that
           fails makes it WS_ERR_RANDOM even with bad options */
        if (which == 4 && !(applies & (R_BUSY | R_STATE))) applies |= R_ARG;  /* before the nonce */
        p->http_next = p->http_next || !applies;
        p->in_connect++;
        calls = p->nonce_calls;
        rc = ws_conn_connect(p->c, &o);
        if (p->c && p->epoch == k.ep) {
            p->in_connect--;
            /* refused for its options, it still asked for a nonce: not a change; nor is
               what calls made inside that random callback changed */
            if (which == 4 && rc == WS_ERR_ARG) {
                k.b.randoms = p->randoms;
                if (p->nonce_calls != calls) k.b = take(p);
            }
        }
        break;
    case 5:
        if (k.b.st != WS_STATE_CONNECTING || !client(p)) applies |= R_STATE;
        rc = ws_conn_connected(p->c, NULL);
        break;
    default:
        /* a server's answer: a client's is refused as its ws_conn_accept is */
        if (k.b.st != WS_STATE_CONNECTING || client(p)) applies |= R_STATE;
        if (which == 7) applies |= R_ARG;
        p->http_next = p->http_next || !applies;
        rc = ws_conn_reject(p->c, which == 6 ? WS_ERR_HS_KEY : WS_ERR_ARG);
        break;
    }
    alive = call_end(&k);
    if (!alive) return;
    p->http_next = http_next;               /* (what an outer call still writes) */
    if (!FZ_CONNECT_FIXED && which == 3 && rc == WS_OK && ws_conn_state(p->c) == WS_STATE_FAILED)
        rc = ws_conn_error(p->c);           /* the second known fault, above */
    if (which >= 6 && !applies && k.b.st != WS_STATE_FAILED) {
        /* reject: the error it was given (or WS_ERR_IO), and it is FAILED with it */
        CHECK(rc == WS_ERR_HS_KEY || (rc == WS_ERR_IO && p->send_failed));
        CHECK(ws_conn_state(p->c) == WS_STATE_FAILED && ws_conn_error(p->c) == rc);
        return;
    }
    if (outcome(&k, rc, applies, alive)) {
        if (which == 3) p->hs_sent = 1;
        if (rc == WS_OK && which != 3) {
            CHECK(ws_conn_state(p->c) >= WS_STATE_OPEN);
            p->open_ok = 1;
        }
        if (rc == WS_OK && which == 3) CHECK(ws_conn_state(p->c) == WS_STATE_CONNECTING);
    }
}

static void do_free_or_init(peer *p, int init) {
    /* allowed only inside this connection's own on_close */
    if (!p->c || !p->in_close || p->cb_kind != EV_CLOSE) return;
    TRACE("%s %c in on_close\n", init ? "init" : "free", 'A' + p->id);
    if (init) {
        CHECK(ws_conn_init(p->c, &p->cfg, p) == WS_OK);
        epoch_reset(p);
        CHECK(ws_conn_state(p->c) == WS_STATE_CONNECTING && ws_conn_error(p->c) == WS_OK);
    } else {
        memset(p->c, 0xA5, sizeof *p->c);   /* what a reused allocation would hold */
        free(p->c);
        p->c = NULL;
        p->snap_on = 0;
    }
}

/* ---- the program ------------------------------------------------------------------- */

static int run(fz_in *in, peer *self, int depth) {
    int saved = depth_now;
    depth_now = depth;
    while (in->n && g.actions < MAX_ACTIONS) {
        unsigned op = fz_u8(in), a = (op & 0x7F) % A_COUNT;
        peer *t = (op & 0x80) && self->other ? self->other : self;
        size_t n;
        const uint8_t *d;
        g.actions++;
        TRACE("[%d] action %u on %c\n", depth, a, 'A' + t->id);
        switch (a) {
        case A_FEED:
            d = fz_take(in, fz_u8(in), &n);
            do_feed(t, d, n, &n);           /* what it did not read is dropped */
            break;
        case A_FRAME: {     /* a frame from t's peer: masked when t is a server */
            static const uint8_t key[4] = { 0x37, 0xfa, 0x21, 0x3d };
            uint8_t frame[14 + 255];
            unsigned b0 = fz_u8(in), len = fz_u8(in);
            size_t fl = 0;
            if (b0 & 0x08) len %= 126;
            d = fz_take(in, len, &n);
            if (ws_frame_encode(frame, sizeof frame, &fl, (b0 & 0x80) != 0,
                                (ws_opcode)(b0 & 0x0F), d, n, client(t) ? NULL : key) != WS_OK) {
                /* what ws_frame_encode refuses to write: the header by hand */
                fl = ws_frame_header(frame, (b0 & 0x80) != 0, (ws_opcode)(b0 & 0x0F), n,
                                     client(t) ? NULL : key);
                if (n) memcpy(frame + fl, d, n);
                if (!client(t)) ws_mask(frame + fl, n, key, 0);
                fl += n;
            }
            frame[0] |= (uint8_t)(b0 & 0x70);
            do_feed(t, frame, fl, &fl);
            break;
        }
        case A_SEND: {
            static const unsigned ops[6] = { WS_OP_TEXT, WS_OP_BINARY, WS_OP_PING,
                                             WS_OP_PONG, WS_OP_CONT, WS_OP_CLOSE };
            unsigned o = fz_u8(in);
            d = fz_take(in, fz_u8(in), &n);
            do_send(t, 0, ops[o % 6], n ? d : NULL, n);
            break;
        }
        case A_BEGIN: {
            unsigned o = fz_u8(in) % 4;
            d = fz_take(in, fz_u8(in), &n);
            do_send(t, 1, o, n ? d : NULL, n);
            break;
        }
        case A_CONTINUE: case A_END:
            d = fz_take(in, fz_u8(in), &n);
            do_send(t, a == A_CONTINUE ? 2 : 3, 0, n ? d : NULL, n);
            break;
        case A_HEADER: {
            unsigned b = fz_u8(in);
            uint64_t size = (b & 0x70) == 0x70 ? (uint64_t)1 << 63 | fz_u8(in) : fz_u16(in) % 600;
            do_header(t, (b & 0x80) != 0, b & 0x0F, size);
            break;
        }
        case A_PAYLOAD: {   /* 255: the rest (up to 254 bytes), 128-254: that many zeros */
            static const uint8_t fill[255] = { 0 };
            unsigned l = fz_u8(in);
            if (l == 255) {
                n = (size_t)(t->owed < 254 ? t->owed : 254);
                d = fill;
            } else if (l & 0x80) {
                n = l & 0x7F;
                d = fill;
            } else {
                d = fz_take(in, l, &n);
            }
            do_payload(t, n ? d : NULL, n);
            break;
        }
        case A_RAW: {
            unsigned b = fz_u8(in);
            d = fz_take(in, fz_u8(in), &n);
            do_raw(t, (b & 0x80) != 0, b & 0x0F, n ? d : NULL, n, (b >> 4) & 7);
            break;
        }
        case A_CLOSE: {
            unsigned s = fz_u8(in), code = s & 0x10 ? fz_u16(in) : codes[s & 15];
            d = fz_take(in, fz_u8(in) % 130, &n);
            do_close(t, code, n ? d : NULL, n);
            break;
        }
        case A_TICK: {
            unsigned v = fz_u8(in);
            do_tick(t, v < 200 ? v : (uint64_t)(v - 199) * 997);
            break;
        }
        case A_EOF:
            do_eof(t);
            break;
        case A_BUFFER: {
            unsigned v = fz_u8(in);
            do_buffer(t, v ? (size_t)v * 3 : 0);
            break;
        }
        case A_FAIL: {
            unsigned v = fz_u8(in);
            t->send_fail = v & 1;
            t->random_fail = (v >> 1) & 1;
            TRACE("fail %c send %d random %d\n", 'A' + t->id, t->send_fail, t->random_fail);
            break;
        }
        case A_OPEN:
            do_open(t, fz_u8(in) % 8);
            break;
        case A_PUMP:
            pump(t);
            break;
        case A_DELIVERY:
            t->queued = fz_u8(in) & 1;
            break;
        case A_HOOK: {
            unsigned ev = fz_u8(in) % EV_COUNT, count = 1 + fz_u8(in) % 4;
            hook *h = &t->hooks[ev];
            h->script = fz_take(in, fz_u8(in), &h->len);
            h->count = (int)count;
            TRACE("hook %c event %u x%u (%zu bytes)\n", 'A' + t->id, ev, count, h->len);
            break;
        }
        case A_FREE: case A_INIT:
            do_free_or_init(t, a == A_INIT);
            break;
        default:
            break;
        }
    }
    depth_now = saved;
    return 0;
}

/* ---- set-up and the end ------------------------------------------------------------ */

static void peer_setup(peer *p, int id, ws_role role, const ws_config *base, int open) {
    p->id = id;
    p->cfg = *base;
    p->cfg.role = role;
    p->cfg.send = cb_send;
    p->cfg.random = cb_random;
    p->cfg.on_begin = cb_begin;
    p->cfg.on_data = cb_data;
    p->cfg.on_end = cb_end;
    p->cfg.on_message = cb_message;
    p->cfg.on_control = cb_control;
    p->cfg.on_close = cb_close;
    p->rng = 0x9E3779B97F4A7C15ull + (uint64_t)id;
    p->c = (ws_conn *)malloc(sizeof *p->c);
    CHECK(p->c != NULL);
    CHECK(ws_conn_init(p->c, &p->cfg, p) == WS_OK);
    epoch_reset(p);
    if (open) {
        call k;
        int rc;
        CHECK(call_begin(&k, p));
        rc = role == WS_ROLE_SERVER ? ws_conn_accept(p->c, NULL, NULL) : ws_conn_connected(p->c, NULL);
        CHECK(call_end(&k) && rc == WS_OK && ws_conn_state(p->c) == WS_STATE_OPEN);
        p->open_ok = 1;
    }
}

/* A failed connection answers every call with its error and changes nothing. */
static void check_sticky(peer *p) {
    static const uint8_t frame[2] = { 0x82, 0x00 };
    uint8_t b[2];
    snapshot s;
    int err;
    if (!p->c || ws_conn_state(p->c) != WS_STATE_FAILED) return;
    s = take(p);
    err = s.err;
    memcpy(b, frame, 2);
    CHECK(ws_conn_feed(p->c, b, 2) == err);
    CHECK(ws_conn_send(p->c, WS_OP_TEXT, "x", 1) == err);
    CHECK(ws_conn_send_header(p->c, true, WS_OP_TEXT, 1) == err);
    CHECK(ws_conn_send_payload(p->c, "x", 1) == err);
    CHECK(ws_conn_send_raw(p->c, frame, 2) == err);
    CHECK(ws_conn_close(p->c, 1000, NULL, 0) == err);
    CHECK(ws_conn_tick(p->c, p->now + 1) == err);
    CHECK(ws_conn_eof(p->c) == err);
    CHECK(ws_conn_set_buffer(p->c, NULL, 0) == err);
    CHECK(ws_conn_accept(p->c, NULL, NULL) == err);
    CHECK(ws_conn_deadline(p->c) == UINT64_MAX);
    unchanged(p, &s);
}

static void peer_free(peer *p) {
    size_t i;
    free(p->c);
    p->c = NULL;
    fz_free(&p->wev);
    fz_free(&p->wdata);
    fz_free(&p->inbox);
    free(p->rx.q);
    for (i = 0; i < p->nbufs; i++) free(p->bufs[i]);
    free(p->bufs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char request[] =
        "GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Protocol: chat\r\n\r\n";
    fz_in in = { data, size };
    unsigned flags = fz_u8(&in), t1 = fz_u8(&in), t2 = fz_u8(&in), lim = flags >> 5;
    ws_config cfg;
    int round, i;
    memset(&g, 0, sizeof g);
    g.trace = getenv("FZ_TRACE") != NULL;
    ws_http_init(&g.req, 0);
    CHECK(ws_http_parse_request(&g.req, request, sizeof request - 1) == WS_HS_UPGRADE);
    memset(&cfg, 0, sizeof cfg);
    cfg.no_auto_pong = (flags & 4) != 0;
    cfg.ping_interval_ms = ping_ms[t1 & 7];
    cfg.timeout_ms = timeout_ms[(t1 >> 3) & 7];
    cfg.close_timeout_ms = close_ms[t2 & 7];
    cfg.handshake_timeout_ms = hs_ms[(t2 >> 3) & 7];
    cfg.max_frame_size = max_frame[lim];
    cfg.max_message_size = max_msg[lim];
    cfg.max_fragments = max_frags[lim];
    g.pair = flags & 1;
    peer_setup(&g.p[0], 0, flags & 2 ? WS_ROLE_CLIENT : WS_ROLE_SERVER, &cfg, !(flags & 8));
    if (g.pair) {
        peer_setup(&g.p[1], 1, flags & 2 ? WS_ROLE_SERVER : WS_ROLE_CLIENT, &cfg, !(flags & 8));
        g.p[0].other = &g.p[1];
        g.p[1].other = &g.p[0];
        g.p[0].queued = g.p[1].queued = (flags & 16) != 0;
    }
    TRACE("pair %d, A is a %s\n", g.pair, flags & 2 ? "client" : "server");
    run(&in, &g.p[0], 0);
    /* deliver what waits, until nothing does */
    for (round = 0; round < 64 && g.pair && (g.p[0].inbox.len || g.p[1].inbox.len); round++) {
        g.p[0].queued = g.p[1].queued = 0;
        pump(&g.p[0]);
        pump(&g.p[1]);
    }
    for (i = 0; i < 1 + g.pair; i++) {
        peer *p = &g.p[i];
        if (!p->c) continue;
        observe(p);
        settled(p);
        check_sticky(p);
    }
    for (i = 0; i < 2; i++) peer_free(&g.p[i]);
    return 0;
}
