/* bench_deflate.c - ws.h's permessage-deflate codec (WS_DEFLATE) beside zlib, in memory.

   make bench-deflate   (needs zlib1g-dev: zlib is the peer measured here, never used by ws.h)
   Prints one table: for each input (chat JSON, the seeds' Chinese text when ../shared/seeds
   is there, random bytes), the compression ratio and MB/s of ws.h's encoder and of zlib at
   levels 1 and 6, as permessage-deflate uses them (raw DEFLATE, a 2^15 window, a sync flush
   per message), for whole 64 KiB messages and for chat-sized messages one by one (a fresh
   encoder state per message, as no_context_takeover has it: zlib's deflateReset), and
   chat-sized messages with context taken over (ws.h with a connection's own 32 KiB window
   and 2^10 table, ws_deflate_window; zlib's stream kept from message to message).
   MB/s are of the uncompressed bytes, best of 5 runs of at least 0.2 s each, in this
   process's CPU time (one thread: what a shared, loaded machine still measures fairly).
   Then a second table, the decoders: ws.h's ws_inflate_feed against zlib's inflate on
   streams zlib -6 made, as permessage-deflate sends them (a sync flush per message), MB/s
   of output, the median of 7 runs of at least 0.2 s each, and their ratio in this run:
   one call for a whole input; chat-sized messages fed one by one (with context takeover:
   one stream; without: each message alone, the decoder reset between them, ws_inflate_reset
   as ws_conn does and inflateReset); Autobahn 12.*'s sizes (16 B to 128 KiB, 10 messages
   of each, context taken over) of chat JSON, random bytes and zeros. The load average is
   printed before and after. */
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

/* the encoders' clock: this process's CPU time */
static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct input { const char *name; uint8_t *p; size_t n; size_t msg; int keep; } input;

static uint32_t table[1 << 14];
static ws_deflate zd = {.table = table, .table_bits = 14};  /* the encoder's scratch */
static uint8_t *cbuf, *obuf, window[1 << 15];
static size_t clen_sum;

/* ws.h: each message alone, or (keep) with context taken over, as a connection given a
   ws_deflate_window compresses (its internals called directly: no frames) */
static uint8_t ring[1 << 15];
static uint32_t wtable[1 << 10];
static void enc_ws(const input *in) {
    size_t off, len;
    ws_deflate_window w = {.window = ring, .table = wtable, .window_bits = 15, .table_bits = 10};
    clen_sum = 0;
    for (off = 0; in->keep && off < in->n; off += in->msg) {
        size_t m = in->n - off < in->msg ? in->n - off : in->msg;
        if (!(len = ws__ze_run(&zd, &w, 15, in->p + off, m, cbuf, ws_deflate_bound(m)))) exit(3);
        ws__ze_commit(&w, in->p + off, m);
        clen_sum += len;
    }
    for (off = 0; !in->keep && off < in->n; off += in->msg) {
        size_t m = in->n - off < in->msg ? in->n - off : in->msg;
        if (ws_deflate_message(&zd, in->p + off, m, 15, cbuf, ws_deflate_bound(m), &len) != WS_OK)
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
        if (!in->keep || off == 0) deflateReset(&zs);
        zs.next_in = in->p + off;
        zs.avail_in = (uInt)m;
        zs.next_out = cbuf;
        zs.avail_out = (uInt)(2 * m + 64);
        deflate(&zs, Z_SYNC_FLUSH);
        clen_sum += (2 * m + 64) - zs.avail_out - 4;
    }
}

/* the decoders, on a stream of messages (zlib -6, a sync flush after each; msg[i] is where
   message i's compressed bytes begin, nmsg of them), fed one message a call (reset: each
   message is a stream of its own) into the output */
static uint8_t *stream;
static size_t stream_len, *msg, nmsg;
static int reset;
static void dec_ws(const input *in) {
    static ws_inflate z;
    size_t used, made, i, got = 0;
    ws_inflate_init(&z, window, sizeof window);
    for (i = 0; i < nmsg; i++) {
        size_t a = msg[i], b = i + 1 < nmsg ? msg[i + 1] : stream_len;
        if (reset && i) ws_inflate_reset(&z);
        if (ws_inflate_feed(&z, stream + a, b - a, &used, obuf + got, in->n + 64 - got, &made) < 0 ||
            used != b - a)
            exit(4);
        got += made;
    }
    if (got != in->n) exit(4);
}
static void dec_zlib(const input *in) {
    static z_stream d;
    static int init;
    size_t i;
    if (!init) { inflateInit2(&d, -15); init = 1; } else inflateReset(&d);
    d.next_out = obuf;
    d.avail_out = (uInt)(in->n + 64);
    for (i = 0; i < nmsg; i++) {
        size_t a = msg[i], b = i + 1 < nmsg ? msg[i + 1] : stream_len;
        if (reset && i) inflateReset(&d);
        d.next_in = stream + a;
        d.avail_in = (uInt)(b - a);
        if (inflate(&d, Z_SYNC_FLUSH) < 0 || d.avail_in) exit(5);
    }
    if (in->n + 64 - d.avail_out != in->n) exit(5);
}

/* stream, msg and nmsg for in: messages of in->msg bytes, or of the sizes sizes[] (each
   `times` times, over and over) when sizes is not NULL */
static void make_stream(const input *in, const size_t *sizes, size_t nsizes, int times) {
    z_stream e;
    size_t off = 0, cap = in->n + in->n / 8 + 4096, k = 0;
    memset(&e, 0, sizeof e);
    deflateInit2(&e, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
    stream = (uint8_t *)malloc(cap);
    msg = (size_t *)malloc(sizeof *msg * (in->n + 1));
    nmsg = 0;
    e.next_out = stream;
    e.avail_out = (uInt)cap;
    while (off < in->n) {
        size_t m = sizes ? sizes[k / (size_t)times % nsizes] : in->msg;
        if (m > in->n - off) m = in->n - off;
        k++;
        if (reset) deflateReset(&e);
        msg[nmsg++] = (size_t)(e.next_out - stream);
        e.next_in = in->p + off;
        e.avail_in = (uInt)m;
        if (deflate(&e, Z_SYNC_FLUSH) != Z_OK || e.avail_in) exit(6);
        off += m;
    }
    stream_len = (size_t)(e.next_out - stream);
    deflateEnd(&e);
}

static double median(void (*f)(const input *), const input *in) {
    double v[7], t;
    int r, i;
    for (r = 0; r < 7; r++) {
        double t0 = now();
        long k = 0;
        do { f(in); k++; } while ((t = now() - t0) < 0.2);
        v[r] = (double)in->n * (double)k / t / 1e6;
        for (i = r; i > 0 && v[i - 1] > v[i]; i--) { t = v[i]; v[i] = v[i - 1]; v[i - 1] = t; }
    }
    return v[3];
}

static void loadavg(const char *when) {
    FILE *f = fopen("/proc/loadavg", "r");
    char line[128];
    if (f && fgets(line, sizeof line, f)) printf("# load average %s: %s", when, line);
    if (f) fclose(f);
}

static double mbs(void (*f)(const input *), const input *in) {
    double best = 0;
    int r;
    for (r = 0; r < 5; r++) {
        double t0 = cpu_now(), t;
        long k = 0;
        do { f(in); k++; } while ((t = cpu_now() - t0) < 0.2);
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
    uint8_t *zeros = (uint8_t *)calloc(n, 1);
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
    ins[ni++] = (input){"chat JSON, 64 KiB messages", chat, n, 65536, 0};
    ins[ni++] = (input){"chat JSON, 120-byte messages", chat, n, 120, 0};
    ins[ni++] = (input){"the same, context taken over", chat, n, 120, 1};
    if (seeds && sn >= 16384) ins[ni++] = (input){"seeds' text, 64 KiB messages", seeds, sn, 65536, 0};
    ins[ni++] = (input){"random bytes, 64 KiB messages", rnd, n, 65536, 0};
    cbuf = (uint8_t *)malloc(2 * n + 64);
    obuf = (uint8_t *)malloc(2 * n + 64);
    loadavg("before");
    printf("%-32s %9s %9s %9s | %8s %8s %8s\n", "input (encoder ratio, MB/s)", "ws.h", "zlib -1",
           "zlib -6", "ws.h", "zlib -1", "zlib -6");
    for (i = 0; i < ni; i++) {
        double r[3], v[3];
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
        printf("%-32s %8.1fx %8.1fx %8.1fx | %8.0f %8.0f %8.0f\n", ins[i].name, r[0], r[1], r[2],
               v[0], v[1], v[2]);
    }
    printf("# MB/s of uncompressed bytes (CPU time), best of 5; zlib %s; one core of this machine\n\n", zlibVersion());
    printf("%-46s %8s %8s %6s\n", "decoder, on zlib -6's stream (MB/s of output)", "ws.h", "zlib", "ratio");
    for (i = 0; i < ni + 4; i++) {
        static const size_t ab[8] = { 16, 64, 256, 1024, 4096, 16384, 65536, 131072 };
        static const char *abn[3] = { "chat JSON", "random bytes", "zeros" };
        const input *in = &ins[i < ni ? i : 0];
        input abin;
        char name[64];
        double dw, dz;
        reset = 0;
        if (i < ni) {
            snprintf(name, sizeof name, "%s%s", in->name, in->msg < 65536 ? ", context kept" : "");
            make_stream(in, NULL, 0, 1);
        } else if (i == ni) {                          /* chat-sized, each message alone */
            in = &ins[1];
            reset = 1;
            snprintf(name, sizeof name, "%s, each alone", in->name);
            make_stream(in, NULL, 0, 1);
        } else {                                       /* Autobahn 12.*'s sizes */
            abin = (input){abn[i - ni - 1], i == ni + 1 ? chat : i == ni + 2 ? rnd : zeros, n, 0, 0};
            snprintf(name, sizeof name, "Autobahn 12.* sizes x 10, %s", abin.name);
            in = &abin;
            make_stream(in, ab, 8, 10);
        }
        dw = median(dec_ws, in);
        dz = median(dec_zlib, in);
        printf("%-46s %8.0f %8.0f %5.2fx\n", name, dw, dz, dw / dz);
        free(stream);
        free(msg);
    }
    printf("# median of 7; ratio: ws.h / zlib in this run; zlib %s; one core\n", zlibVersion());
    loadavg("after");
    return 0;
}
