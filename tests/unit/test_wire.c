/* test_wire.c - wire.h, the decoder of the frames ws.h sends that the unit harness and the
   fuzz targets share: it accepts what RFC 6455 allows a sender, unmasks it, and refuses each
   rule broken (a checker that cannot fail would pass anything ws.h sent). */
#include "harness.h"
#include "wire.h"

#include <string.h>

typedef struct wire_case {
    const char *name;
    int         client;             /* wire_init's settings */
    unsigned    rsv_allowed;
    const char *bytes;
    size_t      len;
    const char *err;                /* the violation expected, NULL: none */
    int         frames;             /* whole frames read (when err is NULL) */
} wire_case;

#define B(s) s, sizeof s - 1

static const wire_case cases[] = {
    { "server text", 0, 0, B("\x81\x05Hello"), NULL, 1 },
    { "client text, RFC 6455 5.7", 1, 0,
      B("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"), NULL, 1 },
    { "fragments and a ping between", 0, 0, B("\x01\x03Hel\x89\x00\x80\x02lo"), NULL, 3 },
    { "empty frames", 0, 0, B("\x82\x00\x8a\x00\x81\x00"), NULL, 3 },
    { "16-bit length 126", 0, 0, B("\x82\x7e\x00\x7e"), NULL, 0 },
    { "close 1000 with a reason", 0, 0, B("\x88\x04\x03\xe8ok"), NULL, 1 },
    { "close 1012", 0, 0, B("\x88\x02\x03\xf4"), NULL, 1 },
    { "close 4999", 0, 0, B("\x88\x02\x13\x87"), NULL, 1 },
    { "empty close", 0, 0, B("\x88\x00"), NULL, 1 },
    { "RSV1 allowed", 0, 0x40, B("\xc1\x01x"), NULL, 1 },
    { "either masking, alike", -1, 0,
      B("\x81\x81\x01\x02\x03\x04x\x81\x80\x01\x02\x03\x04"), NULL, 2 },
    { "RSV1 not allowed", 0, 0, B("\xc1\x01"), "RSV", 0 },
    { "RSV2 with only RSV1 allowed", 0, 0x40, B("\xa1\x01"), "RSV", 0 },
    { "opcode 3", 0, 0, B("\x83\x00"), "opcode", 0 },
    { "opcode 11", 0, 0, B("\x8b\x00"), "opcode", 0 },
    { "unmasked from a client", 1, 0, B("\x81\x01"), "unmasked", 0 },
    { "masked from a server", 0, 0, B("\x81\x81\x01\x02\x03\x04"), "masked", 0 },
    { "masking changes midway", -1, 0, B("\x81\x01x\x81\x81\x01\x02\x03\x04"), "masked", 0 },
    { "16-bit length 125", 0, 0, B("\x82\x7e\x00\x7d"), "shortest", 0 },
    { "64-bit length 65535", 0, 0, B("\x82\x7f\x00\x00\x00\x00\x00\x00\xff\xff"), "shortest", 0 },
    { "64-bit length 2^63", 0, 0, B("\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00"), "2^63", 0 },
    { "ping not final", 0, 0, B("\x09\x00"), "fragmented control", 0 },
    { "ping of 126 bytes", 0, 0, B("\x89\x7e\x00\x7e"), "over 125", 0 },
    { "continuation first", 0, 0, B("\x80\x00"), "continuation", 0 },
    { "new message inside one", 0, 0, B("\x01\x00\x81\x00"), "new message", 0 },
    { "close of 1 byte", 0, 0, B("\x88\x01\x03"), "1 byte", 0 },
    { "close 1005", 0, 0, B("\x88\x02\x03\xed"), "close code", 0 },
    { "close 1004", 0, 0, B("\x88\x02\x03\xec"), "close code", 0 },
    { "close 999", 0, 0, B("\x88\x02\x03\xe7"), "close code", 0 },
    { "close 5000", 0, 0, B("\x88\x02\x13\x88"), "close code", 0 },
    { "close reason not UTF-8", 0, 0, B("\x88\x03\x03\xe8\xff"), "UTF-8", 0 },
    { "a byte after a close", 0, 0, B("\x88\x00\x81"), "after a close", 0 },
};

TEST(accepts_and_refuses) {
    size_t i, j;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const wire_case *c = &cases[i];
        wire_dec w;
        int ev = 0, bad = 0;
        test_context("%s", c->name);
        wire_init(&w, c->client, c->rsv_allowed);
        for (j = 0; j < c->len && !bad; j++) {
            ev = wire_byte(&w, (uint8_t)c->bytes[j], NULL);
            bad = (ev & WIRE_BAD) != 0;
        }
        if (c->err) {
            if (CHECK(bad) && CHECK(w.err != NULL)) CHECK(strstr(w.err, c->err) != NULL);
            CHECK_EQ_U64(w.bad_at, c->len - 1);     /* each case breaks a rule at its end */
            CHECK_EQ_INT(wire_byte(&w, 0x81, NULL), WIRE_BAD);   /* and stays stopped */
        } else {
            CHECK(!bad && w.err == NULL);
            CHECK_EQ_U64(w.frames, c->frames);
        }
    }
}

TEST(unmasks_and_reports_each_byte) {
    static const uint8_t in[] = {
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58
    };
    uint8_t out[5];
    size_t i, n = 0, headers = 0, ends = 0;
    wire_dec w;
    wire_init(&w, 1, 0);
    for (i = 0; i < sizeof in; i++) {
        uint8_t b = 0;
        int ev = wire_byte(&w, in[i], &b);
        if (ev & WIRE_HEADER) {
            headers++;
            CHECK_EQ_INT(i, 5);
            CHECK(w.fin && w.masked && w.op == 1 && w.len == 5);
            CHECK_EQ_MEM(w.key, 4, in + 2, 4);
        }
        if ((ev & WIRE_BYTE) && CHECK(n < sizeof out)) out[n++] = b;
        if (ev & WIRE_END) ends++;
        if (i < sizeof in - 1) CHECK_EQ_U64(wire_owed(&w), i < 5 ? 0 : 5 - (i - 5));
    }
    CHECK_EQ_INT(headers, 1);
    CHECK_EQ_INT(ends, 1);
    CHECK_EQ_MEM(out, n, "Hello", 5);
    CHECK_EQ_U64(wire_owed(&w), 0);
}

TEST(close_code_and_payload_kept) {
    static const uint8_t in[] = { 0x89, 0x02, 'h', 'i', 0x88, 0x04, 0x0f, 0xa0, 'o', 'k' };
    wire_dec w;
    size_t i;
    wire_init(&w, 0, 0);
    for (i = 0; i < 4; i++) wire_byte(&w, in[i], NULL);
    CHECK(!w.closed && w.op == 9);
    CHECK_EQ_MEM(w.ctrl, w.clen, "hi", 2);
    for (; i < sizeof in; i++) wire_byte(&w, in[i], NULL);
    CHECK(w.closed && w.err == NULL);
    CHECK_EQ_INT(w.close_code, 4000);
    CHECK_EQ_MEM(w.ctrl + 2, w.clen - 2, "ok", 2);
    wire_init(&w, 0, 0);
    wire_byte(&w, 0x88, NULL);
    wire_byte(&w, 0x00, NULL);
    CHECK(w.closed);
    CHECK_EQ_INT(w.close_code, 1005);
}

TEST(utf8_reference) {
    uint32_t st = 0;
    CHECK(wire_utf8_valid("", 0));
    CHECK(wire_utf8_valid("\xe2\x82\xac \xf0\x9f\x98\x80", 8));
    CHECK(!wire_utf8_valid("\xc0\xaf", 2));             /* overlong */
    CHECK(!wire_utf8_valid("\xed\xa0\x80", 3));         /* a surrogate */
    CHECK(!wire_utf8_valid("\xf4\x90\x80\x80", 4));     /* over U+10FFFF */
    CHECK(!wire_utf8_valid("\xe2\x82", 2));             /* cut short */
    CHECK_EQ_INT(wire_utf8(&st, (const uint8_t *)"\xe2\x82", 2), 2);
    CHECK(st != 0);
    CHECK_EQ_INT(wire_utf8(&st, (const uint8_t *)"\xac", 1), 1);
    CHECK_EQ_INT(st, 0);
}

void suite_wire(void) {
    test_suite_begin("wire");
    RUN(accepts_and_refuses);
    RUN(unmasks_and_reports_each_byte);
    RUN(close_code_and_payload_kept);
    RUN(utf8_reference);
    test_suite_end();
}
