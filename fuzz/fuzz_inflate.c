/* fuzz_inflate.c - ws.h's DEFLATE decoder and encoder (WS_DEFLATE) under the fuzzer.

   Input: byte 0 picks the window (2^(8 + b % 8)), byte 1 seeds the splits; the rest is a
   raw DEFLATE stream as a permessage-deflate peer sends it. Checked on every input:
   - the bomb limit: no call writes more than the room it was given, or takes more input
     than it was given; a call that returns WS_OK has taken all its input or filled its
     output; at most LIMIT bytes come out in all (the decoding stops there);
   - fed whole into one buffer, or in seeded pieces into seeded small buffers (1 to 300
     bytes), the decoder gives the same bytes and the same verdict (done, more needed, or
     WS_ERR_INFLATE with a reason), and an error is sticky; the pieces go to a decoder
     that first took a seeded part of the stream and was then ws_inflate_reset;
   - built with -DFZ_ZLIB (and -lz: the long runs of fuzz/README.md), zlib's inflate with
     the same window is the reference: whatever zlib decodes, ws.h decodes to the same
     bytes, and what zlib refuses, ws.h refuses (zlib is test-only; ws.h never uses it).
     zlib takes a distance beyond its window when the bytes are still in its output
     buffer, which ws.h refuses as permessage-deflate requires (then ws.h at 2^15 must go
     at least as far). One more difference is allowed: ws.h may refuse where zlib still
     waits for input (a
     dynamic block whose code-length code has no code at all: zlib reads every length as
     0 from it and refuses once they are in), when zlib refuses the stream followed by 64
     zero bytes and by 64 FF bytes alike;
   - the encoder: the input compressed with ws_deflate_message at the same window (the
     bytes within ws_deflate_bound), then inflated by ws.h, gives the input back;
   - the encoder with context taken over (a connection's ws_deflate_window, of the same
     window or another, its stream position seeded near 2^32): the input cut in three
     messages (seeded), compressed one after the other, inflated by one ws.h stream kept
     from message to message (and by zlib, with -DFZ_ZLIB), gives the input back. */
#define WS_DEFLATE
#define WS_STATIC                   /* a private copy, with WS_DEFLATE: the replay drivers */
#define WS_IMPLEMENTATION           /* link the other targets with one built without it */
#include "ws.h"
#include "fuzz.h"
#ifdef FZ_ZLIB
#  include <zlib.h>
#endif

#define LIMIT (1u << 20)       /* output decoded per input, at most */

static uint8_t window[1 << 15], window2[1 << 15], out1[LIMIT], out2[LIMIT];
static uint32_t table[1 << 12];
static ws_deflate zd;                   /* the encoder's scratch, zeroed */

typedef struct result { size_t len; int rc; const char *why; } result;

/* Decodes in[0..n-1] with a 2^bits window; pieces and room from seed (0: whole). */
static result decode(const uint8_t *in, size_t n, unsigned bits, unsigned seed, uint8_t *win,
                     uint8_t *out) {
    ws_inflate z;
    result r = {0, WS_OK, ""};
    size_t pos = 0;
    uint32_t s = seed * 2654435761u + 1;
    ws_inflate_init(&z, win, (size_t)1 << bits);
    if (seed) {
        /* first a seeded part of the same stream, then ws_inflate_reset: what that left
           (tables, a failure, history in the window) must change nothing that follows */
        size_t used = 0, made = 0, k = WS__MIN(n, (size_t)seed % 512);
        (void)ws_inflate_feed(&z, in, k, &used, out, LIMIT, &made);
        ws_inflate_reset(&z);
        CHECK(z.why && !z.why[0]);
    }
    for (;;) {
        size_t step = n - pos, room = LIMIT - r.len, used = 0, made = 0;
        if (seed) {
            s = s * 1103515245u + 12345u;
            step = WS__MIN(step, (size_t)(s >> 16) % 97);
            room = WS__MIN(room, 1 + (size_t)(s >> 8) % 300);
        }
        r.rc = ws_inflate_feed(&z, in + pos, step, &used, out + r.len, room, &made);
        CHECK(used <= step && made <= room);
        pos += used;
        r.len += made;
        if (r.rc == WS_ERR_INFLATE) {
            size_t u2 = 9, m2 = 9;
            CHECK(z.why && z.why[0]);
            r.why = z.why;
            CHECK(ws_inflate_feed(&z, in, n, &u2, out, 1, &m2) == WS_ERR_INFLATE && m2 == 0);
            return r;
        }
        CHECK(r.rc == WS_OK || r.rc == WS_INFLATE_END);
        if (r.rc == WS_OK) CHECK(used == step || made == room);
        if (r.rc == WS_INFLATE_END || r.len == LIMIT) return r;
        if (pos == n && used == step && made < room) return r;    /* wants more input */
    }
}

#ifdef FZ_ZLIB
/* zlib's inflate of the same stream: its output (up to LIMIT) and 1 done, 0 more needed,
   -1 refused. */
static int zdecode(const uint8_t *in, size_t n, unsigned bits, uint8_t *out, size_t *len) {
    z_stream zs;
    int r;
    memset(&zs, 0, sizeof zs);
    CHECK(inflateInit2(&zs, -(int)bits) == Z_OK);
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)n;
    zs.next_out = out;
    zs.avail_out = LIMIT;
    r = inflate(&zs, Z_SYNC_FLUSH);
    *len = LIMIT - zs.avail_out;
    inflateEnd(&zs);
    return r == Z_STREAM_END ? 1 : r == Z_OK || r == Z_BUF_ERROR ? 0 : -1;
}

/* zlib on the stream followed by 64 bytes of fill (a dynamic header's 316 lengths fit). */
static int zcontinue(const uint8_t *in, size_t n, unsigned bits, int fill) {
    static uint8_t more[70000];
    size_t len;
    if (n + 64 > sizeof more) return -1;
    memcpy(more, in, n);
    memset(more + n, fill, 64);
    return zdecode(more, n + 64, bits, out2, &len);
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    unsigned bits, seed;
    result a, b;
    if (size < 2) return 0;
    bits = 8 + data[0] % 8;
    seed = data[1] | 1u;
    data += 2;
    size -= 2;
    a = decode(data, size, bits, 0, window, out1);
    b = decode(data, size, bits, seed, window2, out2);
    /* the same verdict and bytes; pieces may stop earlier on an error only where the
       whole feed stopped too (both end at the first bad code) */
    CHECK(a.rc == b.rc);
    CHECK(a.len == b.len && memcmp(out1, out2, a.len) == 0);
#ifdef FZ_ZLIB
    if (bits >= 9) {            /* zlib's raw inflate takes 8 as 15, so no reference at 8 */
        size_t zl = 0;
        int zr = zdecode(data, size, bits, out2, &zl);
        if (zr >= 0 && a.rc == WS_ERR_INFLATE && !strcmp(a.why, "distance beyond the window")) {
            /* zlib measures distances against all the output it still holds, not its
               window: it takes one beyond 2^bits that ws.h rightly refuses (the peer agreed
               to that window). With a 2^15 window ws.h must then decode at least as far. */
            result w = decode(data, size, 15, 0, window2, out2);
            CHECK(w.len >= a.len && memcmp(out1, out2, a.len) == 0);
        } else if (zr < 0) {
            CHECK(a.rc == WS_ERR_INFLATE);
        } else if (zr == 0 && a.rc == WS_ERR_INFLATE) {
            /* ws.h refused where zlib waits for more: then no continuation may be valid
               (tried: 64 zero bytes and 64 FF bytes), and the bytes so far are the same */
            CHECK(zl == a.len && memcmp(out1, out2, zl) == 0);
            CHECK(zcontinue(data, size, bits, 0x00) < 0 && zcontinue(data, size, bits, 0xFF) < 0);
        } else if (a.len < LIMIT && zl < LIMIT) {
            CHECK(a.rc != WS_ERR_INFLATE);
            CHECK(zl == a.len && memcmp(out1, out2, zl) == 0);
            CHECK((zr == 1) == (a.rc == WS_INFLATE_END));
        }
    }
#endif
    /* the encoder, on the same bytes: back through ws.h's decoder with its 00 00 FF FF */
    if (size <= 65536) {
        static uint8_t comp[65536 + 65536 / 8 + 16 + 4];
        size_t clen = 0;
        zd.table = table;
        zd.table_bits = 12;
        CHECK(ws_deflate_message(&zd, data, size, bits, comp, ws_deflate_bound(size), &clen) ==
              WS_OK);
        CHECK(clen <= ws_deflate_bound(size));
        memcpy(comp + clen, "\0\0\xff\xff", 4);
        a = decode(comp, clen + 4, bits, seed, window, out1);
        CHECK(a.rc == WS_OK && a.len == size && memcmp(out1, data, size) == 0);
    }
    if (size <= 65536) {
        static uint8_t comp[65536 + 65536 / 8 + 3 * 20 + 64], ring[1 << 15];
        static uint32_t wtable[1 << 10];
        ws_deflate_window w;
        size_t cut[4], clen = 0, i;
        unsigned mbits = seed & 1 ? bits : 8 + seed % 8;
        cut[0] = 0;
        cut[1] = size * (seed % 16) / 16;
        cut[2] = cut[1] + (size - cut[1]) * (seed / 16) / 16;
        cut[3] = size;
        w.window = ring;
        w.table = wtable;
        w.window_bits = (uint8_t)mbits;
        w.table_bits = 10;
        w._pos = 0u - (uint32_t)seed * 97u;     /* across 2^32 */
        w._have = 0;
        for (i = 0; i < 3; i++) {
            size_t m = cut[i + 1] - cut[i];
            /* as a connection with its own window compresses (ws__z_chunk) */
            size_t k = ws__ze_run(&zd, &w, bits, data + cut[i], m, comp + clen, ws_deflate_bound(m));
            CHECK(k != 0 && k <= ws_deflate_bound(m));
            ws__ze_commit(&w, data + cut[i], m);
            memcpy(comp + clen + k, "\0\0\xff\xff", 4);
            clen += k + 4;
        }
        a = decode(comp, clen, bits, seed, window, out1);
        CHECK(a.rc == WS_OK && a.len == size && memcmp(out1, data, size) == 0);
#ifdef FZ_ZLIB
        {
            z_stream zs;
            memset(&zs, 0, sizeof zs);
            CHECK(inflateInit2(&zs, -(int)bits) == Z_OK);
            zs.next_in = comp;
            zs.avail_in = (uInt)clen;
            zs.next_out = out2;
            zs.avail_out = LIMIT;
            CHECK(inflate(&zs, Z_SYNC_FLUSH) != Z_DATA_ERROR);
            CHECK(LIMIT - zs.avail_out == size && memcmp(out2, data, size) == 0);
            inflateEnd(&zs);
        }
#endif
    }
    return 0;
}
