/* fanout.c - the chat's fan-out under load: many clients in one room, a few senders

   Opens C WebSocket connections (through nginx, say) to a chat speaking either the JSON
   protocol of examples/chat_server.c (--proto ws) or the same events over socket.io
   (--proto sio: Engine.IO v4 on its WebSocket transport, as bench/scale/sio_chat.mjs
   serves them), joins each to room "bench", then lets S of them send room messages, each
   sender keeping one message in flight (the next when the ack comes back), for D seconds
   after a warm-up. Every message carries the time it was sent; every other member
   receives it, and the time from its sending to its arrival is its delivery latency (one
   clock: the same machine).

   Usage:  fanout [--proto ws|sio] [-c CLIENTS] [-s SENDERS] [-d SECONDS] [-w WARMUP]
                  HOST PORT
   Prints: "delivered/s=... p50_us=... p99_us=... sent/s=... clients=..."; exit 1 and a
           reason on any error (a connection lost, a join refused, a timeout).
   Frames from the client are masked with a zero key (the RFC's rule for the bit, the cost
   of nothing): both servers take them.
*/
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { BUF = 1 << 16, HIST = 64 * 64 };

typedef struct cl {
    int      fd, state;     /* 0 handshake, 1 open/welcome, 2 joining, 4 joined (ws: until the
                               members list has everyone, so that the joins' lists are all
                               delivered before the measurement), 3 in */
    bool     sender, inflight, seen_all;
    uint64_t next_id;
    char    *in;
    size_t   in_len;
} cl;

static bool sio;
static int clients = 1000;
static const char *host;
static int port;
static uint64_t hist[HIST], delivered, sent, measuring_since, total_lat_n;
static bool measuring;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *why, int i) {
    fprintf(stderr, "fanout: client %d: %s\n", i, why);
    exit(1);
}

/* log-linear histogram of microseconds: 64 buckets per power of two */
static void record(uint64_t us) {
    int e = 0;
    while ((us >> e) >= 64 && e < 63) e++;
    size_t b = (size_t)e * 64 + (size_t)(us >> e) % 64;
    if (b < HIST) hist[b]++;
    total_lat_n++;
}
static uint64_t quantile(double q) {
    uint64_t want = (uint64_t)(q * (double)total_lat_n), n = 0;
    for (size_t b = 0; b < HIST; b++) {
        n += hist[b];
        if (n > want) return (uint64_t)((b % 64) << (b / 64));
    }
    return 0;
}

static void send_all(cl *c, int i, const char *p, size_t n) {
    while (n) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && (errno == EAGAIN || errno == EINTR)) {     /* rare: small frames */
            struct timespec t = { 0, 100000 };
            nanosleep(&t, NULL);
            continue;
        }
        if (w <= 0) die("send failed", i);
        p += w;
        n -= (size_t)w;
    }
}

/* one text frame, masked with a zero key */
static void send_text(cl *c, int i, const char *text, size_t n) {
    char f[1024];
    size_t h = 0;
    f[h++] = (char)0x81;
    if (n < 126) f[h++] = (char)(0x80 | n);
    else { f[h++] = (char)(0x80 | 126); f[h++] = (char)(n >> 8); f[h++] = (char)n; }
    memset(f + h, 0, 4);
    h += 4;
    if (n > sizeof f - h) die("frame too long", i);
    memcpy(f + h, text, n);
    send_all(c, i, f, h + n);
}

static void send_event(cl *c, int i, const char *event, const char *data) {
    char m[512];
    int n;
    c->next_id++;
    if (!sio)
        n = snprintf(m, sizeof m, "{\"event\":\"%s\",\"room\":\"bench\"%s%s%s,\"id\":%llu}", event,
                     data ? ",\"data\":\"" : "", data ? data : "", data ? "\"" : "",
                     (unsigned long long)c->next_id);
    else if (data)
        n = snprintf(m, sizeof m, "42%llu[\"%s\",{\"room\":\"bench\",\"data\":\"%s\"}]",
                     (unsigned long long)c->next_id, event, data);
    else
        n = snprintf(m, sizeof m, "42%llu[\"%s\",{\"room\":\"bench\"}]", (unsigned long long)c->next_id, event);
    send_text(c, i, m, (size_t)n);
}

static void send_message(cl *c, int i) {
    char d[64];
    snprintf(d, sizeof d, "T%llu", (unsigned long long)now_ns());
    send_event(c, i, "message", d);
    c->inflight = true;
    if (measuring) sent++;
}

static bool is_ack(const char *m, size_t n, uint64_t id) {
    char want[48];
    int k = sio ? snprintf(want, sizeof want, "43%llu[", (unsigned long long)id)
                : snprintf(want, sizeof want, "\"event\":\"ack\",\"id\":%llu}", (unsigned long long)id);
    if (sio) return n >= (size_t)k && memcmp(m, want, (size_t)k) == 0;
    for (size_t j = 0; j + (size_t)k <= n; j++) if (memcmp(m + j, want, (size_t)k) == 0) return true;
    return false;
}

/* a whole text message from the server */
static void on_text(cl *c, int i, const char *m, size_t n) {
    if (sio && n == 1 && m[0] == '2') { send_text(c, i, "3", 1); return; }   /* Engine.IO ping */
    if (c->state == 1) {
        if (sio && m[0] == '0') { send_text(c, i, "40", 2); return; }         /* open: connect */
        if (sio && !(n >= 2 && m[0] == '4' && m[1] == '0')) return;
        if (!sio && !strstr(m, "\"welcome\"")) return;
        c->state = 2;
        send_event(c, i, "join", NULL);
        return;
    }
    if (c->state == 2) {                /* ws: in once the last join's members list is */
        char last[32];
        snprintf(last, sizeof last, "\"count\":%d}", clients);
        if (is_ack(m, n, c->next_id)) c->state = sio ? 3 : 4;
        else if (strstr(m, "\"error\"")) die("join refused", i);
        if (!sio && strstr(m, last)) c->seen_all = true;
        if (c->state == 4 && c->seen_all) c->state = 3;
        return;
    }
    if (c->state == 4) {
        char last[32];
        snprintf(last, sizeof last, "\"count\":%d}", clients);
        if (strstr(m, last)) c->state = 3;
        return;
    }
    const char *t = strstr(m, "\"text\":\"T");
    if (t) {
        uint64_t at = strtoull(t + 9, NULL, 10), now = now_ns();
        if (measuring && at >= measuring_since) {
            delivered++;
            record((now - at) / 1000);
        }
        return;
    }
    if (c->inflight && is_ack(m, n, c->next_id)) {
        c->inflight = false;
        if (c->sender) send_message(c, i);
    } else if (strstr(m, "\"error\"")) {
        fprintf(stderr, "fanout: client %d: %.*s\n", i, (int)n, m);
    }
}

static void on_bytes(cl *c, int i) {
    for (;;) {
        char *p = c->in;
        size_t n = c->in_len;
        if (c->state == 0) {
            char *e = memmem(p, n, "\r\n\r\n", 4);
            if (!e) return;
            if (memcmp(p, "HTTP/1.1 101", 12) != 0) die("no 101", i);
            size_t used = (size_t)(e + 4 - p);
            memmove(c->in, c->in + used, n - used);
            c->in_len -= used;
            c->state = 1;
            continue;
        }
        if (n < 2) return;
        unsigned op = (unsigned char)p[0] & 15;
        uint64_t len = (unsigned char)p[1] & 127;
        size_t h = 2;
        if (len == 126) { if (n < 4) return; len = (uint64_t)(unsigned char)p[2] << 8 | (unsigned char)p[3]; h = 4; }
        else if (len == 127) {
            if (n < 10) return;
            len = 0;
            for (int k = 0; k < 8; k++) len = len << 8 | (unsigned char)p[2 + k];
            h = 10;
        }
        if (len > BUF - 16) die("frame too large", i);
        if (n < h + len) return;
        if (op == 1) {
            char save = p[h + len];
            p[h + len] = '\0';
            on_text(c, i, p + h, (size_t)len);
            p[h + len] = save;
        } else if (op == 9) {                   /* ping: pong with its payload */
            char f[140] = { (char)0x8A, (char)(0x80 | len), 0, 0, 0, 0 };
            memcpy(f + 6, p + h, (size_t)len);
            send_all(c, i, f, 6 + (size_t)len);
        } else if (op == 8) {
            die("closed by the server", i);
        }
        memmove(c->in, c->in + h + len, n - h - (size_t)len);
        c->in_len -= h + (size_t)len;
    }
}

int main(int argc, char **argv) {
    int senders = 10;
    double secs = 5, warm = 2;
    int k = 1;
    for (; k < argc && argv[k][0] == '-'; k += 2) {
        if (k + 1 >= argc) break;
        if (!strcmp(argv[k], "--proto")) sio = !strcmp(argv[k + 1], "sio");
        else if (!strcmp(argv[k], "-c")) clients = atoi(argv[k + 1]);
        else if (!strcmp(argv[k], "-s")) senders = atoi(argv[k + 1]);
        else if (!strcmp(argv[k], "-d")) secs = atof(argv[k + 1]);
        else if (!strcmp(argv[k], "-w")) warm = atof(argv[k + 1]);
        else { fprintf(stderr, "fanout: unknown option %s\n", argv[k]); return 2; }
    }
    if (k + 2 != argc || clients < 2 || senders < 1 || senders > clients) {
        fprintf(stderr, "usage: fanout [--proto ws|sio] [-c CLIENTS] [-s SENDERS] [-d SECONDS] [-w WARMUP] HOST PORT\n");
        return 2;
    }
    host = argv[k];
    port = atoi(argv[k + 1]);
    cl *cs = calloc((size_t)clients, sizeof *cs);
    int ep = epoll_create1(0);
    if (!cs || ep < 0) { perror("fanout"); return 1; }
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    inet_pton(AF_INET, host, &a.sin_addr);
    char req[512];
    int rn = snprintf(req, sizeof req,
                      "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
                      sio ? "/socket.io/?EIO=4&transport=websocket" : "/chat", host, port);
    for (int i = 0; i < clients; i++) {         /* connect one by one: nginx round robin */
        cl *c = &cs[i];
        int one = 1;
        c->fd = socket(AF_INET, SOCK_STREAM, 0);
        if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0) die("cannot connect", i);
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->in = malloc(BUF);
        c->sender = i < senders;
        if (!c->in) die("out of memory", i);
        send_all(c, i, req, (size_t)rn);
        struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
        if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) die("epoll", i);
    }
    uint64_t t0 = now_ns(), setup_end = 0, end = 0;
    struct epoll_event evs[256];
    for (;;) {
        uint64_t now = now_ns();
        if (!setup_end) {
            int in = 0;
            for (int i = 0; i < clients; i++) in += cs[i].state == 3;
            if (in == clients) {
                setup_end = now;
                fprintf(stderr, "fanout: %d clients in the room after %.1f s\n", clients, (double)(now - t0) / 1e9);
                for (int i = 0; i < senders; i++) send_message(&cs[i], i);
            } else if (now - t0 > 120000000000ull) {
                fprintf(stderr, "fanout: only %d of %d clients joined in 120 s\n", in, clients);
                return 1;
            }
        } else if (!measuring && now - setup_end >= (uint64_t)(warm * 1e9)) {
            measuring = true;
            measuring_since = now;
            end = now + (uint64_t)(secs * 1e9);
        } else if (measuring && now >= end) {
            break;
        }
        int n = epoll_wait(ep, evs, 256, 50);
        for (int j = 0; j < n; j++) {
            int i = (int)evs[j].data.u32;
            cl *c = &cs[i];
            ssize_t r = recv(c->fd, c->in + c->in_len, BUF - c->in_len, 0);
            if (r == 0) die("connection closed", i);
            if (r < 0) { if (errno == EAGAIN || errno == EINTR) continue; die("recv failed", i); }
            c->in_len += (size_t)r;
            on_bytes(c, i);
        }
    }
    double d = (double)(end - measuring_since) / 1e9;
    printf("delivered/s=%.0f p50_us=%llu p99_us=%llu sent/s=%.0f clients=%d senders=%d\n",
           (double)delivered / d, (unsigned long long)quantile(0.5), (unsigned long long)quantile(0.99),
           (double)sent / d, clients, senders);
    return 0;
}
