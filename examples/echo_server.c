/* echo_server.c - echoes every WebSocket message back to any number of clients

   Shows how ws.h sits inside an ordinary non-blocking epoll loop:
     - the handshake parsed from a small growable buffer, plain HTTP served on the same port
       (GET or HEAD / answers examples/echo.html, anything else 404);
     - messages of any size (16 MiB and more) echoed *through*, chunk by chunk as they
       arrive, never held whole; a message that comes in many small fragments goes back in
       fewer, larger ones (up to 64 KiB gathered per client while the message lasts);
     - the echo of one read written with one sendmsg(), its payload straight from the read
       buffer where ws.h unmasked it (no copy); only what the socket does not take goes to
       the output queue of examples/outq.h, written on EPOLLOUT, with back-pressure: a
       client whose output piles up (4 MiB) is not read from until it drains (64 MiB:
       dropped);
     - an idle client holds no buffer: one read buffer serves all, and the queue, the
       handshake's buffers and the gathering of fragments are allocated while in use only;
       an idle client is its struct alone (ws_conn and 16 bytes: 248 in all), in a table
       indexed by its file descriptor (blocks of 256, allocated as descriptors reach them);
     - out of file descriptors, it stops accepting for 100 ms at a time (no busy loop) and
       keeps serving the clients it has;
     - handshake (10 s) and close (5 s) timeouts and keepalive (a ping after 30 s of
       silence, drop after 75 s) driven by ws_conn_deadline / ws_conn_tick;
     - with --cert and --key, https and wss on the same port: ws.h's TLS layer between
       the socket and everything above, which stays as it is (the page, the upgrade, the
       echo). The TLS handshake happens while the ws_conn is CONNECTING, so the handshake
       timeout bounds it too.
   The parts marked "ws.h glue" are what your server needs (the send callback, the echo,
   the handshake, feed and tick, and with TLS ws_tls_init, _feed, _send, _close); the rest
   is the event loop you already have, examples/net.h (listen, accept with TCP_NODELAY,
   the clock) and examples/tls.h (certificate files).

   Build:  make examples      (with TLS when mbedTLS is installed: apt-get install
           libmbedtls-dev; or: cc -std=c99 -O2 -I. examples/echo_server.c -o build/echo_server,
           adding -DWS_MBEDTLS ... -lmbedtls -lmbedx509 -lmbedcrypto for TLS)
   Run:    ./build/echo_server 8082 [path/to/echo.html]      (listens on 127.0.0.1 only)
           ./build/echo_server --cert server.pem --key server.key 8443    (https, wss)
   Then:   open http://127.0.0.1:8082/ in a browser, type a line, see it come back;
           or ./build/echo_client --check ws://127.0.0.1:8082/
           (over TLS: https://localhost:8443/, or build/wscat --ca ca.pem wss://localhost:8443/)
   ECHO_PING_MS=200 in the environment makes keepalive quick (ping after 200 ms of silence,
   drop after 600 ms), for tests. ./build/echo_server --help lists all this.
   Ctrl-C (or SIGTERM) sends close 1001 to every client, waits (2 s at most) for their
   answers, and exits with status 0.
   Errors are printed on stderr, one line each, with ws_strerror's text.
*/
#define _POSIX_C_SOURCE 200809L
#define WS_DEFLATE                      /* permessage-deflate: what browsers send compressed */
#define WS_IMPLEMENTATION
#include "ws.h"
#include "outq.h"
#include "net.h"
#include "tls.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>

enum { ECHO_WAIT, ECHO_FRAME, ECHO_WHOLE, ECHO_FRAGMENTS };

enum {
    READ_SIZE   = 256 * 1024,   /* one recv() per wake-up, into one buffer shared by all
                                   (1 MiB measured no faster, at 16 MiB messages too) */
    HEAD_MAX    = 8192,         /* request head limit; the buffer grows up to this */
    QUEUE_PAUSE = 4 << 20,      /* stop reading a client with this much output unsent */
    QUEUE_LIMIT = 64 << 20,     /* drop a client whose output would grow past this */
    CLOSE_MS    = 5000,         /* once done, time to send what is queued and get a FIN */
    ACCEPT_PAUSE_MS = 100,      /* out of file descriptors: stop accepting this long */
    TIMER_SLACK_MS = 25,        /* timers run at most this often (see run_timers) */
    GATHER      = 64 * 1024     /* small fragments are echoed in frames of up to this */
};

/* What a client holds only while it needs it: allocated when the handshake starts, when
   output waits for the socket, while small fragments are gathered, once it is closing, or
   for as long as it has TLS or permessage-deflate (which hold far more than this anyway);
   freed as soon as none of these is true, so an idle client is the struct below alone. */
typedef struct busy {
    ws_tls  *tls;               /* with --cert: the TLS under it all; NULL: plain TCP */
    ws_inflate *inflate;        /* permessage-deflate agreed: its decoder, window behind it */
    outq     out;               /* what the socket did not take yet (examples/outq.h) */
    char    *head;              /* request bytes, during the handshake only */
    size_t   head_len, head_cap;
    ws_http *req;               /* its parse so far (1.2 KiB), during the handshake only */
    char    *gather;            /* pieces received, not echoed yet: gather[0..gather_len-1] */
    size_t   gather_len, gather_cap;    /* cap grows to GATHER; freed after each message */
    uint64_t close_by;          /* once closing: when to give up on the client */
} busy;

/* A client: slot fd of the table. ws.user is its busy part (NULL while idle); ws comes
   first, so the ws_conn that ws.h's callbacks get is the client. */
typedef struct client {
    ws_conn  ws;
    int      fd;
    uint32_t echo_left;         /* bytes of the message being echoed not seen yet, when its
                                   size is known and below 4 GiB; else UINT32_MAX */
    bool     upgraded : 1;      /* handshake done: bytes go to ws_conn_feed */
    bool     closing : 1;       /* send what is queued, then close */
    bool     dead : 1;          /* close now, unsent output or not */
    bool     fin_sent : 1;      /* shutdown(SHUT_WR) done: waiting for the client's FIN */
    bool     tls_closed : 1;    /* close_notify sent */
    bool     want_in : 1, want_out : 1;     /* what epoll watches for now */
    bool     live : 1;          /* the slot holds a client */
    uint8_t  echo;              /* how the message being echoed goes out: ECHO_* */
    uint8_t  echo_op;           /* its opcode */
} client;
/* what an idle client costs: its slot (ws_conn and 16 bytes) */
typedef char client_is_248_bytes[sizeof(void *) != 8 || sizeof(client) <= 248 ? 1 : -1];

static volatile sig_atomic_t stop;
static bool      deflate_on = true; /* --no-deflate: decline permessage-deflate */
static bool      takeover;      /* --takeover: each client's echoes compressed with its own
                                   window, kept from message to message */
/* permessage-deflate's encoder memory, one for every connection (nothing is kept in it
   between messages: each echo is compressed on its own): a 64 KiB hash table and room for
   a 64 KiB piece compressed, in which longer echoes go out */
static uint32_t  zd_table[1 << 14];
static uint8_t   zd_out[72 * 1024];
static ws_deflate zd = { .table = zd_table, .table_bits = 14, .out = zd_out,
                         .out_cap = sizeof zd_out };
/* The clients, by file descriptor: blocks of CLIENT_BLOCK slots, allocated (zeroed) when a
   descriptor first falls in one, so the table costs what the descriptors in use need. */
enum { CLIENT_BLOCK = 256 };
static client  **blocks;
static size_t    nblocks;       /* blocks[0..nblocks-1]: each NULL or CLIENT_BLOCK slots */
static size_t    nclients;      /* live ones */
static int       epfd, lfd;     /* epoll, and the listening socket */
static uint64_t  accept_resume; /* when not 0: the listener is paused until then */
static char      readbuf[READ_SIZE];
static char     *page;          /* echo.html, read once at start */
static size_t    page_len;
static ws_config cfg;           /* shared by every connection */
static ws_tls_config tls_cfg;   /* with --cert: shared by every TLS connection */
static bool      use_tls;
static char      plain[TLS_RECORD];     /* what TLS decrypts, used up in on_tls_data */

static void on_signal(int sig) { (void)sig; stop = 1; }

/* The slot for descriptor fd (a new block if need be), or NULL when out of memory. */
static client *client_slot(int fd) {
    size_t i = (size_t)fd / CLIENT_BLOCK;
    if (i >= nblocks) {
        size_t n = nblocks ? nblocks : 16;
        while (n <= i) n *= 2;
        client **p = (client **)realloc(blocks, n * sizeof *p);
        if (!p) return NULL;
        memset(p + nblocks, 0, (n - nblocks) * sizeof *p);
        blocks = p;
        nblocks = n;
    }
    if (!blocks[i] && !(blocks[i] = (client *)calloc(CLIENT_BLOCK, sizeof **blocks))) return NULL;
    return &blocks[i][(size_t)fd % CLIENT_BLOCK];
}

/* The client in slot i (of nblocks * CLIENT_BLOCK), or NULL. */
static client *client_at(size_t i) {
    client *b = blocks[i / CLIENT_BLOCK];
    return b && b[i % CLIENT_BLOCK].live ? &b[i % CLIENT_BLOCK] : NULL;
}

static busy *busy_of(const client *cl) { return (busy *)cl->ws.user; }
static ws_tls *tls_of(const client *cl) { return cl->ws.user ? busy_of(cl)->tls : NULL; }
static ws_inflate *inflate_of(const client *cl) {
    return cl->ws.user ? busy_of(cl)->inflate : NULL;
}

static size_t pending(const client *cl) { return cl->ws.user ? outq_pending(&busy_of(cl)->out) : 0; }

/* The client's busy part, allocated when first needed. NULL when out of memory. */
static busy *need_busy(client *cl) {
    busy *b = busy_of(cl);
    if (!b && (b = (busy *)calloc(1, sizeof *b)) != NULL) {
        b->out.limit = QUEUE_LIMIT;
        cl->ws.user = b;
    }
    return b;
}

/* Frees the busy part once nothing in it is in use: an idle client holds no buffer. */
static void maybe_idle(client *cl) {
    busy *b = busy_of(cl);
    if (b && !b->head && !b->req && !b->gather && !b->out.buf && !b->close_by && !b->tls &&
        !b->inflate) {
        free(b);
        cl->ws.user = NULL;
    }
}

/* ---- the echo of one read, written with one sendmsg() ------------------------------------- */

/* While the bytes of one recv() are fed (and nothing older waits in the client's queue),
   what ws.h sends is not copied into a queue: the payload it echoes is in readbuf, unmasked
   in place, and goes to the socket from there. Pieces of DIRECT_MIN bytes or more in
   readbuf are referred to; everything else (frame headers, small payloads, the 101, a pong)
   is copied into txbuf, next to the bytes before it. After the feed, one sendmsg() writes
   it all, and only what the socket did not take is copied into the client's queue. */
enum { DIRECT_MIN = 1024, TX_IOV = 64, TX_SIZE = 64 * 1024 };
static struct iovec tx_iov[TX_IOV];
static int      tx_n;           /* tx_iov[0..tx_n-1] wait */
static char     txbuf[TX_SIZE]; /* the copied pieces */
static size_t   tx_len;
static client  *tx_cl;          /* the client being fed, while its output goes to tx_iov */

static bool in_readbuf(const void *p, size_t len) {
    uintptr_t a = (uintptr_t)p, lo = (uintptr_t)readbuf;
    return a >= lo && a - lo <= sizeof readbuf && len <= sizeof readbuf - (a - lo);
}

/* Takes all of bufs[0..n-1] into tx_iov, or none (returns false: too many pieces). */
static bool tx_add(const ws_buf *bufs, size_t n) {
    size_t copy = 0, iovs = 0;
    for (size_t i = 0; i < n; i++) {
        if (bufs[i].len >= DIRECT_MIN && in_readbuf(bufs[i].data, bufs[i].len)) iovs += 2;
        else copy += bufs[i].len;
    }
    if (copy > TX_SIZE - tx_len || iovs + 1 > (size_t)(TX_IOV - tx_n)) return false;
    for (size_t i = 0; i < n; i++) {
        const char *d = (const char *)bufs[i].data;
        size_t len = bufs[i].len;
        if (len == 0) continue;
        if (len >= DIRECT_MIN && in_readbuf(d, len)) {
            tx_iov[tx_n].iov_base = (void *)(uintptr_t)d;
            tx_iov[tx_n++].iov_len = len;
            continue;
        }
        memcpy(txbuf + tx_len, d, len);
        if (tx_n > 0 && (char *)tx_iov[tx_n - 1].iov_base + tx_iov[tx_n - 1].iov_len ==
                            txbuf + tx_len) {
            tx_iov[tx_n - 1].iov_len += len;            /* right after the last copy */
        } else {
            tx_iov[tx_n].iov_base = txbuf + tx_len;
            tx_iov[tx_n++].iov_len = len;
        }
        tx_len += len;
    }
    return true;
}

/* Copies tx_iov[from..tx_n-1] (skipping `skip` bytes of the first) into the client's
   queue and empties tx_iov. Returns 0, or -1 when the queue is full or out of memory. */
static int tx_spill(client *cl, int from, size_t skip) {
    int r = 0;
    for (int i = from; i < tx_n && r == 0; i++, skip = 0) {
        busy *b = need_busy(cl);
        r = b ? outq_push(&b->out, (char *)tx_iov[i].iov_base + skip, tx_iov[i].iov_len - skip)
              : -1;
    }
    tx_n = 0;
    tx_len = 0;
    return r;
}

/* After the feed: one sendmsg() of what waits in tx_iov, the rest to the queue. Returns
   true when the socket did not take it all (no point in another send now). */
static bool tx_flush(client *cl) {
    bool full = false;
    tx_cl = NULL;
    if (tx_n == 0) return false;
    if (cl->dead) {                     /* it goes: nothing more is written */
        tx_n = 0;
        tx_len = 0;
        return true;
    }
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_iov = tx_iov;
    m.msg_iovlen = (size_t)tx_n;
    ssize_t w = sendmsg(cl->fd, &m, MSG_NOSIGNAL);
    if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        cl->dead = true;                /* the peer is gone */
        tx_n = 0;
        tx_len = 0;
        return true;
    }
    size_t done = w > 0 ? (size_t)w : 0;
    int i = 0;
    while (i < tx_n && done >= tx_iov[i].iov_len) done -= tx_iov[i++].iov_len;
    full = i < tx_n;
    if (tx_spill(cl, i, done) != 0 && !cl->dead) {
        fprintf(stderr, "echo_server: fd %d: output queue full, dropping the client\n", cl->fd);
        cl->dead = true;
    }
    return full;
}

/* ---- ws.h glue: the send callback and the echo ------------------------------------------ */

/* ws.h hands us everything to send here: to the socket with the rest of this read's echo
   (above), or to the queue (all or nothing), which the event loop writes; with TLS, it is
   encrypted first (ws_tls_send calls on_tls_send with the records). A client with
   QUEUE_LIMIT unsent is dropped. */
static int on_send(ws_conn *c, const ws_buf *bufs, size_t n) {
    client *cl = (client *)c;
    ws_tls *tls = tls_of(cl);
    if (tls) return ws_tls_send(tls, bufs, n) == WS_OK ? 0 : -1;
    if (cl == tx_cl && tx_add(bufs, n)) return 0;
    if (cl == tx_cl && tx_spill(cl, 0, 0) != 0) cl->dead = true;    /* keep the order */
    tx_cl = NULL;                       /* the rest of this read goes to the queue */
    busy *b = cl->dead ? NULL : need_busy(cl);
    if (!b || outq_push_bufs(&b->out, bufs, n) != 0) {
        fprintf(stderr, "echo_server: fd %d: output queue full, dropping the client\n", cl->fd);
        cl->dead = true;                /* a streamed frame may be cut: don't flush it */
        return -1;
    }
    return 0;
}

/* ws.h glue (TLS): the records to send go to the same queue. */
static int on_tls_send(ws_tls *t, const void *data, size_t len) {
    client *cl = (client *)t->user;
    busy *b = need_busy(cl);
    if (!b || outq_push(&b->out, data, len) != 0) {
        fprintf(stderr, "echo_server: fd %d: output queue full, dropping the client\n", cl->fd);
        cl->dead = true;
        return -1;
    }
    return 0;
}

/* Bytes we write around ws_conn (plain HTTP answers, a handshake refused): through TLS
   when there is one. Returns 0, or -1 when the client is to be dropped. */
static int put(client *cl, const void *data, size_t len) {
    ws_buf b = { data, len };
    ws_tls *tls = tls_of(cl);
    if (tls) return ws_tls_send(tls, &b, 1) == WS_OK ? 0 : -1;
    return on_send(&cl->ws, &b, 1);
}

static void echo_failed(client *cl, int err, const char *what) {
    if (!cl->dead)          /* else on_send said why */
        fprintf(stderr, "echo_server: fd %d: %s: %s\n", cl->fd, what, ws_strerror(err));
    cl->dead = true;
}

/* The echo, streamed: what arrives goes straight back out, and nothing is held whole.
   - Binary of known size (it came in one frame, uncompressed, and compression was not
     agreed): one frame header now, then the payload chunk by chunk with
     ws_conn_send_payload.
   - Anything else (text, or a fragmented message) goes back as one frame when it arrives
     in one chunk (the usual case), else in fragments. Text is validated as it arrives and
     may turn bad halfway; ws.h must then send close 1007, which it can between fragments
     but not inside a frame whose length is already announced.
   - Small fragments are gathered: pieces under DIRECT_MIN are copied into gather, which
     goes out as one fragment when the next piece would not fit (GATHER) or the message
     ends, so a message sent in 64-byte fragments does not come back as thousands of frames
     (4 MiB: 64 frames). A larger piece goes through as it is, without a copy. (A client
     that waits for the echo of each fragment before it sends the next would wait: the
     echo of a message is only due when the message is complete.) */
static void on_begin(ws_conn *c, ws_opcode op, uint64_t size) {
    client *cl = (client *)c;
    cl->echo = ECHO_WAIT;
    cl->echo_op = (uint8_t)op;
    cl->echo_left = size < UINT32_MAX ? (uint32_t)size : UINT32_MAX;
    /* (not when permessage-deflate was agreed: ws_conn_send_header's frames go as they are) */
    if (op == WS_OP_BINARY && size != WS_SIZE_UNKNOWN && !inflate_of(cl)) {
        int r = ws_conn_send_header(c, true, op, size);
        if (r != WS_OK) echo_failed(cl, r, "echo header");
        cl->echo = ECHO_FRAME;
    }
}

static size_t gathered(const client *cl) { return cl->ws.user ? busy_of(cl)->gather_len : 0; }

/* Room for len more gathered bytes (gather_len + len <= GATHER): the buffer grows by
   doubling, so a message split across two reads costs a few hundred bytes, not 64 KiB. */
static int gather_room(client *cl, size_t len) {
    busy *b = need_busy(cl);
    if (!b) return WS_ERR_NOSPACE;
    size_t cap = b->gather_cap ? b->gather_cap : 512;
    while (cap < b->gather_len + len) cap *= 2;
    if (cap > b->gather_cap) {
        char *p = (char *)realloc(b->gather, cap);
        if (!p) return WS_ERR_NOSPACE;                     /* out of memory */
        b->gather = p;
        b->gather_cap = cap;
    }
    return WS_OK;
}

/* The next fragment of the echo: the first one carries the opcode. */
static int echo_fragment(client *cl, const void *data, size_t len) {
    if (cl->echo == ECHO_FRAGMENTS) return ws_conn_send_continue(&cl->ws, data, len);
    cl->echo = ECHO_FRAGMENTS;
    return ws_conn_send_begin(&cl->ws, (ws_opcode)cl->echo_op, data, len);
}

/* Sends what was gathered as the next fragment. */
static int echo_gathered(client *cl) {
    busy *b = busy_of(cl);
    int r = echo_fragment(cl, b->gather, b->gather_len);
    b->gather_len = 0;
    return r;
}

static void on_data(ws_conn *c, const void *data, size_t len) {
    client *cl = (client *)c;
    int r = WS_OK;
    if (len == 0) return;
    bool last = cl->echo_left == len;           /* the whole rest of a message of known size */
    if (cl->echo_left != UINT32_MAX) cl->echo_left -= (uint32_t)len;
    if (cl->echo == ECHO_FRAME) {
        r = ws_conn_send_payload(c, data, len);
    } else if (cl->echo == ECHO_WAIT && last && gathered(cl) == 0) {
        r = ws_conn_send(c, (ws_opcode)cl->echo_op, data, len);    /* all of it at once */
        cl->echo = ECHO_WHOLE;
    } else {
        size_t have = gathered(cl);
        if (have > 0 && (len >= DIRECT_MIN || len > GATHER - have))   /* it goes first */
            r = echo_gathered(cl);
        if (r == WS_OK && len >= DIRECT_MIN) {
            r = echo_fragment(cl, data, len);               /* big enough as it is */
        } else if (r == WS_OK && (r = gather_room(cl, len)) == WS_OK) {
            busy *b = busy_of(cl);
            memcpy(b->gather + b->gather_len, data, len);
            b->gather_len += len;
        }
    }
    if (r != WS_OK) echo_failed(cl, r, "echo");
}

static void on_end(ws_conn *c) {
    client *cl = (client *)c;
    busy *b = busy_of(cl);
    const char *rest = b ? b->gather : NULL;
    size_t rest_len = gathered(cl);
    int r = WS_OK;
    if (cl->echo == ECHO_WAIT)          /* empty, or all of it gathered: one frame */
        r = ws_conn_send(c, (ws_opcode)cl->echo_op, rest, rest_len);
    else if (cl->echo == ECHO_FRAGMENTS)
        r = ws_conn_send_end(c, rest, rest_len);
    if (b && b->gather) {               /* an idle client keeps none of it */
        free(b->gather);
        b->gather = NULL;
        b->gather_len = b->gather_cap = 0;
    }
    if (r != WS_OK) echo_failed(cl, r, "echo end");
}

/* ---- the event loop: yours ----------------------------------------------------------------- */

static void watch(client *cl, bool in, bool out) {
    if (cl->want_in == in && cl->want_out == out) return;
    struct epoll_event ev = { .events = (in ? EPOLLIN : 0u) | (out ? EPOLLOUT : 0u),
                              .data.ptr = cl };
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, cl->fd, &ev) != 0) {
        perror("echo_server: epoll_ctl");
        cl->dead = true;
        return;
    }
    cl->want_in = in;
    cl->want_out = out;
}

static void client_free(client *cl) {
    busy *b = busy_of(cl);
    close(cl->fd);                      /* also removes it from epoll */
    if (b) {
        free(b->head);
        free(b->req);
        free(b->gather);
        outq_free(&b->out);
        free(b->inflate);
        if (b->tls) {
            ws_tls_free(b->tls);        /* mbedTLS's buffers for this connection */
            free(b->tls);
        }
        free(b);
    }
    memset(cl, 0, sizeof *cl);          /* the slot is free (not live) */
    nclients--;
}

static uint64_t timers_due = UINT64_MAX;   /* run_timers looks at every client from then */

static uint64_t client_due(const client *cl) {
    const busy *b = busy_of(cl);
    return b && b->close_by ? b->close_by : ws_conn_deadline(&cl->ws);
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
        int fd = net_accept(lfd);       /* non-blocking, TCP_NODELAY */
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                perror("echo_server: accept (pausing for 100 ms)");
                pause_accepting(true);
            } else if (!net_accept_done(errno)) {
                perror("echo_server: accept");
            }
            return;
        }
        client *cl = client_slot(fd);   /* free: its last client closed this fd */
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = cl };
        if (!cl || epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            perror("echo_server: new connection");
            close(fd);
            continue;
        }
        cl->fd = fd;
        cl->live = true;
        cl->want_in = true;
        nclients++;
        int r = ws_conn_init(&cl->ws, &cfg, NULL);              /* ws.h glue: the */
        if (r == WS_OK) r = ws_conn_tick(&cl->ws, now_ms());    /* handshake clock starts */
        if (r == WS_OK && use_tls) {        /* ws.h glue (TLS): it waits for a ClientHello */
            busy *b = need_busy(cl);
            ws_tls *t = b ? (ws_tls *)malloc(sizeof *t) : NULL;
            r = t ? ws_tls_init(t, &tls_cfg, NULL, plain, sizeof plain, cl) : WS_ERR_NOSPACE;
            if (t) b->tls = t;              /* (client_free frees it, set up or not) */
        }
        if (r != WS_OK) echo_failed(cl, r, "new connection");
        if (cl->dead) client_free(cl);
        else if (client_due(cl) < timers_due) timers_due = client_due(cl);
    }
}

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
    if (put(cl, head, (size_t)n) != 0 || (!head_only && put(cl, body, body_len) != 0))
        cl->dead = true;
    cl->closing = true;
}

/* ---- ws.h glue: the handshake, then frames ------------------------------------------------- */

static void got_bytes(client *cl, char *data, size_t len);

/* Handshake: the request head collects in a buffer that grows up to HEAD_MAX and is parsed
   as it comes; the bytes after it are the first frames. */
static void read_handshake(client *cl, char *data, size_t len) {
    busy *b = need_busy(cl);
    if (!b) { cl->dead = true; return; }
    if (!b->req) {
        b->req = (ws_http *)malloc(sizeof *b->req);
        if (!b->req) { cl->dead = true; return; }
        ws_http_init(b->req, HEAD_MAX);
    }
    size_t take = len < HEAD_MAX - b->head_len ? len : HEAD_MAX - b->head_len;
    if (b->head_len + take > b->head_cap) {
        size_t cap = b->head_cap ? b->head_cap : 1024;
        while (cap < b->head_len + take) cap *= 2;
        char *p = realloc(b->head, cap);
        if (!p) { cl->dead = true; return; }
        b->head = p;
        b->head_cap = cap;
    }
    memcpy(b->head + b->head_len, data, take);
    b->head_len += take;

    /* The parser remembers how far it looked, so each call scans only the new bytes, and
       it makes its slices only once the head is complete: the buffer may move as it grows. */
    ws_http *req = b->req;
    int r = ws_http_parse_request(req, b->head, b->head_len);
    if (r == WS_HS_PARTIAL && b->head_len < HEAD_MAX) return;
    if (r == WS_HS_PARTIAL) r = WS_ERR_HS_TOO_BIG;
    if (r == WS_HS_HTTP) { serve_http(cl, req); return; }
    if (r < 0) {
        char resp[256];
        size_t n;
        fprintf(stderr, "echo_server: fd %d: bad handshake: %s\n", cl->fd, ws_strerror(r));
        int e = ws_handshake_reject(resp, sizeof resp, &n, r);
        if (e != WS_OK || put(cl, resp, n) != 0) cl->dead = true;
        cl->closing = true;
        return;
    }
    /* ws.h glue (permessage-deflate): take the client's offer when there is one. Messages
       it compresses are inflated as they arrive (a 2^bits window per connection); the
       echoes are compressed each on its own (no context kept: server_no_context_takeover;
       with --takeover, when the client allows it, each client's with its own window)
       with the encoder memory every connection shares, except those under 64 bytes or
       that do not shrink, which go as they are (RFC 7692 allows it) */
    ws_accept_opts opts = { NULL, NULL, NULL };
    ws_deflate_params pmd;
    char ext[129];                  /* the longest answer, 128 bytes, and its NUL */
    size_t ext_len = 0;
    ws_deflate_window *zw = NULL;
    if (deflate_on && ws_deflate_accept(req, 15, !takeover, &pmd, ext, sizeof ext, &ext_len) == 1) {
        size_t win = (size_t)1 << pmd.client_max_window_bits;
        /* --takeover, when the client allows it: the encoder's own window of 2^15 bytes and
           a table of 2^10 entries too (36,904 bytes more), in the same block */
        bool own = takeover && !pmd.server_no_context_takeover;
        size_t more = own ? sizeof *zw + 4 * 1024 + 32768 : 0;
        /* malloc, and all but the decoder's window zeroed: that window need not be (the
           decoder reads no byte of it that it has not written), so its pages are not
           touched, nor resident, until messages fill them; calloc cleared reused heap
           memory and made an idle compressed connection cost the whole 2^15, 35 KB */
        if ((b->inflate = (ws_inflate *)malloc(sizeof *b->inflate + more + win)) != NULL) {
            uint8_t *mem = (uint8_t *)(b->inflate + 1);
            memset(b->inflate, 0, sizeof *b->inflate + more);
            if (own) {
                zw = (ws_deflate_window *)(void *)mem;
                zw->table = (uint32_t *)(void *)(mem + sizeof *zw);
                zw->table_bits = 10;
                zw->window = mem + sizeof *zw + 4 * 1024;
                zw->window_bits = 15;
            }
            ws_inflate_init(b->inflate, mem + more, win);
            opts.extensions = ext;
        }
    }
    r = ws_conn_accept_opts(&cl->ws, req, &opts);      /* the 101 goes to the queue */
    if (r == WS_OK && opts.extensions)
        r = ws_conn_set_inflate(&cl->ws, b->inflate, pmd.client_no_context_takeover);
    if (r == WS_OK && opts.extensions)
        r = ws_conn_set_deflate(&cl->ws, &zd, pmd.server_max_window_bits);
    if (r == WS_OK && zw) r = ws_conn_set_deflate_window(&cl->ws, zw);
    if (r != WS_OK) { echo_failed(cl, r, "ws_conn_accept"); return; }
    cl->upgraded = true;
    if (b->head_len > req->size)                        /* frames sent right behind it */
        got_bytes(cl, b->head + req->size, b->head_len - req->size);
    free(b->head);
    free(b->req);
    b->head = NULL;
    b->req = NULL;
    b->head_len = b->head_cap = 0;
    if (take < len) got_bytes(cl, data + take, len - take);
}

/* What the client sent (over TLS: once decrypted): the handshake, then frames. */
static void got_bytes(client *cl, char *data, size_t len) {
    if (cl->closing || cl->dead) return;                /* done: discard */
    if (!cl->upgraded) { read_handshake(cl, data, len); return; }
    int r = ws_conn_feed(&cl->ws, data, len);          /* calls on_begin/data/end */
    if (r != WS_OK) fprintf(stderr, "echo_server: fd %d: %s\n", cl->fd, ws_strerror(r));
}

/* ws.h glue (TLS): what the records held, decrypted into plain[]. */
static void on_tls_data(ws_tls *t, void *data, size_t len) {
    got_bytes((client *)t->user, (char *)data, len);
}

/* Reads what the client sent (one recv() per wake-up) and feeds it; returns true when the
   echo went to the socket and did not all fit (no point in another send() now). */
static bool read_client(client *cl) {
    ssize_t n = recv(cl->fd, readbuf, sizeof readbuf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return false;
    if (n <= 0) {           /* EOF or reset: expected once we sent FIN, abrupt before */
        ws_conn_eof(&cl->ws);   /* ws.h glue: FAILED (1006) unless the close was done */
        cl->dead = true;
        return false;
    }
    if (cl->closing) return false;                      /* done: discard */
    ws_tls *tls = tls_of(cl);
    if (!tls) {
        if (pending(cl) == 0) tx_cl = cl;               /* its echo goes out from readbuf */
        got_bytes(cl, readbuf, (size_t)n);
        return tx_flush(cl);
    }
    int r = ws_tls_feed(tls, readbuf, (size_t)n);      /* ws.h glue (TLS): on_tls_data */
    if (r == WS_ERR_EOF) {                              /* close_notify: TLS is over */
        ws_conn_eof(&cl->ws);
        cl->closing = true;
    } else if (r != WS_OK) {        /* not TLS, a bad record, an alert: the alert goes out */
        fprintf(stderr, "echo_server: fd %d: TLS: %s\n", cl->fd, ws_tls_why(tls));
        cl->closing = true;
    }
    return false;
}

/* ---- the event loop again ------------------------------------------------------------------ */

/* One send() of everything queued (unless the socket was just found full); then decide
   what to wait for, give back the busy part if it is not needed, and note the client's
   next deadline. */
static void flush_client(client *cl, bool full) {
    if (cl->dead) return;
    ws_state s = ws_conn_state(&cl->ws);
    if (s == WS_STATE_CLOSED || s == WS_STATE_FAILED) cl->closing = true;
    ws_tls *tls = tls_of(cl);
    if (cl->closing && tls && !cl->tls_closed) {
        cl->tls_closed = true;
        if (ws_tls_ready(tls)) ws_tls_close(tls);       /* ws.h glue (TLS): close_notify */
    }
    busy *b = busy_of(cl);
    if (!full && b && outq_flush(&b->out, cl->fd) != 0) {      /* one send() */
        cl->dead = true;
        return;
    }
    if (cl->closing && !(b && b->close_by)) {
        if (!(b = need_busy(cl))) { cl->dead = true; return; }
        b->close_by = now_ms() + CLOSE_MS;
    }
    if (cl->closing && pending(cl) == 0 && !cl->fin_sent) {
        shutdown(cl->fd, SHUT_WR);      /* the server closes TCP first (RFC 6455 7.1.1) */
        cl->fin_sent = true;
    }
    watch(cl, pending(cl) < QUEUE_PAUSE, pending(cl) > 0);
    maybe_idle(cl);
    uint64_t due = client_due(cl);
    if (due == 0 && !cl->dead) {        /* ws.h asks for a tick to stamp its clock (a client */
        ws_conn_tick(&cl->ws, now_ms());    /* just opened): here, not by a scan of all; it */
        due = client_due(cl);               /* sends nothing at once, as no time has passed */
    }
    if (due < timers_due) timers_due = due;
}

/* Runs the timers that are due; returns the epoll timeout until the next one. Only when
   one is due does it look at every client (a deadline moves earlier only through an event
   on that client, and flush_client notes it), so 100,000 idle clients cost nothing; and at
   most every TIMER_SLACK_MS, running whatever is due then, so that deadlines spread over
   time do not make a scan of every client each millisecond. */
static int run_timers(void) {
    uint64_t now = now_ms();
    if (accept_resume && accept_resume <= now) pause_accepting(false);
    if (timers_due <= now) {
        timers_due = UINT64_MAX;
        for (size_t i = 0; i < nblocks * CLIENT_BLOCK; i++) {
            client *cl = client_at(i);
            if (!cl) continue;
            uint64_t due = client_due(cl);
            if (!cl->dead && due <= now) {
                if (busy_of(cl) && busy_of(cl)->close_by) {
                    cl->dead = true;
                } else {
                    int r = ws_conn_tick(&cl->ws, now);     /* ws.h glue: pings, timeouts */
                    if (r != WS_OK)
                        fprintf(stderr, "echo_server: fd %d: %s\n", cl->fd, ws_strerror(r));
                    if (r == WS_ERR_TIMEOUT) cl->dead = true;   /* the client is gone */
                    flush_client(cl, false);
                    due = client_due(cl);
                }
            }
            if (cl->dead) client_free(cl);
            else if (due < timers_due) timers_due = due;
        }
        if (timers_due < now + TIMER_SLACK_MS) timers_due = now + TIMER_SLACK_MS;
    }
    uint64_t next = timers_due;
    if (accept_resume && accept_resume < next) next = accept_resume;
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

static const char usage[] =
    "usage: echo_server [--help] [--cert FILE --key FILE] PORT [PAGE]\n"
    "  Echoes every WebSocket message on ws://127.0.0.1:PORT/ and serves a page to try it.\n"
    "  PORT        0-65535 on 127.0.0.1 (0: any free port, printed)\n"
    "  PAGE        the page for GET / (default examples/echo.html; unreadable: GET / is 404)\n"
    "  --cert FILE the server's certificate chain (PEM or DER): serve https and wss instead\n"
    "  --key FILE  its private key (PEM or DER, not encrypted)\n"
    "  --no-deflate  decline permessage-deflate (default: taken when a client offers it)\n"
    "  --takeover  compress each client's echoes with its own 32 KiB window, kept from one\n"
    "              message to the next (36,904 bytes more a client; default: each alone,\n"
    "              server_no_context_takeover)\n"
    "  ECHO_PING_MS=MS in the environment: a ping after MS of silence, a drop after 3 x MS\n"
    "  (default 30000 and 75000)\n";

/* One line: what was wrong with the command line, and what was wanted. */
static int bad_usage(const char *what, const char *arg, const char *want) {
    fprintf(stderr, "echo_server: %s%s%s%s: %s (see --help)\n", what, arg ? " '" : "",
            arg ? arg : "", arg ? "'" : "", want);
    return 2;
}

int main(int argc, char **argv) {
    const char *port_arg = NULL, *page_arg = NULL, *cert = NULL, *key = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0) {
            fputs(usage, stdout);
            return 0;
        }
        if (strcmp(a, "--no-deflate") == 0) {
            deflate_on = false;
            continue;
        }
        if (strcmp(a, "--takeover") == 0) {
            takeover = true;
            continue;
        }
        if (strcmp(a, "--cert") == 0 || strcmp(a, "--key") == 0) {
            if (i + 1 == argc) return bad_usage("a value is missing after", a, "want a FILE");
            if (!TLS_BUILT) return bad_usage(a, NULL, TLS_MISSING);
            *(a[2] == 'c' ? &cert : &key) = argv[++i];
        } else if (a[0] == '-' && !(a[1] >= '0' && a[1] <= '9')) {
            return bad_usage("unknown option", a,
                             "the options are --cert, --key, --no-deflate, --takeover and --help");
        } else if (!port_arg) {
            port_arg = a;
        } else if (!page_arg) {
            page_arg = a;
        } else {
            return bad_usage("unexpected argument", a,
                             "usage: echo_server [--cert FILE --key FILE] PORT [PAGE]");
        }
    }
    char *end = NULL;
    long port = port_arg ? strtol(port_arg, &end, 10) : -1;
    if (!port_arg)
        return bad_usage("no PORT", NULL,
                         "usage: echo_server [--cert FILE --key FILE] PORT [PAGE]");
    if (end == port_arg || *end || port < 0 || port > 65535)
        return bad_usage("bad port", port_arg, "want a number 0-65535");
    if (!cert != !key)
        return bad_usage(cert ? "--cert without --key" : "--key without --cert", NULL,
                         "give both: --cert FILE --key FILE");
    if (cert) {                         /* ws.h glue (TLS): the settings of every connection */
        tls_cfg.send = on_tls_send;
        tls_cfg.on_data = on_tls_data;
        if (tls_server_files("echo_server", &tls_cfg, cert, key) != 0) return 2;
        use_tls = true;
    }
    load_page(page_arg ? page_arg : "examples/echo.html");

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

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = on_signal;          /* no SA_RESTART: epoll_wait returns EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    unsigned bound;
    struct epoll_event lev = { .events = EPOLLIN, .data.ptr = NULL };
    if ((lfd = net_listen("echo_server", port, &bound)) < 0) return 1;
    if ((epfd = epoll_create1(0)) < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev) != 0) {
        perror("echo_server: epoll");
        return 1;
    }
    printf("echo_server: listening on %s://127.0.0.1:%u/ (WebSocket: %s://127.0.0.1:%u/)\n",
           use_tls ? "https" : "http", bound, use_tls ? "wss" : "ws", bound);
    fflush(stdout);

    while (!stop) {
        struct epoll_event evs[64];
        int n = epoll_wait(epfd, evs, 64, run_timers());
        if (n < 0 && errno != EINTR) { perror("echo_server: epoll_wait"); break; }
        for (int i = 0; i < n; i++) {
            client *cl = (client *)evs[i].data.ptr;
            if (!cl) { accept_clients(); continue; }
            bool full = false;
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) full = read_client(cl);
            flush_client(cl, full);
            if (cl->dead) client_free(cl);
        }
    }

    /* Shutting down: close 1001 to every client, then up to 2 s for their answers, so that
       their side sees a clean close rather than a reset. */
    printf("echo_server: shutting down\n");
    if (!accept_resume) epoll_ctl(epfd, EPOLL_CTL_DEL, lfd, NULL);
    accept_resume = 0;
    for (size_t i = 0; i < nblocks * CLIENT_BLOCK; i++) {
        client *cl = client_at(i);
        if (!cl) continue;
        if (cl->upgraded && ws_conn_state(&cl->ws) == WS_STATE_OPEN) {
            int r = ws_conn_close(&cl->ws, WS_CLOSE_GOING_AWAY, "server shutting down", 20);
            if (r != WS_OK) {   /* e.g. in the middle of echoing a frame: just go */
                fprintf(stderr, "echo_server: fd %d: close: %s\n", cl->fd, ws_strerror(r));
                cl->closing = true;
            }
        } else if (!cl->upgraded) {
            cl->closing = true;
        }
        flush_client(cl, false);
    }
    for (uint64_t give_up = now_ms() + 2000; nclients && now_ms() < give_up;) {
        struct epoll_event evs[64];
        int n = epoll_wait(epfd, evs, 64, 50);
        for (int i = 0; i < n; i++) {
            client *cl = (client *)evs[i].data.ptr;
            if (!cl) continue;
            bool full = false;
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) full = read_client(cl);
            flush_client(cl, full);
            if (cl->dead) client_free(cl);
        }
        run_timers();
    }
    for (size_t i = 0; i < nblocks * CLIENT_BLOCK; i++)
        if (client_at(i)) client_free(client_at(i));
    for (size_t i = 0; i < nblocks; i++) free(blocks[i]);
    free(blocks);
    ws_tls_config_free(&tls_cfg);
    close(lfd);
    close(epfd);
    return 0;
}
