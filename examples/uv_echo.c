/* uv_echo.c - examples/echo_server.c on libuv's event loop: the same echo, the same page

   ws.h runs inside whatever loop you already have; here that loop is libuv's (Node's loop,
   and that of many C servers). Everything echo_server.c does, this does too (the streamed
   echo, gathering of small fragments, GET / and HEAD / of examples/echo.html, the limits
   and timeouts, close 1001 on Ctrl-C); what changes is who owns the sockets:
     - reads: uv_read_start's callback gets the bytes. The request head first, parsed with
       ws_http_parse_request over the bytes so far, then everything goes to ws_conn_feed;
     - writes: the send callback tries uv_try_write first, straight from ws.h's pieces, and
       copies only what the socket did not take into an output queue (examples/outq.h) for
       uv_write. Two queues take turns: the one uv_write is writing is left untouched until
       its callback (libuv keeps a pointer into it), new bytes go to the other;
     - back-pressure: uv_read_stop while 4 MiB wait for a client, uv_read_start once they
       are written; a client with 64 MiB waiting is dropped;
     - one uv_timer per connection, set after every event to ws_conn_deadline (or to the
       5 s given to a finished connection), calls ws_conn_tick: handshake 10 s, close 5 s,
       a ping after 30 s of silence, a drop after 75 s;
     - EOF or a read error: ws_conn_eof. A finished connection: its last bytes, then FIN
       (uv_shutdown), then uv_close when the client's FIN comes (5 s at most). The client is
       freed in the close callback of its last handle: libuv calls back pending writes
       (UV_ECANCELED) before that, so no buffer goes while libuv still points into it;
     - TCP_NODELAY on every connection (uv_tcp_nodelay); SIGINT and SIGTERM through
       uv_signal: close 1001 to every client, 2 s for their answers, then exit 0.
   The parts marked "ws.h glue" are what a libuv program of yours needs.

   Build:  make examples    (links -luv; without libuv1-dev, build/uv_echo only says so)
           (or: cc -std=c99 -O2 -I. examples/uv_echo.c -o build/uv_echo -luv)
   Run:    ./build/uv_echo 8084 [path/to/echo.html]        (listens on 127.0.0.1 only)
   Then:   open http://127.0.0.1:8084/, type a line, see it come back;
           or ./build/echo_client --check ws://127.0.0.1:8084/
   ECHO_PING_MS=200 in the environment makes keepalive quick (ping after 200 ms of silence,
   drop after 600 ms), for tests. Errors go to stderr, one line each.
*/
#define _POSIX_C_SOURCE 200809L
#define WS_IMPLEMENTATION
#include "ws.h"
#include "outq.h"
#include "net.h"                /* now_ms(): ws.h's clock, as in every example */

#include <signal.h>
#include <stdlib.h>

/* Built without libuv (no <uv.h>, or -DNO_LIBUV): a program that says so. */
#ifndef NO_LIBUV
#  if defined(__has_include)
#    if __has_include(<uv.h>)
#      define HAVE_LIBUV 1
#    endif
#  endif
#endif

#ifndef HAVE_LIBUV
int main(void) {
    fputs("uv_echo: built without libuv: apt-get install libuv1-dev, then make examples\n", stderr);
    return 2;
}
#else
#include <uv.h>

enum { ECHO_WAIT, ECHO_FRAME, ECHO_WHOLE, ECHO_FRAGMENTS };

enum {
    READ_SIZE   = 256 * 1024,   /* what one read may bring: one buffer shared by all */
    HEAD_MAX    = 8192,         /* request head limit; the buffer grows up to this */
    QUEUE_PAUSE = 4 << 20,      /* stop reading a client with this much output unsent */
    QUEUE_LIMIT = 64 << 20,     /* drop a client whose output would grow past this */
    CLOSE_MS    = 5000,         /* once done, time to send what is queued and get a FIN */
    GATHER      = 64 * 1024,    /* small fragments are echoed in frames of up to this */
    TRY_PIECES  = 8             /* uv_try_write takes ws.h's pieces when there are so few */
};

typedef struct client {
    uv_tcp_t      tcp;
    uv_timer_t    timer;        /* fires at ws_conn_deadline, or at close_by */
    uv_write_t    write_req;    /* the uv_write of `sending`, while `writing` */
    uv_shutdown_t shutdown_req;
    struct client *prev, *next;
    unsigned id;                /* for messages */
    int      handles;           /* libuv handles not closed yet (tcp, timer): freed at 0 */
    ws_conn  ws;
    bool     upgraded;          /* handshake done: bytes go to ws_conn_feed */
    bool     reading;           /* uv_read_start is on */
    bool     writing;           /* a uv_write of `sending` is under way */
    bool     closing;           /* send what is queued, then FIN */
    bool     dead;              /* close now, unsent output or not */
    bool     fin_sent;          /* uv_shutdown done: waiting for the client's FIN */
    bool     freeing;           /* uv_close called: only the close callbacks remain */
    uint64_t close_by;          /* once closing: when to give up on the client */
    int      echo;              /* how the message being echoed goes out: ECHO_* */
    ws_opcode echo_op;
    uint64_t echo_size, echo_got;   /* of the message being echoed */
    char    *gather;            /* pieces received, not echoed yet: gather[0..gather_len-1] */
    size_t   gather_len, gather_cap;
    char    *head;              /* request bytes, during the handshake only */
    size_t   head_len, head_cap;
    ws_http *req;               /* its parse so far, during the handshake only */
    outq     sending;           /* handed to uv_write: not touched until its callback */
    outq     waiting;           /* what came since: written when `sending` is done */
} client;

static uv_loop_t  *loop;
static uv_tcp_t    server;
static uv_signal_t sig_int, sig_term;
static uv_timer_t  give_up;     /* shutting down: 2 s for the clients' answers */
static bool        stopping, stopped;
static client     *clients;
static unsigned    next_id;
static char        readbuf[READ_SIZE];
static char       *page;        /* echo.html, read once at start */
static size_t      page_len;
static ws_config   cfg;         /* shared by every connection */

static size_t pending(const client *cl) {
    return outq_pending(&cl->sending) + outq_pending(&cl->waiting);
}

static void after(client *cl);

/* ---- writing: uv_try_write, then a queue for uv_write ------------------------------------ */

static void on_written(uv_write_t *req, int status);

/* Hands `waiting` to uv_write when nothing is being written: the two queues swap. */
static void start_write(client *cl) {
    if (cl->writing || cl->freeing || outq_pending(&cl->waiting) == 0) return;
    outq empty = cl->sending;
    cl->sending = cl->waiting;
    cl->waiting = empty;
    uv_buf_t b = uv_buf_init(cl->sending.buf + cl->sending.pos,
                             (unsigned)outq_pending(&cl->sending));
    int r = uv_write(&cl->write_req, (uv_stream_t *)&cl->tcp, &b, 1, on_written);
    if (r < 0) {
        fprintf(stderr, "uv_echo: client %u: write: %s\n", cl->id, uv_strerror(r));
        cl->dead = true;
        return;
    }
    cl->writing = true;
}

static void on_written(uv_write_t *req, int status) {
    client *cl = (client *)req->data;
    cl->writing = false;
    if (cl->freeing) return;            /* UV_ECANCELED: uv_close came first */
    if (status < 0) {                   /* the client is gone (reset) */
        cl->dead = true;
    } else {                            /* all of it went: the buffer is ours again */
        cl->sending.pos = cl->sending.len = 0;
        if (cl->sending.cap > OUTQ_KEEP) outq_free(&cl->sending);  /* after a burst */
        start_write(cl);
    }
    after(cl);
}

/* ---- ws.h glue: the send callback and the echo ------------------------------------------ */

/* ws.h hands over everything to send here. What the socket takes at once is written from
   ws.h's own pieces (no copy); the rest is copied to the queue (all of it or nothing: a
   client with QUEUE_LIMIT unsent is dropped) and uv_write takes it from there. */
static int on_send(ws_conn *c, const ws_buf *bufs, size_t n) {
    client *cl = (client *)c->user;
    ws_buf rest[TRY_PIECES];
    size_t done = 0, m = 0, i = 0;
    if (cl->dead || cl->freeing) return -1;
    if (!cl->writing && outq_pending(&cl->waiting) == 0 && n <= TRY_PIECES) {
        uv_buf_t b[TRY_PIECES];
        memset(b, 0, sizeof b);
        for (i = 0; i < n; i++) b[i] = uv_buf_init((char *)bufs[i].data, (unsigned)bufs[i].len);
        int r = uv_try_write((uv_stream_t *)&cl->tcp, b, (unsigned)n);
        if (r < 0 && r != UV_EAGAIN) return -1;         /* the client is gone */
        done = r > 0 ? (size_t)r : 0;
        for (i = 0; i < n && done >= bufs[i].len; i++) done -= bufs[i].len;
        if (i == n) return 0;                           /* all of it went */
        for (; i < n; i++, done = 0) {                  /* what is left of the pieces */
            rest[m].data = (const char *)bufs[i].data + done;
            rest[m++].len = bufs[i].len - done;
        }
        bufs = rest;
        n = m;
    }
    if (outq_push_bufs(&cl->waiting, bufs, n) != 0) {
        fprintf(stderr, "uv_echo: client %u: output queue full, dropping the client\n", cl->id);
        cl->dead = true;                /* a streamed frame may be cut: don't flush it */
        return -1;
    }
    start_write(cl);
    return 0;
}

static void echo_failed(client *cl, int err, const char *what) {
    if (!cl->dead)          /* else on_send said why */
        fprintf(stderr, "uv_echo: client %u: %s: %s\n", cl->id, what, ws_strerror(err));
    cl->dead = true;
}

/* The echo, streamed, as in echo_server.c (which says why in more words): binary of known
   size goes back as one frame, its payload passed on chunk by chunk; a message that arrives
   in one chunk goes back whole; anything else goes back in fragments, pieces smaller than
   GATHER gathered into one fragment first. */
static void on_begin(ws_conn *c, ws_opcode op, uint64_t size) {
    client *cl = (client *)c->user;
    cl->echo = ECHO_WAIT;
    cl->echo_op = op;
    cl->echo_size = size;
    cl->echo_got = 0;
    cl->gather_len = 0;
    if (op == WS_OP_BINARY && size != WS_SIZE_UNKNOWN) {
        int r = ws_conn_send_header(c, true, op, size);
        if (r != WS_OK) echo_failed(cl, r, "echo header");
        cl->echo = ECHO_FRAME;
    }
}

/* Room for len more gathered bytes (gather_len + len <= GATHER), doubling from 512 B. */
static int gather_room(client *cl, size_t len) {
    size_t cap = cl->gather_cap ? cl->gather_cap : 512;
    while (cap < cl->gather_len + len) cap *= 2;
    if (cap > cl->gather_cap) {
        char *p = (char *)realloc(cl->gather, cap);
        if (!p) return WS_ERR_NOSPACE;                     /* out of memory */
        cl->gather = p;
        cl->gather_cap = cap;
    }
    return WS_OK;
}

/* The next fragment of the echo: the first one carries the opcode. */
static int echo_fragment(client *cl, const void *data, size_t len) {
    if (cl->echo == ECHO_FRAGMENTS) return ws_conn_send_continue(&cl->ws, data, len);
    cl->echo = ECHO_FRAGMENTS;
    return ws_conn_send_begin(&cl->ws, cl->echo_op, data, len);
}

static void on_data(ws_conn *c, const void *data, size_t len) {
    client *cl = (client *)c->user;
    int r = WS_OK;
    if (len == 0) return;
    cl->echo_got += len;
    if (cl->echo == ECHO_FRAME) {
        r = ws_conn_send_payload(c, data, len);
    } else if (cl->echo == ECHO_WAIT && cl->gather_len == 0 && cl->echo_got == cl->echo_size) {
        r = ws_conn_send(c, cl->echo_op, data, len);        /* all of it in one chunk */
        cl->echo = ECHO_WHOLE;
    } else {
        if (cl->gather_len > 0 && len > GATHER - cl->gather_len) {     /* it would not fit */
            r = echo_fragment(cl, cl->gather, cl->gather_len);
            cl->gather_len = 0;
        }
        if (r == WS_OK && len >= GATHER) {
            r = echo_fragment(cl, data, len);               /* big enough as it is */
        } else if (r == WS_OK && (r = gather_room(cl, len)) == WS_OK) {
            memcpy(cl->gather + cl->gather_len, data, len);
            cl->gather_len += len;
        }
    }
    if (r != WS_OK) echo_failed(cl, r, "echo");
}

static void on_end(ws_conn *c) {
    client *cl = (client *)c->user;
    int r = WS_OK;
    if (cl->echo == ECHO_WAIT)          /* empty, or all of it gathered: one frame */
        r = ws_conn_send(c, cl->echo_op, cl->gather, cl->gather_len);
    else if (cl->echo == ECHO_FRAGMENTS)
        r = ws_conn_send_end(c, cl->gather, cl->gather_len);
    cl->gather_len = 0;
    if (cl->gather_cap > 4096) {        /* an idle client keeps 4 KiB of it at most */
        free(cl->gather);
        cl->gather = NULL;
        cl->gather_cap = 0;
    }
    if (r != WS_OK) echo_failed(cl, r, "echo end");
}

/* ---- plain HTTP: the page ----------------------------------------------------------------- */

static bool is(ws_str s, const char *lit) {
    return s.len == strlen(lit) && memcmp(s.ptr, lit, s.len) == 0;
}

/* A plain HTTP request: GET / is the page, HEAD / its head; anything else 404. */
static void serve_http(client *cl, const ws_http *req) {
    char head[256];
    bool head_only = is(req->method, "HEAD");
    bool found = page && (is(req->method, "GET") || head_only) && is(req->path, "/");
    const char *body = found ? page : "not found\n";
    size_t body_len = found ? page_len : 10;
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
                     found ? "200 OK" : "404 Not Found",
                     found ? "text/html; charset=utf-8" : "text/plain", body_len);
    if (outq_push(&cl->waiting, head, (size_t)n) != 0 ||
        (!head_only && outq_push(&cl->waiting, body, body_len) != 0))
        cl->dead = true;
    start_write(cl);
    cl->closing = true;
}

/* ---- ws.h glue: the handshake, then frames ------------------------------------------------- */

/* libuv asks where the next read goes: during the handshake, the end of the head buffer
   (grown as needed up to HEAD_MAX); after it, the buffer shared by all, since everything
   read is fed to ws.h at once. */
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    client *cl = (client *)h->data;
    (void)suggested;
    *buf = uv_buf_init(readbuf, sizeof readbuf);
    if (cl->upgraded || cl->closing) return;
    if (cl->head_len == cl->head_cap) {
        size_t cap = cl->head_cap ? cl->head_cap * 2 : 1024;
        char *p = (char *)realloc(cl->head, cap);
        if (!p) { *buf = uv_buf_init(NULL, 0); return; }       /* read_cb: UV_ENOBUFS */
        cl->head = p;
        cl->head_cap = cap;
    }
    *buf = uv_buf_init(cl->head + cl->head_len, (unsigned)(cl->head_cap - cl->head_len));
}

/* n more bytes of the request head arrived: parse what we have so far. */
static void read_handshake(client *cl, size_t n) {
    if (!cl->req) {
        cl->req = (ws_http *)malloc(sizeof *cl->req);
        if (!cl->req) { cl->dead = true; return; }
        ws_http_init(cl->req, HEAD_MAX);
    }
    cl->head_len += n;
    ws_http *req = cl->req;
    int r = ws_http_parse_request(req, cl->head, cl->head_len);
    if (r == WS_HS_PARTIAL && cl->head_len < HEAD_MAX) return;
    if (r == WS_HS_PARTIAL) r = WS_ERR_HS_TOO_BIG;
    if (r == WS_HS_HTTP) { serve_http(cl, req); return; }
    if (r < 0) {
        char resp[256];
        size_t len;
        fprintf(stderr, "uv_echo: client %u: bad handshake: %s\n", cl->id, ws_strerror(r));
        int e = ws_handshake_reject(resp, sizeof resp, &len, r);
        if (e != WS_OK || outq_push(&cl->waiting, resp, len) != 0) cl->dead = true;
        start_write(cl);
        cl->closing = true;
        return;
    }
    r = ws_conn_accept(&cl->ws, req, NULL);            /* the 101, through on_send */
    if (r != WS_OK) { echo_failed(cl, r, "ws_conn_accept"); return; }
    cl->upgraded = true;
    if (cl->head_len > req->size) {                     /* frames sent right behind it */
        r = ws_conn_feed(&cl->ws, cl->head + req->size, cl->head_len - req->size);
        if (r != WS_OK) fprintf(stderr, "uv_echo: client %u: %s\n", cl->id, ws_strerror(r));
    }
    free(cl->head);
    free(cl->req);
    cl->head = NULL;
    cl->req = NULL;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
    client *cl = (client *)s->data;
    if (n == 0 || cl->freeing) return;                  /* nothing this time */
    if (n < 0) {            /* UV_EOF, a reset, or UV_ENOBUFS: expected once we sent FIN */
        ws_conn_eof(&cl->ws);   /* FAILED (1006) unless the close handshake was done */
        cl->dead = true;
    } else if (cl->closing) {
        /* done: discard what comes until the client's FIN */
    } else if (!cl->upgraded) {
        read_handshake(cl, (size_t)n);
    } else {
        int r = ws_conn_feed(&cl->ws, buf->base, (size_t)n);    /* on_begin/data/end */
        if (r != WS_OK) fprintf(stderr, "uv_echo: client %u: %s\n", cl->id, ws_strerror(r));
    }
    after(cl);
}

/* The connection's timer: ws.h's pings and timeouts, or the end of a finished connection.
   (libuv's timers run on uv_now, which lags now_ms() by the time spent in this turn of the
   loop: a wake-up that comes a little early finds nothing due, and after() sets it again.) */
static void on_timer(uv_timer_t *t) {
    client *cl = (client *)t->data;
    uint64_t now = now_ms();
    if (cl->close_by) {
        if (now >= cl->close_by) cl->dead = true;
    } else if (ws_conn_deadline(&cl->ws) <= now) {
        int r = ws_conn_tick(&cl->ws, now);
        if (r != WS_OK) fprintf(stderr, "uv_echo: client %u: %s\n", cl->id, ws_strerror(r));
        if (r == WS_ERR_TIMEOUT) cl->dead = true;       /* the client is gone */
    }
    after(cl);
}
/* ---- end of ws.h glue (and in on_connection: ws_conn_init, the first ws_conn_tick) ------- */

/* ---- the rest of the loop: when to read, FIN, timers, closing ------------------------------ */

static void maybe_stopped(void);

static void on_closed(uv_handle_t *h) {
    client *cl = (client *)h->data;
    if (--cl->handles > 0) return;      /* the last close callback: nothing points here now */
    if (cl->prev) cl->prev->next = cl->next; else clients = cl->next;
    if (cl->next) cl->next->prev = cl->prev;
    free(cl->head);
    free(cl->req);
    free(cl->gather);
    outq_free(&cl->sending);
    outq_free(&cl->waiting);
    free(cl);
    maybe_stopped();
}

static void drop(client *cl) {
    if (cl->freeing) return;
    cl->freeing = true;
    uv_close((uv_handle_t *)&cl->tcp, on_closed);      /* cancels its write and shutdown */
    uv_close((uv_handle_t *)&cl->timer, on_closed);
}

static void on_shutdown(uv_shutdown_t *req, int status) { (void)req; (void)status; }

/* After every event of a client: FIN once it is done, reading on or off, the timer. */
static void after(client *cl) {
    if (cl->freeing) return;
    if (cl->dead) { drop(cl); return; }
    ws_state s = ws_conn_state(&cl->ws);
    if (s == WS_STATE_CLOSED || s == WS_STATE_FAILED) cl->closing = true;
    if (cl->closing && cl->close_by == 0) cl->close_by = now_ms() + CLOSE_MS;
    if (cl->closing && !cl->fin_sent && !cl->writing && pending(cl) == 0) {
        /* the server closes TCP first (RFC 6455 7.1.1) */
        if (uv_shutdown(&cl->shutdown_req, (uv_stream_t *)&cl->tcp, on_shutdown) != 0) {
            drop(cl);
            return;
        }
        cl->fin_sent = true;
    }
    bool want = pending(cl) < QUEUE_PAUSE;              /* back-pressure */
    if (want != cl->reading) {
        int r = want ? uv_read_start((uv_stream_t *)&cl->tcp, on_alloc, on_read)
                     : uv_read_stop((uv_stream_t *)&cl->tcp);
        if (r != 0) {
            fprintf(stderr, "uv_echo: client %u: read: %s\n", cl->id, uv_strerror(r));
            drop(cl);
            return;
        }
        cl->reading = want;
    }
    uint64_t due = cl->close_by ? cl->close_by : ws_conn_deadline(&cl->ws), now = now_ms();
    if (due == UINT64_MAX) uv_timer_stop(&cl->timer);
    else uv_timer_start(&cl->timer, on_timer, due > now ? due - now : 0, 0);
}

static void free_handle(uv_handle_t *h) { free(h); }

static void on_connection(uv_stream_t *listener, int status) {
    if (status < 0) {
        fprintf(stderr, "uv_echo: accept: %s\n", uv_strerror(status));
        return;
    }
    client *cl = (client *)calloc(1, sizeof *cl);
    if (!cl) {      /* libuv accepts no one else until this one is taken: take it, close it */
        uv_tcp_t *t = (uv_tcp_t *)malloc(sizeof *t);
        fputs("uv_echo: out of memory, refusing a connection\n", stderr);
        if (t && uv_tcp_init(loop, t) == 0) {
            uv_accept(listener, (uv_stream_t *)t);
            uv_close((uv_handle_t *)t, free_handle);
        } else {
            free(t);
        }
        return;
    }
    uv_tcp_init(loop, &cl->tcp);
    uv_timer_init(loop, &cl->timer);
    cl->tcp.data = cl->timer.data = cl->write_req.data = cl;
    cl->handles = 2;
    cl->id = ++next_id;
    cl->next = clients;
    if (clients) clients->prev = cl;
    clients = cl;
    cl->sending.limit = cl->waiting.limit = QUEUE_LIMIT;
    int r = uv_accept(listener, (uv_stream_t *)&cl->tcp);
    if (r == 0) r = uv_tcp_nodelay(&cl->tcp, 1);        /* frames are small: no Nagle */
    if (r != 0) {
        fprintf(stderr, "uv_echo: accept: %s\n", uv_strerror(r));
        drop(cl);
        return;
    }
    r = ws_conn_init(&cl->ws, &cfg, cl);                /* ws.h glue: the */
    if (r == WS_OK) r = ws_conn_tick(&cl->ws, now_ms());    /* handshake clock starts */
    if (r != WS_OK) echo_failed(cl, r, "ws_conn_init");
    after(cl);                                          /* starts reading, and the timer */
}

/* ---- shutting down: close 1001 to every client, 2 s for their answers ---------------------- */

static void on_give_up(uv_timer_t *t) {
    (void)t;
    for (client *cl = clients; cl; cl = cl->next) drop(cl);   /* freed in callbacks later */
}

/* Once every client is gone, the loop's last handles close and uv_run returns. */
static void maybe_stopped(void) {
    if (!stopping || clients || stopped) return;
    stopped = true;
    uv_close((uv_handle_t *)&sig_int, NULL);
    uv_close((uv_handle_t *)&sig_term, NULL);
    uv_close((uv_handle_t *)&give_up, NULL);
}

static void on_signal(uv_signal_t *s, int signum) {
    (void)s;
    (void)signum;
    if (stopping) return;
    stopping = true;
    printf("uv_echo: shutting down\n");
    fflush(stdout);
    uv_close((uv_handle_t *)&server, NULL);             /* no new clients */
    for (client *cl = clients; cl; cl = cl->next) {
        if (cl->upgraded && ws_conn_state(&cl->ws) == WS_STATE_OPEN) {
            int r = ws_conn_close(&cl->ws, WS_CLOSE_GOING_AWAY, "server shutting down", 20);
            if (r != WS_OK) {   /* e.g. in the middle of echoing a frame: just go */
                fprintf(stderr, "uv_echo: client %u: close: %s\n", cl->id, ws_strerror(r));
                cl->closing = true;
            }
        } else if (!cl->upgraded) {
            cl->closing = true;
        }
        after(cl);              /* may drop it: freed later, in a close callback */
    }
    uv_timer_start(&give_up, on_give_up, 2000, 0);
    maybe_stopped();
}

/* ---- main ----------------------------------------------------------------------------------- */

static void load_page(const char *path) {
    FILE *f = fopen(path, "rb");
    static char buf[64 * 1024];
    if (!f) {
        fprintf(stderr, "uv_echo: %s: %s (GET / will answer 404)\n", path, strerror(errno));
        return;
    }
    page_len = fread(buf, 1, sizeof buf, f);
    if (ferror(f)) perror("uv_echo: reading the page");
    else page = buf;
    fclose(f);
}

static const char usage[] =
    "usage: uv_echo [--help] PORT [PAGE]\n"
    "  examples/echo_server.c on libuv: echoes every WebSocket message on\n"
    "  ws://127.0.0.1:PORT/ and serves a page to try it.\n"
    "  PORT   0-65535 on 127.0.0.1 (0: any free port, printed)\n"
    "  PAGE   the page for GET / (default examples/echo.html; unreadable: GET / is 404)\n"
    "  ECHO_PING_MS=MS in the environment: a ping after MS of silence, a drop after 3 x MS\n"
    "  (default 30000 and 75000)\n";

/* One line: what was wrong with the command line, and what was wanted. */
static int bad_usage(const char *what, const char *arg, const char *want) {
    fprintf(stderr, "uv_echo: %s%s%s%s: %s (see --help)\n", what, arg ? " '" : "",
            arg ? arg : "", arg ? "'" : "", want);
    return 2;
}

int main(int argc, char **argv) {
    char *end = NULL;
    long port = argc >= 2 ? strtol(argv[1], &end, 10) : -1;
    if (argc >= 2 && strcmp(argv[1], "--help") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc < 2) return bad_usage("no PORT", NULL, "usage: uv_echo [--help] PORT [PAGE]");
    if (argv[1][0] == '-' && !(argv[1][1] >= '0' && argv[1][1] <= '9'))
        return bad_usage("unknown option", argv[1], "the only option is --help");
    if (end == argv[1] || *end || port < 0 || port > 65535)
        return bad_usage("bad port", argv[1], "want a number 0-65535");
    if (argc > 3) return bad_usage("unexpected argument", argv[3], "usage: uv_echo PORT [PAGE]");
    load_page(argc == 3 ? argv[2] : "examples/echo.html");

    cfg.send = on_send;                 /* ws.h glue: the settings every connection shares */
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

    struct sigaction sa;                /* a write to a reset socket: an error, not a signal */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);

    loop = uv_default_loop();
    struct sockaddr_in addr;
    int alen = (int)sizeof addr;
    int r = uv_ip4_addr("127.0.0.1", (int)port, &addr);
    if (r == 0) r = uv_tcp_init(loop, &server);
    if (r == 0) r = uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0);
    if (r == 0) r = uv_listen((uv_stream_t *)&server, 128, on_connection);
    if (r == 0) r = uv_tcp_getsockname(&server, (struct sockaddr *)&addr, &alen);
    if (r != 0) {
        fprintf(stderr, "uv_echo: cannot listen on 127.0.0.1:%ld: %s%s\n", port, uv_strerror(r),
                r == UV_EADDRINUSE ? " (another program has this port: choose another)" : "");
        return 1;
    }
    uv_signal_init(loop, &sig_int);
    uv_signal_init(loop, &sig_term);
    uv_signal_start(&sig_int, on_signal, SIGINT);
    uv_signal_start(&sig_term, on_signal, SIGTERM);
    uv_timer_init(loop, &give_up);
    printf("uv_echo: listening on http://127.0.0.1:%u/ (WebSocket: ws://127.0.0.1:%u/, libuv %s)\n",
           ntohs(addr.sin_port), ntohs(addr.sin_port), uv_version_string());
    fflush(stdout);

    uv_run(loop, UV_RUN_DEFAULT);       /* until the last handle is closed */
    uv_loop_close(loop);
    return 0;
}
#endif /* HAVE_LIBUV */
