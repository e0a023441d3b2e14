/* test_fastpath.c - the fast paths of ws_mask and ws_utf8_validate give exactly what the
   portable code gives: ws_mask and the masked copy of client frames (ws__mask_copy) against
   ws__mask_words, ws__mask_copy_words and a byte-at-a-time loop; UTF-8
   against ws__utf8_bytes (the state machine, one byte at a time): the same index of the
   first invalid byte and the same state, for every length up to a few hundred bytes, every
   alignment, every key position, every fault class placed at every offset around the 16-
   and 64-byte block edges, all two-byte pairs, and random text split at random points.

   This file compiles its own private copy of the implementation (WS_STATIC) so that it can
   call the portable functions the public ones are built on. With SSE2 (any x86-64 build)
   the public functions take the SIMD paths; built with -DWS_NO_SIMD they take the portable
   word-at-a-time paths, which are then checked against the byte loops the same way. */
#define WS_STATIC
#define WS_IMPLEMENTATION
/* the fast path ws.h takes here: 0 the widest the CPU has, else 1 SSE2, 2 SSSE3, 3 AVX2 */
static unsigned fp_simd;
#define WS__SIMD() (fp_simd ? fp_simd : ws__simd_level())
#include "../../ws.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

static uint64_t fp_rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) { return test_rand(&fp_rng); }

/* The fast paths this build and CPU have: 1 to 3 (SSE2, SSSE3, AVX2), or 0 with no SIMD
   at all (WS_NO_SIMD, not x86). The tests below run once for each of them (fp_simd). */
static unsigned fp_levels(void) {
#ifdef WS__SSE2
    return ws__simd_level();
#else
    return 0;
#endif
}
static const char *const fp_name[] = { "portable", "SSE2", "SSSE3", "AVX2" };

/* ---- masking ---------------------------------------------------------------------- */

/* ws_mask and the masked copy a client sends through, SIMD and portable, against a byte
   loop */
TEST(mask_every_length_alignment_and_position) {
    static uint8_t src[600], a[600], b[600], c[600], d[600], e[600];
    static const uint8_t key[4] = { 0x12, 0xA5, 0x7F, 0xC3 };
    size_t len, pos, al, i;
    for (i = 0; i < sizeof src; i++) src[i] = (uint8_t)rnd();
    for (len = 0; len <= 300; len++)
        for (pos = 0; pos < 4; pos++)
            for (al = 0; al < 16; al++) {
                uint8_t k[4];
                uint32_t kw;
                memcpy(a, src, sizeof a);
                memcpy(b, src, sizeof b);
                memcpy(c, src, sizeof c);
                memcpy(d, src, sizeof d);
                memcpy(e, src, sizeof e);
                ws_mask(a + al, len, key, pos);                     /* SIMD, if any */
                for (i = 0; i < 4; i++) k[i] = key[(pos + i) & 3];
                memcpy(&kw, k, 4);
                if (ws__key_word(key, pos) != kw) {
                    test_context("key position %lu", (unsigned long)pos);
                    CHECK_EQ_U64(ws__key_word(key, pos), kw);
                    return;
                }
                ws__mask_words(b + al, len, kw);                    /* portable */
                ws__mask_copy(d + al, src + al, len, kw);           /* SIMD, if any */
#ifdef WS__SMALL_MASK
                ws__mask_copy(e + al, src + al, len, kw);   /* a copy, then ws__mask_words */
#else
                ws__mask_copy_words(e + al, src + al, len, kw);     /* portable */
#endif
                for (i = 0; i < len; i++) c[al + i] ^= key[(pos + i) & 3];
                if (memcmp(a, c, sizeof a) != 0 || memcmp(b, c, sizeof b) != 0 ||
                    memcmp(d, c, sizeof d) != 0 || memcmp(e, c, sizeof e) != 0) {
                    test_context("len %lu, key position %lu, alignment %lu", (unsigned long)len,
                                 (unsigned long)pos, (unsigned long)al);
                    CHECK_EQ_MEM(a, sizeof a, c, sizeof c);
                    CHECK_EQ_MEM(b, sizeof b, c, sizeof c);
                    CHECK_EQ_MEM(d, sizeof d, c, sizeof c);
                    CHECK_EQ_MEM(e, sizeof e, c, sizeof c);
                    return;
                }
            }
    CHECK(1);
}

TEST(mask_large_buffer_in_random_pieces) {
    enum { N = (1 << 20) + 13 };
    static const uint8_t key[4] = { 0xDE, 0xAD, 0xBE, 0xEF };
    uint8_t *a = (uint8_t *)malloc(N), *c = (uint8_t *)malloc(N);
    size_t i, at = 0;
    if (!CHECK(a && c)) { free(a); free(c); return; }
    for (i = 0; i < N; i++) a[i] = c[i] = (uint8_t)rnd();
    while (at < N) {                        /* pieces as a stream would cut them */
        size_t n = rnd() % 5000;
        if (n > N - at) n = N - at;
        ws_mask(a + at, n, key, at);
        at += n;
    }
    for (i = 0; i < N; i++) c[i] ^= key[i & 3];
    CHECK(memcmp(a, c, N) == 0);
    free(a);
    free(c);
}

/* ---- UTF-8 ------------------------------------------------------------------------ */

static int checked;

/* ws_utf8_validate against the state machine on buf[0..len-1], whole and cut at `cut`. */
#ifdef WS__SSE2
/* The 16-byte block checkers, SSE2 and SSSE3 (ws_utf8_validate takes the second on a CPU
   that has it, so the first is called here directly): what one vouches for, from a
   sequence boundary, is valid UTF-8 ending at a boundary, and on valid text it gets to
   within a block and a cut-off sequence of the end. */
static int blocks_vouch_for_valid_text(const uint8_t *buf, size_t len, int valid) {
    unsigned which;
    for (which = 1; which <= fp_levels(); which++) {
        uint32_t st = 0;
        size_t j = 0, left = 19;            /* a block and a cut-off sequence */
        if (which == 1) j = ws__utf8_blocks(buf, 0, len);
#ifdef WS__SSSE3
        if (which == 2) j = ws__utf8_blocks_ssse3(buf, 0, len);
#endif
#ifdef WS__AVX2
        if (which == 3) {
            if (len < 64) break;            /* it takes 64 bytes or more */
            j = ws__utf8_blocks_avx2(buf, 0, len);
            left = 67;
        }
#endif
        if (!CHECK(j <= len) || !CHECK_EQ_U64(ws__utf8_bytes(&st, buf, j), j) ||
            !CHECK_EQ_INT(st, 0) || (valid && !CHECK(j + left >= len))) {
            char hex[300];
            test_hex_brief(hex, sizeof hex, buf, len, 80);
            test_context("%s blocks stopped at %lu, bytes %s", fp_name[which],
                         (unsigned long)j, hex);
            return 0;
        }
    }
    return 1;
}
#endif

/* ws_utf8_validate on every fast path against the state machine: whole, and in two calls
   cut at `cut` */
static int same_as_state_machine(const uint8_t *buf, size_t len, size_t cut, uint32_t start) {
    uint32_t sb = start;
    size_t b = ws__utf8_bytes(&sb, buf, len);
    unsigned lv, top = fp_levels();
    checked++;
#ifdef WS__SSE2
    if (start == 0 && !blocks_vouch_for_valid_text(buf, len, b == len && sb == 0)) return 0;
#endif
    for (lv = top ? 1 : 0; lv <= top; lv++) {
        uint32_t sf = start, s1, s2;
        size_t f, f2;
        fp_simd = lv;
        f = ws_utf8_validate(&sf, buf, len);
        if (f != b || sf != sb) {
            char hex[300];
            test_hex_brief(hex, sizeof hex, buf, len, 80);
            test_context("%s, start state %u, bytes %s", fp_name[lv], (unsigned)start, hex);
            CHECK_EQ_INT(f, b);
            CHECK_EQ_INT(sf, sb);
            fp_simd = 0;
            return 0;
        }
        if (cut > len) continue;
        s1 = start;                         /* in two calls: the same answer */
        f2 = ws_utf8_validate(&s1, buf, cut);
        if (f2 == cut) {
            s2 = s1;
            f2 = cut + ws_utf8_validate(&s2, buf + cut, len - cut);
            s1 = s2;
        }
        if (f2 != b || s1 != sb) {
            char hex[300];
            test_hex_brief(hex, sizeof hex, buf, len, 80);
            test_context("%s, start state %u, cut at %lu, bytes %s", fp_name[lv],
                         (unsigned)start, (unsigned long)cut, hex);
            CHECK_EQ_INT(f2, b);
            CHECK_EQ_INT(s1, sb);
            fp_simd = 0;
            return 0;
        }
    }
    fp_simd = 0;
    return 1;
}

/* Appends one random character of 1-4 bytes (ASCII weighted by ascii_pct). */
static size_t put_char(uint8_t *o, unsigned ascii_pct) {
    uint32_t r = rnd(), cp;
    if (r % 100 < ascii_pct) { o[0] = (uint8_t)(r >> 8 & 0x7F); return 1; }
    switch (r >> 8 & 3) {
    case 0: cp = 0x80 + (r >> 10) % (0x800 - 0x80); break;
    case 1: case 2: cp = 0x800 + (r >> 10) % (0x10000 - 0x800); break;
    default: cp = 0x10000 + (r >> 10) % (0x110000 - 0x10000); break;
    }
    if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xE000;
    if (cp < 0x800) {
        o[0] = (uint8_t)(0xC0 | cp >> 6); o[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xE0 | cp >> 12); o[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (uint8_t)(0xF0 | cp >> 18); o[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F)); o[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

/* Faults: bytes that are never valid, leads without their continuation bytes, the edges of
   the narrow second-byte ranges, stray continuation bytes. */
static const uint8_t faults[][4] = {
    { 0xC0, 0x80 }, { 0xC1, 0xBF }, { 0xF5, 0x80 }, { 0xFF }, { 0xFE }, { 0x80 }, { 0xBF },
    { 0xE0, 0x9F, 0xBF }, { 0xE0, 0x80 }, { 0xED, 0xA0, 0x80 }, { 0xED, 0xBF, 0xBF },
    { 0xF0, 0x8F, 0xBF, 0xBF }, { 0xF4, 0x90, 0x80, 0x80 }, { 0xF4, 0xBF },
    { 0xC2, 0x41 }, { 0xE4, 0xB8, 0x41 }, { 0xF0, 0x9F, 0x98, 0x41 }, { 0xE4, 0xC2, 0xA9 },
    { 0xC2, 0xC2 }, { 0xE1, 0x80, 0x80 }, { 0xF1, 0x80, 0x80, 0x80 }, { 0xDF, 0xBF },
};

TEST(utf8_faults_at_every_offset_and_alignment) {
    uint8_t buf[300];
    unsigned filler, f, off, al;
    for (filler = 0; filler < 3; filler++)          /* ASCII, mixed, mostly multi-byte */
        for (f = 0; f < sizeof faults / sizeof faults[0]; f++)
            for (off = 0; off < 140; off++)
                for (al = 0; al < 3; al++) {
                    size_t len = 0, flen = 0, i;
                    uint8_t *p = buf + al;
                    while (len < off) len += put_char(p + len, filler == 0 ? 100 : filler == 1 ? 60 : 5);
                    while (flen < 4 && (flen == 0 || faults[f][flen])) flen++;
                    memcpy(p + len, faults[f], flen);
                    len += flen;
                    while (len < 180) len += put_char(p + len, filler == 0 ? 100 : 50);
                    for (i = 0; i < 4; i++)         /* and the text cut short */
                        if (!same_as_state_machine(p, len - i, rnd() % (len + 1), 0)) return;
                }
    CHECK(checked > 0);
}

TEST(utf8_all_byte_pairs_at_block_edges) {
    uint8_t buf[81];
    unsigned a, b, off, fill;
    for (fill = 0; fill < 2; fill++)
        for (off = 12; off <= 17; off++)
            for (a = 0; a < 256; a++)
                for (b = 0; b < 256; b++) {
                    size_t i;
                    for (i = 0; i < sizeof buf; i += 3) {     /* ASCII or CJK around it */
                        if (fill) { buf[i] = 0xE4; buf[i + 1] = 0xB8; buf[i + 2] = 0xAD; }
                        else buf[i] = buf[i + 1] = buf[i + 2] = 'a';
                    }
                    buf[fill ? off - off % 3 : off] = (uint8_t)a;
                    buf[(fill ? off - off % 3 : off) + 1] = (uint8_t)b;
                    if (!same_as_state_machine(buf, 64, 33, 0)) return;
                }
    CHECK(1);
}

TEST(utf8_four_byte_leads_with_every_second_byte) {
    uint8_t buf[64];
    static const uint8_t tails[] = { 0x00, 0x7F, 0x80, 0xBF, 0xC0, 0xFF };
    unsigned lead, second, t3, t4, off;
    for (off = 13; off <= 16; off++)
        for (lead = 0xC0; lead < 0x100; lead++)
            for (second = 0x70; second < 0xD0; second++)
                for (t3 = 0; t3 < sizeof tails; t3++)
                    for (t4 = 0; t4 < sizeof tails; t4 += 2) {
                        memset(buf, 'x', sizeof buf);
                        buf[off] = (uint8_t)lead;
                        buf[off + 1] = (uint8_t)second;
                        buf[off + 2] = tails[t3];
                        buf[off + 3] = tails[t4];
                        if (!same_as_state_machine(buf, 40, 99, 0)) return;
                    }
    CHECK(1);
}

TEST(utf8_random_text_and_states) {
    uint8_t buf[700];
    int round;
    for (round = 0; round < 20000; round++) {
        size_t len = 0, target = rnd() % 600, al = rnd() % 16;
        unsigned ascii = rnd() % 101;
        uint32_t start = round % 5 ? 0 : rnd() % 8;     /* sometimes mid-sequence */
        uint8_t *p = buf + al;
        while (len < target) len += put_char(p + len, ascii);
        if (len && round % 2) p[rnd() % len] = (uint8_t)rnd();     /* one corruption */
        if (!same_as_state_machine(p, len, rnd() % (len + 1), start)) return;
    }
    CHECK(1);
}

/* ---- text unmasked and checked in one pass (ws__unmask_text) --------------------- */

/* ws__unmask_text on every fast path (fused: AVX2, SSSE3; ASCII only: SSE2 and portable)
   against the reference, a byte loop that unmasks and the state machine: the same index of
   the first bad byte, the same state, every byte up to it unmasked; whole, and in two calls
   cut at `cut` (a sequence split across calls, the key mid-word). With fail_fast, the
   bytes from `after` on must still be masked: it stopped at the fault. */
static int unmask_same_as_reference(const uint8_t *text, size_t len, const uint8_t key[4],
                                    size_t pos, uint32_t start, size_t cut, size_t after) {
    static uint8_t masked[9000], work[9000 + 16];
    uint32_t sr = start;
    size_t ref = ws__utf8_bytes(&sr, text, len), i, al = (pos * 5 + len) % 16;
    unsigned lv, top = fp_levels();
    uint8_t *w = work + al;                 /* every alignment, as the lengths go by */
    for (i = 0; i < len; i++) masked[i] = (uint8_t)(text[i] ^ key[(pos + i) & 3]);
    checked++;
    for (lv = top ? 1 : 0; lv <= top; lv++) {
        int round;
        fp_simd = lv;
        for (round = 0; round < 2; round++) {
            uint32_t st = start;
            size_t got;
            memcpy(w, masked, len);
            if (round == 0) {
                got = ws__unmask_text(w, len, ws__key_word(key, pos), &st);
            } else {
                if (cut > len) break;
                got = ws__unmask_text(w, cut, ws__key_word(key, pos), &st);
                if (got == cut)
                    got = cut + ws__unmask_text(w + cut, len - cut, ws__key_word(key, pos + cut), &st);
            }
            if (got != ref || (ref == len && st != sr) || memcmp(w, text, ref) != 0 ||
                (ref < len && after < len && memcmp(w + after, masked + after, len - after))) {
                char hex[300];
                test_hex_brief(hex, sizeof hex, text, len, 80);
                test_context("%s, %s, len %lu, key position %lu, start state %u, bytes %s",
                             fp_name[lv], round ? "in two calls" : "whole", (unsigned long)len,
                             (unsigned long)pos, (unsigned)start, hex);
                if (round) test_context("cut at %lu", (unsigned long)cut);
                CHECK_EQ_U64(got, ref);
                if (ref == len) CHECK_EQ_INT(st, sr);
                CHECK_EQ_MEM(w, ref, text, ref);
                if (ref < len && after < len)
                    CHECK_EQ_MEM(w + after, len - after, masked + after, len - after);
                fp_simd = 0;
                return 0;
            }
        }
    }
    fp_simd = 0;
    return 1;
}

/* Text of the kind: 0 ASCII, 1 CJK (3-byte), 2 mixed, 3 emoji (4-byte) and 2-byte. */
static size_t text_of(uint8_t *o, size_t len, unsigned kind) {
    size_t n = 0;
    static const unsigned pct[] = { 100, 0, 50, 0 };
    while (n < len) {
        size_t k;
        uint8_t c[4];
        if (kind == 1 && rnd() % 8) {       /* mostly CJK: U+4E00..U+9FFF */
            uint32_t cp = 0x4E00 + rnd() % 0x5200;
            c[0] = (uint8_t)(0xE0 | cp >> 12); c[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
            c[2] = (uint8_t)(0x80 | (cp & 0x3F));
            k = 3;
        } else {
            k = put_char(c, pct[kind]);
        }
        if (k > len - n) { o[n++] = ' '; continue; }
        memcpy(o + n, c, k);
        n += k;
    }
    return n;
}

TEST(text_unmasked_and_checked_at_every_length_phase_and_fault) {
    static uint8_t text[700];
    static const uint8_t key[4] = { 0x9C, 0x21, 0xF0, 0x4B };
    static const uint8_t open_seq[][3] = { {0xC3, 0xA9}, {0xE4, 0xB8, 0xAD}, {0xF0, 0x9F, 0x98} };
    size_t len, pos, q;
    unsigned kind, f, o;
    for (len = 0; len <= 330; len++)
        for (kind = 0; kind < 4; kind++)
            for (pos = 0; pos < 4; pos++) {
                text_of(text, len, kind);   /* valid text, cut anywhere, two start states */
                if (!unmask_same_as_reference(text, len, key, pos, 0, rnd() % (len + 1), len)) return;
                for (o = 0; o < 3 && len > 3; o++) {    /* begun by an earlier piece */
                    uint32_t st = 0;
                    ws__utf8_bytes(&st, open_seq[o], o + 1);  /* needs one more byte */
                    text[0] = (uint8_t)(0x80 + rnd() % 0x10);
                    text_of(text + 1, len - 1, kind);
                    if (!unmask_same_as_reference(text, len, key, pos, st, rnd() % (len + 1), len))
                        return;
                    text[0] = 'x';                              /* and one that is not it */
                    if (!unmask_same_as_reference(text, len, key, pos, st, rnd() % (len + 1), len))
                        return;
                }
            }
    /* a fault at every offset of 200 bytes of each kind, every key position, cut at random */
    for (kind = 0; kind < 4; kind++)
        for (f = 0; f < sizeof faults / sizeof faults[0]; f++)
            for (q = 0; q < 200; q++) {
                size_t flen = 0, n;
                text_of(text, 260, kind);
                while (flen < 4 && (flen == 0 || faults[f][flen])) flen++;
                n = q;
                while (n > 0 && (text[n] & 0xC0) == 0x80) n--;      /* at a character */
                memcpy(text + n, faults[f], flen);
                if (!unmask_same_as_reference(text, 260, key, q & 3, 0, rnd() % 261, 260)) return;
            }
    CHECK(checked > 0);
}

TEST(text_unmask_fails_fast_on_long_text) {
    /* 8 KiB of each kind with one fault: the index of the fault, and the bytes more than
       1 KiB and a pass's step past it still masked (nothing more was done) */
    static uint8_t text[8192];
    static const uint8_t key[4] = { 0x5A, 0xC3, 0x01, 0xEE };
    static const size_t at[] = { 0, 1, 63, 64, 100, 1000, 1023, 1024, 1025, 4000, 6000 };
    unsigned kind, a, f;
    for (kind = 0; kind < 4; kind++)
        for (a = 0; a < sizeof at / sizeof at[0]; a++)
            for (f = 0; f < sizeof faults / sizeof faults[0]; f += 3) {
                size_t n = at[a], flen = 0;
                text_of(text, sizeof text, kind);
                while (n > 0 && (text[n] & 0xC0) == 0x80) n--;
                while (flen < 4 && (flen == 0 || faults[f][flen])) flen++;
                memcpy(text + n, faults[f], flen);
                if (!unmask_same_as_reference(text, sizeof text, key, a & 3, 0, n + 2,
                                              n + 1024 + 128 + 4))
                    return;
            }
    CHECK(1);
}

/* ---- a server's text frames: unmasked and checked in one pass ---------------------- */

/* A server unmasks text frames and checks them for ASCII in the same pass (ws__mask_ascii),
   falling back to unmask-then-validate at the first block or word with a byte >= 0x80.
   Through a real connection: frames of every length around the 8- and 64-byte blocks, with a two-byte
   character, a stray continuation byte or an 0xFF at every position, fed whole or split
   at points that leave the key mid-word; the bytes delivered must be the text, and an
   invalid byte must fail the connection with WS_ERR_UTF8 in the piece that holds it. */
static uint8_t tf_got[1200];
static size_t tf_len;
static int tf_send(ws_conn *c, const ws_buf *b, size_t n) { (void)c; (void)b; (void)n; return 0; }
static void tf_data(ws_conn *c, const void *d, size_t n) {
    (void)c;
    if (tf_len + n <= sizeof tf_got) memcpy(tf_got + tf_len, d, n);
    tf_len += n;
}

static int text_frame_case(const uint8_t *text, size_t len, size_t bad, size_t split,
                           const uint8_t key[4]) {
    static uint8_t wire[1300];
    ws_config cfg;
    ws_conn c;
    size_t hl, i, first;
    int r1, r2;
    memset(&cfg, 0, sizeof cfg);
    cfg.role = WS_ROLE_SERVER;
    cfg.send = tf_send;
    cfg.on_data = tf_data;
    if (!CHECK_EQ_INT(ws_conn_init(&c, &cfg, NULL), WS_OK)) return 0;
    if (!CHECK_EQ_INT(ws_conn_accept(&c, NULL, NULL), WS_OK)) return 0;
    hl = ws_frame_header(wire, true, WS_OP_TEXT, len, key);
    for (i = 0; i < len; i++) wire[hl + i] = (uint8_t)(text[i] ^ key[i & 3]);
    tf_len = 0;
    first = hl + split;
    r1 = ws_conn_feed(&c, wire, first);
    r2 = first < hl + len ? ws_conn_feed(&c, wire + first, hl + len - first) : r1;
    if (bad == (size_t)-1) {
        return CHECK_EQ_INT(r1, WS_OK) && CHECK_EQ_INT(r2, WS_OK) &&
               CHECK_EQ_U64(tf_len, len) && CHECK(memcmp(tf_got, text, len) == 0);
    }
    /* the piece holding the bad byte fails; nothing of it is delivered */
    if (bad < split)
        return CHECK_EQ_INT(r1, WS_ERR_UTF8) && CHECK_EQ_U64(tf_len, 0);
    return CHECK_EQ_INT(r1, WS_OK) && CHECK_EQ_INT(r2, WS_ERR_UTF8) &&
           CHECK_EQ_U64(tf_len, split) && CHECK(memcmp(tf_got, text, split) == 0);
}

TEST(server_text_unmasked_and_checked_in_one_pass) {
    static const size_t lens[] = { 1, 7, 8, 9, 15, 16, 17, 24, 63, 64, 65, 127, 128, 129,
                                   191, 192, 255, 256, 300, 1000 };
    static uint8_t text[1000];
    size_t li, q, kind, si;
    unsigned lv, top = fp_levels();
    for (lv = top ? 1 : 0; lv <= top; lv++)
    for (li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        fp_simd = lv;
        size_t len = lens[li];
        for (q = 0; q <= len; q++)
            for (kind = 0; kind < 3; kind++) {
                size_t splits[4];
                uint8_t key[4];
                size_t bad = (size_t)-1;
                for (si = 0; si < len; si++) text[si] = (uint8_t)(0x20 + rnd() % 0x5F);
                if (q < len) {
                    if (kind == 0 && q + 1 < len) { text[q] = 0xC3; text[q + 1] = 0xA9; }
                    else if (kind == 1) { text[q] = 0x80; bad = q; }
                    else { text[q] = 0xFF; bad = q; }
                } else if (kind) {
                    continue;                           /* all ASCII: once per length */
                }
                for (si = 0; si < 4; si++) key[si] = (uint8_t)(rnd() | 0x80);
                splits[0] = len;                        /* whole */
                splits[1] = rnd() % 4 + 1;              /* the key mid-word after it */
                splits[2] = q < len ? q : len / 2;      /* just before the character */
                splits[3] = len > 70 ? 64 + rnd() % 7 : len / 3;
                for (si = 0; si < 4; si++) {
                    size_t sp = splits[si] > len ? len : splits[si];
                    if (!text_frame_case(text, len, bad, sp, key)) {
                        FAIL("%s, length %zu, kind %zu at %zu, split at %zu", fp_name[lv], len,
                             kind, q, sp);
                        fp_simd = 0;
                        return;
                    }
                }
            }
    }
    fp_simd = 0;
}

void suite_fastpath(void) {
    fp_rng ^= test_seed() * 0x100000001B3ull;
    if (!fp_rng) fp_rng = 1;
    test_suite_begin("fastpath");
    RUN(mask_every_length_alignment_and_position);
    RUN(mask_large_buffer_in_random_pieces);
    RUN(utf8_faults_at_every_offset_and_alignment);
    RUN(utf8_all_byte_pairs_at_block_edges);
    RUN(utf8_four_byte_leads_with_every_second_byte);
    RUN(utf8_random_text_and_states);
    RUN(text_unmasked_and_checked_at_every_length_phase_and_fault);
    RUN(text_unmask_fails_fast_on_long_text);
    RUN(server_text_unmasked_and_checked_in_one_pass);
    test_suite_end();
}
