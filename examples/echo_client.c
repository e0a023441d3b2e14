/* echo_client.c - a WebSocket client that echoes: Autobahn-style test runner and self-check

   Shows the client side of ws.h in a poll() loop: connecting, the upgrade handshake read
   into a fixed buffer, masked output through a queue, messages echoed back as they arrive
   (streamed, never held whole), and waiting for the server to close TCP after the close
   handshake (RFC 6455 7.1.1).

   Build:  make examples
           (or: cc -std=c99 -O2 -I. examples/echo_client.c -o build/echo_client)

   Runner mode, against an Autobahn|Testsuite fuzzingserver (or anything that speaks its
   protocol: /getCaseCount, /runCase?case=N&agent=A, /updateReports?agent=A):
       ./build/echo_client ws://127.0.0.1:9001 [agent]
   prints one line per case and exits 0 when every case ran to its end (the runner judges
   the echoes). Each case is bounded to 30 s, the whole run to 2 hours.

   Check mode, against any echo server (examples/echo_server.c, for one):
       ./build/echo_client --check ws://127.0.0.1:8080/
   sends text (with multi-byte UTF-8) and binary messages of 0 B to 16 MiB, a fragmented
   message with a ping between its fragments and a ping, compares every echoed byte and the
   pongs, closes with 1000 and checks the close echo. Prints one line per check and exits
   0 only when everything matched.

   Both modes speak wss:// too (built with mbedTLS: examples/examples.mk), verifying the
   server's certificate against --ca FILE (default: the system's CAs), or not with
   --insecure (tests only):
       ./build/echo_client --ca ca.pem wss://localhost:9001 [agent]

   The parts marked "ws.h glue" are the client side of ws.h (the callbacks, the handshake,
   feed and tick, and for wss:// its TLS layer: ws_tls_init once connected, the upgrade sent
   from on_open, ws_tls_feed for what arrives, ws_tls_send under the send callback,
   ws_tls_close after the close handshake); examples/outq.h is the output queue,
   examples/net.h the connect (non-blocking, TCP_NODELAY), examples/tls.h the CA file.
   --deflate offers permessage-deflate (RFC 7692) on every connection: what the server
   compresses is inflated, echoes and checks go out compressed; --check then says what was
   agreed, and fails when the server declined it.

   ./build/echo_client --help says all this in short.
*/
#define _POSIX_C_SOURCE 200809L
#define WS_DEFLATE                      /* --deflate: permessage-deflate */
#define WS_IMPLEMENTATION
#include "ws.h"
#include "outq.h"
#include "net.h"
#include "tls.h"

#include <stdarg.h>
#include <stdlib.h>
#include <sys/random.h>

enum {
    READ_SIZE       = 64 * 1024,
    QUEUE_PAUSE     = 4 << 20,      /* echoing: stop reading while this much is unsent */
    QUEUE_LIMIT     = 64 << 20,     /* more unsent than this: the connection fails */
    EOF_WAIT_MS     = 3000,         /* after the close handshake, wait for the server's FIN */
    CASE_TIMEOUT_MS = 30000,
    CHECK_TIMEOUT_MS = 45000
};
enum { ECHO_WAIT, ECHO_FRAME, ECHO_WHOLE, ECHO_FRAGMENTS };
#define RUN_TIMEOUT_MS (2u * 3600u * 1000u)

typedef struct session session;
struct session {
    int      fd;
    ws_conn  ws;
    bool     upgraded;
    int      echo;                  /* how the message being echoed goes out: ECHO_* */
    ws_opcode echo_op;
    uint64_t echo_size, echo_got;   /* of the message being echoed */
    bool     eof;                   /* the server closed TCP */
    ws_http  resp;                  /* parsed incrementally: head[] never moves */
    char     head[8192];
    size_t   head_len;
    outq     out;                   /* what waits for the socket (examples/outq.h) */
    void   (*step)(session *s);     /* called after the handshake and after each read */
    void    *msgbuf;                /* NULL: messages are streamed; else collected whole */
    size_t   msgcap;
    bool     echoing;               /* output grows with input: apply back-pressure */
    bool     tls_closed;            /* wss://: close_notify sent */
    ws_tls   tls;                   /* wss:// */
    ws_client_opts opts;            /* the upgrade request, sent once TLS is up */
};

static char readbuf[READ_SIZE];
static bool use_tls;                /* wss:// */
static ws_tls_config tls_cfg;
static char plain[TLS_RECORD];      /* what TLS decrypts, used up in on_tls_data */

/* --deflate (ws.h glue): offered on every connection (windows 2^15 both ways, any window
   and context setting the server picks); the decoder with its 32 KiB window, made fresh
   for each connection; the encoder's memory (a 16 KiB table, a 64 KiB buffer) */
static bool use_deflate;
static ws_deflate_client pmd;
static ws_inflate pmd_inflate;
static uint8_t pmd_window[1 << 15];
static uint32_t pmd_table[1 << 12];
static uint8_t pmd_out[64 * 1024];
static ws_deflate pmd_deflate = { .table = pmd_table, .table_bits = 12, .out = pmd_out,
                                   .out_cap = sizeof pmd_out };

/* ---- ws.h glue: randomness for masks and keys, the send callback ------------------ */

static int on_random(ws_conn *c, void *out, size_t n) {
    static uint8_t pool[256];       /* one getrandom() per 64 mask keys */
    static size_t avail;
    (void)c;
    while (n > 0) {
        if (avail == 0) {
            ssize_t r = getrandom(pool, sizeof pool, 0);
            if (r != (ssize_t)sizeof pool) return -1;
            avail = sizeof pool;
        }
        size_t k = n < avail ? n : avail;
        memcpy(out, pool + sizeof pool - avail, k);
        memset(pool + sizeof pool - avail, 0, k);
        avail -= k;
        out = (uint8_t *)out + k;
        n -= k;
    }
    return 0;
}

static size_t pending(const session *s) { return outq_pending(&s->out); }

/* Everything ws.h sends goes to the output queue (for wss://, encrypted first: ws_tls_send
   gives the records to on_tls_send); over QUEUE_LIMIT the connection fails. */
static int on_send(ws_conn *c, const ws_buf *bufs, size_t n) {
    session *s = (session *)c->user;
    if (use_tls) return ws_tls_send(&s->tls, bufs, n) == WS_OK ? 0 : -1;
    if (outq_push_bufs(&s->out, bufs, n) == 0) return 0;
    fprintf(stderr, "echo_client: more than %d bytes wait to be sent\n", QUEUE_LIMIT);
    return -1;
}

/* ws.h glue (TLS): the records go to the same queue. */
static int on_tls_send(ws_tls *t, const void *data, size_t len) {
    session *s = (session *)t->user;
    if (outq_push(&s->out, data, len) == 0) return 0;
    fprintf(stderr, "echo_client: more than %d bytes wait to be sent\n", QUEUE_LIMIT);
    return -1;
}

/* ws.h glue (TLS): the handshake is done and the certificate checked: now the upgrade. */
static void on_tls_open(ws_tls *t) {
    session *s = (session *)t->user;
    int r = ws_conn_connect(&s->ws, &s->opts);
    if (r != WS_OK) {
        fprintf(stderr, "echo_client: %s: %s\n", s->opts.path, ws_strerror(r));
        s->eof = true;
    }
}

static void got_bytes(session *s, char *data, size_t len);

/* ws.h glue (TLS): what the records held, decrypted into plain[]. */
static void on_tls_data(ws_tls *t, void *data, size_t len) {
    got_bytes((session *)t->user, (char *)data, len);
}

/* "ws://host[:port][/path]" (or wss://); says what is wrong with one that is not, and
   returns -1. */
static int parse_url(const char *url, char *host, size_t cap, char *port, const char **path) {
    bool tls = strncmp(url, "wss://", 6) == 0, ws = tls || strncmp(url, "ws://", 5) == 0;
    const char *h = ws ? url + (tls ? 6 : 5) : url, *p = ws ? h + strcspn(h, ":/") : NULL;
    if (!p || p == h || (size_t)(p - h) >= cap) {
        fprintf(stderr, "echo_client: bad URL '%s': want ws://HOST[:PORT][/PATH] or wss://\n",
                url);
        return -1;
    }
    if (tls && !TLS_BUILT) {
        fprintf(stderr, "echo_client: %s: wss:// needs TLS: %s\n", url, TLS_MISSING);
        return -1;
    }
    use_tls = tls;
    memcpy(host, h, (size_t)(p - h));
    host[p - h] = '\0';
    strcpy(port, tls ? "443" : "80");
    if (*p == ':') {
        size_t n = strspn(p + 1, "0123456789"), len = strcspn(p + 1, "/");
        if (n == 0 || n != len || n > 5 || atol(p + 1) < 1 || atol(p + 1) > 65535) {
            fprintf(stderr, "echo_client: bad port '%.*s' in %s: want a number 1-65535\n",
                    (int)len, p + 1, url);
            return -1;
        }
        memcpy(port, p + 1, n);
        port[n] = '\0';
        p += 1 + n;
    }
    *path = *p ? p : "/";
    return 0;
}

/* ---- one connection, start to end -------------------------------------------------- */

static const char *url_host, *url_port;

/* ws.h glue: the bytes of the handshake response; then the frames behind it. */
static void read_handshake(session *s, size_t n) {
    s->head_len += n;
    int r = ws_http_parse_response(&s->resp, s->head, s->head_len);
    if (r == WS_HS_PARTIAL && s->head_len < sizeof s->head) return;
    if (r == WS_HS_PARTIAL) r = WS_ERR_HS_TOO_BIG;
    if (r == WS_HS_UPGRADE || r == WS_HS_HTTP)         /* a whole head, 101 or not */
        r = ws_conn_connected(&s->ws, &s->resp);
    if (r != WS_OK) {
        fprintf(stderr, "echo_client: handshake: %s\n", ws_strerror(r));
        s->eof = true;              /* nothing more to do on this one */
        return;
    }
    s->upgraded = true;
    if (s->head_len > s->resp.size) {
        r = ws_conn_feed(&s->ws, s->head + s->resp.size, s->head_len - s->resp.size);
        if (r != WS_OK) fprintf(stderr, "echo_client: %s\n", ws_strerror(r));
    }
}

/* What the server sent (for wss://, decrypted): the response head, into head[] (what does
   not fit is fed once the head is whole), then frames. */
static void got_bytes(session *s, char *data, size_t len) {
    while (len && !s->eof && !s->upgraded) {
        size_t k = sizeof s->head - s->head_len;
        if (k > len) k = len;
        memcpy(s->head + s->head_len, data, k);
        read_handshake(s, k);
        data += k;
        len -= k;
        if (!k) s->eof = true;      /* read_handshake said why */
    }
    if (len && !s->eof) {
        int r = ws_conn_feed(&s->ws, data, len);                    /* ws.h glue */
        if (r != WS_OK) fprintf(stderr, "echo_client: %s\n", ws_strerror(r));
    }
}

/* ws.h glue (TLS): what arrived, to ws_tls_feed; a failure ends the connection. */
static void tls_read(session *s, char *data, size_t len) {
    int r = ws_tls_feed(&s->tls, data, len);
    if (r == WS_OK) return;
    if (r == WS_ERR_EOF) {                  /* close_notify: as good as TCP's end */
        s->eof = true;
        ws_conn_eof(&s->ws);
        return;
    }
    outq_flush(&s->out, s->fd);             /* the alert that tells the server why */
    if (r == WS_ERR_TLS_CERT)               /* never a fallback, never a silent accept */
        fprintf(stderr, "echo_client: the certificate of %s was refused: %s\n", url_host,
                ws_tls_why(&s->tls));
    else
        fprintf(stderr, "echo_client: TLS with %s failed: %s\n", url_host, ws_tls_why(&s->tls));
    s->eof = true;
    ws_conn_eof(&s->ws);
}

/* Connects, opens path and runs the connection until the server closes TCP (after the close
   handshake, or at most EOF_WAIT_MS later), or until the deadline. Returns 0 when the
   connection ended within the deadline, -1 otherwise. */
static int run(session *s, const ws_config *cfg, const char *path, uint64_t deadline) {
    uint64_t until_eof = 0;
    int r, status = 0;
    uint64_t t0 = now_ms();
    outq_free(&s->out);
    memset(s, 0, offsetof(session, step));
    s->tls_closed = false;
    s->out.limit = QUEUE_LIMIT;
    ws_http_init(&s->resp, sizeof s->head);
    s->fd = net_dial("echo_client", url_host, url_port, t0 < deadline ? (int)(deadline - t0) : 0);
    if (s->fd < 0) return -1;
    memset(&s->opts, 0, sizeof s->opts);
    s->opts.host = url_host;
    s->opts.port = (uint16_t)atoi(url_port);
    s->opts.path = path;
    if (use_deflate) {                  /* ws.h glue: offer it, with a fresh decoder */
        ws_inflate_init(&pmd_inflate, pmd_window, sizeof pmd_window);
        pmd.offer.server_max_window_bits = pmd.offer.client_max_window_bits = 15;
        pmd.inflate = &pmd_inflate;
        pmd.deflate = &pmd_deflate;
        s->opts.deflate = &pmd;
    }
    r = ws_conn_init(&s->ws, cfg, s);
    if (r == WS_OK) r = ws_conn_tick(&s->ws, now_ms());     /* handshake clock starts */
    if (r == WS_OK && s->msgbuf) r = ws_conn_set_buffer(&s->ws, s->msgbuf, s->msgcap);
    if (r == WS_OK && use_tls)          /* ws.h glue (TLS): the ClientHello is queued */
        r = ws_tls_init(&s->tls, &tls_cfg, url_host, plain, sizeof plain, s);
    else if (r == WS_OK)
        r = ws_conn_connect(&s->ws, &s->opts);                /* the request is queued */
    if (r != WS_OK) {
        fprintf(stderr, "echo_client: %s: %s\n", path, ws_strerror(r));
        if (use_tls) ws_tls_free(&s->tls);
        close(s->fd);
        return -1;
    }
    for (;;) {
        uint64_t now = now_ms();
        ws_state st = ws_conn_state(&s->ws);
        if (s->eof) break;
        if (now >= deadline) {
            fprintf(stderr, "echo_client: %s: timed out (state %d)\n", path, (int)st);
            status = -1;
            break;
        }
        if (st == WS_STATE_CLOSED && use_tls && !s->tls_closed) {
            s->tls_closed = true;
            ws_tls_close(&s->tls);          /* ws.h glue (TLS): close_notify, then TCP's end */
        }
        if (st == WS_STATE_CLOSED || st == WS_STATE_FAILED) {
            if (until_eof == 0) until_eof = now + EOF_WAIT_MS;
            if (now >= until_eof) {
                fprintf(stderr, "echo_client: %s: server did not close TCP in %d ms\n",
                        path, EOF_WAIT_MS);
                break;
            }
        } else if (ws_conn_deadline(&s->ws) <= now) {
            r = ws_conn_tick(&s->ws, now);                          /* ws.h glue */
            if (r != WS_OK) fprintf(stderr, "echo_client: %s: %s\n", path, ws_strerror(r));
            continue;
        }
        uint64_t wake = deadline;
        if (until_eof && until_eof < wake) wake = until_eof;
        if (!until_eof && ws_conn_deadline(&s->ws) < wake) wake = ws_conn_deadline(&s->ws);
        struct pollfd pfd = { .fd = s->fd, .events = 0 };
        /* An echo's output grows with its input, so while much of it is unsent, stop
           reading. Not otherwise: with a big message of ours queued, the server (which
           does the same) could be waiting for us to read its echo while we wait for it. */
        if (!s->echoing || pending(s) < QUEUE_PAUSE) pfd.events |= POLLIN;
        if (pending(s) > 0) pfd.events |= POLLOUT;
        int n = poll(&pfd, 1, (int)(wake - now));      /* wake > now: checked above */
        if (n < 0 && errno != EINTR) { perror("echo_client: poll"); status = -1; break; }
        if (n <= 0) continue;
        if ((pfd.revents & POLLOUT) && outq_flush(&s->out, s->fd) != 0) {
            if (!until_eof) perror("echo_client: send");
            outq_free(&s->out);                     /* nobody is listening any more */
        }
        if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
            bool direct = s->upgraded || use_tls;       /* else straight into head[] */
            char *buf = direct ? readbuf : s->head + s->head_len;
            size_t cap = direct ? sizeof readbuf : sizeof s->head - s->head_len;
            ssize_t k = recv(s->fd, buf, cap, 0);
            if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
            if (k <= 0) {
                s->eof = true;
                ws_conn_eof(&s->ws);                /* ws.h glue: 1006 unless closed */
                if (k < 0 && !until_eof) perror("echo_client: recv");
                continue;
            }
            if (until_eof) continue;                /* done: discard */
            if (use_tls) {
                tls_read(s, buf, (size_t)k);
            } else if (!s->upgraded) {
                read_handshake(s, (size_t)k);
            } else {
                r = ws_conn_feed(&s->ws, buf, (size_t)k);           /* ws.h glue */
                if (r != WS_OK) fprintf(stderr, "echo_client: %s: %s\n", path, ws_strerror(r));
            }
        }
        if (s->upgraded && s->step && ws_conn_state(&s->ws) == WS_STATE_OPEN) s->step(s);
    }
    if (use_tls) ws_tls_free(&s->tls);
    close(s->fd);
    return status;
}

/* ---- runner mode: echo whatever the runner sends ------------------------------------ */

static void echo_failed(session *s, int r, const char *what) {
    fprintf(stderr, "echo_client: echo %s: %s\n", what, ws_strerror(r));
    s->eof = true;
}

/* Streamed as in echo_server.c: binary of known size as one frame (header now, payload as
   it comes); text and fragmented messages as one frame when they arrive in one chunk, else
   a fragment per chunk, so that a close 1007 can still go out if the text turns bad. */
static void echo_begin(ws_conn *c, ws_opcode op, uint64_t size) {
    session *s = (session *)c->user;
    s->echo = ECHO_WAIT;
    s->echo_op = op;
    s->echo_size = size;
    s->echo_got = 0;
    if (op == WS_OP_BINARY && size != WS_SIZE_UNKNOWN) {
        int r = ws_conn_send_header(c, true, op, size);
        if (r != WS_OK) echo_failed(s, r, "header");
        s->echo = ECHO_FRAME;
    }
}

static void echo_data(ws_conn *c, const void *data, size_t len) {
    session *s = (session *)c->user;
    int r;
    if (len == 0) return;
    s->echo_got += len;
    if (s->echo == ECHO_FRAME) {
        r = ws_conn_send_payload(c, data, len);
    } else if (s->echo == ECHO_WAIT && s->echo_got == s->echo_size) {
        r = ws_conn_send(c, s->echo_op, data, len);
        s->echo = ECHO_WHOLE;
    } else if (s->echo == ECHO_WAIT) {
        r = ws_conn_send_begin(c, s->echo_op, data, len);
        s->echo = ECHO_FRAGMENTS;
    } else {
        r = ws_conn_send_continue(c, data, len);
    }
    if (r != WS_OK) echo_failed(s, r, "data");
}

static void echo_end(ws_conn *c) {
    session *s = (session *)c->user;
    int r = WS_OK;
    if (s->echo == ECHO_WAIT) r = ws_conn_send(c, s->echo_op, NULL, 0);     /* empty */
    if (s->echo == ECHO_FRAGMENTS) r = ws_conn_send_end(c, NULL, 0);
    if (r != WS_OK) echo_failed(s, r, "end");
}

static long case_count = -1;

static void count_message(ws_conn *c, ws_opcode op, const void *data, size_t len) {
    char text[32];
    (void)c;
    if (op != WS_OP_TEXT || len == 0 || len >= sizeof text) return;
    memcpy(text, data, len);
    text[len] = '\0';
    char *end;
    long n = strtol(text, &end, 10);
    if (*end == '\0' && n >= 0) case_count = n;
}

static void close_now(session *s) {                    /* updateReports */
    int r = ws_conn_close(&s->ws, WS_CLOSE_NORMAL, NULL, 0);
    if (r != WS_OK) fprintf(stderr, "echo_client: close: %s\n", ws_strerror(r));
}

static void close_after_count(session *s) {
    if (case_count >= 0) close_now(s);
}

static void append_escaped(char *out, size_t cap, const char *text) {
    size_t n = strlen(out);
    for (; *text && n + 4 < cap; text++) {
        unsigned char ch = (unsigned char)*text;
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
            strchr("-._~", ch))
            out[n++] = (char)ch;
        else
            n += (size_t)sprintf(out + n, "%%%02X", ch);
    }
    out[n] = '\0';
}

static int run_cases(const char *base, const char *agent) {
    static session s;
    static char countbuf[32];       /* the case count arrives whole, in here */
    static ws_config cfg_count, cfg_echo;
    char path[1024];
    uint64_t run_deadline = now_ms() + RUN_TIMEOUT_MS;
    int unfinished = 0;

    cfg_count.role = cfg_echo.role = WS_ROLE_CLIENT;
    cfg_count.send = cfg_echo.send = on_send;
    cfg_count.random = cfg_echo.random = on_random;
    cfg_count.handshake_timeout_ms = cfg_echo.handshake_timeout_ms = 10000;
    cfg_count.on_message = count_message;
    cfg_echo.on_begin = echo_begin;
    cfg_echo.on_data = echo_data;
    cfg_echo.on_end = echo_end;

    snprintf(path, sizeof path, "%s/getCaseCount", base);
    s.step = close_after_count;
    s.msgbuf = countbuf;
    s.msgcap = sizeof countbuf;
    if (run(&s, &cfg_count, path, now_ms() + CASE_TIMEOUT_MS) != 0 || case_count < 0) {
        fprintf(stderr, "echo_client: %s: no case count\n", path);
        return 1;
    }
    printf("echo_client: %ld cases\n", case_count);
    for (long i = 1; i <= case_count; i++) {
        uint64_t now = now_ms(), t0 = now;
        if (now >= run_deadline) {
            fprintf(stderr, "echo_client: the whole run took too long; stopping\n");
            return 1;
        }
        snprintf(path, sizeof path, "%s/runCase?case=%ld&agent=", base, i);
        append_escaped(path, sizeof path, agent);
        s.step = NULL;
        s.msgbuf = NULL;
        s.echoing = true;
        int r = run(&s, &cfg_echo, path,
                    now + CASE_TIMEOUT_MS < run_deadline ? now + CASE_TIMEOUT_MS : run_deadline);
        unfinished += r != 0;
        printf("case %ld/%ld: %s, close %u, %.2f s\n", i, case_count,
               r != 0 ? "DID NOT FINISH" : ws_conn_state(&s.ws) == WS_STATE_CLOSED ? "closed"
                                  : ws_conn_state(&s.ws) == WS_STATE_FAILED ? "failed"
                                                                            : "dropped",
               ws_conn_close_code(&s.ws), (double)(now_ms() - t0) / 1000.0);
        fflush(stdout);
    }
    snprintf(path, sizeof path, "%s/updateReports?agent=", base);
    append_escaped(path, sizeof path, agent);
    s.step = close_now;
    s.echoing = false;
    if (run(&s, &cfg_count, path, now_ms() + CASE_TIMEOUT_MS) != 0 ||
        ws_conn_state(&s.ws) != WS_STATE_CLOSED) {
        fprintf(stderr, "echo_client: %s did not close cleanly\n", path);
        return 1;
    }
    printf("echo_client: reports updated; %d case(s) did not finish\n", unfinished);
    return unfinished ? 1 : 0;
}

/* ---- check mode: send known messages, compare the echoes byte for byte ----------------- */

/* Text is this, repeated, then ASCII up to the size: valid UTF-8 of any length. */
static const char unit[] = "ws.h echo: 你好，世界！ Grüße ✓ 🌍 ";
static const size_t sizes[] = { 0, 1, 125, 126, 127, 128, 65535, 65536, 1u << 20, 16u << 20 };
#define NSIZES (sizeof sizes / sizeof sizes[0])
#define STEP_FRAGMENTED (2 * NSIZES)
#define STEP_PING       (STEP_FRAGMENTED + 1)
#define STEP_CLOSE      (STEP_PING + 1)
static const char frag_ping[] = "between fragments";
static const char plain_ping[] = "ping ✓";

static struct {
    size_t    step;
    char      what[48];             /* the step, for messages */
    ws_opcode op;                   /* the message expected back */
    size_t    size, got;
    bool      started, want_msg, in_msg, want_pong;
    const char *pong;               /* the pong payload expected back */
    unsigned  close_code;           /* what on_close reported */
    int       failed, passed;
} ck;

static unsigned char pattern(ws_opcode op, size_t size, size_t i) {
    if (op == WS_OP_TEXT) {
        size_t n = sizeof unit - 1, whole = size - size % n;
        return (unsigned char)(i < whole ? unit[i % n] : 'a' + (int)(i % 26));
    }
    return (unsigned char)(i * 7u + (i >> 9) + size);
}

static unsigned char *make_message(ws_opcode op, size_t size) {
    unsigned char *m = (unsigned char *)malloc(size ? size : 1);
    if (!m) { perror("echo_client"); exit(1); }
    for (size_t i = 0; i < size; i++) m[i] = pattern(op, size, i);
    return m;
}

static void fail(ws_conn *c, const char *fmt, ...) {
    va_list ap;
    printf("FAIL %s: ", ck.what);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    ck.failed++;
    ((session *)c->user)->eof = true;       /* stop here */
}

static void check_begin(ws_conn *c, ws_opcode op, uint64_t size) {
    if (!ck.want_msg || ck.in_msg) { fail(c, "unexpected message (opcode %d)", (int)op); return; }
    if (op != ck.op) { fail(c, "echo has opcode %d, sent %d", (int)op, (int)ck.op); return; }
    if (size != WS_SIZE_UNKNOWN && size != ck.size) {
        fail(c, "echo announces %llu bytes, sent %zu", (unsigned long long)size, ck.size);
        return;
    }
    ck.in_msg = true;
    ck.got = 0;
}

static void check_data(ws_conn *c, const void *data, size_t len) {
    const unsigned char *p = (const unsigned char *)data;
    if (!ck.in_msg) return;
    if (len > ck.size - ck.got) { fail(c, "echo longer than the %zu bytes sent", ck.size); return; }
    for (size_t i = 0; i < len; i++) {
        unsigned char want = pattern(ck.op, ck.size, ck.got + i);
        if (p[i] != want) {
            fail(c, "echo byte %zu is 0x%02x, sent 0x%02x", ck.got + i, p[i], want);
            return;
        }
    }
    ck.got += len;
}

static void check_end(ws_conn *c) {
    if (!ck.in_msg) return;
    if (ck.got != ck.size) { fail(c, "echo has %zu bytes, sent %zu", ck.got, ck.size); return; }
    ck.in_msg = ck.want_msg = false;
}

static void check_control(ws_conn *c, ws_opcode op, const void *data, size_t len) {
    if (op != WS_OP_PONG) return;           /* pings: the library answered */
    if (!ck.want_pong) { fail(c, "unexpected pong"); return; }
    if (len != strlen(ck.pong) || memcmp(data, ck.pong, len) != 0) {
        fail(c, "pong payload is \"%.*s\", sent \"%s\"", (int)len, (const char *)data, ck.pong);
        return;
    }
    ck.want_pong = false;
}

static void check_close(ws_conn *c, unsigned code, const char *reason, size_t len) {
    (void)c; (void)reason; (void)len;
    ck.close_code = code;
}

static void report(int r, const char *what) {
    if (r == WS_OK) return;
    printf("FAIL %s: %s: %s\n", ck.what, what, ws_strerror(r));
    ck.failed++;
}

/* Sends what the current step sends and says what must come back. */
static void start_step(session *s) {
    ws_conn *c = &s->ws;
    size_t i = ck.step;
    if (i < 2 * NSIZES) {
        ck.op = i % 2 ? WS_OP_BINARY : WS_OP_TEXT;
        ck.size = sizes[i / 2];
        snprintf(ck.what, sizeof ck.what, "%s %zu B", i % 2 ? "binary" : "text", ck.size);
        unsigned char *m = make_message(ck.op, ck.size);
        ck.want_msg = true;
        report(ws_conn_send(c, ck.op, m, ck.size), "ws_conn_send");
        free(m);
    } else if (i == STEP_FRAGMENTED) {
        /* Three fragments cut inside UTF-8 sequences, a ping between the first two. */
        ck.op = WS_OP_TEXT;
        ck.size = 1000;
        snprintf(ck.what, sizeof ck.what, "fragmented text %zu B + ping", ck.size);
        unsigned char *m = make_message(ck.op, ck.size);
        size_t a = 13, b = 500;
        while ((m[a] & 0xC0) != 0x80) a++;  /* a continuation byte: mid-character */
        while ((m[b] & 0xC0) != 0x80) b++;
        ck.want_msg = ck.want_pong = true;
        ck.pong = frag_ping;
        report(ws_conn_send_begin(c, WS_OP_TEXT, m, a), "ws_conn_send_begin");
        report(ws_conn_send(c, WS_OP_PING, frag_ping, strlen(frag_ping)), "ping");
        report(ws_conn_send_continue(c, m + a, b - a), "ws_conn_send_continue");
        report(ws_conn_send_end(c, m + b, ck.size - b), "ws_conn_send_end");
        free(m);
    } else if (i == STEP_PING) {
        snprintf(ck.what, sizeof ck.what, "ping");
        ck.want_pong = true;
        ck.pong = plain_ping;
        report(ws_conn_send(c, WS_OP_PING, plain_ping, strlen(plain_ping)), "ws_conn_send");
    } else {
        snprintf(ck.what, sizeof ck.what, "close 1000");
        report(ws_conn_close(c, WS_CLOSE_NORMAL, "bye", 3), "ws_conn_close");
    }
    if (ck.failed) s->eof = true;
}

/* After the handshake and each read: when the step got everything back, the next one. */
static void check_step(session *s) {
    if (ck.failed) return;
    if (!ck.started) {                      /* just connected */
        ck.started = true;
        if (use_deflate && !pmd.on) {
            printf("FAIL permessage-deflate: offered, the server declined it\n");
            ck.failed++;
            s->eof = true;
            return;
        }
        if (use_deflate) {
            printf("ok   permessage-deflate agreed: server window 2^%u%s, client window 2^%u%s\n",
                   pmd.agreed.server_max_window_bits,
                   pmd.agreed.server_no_context_takeover ? " (no context takeover)" : "",
                   pmd.agreed.client_max_window_bits,
                   pmd.agreed.client_no_context_takeover ? " (no context takeover)" : "");
            ck.passed++;
        }
        start_step(s);
        return;
    }
    if (ck.want_msg || ck.want_pong || ck.step >= STEP_CLOSE) return;
    printf("ok   %s echoed\n", ck.what);
    ck.passed++;
    ck.step++;
    start_step(s);
}

static int run_check(const char *path) {
    static session s;
    static ws_config cfg;
    cfg.role = WS_ROLE_CLIENT;
    cfg.send = on_send;
    cfg.random = on_random;
    cfg.handshake_timeout_ms = 10000;
    cfg.on_begin = check_begin;
    cfg.on_data = check_data;
    cfg.on_end = check_end;
    cfg.on_control = check_control;
    cfg.on_close = check_close;
    s.step = check_step;
    uint64_t t0 = now_ms();
    if (run(&s, &cfg, path, t0 + CHECK_TIMEOUT_MS) != 0 && !ck.failed) {
        printf("FAIL %s: timed out\n", ck.what[0] ? ck.what : "handshake");
        ck.failed++;
    }
    if (!ck.failed) {
        if (ck.step != STEP_CLOSE) {
            printf("FAIL %s: the connection ended (state %d, error: %s)\n",
                   ck.what[0] ? ck.what : "handshake", (int)ws_conn_state(&s.ws),
                   ws_strerror(ws_conn_error(&s.ws)));
            ck.failed++;
        } else if (ws_conn_state(&s.ws) != WS_STATE_CLOSED || ck.close_code != 1000) {
            printf("FAIL close 1000: state %d, close code %u (error: %s)\n",
                   (int)ws_conn_state(&s.ws), ck.close_code, ws_strerror(ws_conn_error(&s.ws)));
            ck.failed++;
        } else if (!s.eof) {
            printf("FAIL close 1000: the server did not close TCP\n");
            ck.failed++;
        } else {
            printf("ok   close 1000 echoed, server closed TCP\n");
            ck.passed++;
        }
    }
    printf("echo_client: %s: %d passed, %d failed (%.2f s)\n", ck.failed ? "FAILED" : "all matched",
           ck.passed, ck.failed, (double)(now_ms() - t0) / 1000.0);
    return ck.failed ? 1 : 0;
}

static const char usage[] =
    "usage: echo_client [TLS] ws://HOST:PORT [AGENT]       run a test runner's cases\n"
    "       echo_client [TLS] --check ws://HOST:PORT/PATH  check an echo server\n"
    "  Runner mode: asks an Autobahn|Testsuite fuzzingserver (or anything that speaks its\n"
    "  /getCaseCount, /runCase, /updateReports) for its cases and echoes each one as AGENT\n"
    "  (default \"ws.h\"); exit 0 when every case ran to its end.\n"
    "  --check: sends text and binary of 0 B to 16 MiB, fragments with a ping between them,\n"
    "  a ping and a close, and compares every echoed byte; exit 0 when all matched.\n"
    "  wss:// instead of ws:// speaks TLS; TLS options:\n"
    "  --ca FILE    the CA certificates to trust (PEM or DER; default: the system's)\n"
    "  --insecure   accept any certificate and name (tests only)\n"
    "  --deflate    offer permessage-deflate; --check fails when the server declines it\n"
    "  -h, --help   this text\n"
#if TLS_BUILT
    "  TLS: mbedTLS " MBEDTLS_VERSION_STRING "\n";
#else
    "  TLS: not in this build (apt-get install libmbedtls-dev, then make examples)\n";
#endif

int main(int argc, char **argv) {
    static char host[256], port[8], base[256];
    bool check = false, insecure = false;
    const char *path, *ca = NULL;
    int i = 1, r;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(argv[i], "--check") == 0) {
            check = true;
        } else if (strcmp(argv[i], "--insecure") == 0) {
            insecure = true;
        } else if (strcmp(argv[i], "--deflate") == 0) {
            use_deflate = true;
        } else if (strcmp(argv[i], "--ca") == 0 && i + 1 < argc) {
            ca = argv[++i];
        } else {
            fprintf(stderr, "echo_client: %s '%s' (echo_client --help)\n",
                    strcmp(argv[i], "--ca") == 0 ? "no FILE after" : "unknown option", argv[i]);
            return 2;
        }
    }
    if (i >= argc) {
        fprintf(stderr, "echo_client: no URL: usage: echo_client [--check] ws://HOST:PORT[/PATH]"
                        " (echo_client --help)\n");
        return 2;
    }
    if (argc - i > (check ? 1 : 2)) {
        fprintf(stderr, "echo_client: unexpected argument '%s' (echo_client --help)\n",
                argv[i + (check ? 1 : 2)]);
        return 2;
    }
    if (parse_url(argv[i], host, sizeof host, port, &path) != 0) return 2;
    if ((ca || insecure) && !use_tls) {
        fprintf(stderr, "echo_client: %s is for wss:// only\n", ca ? "--ca" : "--insecure");
        return 2;
    }
    if (use_tls) {                          /* ws.h glue (TLS): the settings of every run */
        tls_cfg.send = on_tls_send;
        tls_cfg.on_data = on_tls_data;
        tls_cfg.on_open = on_tls_open;
        if (tls_client_files("echo_client", &tls_cfg, ca, insecure) != 0) return 2;
    }
    url_host = host;
    url_port = port;
    setvbuf(stdout, NULL, _IOLBF, 0);       /* progress lines show up even in a log file */
    if (check) {
        r = run_check(path);
    } else {
        snprintf(base, sizeof base, "%s", path);
        for (size_t n = strlen(base); n > 0 && base[n - 1] == '/'; n--) base[n - 1] = '\0';
        r = run_cases(base, argc - i == 2 ? argv[i + 1] : "ws.h");
    }
    if (use_tls) ws_tls_config_free(&tls_cfg);
    return r;
}
