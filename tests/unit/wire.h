/* wire.h - the one decoder of the frames ws.h sends, shared by the unit harness
   (harness.c: sframes_parse, CHECK_CLOSE_SENT) and the fuzz targets (fuzz/fuzz.h: fz_wire,
   which reads every byte a fuzzed connection sends). Header-only: include it in one file.

   Bytes go in one at a time, split anywhere; each call says what the byte completed. Every
   frame is checked against RFC 6455 and what ws.h promises of its own output:
     - masked exactly when the sender is a client (or, with client = -1, all frames alike);
     - no RSV bit but those allowed (none unless an extension was agreed);
     - a known opcode; the length in its shortest form and under 2^63;
     - control frames final and at most 125 bytes;
     - a continuation only inside a fragmented message, a new message only outside one;
     - a close body empty, or a code a sender may use and a UTF-8 reason;
     - nothing at all after a close frame.
   The first violation stops the decoder: wire_byte returns WIRE_BAD from then on, and err
   says what it was and bad_at at which byte (0-based). UTF-8 is checked by wire_utf8, a
   plain reading of RFC 3629's table independent of ws.h (the fuzz targets use it too). */
#ifndef WIRE_H_INCLUDED
#define WIRE_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__) || defined(__clang__)
#define WIRE_FN static __attribute__((unused))
#else
#define WIRE_FN static
#endif

/* ---- UTF-8 ---------------------------------------------------------------------- */

/* *st holds the bytes still needed (bits 0-1) and the range of the next one (lo in bits
   8-15, hi in 16-23); start at 0. Returns how many bytes of p[0..n-1] are valid so far,
   like ws_utf8_validate; *st is 0 again at the end of a whole sequence. */
WIRE_FN size_t wire_utf8(uint32_t *st, const uint8_t *p, size_t n) {
    uint32_t need = *st & 3, lo = (*st >> 8) & 0xFF, hi = (*st >> 16) & 0xFF;
    size_t i;
    for (i = 0; i < n; i++) {
        unsigned b = p[i];
        if (need) {
            if (b < lo || b > hi) break;
            need--;
            lo = 0x80;
            hi = 0xBF;
            continue;
        }
        lo = 0x80;
        hi = 0xBF;
        if (b < 0x80) continue;
        else if (b >= 0xC2 && b <= 0xDF) need = 1;
        else if (b == 0xE0) need = 2, lo = 0xA0;
        else if (b == 0xED) need = 2, hi = 0x9F;
        else if (b >= 0xE1 && b <= 0xEF) need = 2;
        else if (b == 0xF0) need = 3, lo = 0x90;
        else if (b == 0xF4) need = 3, hi = 0x8F;
        else if (b >= 0xF1 && b <= 0xF3) need = 3;
        else break;
    }
    *st = need | lo << 8 | hi << 16;
    if (!need) *st = 0;
    return i;
}

WIRE_FN int wire_utf8_valid(const void *p, size_t n) {
    uint32_t st = 0;
    return wire_utf8(&st, (const uint8_t *)p, n) == n && st == 0;
}

/* ---- frames ----------------------------------------------------------------------- */

typedef struct wire_dec {
    /* set by wire_init */
    int      client;                /* 1: the sender is a client, every frame masked; 0: a
                                       server, none; -1: either, all alike */
    unsigned rsv_allowed;           /* RSV bits (0x70) the sender may set */
    /* the frame being read: its header is complete once WIRE_HEADER was returned */
    int      fin, masked;
    unsigned rsv, op;
    uint8_t  key[4];
    uint64_t len;                   /* payload length */
    uint64_t pos;                   /* payload bytes of it read so far */
    uint8_t  ctrl[125];             /* a control frame's payload, unmasked */
    size_t   clen;
    /* the stream so far */
    int      frag;                  /* a fragmented data message is open */
    int      closed;                /* a close frame went out */
    unsigned close_code;            /* its code (1005 when empty) */
    uint64_t frames, bytes;         /* whole frames, bytes read */
    const char *err;                /* the first violation, NULL while none */
    uint64_t bad_at;                /* ... at this byte */
    /* private */
    uint8_t  hdr[14];
    size_t   hlen;
    int      in_payload;
} wire_dec;

/* What wire_byte says a byte did, or-ed together. */
enum {
    WIRE_MORE = 0,                  /* nothing complete yet */
    WIRE_HEADER = 1,                /* it completed a header: fin ... len are set */
    WIRE_BYTE = 2,                  /* it is a payload byte: *out holds it unmasked */
    WIRE_END = 4,                   /* it completed a frame (with WIRE_HEADER when empty) */
    WIRE_BAD = 8                    /* a violation, now or before: see err */
};

WIRE_FN void wire_init(wire_dec *w, int client, unsigned rsv_allowed) {
    memset(w, 0, sizeof *w);
    w->client = client;
    w->rsv_allowed = rsv_allowed;
}

/* Bytes of the frame being read that are still to come (0 between frames). */
WIRE_FN uint64_t wire_owed(const wire_dec *w) {
    return w->in_payload ? w->len - w->pos : 0;
}

WIRE_FN int wire_bad(wire_dec *w, const char *why) {
    w->err = why;
    w->bad_at = w->bytes - 1;
    return WIRE_BAD;
}

WIRE_FN int wire__frame_end(wire_dec *w, int ev) {
    w->frames++;
    w->in_payload = 0;
    w->hlen = 0;
    if (w->op == 8) {   /* close */
        w->closed = 1;
        w->close_code = 1005;
        if (w->clen == 1) return wire_bad(w, "a close body of 1 byte");
        if (w->clen >= 2) {
            unsigned c = (unsigned)w->ctrl[0] << 8 | w->ctrl[1];
            w->close_code = c;
            if (!((c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) ||
                  (c >= 3000 && c <= 4999)))
                return wire_bad(w, "a close code no endpoint may send");
            if (!wire_utf8_valid(w->ctrl + 2, w->clen - 2))
                return wire_bad(w, "a close reason that is not UTF-8");
        }
    }
    return ev | WIRE_END;
}

WIRE_FN int wire__header(wire_dec *w) {
    const uint8_t *h = w->hdr;
    unsigned l7 = h[1] & 0x7Fu;
    size_t n = 2;
    uint64_t len = l7;
    w->fin = (h[0] & 0x80) != 0;
    w->rsv = h[0] & 0x70u;
    w->op = h[0] & 0x0Fu;
    w->masked = (h[1] & 0x80) != 0;
    if (w->rsv & ~w->rsv_allowed) return wire_bad(w, "an RSV bit no extension allows");
    if (!(w->op <= 2 || (w->op >= 8 && w->op <= 10))) return wire_bad(w, "a reserved opcode");
    if (w->client < 0) w->client = w->masked;
    if (w->masked != w->client)
        return wire_bad(w, w->client ? "an unmasked frame from a client"
                                     : "a masked frame from a server");
    if (l7 == 126) {
        len = (uint64_t)h[2] << 8 | h[3];
        if (len < 126) return wire_bad(w, "a 16-bit length under 126 (not the shortest)");
        n = 4;
    } else if (l7 == 127) {
        int i;
        for (len = 0, i = 0; i < 8; i++) len = len << 8 | h[2 + i];
        if (len >> 63) return wire_bad(w, "a length of 2^63 or more");
        if (len <= 0xFFFF) return wire_bad(w, "a 64-bit length under 65536 (not the shortest)");
        n = 10;
    }
    if (w->masked) memcpy(w->key, h + n, 4);
    if (w->op >= 8) {
        if (!w->fin) return wire_bad(w, "a fragmented control frame");
        if (len > 125) return wire_bad(w, "a control frame over 125 bytes");
        w->clen = 0;
    } else if (w->op == 0) {
        if (!w->frag) return wire_bad(w, "a continuation outside a fragmented message");
        w->frag = !w->fin;
    } else {
        if (w->frag) return wire_bad(w, "a new message inside a fragmented one");
        w->frag = !w->fin;
    }
    w->len = len;
    w->pos = 0;
    w->in_payload = 1;
    return len ? WIRE_HEADER : wire__frame_end(w, WIRE_HEADER);
}

/* Reads byte b. Returns what it completed (WIRE_*); *out (may be NULL) gets a payload byte
   unmasked. A control frame's payload is also kept in ctrl/clen. */
WIRE_FN int wire_byte(wire_dec *w, uint8_t b, uint8_t *out) {
    if (w->err) return WIRE_BAD;
    w->bytes++;
    if (w->closed) return wire_bad(w, "bytes after a close frame");
    if (!w->in_payload) {
        size_t need;
        w->hdr[w->hlen++] = b;
        if (w->hlen < 2) return WIRE_MORE;
        need = 2 + ((w->hdr[1] & 0x7F) == 126 ? 2 : (w->hdr[1] & 0x7F) == 127 ? 8 : 0) +
               (w->hdr[1] & 0x80 ? 4 : 0);
        return w->hlen == need ? wire__header(w) : WIRE_MORE;
    }
    if (w->masked) b ^= w->key[w->pos & 3];
    w->pos++;
    if (out) *out = b;
    if (w->op >= 8) w->ctrl[w->clen++] = b;
    return w->pos == w->len ? wire__frame_end(w, WIRE_BYTE) : WIRE_BYTE;
}

#endif /* WIRE_H_INCLUDED */
