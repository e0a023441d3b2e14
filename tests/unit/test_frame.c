/* test_frame.c - the frame parser, through ws_conn_feed, in the server role (masked input)
   and the client role (unmasked input): RFC 6455 5.7's examples, every MUST of section 5
   with the error returned and the close code actually sent, size limits, UTF-8 checked as
   it arrives, pings between fragments, whole-message buffers, and random valid streams.

   Every input goes through FEED_ALL_SPLITS (harness.h): whole, one byte at a time and split
   at every position, with the same events, sent bytes and state required each time. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t *key_for(const h_setup *s) {
    return s->cfg.role == WS_ROLE_SERVER ? test_key : NULL;   /* what the peer sends */
}

/* "B<op>:<n> D:<payload> E" for a whole single-frame message */
static void expect_msg(tbuf *log, int op, const void *p, size_t n, int fragmented) {
    char tok[48];
    if (log->len)
        tbuf_puts(log, " ");
    if (fragmented)
        snprintf(tok, sizeof tok, "B%d:?", op);
    else
        snprintf(tok, sizeof tok, "B%d:%lu", op, (unsigned long)n);
    tbuf_puts(log, tok);
    if (n) {
        tbuf_puts(log, " D:");
        tbuf_escape(log, p, n);
    }
    tbuf_puts(log, " E");
}

/* ---- RFC 6455 5.7 ------------------------------------------------------------------------ */

TEST(rfc_single_frame_unmasked_text) {
    static const uint8_t in[] = { 0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f };
    h_setup s = setup_client();
    EXPECT_FEED(&s, in, sizeof in, WS_OK, "B1:5 D:Hello E", -1, WS_STATE_OPEN);
}

TEST(rfc_single_frame_masked_text) {
    static const uint8_t in[] = {
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58
    };
    h_setup s = setup_server();
    EXPECT_FEED(&s, in, sizeof in, WS_OK, "B1:5 D:Hello E", -1, WS_STATE_OPEN);
}

TEST(rfc_fragmented_unmasked_text) {
    static const uint8_t in[] = { 0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f };
    h_setup s = setup_client();
    EXPECT_FEED(&s, in, sizeof in, WS_OK, "B1:? D:Hello E", -1, WS_STATE_OPEN);
}

TEST(fragmented_masked_text) {
    tbuf in = { 0 };
    h_setup s = setup_server();
    frame_put(&in, 0, 0, WS_OP_TEXT, "Hel", 3, test_key);
    frame_put(&in, 0, 0, WS_OP_CONT, "", 0, test_key);
    frame_put(&in, 1, 0, WS_OP_CONT, "lo", 2, test_key);
    EXPECT_FEED(&s, in.p, in.len, WS_OK, "B1:? D:Hello E", -1, WS_STATE_OPEN);
    tbuf_free(&in);
}

TEST(rfc_unmasked_ping_answered_by_masked_pong) {
    static const uint8_t in[] = { 0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f };
    h_setup s = setup_client();
    feed_result r;
    sframe f[4];
    size_t n = 0;
    FEED_ALL_SPLITS(&s, in, sizeof in, &r);
    CHECK_EQ_INT(r.rc, WS_OK);
    CHECK_EQ_STR(tbuf_str(&r.log), "P9:Hello");
    CHECK_EQ_INT(r.state, WS_STATE_OPEN);
    if (CHECK_EQ_INT(sframes_parse(r.sent.p, r.sent.len, f, 4, &n), 0) && CHECK_EQ_INT(n, 1)) {
        CHECK_EQ_INT(f[0].op, WS_OP_PONG);
        CHECK_EQ_INT(f[0].fin, 1);
        CHECK_EQ_INT(f[0].masked, 1);
        CHECK_EQ_MEM(f[0].payload, (size_t)f[0].len, "Hello", 5);
    }
    sframes_free(f, n);
    feed_result_free(&r);
}

TEST(rfc_masked_ping_answered_by_unmasked_pong) {
    static const uint8_t in[] = {
        0x89, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58
    };
    static const uint8_t pong[] = { 0x8a, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f };
    h_setup s = setup_server();
    feed_result r;
    FEED_ALL_SPLITS(&s, in, sizeof in, &r);
    CHECK_EQ_INT(r.rc, WS_OK);
    CHECK_EQ_STR(tbuf_str(&r.log), "P9:Hello");
    CHECK_EQ_MEM(r.sent.p, r.sent.len, pong, sizeof pong);
    feed_result_free(&r);
}

TEST(rfc_masked_pong_reported_not_answered) {
    static const uint8_t in[] = {
        0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58
    };
    h_setup s = setup_server();
    EXPECT_FEED(&s, in, sizeof in, WS_OK, "PA:Hello", -1, WS_STATE_OPEN);
}

TEST(ping_not_answered_with_no_auto_pong) {
    tbuf in = { 0 };
    h_setup s = setup_server();
    s.cfg.no_auto_pong = true;
    frame_put(&in, 1, 0, WS_OP_PING, "Hello", 5, test_key);
    EXPECT_FEED(&s, in.p, in.len, WS_OK, "P9:Hello", -1, WS_STATE_OPEN);
    tbuf_free(&in);
}

TEST(empty_ping_and_125_byte_ping) {
    tbuf in = { 0 }, log = { 0 };
    uint8_t p[125];
    size_t i;
    h_setup s = setup_server();
    feed_result r;
    sframe f[4];
    size_t n = 0;
    for (i = 0; i < sizeof p; i++)
        p[i] = (uint8_t)(i * 7);
    frame_put(&in, 1, 0, WS_OP_PING, "", 0, test_key);
    frame_put(&in, 1, 0, WS_OP_PING, p, sizeof p, test_key);
    tbuf_puts(&log, "P9: P9:");
    tbuf_escape(&log, p, sizeof p);
    FEED_ALL_SPLITS(&s, in.p, in.len, &r);
    CHECK_EQ_INT(r.rc, WS_OK);
    CHECK_EQ_STR(tbuf_str(&r.log), tbuf_str(&log));
    if (CHECK_EQ_INT(sframes_parse(r.sent.p, r.sent.len, f, 4, &n), 0) && CHECK_EQ_INT(n, 2)) {
        CHECK_EQ_INT(f[0].op, WS_OP_PONG);
        CHECK_EQ_INT(f[0].len, 0);
        CHECK_EQ_INT(f[1].op, WS_OP_PONG);
        CHECK_EQ_MEM(f[1].payload, (size_t)f[1].len, p, sizeof p);
    }
    sframes_free(f, n);
    feed_result_free(&r);
    tbuf_free(&in);
    tbuf_free(&log);
}

/* A binary message of len bytes in one frame; for the client role (unmasked input) the
   header is also compared with the bytes RFC 6455 5.7 gives, when rfc_head is not NULL. */
static void big_binary(size_t len, h_setup s, const uint8_t *rfc_head, size_t head_len) {
    tbuf in = { 0 }, log = { 0 };
    uint8_t *p = (uint8_t *)malloc(len ? len : 1);
    size_t i;
    for (i = 0; i < len; i++)
        p[i] = (uint8_t)(i * 31 + (i >> 8));
    frame_put(&in, 1, 0, WS_OP_BINARY, p, len, key_for(&s));
    if (rfc_head && s.cfg.role == WS_ROLE_CLIENT)
        CHECK_EQ_MEM(in.p, head_len, rfc_head, head_len);
    expect_msg(&log, WS_OP_BINARY, p, len, 0);
    EXPECT_FEED(&s, in.p, in.len, WS_OK, tbuf_str(&log), -1, WS_STATE_OPEN);
    free(p);
    tbuf_free(&in);
    tbuf_free(&log);
}

TEST(rfc_256_bytes_16_bit_length) {
    static const uint8_t head[] = { 0x82, 0x7e, 0x01, 0x00 };
    big_binary(256, setup_client(), head, sizeof head);
    big_binary(256, setup_server(), NULL, 0);
}

TEST(rfc_64k_64_bit_length) {
    static const uint8_t head[] = { 0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0 };
    big_binary(65536, setup_client(), head, sizeof head);
    big_binary(65536, setup_server(), NULL, 0);
}

TEST(lengths_at_encoding_boundaries) {
    static const size_t lens[] = { 0, 1, 125, 126, 127, 65535 };
    size_t i;
    for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        test_context("binary of %lu bytes", (unsigned long)lens[i]);
        if (lens[i] <= 300)
            big_binary(lens[i], setup_server(), NULL, 0);
        else        /* only the client role at this size: the runs take a while */
            big_binary(lens[i], setup_client(), NULL, 0);
    }
    {   /* a 16-bit or 64-bit length form for a short payload is accepted as well */
        tbuf in = { 0 };
        h_setup s = setup_server();
        frame_put_ext(&in, 1, 0, WS_OP_TEXT, "Hi", 2, test_key, 2);
        frame_put_ext(&in, 1, 0, WS_OP_TEXT, "Yo", 2, test_key, 8);
        EXPECT_FEED(&s, in.p, in.len, WS_OK, "B1:2 D:Hi E B1:2 D:Yo E", -1, WS_STATE_OPEN);
        tbuf_free(&in);
    }
}

TEST(empty_messages) {
    tbuf in = { 0 };
    h_setup s = setup_server();
    frame_put(&in, 1, 0, WS_OP_TEXT, "", 0, test_key);
    frame_put(&in, 1, 0, WS_OP_BINARY, "", 0, test_key);
    frame_put(&in, 0, 0, WS_OP_TEXT, "", 0, test_key);
    frame_put(&in, 1, 0, WS_OP_CONT, "", 0, test_key);
    EXPECT_FEED(&s, in.p, in.len, WS_OK, "B1:0 E B2:0 E B1:? E", -1, WS_STATE_OPEN);
    tbuf_free(&in);
}

TEST(several_messages_in_one_buffer) {
    tbuf in = { 0 };
    static const uint8_t bin[] = { 0x00, 0x01, 0xff };
    h_setup s = setup_server();
    frame_put(&in, 1, 0, WS_OP_TEXT, "Hello", 5, test_key);
    frame_put(&in, 1, 0, WS_OP_PING, "x", 1, test_key);
    frame_put(&in, 1, 0, WS_OP_BINARY, bin, 3, test_key);
    frame_put(&in, 1, 0, WS_OP_PONG, "", 0, test_key);
    frame_put(&in, 1, 0, WS_OP_TEXT, "a b", 3, test_key);
    EXPECT_FEED(&s, in.p, in.len, WS_OK,
                "B1:5 D:Hello E P9:x B2:3 D:\\x00\\x01\\xff E PA: B1:3 D:a\\x20b E", 0,
                WS_STATE_OPEN);
    tbuf_free(&in);
}

TEST(utf8_text_split_across_fragments_is_fine) {
    /* U+20AC and U+1D11E cut inside their sequences by the fragment boundaries */
    tbuf in = { 0 };
    h_setup s = setup_server();
    frame_put(&in, 0, 0, WS_OP_TEXT, "a\xe2", 2, test_key);
    frame_put(&in, 0, 0, WS_OP_CONT, "\x82", 1, test_key);
    frame_put(&in, 0, 0, WS_OP_CONT, "\xac\xf0\x9d", 3, test_key);
    frame_put(&in, 1, 0, WS_OP_CONT, "\x84\x9e", 2, test_key);
    EXPECT_FEED(&s, in.p, in.len, WS_OK, "B1:? D:a\\xe2\\x82\\xac\\xf0\\x9d\\x84\\x9e E", -1,
                WS_STATE_OPEN);
    tbuf_free(&in);
}

TEST(ping_between_fragments) {
    tbuf in = { 0 };
    h_setup s = setup_server();
    static const uint8_t pong[] = { 0x8a, 0x01, 'x' };
    feed_result r;
    frame_put(&in, 0, 0, WS_OP_TEXT, "Hel", 3, test_key);
    frame_put(&in, 1, 0, WS_OP_PING, "x", 1, test_key);
    frame_put(&in, 0, 0, WS_OP_CONT, "l", 1, test_key);
    frame_put(&in, 1, 0, WS_OP_PONG, "y", 1, test_key);
    frame_put(&in, 1, 0, WS_OP_CONT, "o", 1, test_key);
    FEED_ALL_SPLITS(&s, in.p, in.len, &r);
    CHECK_EQ_INT(r.rc, WS_OK);
    CHECK_EQ_STR(tbuf_str(&r.log), "B1:? D:Hel P9:x D:l PA:y D:o E");
    CHECK_EQ_MEM(r.sent.p, r.sent.len, pong, sizeof pong);
    CHECK_EQ_INT(r.state, WS_STATE_OPEN);
    CHECK_EQ_INT(r.order_errors, 0);
    feed_result_free(&r);
    tbuf_free(&in);
}

TEST(binary_may_hold_anything) {
    tbuf in = { 0 };
    h_setup s = setup_server();
    frame_put(&in, 1, 0, WS_OP_BINARY, "\xff\xfe\xc0\x80", 4, test_key);
    EXPECT_FEED(&s, in.p, in.len, WS_OK, "B2:4 D:\\xff\\xfe\\xc0\\x80 E", -1, WS_STATE_OPEN);
    tbuf_free(&in);
}

/* ---- violations: error returned, close code sent ------------------------------------------ */

TEST(unmasked_frame_to_server_1002) {
    static const uint8_t in[] = { 0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f };
    h_setup s = setup_server();
    EXPECT_FEED(&s, in, sizeof in, WS_ERR_PROTOCOL, "X1002:*", 1002, WS_STATE_FAILED);
}

TEST(masked_frame_to_client_1002) {
    static const uint8_t in[] = {
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58
    };
    h_setup s = setup_client();
    EXPECT_FEED(&s, in, sizeof in, WS_ERR_PROTOCOL, "X1002:*", 1002, WS_STATE_FAILED);
}

TEST(unmasked_control_frame_to_server_1002) {
    static const uint8_t in[] = { 0x89, 0x00 };
    h_setup s = setup_server();
    EXPECT_FEED(&s, in, sizeof in, WS_ERR_PROTOCOL, "X1002:*", 1002, WS_STATE_FAILED);
}

TEST(rsv_bits_1002) {
    static const int rsv[] = { 0x40, 0x20, 0x10, 0x70 };
    size_t i;
    for (i = 0; i < 4; i++) {
        tbuf in = { 0 };
        h_setup s = setup_server();
        frame_put(&in, 1, rsv[i], WS_OP_TEXT, "Hello", 5, test_key);
        EXPECT_FEED(&s, in.p, in.len, WS_ERR_PROTOCOL, "X1002:*", 1002, WS_STATE_FAILED);
        in.len = 0;
        s = setup_client();
        frame_put(&in, 1, rsv[i], WS_OP_PING, "", 0, NULL);
        EXPECT_FEED(&s, in.p, in.len, WS_ERR_PROTOCOL, "X1002:*", 1002, WS_STATE_FAILED);
        tbuf_free(&in);
    }
}

TEST(rsv_bits_allowed_by_config) {
    tbuf in = { 0 };
    h_setup s = setup_server();
    s.cfg.rsv_allowed = 0x40;               /* as permessage-deflate would own RSV1 */
    frame_put(&in, 1, 0x40, WS_OP_TEXT, "Hello", 5, test_key);
    frame_put(&in, 1, 0, WS_OP_TEXT, "Hi", 2, test_key);
    EXPECT_FEED(&s, in.p, in.len, WS_OK, "B1:5 D:Hello E B1:2 D:Hi E", -1, WS_STATE_OPEN);
    in.len = 0;
    frame_put(&in, 1, 0x20, WS_OP_TEXT, "Hello", 5, test_key);   /* RSV2 is still nobody's */
    EXPECT_FEED(&s, in.p, in.len, WS_ERR_PROTOCOL, "X1002:*", 1002, WS_STATE_FAILED);
    tbuf_free(&in);
}

TEST(reserved_opcodes_1002) {
    static const int ops[] = { 3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf };
    size_t i;
    for (i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        tbuf in = { 0 };
        h_setup s = setup_server();
        test_context("opcode %X", (unsigned)ops[i]);
        frame_put(&in, 1, 0, ops[i], "x", 1, test_key);
        EXPECT_FEED(&s, in.p, in.len, WS_ERR_PROTOCOL, "X1002:*", 1002, WS_STATE_FAILED);
        in.len = 0;
        s = setup_client();
        frame_put(&in, 1, 0, ops[i], "", 0, NULL);
        EXPECT_FEED(&s, in.p, in.len, WS_ERR_PROTOCOL, "X1002:*", 1002, WS_STATE_FAILED);
        tbuf_free(&in);
    }
}

TEST(reserved_opcode_inside_fragmented_message_1002) {
    tbuf in = { 0 };
    h_setup s = setup_server();
    frame_put(&in, 0, 0, WS_OP_TEXT, "Hel", 3, test_key);
    frame_put(&in, 1, 0, 0xb, "", 0, test_key);
    EXPECT_FEED(&s, in.p, in.len, WS_ERR_PROTOCOL, "B1:? X1002:*", 1002, WS_STATE_FAILED);
    tbuf_free(&in);
}

TEST(control_frame_over_125_1002) {
    uint8_t p[126];
    static const int ops[] = { WS_OP_PING, WS_OP_PONG, WS_OP_CLOSE };
    size_t i;
    memset(p, 'a', sizeof p);
    p[0] = 0x03;        /* a close body with code 1000 */
    p[1] = 0xe8;
    for (i = 0; i < 3; i++) {
        tbuf in = { 0 };
        h_setup s = setup_server();
        test_context("opcode %X, 126 bytes", (unsigned)ops[i]);
        frame_put(&in, 1, 0, ops[i], p, 126, test_key);
        EXPECT_FEED(&s, in.p, in.len, WS_ERR_PROTOCOL, "X1002:*", 1002, WS_STATE_FAILED);
        /* fail-fast: the header is enough */
        EXPECT_FEED(&s, in.p, 8, WS_ERR_PROTOCOL, "X1002:*", 1002, WS_STATE_FAILED);
        tbuf_free(&in);
    }
}

TEST(fragmented_control_frame_1002) {
    static const int ops[] = { WS_OP_PING, WS_OP_PONG, WS_OP_CLOSE };
    size_t i;
    for (i = 0; i < 3; i++) {
        tbuf in = { 0 };
        h_setup s = setup_server();
        test_context("opcode %X without FIN", (unsigned)ops[i]);
        frame_put(&in, 0, 0, ops[i], "", 0, test_key);
        EXPECT_FEED(&s, in.p, in.len, WS_ERR_PROTOCOL, "X1002:*", 1002, WS_STATE_FAILED);
        tbuf_free(&in);
    }
}

TEST(continuation_without_start_1002) {
    tbuf in = { 0 };
    h_setup s = setup_server();
    frame_put(&in, 1, 0, WS_OP_CONT, "lo", 2, test_key);
    EXPECT_FEED(&s, in.p, in.len, WS_ERR_PROTOCOL, "X1002:*", 1002, WS_STATE_FAILED);
    in.len = 0;
    frame_put(&in, 1, 0, WS_OP_TEXT, "Hello", 5, test_key);     /* a finished message */
    frame_put(&in, 0, 0, WS_OP_CONT, "lo", 2, test_key);
    EXPECT_FEED(&s, in.p, in.len, WS_ERR_PROTOCOL, "B1:5 D:Hello E X1002:*", 1002,
                WS_STATE_FAILED);
    tbuf_free(&in);
}

TEST(data_frame_inside_fragmented_message_1002) {
    tbuf in = { 0 };
    h_setup s = setup_server();
    frame_put(&in, 0, 0, WS_OP_TEXT, "Hel", 3, test_key);
    frame_put(&in, 1, 0, WS_OP_TEXT, "lo", 2, test_key);
    EXPECT_FEED(&s, in.p, in.len, WS_ERR_PROTOCOL, "B1:? X1002:*", 1002, WS_STATE_FAILED);
    in.len = 0;
    frame_put(&in, 0, 0, WS_OP_BINARY, "Hel", 3, test_key);
    frame_put(&in, 0, 0, WS_OP_BINARY, "lo", 2, test_key);
    EXPECT_FEED(&s, in.p, in.len, WS_ERR_PROTOCOL, "B2:? X1002:*", 1002, WS_STATE_FAILED);
    tbuf_free(&in);
}

TEST(length_with_top_bit_set_1002) {
    uint8_t in[14] = { 0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0x05, 0x37, 0xfa, 0x21, 0x3d };
    h_setup s = setup_server();
    EXPECT_FEED(&s, in, sizeof in, WS_ERR_PROTOCOL, "X1002:*", 1002, WS_STATE_FAILED);
    in[2] = 0xff;
    EXPECT_FEED(&s, in, sizeof in, WS_ERR_PROTOCOL, "X1002:*", 1002, WS_STATE_FAILED);
    s = setup_client();
    in[1] = 0x7f;
    EXPECT_FEED(&s, in, 10, WS_ERR_PROTOCOL, "X1002:*", 1002, WS_STATE_FAILED);
}

TEST(frame_over_max_frame_size_1009) {
    tbuf in = { 0 };
    uint8_t p[101];
    h_setup s = setup_server();
    memset(p, 'a', sizeof p);
    s.cfg.max_frame_size = 100;
    frame_put(&in, 1, 0, WS_OP_TEXT, p, 100, test_key);
    EXPECT_FEED(&s, in.p, in.len, WS_OK, 0, -1, WS_STATE_OPEN);      /* exactly the limit */
    in.len = 0;
    frame_put(&in, 1, 0, WS_OP_BINARY, p, 101, test_key);
    EXPECT_FEED(&s, in.p, in.len, WS_ERR_TOO_BIG, "X1009:*", 1009, WS_STATE_FAILED);
    /* fail-fast: known from the header, before any payload */
    EXPECT_FEED(&s, in.p, 8, WS_ERR_TOO_BIG, "X1009:*", 1009, WS_STATE_FAILED);
    tbuf_free(&in);
}

TEST(frame_over_default_limit_1009) {
    /* 16 MiB + 1 declared; nothing of the payload is sent */
    uint8_t in[14] = { 0x82, 0xff, 0, 0, 0, 0, 0x01, 0x00, 0x00, 0x01, 0x37, 0xfa, 0x21, 0x3d };
    uint8_t big[14] = { 0x82, 0xff, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0x37, 0xfa, 0x21, 0x3d };
    h_setup s = setup_server();
    EXPECT_FEED(&s, in, sizeof in, WS_ERR_TOO_BIG, "X1009:*", 1009, WS_STATE_FAILED);
    /* 2^40 bytes: must be refused, not truncated */
    EXPECT_FEED(&s, big, sizeof big, WS_ERR_TOO_BIG, "X1009:*", 1009, WS_STATE_FAILED);
}

TEST(message_over_max_message_size_1009) {
    tbuf in = { 0 };
    h_setup s = setup_server();
    s.cfg.max_message_size = 10;
    frame_put(&in, 0, 0, WS_OP_TEXT, "12345", 5, test_key);
    frame_put(&in, 1, 0, WS_OP_CONT, "67890", 5, test_key);
    EXPECT_FEED(&s, in.p, in.len, WS_OK, "B1:? D:1234567890 E", -1, WS_STATE_OPEN);
    in.len = 0;
    frame_put(&in, 0, 0, WS_OP_TEXT, "123456", 6, test_key);
    frame_put(&in, 1, 0, WS_OP_CONT, "78901", 5, test_key);
    EXPECT_FEED(&s, in.p, in.len, WS_ERR_TOO_BIG, "B1:? X1009:*", 1009, WS_STATE_FAILED);
    /* the frame limit defaults to the message limit */
    in.len = 0;
    frame_put(&in, 1, 0, WS_OP_BINARY, "12345678901", 11, test_key);
    EXPECT_FEED(&s, in.p, in.len, WS_ERR_TOO_BIG, "X1009:*", 1009, WS_STATE_FAILED);
    /* control frames do not count toward the message */
    in.len = 0;
    frame_put(&in, 0, 0, WS_OP_TEXT, "12345", 5, test_key);
    frame_put(&in, 1, 0, WS_OP_PING, "abcdefgh", 8, test_key);
    frame_put(&in, 1, 0, WS_OP_CONT, "67890", 5, test_key);
    EXPECT_FEED(&s, in.p, in.len, WS_OK, "B1:? D:12345 P9:abcdefgh D:67890 E", 0,
                WS_STATE_OPEN);
    tbuf_free(&in);
}

TEST(invalid_utf8_text_1007) {
    tbuf in = { 0 };
    h_setup s = setup_server();
    frame_put(&in, 1, 0, WS_OP_TEXT, "Hi\xc0\x80", 4, test_key);
    EXPECT_FEED(&s, in.p, in.len, WS_ERR_UTF8, "B1:4 X1007:*", 1007, WS_STATE_FAILED);
    in.len = 0;
    frame_put(&in, 1, 0, WS_OP_TEXT, "\xed\xa0\x80", 3, test_key);
    EXPECT_FEED(&s, in.p, in.len, WS_ERR_UTF8, "B1:3 X1007:*", 1007, WS_STATE_FAILED);
    in.len = 0;     /* the text ends inside a sequence */
    frame_put(&in, 1, 0, WS_OP_TEXT, "ab\xe2\x82", 4, test_key);
    EXPECT_FEED(&s, in.p, in.len, WS_ERR_UTF8, "B1:4 X1007:*", 1007, WS_STATE_FAILED);
    s = setup_client();
    in.len = 0;
    frame_put(&in, 1, 0, WS_OP_TEXT, "\xf4\x90\x80\x80", 4, NULL);
    EXPECT_FEED(&s, in.p, in.len, WS_ERR_UTF8, "B1:4 X1007:*", 1007, WS_STATE_FAILED);
    tbuf_free(&in);
}

TEST(invalid_utf8_fails_before_the_frame_ends) {
    /* a 1000-byte text frame of which only the first 20 bytes arrived, the 4th invalid:
       the connection fails now, not 980 bytes later */
    tbuf in = { 0 };
    uint8_t p[1000];
    h_setup s = setup_server();
    memset(p, 'a', sizeof p);
    p[3] = 0xff;
    frame_put(&in, 1, 0, WS_OP_TEXT, p, sizeof p, test_key);
    EXPECT_FEED(&s, in.p, 8 + 20, WS_ERR_UTF8, "B1:1000 X1007:*", 1007, WS_STATE_FAILED);
    /* and in the client role, in a fragment */
    s = setup_client();
    in.len = 0;
    frame_put(&in, 0, 0, WS_OP_TEXT, "ok", 2, NULL);
    frame_put(&in, 1, 0, WS_OP_CONT, p, sizeof p, NULL);
    EXPECT_FEED(&s, in.p, 4 + 4 + 10, WS_ERR_UTF8, "B1:? X1007:*", 1007, WS_STATE_FAILED);
    tbuf_free(&in);
}

TEST(invalid_utf8_across_fragments_1007) {
    tbuf in = { 0 };
    h_setup s = setup_server();
    /* E2 82 | 28: the third byte of the sequence is not a continuation */
    frame_put(&in, 0, 0, WS_OP_TEXT, "a\xe2\x82", 3, test_key);
    frame_put(&in, 1, 0, WS_OP_CONT, "\x28", 1, test_key);
    EXPECT_FEED(&s, in.p, in.len, WS_ERR_UTF8, "B1:? X1007:*", 1007, WS_STATE_FAILED);
    /* the message ends inside a sequence that was started in an earlier fragment */
    in.len = 0;
    frame_put(&in, 0, 0, WS_OP_TEXT, "a\xf0\x9d", 3, test_key);
    frame_put(&in, 1, 0, WS_OP_CONT, "\x84", 1, test_key);
    EXPECT_FEED(&s, in.p, in.len, WS_ERR_UTF8, "B1:? X1007:*", 1007, WS_STATE_FAILED);
    /* an empty final fragment after an unfinished sequence */
    in.len = 0;
    frame_put(&in, 0, 0, WS_OP_TEXT, "\xc3", 1, test_key);
    frame_put(&in, 1, 0, WS_OP_CONT, "", 0, test_key);
    EXPECT_FEED(&s, in.p, in.len, WS_ERR_UTF8, "B1:? X1007:*", 1007, WS_STATE_FAILED);
    tbuf_free(&in);
}

TEST(errors_are_sticky) {
    harness h;
    tbuf in = { 0 };
    static const uint8_t bad[] = { 0x81, 0x05, 'H', 'e', 'l', 'l', 'o' };   /* unmasked */
    uint8_t copy[sizeof bad];
    size_t sent;
    if (h_open(&h, NULL) < 0) {
        h_free(&h);
        return;
    }
    memcpy(copy, bad, sizeof bad);
    CHECK_EQ_INT(ws_conn_feed(&h.conn, copy, sizeof copy), WS_ERR_PROTOCOL);
    sent = h.sent.len;
    frame_put(&in, 1, 0, WS_OP_TEXT, "ok", 2, test_key);
    CHECK_EQ_INT(ws_conn_feed(&h.conn, in.p, in.len), WS_ERR_PROTOCOL);
    CHECK_EQ_INT(ws_conn_feed(&h.conn, in.p, 0), WS_ERR_PROTOCOL);
    CHECK_EQ_INT(ws_conn_send(&h.conn, WS_OP_TEXT, "x", 1), WS_ERR_PROTOCOL);
    CHECK_EQ_INT(ws_conn_close(&h.conn, 1000, NULL, 0), WS_ERR_PROTOCOL);
    CHECK_EQ_INT(ws_conn_tick(&h.conn, 1000), WS_ERR_PROTOCOL);
    CHECK_EQ_INT(ws_conn_error(&h.conn), WS_ERR_PROTOCOL);
    CHECK_EQ_INT(ws_conn_state(&h.conn), WS_STATE_FAILED);
    CHECK_EQ_INT(ws_conn_close_code(&h.conn), 1002);
    CHECK_EQ_INT(h.sent.len, sent);
    CHECK_EQ_INT(h.close_calls, 1);
    tbuf_free(&in);
    h_free(&h);
}

TEST(feed_before_open_is_a_state_error) {
    harness h;
    uint8_t b[2] = { 0x89, 0x80 };
    if (h_init(&h, NULL) == 0) {
        CHECK_EQ_INT(ws_conn_feed(&h.conn, b, sizeof b), WS_ERR_STATE);
        CHECK_EQ_INT(ws_conn_state(&h.conn), WS_STATE_CONNECTING);
        CHECK_EQ_INT(h.sent.len, 0);
    }
    h_free(&h);
}

TEST(send_failure_while_answering_ping) {
    harness h;
    tbuf in = { 0 };
    if (h_open(&h, NULL) < 0) {
        h_free(&h);
        return;
    }
    h.send_fail = 1;
    frame_put(&in, 1, 0, WS_OP_PING, "x", 1, test_key);
    CHECK_EQ_INT(ws_conn_feed(&h.conn, in.p, in.len), WS_ERR_IO);
    CHECK_EQ_INT(ws_conn_state(&h.conn), WS_STATE_FAILED);
    CHECK_EQ_INT(ws_conn_error(&h.conn), WS_ERR_IO);
    CHECK_EQ_INT(h.close_calls, 1);
    CHECK_EQ_INT(h.close_code, 1006);
    tbuf_free(&in);
    h_free(&h);
}

/* ---- whole-message buffer ------------------------------------------------------------------ */

TEST(buffer_whole_messages) {
    tbuf in = { 0 };
    h_setup s = setup_server();
    s.bufcap = 16;
    frame_put(&in, 1, 0, WS_OP_TEXT, "Hello", 5, test_key);
    frame_put(&in, 0, 0, WS_OP_BINARY, "\x01\x02", 2, test_key);
    frame_put(&in, 1, 0, WS_OP_PING, "p", 1, test_key);
    frame_put(&in, 1, 0, WS_OP_CONT, "\x03", 1, test_key);
    frame_put(&in, 1, 0, WS_OP_TEXT, "", 0, test_key);
    frame_put(&in, 1, 0, WS_OP_TEXT, "0123456789abcdef", 16, test_key);  /* exactly full */
    EXPECT_FEED(&s, in.p, in.len, WS_OK,
                "M1:Hello P9:p M2:\\x01\\x02\\x03 M1: M1:0123456789abcdef", 0, WS_STATE_OPEN);
    tbuf_free(&in);
}

TEST(buffer_mode_calls_only_on_message) {
    /* ws.h: "A message arrives either whole, through on_message (when the connection has a
       buffer: ws_conn_set_buffer), or streamed, through on_begin, on_data for each chunk
       and on_end." (The other buffer tests do not log on_begin, so that they test the
       rest whatever this one finds.) */
    harness h;
    tbuf in = { 0 };
    h_setup s = setup_server();
    s.bufcap = 16;
    if (h_open(&h, &s) == 0) {
        frame_put(&in, 1, 0, WS_OP_TEXT, "Hello", 5, test_key);
        frame_put(&in, 0, 0, WS_OP_BINARY, "ab", 2, test_key);
        frame_put(&in, 1, 0, WS_OP_CONT, "c", 1, test_key);
        CHECK_EQ_INT(ws_conn_feed(&h.conn, in.p, in.len), WS_OK);
        CHECK_EQ_STR(h_log(&h), "M1:Hello M2:abc");
        CHECK_EQ_INT(h.begins_buffered, 0);
        CHECK_EQ_INT(h.order_errors, 0);
    }
    tbuf_free(&in);
    h_free(&h);
}

TEST(buffer_overflow_1009) {
    tbuf in = { 0 };
    h_setup s = setup_server();
    s.bufcap = 8;
    frame_put(&in, 1, 0, WS_OP_BINARY, "123456789", 9, test_key);
    EXPECT_FEED(&s, in.p, in.len, WS_ERR_TOO_BIG, "X1009:*", 1009, WS_STATE_FAILED);
    in.len = 0;
    frame_put(&in, 0, 0, WS_OP_TEXT, "12345", 5, test_key);
    frame_put(&in, 1, 0, WS_OP_CONT, "6789", 4, test_key);
    EXPECT_FEED(&s, in.p, in.len, WS_ERR_TOO_BIG, "X1009:*", 1009, WS_STATE_FAILED);
    tbuf_free(&in);
}

TEST(buffer_invalid_utf8_1007) {
    tbuf in = { 0 };
    h_setup s = setup_server();
    s.bufcap = 64;
    frame_put(&in, 0, 0, WS_OP_TEXT, "ab\xe2\x82", 4, test_key);
    frame_put(&in, 1, 0, WS_OP_CONT, "\xff", 1, test_key);
    EXPECT_FEED(&s, in.p, in.len, WS_ERR_UTF8, "X1007:*", 1007, WS_STATE_FAILED);
    tbuf_free(&in);
}

TEST(buffer_off_returns_to_streaming) {
    harness h;
    tbuf in = { 0 };
    h_setup s = setup_server();
    s.bufcap = 16;
    if (h_open(&h, &s) < 0) {
        h_free(&h);
        return;
    }
    frame_put(&in, 1, 0, WS_OP_TEXT, "one", 3, test_key);
    CHECK_EQ_INT(ws_conn_feed(&h.conn, in.p, in.len), WS_OK);
    ws_conn_set_buffer(&h.conn, NULL, 0);
    h.buffered = 0;
    in.len = 0;
    frame_put(&in, 1, 0, WS_OP_TEXT, "two", 3, test_key);
    CHECK_EQ_INT(ws_conn_feed(&h.conn, in.p, in.len), WS_OK);
    CHECK_EQ_STR(h_log(&h), "M1:one B1:3 D:two E");
    CHECK_EQ_INT(h.order_errors, 0);
    tbuf_free(&in);
    h_free(&h);
}

/* ---- random valid streams ------------------------------------------------------------------ */

TEST(random_valid_streams) {
    uint64_t rng = 0xf00dull + test_seed();
    int round;
    for (round = 0; round < 40; round++) {
        tbuf in = { 0 }, log = { 0 };
        h_setup s = round % 2 ? setup_client() : setup_server();
        int msgs = 1 + (int)(test_rand(&rng) % 4), m;
        for (m = 0; m < msgs; m++) {
            uint8_t p[120];
            size_t len = test_rand(&rng) % sizeof p, i, pos = 0;
            int op = test_rand(&rng) % 2 ? WS_OP_TEXT : WS_OP_BINARY;
            int frags = 1 + (int)(test_rand(&rng) % 3), f;
            int data_open = 0;      /* the log ends in a D: token that data extends */
            char tok[32];
            for (i = 0; i < len; i++)   /* printable ASCII text, or any byte */
                p[i] = (uint8_t)(op == WS_OP_TEXT ? 0x20 + test_rand(&rng) % 0x5f
                                                  : test_rand(&rng));
            if (frags > 1)
                snprintf(tok, sizeof tok, "%sB%d:?", log.len ? " " : "", op);
            else
                snprintf(tok, sizeof tok, "%sB%d:%lu", log.len ? " " : "", op,
                         (unsigned long)len);
            tbuf_puts(&log, tok);
            for (f = 0; f < frags; f++) {
                size_t n = f == frags - 1 ? len - pos : test_rand(&rng) % (len - pos + 1);
                frame_put(&in, f == frags - 1, 0, f == 0 ? op : WS_OP_CONT, p + pos, n,
                          key_for(&s));
                if (n) {
                    if (!data_open)
                        tbuf_puts(&log, " D:");
                    data_open = 1;
                    tbuf_escape(&log, p + pos, n);
                }
                pos += n;
                if (f < frags - 1 && test_rand(&rng) % 3 == 0) {
                    frame_put(&in, 1, 0, WS_OP_PING, "pp", 2, key_for(&s));
                    tbuf_puts(&log, " P9:pp");
                    data_open = 0;
                }
            }
            tbuf_puts(&log, " E");
        }
        test_context("seed=%lu round %d", test_seed(), round);
        EXPECT_FEED(&s, in.p, in.len, WS_OK, tbuf_str(&log), 0, WS_STATE_OPEN);
        tbuf_free(&in);
        tbuf_free(&log);
    }
}

TEST(connection_size_is_the_documented_figure) {
    /* ws.h MEMORY and README: "sizeof(ws_conn) is 216 bytes on x86-64 (232 with
       WS_DEFLATE), 125 of them the control-frame buffer" (this build is without it) */
    if (sizeof(void *) == 8)
        CHECK_EQ_INT((int)sizeof(ws_conn), 216);
    CHECK(sizeof(((ws_conn *)0)->_ctrl) >= 125);
}

void suite_frame(void) {
    test_suite_begin("frame");
    RUN(connection_size_is_the_documented_figure);
    RUN(rfc_single_frame_unmasked_text);
    RUN(rfc_single_frame_masked_text);
    RUN(rfc_fragmented_unmasked_text);
    RUN(fragmented_masked_text);
    RUN(rfc_unmasked_ping_answered_by_masked_pong);
    RUN(rfc_masked_ping_answered_by_unmasked_pong);
    RUN(rfc_masked_pong_reported_not_answered);
    RUN(ping_not_answered_with_no_auto_pong);
    RUN(empty_ping_and_125_byte_ping);
    RUN(rfc_256_bytes_16_bit_length);
    RUN(rfc_64k_64_bit_length);
    RUN(lengths_at_encoding_boundaries);
    RUN(empty_messages);
    RUN(several_messages_in_one_buffer);
    RUN(utf8_text_split_across_fragments_is_fine);
    RUN(ping_between_fragments);
    RUN(binary_may_hold_anything);
    RUN(unmasked_frame_to_server_1002);
    RUN(masked_frame_to_client_1002);
    RUN(unmasked_control_frame_to_server_1002);
    RUN(rsv_bits_1002);
    RUN(rsv_bits_allowed_by_config);
    RUN(reserved_opcodes_1002);
    RUN(reserved_opcode_inside_fragmented_message_1002);
    RUN(control_frame_over_125_1002);
    RUN(fragmented_control_frame_1002);
    RUN(continuation_without_start_1002);
    RUN(data_frame_inside_fragmented_message_1002);
    RUN(length_with_top_bit_set_1002);
    RUN(frame_over_max_frame_size_1009);
    RUN(frame_over_default_limit_1009);
    RUN(message_over_max_message_size_1009);
    RUN(invalid_utf8_text_1007);
    RUN(invalid_utf8_fails_before_the_frame_ends);
    RUN(invalid_utf8_across_fragments_1007);
    RUN(errors_are_sticky);
    RUN(feed_before_open_is_a_state_error);
    RUN(send_failure_while_answering_ping);
    RUN(buffer_whole_messages);
    RUN(buffer_mode_calls_only_on_message);
    RUN(buffer_overflow_1009);
    RUN(buffer_invalid_utf8_1007);
    RUN(buffer_off_returns_to_streaming);
    RUN(random_valid_streams);
    test_suite_end();
}
