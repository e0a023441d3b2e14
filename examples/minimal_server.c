// minimal_server.c - a complete WebSocket echo server on poll(): the code to copy first
//
// Build: make examples    (or: cc -std=c99 -O2 -I. examples/minimal_server.c -o minimal_server)
// Run:   ./build/minimal_server 8083, then: echo hi | ./build/wscat ws://127.0.0.1:8083/
// It echoes every message of up to 64 KiB (larger: close 1009), pings a client silent for
// 30 s and drops it after 60 s, and answers a bad request with 400, 426 or 431. The parts
// marked "ws.h glue" are what a server of yours needs; the rest is a plain poll() loop over
// a fixed table of clients, each with a bounded output queue. Listens on 127.0.0.1 only.
#define _POSIX_C_SOURCE 200809L
#define WS_IMPLEMENTATION
#include "ws.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { MAX_CLIENTS = 64, HEAD_MAX = 8192, MSG_MAX = 65536, OUT_MAX = 4 * MSG_MAX };

typedef struct client {
    int      fd;                    // -1: a free slot
    uint64_t drop_at;               // once CLOSED or FAILED: when to give up on the client
    bool     fin_sent;              // shutdown(SHUT_WR) done: waiting for the client's FIN
    ws_conn  ws;
    ws_http  req;                   // the request head, parsed as it arrives in head[]
    char     head[HEAD_MAX];
    size_t   head_len;
    char     msg[MSG_MAX];          // whole messages are collected here
    char     out[OUT_MAX];          // the output queue: out[0..out_len-1] is unsent
    size_t   out_len;
} client;

static client clients[MAX_CLIENTS];
static ws_config cfg;               // one for every connection; zero fields are defaults

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void drop(client *cl) { close(cl->fd); cl->fd = -1; }

// ---- ws.h glue -----------------------------------------------------------------------------
// ws.h hands over the bytes to send: queue all of them, or fail (the connection fails).
static int on_send(ws_conn *c, const ws_buf *bufs, size_t n) {
    client *cl = (client *)c->user;
    size_t len = 0;
    for (size_t i = 0; i < n; i++) len += bufs[i].len;
    if (len > OUT_MAX - cl->out_len) return -1;            // the queue is full
    for (size_t i = 0; i < n; i++) {
        if (bufs[i].len) memcpy(cl->out + cl->out_len, bufs[i].data, bufs[i].len);
        cl->out_len += bufs[i].len;
    }
    return 0;
}

static void on_message(ws_conn *c, ws_opcode op, const void *data, size_t len) {
    int r = ws_conn_send(c, op, data, len);                 // the echo
    if (r != WS_OK) fprintf(stderr, "minimal_server: echo: %s\n", ws_strerror(r));
}

static void read_client(client *cl) {
    static char buf[65536];
    bool hs = ws_conn_state(&cl->ws) == WS_STATE_CONNECTING;     // still in the handshake
    char *p = hs ? cl->head + cl->head_len : buf;
    ssize_t n = recv(cl->fd, p, hs ? sizeof cl->head - cl->head_len : sizeof buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) { ws_conn_eof(&cl->ws); drop(cl); return; }  // TCP ended (1006 if early)
    if (cl->drop_at) return;                                // over: the rest is dropped
    int r = WS_OK;
    if (!hs) {
        r = ws_conn_feed(&cl->ws, buf, (size_t)n);          // calls on_message, answers pings
    } else {
        cl->head_len += (size_t)n;
        r = ws_http_parse_request(&cl->req, cl->head, cl->head_len);
        if (r == WS_HS_PARTIAL) return;                     // read more (8 KiB at most: 431)
        if (r == WS_HS_HTTP) r = WS_ERR_HS_CONNECTION;      // no plain HTTP here: 400
        if (r < 0) {                                        // 400, 426 or 431, then FAILED
            fprintf(stderr, "minimal_server: bad request: %s\n", ws_strerror(r));
            ws_conn_reject(&cl->ws, r);
            return;
        }
        r = ws_conn_set_buffer(&cl->ws, cl->msg, sizeof cl->msg);    // messages arrive whole
        if (r == WS_OK) r = ws_conn_accept(&cl->ws, &cl->req, NULL);  // 101 Switching Protocols
        if (r == WS_OK && cl->head_len > cl->req.size)      // frames sent right behind it
            r = ws_conn_feed(&cl->ws, cl->head + cl->req.size, cl->head_len - cl->req.size);
    }
    if (r != WS_OK) fprintf(stderr, "minimal_server: %s\n", ws_strerror(r));
}
// ---- end of ws.h glue (and three lines below: ws_conn_init, ws_conn_tick, ws_conn_deadline)

static void accept_client(int lfd) {
    int one = 1, fd = accept(lfd, NULL, NULL);
    client *cl = NULL;
    for (int i = 0; i < MAX_CLIENTS && !cl; i++)
        if (clients[i].fd < 0) cl = &clients[i];
    if (fd < 0) return;                                     // the client gave up meanwhile
    if (!cl || fcntl(fd, F_SETFL, O_NONBLOCK) != 0 ||       // no free slot: refused
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) { close(fd); return; }
    cl->fd = fd;
    cl->drop_at = cl->head_len = cl->out_len = 0;
    cl->fin_sent = false;
    ws_http_init(&cl->req, sizeof cl->head);
    int r = ws_conn_init(&cl->ws, &cfg, cl);                // ws.h glue: the handshake's
    if (r == WS_OK) r = ws_conn_tick(&cl->ws, now_ms());    // clock starts (10 s)
    if (r != WS_OK) { fprintf(stderr, "minimal_server: %s\n", ws_strerror(r)); drop(cl); }
}

int main(int argc, char **argv) {
    char *end = NULL;
    long port = argc == 2 ? strtol(argv[1], &end, 10) : 8080;
    if (argc == 2 && strcmp(argv[1], "--help") == 0) {
        printf("usage: %s [PORT]: a WebSocket echo on ws://127.0.0.1:PORT/ (0-65535, default "
               "8080; 0: any free port)\n", argv[0]);
        return 0;
    } else if (argc > 2 || (end && (end == argv[1] || *end || port < 0 || port > 65535))) {
        fprintf(stderr, "minimal_server: %s '%s' (usage: %s [PORT], PORT 0-65535)\n",
                argc > 2 ? "unexpected argument" : "bad port", argv[argc > 2 ? 2 : 1], argv[0]);
        return 2;
    }
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof addr;
    int one = 1, lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(lfd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(lfd, 64) != 0 ||
        fcntl(lfd, F_SETFL, O_NONBLOCK) != 0 ||
        getsockname(lfd, (struct sockaddr *)&addr, &alen) != 0) {
        perror("minimal_server: cannot listen on 127.0.0.1");
        return 1;
    }
    printf("minimal_server: listening on ws://127.0.0.1:%u/\n", ntohs(addr.sin_port));
    fflush(stdout);
    cfg.send = on_send;                                     // ws.h glue: the settings
    cfg.on_message = on_message;
    cfg.ping_interval_ms = 30000;       // a ping after 30 s of silence, dropped after 60 s
    for (int i = 0; i < MAX_CLIENTS; i++) clients[i].fd = -1;
    for (;;) {
        struct pollfd pfd[1 + MAX_CLIENTS] = { { .fd = lfd, .events = POLLIN } };
        uint64_t now = now_ms(), next = UINT64_MAX;
        for (int i = 0; i < MAX_CLIENTS; i++) {
            client *cl = &clients[i];
            pfd[1 + i].fd = cl->fd;                         // negative: poll skips it
            if (cl->fd < 0) continue;
            pfd[1 + i].events = cl->out_len ? POLLOUT : 0;
            if (cl->out_len < OUT_MAX / 4) pfd[1 + i].events |= POLLIN;    // back-pressure
            uint64_t due = cl->drop_at ? cl->drop_at : ws_conn_deadline(&cl->ws);
            if (due < next) next = due;
        }
        int wait = next <= now ? 0 : next - now > 60000 ? 60000 : (int)(next - now);
        if (poll(pfd, 1 + MAX_CLIENTS, wait) < 0 && errno != EINTR) {
            perror("minimal_server: poll");
            return 1;
        }
        if (pfd[0].revents & POLLIN) accept_client(lfd);
        now = now_ms();
        for (int i = 0; i < MAX_CLIENTS; i++) {
            client *cl = &clients[i];
            if (cl->fd >= 0 && pfd[1 + i].fd == cl->fd &&
                (pfd[1 + i].revents & (POLLIN | POLLHUP | POLLERR)))
                read_client(cl);
            if (cl->fd < 0) continue;
            int r = ws_conn_deadline(&cl->ws) <= now ? ws_conn_tick(&cl->ws, now) : WS_OK;
            if (r != WS_OK && !cl->drop_at)                 // ws.h glue: pings, timeouts
                fprintf(stderr, "minimal_server: %s\n", ws_strerror(r));
            ssize_t n = cl->out_len ? send(cl->fd, cl->out, cl->out_len, MSG_NOSIGNAL) : 0;
            if (n > 0) {                                    // the output queue moves on
                cl->out_len -= (size_t)n;
                memmove(cl->out, cl->out + n, cl->out_len);
            }
            // Over (CLOSED or FAILED): the output, then FIN; the client's FIN (or 5 s) ends it.
            if (ws_conn_state(&cl->ws) >= WS_STATE_CLOSED && !cl->drop_at) cl->drop_at = now + 5000;
            if (cl->drop_at && cl->out_len == 0 && !cl->fin_sent) {
                shutdown(cl->fd, SHUT_WR);                  // the server closes TCP first
                cl->fin_sent = true;
            }
            if ((n < 0 && errno != EAGAIN && errno != EINTR) || (cl->drop_at && now >= cl->drop_at))
                drop(cl);
        }
    }
}
