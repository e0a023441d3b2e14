/* bench_deflate.c - ws.h's permessage-deflate codec (WS_DEFLATE) beside zlib, in memory.

   make bench-deflate   (needs zlib1g-dev: zlib is the peer measured here, never used by ws.h)
   Prints one table: for each input (chat JSON, the seeds' Chinese text when ../shared/seeds
   is there, random bytes), the compression ratio and MB/s of ws.h's encoder and of zlib at
   levels 1 and 6, as permessage-deflate uses them (raw DEFLATE, a 2^15 window, a sync flush
   per message), for whole 64 KiB messages and for chat-sized messages one by one (a fresh
   encoder state per message, as no_context_takeover has it: zlib's deflateReset); then
   the decoder's MB/s (of output) on zlib -6's stream, ws.h against zlib's inflate.
   MB/s are of the uncompressed bytes, best of 5 runs of at least 0.2 s each. */
#define _POSIX_C_SOURCE 200809L
#define WS_DEFLATE
#define WS_IMPLEMENTATION
#include "ws.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct input { const char *name; uint8_t *p; size_t n; size_t msg; } input;

static uint32_t table[1 << 14];
static uint8_t *cbuf, *obuf, window[1 << 15];
static size_t clen_sum;

/* ws.h: each message alone (its only mode) */
static void enc_ws(const input *in) {
    size_t off, len;
    clen_sum = 0;
    for (off = 0; off < in->n; off += in->msg) {
        size_t m = in->n - off < in->msg ? in->n - off : in->msg;
        if (ws_deflate_message(in->p + off, m, 15, table, 14, cbuf, ws_deflate_bound(m), &len) != WS_OK)
            exit(3);
        clen_sum += len;
    }
}

static z_stream zs;
static int zlevel;
static void enc_zlib(const input *in) {
    size_t off;
    clen_sum = 0;
    for (off = 0; off < in->n; off += in->msg) {
        size_t m = in->n - off < in->msg ? in->n - off : in->msg;
        deflateReset(&zs);
        zs.next_in = in->p + off;
        zs.avail_in = (uInt)m;
        zs.next_out = cbuf;
        zs.avail_out = (uInt)(2 * m + 64);
        deflate(&zs, Z_SYNC_FLUSH);
        clen_sum += (2 * m + 64) - zs.avail_out - 4;
    }
}

/* the decoders, on one stream (zlib -6 of the whole input, sync flushed) */
static uint8_t *stream;
static size_t stream_len;
static void dec_ws(const input *in) {
    ws_inflate z;
    size_t used, made;
    ws_inflate_init(&z, window, sizeof window);
    if (ws_inflate_feed(&z, stream, stream_len, &used, obuf, in->n + 64, &made) < 0 || made != in->n)
        exit(4);
}
static void dec_zlib(const input *in) {
    z_stream d;
    memset(&d, 0, sizeof d);
    inflateInit2(&d, -15);
    d.next_in = stream;
    d.avail_in = (uInt)stream_len;
    d.next_out = obuf;
    d.avail_out = (uInt)(in->n + 64);
    inflate(&d, Z_SYNC_FLUSH);
    if (in->n + 64 - d.avail_out != in->n) exit(5);
    inflateEnd(&d);
}

static double mbs(void (*f)(const input *), const input *in) {
    double best = 0;
    int r;
    for (r = 0; r < 5; r++) {
        double t0 = now(), t;
        long k = 0;
        do { f(in); k++; } while ((t = now() - t0) < 0.2);
        if ((double)in->n * (double)k / t / 1e6 > best) best = (double)in->n * (double)k / t / 1e6;
    }
    return best;
}

static uint8_t *read_seeds(const char *dir, size_t *n) {
    DIR *d = opendir(dir);
    struct dirent *e;
    uint8_t *p = NULL;
    *n = 0;
    if (!d) return NULL;
    while ((e = readdir(d)) != NULL && *n < (1u << 20)) {
        char path[1024];
        FILE *f;
        long len;
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (!(f = fopen(path, "rb"))) continue;
        if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
            p = (uint8_t *)realloc(p, *n + (size_t)len);
            *n += fread(p + *n, 1, (size_t)len, f);
        }
        fclose(f);
    }
    closedir(d);
    return p;
}

int main(int argc, char **argv) {
    input ins[8];
    int ni = 0, i, k;
    size_t n = 1u << 20, j, sn = 0;
    uint8_t *chat = (uint8_t *)malloc(n), *rnd = (uint8_t *)malloc(n), *seeds;
    uint64_t s = 88172645463325252ull;
    for (j = 0; j < n;) {                              /* chat traffic, ~120 bytes a message */
        char m[256];
        int len = snprintf(m, sizeof m, "{\"type\":\"message\",\"room\":\"lobby\",\"user\":\"user%u\","
                           "\"text\":\"message %zu, hello everyone\",\"ts\":%zu}",
                           (unsigned)(j / 97 % 13), j / 120, 1733100000 + j / 120);
        for (k = 0; k < len && j < n; k++) chat[j++] = (uint8_t)m[k];
    }
    for (j = 0; j < n; j++) { s ^= s << 13; s ^= s >> 7; s ^= s << 17; rnd[j] = (uint8_t)s; }
    seeds = read_seeds(argc > 1 ? argv[1] : "../shared/seeds", &sn);
    ins[ni++] = (input){"chat JSON, 64 KiB messages", chat, n, 65536};
    ins[ni++] = (input){"chat JSON, 120-byte messages", chat, n, 120};
    if (seeds && sn >= 16384) ins[ni++] = (input){"seeds' text, 64 KiB messages", seeds, sn, 65536};
    ins[ni++] = (input){"random bytes, 64 KiB messages", rnd, n, 65536};
    cbuf = (uint8_t *)malloc(2 * n + 64);
    obuf = (uint8_t *)malloc(2 * n + 64);
    printf("%-32s %9s %9s %9s | %8s %8s %8s | %9s %9s\n", "input (encoder ratio, MB/s)", "ws.h", "zlib -1",
           "zlib -6", "ws.h", "zlib -1", "zlib -6", "inflate", "zlib inf");
    for (i = 0; i < ni; i++) {
        double r[3], v[3], di = 0, dz = 0;
        v[0] = mbs(enc_ws, &ins[i]);
        r[0] = (double)ins[i].n / (double)clen_sum;
        for (k = 1; k <= 2; k++) {
            memset(&zs, 0, sizeof zs);
            zlevel = k == 1 ? 1 : 6;
            deflateInit2(&zs, zlevel, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
            v[k] = mbs(enc_zlib, &ins[i]);
            r[k] = (double)ins[i].n / (double)clen_sum;
            deflateEnd(&zs);
        }
        if (ins[i].msg == 65536) {                     /* the decoders, on zlib -6's stream */
            z_stream e;
            memset(&e, 0, sizeof e);
            deflateInit2(&e, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
            stream = (uint8_t *)malloc(deflateBound(&e, ins[i].n) + 64);
            e.next_in = ins[i].p;
            e.avail_in = (uInt)ins[i].n;
            e.next_out = stream;
            e.avail_out = (uInt)(deflateBound(&e, ins[i].n) + 64);
            deflate(&e, Z_SYNC_FLUSH);
            stream_len = (size_t)(e.next_out - stream);
            deflateEnd(&e);
            di = mbs(dec_ws, &ins[i]);
            dz = mbs(dec_zlib, &ins[i]);
            free(stream);
        }
        printf("%-32s %8.1fx %8.1fx %8.1fx | %8.0f %8.0f %8.0f |", ins[i].name, r[0], r[1], r[2],
               v[0], v[1], v[2]);
        if (di > 0) printf(" %9.0f %9.0f\n", di, dz); else printf(" %9s %9s\n", "-", "-");
    }
    printf("# MB/s of uncompressed bytes, best of 5; zlib %s; one core of this machine\n", zlibVersion());
    return 0;
}
