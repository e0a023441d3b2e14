/* wscat.c - a command-line WebSocket client: lines in, messages out

   The tool to poke at a server with. Connects to a ws:// URL, sends each line of standard
   input as a text message, prints every message that arrives (text as it is, binary as
   "<binary N bytes> 68 65 6c ..."), and at the end of the input closes with 1000 and waits
   for the server's close. Status lines ("connected", "closed") go to stderr. Ctrl-C closes
   with 1000 too; a second one quits at once (status 130). A line that is not UTF-8 (in text
   mode) or longer than 1 MiB is not sent, with a message.

   Build:  make examples
   Usage:  ./build/wscat [options] ws://HOST[:PORT][/PATH]      (HOST: a name, 1.2.3.4, [::1])
     -p, --protocol LIST  offer subprotocols ("chat" or "chat, superchat"); the server's
                          choice is printed when it connects
     -H, --header 'N: V'  send an extra request header (repeatable)
     -o, --origin ORIGIN  send an Origin header
     -b, --binary         send lines as binary messages instead of text
     -w, --wait MS        at the end of input, close once nothing arrived for MS (default
                          0: at once), so that replies still on their way are printed
     -k, --keep-open      at the end of input, stay connected and print what arrives until
                          the server closes
     --ping MS            ping the server after MS of silence
     --timeout MS         the server is dead after MS of silence (default 2 * ping)
   Try:    echo hello | ./build/wscat ws://127.0.0.1:8080/       (with build/echo_server 8080)
           prints "hello", then exits 0.
   Exit status:
     0  clean close: the close handshake completed with 1000 or 1001
     1  no connection: name, connect or handshake failure (a refusal shows its HTTP status)
     2  usage
     3  the connection ended otherwise: another close code, a protocol error, TCP dropped
        without a close (1006), or no answer within --timeout
*/
#define _POSIX_C_SOURCE 200809L
#define WS_IMPLEMENTATION
#include "ws.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum {
    LINE_MAX_    = 1 << 20,     /* longest line sent; longer ones are skipped */
    QUEUE_PAUSE  = 1 << 20,     /* stop reading stdin while this much is unsent */
    CONNECT_MS   = 10000,       /* connect and handshake, each */
    EOF_WAIT_MS  = 2000,        /* after the close handshake, wait for the server's FIN */
    HEX_SHOWN    = 32           /* bytes of a binary message shown in hex */
};

static struct {
    int      fd;
    ws_conn  ws;
    bool     upgraded, eof;     /* handshake done; the server closed TCP */
    ws_http  resp;              /* parsed incrementally: head[] never moves */
    char     head[8192];
    size_t   head_len;
    char    *out;               /* output queue: out[pos..len-1] is unsent */
    size_t   out_pos, out_len, out_cap;
    char     line[LINE_MAX_];   /* stdin bytes not sent yet */
    size_t   line_len;
    bool     skipping;          /* inside a line that was too long */
    bool     stdin_done, we_closed;
    uint64_t last_rx;           /* when the last message data arrived (or stdin ended) */
    ws_opcode op;               /* the message being received */
    uint64_t got;
    uint8_t  shown[HEX_SHOWN];
} S;

static volatile sig_atomic_t interrupted;
static bool binary, keep_open;
static long wait_ms;

static void on_signal(int sig) { (void)sig; interrupted++; }

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int on_random(ws_conn *c, void *out, size_t n) {
    (void)c;
    return getrandom(out, n, 0) == (ssize_t)n ? 0 : -1;    /* n is 4 or 16: never short */
}

static size_t pending(void) { return S.out_len - S.out_pos; }

static int on_send(ws_conn *c, const ws_buf *bufs, size_t n) {
    (void)c;
    for (size_t i = 0; i < n; i++) {
        size_t len = bufs[i].len;
        if (len > S.out_cap - S.out_len && S.out_pos > 0) {    /* reclaim sent bytes */
            memmove(S.out, S.out + S.out_pos, pending());
            S.out_len -= S.out_pos;
            S.out_pos = 0;
        }
        if (len > S.out_cap - S.out_len) {
            size_t cap = S.out_cap ? S.out_cap : 16384;
            while (cap - S.out_len < len) cap *= 2;
            char *p = (char *)realloc(S.out, cap);
            if (!p) return -1;
            S.out = p;
            S.out_cap = cap;
        }
        memcpy(S.out + S.out_len, bufs[i].data, len);
        S.out_len += len;
    }
    return 0;
}

/* ---- what arrives: streamed to stdout, nothing is held but the hex preview ------------ */

static void on_begin(ws_conn *c, ws_opcode op, uint64_t size) {
    (void)c; (void)size;
    S.op = op;
    S.got = 0;
    S.last_rx = now_ms();
}

static void on_data(ws_conn *c, const void *data, size_t len) {
    (void)c;
    S.last_rx = now_ms();
    if (S.op == WS_OP_TEXT) fwrite(data, 1, len, stdout);
    else if (S.got < HEX_SHOWN)
        memcpy(S.shown + S.got, data, len < HEX_SHOWN - S.got ? len : HEX_SHOWN - S.got);
    S.got += len;
}

static void on_end(ws_conn *c) {
    (void)c;
    if (S.op == WS_OP_BINARY) {
        printf("<binary %llu bytes>", (unsigned long long)S.got);
        for (uint64_t i = 0; i < S.got && i < HEX_SHOWN; i++) printf(" %02x", S.shown[i]);
        if (S.got > HEX_SHOWN) printf(" ...");
    }
    printf("\n");
    fflush(stdout);
}

static void on_close(ws_conn *c, unsigned code, const char *reason, size_t len) {
    (void)c;
    fprintf(stderr, "wscat: closed: %u%s%.*s\n", code, len ? " " : "", (int)len, reason);
}

/* ---- what we send: a message per line of stdin ----------------------------------------- */

static void send_line(const char *p, size_t n) {
    if (!binary && !ws_utf8_valid(p, n)) {
        fprintf(stderr, "wscat: a line is not valid UTF-8: not sent (--binary sends it)\n");
        return;
    }
    int r = ws_conn_send(&S.ws, binary ? WS_OP_BINARY : WS_OP_TEXT, p, n);
    if (r != WS_OK) fprintf(stderr, "wscat: send: %s\n", ws_strerror(r));
}

static void read_stdin(void) {
    ssize_t n = read(0, S.line + S.line_len, sizeof S.line - S.line_len);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n < 0) perror("wscat: stdin");
    if (n <= 0) {                                   /* end of input */
        if (S.line_len && !S.skipping) send_line(S.line, S.line_len);  /* no final newline */
        S.stdin_done = true;
        S.last_rx = now_ms();                       /* the --wait starts now */
        return;
    }
    S.line_len += (size_t)n;
    char *p = S.line, *nl, *end = S.line + S.line_len;
    while ((nl = memchr(p, '\n', (size_t)(end - p)))) {
        if (!S.skipping) send_line(p, (size_t)(nl - p));
        S.skipping = false;
        p = nl + 1;
    }
    S.line_len = (size_t)(end - p);
    memmove(S.line, p, S.line_len);
    if (S.line_len == sizeof S.line) {
        fprintf(stderr, "wscat: a line is longer than %d bytes: not sent\n", LINE_MAX_);
        S.skipping = true;
        S.line_len = 0;
    }
}

/* ---- connecting ------------------------------------------------------------------------ */

/* "ws://host[:port][/path]"; host may be [v6]. hostname is host without brackets. */
static int parse_url(const char *url, char *host, char *hostname, size_t cap, char *port,
                     const char **path) {
    if (strncmp(url, "wss://", 6) == 0) {
        fprintf(stderr, "wscat: wss:// needs TLS, which this example does not do\n");
        return -1;
    }
    if (strncmp(url, "ws://", 5) != 0) return -1;
    const char *h = url + 5, *p = *h == '[' ? strchr(h, ']') : h + strcspn(h, ":/?");
    if (!p || p == h) return -1;
    if (*h == '[') p++;
    if ((size_t)(p - h) >= cap) return -1;
    memcpy(host, h, (size_t)(p - h));
    host[p - h] = '\0';
    strcpy(hostname, host + (*h == '['));
    if (*h == '[') hostname[strlen(hostname) - 1] = '\0';
    port[0] = '\0';
    if (*p == ':') {
        size_t n = strspn(p + 1, "0123456789");
        if (n == 0 || n > 5 || atol(p + 1) > 65535) return -1;
        memcpy(port, p + 1, n);
        port[n] = '\0';
        p += 1 + n;
    }
    if (*p != '\0' && *p != '/') return -1;
    *path = *p ? p : "/";
    return 0;
}

/* Tries every address of host until one connects within CONNECT_MS. */
static int dial(const char *host, const char *port) {
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
    int e = getaddrinfo(host, port, &hints, &res), fd = -1, err = 0;
    if (e != 0) {
        fprintf(stderr, "wscat: %s: %s\n", host, gai_strerror(e));
        return -1;
    }
    for (ai = res; ai && fd < 0; ai = ai->ai_next) {
        socklen_t elen = sizeof err;
        struct pollfd pfd = { .events = POLLOUT };
        fd = pfd.fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0 || fcntl(fd, F_SETFL, O_NONBLOCK) != 0) {
            err = errno;
        } else if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
            err = errno;
        } else if (poll(&pfd, 1, CONNECT_MS) != 1) {
            err = ETIMEDOUT;
        } else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0) {
            err = errno;
        }
        if (err && fd >= 0) { close(fd); fd = -1; }
    }
    freeaddrinfo(res);
    if (fd < 0) fprintf(stderr, "wscat: cannot connect to %s port %s: %s\n", host, port,
                        strerror(err));
    return fd;
}

/* The response head; then the frames behind it. Returns -1 when the handshake failed. */
static int read_handshake(size_t n) {
    S.head_len += n;
    int r = ws_http_parse_response(&S.resp, S.head, S.head_len);
    if (r == WS_HS_PARTIAL && S.head_len < sizeof S.head) return 0;
    if (r == WS_HS_PARTIAL) r = WS_ERR_HS_TOO_BIG;
    if (r == WS_HS_HTTP) {
        fprintf(stderr, "wscat: the server refused the upgrade: HTTP %d %.*s\n",
                S.resp.status, (int)S.resp.reason.len, S.resp.reason.ptr);
        return -1;
    }
    if (r == WS_HS_UPGRADE) r = ws_conn_connected(&S.ws, &S.resp);
    if (r != WS_OK) {
        fprintf(stderr, "wscat: handshake: %s\n", ws_strerror(r));
        return -1;
    }
    S.upgraded = true;
    fprintf(stderr, "wscat: connected%s%.*s%s\n", S.resp.protocol.ptr ? " (subprotocol " : "",
            (int)S.resp.protocol.len, S.resp.protocol.ptr, S.resp.protocol.ptr ? ")" : "");
    if (S.head_len > S.resp.size) {
        r = ws_conn_feed(&S.ws, S.head + S.resp.size, S.head_len - S.resp.size);
        if (r != WS_OK) fprintf(stderr, "wscat: %s\n", ws_strerror(r));
    }
    return 0;
}

static bool opt(const char *a, const char *s, const char *l) { return !strcmp(a, s) || !strcmp(a, l); }

/* Appends "Name: value" and CRLF to the extra headers. */
static bool add_header(char *buf, size_t cap, const char *h) {
    const char *colon = h ? strchr(h, ':') : NULL;
    if (!colon || colon == h || strlen(buf) + strlen(h) + 3 > cap) return false;
    strcat(strcat(buf, h), "\r\n");
    return true;
}

static long number(const char *s) {
    char *end;
    long v = s ? strtol(s, &end, 10) : -1;
    return s && *s && !*end && v > 0 && v < 86400000 ? v : -1;
}

int main(int argc, char **argv) {
    static char host[256], hostname[256], port[8], headers[4096];
    static ws_config cfg;
    ws_client_opts opts = { 0 };
    const char *url = NULL;
    long ping = 0, timeout = 0;
    bool bad = false;
    for (int i = 1; i < argc && !bad; i++) {        /* argv[argc] is NULL: a missing value */
        const char *a = argv[i];
        if (opt(a, "-p", "--protocol")) bad = !(opts.protocols = argv[++i]);
        else if (opt(a, "-o", "--origin")) bad = !(opts.origin = argv[++i]);
        else if (opt(a, "-H", "--header")) bad = !add_header(headers, sizeof headers, argv[++i]);
        else if (opt(a, "-w", "--wait")) bad = (wait_ms = number(argv[++i])) < 0;
        else if (opt(a, "--ping", "--ping")) bad = (ping = number(argv[++i])) < 0;
        else if (opt(a, "--timeout", "--timeout")) bad = (timeout = number(argv[++i])) < 0;
        else if (opt(a, "-b", "--binary")) binary = true;
        else if (opt(a, "-k", "--keep-open")) keep_open = true;
        else if (a[0] != '-' && !url) url = a;
        else bad = true;
    }
    if (headers[0]) opts.headers = headers;
    if (bad || !url ||
        parse_url(url, host, hostname, sizeof host, port, &opts.path) != 0) {
        fprintf(stderr, "usage: %s [-p PROTOCOLS] [-H 'Name: value'] [-o ORIGIN] [-b] [-w MS] [-k]\n"
                        "       [--ping MS] [--timeout MS] ws://HOST[:PORT][/PATH]\n", argv[0]);
        return 2;
    }
    opts.host = host;
    opts.port = (uint16_t)atoi(port);               /* 0: no port in Host */

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = on_signal;                      /* no SA_RESTART: poll returns EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    cfg.role = WS_ROLE_CLIENT;
    cfg.send = on_send;
    cfg.random = on_random;
    cfg.on_begin = on_begin;
    cfg.on_data = on_data;
    cfg.on_end = on_end;
    cfg.on_close = on_close;
    cfg.handshake_timeout_ms = CONNECT_MS;
    cfg.ping_interval_ms = (uint32_t)ping;
    cfg.timeout_ms = (uint32_t)timeout;
    ws_http_init(&S.resp, sizeof S.head);
    if ((S.fd = dial(hostname, port[0] ? port : "80")) < 0) return 1;
    int r = ws_conn_init(&S.ws, &cfg, NULL);
    if (r == WS_OK) r = ws_conn_tick(&S.ws, now_ms());    /* the handshake clock starts */
    if (r == WS_OK) r = ws_conn_connect(&S.ws, &opts);    /* the request is queued */
    if (r != WS_OK) {
        fprintf(stderr, "wscat: %s\n", ws_strerror(r));
        return 1;
    }

    uint64_t until = 0;                 /* once CLOSED or FAILED: the last moment to wait */
    sig_atomic_t handled = 0;
    for (;;) {
        uint64_t now = now_ms();
        ws_state st = ws_conn_state(&S.ws);
        uint64_t close_at = S.stdin_done && !keep_open ? S.last_rx + (uint64_t)wait_ms : UINT64_MAX;
        if (interrupted > handled && st != WS_STATE_OPEN) return 130;  /* Ctrl-C again */
        if (st == WS_STATE_OPEN && (interrupted > handled || now >= close_at)) {
            handled = interrupted;                  /* end of input or Ctrl-C: close 1000 */
            if ((r = ws_conn_close(&S.ws, WS_CLOSE_NORMAL, NULL, 0)) != WS_OK)
                fprintf(stderr, "wscat: close: %s\n", ws_strerror(r));
            S.we_closed = true;
            continue;
        }
        if (st == WS_STATE_CLOSED || st == WS_STATE_FAILED) {
            if (!until) until = now + EOF_WAIT_MS;
            if (S.eof || now >= until || (st == WS_STATE_FAILED && pending() == 0)) break;
        } else if (S.eof) {
            break;
        } else if (ws_conn_deadline(&S.ws) <= now) {
            if ((r = ws_conn_tick(&S.ws, now)) != WS_OK) {
                fprintf(stderr, "wscat: %s%s\n", ws_strerror(r),
                        r == WS_ERR_TIMEOUT && S.upgraded ? " (the server stopped answering)" : "");
                if (!S.upgraded) return 1;
            }
            continue;
        }
        uint64_t wake = until ? until : ws_conn_deadline(&S.ws);
        if (!until && close_at < wake) wake = close_at;
        struct pollfd pfd[2] = { { .fd = S.fd, .events = POLLIN }, { .fd = -1, .events = POLLIN } };
        if (pending() > 0) pfd[0].events |= POLLOUT;
        if (st == WS_STATE_OPEN && !S.stdin_done && pending() < QUEUE_PAUSE) pfd[1].fd = 0;
        int n = poll(pfd, 2, wake == UINT64_MAX ? -1 : wake > now ? (int)(wake - now) : 0);
        if (n < 0 && errno != EINTR) { perror("wscat: poll"); return 3; }
        if (n <= 0) continue;
        if (pfd[0].revents & POLLOUT) {
            ssize_t k = send(S.fd, S.out + S.out_pos, pending(), MSG_NOSIGNAL);
            if (k > 0) S.out_pos += (size_t)k;
            else if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                S.out_pos = S.out_len;          /* the server is gone: recv will say so */
        }
        if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            static char buf[65536];
            char *p = S.upgraded ? buf : S.head + S.head_len;
            size_t cap = S.upgraded ? sizeof buf : sizeof S.head - S.head_len;
            ssize_t k = recv(S.fd, p, cap, 0);
            if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
            if (k <= 0) {
                S.eof = true;
            } else if (!S.upgraded) {
                if (read_handshake((size_t)k) != 0) return 1;
            } else if ((r = ws_conn_feed(&S.ws, p, (size_t)k)) != WS_OK) {
                fprintf(stderr, "wscat: %s\n", ws_strerror(r));
            }
        }
        if (pfd[1].revents) read_stdin();
    }

    ws_state st = ws_conn_state(&S.ws);
    unsigned code = ws_conn_close_code(&S.ws);
    if (!S.upgraded) {
        fprintf(stderr, "wscat: the server closed the connection during the handshake\n");
        return 1;
    }
    if (st == WS_STATE_OPEN || st == WS_STATE_CLOSING) {
        fprintf(stderr, "wscat: the connection dropped without a close frame (1006)\n");
        return 3;
    }
    if (st == WS_STATE_CLOSED &&
        (code == WS_CLOSE_NORMAL || code == WS_CLOSE_GOING_AWAY ||
         (code == WS_CLOSE_NO_STATUS && S.we_closed)))
        return 0;
    return 3;
}
