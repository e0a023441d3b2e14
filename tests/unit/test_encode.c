/* test_encode.c - what ws.h puts on the wire: ws_frame_header and ws_frame_encode byte for
   byte, ws_mask against a byte-by-byte reference, ws_conn_send and friends in both roles
   (masked with fresh keys from the random callback, or unmasked with the payload handed over
   uncopied), fragmented and streamed sends, state errors, ws_conn_accept / ws_conn_reject,
   and the client handshake through ws_conn_connect / ws_conn_connected. What is sent is also
   parsed back by a connection of the other role. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CRLF "\r\n"

/* ---- ws_frame_header / ws_frame_encode ----------------------------------------------------- */

static void check_header_at(bool fin, ws_opcode op, uint64_t len, const uint8_t *mask,
                            const uint8_t *want, size_t want_len, const char *file, int line) {
    uint8_t out[20];
    size_t n, i;
    memset(out, 0xaa, sizeof out);
    n = ws_frame_header(out, fin, op, len, mask);
    test_context("ws_frame_header(fin %d, op %d, len %llu, %s)", fin, (int)op,
                 (unsigned long long)len, mask ? "masked" : "unmasked");
    test_check_mem(out, n, want, want_len, file, line, "header");
    for (i = n; i < sizeof out; i++)
        if (out[i] != 0xaa) {
            test_fail(file, line, "byte %lu written past the header", (unsigned long)i);
            break;
        }
    test_context(NULL);
}
#define CHECK_HEADER(fin, op, len, mask, ...)                                          \
    do {                                                                               \
        static const uint8_t want_[] = { __VA_ARGS__ };                                  \
        check_header_at((fin), (op), (len), (mask), want_, sizeof want_, __FILE__, __LINE__); \
    } while (0)

TEST(frame_header_lengths) {
    CHECK_HEADER(true, WS_OP_TEXT, 0, NULL, 0x81, 0x00);
    CHECK_HEADER(true, WS_OP_TEXT, 125, NULL, 0x81, 0x7d);
    CHECK_HEADER(true, WS_OP_BINARY, 126, NULL, 0x82, 0x7e, 0x00, 0x7e);
    CHECK_HEADER(true, WS_OP_BINARY, 65535, NULL, 0x82, 0x7e, 0xff, 0xff);
    CHECK_HEADER(true, WS_OP_BINARY, 65536, NULL, 0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0);
    CHECK_HEADER(true, WS_OP_BINARY, 0x100000005ull, NULL, 0x82, 0x7f, 0, 0, 0, 1, 0, 0, 0, 5);
    CHECK_HEADER(true, WS_OP_BINARY, 0x7fffffffffffffffull, NULL, 0x82, 0x7f, 0x7f, 0xff,
                 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
}

TEST(frame_header_flags_and_mask) {
    CHECK_HEADER(false, WS_OP_TEXT, 3, NULL, 0x01, 0x03);
    CHECK_HEADER(false, WS_OP_CONT, 0, NULL, 0x00, 0x00);
    CHECK_HEADER(true, WS_OP_CONT, 2, NULL, 0x80, 0x02);
    CHECK_HEADER(true, WS_OP_PING, 0, NULL, 0x89, 0x00);
    CHECK_HEADER(true, WS_OP_PONG, 5, NULL, 0x8a, 0x05);
    CHECK_HEADER(true, WS_OP_CLOSE, 2, NULL, 0x88, 0x02);
    CHECK_HEADER(true, WS_OP_TEXT, 5, test_key, 0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d);
    CHECK_HEADER(true, WS_OP_BINARY, 126, test_key, 0x82, 0xfe, 0x00, 0x7e, 0x37, 0xfa, 0x21,
                 0x3d);
    CHECK_HEADER(true, WS_OP_BINARY, 65536, test_key, 0x82, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 0x37,
                 0xfa, 0x21, 0x3d);
}

TEST(frame_encode_rfc_examples) {
    static const uint8_t masked[] = { 0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                      0x7f, 0x9f, 0x4d, 0x51, 0x58 };
    static const uint8_t plain[] = { 0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f };
    static const uint8_t frag[] = { 0x01, 0x03, 0x48, 0x65, 0x6c };
    char payload[] = "Hello";
    uint8_t out[32], *exact;
    size_t len = 0;
    CHECK_EQ_INT(ws_frame_encode(out, sizeof out, &len, true, WS_OP_TEXT, payload, 5, test_key),
                 WS_OK);
    CHECK_EQ_MEM(out, len, masked, sizeof masked);
    CHECK_EQ_STR(payload, "Hello");     /* the payload itself is not masked in place */
    CHECK_EQ_INT(ws_frame_encode(out, sizeof out, &len, true, WS_OP_TEXT, payload, 5, NULL),
                 WS_OK);
    CHECK_EQ_MEM(out, len, plain, sizeof plain);
    CHECK_EQ_INT(ws_frame_encode(out, sizeof out, &len, false, WS_OP_TEXT, "Hel", 3, NULL),
                 WS_OK);
    CHECK_EQ_MEM(out, len, frag, sizeof frag);
    /* exactly enough room; one byte less */
    exact = (uint8_t *)malloc(sizeof masked);
    CHECK_EQ_INT(ws_frame_encode(exact, sizeof masked, &len, true, WS_OP_TEXT, payload, 5,
                                 test_key),
                 WS_OK);
    CHECK_EQ_MEM(exact, len, masked, sizeof masked);
    CHECK_EQ_INT(ws_frame_encode(exact, sizeof masked - 1, &len, true, WS_OP_TEXT, payload, 5,
                                 test_key),
                 WS_ERR_NOSPACE);
    free(exact);
}

TEST(frame_encode_refuses_invalid_control_frames) {
    /* RFC 6455 5.5: "All control frames MUST have a payload length of 125 bytes or less
       and MUST NOT be fragmented." ws_conn_send refuses these with WS_ERR_ARG too. */
    uint8_t out[300], p[126];
    size_t len;
    memset(p, 'p', sizeof p);
    CHECK_EQ_INT(ws_frame_encode(out, sizeof out, &len, true, WS_OP_PING, p, 126, NULL),
                 WS_ERR_ARG);
    CHECK_EQ_INT(ws_frame_encode(out, sizeof out, &len, true, WS_OP_CLOSE, p, 126, NULL),
                 WS_ERR_ARG);
    CHECK_EQ_INT(ws_frame_encode(out, sizeof out, &len, false, WS_OP_PING, p, 1, NULL),
                 WS_ERR_ARG);
    CHECK_EQ_INT(ws_frame_encode(out, sizeof out, &len, true, WS_OP_PING, p, 125, NULL), WS_OK);
    CHECK_EQ_INT(len, 127);
}

TEST(frame_encode_refuses_reserved_opcodes) {
    /* opcodes 3-7 and B-F are reserved (RFC 6455 5.2); a peer fails the connection */
    uint8_t out[16];
    size_t len;
    CHECK_EQ_INT(ws_frame_encode(out, sizeof out, &len, true, (ws_opcode)3, "x", 1, NULL),
                 WS_ERR_ARG);
    CHECK_EQ_INT(ws_frame_encode(out, sizeof out, &len, true, (ws_opcode)0xb, "x", 1, NULL),
                 WS_ERR_ARG);
    CHECK_EQ_INT(ws_frame_encode(out, sizeof out, &len, true, (ws_opcode)0x80, "x", 1, NULL),
                 WS_ERR_ARG);                           /* no such bit */
    CHECK_EQ_INT(ws_frame_encode(out, sizeof out, &len, true, (ws_opcode)(3 | WS_RSV1), "x", 1,
                                 NULL), WS_ERR_ARG);    /* reserved under the RSV bit too */
}

TEST(rsv_bits_go_on_the_wire_when_an_extension_owns_them) {
    /* WS_RSV1..3 ORed into the opcode: the frame's first byte carries them */
    uint8_t out[16];
    size_t len = 0;
    harness h;
    h_setup s = setup_server();
    CHECK_EQ_INT(ws_frame_encode(out, sizeof out, &len, true,
                                 (ws_opcode)(WS_OP_TEXT | WS_RSV1), "x", 1, NULL), WS_OK);
    CHECK_EQ_INT(out[0], 0xC1);
    CHECK_EQ_INT(ws_frame_header(out, false, (ws_opcode)(WS_OP_BINARY | WS_RSV2 | WS_RSV3), 5,
                                 NULL), 2);
    CHECK_EQ_INT(out[0], 0x32);
    /* a connection sends them only when its config gives them to the extension */
    s.cfg.rsv_allowed = WS_RSV1;
    if (h_open(&h, &s) != 0) return;
    CHECK_EQ_INT(ws_conn_send(&h.conn, (ws_opcode)(WS_OP_TEXT | WS_RSV1), "z", 1), WS_OK);
    CHECK_EQ_INT(h.sent.len, 3);
    CHECK_EQ_INT(h.sent.p[0], 0xC1);
    CHECK_EQ_INT(ws_conn_send(&h.conn, (ws_opcode)(WS_OP_TEXT | WS_RSV2), "z", 1), WS_ERR_ARG);
    CHECK_EQ_INT(ws_conn_send_begin(&h.conn, (ws_opcode)(WS_OP_BINARY | WS_RSV1), "a", 1), WS_OK);
    CHECK_EQ_INT(ws_conn_send_end(&h.conn, "b", 1), WS_OK);
    CHECK_EQ_INT(h.sent.p[3], 0x42);                   /* first fragment: RSV1, BINARY */
    CHECK_EQ_INT(h.sent.p[6], 0x80);                   /* last: FIN, CONT, no RSV */
    CHECK_EQ_INT(ws_conn_state(&h.conn), WS_STATE_OPEN);
    h_free(&h);
    /* without the config's leave, none */
    s.cfg.rsv_allowed = 0;
    if (h_open(&h, &s) != 0) return;
    CHECK_EQ_INT(ws_conn_send(&h.conn, (ws_opcode)(WS_OP_TEXT | WS_RSV1), "z", 1), WS_ERR_ARG);
    CHECK_EQ_INT(h.sent.len, 0);
    h_free(&h);
}

TEST(frame_encode_round_trip) {
    /* what ws_frame_encode makes, a connection of the other role parses back */
    uint8_t p[300], *out = (uint8_t *)malloc(320);
    size_t len = 0, i;
    tbuf log = { 0 };
    for (i = 0; i < sizeof p; i++)
        p[i] = (uint8_t)(i ^ 0x5a);
    CHECK_EQ_INT(ws_frame_encode(out, 320, &len, true, WS_OP_BINARY, p, sizeof p, test_key),
                 WS_OK);
    tbuf_puts(&log, "B2:300 D:");
    tbuf_escape(&log, p, sizeof p);
    tbuf_puts(&log, " E");
    {
        h_setup s = setup_server();
        EXPECT_FEED(&s, out, len, WS_OK, tbuf_str(&log), -1, WS_STATE_OPEN);
    }
    free(out);
    tbuf_free(&log);
}

/* ---- ws_mask -------------------------------------------------------------------------------- */

TEST(mask_against_reference) {
    static const uint8_t key[4] = { 0x01, 0x80, 0x7f, 0xfe };
    uint8_t base[64 + 8 + 16], buf[64 + 8 + 16], want[64 + 8 + 16];
    size_t pos, off, len, i;
    long bad = 0;
    for (i = 0; i < sizeof base; i++)
        base[i] = (uint8_t)(i * 13 + 7);
    for (pos = 0; pos < 4; pos++)
        for (off = 0; off < 8; off++)
            for (len = 0; len <= 64; len++) {
                memcpy(buf, base, sizeof buf);
                memcpy(want, base, sizeof want);
                for (i = 0; i < len; i++)
                    want[8 + off + i] ^= key[(pos + i) & 3];
                ws_mask(buf + 8 + off, len, key, pos);
                if (memcmp(buf, want, sizeof buf) != 0 && bad++ < 3) {
                    test_context("pos %lu, offset %lu, length %lu", (unsigned long)pos,
                                 (unsigned long)off, (unsigned long)len);
                    CHECK_EQ_MEM(buf, sizeof buf, want, sizeof want);
                }
            }
    test_context(NULL);
    CHECK_EQ_INT(bad, 0);
}

TEST(mask_in_pieces_and_exact_buffers) {
    /* masking 1000 bytes in pieces of every size, the key position carried along, equals
       masking them at once; each piece sits in a buffer of exactly its size */
    uint8_t whole[1000], pieces[1000];
    size_t step, i;
    long bad = 0;
    for (i = 0; i < sizeof whole; i++)
        whole[i] = (uint8_t)(i * 7);
    ws_mask(whole, sizeof whole, test_key, 0);
    for (i = 0; i < sizeof whole; i++)
        if (whole[i] != (uint8_t)((uint8_t)(i * 7) ^ test_key[i & 3]))
            bad++;
    CHECK_EQ_INT(bad, 0);
    for (step = 1; step <= 67; step++) {
        size_t at = 0;
        while (at < sizeof pieces) {
            size_t n = sizeof pieces - at < step ? sizeof pieces - at : step, k;
            uint8_t *piece = (uint8_t *)malloc(n);
            for (k = 0; k < n; k++)
                piece[k] = (uint8_t)((at + k) * 7);
            ws_mask(piece, n, test_key, at % 4);
            memcpy(pieces + at, piece, n);
            free(piece);
            at += n;
        }
        if (memcmp(pieces, whole, sizeof whole) != 0 && bad++ < 3) {
            test_context("pieces of %lu bytes", (unsigned long)step);
            CHECK_EQ_MEM(pieces, sizeof pieces, whole, sizeof whole);
        }
    }
    test_context(NULL);
    CHECK_EQ_INT(bad, 0);
}

/* ---- ws_conn_send ----------------------------------------------------------------------------- */

/* Finds key in the random bytes at or after *from; on success moves *from past it. */
static int key_from_random(const tbuf *rnd, const uint8_t key[4], size_t *from) {
    size_t i;
    for (i = *from; i + 4 <= rnd->len; i++)
        if (memcmp(rnd->p + i, key, 4) == 0) {
            *from = i + 4;
            return 1;
        }
    return 0;
}

TEST(client_send_masks_with_fresh_random_keys) {
    harness h;
    h_setup s = setup_client();
    uint8_t big[10000];
    char hello[] = "Hello";
    sframe f[8];
    size_t n = 0, i, from = 0;
    for (i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 3);
    if (h_open(&h, &s) < 0) {
        h_free(&h);
        return;
    }
    CHECK_EQ_INT(ws_conn_send(&h.conn, WS_OP_TEXT, hello, 5), WS_OK);
    CHECK_EQ_INT(ws_conn_send(&h.conn, WS_OP_TEXT, hello, 5), WS_OK);
    CHECK_EQ_INT(ws_conn_send(&h.conn, WS_OP_BINARY, "", 0), WS_OK);
    CHECK_EQ_INT(ws_conn_send(&h.conn, WS_OP_BINARY, big, sizeof big), WS_OK);
    CHECK_EQ_INT(ws_conn_send(&h.conn, WS_OP_PING, "p", 1), WS_OK);
    CHECK_EQ_INT(ws_conn_send(&h.conn, WS_OP_PONG, "q", 1), WS_OK);
    CHECK_EQ_STR(hello, "Hello");                   /* the caller's bytes stay as they were */
    CHECK_EQ_INT(big[9999], (uint8_t)(9999 * 3));
    if (CHECK_EQ_INT(sframes_parse(h.sent.p, h.sent.len, f, 8, &n), 0) && CHECK_EQ_INT(n, 6)) {
        static const int ops[] = { WS_OP_TEXT, WS_OP_TEXT, WS_OP_BINARY, WS_OP_BINARY,
                                   WS_OP_PING, WS_OP_PONG };
        for (i = 0; i < 6; i++) {
            test_context("frame %lu", (unsigned long)i);
            CHECK_EQ_INT(f[i].op, ops[i]);
            CHECK_EQ_INT(f[i].fin, 1);
            CHECK_EQ_INT(f[i].masked, 1);
            CHECK(key_from_random(&h.rnd, f[i].key, &from));
        }
        test_context(NULL);
        CHECK_EQ_MEM(f[0].payload, (size_t)f[0].len, "Hello", 5);
        CHECK_EQ_MEM(f[1].payload, (size_t)f[1].len, "Hello", 5);
        CHECK(memcmp(f[0].key, f[1].key, 4) != 0);  /* same message, fresh key */
        CHECK_EQ_INT(f[2].len, 0);
        CHECK_EQ_MEM(f[3].payload, (size_t)f[3].len, big, sizeof big);
        CHECK_EQ_MEM(f[4].payload, (size_t)f[4].len, "p", 1);
        CHECK_EQ_MEM(f[5].payload, (size_t)f[5].len, "q", 1);
        /* a masked frame on the wire differs from the payload (the key is not zero) */
        CHECK(memcmp(h.sent.p + 6, "Hello", 5) != 0);
    }
    sframes_free(f, n);
    h_free(&h);
}

TEST(send_empty_payload_as_null) {
    /* (NULL, 0) is an empty payload: a ping without data, in both roles */
    harness h;
    int role;
    for (role = 0; role < 2; role++) {
        h_setup s = role ? setup_client() : setup_server();
        sframe f[4];
        size_t n = 0;
        if (h_open(&h, &s) == 0) {
            test_context("%s role", role ? "client" : "server");
            CHECK_EQ_INT(ws_conn_send(&h.conn, WS_OP_PING, NULL, 0), WS_OK);
            CHECK_EQ_INT(ws_conn_send(&h.conn, WS_OP_TEXT, NULL, 0), WS_OK);
            if (CHECK_EQ_INT(sframes_parse(h.sent.p, h.sent.len, f, 4, &n), 0) &&
                CHECK_EQ_INT(n, 2)) {
                CHECK_EQ_INT(f[0].op, WS_OP_PING);
                CHECK_EQ_INT(f[0].len, 0);
                CHECK_EQ_INT(f[1].op, WS_OP_TEXT);
                CHECK_EQ_INT(f[1].len, 0);
                CHECK_EQ_INT(f[1].masked, role);
            }
            sframes_free(f, n);
        }
        h_free(&h);
    }
}

TEST(server_send_unmasked_header_and_payload_pieces) {
    harness h;
    static const char hello[] = "Hello";
    static const uint8_t want[] = { 0x81, 0x05, 'H', 'e', 'l', 'l', 'o' };
    size_t i;
    int found = 0;
    if (h_open(&h, NULL) < 0) {
        h_free(&h);
        return;
    }
    CHECK_EQ_INT(ws_conn_send(&h.conn, WS_OP_TEXT, hello, 5), WS_OK);
    CHECK_EQ_MEM(h.sent.p, h.sent.len, want, sizeof want);
    CHECK_EQ_INT(h.random_calls, 0);
    /* the payload went to the send callback as the caller's own bytes, after the header */
    for (i = 0; i < h.ncalls && i < H_MAX_CALLS; i++)
        if (h.calls[i].n == 2 && h.calls[i].len[0] == 2 && h.calls[i].ptr[1] == hello &&
            h.calls[i].len[1] == 5)
            found = 1;
    CHECK(found);
    h_clear_sent(&h);
    CHECK_EQ_INT(ws_conn_send(&h.conn, WS_OP_BINARY, "", 0), WS_OK);
    CHECK_EQ_MEM(h.sent.p, h.sent.len, "\x82\x00", 2);
    h_free(&h);
}

TEST(server_send_sizes) {
    harness h;
    static const size_t sizes[] = { 125, 126, 65535, 65536, 70000 };
    size_t i;
    uint8_t *p = (uint8_t *)malloc(70000);
    for (i = 0; i < 70000; i++)
        p[i] = (uint8_t)(i >> 3);
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        uint8_t hdr[14];
        size_t hl;
        if (h_open(&h, NULL) == 0) {
            test_context("%lu bytes", (unsigned long)sizes[i]);
            CHECK_EQ_INT(ws_conn_send(&h.conn, WS_OP_BINARY, p, sizes[i]), WS_OK);
            hl = ws_frame_header(hdr, true, WS_OP_BINARY, sizes[i], NULL);
            CHECK_EQ_INT(h.sent.len, hl + sizes[i]);
            if (h.sent.len == hl + sizes[i]) {
                CHECK_EQ_MEM(h.sent.p, hl, hdr, hl);
                CHECK_EQ_MEM(h.sent.p + hl, sizes[i], p, sizes[i]);
            }
        }
        h_free(&h);
    }
    free(p);
}

TEST(send_argument_checks) {
    harness h;
    uint8_t p[126];
    memset(p, 'p', sizeof p);
    if (h_open(&h, NULL) == 0) {
        CHECK_EQ_INT(ws_conn_send(&h.conn, WS_OP_PING, p, 126), WS_ERR_ARG);
        CHECK_EQ_INT(ws_conn_send(&h.conn, WS_OP_PONG, p, 126), WS_ERR_ARG);
        CHECK_EQ_INT(ws_conn_send(&h.conn, WS_OP_CONT, p, 1), WS_ERR_ARG);
        CHECK_EQ_INT(ws_conn_send(&h.conn, WS_OP_CLOSE, p, 2), WS_ERR_ARG);
        CHECK_EQ_INT(ws_conn_send(&h.conn, (ws_opcode)3, p, 1), WS_ERR_ARG);
        CHECK_EQ_INT(ws_conn_send_begin(&h.conn, WS_OP_PING, p, 1), WS_ERR_ARG);
        CHECK_EQ_INT(h.sent.len, 0);
        CHECK_EQ_INT(ws_conn_state(&h.conn), WS_STATE_OPEN);
        CHECK_EQ_INT(ws_conn_send(&h.conn, WS_OP_PING, p, 125), WS_OK);
    }
    h_free(&h);
}

/* Feeds what h sent to a fresh connection of the other role and checks the events. */
static void round_trip_at(harness *h, const char *want_log, const char *file, int line) {
    h_setup s = h->cfg.role == WS_ROLE_SERVER ? setup_client() : setup_server();
    expect_feed_at(&s, h->sent.p, h->sent.len, WS_OK, want_log, 0, WS_STATE_OPEN, file, line);
}
#define ROUND_TRIP(h, want_log) round_trip_at((h), (want_log), __FILE__, __LINE__)

TEST(fragmented_send_with_ping_between) {
    static const uint8_t want[] = { 0x01, 0x03, 'H', 'e', 'l', 0x89, 0x01, 'p', 0x00, 0x01, 'l',
                                    0x8a, 0x00, 0x80, 0x01, 'o' };
    harness h;
    int role;
    if (h_open(&h, NULL) == 0) {
        CHECK_EQ_INT(ws_conn_send_begin(&h.conn, WS_OP_TEXT, "Hel", 3), WS_OK);
        CHECK_EQ_INT(ws_conn_send(&h.conn, WS_OP_PING, "p", 1), WS_OK);
        CHECK_EQ_INT(ws_conn_send_continue(&h.conn, "l", 1), WS_OK);
        CHECK_EQ_INT(ws_conn_send(&h.conn, WS_OP_PONG, "", 0), WS_OK);
        CHECK_EQ_INT(ws_conn_send_end(&h.conn, "o", 1), WS_OK);
        CHECK_EQ_MEM(h.sent.p, h.sent.len, want, sizeof want);
        ROUND_TRIP(&h, "B1:? D:Hel P9:p D:l PA: D:o E");
    }
    h_free(&h);
    for (role = 0; role < 2; role++) {     /* and masked, parsed back by a server */
        h_setup s = role ? setup_client() : setup_server();
        if (h_open(&h, &s) == 0) {
            CHECK_EQ_INT(ws_conn_send_begin(&h.conn, WS_OP_BINARY, "ab", 2), WS_OK);
            CHECK_EQ_INT(ws_conn_send_continue(&h.conn, "", 0), WS_OK);
            CHECK_EQ_INT(ws_conn_send(&h.conn, WS_OP_PING, "", 0), WS_OK);
            CHECK_EQ_INT(ws_conn_send_end(&h.conn, "c", 1), WS_OK);
            CHECK_EQ_INT(ws_conn_send(&h.conn, WS_OP_TEXT, "next", 4), WS_OK);
            ROUND_TRIP(&h, "B2:? D:ab P9: D:c E B1:4 D:next E");
        }
        h_free(&h);
    }
}

TEST(fragmented_send_state_errors) {
    harness h;
    if (h_open(&h, NULL) == 0) {
        CHECK_EQ_INT(ws_conn_send_continue(&h.conn, "x", 1), WS_ERR_STATE);
        CHECK_EQ_INT(ws_conn_send_end(&h.conn, "x", 1), WS_ERR_STATE);
        CHECK_EQ_INT(h.sent.len, 0);
        CHECK_EQ_INT(ws_conn_send_begin(&h.conn, WS_OP_TEXT, "a", 1), WS_OK);
        h_clear_sent(&h);
        CHECK_EQ_INT(ws_conn_send(&h.conn, WS_OP_TEXT, "x", 1), WS_ERR_STATE);
        CHECK_EQ_INT(ws_conn_send(&h.conn, WS_OP_BINARY, "x", 1), WS_ERR_STATE);
        CHECK_EQ_INT(ws_conn_send_begin(&h.conn, WS_OP_TEXT, "x", 1), WS_ERR_STATE);
        CHECK_EQ_INT(h.sent.len, 0);
        CHECK_EQ_INT(ws_conn_state(&h.conn), WS_STATE_OPEN);   /* a caller's mistake only */
        CHECK_EQ_INT(ws_conn_error(&h.conn), WS_OK);
        CHECK_EQ_INT(ws_conn_send_end(&h.conn, "b", 1), WS_OK);
        CHECK_EQ_INT(ws_conn_send(&h.conn, WS_OP_TEXT, "x", 1), WS_OK);
    }
    h_free(&h);
}

TEST(streamed_send_header_then_payload) {
    harness h;
    int role;
    for (role = 0; role < 2; role++) {
        h_setup s = role ? setup_client() : setup_server();
        if (h_open(&h, &s) < 0) {
            h_free(&h);
            continue;
        }
        test_context("%s role", role ? "client" : "server");
        CHECK_EQ_INT(ws_conn_send_header(&h.conn, true, WS_OP_BINARY, 10), WS_OK);
        CHECK_EQ_INT(ws_conn_send_payload(&h.conn, "abc", 3), WS_OK);
        /* nothing else in between */
        CHECK_EQ_INT(ws_conn_send(&h.conn, WS_OP_PING, "p", 1), WS_ERR_STATE);
        CHECK_EQ_INT(ws_conn_send(&h.conn, WS_OP_TEXT, "t", 1), WS_ERR_STATE);
        CHECK_EQ_INT(ws_conn_send_header(&h.conn, true, WS_OP_BINARY, 1), WS_ERR_STATE);
        CHECK_EQ_INT(ws_conn_send_payload(&h.conn, "d", 1), WS_OK);
        CHECK_EQ_INT(ws_conn_send_payload(&h.conn, "efghij", 6), WS_OK);
        /* the frame is complete: other sends work again, more payload does not */
        CHECK(ws_conn_send_payload(&h.conn, "k", 1) != WS_OK);
        CHECK_EQ_INT(ws_conn_send(&h.conn, WS_OP_PING, "p", 1), WS_OK);
        /* a fragmented message streamed frame by frame */
        CHECK_EQ_INT(ws_conn_send_header(&h.conn, false, WS_OP_TEXT, 3), WS_OK);
        CHECK_EQ_INT(ws_conn_send_payload(&h.conn, "Hel", 3), WS_OK);
        CHECK_EQ_INT(ws_conn_send_header(&h.conn, true, WS_OP_CONT, 2), WS_OK);
        CHECK_EQ_INT(ws_conn_send_payload(&h.conn, "l", 1), WS_OK);
        CHECK_EQ_INT(ws_conn_send_payload(&h.conn, "o", 1), WS_OK);
        ROUND_TRIP(&h, "B2:10 D:abcdefghij E P9:p B1:? D:Hello E");
        h_free(&h);
    }
}

TEST(streamed_send_refuses_too_much_payload) {
    harness h;
    if (h_open(&h, NULL) == 0) {
        CHECK_EQ_INT(ws_conn_send_header(&h.conn, true, WS_OP_BINARY, 4), WS_OK);
        h_clear_sent(&h);
        CHECK(ws_conn_send_payload(&h.conn, "abcde", 5) != WS_OK);
        CHECK_EQ_INT(h.sent.len, 0);
    }
    h_free(&h);
}

TEST(send_raw_broadcast_frame) {
    harness a, b;
    uint8_t frame[32];
    size_t len = 0;
    CHECK_EQ_INT(ws_frame_encode(frame, sizeof frame, &len, true, WS_OP_TEXT, "to all", 6, NULL),
                 WS_OK);
    if (h_open(&a, NULL) == 0 && h_open(&b, NULL) == 0) {
        CHECK_EQ_INT(ws_conn_send_raw(&a.conn, frame, len), WS_OK);
        CHECK_EQ_INT(ws_conn_send_raw(&b.conn, frame, len), WS_OK);
        CHECK_EQ_MEM(a.sent.p, a.sent.len, frame, len);
        CHECK_EQ_MEM(b.sent.p, b.sent.len, frame, len);
        ROUND_TRIP(&a, "B1:6 D:to\\x20all E");
    }
    h_free(&a);
    h_free(&b);
}

TEST(send_after_close_is_a_state_error) {
    harness h;
    tbuf in = { 0 };
    if (h_open(&h, NULL) == 0) {
        CHECK_EQ_INT(ws_conn_close(&h.conn, 1000, NULL, 0), WS_OK);
        h_clear_sent(&h);
        CHECK_EQ_INT(ws_conn_send(&h.conn, WS_OP_TEXT, "x", 1), WS_ERR_STATE);
        CHECK_EQ_INT(ws_conn_send_begin(&h.conn, WS_OP_TEXT, "x", 1), WS_ERR_STATE);
        CHECK_EQ_INT(ws_conn_send_header(&h.conn, true, WS_OP_TEXT, 1), WS_ERR_STATE);
        CHECK_EQ_INT(ws_conn_send_raw(&h.conn, "\x81\x01x", 3), WS_ERR_STATE);
        CHECK_EQ_INT(h.sent.len, 0);
    }
    h_free(&h);
    if (h_open(&h, NULL) == 0) {   /* closed by the peer */
        frame_put(&in, 1, 0, WS_OP_CLOSE, "", 0, test_key);
        CHECK_EQ_INT(ws_conn_feed(&h.conn, in.p, in.len), WS_OK);
        h_clear_sent(&h);
        CHECK_EQ_INT(ws_conn_send(&h.conn, WS_OP_TEXT, "x", 1), WS_ERR_STATE);
        CHECK_EQ_INT(ws_conn_send(&h.conn, WS_OP_PING, "", 0), WS_ERR_STATE);
        CHECK_EQ_INT(h.sent.len, 0);
    }
    h_free(&h);
    if (h_init(&h, NULL) == 0) {   /* not open yet */
        CHECK_EQ_INT(ws_conn_send(&h.conn, WS_OP_TEXT, "x", 1), WS_ERR_STATE);
        CHECK_EQ_INT(ws_conn_close(&h.conn, 1000, NULL, 0), WS_ERR_STATE);
        CHECK_EQ_INT(h.sent.len, 0);
    }
    h_free(&h);
    tbuf_free(&in);
}

TEST(send_failure_fails_the_connection) {
    harness h;
    if (h_open(&h, NULL) == 0) {
        h.send_fail = 1;
        CHECK_EQ_INT(ws_conn_send(&h.conn, WS_OP_TEXT, "x", 1), WS_ERR_IO);
        CHECK_EQ_INT(ws_conn_state(&h.conn), WS_STATE_FAILED);
        CHECK_EQ_INT(ws_conn_error(&h.conn), WS_ERR_IO);
        CHECK_EQ_INT(h.close_calls, 1);
        CHECK_EQ_INT(h.close_code, 1006);
        h.send_fail = 0;
        CHECK_EQ_INT(ws_conn_send(&h.conn, WS_OP_TEXT, "x", 1), WS_ERR_IO);
        CHECK_EQ_INT(h.sent.len, 0);
        CHECK_EQ_INT(h.close_calls, 1);
    }
    h_free(&h);
}

/* ---- ws_conn_init, ws_conn_accept, ws_conn_reject ------------------------------------------- */

static int nop_send(ws_conn *c, const ws_buf *b, size_t n) {
    (void)c;
    (void)b;
    (void)n;
    return 0;
}

TEST(conn_init_argument_checks) {
    ws_conn c;
    ws_config cfg;
    memset(&cfg, 0, sizeof cfg);
    CHECK_EQ_INT(ws_conn_init(&c, NULL, NULL), WS_ERR_ARG);
    CHECK_EQ_INT(ws_conn_init(&c, &cfg, NULL), WS_ERR_ARG);         /* no send callback */
    cfg.send = nop_send;
    CHECK_EQ_INT(ws_conn_init(&c, &cfg, NULL), WS_OK);
    CHECK_EQ_INT(ws_conn_state(&c), WS_STATE_CONNECTING);
    CHECK_EQ_INT(ws_conn_error(&c), WS_OK);
    CHECK_EQ_INT(ws_conn_close_code(&c), 0);
    cfg.role = WS_ROLE_CLIENT;                                     /* no random callback */
    CHECK_EQ_INT(ws_conn_init(&c, &cfg, NULL), WS_ERR_ARG);
}

static const char rfc_request[] = "GET /chat HTTP/1.1" CRLF "Host: server.example.com" CRLF
                                  "Upgrade: websocket" CRLF "Connection: Upgrade" CRLF
                                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==" CRLF
                                  "Origin: http://example.com" CRLF
                                  "Sec-WebSocket-Protocol: chat, superchat" CRLF
                                  "Sec-WebSocket-Version: 13" CRLF CRLF;

TEST(conn_accept_writes_the_101) {
    harness h;
    ws_http req;
    char want[512];
    size_t want_len = 0;
    ws_http_init(&req, 0);
    if (!CHECK_EQ_INT(ws_http_parse_request(&req, rfc_request, strlen(rfc_request)),
                      WS_HS_UPGRADE))
        return;
    CHECK_EQ_INT(ws_handshake_accept(want, sizeof want, &want_len, &req, "chat"), WS_OK);
    if (h_init(&h, NULL) == 0) {
        CHECK_EQ_INT(ws_conn_accept(&h.conn, &req, "mqtt"), WS_ERR_ARG);
        CHECK_EQ_INT(h.sent.len, 0);
        CHECK_EQ_INT(ws_conn_accept(&h.conn, &req, "chat"), WS_OK);
        CHECK_EQ_MEM(h.sent.p, h.sent.len, want, want_len);
        CHECK(strstr(tbuf_str(&h.sent), "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n")
              != NULL);
        CHECK_EQ_INT(ws_conn_state(&h.conn), WS_STATE_OPEN);
        CHECK_EQ_INT(ws_conn_accept(&h.conn, &req, "chat"), WS_ERR_STATE);
        h_clear_sent(&h);
        /* open: frames flow */
        CHECK_EQ_INT(ws_conn_send(&h.conn, WS_OP_TEXT, "hi", 2), WS_OK);
        CHECK_EQ_MEM(h.sent.p, h.sent.len, "\x81\x02hi", 4);
    }
    h_free(&h);
    if (h_init(&h, NULL) == 0) {
        h.send_fail = 1;
        CHECK_EQ_INT(ws_conn_accept(&h.conn, &req, NULL), WS_ERR_IO);
    }
    h_free(&h);
}

TEST(conn_reject_writes_the_error_response) {
    harness h;
    char want[512];
    size_t want_len = 0;
    CHECK_EQ_INT(ws_handshake_reject(want, sizeof want, &want_len, WS_ERR_HS_VERSION), WS_OK);
    if (h_init(&h, NULL) == 0) {
        CHECK_EQ_INT(ws_conn_reject(&h.conn, WS_ERR_HS_VERSION), WS_ERR_HS_VERSION);
        CHECK_EQ_MEM(h.sent.p, h.sent.len, want, want_len);
        CHECK_EQ_INT(ws_conn_state(&h.conn), WS_STATE_FAILED);
        CHECK_EQ_INT(ws_conn_error(&h.conn), WS_ERR_HS_VERSION);
        CHECK_EQ_INT(ws_conn_send(&h.conn, WS_OP_TEXT, "x", 1), WS_ERR_HS_VERSION);
    }
    h_free(&h);
}

/* ws_conn_reject is a server's answer: a client's is refused like its ws_conn_accept, with
   nothing sent and nothing changed, before and after its request went out */
TEST(conn_reject_refused_on_a_client) {
    harness h;
    h_setup s = setup_client();
    ws_client_opts o;
    int round;
    memset(&o, 0, sizeof o);
    o.host = "example.com";
    for (round = 0; round < 2; round++) {
        test_context("%s", round ? "after ws_conn_connect" : "before ws_conn_connect");
        if (h_init(&h, &s) == 0) {
            size_t sent;
            if (round) CHECK_EQ_INT(ws_conn_connect(&h.conn, &o), WS_OK);
            sent = h.sent.len;
            CHECK_EQ_INT(ws_conn_reject(&h.conn, WS_ERR_HS_VERSION), WS_ERR_STATE);
            CHECK_EQ_INT(ws_conn_reject(&h.conn, WS_ERR_ARG), WS_ERR_STATE);
            CHECK_EQ_INT(ws_conn_accept(&h.conn, NULL, NULL), WS_ERR_STATE);
            CHECK_EQ_INT(h.sent.len, sent);
            CHECK_EQ_INT(ws_conn_state(&h.conn), WS_STATE_CONNECTING);
            CHECK_EQ_INT(ws_conn_error(&h.conn), WS_OK);
            CHECK_EQ_INT(h.close_calls, 0);
            /* and it goes on as if nothing had been called */
            if (!round) CHECK_EQ_INT(ws_conn_connect(&h.conn, &o), WS_OK);
            CHECK_EQ_INT(ws_conn_connected(&h.conn, NULL), WS_OK);
            CHECK_EQ_INT(ws_conn_state(&h.conn), WS_STATE_OPEN);
        }
        h_free(&h);
    }
}

/* ---- client handshake through the connection ------------------------------------------------- */

/* Plays the server for h's upgrade request: parses it, answers 101 (with protocol), and
   appends `after` (frames following the head). Returns the response in *resp (malloc). */
static size_t serve_request(harness *h, const char *protocol, const void *after,
                            size_t after_len, char **resp) {
    ws_http req;
    size_t len = 0;
    *resp = (char *)malloc(600);
    ws_http_init(&req, 0);
    if (!CHECK_EQ_INT(ws_http_parse_request(&req, h->sent.p, h->sent.len), WS_HS_UPGRADE) ||
        !CHECK_EQ_INT(req.size, h->sent.len))
        return 0;
    if (!CHECK_EQ_INT(ws_handshake_accept(*resp, 512, &len, &req, protocol), WS_OK))
        return 0;
    memcpy(*resp + len, after, after_len);
    return len + after_len;
}

TEST(client_connect_and_connected) {
    harness h;
    h_setup s = setup_client();
    ws_client_opts o;
    ws_http resp, req;
    char *r = NULL, key[25];
    size_t n;
    memset(&o, 0, sizeof o);
    o.host = "example.com";
    o.path = "/chat";
    o.protocols = "chat, superchat";
    if (h_init(&h, &s) < 0) {
        h_free(&h);
        return;
    }
    CHECK_EQ_INT(ws_conn_connect(&h.conn, &o), WS_OK);
    CHECK_EQ_INT(ws_conn_state(&h.conn), WS_STATE_CONNECTING);
    CHECK_EQ_INT(ws_conn_connect(&h.conn, &o), WS_ERR_STATE);
    /* the key is the base64 of 16 bytes from the random callback */
    ws_http_init(&req, 0);
    CHECK_EQ_INT(ws_http_parse_request(&req, h.sent.p, h.sent.len), WS_HS_UPGRADE);
    if (CHECK(h.rnd.len >= 16)) {
        ws_handshake_key(h.rnd.p, key);
        CHECK_STR(req.key, key);
    }
    CHECK_STR(req.protocol, "chat, superchat");
    n = serve_request(&h, "superchat", "\x81\x02hi", 4, &r);
    ws_http_init(&resp, 0);
    if (n && CHECK_EQ_INT(ws_http_parse_response(&resp, r, n), WS_HS_UPGRADE)) {
        h_clear_sent(&h);
        CHECK_EQ_INT(ws_conn_connected(&h.conn, &resp), WS_OK);
        CHECK_EQ_INT(ws_conn_state(&h.conn), WS_STATE_OPEN);
        CHECK_EQ_INT(h.sent.len, 0);
        /* the bytes after the head are frames */
        CHECK_EQ_INT(ws_conn_feed(&h.conn, r + resp.size, n - resp.size), WS_OK);
        CHECK_EQ_STR(h_log(&h), "B1:2 D:hi E");
        CHECK_EQ_INT(ws_conn_send(&h.conn, WS_OP_TEXT, "yo", 2), WS_OK);
        ROUND_TRIP(&h, "B1:2 D:yo E");
        CHECK_EQ_INT(ws_conn_connected(&h.conn, &resp), WS_ERR_STATE);
    }
    free(r);
    h_free(&h);
}

static void client_bad_response_at(const char *edit_from, const char *edit_to, int want,
                                   const char *file, int line) {
    harness h;
    h_setup s = setup_client();
    ws_client_opts o;
    ws_http resp;
    char *r = NULL, *at, fixed[700];
    size_t n;
    memset(&o, 0, sizeof o);
    o.host = "example.com";
    o.protocols = "chat";
    if (h_init(&h, &s) < 0 || ws_conn_connect(&h.conn, &o) != WS_OK) {
        test_fail(file, line, "could not start the client handshake");
        h_free(&h);
        return;
    }
    n = serve_request(&h, "chat", "", 0, &r);
    memcpy(fixed, r, n);
    fixed[n] = 0;
    at = strstr(fixed, edit_from);
    if (!at) {
        test_fail(file, line, "\"%s\" not in the response", edit_from);
    } else {
        size_t from_len = strlen(edit_from), to_len = strlen(edit_to);
        memmove(at + to_len, at + from_len, strlen(at + from_len) + 1);
        memcpy(at, edit_to, to_len);
        ws_http_init(&resp, 0);
        test_check(ws_http_parse_response(&resp, fixed, strlen(fixed)) > 0, file, line,
                   "the response head is complete");
        test_check_int(ws_conn_connected(&h.conn, &resp), want, file, line,
                       "ws_conn_connected");
        test_check_int(ws_conn_state(&h.conn), WS_STATE_FAILED, file, line, "ws_conn_state");
        test_check_int(ws_conn_error(&h.conn), want, file, line, "ws_conn_error");
        test_check_int(ws_conn_send(&h.conn, WS_OP_TEXT, "x", 1), want, file, line,
                       "ws_conn_send after it");
    }
    free(r);
    h_free(&h);
}
#define CLIENT_BAD_RESPONSE(from, to, want) \
    client_bad_response_at((from), (to), (want), __FILE__, __LINE__)

TEST(client_connected_with_bad_responses) {
    CLIENT_BAD_RESPONSE("Sec-WebSocket-Accept: ", "Sec-WebSocket-Accept: x", WS_ERR_HS_ACCEPT);
    CLIENT_BAD_RESPONSE("101 Switching Protocols", "200 OK", WS_ERR_HS_STATUS);
    CLIENT_BAD_RESPONSE("Sec-WebSocket-Protocol: chat", "Sec-WebSocket-Protocol: mqtt",
                        WS_ERR_HS_PROTOCOL);
    CLIENT_BAD_RESPONSE("Upgrade: websocket", "Upgrade: h2c", WS_ERR_HS_UPGRADE);
    CLIENT_BAD_RESPONSE("Connection: Upgrade", "Connection: close", WS_ERR_HS_UPGRADE);
    CLIENT_BAD_RESPONSE("\r\n\r\n", "\r\nSec-WebSocket-Extensions: x-ext\r\n\r\n",
                        WS_ERR_HS_EXTENSION);
}

TEST(client_connected_without_response) {
    harness h;
    h_setup s = setup_client();
    ws_client_opts o;
    memset(&o, 0, sizeof o);
    o.host = "example.com";
    if (h_init(&h, &s) == 0) {
        CHECK_EQ_INT(ws_conn_connect(&h.conn, &o), WS_OK);
        CHECK_EQ_INT(ws_conn_connected(&h.conn, NULL), WS_OK);   /* checked by the caller */
        CHECK_EQ_INT(ws_conn_state(&h.conn), WS_STATE_OPEN);
    }
    h_free(&h);
}

void suite_encode(void) {
    test_suite_begin("encode");
    RUN(frame_header_lengths);
    RUN(frame_header_flags_and_mask);
    RUN(frame_encode_rfc_examples);
    RUN(frame_encode_refuses_invalid_control_frames);
    RUN(frame_encode_refuses_reserved_opcodes);
    RUN(rsv_bits_go_on_the_wire_when_an_extension_owns_them);
    RUN(frame_encode_round_trip);
    RUN(mask_against_reference);
    RUN(mask_in_pieces_and_exact_buffers);
    RUN(client_send_masks_with_fresh_random_keys);
    RUN(send_empty_payload_as_null);
    RUN(server_send_unmasked_header_and_payload_pieces);
    RUN(server_send_sizes);
    RUN(send_argument_checks);
    RUN(fragmented_send_with_ping_between);
    RUN(fragmented_send_state_errors);
    RUN(streamed_send_header_then_payload);
    RUN(streamed_send_refuses_too_much_payload);
    RUN(send_raw_broadcast_frame);
    RUN(send_after_close_is_a_state_error);
    RUN(send_failure_fails_the_connection);
    RUN(conn_init_argument_checks);
    RUN(conn_accept_writes_the_101);
    RUN(conn_reject_writes_the_error_response);
    RUN(conn_reject_refused_on_a_client);
    RUN(client_connect_and_connected);
    RUN(client_connected_with_bad_responses);
    RUN(client_connected_without_response);
    test_suite_end();
}
