/* wscat.c - a command-line WebSocket client: lines in, messages out

   The tool to poke at a server with. Connects to a ws:// or wss:// URL (directly, or through
   an HTTP proxy's CONNECT tunnel), sends each line of standard input as a text message,
   prints every message that arrives (text as it is, binary as "<binary N bytes> 68 65 6c
   ..."), and at the end of the input closes with 1000 and waits for the server's close.
   Status lines ("connected", "closed") go to stderr. Ctrl-C closes with 1000 too; a second
   one quits at once (status 130). A line that is not UTF-8 (in text mode) or longer than
   1 MiB is not sent, with a message.

   The parts marked "ws.h glue" are the client side of ws.h: the send and random callbacks,
   the upgrade request and response, feed, tick and close; for wss:// its TLS layer
   (ws_tls_init once connected, the upgrade sent from on_open, ws_tls_feed for what arrives,
   ws_tls_send under the send callback), and for --proxy the CONNECT request and its answer
   (ws_proxy_request, ws_proxy_check); for --deflate the ws_deflate_client given to the
   request (the decoder's window and the encoder's memory). examples/outq.h is the output queue, examples/net.h
   the connect (non-blocking, TCP_NODELAY), examples/tls.h the CA file.

   Build:  make examples
   Usage:  ./build/wscat [options] ws[s]://HOST[:PORT][/PATH]   (HOST: a name, 1.2.3.4, [::1])
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
     --ca FILE            wss://: trust the CAs in FILE (PEM or DER) instead of the system's
     --insecure           wss://: check no certificate at all (tests only: says so loudly)
     --proxy URL          through an HTTP proxy, http://[USER:PASS@]HOST:PORT (CONNECT)
     --deflate            offer permessage-deflate (RFC 7692): what the server compresses is
                          inflated, what wscat sends compressed; "connected" says whether
                          the server agreed, and with which windows
     -h, --help           this list
   Try:    echo hello | ./build/wscat ws://127.0.0.1:8082/       (with build/echo_server 8082)
           prints "hello", then exits 0.
   Exit status:
     0  clean close: the close handshake completed with 1000 or 1001
     1  no connection: name, connect, TLS or upgrade failure (a refusal shows its HTTP status)
     2  usage
     3  the connection ended otherwise: another close code, a protocol error, TCP dropped
        without a close (1006), or no answer within --timeout
     4  the proxy refused the tunnel (407: it wants credentials; 403, 502, ...)
     5  the server's certificate was refused (expired, another name, unknown CA, ...)
*/
#define _POSIX_C_SOURCE 200809L
#define WS_DEFLATE                      /* --deflate: permessage-deflate */
#define WS_IMPLEMENTATION
#include "ws.h"
#include "outq.h"
#include "net.h"
#include "tls.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/random.h>

enum {
    LINE_MAX_    = 1 << 20,     /* longest line sent; longer ones are skipped */
    QUEUE_PAUSE  = 1 << 20,     /* stop reading stdin while this much is unsent */
    QUEUE_LIMIT  = 8 << 20,     /* more unsent than this: the connection fails */
    CONNECT_MS   = 10000,       /* connect and handshake, each */
    EOF_WAIT_MS  = 2000,        /* after the close handshake, wait for the server's FIN */
    HEX_SHOWN    = 32           /* bytes of a binary message shown in hex */
};

static struct {
    int      fd;
    ws_conn  ws;
    ws_client_opts opts;        /* the upgrade request, sent once the way is open */
    const char *hostname;       /* the server's name: TLS checks its certificate for it */
    bool     upgraded, eof;     /* handshake done; the server closed TCP */
    bool     tunnel;            /* --proxy: waiting for its answer to CONNECT */
    bool     use_tls, tls_closed;   /* wss://; close_notify sent */
    ws_tls   tls;
    int      exit_now;          /* not 0: the exit status a callback decided on */
    ws_http  resp;              /* parsed incrementally: head[] never moves */
    char     head[8192];
    size_t   head_len;
    outq     out;               /* what waits for the socket (examples/outq.h) */
    char     line[LINE_MAX_];   /* stdin bytes not sent yet */
    size_t   line_len;
    bool     skipping;          /* inside a line that was too long */
    bool     stdin_done, we_closed;
    uint64_t last_rx;           /* when the last message data arrived (or stdin ended) */
    ws_opcode op;               /* the message being received */
    uint64_t got;
    uint8_t  shown[HEX_SHOWN];
} S;

/* --deflate (ws.h glue): the decoder with its 32 KiB window, the encoder's memory (a 16 KiB
   table, a 64 KiB buffer: a longer line goes out in several compressed frames), and its own
   32 KiB window with a 4 KiB table: each line may reference the lines sent before, unless
   the server says client_no_context_takeover */
static ws_deflate_client pmd;
static ws_inflate pmd_inflate;
static uint8_t pmd_window[1 << 15];
static uint32_t pmd_table[1 << 12];
static uint8_t pmd_out[64 * 1024];
static ws_deflate pmd_deflate = { .table = pmd_table, .table_bits = 12, .out = pmd_out,
                                   .out_cap = sizeof pmd_out };
static uint8_t pmd_tx_window[1 << 15];
static uint32_t pmd_tx_table[1 << 10];
static ws_deflate_window pmd_tx = { .window = pmd_tx_window, .table = pmd_tx_table,
                                   .window_bits = 15, .table_bits = 10 };

static volatile sig_atomic_t interrupted;
static bool binary, keep_open;
static long wait_ms;
static ws_tls_config tls_cfg;   /* wss:// */
static char plain[TLS_RECORD];  /* what TLS decrypts, used up in on_tls_data */

static void on_signal(int sig) { (void)sig; interrupted++; }

/* ---- ws.h glue: randomness for the masks and the key, the send callback ---------------- */

static int on_random(ws_conn *c, void *out, size_t n) {
    (void)c;
    return getrandom(out, n, 0) == (ssize_t)n ? 0 : -1;    /* n is 4 or 16: never short */
}

static size_t pending(void) { return outq_pending(&S.out); }

/* Everything ws.h sends goes to the output queue (for wss://, encrypted first: ws_tls_send
   gives the records to on_tls_send); over QUEUE_LIMIT the connection fails. */
static int on_send(ws_conn *c, const ws_buf *bufs, size_t n) {
    (void)c;
    if (S.use_tls) return ws_tls_send(&S.tls, bufs, n) == WS_OK ? 0 : -1;
    if (outq_push_bufs(&S.out, bufs, n) == 0) return 0;
    fprintf(stderr, "wscat: more than %d bytes wait to be sent\n", QUEUE_LIMIT);
    return -1;
}

/* ws.h glue (TLS): the records go to the same queue. */
static int on_tls_send(ws_tls *t, const void *data, size_t len) {
    (void)t;
    if (outq_push(&S.out, data, len) == 0) return 0;
    fprintf(stderr, "wscat: more than %d bytes wait to be sent\n", QUEUE_LIMIT);
    return -1;
}

/* ws.h glue (TLS): the handshake is done and the server's certificate checked: now the
   upgrade request, inside TLS. */
static void on_tls_open(ws_tls *t) {
    (void)t;
    int r = ws_conn_connect(&S.ws, &S.opts);
    if (r != WS_OK) {
        fprintf(stderr, "wscat: %s\n", ws_strerror(r));
        S.exit_now = 1;
    }
}

/* ---- ws.h glue: what arrives, streamed to stdout (only the hex preview is held) -------- */

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
    if (ws_conn_error(c) == WS_ERR_EOF) return;     /* TCP dropped: said at the end */
    fprintf(stderr, "wscat: closed: %u%s%.*s\n", code, len ? " " : "", (int)len, reason);
}

/* ---- ws.h glue: what we send, a message per line of stdin -------------------------------- */

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

/* ---- connecting: the URLs (yours), the proxy's answer and the response head (ws.h glue) - */

/* "ws://host[:port][/path]" or "wss://..."; host may be [v6]. hostname is host without
   brackets; *tls says wss. Says what is wrong with a URL that is not one, and returns -1. */
static int parse_url(const char *url, char *host, char *hostname, size_t cap, char *port,
                     const char **path, bool *tls) {
    if (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0) {
        bool s = url[4] == 's';
        fprintf(stderr, "wscat: %s is an HTTP URL: a WebSocket URL starts with ws%s:// "
                        "(ws%s://%s)\n", url, s ? "s" : "", s ? "s" : "", strstr(url, "//") + 2);
        return -1;
    }
    *tls = strncmp(url, "wss://", 6) == 0;
    if (*tls && !TLS_BUILT) {
        fprintf(stderr, "wscat: %s: wss:// needs TLS: %s\n", url, TLS_MISSING);
        return -1;
    }
    bool ws = *tls || strncmp(url, "ws://", 5) == 0;
    const char *h = !ws ? url : url + (*tls ? 6 : 5);
    const char *p = !ws ? NULL : *h == '[' ? strchr(h, ']') : h + strcspn(h, ":/?#");
    if (!p || p == h || (*h == '[' && p == h + 1)) {
        fprintf(stderr, "wscat: bad URL '%s': want ws://HOST[:PORT][/PATH] or wss://...\n", url);
        return -1;
    }
    if (*h == '[') p++;
    if ((size_t)(p - h) >= cap) {
        fprintf(stderr, "wscat: bad URL '%s': the host name is too long\n", url);
        return -1;
    }
    memcpy(host, h, (size_t)(p - h));
    host[p - h] = '\0';
    strcpy(hostname, host + (*h == '['));
    if (*h == '[') hostname[strlen(hostname) - 1] = '\0';
    port[0] = '\0';
    if (*p == ':') {
        size_t n = strspn(p + 1, "0123456789"), len = strcspn(p + 1, "/?#");
        if (n == 0 || n != len || n > 5 || atol(p + 1) < 1 || atol(p + 1) > 65535) {
            fprintf(stderr, "wscat: bad port '%.*s' in %s: want a number 1-65535\n", (int)len,
                    p + 1, url);
            return -1;
        }
        memcpy(port, p + 1, n);
        port[n] = '\0';
        p += 1 + n;
    }
    if (*p != '\0' && *p != '/') {
        fprintf(stderr, "wscat: bad URL '%s': after the host%s comes the path, starting with /\n",
                url, port[0] ? " and port" : "");
        return -1;
    }
    *path = *p ? p : "/";
    return 0;
}

static int bad_proxy(const char *url) {
    fprintf(stderr, "wscat: bad proxy '%s': want http://[USER:PASS@]HOST:PORT\n", url);
    return -1;
}

/* --proxy "http://[user:pass@]host:port[/]" (host may be [v6]): the host (no brackets) and
   port to dial, and user:pass for its Basic credentials ("" for none). */
static int parse_proxy(const char *url, char *host, size_t cap, char *port, char *userpass,
                       size_t upcap) {
    const char *h = url + 7, *end, *colon = NULL, *at;
    if (strncmp(url, "http://", 7) != 0) return bad_proxy(url);
    if ((at = strchr(h, '@')) != NULL) {                /* user:password@ */
        if ((size_t)(at - h) >= upcap || !memchr(h, ':', (size_t)(at - h))) return bad_proxy(url);
        memcpy(userpass, h, (size_t)(at - h));
        userpass[at - h] = '\0';
        h = at + 1;
    }
    end = h + strcspn(h, "/");
    if (*end && strcmp(end, "/") != 0) return bad_proxy(url);     /* nothing after the port */
    for (const char *c = h; c < end; c++)
        if (*c == ':') colon = c;                       /* the last one: [::1]:3128 */
    size_t n = colon ? (size_t)(end - colon - 1) : 0;
    if (!colon || colon == h || n < 1 || n > 5 || strspn(colon + 1, "0123456789") != n ||
        atol(colon + 1) < 1 || atol(colon + 1) > 65535)
        return bad_proxy(url);
    bool v6 = *h == '[';
    if (v6 && (colon[-1] != ']' || colon - h < 3)) return bad_proxy(url);
    size_t hl = (size_t)(colon - h) - (v6 ? 2 : 0);
    if (hl >= cap) return bad_proxy(url);
    memcpy(host, h + v6, hl);
    host[hl] = '\0';
    memcpy(port, colon + 1, n);
    port[n] = '\0';
    return 0;
}

static void got_bytes(char *data, size_t len);

/* The way to the server is open (TCP, or the proxy's tunnel): wss:// starts TLS (its
   ClientHello goes out, and on_tls_open sends the upgrade), ws:// sends the upgrade now. */
static int start(void) {
    int r = S.use_tls ? ws_tls_init(&S.tls, &tls_cfg, S.hostname, plain, sizeof plain, NULL)
                      : ws_conn_connect(&S.ws, &S.opts);
    if (r != WS_OK) fprintf(stderr, "wscat: %s\n", ws_strerror(r));
    return r;
}

/* ws.h glue (proxy): the answer to CONNECT, read into head[] like a response; the bytes
   after it are the tunnel's. Returns 0 (wait for more, or the tunnel is open), or the
   exit status after a message. */
static int proxy_answer(char *data, size_t len, const char *proxy) {
    size_t take = len < sizeof S.head - S.head_len ? len : sizeof S.head - S.head_len;
    memcpy(S.head + S.head_len, data, take);
    S.head_len += take;
    int r = ws_http_parse_response(&S.resp, S.head, S.head_len);
    if (r == WS_HS_PARTIAL && S.head_len < sizeof S.head) return 0;
    if (r == WS_HS_PARTIAL) r = WS_ERR_HS_TOO_BIG;
    if (r < 0) {
        fprintf(stderr, "wscat: the proxy %s answered CONNECT with no HTTP response: %s\n", proxy,
                ws_strerror(r));
        return 4;
    }
    if ((r = ws_proxy_check(&S.resp)) != WS_OK) {
        fprintf(stderr, "wscat: the proxy %s refused the tunnel: HTTP %d %.*s%s\n", proxy,
                S.resp.status, (int)S.resp.reason.len, S.resp.reason.ptr,
                r == WS_ERR_PROXY_AUTH ? " (it wants credentials: --proxy "
                                         "http://USER:PASS@HOST:PORT)" : "");
        return 4;
    }
    fprintf(stderr, "wscat: tunnel open through the proxy %s\n", proxy);
    char rest[sizeof S.head];
    size_t n = S.head_len - S.resp.size;
    memcpy(rest, S.head + S.resp.size, n);
    S.tunnel = false;
    S.head_len = 0;
    ws_http_init(&S.resp, sizeof S.head);           /* head[] again, for the 101 */
    if (start() != WS_OK) return 1;
    if (n) got_bytes(rest, n);
    if (take < len) got_bytes(data + take, len - take);
    return S.exit_now;
}

/* ws.h glue: the response head, collected in head[]; then the frames behind it. Returns -1
   when the handshake failed. */
static int read_handshake(char *data, size_t len) {
    size_t take = len < sizeof S.head - S.head_len ? len : sizeof S.head - S.head_len;
    memcpy(S.head + S.head_len, data, take);
    S.head_len += take;
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
    fprintf(stderr, "wscat: connected%s%.*s%s", S.resp.protocol.ptr ? " (subprotocol " : "",
            (int)S.resp.protocol.len, S.resp.protocol.ptr, S.resp.protocol.ptr ? ")" : "");
    if (S.opts.deflate && pmd.on)
        fprintf(stderr, " (permessage-deflate, windows 2^%u from the server, 2^%u to it%s%s)",
                pmd.agreed.server_max_window_bits, pmd.agreed.client_max_window_bits,
                pmd.agreed.server_no_context_takeover ? ", server_no_context_takeover" : "",
                pmd.agreed.client_no_context_takeover ? ", client_no_context_takeover" : "");
    else if (S.opts.deflate)
        fprintf(stderr, " (no permessage-deflate: the server declined it)");
    fputc('\n', stderr);
    if (S.head_len > S.resp.size) got_bytes(S.head + S.resp.size, S.head_len - S.resp.size);
    if (take < len) got_bytes(data + take, len - take);
    return 0;
}

/* What the server sent (for wss://, decrypted): the response head, then frames. */
static void got_bytes(char *data, size_t len) {
    if (S.exit_now) return;
    if (!S.upgraded) {
        if (read_handshake(data, len) != 0) S.exit_now = 1;
        return;
    }
    int r = ws_conn_feed(&S.ws, data, len);                     /* ws.h glue */
    if (r != WS_OK) fprintf(stderr, "wscat: %s\n", ws_strerror(r));
}

/* ws.h glue (TLS): what the records held, decrypted into plain[]. */
static void on_tls_data(ws_tls *t, void *data, size_t len) {
    (void)t;
    got_bytes((char *)data, len);
}

/* ws.h glue (TLS): what arrived, to ws_tls_feed. Returns 0, or the exit status. */
static int tls_read(char *data, size_t len, const char *hostname) {
    int r = ws_tls_feed(&S.tls, data, len);
    if (r == WS_OK) return S.exit_now;
    outq_flush(&S.out, S.fd);               /* the alert that tells the server why */
    if (r == WS_ERR_TLS_CERT) {             /* never a fallback, never a silent accept */
        unsigned char ip[16];
        bool literal = inet_pton(AF_INET, hostname, ip) == 1 ||
                       inet_pton(AF_INET6, hostname, ip) == 1;
        fprintf(stderr, "wscat: the certificate of %s was refused: %s%s\n", hostname,
                ws_tls_why(&S.tls), literal && strstr(ws_tls_why(&S.tls), "another name")
                ? " (mbedTLS 2.28 matches names, not IP addresses: use the name, e.g. localhost)"
                : "");
        return 5;
    }
    if (r == WS_ERR_EOF) {                  /* close_notify: as good as TCP's end */
        S.eof = true;
        ws_conn_eof(&S.ws);
        return S.exit_now;
    }
    if (!S.upgraded) {
        fprintf(stderr, "wscat: TLS with %s failed: %s\n", hostname, ws_tls_why(&S.tls));
        return 1;
    }
    fprintf(stderr, "wscat: TLS: %s\n", ws_tls_why(&S.tls));
    S.eof = true;
    ws_conn_eof(&S.ws);
    return S.exit_now;
}

/* ---- the command line ------------------------------------------------------------------ */

static const char usage[] =
    "usage: wscat [options] ws://HOST[:PORT][/PATH]     (or wss://, through TLS)\n"
    "  Connects, sends each line of standard input as a text message, prints every message\n"
    "  that arrives (binary as \"<binary N bytes>\" and hex), and at the end of the input\n"
    "  closes with 1000. Status lines (connected, closed: CODE) go to stderr.\n"
    "  HOST: a name, 1.2.3.4 or [::1]; PORT: 1-65535 (default 80, wss:// 443); PATH: /\n"
    "  -p, --protocol LIST   offer subprotocols (\"chat\" or \"chat, superchat\"); the chosen\n"
    "                        one is shown: \"connected (subprotocol chat)\"\n"
    "  -H, --header 'N: V'   send an extra request header (repeatable)\n"
    "  -o, --origin ORIGIN   send an Origin header\n"
    "  -b, --binary          send lines as binary messages instead of text\n"
    "  -w, --wait MS         at the end of input, close once nothing arrived for MS\n"
    "                        (default 0: at once), for replies still on their way\n"
    "  -k, --keep-open       at the end of input, stay connected until the server closes\n"
    "      --ping MS         ping the server after MS of silence (default 0: never)\n"
    "      --timeout MS      the server is dead after MS of silence (default 2 x --ping)\n"
    "      --ca FILE         wss://: trust the CA certificates in FILE (PEM or DER) rather\n"
    "                        than the system's list; the server's name is checked too\n"
    "      --insecure        wss://: check NO certificate and no name (tests only; anyone\n"
    "                        on the way can read and change the connection)\n"
    "      --proxy URL       connect through an HTTP proxy: http://[USER:PASS@]HOST:PORT\n"
    "                        (CONNECT, then TLS or plain WebSocket through the tunnel)\n"
    "      --deflate         offer permessage-deflate: messages compressed both ways when\n"
    "                        the server agrees (\"connected\" says so)\n"
    "  -h, --help            this text\n"
    "  Ctrl-C closes with 1000; a second one quits at once (status 130).\n"
    "  Exit status: 0 a clean close (1000 or 1001); 1 no connection (name, connect, TLS,\n"
    "  handshake); 2 usage; 3 any other end (another code, 1006, no answer to --ping);\n"
    "  4 the proxy refused the tunnel (407, 403, 502, ...); 5 the server's certificate was\n"
    "  refused (expired, another name, unknown CA, self-signed, ...).\n"
#if TLS_BUILT
    "  TLS: mbedTLS " MBEDTLS_VERSION_STRING "\n";
#else
    "  TLS: not in this build (apt-get install libmbedtls-dev, then make examples)\n";
#endif

/* One line: what was wrong with the command line. Returns the exit status for it. */
static int bad_usage(const char *what, const char *arg) {
    fprintf(stderr, "wscat: %s%s%s%s (wscat --help lists the options)\n", what,
            arg ? " '" : "", arg ? arg : "", arg ? "'" : "");
    return 2;
}

static bool opt(const char *a, const char *s, const char *l) { return !strcmp(a, s) || !strcmp(a, l); }

/* Appends "Name: value" and CRLF to the extra headers. */
static bool add_header(char *buf, size_t cap, const char *h) {
    const char *colon = strchr(h, ':');
    if (!colon || colon == h || strpbrk(h, "\r\n") || strlen(buf) + strlen(h) + 3 > cap)
        return false;
    strcat(strcat(buf, h), "\r\n");
    return true;
}

/* Milliseconds, 0 to a day; -1 when s is not that. */
static long number(const char *s) {
    char *end;
    long v = strtol(s, &end, 10);
    return *s && !*end && v >= 0 && v < 86400000 ? v : -1;
}

int main(int argc, char **argv) {
    static char host[256], hostname[256], port[8], headers[4096];
    static char phost[256], pport[8], userpass[256], connect_req[1024], proxy_name[300];
    static ws_config cfg;
    const char *url = NULL, *ca = NULL, *proxy = NULL;
    bool insecure = false;
    long ping = 0, timeout = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long *ms = opt(a, "-w", "--wait") ? &wait_ms : opt(a, "--ping", "--ping") ? &ping
                 : opt(a, "--timeout", "--timeout") ? &timeout : NULL;
        if (opt(a, "-h", "--help")) {
            fputs(usage, stdout);
            return 0;
        }
        if ((ms || opt(a, "-p", "--protocol") || opt(a, "-o", "--origin") ||
             opt(a, "-H", "--header") || opt(a, "--ca", "--ca") || opt(a, "--proxy", "--proxy")) &&
            !v)
            return bad_usage("a value is missing after", a);
        if (ms) {
            if ((*ms = number(v)) < 0) {
                char why[64];
                snprintf(why, sizeof why, "%s wants milliseconds (0-86399999), not", a);
                return bad_usage(why, v);
            }
            i++;
        } else if (opt(a, "-p", "--protocol")) {
            S.opts.protocols = argv[++i];
        } else if (opt(a, "-o", "--origin")) {
            S.opts.origin = argv[++i];
        } else if (opt(a, "-H", "--header")) {
            if (!add_header(headers, sizeof headers, argv[++i]))
                return bad_usage("-H wants one 'Name: value' header, not", argv[i]);
        } else if (opt(a, "-b", "--binary")) {
            binary = true;
        } else if (opt(a, "-k", "--keep-open")) {
            keep_open = true;
        } else if (opt(a, "--ca", "--ca")) {
            ca = argv[++i];
        } else if (opt(a, "--insecure", "--insecure")) {
            insecure = true;
        } else if (opt(a, "--proxy", "--proxy")) {
            proxy = argv[++i];
        } else if (opt(a, "--deflate", "--deflate")) {  /* ws.h glue: offer 15/15, bare */
            pmd.offer.server_max_window_bits = pmd.offer.client_max_window_bits = 15;
            ws_inflate_init(&pmd_inflate, pmd_window, sizeof pmd_window);
            pmd.inflate = &pmd_inflate;
            pmd.deflate = &pmd_deflate;
            pmd.window = &pmd_tx;
            S.opts.deflate = &pmd;
        } else if (a[0] == '-') {
            return bad_usage("unknown option", a);
        } else if (url) {
            return bad_usage("one URL only; a second one:", a);
        } else {
            url = a;
        }
    }
    if (!url) return bad_usage("no URL: usage: wscat [options] ws://HOST[:PORT][/PATH]", NULL);
    if ((ca || insecure) && !TLS_BUILT)
        return bad_usage(ca ? "--ca: " TLS_MISSING : "--insecure: " TLS_MISSING, NULL);
    if (parse_url(url, host, hostname, sizeof host, port, &S.opts.path, &S.use_tls) != 0)
        return 2;
    if ((ca || insecure) && !S.use_tls)
        return bad_usage(ca ? "--ca is for wss:// URLs, not" : "--insecure is for wss:// URLs, not",
                         url);
    if (ca && insecure) return bad_usage("--ca or --insecure, not both", NULL);
    if (proxy && parse_proxy(proxy, phost, sizeof phost, pport, userpass, sizeof userpass) != 0)
        return 2;
    snprintf(proxy_name, sizeof proxy_name, "%s%s%s:%s", strchr(phost, ':') ? "[" : "", phost,
             strchr(phost, ':') ? "]" : "", pport);            /* no credentials shown */
    if (headers[0]) S.opts.headers = headers;
    S.opts.host = host;
    S.opts.port = (uint16_t)atoi(port);             /* 0: no port in Host */
    S.hostname = hostname;
    if (S.use_tls) {                    /* ws.h glue (TLS): the settings of this connection */
        tls_cfg.send = on_tls_send;
        tls_cfg.on_data = on_tls_data;
        tls_cfg.on_open = on_tls_open;
        if (tls_client_files("wscat", &tls_cfg, ca, insecure) != 0) return 2;
        if (insecure)
            fprintf(stderr, "wscat: WARNING: --insecure: the server's certificate and name are "
                            "NOT checked; anyone on the way can read and change this "
                            "connection. For tests only.\n");
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = on_signal;                      /* no SA_RESTART: poll returns EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    cfg.role = WS_ROLE_CLIENT;          /* ws.h glue: the settings of this connection */
    cfg.send = on_send;
    cfg.random = on_random;
    cfg.on_begin = on_begin;
    cfg.on_data = on_data;
    cfg.on_end = on_end;
    cfg.on_close = on_close;
    cfg.handshake_timeout_ms = CONNECT_MS;  /* the proxy, TLS and the upgrade, all of them */
    cfg.ping_interval_ms = (uint32_t)ping;
    cfg.timeout_ms = (uint32_t)timeout;
    ws_http_init(&S.resp, sizeof S.head);
    S.out.limit = QUEUE_LIMIT;
    const char *dport = port[0] ? port : S.use_tls ? "443" : "80";
    if ((S.fd = net_dial("wscat", proxy ? phost : hostname, proxy ? pport : dport,
                         CONNECT_MS)) < 0)
        return 1;
    int r = ws_conn_init(&S.ws, &cfg, NULL);
    if (r == WS_OK) r = ws_conn_tick(&S.ws, now_ms());    /* the handshake clock starts */
    if (r == WS_OK && proxy) {          /* ws.h glue (proxy): CONNECT host:port first */
        size_t len;
        r = ws_proxy_request(connect_req, sizeof connect_req, &len, host, (uint16_t)atoi(dport),
                             userpass[0] ? userpass : NULL);
        if (r == WS_OK && outq_push(&S.out, connect_req, len) != 0) r = WS_ERR_NOSPACE;
        S.tunnel = true;
    } else if (r == WS_OK && start() != WS_OK) {        /* TLS, or the upgrade request */
        return 1;
    }
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
        if (st == WS_STATE_CLOSED && S.use_tls && !S.tls_closed) {
            S.tls_closed = true;
            ws_tls_close(&S.tls);       /* ws.h glue (TLS): close_notify, then TCP's end */
        }
        if (st == WS_STATE_CLOSED || st == WS_STATE_FAILED) {
            if (!until) until = now + EOF_WAIT_MS;
            if (S.eof || now >= until || (st == WS_STATE_FAILED && pending() == 0)) break;
        } else if (S.eof) {
            break;
        } else if (ws_conn_deadline(&S.ws) <= now) {
            if ((r = ws_conn_tick(&S.ws, now)) != WS_OK) {
                fprintf(stderr, "wscat: %s%s\n", ws_strerror(r),
                        r != WS_ERR_TIMEOUT ? "" : S.upgraded ? " (the server stopped answering)"
                        : S.tunnel ? " (no answer from the proxy)"
                        : S.use_tls && !ws_tls_ready(&S.tls) ? " (during the TLS handshake)"
                        : " (during the handshake)");
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
        if ((pfd[0].revents & POLLOUT) && outq_flush(&S.out, S.fd) != 0)
            outq_free(&S.out);                  /* the server is gone: recv will say so */
        if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            static char buf[65536];
            ssize_t k = recv(S.fd, buf, sizeof buf, 0);
            if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
            if (k <= 0) {
                S.eof = true;
                ws_conn_eof(&S.ws);             /* ws.h glue: FAILED (1006) unless closed */
            } else if (S.tunnel) {
                if ((r = proxy_answer(buf, (size_t)k, proxy_name)) != 0) return r;
            } else if (S.use_tls) {
                if ((r = tls_read(buf, (size_t)k, hostname)) != 0) return r;
            } else {
                got_bytes(buf, (size_t)k);
                if (S.exit_now) return S.exit_now;
            }
        }
        if (pfd[1].revents) read_stdin();
    }

    ws_state st = ws_conn_state(&S.ws);
    unsigned code = ws_conn_close_code(&S.ws);
    if (S.tunnel) {
        fprintf(stderr, "wscat: the proxy %s closed the connection without answering\n",
                proxy_name);
        return 4;
    }
    if (!S.upgraded) {
        fprintf(stderr, "wscat: the server closed the connection during the %shandshake\n",
                S.use_tls && !ws_tls_ready(&S.tls) ? "TLS " : "");
        return 1;
    }
    if (st == WS_STATE_OPEN || st == WS_STATE_CLOSING ||
        (st == WS_STATE_FAILED && ws_conn_error(&S.ws) == WS_ERR_EOF)) {
        fprintf(stderr, "wscat: the connection dropped without a close frame (1006)\n");
        return 3;
    }
    if (st == WS_STATE_CLOSED &&
        (code == WS_CLOSE_NORMAL || code == WS_CLOSE_GOING_AWAY ||
         (code == WS_CLOSE_NO_STATUS && S.we_closed)))
        return 0;
    return 3;
}
