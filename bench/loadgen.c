/* loadgen.c - a WebSocket echo load generator: many connections, pipelined, every echoed
   byte checked.

   Opens C connections to an echo server (upgrade handshake through ws.h), keeps P messages
   of S bytes in flight on each, and for D seconds (after a warm-up) counts the echoes that
   came back complete and correct: type, length and every payload byte, in order. The first
   16 bytes of each message are its sequence number in hex, the rest a fixed pattern (random
   bytes, ASCII or mixed CJK text), so a lost, reordered or corrupted echo is caught. Each
   frame gets a fresh mask key. One thread and epoll; all messages sent in one wake-up go
   out in one send() per connection. Latency is from the wake-up that sent a message to the
   one that saw its echo complete.

   Usage:  loadgen [-c CONNS] [-p IN_FLIGHT] [-s SIZE] [-t binary|text|mixed|json]
                   [-d SECONDS] [-w WARMUP_SECONDS] [--idle SECONDS] [--fanout MESSAGE]
                   [--await SECONDS] [--src K] [--tcp] [--deflate]
                   ws://127.0.0.1:PORT/
   Prints: one line "msgs/s=... MB/s=... p50_us=... p99_us=... msgs=... conns=..." (MB/s
           counts payload one way); exit status 1 and a reason on any error.
   --tcp:  no handshake, and frames go out unmasked, so that a plain TCP echo server (bench/
           peers/tcp_echo.c) sends back what the parser expects: the machine's limit.
   --handshakes N: open N connections one after another (connect, the upgrade, close) and
           print "handshakes/s=... ms=..." (the mean time of one).
   wss://  build/loadgen_tls only (this file built with -DWS_MBEDTLS, bench/bench.mk):
           every connection through ws.h's TLS layer, certificate not checked (a benchmark).
   --idle: only connect and complete the handshakes, print "idle: N connections in S s",
           hold them open for SECONDS, then exit (for measuring a server's memory per
           connection, and how long it takes to accept them: they are opened one after
           another, each with its handshake done before the next).
   --fanout MESSAGE: connect as --idle, then send MESSAGE as one text message on the first
           connection and time until every other connection has received bytes: a
           broadcast's fan-out (examples/chat_server.c: {"event":"broadcast","data":"hi"}).
           Prints "fanout: N connections in MS ms". Bytes a server sends on its own (a
           welcome) are read and dropped before the message goes. Also prints "sent: T"
           (the CLOCK_MONOTONIC ns the message went), for --await in other processes.
   --await SECONDS: connect as --idle (printing "connected: N connections in S s"), read
           and drop what the server sends on its own for 0.5 s, print "ready", then wait up to SECONDS until every
           connection has received bytes (a broadcast sent by another process, e.g. a
           --fanout -c 1 to another chat_server sharing rooms through Redis) and print
           "received: N connections, first F last L" (CLOCK_MONOTONIC ns). For more
           connections than one process may hold open (bench/many.sh).
   --src K: the first source address is 127.0.0.K (1), so that several load generators
           use addresses of their own.
   --deflate: offer permessage-deflate (client_no_context_takeover), fail unless the server
           agrees it, send every message compressed and inflate what comes back compressed
           (zlib, one stream per connection: the server may keep its context) before
           checking it. A message's sequence number goes in a stored block, the rest of it
           (the same in every message) compressed once by zlib at level 6 in the window the
           server allows, so that sending costs a copy and the server's inflate has real
           compressed data to work on.
           With --idle, each connection has one message echoed first, so that a server's
           compression state for it exists when its memory is measured.
   -t json: chat-JSON messages: after the sequence number, {"event":"message",...} objects.
   Connections past the 20,000th come from 127.0.0.K+1, 127.0.0.K+2, ... (20,000 each), so that
   100,000 of them do not run out of ephemeral ports on one source address.
*/
#define _POSIX_C_SOURCE 200809L
#define WS_IMPLEMENTATION
#define WS_NO_SERVER
#include "ws.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>                   /* --deflate: a benchmark tool may (ws.h never does) */

enum { SEQ_DIGITS = 16, HIST_BUCKETS = 64 + 58 * 32 };  /* latency in ns, within 3% */
enum { KIND_BINARY, KIND_TEXT, KIND_MIXED, KIND_JSON };

typedef struct conn {
    int       fd;
#ifdef WS_MBEDTLS
    ws_tls    tls;              /* wss:// */
    uint8_t  *tq;               /* ciphertext not yet written */
    size_t    tq_pos, tq_len, tq_cap;
    bool      upgraded;         /* the 101 came: what TLS decrypts is frames now */
#endif
    uint64_t  sent, done;       /* messages sent, echoes checked */
    uint64_t *sent_at;          /* [in_flight]: ns of the wake-up that sent message i */
    uint8_t  *out;              /* frames not yet written */
    size_t    out_pos, out_len, out_cap;
    /* the echo being received */
    uint8_t   hdr[10];
    size_t    hdr_len;
    uint64_t  frame_left;       /* payload bytes left in the current frame */
    uint64_t  msg_off;          /* bytes of the current message so far */
    bool      in_msg, frame_fin, in_payload;
    bool      want_out;         /* EPOLLOUT is on */
    bool      zmsg;             /* --deflate: the echo being received is compressed */
    z_stream *zin;              /* --deflate: inflates the echoes */
    uint64_t  rng;
} conn;

static int      nconns = 100, in_flight = 16, kind = KIND_BINARY;
static size_t   size = 16;
static double   seconds = 5, warmup = 1, idle_seconds = -1;
static bool     use_tls;        /* wss:// (loadgen_tls) */
static long     handshakes;     /* --handshakes N */
static bool     raw_tcp;        /* --tcp: no handshake, unmasked frames, for a TCP echo */
static const char *fanout_msg;  /* --fanout */
static double   await_seconds = -1;                 /* --await */
static int      src_base = 1;                       /* --src: 127.0.0.src_base first */
static bool     deflate_on;     /* --deflate */
static int      zbits = 15;     /* the window the server lets us compress with */
static uint8_t *zrest;          /* the message after its sequence number, compressed */
static size_t   zrest_len;
static uint8_t  zinflated[1 << 16];     /* what inflate gives, checked as it comes */
static uint8_t *pattern;        /* the expected payload, bytes SEQ_DIGITS.. */
static conn    *conns;
static uint64_t now_ns;
static bool     measuring;
static uint64_t count_msgs;
static uint64_t hist[HIST_BUCKETS];

static void fail(const conn *c, const char *what) {
    fprintf(stderr, "loadgen: connection %d, message %llu: %s\n", c ? (int)(c - conns) : -1,
            c ? (unsigned long long)c->done : 0ull, what);
    exit(1);
}

static uint64_t clock_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t xorshift(uint64_t *s) {
    *s ^= *s << 13; *s ^= *s >> 7; *s ^= *s << 17;
    return *s;
}

static const char hexd[] = "0123456789abcdef";

/* Byte i (< SEQ_DIGITS) of message seq: its hex digits, the last ones when size < 16. */
static uint8_t seq_byte(uint64_t seq, size_t i) {
    size_t n = size < SEQ_DIGITS ? size : SEQ_DIGITS;
    return (uint8_t)hexd[(seq >> (4 * (n - 1 - i))) & 15];
}

static void make_pattern(void) {
    static const char mixed[] =
        "WebSocket \xe5\x8d\x8f\xe8\xae\xae (RFC 6455) \xe3\x82\xa6\xe3\x82\xa7\xe3\x83\x96"
        "\xe3\x82\xbd\xe3\x82\xb1\xe3\x83\x83\xe3\x83\x88, \xec\x9b\xb9\xec\x86\x8c\xec\xbc"
        "\x93 ok \xf0\x9f\x98\x80 caf\xc3\xa9. ";
    static const char ascii[] = "The quick brown fox jumps over the lazy dog. ";
    static const char chat[] = "{\"event\":\"message\",\"room\":\"lobby\",\"data\":{\"from\":"
        "\"ann\",\"text\":\"See you at the stand-up in ten minutes, bring the notes\"},"
        "\"id\":1234}";
    size_t i = SEQ_DIGITS, j = 0;
    uint32_t r = 12345;
    pattern = (uint8_t *)malloc(size + SEQ_DIGITS);
    if (!pattern) fail(NULL, "out of memory");
    while (i < size) {
        if (kind == KIND_BINARY) {
            r = r * 1103515245u + 12345u;
            pattern[i++] = (uint8_t)(r >> 23);
        } else {
            const char *s = kind == KIND_TEXT ? ascii : kind == KIND_JSON ? chat : mixed;
            size_t slen = strlen(s);
            uint8_t b = (uint8_t)s[j];
            size_t clen = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
            if (clen > size - i) { pattern[i++] = ' '; continue; }
            memcpy(pattern + i, s + j, clen);
            i += clen;
            j = (j + clen) % slen;
        }
    }
}

/* ---- sending ---------------------------------------------------------------------- */

/* Appends message number c->sent as one masked frame. */
static void queue_message(conn *c) {
    uint8_t key[4], *f;
    uint64_t r = xorshift(&c->rng);
    size_t hl, i, n = size < SEQ_DIGITS ? size : SEQ_DIGITS;
    memcpy(key, &r, 4);
    if (c->out_cap - c->out_len < size + size / 8 + 96) {  /* reclaim what was sent */
        memmove(c->out, c->out + c->out_pos, c->out_len - c->out_pos);
        c->out_len -= c->out_pos;
        c->out_pos = 0;
    }
    f = c->out + c->out_len;
    if (deflate_on) {                   /* a stored block of 16 bytes, then the rest */
        size_t zlen = 5 + SEQ_DIGITS + zrest_len;
        uint8_t *z;
        hl = ws_frame_header(f, true, (ws_opcode)((kind == KIND_BINARY ? WS_OP_BINARY : WS_OP_TEXT) |
                                                   WS_RSV1), zlen, key);
        z = f + hl;
        z[0] = 0;                       /* BFINAL 0, BTYPE 00 (stored), padded to the byte */
        z[1] = SEQ_DIGITS; z[2] = 0; z[3] = (uint8_t)~SEQ_DIGITS; z[4] = 0xFF;
        for (i = 0; i < SEQ_DIGITS; i++) z[5 + i] = seq_byte(c->sent, i);
        memcpy(z + 5 + SEQ_DIGITS, zrest, zrest_len);
        ws_mask(z, zlen, key, 0);
        c->out_len += hl + zlen;
    } else {
        hl = ws_frame_header(f, true, kind == KIND_BINARY ? WS_OP_BINARY : WS_OP_TEXT, size,
                             raw_tcp ? NULL : key);
        for (i = 0; i < n; i++) f[hl + i] = seq_byte(c->sent, i);
        if (size > n) memcpy(f + hl + n, pattern + n, size - n);
        if (!raw_tcp) ws_mask(f + hl, size, key, 0);
        c->out_len += hl + size;
    }
    c->sent_at[c->sent % (uint64_t)in_flight] = now_ns;
    c->sent++;
}

static void on_bytes(conn *c, const uint8_t *p, size_t n);
static bool tls_flush(conn *c);

static void flush(conn *c) {
    if (use_tls && tls_flush(c)) return;
    while (c->out_pos < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_pos, c->out_len - c->out_pos, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) fail(c, "send failed");
        c->out_pos += (size_t)n;
    }
    if (c->out_pos == c->out_len) c->out_pos = c->out_len = 0;
}

/* ---- receiving -------------------------------------------------------------------- */

static size_t bucket(uint64_t ns);

static void message_done(conn *c) {
    if (c->msg_off != size) fail(c, "echo has the wrong length");
    if (measuring) {
        uint64_t lat = now_ns - c->sent_at[c->done % (uint64_t)in_flight];
        hist[bucket(lat)]++;
        count_msgs++;
    }
    c->done++;
    c->in_msg = false;
    queue_message(c);                   /* keep in_flight messages in flight */
}

/* Checks payload bytes p[0..n-1] at offset c->msg_off of echo number c->done. */
static void check_payload(conn *c, const uint8_t *p, size_t n) {
    uint64_t off = c->msg_off;
    if (n > size - off) fail(c, "echo longer than the message");
    while (n > 0 && off < SEQ_DIGITS && off < size) {
        if (*p != seq_byte(c->done, (size_t)off)) fail(c, "wrong sequence number: lost or reordered");
        p++; n--; off++;
    }
    if (n > 0 && memcmp(p, pattern + off, n) != 0) fail(c, "echoed payload differs");
    c->msg_off = off + n;
}

/* --deflate: compressed payload p[0..n-1] of the echo, inflated and checked */
static void inflate_payload(conn *c, const uint8_t *p, size_t n) {
    z_stream *z = c->zin;
    z->next_in = (Bytef *)(uintptr_t)p;
    z->avail_in = (uInt)n;
    do {
        int r;
        z->next_out = zinflated;
        z->avail_out = sizeof zinflated;
        r = inflate(z, Z_SYNC_FLUSH);
        if (r != Z_OK && r != Z_BUF_ERROR) fail(c, "echo does not inflate");
        check_payload(c, zinflated, sizeof zinflated - z->avail_out);
    } while (z->avail_in > 0 || z->avail_out == 0);
}

static void on_bytes(conn *c, const uint8_t *p, size_t n) {
    static const uint8_t tail[4] = { 0, 0, 0xFF, 0xFF };
    while (n > 0) {
        if (!c->in_payload) {                       /* frame header, a byte at a time */
            size_t need;
            c->hdr[c->hdr_len++] = *p++;
            n--;
            if (c->hdr_len < 2) continue;
            need = (c->hdr[1] & 0x7F) == 126 ? 4 : (c->hdr[1] & 0x7F) == 127 ? 10 : 2;
            if (c->hdr_len < need) continue;
            {
                uint8_t op = c->hdr[0] & 0x0F, l = c->hdr[1] & 0x7F;
                uint64_t len = l;
                size_t i;
                if (c->hdr[1] & 0x80) fail(c, "masked frame from the server");
                if ((c->hdr[0] & 0x70) && !(deflate_on && (c->hdr[0] & 0x70) == WS_RSV1 &&
                                            op != WS_OP_CONT && op < 8))
                    fail(c, "reserved bits set");
                if (l == 126) len = (uint64_t)c->hdr[2] << 8 | c->hdr[3];
                if (l == 127) for (len = 0, i = 2; i < 10; i++) len = len << 8 | c->hdr[i];
                if (op >= 8) {
                    if (op == WS_OP_CLOSE) fail(c, "the server closed the connection");
                    fail(c, "unexpected control frame");  /* pings come after 30 s idle */
                }
                if (!c->in_msg) {
                    if (op != (kind == KIND_BINARY ? WS_OP_BINARY : WS_OP_TEXT))
                        fail(c, "echo has the wrong type");
                    c->in_msg = true;
                    c->msg_off = 0;
                    c->zmsg = (c->hdr[0] & WS_RSV1) != 0;
                } else if (op != WS_OP_CONT) {
                    fail(c, "new message inside a fragmented echo");
                }
                if (c->done >= c->sent) fail(c, "echo of a message never sent");
                c->frame_fin = (c->hdr[0] & 0x80) != 0;
                c->frame_left = len;
                c->hdr_len = 0;
                c->in_payload = true;
            }
        }
        {
            size_t take = c->frame_left < n ? (size_t)c->frame_left : n;
            if (c->zmsg) inflate_payload(c, p, take);
            else check_payload(c, p, take);
            p += take; n -= take;
            c->frame_left -= take;
            if (c->frame_left == 0) {
                c->in_payload = false;
                if (c->frame_fin && c->zmsg) inflate_payload(c, tail, 4);
                if (c->frame_fin) message_done(c);
            }
        }
    }
}

/* ---- wss:// (loadgen_tls) -------------------------------------------------------- */
/* Frames are queued as plaintext in c->out, as for ws://; flush() encrypts what is there
   through ws_tls_send (records into c->tq) and writes c->tq. What arrives goes through
   ws_tls_feed; on_tls_data hands the plaintext to on_bytes, or during the connect to the
   response parser. */

static bool has_out(const conn *c) {
#ifdef WS_MBEDTLS
    if (c->tq_len > c->tq_pos) return true;
#endif
    return c->out_len > c->out_pos;
}

/* The 101 checked (upgrade_request's key); with --deflate, permessage-deflate agreed, and
   the client window it allows noted (zbits: the smallest any connection got). */
static bool upgrade_ok(const ws_http *h, const char key[25]) {
    ws_str e = ws_http_header(h, "Sec-WebSocket-Extensions");
    const char *w = "client_max_window_bits=";
    size_t i, k = strlen(w);
    if (ws_handshake_check(h, key, NULL, deflate_on ? "permessage-deflate" : NULL) != WS_OK)
        return false;
    if (!deflate_on) return true;
    if (!e.ptr) fail(NULL, "--deflate: the server did not agree permessage-deflate");
    for (i = 0; i + k < e.len; i++) {
        if (memcmp(e.ptr + i, w, k) == 0) {
            int b = atoi(e.ptr + i + k);
            if (b < 9) fail(NULL, "--deflate: the server allows a window zlib cannot keep to");
            if (b < zbits) zbits = b;
        }
    }
    return true;
}

/* --deflate: c's decoder (one stream for the connection's life: a server may keep its
   context) and its buffers */
static void conn_setup(conn *c) {
    c->out_cap = (size_t)in_flight * (size + size / 8 + 96);
    c->out = (uint8_t *)malloc(c->out_cap);
    c->sent_at = (uint64_t *)calloc((size_t)in_flight, sizeof *c->sent_at);
    if (!c->out || !c->sent_at) fail(NULL, "out of memory");
    if (deflate_on && !c->zin) {
        c->zin = (z_stream *)calloc(1, sizeof *c->zin);
        if (!c->zin || inflateInit2(c->zin, -15) != Z_OK) fail(NULL, "inflateInit2");
    }
}

/* --deflate: the rest of every message (after its sequence number) compressed once, in
   the window every connection allows, ending in a sync flush without its 00 00 FF FF */
static void zout_setup(void) {
    z_stream z;
    size_t cap = size + size / 8 + 64;
    memset(&z, 0, sizeof z);
    zrest = (uint8_t *)malloc(cap);
    if (size <= SEQ_DIGITS) fail(NULL, "--deflate needs -s of more than 16 bytes");
    if (!zrest || deflateInit2(&z, 6, Z_DEFLATED, -zbits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        fail(NULL, "deflateInit2");
    z.next_in = pattern + SEQ_DIGITS;
    z.avail_in = (uInt)(size - SEQ_DIGITS);
    z.next_out = zrest;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_SYNC_FLUSH) != Z_OK || z.avail_in || z.avail_out == 0) fail(NULL, "deflate");
    zrest_len = cap - z.avail_out - 4;
    deflateEnd(&z);
}

/* --idle --deflate: one message echoed on c, before it goes idle */
static void echo_one(conn *c) {
    static uint8_t buf[1 << 16];
    conn_setup(c);
    queue_message(c);
    while (c->done < 1) {
        struct pollfd pfd = { c->fd, (short)(c->out_pos < c->out_len ? POLLIN | POLLOUT : POLLIN), 0 };
        if (poll(&pfd, 1, 10000) <= 0) fail(c, "no echo of the first message");
        if (c->out_pos < c->out_len && c->done < 1) flush(c);
        if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t r = recv(c->fd, buf, sizeof buf, 0);
            if (r == 0) fail(c, "the server closed the connection");
            if (r < 0 && errno != EAGAIN && errno != EINTR) fail(c, "recv failed");
            if (r > 0) on_bytes(c, buf, (size_t)r);
        }
    }
    free(c->out);
    free(c->sent_at);
    c->out = NULL;
    c->out_len = c->out_pos = 0;
}

/* The upgrade request, with a fresh key in key (checked against the 101 later). */
static size_t upgrade_request(char *req, size_t cap, char key[25], const char *host,
                              uint16_t port, const char *path) {
    uint8_t nonce[16];
    size_t len;
    ws_client_opts o;
    int i;
    for (i = 0; i < 16; i++) nonce[i] = (uint8_t)rand();
    ws_handshake_key(nonce, key);
    memset(&o, 0, sizeof o);
    o.host = host;
    o.port = port;
    o.path = path;
    if (deflate_on) o.extensions = "permessage-deflate; client_no_context_takeover; client_max_window_bits";
    if (ws_handshake_request(req, cap, &len, &o, key) != WS_OK) fail(NULL, "request");
    return len;
}

#ifdef WS_MBEDTLS
static ws_tls_config tls_cfg;
static uint8_t tls_plain[16384];
static char  tls_resp[4096];        /* the upgrade response, during a connect */
static size_t tls_resp_len;

static int on_tls_send(ws_tls *t, const void *data, size_t len) {
    conn *c = (conn *)t->user;
    if (c->tq_pos == c->tq_len) c->tq_pos = c->tq_len = 0;
    if (c->tq_cap - c->tq_len < len) {
        size_t cap = c->tq_cap ? c->tq_cap : 1 << 16;
        uint8_t *q;
        while (cap - c->tq_len < len) cap *= 2;
        if (!(q = (uint8_t *)realloc(c->tq, cap))) fail(c, "out of memory");
        c->tq = q;
        c->tq_cap = cap;
    }
    memcpy(c->tq + c->tq_len, data, len);
    c->tq_len += len;
    return 0;
}

static void on_tls_data(ws_tls *t, void *data, size_t len) {
    conn *c = (conn *)t->user;
    if (c->upgraded) { on_bytes(c, (const uint8_t *)data, len); return; }
    if (len > sizeof tls_resp - tls_resp_len) fail(c, "upgrade response too long");
    memcpy(tls_resp + tls_resp_len, data, len);
    tls_resp_len += len;
}

/* Encrypts the frames queued, writes what it can; true (the TLS path took it). */
static bool tls_flush(conn *c) {
    if (c->out_len > c->out_pos) {
        ws_buf b;
        b.data = c->out + c->out_pos;
        b.len = c->out_len - c->out_pos;
        if (ws_tls_send(&c->tls, &b, 1) != WS_OK) fail(c, ws_tls_why(&c->tls));
        c->out_pos = c->out_len = 0;
    }
    while (c->tq_pos < c->tq_len) {
        ssize_t n = send(c->fd, c->tq + c->tq_pos, c->tq_len - c->tq_pos, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) fail(c, "send failed");
        c->tq_pos += (size_t)n;
    }
    return true;
}

static void tls_feed(conn *c, const uint8_t *p, size_t n) {
    int r = ws_tls_feed(&c->tls, p, n);
    if (r != WS_OK) fail(c, r == WS_ERR_EOF ? "the server closed TLS" : ws_tls_why(&c->tls));
}

/* The TLS handshake and the upgrade through it, on c->fd (non-blocking): 10 s at most. */
static void tls_connect(conn *c, const char *host, uint16_t port, const char *path) {
    char req[1024], key[25];
    uint8_t buf[16384];
    size_t len;
    int r = WS_HS_PARTIAL;
    bool sent = false;
    ws_http h;
    uint64_t until = clock_ns() + 10000000000ull;
    tls_resp_len = 0;
    c->upgraded = false;
    if (ws_tls_init(&c->tls, &tls_cfg, "localhost", tls_plain, sizeof tls_plain, c) != WS_OK)
        fail(c, "ws_tls_init");
    len = upgrade_request(req, sizeof req, key, host, port, path);
    ws_http_init(&h, sizeof tls_resp);
    while (r == WS_HS_PARTIAL) {
        struct pollfd pfd;
        ssize_t n;
        if (!sent && ws_tls_ready(&c->tls)) {          /* TLS is up: the upgrade request */
            ws_buf b;
            b.data = req;
            b.len = len;
            if (ws_tls_send(&c->tls, &b, 1) != WS_OK) fail(c, "sending the handshake");
            sent = true;
        }
        tls_flush(c);
        pfd.fd = c->fd;
        pfd.events = (short)(POLLIN | (c->tq_len > c->tq_pos ? POLLOUT : 0));
        if (clock_ns() > until) fail(c, "TLS handshake or upgrade timed out");
        if (poll(&pfd, 1, 100) <= 0 || !(pfd.revents & (POLLIN | POLLHUP | POLLERR))) continue;
        n = recv(c->fd, buf, sizeof buf, 0);
        if (n == 0) fail(c, "the server closed the connection during the handshake");
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
            fail(c, "recv failed");
        }
        tls_feed(c, buf, (size_t)n);
        if (tls_resp_len) r = ws_http_parse_response(&h, tls_resp, tls_resp_len);
    }
    if (r != WS_HS_UPGRADE || !upgrade_ok(&h, key))
        fail(c, "the server refused the upgrade");
    if (tls_resp_len != h.size) fail(c, "frames before the first message");
    c->upgraded = true;
}

static void tls_setup(void) {
    tls_cfg.send = on_tls_send;
    tls_cfg.on_data = on_tls_data;
    if (ws_tls_client_setup(&tls_cfg, NULL, 0, WS_TLS_INSECURE_NO_VERIFY) != WS_OK)
        fail(NULL, "ws_tls_client_setup");
}
#else
static bool tls_flush(conn *c) { (void)c; return false; }
#endif

/* ---- connecting ------------------------------------------------------------------- */

static int connect_one(int index, const struct sockaddr_in *addr, const char *host,
                       uint16_t port, const char *path) {
    char req[1024], resp[4096], key[25];
    size_t len, got = 0;
    int one = 1, r;
    ws_http h;
    struct timeval tv = { 10, 0 };
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) { perror("loadgen: socket"); exit(1); }
    if (index >= 20000 || src_base != 1) {  /* 127.0.0.2 and on, the port chosen at connect() */
        struct sockaddr_in src;
        memset(&src, 0, sizeof src);
        src.sin_family = AF_INET;
        src.sin_addr.s_addr = htonl(0x7F000000u + (uint32_t)(src_base + index / 20000));
#ifdef IP_BIND_ADDRESS_NO_PORT
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
#endif
        if (bind(fd, (const struct sockaddr *)&src, sizeof src) != 0) {
            perror("loadgen: bind to 127.0.0.x");
            exit(1);
        }
    }
    if (connect(fd, (const struct sockaddr *)addr, sizeof *addr) != 0) {
        perror("loadgen: connect");
        exit(1);
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (raw_tcp || use_tls) {           /* wss://: tls_connect does the rest */
        fcntl(fd, F_SETFL, O_NONBLOCK);
        return fd;
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    len = upgrade_request(req, sizeof req, key, host, port, path);
    if (send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len) fail(NULL, "sending the handshake");
    ws_http_init(&h, sizeof resp);
    for (;;) {
        ssize_t n = recv(fd, resp + got, sizeof resp - got, 0);
        if (n <= 0) fail(NULL, "no handshake response");
        got += (size_t)n;
        r = ws_http_parse_response(&h, resp, got);
        if (r != WS_HS_PARTIAL) break;
    }
    if (r != WS_HS_UPGRADE || !upgrade_ok(&h, key))
        fail(NULL, "the server refused the upgrade");
    if (got != h.size && idle_seconds < 0 && !fanout_msg && await_seconds < 0)
        fail(NULL, "frames before the first message");
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

/* The latency histogram: exact below 64 ns, then 32 buckets per doubling. */
static size_t bucket(uint64_t ns) {
    size_t e = 0;
    if (ns < 64) return (size_t)ns;
    while (ns >= 64) { ns >>= 1; e++; }
    return 64 + (e - 1) * 32 + (size_t)(ns - 32);
}

static double bucket_us(size_t b) {             /* the middle of bucket b */
    size_t e;
    if (b < 64) return (double)b / 1000.0;
    e = (b - 64) / 32 + 1;
    return ((double)(32 + (b - 64) % 32) + 0.5) * (double)((uint64_t)1 << e) / 1000.0;
}

static double pct(double q) {
    uint64_t total = 0, seen = 0, want;
    size_t i;
    for (i = 0; i < HIST_BUCKETS; i++) total += hist[i];
    if (!total) return 0;
    want = (uint64_t)(q * (double)total);
    if (want >= total) want = total - 1;
    for (i = 0; i < HIST_BUCKETS; i++) {
        seen += hist[i];
        if (seen > want) return bucket_us(i);
    }
    return 0;
}

static int epfd_new(void) {
    int fd = epoll_create1(0);
    if (fd < 0) fail(NULL, "epoll_create1");
    return fd;
}

/* --fanout: every connection read and emptied, then one message on the first, and the time
   until all the others have bytes. */
static int fanout(int epfd, uint64_t t_connect) {
    static uint8_t buf[1 << 16];
    struct epoll_event evs[256];
    uint8_t frame[14 + 1024], key[4] = { 1, 2, 3, 4 };
    size_t len = fanout_msg ? strlen(fanout_msg) : 0, hl;
    int i, waiting = fanout_msg ? nconns - 1 : nconns;    /* --await: all of them */
    uint64_t t0, until, first = 0, last = 0;
    printf("connected: %d connections in %.2f s\n", nconns,
           (double)(clock_ns() - t_connect) / 1e9);
    fflush(stdout);
    if (len > 1024) fail(NULL, "--fanout: at most 1024 bytes");
    for (i = 0; i < nconns; i++) {
        struct epoll_event ev;
        ev.events = EPOLLIN;
        ev.data.ptr = &conns[i];
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, conns[i].fd, &ev) != 0) fail(NULL, "epoll_ctl");
    }
    for (until = clock_ns() + 500000000u; clock_ns() < until;) {    /* 0.5 s: drop welcomes */
        int n = epoll_wait(epfd, evs, 256, 50);
        for (i = 0; i < n; i++)
            while (recv(((conn *)evs[i].data.ptr)->fd, buf, sizeof buf, 0) > 0) {}
    }
    t0 = clock_ns();
    if (fanout_msg) {
        hl = ws_frame_header(frame, true, WS_OP_TEXT, len, key);
        memcpy(frame + hl, fanout_msg, len);
        ws_mask(frame + hl, len, key, 0);
        t0 = clock_ns();
        if (send(conns[0].fd, frame, hl + len, MSG_NOSIGNAL) != (ssize_t)(hl + len))
            fail(&conns[0], "send failed");
        printf("sent: %llu\n", (unsigned long long)t0);
        fflush(stdout);
    } else {
        printf("ready\n");            /* welcomes dropped: the broadcast may go */
        fflush(stdout);
    }
    until = t0 + (fanout_msg ? 60000000000u : (uint64_t)(await_seconds * 1e9));
    while (waiting > 0 && clock_ns() < until) {
        int n = epoll_wait(epfd, evs, 256, 100);
        for (i = 0; i < n; i++) {
            conn *c = (conn *)evs[i].data.ptr;
            ssize_t r;
            while ((r = recv(c->fd, buf, sizeof buf, 0)) > 0)
                if ((!fanout_msg || c != &conns[0]) && c->done++ == 0) {
                    last = clock_ns();
                    if (!first) first = last;
                    waiting--;
                }
            if (r == 0) fail(c, "the server closed the connection");
        }
    }
    if (waiting > 0) {
        fprintf(stderr, "loadgen: %d of %d connections got nothing\n", waiting, nconns);
        fail(NULL, "fanout: not every connection got the message in time");
    }
    if (fanout_msg)
        printf("fanout: %d connections in %.1f ms\n", nconns - 1, (double)(clock_ns() - t0) / 1e6);
    else
        printf("received: %d connections, first %llu last %llu\n", nconns,
               (unsigned long long)first, (unsigned long long)last);
    return 0;
}

#ifdef WS_MBEDTLS
#define LOADGEN_WSS " (or wss://)"
#else
#define LOADGEN_WSS ""
#endif

static void usage(void) {
    fprintf(stderr, "usage: loadgen [-c CONNS] [-p IN_FLIGHT] [-s SIZE] [-t binary|text|mixed|json]"
                    " [-d SECONDS] [-w WARMUP] [--idle SECONDS] [--fanout MESSAGE] [--await SECONDS]"
                    " [--src K] [--tcp] [--deflate]"
                    " [--handshakes N] ws://127.0.0.1:PORT/" LOADGEN_WSS "\n");
    exit(2);
}

int main(int argc, char **argv) {
    const char *url = NULL;
    char host[64], path[256] = "/";
    unsigned port = 0;
    struct sockaddr_in addr;
    int epfd, i, a;
    uint64_t t_start, t_measure, t_end;

    for (a = 1; a < argc; a++) {
        const char *v = a + 1 < argc ? argv[a + 1] : NULL;
        if (!strcmp(argv[a], "-c") && v) nconns = atoi(argv[++a]);
        else if (!strcmp(argv[a], "-p") && v) in_flight = atoi(argv[++a]);
        else if (!strcmp(argv[a], "-s") && v) size = (size_t)atol(argv[++a]);
        else if (!strcmp(argv[a], "-d") && v) seconds = atof(argv[++a]);
        else if (!strcmp(argv[a], "-w") && v) warmup = atof(argv[++a]);
        else if (!strcmp(argv[a], "--idle") && v) idle_seconds = atof(argv[++a]);
        else if (!strcmp(argv[a], "--tcp")) raw_tcp = true;
        else if (!strcmp(argv[a], "--handshakes") && v) handshakes = atol(argv[++a]);
        else if (!strcmp(argv[a], "--fanout") && v) fanout_msg = argv[++a];
        else if (!strcmp(argv[a], "--await") && v) await_seconds = atof(argv[++a]);
        else if (!strcmp(argv[a], "--src") && v) src_base = atoi(argv[++a]);
        else if (!strcmp(argv[a], "--deflate")) deflate_on = true;
        else if (!strcmp(argv[a], "-t") && v) {
            a++;
            kind = !strcmp(v, "binary") ? KIND_BINARY : !strcmp(v, "text") ? KIND_TEXT
                 : !strcmp(v, "mixed") ? KIND_MIXED : !strcmp(v, "json") ? KIND_JSON : -1;
            if (kind < 0) usage();
        } else if (!strncmp(argv[a], "ws://", 5)) url = argv[a];
#ifdef WS_MBEDTLS
        else if (!strncmp(argv[a], "wss://", 6)) url = argv[a], use_tls = true;
#endif
        else usage();
    }
    if (!url || nconns < 1 || in_flight < 1 || seconds <= 0 || (use_tls && (raw_tcp || fanout_msg || await_seconds >= 0)) ||
        src_base < 1 || src_base > 250 ||
        sscanf(url, use_tls ? "wss://%63[^:/]:%u%255s" : "ws://%63[^:/]:%u%255s", host, &port,
               path) < 2 || port > 65535)
        usage();
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) usage();

    srand((unsigned)clock_ns());
    conns = (conn *)calloc((size_t)nconns, sizeof *conns);
    if (!conns) fail(NULL, "out of memory");
#ifdef WS_MBEDTLS
    if (use_tls) tls_setup();
#endif
    if (handshakes > 0) {               /* one after another: connect, upgrade, close */
        uint64_t t0 = clock_ns();
        double sec;
        long k;
        for (k = 0; k < handshakes; k++) {
            conns[0].fd = connect_one(0, &addr, host, (uint16_t)port, path);
#ifdef WS_MBEDTLS
            if (use_tls) {
                tls_connect(&conns[0], host, (uint16_t)port, path);
                ws_tls_free(&conns[0].tls);
            }
#endif
            close(conns[0].fd);
        }
        sec = (double)(clock_ns() - t0) / 1e9;
        printf("handshakes/s=%.0f ms=%.3f handshakes=%ld\n", (double)handshakes / sec,
               sec * 1000 / (double)handshakes, handshakes);
        return 0;
    }
    make_pattern();
    t_start = clock_ns();
    for (i = 0; i < nconns; i++) {
        conns[i].fd = connect_one(i, &addr, host, (uint16_t)port, path);
#ifdef WS_MBEDTLS
        if (use_tls) tls_connect(&conns[i], host, (uint16_t)port, path);
#endif
    }
    if (fanout_msg || await_seconds >= 0) return fanout(epfd_new(), t_start);
    if (idle_seconds >= 0) {
        double open_s = (double)(clock_ns() - t_start) / 1e9;
        if (deflate_on) {
            zout_setup();
            for (i = 0; i < nconns; i++) echo_one(&conns[i]);
        }
        printf("idle: %d connections in %.2f s%s\n", nconns, open_s,
               deflate_on ? ", each with one compressed message echoed" : "");
        fflush(stdout);
        {
            struct timespec ts = { (time_t)idle_seconds, 0 };
            nanosleep(&ts, NULL);
        }
        return 0;
    }

    if (deflate_on) zout_setup();
    epfd = epoll_create1(0);
    if (epfd < 0) fail(NULL, "epoll_create1");
    now_ns = clock_ns();
    for (i = 0; i < nconns; i++) {
        conn *c = &conns[i];
        struct epoll_event ev;
        c->rng = 0x9E3779B97F4A7C15ull ^ (uint64_t)(i + 1) * 0x100000001B3ull;
        conn_setup(c);
        ev.events = EPOLLIN;
        ev.data.ptr = c;
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0) fail(NULL, "epoll_ctl");
        while (c->sent < (uint64_t)in_flight) queue_message(c);
        flush(c);
    }

    {
        static uint8_t buf[1 << 18];
        struct epoll_event evs[256];
        conn **dirty = (conn **)calloc((size_t)nconns, sizeof *dirty);
        size_t ndirty;
        t_start = clock_ns();
        t_measure = t_start + (uint64_t)(warmup * 1e9);
        t_end = t_measure + (uint64_t)(seconds * 1e9);
        if (!dirty) fail(NULL, "out of memory");
        for (;;) {
            int n = epoll_wait(epfd, evs, 256, 100);
            if (n < 0 && errno != EINTR) fail(NULL, "epoll_wait");
            now_ns = clock_ns();
            if (!measuring && now_ns >= t_measure) {
                measuring = true;
                t_measure = now_ns;
            }
            if (now_ns >= t_end) break;
            ndirty = 0;
            for (i = 0; i < n; i++) {
                conn *c = (conn *)evs[i].data.ptr;
                if (evs[i].events & EPOLLIN) {
                    ssize_t r = recv(c->fd, buf, sizeof buf, 0);
                    if (r == 0) fail(c, "the server closed the connection");
                    if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                        fail(c, "recv failed");
#ifdef WS_MBEDTLS
                    if (r > 0 && use_tls) tls_feed(c, buf, (size_t)r);
                    else
#endif
                    if (r > 0) on_bytes(c, buf, (size_t)r);
                } else if (evs[i].events & (EPOLLERR | EPOLLHUP)) {
                    fail(c, "connection error");
                }
                if (has_out(c)) dirty[ndirty++] = c;
            }
            for (i = 0; i < (int)ndirty; i++) {     /* one send() per connection */
                conn *c = dirty[i];
                struct epoll_event ev;
                bool blocked;
                flush(c);
                blocked = has_out(c);
                if (blocked != c->want_out) {       /* socket full: wait for room */
                    c->want_out = blocked;
                    ev.data.ptr = c;
                    ev.events = EPOLLIN | (blocked ? EPOLLOUT : 0u);
                    if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) != 0) fail(c, "epoll_ctl");
                }
            }
        }
        t_end = now_ns;
    }
    {
        double sec = (double)(t_end - t_measure) / 1e9;
        double rate = (double)count_msgs / sec;
        printf("msgs/s=%.0f MB/s=%.1f p50_us=%.1f p99_us=%.1f msgs=%llu conns=%d in_flight=%d"
               " size=%zu type=%s%s\n",
               rate, rate * (double)size / 1e6, pct(0.50), pct(0.99),
               (unsigned long long)count_msgs, nconns, in_flight, size,
               kind == KIND_BINARY ? "binary" : kind == KIND_TEXT ? "text" : kind == KIND_JSON ?
               "json" : "mixed", deflate_on ? " deflate" : "");
    }
    return 0;
}
