/* bench_mem.c - ws.h's receive and send paths in memory, beside memcpy and wslay.

   Receive: 1 MiB of masked client frames (binary, ASCII text, mixed CJK text) is fed to a
   server ws_conn in 64 KiB pieces, as recv() would hand it over: parse, unmask in place,
   validate UTF-8, deliver through on_data. The same frames go through wslay's frame parser
   (wslay_frame_recv: parse and unmask, no UTF-8 check) and its event API (wslay_event_recv:
   whole messages, UTF-8 checked), in the same run. Unmasking writes over the input, so the
   masked bytes are copied back between passes, outside the timed part.
   Send: frames of each size encoded by a server ws_conn (header + payload handed to the
   send callback, which copies them to an output buffer as an echo server's queue would), by
   a client ws_conn (masked), by ws_frame_encode (masked, into a buffer), and by wslay_frame_send.
   UTF-8: ws_utf8_valid over 1 MiB of ASCII, CJK, emoji and mixed text.
   Paths: 64 KiB frames of CJK and mixed text received on each fast path the CPU has (SSE2,
   SSSE3, AVX2; ws.h's own choice is the widest), fused (unmasked and checked in one pass,
   as ws_conn_feed does) beside unfused (ws_mask, then ws_utf8_validate, 64 KiB at a time),
   as a fraction of 64 KiB binary frames received in the same run. The portable code's
   figures: build with -DWS_NO_SIMD.
   Every figure is the median of many timed passes; memcpy of the same bytes is the ceiling.

   Build:  make bench        (or: cc -std=c99 -O2 -I. bench/bench_mem.c -lwslay -o build/bench_mem)
   Run:    build/bench_mem [seconds per case, default 0.2] [--csv FILE]
*/
#define _POSIX_C_SOURCE 200809L
#define WS_IMPLEMENTATION
/* the fast path ws.h takes: 0 the widest this CPU has, else 1 SSE2, 2 SSSE3, 3 AVX2 */
static unsigned bench_simd;
#define WS__SIMD() (bench_simd ? bench_simd : ws__simd_level())
#include "ws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wslay/wslay.h>

enum { AREA = 1 << 20, FEED = 64 * 1024, MAX_PASSES = 4096 };

static double budget = 0.2;         /* seconds of timed passes per case */
static FILE *csv;                   /* results, one line per figure, for the chart */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Runs pass() (prepare() first, untimed) until budget seconds of passes were timed;
   returns the median seconds per pass. */
static double measure(void (*prepare)(void), void (*pass)(void)) {
    static double t[MAX_PASSES];
    double spent = 0;
    int n = 0;
    while (n < MAX_PASSES && (spent < budget || n < 5)) {
        double t0;
        if (prepare) prepare();
        t0 = now_s();
        pass();
        t[n] = now_s() - t0;
        spent += t[n++];
    }
    qsort(t, (size_t)n, sizeof t[0], cmp_double);
    return t[n / 2];
}

static void die(const char *what) {
    fprintf(stderr, "bench_mem: %s\n", what);
    exit(1);
}

/* ---- test data --------------------------------------------------------------------- */

static const char *const text_kind[] = {
    "ASCII", "CJK", "emoji", "mixed",
};
static const char *const text_sample[] = {
    "The quick brown fox jumps over the lazy dog; WebSocket frames carry it. ",
    "\xe7\xbd\x91\xe7\xbb\x9c\xe5\xa5\x97\xe6\x8e\xa5\xe5\xad\x97\xe5\x8d\x8f\xe8\xae\xae"
    "\xe6\x8f\x90\xe4\xbe\x9b\xe5\x85\xa8\xe5\x8f\x8c\xe5\xb7\xa5\xe9\x80\x9a\xe4\xbf\xa1"
    "\xe3\x80\x82",                                         /* 网络套接字协议提供全双工通信。 */
    "\xf0\x9f\x98\x80\xf0\x9f\x9a\x80\xf0\x9f\x8c\x8d\xf0\x9f\x8e\x89",      /* 😀🚀🌍🎉 */
    "WebSocket \xe5\x8d\x8f\xe8\xae\xae (RFC 6455) \xe3\x82\xa6\xe3\x82\xa7\xe3\x83\x96"
    "\xe3\x82\xbd\xe3\x82\xb1\xe3\x83\x83\xe3\x83\x88, \xec\x9b\xb9\xec\x86\x8c\xec\xbc\x93"
    " ok \xf0\x9f\x98\x80 caf\xc3\xa9. ",   /* WebSocket 协议 (RFC 6455) ウェブソケット, 웹소켓 ok 😀 café. */
};
enum { T_ASCII, T_CJK, T_EMOJI, T_MIXED, T_BINARY = -1 };

/* Fills out[0..n-1] with valid UTF-8 made of whole characters of the sample, padded with
   spaces; kind T_BINARY gives pseudo-random bytes. */
static void fill(uint8_t *out, size_t n, int kind, uint32_t seed) {
    size_t i = 0;
    if (kind == T_BINARY) {
        for (; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            out[i] = (uint8_t)(seed >> 23);
        }
        return;
    }
    const uint8_t *s = (const uint8_t *)text_sample[kind];
    size_t slen = strlen(text_sample[kind]), j = seed % slen;
    while (j > 0 && (s[j] & 0xC0) == 0x80) j--;             /* start on a character */
    while (i < n) {
        size_t clen = s[j] < 0x80 ? 1 : s[j] < 0xE0 ? 2 : s[j] < 0xF0 ? 3 : 4;
        if (clen > n - i) { out[i++] = ' '; continue; }
        memcpy(out + i, s + j, clen);
        i += clen;
        j = (j + clen) % slen;
    }
}

/* Frames of `size` payload bytes, masked when key != NULL, back to back in out[0..AREA):
   returns the wire bytes, and the frame count in *frames. */
static size_t make_frames(uint8_t *out, size_t size, int kind, const uint8_t *key,
                          size_t *frames) {
    static uint8_t payload[1 << 17];
    size_t at = 0, n = 0, len;
    for (;;) {
        fill(payload, size, kind, (uint32_t)n * 7919u);
        if (ws_frame_encode(out + at, AREA - at, &len, true,
                            kind == T_BINARY ? WS_OP_BINARY : WS_OP_TEXT,
                            payload, size, key) != WS_OK)
            break;
        at += len;
        n++;
    }
    *frames = n;
    return at;
}

/* ---- receive ----------------------------------------------------------------------- */

static uint8_t *pristine, *work;    /* the masked frames, and the copy a pass consumes */
static size_t wire_len, wire_frames, wire_payload;
static size_t got_frames, got_bytes;

static void restore(void) { memcpy(work, pristine, wire_len); }

static int ws_send_discard(ws_conn *c, const ws_buf *b, size_t n) {
    (void)c; (void)b; (void)n;
    return 0;
}
static void ws_on_begin(ws_conn *c, ws_opcode op, uint64_t size) {
    (void)c; (void)op; (void)size;
    got_frames++;
}
static void ws_on_data(ws_conn *c, const void *data, size_t len) {
    (void)c; (void)data;
    got_bytes += len;
}

static ws_config rx_cfg;
static ws_conn rx_conn;

static void pass_ws_recv(void) {
    size_t at;
    got_frames = got_bytes = 0;
    for (at = 0; at < wire_len; at += FEED) {
        size_t n = wire_len - at < FEED ? wire_len - at : FEED;
        if (ws_conn_feed(&rx_conn, work + at, n) != WS_OK) die("ws_conn_feed failed");
    }
}

/* wslay reads through a callback into its own 4 KiB buffer */
static size_t wslay_pos;
static ssize_t wslay_frame_read(uint8_t *buf, size_t len, int flags, void *user) {
    size_t n = wire_len - wslay_pos;
    (void)flags; (void)user;
    if (n > len) n = len;
    memcpy(buf, work + wslay_pos, n);
    wslay_pos += n;
    return (ssize_t)n;
}
static ssize_t wslay_frame_write(const uint8_t *data, size_t len, int flags, void *user);
static int wslay_frame_mask(uint8_t *buf, size_t len, void *user) {
    (void)user;
    memset(buf, 0x5A, len);
    return 0;
}

static wslay_frame_context_ptr wf;

static void pass_wslay_frame(void) {
    struct wslay_frame_iocb io;
    uint64_t in_frame = 0;
    ssize_t r;
    wslay_pos = 0;
    got_frames = got_bytes = 0;
    while ((r = wslay_frame_recv(wf, &io)) >= 0) {
        got_bytes += (size_t)r;
        in_frame += (uint64_t)r;
        if (in_frame == io.payload_length) {
            got_frames++;
            in_frame = 0;
        }
    }
    if (r != WSLAY_ERR_WANT_READ) die("wslay_frame_recv failed");
}

static wslay_event_context_ptr we;

static ssize_t wslay_ev_read(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                             void *user) {
    size_t n = wire_len - wslay_pos;
    (void)flags; (void)user;
    if (n == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    if (n > len) n = len;
    memcpy(buf, work + wslay_pos, n);
    wslay_pos += n;
    return (ssize_t)n;
}
static ssize_t wslay_ev_write(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
                              int flags, void *user) {
    (void)ctx; (void)data; (void)flags; (void)user;
    return (ssize_t)len;
}
static void wslay_ev_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *a,
                         void *user) {
    (void)ctx; (void)user;
    if (a->opcode == WSLAY_TEXT_FRAME || a->opcode == WSLAY_BINARY_FRAME) {
        got_frames++;
        got_bytes += a->msg_length;
    }
}

static void pass_wslay_event(void) {
    wslay_pos = 0;
    got_frames = got_bytes = 0;
    if (wslay_event_recv(we) != 0) die("wslay_event_recv failed");
}

static void check_counts(const char *who) {
    if (got_frames != wire_frames || got_bytes != wire_payload) {
        fprintf(stderr, "bench_mem: %s: %zu frames / %zu bytes, expected %zu / %zu\n", who,
                got_frames, got_bytes, wire_frames, wire_payload);
        exit(1);
    }
}

static void pass_memcpy(void) { memcpy(work, pristine, wire_len); }

static void report(const char *what, size_t size, const char *kind, const char *who,
                   double sec, double base_gbs) {
    double gbs = (double)wire_payload / sec / 1e9, mfs = (double)wire_frames / sec / 1e6;
    printf("  %-8s %-7s %6zu  %-16s %8.2f GB/s %9.2f M/s", what, kind, size, who, gbs, mfs);
    if (base_gbs > 0) printf("   %5.2fx", gbs / base_gbs);
    printf("\n");
    if (csv) fprintf(csv, "%s,%s,%zu,%s,%.4f,%.4f\n", what, kind, size, who, gbs, mfs);
}

static double rx_binary_64k;        /* GB/s of 64 KiB binary frames, for the ratios */

static void bench_receive(size_t size, int kind) {
    static const uint8_t key[4] = { 0x37, 0xFA, 0x21, 0x3D };
    const char *kname = kind == T_BINARY ? "binary" : text_kind[kind];
    double t_ws, t_wf, t_we, t_mc;
    struct wslay_frame_callbacks fcb = { NULL, wslay_frame_read, NULL };
    struct wslay_event_callbacks ecb = { wslay_ev_read, wslay_ev_write, NULL, NULL, NULL, NULL,
                                         wslay_ev_msg };

    wire_len = make_frames(pristine, size, kind, key, &wire_frames);
    wire_payload = wire_frames * size;

    if (ws_conn_init(&rx_conn, &rx_cfg, NULL) != WS_OK || ws_conn_accept(&rx_conn, NULL, NULL))
        die("ws_conn_init");
    t_ws = measure(restore, pass_ws_recv);
    check_counts("ws.h");

    fcb.send_callback = wslay_frame_write;
    fcb.genmask_callback = wslay_frame_mask;
    if (wslay_frame_context_init(&wf, &fcb, NULL) != 0) die("wslay_frame_context_init");
    t_wf = measure(restore, pass_wslay_frame);
    check_counts("wslay_frame");
    wslay_frame_context_free(wf);

    if (wslay_event_context_server_init(&we, &ecb, NULL) != 0) die("wslay_event init");
    wslay_event_config_set_max_recv_msg_length(we, 1u << 20);
    t_we = measure(restore, pass_wslay_event);
    check_counts("wslay_event");
    wslay_event_context_free(we);

    t_mc = measure(NULL, pass_memcpy);
    {
        double base = (double)wire_payload / t_ws / 1e9;
        if (size == 65536 && kind == T_BINARY) rx_binary_64k = base;
        report("receive", size, kname, "ws.h", t_ws, 0);
        report("receive", size, kname, "wslay_frame", t_wf, base);
        report("receive", size, kname, "wslay_event", t_we, base);
        report("receive", size, kname, "memcpy", t_mc, base);
    }
}

/* ---- receive on each fast path ------------------------------------------------------ */

static const uint8_t path_key[4] = { 0x37, 0xFA, 0x21, 0x3D };

/* unfused: the text (no frame headers) unmasked, then checked, 64 KiB at a time */
static void pass_unfused(void) {
    size_t at;
    uint32_t st = 0;
    for (at = 0; at < AREA; at += FEED) {
        ws_mask(work + at, FEED, path_key, at);
        if (ws_utf8_validate(&st, work + at, FEED) != FEED) die("ws_utf8_validate said no");
    }
    got_frames = wire_frames;
    got_bytes = wire_payload;
}

static void bench_paths(int kind) {
    static const char *const name[] = { "", "SSE2", "SSSE3", "AVX2" };
    const char *kname = text_kind[kind];
    unsigned lv, top = 0;
    char who[32];
#ifdef WS__SSE2
    top = ws__simd_level();
#endif
    for (lv = 1; lv <= top; lv++) {
        bench_simd = lv;
        wire_len = make_frames(pristine, 65536, kind, path_key, &wire_frames);
        wire_payload = wire_frames * 65536;
        if (ws_conn_init(&rx_conn, &rx_cfg, NULL) != WS_OK || ws_conn_accept(&rx_conn, NULL, NULL))
            die("ws_conn_init");
        snprintf(who, sizeof who, "ws.h %s%s", name[lv], lv >= 2 ? " fused" : "");
        report("receive", 65536, kname, who, measure(restore, pass_ws_recv), rx_binary_64k);
        check_counts(who);
        /* the same text without headers, masked: 1 MiB in 16 frames' worth */
        fill(pristine, AREA, kind, 0);
        ws_mask(pristine, AREA, path_key, 0);
        wire_len = AREA;
        wire_frames = AREA / FEED;
        wire_payload = AREA;
        snprintf(who, sizeof who, "unfused %s", name[lv]);
        report("receive", 65536, kname, who, measure(restore, pass_unfused), rx_binary_64k);
    }
    bench_simd = 0;
}

/* ---- send -------------------------------------------------------------------------- */

static uint8_t *out_area;
static size_t out_len, send_size, send_count;
static const uint8_t *send_payload;

static int ws_send_copy(ws_conn *c, const ws_buf *b, size_t n) {
    size_t i;
    (void)c;
    for (i = 0; i < n; i++) {
        memcpy(out_area + out_len, b[i].data, b[i].len);
        out_len += b[i].len;
    }
    return 0;
}
static uint64_t rng = 0x9E3779B97F4A7C15ull;
static int ws_random(ws_conn *c, void *out, size_t n) {     /* fast, not for real use */
    (void)c;
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    memcpy(out, &rng, n < 8 ? n : 8);
    if (n > 8) memset((uint8_t *)out + 8, 0x5A, n - 8);
    return 0;
}

static ws_config srv_cfg, cli_cfg;
static ws_conn srv_conn, cli_conn;

static void pass_send(ws_conn *c) {
    size_t i;
    ws_opcode op = WS_OP_BINARY;
    out_len = 0;
    for (i = 0; i < send_count; i++)
        if (ws_conn_send(c, op, send_payload, send_size) != WS_OK) die("ws_conn_send");
}
static void pass_send_server(void) { pass_send(&srv_conn); }
static void pass_send_client(void) { pass_send(&cli_conn); }

static void pass_encode_masked(void) {
    size_t i, len;
    uint8_t key[4];
    out_len = 0;
    for (i = 0; i < send_count; i++) {
        ws_random(NULL, key, 4);
        if (ws_frame_encode(out_area + out_len, AREA + 64 - out_len, &len, true, WS_OP_BINARY,
                            send_payload, send_size, key) != WS_OK)
            die("ws_frame_encode");
        out_len += len;
    }
}

static ssize_t wslay_frame_write(const uint8_t *data, size_t len, int flags, void *user) {
    (void)flags; (void)user;
    memcpy(out_area + out_len, data, len);
    out_len += len;
    return (ssize_t)len;
}

static void pass_wslay_send(int masked) {
    struct wslay_frame_iocb io;
    size_t i;
    out_len = 0;
    memset(&io, 0, sizeof io);
    io.fin = 1;
    io.opcode = WSLAY_BINARY_FRAME;
    io.mask = (uint8_t)masked;
    io.data = send_payload;
    io.payload_length = io.data_length = send_size;
    for (i = 0; i < send_count; i++)
        if (wslay_frame_send(wf, &io) != (ssize_t)send_size) die("wslay_frame_send");
}
static void pass_wslay_send_server(void) { pass_wslay_send(0); }
static void pass_wslay_send_client(void) { pass_wslay_send(1); }

static void bench_send(size_t size) {
    struct wslay_frame_callbacks fcb = { wslay_frame_write, wslay_frame_read, wslay_frame_mask };
    double t;
    static uint8_t payload[1 << 17];
    fill(payload, size, T_BINARY, 1);
    send_payload = payload;
    send_size = size;
    send_count = AREA / (size + 14);
    wire_frames = send_count;
    wire_payload = send_count * size;

    if (ws_conn_init(&srv_conn, &srv_cfg, NULL) != WS_OK || ws_conn_accept(&srv_conn, NULL, NULL))
        die("ws_conn_init (server)");
    if (ws_conn_init(&cli_conn, &cli_cfg, NULL) != WS_OK || ws_conn_connected(&cli_conn, NULL))
        die("ws_conn_init (client)");
    if (wslay_frame_context_init(&wf, &fcb, NULL) != 0) die("wslay_frame_context_init");

    t = measure(NULL, pass_send_server);
    double base = (double)wire_payload / t / 1e9;
    report("send", size, "server", "ws.h", t, 0);
    report("send", size, "server", "wslay_frame", measure(NULL, pass_wslay_send_server), base);
    t = measure(NULL, pass_send_client);
    base = (double)wire_payload / t / 1e9;
    report("send", size, "client", "ws.h", t, 0);
    report("send", size, "client", "ws_frame_encode", measure(NULL, pass_encode_masked), base);
    report("send", size, "client", "wslay_frame", measure(NULL, pass_wslay_send_client), base);
    wslay_frame_context_free(wf);

    wire_len = wire_payload;
    t = measure(NULL, pass_memcpy);
    report("send", size, "-", "memcpy", t, base);
}

/* ---- UTF-8 and masking alone ------------------------------------------------------- */

static void pass_utf8(void) {
    if (!ws_utf8_valid(work, wire_len)) die("ws_utf8_valid said no");
}
static void pass_mask(void) {
    static const uint8_t key[4] = { 1, 2, 3, 4 };
    ws_mask(work, wire_len, key, 1);
}

static void bench_utf8(void) {
    int k;
    wire_len = AREA;
    wire_frames = 1;
    wire_payload = AREA;
    for (k = T_ASCII; k <= T_MIXED; k++) {
        fill(work, AREA, k, 0);
        report("utf8", AREA, text_kind[k], "ws_utf8_valid", measure(NULL, pass_utf8), 0);
    }
    fill(pristine, AREA, T_BINARY, 3);
    report("mask", AREA, "binary", "ws_mask", measure(NULL, pass_mask), 0);
    report("copy", AREA, "binary", "memcpy", measure(NULL, pass_memcpy), 0);
}

int main(int argc, char **argv) {
    static const size_t sizes[] = { 16, 1024, 65536 };
    size_t i;
    int a;
    for (a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--csv") == 0 && a + 1 < argc) {
            if (!(csv = fopen(argv[++a], "w"))) die("cannot write the csv file");
        } else if (atof(argv[a]) > 0) {
            budget = atof(argv[a]);
        } else {
            fprintf(stderr, "usage: %s [seconds per case] [--csv FILE]\n", argv[0]);
            return 2;
        }
    }
    pristine = (uint8_t *)malloc(AREA + 64);
    work = (uint8_t *)malloc(AREA + 64);
    out_area = (uint8_t *)malloc(AREA + 64);
    if (!pristine || !work || !out_area) die("out of memory");
    memset(out_area, 0, AREA + 64);

    rx_cfg.send = ws_send_discard;
    rx_cfg.on_begin = ws_on_begin;
    rx_cfg.on_data = ws_on_data;
    rx_cfg.max_message_size = 1u << 20;
    srv_cfg.send = ws_send_copy;
    cli_cfg = srv_cfg;
    cli_cfg.role = WS_ROLE_CLIENT;
    cli_cfg.random = ws_random;

    printf("in-memory, 1 MiB per pass, median of passes; x = figure / ws.h's\n");
    printf("  %-8s %-7s %6s  %-16s %13s %11s\n", "path", "data", "size", "code", "payload",
           "frames");
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        bench_receive(sizes[i], T_BINARY);
        bench_receive(sizes[i], T_ASCII);
        bench_receive(sizes[i], T_MIXED);
    }
    bench_receive(65536, T_CJK);
    printf("64 KiB text on each fast path; x = figure / ws.h's 64 KiB binary receive\n");
    bench_paths(T_CJK);
    bench_paths(T_MIXED);
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) bench_send(sizes[i]);
    bench_utf8();
    if (csv) fclose(csv);
    return 0;
}
