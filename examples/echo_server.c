/* echo_server.c - echoes every WebSocket message back to any number of clients

   Shows how ws.h sits inside an ordinary non-blocking epoll loop:
     - the handshake parsed from a small growable buffer, plain HTTP served on the same port
       (GET / answers examples/echo.html, anything else 404);
     - messages of any size (16 MiB and more) echoed *through*, chunk by chunk as they
       arrive: nothing is held per message;
     - a per-connection output queue filled by the send callback and written with one
       send() per wake-up, EPOLLOUT when the socket is full, and back-pressure: a client
       whose output piles up (4 MiB) is not read from until it drains;
     - out of file descriptors, it stops accepting for 100 ms at a time (no busy loop) and
       keeps serving the clients it has;
     - handshake (10 s) and close (5 s) timeouts and keepalive (a ping after 30 s of
       silence, drop after 75 s) driven by ws_conn_deadline / ws_conn_tick.

   Build:  make examples
           (or: cc -std=c99 -O2 -I. examples/echo_server.c -o build/echo_server)
   Run:    ./build/echo_server 8080 [path/to/echo.html]      (listens on 127.0.0.1 only)
   Then:   open http://127.0.0.1:8080/ in a browser, type a line, see it come back;
           or ./build/echo_client --check ws://127.0.0.1:8080/
   ECHO_PING_MS=200 in the environment makes keepalive quick (ping after 200 ms of silence,
   drop after 600 ms), for tests.
   Ctrl-C (or SIGTERM) sends close 1001 to every client, waits (2 s at most) for their
   answers, and exits with status 0.
   Errors are printed on stderr, one line each, with ws_strerror's text.
*/
#define _POSIX_C_SOURCE 200809L
#define WS_IMPLEMENTATION
#include "ws.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { ECHO_WAIT, ECHO_FRAME, ECHO_WHOLE, ECHO_FRAGMENTS };

enum {
    READ_SIZE   = 256 * 1024,   /* one recv() per wake-up, into one buffer shared by all */
    HEAD_MAX    = 8192,         /* request head limit; the buffer grows up to this */
    QUEUE_PAUSE = 4 << 20,      /* stop reading a client with this much output unsent */
    QUEUE_LIMIT = 64 << 20,     /* drop a client whose output would grow past this */
    CLOSE_MS    = 5000,         /* once done, time to send what is queued and get a FIN */
    ACCEPT_PAUSE_MS = 100       /* out of file descriptors: stop accepting this long */
};

typedef struct client {
    struct client *prev, *next;
    int      fd;
    uint32_t events;            /* what epoll watches for now */
    ws_conn  ws;
    bool     upgraded;          /* handshake done: bytes go to ws_conn_feed */
    int      echo;              /* how the message being echoed goes out: ECHO_* */
    ws_opcode echo_op;
    uint64_t echo_size, echo_got;   /* of the message being echoed */
    bool     closing;           /* send what is queued, then close */
    bool     dead;              /* close now, unsent output or not */
    bool     fin_sent;          /* shutdown(SHUT_WR) done: waiting for the client's FIN */
    uint64_t close_by;          /* once closing: when to give up on the client */
    char    *head;              /* request bytes, during the handshake only */
    size_t   head_len, head_cap;
    ws_http *req;               /* its parse so far (1.2 KiB), during the handshake only */
    char    *out;               /* output queue: out[pos..len-1] is unsent */
    size_t   out_pos, out_len, out_cap;
} client;

static volatile sig_atomic_t stop;
static client   *clients;
static int       epfd, lfd;     /* epoll, and the listening socket */
static uint64_t  accept_resume; /* when not 0: the listener is paused until then */
static char      readbuf[READ_SIZE];
static char     *page;          /* echo.html, read once at start */
static size_t    page_len;
static ws_config cfg;           /* shared by every connection */

static void on_signal(int sig) { (void)sig; stop = 1; }

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static size_t pending(const client *cl) { return cl->out_len - cl->out_pos; }

/* Appends to the output queue. Fails when the client already has QUEUE_LIMIT unsent. */
static int enqueue(client *cl, const void *data, size_t len) {
    if (len > (size_t)QUEUE_LIMIT - pending(cl)) return -1;
    if (len > cl->out_cap - cl->out_len && cl->out_pos > 0) {   /* reclaim sent bytes */
        memmove(cl->out, cl->out + cl->out_pos, pending(cl));
        cl->out_len -= cl->out_pos;
        cl->out_pos = 0;
    }
    if (len > cl->out_cap - cl->out_len) {
        size_t cap = cl->out_cap ? cl->out_cap : 256;      /* idle clients stay small */
        while (cap - cl->out_len < len) cap *= 2;
        char *p = realloc(cl->out, cap);
        if (!p) return -1;
        cl->out = p;
        cl->out_cap = cap;
    }
    memcpy(cl->out + cl->out_len, data, len);
    cl->out_len += len;
    return 0;
}

/* ws.h hands us everything to send here: queue it, the event loop writes it. */
static int on_send(ws_conn *c, const ws_buf *bufs, size_t n) {
    client *cl = (client *)c->user;
    for (size_t i = 0; i < n; i++) {
        if (enqueue(cl, bufs[i].data, bufs[i].len) != 0) {
            fprintf(stderr, "echo_server: fd %d: output queue full, dropping the client\n",
                    cl->fd);
            cl->dead = true;            /* the queue ends mid-frame: don't flush it */
            return -1;
        }
    }
    return 0;
}

static void echo_failed(client *cl, int err, const char *what) {
    if (!cl->dead)          /* else on_send said why */
        fprintf(stderr, "echo_server: fd %d: %s: %s\n", cl->fd, what, ws_strerror(err));
    cl->dead = true;
}

/* The echo, streamed: every received chunk goes straight back out, nothing is held.
   - Binary of known size (it came in one frame): one frame header now, then the payload
     chunk by chunk with ws_conn_send_payload.
   - Text, or a fragmented message: text is validated as it arrives and may turn bad
     halfway; ws.h must then send close 1007, which it can between fragments but not inside
     a frame whose length is already announced. So: one frame if the whole message comes in
     one chunk (the usual case), else a fragment per chunk. */
static void on_begin(ws_conn *c, ws_opcode op, uint64_t size) {
    client *cl = (client *)c->user;
    cl->echo = ECHO_WAIT;
    cl->echo_op = op;
    cl->echo_size = size;
    cl->echo_got = 0;
    if (op == WS_OP_BINARY && size != WS_SIZE_UNKNOWN) {
        int r = ws_conn_send_header(c, true, op, size);
        if (r != WS_OK) echo_failed(cl, r, "echo header");
        cl->echo = ECHO_FRAME;
    }
}

static void on_data(ws_conn *c, const void *data, size_t len) {
    client *cl = (client *)c->user;
    int r;
    if (len == 0) return;
    cl->echo_got += len;
    if (cl->echo == ECHO_FRAME) {
        r = ws_conn_send_payload(c, data, len);
    } else if (cl->echo == ECHO_WAIT && cl->echo_got == cl->echo_size) {
        r = ws_conn_send(c, cl->echo_op, data, len);
        cl->echo = ECHO_WHOLE;
    } else if (cl->echo == ECHO_WAIT) {
        r = ws_conn_send_begin(c, cl->echo_op, data, len);
        cl->echo = ECHO_FRAGMENTS;
    } else {
        r = ws_conn_send_continue(c, data, len);
    }
    if (r != WS_OK) echo_failed(cl, r, "echo");
}

static void on_end(ws_conn *c) {
    client *cl = (client *)c->user;
    int r = WS_OK;
    if (cl->echo == ECHO_WAIT) r = ws_conn_send(c, cl->echo_op, NULL, 0);    /* empty */
    if (cl->echo == ECHO_FRAGMENTS) r = ws_conn_send_end(c, NULL, 0);
    if (r != WS_OK) echo_failed(cl, r, "echo end");
}

static void watch(client *cl, uint32_t events) {
    if (cl->events == events) return;
    struct epoll_event ev = { .events = events, .data.ptr = cl };
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, cl->fd, &ev) != 0) {
        perror("echo_server: epoll_ctl");
        cl->dead = true;
        return;
    }
    cl->events = events;
}

static void client_free(client *cl) {
    if (cl->prev) cl->prev->next = cl->next; else clients = cl->next;
    if (cl->next) cl->next->prev = cl->prev;
    close(cl->fd);                      /* also removes it from epoll */
    free(cl->head);
    free(cl->req);
    free(cl->out);
    free(cl);
}

/* Out of file descriptors (or memory), accept() fails at once with the connection still
   waiting, and a level-triggered listener would wake us forever: stop watching it for a
   moment instead, keep serving the clients we have, and accept again when fds are free. */
static void pause_accepting(bool pause) {
    struct epoll_event ev = { .events = pause ? 0 : EPOLLIN, .data.ptr = NULL };
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, lfd, &ev) != 0) perror("echo_server: epoll_ctl");
    accept_resume = pause ? now_ms() + ACCEPT_PAUSE_MS : 0;
}

static void accept_clients(void) {
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                perror("echo_server: accept (pausing for 100 ms)");
                pause_accepting(true);
            } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
                       errno != ECONNABORTED) {
                perror("echo_server: accept");
            }
            return;
        }
        client *cl = (client *)calloc(1, sizeof *cl);
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = cl };
        if (!cl || fcntl(fd, F_SETFL, O_NONBLOCK) != 0 ||
            epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            perror("echo_server: new connection");
            free(cl);
            close(fd);
            continue;
        }
        cl->fd = fd;
        cl->events = EPOLLIN;
        cl->next = clients;
        if (clients) clients->prev = cl;
        clients = cl;
        int r = ws_conn_init(&cl->ws, &cfg, cl);
        if (r == WS_OK) r = ws_conn_tick(&cl->ws, now_ms());    /* handshake clock starts */
        if (r != WS_OK) echo_failed(cl, r, "ws_conn_init");
    }
}

static void serve_http(client *cl, const ws_http *req) {
    char head[256];
    bool found = page && req->method.len == 3 && memcmp(req->method.ptr, "GET", 3) == 0 &&
                 req->path.len == 1 && req->path.ptr[0] == '/';
    const char *body = found ? page : "not found\n";
    size_t body_len = found ? page_len : 10;
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
                     found ? "200 OK" : "404 Not Found",
                     found ? "text/html; charset=utf-8" : "text/plain", body_len);
    if (enqueue(cl, head, (size_t)n) != 0 || enqueue(cl, body, body_len) != 0)
        cl->dead = true;
    cl->closing = true;
}

/* Handshake: read into a buffer that grows up to HEAD_MAX, parse what we have so far. */
static void read_handshake(client *cl) {
    if (!cl->req) {
        cl->req = (ws_http *)malloc(sizeof *cl->req);
        if (!cl->req) { cl->dead = true; return; }
        ws_http_init(cl->req, HEAD_MAX);
    }
    if (cl->head_len == cl->head_cap) {
        size_t cap = cl->head_cap ? cl->head_cap * 2 : 1024;
        char *p = realloc(cl->head, cap);
        if (!p) { cl->dead = true; return; }
        cl->head = p;
        cl->head_cap = cap;
    }
    ssize_t n = recv(cl->fd, cl->head + cl->head_len, cl->head_cap - cl->head_len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    if (n <= 0) { cl->dead = true; return; }            /* gave up, or reset */
    cl->head_len += (size_t)n;

    /* The parser remembers how far it looked, so each call scans only the new bytes, and
       it makes its slices only once the head is complete: the buffer may move as it grows. */
    ws_http *req = cl->req;
    int r = ws_http_parse_request(req, cl->head, cl->head_len);
    if (r == WS_HS_PARTIAL && cl->head_len < HEAD_MAX) return;
    if (r == WS_HS_PARTIAL) r = WS_ERR_HS_TOO_BIG;
    if (r == WS_HS_HTTP) { serve_http(cl, req); return; }
    if (r < 0) {
        char resp[256];
        size_t len;
        fprintf(stderr, "echo_server: fd %d: bad handshake: %s\n", cl->fd, ws_strerror(r));
        int e = ws_handshake_reject(resp, sizeof resp, &len, r);
        if (e != WS_OK || enqueue(cl, resp, len) != 0) cl->dead = true;
        cl->closing = true;
        return;
    }
    r = ws_conn_accept(&cl->ws, req, NULL);            /* the 101 goes to the queue */
    if (r != WS_OK) { echo_failed(cl, r, "ws_conn_accept"); return; }
    cl->upgraded = true;
    if (cl->head_len > req->size) {                     /* frames sent right behind it */
        r = ws_conn_feed(&cl->ws, cl->head + req->size, cl->head_len - req->size);
        if (r != WS_OK) fprintf(stderr, "echo_server: fd %d: %s\n", cl->fd, ws_strerror(r));
    }
    free(cl->head);
    free(cl->req);
    cl->head = NULL;
    cl->req = NULL;
}

static void read_client(client *cl) {
    if (!cl->upgraded && !cl->closing) { read_handshake(cl); return; }
    ssize_t n = recv(cl->fd, readbuf, sizeof readbuf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    if (n <= 0) {           /* EOF or reset: expected once we sent FIN, abrupt before */
        cl->dead = true;
        return;
    }
    if (cl->closing) return;                            /* done: discard */
    int r = ws_conn_feed(&cl->ws, readbuf, (size_t)n);
    if (r != WS_OK) fprintf(stderr, "echo_server: fd %d: %s\n", cl->fd, ws_strerror(r));
}

/* One send() of everything queued; then decide what to wait for. */
static void flush_client(client *cl) {
    if (cl->dead) return;
    ws_state s = ws_conn_state(&cl->ws);
    if (s == WS_STATE_CLOSED || s == WS_STATE_FAILED) cl->closing = true;
    if (pending(cl) > 0) {
        ssize_t n = send(cl->fd, cl->out + cl->out_pos, pending(cl), MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            cl->dead = true;
            return;
        }
        if (n > 0) cl->out_pos += (size_t)n;
        if (pending(cl) == 0) {
            cl->out_pos = cl->out_len = 0;
            if (cl->out_cap > (1u << 20)) {         /* give back what a big echo took */
                free(cl->out);
                cl->out = NULL;
                cl->out_cap = 0;
            }
        }
    }
    if (cl->closing && cl->close_by == 0) cl->close_by = now_ms() + CLOSE_MS;
    if (cl->closing && pending(cl) == 0 && !cl->fin_sent) {
        shutdown(cl->fd, SHUT_WR);      /* the server closes TCP first (RFC 6455 7.1.1) */
        cl->fin_sent = true;
    }
    uint32_t ev = 0;
    if (pending(cl) < QUEUE_PAUSE) ev |= EPOLLIN;
    if (pending(cl) > 0) ev |= EPOLLOUT;
    watch(cl, ev);
}

/* Runs the timers that are due; returns the epoll timeout until the next one. */
static int run_timers(void) {
    uint64_t now = now_ms(), next = UINT64_MAX;
    client *cl = clients;
    if (accept_resume && accept_resume <= now) pause_accepting(false);
    if (accept_resume) next = accept_resume;
    while (cl) {
        client *next_cl = cl->next;
        if (cl->dead) { client_free(cl); cl = next_cl; continue; }
        uint64_t due = cl->close_by ? cl->close_by : ws_conn_deadline(&cl->ws);
        if (due <= now) {
            if (cl->close_by) {
                cl->dead = true;
            } else {
                int r = ws_conn_tick(&cl->ws, now);
                if (r != WS_OK)
                    fprintf(stderr, "echo_server: fd %d: %s\n", cl->fd, ws_strerror(r));
                if (r == WS_ERR_TIMEOUT) cl->dead = true;   /* the client is gone */
                flush_client(cl);
                due = cl->close_by ? cl->close_by : ws_conn_deadline(&cl->ws);
            }
        }
        if (cl->dead) client_free(cl);
        else if (due < next) next = due;
        cl = next_cl;
    }
    if (next == UINT64_MAX) return -1;
    return next <= now ? 0 : next - now > 60000 ? 60000 : (int)(next - now);
}

static void load_page(const char *path) {
    FILE *f = fopen(path, "rb");
    static char buf[64 * 1024];
    if (!f) {
        fprintf(stderr, "echo_server: %s: %s (GET / will answer 404)\n", path, strerror(errno));
        return;
    }
    page_len = fread(buf, 1, sizeof buf, f);
    if (ferror(f)) perror("echo_server: reading the page");
    else page = buf;
    fclose(f);
}

int main(int argc, char **argv) {
    char *end;
    long port = argc >= 2 ? strtol(argv[1], &end, 10) : -1;
    if (argc < 2 || argc > 3 || *end || port < 0 || port > 65535) {
        fprintf(stderr, "usage: %s PORT [echo.html]\n", argv[0]);
        return 2;
    }
    load_page(argc == 3 ? argv[2] : "examples/echo.html");

    cfg.send = on_send;
    cfg.on_begin = on_begin;
    cfg.on_data = on_data;
    cfg.on_end = on_end;
    cfg.handshake_timeout_ms = 10000;
    cfg.close_timeout_ms = 5000;
    cfg.ping_interval_ms = 30000;       /* keepalive: a ping after 30 s of silence, */
    cfg.timeout_ms = 75000;             /* and a client silent for 75 s is dropped */
    const char *ping = getenv("ECHO_PING_MS");  /* tests: ping after MS, drop after 3 MS */
    if (ping && atoi(ping) > 0) {
        cfg.ping_interval_ms = (uint32_t)atoi(ping);
        cfg.timeout_ms = 3 * cfg.ping_interval_ms;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = on_signal;          /* no SA_RESTART: epoll_wait returns EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof addr;
    int one = 1;
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    epfd = epoll_create1(0);
    struct epoll_event lev = { .events = EPOLLIN, .data.ptr = NULL };
    if (lfd < 0 || epfd < 0 ||
        setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(lfd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(lfd, 128) != 0 ||
        fcntl(lfd, F_SETFL, O_NONBLOCK) != 0 ||
        epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev) != 0 ||
        getsockname(lfd, (struct sockaddr *)&addr, &alen) != 0) {
        perror("echo_server: listen");
        return 1;
    }
    printf("echo_server: listening on ws://127.0.0.1:%u/\n", ntohs(addr.sin_port));
    fflush(stdout);

    while (!stop) {
        struct epoll_event evs[64];
        int n = epoll_wait(epfd, evs, 64, run_timers());
        if (n < 0 && errno != EINTR) { perror("echo_server: epoll_wait"); break; }
        for (int i = 0; i < n; i++) {
            client *cl = (client *)evs[i].data.ptr;
            if (!cl) { accept_clients(); continue; }
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) read_client(cl);
            flush_client(cl);
            if (cl->dead) client_free(cl);
        }
    }

    /* Shutting down: close 1001 to every client, then up to 2 s for their answers, so that
       their side sees a clean close rather than a reset. */
    printf("echo_server: shutting down\n");
    if (!accept_resume) epoll_ctl(epfd, EPOLL_CTL_DEL, lfd, NULL);
    accept_resume = 0;
    for (client *cl = clients; cl; cl = cl->next) {
        if (cl->upgraded && ws_conn_state(&cl->ws) == WS_STATE_OPEN) {
            int r = ws_conn_close(&cl->ws, WS_CLOSE_GOING_AWAY, "server shutting down", 20);
            if (r != WS_OK) {   /* e.g. in the middle of echoing a frame: just go */
                fprintf(stderr, "echo_server: fd %d: close: %s\n", cl->fd, ws_strerror(r));
                cl->closing = true;
            }
        } else if (!cl->upgraded) {
            cl->closing = true;
        }
        flush_client(cl);
    }
    for (uint64_t give_up = now_ms() + 2000; clients && now_ms() < give_up;) {
        struct epoll_event evs[64];
        int n = epoll_wait(epfd, evs, 64, 50);
        for (int i = 0; i < n; i++) {
            client *cl = (client *)evs[i].data.ptr;
            if (!cl) continue;
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) read_client(cl);
            flush_client(cl);
            if (cl->dead) client_free(cl);
        }
        run_timers();
    }
    while (clients) client_free(clients);
    close(lfd);
    close(epfd);
    return 0;
}
