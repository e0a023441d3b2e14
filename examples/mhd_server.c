/* mhd_server.c - a GNU libmicrohttpd web server with a WebSocket endpoint added (/ws, echo)

   The case of a server you already have: libmicrohttpd serves the pages and parses every
   request, and ws.h takes over only the connections that upgrade, on the path you choose.
     - libmicrohttpd parsed the request, so ws.h judges the handshake from headers it did not
       parse: every header (MHD_get_connection_values_n) goes into a ws_http with the method
       and version, and ws_http_check_request gives the verdict ws_http_parse_request would
       (GET, HTTP/1.1, one Host, Upgrade and Connection tokens, one 16-byte key, version 13);
     - a bad upgrade is answered through libmicrohttpd with the status ws_http_status gives
       (400, 426 with Sec-WebSocket-Version: 13, 431) and the text ws_handshake_reject
       sends; an upgrade on another path gets 404;
     - a good one gets MHD_create_response_for_upgrade: libmicrohttpd writes the 101 itself
       (with Connection: Upgrade), so Upgrade and Sec-WebSocket-Accept (ws_accept_key) go in
       as response headers, and ws_conn_accept(c, NULL, NULL) only opens the connection;
     - the upgrade callback hands over the socket, and the bytes libmicrohttpd had read past
       the request head (extra_in, say frames the client sent with its request): those are
       fed to ws_conn_feed first, as if read from the socket;
     - every other request stays libmicrohttpd's: GET / is a page that echoes through /ws,
       anything else 404 (GET /ws without an upgrade: 426).
   One thread and one epoll: libmicrohttpd runs without threads of its own (MHD_USE_EPOLL,
   no MHD_USE_INTERNAL_POLLING_THREAD); its epoll fd sits in ours, and MHD_run is called after
   every wait, which ends at the latest at MHD_get_timeout or the nearest ws_conn_deadline.
   So the upgrade callback runs in this thread, and no lock is needed anywhere.
   The upgraded sockets are served as in echo_server.c: examples/outq.h for output, one
   send() per wake-up, back-pressure (4 MiB unsent: not read; 64 MiB: dropped), TCP_NODELAY,
   handshake (libmicrohttpd's 10 s), close (5 s) and keepalive (ping after 30 s of silence,
   drop after 75 s); the end is FIN, the client's FIN (5 s at most), then
   MHD_UPGRADE_ACTION_CLOSE: libmicrohttpd closes the socket, never we.
   The echo streams: a message that arrives in one piece goes back as one frame, a larger
   one in fragments as it comes, so any size goes through and nothing is held whole.
   The parts marked "ws.h glue" are what your libmicrohttpd server needs.

   Build:  make examples    (links -lmicrohttpd; without libmicrohttpd-dev, build/mhd_server
           only says so)
           (or: cc -std=c99 -O2 -I. examples/mhd_server.c -o build/mhd_server -lmicrohttpd)
   Run:    ./build/mhd_server 8085       (listens on 127.0.0.1 only)
   Then:   open http://127.0.0.1:8085/, type a line, see it come back;
           or ./build/echo_client --check ws://127.0.0.1:8085/ws
   --ws-path PATH moves the endpoint (--ws-path /: upgrades on / are the WebSocket, plain
   GET / the page). ECHO_PING_MS=200 makes keepalive quick, for tests. Ctrl-C (or SIGTERM):
   close 1001 to every WebSocket client, 2 s for their answers, exit 0.
*/
#define _POSIX_C_SOURCE 200809L
#define WS_IMPLEMENTATION
#include "ws.h"
#include "outq.h"
#include "net.h"

#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/epoll.h>

/* Built without libmicrohttpd (no <microhttpd.h>, or -DNO_LIBMICROHTTPD): says so. */
#ifndef NO_LIBMICROHTTPD
#  if defined(__has_include)
#    if __has_include(<microhttpd.h>)
#      define HAVE_MHD 1
#    endif
#  endif
#endif

#ifndef HAVE_MHD
int main(void) {
    fputs("mhd_server: built without libmicrohttpd: apt-get install libmicrohttpd-dev, then "
          "make examples\n", stderr);
    return 2;
}
#else
#include <microhttpd.h>

enum { ECHO_WAIT, ECHO_WHOLE, ECHO_FRAGMENTS };

enum {
    READ_SIZE   = 256 * 1024,   /* one recv() per wake-up, into one buffer shared by all */
    QUEUE_PAUSE = 4 << 20,      /* stop reading a client with this much output unsent */
    QUEUE_LIMIT = 64 << 20,     /* drop a client whose output would grow past this */
    CLOSE_MS    = 5000,         /* once done, time to send what is queued and get a FIN */
    HTTP_TIMEOUT_S = 10         /* libmicrohttpd drops a request head slower than this */
};

typedef struct client {         /* one upgraded connection */
    struct client *prev, *next;
    int      fd;                /* libmicrohttpd's socket: we read, write and shutdown() it */
    struct MHD_UpgradeResponseHandle *urh;      /* ... and it closes it */
    uint32_t events;            /* what epoll watches for now */
    ws_conn  ws;
    int      echo;              /* how the message being echoed goes out: ECHO_* */
    ws_opcode echo_op;
    uint64_t echo_size, echo_got;
    bool     closing;           /* send what is queued, then FIN */
    bool     dead;              /* close now, unsent output or not */
    bool     fin_sent;          /* shutdown(SHUT_WR) done: waiting for the client's FIN */
    uint64_t close_by;          /* once closing: when to give up on the client */
    outq     out;               /* what waits for the socket (examples/outq.h) */
} client;

static volatile sig_atomic_t stop;
static client   *clients;
static int       epfd;
static char      readbuf[READ_SIZE];
static char      page[4096];    /* the page for GET /, made at start for the ws path */
static size_t    page_len;
static const char *ws_path = "/ws";
static ws_config cfg;           /* shared by every connection */

static void on_signal(int sig) { (void)sig; stop = 1; }

/* ---- ws.h glue: the send callback and the echo ------------------------------------------ */

/* ws.h hands us everything to send here: queue it (all or nothing), the loop writes it. */
static int on_send(ws_conn *c, const ws_buf *bufs, size_t n) {
    client *cl = (client *)c->user;
    if (outq_push_bufs(&cl->out, bufs, n) != 0) {
        fprintf(stderr, "mhd_server: fd %d: output queue full, dropping the client\n", cl->fd);
        cl->dead = true;
        return -1;
    }
    return 0;
}

static void echo_failed(client *cl, int err, const char *what) {
    if (!cl->dead) fprintf(stderr, "mhd_server: fd %d: %s: %s\n", cl->fd, what, ws_strerror(err));
    cl->dead = true;
}

/* The echo, streamed: all of a message in one chunk goes back as one frame; otherwise each
   chunk goes back as a fragment as it arrives (text is checked as it comes, and a close
   1007 can still follow a fragment). */
static void on_begin(ws_conn *c, ws_opcode op, uint64_t size) {
    client *cl = (client *)c->user;
    cl->echo = ECHO_WAIT;
    cl->echo_op = op;
    cl->echo_size = size;
    cl->echo_got = 0;
}

static void on_data(ws_conn *c, const void *data, size_t len) {
    client *cl = (client *)c->user;
    int r;
    if (len == 0) return;
    cl->echo_got += len;
    if (cl->echo == ECHO_FRAGMENTS) {
        r = ws_conn_send_continue(c, data, len);
    } else if (cl->echo_got == cl->echo_size) {
        r = ws_conn_send(c, cl->echo_op, data, len);        /* all of it in one chunk */
        cl->echo = ECHO_WHOLE;
    } else {
        r = ws_conn_send_begin(c, cl->echo_op, data, len);
        cl->echo = ECHO_FRAGMENTS;
    }
    if (r != WS_OK) echo_failed(cl, r, "echo");
}

static void on_end(ws_conn *c) {
    client *cl = (client *)c->user;
    int r = WS_OK;
    if (cl->echo == ECHO_WAIT) r = ws_conn_send(c, cl->echo_op, "", 0);    /* empty */
    else if (cl->echo == ECHO_FRAGMENTS) r = ws_conn_send_end(c, NULL, 0);
    if (r != WS_OK) echo_failed(cl, r, "echo end");
}

/* ---- ws.h glue: the upgrade, from libmicrohttpd's request to an open ws_conn --------------- */

/* Every header of the request, in order, as libmicrohttpd parsed it. */
typedef struct request {
    ws_http h;
    bool    too_many;           /* more than WS_MAX_HEADERS */
} request;

static ws_str trimmed(const char *s, size_t len) {
    ws_str r = { s, len };
    while (r.len && (r.ptr[0] == ' ' || r.ptr[0] == '\t')) r.ptr++, r.len--;
    while (r.len && (r.ptr[r.len - 1] == ' ' || r.ptr[r.len - 1] == '\t')) r.len--;
    return r;
}

static enum MHD_Result add_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                  size_t key_len, const char *value, size_t value_len) {
    request *rq = (request *)cls;
    (void)kind;
    if (rq->h.num_headers == WS_MAX_HEADERS) {
        rq->too_many = true;
        return MHD_NO;
    }
    ws_header *hd = &rq->h.headers[rq->h.num_headers++];
    hd->name = trimmed(key, key_len);
    hd->value = trimmed(value ? value : "", value ? value_len : 0);
    return MHD_YES;
}

/* ws.h's verdict on the request libmicrohttpd parsed: WS_HS_UPGRADE, WS_HS_HTTP (plain
   HTTP: not ours), or a WS_ERR_HS_* code to answer with. */
static int judge(struct MHD_Connection *conn, const char *url, const char *method,
                 const char *version, request *rq) {
    memset(rq, 0, sizeof *rq);
    rq->h.method.ptr = method;
    rq->h.method.len = strlen(method);
    rq->h.path.ptr = rq->h.target.ptr = url;
    rq->h.path.len = rq->h.target.len = strlen(url);
    rq->h.version = strncmp(version, "HTTP/1.", 7) == 0 && version[7] >= '0' && version[7] <= '9'
                    ? version[7] - '0' : 0;      /* HTTP/2 and later do not come this way */
    MHD_get_connection_values_n(conn, MHD_HEADER_KIND, add_header, rq);
    if (rq->too_many)   /* ws.h cannot hold them: 431 if it asks for an upgrade at all */
        return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Upgrade")
               ? (int)WS_ERR_HS_TOO_MANY : (int)WS_HS_HTTP;
    return ws_http_check_request(&rq->h);
}

/* A handshake error, answered by libmicrohttpd as ws_handshake_reject would answer it. */
static enum MHD_Result reject(struct MHD_Connection *conn, int err) {
    char text[128];
    int n = snprintf(text, sizeof text, "%s\n", ws_strerror(err));
    struct MHD_Response *resp =
        MHD_create_response_from_buffer((size_t)n, text, MHD_RESPMEM_MUST_COPY);
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    if (ws_http_status(err) == 426) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, "websocket");
        MHD_add_response_header(resp, MHD_HTTP_HEADER_SEC_WEBSOCKET_VERSION, "13");
    }
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)ws_http_status(err), resp);
    MHD_destroy_response(resp);
    return ret;
}

static void watch(client *cl, uint32_t events);
static void flush_client(client *cl);

/* libmicrohttpd sent our 101 and hands over the socket, with the bytes it read past the
   request head. From here on the connection is ours, until MHD_UPGRADE_ACTION_CLOSE. */
static void on_upgrade(void *cls, struct MHD_Connection *conn, void *req_cls,
                       const char *extra_in, size_t extra_in_size, MHD_socket sock,
                       struct MHD_UpgradeResponseHandle *urh) {
    client *cl = (client *)calloc(1, sizeof *cl);
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = cl };
    (void)cls;
    (void)conn;
    (void)req_cls;
    if (!cl || net_prepare(sock) != 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, sock, &ev) != 0) {
        perror("mhd_server: new WebSocket connection");
        free(cl);
        MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
        return;
    }
    cl->fd = sock;
    cl->urh = urh;
    cl->events = EPOLLIN;
    cl->next = clients;
    if (clients) clients->prev = cl;
    clients = cl;
    cl->out.limit = QUEUE_LIMIT;
    int r = ws_conn_init(&cl->ws, &cfg, cl);
    if (r == WS_OK) r = ws_conn_accept(&cl->ws, NULL, NULL);    /* the 101 went already */
    if (r == WS_OK) r = ws_conn_tick(&cl->ws, now_ms());
    if (r != WS_OK) { echo_failed(cl, r, "ws_conn_init"); return; }
    if (extra_in_size > 0) {            /* frames that came with the request: fed first */
        size_t len = extra_in_size < sizeof readbuf ? extra_in_size : sizeof readbuf;
        memcpy(readbuf, extra_in, len);                 /* writable: unmasked in place */
        r = ws_conn_feed(&cl->ws, readbuf, len);
        if (r != WS_OK) fprintf(stderr, "mhd_server: fd %d: %s\n", cl->fd, ws_strerror(r));
    }
    flush_client(cl);
}

/* ---- libmicrohttpd's request handler: pages, 404, and the upgrade ------------------------- */

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status, const char *type,
                               const char *body, size_t len) {
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_PERSISTENT);
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (status == MHD_HTTP_UPGRADE_REQUIRED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, "websocket");
    enum MHD_Result ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static const char endpoint_text[] = "a WebSocket endpoint: connect with a WebSocket client\n";

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **req_cls) {
    request rq;
    (void)cls;
    (void)upload_data;
    /* libmicrohttpd calls once the head is in (answering then would close the connection
       after the answer: a body might follow), then with each piece of the body (dropped
       here), then once more when it has all of it: that is when we answer */
    if (!*req_cls) { *req_cls = conn; return MHD_YES; }
    if (*upload_data_size) { *upload_data_size = 0; return MHD_YES; }
    int r = judge(conn, url, method, version, &rq);    /* ws.h glue */
    if (r == WS_HS_HTTP) {                              /* plain HTTP: libmicrohttpd's */
        bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
        if (get && strcmp(url, "/") == 0)
            return respond(conn, MHD_HTTP_OK, "text/html; charset=utf-8", page, page_len);
        if (get && strcmp(url, ws_path) == 0)
            return respond(conn, MHD_HTTP_UPGRADE_REQUIRED, "text/plain", endpoint_text,
                           sizeof endpoint_text - 1);
        return respond(conn, MHD_HTTP_NOT_FOUND, "text/plain", "not found\n", 10);
    }
    if (r < 0) {                                        /* ws.h glue: 400, 426 or 431 */
        fprintf(stderr, "mhd_server: %s %s: bad handshake: %s\n", method, url, ws_strerror(r));
        return reject(conn, r);
    }
    if (strcmp(url, ws_path) != 0)                      /* an upgrade, elsewhere */
        return respond(conn, MHD_HTTP_NOT_FOUND, "text/plain", "not found\n", 10);

    /* ws.h glue: the 101, written by libmicrohttpd with the headers ws.h would send */
    char accept[29];
    ws_accept_key(rq.h.key.ptr, rq.h.key.len, accept);
    struct MHD_Response *resp = MHD_create_response_for_upgrade(on_upgrade, NULL);
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, "websocket");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_SEC_WEBSOCKET_ACCEPT, accept);
    /* (libmicrohttpd adds Connection: Upgrade to a response for upgrade itself) */
    enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* ---- the upgraded sockets: read, feed, write, close ----------------------------------------- */

static void watch(client *cl, uint32_t events) {
    if (cl->events == events) return;
    struct epoll_event ev = { .events = events, .data.ptr = cl };
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, cl->fd, &ev) != 0) {
        perror("mhd_server: epoll_ctl");
        cl->dead = true;
        return;
    }
    cl->events = events;
}

static void client_free(client *cl) {
    if (cl->prev) cl->prev->next = cl->next; else clients = cl->next;
    if (cl->next) cl->next->prev = cl->prev;
    epoll_ctl(epfd, EPOLL_CTL_DEL, cl->fd, NULL);
    MHD_upgrade_action(cl->urh, MHD_UPGRADE_ACTION_CLOSE);     /* libmicrohttpd closes it */
    outq_free(&cl->out);
    free(cl);
}

static void read_client(client *cl) {
    ssize_t n = recv(cl->fd, readbuf, sizeof readbuf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    if (n <= 0) {           /* EOF or reset: expected once we sent FIN, abrupt before */
        ws_conn_eof(&cl->ws);   /* ws.h glue: FAILED (1006) unless the close was done */
        cl->dead = true;
        return;
    }
    if (cl->closing) return;                            /* done: discard */
    int r = ws_conn_feed(&cl->ws, readbuf, (size_t)n);     /* ws.h glue: on_begin/data/end */
    if (r != WS_OK) fprintf(stderr, "mhd_server: fd %d: %s\n", cl->fd, ws_strerror(r));
}

/* One send() of everything queued; then decide what to wait for. */
static void flush_client(client *cl) {
    if (cl->dead) return;
    ws_state s = ws_conn_state(&cl->ws);
    if (s == WS_STATE_CLOSED || s == WS_STATE_FAILED) cl->closing = true;
    if (outq_flush(&cl->out, cl->fd) != 0) {
        cl->dead = true;
        return;
    }
    if (cl->closing && cl->close_by == 0) cl->close_by = now_ms() + CLOSE_MS;
    if (cl->closing && outq_pending(&cl->out) == 0 && !cl->fin_sent) {
        shutdown(cl->fd, SHUT_WR);      /* allowed on libmicrohttpd's socket; close() is not */
        cl->fin_sent = true;
    }
    uint32_t ev = 0;
    if (outq_pending(&cl->out) < QUEUE_PAUSE) ev |= EPOLLIN;
    if (outq_pending(&cl->out) > 0) ev |= EPOLLOUT;
    watch(cl, ev);
}

/* Runs the clients' timers that are due; returns the wait until the next one (ms, -1: none). */
static int run_timers(void) {
    uint64_t now = now_ms(), next = UINT64_MAX;
    client *cl = clients;
    while (cl) {
        client *next_cl = cl->next;
        uint64_t due = cl->close_by ? cl->close_by : ws_conn_deadline(&cl->ws);
        if (!cl->dead && due <= now) {
            if (cl->close_by) {
                cl->dead = true;
            } else {
                int r = ws_conn_tick(&cl->ws, now);     /* ws.h glue: pings, timeouts */
                if (r != WS_OK) fprintf(stderr, "mhd_server: fd %d: %s\n", cl->fd, ws_strerror(r));
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

/* One turn of the loop: wait for our sockets or libmicrohttpd's (its epoll fd is in ours),
   serve what is ready, then MHD_run, which libmicrohttpd wants after every wait. */
static void run_once(struct MHD_Daemon *d, int wait_ms) {
    struct epoll_event evs[64];
    MHD_UNSIGNED_LONG_LONG mhd_ms;
    if (MHD_get_timeout(d, &mhd_ms) == MHD_YES && (wait_ms < 0 || mhd_ms < (unsigned)wait_ms))
        wait_ms = (int)mhd_ms;
    int n = epoll_wait(epfd, evs, 64, wait_ms);
    if (n < 0 && errno != EINTR) perror("mhd_server: epoll_wait");
    for (int i = 0; i < n; i++) {
        client *cl = (client *)evs[i].data.ptr;
        if (!cl) continue;                              /* libmicrohttpd's: MHD_run below */
        if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) read_client(cl);
        flush_client(cl);
        if (cl->dead) client_free(cl);
    }
    MHD_run(d);         /* HTTP requests, upgrades (on_upgrade), and the sockets we gave back */
}

/* ---- main ----------------------------------------------------------------------------------- */

static const char page_fmt[] =
    "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<title>ws.h in libmicrohttpd</title>\n<style>\n"
    "  body { font: 16px/1.4 system-ui, sans-serif; max-width: 40em; margin: 2em auto; }\n"
    "  #status.open { color: #070; } #status.closed { color: #a00; }\n"
    "  form { display: flex; gap: .5em; } #msg { flex: 1; font: inherit; }\n"
    "  #log { list-style: none; padding: 0; font-family: monospace; }\n"
    "  #log li { white-space: pre-wrap; overflow-wrap: anywhere; }\n"
    "  #log .out::before { content: '\\2192  '; } #log .in::before { content: '\\2190  '; }\n"
    "</style>\n</head>\n<body>\n<h1>ws.h in libmicrohttpd</h1>\n"
    "<p>This page comes from libmicrohttpd (<code>examples/mhd_server.c</code>); what you send "
    "comes back through the WebSocket at <code>%s</code>, served by ws.h.</p>\n"
    "<p id=\"status\">connecting&hellip;</p>\n<form id=\"form\">\n"
    "  <input id=\"msg\" autocomplete=\"off\" placeholder=\"type a message, press Enter\" autofocus>\n"
    "  <button type=\"submit\">Send</button>\n</form>\n<ul id=\"log\"></ul>\n<script>\n"
    "  'use strict';\n"
    "  const status = document.getElementById('status'), log = document.getElementById('log');\n"
    "  const msg = document.getElementById('msg');\n"
    "  const ws = new WebSocket('ws://' + location.host + '%s');\n"
    "  ws.binaryType = 'arraybuffer';\n"
    "  const show = (kind, text) => {\n"
    "    const li = document.createElement('li'); li.className = kind; li.textContent = text;\n"
    "    log.appendChild(li);\n  };\n"
    "  const set = (kind, text) => { status.className = kind; status.textContent = text; };\n"
    "  ws.onopen = () => set('open', 'connected to ' + ws.url);\n"
    "  ws.onmessage = (e) => show('in', typeof e.data === 'string' ? e.data\n"
    "                                   : '[' + e.data.byteLength + ' bytes of binary]');\n"
    "  ws.onerror = () => set('closed', 'connection error');\n"
    "  ws.onclose = (e) => set('closed', 'closed: ' + e.code + (e.reason ? ' ' + e.reason : ''));\n"
    "  document.getElementById('form').addEventListener('submit', (e) => {\n"
    "    e.preventDefault();\n"
    "    if (ws.readyState !== WebSocket.OPEN) return;\n"
    "    ws.send(msg.value); show('out', msg.value); msg.value = '';\n"
    "  });\n</script>\n</body>\n</html>\n";

static const char usage[] =
    "usage: mhd_server [--help] [--ws-path PATH] PORT\n"
    "  A libmicrohttpd web server on http://127.0.0.1:PORT/ with a WebSocket echo added at\n"
    "  ws://127.0.0.1:PORT/ws: GET / is a page that echoes through it, anything else 404.\n"
    "  PORT            0-65535 on 127.0.0.1 (0: any free port, printed)\n"
    "  --ws-path PATH  where the WebSocket endpoint is (default /ws; / too: upgrades on / are\n"
    "                  the WebSocket, plain GET / the page); letters, digits and /-._~ only\n"
    "  ECHO_PING_MS=MS in the environment: a ping after MS of silence, a drop after 3 x MS\n"
    "  (default 30000 and 75000)\n";

/* One line: what was wrong with the command line, and what was wanted. */
static int bad_usage(const char *what, const char *arg, const char *want) {
    fprintf(stderr, "mhd_server: %s%s%s%s: %s (see --help)\n", what, arg ? " '" : "",
            arg ? arg : "", arg ? "'" : "", want);
    return 2;
}

static bool path_ok(const char *p) {
    if (p[0] != '/' || strlen(p) > 200) return false;
    for (; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("/-._~", *p)))
            return false;
    return true;
}

/* libmicrohttpd's own errors, one line each like ours. */
static void mhd_log(void *cls, const char *fmt, va_list ap) {
    (void)cls;
    fputs("mhd_server: libmicrohttpd: ", stderr);
    vfprintf(stderr, fmt, ap);
}

int main(int argc, char **argv) {
    const char *port_arg = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(argv[i], "--ws-path") == 0) {
            if (++i == argc) return bad_usage("a value is missing after", "--ws-path", "a path");
            if (!path_ok(argv[i]))
                return bad_usage("bad --ws-path", argv[i], "want /, then letters, digits, /-._~");
            ws_path = argv[i];
        } else if (argv[i][0] == '-' && !(argv[i][1] >= '0' && argv[i][1] <= '9')) {
            return bad_usage("unknown option", argv[i], "the options are --ws-path and --help");
        } else if (port_arg) {
            return bad_usage("unexpected argument", argv[i], "usage: mhd_server [--ws-path PATH] PORT");
        } else {
            port_arg = argv[i];
        }
    }
    char *end = NULL;
    long port = port_arg ? strtol(port_arg, &end, 10) : -1;
    if (!port_arg) return bad_usage("no PORT", NULL, "usage: mhd_server [--help] [--ws-path PATH] PORT");
    if (end == port_arg || *end || port < 0 || port > 65535)
        return bad_usage("bad port", port_arg, "want a number 0-65535");
    page_len = (size_t)snprintf(page, sizeof page, page_fmt, ws_path, ws_path);

    cfg.send = on_send;                 /* ws.h glue: the settings every connection shares */
    cfg.on_begin = on_begin;
    cfg.on_data = on_data;
    cfg.on_end = on_end;
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

    /* The listening socket is ours (net.h: 127.0.0.1 only); libmicrohttpd accepts on it. */
    unsigned bound;
    int lfd = net_listen("mhd_server", port, &bound);
    if (lfd < 0) return 1;
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_EPOLL | MHD_ALLOW_UPGRADE | MHD_USE_ERROR_LOG, 0, NULL, NULL,
        on_request, NULL,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)lfd,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_TIMEOUT_S,
        MHD_OPTION_END);
    const union MHD_DaemonInfo *info = d ? MHD_get_daemon_info(d, MHD_DAEMON_INFO_EPOLL_FD) : NULL;
    struct epoll_event mev = { .events = EPOLLIN, .data.ptr = NULL };
    if (!info || (epfd = epoll_create1(0)) < 0 ||
        epoll_ctl(epfd, EPOLL_CTL_ADD, info->epoll_fd, &mev) != 0) {
        fprintf(stderr, "mhd_server: cannot start libmicrohttpd %s with epoll\n", MHD_get_version());
        return 1;
    }
    printf("mhd_server: listening on http://127.0.0.1:%u/ (WebSocket: ws://127.0.0.1:%u%s, "
           "libmicrohttpd %s)\n", bound, bound, ws_path, MHD_get_version());
    fflush(stdout);

    while (!stop) run_once(d, run_timers());

    /* Shutting down: close 1001 to every WebSocket client, then up to 2 s for their answers;
       libmicrohttpd goes last, once it has every socket back. */
    printf("mhd_server: shutting down\n");
    fflush(stdout);
    for (client *cl = clients; cl; cl = cl->next) {
        if (ws_conn_state(&cl->ws) == WS_STATE_OPEN) {
            int r = ws_conn_close(&cl->ws, WS_CLOSE_GOING_AWAY, "server shutting down", 20);
            if (r != WS_OK) {   /* e.g. in the middle of echoing a frame: just go */
                fprintf(stderr, "mhd_server: fd %d: close: %s\n", cl->fd, ws_strerror(r));
                cl->closing = true;
            }
        }
        flush_client(cl);
    }
    for (uint64_t give_up = now_ms() + 2000; clients && now_ms() < give_up;) {
        int wait = run_timers();
        run_once(d, wait < 0 || wait > 50 ? 50 : wait);
    }
    while (clients) client_free(clients);
    MHD_run(d);                         /* the sockets given back are closed */
    MHD_stop_daemon(d);                 /* closes the listening socket too */
    close(epfd);
    return 0;
}
#endif /* HAVE_MHD */
