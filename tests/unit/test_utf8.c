/* test_utf8.c - ws_utf8_validate and ws_utf8_valid: valid text and the boundaries of every
   sequence length, every malformed class of RFC 3629 (overlongs, surrogates, values above
   U+10FFFF, bytes F5..FF, truncated sequences, stray continuation bytes), the exact index of
   the first invalid byte, the same answers whatever the split, and a cross-check against an
   independent validator (harness.c) over all short sequences and random text. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

typedef struct utf8_case {
    const char *name;
    const char *bytes;
    size_t      len;
    size_t      bad;        /* index of the first invalid byte; len when none */
    int         complete;   /* valid and not ending inside a sequence */
} utf8_case;

#define U(name, lit, bad, complete) {name, lit, sizeof(lit) - 1, bad, complete}
#define VALID(name, lit) {name, lit, sizeof(lit) - 1, sizeof(lit) - 1, 1}
#define OPEN(name, lit) {name, lit, sizeof(lit) - 1, sizeof(lit) - 1, 0}

static const utf8_case cases[] = {
    VALID("empty", ""),
    VALID("ascii", "Hello, world"),
    VALID("U+0000", "\x00"),
    VALID("U+007F", "\x7f"),
    VALID("U+0080", "\xc2\x80"),
    VALID("U+07FF", "\xdf\xbf"),
    VALID("U+0800", "\xe0\xa0\x80"),
    VALID("U+D7FF (below the surrogates)", "\xed\x9f\xbf"),
    VALID("U+E000 (above the surrogates)", "\xee\x80\x80"),
    VALID("U+FFFD", "\xef\xbf\xbd"),
    VALID("U+FFFF", "\xef\xbf\xbf"),
    VALID("U+10000", "\xf0\x90\x80\x80"),
    VALID("U+10FFFF", "\xf4\x8f\xbf\xbf"),
    VALID("greek kosme", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"),
    VALID("mixed 1-4 bytes", "a\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e z"),
    /* overlongs */
    U("C0 80 (overlong NUL)", "\xc0\x80", 0, 0),
    U("C1 BF (overlong U+007F)", "\xc1\xbf", 0, 0),
    U("E0 80 80 (overlong)", "\xe0\x80\x80", 1, 0),
    U("E0 9F BF (overlong U+07FF)", "\xe0\x9f\xbf", 1, 0),
    U("F0 80 80 80 (overlong)", "\xf0\x80\x80\x80", 1, 0),
    U("F0 8F BF BF (overlong U+FFFF)", "\xf0\x8f\xbf\xbf", 1, 0),
    /* surrogates */
    U("ED A0 80 (U+D800)", "\xed\xa0\x80", 1, 0),
    U("ED AD BF (U+DB7F)", "\xed\xad\xbf", 1, 0),
    U("ED B0 80 (U+DC00)", "\xed\xb0\x80", 1, 0),
    U("ED BF BF (U+DFFF)", "\xed\xbf\xbf", 1, 0),
    U("surrogate pair as two sequences", "\xed\xa0\x80\xed\xb0\x80", 1, 0),
    /* above U+10FFFF, and bytes that never appear */
    U("F4 90 80 80 (U+110000)", "\xf4\x90\x80\x80", 1, 0),
    U("F4 BF BF BF", "\xf4\xbf\xbf\xbf", 1, 0),
    U("F5 80 80 80", "\xf5\x80\x80\x80", 0, 0),
    U("F7 BF BF BF", "\xf7\xbf\xbf\xbf", 0, 0),
    U("F8 (5-byte lead)", "\xf8\x88\x80\x80\x80", 0, 0),
    U("FC (6-byte lead)", "\xfc\x84\x80\x80\x80\x80", 0, 0),
    U("FE", "\xfe", 0, 0),
    U("FF", "\xff", 0, 0),
    /* truncated sequences */
    OPEN("C2 at the end", "\xc2"),
    OPEN("E2 82 at the end", "\xe2\x82"),
    OPEN("F0 9D 84 at the end", "ab\xf0\x9d\x84"),
    U("E2 82 then ASCII", "\xe2\x82\x41", 2, 0),
    U("C2 then a lead byte", "\xc2\xc2\x80", 1, 0),
    U("F0 9D then a lead byte", "\xf0\x9d\xe2\x82\xac", 2, 0),
    U("E2 28 A1", "\xe2\x28\xa1", 1, 0),
    /* stray continuation bytes */
    U("80 first", "\x80", 0, 0),
    U("BF first", "\xbf", 0, 0),
    U("ASCII then 80", "ab\x80", 2, 0),
    U("complete sequence then 80", "\xc3\xa9\x80", 2, 0),
    U("4-byte sequence then BF", "\xf0\x9d\x84\x9e\xbf", 4, 0),
    U("error after valid text", "Hello \xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5 \xed\xa0\x80",
      19, 0),
};

/* Validates p in the given pieces, each copied to a buffer of exactly its size. Returns the
   number of valid bytes, with the validator's final state in *state. */
static size_t validate_pieces(const uint8_t *p, size_t len, const size_t *cuts, size_t ncuts,
                              uint32_t *state) {
    size_t pos = 0, i;
    *state = 0;
    for (i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : len, n = end - pos, got;
        uint8_t *piece = dup_exact(p + pos, n);
        got = ws_utf8_validate(state, piece, n);
        free(piece);
        if (got != n)
            return pos + got;
        pos = end;
    }
    return pos;
}

TEST(utf8_cases_whole) {
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const utf8_case *t = &cases[i];
        uint32_t st = 0;
        uint8_t *p = dup_exact(t->bytes, t->len);
        test_context("%s", t->name);
        CHECK_EQ_INT(ws_utf8_validate(&st, p, t->len), t->bad);
        if (t->bad == t->len)
            CHECK_EQ_INT(st == 0, t->complete);
        CHECK_EQ_INT(ws_utf8_valid(p, t->len), t->complete);
        free(p);
    }
}

TEST(utf8_cases_every_split) {
    size_t i, k, j;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const utf8_case *t = &cases[i];
        const uint8_t *p = (const uint8_t *)t->bytes;
        uint32_t st;
        size_t *cuts = (size_t *)malloc((t->len + 1) * sizeof *cuts);
        for (k = 1; k < t->len; k++) {
            test_context("%s, split at %lu", t->name, (unsigned long)k);
            CHECK_EQ_INT(validate_pieces(p, t->len, &k, 1, &st), t->bad);
            if (t->bad == t->len)
                CHECK_EQ_INT(st == 0, t->complete);
        }
        for (j = 0; j + 1 < t->len; j++)
            cuts[j] = j + 1;
        test_context("%s, one byte at a time", t->name);
        CHECK_EQ_INT(validate_pieces(p, t->len, cuts, t->len ? t->len - 1 : 0, &st), t->bad);
        if (t->bad == t->len)
            CHECK_EQ_INT(st == 0, t->complete);
        free(cuts);
    }
}

TEST(utf8_empty_piece_keeps_state) {
    uint32_t st = 0;
    uint8_t e2[1] = { 0xe2 }, rest[2] = { 0x82, 0xac };
    CHECK_EQ_INT(ws_utf8_validate(&st, e2, 1), 1);
    CHECK(st != 0);
    CHECK_EQ_INT(ws_utf8_validate(&st, rest, 0), 0);
    CHECK(st != 0);
    CHECK_EQ_INT(ws_utf8_validate(&st, rest, 2), 2);
    CHECK_EQ_INT(st, 0);
}

/* Compares with the reference over all sequences of up to three bytes (the third byte
   from a representative set) and all 2-byte pairs. */
TEST(utf8_exhaustive_short_sequences) {
    static const uint8_t third[] = { 0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0,
                                     0xbf, 0xc0, 0xc2, 0xe0, 0xed, 0xf0, 0xf4, 0xff };
    unsigned a, b;
    size_t t;
    long mismatches = 0;
    for (a = 0; a < 256; a++) {
        for (b = 0; b < 256; b++) {
            for (t = 0; t <= sizeof third; t++) {
                uint8_t s[3];
                size_t n = t == sizeof third ? 2 : 3, want, got;
                uint32_t rs = 0, ws = 0;
                s[0] = (uint8_t)a;
                s[1] = (uint8_t)b;
                if (n == 3)
                    s[2] = third[t];
                want = ref_utf8_validate(&rs, s, n);
                got = ws_utf8_validate(&ws, s, n);
                if (got != want || (want == n && (rs == 0) != (ws == 0))) {
                    if (mismatches++ < 4) {
                        char hex[64];
                        test_hex_brief(hex, sizeof hex, s, n, 3);
                        test_context("bytes %s", hex);
                        CHECK_EQ_INT(got, want);
                        CHECK_EQ_INT(ws == 0, rs == 0);
                    }
                }
            }
        }
    }
    test_context(NULL);
    CHECK_EQ_INT(mismatches, 0);
}

TEST(utf8_four_byte_leads) {
    /* every lead F0..FF with every second byte, and third/fourth from edge values */
    static const uint8_t edge[] = { 0x41, 0x7f, 0x80, 0x8f, 0x90, 0xbf, 0xc0 };
    unsigned a, b;
    size_t c, d;
    long mismatches = 0;
    for (a = 0xf0; a < 0x100; a++)
        for (b = 0; b < 256; b++)
            for (c = 0; c < sizeof edge; c++)
                for (d = 0; d < sizeof edge; d++) {
                    uint8_t s[4];
                    uint32_t rs = 0, ws = 0;
                    size_t want, got;
                    s[0] = (uint8_t)a;
                    s[1] = (uint8_t)b;
                    s[2] = edge[c];
                    s[3] = edge[d];
                    want = ref_utf8_validate(&rs, s, 4);
                    got = ws_utf8_validate(&ws, s, 4);
                    if ((got != want || (want == 4 && (rs == 0) != (ws == 0))) &&
                        mismatches++ < 4) {
                        char hex[64];
                        test_hex_brief(hex, sizeof hex, s, 4, 4);
                        test_context("bytes %s", hex);
                        CHECK_EQ_INT(got, want);
                    }
                }
    test_context(NULL);
    CHECK_EQ_INT(mismatches, 0);
}

/* Encodes code point cp (not a surrogate, <= U+10FFFF) as UTF-8. */
static size_t put_cp(uint8_t *o, uint32_t cp) {
    if (cp < 0x80) {
        o[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (uint8_t)(0xc0 | cp >> 6);
        o[1] = (uint8_t)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xe0 | cp >> 12);
        o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (uint8_t)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (uint8_t)(0xf0 | cp >> 18);
    o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (uint8_t)(0x80 | (cp & 0x3f));
    return 4;
}

TEST(utf8_random_text_with_one_corruption) {
    uint64_t rng = 0x5eed0000ull + test_seed();
    int round;
    for (round = 0; round < 3000; round++) {
        uint8_t buf[256];
        size_t len = 0, want, got, cut;
        uint32_t rs = 0, ws = 0;
        int chars = (int)(test_rand(&rng) % 40);
        while (chars-- > 0 && len + 4 <= sizeof buf) {
            uint32_t r = test_rand(&rng), cp;
            switch (r % 4) {
            case 0: cp = r >> 8 & 0x7f; break;
            case 1: cp = 0x80 + (r >> 8) % (0x800 - 0x80); break;
            case 2: cp = 0x800 + (r >> 8) % (0x10000 - 0x800); break;
            default: cp = 0x10000 + (r >> 8) % (0x110000 - 0x10000); break;
            }
            if (cp >= 0xd800 && cp <= 0xdfff)
                cp = 0xfffd;
            len += put_cp(buf + len, cp);
        }
        if (len && round % 2)       /* every other round: one byte replaced at random */
            buf[test_rand(&rng) % len] = (uint8_t)test_rand(&rng);
        want = ref_utf8_validate(&rs, buf, len);
        got = ws_utf8_validate(&ws, buf, len);
        cut = len ? test_rand(&rng) % len : 0;
        if (got != want || (want == len && (rs == 0) != (ws == 0)) ||
            validate_pieces(buf, len, &cut, 1, &ws) != want ||
            ws_utf8_valid(buf, len) != (want == len && rs == 0)) {
            char hex[200];
            test_hex_brief(hex, sizeof hex, buf, len, 48);
            test_context("seed=%lu round %d, bytes %s, split at %lu", test_seed(), round, hex,
                         (unsigned long)cut);
            CHECK_EQ_INT(got, want);
            CHECK_EQ_INT(validate_pieces(buf, len, &cut, 1, &ws), want);
            CHECK_EQ_INT(ws_utf8_valid(buf, len), want == len && rs == 0);
            return;
        }
    }
    CHECK(1);
}

TEST(utf8_long_valid_text) {
    /* longer than any word-at-a-time fast path, with a multi-byte character at every
       alignment and an error placed at every offset of the last 16 bytes */
    uint8_t buf[200];
    size_t i, e;
    for (i = 0; i + 3 <= sizeof buf; i += 3) {
        buf[i] = 'a';
        buf[i + 1] = 0xc3;
        buf[i + 2] = 0xa9;
    }
    buf[198] = 'x';
    buf[199] = 'y';
    CHECK(ws_utf8_valid(buf, sizeof buf));
    for (e = sizeof buf - 16; e < sizeof buf; e++) {
        uint8_t copy[200];
        uint32_t st = 0, rs = 0;
        size_t want;
        memcpy(copy, buf, sizeof copy);
        copy[e] = 0xff;
        want = ref_utf8_validate(&rs, copy, sizeof copy);
        test_context("0xff at offset %lu", (unsigned long)e);
        CHECK_EQ_INT(ws_utf8_validate(&st, copy, sizeof copy), want);
        CHECK(!ws_utf8_valid(copy, sizeof copy));
    }
}

void suite_utf8(void) {
    test_suite_begin("utf8");
    RUN(utf8_cases_whole);
    RUN(utf8_cases_every_split);
    RUN(utf8_empty_piece_keeps_state);
    RUN(utf8_exhaustive_short_sequences);
    RUN(utf8_four_byte_leads);
    RUN(utf8_random_text_with_one_corruption);
    RUN(utf8_long_valid_text);
    test_suite_end();
}
