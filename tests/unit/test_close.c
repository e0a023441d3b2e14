/* test_close.c - the closing handshake (RFC 6455 5.5.1, 7): a received close is answered
   and reported, valid codes are echoed, invalid codes, 1-byte bodies and bad reasons fail
   the connection with the right close code, data after a close is ignored, and
   ws_conn_close goes OPEN -> CLOSING -> CLOSED. Inputs go through every split. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A close from the peer with this code (0: empty body) and reason; the expected on_close
   token is X<code>:<reason>. */
static void peer_close(tbuf *in, const h_setup *s, unsigned code, const char *reason,
                       size_t reason_len) {
    uint8_t body[130];
    size_t n = code ? close_body(body, code, reason, reason_len) : 0;
    frame_put(in, 1, 0, WS_OP_CLOSE, body, n, s->cfg.role == WS_ROLE_SERVER ? test_key : NULL);
}

TEST(empty_close_echoed_empty) {
    static const uint8_t in[] = { 0x88, 0x80, 0x37, 0xfa, 0x21, 0x3d };
    static const uint8_t echo[] = { 0x88, 0x00 };
    h_setup s = setup_server();
    feed_result r;
    FEED_ALL_SPLITS(&s, in, sizeof in, &r);
    CHECK_EQ_INT(r.rc, WS_OK);
    CHECK_EQ_STR(tbuf_str(&r.log), "X1005:");     /* no code: reported as 1005 */
    CHECK_EQ_MEM(r.sent.p, r.sent.len, echo, sizeof echo);
    CHECK_EQ_INT(r.state, WS_STATE_CLOSED);
    CHECK_EQ_INT(r.close_calls, 1);
    CHECK_EQ_INT(r.err, WS_OK);
    feed_result_free(&r);
    /* client role: the echo is masked and empty */
    s = setup_client();
    FEED_ALL_SPLITS(&s, (const uint8_t *)"\x88\x00", 2, &r);
    CHECK_EQ_INT(r.rc, WS_OK);
    CHECK_EQ_STR(tbuf_str(&r.log), "X1005:");
    CHECK_CLOSE_SENT(r.sent.p, r.sent.len, 1, 0);
    CHECK_EQ_INT(r.state, WS_STATE_CLOSED);
    feed_result_free(&r);
}

TEST(valid_codes_echoed) {
    static const unsigned codes[] = { 1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010,
                                      1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999 };
    size_t i;
    for (i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        tbuf in = { 0 };
        char log[32];
        h_setup s = setup_server();
        test_context("close %u", codes[i]);
        peer_close(&in, &s, codes[i], NULL, 0);
        snprintf(log, sizeof log, "X%u:", codes[i]);
        EXPECT_FEED(&s, in.p, in.len, WS_OK, log, (int)codes[i], WS_STATE_CLOSED);
        CHECK(ws_close_code_valid(codes[i]));
        tbuf_free(&in);
    }
}

TEST(valid_close_with_reason) {
    tbuf in = { 0 };
    h_setup s = setup_server();
    peer_close(&in, &s, 1001, "going \xce\xba", 8);
    EXPECT_FEED(&s, in.p, in.len, WS_OK, "X1001:going\\x20\\xce\\xba", 1001, WS_STATE_CLOSED);
    in.len = 0;
    s = setup_client();
    peer_close(&in, &s, 1000, "bye", 3);
    EXPECT_FEED(&s, in.p, in.len, WS_OK, "X1000:bye", 1000, WS_STATE_CLOSED);
    tbuf_free(&in);
}

TEST(close_code_after_peer_close) {
    harness h;
    tbuf in = { 0 };
    h_setup s = setup_server();
    if (h_open(&h, &s) == 0) {
        peer_close(&in, &s, 4001, "x", 1);
        CHECK_EQ_INT(ws_conn_close_code(&h.conn), 0);
        CHECK_EQ_INT(ws_conn_feed(&h.conn, in.p, in.len), WS_OK);
        CHECK_EQ_INT(ws_conn_close_code(&h.conn), 4001);
        CHECK_EQ_INT(ws_conn_state(&h.conn), WS_STATE_CLOSED);
        CHECK_EQ_INT(h.close_code, 4001);
        CHECK_EQ_INT(h.close_reason.len, 1);
    }
    tbuf_free(&in);
    h_free(&h);
}

TEST(invalid_codes_1002) {
    static const unsigned codes[] = { 0, 1, 999, 1004, 1005, 1006, 1015, 1016,
                                      1100, 2000, 2999, 5000, 65535 };
    size_t i;
    for (i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        tbuf in = { 0 };
        uint8_t body[2];
        h_setup s = setup_server();
        test_context("close %u", codes[i]);
        close_body(body, codes[i], NULL, 0);
        frame_put(&in, 1, 0, WS_OP_CLOSE, body, 2, test_key);
        EXPECT_FEED(&s, in.p, in.len, WS_ERR_PROTOCOL, "X1002:*", 1002, WS_STATE_FAILED);
        CHECK(!ws_close_code_valid(codes[i]));
        tbuf_free(&in);
    }
}

TEST(one_byte_close_body_1002) {
    tbuf in = { 0 };
    h_setup s = setup_server();
    frame_put(&in, 1, 0, WS_OP_CLOSE, "\x03", 1, test_key);
    EXPECT_FEED(&s, in.p, in.len, WS_ERR_PROTOCOL, "X1002:*", 1002, WS_STATE_FAILED);
    tbuf_free(&in);
}

TEST(invalid_utf8_reason_1007) {
    static const char *const reasons[] = { "\xff", "ok\xc0\x80", "\xed\xa0\x80", "ab\xe2\x82" };
    size_t i;
    for (i = 0; i < sizeof reasons / sizeof reasons[0]; i++) {
        tbuf in = { 0 };
        h_setup s = setup_server();
        test_context("reason #%lu", (unsigned long)i);
        peer_close(&in, &s, 1000, reasons[i], strlen(reasons[i]));
        EXPECT_FEED(&s, in.p, in.len, WS_ERR_UTF8, "X1007:*", 1007, WS_STATE_FAILED);
        tbuf_free(&in);
    }
}

TEST(longest_reason_123_bytes) {
    tbuf in = { 0 }, log = { 0 };
    char reason[123];
    h_setup s = setup_server();
    memset(reason, 'r', sizeof reason);
    peer_close(&in, &s, 1000, reason, sizeof reason);
    CHECK_EQ_INT(in.p[1] & 0x7f, 125);
    tbuf_puts(&log, "X1000:");
    tbuf_put(&log, reason, sizeof reason);
    EXPECT_FEED(&s, in.p, in.len, WS_OK, tbuf_str(&log), 1000, WS_STATE_CLOSED);
    tbuf_free(&in);
    tbuf_free(&log);
}

TEST(data_after_close_ignored) {
    tbuf in = { 0 };
    h_setup s = setup_server();
    feed_result r;
    peer_close(&in, &s, 1000, NULL, 0);
    frame_put(&in, 1, 0, WS_OP_TEXT, "Hello", 5, test_key);
    frame_put(&in, 1, 0, WS_OP_PING, "x", 1, test_key);
    in.p[in.len - 1] ^= 0xff;   /* and garbage */
    tbuf_put(&in, "\xff\xff\xff", 3);
    FEED_ALL_SPLITS(&s, in.p, in.len, &r);
    CHECK_EQ_INT(r.rc, WS_OK);
    CHECK_EQ_STR(tbuf_str(&r.log), "X1000:");
    CHECK_EQ_INT(r.state, WS_STATE_CLOSED);
    CHECK_EQ_INT(CHECK_CLOSE_SENT(r.sent.p, r.sent.len, 0, 1000), 1);   /* the echo only */
    feed_result_free(&r);
    tbuf_free(&in);
}

TEST(close_between_fragments) {
    tbuf in = { 0 };
    h_setup s = setup_server();
    frame_put(&in, 0, 0, WS_OP_TEXT, "Hel", 3, test_key);
    peer_close(&in, &s, 1000, NULL, 0);
    EXPECT_FEED(&s, in.p, in.len, WS_OK, "B1:? X1000:", 1000, WS_STATE_CLOSED);
    tbuf_free(&in);
}

TEST(close_during_a_long_frame_is_not_a_close) {
    /* a close frame's bytes inside a binary payload are payload */
    tbuf in = { 0 }, inner = { 0 };
    h_setup s = setup_client();
    peer_close(&inner, &s, 1000, NULL, 0);
    frame_put(&in, 1, 0, WS_OP_BINARY, inner.p, inner.len, NULL);
    EXPECT_FEED(&s, in.p, in.len, WS_OK, "B2:4 D:\\x88\\x02\\x03\\xe8 E", -1, WS_STATE_OPEN);
    tbuf_free(&in);
    tbuf_free(&inner);
}

TEST(our_close_then_peer_answer) {
    harness h;
    tbuf in = { 0 };
    h_setup s = setup_server();
    static const uint8_t want[] = { 0x88, 0x05, 0x03, 0xe8, 'b', 'y', 'e' };
    if (h_open(&h, &s) == 0) {
        CHECK_EQ_INT(ws_conn_close(&h.conn, 1000, "bye", 3), WS_OK);
        CHECK_EQ_INT(ws_conn_state(&h.conn), WS_STATE_CLOSING);
        CHECK_EQ_MEM(h.sent.p, h.sent.len, want, sizeof want);
        CHECK_EQ_INT(h.close_calls, 0);
        /* no second close, no data */
        CHECK_EQ_INT(ws_conn_close(&h.conn, 1000, NULL, 0), WS_ERR_STATE);
        CHECK_EQ_INT(ws_conn_send(&h.conn, WS_OP_TEXT, "x", 1), WS_ERR_STATE);
        CHECK_EQ_INT(h.sent.len, sizeof want);
        h_clear_sent(&h);
        peer_close(&in, &s, 1000, NULL, 0);
        CHECK_EQ_INT(ws_conn_feed(&h.conn, in.p, in.len), WS_OK);
        CHECK_EQ_INT(ws_conn_state(&h.conn), WS_STATE_CLOSED);
        CHECK_EQ_INT(h.sent.len, 0);        /* the peer's close answered ours: no echo */
        CHECK_EQ_INT(h.close_calls, 1);
        CHECK_EQ_INT(h.close_code, 1000);
        CHECK_EQ_INT(ws_conn_close_code(&h.conn), 1000);
        CHECK_EQ_INT(ws_conn_error(&h.conn), WS_OK);
        CHECK_EQ_INT(ws_conn_send(&h.conn, WS_OP_TEXT, "x", 1), WS_ERR_STATE);
        CHECK_EQ_INT(ws_conn_close(&h.conn, 1000, NULL, 0), WS_ERR_STATE);
        CHECK_EQ_INT(h.sent.len, 0);
    }
    tbuf_free(&in);
    h_free(&h);
}

TEST(closing_in_every_split) {
    /* CLOSING: data still arrives until the peer's close, which is not echoed */
    tbuf in = { 0 };
    h_setup s = setup_server();
    s.close_first = 1001;
    frame_put(&in, 1, 0, WS_OP_TEXT, "late", 4, test_key);
    frame_put(&in, 1, 0, WS_OP_PING, "p", 1, test_key);
    peer_close(&in, &s, 1001, NULL, 0);
    EXPECT_FEED(&s, in.p, in.len, WS_OK, "B1:4 D:late E P9:p X1001:", 0, WS_STATE_CLOSED);
    in.len = 0;
    peer_close(&in, &s, 1000, NULL, 0);
    EXPECT_FEED(&s, in.p, in.len, WS_OK, "X1000:", -1, WS_STATE_CLOSED);
    in.len = 0;    /* a violation while closing fails, without a second close frame */
    frame_put(&in, 1, 0, WS_OP_TEXT, "x", 1, NULL);
    EXPECT_FEED(&s, in.p, in.len, WS_ERR_PROTOCOL, "X*", -1, WS_STATE_FAILED);
    tbuf_free(&in);
}

TEST(client_close_is_masked) {
    harness h;
    h_setup s = setup_client();
    sframe f[2];
    size_t n = 0;
    if (h_open(&h, &s) == 0) {
        CHECK_EQ_INT(ws_conn_close(&h.conn, 4000, "done", 4), WS_OK);
        if (CHECK_EQ_INT(sframes_parse(h.sent.p, h.sent.len, f, 2, &n), 0) &&
            CHECK_EQ_INT(n, 1)) {
            CHECK_EQ_INT(f[0].op, WS_OP_CLOSE);
            CHECK_EQ_INT(f[0].masked, 1);
            CHECK_EQ_MEM(f[0].payload, (size_t)f[0].len, "\x0f\xa0" "done", 6);
        }
        sframes_free(f, n);
    }
    h_free(&h);
}

/* A client that fails sends its close masked (from the connection's own memory, masked in
   place and unmasked after it went out): the frame carries 1002 and the reason, and
   on_close, called after, gets the same reason, readable. The echo of a peer's close with a
   reason, likewise. */
TEST(client_failure_close_masked_reason_kept) {
    static const char why[] = "masked frame from server";
    harness h;
    h_setup s = setup_client();
    tbuf in = { 0 };
    sframe f[2];
    size_t n = 0;
    frame_put(&in, 1, 0, WS_OP_TEXT, "x", 1, test_key);    /* masked: not from a server */
    if (h_open(&h, &s) == 0) {
        CHECK_EQ_INT(ws_conn_feed(&h.conn, in.p, in.len), WS_ERR_PROTOCOL);
        if (CHECK_EQ_INT(sframes_parse(h.sent.p, h.sent.len, f, 2, &n), 0) &&
            CHECK_EQ_INT(n, 1)) {
            CHECK_EQ_INT(f[0].op, WS_OP_CLOSE);
            CHECK_EQ_INT(f[0].masked, 1);
            CHECK_EQ_MEM(f[0].payload, (size_t)f[0].len, "\x03\xea" "masked frame from server",
                         2 + strlen(why));
            /* on the wire the body differs from the text (the key is not zero) */
            CHECK(h.sent.len > 8 && memcmp(h.sent.p + 8, why, 4) != 0);
        }
        sframes_free(f, n);
        CHECK_EQ_INT(h.close_calls, 1);
        CHECK_EQ_INT(h.close_code, 1002);
        CHECK_EQ_MEM(h.close_reason.p, h.close_reason.len, why, strlen(why));
    }
    h_free(&h);
    in.len = 0;
    peer_close(&in, &s, 4321, "see you", 7);
    if (h_open(&h, &s) == 0) {
        CHECK_EQ_INT(ws_conn_feed(&h.conn, in.p, in.len), WS_OK);
        if (CHECK_EQ_INT(sframes_parse(h.sent.p, h.sent.len, f, 2, &n), 0) &&
            CHECK_EQ_INT(n, 1)) {
            CHECK_EQ_INT(f[0].masked, 1);
            CHECK_EQ_MEM(f[0].payload, (size_t)f[0].len, "\x10\xe1", 2);   /* the code only */
        }
        sframes_free(f, n);
        CHECK_EQ_INT(h.close_code, 4321);
        CHECK_EQ_MEM(h.close_reason.p, h.close_reason.len, "see you", 7);
    }
    h_free(&h);
    tbuf_free(&in);
}

TEST(close_argument_checks) {
    harness h;
    char reason[124];
    memset(reason, 'r', sizeof reason);
    if (h_open(&h, NULL) == 0) {
        CHECK_EQ_INT(ws_conn_close(&h.conn, 1005, NULL, 0), WS_ERR_ARG);
        CHECK_EQ_INT(ws_conn_close(&h.conn, 1006, NULL, 0), WS_ERR_ARG);
        CHECK_EQ_INT(ws_conn_close(&h.conn, 1015, NULL, 0), WS_ERR_ARG);
        CHECK_EQ_INT(ws_conn_close(&h.conn, 999, NULL, 0), WS_ERR_ARG);
        CHECK_EQ_INT(ws_conn_close(&h.conn, 5000, NULL, 0), WS_ERR_ARG);
        CHECK_EQ_INT(ws_conn_close(&h.conn, 1000, reason, 124), WS_ERR_ARG);
        CHECK_EQ_INT(ws_conn_close(&h.conn, 1000, "\xff", 1), WS_ERR_ARG);
        CHECK_EQ_INT(h.sent.len, 0);
        CHECK_EQ_INT(ws_conn_state(&h.conn), WS_STATE_OPEN);
        CHECK_EQ_INT(ws_conn_close(&h.conn, 1000, reason, 123), WS_OK);
        CHECK_EQ_INT(CHECK_CLOSE_SENT(h.sent.p, h.sent.len, 0, 1000), 1);
    }
    h_free(&h);
    if (h_open(&h, NULL) == 0) {   /* code 0: an empty close */
        CHECK_EQ_INT(ws_conn_close(&h.conn, 0, NULL, 0), WS_OK);
        CHECK_EQ_MEM(h.sent.p, h.sent.len, "\x88\x00", 2);
    }
    h_free(&h);
}

TEST(close_code_valid_table) {
    unsigned c;
    long wrong = 0;
    for (c = 0; c < 70000; c++) {
        bool want = (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) ||
                    (c >= 3000 && c <= 4999);
        if (ws_close_code_valid(c) != want && wrong++ < 4) {
            test_context("code %u", c);
            CHECK_EQ_INT(ws_close_code_valid(c), want);
        }
    }
    test_context(NULL);
    CHECK_EQ_INT(wrong, 0);
}

TEST(close_code_for_errors) {
    CHECK_EQ_INT(ws_close_code_for(WS_ERR_PROTOCOL), 1002);
    CHECK_EQ_INT(ws_close_code_for(WS_ERR_UTF8), 1007);
    CHECK_EQ_INT(ws_close_code_for(WS_ERR_TOO_BIG), 1009);
    CHECK_EQ_INT(ws_close_code_for(WS_OK), 0);
    CHECK_EQ_INT(ws_close_code_for(WS_ERR_IO), 0);
    CHECK_EQ_INT(ws_close_code_for(WS_ERR_TIMEOUT), 0);
    CHECK_EQ_INT(ws_close_code_for(WS_ERR_HS_KEY), 0);
    CHECK_EQ_INT(ws_close_code_for(-1000), 0);
}

void suite_close(void) {
    test_suite_begin("close");
    RUN(empty_close_echoed_empty);
    RUN(valid_codes_echoed);
    RUN(valid_close_with_reason);
    RUN(close_code_after_peer_close);
    RUN(invalid_codes_1002);
    RUN(one_byte_close_body_1002);
    RUN(invalid_utf8_reason_1007);
    RUN(longest_reason_123_bytes);
    RUN(data_after_close_ignored);
    RUN(close_between_fragments);
    RUN(close_during_a_long_frame_is_not_a_close);
    RUN(our_close_then_peer_answer);
    RUN(closing_in_every_split);
    RUN(client_close_is_masked);
    RUN(client_failure_close_masked_reason_kept);
    RUN(close_argument_checks);
    RUN(close_code_valid_table);
    RUN(close_code_for_errors);
    test_suite_end();
}
