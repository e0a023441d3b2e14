/* inflate_check.c - ws.h's DEFLATE decoder (WS_DEFLATE) against zlib, which is a reference
   here only (ws.h never uses it).

   Run by tests/run_deflate.sh:  build/inflate_check [SEED_DIR]
   Checks, each on ws_inflate_feed's output byte for byte:
   - zlib's raw deflate of random bytes, repetitive text, JSON chat traffic and Chinese text
     (the seeds' own when SEED_DIR holds them), at levels 0, 1, 6 and 9, with its default,
     fixed-code, Huffman-only and RLE strategies, windows of 2^9 to 2^15, ended by
     Z_SYNC_FLUSH as permessage-deflate does (00 00 FF FF) and by Z_FINISH;
   - the same streams fed a byte at a time, and drained a byte of output at a time;
   - stored blocks of 0 and 65535 bytes; matches of length 3 and 258 at the largest
     distance each window allows, and one byte beyond it (refused);
   - corrupt streams (reserved block type, stored length, over-subscribed and incomplete
     codes, code 30 and 31 distances, length symbols 286 and 287, a repeat with nothing
     before it, too many code lengths, a distance before the first byte), each refused with
     the expected reason, and refused by zlib too;
   - 20000 seeded mutations of valid streams: whenever zlib decodes one, ws.h gives the same
     bytes, and whenever zlib refuses one, so does ws.h;
   - decompression bombs: output never exceeds what each call asked for;
   - negotiation, both roles: a table of offers and answers (Chrome's and Firefox's offers,
     windows, flags, quoted values, unknown, repeated and out-of-range parameters);
   - the encoder: its output for every input and for adversarial ones (runs of one byte,
     codes deeper than 15 bits before they are limited, repeats at the window's edge, text
     and random bytes in turns, 200000 bytes) inflated by zlib and by ws.h at every window
     2^8-2^15; its Huffman code lengths for Fibonacci counts within 15 and 7 bits.
   One line per check; the last line is "N passed, N failed". */
#define _DEFAULT_SOURCE
#define WS_DEFLATE
#define WS_IMPLEMENTATION
#include "../../ws.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static int passed, failed;

static void check(int ok, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("%s ", ok ? "PASS" : "FAIL");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    if (ok) passed++; else failed++;
}

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint32_t rnd(void) {
    rng ^= rng >> 12; rng ^= rng << 25; rng ^= rng >> 27;
    return (uint32_t)((rng * 0x2545F4914F6CDD1Dull) >> 32);
}

typedef struct buf { uint8_t *p; size_t len; } buf;

/* zlib's raw deflate of in: flush Z_SYNC_FLUSH (then 00 00 FF FF ends it) or Z_FINISH. */
static buf zdeflate(const uint8_t *in, size_t n, int level, int wbits, int strategy, int flush) {
    z_stream s;
    buf b;
    memset(&s, 0, sizeof s);
    if (deflateInit2(&s, level, Z_DEFLATED, -wbits, 8, strategy) != Z_OK) exit(3);
    b.len = deflateBound(&s, n) + 64;
    b.p = (uint8_t *)malloc(b.len);
    s.next_in = (Bytef *)in;
    s.avail_in = (uInt)n;
    s.next_out = b.p;
    s.avail_out = (uInt)b.len;
    if (deflate(&s, flush) == Z_STREAM_ERROR) exit(3);
    b.len -= s.avail_out;
    deflateEnd(&s);
    return b;
}

/* zlib's inflate of a raw stream, window 2^wbits: 0 ok (output in *out), -1 refused. */
static int zinflate(const uint8_t *in, size_t n, int wbits, buf *out, size_t cap) {
    z_stream s;
    int r;
    memset(&s, 0, sizeof s);
    if (inflateInit2(&s, -wbits) != Z_OK) exit(3);
    out->p = (uint8_t *)malloc(cap + 1);
    s.next_in = (Bytef *)in;
    s.avail_in = (uInt)n;
    s.next_out = out->p;
    s.avail_out = (uInt)cap;
    r = inflate(&s, Z_SYNC_FLUSH);
    out->len = cap - s.avail_out;
    inflateEnd(&s);
    return r == Z_OK || r == Z_STREAM_END || r == Z_BUF_ERROR ? 0 : -1;
}

/* ws.h's inflate, feeding `step` input bytes (0: all) and draining `ostep` output bytes
   (0: all) at a time. Returns the last code; the output in *out (at most cap bytes). */
static int winflate(const uint8_t *in, size_t n, size_t wsize, size_t step, size_t ostep,
                    buf *out, size_t cap, const char **why) {
    ws_inflate z;
    uint8_t *win = (uint8_t *)malloc(wsize);
    size_t pos = 0;
    int r = WS_OK;
    ws_inflate_init(&z, win, wsize);
    out->p = (uint8_t *)malloc(cap + 1);
    out->len = 0;
    for (;;) {                  /* until neither input is taken nor output made */
        size_t k = step && step < n - pos ? step : n - pos, used = 0, made = 0;
        size_t room = cap - out->len;
        if (ostep && ostep < room) room = ostep;
        r = ws_inflate_feed(&z, in + pos, k, &used, out->p + out->len, room, &made);
        out->len += made;
        pos += used;
        if (r != WS_OK || (!used && !made)) break;
    }
    if (why) *why = z.why;
    free(win);
    return r;
}

static int same(const buf *a, const uint8_t *p, size_t n) {
    return a->len == n && (n == 0 || memcmp(a->p, p, n) == 0);
}

/* ---- inputs -------------------------------------------------------------------------- */

static buf inputs[16];
static const char *names[16];
static int ninputs;

static void add_input(const char *name, uint8_t *p, size_t n) {
    names[ninputs] = name;
    inputs[ninputs].p = p;
    inputs[ninputs++].len = n;
}

static void make_inputs(const char *seed_dir) {
    size_t i, n;
    uint8_t *p;
    /* random bytes */
    p = (uint8_t *)malloc(70000);
    for (i = 0; i < 70000; i++) p[i] = (uint8_t)rnd();
    add_input("random 70000", p, 70000);
    p = (uint8_t *)malloc(100);
    for (i = 0; i < 100; i++) p[i] = (uint8_t)rnd();
    add_input("random 100", p, 100);
    /* repetitive text with long matches */
    p = (uint8_t *)malloc(200000);
    for (i = 0, n = 0; n + 64 < 200000; i++)
        n += (size_t)sprintf((char *)p + n, "line %zu: the quick brown fox jumps %s\n", i % 97,
                             i % 3 ? "over the lazy dog" : "again");
    add_input("repetitive text", p, n);
    /* chat JSON */
    p = (uint8_t *)malloc(60000);
    for (i = 0, n = 0; n + 200 < 60000; i++)
        n += (size_t)sprintf((char *)p + n,
                             "{\"event\":\"message\",\"room\":\"lobby\",\"from\":\"user%zu\","
                             "\"id\":%zu,\"text\":\"hello %zu\",\"time\":%zu}",
                             i % 13, i, i * 7 % 101, 1700000000 + i);
    add_input("chat JSON", p, n);
    /* one byte, and an empty input */
    p = (uint8_t *)malloc(1);
    p[0] = 'x';
    add_input("one byte", p, 1);
    add_input("empty", (uint8_t *)malloc(1), 0);
    /* Chinese text: the seeds' own when they are there */
    {
        static const char cjk[] = "websocket是基于TCP的一种新的网络协议，实现了浏览器和服务器的"
                                  "双向通信。小程序采用的是标准的websocket 协议。";
        size_t cap = 400000;
        p = (uint8_t *)malloc(cap);
        n = 0;
        if (seed_dir) {
            DIR *d = opendir(seed_dir);
            struct dirent *e;
            while (d && (e = readdir(d)) != NULL) {
                char path[1024];
                FILE *f;
                if (e->d_name[0] == '.') continue;
                snprintf(path, sizeof path, "%s/%s", seed_dir, e->d_name);
                if ((f = fopen(path, "rb")) == NULL) continue;
                n += fread(p + n, 1, cap - n, f);
                fclose(f);
            }
            if (d) closedir(d);
        }
        if (n == 0)
            for (i = 0; i < 200; i++) { memcpy(p + n, cjk, sizeof cjk - 1); n += sizeof cjk - 1; }
        add_input(seed_dir && n ? "the seeds' Chinese posts" : "Chinese text", p, n);
        printf("    Chinese text: %zu bytes\n", n);
    }
}

/* ---- a tiny fixed-code encoder, for streams zlib would not make ---------------------- */

typedef struct bw { uint8_t p[1 << 16]; size_t n; uint64_t acc; unsigned bits; } bw;

static void put_bits(bw *w, unsigned v, unsigned n) {
    w->acc |= (uint64_t)v << w->bits;
    w->bits += n;
    while (w->bits >= 8) { w->p[w->n++] = (uint8_t)w->acc; w->acc >>= 8; w->bits -= 8; }
}
static void put_rev(bw *w, unsigned code, unsigned n) {      /* a Huffman code: MSB first */
    unsigned i, r = 0;
    for (i = 0; i < n; i++) r |= ((code >> i) & 1u) << (n - 1 - i);
    put_bits(w, r, n);
}
static void fixed_sym(bw *w, unsigned sym) {
    if (sym < 144) put_rev(w, 0x30 + sym, 8);
    else if (sym < 256) put_rev(w, 0x190 + sym - 144, 9);
    else if (sym < 280) put_rev(w, sym - 256, 7);
    else put_rev(w, 0xC0 + sym - 280, 8);
}
static void flush_bits(bw *w) { if (w->bits) put_bits(w, 0, 8 - w->bits); }

/* one final fixed block: n literals, then a match of len at distance dist (raw codes). */
static void match_stream(bw *w, size_t lits, unsigned len, unsigned dist) {
    size_t i;
    unsigned s, d;
    memset(w, 0, sizeof *w);
    put_bits(w, 1, 1);
    put_bits(w, 1, 2);
    for (i = 0; i < lits; i++) fixed_sym(w, 'a' + (unsigned)(i % 26));
    for (s = 28; ws__z_len_base[s] > len; s--) {}
    fixed_sym(w, 257 + s);
    put_bits(w, len - ws__z_len_base[s], ws__z_len_extra[s]);
    for (d = 29; ws__z_dist_base[d] > dist; d--) {}
    put_rev(w, d, 5);
    put_bits(w, dist - ws__z_dist_base[d], ws__z_dist_extra[d]);
    fixed_sym(w, 256);
    flush_bits(w);
}

/* ---- the checks ---------------------------------------------------------------------- */

static void against_zlib(void) {
    static const int levels[] = {0, 1, 6, 9};
    static const int strategies[] = {Z_DEFAULT_STRATEGY, Z_FIXED, Z_HUFFMAN_ONLY, Z_RLE};
    static const char *const sname[] = {"default", "fixed", "huffman", "rle"};
    int i, l, s, w, f, bad;
    for (i = 0; i < ninputs; i++) {
        for (s = 0; s < 4; s++) {
            int runs = 0;
            bad = 0;
            for (l = 0; l < 4; l++) {
                for (w = 9; w <= 15; w++) {
                    for (f = 0; f < 2; f++) {
                        buf z = zdeflate(inputs[i].p, inputs[i].len, levels[l], w, strategies[s],
                                         f ? Z_FINISH : Z_SYNC_FLUSH), out;
                        int r = winflate(z.p, z.len, (size_t)1 << w, 0, 0, &out,
                                         inputs[i].len + 16, NULL);
                        if (r == WS_ERR_INFLATE || !same(&out, inputs[i].p, inputs[i].len) ||
                            (f && r != WS_INFLATE_END)) {
                            if (!bad++)
                                printf("    first difference: level %d window %d %s: rc %d, "
                                       "%zu of %zu bytes\n", levels[l], w,
                                       f ? "finish" : "sync", r, out.len, inputs[i].len);
                        }
                        runs++;
                        free(z.p);
                        free(out.p);
                    }
                }
            }
            check(bad == 0, "%s, %s strategy: %d zlib streams (levels 0/1/6/9, windows 2^9-2^15, "
                  "sync flush and finish) decode to the input", names[i], sname[s], runs);
        }
    }
}

/* zlib refuses a raw deflate window of 2^8 (since 1.2.9; before, it took 2^9 in its place),
   so a zlib peer that agreed to 8 bits compresses with 9: Node's zlib and Chromium do. Its
   distances stay within 2^9 - 262 = 250 bytes (zlib's MAX_DIST), so ws.h's decoder with a
   256-byte window, what an agreed 8 asks for, takes those streams. */
static void zlib_8_bit_window(void) {
    static const int levels[] = {1, 6, 9};
    z_stream zs;
    int i, l, bad = 0, runs = 0, refused;
    memset(&zs, 0, sizeof zs);
    refused = deflateInit2(&zs, 6, Z_DEFLATED, -8, 8, Z_DEFAULT_STRATEGY) != Z_OK;
    if (!refused) deflateEnd(&zs);
    printf("    zlib %s: a raw window of 2^8 %s\n", zlibVersion(), refused ? "refused" : "taken");
    for (i = 0; i < ninputs; i++) {
        for (l = 0; l < 3; l++) {
            buf z = zdeflate(inputs[i].p, inputs[i].len, levels[l], 9, Z_DEFAULT_STRATEGY,
                             Z_SYNC_FLUSH), out;
            int r = winflate(z.p, z.len, 256, 0, 0, &out, inputs[i].len + 16, NULL);
            if (r != WS_OK || !same(&out, inputs[i].p, inputs[i].len)) {
                if (!bad++)
                    printf("    %s, level %d: rc %d, %zu of %zu bytes\n", names[i], levels[l], r,
                           out.len, inputs[i].len);
            }
            runs++;
            free(z.p);
            free(out.p);
        }
    }
    check(bad == 0, "zlib's 8-bit window quirk: %d zlib streams of window 2^9 (what a zlib peer "
          "sends for an agreed 8; levels 1/6/9) decode in a 256-byte window", runs);
}

static void in_pieces(void) {
    int i;
    for (i = 0; i < ninputs; i++) {
        size_t n = inputs[i].len < 5000 ? inputs[i].len : 5000;
        buf z = zdeflate(inputs[i].p, n, 6, 15, Z_DEFAULT_STRATEGY, Z_SYNC_FLUSH), a, b;
        int ra = winflate(z.p, z.len, 32768, 1, 0, &a, n + 16, NULL);
        int rb = winflate(z.p, z.len, 32768, 0, 1, &b, n + 16, NULL);
        check(ra == WS_OK && same(&a, inputs[i].p, n) && rb == WS_OK && same(&b, inputs[i].p, n),
              "%s (first %zu bytes): fed a byte at a time, and drained a byte at a time",
              names[i], n);
        free(z.p);
        free(a.p);
        free(b.p);
    }
}

/* ws_inflate_reset between messages each compressed alone (no context takeover): 60 of
   them, each a random piece of an input, of fixed, dynamic or stored blocks in a random
   order, so kept fixed tables meet every block type before and after them; then a message
   that refers back into the one before it must fail after a reset, and a reset clears that
   failure. */
static void resets(void) {
    static const struct { int level, strategy; } kind[3] = {
        { 6, Z_FIXED }, { 6, Z_DEFAULT_STRATEGY }, { 0, Z_DEFAULT_STRATEGY } };
    static uint8_t win[1024], out[4096];
    ws_inflate z;
    size_t used, made, first;
    int i, ok = 1, seen[3] = { 0, 0, 0 }, r;
    uint8_t a[300];
    buf two;
    z_stream s;
    ws_inflate_init(&z, win, sizeof win);
    for (i = 0; i < 60 && ok; i++) {
        const buf *in = &inputs[rnd() % (unsigned)ninputs];
        size_t n = 1 + rnd() % 600, at;
        int k = (int)(rnd() % 3);
        buf c;
        if (n > in->len) n = in->len;
        at = rnd() % (in->len - n + 1);
        c = zdeflate(in->p + at, n, kind[k].level, 10, kind[k].strategy, Z_SYNC_FLUSH);
        if (i) ws_inflate_reset(&z);
        r = ws_inflate_feed(&z, c.p, c.len, &used, out, sizeof out, &made);
        ok = r == WS_OK && used == c.len && made == n && memcmp(out, in->p + at, n) == 0;
        seen[(c.p[0] >> 1) & 3 ? ((c.p[0] >> 1) & 3) - 1 : 2]++;
        free(c.p);
    }
    check(ok && seen[0] && seen[1] && seen[2],
          "ws_inflate_reset between 60 messages each alone (%d fixed, %d dynamic, %d stored "
          "first blocks): each comes out whole", seen[0], seen[1], seen[2]);

    /* two messages of one stream, the second a copy of the first: it is a match 300 back */
    for (i = 0; i < 300; i++) a[i] = (uint8_t)rnd();
    memset(&s, 0, sizeof s);
    if (deflateInit2(&s, 6, Z_DEFLATED, -10, 8, Z_DEFAULT_STRATEGY) != Z_OK) exit(3);
    two.p = (uint8_t *)malloc(2048);
    s.next_out = two.p;
    s.avail_out = 2048;
    s.next_in = a;
    s.avail_in = sizeof a;
    deflate(&s, Z_SYNC_FLUSH);
    first = 2048 - s.avail_out;
    s.next_in = a;
    s.avail_in = sizeof a;
    deflate(&s, Z_SYNC_FLUSH);
    two.len = 2048 - s.avail_out;               /* both messages' bytes */
    deflateEnd(&s);
    ws_inflate_reset(&z);
    r = ws_inflate_feed(&z, two.p, first, &used, out, sizeof out, &made);
    ok = r == WS_OK && made == sizeof a;
    ws_inflate_reset(&z);
    r = ws_inflate_feed(&z, two.p + first, two.len - first, &used, out, sizeof out, &made);
    check(ok && r == WS_ERR_INFLATE && z.why && *z.why,
          "a message that refers 300 bytes back into the one before, after ws_inflate_reset: "
          "WS_ERR_INFLATE (%s)", z.why);
    ws_inflate_reset(&z);
    r = ws_inflate_feed(&z, two.p, first, &used, out, sizeof out, &made);
    check(r == WS_OK && made == sizeof a && memcmp(out, a, sizeof a) == 0 && !*z.why,
          "ws_inflate_reset after a failure: the next message comes out whole");
    free(two.p);
}

/* one final dynamic block with these code lengths (nlit literal/length, then ndist
   distance), sent with a code-length code of 18 (1 bit), 0 (2), 1 and 2 (3 bits each);
   the block's data is up to the caller */
static void dynamic_head(bw *w, const uint8_t *lens, unsigned nlit, unsigned ndist) {
    static const uint8_t clen_code[19][2] = {   /* symbol: code, bits (0: not used) */
        {2, 2}, {6, 3}, {7, 3}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0},
        {0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 1} };
    unsigned i, n = nlit + ndist;
    memset(w, 0, sizeof *w);
    put_bits(w, 1, 1);
    put_bits(w, 2, 2);
    put_bits(w, nlit - 257, 5);
    put_bits(w, ndist - 1, 5);
    put_bits(w, 18 - 4, 4);                     /* code length lengths up to symbol 1's */
    for (i = 0; i < 18; i++) put_bits(w, clen_code[ws__z_clen_order[i]][1], 3);
    for (i = 0; i < n;) {
        unsigned run = 0;
        while (i + run < n && !lens[i + run] && run < 138) run++;
        if (run >= 11) {
            put_rev(w, clen_code[18][0], clen_code[18][1]);
            put_bits(w, run - 11, 7);
            i += run;
        } else {
            put_rev(w, clen_code[lens[i]][0], clen_code[lens[i]][1]);
            i++;
        }
    }
}

/* Dynamic blocks that use few symbols, as a short message's do: codes zlib accepts that
   are incomplete (one code of one bit), no distance codes at all, an end-of-block code alone;
   each against zlib. */
static void sparse_dynamic(void) {
    static uint8_t lens[286 + 30];
    bw *w = (bw *)malloc(sizeof *w);
    buf a, b, z;
    const char *why = "";
    int ra, rb, rz;
    unsigned k;
    for (k = 0; k < 4; k++) {
        static const char *what[4] = {
            "'a' and end of block of 1 bit each, 30 distance lengths all 0: \"aaa\"",
            "'a' 1 bit, end of block and length 3 of 2 bits, one distance code of 1 bit alone: "
            "\"aaaa\"",
            "end of block alone (1 bit), 30 distance lengths all 0: nothing",
            "no distance code, and a length code used: refused" };
        static const char *want[4] = { "aaa", "aaaa", "", NULL };
        unsigned nlit = 258, ndist = k == 1 ? 1 : 30;
        memset(lens, 0, sizeof lens);
        if (k != 2) lens['a'] = 1;
        lens[256] = k == 1 ? 2 : 1;
        if (k == 1 || k == 3) lens[257] = 2;
        if (k == 3) lens[256] = 2;
        if (k == 1) lens[nlit] = 1;
        dynamic_head(w, lens, nlit, ndist);
        if (k == 0) { put_rev(w, 0, 1); put_rev(w, 0, 1); put_rev(w, 0, 1); put_rev(w, 1, 1); }
        if (k == 1) { put_rev(w, 0, 1); put_rev(w, 3, 2); put_rev(w, 0, 1); put_rev(w, 2, 2); }
        if (k == 2) put_rev(w, 0, 1);
        if (k == 3) { put_rev(w, 0, 1); put_rev(w, 3, 2); put_rev(w, 0, 1); put_rev(w, 2, 2); }
        flush_bits(w);
        ra = winflate(w->p, w->n, 1024, 0, 0, &a, 64, &why);
        rb = winflate(w->p, w->n, 1024, 1, 0, &b, 64, NULL);
        rz = zinflate(w->p, w->n, 10, &z, 64);
        if (want[k])
            check(ra == WS_INFLATE_END && rb == WS_INFLATE_END && same(&a, (const uint8_t *)want[k],
                  strlen(want[k])) && same(&b, a.p, a.len) && rz == 0 && same(&z, a.p, a.len),
                  "dynamic block, %s (zlib agrees)", what[k]);
        else
            check(ra == WS_ERR_INFLATE && rb == WS_ERR_INFLATE && rz != 0,
                  "dynamic block, %s (%s; zlib refuses it too)", what[k], why);
        free(a.p);
        free(b.p);
        free(z.p);
    }
    free(w);
}

static void stored_and_distances(void) {
    static uint8_t big[65535 + 16];
    uint8_t s0[] = {0x01, 0x00, 0x00, 0xFF, 0xFF};      /* final, stored, 0 bytes */
    buf out;
    size_t i;
    int r, w;
    r = winflate(s0, sizeof s0, 32768, 0, 0, &out, 16, NULL);
    check(r == WS_INFLATE_END && out.len == 0, "a stored block of 0 bytes");
    free(out.p);
    big[0] = 0x01; big[1] = 0xFF; big[2] = 0xFF; big[3] = 0x00; big[4] = 0x00;
    for (i = 0; i < 65535; i++) big[5 + i] = (uint8_t)(i * 31);
    r = winflate(big, 5 + 65535, 32768, 0, 0, &out, 70000, NULL);
    check(r == WS_INFLATE_END && same(&out, big + 5, 65535), "a stored block of 65535 bytes");
    free(out.p);
    for (w = 8; w <= 15; w++) {
        static bw bwr;
        size_t wsize = (size_t)1 << w;
        const char *why = NULL;
        unsigned len;
        int ok = 1;
        for (len = 3; len <= 258; len += 255) {
            match_stream(&bwr, wsize, len, (unsigned)wsize);
            r = winflate(bwr.p, bwr.n, wsize, 0, 0, &out, wsize + 300, NULL);
            ok &= r == WS_INFLATE_END && out.len == wsize + len &&
                  memcmp(out.p + wsize, out.p, len) == 0;
            free(out.p);
        }
        check(ok, "window 2^%d: matches of 3 and 258 bytes at distance %zu", w, wsize);
        /* one byte beyond: past the window, or (2^15, DEFLATE's own limit) past the output */
        if (w < 15) match_stream(&bwr, wsize + 1, 3, (unsigned)wsize + 1);
        else match_stream(&bwr, wsize - 1, 3, (unsigned)wsize);
        r = winflate(bwr.p, bwr.n, wsize, 0, 0, &out, wsize + 300, &why);
        check(r == WS_ERR_INFLATE && strcmp(why, "distance beyond the window") == 0,
              "window 2^%d: distance %zu refused ('%s')", w, w < 15 ? wsize + 1 : wsize,
              why ? why : "");
        free(out.p);
    }
}

static void corrupt(void) {
    static const struct { const char *name; uint8_t b[24]; size_t n; const char *why; } cases[] = {
        {"reserved block type", {0x07}, 1, "reserved block type"},
        {"stored length and its complement differ", {0x01, 0x05, 0x00, 0xFA, 0xFE}, 5,
         "stored block length"},
        {"a distance before the first byte", {0x03, 0x02, 0x00}, 3, "distance beyond the window"},
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        buf out, zout;
        const char *why = NULL;
        int r = winflate(cases[i].b, cases[i].n, 32768, 0, 0, &out, 1000, &why);
        int zr = zinflate(cases[i].b, cases[i].n, 15, &zout, 1000);
        check(r == WS_ERR_INFLATE && strcmp(why, cases[i].why) == 0 && zr < 0,
              "%s: refused ('%s', want '%s'), and by zlib too", cases[i].name, why, cases[i].why);
        free(out.p);
        free(zout.p);
    }
    /* dynamic blocks whose code-length code is over-subscribed (19 lengths of 1) or
       incomplete (one length of 1), and whose repeat code has nothing to repeat */
    {
        static bw w;
        int which;
        for (which = 0; which < 3; which++) {
            static const char *const what[] = {"over-subscribed code-length code",
                                               "incomplete code-length code",
                                               "a repeat with no length before it"};
            static const char *const want[] = {"bad code-length code", "bad code-length code",
                                               "repeat with no length before"};
            const char *why = NULL;
            buf out, zout;
            int r, zr, k;
            memset(&w, 0, sizeof w);
            put_bits(&w, 1, 1); put_bits(&w, 2, 2);              /* final, dynamic */
            put_bits(&w, 0, 5); put_bits(&w, 0, 5);              /* 257 lengths, 1 distance */
            if (which == 0) {
                put_bits(&w, 15, 4);                             /* 19 code lengths */
                for (k = 0; k < 19; k++) put_bits(&w, 1, 3);
            } else if (which == 1) {
                put_bits(&w, 0, 4);                              /* 4: 16, 17, 18, 0 */
                put_bits(&w, 1, 3); put_bits(&w, 0, 3); put_bits(&w, 0, 3); put_bits(&w, 0, 3);
            } else {
                put_bits(&w, 0, 4);                              /* 16 and 0, length 1 each */
                put_bits(&w, 1, 3); put_bits(&w, 0, 3); put_bits(&w, 0, 3); put_bits(&w, 1, 3);
                put_rev(&w, 1, 1);                               /* 16 first: nothing before */
                put_bits(&w, 0, 2);
            }
            put_bits(&w, 0, 16);
            flush_bits(&w);
            r = winflate(w.p, w.n, 32768, 0, 0, &out, 100, &why);
            zr = zinflate(w.p, w.n, 15, &zout, 100);
            check(r == WS_ERR_INFLATE && strcmp(why, want[which]) == 0 && zr < 0,
                  "%s: refused ('%s', want '%s'), and by zlib too", what[which], why, want[which]);
            free(out.p);
            free(zout.p);
        }
    }
    /* fixed-code streams with symbols no code may carry */
    {
        static bw w;
        unsigned sym;
        const char *why = NULL;
        buf out, zout;
        int r, zr;
        for (sym = 286; sym <= 287; sym++) {
            memset(&w, 0, sizeof w);
            put_bits(&w, 1, 1); put_bits(&w, 1, 2);
            fixed_sym(&w, 'a');
            fixed_sym(&w, sym);
            put_bits(&w, 0, 16);
            flush_bits(&w);
            r = winflate(w.p, w.n, 32768, 0, 0, &out, 100, &why);
            zr = zinflate(w.p, w.n, 15, &zout, 100);
            check(r == WS_ERR_INFLATE && zr < 0, "length symbol %u refused ('%s'), and by zlib",
                  sym, why);
            free(out.p);
            free(zout.p);
        }
        for (sym = 30; sym <= 31; sym++) {
            memset(&w, 0, sizeof w);
            put_bits(&w, 1, 1); put_bits(&w, 1, 2);
            fixed_sym(&w, 'a');
            fixed_sym(&w, 257);
            put_rev(&w, sym, 5);
            put_bits(&w, 0, 16);
            flush_bits(&w);
            r = winflate(w.p, w.n, 32768, 0, 0, &out, 100, &why);
            zr = zinflate(w.p, w.n, 15, &zout, 100);
            check(r == WS_ERR_INFLATE && zr < 0, "distance code %u refused ('%s'), and by zlib",
                  sym, why);
            free(out.p);
            free(zout.p);
        }
    }
}

static void mutations(void) {
    int k, agree = 0, disagree = 0, zok = 0;
    buf z = zdeflate(inputs[3].p, 3000, 6, 15, Z_DEFAULT_STRATEGY, Z_SYNC_FLUSH);
    buf z2 = zdeflate(inputs[2].p, 3000, 9, 15, Z_FIXED, Z_SYNC_FLUSH);
    for (k = 0; k < 20000; k++) {
        buf *src = k & 1 ? &z2 : &z, out, zout;
        uint8_t *m = (uint8_t *)malloc(src->len);
        int flips = 1 + (int)(rnd() % 3), j, r, zr;
        memcpy(m, src->p, src->len);
        for (j = 0; j < flips; j++) m[rnd() % src->len] ^= (uint8_t)(1u << (rnd() % 8));
        r = winflate(m, src->len, 32768, 0, 0, &out, 8000, NULL);
        zr = zinflate(m, src->len, 15, &zout, 8000);
        if (zr == 0) {
            zok++;
            /* zlib decoded it: ws.h must give the same bytes (as far as zlib got) */
            if (r != WS_ERR_INFLATE && same(&out, zout.p, zout.len)) agree++;
            else if (r == WS_ERR_INFLATE && out.len == zout.len) agree++;  /* failed at the end */
            else {
                if (!disagree++) printf("    mutation %d: zlib %zu bytes, ws.h rc %d %zu bytes\n",
                                        k, zout.len, r, out.len);
            }
        } else {
            if (r == WS_ERR_INFLATE) agree++;
            else if (!disagree++) printf("    mutation %d: zlib refused, ws.h rc %d\n", k, r);
        }
        free(m);
        free(out.p);
        free(zout.p);
    }
    check(disagree == 0, "20000 mutated streams: ws.h and zlib agree on every one (%d decoded by "
          "both, the rest refused by both)", zok);
    free(z.p);
    free(z2.p);
}

static void bombs(void) {
    /* 10 MB of zeros in about 10 KB: each call writes no more than it was allowed */
    size_t n = 10u << 20, total = 0, pos = 0;
    uint8_t *zeros = (uint8_t *)calloc(1, n), out[4096], win[32768];
    buf z = zdeflate(zeros, n, 9, 15, Z_DEFAULT_STRATEGY, Z_SYNC_FLUSH);
    ws_inflate st;
    int ok = 1, calls = 0;
    ws_inflate_init(&st, win, sizeof win);
    while (pos < z.len) {
        size_t used = 0, made = 0;
        size_t room = 1 + rnd() % sizeof out;
        int r = ws_inflate_feed(&st, z.p + pos, z.len - pos, &used, out, room, &made);
        ok &= r == WS_OK && made <= room;
        pos += used;
        total += made;
        calls++;
        if (!used && !made) break;
    }
    check(ok && total == n, "a bomb (%zu bytes of zeros in %zu): %d calls, never more output "
          "than asked for, %zu bytes in all", n, z.len, calls, total);
    free(zeros);
    free(z.p);
}

/* ---- negotiation ------------------------------------------------------------------- */

static void parse_head(ws_http *h, char *text, int response) {
    ws_http_init(h, 0);
    if ((response ? ws_http_parse_response(h, text, strlen(text))
                  : ws_http_parse_request(h, text, strlen(text))) <= 0) {
        printf("bad head in the test: %s\n", text);
        exit(3);
    }
}

static void negotiation(void) {
    static const struct { const char *offer; unsigned max; int snc; int rc; const char *answer; }
    server[] = {
        {"permessage-deflate", 15, 0, 1, "permessage-deflate"},                  /* Firefox */
        {"permessage-deflate; client_max_window_bits", 15, 0, 1,                 /* Chrome */
         "permessage-deflate; client_max_window_bits=15"},
        {"permessage-deflate; client_max_window_bits", 10, 0, 1,
         "permessage-deflate; client_max_window_bits=10"},
        {"permessage-deflate", 10, 0, 0, ""},               /* cannot ask for a small window */
        {"permessage-deflate; server_max_window_bits=10; client_max_window_bits, permessage-deflate",
         12, 0, 1, "permessage-deflate; server_max_window_bits=10; client_max_window_bits=12"},
        {"permessage-deflate; foo=1, permessage-deflate; client_max_window_bits=9", 15, 0, 1,
         "permessage-deflate; client_max_window_bits=9"},
        {"permessage-deflate; server_no_context_takeover; server_no_context_takeover", 15, 0, 0, ""},
        {"permessage-deflate; server_max_window_bits=16", 15, 0, 0, ""},
        {"permessage-deflate; server_max_window_bits=7", 15, 0, 0, ""},
        {"permessage-deflate; server_max_window_bits=010", 15, 0, 0, ""},
        {"permessage-deflate; server_max_window_bits", 15, 0, 0, ""},
        {"permessage-deflate; client_max_window_bits=\"10\"", 15, 0, 1,
         "permessage-deflate; client_max_window_bits=10"},
        {"permessage-deflate; server_no_context_takeover=1", 15, 0, 0, ""},
        {"x-webkit-deflate-frame, permessage-deflate", 15, 0, 1, "permessage-deflate"},
        {"permessage-deflate", 15, 1, 1, "permessage-deflate; server_no_context_takeover"},
        {"permessage-deflate; client_no_context_takeover", 15, 0, 1,
         "permessage-deflate; client_no_context_takeover"},
        {"PerMessage-Deflate; Client_Max_Window_Bits=8", 15, 0, 1,
         "permessage-deflate; client_max_window_bits=8"},
        {"permessage-deflate; server_max_window_bits=8", 15, 0, 1,
         "permessage-deflate; server_max_window_bits=8"},
        /* offered, so answered even at 15 (RFC 7692 7.1.2.1; the conformance suite's
           13.13.8 found it left out) */
        {"permessage-deflate; server_max_window_bits=15", 15, 0, 1,
         "permessage-deflate; server_max_window_bits=15"},
        {"permessage-deflate; server_no_context_takeover; server_max_window_bits=15; "
         "client_max_window_bits", 15, 0, 1, "permessage-deflate; server_no_context_takeover; "
         "server_max_window_bits=15; client_max_window_bits=15"},
        {"x-other", 15, 0, 0, ""},
    };
    static const struct { int smwb, cmwb, snct, cnct; const char *answer; int rc; int acmwb; }
    client[] = {
        {15, 15, 0, 0, "permessage-deflate", 1, 15},
        {15, 15, 0, 0, "permessage-deflate; client_max_window_bits=10", 1, 10},
        {15, 15, 0, 0, "permessage-deflate; client_max_window_bits", WS_ERR_HS_EXTENSION, 0},
        {10, 15, 0, 0, "permessage-deflate; server_max_window_bits=12", WS_ERR_HS_EXTENSION, 0},
        {10, 15, 0, 0, "permessage-deflate; server_max_window_bits=9", 1, 15},
        {15, 15, 0, 0, "permessage-deflate; mystery", WS_ERR_HS_EXTENSION, 0},
        {15, 15, 0, 0, "permessage-deflate, permessage-deflate", WS_ERR_HS_EXTENSION, 0},
        {15, 15, 1, 0, "permessage-deflate", WS_ERR_HS_EXTENSION, 0},
        {15, 15, 1, 0, "permessage-deflate; server_no_context_takeover", 1, 15},
        {15, 12, 0, 0, "permessage-deflate; client_max_window_bits=13", WS_ERR_HS_EXTENSION, 0},
        {15, 15, 0, 0, "permessage-deflate; server_max_window_bits=8", 1, 15},
        {15, 15, 0, 0, NULL, 0, 0},
    };
    size_t i;
    for (i = 0; i < sizeof server / sizeof server[0]; i++) {
        char req[512], out[256];
        size_t len = 0;
        ws_http h;
        ws_deflate_params p;
        int r;
        snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                 "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: %s\r\n\r\n",
                 server[i].offer);
        parse_head(&h, req, 0);
        r = ws_deflate_accept(&h, server[i].max, server[i].snc != 0, &p, out, sizeof out, &len);
        if (r != 1) len = 0;
        out[len] = 0;
        check(r == server[i].rc && strcmp(out, server[i].answer) == 0,
              "server, window <= 2^%u%s, offer '%s': %d '%s' (want %d '%s')", server[i].max,
              server[i].snc ? ", no context" : "", server[i].offer, r, out, server[i].rc,
              server[i].answer);
    }
    {
        /* the longest answer is 128 bytes: a cap of 128 has no room for its NUL (the 101
           would read on past it: the conformance suite's 13.4.1 found it), 129 has */
        static const char offer[] = "permessage-deflate; client_no_context_takeover; "
            "client_max_window_bits; server_max_window_bits=15";
        char req[512], out[129];
        size_t len = 0, len2 = 0;
        ws_http h;
        ws_deflate_params p;
        int r, r2;
        snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                 "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: %s\r\n\r\n", offer);
        parse_head(&h, req, 0);
        memset(out, 'x', sizeof out);
        r = ws_deflate_accept(&h, 15, true, &p, out, 128, &len);
        r2 = ws_deflate_accept(&h, 15, true, &p, out, 129, &len2);
        check(r == WS_ERR_NOSPACE && r2 == 1 && len2 == 128 && out[128] == 0 &&
              strlen(out) == 128,
              "server, the longest answer (128 bytes): cap 128 WS_ERR_NOSPACE (%d), cap 129 "
              "written with its NUL (%d, %zu bytes)", r, r2, len2);
    }
    for (i = 0; i < sizeof client / sizeof client[0]; i++) {
        char resp[512];
        ws_http h;
        ws_deflate_params o, a;
        int r;
        memset(&o, 0, sizeof o);
        memset(&a, 0, sizeof a);
        o.server_max_window_bits = (uint8_t)client[i].smwb;
        o.client_max_window_bits = (uint8_t)client[i].cmwb;
        o.server_no_context_takeover = client[i].snct != 0;
        o.client_no_context_takeover = client[i].cnct != 0;
        snprintf(resp, sizeof resp, "HTTP/1.1 101 Switching Protocols\r\n%s%s%s\r\n",
                 client[i].answer ? "Sec-WebSocket-Extensions: " : "",
                 client[i].answer ? client[i].answer : "", client[i].answer ? "\r\n" : "");
        parse_head(&h, resp, 1);
        r = ws_deflate_check(&h, &o, &a);
        check(r == client[i].rc && (r != 1 || a.client_max_window_bits == client[i].acmwb),
              "client, offer %d/%d%s, answer '%s': %d (want %d)", client[i].smwb, client[i].cmwb,
              client[i].snct ? " no-context" : "", client[i].answer ? client[i].answer : "(none)",
              r, client[i].rc);
    }
    {
        ws_deflate_params w = {15, 15, false, false}, w2 = {10, 12, true, false};
        char out[256];
        size_t len = 0;
        int r = ws_deflate_offer(&w, out, sizeof out, &len);
        check(r == WS_OK && strcmp(out, "permessage-deflate; client_max_window_bits") == 0,
              "client offer, defaults: '%s'", out);
        r = ws_deflate_offer(&w2, out, sizeof out, &len);
        check(r == WS_OK && strcmp(out, "permessage-deflate; server_no_context_takeover; "
                                        "server_max_window_bits=10; client_max_window_bits=12") == 0,
              "client offer, windows 10 and 12 and no server context: '%s'", out);
        w2.client_max_window_bits = 16;
        check(ws_deflate_offer(&w2, out, sizeof out, &len) == WS_ERR_ARG,
              "client offer with a 16-bit window: WS_ERR_ARG");
    }
}

/* ---- compressed messages through a connection ------------------------------------ */

typedef struct zconn {
    ws_config cfg;
    ws_conn   c;
    ws_inflate z;
    uint8_t   win[32768];
    buf       got;                  /* what on_data or on_message delivered, in order */
    size_t    gotcap;
    int       messages, closes;
    unsigned  code;
    uint8_t   mbuf[70000];
} zconn;

static int zc_send(ws_conn *c, const ws_buf *b, size_t n) { (void)c; (void)b; (void)n; return 0; }
static void zc_put(zconn *z, const void *p, size_t n) {
    if (z->got.len + n + 1 > z->gotcap) {
        while (z->got.len + n + 1 > z->gotcap) z->gotcap = z->gotcap ? 2 * z->gotcap : 4096;
        z->got.p = (uint8_t *)realloc(z->got.p, z->gotcap);
    }
    memcpy(z->got.p + z->got.len, p, n);
    z->got.len += n;
}
static void zc_data(ws_conn *c, const void *p, size_t n) { zc_put((zconn *)c->user, p, n); }
static void zc_end(ws_conn *c) { ((zconn *)c->user)->messages++; }
static void zc_message(ws_conn *c, ws_opcode op, const void *p, size_t n) {
    (void)op;
    zc_put((zconn *)c->user, p, n);
    ((zconn *)c->user)->messages++;
}
static void zc_close(ws_conn *c, unsigned code, const char *r, size_t n) {
    (void)r; (void)n;
    ((zconn *)c->user)->closes++;
    ((zconn *)c->user)->code = code;
}

static zconn *zc_open(int whole, int reset, uint64_t max_message) {
    zconn *z = (zconn *)calloc(1, sizeof *z);
    z->cfg.send = zc_send;
    z->cfg.on_data = zc_data;
    z->cfg.on_end = zc_end;
    z->cfg.on_message = zc_message;
    z->cfg.on_close = zc_close;
    z->cfg.max_message_size = max_message;
    ws_conn_init(&z->c, &z->cfg, z);
    ws_conn_accept(&z->c, NULL, NULL);
    ws_inflate_init(&z->z, z->win, sizeof z->win);
    ws_conn_set_inflate(&z->c, &z->z, reset != 0);
    if (whole) ws_conn_set_buffer(&z->c, z->mbuf, sizeof z->mbuf);
    return z;
}

/* A client's frame: masked, RSV1 on when rsv1. */
static void put_frame(buf *b, int fin, int rsv1, int op, const uint8_t *p, size_t n) {
    static const uint8_t key[4] = {0x12, 0x34, 0x56, 0x78};
    size_t i, h = 2;
    b->p = (uint8_t *)realloc(b->p, b->len + n + 14);
    b->p[b->len] = (uint8_t)((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | op);
    if (n < 126) b->p[b->len + 1] = (uint8_t)(0x80 | n);
    else if (n < 65536) { b->p[b->len + 1] = 0x80 | 126; b->p[b->len + 2] = (uint8_t)(n >> 8);
                          b->p[b->len + 3] = (uint8_t)n; h = 4; }
    else { b->p[b->len + 1] = 0x80 | 127; for (i = 0; i < 8; i++) b->p[b->len + 2 + i] =
               (uint8_t)((uint64_t)n >> (56 - 8 * i)); h = 10; }
    memcpy(b->p + b->len + h, key, 4);
    for (i = 0; i < n; i++) b->p[b->len + h + 4 + i] = (uint8_t)(p[i] ^ key[i & 3]);
    b->len += h + 4 + n;
}

/* zlib's compression of msg as permessage-deflate sends it (sync flush, tail removed), on
   the stream s (context taken over from message to message). */
static buf pmd(z_stream *s, const uint8_t *msg, size_t n) {
    buf b;
    b.len = deflateBound(s, n) + 64;
    b.p = (uint8_t *)malloc(b.len);
    s->next_in = (Bytef *)msg;
    s->avail_in = (uInt)n;
    s->next_out = b.p;
    s->avail_out = (uInt)b.len;
    deflate(s, Z_SYNC_FLUSH);
    b.len -= s->avail_out;
    if (b.len >= 4 && !memcmp(b.p + b.len - 4, "\0\0\xff\xff", 4)) b.len -= 4;
    return b;
}

static void connection(void) {
    int whole, reset;
    /* three messages of chat JSON and the seeds' text, context taken over or not, streamed
       and whole, the last one in three fragments; fed whole and a byte at a time */
    for (whole = 0; whole < 2; whole++) {
        for (reset = 0; reset < 2; reset++) {
            int byte;
            for (byte = 0; byte < 2; byte++) {
                z_stream s;
                zconn *z = zc_open(whole, reset, 0);
                buf in = {0, 0}, want = {0, 0};
                int m, rc = WS_OK;
                size_t i;
                memset(&s, 0, sizeof s);
                deflateInit2(&s, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
                for (m = 0; m < 3; m++) {
                    const buf *src = &inputs[m == 1 ? 6 : 3];
                    size_t n = src->len < 20000 ? src->len : 20000;
                    buf c;
                    while (n && !ws_utf8_valid(src->p, n)) n--;     /* whole characters */
                    if (reset) deflateReset(&s);
                    c = pmd(&s, src->p, n);
                    if (m < 2) {
                        put_frame(&in, 1, 1, m == 1 ? WS_OP_TEXT : WS_OP_BINARY, c.p, c.len);
                    } else {                            /* RSV1 on the first fragment only */
                        size_t a = c.len / 3, b2 = 2 * c.len / 3;
                        put_frame(&in, 0, 1, WS_OP_TEXT, c.p, a);
                        put_frame(&in, 0, 0, WS_OP_CONT, c.p + a, b2 - a);
                        put_frame(&in, 1, 0, WS_OP_CONT, c.p + b2, c.len - b2);
                    }
                    want.p = (uint8_t *)realloc(want.p, want.len + n);
                    memcpy(want.p + want.len, src->p, n);
                    want.len += n;
                    free(c.p);
                }
                deflateEnd(&s);
                if (byte) {
                    for (i = 0; i < in.len && rc == WS_OK; i++) rc = ws_conn_feed(&z->c, in.p + i, 1);
                } else {
                    rc = ws_conn_feed(&z->c, in.p, in.len);
                }
                if (!(rc == WS_OK && z->messages == 3 && same(&z->got, want.p, want.len))) printf("    rc %d messages %d got %zu err %d code %u why %s\n", rc, z->messages, z->got.len, ws_conn_error(&z->c), z->code, z->z.why);
                check(rc == WS_OK && z->messages == 3 && same(&z->got, want.p, want.len),
                      "3 compressed messages (%zu bytes in, %zu out), %s, context %s, fed %s",
                      in.len, want.len, whole ? "whole" : "streamed",
                      reset ? "reset each message" : "taken over", byte ? "byte by byte" : "whole");
                free(in.p);
                free(want.p);
                free(z->got.p);
                free(z);
            }
        }
    }
    /* the inflated size is what counts: a 10 MB bomb against a 1 MB limit and a buffer */
    {
        int w;
        for (w = 0; w < 2; w++) {
            size_t n = 10u << 20;
            uint8_t *zeros = (uint8_t *)calloc(1, n);
            z_stream s;
            zconn *z = zc_open(w, 0, 1u << 20);
            buf c, in = {0, 0};
            int rc;
            memset(&s, 0, sizeof s);
            deflateInit2(&s, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
            c = pmd(&s, zeros, n);
            deflateEnd(&s);
            put_frame(&in, 1, 1, WS_OP_BINARY, c.p, c.len);
            rc = ws_conn_feed(&z->c, in.p, in.len);
            check(rc == WS_ERR_TOO_BIG && z->code == 1009 && z->got.len <= (w ? sizeof z->mbuf : 1u << 20),
                  "a %zu-byte frame that inflates to 10 MB (%s): 1009 after %zu bytes", c.len,
                  w ? "a 70000-byte buffer" : "max_message_size 1 MB, streamed", z->got.len);
            free(c.p); free(in.p); free(zeros); free(z->got.p); free(z);
        }
    }
    /* what must fail */
    {
        static const struct { const char *what; int rc; unsigned code; } cases[] = {
            {"bad compressed data", WS_ERR_INFLATE, 1007},
            {"RSV1 on a continuation frame", WS_ERR_PROTOCOL, 1002},
            {"RSV1 on a ping", WS_ERR_PROTOCOL, 1002},
            {"invalid UTF-8 inside compressed text", WS_ERR_UTF8, 1007},
            {"RSV1 with no decoder given", WS_ERR_PROTOCOL, 1002},
        };
        size_t k;
        for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
            zconn *z = zc_open(0, 0, 0);
            buf in = {0, 0};
            uint8_t bad[] = {0x07, 0x00};
            int rc;
            if (k == 0) put_frame(&in, 1, 1, WS_OP_BINARY, bad, 1);
            if (k == 1) { put_frame(&in, 0, 0, WS_OP_TEXT, (const uint8_t *)"a", 1);
                          put_frame(&in, 1, 1, WS_OP_CONT, (const uint8_t *)"b", 1); }
            if (k == 2) put_frame(&in, 1, 1, WS_OP_PING, NULL, 0);
            if (k == 3) {
                z_stream s;
                buf c;
                memset(&s, 0, sizeof s);
                deflateInit2(&s, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
                c = pmd(&s, (const uint8_t *)"ok \xC0\xAF no", 9);
                deflateEnd(&s);
                put_frame(&in, 1, 1, WS_OP_TEXT, c.p, c.len);
                free(c.p);
            }
            if (k == 4) {
                ws_conn_set_inflate(&z->c, NULL, false);
                put_frame(&in, 1, 1, WS_OP_BINARY, bad, 1);
            }
            rc = ws_conn_feed(&z->c, in.p, in.len);
            check(rc == cases[k].rc && z->code == cases[k].code, "%s: %s, close %u", cases[k].what,
                  ws_strerror(rc), z->code);
            free(in.p); free(z->got.p); free(z);
        }
    }
}


/* ---- sending compressed through a connection --------------------------------------- */

typedef struct wire { buf out; size_t cap; } wire;

static int wire_send(ws_conn *c, const ws_buf *b, size_t n) {
    wire *w = (wire *)c->user;
    size_t i;
    for (i = 0; i < n; i++) {
        if (w->out.len + b[i].len + 1 > w->cap) {        /* doubling: 1 MB in 64-byte frames */
            while (w->out.len + b[i].len + 1 > w->cap) w->cap = w->cap ? 2 * w->cap : 4096;
            w->out.p = (uint8_t *)realloc(w->out.p, w->cap);
        }
        if (b[i].len) memcpy(w->out.p + w->out.len, b[i].data, b[i].len);
        w->out.len += b[i].len;
    }
    return 0;
}
static int wire_random(ws_conn *c, void *out, size_t n) {
    size_t i;
    (void)c;
    for (i = 0; i < n; i++) ((uint8_t *)out)[i] = (uint8_t)rnd();
    return 0;
}

/* The messages in w->out (frames of a server, or masked ones of a client), checked frame by
   frame: RSV1 on a message's first frame only; each message's payload, with 00 00 FF FF
   behind it, inflated by zlib (window 2^wbits) when RSV1 is on. Returns how many messages,
   their bytes in *all (concatenated) and how many were compressed in *nz; -1 if bad. */
/* When set, wire_messages inflates with this stream, kept from message to message (the
   sender took context over), instead of a fresh one each. */
static z_stream *wire_keep;

static int zinflate_keep(z_stream *s, const uint8_t *in, size_t n, buf *out) {
    size_t cap = 4 * n + 1024;
    out->p = (uint8_t *)malloc(cap);
    out->len = 0;
    s->next_in = (Bytef *)in;
    s->avail_in = (uInt)n;
    for (;;) {
        int r;
        s->next_out = out->p + out->len;
        s->avail_out = (uInt)(cap - out->len);
        r = inflate(s, Z_SYNC_FLUSH);
        out->len = cap - s->avail_out;
        if (r != Z_OK && r != Z_BUF_ERROR) return -1;
        if (!s->avail_in && s->avail_out) return 0;
        cap *= 2;
        out->p = (uint8_t *)realloc(out->p, cap);
    }
}

static int wire_messages(const buf *w, int wbits, buf *all, int *nz, size_t *frames) {
    size_t i = 0;
    int count = 0, rsv = -1;
    buf msg = {0, 0};
    *nz = 0;
    *frames = 0;
    all->p = NULL;
    all->len = 0;
    while (i < w->len) {
        const uint8_t *h = w->p + i;
        size_t hl = 2, n = h[1] & 0x7F, k;
        int fin = h[0] >> 7, r1 = (h[0] >> 6) & 1, op = h[0] & 15;
        const uint8_t *key = NULL;
        if (n == 126) { n = (size_t)h[2] << 8 | h[3]; hl = 4; }
        else if (n == 127) { n = 0; for (k = 0; k < 8; k++) n = n << 8 | h[2 + k]; hl = 10; }
        if (h[1] & 0x80) { key = h + hl; hl += 4; }
        if (op >= 8) { i += hl + n; continue; }
        (*frames)++;
        if ((op == 0) != (rsv >= 0) || (op == 0 && r1) || (h[0] & 0x30)) { free(msg.p); return -1; }
        if (op) rsv = r1;
        msg.p = (uint8_t *)realloc(msg.p, msg.len + n + 4);
        for (k = 0; k < n; k++) msg.p[msg.len + k] = (uint8_t)(h[hl + k] ^ (key ? key[k & 3] : 0));
        msg.len += n;
        i += hl + n;
        if (!fin) continue;
        if (rsv) {
            buf out;
            memcpy(msg.p + msg.len, "\0\0\xff\xff", 4);
            if (wire_keep ? zinflate_keep(wire_keep, msg.p, msg.len + 4, &out) < 0
                          : zinflate(msg.p, msg.len + 4, wbits, &out, 64u << 20) < 0) {
                free(msg.p);
                free(out.p);
                return -1;
            }
            free(msg.p);
            msg = out;
            (*nz)++;
        }
        all->p = (uint8_t *)realloc(all->p, all->len + msg.len + 1);
        if (msg.len) memcpy(all->p + all->len, msg.p, msg.len);
        all->len += msg.len;
        free(msg.p);
        msg.p = NULL;
        msg.len = 0;
        rsv = -1;
        count++;
    }
    free(msg.p);
    return i == w->len ? count : -1;
}



static ws_conn *nested_peer;
static const uint8_t *nested_src;
static int nested_rc[3], nested_mode;
static ws_deflate *nested_d;
static uint8_t nested_out[2048];
static int nested_send(ws_conn *c, const ws_buf *b, size_t n) {
    size_t len = 0;
    if (nested_mode == 0) nested_rc[0] = ws_conn_send(nested_peer, WS_OP_TEXT, nested_src, 1000);
    if (nested_mode == 1) nested_rc[1] = ws_conn_send_continue(nested_peer, nested_src, 1000);
    if (nested_mode == 3)
        nested_rc[2] = ws_deflate_message(nested_d, nested_src, 1000, 15, nested_out,
                                          sizeof nested_out, &len);
    nested_mode = 2;
    return wire_send(c, b, n);
}

static void sender(void) {
    static uint32_t table[1 << 12];
    static const size_t caps[] = {64, 1000, 70000, 3u << 20};
    const size_t sizes[] = {0, 10, 63, 64, 200, 5000, 100000, 1u << 20};
    int role, frag;
    size_t ci;
    uint8_t *src = (uint8_t *)malloc(1u << 20), *rnd_bytes = (uint8_t *)malloc(1u << 20);
    size_t i;
    /* the source: chat JSON repeated, then the seeds' text; random bytes apart */
    for (i = 0; i < (1u << 20); i++) {
        src[i] = inputs[3].p[i % inputs[3].len];
        rnd_bytes[i] = (uint8_t)rnd();
    }
    for (role = 0; role < 2; role++) {
        for (ci = 0; ci < sizeof caps / sizeof caps[0]; ci++) {
            for (frag = 0; frag < 2; frag++) {
                ws_config cfg;
                ws_conn c;
                wire w;
                ws_deflate d;
                buf all, want = {0, 0};
                int wbits = ci == 0 ? 8 : ci == 1 ? 10 : 15, nz = 0, count, rc = WS_OK, want_nz = 0;
                size_t si, frames = 0;
                memset(&cfg, 0, sizeof cfg);
                memset(&w, 0, sizeof w);
                memset(&d, 0, sizeof d);
                cfg.role = role ? WS_ROLE_CLIENT : WS_ROLE_SERVER;
                cfg.send = wire_send;
                cfg.random = wire_random;
                d.table = table;
                d.table_bits = 12;
                d.out_cap = caps[ci];
                d.out = (uint8_t *)malloc(d.out_cap);
                ws_conn_init(&c, &cfg, &w);
                if (role) { c._state = WS_STATE_OPEN; c._flags |= 0x0080u; }   /* as if connected */
                else ws_conn_accept(&c, NULL, NULL);
                if (ws_conn_set_deflate(&c, &d, (unsigned)wbits) != WS_OK) rc = -100;
                for (si = 0; si < sizeof sizes / sizeof sizes[0] && rc == WS_OK; si++) {
                    int r;
                    for (r = 0; r < 2 && rc == WS_OK; r++) {       /* text-like, then random */
                        const uint8_t *m = r ? rnd_bytes : src;
                        size_t n = sizes[si], a = n / 3, b = 2 * n / 3;
                        ws_opcode op = WS_OP_BINARY;
                        if (!frag) rc = ws_conn_send(&c, op, m, n);
                        else if ((rc = ws_conn_send_begin(&c, op, m, a)) == WS_OK &&
                                 (rc = ws_conn_send_continue(&c, m + a, b - a)) == WS_OK)
                            rc = ws_conn_send_end(&c, m + b, n - b);
                        want.p = (uint8_t *)realloc(want.p, want.len + n + 1);
                        memcpy(want.p + want.len, m, n);
                        want.len += n;
                        /* compressed: text of 64 bytes or more, and fragmented text */
                        if (!r && (frag ? n > 3 : n >= 64)) want_nz++;
                    }
                }
                count = wire_messages(&w.out, wbits, &all, &nz, &frames);
                /* whole: exactly the text of 64 bytes or more compresses (with room to);
                   fragmented: the text whose first fragment shrinks, at least the 3 largest;
                   out_cap 64 leaves 32 bytes a frame, which may not shrink */
                check(rc == WS_OK && count == 16 && same(&all, want.p, want.len) &&
                      (ci == 0 ? nz <= want_nz : frag ? nz >= 3 && nz <= want_nz : nz == want_nz),
                      "%s sends 16 messages (0 B-1 MB, text and random)%s, out_cap %zu, window "
                      "2^%d: %zu frames, %d compressed (of %d candidates), inflated by zlib to what "
                      "was sent (rc %d, %d messages)", role ? "a client" : "a server",
                      frag ? " in 3 fragments each" : "", caps[ci], wbits, frames, nz, want_nz,
                      rc, count);
                /* and a ws.h connection on the other side takes them all */
                {
                    zconn *z = zc_open(0, 1, 0);
                    int fr;
                    if (!role) { z->cfg.role = WS_ROLE_CLIENT; z->cfg.random = wire_random;
                                 z->c._state = WS_STATE_OPEN; }
                    ws_inflate_init(&z->z, z->win, (size_t)1 << wbits);
                    fr = ws_conn_feed(&z->c, w.out.p, w.out.len);
                    check(fr == WS_OK && z->messages == 16 && same(&z->got, want.p, want.len),
                          "... and ws.h's decoder (window 2^%d) gives them back (%s, %d messages)",
                          wbits, ws_strerror(fr), z->messages);
                    free(z->got.p);
                    free(z);
                }
                free(all.p); free(want.p); free(w.out.p); free(d.out);
            }
        }
    }
    /* what does not compress, and the rules */
    {
        ws_config cfg;
        ws_conn c, c2;
        wire w, w2;
        ws_deflate d;
        buf all;
        int nz, count;
        size_t frames;
        memset(&cfg, 0, sizeof cfg);
        memset(&w, 0, sizeof w);
        memset(&w2, 0, sizeof w2);
        memset(&d, 0, sizeof d);
        cfg.send = wire_send;
        d.table = table;
        d.table_bits = 12;
        d.out_cap = 4096;
        d.out = (uint8_t *)malloc(d.out_cap);
        ws_conn_init(&c, &cfg, &w);
        ws_conn_accept(&c, NULL, NULL);
        check(ws_conn_set_deflate(&c, &d, 16) == WS_ERR_ARG && ws_conn_set_deflate(&c, &d, 7) == WS_ERR_ARG,
              "ws_conn_set_deflate: windows 2^7 and 2^16 refused");
        d.out_cap = 63;
        check(ws_conn_set_deflate(&c, &d, 15) == WS_ERR_ARG, "ws_conn_set_deflate: out_cap 63 refused");
        d.out_cap = 4096;
        check(ws_conn_set_deflate(&c, &d, 15) == WS_OK, "ws_conn_set_deflate: 2^15, 4096 bytes");
        ws_conn_send(&c, WS_OP_TEXT, src, 1000);
        ws_conn_send(&c, (ws_opcode)(WS_OP_TEXT | WS_NO_COMPRESS), src, 1000);
        ws_conn_send(&c, WS_OP_BINARY, rnd_bytes, 1000);
        ws_conn_send(&c, WS_OP_TEXT, src, 63);
        d.min_size = 10;
        ws_conn_send(&c, WS_OP_TEXT, src, 63);
        count = wire_messages(&w.out, 15, &all, &nz, &frames);
        check(count == 5 && nz == 2,
              "of 1000 bytes of JSON, the same with WS_NO_COMPRESS, 1000 random bytes, 63 bytes "
              "of JSON, and 63 once min_size is 10: the first and the last compressed (%d)", nz);
        free(all.p);
        check(ws_conn_send_begin(&c, WS_OP_TEXT, src, 100) == WS_OK &&
              ws_conn_send_header(&c, true, WS_OP_CONT, 10) == WS_ERR_STATE &&
              ws_conn_set_deflate(&c, NULL, 15) == WS_ERR_STATE &&
              ws_conn_send_end(&c, src, 100) == WS_OK,
              "inside a compressed message: ws_conn_send_header (a continuation) and "
              "ws_conn_set_deflate get WS_ERR_STATE, ws_conn_send_end goes on");
        check(ws_conn_send_begin(&c, (ws_opcode)(WS_OP_TEXT | WS_NO_COMPRESS), src, 100) == WS_OK &&
              ws_conn_send_header(&c, true, WS_OP_CONT, 1) == WS_OK &&
              ws_conn_send_payload(&c, "x", 1) == WS_OK,
              "an uncompressed one may end with ws_conn_send_header");
        /* one ws_deflate for two connections: a send on the second from inside the first's
           send callback finds it busy and goes uncompressed */
        ws_conn_init(&c2, &cfg, &w2);
        ws_conn_accept(&c2, NULL, NULL);
        ws_conn_set_deflate(&c2, &d, 15);
        free(w.out.p);
        free(w2.out.p);
        memset(&w, 0, sizeof w);
        memset(&w2, 0, sizeof w2);
        {
            ws_config cfg2 = cfg;
            buf a2;
            int nz2 = 0, n1, n2, r1, r2;
            cfg2.send = nested_send;
            nested_peer = &c2;
            nested_src = src;
            c._cfg = &cfg2;
            nested_mode = 0;                    /* c2 sends a whole message from inside */
            ws_conn_send(&c, WS_OP_TEXT, src, 1000);
            r1 = ws_conn_send_begin(&c2, WS_OP_TEXT, src, 1000);    /* compressed */
            nested_mode = 1;                    /* c2 goes on with it from inside */
            ws_conn_send(&c, WS_OP_TEXT, src, 1000);
            r2 = ws_conn_send_end(&c2, src, 1000);
            c._cfg = &cfg;
            n1 = wire_messages(&w.out, 15, &all, &nz, &frames);
            n2 = wire_messages(&w2.out, 15, &a2, &nz2, &frames);
            check(n1 == 2 && nz == 2 && n2 == 2 && nz2 == 1 && nested_rc[0] == WS_OK &&
                  nested_rc[1] == WS_ERR_BUSY && r1 == WS_OK && r2 == WS_OK && a2.len == 3000 &&
                  !memcmp(a2.p, src, 1000) && !memcmp(a2.p + 1000, src, 1000) &&
                  !memcmp(a2.p + 2000, src, 1000),
                  "one ws_deflate for two connections: found busy from inside the first's send "
                  "callback, the second's message goes uncompressed, and its compressed "
                  "fragmented message gets WS_ERR_BUSY there, then goes on after (%d of %d "
                  "compressed; %s)", nz2, n2, ws_strerror(nested_rc[1]));
            free(all.p);
            free(a2.p);
        }
        /* ws_deflate_message on the ws_deflate a connection is compressing with, from inside
           its send callback: WS_ERR_BUSY (its scratch holds that message), the connection's
           message unharmed; and WS_OK once the send is over */
        free(w.out.p);
        memset(&w, 0, sizeof w);
        {
            ws_config cfg3 = cfg;
            size_t len = 0;
            int n1, r3;
            cfg3.send = nested_send;
            nested_d = &d;
            nested_src = src;
            nested_rc[2] = 1;
            c._cfg = &cfg3;
            nested_mode = 3;
            ws_conn_send(&c, WS_OP_TEXT, src, 1000);
            c._cfg = &cfg;
            r3 = ws_deflate_message(&d, src, 1000, 15, nested_out, sizeof nested_out, &len);
            n1 = wire_messages(&w.out, 15, &all, &nz, &frames);
            check(nested_rc[2] == WS_ERR_BUSY && n1 == 1 && nz == 1 && all.len == 1000 &&
                  !memcmp(all.p, src, 1000) && r3 == WS_OK && len > 0 && len < 1000,
                  "ws_deflate_message on a ws_deflate busy for a connection (from inside its "
                  "send callback): %s, the connection's compressed message intact; after it: "
                  "%s, %zu bytes", ws_strerror(nested_rc[2]), ws_strerror(r3), len);
            free(all.p);
        }
        free(w.out.p);
        free(w2.out.p);
        free(d.out);
    }
    free(src);
    free(rnd_bytes);
}


/* ---- context takeover on send: ws_conn_set_deflate_window ------------------------------ */

/* One connection (server or client) sending a mix of messages with its own window of
   2^wbits_mem bytes, the agreed window 2^wbits: its wire, the bytes it sent, and how many
   went compressed. */
static int takeover_run(int role, int wbits, int wbits_mem, int use_window, buf *wire_out,
                        buf *want, int *rc) {
    static uint32_t stable[1 << 12], wtable[1 << 10];
    static uint8_t out[70000], win[1 << 15];
    ws_config cfg;
    ws_conn c;
    wire w;
    ws_deflate d = {.table = stable, .table_bits = 12, .out = out, .out_cap = sizeof out};
    ws_deflate_window zw;
    size_t k, n, at = 0;
    uint8_t *rnd_bytes = (uint8_t *)malloc(1000);
    memset(&cfg, 0, sizeof cfg); memset(&w, 0, sizeof w); memset(&zw, 0, sizeof zw);
    memset(wtable, 0, sizeof wtable);
    for (k = 0; k < 1000; k++) rnd_bytes[k] = (uint8_t)rnd();
    zw.window = win; zw.table = wtable; zw.window_bits = (uint8_t)wbits_mem; zw.table_bits = 10;
    cfg.role = role ? WS_ROLE_CLIENT : WS_ROLE_SERVER;
    cfg.send = wire_send;
    cfg.random = wire_random;
    ws_conn_init(&c, &cfg, &w);
    if (role) { c._state = WS_STATE_OPEN; c._flags |= 0x0080u; }   /* as if connected */
    else ws_conn_accept(&c, NULL, NULL);
    *rc = ws_conn_set_deflate(&c, &d, (unsigned)wbits);
    if (!*rc && use_window) *rc = ws_conn_set_deflate_window(&c, &zw);
    want->p = NULL;
    want->len = 0;
    /* 40 chat messages of 90-150 bytes, then 5000 bytes of text, 1000 random, 800 of text
       sent uncompressed, 3000 of text in 3 fragments, 100000 of text, an empty one, and 40
       more chat messages */
    for (k = 0; k < 87 && !*rc; k++) {
        const uint8_t *m = inputs[3].p + at;
        int op = WS_OP_TEXT;
        n = 90 + (k * 37) % 61;
        if (k == 40) n = 5000;
        if (k == 41) { m = rnd_bytes; n = 1000; op = WS_OP_BINARY; }
        if (k == 42) { n = 800; op = WS_OP_TEXT | WS_NO_COMPRESS; }
        if (k == 43) n = 3000;
        if (k == 44) n = 100000;
        if (k == 45) n = 0;
        if (k == 46) { m = inputs[3].p; n = 100; }                  /* the first one again */
        if (k == 44) m = inputs[2].p;                               /* repetitive text */
        else if (m != rnd_bytes && k != 46) {
            if (at + n > inputs[3].len) at = 0;
            m = inputs[3].p + at;
            at += n;
        }
        if (k == 43)
            *rc = ws_conn_send_begin(&c, (ws_opcode)op, m, 1000) ||
                  ws_conn_send_continue(&c, m + 1000, 1000) || ws_conn_send_end(&c, m + 2000, 1000);
        else *rc = ws_conn_send(&c, (ws_opcode)op, m, n);
        want->p = (uint8_t *)realloc(want->p, want->len + n + 1);
        if (n) memcpy(want->p + want->len, m, n);
        want->len += n;
    }
    *wire_out = w.out;
    free(rnd_bytes);
    return 87;
}

static void takeover(void) {
    int role, wbits, bad = 0, own_bad = 0, worse = 0, rcs = 0;
    size_t with_sum = 0, without_sum = 0;
    for (role = 0; role < 2; role++) {
        for (wbits = 8; wbits <= 15; wbits++) {
            /* the window memory: as agreed, larger, and smaller than agreed */
            int mem = wbits % 3 == 0 ? wbits : wbits % 3 == 1 ? 15 : (wbits > 8 ? wbits - 1 : 8);
            buf wire1, wire0, want1, want0, all;
            int rc1, rc0, nz = 0, count, r;
            size_t frames;
            z_stream zs;
            int m1 = takeover_run(role, wbits, mem, 1, &wire1, &want1, &rc1);
            (void)takeover_run(role, wbits, mem, 0, &wire0, &want0, &rc0);
            rcs |= rc1 | rc0;
            memset(&zs, 0, sizeof zs);
            inflateInit2(&zs, -wbits);
            wire_keep = &zs;
            count = wire_messages(&wire1, wbits, &all, &nz, &frames);
            wire_keep = NULL;
            inflateEnd(&zs);
            if (count != m1 || !same(&all, want1.p, want1.len)) bad++;
            free(all.p);
            {
                zconn *z = zc_open(0, 0, 0);
                if (!role) { z->cfg.role = WS_ROLE_CLIENT; z->cfg.random = wire_random;
                             z->c._state = WS_STATE_OPEN; }
                ws_inflate_init(&z->z, z->win, (size_t)1 << wbits);
                r = ws_conn_feed(&z->c, wire1.p, wire1.len);
                if (r != WS_OK || z->messages != m1 || !same(&z->got, want1.p, want1.len)) own_bad++;
                free(z->got.p);
                free(z);
            }
            if (wire1.len >= wire0.len) worse++;
            with_sum += wire1.len;
            without_sum += wire0.len;
            free(wire1.p); free(wire0.p); free(want1.p); free(want0.p);
        }
    }
    check(!rcs && bad == 0 && own_bad == 0,
          "context taken over on send (ws_conn_set_deflate_window), server and client, windows "
          "2^8-2^15 (window memory as agreed, larger, smaller): 87 messages each (chat, text, "
          "random, one uncompressed, one fragmented, 100 kB, empty) inflated by one zlib stream "
          "and by ws.h's decoder kept from message to message (%d, %d bad)", bad, own_bad);
    check(worse == 0, "and smaller on the wire than each message alone at every window "
          "(%zu bytes against %zu)", with_sum, without_sum);
    /* the rules */
    {
        ws_config cfg;
        ws_conn c;
        wire w;
        static uint32_t t[1024];
        static uint8_t o[4096], win[256];
        ws_deflate d = {.table = t, .table_bits = 10, .out = o, .out_cap = sizeof o};
        ws_deflate_window zw = {.window = win, .table = t, .window_bits = 8, .table_bits = 10};
        int r0, r1, r2, r3, r4;
        memset(&cfg, 0, sizeof cfg); memset(&w, 0, sizeof w);
        cfg.send = wire_send;
        ws_conn_init(&c, &cfg, &w);
        ws_conn_accept(&c, NULL, NULL);
        r0 = ws_conn_set_deflate_window(&c, &zw);           /* no encoder yet */
        ws_conn_set_deflate(&c, &d, 15);
        zw.window_bits = 16;
        r1 = ws_conn_set_deflate_window(&c, &zw);
        zw.window_bits = 8;
        zw.table = NULL;
        r2 = ws_conn_set_deflate_window(&c, &zw);
        zw.table = t;
        ws_conn_send_begin(&c, WS_OP_TEXT, inputs[3].p, 100);
        r3 = ws_conn_set_deflate_window(&c, &zw);
        ws_conn_send_end(&c, inputs[3].p, 100);
        r4 = ws_conn_set_deflate_window(&c, &zw);
        ws_conn_set_deflate(&c, NULL, 15);
        check(r0 == WS_ERR_ARG && r1 == WS_ERR_ARG && r2 == WS_ERR_ARG && r3 == WS_ERR_STATE &&
              r4 == WS_OK && c._zd == NULL,
              "ws_conn_set_deflate_window: WS_ERR_ARG without an encoder, for a 2^16 window or "
              "no table; WS_ERR_STATE inside a fragmented message; dropped with the encoder");
        free(w.out.p);
    }
}

/* ---- the client side: ws_client_opts.deflate ----------------------------------------- */

typedef struct pair_end { wire w; zconn *z; } pair_end;

/* A ws.h client offering `offer` to a ws.h server that accepts with a decoder of 2^sbits
   (max_client_bits) and answers server_no_context_takeover; then messages both ways.
   Returns 1 when everything arrived as sent, compressed where it should be. */
static int client_pair(const ws_deflate_params *offer, unsigned max_client_bits, char *why,
                       size_t why_len, ws_deflate_params *agreed) {
    static uint32_t ctable[1 << 12], stable[1 << 12];
    static uint8_t cout[8192], sout[8192], cwin[32768];
    ws_config ccfg, scfg;
    ws_conn cc, sc;
    wire cw, sw;
    ws_inflate ci;
    ws_deflate cd = {.table = ctable, .table_bits = 12, .out = cout, .out_cap = sizeof cout};
    ws_deflate sd = {.table = stable, .table_bits = 12, .out = sout, .out_cap = sizeof sout};
    ws_deflate_client dc;
    ws_client_opts o;
    ws_http req, resp;
    ws_deflate_params sp;
    char ext[160], *head;
    size_t ext_len = 0, k;
    int r, ok = 1, nz = 0, count;
    zconn *server_rx, *client_rx;
    buf all, want = {0, 0};
    size_t frames;
    memset(&ccfg, 0, sizeof ccfg); memset(&scfg, 0, sizeof scfg);
    memset(&cw, 0, sizeof cw); memset(&sw, 0, sizeof sw);
    memset(&dc, 0, sizeof dc); memset(&o, 0, sizeof o);
    ccfg.role = WS_ROLE_CLIENT; ccfg.send = wire_send; ccfg.random = wire_random;
    scfg.send = wire_send;
    ws_conn_init(&cc, &ccfg, &cw);
    ws_conn_init(&sc, &scfg, &sw);
    ws_inflate_init(&ci, cwin, (size_t)1 << offer->server_max_window_bits);
    dc.offer = *offer; dc.inflate = &ci; dc.deflate = &cd;
    o.host = "127.0.0.1"; o.deflate = &dc;
    if ((r = ws_conn_connect(&cc, &o)) != WS_OK) { snprintf(why, why_len, "connect: %s", ws_strerror(r)); return 0; }
    head = (char *)malloc(cw.out.len + 1);
    memcpy(head, cw.out.p, cw.out.len);
    head[cw.out.len] = 0;
    parse_head(&req, head, 0);
    r = ws_deflate_accept(&req, max_client_bits, true, &sp, ext, sizeof ext, &ext_len);
    {
        ws_accept_opts ao = {NULL, r == 1 ? ext : NULL, NULL};
        ws_conn_accept_opts(&sc, &req, &ao);
    }
    /* the server's decoder, window 2^client_max_window_bits, and its encoder */
    server_rx = zc_open(0, 0, 0);
    if (r == 1) {
        ws_inflate_init(&server_rx->z, server_rx->win, (size_t)1 << sp.client_max_window_bits);
        ws_conn_set_inflate(&sc, &server_rx->z, sp.client_no_context_takeover);
        ws_conn_set_deflate(&sc, &sd, sp.server_max_window_bits);
    }
    {
        char *rh = (char *)malloc(sw.out.len + 1);
        memcpy(rh, sw.out.p, sw.out.len);
        rh[sw.out.len] = 0;
        parse_head(&resp, rh, 1);
        r = ws_conn_connected(&cc, &resp);
        free(rh);
    }
    free(head);
    if (r != WS_OK || ws_conn_state(&cc) != WS_STATE_OPEN) {
        snprintf(why, why_len, "connected: %s", ws_strerror(r));
        free(server_rx); return 0;
    }
    *agreed = dc.agreed;
    snprintf(why, why_len, "%s; offer \"%s\", answer \"%s\"", dc.on ? "agreed" : "declined",
             dc._offer, r == WS_OK && ext_len ? ext : "");
    /* messages both ways: the client's go to a ws.h server connection that has the
       server's decoder, the server's to a client connection with the client's */
    free(cw.out.p); free(sw.out.p);
    memset(&cw, 0, sizeof cw); memset(&sw, 0, sizeof sw);
    for (k = 0; k < 4; k++) {
        size_t n = k == 0 ? 10 : k == 1 ? 200 : k == 2 ? 20000 : 300000;
        uint8_t *m = (uint8_t *)malloc(n);
        size_t i;
        for (i = 0; i < n; i++) m[i] = inputs[3].p[i % inputs[3].len];
        ok &= ws_conn_send(&cc, WS_OP_BINARY, m, n) == WS_OK;
        ok &= ws_conn_send(&sc, WS_OP_BINARY, m, n) == WS_OK;
        want.p = (uint8_t *)realloc(want.p, want.len + n);
        memcpy(want.p + want.len, m, n);
        want.len += n;
        free(m);
    }
    /* each side's frames, checked and inflated by zlib with the agreed window */
    count = wire_messages(&cw.out, dc.on ? dc.agreed.client_max_window_bits : 15, &all, &nz, &frames);
    ok &= count == 4 && same(&all, want.p, want.len) && nz == (dc.on ? 3 : 0);
    free(all.p);
    count = wire_messages(&sw.out, dc.on ? dc.agreed.server_max_window_bits : 15, &all, &nz, &frames);
    ok &= count == 4 && same(&all, want.p, want.len) && nz == (dc.on ? 3 : 0);
    free(all.p);
    /* and ws.h takes them: the server's decoder the client's, the client's the server's */
    ok &= ws_conn_feed(&sc, cw.out.p, cw.out.len) == WS_OK;
    ok &= server_rx->messages == 0;             /* (sc has no callbacks: fed for errors) */
    client_rx = zc_open(0, 0, 0);
    client_rx->cfg.role = WS_ROLE_CLIENT;
    client_rx->cfg.random = wire_random;
    client_rx->c._state = WS_STATE_OPEN;
    ws_inflate_init(&client_rx->z, client_rx->win, (size_t)1 << (dc.on ? dc.agreed.server_max_window_bits : 15));
    ok &= ws_conn_feed(&client_rx->c, sw.out.p, sw.out.len) == WS_OK && client_rx->messages == 4 &&
          same(&client_rx->got, want.p, want.len);
    free(client_rx->got.p); free(client_rx);
    free(server_rx->got.p); free(server_rx);
    free(cw.out.p); free(sw.out.p); free(want.p);
    return ok;
}

/* The client's check of a server's answer, through ws_conn_connected. */
static int client_answer(const ws_deflate_params *offer, const char *answer, ws_deflate_client *dc) {
    ws_config cfg;
    ws_conn c;
    wire w;
    ws_client_opts o;
    ws_http resp;
    static uint8_t win[32768];
    static ws_inflate zi;
    char acc[29], text[512];
    int r;
    memset(&cfg, 0, sizeof cfg); memset(&w, 0, sizeof w); memset(&o, 0, sizeof o);
    memset(dc, 0, sizeof *dc);
    cfg.role = WS_ROLE_CLIENT; cfg.send = wire_send; cfg.random = wire_random;
    ws_conn_init(&c, &cfg, &w);
    ws_inflate_init(&zi, win, sizeof win);
    dc->offer = *offer; dc->inflate = &zi;
    o.host = "h"; o.deflate = dc;
    if (ws_conn_connect(&c, &o) != WS_OK) return -100;
    ws_accept_key((const char *)c._ctrl, 24, acc);    /* the key: _ctrl while CONNECTING */
    snprintf(text, sizeof text, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s%s%s\r\n", acc,
             answer ? "Sec-WebSocket-Extensions: " : "", answer ? answer : "", answer ? "\r\n" : "");
    parse_head(&resp, text, 1);
    r = ws_conn_connected(&c, &resp);
    free(w.out.p);
    return r;
}

static void client_side(void) {
    static const struct { uint8_t sb, cb; bool snc, cnc; unsigned max; } offers[] = {
        {15, 15, false, false, 15}, {15, 15, false, false, 10}, {10, 15, false, false, 15},
        {9, 9, true, true, 15}, {8, 12, false, true, 9}, {15, 8, true, false, 15},
        {10, 10, true, true, 15},                   /* the longest offer: 128 bytes */
    };
    static const struct { const char *answer; int rc; int on; } answers[] = {
        {NULL, WS_OK, 0},
        {"permessage-deflate", WS_ERR_HS_EXTENSION, 0},           /* 15 > the 12 offered */
        {"permessage-deflate; server_no_context_takeover; server_max_window_bits=12; "
         "client_max_window_bits=10", WS_OK, 1},
        {"permessage-deflate; server_max_window_bits=10", WS_OK, 1},
        {"permessage-deflate; server_max_window_bits=13", WS_ERR_HS_EXTENSION, 0}, /* > offer 12 */
        {"permessage-deflate; client_max_window_bits", WS_ERR_HS_EXTENSION, 0},   /* no value */
        {"permessage-deflate; client_max_window_bits=16", WS_ERR_HS_EXTENSION, 0},
        {"permessage-deflate; foo", WS_ERR_HS_EXTENSION, 0},
        {"permessage-deflate; server_no_context_takeover; server_no_context_takeover",
         WS_ERR_HS_EXTENSION, 0},
        {"permessage-deflate, permessage-deflate", WS_ERR_HS_EXTENSION, 0},
        {"x-webkit-deflate-frame", WS_ERR_HS_EXTENSION, 0},
        {"permessage-deflate; server_max_window_bits=\"10\"", WS_OK, 1},
    };
    size_t i;
    for (i = 0; i < sizeof offers / sizeof offers[0]; i++) {
        ws_deflate_params p, agreed;
        char why[400];
        int ok;
        memset(&p, 0, sizeof p);
        memset(&agreed, 0, sizeof agreed);
        p.server_max_window_bits = offers[i].sb;
        p.client_max_window_bits = offers[i].cb;
        p.server_no_context_takeover = offers[i].snc;
        p.client_no_context_takeover = offers[i].cnc;
        ok = client_pair(&p, offers[i].max, why, sizeof why, &agreed);
        check(ok, "a ws.h client and server (decoder 2^%u): %s; windows %u/%u; 4 messages of "
              "10 B-300 kB each way, compressed from 200 B on, inflated by zlib and by ws.h",
              offers[i].max, why, agreed.server_max_window_bits, agreed.client_max_window_bits);
    }
    for (i = 0; i < sizeof answers / sizeof answers[0]; i++) {
        ws_deflate_params p;
        ws_deflate_client dc;
        int r;
        memset(&p, 0, sizeof p);
        p.server_max_window_bits = 12;
        p.client_max_window_bits = 15;
        r = client_answer(&p, answers[i].answer, &dc);
        check(r == answers[i].rc && dc.on == answers[i].on,
              "client offering server_max_window_bits=12, answer %s%s%s: %s, %s", answers[i].answer ? "\"" : "",
              answers[i].answer ? answers[i].answer : "without the extension", answers[i].answer ? "\"" : "",
              ws_strerror(r), dc.on ? "on" : "off");
    }
    /* bad options */
    {
        ws_deflate_params p = {15, 15, false, false};
        ws_deflate_client dc;
        ws_config cfg;
        ws_conn c;
        wire w;
        ws_client_opts o;
        int r1, r2, r3;
        static uint8_t win[1024];
        static ws_inflate zi;
        memset(&cfg, 0, sizeof cfg); memset(&w, 0, sizeof w); memset(&o, 0, sizeof o);
        memset(&dc, 0, sizeof dc);
        cfg.role = WS_ROLE_CLIENT; cfg.send = wire_send; cfg.random = wire_random;
        ws_conn_init(&c, &cfg, &w);
        dc.offer = p;
        o.host = "h"; o.deflate = &dc;
        r1 = ws_conn_connect(&c, &o);                       /* no decoder */
        ws_inflate_init(&zi, win, sizeof win);
        dc.inflate = &zi;
        o.extensions = "permessage-deflate";
        r2 = ws_conn_connect(&c, &o);                       /* and extensions too */
        o.extensions = NULL;
        dc.offer.server_max_window_bits = 7;
        r3 = ws_conn_connect(&c, &o);
        check(r1 == WS_ERR_ARG && r2 == WS_ERR_ARG && r3 == WS_ERR_ARG && w.out.len == 0,
              "ws_conn_connect with deflate: no decoder, extensions as well, a 2^7 window: "
              "WS_ERR_ARG, nothing sent");
        free(w.out.p);
    }
}

/* ---- the encoder ------------------------------------------------------------------ */

static void encoder(void) {
    static uint32_t table[1 << 14];             /* zeroed once, as the manual asks */
    static ws_deflate ed;                       /* zeroed: its scratch, the fixed codes unbuilt */
    int i, w;
    ed.table = table;
    ed.table_bits = 14;
    for (i = 0; i < ninputs; i++) {
        size_t n = inputs[i].len < 65536 ? inputs[i].len : 65536;
        int bad = 0, own_bad = 0;
        for (w = 8; w <= 15; w++) {
            size_t cap = ws_deflate_bound(n), len = 0;
            uint8_t *c = (uint8_t *)malloc(cap + 4);
            buf out, own;
            int r = ws_deflate_message(&ed, inputs[i].p, n, (unsigned)w, c, cap, &len);
            memcpy(c + len, "\0\0\xff\xff", 4);
            if (r != WS_OK || zinflate(c, len + 4, 15, &out, n + 16) < 0 || !same(&out, inputs[i].p, n))
                bad++;
            if (winflate(c, len + 4, (size_t)1 << w, 0, 0, &own, n + 16, NULL) == WS_ERR_INFLATE ||
                !same(&own, inputs[i].p, n))
                own_bad++;
            free(out.p);
            free(own.p);
            free(c);
        }
        check(bad == 0 && own_bad == 0, "%s (%zu bytes): compressed at windows 2^8-2^15, "
              "inflated by zlib and by ws.h to the input (%d, %d bad)", names[i], n, bad, own_bad);
    }
    /* adversarial data, at every window: long runs of one byte (matches at distance 1, of
       258), bytes drawn with halving odds (Huffman codes deeper than 15 bits before they are
       limited), a random block repeated just within and just beyond each window, text and
       random bytes in turns (blocks of each kind in one message), and a message of 200000
       bytes (several blocks, and stored ones of 65535) */
    {
        static const char *adv_names[] = {"one byte 70000 times", "halving odds",
                                          "a random block repeated", "text and random in turns",
                                          "200000 bytes of chat and random"};
        size_t an = 200000, k, ai;
        uint8_t *adv = (uint8_t *)malloc(an);
        for (ai = 0; ai < 5; ai++) {
            size_t n = 0;
            int bad = 0, own_bad = 0;
            if (ai == 0) { memset(adv, 'a', 70000); n = 70000; }
            if (ai == 1) {
                for (n = 0; n < 65536; n++) {
                    uint32_t r = rnd() | 0x80000000u;
                    unsigned b = 0;
                    while (!(r & 1)) { r >>= 1; b++; }
                    adv[n] = (uint8_t)(b * 7);
                }
            }
            if (ai == 2) {
                for (k = 0; k < 300; k++) adv[k] = (uint8_t)rnd();
                for (n = 300; n < 65536; n++) adv[n] = adv[n % 300];
                for (k = 0; k < 20000; k++) adv[40000 + k] = adv[k];     /* 40000 back */
            }
            if (ai == 3 || ai == 4) {
                for (n = 0; n < (ai == 3 ? 65536u : an); n++)
                    adv[n] = (n / 5000) % 2 ? (uint8_t)rnd() : inputs[3].p[n % inputs[3].len];
            }
            for (w = 8; w <= 15; w++) {
                size_t cap = ws_deflate_bound(n), len = 0;
                uint8_t *c = (uint8_t *)malloc(cap + 4);
                buf out, own;
                int r = ws_deflate_message(&ed, adv, n, (unsigned)w, c, cap, &len);
                memcpy(c + len, "\0\0\xff\xff", 4);
                if (r != WS_OK || zinflate(c, len + 4, w, &out, n + 16) < 0 || !same(&out, adv, n))
                    bad++;
                if (winflate(c, len + 4, (size_t)1 << w, 0, 0, &own, n + 16, NULL) == WS_ERR_INFLATE ||
                    !same(&own, adv, n))
                    own_bad++;
                free(out.p);
                free(own.p);
                free(c);
            }
            check(bad == 0 && own_bad == 0, "%s (%zu bytes): compressed at windows 2^8-2^15, "
                  "inflated by zlib (at the same window) and by ws.h to the input (%d, %d bad)",
                  adv_names[ai], n, bad, own_bad);
        }
        free(adv);
    }
    /* the code lengths: limited to 15 (literals, distances) and 7 (the code-length code)
       when the counts go as Fibonacci's numbers, and complete (Kraft's sum exactly 1) */
    {
        uint16_t f[286];
        uint8_t l[286];
        unsigned lim, k, worst = 0;
        int ok = 1;
        for (lim = 7; lim <= 15; lim += 8) {
            unsigned n = lim == 7 ? 19 : 286;
            uint32_t kraft = 0, a = 1, b2 = 1;
            for (k = 0; k < n; k++) {
                f[k] = (uint16_t)(k < 24 ? a : 1);
                if (k < 24) { uint32_t t = a + b2; a = b2; b2 = t; }
            }
            ws__ze_huff(&ed, f, n, lim, l);
            for (k = 0; k < n; k++) {
                if (!l[k] || l[k] > lim) ok = 0;
                if (l[k] > worst) worst = l[k];
                if (l[k]) kraft += 1u << (lim - l[k]);
            }
            if (kraft != 1u << lim) ok = 0;
        }
        check(ok, "Huffman code lengths for Fibonacci counts: within 15 and 7 bits, complete");
    }
    /* the ratio on chat traffic, beside zlib's levels 1 and 6 (a figure, and a floor) */
    {
        size_t n = inputs[3].len, len = 0, cap = ws_deflate_bound(n);
        uint8_t *c = (uint8_t *)malloc(cap);
        buf z1 = zdeflate(inputs[3].p, n, 1, 15, Z_DEFAULT_STRATEGY, Z_SYNC_FLUSH);
        buf z6 = zdeflate(inputs[3].p, n, 6, 15, Z_DEFAULT_STRATEGY, Z_SYNC_FLUSH);
        ws_deflate_message(&ed, inputs[3].p, n, 15, c, cap, &len);
        printf("    chat JSON, %zu bytes: ws.h %zu (%.1fx), zlib -1 %zu (%.1fx), zlib -6 %zu (%.1fx)\n",
               n, len, (double)n / len, z1.len, (double)n / z1.len, z6.len, (double)n / z6.len);
        check(len * 100 <= z1.len * 105, "chat JSON compresses within 5%% of zlib -1 or better "
              "(%.2fx, zlib -1 %.2fx)", (double)n / len, (double)n / z1.len);
        free(c); free(z1.p); free(z6.p);
    }
    /* short, empty and incompressible messages, and no room */
    {
        uint8_t c[64], big[1000];
        size_t len = 0, k;
        int ok = 1;
        for (k = 0; k <= 10; k++) {
            buf out;
            uint8_t m[10] = {'a', 'a', 'a', 'b', 'a', 'a', 'a', 'b', 'x', 'y'};
            ok &= ws_deflate_message(&ed, m, k, 15, c, sizeof c, &len) == WS_OK;
            memcpy(c + len, "\0\0\xff\xff", 4);
            ok &= zinflate(c, len + 4, 15, &out, 64) == 0 && same(&out, m, k);
            free(out.p);
        }
        check(ok, "messages of 0 to 10 bytes");
        for (k = 0; k < sizeof big; k++) big[k] = (uint8_t)rnd();
        check(ws_deflate_message(&ed, big, sizeof big, 15, c, sizeof c, &len) == WS_ERR_NOSPACE,
              "too small an output: WS_ERR_NOSPACE");
        ed.table_bits = 7;
        ok = ws_deflate_message(&ed, big, sizeof big, 15, c, sizeof c, &len) == WS_ERR_ARG;
        ed.table_bits = 14;
        check(ws_deflate_message(&ed, big, sizeof big, 16, c, sizeof c, &len) == WS_ERR_ARG && ok &&
              ws_deflate_message(NULL, big, sizeof big, 15, c, sizeof c, &len) == WS_ERR_ARG,
              "a 16-bit window, a 7-bit table or no ws_deflate: WS_ERR_ARG");
    }
    /* a compressed message through a connection: RSV1 only once a decoder was agreed */
    {
        zconn *z = zc_open(0, 0, 0);
        uint8_t c[64];
        size_t len = 0;
        ws_deflate_message(&ed, "hello hello hello", 17, 15, c, sizeof c, &len);
        check(ws_conn_send(&z->c, (ws_opcode)(WS_OP_TEXT | WS_RSV1), c, len) == WS_OK,
              "ws_conn_send with RSV1 once permessage-deflate was agreed");
        ws_conn_set_inflate(&z->c, NULL, false);
        check(ws_conn_send(&z->c, (ws_opcode)(WS_OP_TEXT | WS_RSV1), c, len) == WS_ERR_ARG,
              "and WS_ERR_ARG without it");
        free(z->got.p);
        free(z);
    }
}

int main(int argc, char **argv) {
    int i;
    make_inputs(argc > 1 ? argv[1] : NULL);
    against_zlib();
    zlib_8_bit_window();
    in_pieces();
    resets();
    sparse_dynamic();
    stored_and_distances();
    corrupt();
    mutations();
    bombs();
    negotiation();
    connection();
    encoder();
    sender();
    takeover();
    client_side();
    for (i = 0; i < ninputs; i++) free(inputs[i].p);
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
