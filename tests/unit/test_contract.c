/* test_contract.c - the callback contract (ws.h's CALLBACKS section): what a callback may call
   on its own connection, what it gets for a call it may not make, and the defects a review
   of that contract found (issue 11), each with the test that failed before its fix.

   The fixture is a pair of peers: each owns a connection on the heap (so that a use after
   free is caught by AddressSanitizer), records every byte its connection sends, and may be
   wired to the other: then whatever one sends is fed to the other at once, from inside the
   send callback, the way two connections in one process or a blocking client that drains
   its socket after each write call each other. Bytes the other cannot take right now
   (WS_ERR_BUSY) wait in its queue until pump() feeds them. */
#include "../../ws.h"
#include "harness.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct peer peer;
typedef void (*peer_hook)(peer *p, const char *event);

struct peer {
    ws_config cfg;
    ws_conn  *c;                    /* NULL once freed in on_close */
    peer     *other;                /* wired: what c sends is fed to other->c */
    tbuf      wire;                 /* every byte c sent */
    tbuf      queue;                /* bytes for c that arrived while it was busy */
    tbuf      log;                  /* events: "B1 D:.. E M1:.. P9:.. X1000:.." */
    int       closes;               /* on_close calls */
    unsigned  close_code;
    int       sends;                /* send callback calls */
    int       fail_send;            /* the send callback fails from this call on (1-based) */
    int       fail_random;
    int       free_in_close;        /* on_close frees the connection */
    int       busy_feeds;           /* feeds of this peer's bytes that got WS_ERR_BUSY */
    peer_hook hook;                 /* a test's action, called at each event */
    int       hook_rc;              /* what the hook's call returned */
    int       hook_calls;
    uint64_t  rng;
};

static peer *peer_of(ws_conn *c) { return (peer *)c->user; }

static void p_event(peer *p, const char *event) {
    if (p->hook) p->hook(p, event);
}

static int p_send(ws_conn *c, const ws_buf *bufs, size_t n) {
    peer *p = peer_of(c);
    size_t i, start = p->wire.len;
    p->sends++;
    if (p->fail_send && p->sends >= p->fail_send) return -1;
    for (i = 0; i < n; i++) tbuf_put(&p->wire, bufs[i].data, bufs[i].len);
    if (p->other && p->other->c) {
        peer *o = p->other;
        size_t len = p->wire.len - start;
        uint8_t *tmp = (uint8_t *)malloc(len ? len : 1);
        size_t used = 0;
        int rc;
        memcpy(tmp, p->wire.p + start, len);
        rc = ws_conn_feed_part(o->c, tmp, len, &used);
        if (rc == WS_ERR_BUSY) {                /* what was not read, for later */
            tbuf_put(&o->queue, p->wire.p + start + used, len - used);
            p->busy_feeds++;
        }
        free(tmp);
    }
    p_event(p, "send");
    return 0;
}

static int p_random(ws_conn *c, void *out, size_t n) {
    peer *p = peer_of(c);
    uint8_t *o = (uint8_t *)out;
    size_t i;
    if (p->fail_random) return -1;
    for (i = 0; i < n; i++) o[i] = (uint8_t)test_rand(&p->rng);
    return 0;
}

static void p_begin(ws_conn *c, ws_opcode op, uint64_t size) {
    peer *p = peer_of(c);
    char t[48];
    if (size == WS_SIZE_UNKNOWN) snprintf(t, sizeof t, " B%d:?", (int)op);
    else snprintf(t, sizeof t, " B%d:%llu", (int)op, (unsigned long long)size);
    tbuf_puts(&p->log, t);
    p_event(p, "begin");
}

static void p_data(ws_conn *c, const void *data, size_t len) {
    peer *p = peer_of(c);
    tbuf_puts(&p->log, " D:");
    tbuf_escape(&p->log, data, len);
    p_event(p, "data");
}

static void p_end(ws_conn *c) {
    peer *p = peer_of(c);
    tbuf_puts(&p->log, " E");
    p_event(p, "end");
}

static void p_message(ws_conn *c, ws_opcode op, const void *data, size_t len) {
    peer *p = peer_of(c);
    char t[16];
    snprintf(t, sizeof t, " M%d:", (int)op);
    tbuf_puts(&p->log, t);
    tbuf_escape(&p->log, data, len);
    p_event(p, "message");
}

static void p_control(ws_conn *c, ws_opcode op, const void *data, size_t len) {
    peer *p = peer_of(c);
    char t[16];
    snprintf(t, sizeof t, " P%d:", (int)op);
    tbuf_puts(&p->log, t);
    tbuf_escape(&p->log, data, len);
    p_event(p, "control");
}

static void p_close(ws_conn *c, unsigned code, const char *reason, size_t len) {
    peer *p = peer_of(c);
    char t[24];
    snprintf(t, sizeof t, " X%u:", code);
    tbuf_puts(&p->log, t);
    tbuf_escape(&p->log, reason, len);
    p->closes++;
    p->close_code = code;
    p_event(p, "close");
    if (p->free_in_close) {
        memset(c, 0xA5, sizeof *c);     /* what a reused allocation would hold */
        free(c);
        p->c = NULL;
    }
}

/* A connection of role, open (no handshake), its callbacks the peer's. */
static void peer_open(peer *p, ws_role role) {
    memset(p, 0, sizeof *p);
    p->cfg.role = role;
    p->cfg.send = p_send;
    p->cfg.random = p_random;
    p->cfg.on_begin = p_begin;
    p->cfg.on_data = p_data;
    p->cfg.on_end = p_end;
    p->cfg.on_message = p_message;
    p->cfg.on_control = p_control;
    p->cfg.on_close = p_close;
    p->rng = 0x9E3779B97F4A7C15ull;
    p->c = (ws_conn *)malloc(sizeof *p->c);
    CHECK_EQ_INT(ws_conn_init(p->c, &p->cfg, p), WS_OK);
    if (role == WS_ROLE_SERVER) CHECK_EQ_INT(ws_conn_accept(p->c, NULL, NULL), WS_OK);
    else CHECK_EQ_INT(ws_conn_connected(p->c, NULL), WS_OK);
}

static void peer_free(peer *p) {
    free(p->c);
    tbuf_free(&p->wire);
    tbuf_free(&p->queue);
    tbuf_free(&p->log);
}

/* A server and a client, each feeding the other from its send callback. */
static void pair_open(peer *s, peer *cl) {
    peer_open(s, WS_ROLE_SERVER);
    peer_open(cl, WS_ROLE_CLIENT);
    s->other = cl;
    cl->other = s;
}

/* Feeds what waits in the queues until nothing does (bounded). */
static void pump(peer *a, peer *b) {
    int round;
    for (round = 0; round < 100 && (a->queue.len || b->queue.len); round++) {
        peer *q[2];
        int i;
        q[0] = a;
        q[1] = b;
        for (i = 0; i < 2; i++) {
            tbuf t = q[i]->queue;
            size_t used = 0;
            memset(&q[i]->queue, 0, sizeof q[i]->queue);
            if (t.len && q[i]->c && ws_conn_feed_part(q[i]->c, t.p, t.len, &used) == WS_ERR_BUSY)
                tbuf_put(&q[i]->queue, t.p + used, t.len - used);       /* (a pong owed) */
            tbuf_free(&t);
        }
    }
    CHECK(round < 100);
}

/* The frames in a peer's wire, checked to be whole frames, masked as its role says. */
static size_t wire_frames(peer *p, sframe *f, size_t max) {
    size_t n = 0, i;
    if (!CHECK_EQ_INT(sframes_parse(p->wire.p, p->wire.len, f, max, &n), 0)) return 0;
    for (i = 0; i < n; i++)
        CHECK_EQ_INT(f[i].masked, p->cfg.role == WS_ROLE_CLIENT);
    return n;
}

/* How many close frames a peer sent, and that nothing followed the first. */
static int wire_closes(peer *p) {
    sframe f[MAX_SFRAMES];
    size_t n = wire_frames(p, f, MAX_SFRAMES), i;
    int closes = 0;
    for (i = 0; i < n; i++) {
        if (closes) FAIL("a frame (op %d) after the close", f[i].op);
        if (f[i].op == WS_OP_CLOSE) closes++;
    }
    sframes_free(f, n);
    return closes;
}

/* A frame from the peer's side of the wire: masked when to is a server. */
static void put_frame(tbuf *b, const peer *to, int fin, int op, const void *p, size_t n) {
    frame_put(b, fin, 0, op, p, n, to->cfg.role == WS_ROLE_SERVER ? test_key : NULL);
}

static int feed_frame(peer *to, int fin, int op, const void *p, size_t n) {
    tbuf b = { 0 };
    int rc;
    put_frame(&b, to, fin, op, p, n);
    rc = ws_conn_feed(to->c, b.p, b.len);
    tbuf_free(&b);
    return rc;
}

/* ---- 1. a close sent from inside the send callback ------------------------------ */

TEST(close_between_wired_connections_ends_both_once) {
    /* (a) the server's close reaches the client inside the send; the client's answer
       reaches the server inside the client's send: it ended in an endless echo */
    int who;
    for (who = 0; who < 2; who++) {
        peer s, cl, *first;
        pair_open(&s, &cl);
        first = who ? &cl : &s;
        test_context("%s closes first", who ? "client" : "server");
        CHECK_EQ_INT(ws_conn_close(first->c, 1000, "bye", 3), WS_OK);
        pump(&s, &cl);
        /* (b) both CLOSED, not CLOSING waiting for a timeout */
        CHECK_EQ_INT(ws_conn_state(s.c), WS_STATE_CLOSED);
        CHECK_EQ_INT(ws_conn_state(cl.c), WS_STATE_CLOSED);
        CHECK_EQ_INT(s.closes, 1);
        CHECK_EQ_INT(cl.closes, 1);
        CHECK_EQ_INT(s.close_code, 1000);
        CHECK_EQ_INT(cl.close_code, 1000);
        CHECK_EQ_INT(wire_closes(&s), 1);
        CHECK_EQ_INT(wire_closes(&cl), 1);
        peer_free(&s);
        peer_free(&cl);
    }
}

static void hook_feed_bad_ping(peer *p, const char *event) {
    /* a ping that announces 65535 bytes arrives while the close is being sent */
    static const uint8_t bad[] = { 0x89, 0xFE, 0xFF, 0xFF, 1, 2, 3, 4 };
    uint8_t tmp[sizeof bad];
    if (strcmp(event, "send") || p->hook_calls++) return;
    memcpy(tmp, bad, sizeof bad);
    p->hook_rc = ws_conn_feed(p->c, tmp, sizeof tmp);
}

TEST(failure_inside_the_close_send_is_not_revived) {
    /* (c) it failed with 1002 inside the send, ws_conn_close then set CLOSING over it, and
       the next feed copied the peer's bytes past the 125-byte control buffer */
    peer s;
    uint8_t junk[4096];
    peer_open(&s, WS_ROLE_SERVER);
    s.hook = hook_feed_bad_ping;
    CHECK_EQ_INT(ws_conn_close(s.c, 1000, NULL, 0), WS_ERR_PROTOCOL);
    CHECK_EQ_INT(s.hook_rc, WS_ERR_PROTOCOL);
    CHECK_EQ_INT(ws_conn_state(s.c), WS_STATE_FAILED);
    CHECK_EQ_INT(ws_conn_error(s.c), WS_ERR_PROTOCOL);
    memset(junk, 0x41, sizeof junk);
    CHECK_EQ_INT(ws_conn_feed(s.c, junk, sizeof junk), WS_ERR_PROTOCOL);
    CHECK_EQ_INT(ws_conn_state(s.c), WS_STATE_FAILED);
    /* our 1000 was on the wire first: no second close may follow it */
    CHECK_EQ_INT(wire_closes(&s), 1);
    CHECK_EQ_INT(s.closes, 1);
    CHECK_EQ_INT(s.close_code, 1002);
    peer_free(&s);
}

/* ---- 2. a reused ws_http ---------------------------------------------------------- */

static const char req_ok[] =
    "GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\nX-Long-Header-To-Make-The-First-Request-Longer: 1234567890\r\n\r\n";

TEST(reused_http_parser_validates_the_next_request) {
    /* the next request on a keep-alive connection, longer than the first, with a bad byte
       before where the first one ended: the scan went on from there and never saw it */
    static const char *const bad[] = { "Host: a\nX: 1\r\n", "Host: a\r\nX: \001\r\n" };
    size_t i;
    for (i = 0; i < 2; i++) {
        ws_http h;
        tbuf next = { 0 };
        uint8_t *first = dup_exact(req_ok, sizeof req_ok - 1), *second;
        int k;
        ws_http_init(&h, 0);
        test_context("bad request %zu", i);
        CHECK_EQ_INT(ws_http_parse_request(&h, first, sizeof req_ok - 1), WS_HS_UPGRADE);
        tbuf_puts(&next, "GET / HTTP/1.1\r\n");
        tbuf_puts(&next, bad[i]);
        tbuf_puts(&next, "X-Pad: ");
        for (k = 0; k < 300; k++) tbuf_puts(&next, "a");
        tbuf_puts(&next, "\r\n\r\n");
        if (i == 1) next.p[28] = 0;             /* the \001 becomes a NUL */
        second = dup_exact(next.p, next.len);   /* exactly its size, same ws_http */
        CHECK_EQ_INT(ws_http_parse_request(&h, second, next.len), WS_ERR_HS_MALFORMED);
        tbuf_free(&next);
        free(first);
        free(second);
    }
}

TEST(reused_http_parser_reads_no_byte_past_len) {
    /* the second head is shorter than the first: the walk started at the first's scan */
    static const char small[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    ws_http h;
    uint8_t *first = dup_exact(req_ok, sizeof req_ok - 1);
    uint8_t *second = dup_exact(small, sizeof small - 1);
    ws_http_init(&h, 0);
    CHECK_EQ_INT(ws_http_parse_request(&h, first, sizeof req_ok - 1), WS_HS_UPGRADE);
    CHECK_EQ_INT(ws_http_parse_request(&h, second, sizeof small - 1), WS_HS_HTTP);
    CHECK_EQ_INT(h.size, sizeof small - 1);
    CHECK_EQ_INT(h.num_headers, 1);
    CHECK(str_is(h.host, "a"));
    CHECK(str_is(h.key, NULL));                 /* nothing left of the first request */
    /* and an error is followed by a fresh start too */
    CHECK_EQ_INT(ws_http_parse_request(&h, (const char *)"GET / HTTP/1.1\n", 15),
                 WS_ERR_HS_MALFORMED);
    CHECK_EQ_INT(ws_http_parse_request(&h, second, sizeof small - 1), WS_HS_HTTP);
    free(first);
    free(second);
}

/* ---- 3. ws_conn_set_buffer mid-message ------------------------------------------- */

static uint8_t set_buffer_space[16];

static void hook_set_buffer(peer *p, const char *event) {
    if (strcmp(event, "begin") && strcmp(event, "data") && strcmp(event, "end")) return;
    p->hook_calls++;
    p->hook_rc = ws_conn_set_buffer(p->c, set_buffer_space, sizeof set_buffer_space);
    if (!strcmp(event, "end")) {
        CHECK_EQ_INT(p->hook_rc, WS_OK);        /* between messages: allowed */
    } else {
        CHECK_EQ_INT(p->hook_rc, WS_ERR_STATE); /* half a message in: refused */
    }
}

TEST(set_buffer_mid_message_is_refused) {
    peer s;
    tbuf in = { 0 };
    uint8_t big[1000];
    memset(big, 'z', sizeof big);
    peer_open(&s, WS_ROLE_SERVER);
    s.hook = hook_set_buffer;
    /* a fragmented message (size unknown in on_begin) whose next part is far larger than
       the 16 bytes the buffer would hold */
    put_frame(&in, &s, 0, WS_OP_BINARY, "ab", 2);
    put_frame(&in, &s, 1, WS_OP_CONT, big, sizeof big);
    CHECK_EQ_INT(ws_conn_feed(s.c, in.p, in.len), WS_OK);
    CHECK(s.hook_calls >= 3);
    CHECK_EQ_INT(ws_conn_state(s.c), WS_STATE_OPEN);
    /* the buffer given in on_end collects the next message whole */
    s.hook = NULL;
    tbuf_free(&s.log);
    CHECK_EQ_INT(feed_frame(&s, 1, WS_OP_TEXT, "hello", 5), WS_OK);
    CHECK_EQ_STR(tbuf_str(&s.log), " M1:hello");
    /* and one larger than it gets 1009, with no byte written past it */
    CHECK_EQ_INT(feed_frame(&s, 1, WS_OP_BINARY, big, 17), WS_ERR_TOO_BIG);
    tbuf_free(&in);
    peer_free(&s);
}

/* ---- 4. sends made inside the send callback --------------------------------------- */

static void hook_send_inside_send(peer *p, const char *event) {
    if (strcmp(event, "send") || p->hook_calls++) return;
    p->hook_rc = ws_conn_send(p->c, WS_OP_TEXT, "inner", 5);
}

TEST(send_inside_send_is_busy_and_frames_stay_whole) {
    /* a client frame of more than WS_MASK_CHUNK bytes goes out in several calls: a send
       made inside the first landed in the middle of its payload */
    peer cl;
    uint8_t big[1000];
    sframe f[MAX_SFRAMES];
    size_t n;
    memset(big, 'q', sizeof big);
    peer_open(&cl, WS_ROLE_CLIENT);
    cl.hook = hook_send_inside_send;
    CHECK_EQ_INT(ws_conn_send(cl.c, WS_OP_BINARY, big, sizeof big), WS_OK);
    CHECK_EQ_INT(cl.hook_rc, WS_ERR_BUSY);
    n = wire_frames(&cl, f, MAX_SFRAMES);
    CHECK_EQ_INT(n, 1);
    if (n == 1) CHECK_EQ_MEM(f[0].payload, (size_t)f[0].len, big, sizeof big);
    sframes_free(f, n);
    /* the connection is unchanged by the refused call */
    CHECK_EQ_INT(ws_conn_state(cl.c), WS_STATE_OPEN);
    CHECK_EQ_INT(ws_conn_send(cl.c, WS_OP_TEXT, "next", 4), WS_OK);
    peer_free(&cl);
}

static void hook_close_inside_echo(peer *p, const char *event) {
    if (strcmp(event, "send") || p->hook_calls++) return;
    p->hook_rc = ws_conn_close(p->c, 1001, NULL, 0);
}

TEST(close_inside_the_close_echo_sends_one_close) {
    peer s;
    uint8_t body[2] = { 0x03, 0xE8 };
    peer_open(&s, WS_ROLE_SERVER);
    s.hook = hook_close_inside_echo;
    CHECK_EQ_INT(feed_frame(&s, 1, WS_OP_CLOSE, body, 2), WS_OK);
    CHECK_EQ_INT(s.hook_rc, WS_ERR_BUSY);
    CHECK_EQ_INT(wire_closes(&s), 1);
    CHECK_EQ_INT(ws_conn_state(s.c), WS_STATE_CLOSED);
    CHECK_EQ_INT(s.closes, 1);
    peer_free(&s);
}

static void hook_payload_inside_payload(peer *p, const char *event) {
    if (strcmp(event, "send") || p->hook_calls++) return;
    p->hook_rc = ws_conn_send_payload(p->c, "cd", 2);
}

TEST(streamed_frame_survives_sends_inside_its_sends) {
    /* a nested ws_conn_send_payload that finished the frame made _tx_remaining wrap, and
       every later send failed */
    int role;
    for (role = 0; role < 2; role++) {
        peer p;
        sframe f[MAX_SFRAMES];
        size_t n;
        peer_open(&p, role ? WS_ROLE_CLIENT : WS_ROLE_SERVER);
        test_context("%s", role ? "client" : "server");
        /* the header's own send: a data send in it went out before the frame */
        p.hook = hook_send_inside_send;
        CHECK_EQ_INT(ws_conn_send_header(p.c, true, WS_OP_TEXT, 4), WS_OK);
        CHECK_EQ_INT(p.hook_rc, WS_ERR_BUSY);
        p.hook = hook_payload_inside_payload;
        p.hook_calls = 0;
        CHECK_EQ_INT(ws_conn_send_payload(p.c, "ab", 2), WS_OK);
        CHECK_EQ_INT(p.hook_rc, WS_ERR_BUSY);
        p.hook = NULL;
        CHECK_EQ_INT(ws_conn_send(p.c, WS_OP_TEXT, "x", 1), WS_ERR_STATE);  /* unfinished */
        CHECK_EQ_INT(ws_conn_send_payload(p.c, "cd", 2), WS_OK);
        CHECK_EQ_INT(ws_conn_send_payload(p.c, "e", 1), WS_ERR_ARG);
        CHECK_EQ_INT(ws_conn_send(p.c, WS_OP_TEXT, "next", 4), WS_OK);
        n = wire_frames(&p, f, MAX_SFRAMES);
        if (CHECK_EQ_INT(n, 2)) {
            CHECK_EQ_MEM(f[0].payload, (size_t)f[0].len, "abcd", 4);
            CHECK_EQ_MEM(f[1].payload, (size_t)f[1].len, "next", 4);
        }
        sframes_free(f, n);
        peer_free(&p);
    }
}

static void hook_everything_inside_send(peer *p, const char *event) {
    uint8_t b[2] = { 0, 0 };
    if (strcmp(event, "send") || p->hook_calls++) return;
    /* every call that would send is refused with WS_ERR_BUSY and changes nothing */
    CHECK_EQ_INT(ws_conn_send(p->c, WS_OP_PING, "p", 1), WS_ERR_BUSY);
    CHECK_EQ_INT(ws_conn_send_begin(p->c, WS_OP_TEXT, "a", 1), WS_ERR_BUSY);
    CHECK_EQ_INT(ws_conn_send_continue(p->c, "a", 1), WS_ERR_BUSY);
    CHECK_EQ_INT(ws_conn_send_end(p->c, "a", 1), WS_ERR_BUSY);
    CHECK_EQ_INT(ws_conn_send_header(p->c, true, WS_OP_TEXT, 1), WS_ERR_BUSY);
    CHECK_EQ_INT(ws_conn_send_payload(p->c, "a", 1), WS_ERR_BUSY);
    CHECK_EQ_INT(ws_conn_close(p->c, 1000, NULL, 0), WS_ERR_BUSY);
    CHECK_EQ_INT(ws_conn_tick(p->c, 1), WS_ERR_BUSY);
    CHECK_EQ_INT(ws_conn_send_raw(p->c, b, 2), WS_ERR_BUSY);
    CHECK_EQ_INT(ws_conn_state(p->c), WS_STATE_OPEN);
}

TEST(calls_inside_the_send_callback_are_busy) {
    peer s;
    sframe f[MAX_SFRAMES];
    size_t n;
    peer_open(&s, WS_ROLE_SERVER);
    s.hook = hook_everything_inside_send;
    CHECK_EQ_INT(ws_conn_send(s.c, WS_OP_TEXT, "outer", 5), WS_OK);
    CHECK_EQ_INT(s.hook_calls, 1);
    n = wire_frames(&s, f, MAX_SFRAMES);
    CHECK_EQ_INT(n, 1);
    sframes_free(f, n);
    peer_free(&s);
}

static void hook_feed_inside_receive(peer *p, const char *event) {
    tbuf b = { 0 };
    if (strcmp(event, "end") || p->hook_calls++) return;
    put_frame(&b, p, 1, WS_OP_TEXT, "second", 6);
    p->hook_rc = ws_conn_feed(p->c, b.p, b.len);
    tbuf_free(&b);
}

TEST(feed_inside_a_receive_callback_is_busy) {
    peer s;
    peer_open(&s, WS_ROLE_SERVER);
    s.hook = hook_feed_inside_receive;
    CHECK_EQ_INT(feed_frame(&s, 1, WS_OP_TEXT, "first", 5), WS_OK);
    CHECK_EQ_INT(s.hook_rc, WS_ERR_BUSY);
    CHECK_EQ_STR(tbuf_str(&s.log), " B1:5 D:first E");
    CHECK_EQ_INT(ws_conn_state(s.c), WS_STATE_OPEN);
    s.hook = NULL;
    CHECK_EQ_INT(feed_frame(&s, 1, WS_OP_TEXT, "third", 5), WS_OK);
    CHECK_EQ_STR(tbuf_str(&s.log), " B1:5 D:first E B1:5 D:third E");
    peer_free(&s);
}

static void hook_echo(peer *p, const char *event) {
    if (!strcmp(event, "message") || !strcmp(event, "end"))
        p->hook_rc = ws_conn_send(p->c, WS_OP_TEXT, "echo", 4);
    else if (!strcmp(event, "control"))
        p->hook_rc = ws_conn_close(p->c, 1000, "done", 4);
}

TEST(send_and_close_from_receive_callbacks_work) {
    peer s;
    sframe f[MAX_SFRAMES];
    size_t n;
    peer_open(&s, WS_ROLE_SERVER);
    s.hook = hook_echo;
    CHECK_EQ_INT(feed_frame(&s, 1, WS_OP_TEXT, "hi", 2), WS_OK);
    CHECK_EQ_INT(s.hook_rc, WS_OK);
    CHECK_EQ_INT(feed_frame(&s, 1, WS_OP_PING, "p", 1), WS_OK);
    CHECK_EQ_INT(s.hook_rc, WS_OK);
    CHECK_EQ_INT(ws_conn_state(s.c), WS_STATE_CLOSING);
    n = wire_frames(&s, f, MAX_SFRAMES);
    if (CHECK_EQ_INT(n, 3)) {
        CHECK_EQ_INT(f[0].op, WS_OP_TEXT);
        CHECK_EQ_INT(f[1].op, WS_OP_PONG);      /* the pong before on_control's close */
        CHECK_EQ_INT(f[2].op, WS_OP_CLOSE);
    }
    sframes_free(f, n);
    peer_free(&s);
}

/* ---- 5. a pong owed behind a streamed frame -------------------------------------- */

TEST(owed_pong_holds_back_the_frames_after_its_ping) {
    /* the pong's payload is kept in _ctrl: no frame is read after the ping until it is
       out, and ws_conn_feed_part says where reading stopped */
    int role;
    for (role = 0; role < 2; role++) {
        peer s;
        sframe f[MAX_SFRAMES];
        tbuf in = { 0 };
        size_t n, used = 99, ping_len;
        peer_open(&s, role ? WS_ROLE_CLIENT : WS_ROLE_SERVER);
        test_context("%s", role ? "client" : "server");
        CHECK_EQ_INT(ws_conn_send_header(s.c, true, WS_OP_BINARY, 4), WS_OK);
        CHECK_EQ_INT(ws_conn_send_payload(s.c, "ab", 2), WS_OK);
        put_frame(&in, &s, 1, WS_OP_PING, "ping-1", 6);
        ping_len = in.len;
        put_frame(&in, &s, 1, WS_OP_PONG, "unsolicited", 11);
        put_frame(&in, &s, 1, WS_OP_TEXT, "hi", 2);
        CHECK_EQ_INT(ws_conn_feed_part(s.c, in.p, in.len, &used), WS_ERR_BUSY);
        CHECK_EQ_INT((int)used, (int)ping_len);             /* stopped right after it */
        used = 99;
        CHECK_EQ_INT(ws_conn_feed_part(s.c, in.p + ping_len, in.len - ping_len, &used),
                     WS_ERR_BUSY);                          /* still owed: nothing read */
        CHECK_EQ_INT((int)used, 0);
        CHECK_EQ_INT(ws_conn_feed(s.c, in.p + ping_len, 1), WS_ERR_BUSY);
        CHECK_EQ_STR(tbuf_str(&s.log), " P9:ping-1");
        CHECK_EQ_INT(ws_conn_state(s.c), WS_STATE_OPEN);
        CHECK_EQ_INT(ws_conn_send_payload(s.c, "cd", 2), WS_OK);     /* the pong goes */
        CHECK_EQ_INT(ws_conn_feed_part(s.c, in.p + ping_len, in.len - ping_len, &used), WS_OK);
        CHECK_EQ_INT((int)used, (int)(in.len - ping_len));
        n = wire_frames(&s, f, MAX_SFRAMES);
        if (CHECK_EQ_INT(n, 2)) {
            CHECK_EQ_INT(f[0].op, WS_OP_BINARY);
            CHECK_EQ_INT(f[1].op, WS_OP_PONG);
            CHECK_EQ_MEM(f[1].payload, (size_t)f[1].len, "ping-1", 6);
        }
        sframes_free(f, n);
        CHECK_EQ_STR(tbuf_str(&s.log), " P9:ping-1 P10:unsolicited B1:2 D:hi E");
        tbuf_free(&in);
        peer_free(&s);
    }
}

TEST(owed_pong_of_a_split_ping_and_a_split_header_after_it) {
    /* the same fed a byte at a time: the header after the ping is not begun */
    peer s;
    sframe f[MAX_SFRAMES];
    tbuf in = { 0 };
    size_t i, n, used, at = 0;
    int rc = WS_OK;
    peer_open(&s, WS_ROLE_SERVER);
    CHECK_EQ_INT(ws_conn_send_header(s.c, true, WS_OP_BINARY, 1), WS_OK);
    put_frame(&in, &s, 1, WS_OP_PING, "xyz", 3);
    put_frame(&in, &s, 1, WS_OP_PING, "second", 6);
    for (i = 0; i < in.len && rc == WS_OK; i++, at += used)
        rc = ws_conn_feed_part(s.c, in.p + i, 1, &used);
    CHECK_EQ_INT(rc, WS_ERR_BUSY);
    CHECK_EQ_INT((int)at, 2 + 4 + 3);                       /* the first ping, whole */
    CHECK_EQ_INT(ws_conn_send_payload(s.c, "!", 1), WS_OK);
    for (i = at; i < in.len; i++) CHECK_EQ_INT(ws_conn_feed(s.c, in.p + i, 1), WS_OK);
    n = wire_frames(&s, f, MAX_SFRAMES);
    if (CHECK_EQ_INT(n, 3)) {
        CHECK_EQ_MEM(f[1].payload, (size_t)f[1].len, "xyz", 3);
        CHECK_EQ_MEM(f[2].payload, (size_t)f[2].len, "second", 6);
    }
    sframes_free(f, n);
    CHECK_EQ_STR(tbuf_str(&s.log), " P9:xyz P9:second");
    tbuf_free(&in);
    peer_free(&s);
}

TEST(close_behind_a_streamed_frame_waits_for_it) {
    /* a peer's close behind a streamed frame: CLOSING (not CLOSED, which tells the caller
       to close TCP) until the frame ends and the answer goes out */
    peer s;
    sframe f[MAX_SFRAMES];
    size_t n;
    uint8_t body[2] = { 0x03, 0xE8 };
    peer_open(&s, WS_ROLE_SERVER);
    CHECK_EQ_INT(ws_conn_send_header(s.c, true, WS_OP_BINARY, 2), WS_OK);
    CHECK_EQ_INT(feed_frame(&s, 1, WS_OP_CLOSE, body, 2), WS_OK);
    CHECK_EQ_INT(ws_conn_state(s.c), WS_STATE_CLOSING);
    CHECK_EQ_INT(s.closes, 0);
    CHECK(ws_conn_deadline(s.c) != UINT64_MAX || !ws_conn_tick(s.c, 0));   /* timed */
    CHECK_EQ_INT(ws_conn_send_payload(s.c, "ab", 2), WS_OK);
    CHECK_EQ_INT(ws_conn_state(s.c), WS_STATE_CLOSED);
    CHECK_EQ_INT(s.closes, 1);
    n = wire_frames(&s, f, MAX_SFRAMES);
    if (CHECK_EQ_INT(n, 2)) {
        CHECK_EQ_INT(f[1].op, WS_OP_CLOSE);
        CHECK_EQ_MEM(f[1].payload, (size_t)f[1].len, body, 2);
    }
    sframes_free(f, n);
    peer_free(&s);
}

TEST(owed_pong_goes_out_before_the_close_read_after_it) {
    peer s;
    sframe f[MAX_SFRAMES];
    size_t n;
    uint8_t body[2] = { 0x03, 0xE8 };
    peer_open(&s, WS_ROLE_SERVER);
    CHECK_EQ_INT(ws_conn_send_header(s.c, true, WS_OP_BINARY, 2), WS_OK);
    CHECK_EQ_INT(feed_frame(&s, 1, WS_OP_PING, "x", 1), WS_OK);
    CHECK_EQ_INT(feed_frame(&s, 1, WS_OP_CLOSE, body, 2), WS_ERR_BUSY);   /* not read */
    CHECK_EQ_INT(ws_conn_state(s.c), WS_STATE_OPEN);
    CHECK_EQ_INT(ws_conn_send_payload(s.c, "ab", 2), WS_OK);
    CHECK_EQ_INT(feed_frame(&s, 1, WS_OP_CLOSE, body, 2), WS_OK);
    CHECK_EQ_INT(ws_conn_state(s.c), WS_STATE_CLOSED);
    CHECK_EQ_INT(s.closes, 1);
    n = wire_frames(&s, f, MAX_SFRAMES);
    if (CHECK_EQ_INT(n, 3)) {
        CHECK_EQ_INT(f[1].op, WS_OP_PONG);
        CHECK_EQ_MEM(f[1].payload, (size_t)f[1].len, "x", 1);
        CHECK_EQ_INT(f[2].op, WS_OP_CLOSE);
        CHECK_EQ_MEM(f[2].payload, (size_t)f[2].len, body, 2);
    }
    sframes_free(f, n);
    peer_free(&s);
}

TEST(bytes_held_back_behind_an_owed_pong_count_as_activity) {
    /* the peer is there while we hold its bytes: no timeout for silence */
    peer s;
    tbuf in = { 0 };
    peer_open(&s, WS_ROLE_SERVER);
    s.cfg.timeout_ms = 100;
    CHECK_EQ_INT(ws_conn_tick(s.c, 0), WS_OK);
    CHECK_EQ_INT(ws_conn_send_header(s.c, true, WS_OP_BINARY, 1), WS_OK);
    CHECK_EQ_INT(feed_frame(&s, 1, WS_OP_PING, "p", 1), WS_OK);     /* owed */
    CHECK_EQ_INT(ws_conn_tick(s.c, 10), WS_OK);
    put_frame(&in, &s, 1, WS_OP_TEXT, "t", 1);
    CHECK_EQ_INT(ws_conn_feed(s.c, in.p, in.len), WS_ERR_BUSY);     /* held, at 100 */
    CHECK_EQ_INT(ws_conn_tick(s.c, 100), WS_OK);
    CHECK_EQ_INT(ws_conn_tick(s.c, 150), WS_OK);                    /* 50 since them */
    CHECK_EQ_INT(ws_conn_tick(s.c, 200), WS_ERR_TIMEOUT);           /* 100 since them */
    tbuf_free(&in);
    peer_free(&s);
}

static void hook_eof_in_pong(peer *p, const char *event) {
    /* TCP ends inside the send of the pong's first chunk (a client's goes out in pieces) */
    if (strcmp(event, "send") || p->hook_calls++) return;
    p->hook_rc = ws_conn_eof(p->c);
}

TEST(eof_inside_the_pongs_send_leaves_its_payload_as_it_was) {
    /* the payload is in _ctrl, where a failure writes its close: the pong still goes out
       whole, and on_close gets 1006 */
    peer p;
    sframe f[MAX_SFRAMES];
    uint8_t big[100];
    size_t n;
    memset(big, 'q', sizeof big);
    big[99] = 'z';
    peer_open(&p, WS_ROLE_CLIENT);
    p.hook = hook_eof_in_pong;
    CHECK_EQ_INT(feed_frame(&p, 1, WS_OP_PING, big, sizeof big), WS_ERR_EOF);
    CHECK_EQ_INT(p.hook_rc, WS_ERR_EOF);
    CHECK_EQ_INT(p.closes, 1);
    CHECK_EQ_INT((int)p.close_code, WS_CLOSE_ABNORMAL);
    n = wire_frames(&p, f, MAX_SFRAMES);
    if (CHECK_EQ_INT(n, 1)) {
        CHECK_EQ_INT(f[0].op, WS_OP_PONG);
        CHECK_EQ_MEM(f[0].payload, (size_t)f[0].len, big, sizeof big);
    }
    sframes_free(f, n);
    peer_free(&p);
}

/* ---- 6. the status line ----------------------------------------------------------- */

TEST(status_line_is_strict) {
    static const char *const bad[] = {
        "HTTP/1.1 1010 X\r\n\r\n", "HTTP/1.1 101x\r\n\r\n", "HTTP/1.1 1019999\r\n\r\n",
        "HTTP/1.1 101\tX\r\n\r\n",
    };
    size_t i;
    ws_http h;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ws_http_init(&h, 0);
        test_context("%s", bad[i]);
        CHECK_EQ_INT(ws_http_parse_response(&h, bad[i], strlen(bad[i])), WS_ERR_HS_MALFORMED);
    }
    test_context(NULL);
    ws_http_init(&h, 0);
    CHECK_EQ_INT(ws_http_parse_response(&h, "HTTP/1.1 101\r\n\r\n", 16), WS_HS_UPGRADE);
    ws_http_init(&h, 0);
    CHECK_EQ_INT(ws_http_parse_response(&h, "HTTP/1.0 101 Switching Protocols\r\n\r\n", 36),
                 WS_HS_HTTP);
    CHECK_EQ_INT(ws_handshake_check(&h, "dGhlIHNhbXBsZSBub25jZQ==", NULL, NULL),
                 WS_ERR_HS_STATUS);
}

/* ---- 7. impossible frame lengths -------------------------------------------------- */

TEST(send_header_refuses_lengths_of_2_63_and_more) {
    peer s;
    peer_open(&s, WS_ROLE_SERVER);
    CHECK_EQ_INT(ws_conn_send_header(s.c, true, WS_OP_BINARY, (uint64_t)1 << 63), WS_ERR_ARG);
    CHECK_EQ_INT(ws_conn_send_header(s.c, true, WS_OP_BINARY, UINT64_MAX), WS_ERR_ARG);
    CHECK_EQ_INT(s.wire.len, 0);
    CHECK_EQ_INT(ws_conn_state(s.c), WS_STATE_OPEN);
    CHECK_EQ_INT(ws_conn_send(s.c, WS_OP_TEXT, "ok", 2), WS_OK);
    peer_free(&s);
}

/* ---- 8. freeing the connection in on_close ---------------------------------------- */

TEST(free_in_on_close_from_every_ending) {
    int how;
    for (how = 0; how < 7; how++) {
        peer p;
        uint8_t body[2] = { 0x03, 0xE8 }, bad[2] = { 0x03, 0xEC };   /* 1000; 1004 invalid */
        peer_open(&p, how == 6 ? WS_ROLE_CLIENT : WS_ROLE_SERVER);
        p.free_in_close = 1;
        test_context("ending %d", how);
        switch (how) {
        case 0: feed_frame(&p, 1, WS_OP_CLOSE, body, 2); break;       /* peer closes */
        case 1: feed_frame(&p, 1, WS_OP_CLOSE, bad, 2); break;        /* protocol error */
        case 2: feed_frame(&p, 1, WS_OP_TEXT, "\xFF", 1); break;      /* 1007 */
        case 3:                                                       /* send fails */
            p.fail_send = 1;
            ws_conn_send(p.c, WS_OP_TEXT, "x", 1);
            break;
        case 4:                                                       /* timeout */
            p.cfg.timeout_ms = 10;
            ws_conn_tick(p.c, 0);
            ws_conn_tick(p.c, 100);
            break;
        case 5: ws_conn_eof(p.c); break;                              /* TCP ended */
        case 6:                                                       /* client, we close */
            ws_conn_close(p.c, 1000, NULL, 0);
            feed_frame(&p, 1, WS_OP_CLOSE, body, 2);
            break;
        }
        CHECK_EQ_INT(p.closes, 1);
        CHECK(p.c == NULL);
        peer_free(&p);
    }
}

static void hook_reinit_in_close(peer *p, const char *event) {
    if (strcmp(event, "close")) return;
    p->hook_rc = ws_conn_init(p->c, &p->cfg, p);
}

TEST(reinit_in_on_close_leaves_a_fresh_connection) {
    peer s;
    uint8_t body[2] = { 0x03, 0xE8 };
    peer_open(&s, WS_ROLE_SERVER);
    s.hook = hook_reinit_in_close;
    CHECK_EQ_INT(feed_frame(&s, 1, WS_OP_CLOSE, body, 2), WS_OK);
    CHECK_EQ_INT(s.hook_rc, WS_OK);
    CHECK_EQ_INT(ws_conn_state(s.c), WS_STATE_CONNECTING);
    CHECK_EQ_INT(ws_conn_error(s.c), WS_OK);
    s.hook = NULL;
    CHECK_EQ_INT(ws_conn_accept(s.c, NULL, NULL), WS_OK);
    CHECK_EQ_INT(feed_frame(&s, 1, WS_OP_TEXT, "again", 5), WS_OK);
    peer_free(&s);
}

/* ---- 9. duplicate headers --------------------------------------------------------- */

static int parse_req(ws_http *h, const char *text) {
    ws_http_init(h, 0);
    return ws_http_parse_request(h, text, strlen(text));
}

TEST(duplicate_headers_keep_the_first_and_fail_the_upgrade) {
    ws_http h;
    const char *k = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    char req[512];
    snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: first.example\r\nHost: second\r\n"
             "Upgrade: websocket\r\nConnection: Upgrade\r\n%sSec-WebSocket-Version: 13\r\n\r\n", k);
    CHECK_EQ_INT(parse_req(&h, req), WS_ERR_HS_HOST);
    CHECK(str_is(h.host, "first.example"));     /* the first, with its true length */
    CHECK_EQ_INT(ws_http_status(WS_ERR_HS_HOST), 400);
    /* a plain request with two Host lines is a 400 too (RFC 9112 3.2) */
    CHECK_EQ_INT(parse_req(&h, "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), WS_ERR_HS_HOST);
    snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\n%s%sSec-WebSocket-Version: 13\r\n\r\n", k, k);
    CHECK_EQ_INT(parse_req(&h, req), WS_ERR_HS_REPEATED);
    CHECK_EQ_INT(h.key.len, 24);
    snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\n%sSec-WebSocket-Version: 13\r\nSec-WebSocket-Version: 13\r\n\r\n", k);
    CHECK_EQ_INT(parse_req(&h, req), WS_ERR_HS_REPEATED);
    CHECK_EQ_INT(ws_http_status(WS_ERR_HS_REPEATED), 400);
    /* handshake headers without Upgrade: websocket are a failed handshake, not plain HTTP */
    snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n%s"
             "Sec-WebSocket-Version: 13\r\n\r\n", k);
    CHECK_EQ_INT(parse_req(&h, req), WS_ERR_HS_NO_UPGRADE);
    CHECK_EQ_INT(ws_http_status(WS_ERR_HS_NO_UPGRADE), 400);
    CHECK_EQ_INT(parse_req(&h, "GET / HTTP/1.1\r\nHost: a\r\nSec-WebSocket-Version: 13\r\n\r\n"),
                 WS_ERR_HS_NO_UPGRADE);
    CHECK_EQ_INT(parse_req(&h, "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n\r\n"),
                 WS_HS_HTTP);
}

TEST(response_with_two_accept_headers_is_refused) {
    ws_http h;
    const char *r = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    "Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
    ws_http_init(&h, 0);
    CHECK_EQ_INT(ws_http_parse_response(&h, r, strlen(r)), WS_HS_UPGRADE);
    CHECK_EQ_INT(ws_handshake_check(&h, "dGhlIHNhbXBsZSBub25jZQ==", NULL, NULL),
                 WS_ERR_HS_ACCEPT);
}

/* ---- 10. what the connection keeps by pointer ------------------------------------- */

static int connect_and_check(const char *answer_ext, int fail_random) {
    peer cl;
    ws_http h;
    char key[25], accept[29], resp[512];
    int rc;
    peer_open(&cl, WS_ROLE_CLIENT);
    ws_conn_init(cl.c, &cl.cfg, &cl);
    cl.fail_random = fail_random;
    {
        ws_client_opts o;                       /* gone after ws_conn_connect */
        memset(&o, 0, sizeof o);
        o.host = "example.com";
        o.extensions = "x-one, x-two; p=\"a,b\"";
        rc = ws_conn_connect(cl.c, &o);
        memset(&o, 0xEE, sizeof o);
    }
    if (rc) {
        if (fail_random) {
            CHECK_EQ_INT(rc, WS_ERR_RANDOM);
            CHECK_EQ_INT(ws_conn_state(cl.c), WS_STATE_FAILED);
            CHECK_EQ_INT(ws_conn_error(cl.c), WS_ERR_RANDOM);
            CHECK_EQ_INT(cl.wire.len, 0);
        }
        peer_free(&cl);
        return rc;
    }
    /* the key the request carried */
    {
        const char *k = strstr((const char *)tbuf_str(&cl.wire), "Sec-WebSocket-Key: ");
        memcpy(key, k + 19, 24);
        key[24] = 0;
    }
    ws_accept_key(key, 24, accept);
    snprintf(resp, sizeof resp, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s%s%s\r\n", accept,
             answer_ext ? "Sec-WebSocket-Extensions: " : "", answer_ext ? answer_ext : "",
             answer_ext ? "\r\n" : "");
    ws_http_init(&h, 0);
    CHECK_EQ_INT(ws_http_parse_response(&h, resp, strlen(resp)), WS_HS_UPGRADE);
    rc = ws_conn_connected(cl.c, &h);
    peer_free(&cl);
    return rc;
}

TEST(connect_keeps_only_the_offer_strings) {
    CHECK_EQ_INT(connect_and_check(NULL, 0), WS_OK);
    CHECK_EQ_INT(connect_and_check("x-two; p=\"a,b\"", 0), WS_OK);    /* quoted comma */
    CHECK_EQ_INT(connect_and_check("x-three", 0), WS_ERR_HS_EXTENSION);
    /* a random callback that fails leaves it FAILED, not CONNECTING with no error */
    CHECK_EQ_INT(connect_and_check(NULL, 1), WS_ERR_RANDOM);
}

/* ---- 11. the manual's promises ----------------------------------------------------- */

TEST(bytes_out_are_bounded_by_bytes_in) {
    /* "a server never sends more than it was fed, plus one close frame (127 bytes); a client
       at most three times as much, plus one close frame (131)" */
    int role;
    for (role = 0; role < 2; role++) {
        peer p;
        tbuf in = { 0 };
        int i;
        peer_open(&p, role ? WS_ROLE_CLIENT : WS_ROLE_SERVER);
        for (i = 0; i < 10000; i++) put_frame(&in, &p, 1, WS_OP_PING, NULL, 0);
        put_frame(&in, &p, 1, WS_OP_CLOSE, "\x03\xE8", 2);
        test_context("%s", role ? "client" : "server");
        CHECK_EQ_INT(ws_conn_feed(p.c, in.p, in.len), WS_OK);
        CHECK(p.wire.len <= (role ? 3 * in.len + 131 : in.len + 127));
        /* 10000 pongs and the close's answer: 2 + 2 bytes each from a server, 6 + 8 from
           a client (masked), against pings of 6 and 2 bytes */
        CHECK_EQ_INT(p.wire.len, role ? 10000 * 6 + 8 : 10000 * 2 + 4);
        tbuf_free(&in);
        peer_free(&p);
    }
}

TEST(reject_returns_the_sticky_error) {
    int fail;
    for (fail = 0; fail < 2; fail++) {
        peer s;
        int rc;
        memset(&s, 0, sizeof s);
        s.cfg.send = p_send;
        s.c = (ws_conn *)malloc(sizeof *s.c);
        ws_conn_init(s.c, &s.cfg, &s);
        s.fail_send = fail;
        rc = ws_conn_reject(s.c, WS_ERR_HS_VERSION);
        CHECK_EQ_INT(rc, fail ? WS_ERR_IO : WS_ERR_HS_VERSION);
        CHECK_EQ_INT(ws_conn_error(s.c), rc);
        CHECK_EQ_INT(ws_conn_state(s.c), WS_STATE_FAILED);
        CHECK_EQ_INT(ws_conn_send(s.c, WS_OP_TEXT, "x", 1), rc);
        peer_free(&s);
    }
}

TEST(client_refuses_an_upgrade_list) {
    ws_http h;
    const char *r = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket, h2c\r\n"
                    "Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
    ws_http_init(&h, 0);
    CHECK_EQ_INT(ws_http_parse_response(&h, r, strlen(r)), WS_HS_UPGRADE);
    CHECK_EQ_INT(ws_handshake_check(&h, "dGhlIHNhbXBsZSBub25jZQ==", NULL, NULL),
                 WS_ERR_HS_UPGRADE);
}

TEST(token_lists_keep_quoted_commas) {
    ws_str list, t;
    const char *s = "permessage-deflate; x=\"a,b\\\"c,\", other";
    int n = 0;
    list.ptr = s;
    list.len = strlen(s);
    while (ws_token_next(&list, &t)) {
        n++;
        if (n == 1) CHECK(t.len == strlen("permessage-deflate; x=\"a,b\\\"c,\""));
        if (n == 2) CHECK(str_is(t, "other"));
    }
    CHECK_EQ_INT(n, 2);
}

/* ---- 12. end of stream -------------------------------------------------------------- */

TEST(eof_reports_1006_once) {
    peer s, cl;
    uint8_t body[2] = { 0x03, 0xE8 };
    peer_open(&s, WS_ROLE_SERVER);
    CHECK_EQ_INT(ws_conn_eof(s.c), WS_ERR_EOF);
    CHECK_EQ_INT(ws_conn_state(s.c), WS_STATE_FAILED);
    CHECK_EQ_INT(s.closes, 1);
    CHECK_EQ_INT(s.close_code, 1006);
    CHECK_EQ_INT(ws_conn_eof(s.c), WS_ERR_EOF);
    CHECK_EQ_INT(s.closes, 1);
    peer_free(&s);
    /* after a finished close handshake EOF is the normal end */
    peer_open(&s, WS_ROLE_SERVER);
    CHECK_EQ_INT(feed_frame(&s, 1, WS_OP_CLOSE, body, 2), WS_OK);
    CHECK_EQ_INT(ws_conn_eof(s.c), WS_OK);
    CHECK_EQ_INT(ws_conn_state(s.c), WS_STATE_CLOSED);
    CHECK_EQ_INT(s.closes, 1);
    CHECK_EQ_INT(s.close_code, 1000);
    peer_free(&s);
    /* a client waiting for the server's close: 1006 */
    peer_open(&cl, WS_ROLE_CLIENT);
    CHECK_EQ_INT(ws_conn_close(cl.c, 1000, NULL, 0), WS_OK);
    CHECK_EQ_INT(ws_conn_eof(cl.c), WS_ERR_EOF);
    CHECK_EQ_INT(cl.close_code, 1006);
    peer_free(&cl);
    /* during the handshake: failed, and no on_close */
    memset(&s, 0, sizeof s);
    s.cfg.send = p_send;
    s.cfg.on_close = p_close;
    s.c = (ws_conn *)malloc(sizeof *s.c);
    ws_conn_init(s.c, &s.cfg, &s);
    CHECK_EQ_INT(ws_conn_eof(s.c), WS_ERR_EOF);
    CHECK_EQ_INT(s.closes, 0);
    peer_free(&s);
}

/* ---- wired connections talking ------------------------------------------------------ */

static void hook_echo_wired(peer *p, const char *event) {
    if (!strcmp(event, "end") && p->cfg.role == WS_ROLE_SERVER)
        p->hook_rc = ws_conn_send(p->c, WS_OP_TEXT, "echo", 4);
}

TEST(wired_echo_with_pings_settles) {
    /* the client's send feeds the server, whose echo and pong feed the client from inside
       that send: busy feeds are queued, owed pongs go out when the frame is done */
    peer s, cl;
    int i;
    pair_open(&s, &cl);
    s.hook = hook_echo_wired;
    for (i = 0; i < 5; i++) {
        CHECK_EQ_INT(ws_conn_send(cl.c, WS_OP_TEXT, "hi", 2), WS_OK);
        CHECK_EQ_INT(ws_conn_send(cl.c, WS_OP_PING, "p", 1), WS_OK);
        CHECK_EQ_INT(ws_conn_send(s.c, WS_OP_PING, "q", 1), WS_OK);
        pump(&s, &cl);
    }
    CHECK_EQ_INT(ws_conn_close(cl.c, 1000, NULL, 0), WS_OK);
    pump(&s, &cl);
    CHECK_EQ_INT(ws_conn_state(s.c), WS_STATE_CLOSED);
    CHECK_EQ_INT(ws_conn_state(cl.c), WS_STATE_CLOSED);
    CHECK_EQ_INT(wire_closes(&s), 1);
    CHECK_EQ_INT(wire_closes(&cl), 1);
    /* every ping answered with its payload (5 pongs each way), every message echoed */
    {
        const char *l = tbuf_str(&cl.log), *q = l;
        int pongs = 0, echoes = 0;
        while ((q = strstr(q, "P10:p")) != NULL) { pongs++; q++; }
        q = l;
        while ((q = strstr(q, "D:echo")) != NULL) { echoes++; q++; }
        CHECK_EQ_INT(pongs, 5);
        CHECK_EQ_INT(echoes, 5);
        l = tbuf_str(&s.log);
        q = l;
        pongs = 0;
        while ((q = strstr(q, "P10:q")) != NULL) { pongs++; q++; }
        CHECK_EQ_INT(pongs, 5);
    }
    peer_free(&s);
    peer_free(&cl);
}

/* ---- found by fuzz_calls ------------------------------------------------------------ */

static void hook_ping_inside_pong(peer *p, const char *event) {
    /* inside the writing of the owed pong (its key, or its first chunk), a second ping */
    tbuf b = { 0 };
    if ((strcmp(event, "send") && strcmp(event, "random")) || p->hook_calls++) return;
    put_frame(&b, p, 1, WS_OP_PING, "BB", 2);
    p->hook_rc = ws_conn_feed(p->c, b.p, b.len);
    if (p->hook_rc == WS_ERR_BUSY) tbuf_put(&p->queue, b.p, b.len);
    tbuf_free(&b);
}

static int p_random_hooked(ws_conn *c, void *out, size_t n) {
    int r = p_random(c, out, n);
    p_event(peer_of(c), "random");
    return r;
}

TEST(a_pong_keeps_its_payload_while_it_goes_out) {
    int role;
    for (role = 0; role < 2; role++) {
        peer p;
        sframe f[MAX_SFRAMES];
        size_t n;
        peer_open(&p, role ? WS_ROLE_CLIENT : WS_ROLE_SERVER);
        p.cfg.random = p_random_hooked;
        p.hook = hook_ping_inside_pong;
        test_context("%s", role ? "client" : "server");
        CHECK_EQ_INT(feed_frame(&p, 1, WS_OP_PING, "AAAA", 4), WS_OK);
        CHECK_EQ_INT(p.hook_rc, WS_ERR_BUSY);       /* refused while the pong goes out */
        p.hook = NULL;
        pump(&p, &p);                               /* the queued ping, fed after */
        n = wire_frames(&p, f, MAX_SFRAMES);
        if (CHECK_EQ_INT(n, 2)) {
            CHECK_EQ_MEM(f[0].payload, (size_t)f[0].len, "AAAA", 4);
            CHECK_EQ_MEM(f[1].payload, (size_t)f[1].len, "BB", 2);
        }
        sframes_free(f, n);
        peer_free(&p);
    }
}

static void hook_inside_nonce(peer *p, const char *event) {
    if (strcmp(event, "random") || p->hook_calls++) return;
    p->hook_rc = ws_conn_connect(p->c, NULL);
}

static void hook_eof_inside_nonce(peer *p, const char *event) {
    if (strcmp(event, "random") || p->hook_calls++) return;
    p->hook_rc = ws_conn_eof(p->c);
}

static void hook_eof_inside_request(peer *p, const char *event) {
    if (strcmp(event, "send") || p->hook_calls++) return;
    p->hook_rc = ws_conn_eof(p->c);
}

TEST(calls_inside_connects_callbacks) {
    /* inside the random callback that draws the nonce, calls are refused (connect twice)
       or end the connection (eof): nothing goes out then; and a connection that fails
       inside its request's send gets its sticky error from ws_conn_connect */
    int k;
    for (k = 0; k < 3; k++) {
        peer cl;
        ws_client_opts o;
        int rc;
        peer_open(&cl, WS_ROLE_CLIENT);
        ws_conn_init(cl.c, &cl.cfg, &cl);
        cl.cfg.random = p_random_hooked;
        cl.hook = k == 0 ? hook_inside_nonce : k == 1 ? hook_eof_inside_nonce
                                                      : hook_eof_inside_request;
        memset(&o, 0, sizeof o);
        o.host = "example.com";
        test_context("case %d", k);
        rc = ws_conn_connect(cl.c, &o);
        if (k == 0) {
            CHECK_EQ_INT(cl.hook_rc, WS_ERR_BUSY);
            CHECK_EQ_INT(rc, WS_OK);
            CHECK(strstr(tbuf_str(&cl.wire), "GET / HTTP/1.1") != NULL);
            CHECK(strstr(strstr(tbuf_str(&cl.wire), "GET ") + 4, "GET ") == NULL);  /* once */
        } else {
            CHECK_EQ_INT(cl.hook_rc, WS_ERR_EOF);
            CHECK_EQ_INT(rc, WS_ERR_EOF);
            CHECK_EQ_INT(ws_conn_state(cl.c), WS_STATE_FAILED);
            if (k == 1) CHECK_EQ_INT(cl.wire.len, 0);   /* nothing went out */
        }
        peer_free(&cl);
    }
}

void suite_contract(void) {
    test_suite_begin("contract");
    RUN(close_between_wired_connections_ends_both_once);
    RUN(failure_inside_the_close_send_is_not_revived);
    RUN(reused_http_parser_validates_the_next_request);
    RUN(reused_http_parser_reads_no_byte_past_len);
    RUN(set_buffer_mid_message_is_refused);
    RUN(send_inside_send_is_busy_and_frames_stay_whole);
    RUN(close_inside_the_close_echo_sends_one_close);
    RUN(streamed_frame_survives_sends_inside_its_sends);
    RUN(calls_inside_the_send_callback_are_busy);
    RUN(feed_inside_a_receive_callback_is_busy);
    RUN(send_and_close_from_receive_callbacks_work);
    RUN(owed_pong_holds_back_the_frames_after_its_ping);
    RUN(owed_pong_of_a_split_ping_and_a_split_header_after_it);
    RUN(close_behind_a_streamed_frame_waits_for_it);
    RUN(owed_pong_goes_out_before_the_close_read_after_it);
    RUN(bytes_held_back_behind_an_owed_pong_count_as_activity);
    RUN(eof_inside_the_pongs_send_leaves_its_payload_as_it_was);
    RUN(status_line_is_strict);
    RUN(send_header_refuses_lengths_of_2_63_and_more);
    RUN(free_in_on_close_from_every_ending);
    RUN(reinit_in_on_close_leaves_a_fresh_connection);
    RUN(duplicate_headers_keep_the_first_and_fail_the_upgrade);
    RUN(response_with_two_accept_headers_is_refused);
    RUN(connect_keeps_only_the_offer_strings);
    RUN(bytes_out_are_bounded_by_bytes_in);
    RUN(reject_returns_the_sticky_error);
    RUN(client_refuses_an_upgrade_list);
    RUN(token_lists_keep_quoted_commas);
    RUN(eof_reports_1006_once);
    RUN(wired_echo_with_pings_settles);
    RUN(a_pong_keeps_its_payload_while_it_goes_out);
    RUN(calls_inside_connects_callbacks);
    test_suite_end();
}
