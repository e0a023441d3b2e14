/* shared_port.c - one port for an ordinary HTTP server and WebSocket endpoints

   The pattern of a Koa (or Express) app with a `ws` server on the same port: the HTTP
   server keeps every ordinary request, and only upgrade requests on chosen paths go to
   WebSocket. Here:
       GET  /, /style.css, ...   static files from a folder (keep-alive, pipelining, HEAD)
       GET  /api/time            JSON: {"unix_ms":..., "utc":"...", "websockets":N}
       upgrade on /ws            echo: every message comes back to its sender
       upgrade on /chat          broadcast: every message goes to every /chat client,
                                 encoded once, the same bytes written to each
       upgrade on any other path 404;  a malformed request 400 (426, 431: ws_http_status)

   If you already have an HTTP server, KEEP yours: the accept loop, the output queue (here
   examples/outq.h), the routes (serve_http below). COPY the ws.h glue, the parts marked
   "ws.h glue":
     1. parse the head with ws_http_parse_request: WS_HS_HTTP is yours to serve as before,
        WS_HS_UPGRADE on a path you route goes to ws_conn_accept, a negative result is
        answered with ws_handshake_reject (which says 400, 426 or 431);
     2. the send callback, which appends to your connection's output queue;
     3. from the upgrade on, the socket's bytes go to ws_conn_feed;
     4. ws_conn_tick when ws_conn_deadline comes (keepalive pings, timeouts).
   With --cert and --key the same port speaks https and wss: ws.h's TLS layer sits between
   the socket and all of the above (ws_tls_feed for what arrives, whose plaintext goes where
   the socket's bytes went; ws_tls_send for what the queue gets), and nothing above changes.
   The connection's ws_conn is set up when it is accepted, so that its handshake timeout
   bounds the TLS handshake; it is set up again at the upgrade.

   Build:  make examples
   Run:    ./build/shared_port 8081 examples/www       (listens on 127.0.0.1 only; --help)
           ./build/shared_port --cert server.pem --key server.key 8443 examples/www
   Then:   open http://127.0.0.1:8081/ (the time ticks, a line you type comes back);
           curl http://127.0.0.1:8081/api/time;
           ./build/wscat ws://127.0.0.1:8081/chat in two terminals.
   Prints one line per request. Ctrl-C sends close 1001 to WebSocket clients, waits for
   their answers (2 s at most) and exits 0.
*/
#define _POSIX_C_SOURCE 200809L
#define WS_IMPLEMENTATION
#include "ws.h"
#include "outq.h"
#include "net.h"
#include "tls.h"

#include <ctype.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/stat.h>

enum {
    IN_MAX      = 16384,        /* input buffer per connection: pipelined heads, or frames */
    HEAD_MAX    = 8192,         /* one request head; larger: 431 */
    MSG_MAX     = 65536,        /* a WebSocket message; larger: close 1009 */
    FILE_MAX    = 8 << 20,      /* a static file; larger: 500 */
    QUEUE_PAUSE = 1 << 20,      /* stop answering and reading with this much unsent */
    QUEUE_LIMIT = 32 << 20,     /* drop a client whose output would grow past this */
    IDLE_MS     = 30000,        /* an HTTP connection with no request this long is closed */
    CLOSE_MS    = 5000,         /* once done, time to send what is queued and get a FIN */
    SHUTDOWN_MS = 2000          /* Ctrl-C: time for clients to answer the close */
};
enum { ROUTE_HTTP, ROUTE_ECHO, ROUTE_CHAT };

typedef struct client {
    struct client *prev, *next;
    int      fd;
    uint32_t events;            /* what epoll watches for now */
    int      route;             /* ROUTE_HTTP until an upgrade */
    bool     keep, head_only;   /* of the request being answered */
    bool     closing, dead, fin_sent;
    uint64_t due;               /* idle deadline; once FIN is sent: give up on the client's */
    ws_conn  ws;
    ws_http  req;               /* the parse of the request at in[0] */
    char     in[IN_MAX];        /* HTTP: unparsed requests; WebSocket: read buffer */
    size_t   in_len;
    char    *msg;               /* WebSocket: whole-message buffer */
    outq     out;               /* what waits for the socket (examples/outq.h) */
    ws_tls  *tls;               /* with --cert: TLS under it all; NULL: plain TCP */
    bool     tls_closed;        /* close_notify sent */
} client;

static volatile sig_atomic_t stop;
static client   *clients;
static int       epfd;
static const char *root;        /* the static folder */
static ws_config cfg;           /* shared by every WebSocket connection */
static ws_tls_config tls_cfg;   /* with --cert: shared by every TLS connection */
static bool      use_tls;
static char      cipher[IN_MAX];        /* TLS: what recv() got, before ws_tls_feed */
static char      plain[TLS_RECORD];     /* what TLS decrypts, used up in on_tls_data */

static void on_signal(int sig) { (void)sig; stop = 1; }

static bool is(ws_str s, const char *lit) { return s.len == strlen(lit) && memcmp(s.ptr, lit, s.len) == 0; }
static size_t pending(const client *cl) { return outq_pending(&cl->out); }

/* Appends to the output queue (through TLS when there is one: ws.h glue); a client whose
   queue would pass QUEUE_LIMIT is dropped. */
static void enqueue(client *cl, const void *data, size_t len) {
    ws_buf b = { data, len };
    if ((cl->tls ? ws_tls_send(cl->tls, &b, 1) : outq_push(&cl->out, data, len)) != 0)
        cl->dead = true;
}

/* ---- the HTTP server you already have ----------------------------------------------- */

static size_t head_of(char *h, size_t cap, const client *cl, int status, const char *type,
                      size_t len) {
    const char *text = status == 200 ? "OK" : status == 404 ? "Not Found"
                     : status == 405 ? "Method Not Allowed" : "Internal Server Error";
    int n = snprintf(h, cap, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Cache-Control: no-store\r\n%s%s\r\n", status, text, type, len,
                     status == 405 ? "Allow: GET, HEAD\r\n" : "",
                     cl->keep ? "" : "Connection: close\r\n");
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

static void respond(client *cl, int status, const char *type, const char *body) {
    char h[512];
    size_t len = strlen(body), hl = head_of(h, sizeof h, cl, status, type, len);
    enqueue(cl, h, hl);
    if (!cl->head_only) enqueue(cl, body, len);
}

/* A request path as a file under root: only [A-Za-z0-9._/-], no segment starting with '.'
   (no "..", no hidden files), and ".../" means index.html. Anything else is not ours. */
static bool file_path(char *out, size_t cap, ws_str path) {
    if (path.len == 0 || path.ptr[0] != '/') return false;
    for (size_t i = 0; i < path.len; i++) {
        unsigned char ch = (unsigned char)path.ptr[i];
        if (!isalnum(ch) && ch != '.' && ch != '_' && ch != '/' && ch != '-') return false;
        if (ch == '.' && path.ptr[i - 1] == '/') return false;
    }
    int n = snprintf(out, cap, "%s%.*s%s", root, (int)path.len, path.ptr,
                     path.ptr[path.len - 1] == '/' ? "index.html" : "");
    return n > 0 && (size_t)n < cap;
}

static const char *content_type(const char *path) {
    static const char *const types[][2] = {
        { ".html", "text/html; charset=utf-8" }, { ".css", "text/css; charset=utf-8" },
        { ".js", "text/javascript; charset=utf-8" }, { ".json", "application/json" },
        { ".txt", "text/plain; charset=utf-8" }, { ".svg", "image/svg+xml" },
        { ".png", "image/png" }, { ".ico", "image/x-icon" } };
    const char *base = strrchr(path, '/'), *dot = strrchr(base ? base : path, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i][0]) == 0) return types[i][1];
    return "application/octet-stream";
}

static int serve_file(client *cl, const char *path) {
    struct stat st;
    int fd = open(path, O_RDONLY);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0) close(fd);
        respond(cl, 404, "text/plain", "not found\n");
        return 404;
    }
    char h[512];
    size_t size = st.st_size > FILE_MAX ? 0 : (size_t)st.st_size, got = 0;
    size_t hl = head_of(h, sizeof h, cl, 200, content_type(path), size);
    size_t body = cl->head_only ? 0 : size;
    char *p = st.st_size > FILE_MAX ? NULL               /* straight into the output queue; */
            : cl->tls ? (char *)malloc(hl + body)       /* with TLS, to be encrypted there */
            : outq_reserve(&cl->out, hl + body);
    while (p && got < body) {
        ssize_t n = read(fd, p + hl + got, body - got);
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fd);
    if (!p || got < body) {
        if (cl->tls) free(p);
        respond(cl, 500, "text/plain", "cannot send this file\n");
        return 500;
    }
    memcpy(p, h, hl);
    if (cl->tls) {
        enqueue(cl, p, hl + body);
        free(p);
    } else {
        cl->out.len += hl + body;           /* commit what outq_reserve gave */
    }
    return 200;
}

static int serve_time(client *cl) {
    struct timespec ts;
    struct tm tm;
    char utc[32], body[160];
    int open_ws = 0;
    for (client *o = clients; o; o = o->next)
        open_ws += o->route != ROUTE_HTTP && ws_conn_state(&o->ws) == WS_STATE_OPEN;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(utc, sizeof utc, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(body, sizeof body, "{\"unix_ms\":%lld,\"utc\":\"%s\",\"websockets\":%d}\n",
             (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, utc, open_ws);
    respond(cl, 200, "application/json", body);
    return 200;
}

/* A plain HTTP request (ws_http_parse_request said WS_HS_HTTP). Request bodies are not
   read here: a request that has one is answered and its connection closed. */
static int serve_http(client *cl) {
    const ws_http *req = &cl->req;
    ws_str len = ws_http_header(req, "Content-Length");
    bool body = ws_http_header(req, "Transfer-Encoding").ptr || (len.ptr && !is(len, "0"));
    char path[1024];
    cl->head_only = is(req->method, "HEAD");
    cl->keep = req->version == 1 && !body && !ws_http_has_token(req, "Connection", "close");
    if (!is(req->method, "GET") && !cl->head_only) {
        respond(cl, 405, "text/plain", "only GET and HEAD here\n");
        return 405;
    }
    if (is(req->path, "/api/time")) return serve_time(cl);
    if (file_path(path, sizeof path, req->path)) return serve_file(cl, path);
    respond(cl, 404, "text/plain", "not found\n");
    return 404;
}

/* ---- ws.h glue: the part to copy into your server ------------------------------------- */

/* ws.h hands over what to send: all of it goes to the output queue, or the client is
   dropped (its queue is over QUEUE_LIMIT). */
static int on_send(ws_conn *c, const ws_buf *bufs, size_t n) {
    client *cl = (client *)c->user;
    if (cl->tls && !cl->dead) return ws_tls_send(cl->tls, bufs, n) == WS_OK ? 0 : -1;
    if (cl->dead || outq_push_bufs(&cl->out, bufs, n) != 0) {
        if (!cl->dead) fprintf(stderr, "shared_port: fd %d: output queue full: dropped\n", cl->fd);
        cl->dead = true;
        return -1;
    }
    return 0;
}

/* ws.h glue (TLS): the records of everything sent (WebSocket or not) go to the queue. */
static int on_tls_send(ws_tls *t, const void *data, size_t len) {
    client *cl = (client *)t->user;
    if (cl->dead || outq_push(&cl->out, data, len) != 0) {
        if (!cl->dead) fprintf(stderr, "shared_port: fd %d: output queue full: dropped\n", cl->fd);
        cl->dead = true;
        return -1;
    }
    return 0;
}

static void flush_client(client *cl);

static void on_message(ws_conn *c, ws_opcode op, const void *data, size_t len) {
    client *cl = (client *)c->user;
    static uint8_t frame[14 + MSG_MAX];
    size_t n;
    int r;
    if (cl->route == ROUTE_ECHO) {
        if ((r = ws_conn_send(c, op, data, len)) != WS_OK)
            fprintf(stderr, "shared_port: fd %d: echo: %s\n", cl->fd, ws_strerror(r));
        return;
    }
    /* /chat: encode the frame once, write the same bytes to every chat client */
    if ((r = ws_frame_encode(frame, sizeof frame, &n, true, op, data, len, NULL)) != WS_OK) {
        fprintf(stderr, "shared_port: broadcast: %s\n", ws_strerror(r));
        return;
    }
    for (client *o = clients; o; o = o->next) {
        if (o->route != ROUTE_CHAT || o->dead || ws_conn_state(&o->ws) != WS_STATE_OPEN) continue;
        if ((r = ws_conn_send_raw(&o->ws, frame, n)) != WS_OK)
            fprintf(stderr, "shared_port: fd %d: broadcast: %s\n", o->fd, ws_strerror(r));
        if (o != cl) flush_client(o);
    }
}

/* An upgrade request: on a path we route, the 101 goes out and the connection is
   WebSocket from here on; the bytes behind the head are its first frames. */
static int upgrade(client *cl) {
    ws_http *req = &cl->req;
    int route = is(req->path, "/ws") ? ROUTE_ECHO : is(req->path, "/chat") ? ROUTE_CHAT : 0;
    if (!route) {
        cl->keep = cl->head_only = false;
        respond(cl, 404, "text/plain", "no WebSocket endpoint here\n");
        return 404;
    }
    /* a fresh ws_conn: the requests this keep-alive connection carried before do not count
       against its handshake time */
    int r = (cl->msg = (char *)malloc(MSG_MAX)) ? ws_conn_init(&cl->ws, &cfg, cl) : WS_ERR_ARG;
    if (r == WS_OK) r = ws_conn_tick(&cl->ws, now_ms());
    if (r == WS_OK) {
        r = ws_conn_set_buffer(&cl->ws, cl->msg, MSG_MAX);      /* messages arrive whole */
        if (r == WS_OK) r = ws_conn_accept(&cl->ws, req, NULL);
    }
    if (r != WS_OK) {
        fprintf(stderr, "shared_port: fd %d: accept: %s\n", cl->fd, ws_strerror(r));
        cl->dead = true;
        return 500;
    }
    cl->route = route;
    if (cl->in_len > req->size) {
        r = ws_conn_feed(&cl->ws, cl->in + req->size, cl->in_len - req->size);
        if (r != WS_OK) fprintf(stderr, "shared_port: fd %d: %s\n", cl->fd, ws_strerror(r));
    }
    cl->in_len = 0;
    return 101;
}

/* Answers the complete requests at the front of the input, in order (pipelining), while
   the output queue has room. */
static void serve_requests(client *cl) {
    while (cl->route == ROUTE_HTTP && !cl->closing && !cl->dead && pending(cl) < QUEUE_PAUSE) {
        int r = ws_http_parse_request(&cl->req, cl->in, cl->in_len), status;
        if (r == WS_HS_PARTIAL) return;         /* (past HEAD_MAX: WS_ERR_HS_TOO_BIG) */
        if (r < 0) {                            /* 400, 426 or 431, then close */
            char resp[256];
            size_t n;
            printf("shared_port: fd %d: bad request: %d %s\n", cl->fd, ws_http_status(r),
                   ws_strerror(r));
            if (ws_handshake_reject(resp, sizeof resp, &n, r) == WS_OK) enqueue(cl, resp, n);
            cl->closing = true;
            return;
        }
        status = r == WS_HS_UPGRADE ? upgrade(cl) : serve_http(cl);
        printf("shared_port: fd %d: %.*s %.*s%s %d\n", cl->fd, (int)cl->req.method.len,
               cl->req.method.ptr, (int)cl->req.target.len, cl->req.target.ptr,
               r == WS_HS_UPGRADE ? " (upgrade)" : "", status);
        if (status == 101) return;
        if (!cl->keep) cl->closing = true;
        memmove(cl->in, cl->in + cl->req.size, cl->in_len - cl->req.size);
        cl->in_len -= cl->req.size;
        ws_http_init(&cl->req, HEAD_MAX);       /* the next request */
    }
}

/* ---- the event loop: yours ------------------------------------------------------------- */

static void watch(client *cl, uint32_t events) {
    struct epoll_event ev = { .events = events, .data.ptr = cl };
    if (cl->events == events) return;
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, cl->fd, &ev) != 0) { cl->dead = true; return; }
    cl->events = events;
}

static void client_free(client *cl) {
    if (cl->prev) cl->prev->next = cl->next; else clients = cl->next;
    if (cl->next) cl->next->prev = cl->prev;
    close(cl->fd);
    free(cl->msg);
    outq_free(&cl->out);
    if (cl->tls) {
        ws_tls_free(cl->tls);           /* mbedTLS's buffers for this connection */
        free(cl->tls);
    }
    free(cl);
}

static void accept_clients(int lfd) {
    int fd;
    while ((fd = net_accept(lfd)) >= 0) {       /* non-blocking, TCP_NODELAY */
        client *cl = (client *)calloc(1, sizeof *cl);
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = cl };
        if (!cl || epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            perror("shared_port: new connection");
            free(cl);
            close(fd);
            continue;
        }
        cl->fd = fd;
        cl->events = EPOLLIN;
        cl->due = now_ms() + IDLE_MS;
        cl->out.limit = QUEUE_LIMIT;
        ws_http_init(&cl->req, HEAD_MAX);
        if ((cl->next = clients)) clients->prev = cl;
        clients = cl;
        int r = ws_conn_init(&cl->ws, &cfg, cl);                /* ws.h glue: the */
        if (r == WS_OK) r = ws_conn_tick(&cl->ws, now_ms());    /* handshake clock starts */
        if (r == WS_OK && use_tls) {        /* ws.h glue (TLS): it waits for a ClientHello */
            cl->tls = (ws_tls *)malloc(sizeof *cl->tls);
            r = cl->tls ? ws_tls_init(cl->tls, &tls_cfg, NULL, plain, sizeof plain, cl)
                        : WS_ERR_NOSPACE;
        }
        if (r != WS_OK) {
            fprintf(stderr, "shared_port: fd %d: new connection: %s\n", fd, ws_strerror(r));
            cl->dead = true;
        }
    }
    if (!net_accept_done(errno)) perror("shared_port: accept");
}

/* What the client sent, decrypted (TLS only: without it, read_client reads straight into
   cl->in): an HTTP connection's requests collect in cl->in and are answered as they
   complete; a WebSocket's bytes go to ws_conn_feed. TLS cannot leave bytes in the kernel
   the way TCP does, so a client that pipelines more than cl->in holds while its answers
   wait (QUEUE_PAUSE) is answered what it has, and closed. */
static void got_bytes(client *cl, char *p, size_t n) {
    while (n > 0 && !cl->closing && !cl->dead) {
        if (cl->route != ROUTE_HTTP) {
            int r = ws_conn_feed(&cl->ws, p, n);                 /* ws.h glue: frames in */
            if (r != WS_OK) fprintf(stderr, "shared_port: fd %d: %s\n", cl->fd, ws_strerror(r));
            return;
        }
        size_t k = n < sizeof cl->in - cl->in_len ? n : sizeof cl->in - cl->in_len;
        if (k == 0) {
            fprintf(stderr, "shared_port: fd %d: more pipelined requests than %d bytes while "
                            "the answers wait: closing\n", cl->fd, IN_MAX);
            cl->closing = true;
            return;
        }
        memcpy(cl->in + cl->in_len, p, k);
        cl->in_len += k;
        p += k;
        n -= k;
        serve_requests(cl);         /* makes room; an upgrade turns the rest into frames */
    }
}

/* ws.h glue (TLS): what the records held, decrypted into plain[]. */
static void on_tls_data(ws_tls *t, void *data, size_t len) {
    got_bytes((client *)t->user, (char *)data, len);
}

static void read_client(client *cl) {
    size_t off = cl->route == ROUTE_HTTP ? cl->in_len : 0;
    char *buf = cl->tls ? cipher : cl->in + off;   /* TLS: no more than cl->in has room for */
    ssize_t n = recv(cl->fd, buf, sizeof cl->in - off, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    if (n <= 0) {                   /* EOF or reset */
        ws_conn_eof(&cl->ws);       /* ws.h glue: a WebSocket FAILED (1006) unless closed */
        cl->dead = true;
        return;
    }
    if (cl->closing) return;                         /* done: discard */
    cl->due = now_ms() + IDLE_MS;
    if (cl->tls) {
        int r = ws_tls_feed(cl->tls, buf, (size_t)n);   /* ws.h glue (TLS): on_tls_data */
        if (r == WS_ERR_EOF) {                          /* close_notify: TLS is over */
            ws_conn_eof(&cl->ws);
            cl->closing = true;
        } else if (r != WS_OK) {    /* not TLS, a bad record, an alert: the alert goes out */
            fprintf(stderr, "shared_port: fd %d: TLS: %s\n", cl->fd, ws_tls_why(cl->tls));
            cl->closing = true;
        }
        return;
    }
    if (cl->route == ROUTE_HTTP) {
        cl->in_len += (size_t)n;
        return;
    }
    int r = ws_conn_feed(&cl->ws, cl->in, (size_t)n);         /* ws.h glue: frames in */
    if (r != WS_OK) fprintf(stderr, "shared_port: fd %d: %s\n", cl->fd, ws_strerror(r));
}

/* Answers what can be answered, sends what is queued; then decides what to wait for. */
static void flush_client(client *cl) {
    for (;;) {
        serve_requests(cl);
        size_t before = pending(cl);
        if (cl->dead || before == 0) break;
        if (outq_flush(&cl->out, cl->fd) != 0) cl->dead = true;
        if (cl->dead || pending(cl) == before) break;
        cl->due = now_ms() + IDLE_MS;
        if (pending(cl) > 0) break;                  /* the socket is full: EPOLLOUT */
    }
    if (cl->dead) return;
    ws_state s = ws_conn_state(&cl->ws);
    if (cl->route != ROUTE_HTTP && (s == WS_STATE_CLOSED || s == WS_STATE_FAILED)) cl->closing = true;
    if (cl->closing && cl->tls && !cl->tls_closed) {
        cl->tls_closed = true;
        if (ws_tls_ready(cl->tls) && ws_tls_close(cl->tls) == WS_OK &&  /* ws.h glue (TLS): */
            outq_flush(&cl->out, cl->fd) != 0) {                         /* close_notify */
            cl->dead = true;
            return;
        }
    }
    if (cl->closing && !cl->fin_sent && pending(cl) == 0) {
        shutdown(cl->fd, SHUT_WR);      /* the server closes TCP first; the client's FIN next */
        cl->fin_sent = true;
        cl->due = now_ms() + CLOSE_MS;
    }
    uint32_t ev = pending(cl) > 0 ? EPOLLOUT : 0;
    if (pending(cl) < QUEUE_PAUSE && (cl->route != ROUTE_HTTP || cl->in_len < sizeof cl->in))
        ev |= EPOLLIN;
    watch(cl, ev);
}

/* Runs the timers that are due; returns the epoll timeout until the next one. */
static int run_timers(void) {
    uint64_t now = now_ms(), next = UINT64_MAX;
    for (client *cl = clients, *after; cl; cl = after) {
        after = cl->next;
        bool ws = cl->route != ROUTE_HTTP && !cl->closing;
        /* the TLS handshake: bounded by the ws_conn's handshake timeout too */
        bool hs = cl->tls && !cl->closing && !ws_tls_ready(cl->tls);
        uint64_t due = ws ? ws_conn_deadline(&cl->ws) : cl->due;
        if (hs && ws_conn_deadline(&cl->ws) < due) due = ws_conn_deadline(&cl->ws), ws = true;
        if (!cl->dead && due <= now && !ws) cl->dead = true;    /* idle, or no FIN came */
        if (!cl->dead && due <= now) {
            int r = ws_conn_tick(&cl->ws, now);     /* ws.h glue: keepalive ping, timeouts */
            if (r != WS_OK) fprintf(stderr, "shared_port: fd %d: %s\n", cl->fd, ws_strerror(r));
            if (r == WS_ERR_TIMEOUT) cl->dead = true;
            flush_client(cl);
            due = cl->closing ? cl->due : ws_conn_deadline(&cl->ws);
        }
        if (cl->dead) client_free(cl);
        else if (due < next) next = due;
    }
    if (next == UINT64_MAX) return -1;
    return next <= now ? 0 : next - now > 60000 ? 60000 : (int)(next - now);
}

/* Ctrl-C: no new connections; close 1001 to WebSocket clients, whose answers are awaited
   (SHUTDOWN_MS at most), and FIN to HTTP ones. */
static void shut_down(int lfd) {
    printf("shared_port: shutting down\n");
    close(lfd);                         /* also leaves the epoll set */
    for (client *cl = clients; cl; cl = cl->next) {
        int r = WS_ERR_STATE;
        if (cl->route != ROUTE_HTTP && ws_conn_state(&cl->ws) == WS_STATE_OPEN &&
            (r = ws_conn_close(&cl->ws, WS_CLOSE_GOING_AWAY, "server shutting down", 20)) != WS_OK)
            fprintf(stderr, "shared_port: fd %d: close: %s\n", cl->fd, ws_strerror(r));
        if (r != WS_OK) cl->closing = true;
        flush_client(cl);
    }
}

static const char usage[] =
    "usage: shared_port [--help] [--cert FILE --key FILE] PORT STATIC_DIR\n"
    "  An HTTP server on 127.0.0.1:PORT whose upgrade requests on /ws (echo) and /chat\n"
    "  (broadcast) go to ws.h; any other upgrade path gets 404.\n"
    "  PORT         0-65535 (0: any free port, printed)\n"
    "  STATIC_DIR   the folder served at / (index.html for a path ending in /), e.g.\n"
    "               examples/www; GET /api/time answers the time as JSON\n"
    "  --cert FILE  the server's certificate chain (PEM or DER): https and wss instead\n"
    "  --key FILE   its private key (PEM or DER, not encrypted)\n";

/* One line: what was wrong with the command line, and what was wanted. */
static int bad_usage(const char *what, const char *arg, const char *want) {
    fprintf(stderr, "shared_port: %s%s%s%s: %s (see --help)\n", what, arg ? " '" : "",
            arg ? arg : "", arg ? "'" : "", want);
    return 2;
}

int main(int argc, char **argv) {
    const char *args[2] = { NULL, NULL }, *cert = NULL, *key = NULL;
    int nargs = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0) {
            fputs(usage, stdout);
            return 0;
        }
        if (strcmp(a, "--cert") == 0 || strcmp(a, "--key") == 0) {
            if (i + 1 == argc) return bad_usage("a value is missing after", a, "want a FILE");
            if (!TLS_BUILT) return bad_usage(a, NULL, TLS_MISSING);
            *(a[2] == 'c' ? &cert : &key) = argv[++i];
        } else if (a[0] == '-' && !(a[1] >= '0' && a[1] <= '9')) {
            return bad_usage("unknown option", a, "the options are --cert, --key and --help");
        } else if (nargs < 2) {
            args[nargs++] = a;
        } else {
            return bad_usage("unexpected argument", a, "usage: shared_port PORT STATIC_DIR");
        }
    }
    char *end = NULL;
    struct stat st;
    long port = args[0] ? strtol(args[0], &end, 10) : -1;
    if (nargs < 2) return bad_usage(nargs == 0 ? "no PORT and STATIC_DIR" : "no STATIC_DIR", NULL,
                                    "usage: shared_port PORT STATIC_DIR");
    if (end == args[0] || *end || port < 0 || port > 65535)
        return bad_usage("bad port", args[0], "want a number 0-65535");
    if (stat(args[1], &st) != 0)            /* a typo would serve 404 to everything */
        return bad_usage("STATIC_DIR", args[1], strerror(errno));
    if (!S_ISDIR(st.st_mode)) return bad_usage("STATIC_DIR", args[1], "not a folder");
    if (!cert != !key)
        return bad_usage(cert ? "--cert without --key" : "--key without --cert", NULL,
                         "give both: --cert FILE --key FILE");
    if (cert) {                         /* ws.h glue (TLS): the settings of every connection */
        tls_cfg.send = on_tls_send;
        tls_cfg.on_data = on_tls_data;
        if (tls_server_files("shared_port", &tls_cfg, cert, key) != 0) return 2;
        use_tls = true;
    }
    root = args[1];
    cfg.send = on_send;                 /* ws.h glue: the settings of every WebSocket */
    cfg.on_message = on_message;
    cfg.max_message_size = MSG_MAX;
    cfg.close_timeout_ms = 5000;
    cfg.ping_interval_ms = 30000;       /* keepalive: a ping after 30 s of silence, */
    cfg.timeout_ms = 75000;             /* and a client silent for 75 s is dropped */

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = on_signal;          /* no SA_RESTART: epoll_wait returns EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    unsigned bound;
    struct epoll_event lev = { .events = EPOLLIN, .data.ptr = NULL };
    int lfd = net_listen("shared_port", port, &bound);
    if (lfd < 0) return 1;
    if ((epfd = epoll_create1(0)) < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev) != 0) {
        perror("shared_port: epoll");
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("shared_port: listening on %s://127.0.0.1:%u/ (WebSocket: /ws echo, /chat "
           "broadcast), files from %s\n", use_tls ? "https" : "http", bound, root);

    uint64_t stop_by = 0;               /* once stopping: the last moment to wait for clients */
    for (;;) {
        int wait = run_timers();        /* also frees the clients that are done */
        if (stop && !stop_by) {
            stop_by = now_ms() + SHUTDOWN_MS;
            shut_down(lfd);
            continue;
        }
        if (stop_by && (!clients || now_ms() >= stop_by)) break;
        if (stop_by && (wait < 0 || (uint64_t)wait > stop_by - now_ms())) wait = (int)(stop_by - now_ms());
        struct epoll_event evs[64];
        int n = epoll_wait(epfd, evs, 64, wait);
        if (n < 0 && errno != EINTR) { perror("shared_port: epoll_wait"); break; }
        for (int i = 0; i < n; i++) {
            client *cl = (client *)evs[i].data.ptr;
            if (!cl) { accept_clients(lfd); continue; }
            if (!cl->dead && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) read_client(cl);
            if (!cl->dead) flush_client(cl);
        }
    }
    while (clients) client_free(clients);   /* those that did not finish in time */
    ws_tls_config_free(&tls_cfg);
    close(epfd);
    return 0;
}
