/* test_keepalive.c - ws_conn_tick and ws_conn_deadline with a fake clock: keepalive pings
   after ping_interval_ms of silence, WS_ERR_TIMEOUT after timeout_ms, activity noted by
   ws_conn_feed and timed at the next tick, close_timeout_ms and handshake_timeout_ms.

   Where the header leaves a boundary open ("after 1000 ms": at 1000 or at 1001?), the
   tests hold the library to its own word instead: ws_conn_deadline must name the moment,
   a tick just before it does nothing, and a tick at it acts. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#define T0 1000000u     /* the fake clock's first reading; any epoch is allowed */

/* Frames h sent since the last clear: how many, and whether the last is a ping. */
static int sent_frames(harness *h, int *last_op) {
    sframe f[MAX_SFRAMES];
    size_t n = 0;
    *last_op = -1;
    if (sframes_parse(h->sent.p, h->sent.len, f, MAX_SFRAMES, &n) < 0)
        return -1;
    if (n)
        *last_op = f[n - 1].op;
    sframes_free(f, n);
    return (int)n;
}

static h_setup keepalive_setup(uint32_t ping, uint32_t timeout) {
    h_setup s = setup_server();
    s.cfg.ping_interval_ms = ping;
    s.cfg.timeout_ms = timeout;
    return s;
}

TEST(no_timers_no_deadline) {
    harness h;
    if (h_open(&h, NULL) == 0) {
        CHECK_EQ_INT(ws_conn_tick(&h.conn, T0), WS_OK);
        CHECK_EQ_U64(ws_conn_deadline(&h.conn), UINT64_MAX);
        CHECK_EQ_INT(ws_conn_tick(&h.conn, T0 + 86400000u), WS_OK);
        CHECK_EQ_INT(h.sent.len, 0);
        CHECK_EQ_INT(ws_conn_state(&h.conn), WS_STATE_OPEN);
    }
    h_free(&h);
}

TEST(ping_after_interval_of_silence) {
    harness h;
    h_setup s = keepalive_setup(1000, 0);
    int op;
    uint64_t d;
    if (h_open(&h, &s) == 0) {
        CHECK_EQ_INT(ws_conn_tick(&h.conn, T0), WS_OK);     /* the first reading: no ping */
        CHECK_EQ_INT(h.sent.len, 0);
        d = ws_conn_deadline(&h.conn);
        CHECK(d == T0 + 1000 || d == T0 + 1001);
        CHECK_EQ_INT(ws_conn_tick(&h.conn, T0 + 500), WS_OK);
        CHECK_EQ_U64(ws_conn_deadline(&h.conn), d);
        CHECK_EQ_INT(ws_conn_tick(&h.conn, d - 1), WS_OK);
        CHECK_EQ_INT(h.sent.len, 0);
        CHECK_EQ_INT(ws_conn_tick(&h.conn, d), WS_OK);
        CHECK_EQ_INT(sent_frames(&h, &op), 1);
        CHECK_EQ_INT(op, WS_OP_PING);
        CHECK_EQ_INT(ws_conn_state(&h.conn), WS_STATE_OPEN);
        /* the next deadline is later, and nothing more goes out before it */
        CHECK(ws_conn_deadline(&h.conn) > d);
        h_clear_sent(&h);
        CHECK_EQ_INT(ws_conn_tick(&h.conn, d), WS_OK);
        CHECK_EQ_INT(h.sent.len, 0);
    }
    h_free(&h);
}

TEST(timeout_after_silence) {
    harness h;
    h_setup s = keepalive_setup(1000, 3000);
    uint64_t t;
    if (h_open(&h, &s) == 0) {
        CHECK_EQ_INT(ws_conn_tick(&h.conn, T0), WS_OK);
        /* tick every 100 ms without any input: pings, then the timeout */
        for (t = T0 + 100; t < T0 + 2999; t += 100)
            if (!CHECK_EQ_INT(ws_conn_tick(&h.conn, t), WS_OK))
                break;
        CHECK_EQ_INT(ws_conn_state(&h.conn), WS_STATE_OPEN);
        CHECK(h.sent.len > 0);          /* at least one keepalive ping went out */
        CHECK(ws_conn_deadline(&h.conn) <= T0 + 3001);
        h_clear_sent(&h);
        CHECK_EQ_INT(ws_conn_tick(&h.conn, T0 + 3001), WS_ERR_TIMEOUT);
        CHECK_EQ_INT(ws_conn_state(&h.conn), WS_STATE_FAILED);
        CHECK_EQ_INT(ws_conn_error(&h.conn), WS_ERR_TIMEOUT);
        CHECK_EQ_INT(h.sent.len, 0);        /* "nothing (the peer is gone)" */
        CHECK_EQ_INT(h.close_calls, 1);
        CHECK_EQ_INT(h.close_code, 1006);
        /* sticky */
        CHECK_EQ_INT(ws_conn_tick(&h.conn, T0 + 4000), WS_ERR_TIMEOUT);
        CHECK_EQ_INT(h.close_calls, 1);
    }
    h_free(&h);
}

TEST(timeout_deadline_is_exact) {
    harness h;
    h_setup s = keepalive_setup(0, 3000);
    uint64_t d;
    if (h_open(&h, &s) == 0) {
        CHECK_EQ_INT(ws_conn_tick(&h.conn, T0), WS_OK);
        d = ws_conn_deadline(&h.conn);
        CHECK(d == T0 + 3000 || d == T0 + 3001);
        CHECK_EQ_INT(ws_conn_tick(&h.conn, d - 1), WS_OK);
        CHECK_EQ_INT(h.sent.len, 0);        /* no pings configured */
        CHECK_EQ_INT(ws_conn_tick(&h.conn, d), WS_ERR_TIMEOUT);
    }
    h_free(&h);
}

TEST(input_resets_the_idle_timer) {
    harness h;
    h_setup s = keepalive_setup(1000, 3000);
    tbuf pong = { 0 };
    int op;
    frame_put(&pong, 1, 0, WS_OP_PONG, "", 0, test_key);
    if (h_open(&h, &s) == 0) {
        uint8_t *copy;
        CHECK_EQ_INT(ws_conn_tick(&h.conn, T0), WS_OK);
        CHECK_EQ_INT(ws_conn_tick(&h.conn, T0 + 900), WS_OK);
        copy = dup_exact(pong.p, pong.len);
        CHECK_EQ_INT(ws_conn_feed(&h.conn, copy, pong.len), WS_OK);   /* at about T0 + 950 */
        free(copy);
        /* the feed is timed at the next tick, T0 + 1000: no ping is due then */
        CHECK_EQ_INT(ws_conn_tick(&h.conn, T0 + 1000), WS_OK);
        CHECK_EQ_INT(h.sent.len, 0);
        CHECK_EQ_INT(ws_conn_tick(&h.conn, T0 + 1950), WS_OK);
        CHECK_EQ_INT(h.sent.len, 0);
        CHECK(ws_conn_deadline(&h.conn) >= T0 + 2000);
        CHECK_EQ_INT(ws_conn_tick(&h.conn, T0 + 2001), WS_OK);
        CHECK_EQ_INT(sent_frames(&h, &op), 1);
        CHECK_EQ_INT(op, WS_OP_PING);
        /* and the timeout counts from that activity too: T0 + 1000 + 3000 */
        CHECK_EQ_INT(ws_conn_tick(&h.conn, T0 + 3500), WS_OK);
        CHECK_EQ_INT(ws_conn_state(&h.conn), WS_STATE_OPEN);
        CHECK_EQ_INT(ws_conn_tick(&h.conn, T0 + 4001), WS_ERR_TIMEOUT);
    }
    tbuf_free(&pong);
    h_free(&h);
}

TEST(steady_traffic_never_pings_or_times_out) {
    harness h;
    h_setup s = keepalive_setup(1000, 3000);
    tbuf msg = { 0 };
    uint64_t t;
    frame_put(&msg, 1, 0, WS_OP_TEXT, "tick", 4, test_key);
    if (h_open(&h, &s) == 0) {
        CHECK_EQ_INT(ws_conn_tick(&h.conn, T0), WS_OK);
        for (t = T0 + 400; t < T0 + 20000; t += 400) {
            uint8_t *copy = dup_exact(msg.p, msg.len);
            int rc = ws_conn_feed(&h.conn, copy, msg.len);
            free(copy);
            if (!CHECK_EQ_INT(rc, WS_OK) || !CHECK_EQ_INT(ws_conn_tick(&h.conn, t), WS_OK))
                break;
        }
        CHECK_EQ_INT(h.sent.len, 0);
        CHECK_EQ_INT(ws_conn_state(&h.conn), WS_STATE_OPEN);
    }
    tbuf_free(&msg);
    h_free(&h);
}

TEST(close_timeout) {
    harness h;
    h_setup s = setup_server();
    uint64_t d;
    s.cfg.close_timeout_ms = 500;
    if (h_open(&h, &s) == 0) {
        CHECK_EQ_INT(ws_conn_tick(&h.conn, T0), WS_OK);
        CHECK_EQ_INT(ws_conn_close(&h.conn, 1000, NULL, 0), WS_OK);
        h_clear_sent(&h);
        CHECK_EQ_INT(ws_conn_tick(&h.conn, T0 + 1), WS_OK);
        d = ws_conn_deadline(&h.conn);
        CHECK(d >= T0 + 500 && d <= T0 + 502);
        CHECK_EQ_INT(ws_conn_tick(&h.conn, T0 + 400), WS_OK);
        CHECK_EQ_INT(ws_conn_state(&h.conn), WS_STATE_CLOSING);
        CHECK_EQ_INT(ws_conn_tick(&h.conn, d - 1), WS_OK);
        CHECK_EQ_INT(ws_conn_tick(&h.conn, d), WS_ERR_TIMEOUT);
        CHECK_EQ_INT(ws_conn_state(&h.conn), WS_STATE_FAILED);
        CHECK_EQ_INT(h.sent.len, 0);
        CHECK_EQ_INT(h.close_calls, 1);
        CHECK_EQ_INT(h.close_code, 1006);
    }
    h_free(&h);
}

TEST(close_timeout_default_5000) {
    harness h;
    if (h_open(&h, NULL) == 0) {
        CHECK_EQ_INT(ws_conn_tick(&h.conn, T0), WS_OK);
        CHECK_EQ_INT(ws_conn_close(&h.conn, 1001, NULL, 0), WS_OK);
        CHECK_EQ_INT(ws_conn_tick(&h.conn, T0 + 1), WS_OK);
        CHECK(ws_conn_deadline(&h.conn) >= T0 + 5000 && ws_conn_deadline(&h.conn) <= T0 + 5002);
        CHECK_EQ_INT(ws_conn_tick(&h.conn, T0 + 4990), WS_OK);
        CHECK_EQ_INT(ws_conn_state(&h.conn), WS_STATE_CLOSING);
        CHECK_EQ_INT(ws_conn_tick(&h.conn, T0 + 5002), WS_ERR_TIMEOUT);
    }
    h_free(&h);
}

TEST(close_answered_in_time) {
    harness h;
    h_setup s = setup_server();
    tbuf in = { 0 };
    s.cfg.close_timeout_ms = 500;
    frame_put(&in, 1, 0, WS_OP_CLOSE, "\x03\xe8", 2, test_key);
    if (h_open(&h, &s) == 0) {
        CHECK_EQ_INT(ws_conn_tick(&h.conn, T0), WS_OK);
        CHECK_EQ_INT(ws_conn_close(&h.conn, 1000, NULL, 0), WS_OK);
        CHECK_EQ_INT(ws_conn_tick(&h.conn, T0 + 100), WS_OK);
        CHECK_EQ_INT(ws_conn_feed(&h.conn, in.p, in.len), WS_OK);
        CHECK_EQ_INT(ws_conn_state(&h.conn), WS_STATE_CLOSED);
        CHECK_EQ_INT(ws_conn_tick(&h.conn, T0 + 10000), WS_OK);
        CHECK_EQ_INT(ws_conn_state(&h.conn), WS_STATE_CLOSED);
        CHECK_EQ_U64(ws_conn_deadline(&h.conn), UINT64_MAX);
        CHECK_EQ_INT(h.close_calls, 1);
        CHECK_EQ_INT(h.close_code, 1000);
    }
    tbuf_free(&in);
    h_free(&h);
}

TEST(handshake_timeout) {
    harness h;
    h_setup s = setup_server();
    uint64_t d;
    s.cfg.handshake_timeout_ms = 2000;
    if (h_init(&h, &s) == 0) {
        CHECK_EQ_INT(ws_conn_tick(&h.conn, T0), WS_OK);     /* CONNECTING from here */
        d = ws_conn_deadline(&h.conn);
        CHECK(d == T0 + 2000 || d == T0 + 2001);
        CHECK_EQ_INT(ws_conn_tick(&h.conn, d - 1), WS_OK);
        CHECK_EQ_INT(ws_conn_state(&h.conn), WS_STATE_CONNECTING);
        CHECK_EQ_INT(ws_conn_tick(&h.conn, d), WS_ERR_TIMEOUT);
        CHECK_EQ_INT(ws_conn_state(&h.conn), WS_STATE_FAILED);
        CHECK_EQ_INT(h.sent.len, 0);
        CHECK(ws_conn_accept(&h.conn, NULL, NULL) != WS_OK);
        CHECK_EQ_INT(ws_conn_state(&h.conn), WS_STATE_FAILED);
    }
    h_free(&h);
    /* opened in time: the handshake limit no longer applies */
    if (h_init(&h, &s) == 0) {
        CHECK_EQ_INT(ws_conn_tick(&h.conn, T0), WS_OK);
        CHECK_EQ_INT(ws_conn_tick(&h.conn, T0 + 1500), WS_OK);
        CHECK_EQ_INT(ws_conn_accept(&h.conn, NULL, NULL), WS_OK);
        CHECK_EQ_INT(ws_conn_tick(&h.conn, T0 + 2500), WS_OK);
        CHECK_EQ_INT(ws_conn_tick(&h.conn, T0 + 100000), WS_OK);
        CHECK_EQ_INT(ws_conn_state(&h.conn), WS_STATE_OPEN);
        CHECK_EQ_U64(ws_conn_deadline(&h.conn), UINT64_MAX);
    }
    h_free(&h);
    /* 0 is the default, 10 s: a slowloris is dropped even when nothing was configured */
    s.cfg.handshake_timeout_ms = 0;
    if (h_init(&h, &s) == 0) {
        CHECK_EQ_INT(ws_conn_tick(&h.conn, T0), WS_OK);
        CHECK_EQ_U64(ws_conn_deadline(&h.conn), T0 + 10000);
        CHECK_EQ_INT(ws_conn_tick(&h.conn, T0 + 9999), WS_OK);
        CHECK_EQ_INT(ws_conn_state(&h.conn), WS_STATE_CONNECTING);
        CHECK_EQ_INT(ws_conn_tick(&h.conn, T0 + 10000), WS_ERR_TIMEOUT);
    }
    h_free(&h);
    /* UINT32_MAX: as good as no limit */
    s.cfg.handshake_timeout_ms = UINT32_MAX;
    if (h_init(&h, &s) == 0) {
        CHECK_EQ_INT(ws_conn_tick(&h.conn, T0), WS_OK);
        CHECK_EQ_U64(ws_conn_deadline(&h.conn), (uint64_t)T0 + UINT32_MAX);
        CHECK_EQ_INT(ws_conn_tick(&h.conn, T0 + 100000000u), WS_OK);
        CHECK_EQ_INT(ws_conn_state(&h.conn), WS_STATE_CONNECTING);
    }
    h_free(&h);
}

TEST(accept_after_handshake_timeout_is_sticky) {
    /* ws.h, ERRORS: "Errors of a connection are sticky: after a failure every call returns
       the same code." */
    harness h;
    h_setup s = setup_server();
    s.cfg.handshake_timeout_ms = 10;
    if (h_init(&h, &s) == 0) {
        CHECK_EQ_INT(ws_conn_tick(&h.conn, T0), WS_OK);
        CHECK_EQ_INT(ws_conn_tick(&h.conn, T0 + 100), WS_ERR_TIMEOUT);
        CHECK_EQ_INT(ws_conn_accept(&h.conn, NULL, NULL), WS_ERR_TIMEOUT);
        CHECK_EQ_INT(ws_conn_send(&h.conn, WS_OP_TEXT, "x", 1), WS_ERR_TIMEOUT);
        CHECK_EQ_INT(h.sent.len, 0);
    }
    h_free(&h);
}

TEST(client_keepalive_ping_is_masked) {
    harness h;
    h_setup s = setup_client();
    sframe f[2];
    size_t n = 0;
    s.cfg.ping_interval_ms = 100;
    if (h_open(&h, &s) == 0) {
        CHECK_EQ_INT(ws_conn_tick(&h.conn, T0), WS_OK);
        CHECK_EQ_INT(ws_conn_tick(&h.conn, T0 + 101), WS_OK);
        if (CHECK_EQ_INT(sframes_parse(h.sent.p, h.sent.len, f, 2, &n), 0) &&
            CHECK_EQ_INT(n, 1)) {
            CHECK_EQ_INT(f[0].op, WS_OP_PING);
            CHECK_EQ_INT(f[0].masked, 1);
        }
        sframes_free(f, n);
    }
    h_free(&h);
}

TEST(ping_send_failure) {
    harness h;
    h_setup s = keepalive_setup(100, 0);
    if (h_open(&h, &s) == 0) {
        CHECK_EQ_INT(ws_conn_tick(&h.conn, T0), WS_OK);
        h.send_fail = 1;
        CHECK_EQ_INT(ws_conn_tick(&h.conn, T0 + 101), WS_ERR_IO);
        CHECK_EQ_INT(ws_conn_state(&h.conn), WS_STATE_FAILED);
        CHECK_EQ_INT(h.close_calls, 1);
        CHECK_EQ_INT(h.close_code, 1006);
    }
    h_free(&h);
}

void suite_keepalive(void) {
    test_suite_begin("keepalive");
    RUN(no_timers_no_deadline);
    RUN(ping_after_interval_of_silence);
    RUN(timeout_after_silence);
    RUN(timeout_deadline_is_exact);
    RUN(input_resets_the_idle_timer);
    RUN(steady_traffic_never_pings_or_times_out);
    RUN(close_timeout);
    RUN(close_timeout_default_5000);
    RUN(close_answered_in_time);
    RUN(handshake_timeout);
    RUN(accept_after_handshake_timeout_is_sticky);
    RUN(client_keepalive_ping_is_masked);
    RUN(ping_send_failure);
    test_suite_end();
}
