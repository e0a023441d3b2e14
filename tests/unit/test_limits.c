/* test_limits.c - every resource bound of ws.h's LIMITS table, at the limit and one past it:
   what a hostile peer can make a connection spend (fragments, control frames, time) and
   what the library asks the caller to send in answer. Head size and header count, frame
   and message size, and the close timeout have their own tests beside the code they bound
   (test_handshake_server.c, test_frame.c, test_keepalive.c); this file covers the rest
   and the defaults. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#define T0 5000000u

/* A message of n fragments (1 byte each, the last one FIN), masked as a client sends. */
static void fragments(tbuf *in, size_t n) {
    size_t i;
    for (i = 0; i < n; i++)
        frame_put(in, i + 1 == n, 0, i ? WS_OP_CONT : WS_OP_BINARY, "f", 1, test_key);
}

TEST(fragment_count_at_and_over_the_limit) {
    tbuf in = { 0 };
    h_setup s = setup_server();
    s.cfg.max_fragments = 3;
    fragments(&in, 3);
    EXPECT_FEED(&s, in.p, in.len, WS_OK, "B2:? D:fff E", -1, WS_STATE_OPEN);
    in.len = 0;
    fragments(&in, 4);
    EXPECT_FEED(&s, in.p, in.len, WS_ERR_TOO_BIG, "B2:? X1009:*", 1009, WS_STATE_FAILED);
    /* the count starts again with each message; control frames between don't count */
    in.len = 0;
    fragments(&in, 3);
    frame_put(&in, 1, 0, WS_OP_PING, "p", 1, test_key);
    fragments(&in, 3);
    EXPECT_FEED(&s, in.p, in.len, WS_OK, "B2:? D:fff E P9:p B2:? D:fff E", 0, WS_STATE_OPEN);
    tbuf_free(&in);
}

TEST(fragment_count_default_131072) {
    /* Autobahn 9.3.1 sends 4 MiB in 64-byte fragments: 65536 of them must pass. Empty
       fragments cost the peer 6 bytes each and nothing else, so without a count a message
       could go on for ever. */
    tbuf in = { 0 };
    harness h;
    size_t i;
    for (i = 0; i < 131072; i++)
        frame_put(&in, 0, 0, i ? WS_OP_CONT : WS_OP_TEXT, NULL, 0, test_key);
    frame_put(&in, 1, 0, WS_OP_CONT, NULL, 0, test_key);     /* one more: 131073 */
    if (h_open(&h, NULL) == 0) {
        CHECK_EQ_INT(ws_conn_feed(&h.conn, in.p, in.len - 6), WS_OK);
        CHECK_EQ_INT(ws_conn_state(&h.conn), WS_STATE_OPEN);
        CHECK_EQ_INT(ws_conn_feed(&h.conn, in.p + in.len - 6, 6), WS_ERR_TOO_BIG);
        CHECK_CLOSE_SENT(h.sent.p, h.sent.len, 0, 1009);
        CHECK_EQ_INT(h.close_code, 1009);
    }
    h_free(&h);
    tbuf_free(&in);
}

TEST(ping_flood_output_never_exceeds_input) {
    /* 2000 pings in one buffer: each answered by one pong with its payload, and the bytes
       handed to the send callback are fewer than the bytes fed (a pong is 4 bytes shorter
       than the masked ping it answers). */
    tbuf in = { 0 };
    harness h;
    uint8_t body[125];
    size_t i, n = 0;
    for (i = 0; i < sizeof body; i++) body[i] = (uint8_t)i;
    for (i = 0; i < 2000; i++)
        frame_put(&in, 1, 0, WS_OP_PING, body, i % 126, test_key);
    if (h_open(&h, NULL) == 0) {
        sframe *f = (sframe *)calloc(2000, sizeof *f);
        CHECK_EQ_INT(ws_conn_feed(&h.conn, in.p, in.len), WS_OK);
        CHECK(h.sent.len < in.len);
        CHECK(f && sframes_parse(h.sent.p, h.sent.len, f, 2000, &n) == 0);
        CHECK_EQ_INT(n, 2000);
        for (i = 0; f && i < n; i++) {
            if (f[i].op != WS_OP_PONG || f[i].len != i % 126 || f[i].masked ||
                (f[i].len && memcmp(f[i].payload, body, f[i].len) != 0)) {
                FAIL("pong %lu is not the answer to ping %lu", (unsigned long)i,
                     (unsigned long)i);
                break;
            }
        }
        if (f) sframes_free(f, n);
        free(f);
    }
    h_free(&h);
    tbuf_free(&in);
}

TEST(slowloris_handshake_dropped_at_the_deadline) {
    /* A server calls ws_conn_init at accept() and ticks while the head trickles in: the
       deadline is the default 10 s after the first tick, whatever the peer sends. */
    harness h;
    h_setup s = setup_server();
    uint64_t t = T0;
    if (h_init(&h, &s) == 0) {
        CHECK_EQ_INT(ws_conn_tick(&h.conn, t), WS_OK);
        CHECK_EQ_U64(ws_conn_deadline(&h.conn), T0 + 10000);
        for (t = T0 + 1000; t < T0 + 10000; t += 1000) {     /* a byte a second */
            CHECK_EQ_INT(ws_conn_tick(&h.conn, t), WS_OK);
            CHECK_EQ_U64(ws_conn_deadline(&h.conn), T0 + 10000);
        }
        CHECK_EQ_INT(ws_conn_tick(&h.conn, T0 + 10000), WS_ERR_TIMEOUT);
        CHECK_EQ_INT(ws_conn_state(&h.conn), WS_STATE_FAILED);
        CHECK_EQ_INT(h.sent.len, 0);        /* nothing to say to a peer that never spoke */
        CHECK_EQ_INT(h.close_calls, 0);     /* it never opened */
    }
    h_free(&h);
}

TEST(header_state_is_bounded) {
    /* A frame header arriving one byte per call is kept in 14 bytes; a 2^63-1 length is
       refused from the header alone (1009, by the default 16 MiB limit), before any
       payload is awaited. */
    static const uint8_t huge[14] = { 0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                      0xff, 1, 2, 3, 4 };
    h_setup s = setup_server();
    EXPECT_FEED(&s, huge, sizeof huge, WS_ERR_TOO_BIG, "X1009:*", 1009, WS_STATE_FAILED);
}

void suite_limits(void) {
    test_suite_begin("limits");
    RUN(fragment_count_at_and_over_the_limit);
    RUN(fragment_count_default_131072);
    RUN(ping_flood_output_never_exceeds_input);
    RUN(slowloris_handshake_dropped_at_the_deadline);
    RUN(header_state_is_bounded);
    test_suite_end();
}
