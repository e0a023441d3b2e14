/* ws.h - v0.2.0 - RFC 6455 WebSockets in one header, for servers, clients and firmware
   MIT licence or public domain (your choice); full text at the end of this file.

   QUICK START
       In exactly one .c or .cpp file:
           #define WS_IMPLEMENTATION
           #include "ws.h"
       Everywhere else, just #include "ws.h".

   WHAT IT IS
       A zero-allocation WebSocket engine that runs inside the socket loop you already have.
       It never opens sockets, never allocates, never reads a clock and never blocks: you feed
       it the bytes you received, and it hands the bytes to send to your I/O callback.

   EXAMPLE (a whole echo server on poll(): examples/minimal_server.c, line for line; the
   parts marked "ws.h glue" are what a server of yours needs, the rest is a plain loop.
   examples/echo_server.c is the same on epoll, with streaming and the browser page)

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

   EXAMPLE (client side; examples/echo_client.c is the full program)

       cfg.role = WS_ROLE_CLIENT; cfg.random = my_random;   // getrandom() or a hardware RNG
       ws_conn_init(&conn, &cfg, user);
       ws_client_opts o = {0}; o.host = "127.0.0.1"; o.port = 8080; o.path = "/chat";
       ws_conn_connect(&conn, &o);                 // the upgrade request goes out
       ... read the answer into buf: r = ws_http_parse_response(&resp, buf, len);
       if (r == WS_HS_PARTIAL) read more;
       else if (r < 0 || ws_conn_connected(&conn, &resp) < 0) give up;  // also a non-101
       else ws_conn_feed(&conn, buf + resp.size, len - resp.size);      // frames that came along

   WHAT IT DOES
       - HTTP/1.1 upgrade handshake, server and client side (RFC 6455 section 4): incremental
         parse over your buffer (results are slices into it), validation, 101/400/403/426/431
         response builders, request builder, response check, Sec-WebSocket-Accept.
       - Frame parser (section 5): streaming, any split of the bytes, unmasks in place,
         validates UTF-8 as it arrives and fails at the first bad byte, enforces every MUST.
       - Encoder: frame headers, client masking a machine word at a time, fragmented
         messages, control frames between fragments, pre-encoded frames for broadcast.
       - Connection: states, automatic pong, close handshake (section 7), close codes
         (1002/1007/1009 on violations), keepalive pings and dead-peer detection driven by
         your clock.
       - SHA-1, base64 and UTF-8 validation, all inside this file.

       - TLS for wss:// and https (WS_MBEDTLS, the one optional dependency): mbedTLS over
         your bytes, server (certificate and key, SNI, ALPN) and client (verification on by
         default, readable reasons for a refused certificate). See "TLS" below.

   WHAT IT DOESN'T
       Sockets, threads, timers, extensions other than permessage-deflate (WS_DEFLATE,
       below). RSV bits can be handed to your own extension with ws_config.rsv_allowed.

   CONFIGURATION (macros)
       WS_IMPLEMENTATION   emit the code                                 one .c file
       WS_STATIC           every function static (private copy per TU)   with WS_IMPLEMENTATION
       WS_API              decoration of public declarations             everywhere
       WS_NO_SERVER        client only: no server handshake, and         everywhere
                           ws_conn_init refuses WS_ROLE_SERVER
       WS_NO_CLIENT        server only: no client handshake nor a        everywhere
                           client's masking send path (nor its
                           WS_MASK_CHUNK of stack); ws_conn_init
                           refuses WS_ROLE_CLIENT
       WS_FREESTANDING     no libc header at all; plain-loop memory      implementation file
                           helpers; WS_ASSERT a no-op
       WS_ASSERT(c)        internal invariants (assert)                  implementation file
       WS_MEMCPY, WS_MEMSET your own memory helpers; define both or     implementation file
                           neither
       WS_NO_ERROR_STRINGS ws_strerror returns the code's name only,     implementation file
                           without its WS_ERR_ ("HS_KEY"; "OK")
       WS_NO_PROXY         no HTTP proxy CONNECT: ws_proxy_request and   everywhere
                           ws_proxy_check are not declared (the client
                           still connects directly; the firmware
                           configuration uses it)
       WS_MAX_HEADERS      headers kept by ws_http (default 32)          everywhere, same value
       WS_MASK_CHUNK       stack bytes used to mask a client frame       implementation file
                           before it is handed to ws_config.send (256;
                           64 with WS_FREESTANDING)
       WS_NO_SIMD          portable code only: no SSE2 paths for         implementation file
                           masking and UTF-8 (used when __SSE2__ is
                           defined, GCC or Clang, not WS_FREESTANDING)
       WS_NO_SSSE3         no SSSE3 UTF-8 check chosen at run time       implementation file
                           (it needs libgcc's __cpu_model unless the
                           build targets SSSE3); implies WS_NO_AVX2
       WS_NO_AVX2          no AVX2 UTF-8 check and text unmasking        implementation file
                           chosen at run time
       WS_DEFLATE          permessage-deflate (ws_inflate, ws_deflate,   everywhere
                           ws_conn_set_inflate/_set_deflate, the
                           negotiation), with no zlib
       WS_MBEDTLS          the TLS layer (ws_tls_*), over mbedTLS 2.28   every file that uses
                           or 3.x; link -lmbedtls -lmbedx509            ws_tls
                           -lmbedcrypto. Without it no mbedTLS header
                           is included and the core stays freestanding

   MEMORY
       Nothing is allocated. A ws_conn is a plain struct you own (sizeof(ws_conn) is 216 bytes
       on x86-64, 232 with WS_DEFLATE; 208 and 216 on a Cortex-M4: 125 of them hold the
       control frame being received, which is also where the ping whose pong is owed waits;
       byte by byte above struct ws_conn). It points at a ws_config you
       keep alive for as long as the connection: one config is normally shared by every
       connection of a server, which is what keeps a connection this small. Received payload
       is delivered as slices of the buffer you passed to ws_conn_feed (unmasked in place),
       unless you give the connection a message buffer (ws_conn_set_buffer) to collect whole
       messages in. A ws_http (parsed handshake, about 1.2 KiB) is needed only during the
       handshake and may live on your stack.
       permessage-deflate (WS_DEFLATE; x86-64 figures, all memory you give): ws_conn grows
       by its two pointers. Receiving compressed: a ws_inflate (2,640 bytes)
       and its window of 2^client_max_window_bits bytes per connection (32 KiB, or what the
       server asked for). Sending compressed, each message alone (server_no_context_takeover
       or client_no_context_takeover): nothing per connection; one ws_deflate per thread
       (4,536 bytes: the encoder's scratch, its symbol counts, codes and the fixed codes;
       4,496 on 32-bit targets), its table (4 * 2^table_bits: 16 KiB at 12 bits) and its
       out buffer. With context taken over (ws_conn_set_deflate_window): 2^window_bits +
       4 * 2^table_bits + 40 per connection (36,904 bytes for a 32 KiB window and a 2^10
       table; 8,232 for 4 KiB), the shared ws_deflate's scratch as before.
       Stack (x86-64 -O2): sending compressed 624 bytes at its deepest (ws_conn_send down to
       the match finder; ws_deflate_message 488), receiving 632 (ws_conn_feed through the
       decoder's fast path).

   LIMITS (what a hostile peer can make the library spend; every one is enforced and tested)
       what                      default     set with                      over it
       request/response head     8192 bytes  ws_http_init(h, max_size)     431 / WS_ERR_HS_TOO_BIG
       headers in a head         32          WS_MAX_HEADERS (macro)        431 / WS_ERR_HS_TOO_MANY
       frame payload             16 MiB      ws_config.max_frame_size      close 1009
       message (all fragments)   16 MiB      ws_config.max_message_size    close 1009
         whole-message mode      buffer cap  ws_conn_set_buffer(c, b, cap) close 1009
       frames in one message     131072      ws_config.max_fragments       close 1009
       inflated message          16 MiB      max_message_size, the buffer  close 1009 (counted
         (WS_DEFLATE)                                                    as it comes out)
       compressed frame          frame size  max_frame_size + 1/8 + 64     close 1009
       decoder output per call   cap         ws_inflate_feed(..., cap)     (stops there)
       control frame payload     125 bytes   RFC 6455 (fixed)              close 1002
       opening handshake         10 s        ws_config.handshake_timeout_ms WS_ERR_TIMEOUT
       close handshake           5 s         ws_config.close_timeout_ms    WS_ERR_TIMEOUT
       silence (dead peer)       off         ws_config.ping_interval_ms,   WS_ERR_TIMEOUT
                                             ws_config.timeout_ms
       Times run on your clock: call ws_conn_tick(c, now_ms) at ws_conn_deadline(c) or
       sooner. To bound a slow handshake on a server (a slowloris), call ws_conn_init when
       you accept the socket, and tick it while the request head is still arriving.
       Memory and stack do not grow with input: the parser keeps at most one frame header
       (14 bytes) or one control payload (125 bytes) per connection, the ping whose pong is
       owed included (no frame is read while it is: ws_conn_feed), and no path through the
       library recurses. Each ping is answered with one pong of the same
       payload, so a server never asks you to send more bytes than it was fed, plus one close
       frame (at most 127 bytes); a client at most three times as many (a 2-byte ping gets a
       6-byte masked pong), plus one close frame (at most 131 bytes). A peer that floods
       pings and reads nothing is stopped by your own back-pressure (stop reading while your
       output queue for it is over a limit; examples/echo_server.c does).

   ERRORS
       Functions return 0 (WS_OK) on success and a negative ws_err on failure; counts travel
       through size_t out-parameters. "Need more bytes" is not an error. ws_strerror() gives a
       short message for every code. Errors of a connection are sticky: after a failure every
       call returns the same code. What went on the wire:
           WS_ERR_PROTOCOL      close 1002          WS_ERR_HS_*  HTTP status ws_http_status(e):
           WS_ERR_UTF8          close 1007                        400, 403, 426 or 431
           WS_ERR_TOO_BIG       close 1009
           WS_ERR_TIMEOUT       nothing (the peer is gone; close the socket)
           WS_ERR_EOF           nothing (you called ws_conn_eof: TCP ended early; 1006)
       Accepted close codes in received close frames: 1000-1003, 1007-1014, 3000-4999.
       Anything else (and a 1-byte close body) fails the connection with 1002; a close reason
       that is not UTF-8 fails it with 1007.
       When to close the socket: once ws_conn_state(c) is WS_STATE_CLOSED or FAILED, after
       sending what your queue holds. CLOSING means a close is still under way (ours waits
       for the peer's, or ours waits for a frame you are streaming to end).

   CALLBACKS (what a callback may call)
       ws.h calls you synchronously from inside its own functions, and it is built for you
       to call it back from there. On the connection whose callback is running:
       - Receive callbacks (on_begin, on_data, on_end, on_message, on_control) may send
         (ws_conn_send and the other senders), close (ws_conn_close), tick, and
         ws_conn_set_buffer between messages (on_end, on_message; WS_ERR_STATE mid-message).
         ws_conn_feed returns WS_ERR_BUSY there and reads nothing: queue those bytes.
       - on_close is the last thing the library does in that call: free the ws_conn or
         ws_conn_init it again there, if you like. Calls other than ws_conn_init and free
         get the closed state's answers (WS_ERR_STATE, the sticky error).
       - The send callback may call ws_conn_feed (a blocking client that drains its socket
         after each write, two connections wired back to back in one process): it works,
         and the pong or close it owes goes out once the frame being written is done. A
         ping read there owes its pong until then, and the feed stops right after that
         ping: WS_ERR_BUSY, and ws_conn_feed_part says how far it read; keep the rest and
         feed it once your send callback has returned. A feed while the library writes the
         pong it owes gets WS_ERR_BUSY too and reads nothing.
         Every other call that would send (the senders, close, tick, accept, connect)
         returns WS_ERR_BUSY there and changes nothing: a frame is never cut by another.
         The random callback counts as a send callback here.
       - ws_conn_init and free, anywhere but in on_close, only outside every callback.
       Other connections may be called from any callback, with the same rules for each.
       Whatever the order of calls, a connection never corrupts memory, never comes back
       from CLOSED or FAILED, never puts a second close on the wire and never sends a frame
       inside another: a call either does what its comment says or returns an error and
       changes nothing (the errors that fail the connection say so).

   POINTERS THE LIBRARY KEEPS
       ws_conn keeps: its ws_config (for its whole life), the buffer of ws_conn_set_buffer
       (until another is set), and for a client the opts->protocols and opts->extensions
       strings of ws_conn_connect (until ws_conn_connected returns). Nothing else: every
       other pointer you pass is read during the call only. Payload pointers given to your
       callbacks are valid during the callback.

   THREADS
       No global or static mutable state. A connection is used by one thread at a time; a
       ws_config may be shared read-only by any number of threads.

   VERSIONS
       0.2.0 (2026-12-01) the callback contract (CALLBACKS): WS_ERR_BUSY, on_close as the last
             act of a call, pongs and closes owed behind a frame paid once it ends, ws_conn_eof,
             ws_conn_set_buffer returns int, WS_ERR_RANDOM, WS_ERR_HS_REPEATED,
             WS_ERR_HS_NO_UPGRADE; sizeof(ws_conn) 248 -> 376 on x86-64.
       0.1.0 (2026-11-21) first release: handshake, parser, encoder, connection, keepalive.
*/
#ifndef WS_H_INCLUDED
#define WS_H_INCLUDED

#define WS_VERSION_MAJOR 0
#define WS_VERSION_MINOR 2
#define WS_VERSION_PATCH 0
#define WS_VERSION_STRING "0.2.0"

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#ifdef WS_MBEDTLS
#  include <mbedtls/version.h>
#  include <mbedtls/ssl.h>
#  include <mbedtls/entropy.h>
#  include <mbedtls/ctr_drbg.h>
#  include <mbedtls/x509_crt.h>
#  include <mbedtls/pk.h>
#  include <mbedtls/net_sockets.h>    /* its error codes only: the module is not used */
#endif

#ifndef WS_API
#  ifdef WS_STATIC
#    if defined(__GNUC__) || defined(__clang__)
#      define WS_API static __attribute__((unused))
#    else
#      define WS_API static
#    endif
#  else
#    define WS_API extern
#  endif
#endif

#ifndef WS_MAX_HEADERS
#  define WS_MAX_HEADERS 32
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors ------------------------------------------------------------ */

/* Error codes. 0 is success; every error is negative. Values never change once released;
   new codes are added at the end. The text is what ws_strerror() returns. WS_ERROR_LIST(X)
   calls X(WS_ERR_name, value, text) for each; the list is written with the names after
   their WS_ERR_ (WS__E pastes it back) so that WS_NO_ERROR_STRINGS keeps only the rest. */
#define WS__E(X, name, value, text) X(WS_ERR_##name, value, text)
#define WS_ERROR_LIST(X) WS__ERRORS(X, WS__E)
#define WS__ERRORS(X, E)                                                                   \
    X(WS_OK,                 0, "success")                                                 \
    E(X,     ARG,           -1, "invalid argument")                                        \
    E(X,     STATE,         -2, "not allowed in the connection's current state")           \
    E(X,     PROTOCOL,      -3, "frame violates RFC 6455 (close 1002)")                    \
    E(X,     UTF8,          -4, "text is not valid UTF-8 (close 1007)")                    \
    E(X,     TOO_BIG,       -5, "frame or message exceeds the size limit (close 1009)")    \
    E(X,     IO,            -6, "the send callback reported a failure")                    \
    E(X,     NOSPACE,       -7, "output buffer too small")                                 \
    E(X,     TIMEOUT,       -8, "the peer did not answer in time")                         \
    E(X,     HS_MALFORMED,  -9, "malformed HTTP request (HTTP 400)")                       \
    E(X,     HS_METHOD,    -10, "WebSocket handshake must use GET (HTTP 400)")             \
    E(X,     HS_HTTP_VERSION, -11, "WebSocket handshake needs HTTP/1.1 or later (HTTP 400)") \
    E(X,     HS_HOST,      -12, "missing or repeated Host header (HTTP 400)")              \
    E(X,     HS_CONNECTION, -13, "Connection header lacks the Upgrade token (HTTP 400)")   \
    E(X,     HS_KEY,       -14, "Sec-WebSocket-Key missing or not 16 bytes of base64 (HTTP 400)") \
    E(X,     HS_VERSION,   -15, "Sec-WebSocket-Version is not 13 (HTTP 426)")              \
    E(X,     HS_TOO_BIG,   -16, "handshake header block too large (HTTP 431)")             \
    E(X,     HS_TOO_MANY,  -17, "too many header fields (HTTP 431)")                       \
    E(X,     HS_ORIGIN,    -18, "origin not allowed (HTTP 403)")                           \
    E(X,     HS_STATUS,    -19, "server did not answer 101 Switching Protocols")           \
    E(X,     HS_UPGRADE,   -20, "response lacks Upgrade: websocket or Connection: Upgrade") \
    E(X,     HS_ACCEPT,    -21, "Sec-WebSocket-Accept does not match the key")             \
    E(X,     HS_PROTOCOL,  -22, "server chose a subprotocol that was not offered")         \
    E(X,     HS_EXTENSION, -23, "server accepted an extension that was not offered")    \
    E(X,     BUSY,         -24, "not allowed inside this callback of the connection")      \
    E(X,     RANDOM,       -25, "the random callback reported a failure")                  \
    E(X,     EOF,          -26, "the peer closed TCP without a close handshake (1006)")    \
    E(X,     HS_REPEATED,  -27, "a header that must appear once is repeated (HTTP 400)")   \
    E(X,     HS_NO_UPGRADE, -28, "WebSocket handshake headers without Upgrade: websocket (HTTP 400)") \
    E(X,     TLS,          -29, "TLS failed (ws_tls_why says why)")                        \
    E(X,     TLS_CERT,     -30, "the server's certificate was refused (ws_tls_why says why)") \
    E(X,     PROXY,        -31, "the proxy refused the tunnel (its status is in ws_http.status)") \
    E(X,     PROXY_AUTH,   -32, "the proxy asks for credentials (407)")                    \
    E(X,     INFLATE,      -33, "compressed data is not valid DEFLATE (close 1007)")

typedef enum ws_err {
/* `name` declares an enumerator: it cannot be parenthesized. */
#define WS__ERR_ENUM(name, value, text) name = value, /* NOLINT(bugprone-macro-parentheses) */
    WS_ERROR_LIST(WS__ERR_ENUM)
#undef WS__ERR_ENUM
    WS__ERR_LAST = -33
} ws_err;

/* A short, static, human-readable description of err. Never NULL; unknown values give
   "unknown error". Safe from any thread. */
WS_API const char *ws_strerror(int err);

/* The HTTP status to answer for a handshake error: 400, 403, 426 or 431; 0 when err is not a
   server-side handshake error. */
WS_API int ws_http_status(int err);

/* The close code that a connection error sent: 1002, 1007, 1009; 0 for other codes. */
WS_API int ws_close_code_for(int err);

/* ---- protocol constants -------------------------------------------------- */

typedef enum ws_opcode {
    WS_OP_CONT   = 0x0,     /* continuation frame (only inside a fragmented message) */
    WS_OP_TEXT   = 0x1,     /* UTF-8 text */
    WS_OP_BINARY = 0x2,     /* binary data */
    WS_OP_CLOSE  = 0x8,     /* close; payload: 2-byte code + UTF-8 reason, or empty */
    WS_OP_PING   = 0x9,     /* ping; payload <= 125 bytes, answered by a pong */
    WS_OP_PONG   = 0xA      /* pong */
} ws_opcode;

/* The reserved bits of a frame's first byte, for an extension that owns them
   (ws_config.rsv_allowed): OR them into the opcode given to ws_frame_header,
   ws_frame_encode or ws_conn_send* to set them on a frame, as in
   (ws_opcode)(WS_OP_TEXT | WS_RSV1), permessage-deflate's "compressed" bit. */
#define WS_RSV1 0x40u
#define WS_RSV2 0x20u
#define WS_RSV3 0x10u

/* Close codes (RFC 6455 section 7.4.1 and the IANA registry). */
enum {
    WS_CLOSE_NORMAL          = 1000, /* purpose fulfilled */
    WS_CLOSE_GOING_AWAY      = 1001, /* server shutting down, page navigated away */
    WS_CLOSE_PROTOCOL_ERROR  = 1002, /* sent on WS_ERR_PROTOCOL */
    WS_CLOSE_UNSUPPORTED     = 1003, /* data of a type the endpoint cannot accept */
    WS_CLOSE_NO_STATUS       = 1005, /* never sent: reported when a close had no code */
    WS_CLOSE_ABNORMAL        = 1006, /* never sent: reported when TCP ended without close */
    WS_CLOSE_INVALID_DATA    = 1007, /* sent on WS_ERR_UTF8 */
    WS_CLOSE_POLICY          = 1008, /* policy violation */
    WS_CLOSE_TOO_BIG         = 1009, /* sent on WS_ERR_TOO_BIG */
    WS_CLOSE_EXTENSION       = 1010, /* client: a required extension was not negotiated */
    WS_CLOSE_INTERNAL_ERROR  = 1011, /* server hit an unexpected condition */
    WS_CLOSE_SERVICE_RESTART = 1012,
    WS_CLOSE_TRY_AGAIN_LATER = 1013,
    WS_CLOSE_BAD_GATEWAY     = 1014
};

/* True if code may appear in a close frame on the wire: 1000-1003, 1007-1014, 3000-4999. */
WS_API bool ws_close_code_valid(unsigned code);

/* ---- types ----------------------------------------------------------------- */

/* A slice of bytes that lives in somebody else's buffer (not NUL-terminated). An absent
   header is {NULL, 0}; a present but empty one has a non-NULL ptr and len 0. */
typedef struct ws_str {
    const char *ptr;
    size_t      len;
} ws_str;

/* One piece of output, iovec-style. */
typedef struct ws_buf {
    const void *data;
    size_t      len;
} ws_buf;

typedef enum ws_role {
    WS_ROLE_SERVER = 0,     /* default: expects masked frames, sends unmasked ones */
    WS_ROLE_CLIENT = 1      /* expects unmasked frames, masks what it sends */
} ws_role;

typedef enum ws_state {
    WS_STATE_CONNECTING = 0, /* after ws_conn_init: handshake not done */
    WS_STATE_OPEN,           /* messages flow both ways */
    WS_STATE_CLOSING,        /* we sent a close and wait for the peer's; or the peer's came
                                while a frame of ours was streaming, and our answer goes
                                out when it ends */
    WS_STATE_CLOSED,         /* close handshake complete: close the TCP connection (a
                                client may first wait a moment for the server to close it,
                                as RFC 6455 7.1.1 prefers) */
    WS_STATE_FAILED          /* error (ws_conn_error): close the TCP connection */
} ws_state;

/* Size reported by on_begin when the message is fragmented and its length is not known. */
#define WS_SIZE_UNKNOWN UINT64_MAX

typedef struct ws_conn ws_conn;

/* Connection settings. Zero is a valid value for every field, and means the default given
   beside it. One ws_config is normally shared by all connections of a server; the
   connection keeps a pointer to it, so it must outlive them and must not change while they
   use it. */
typedef struct ws_config {
    ws_role  role;                  /* WS_ROLE_SERVER (0, default) or WS_ROLE_CLIENT */
    uint64_t max_frame_size;        /* bytes; 0 = default (= max_message_size) */
    uint64_t max_message_size;      /* bytes; 0 = default (16 MiB). Larger: close 1009 */
    uint32_t max_fragments;         /* frames in one message; 0 = default (131072). More:
                                       close 1009 */
    uint32_t ping_interval_ms;      /* ping when nothing was received this long; 0 = never */
    uint32_t timeout_ms;            /* fail with WS_ERR_TIMEOUT when nothing was received
                                       this long; 0 = default (2 * ping_interval_ms, or
                                       never when pings are off) */
    uint32_t handshake_timeout_ms;  /* CONNECTING longer than this fails; 0 = default
                                       (10000); UINT32_MAX: about 49 days */
    uint32_t close_timeout_ms;      /* CLOSING longer than this fails; 0 = default (5000) */
    uint8_t  rsv_allowed;           /* RSV bits (0x40, 0x20, 0x10) your extension owns;
                                       0 = default: any RSV bit set is a protocol error */
    bool     no_auto_pong;          /* false (default): pings are answered by the library */

    /* Required. Sends bufs[0..n-1] in order. Return 0 once every byte is written or queued
       by you (copy it: the pieces may point into the connection or your own buffers); a
       negative value fails the connection with WS_ERR_IO. Call it "would block" by queueing,
       not by returning less. Inside it, only ws_conn_feed and the getters work on c
       (CALLBACKS).
       A server's call holds whole frames (so a queue may drop whole frames of a peer it
       gives up on), except the separate calls of ws_conn_send_header and
       ws_conn_send_payload; a client's frame may span calls (masked WS_MASK_CHUNK bytes
       at a time). */
    int  (*send)(ws_conn *c, const ws_buf *bufs, size_t n);
    /* Required for clients (mask keys and the handshake nonce); unused by servers. Fill
       out[0..n-1] with unpredictable bytes (getrandom, a hardware RNG). Return 0, or a
       negative value on failure. */
    int  (*random)(ws_conn *c, void *out, size_t n);

    /* Message callbacks, all optional. A message arrives either whole, through on_message
       (when the connection has a buffer: ws_conn_set_buffer), or streamed, through
       on_begin, on_data for each chunk (unmasked, text already validated so far) and
       on_end. Chunks point into the buffer given to ws_conn_feed. */
    void (*on_message)(ws_conn *c, ws_opcode op, const void *data, size_t len);
    void (*on_begin)(ws_conn *c, ws_opcode op, uint64_t size /* or WS_SIZE_UNKNOWN */);
    void (*on_data)(ws_conn *c, const void *data, size_t len);
    void (*on_end)(ws_conn *c);
    /* A ping or pong arrived (after the automatic pong went out, or once it is owed:
       ws_conn_feed). */
    void (*on_control)(ws_conn *c, ws_opcode op, const void *data, size_t len);
    /* An open connection ended, called exactly once: code is the peer's close code (1005
       when its close had none), the code we sent when we failed it (1002, 1007, 1009), or
       1006 when it timed out, TCP ended (ws_conn_eof) or the send callback failed; reason is
       the peer's reason or a short description of our error (valid during the call). Not
       called for a handshake that failed. It is the last thing the library does in the
       call that ended the connection: you may free c or ws_conn_init it here. */
    void (*on_close)(ws_conn *c, unsigned code, const char *reason, size_t len);
} ws_config;

/* One connection. Allocate it yourself (static, on the heap, in an array) and set it up with
   ws_conn_init. Only `user` is yours to touch.
   Its bytes, x86-64 (Cortex-M4): 216 (208) in all; 232 (216) with WS_DEFLATE's
       24 (12)    user, config, message buffer
       16 (8)     WS_DEFLATE only: its decoder and encoder memory
       8          the message buffer's capacity (at most 4 GiB - 1 of it is used), fragments
                  so far (M4, without WS_DEFLATE: 4 of padding before the next)
       40         64-bit: payload left in the frame received, message size so far (the
                  fill of the message buffer follows from these two), payload owed by
                  ws_conn_send_payload, last activity, start of a wait (tick time)
       4          close code, flags
       9          sticky error, state, call depth, opcodes, mask position (the peer's key's
                  on a server, ours of a frame streamed out on a client), bytes in _ctrl,
                  RSV bits, UTF-8 state
       4          mask key: the peer's (server), or of the frame we stream out (client)
       125        the control frame being received, and before it a frame header split
                  across feeds; the ping whose pong is owed; on_close's reason, the close a
                  failure sends; a client's key and options while CONNECTING
       2 (+1)     WS_DEFLATE only: the encoder's window, a compressed message under way;
                  padding
   One control payload is held at a time: while a pong is owed, ws_conn_feed reads no further
   frame (ws_conn_feed_part), so the ping's payload in _ctrl stays as it is until the pong
   is out. */
struct ws_conn {
    void *user;                     /* yours: ws.h never reads it */
    /* private: do not touch */
    const ws_config *_cfg;
    uint8_t  *_mbuf;                /* whole-message buffer (ws_conn_set_buffer) */
#ifdef WS_DEFLATE
    struct ws_inflate *_z;          /* permessage-deflate's decoder (ws_conn_set_inflate) */
    struct ws_deflate *_zd;         /* its encoder's memory (ws_conn_set_deflate) */
#endif
    uint32_t  _mcap;                /* its capacity; its fill is ws__mlen(c) */
    uint32_t  _frags;               /* frames of the current data message so far */
    uint64_t  _remaining;           /* payload bytes left in the current received frame */
    uint64_t  _msg_size;            /* bytes of the current data message so far (a frame's
                                       whole length from its header on, uncompressed) */
    uint64_t  _tx_remaining;        /* payload bytes owed by ws_conn_send_payload */
    uint64_t  _t_mark;              /* last receive activity, in tick time */
    uint64_t  _t_wait;              /* start of the handshake / close wait, or last ping */
    uint16_t  _code;                /* close code received, or sent on failure */
    uint16_t  _flags;               /* WS__F_* */
    int8_t    _err;                 /* sticky error */
    uint8_t   _state, _depth, _op, _msg_op, _mask_pos, _clen, _rsv, _utf8;
                                    /* _depth: calls on this connection in progress;
                                       _mask_pos: in _mask; _clen: bytes in _ctrl, with
                                       WS__CLEN_HEAD set while they are a frame header */
    uint8_t   _mask[4];             /* server: the peer's key; client: ours, of the frame
                                       streamed with ws_conn_send_header */
    uint8_t   _ctrl[125];           /* control payload received, and a frame header split
                                       across feeds before it; the ping whose pong is owed
                                       (WS__F_PONG_DUE); on failure: our close frame's body;
                                       on_close's reason is _ctrl + 2. Client, while
                                       CONNECTING: its key, protocols, extensions (and
                                       deflate) pointers, and the nonce in scratch */
#ifdef WS_DEFLATE
    uint8_t   _zbits;               /* the window the encoder may use; 0x80: _zd is in
                                       fact a ws_deflate_window (ws_conn_set_deflate_window) */
    uint8_t   _ztx;                 /* the fragmented message we send is compressed */
#endif
};

/* ---- handshake ----------------------------------------------------------- */

typedef struct ws_header {
    ws_str name, value;             /* value has surrounding whitespace removed */
} ws_header;

/* Results of the handshake parsers (besides negative errors). */
typedef enum ws_hs_result {
    WS_HS_PARTIAL = 0,              /* need more bytes: call again with more */
    WS_HS_UPGRADE = 1,              /* a complete, valid WebSocket handshake */
    WS_HS_HTTP    = 2               /* a complete request that is not a WebSocket upgrade */
} ws_hs_result;

/* A parsed HTTP/1.1 request or response head. Every ws_str points into the buffer that was
   parsed; keep that buffer while you use them. Named fields hold the first occurrence of
   their header; `headers` holds all of them in order. */
typedef struct ws_http {
    ws_str method;                  /* request: "GET" */
    ws_str target;                  /* request: "/chat?room=1" */
    ws_str path;                    /* request: "/chat" */
    ws_str query;                   /* request: "room=1" (without '?'); {NULL,0} if none */
    int    status;                  /* response: 101 */
    ws_str reason;                  /* response: "Switching Protocols" */
    int    version;                 /* HTTP minor version: 0 or 1 (HTTP/1.x) */
    ws_str host, origin, upgrade, connection;
    ws_str key;                     /* Sec-WebSocket-Key */
    ws_str ws_version;              /* Sec-WebSocket-Version */
    ws_str protocol;                /* Sec-WebSocket-Protocol */
    ws_str extensions;              /* Sec-WebSocket-Extensions */
    ws_str accept;                  /* response: Sec-WebSocket-Accept */
    size_t size;                    /* bytes of the head, CRLFCRLF included: frames follow */
    size_t num_headers;
    ws_header headers[WS_MAX_HEADERS];
    /* private: do not touch */
    size_t   _max, _scanned;
    unsigned _repeated;             /* named headers seen more than once (bits WS__H_*) */
} ws_http;

/* Prepares h for a new message. max_size bounds the head in bytes; 0 = default (8192).
   A zeroed ws_http is also ready (with the default). */
WS_API void ws_http_init(ws_http *h, size_t max_size);

#ifndef WS_NO_SERVER
/* Parses an HTTP request head from buf[0..len-1], the bytes received so far (call again with
   the same bytes and more after WS_HS_PARTIAL: already scanned bytes are not scanned again;
   the buffer may move between calls, since h keeps only an offset until the head is
   complete). Never reads past len and never writes to buf.
   Returns:
     WS_HS_PARTIAL   the head is not complete yet.
     WS_HS_UPGRADE   a valid WebSocket upgrade (RFC 6455 4.2.1); h->size bytes were the head.
     WS_HS_HTTP      a complete request that asks for no WebSocket upgrade: yours to serve.
     WS_ERR_HS_*     a bad request or a bad upgrade; answer ws_http_status(r) (see
                     ws_handshake_reject) and close. */
WS_API int ws_http_parse_request(ws_http *h, const void *buf, size_t len);

/* For servers that parse HTTP themselves (libmicrohttpd, a framework): zero h, fill in
   h->method, h->version (the minor version: 1 for HTTP/1.1), h->path and h->target if you
   like, and h->headers[0..h->num_headers-1] with every header as received (value.ptr never
   NULL; "" for an empty value; whitespace around it removed). This names the fields (host,
   key, ...: the first of each) and gives the verdict ws_http_parse_request would:
   WS_HS_UPGRADE, WS_HS_HTTP or a WS_ERR_HS_* code to answer with ws_http_status(r). Then
   ws_conn_accept(c, h, protocol) writes the 101 from it as usual. WS_ERR_ARG for a h that
   is not filled in so. */
WS_API int ws_http_check_request(ws_http *h);
#endif

#ifndef WS_NO_CLIENT
/* Parses an HTTP response head, the same way. Returns WS_HS_PARTIAL; WS_HS_UPGRADE when the
   head is complete with status 101 (check the rest with ws_handshake_check or
   ws_conn_connected); WS_HS_HTTP when it is complete with another status (h->status);
   or WS_ERR_HS_MALFORMED / WS_ERR_HS_TOO_BIG / WS_ERR_HS_TOO_MANY. */
WS_API int ws_http_parse_response(ws_http *h, const void *buf, size_t len);
#endif

/* The value of the first header named name (case-insensitive), or {NULL, 0}. */
WS_API ws_str ws_http_header(const ws_http *h, const char *name);

/* True if any header named name holds token in its comma-separated list (both compared
   case-insensitively), as in ws_http_has_token(h, "Connection", "upgrade"). */
WS_API bool ws_http_has_token(const ws_http *h, const char *name, const char *token);

/* Iterates a comma-separated token list: each call stores the next non-empty token
   (whitespace trimmed) in *tok, advances *list and returns true; false at the end. */
WS_API bool ws_token_next(ws_str *list, ws_str *tok);

/* Writes the 28-character Sec-WebSocket-Accept for a Sec-WebSocket-Key, and a NUL, to out. */
WS_API void ws_accept_key(const char *key, size_t key_len, char out[29]);

#ifndef WS_NO_SERVER
/* Picks the first of supported[0..n-1] that the client offered in Sec-WebSocket-Protocol,
   or NULL when none was offered (then accept without a subprotocol, or reject). */
WS_API const char *ws_handshake_select_protocol(const ws_http *req,
                                                const char *const *supported, size_t n);

/* Writes the "101 Switching Protocols" response for req to out[0..cap-1] and its length to
   *len. protocol is NULL or one of the subprotocols req offered.
   Returns WS_OK, WS_ERR_ARG (protocol not offered, or not a valid token), WS_ERR_NOSPACE. */
WS_API int ws_handshake_accept(char *out, size_t cap, size_t *len,
                               const ws_http *req, const char *protocol);

/* What a server's 101 may carry besides the accept key. */
typedef struct ws_accept_opts {
    const char *protocol;           /* NULL or one of the subprotocols req offered */
    const char *extensions;         /* NULL or the Sec-WebSocket-Extensions value agreed
                                       (ws_deflate_accept writes one) */
    const char *headers;            /* NULL or extra lines, each ending in "\r\n" */
} ws_accept_opts;

/* ws_handshake_accept with opts (NULL: none). Returns WS_OK, WS_ERR_ARG (a protocol not
   offered, a control byte in extensions, headers that are not whole CRLF lines),
   WS_ERR_NOSPACE. */
WS_API int ws_handshake_accept_opts(char *out, size_t cap, size_t *len, const ws_http *req,
                                    const ws_accept_opts *opts);

/* Writes an error response for a handshake error (a WS_ERR_HS_* code from the parser, or
   WS_ERR_HS_ORIGIN for an origin you refuse): "400 Bad Request", "403 Forbidden",
   "426 Upgrade Required" with Sec-WebSocket-Version: 13, or "431 Request Header Fields Too
   Large", with the reason as a short text body and Connection: close.
   Returns WS_OK, WS_ERR_ARG (err is no such code), WS_ERR_NOSPACE (256 bytes always do). */
WS_API int ws_handshake_reject(char *out, size_t cap, size_t *len, int err);
#endif

#ifndef WS_NO_CLIENT
/* What a client asks for. */
typedef struct ws_client_opts {
    const char *host;               /* required: "example.com" */
    uint16_t    port;               /* appended to Host as ":port" unless 0 */
    const char *path;               /* request target; NULL = "/" */
    const char *origin;             /* NULL = no Origin header */
    const char *protocols;          /* NULL or "chat, superchat": offered subprotocols */
    const char *extensions;         /* NULL or offered extensions (you implement them) */
    const char *headers;            /* NULL or extra lines, each ending in "\r\n" */
#ifdef WS_DEFLATE
    struct ws_deflate_client *deflate; /* NULL, or permessage-deflate to offer and use
                                       (then extensions must be NULL): see
                                       ws_deflate_client. Kept until ws_conn_connected */
#endif
} ws_client_opts;

/* Writes the upgrade request to out[0..cap-1] and its length to *len. key is the
   24-character base64 nonce (ws_handshake_key makes one).
   Returns WS_OK, WS_ERR_ARG (no host, a CR or LF inside a field, a space or tab in the
   path), WS_ERR_NOSPACE. */
WS_API int ws_handshake_request(char *out, size_t cap, size_t *len,
                                const ws_client_opts *opts, const char key[24]);

/* Base64-encodes 16 random bytes into a 24-character key and a NUL. */
WS_API void ws_handshake_key(const uint8_t nonce[16], char key[25]);

/* Checks a parsed response against the request: status 101, Upgrade: websocket,
   Connection: Upgrade, the Sec-WebSocket-Accept for key, a subprotocol only from
   protocols (NULL = none offered), extensions only from extensions (NULL = none offered).
   Returns WS_OK or WS_ERR_HS_STATUS, _UPGRADE, _ACCEPT, _PROTOCOL, _EXTENSION. */
WS_API int ws_handshake_check(const ws_http *resp, const char key[24],
                              const char *protocols, const char *extensions);

#ifndef WS_NO_PROXY
/* Through an HTTP proxy: the CONNECT request for a tunnel to host:port, with
   "Proxy-Authorization: Basic" when userpass ("user:password") is not NULL. Send it first,
   parse the answer with ws_http_parse_response, check it with ws_proxy_check, then speak
   TLS (and the upgrade) through the tunnel: the bytes after resp->size are the tunnel's.
   The request goes to out[0..cap-1], a NUL after it when that fits, its length in *len.
   Returns WS_OK, WS_ERR_ARG (no host; a control byte other than tab, or DEL, in host or
   userpass; a space, tab or '/' in host), WS_ERR_NOSPACE. */
WS_API int ws_proxy_request(char *out, size_t cap, size_t *len, const char *host,
                            uint16_t port, const char *userpass);

/* The proxy's answer to CONNECT: WS_OK for 2xx (the tunnel is open), WS_ERR_PROXY_AUTH
   for 407, WS_ERR_PROXY for any other status (resp->status says which: 403, 502, ...). */
WS_API int ws_proxy_check(const ws_http *resp);
#endif /* WS_NO_PROXY */
#endif

/* ---- connection ---------------------------------------------------------- */

/* Sets c up in WS_STATE_CONNECTING with settings cfg (kept by pointer: it must outlive c)
   and your user pointer. Returns WS_OK or WS_ERR_ARG (no cfg or no send callback, a
   client without a random callback, or a role left out by WS_NO_CLIENT / WS_NO_SERVER). */
WS_API int ws_conn_init(ws_conn *c, const ws_config *cfg, void *user);

/* Gives c a buffer to collect whole messages in: from then on, data messages arrive through
   on_message in one piece, and one larger than cap fails the connection with close 1009.
   buf = NULL returns to streaming. c keeps buf (by pointer) until it is given another. A
   cap over 4 GiB - 1 is taken as that (messages that large need streaming).
   Returns WS_OK, WS_ERR_STATE while a message is half received (from on_begin, on_data,
   or between its fragments: call it between messages, on_end and on_message included), or
   the sticky error. */
WS_API int ws_conn_set_buffer(ws_conn *c, void *buf, size_t cap);

#ifndef WS_NO_SERVER
/* Server: sends the 101 response for req (protocol: NULL or one req offered) through the
   send callback and opens the connection. req = NULL just opens it, for servers that wrote
   their own 101 (ws_accept_key helps).
   Returns WS_OK, WS_ERR_STATE (not CONNECTING), WS_ERR_ARG (protocol not offered),
   WS_ERR_IO. */
WS_API int ws_conn_accept(ws_conn *c, const ws_http *req, const char *protocol);

/* ws_conn_accept with the extensions and extra header lines of opts in the 101 (opts
   NULL: none); the same returns. */
WS_API int ws_conn_accept_opts(ws_conn *c, const ws_http *req, const ws_accept_opts *opts);

/* Server: sends the error response for handshake error err through the send callback and
   leaves c FAILED with err. Returns err, or WS_ERR_IO; WS_ERR_STATE (not CONNECTING, or a
   client) and WS_ERR_ARG (err has no HTTP status) send nothing and change nothing. */
WS_API int ws_conn_reject(ws_conn *c, int err);
#endif

#ifndef WS_NO_CLIENT
/* Client: draws a key from the random callback, sends the upgrade request and waits
   (CONNECTING) for the response. The request is written from opts at once; c keeps only
   opts->protocols and opts->extensions (by pointer) for ws_conn_connected: they must stay
   valid until it returns.
   Returns WS_OK, WS_ERR_STATE (not CONNECTING, a server, or called before), WS_ERR_ARG (bad
   opts: nothing sent, nothing changed), WS_ERR_RANDOM or WS_ERR_IO (c is FAILED). */
WS_API int ws_conn_connect(ws_conn *c, const ws_client_opts *opts);

/* Client: checks the parsed response (ws_http_parse_response) against the request that
   ws_conn_connect sent and opens the connection; feed the bytes after resp->size next.
   resp = NULL just opens it. On a bad response c becomes FAILED with the error.
   Returns WS_OK or a WS_ERR_HS_* code from ws_handshake_check, or WS_ERR_STATE. */
WS_API int ws_conn_connected(ws_conn *c, const ws_http *resp);
#endif

/* Feeds received bytes to the connection.
 *
 * Accepts any amount, from one byte to megabytes, in any split. Payloads are unmasked in
 * place, text is validated as UTF-8 as it arrives, and the message callbacks are called.
 * Pings are answered, closes are answered and reported. Never reads outside
 * data[0..len-1], never allocates.
 *
 * A ping is answered at once, with a pong of its payload, unless a frame of yours is going
 * out: one streamed with ws_conn_send_header and unfinished, or this feed is made inside
 * your send callback. Then the pong is owed, its payload kept in the connection, and it
 * goes out as soon as that frame is done (before anything else of yours). While it is
 * owed, no further frame is read: the feed stops right after that ping and returns
 * WS_ERR_BUSY, and later feeds return WS_ERR_BUSY and read nothing (their bytes count as
 * activity for timeout_ms all the same), until the pong is out. ws_conn_feed_part tells how many bytes were read; keep the rest and feed it then.
 * If you never stream frames nor feed inside your send callback, every byte is read.
 *
 * Returns:
 *   WS_OK            every byte was consumed (bytes after the peer's close are ignored).
 *   WS_ERR_PROTOCOL  RFC 6455 violation; close 1002 was sent.
 *   WS_ERR_UTF8      invalid UTF-8 in a text message or close reason; close 1007 was sent.
 *   WS_ERR_TOO_BIG   frame or message over the limit; close 1009 was sent.
 *   WS_ERR_IO        the send callback failed (answering a ping or close).
 *   WS_ERR_STATE     the connection is still CONNECTING.
 *   WS_ERR_BUSY      called inside a callback of this connection's own ws_conn_feed:
 *                    nothing was read (queue the bytes and feed them after it returns);
 *                    or a pong is owed (above): not every byte was read, maybe none.
 *   An earlier error, again: errors are sticky.
 * Notes:
 *   data must be writable (unmasking is in place). Check ws_conn_state afterwards: CLOSED
 *   or FAILED means close the socket.
 */
WS_API int ws_conn_feed(ws_conn *c, void *data, size_t len);

/* ws_conn_feed that also stores in *used (when not NULL) how many bytes of data it read:
   all of them with WS_OK (those after the peer's close count as read: they are ignored);
   fewer, maybe none, with WS_ERR_BUSY, when a pong is owed or inside a callback of this
   feed: feed the bytes after *used once the pong is out (ws_conn_feed); with another
   error, those read up to it (none when the call was refused at once). */
WS_API int ws_conn_feed_part(ws_conn *c, void *data, size_t len, size_t *used);

/* Sends one whole message or control frame: op is WS_OP_TEXT, WS_OP_BINARY, WS_OP_PING or
 * WS_OP_PONG (control payloads at most 125 bytes). A server hands the header and the
 * payload to the send callback as two pieces, without copying; a client masks through a
 * small stack buffer. Text is sent as given (ws_utf8_valid checks it if you need to).
 * op may carry the RSV bits (WS_RSV1..3) that ws_config.rsv_allowed gives your extension;
 * any other is WS_ERR_ARG. The same holds for every sender below.
 * Returns WS_OK, WS_ERR_ARG, WS_ERR_STATE (not OPEN, or inside a fragmented message for a
 * data frame, or a streamed payload unfinished), WS_ERR_IO. */
WS_API int ws_conn_send(ws_conn *c, ws_opcode op, const void *data, size_t len);

/* Sends a message in fragments: begin (op TEXT or BINARY), any number of continue, then end.
   Control frames (ws_conn_send with PING/PONG, ws_conn_close) may go in between; other data
   frames may not. Same returns as ws_conn_send. */
WS_API int ws_conn_send_begin(ws_conn *c, ws_opcode op, const void *data, size_t len);
WS_API int ws_conn_send_continue(ws_conn *c, const void *data, size_t len);
WS_API int ws_conn_send_end(ws_conn *c, const void *data, size_t len);

/* Streams one frame whose payload you hand over in parts: the header first (fin, op: TEXT,
   BINARY, or CONT inside a fragmented message; size: the whole payload), then
   ws_conn_send_payload until size bytes went out. Nothing else may be sent in between.
   For relaying a large message without holding it. A frame cannot be cut short: if the
   connection fails while one is unfinished (say, invalid UTF-8 in the text you relay), no
   close frame can follow it and the peer only sees TCP end (1006). Relay text as fragments,
   one frame per chunk (ws_conn_send_begin/continue/end), when the close code must arrive.
   ws_conn_send_payload returns WS_OK, WS_ERR_ARG (more than the header announced),
   WS_ERR_IO or the sticky error. */
WS_API int ws_conn_send_header(ws_conn *c, bool fin, ws_opcode op, uint64_t size);
WS_API int ws_conn_send_payload(ws_conn *c, const void *data, size_t len);

#ifndef WS_NO_SERVER
/* Server: sends a frame encoded once with ws_frame_encode (unmasked) to this connection,
   as-is: the broadcast case. Returns as ws_conn_send. */
WS_API int ws_conn_send_raw(ws_conn *c, const void *frame, size_t len);
#endif

/* Starts the closing handshake: sends a close frame with code (0 = none, otherwise a code
   ws_close_code_valid accepts, not 1005/1006/1015) and a UTF-8 reason of at most 123
   bytes, then waits (CLOSING) for the peer's close, at most close_timeout_ms.
   Returns WS_OK, WS_ERR_ARG, WS_ERR_STATE (not OPEN, or a streamed frame is unfinished),
   WS_ERR_IO, or the sticky error of a failed connection. */
WS_API int ws_conn_close(ws_conn *c, unsigned code, const char *reason, size_t len);

/* Tells c that TCP ended (recv returned 0, or an error such as a reset): an open connection
   whose close handshake did not finish becomes FAILED with WS_ERR_EOF, and on_close gets
   1006. Returns WS_OK when the close handshake had finished (CLOSED), WS_ERR_EOF, or the
   sticky error. */
WS_API int ws_conn_eof(ws_conn *c);

/* Advances the connection's clock to now (milliseconds, any epoch, never going back): sends
 * a keepalive ping when nothing was received for ping_interval_ms, and fails the connection
 * with WS_ERR_TIMEOUT when nothing was received for timeout_ms, when the handshake took
 * longer than handshake_timeout_ms, or the close handshake longer than close_timeout_ms.
 * Activity is noted by ws_conn_feed and timed at the next tick: tick right after each feed
 * (it is cheap) for exact timeouts, else a timeout may come up to one tick period late.
 * Returns WS_OK, WS_ERR_TIMEOUT (close the socket), WS_ERR_IO, or the sticky error. */
WS_API int ws_conn_tick(ws_conn *c, uint64_t now);

/* The time (same clock as ws_conn_tick) at which ws_conn_tick has something to do next, or
   UINT64_MAX if nothing is scheduled. Use it for your poll/epoll timeout. */
WS_API uint64_t ws_conn_deadline(const ws_conn *c);

WS_API ws_state ws_conn_state(const ws_conn *c);
/* The sticky error (WS_OK while none). */
WS_API int ws_conn_error(const ws_conn *c);
/* The close code received (CLOSED) or sent on failure (FAILED); 0 before. */
WS_API unsigned ws_conn_close_code(const ws_conn *c);
/* The RSV bits (0x40, 0x20, 0x10) of the first frame of the message being received, for an
   extension that owns them (ws_config.rsv_allowed). A text message whose first frame has
   RSV bits is not UTF-8 checked: the extension transforms it and checks it itself. */
WS_API unsigned ws_conn_message_rsv(const ws_conn *c);

/* ---- permessage-deflate (WS_DEFLATE) ---------------------------------------- */
#ifdef WS_DEFLATE
/* permessage-deflate (RFC 7692), compiled only with WS_DEFLATE (define it in every file:
   it adds fields to ws_conn and ws_client_opts), in memory you give it, without zlib:
   - the raw DEFLATE decoder (ws_inflate: 2640 bytes of state on x86-64, 2608 on 32-bit
     targets, plus the window): any split of its input, at most cap bytes out a call, so
     a decompression bomb costs no more than the output asked for;
   - negotiation: ws_deflate_accept (server), ws_deflate_offer and ws_deflate_check
     (client), or ws_client_opts.deflate (ws_deflate_client) for ws_conn_connect;
   - the encoder (ws_deflate_message: LZ77, then per block of up to 64 KiB the smallest of
     stored, fixed and dynamic Huffman codes; each message alone, or with context taken
     over in a connection's own window: ws_deflate_window);
   - the connection's use of both: ws_conn_set_inflate (what arrives compressed is
     inflated and checked), ws_conn_set_deflate (what is sent is compressed).
   A server: ws_deflate_accept, the answer in ws_accept_opts.extensions, then
   ws_conn_set_inflate and ws_conn_set_deflate (examples/echo_server.c). A client:
   ws_client_opts.deflate (examples/wscat.c --deflate). */
typedef struct ws_inflate {
    const char *why;                /* why it failed, in a few words; "" while it has not */
    /* private: do not touch */
    const uint8_t *_in, *_in_end;   /* the input of the call in progress */
    uint8_t  *_win;                 /* the window: the last _wsize bytes of output */
    size_t    _wsize, _wpos, _dist;
    uint64_t  _bits;                /* bits taken from the input and not used yet */
    uint32_t  _copy;                /* bytes left of a match or a stored block */
    uint32_t  _nbits;               /* how many of _bits */
    uint16_t  _nlit, _sym, _have;
    uint8_t   _ndist, _nclen, _state, _last, _full, _fixed;
    /* the codes: counts and sorted symbols (canonical), and first-level lookup tables of
       9 bits (literal/length) and 8 (distance) beside them: symbol << 4 | length, 0 for a
       longer code */
    uint16_t  _lcount[16], _lsym[288], _dcount[16], _dsym[30];
    uint16_t  _lfast[1 << 9], _dfast[1 << 8];
    uint8_t   _lens[286 + 30];      /* code lengths while a dynamic block's tables arrive */
} ws_inflate;

/* ws_inflate_feed's result when the stream's last block (BFINAL) ended; the next call starts a
   new stream over the same window. */
#define WS_INFLATE_END 1

/* Sets z up with window[0..window_size-1] (2^windowBits bytes: 32768 for 15, or less when
   the peer agreed to a smaller window; any size works, distances beyond it fail). */
WS_API void ws_inflate_init(ws_inflate *z, void *window, size_t window_size);

/* Starts z, ws_inflate_init'ed before, on a new stream over the same window with no
   history (what a message compressed with *_no_context_takeover needs), and clears a
   failure. Unlike ws_inflate_init it keeps the fixed codes' tables when they were built, so
   a run of short messages does not build them again for each one. */
WS_API void ws_inflate_reset(ws_inflate *z);

/* Decompresses in[0..in_len-1] into out[0..cap-1]: *used bytes of input were taken (all
   of them unless out filled up or the last block ended) and *produced bytes written (the
   bytes of out after them, within cap, may have been written over too: a match is copied
   8 bytes at a time).
   Returns WS_OK (call again with the rest, or with more input), WS_INFLATE_END, or
   WS_ERR_INFLATE (z->why says what; sticky). A permessage-deflate message ends with the
   four bytes 00 00 FF FF that the sender removed: feed them after its last frame. */
WS_API int ws_inflate_feed(ws_inflate *z, const void *in, size_t in_len, size_t *used, void *out,
                           size_t cap, size_t *produced);

/* Negotiation (RFC 7692 section 7): the parameters one side agreed with the other. */
typedef struct ws_deflate_params {
    uint8_t server_max_window_bits;     /* 8..15: the window of what the server compresses */
    uint8_t client_max_window_bits;     /* 8..15: the window of what the client compresses */
    bool    server_no_context_takeover; /* the server starts each message afresh */
    bool    client_no_context_takeover; /* the client does */
} ws_deflate_params;

/* Server: looks through the request's Sec-WebSocket-Extensions for the first
   permessage-deflate offer it can take when its decoder has a window of at most
   2^max_client_bits bytes (8..15), and writes the answer's value to out[0..cap-1] (for
   "Sec-WebSocket-Extensions: " in the 101), with a NUL (the longest answer is 128 bytes:
   cap 129), and what was agreed to *p. It asks for a
   smaller client window when the offer allows one (client_max_window_bits), declines an
   offer it cannot fit, and skips offers with an unknown, repeated or out-of-range
   parameter, as RFC 7692 says. server_no_context: answer server_no_context_takeover even
   when not asked (a server that compresses a broadcast once for everyone needs it); false
   when the connection gets its own window (ws_conn_set_deflate_window) unless the client
   asked for it (p->server_no_context_takeover says).
   Returns 1 (agreed), 0 (no offer it can take: go on without compression), WS_ERR_ARG,
   WS_ERR_NOSPACE. */
WS_API int ws_deflate_accept(const ws_http *req, unsigned max_client_bits,
                             bool server_no_context, ws_deflate_params *p, char *out,
                             size_t cap, size_t *len);

/* Client: the value of a Sec-WebSocket-Extensions offer asking for want (bits of 15 are
   not written, except client_max_window_bits, which is always offered so that the server
   may lower it). Returns WS_OK, WS_ERR_ARG, WS_ERR_NOSPACE. */
WS_API int ws_deflate_offer(const ws_deflate_params *want, char *out, size_t cap, size_t *len);

/* Client: the server's answer (ws_http_parse_response) checked against the offer: 1 with
   *agreed set when it accepted permessage-deflate, 0 when it did not, WS_ERR_HS_EXTENSION
   for an answer the offer did not allow (a parameter not offered, a window larger than
   offered, a value out of range, a repeated parameter or extension). */
WS_API int ws_deflate_check(const ws_http *resp, const ws_deflate_params *offered,
                            ws_deflate_params *agreed);

/* Gives c the decoder of its agreed permessage-deflate (z initialised with a window of
   2^bits of what the peer compresses with: client_max_window_bits for a server), and
   whether the peer starts each message afresh (its no_context_takeover: then z does too).
   From then on a data message whose first frame has RSV1 is inflated as it arrives, its
   text checked as it comes out, and delivered as any other (on_begin gets
   WS_SIZE_UNKNOWN). Its inflated size counts against max_message_size and the message
   buffer (1009); its frames may be an eighth (plus 64 bytes) over max_frame_size on the
   wire, what an incompressible message costs in DEFLATE's framing; bad compressed data fails with WS_ERR_INFLATE (1007); RSV1 on a control or
   continuation frame with 1002. z NULL: no more compression. Call it between messages.
   Returns WS_OK, WS_ERR_STATE, or the sticky error. */
WS_API int ws_conn_set_inflate(ws_conn *c, ws_inflate *z, bool reset_each_message);

/* The encoder's memory: its hash table, the buffer a connection's messages are compressed
   into, and its scratch (symbol counts, Huffman codes, the fixed codes built once). Nothing
   of a message is kept in it once it is compressed, so one ws_deflate may serve every
   connection of a thread (ws_conn_set_deflate) and ws_deflate_message between them.
   sizeof(ws_deflate) is 4,536 bytes on x86-64, 4,496 on 32-bit targets (gcc -m32,
   Cortex-M4). Zero it all first (ws_deflate d = {0}, or a designated initializer: its
   private fields must start at 0), then fill in the public fields and zero the table once. */
typedef struct ws_deflate {
    uint32_t *table;                /* 2^table_bits entries of scratch, zeroed once */
    unsigned  table_bits;           /* 8..20 (12: 16 KiB, plenty for chat) */
    uint8_t  *out;                  /* where a connection's message is compressed before it
                                       goes out (ws_deflate_message does not use it) */
    size_t    out_cap;              /* bytes of out, 64 or more. A message larger than
                                       about 8/9 of it goes out compressed in several
                                       frames (fragments) of at most out_cap bytes */
    size_t    min_size;             /* messages shorter than this go uncompressed;
                                       0 = default (WS_DEFLATE_MIN_SIZE) */
    /* private: do not touch */
    uint8_t   _busy;                /* a connection is compressing into out */
    const uint8_t *_in, *_ring;     /* the message being compressed, and the window before it */
    size_t    _n;
    uint32_t  _base, _have, _rmask, _wmax;  /* where it is in its stream; the distance cap */
    uint32_t *_tab;                 /* the hash table in use (table, or the window's) */
    unsigned  _shift;
    uint16_t  _freq[318], _code[318];       /* a block's symbol counts and codes: 288 */
    uint16_t  _cfreq[19], _ccode[19];       /* literal/length, 30 distance; and the */
    uint8_t   _lens[318], _clens[19];       /* code-length code's */
    uint32_t  _heap[288];           /* the sort and tree of a code's lengths */
    uint16_t  _hsym[288];
    uint8_t   _tok[64];             /* 16 tokens, when out has no room to keep a block's */
    uint16_t  _fixed[318];          /* the fixed codes (RFC 1951 3.2.6), built at first use */
    uint8_t   _flens[318];          /* and their lengths (0 until then) */
} ws_deflate;

/* Compresses the message data[0..n-1] as permessage-deflate sends it (LZ77 within
   2^window_bits: the window agreed for what this side compresses; each block of up to
   64 KiB stored, in the fixed codes or in its own, whichever is smallest; ended by a sync
   flush without its 00 00 FF FF) into out[0..cap-1], length in *len, with d's table and
   scratch (d->out is not used). It keeps its tokens in out behind the output, so a cap of
   ws_deflate_bound(n) or more compresses best (less may go out stored, or in fixed
   codes). Every message stands alone (no context taken over), so say
   server_no_context_takeover (a server: ws_deflate_accept's server_no_context) or
   client_no_context_takeover (a client) when you negotiate, and one compressed broadcast
   may go to every member. Send the result with RSV1: ws_conn_send(c,
   (ws_opcode)(op | WS_RSV1), out, len), which a connection given a decoder
   (ws_conn_set_inflate) allows; or send data as it is when the result is not smaller.
   Returns WS_OK, WS_ERR_ARG, WS_ERR_NOSPACE (cap under ws_deflate_bound(n) may not do),
   WS_ERR_BUSY (d is compressing for a connection: called from inside its send callback). */
WS_API int ws_deflate_message(ws_deflate *d, const void *data, size_t n, unsigned window_bits,
                              void *out, size_t cap, size_t *len);

/* A cap that ws_deflate_message always has room in: n + n/8 + 16. */
WS_API size_t ws_deflate_bound(size_t n);

#define WS_DEFLATE_MIN_SIZE 64

/* ORed into the opcode given to ws_conn_send or ws_conn_send_begin: this message goes
   uncompressed although the connection compresses (RFC 7692 allows any message to). */
#define WS_NO_COMPRESS 0x100u

/* Gives c the encoder's memory (d NULL: send uncompressed from now on) and the window it
   may use, window_bits (8..15): the agreed server_max_window_bits for a server,
   client_max_window_bits for a client. From then on ws_conn_send and ws_conn_send_begin/
   _continue/_end compress each data message: RSV1 on its first frame, no context taken
   over from one message to the next (every message stands alone, whatever was agreed)
   unless c is given its own window (ws_conn_set_deflate_window).
   A message goes uncompressed when it is shorter than d->min_size, when compressing its
   first 8/9 of out_cap bytes does not make it smaller (ws_conn_send), when op carries
   WS_NO_COMPRESS or RSV1 (yours: already compressed), or when d is busy compressing for
   another connection (from inside that one's send callback). A fragmented message is
   compressed fragment by fragment (each may go out as several frames), and must go on
   through ws_conn_send_continue/_end: ws_conn_send_header or ws_conn_send_raw with a
   continuation frame get WS_ERR_STATE inside it, and _continue gets WS_ERR_BUSY when d
   is busy. Frames streamed with ws_conn_send_header go uncompressed. Call it between
   messages. Returns WS_OK, WS_ERR_ARG, WS_ERR_STATE (inside a fragmented message we
   send), or the sticky error. */
WS_API int ws_conn_set_deflate(ws_conn *c, ws_deflate *d, unsigned window_bits);

/* Context takeover on send (RFC 7692 7.2.3.2): one connection's own memory, for an encoder
   that keeps what the connection sent as the window its next messages may reference (chat
   traffic, a few hundred bytes a message, then compresses several times more). Bytes per
   connection: 2^window_bits + 4 * 2^table_bits + sizeof(ws_deflate_window) (40, 24 on
   32-bit), all yours: 2^15 + 4 * 2^10 + 40 = 36,904 with the full window, 2^12 + 4 * 2^10
   + 40 = 8,232 with a 4 KiB one; ws_conn is no larger. Fill in the public fields, zero the table once. */
typedef struct ws_deflate_window {
    uint8_t  *window;               /* 2^window_bits bytes: the last bytes sent compressed */
    uint32_t *table;                /* 2^table_bits entries, zeroed once (buckets of two) */
    uint8_t   window_bits;          /* 8..15: the encoder uses the smaller of it and the
                                       agreed window (ws_conn_set_deflate's window_bits) */
    uint8_t   table_bits;           /* 8..20 (10 is plenty for chat) */
    /* private: do not touch */
    uint32_t  _pos;                 /* bytes of the stream so far, modulo 2^32 */
    uint32_t  _have;                /* how many of them are in window */
    struct ws_deflate *_d;          /* the connection's ws_deflate (it points here) */
} ws_deflate_window;

/* Gives c, which compresses (ws_conn_set_deflate), its own window w: from now on what it
   sends compressed may reference what it sent compressed before (w NULL: every message
   alone again). Only when the peer allows it: a server when the agreement has no
   server_no_context_takeover (ws_deflate_accept with server_no_context false, and the
   client did not ask for it), a client when it has no client_no_context_takeover
   (ws_deflate_client.window does this by itself). The window starts empty, so it may be
   given at any time between messages (ws_conn_set_deflate drops it); a message compressed
   with it goes to c alone (no
   broadcast of the same bytes). The shared ws_deflate is still where messages are
   compressed (its out; its table is not used while w is set). Returns WS_OK, WS_ERR_ARG
   (bad fields, or c does not compress), WS_ERR_STATE (inside a fragmented message we
   send), or the sticky error. */
WS_API int ws_conn_set_deflate_window(ws_conn *c, ws_deflate_window *w);

/* A client's permessage-deflate, for ws_client_opts.deflate: ws_conn_connect offers
   `offer` (ws_deflate_offer), ws_conn_connected checks the answer (ws_deflate_check: an
   answer the offer did not allow fails the handshake with WS_ERR_HS_EXTENSION) and, when
   the server agreed, sets the connection up with `inflate` and `deflate`: what arrives
   compressed is inflated, what goes out is compressed. Keep it for the connection's life. */
typedef struct ws_deflate_client {
    ws_deflate_params offer;        /* what to offer; window bits 8..15 (15: the default) */
    ws_inflate *inflate;            /* required: a decoder, ws_inflate_init'ed with a
                                       window of 2^offer.server_max_window_bits bytes */
    ws_deflate *deflate;            /* the encoder's memory, or NULL: send uncompressed */
    ws_deflate_window *window;      /* NULL, or this connection's own window: what it sends
                                       compressed references what it sent before, unless
                                       the server said client_no_context_takeover */
    ws_deflate_params agreed;       /* written by ws_conn_connected */
    bool        on;                 /* written by ws_conn_connected: the server agreed */
    /* private: do not touch */
    char        _offer[136];        /* the offer's text, for the request (129 at most) */
} ws_deflate_client;
#endif /* WS_DEFLATE */

/* ---- TLS (wss://, with WS_MBEDTLS) ---------------------------------------- */
#ifdef WS_MBEDTLS
/* TLS through mbedTLS (2.28 LTS or 3.x), in your loop like the rest: you feed it the
   ciphertext you received and it hands you the ciphertext to send, through callbacks; it
   never touches a socket (no net_sockets module), never blocks and reads no clock. Between
   the two sits your ws_conn: the plaintext TLS delivers goes to ws_http_parse_request or
   ws_conn_feed, and the ws_conn's send callback calls ws_tls_send. Define WS_MBEDTLS in
   every file that uses these declarations, and link -lmbedtls -lmbedx509 -lmbedcrypto.
   Wiring, per connection:  socket bytes -> ws_tls_feed -> tc->on_data -> the HTTP parser,
   then ws_conn_feed;  ws_conn's cfg.send -> ws_tls_send -> tc->send -> your socket queue.
   Call ws_conn_init when the socket is accepted and tick it: the TLS handshake happens
   while the ws_conn is CONNECTING, so handshake_timeout_ms bounds it too.
   Memory: sizeof(ws_tls) is 1312 bytes on x86-64, and mbedTLS allocates its record buffers
   and handshake state: 35.8 KB of heap per open connection with Debian's mbedTLS 2.28
   (tests/run_tls.sh measures it). They shrink with a smaller MBEDTLS_SSL_IN_CONTENT_LEN
   and MBEDTLS_SSL_OUT_CONTENT_LEN in your mbedTLS build (the peer must then send smaller
   records: a client can ask with max_fragment_length). Firmware with no heap gives
   mbedTLS an arena of its own: an mbedTLS built with MBEDTLS_MEMORY_BUFFER_ALLOC_C, and
   mbedtls_memory_buffer_alloc_init(arena, size) once at start. ws.h itself still
   allocates nothing. The same contract as ws_conn: a call the TLS connection cannot take
   inside its own mbedTLS callback (tc->send), or a feed inside a feed's callbacks, returns
   WS_ERR_BUSY and changes nothing; do not free a ws_tls inside its callbacks (a ws_conn in
   the same allocation: free both after ws_tls_feed returns). */

typedef struct ws_tls ws_tls;

/* Settings shared by the TLS connections of a server or a client (like ws_config: they
   keep a pointer to it). Set the callbacks, then call ws_tls_server_setup or
   ws_tls_client_setup. */
typedef struct ws_tls_config {
    /* Required. Ciphertext to send: queue or write all of it; 0, or negative (the TLS
       connection fails with WS_ERR_IO). */
    int  (*send)(ws_tls *t, const void *data, size_t len);
    /* Required. Plaintext that arrived (writable, in the buffer given to ws_tls_init):
       hand it to ws_http_parse_request while the handshake is on, then to ws_conn_feed. */
    void (*on_data)(ws_tls *t, void *data, size_t len);
    /* Optional. The TLS handshake finished: a client sends its upgrade (ws_conn_connect)
       from here. */
    void (*on_open)(ws_tls *t);
    /* Optional, servers. The name the client asked for (SNI), before the certificate goes
       out; return 0 to go on (after ws_tls_use_cert to pick that name's certificate), or
       negative to refuse the handshake. */
    int  (*on_name)(ws_tls *t, const char *name, size_t len);
    /* private: do not touch */
    mbedtls_ssl_config       _conf;
    mbedtls_x509_crt         _crt;          /* server: its chain; client: the CAs trusted */
    mbedtls_pk_context       _key;
    mbedtls_entropy_context  _entropy;
    mbedtls_ctr_drbg_context _drbg;
    const char              *_alpn[2];
    bool                     _ready, _client;
} ws_tls_config;

/* Flags of ws_tls_client_setup. */
#define WS_TLS_INSECURE_NO_VERIFY 0x1u  /* tests only: accept any certificate and name */

/* Server: the certificate chain and the private key, each PEM (a NUL-terminated string;
   len may count the NUL or not) or DER; password for an encrypted key, or NULL. TLS 1.2 at
   least (1.3 where the mbedTLS build has it), ALPN http/1.1. Returns WS_OK, WS_ERR_ARG
   (no callbacks, an unreadable certificate or key, or a key that does not match the
   certificate), WS_ERR_TLS (the random generator could not be seeded). */
WS_API int ws_tls_server_setup(ws_tls_config *tc, const void *cert, size_t cert_len,
                               const void *key, size_t key_len, const char *password);

/* Client: the CA certificates to trust (PEM or DER, as above). Verification of the
   server's chain and name is on; WS_TLS_INSECURE_NO_VERIFY turns it off, for tests only.
   Returns WS_OK, WS_ERR_ARG, WS_ERR_TLS. */
WS_API int ws_tls_client_setup(ws_tls_config *tc, const void *ca, size_t ca_len,
                               unsigned flags);

/* Frees what the setup made; no ws_tls may use tc any more. */
WS_API void ws_tls_config_free(ws_tls_config *tc);

/* One TLS connection. Only `user` is yours to touch. */
struct ws_tls {
    void *user;                     /* yours: ws.h never reads it */
    /* private: do not touch */
    mbedtls_ssl_context  _ssl;
    const ws_tls_config *_cfg;
    uint8_t             *_buf;      /* plaintext out of records (yours, from ws_tls_init) */
    size_t               _cap;
    const uint8_t       *_in;       /* ciphertext fed and not yet taken by mbedTLS */
    size_t               _in_len;
    uint32_t             _verify;   /* mbedTLS's verification flags of the peer */
    int                  _mbed;     /* mbedTLS's error code of the failure */
    int8_t               _err;      /* sticky error */
    uint8_t              _state;    /* 0 handshake, 1 open, 2 closed by the peer, 3 failed */
    bool                 _busy;     /* inside an mbedTLS call */
    bool                 _feeding;  /* inside ws_tls_feed (its on_data, on_open) */
    bool                 _self;     /* the peer's certificate is self-signed */
    uint16_t             _pend_len;
    uint8_t              _pend[256];/* small plaintext waiting to share a record */
    char                 _name[256];/* server: the name the client asked for (SNI) */
};

/* Sets t up for a connection (server or client, as tc was set up). host: a client's server
   name, checked against the certificate and sent as SNI (required unless
   WS_TLS_INSECURE_NO_VERIFY); NULL for a server. buf[0..cap-1] receives the plaintext of
   records (16384 bytes hold any record; less works too, in more on_data calls; connections
   that are fed one at a time may share one). A client's handshake starts at once (the
   ClientHello goes out through tc->send). Give a client a host name: mbedTLS 2.28 matches
   names only, not a certificate's IP addresses, and sends an address as SNI too.
   Returns WS_OK, WS_ERR_ARG, WS_ERR_TLS, WS_ERR_IO. */
WS_API int ws_tls_init(ws_tls *t, const ws_tls_config *tc, const char *host, void *buf,
                       size_t cap, void *user);

/* Feeds received ciphertext, in any split: runs the handshake (tc->on_name, tc->on_open),
   decrypts, and hands the plaintext to tc->on_data. Returns WS_OK, WS_ERR_TLS (garbage,
   plain HTTP, a bad record, an alert; ws_tls_why says which), WS_ERR_TLS_CERT (the
   server's certificate was refused), WS_ERR_IO, WS_ERR_EOF once the peer sent
   close_notify (then call ws_conn_eof, or close), WS_ERR_BUSY inside an mbedTLS callback
   of t (tc->send) or inside this feed's own callbacks (tc->on_data, tc->on_open): queue
   the bytes and feed them later. Errors are sticky. */
WS_API int ws_tls_feed(ws_tls *t, const void *data, size_t len);

/* Encrypts bufs[0..n-1] and sends the records through tc->send: what a ws_conn's send
   callback calls. Pieces under 256 bytes share a record. Called inside ws_tls_feed's
   callbacks (an echo, a pong, the 101 sent while what arrived is handled), small pieces
   wait in t and go out together when that feed returns, so the replies to one read take
   one record instead of one or two each; elsewhere everything goes out before it returns.
   Returns WS_OK, WS_ERR_STATE (the handshake is not done), WS_ERR_BUSY (inside tc->send),
   WS_ERR_TLS, WS_ERR_IO, the sticky error (a failure of what waited is ws_tls_feed's). */
WS_API int ws_tls_send(ws_tls *t, const ws_buf *bufs, size_t n);

/* Sends close_notify (after the WebSocket close handshake, before you close TCP). */
WS_API int ws_tls_close(ws_tls *t);

/* Frees what ws_tls_init made (not t itself). Not inside t's callbacks. */
WS_API void ws_tls_free(ws_tls *t);

/* True once the handshake finished. */
WS_API bool ws_tls_ready(const ws_tls *t);

/* Server, with tc->on_name or after the handshake: the name the client asked for ("" for
   none). */
WS_API const char *ws_tls_server_name(const ws_tls *t);

/* Server, inside tc->on_name: use this chain and key (PEM or DER) for this connection.
   The certificate and key objects are yours and must outlive the connection. */
WS_API int ws_tls_use_cert(ws_tls *t, mbedtls_x509_crt *cert, mbedtls_pk_context *key);

/* Why t failed, in a few words ("certificate expired", "certificate is for another
   name", "certificate signed by an unknown CA", "self-signed certificate", "not TLS
   (plain HTTP?)", ...), or "" while it has not. */
WS_API const char *ws_tls_why(const ws_tls *t);

/* The mbedTLS error code behind a WS_ERR_TLS (0 if none), and the peer certificate's
   verification flags (MBEDTLS_X509_BADCERT_*). */
WS_API int ws_tls_mbedtls_error(const ws_tls *t);
WS_API uint32_t ws_tls_verify_flags(const ws_tls *t);
#endif /* WS_MBEDTLS */

/* ---- frames ---------------------------------------------------------------- */

/* Writes a frame header (2 to 14 bytes) to out and returns its length. mask is NULL for an
   unmasked (server) frame, or the 4-byte key of a masked (client) frame. op may carry
   WS_RSV1..3. */
WS_API size_t ws_frame_header(uint8_t out[14], bool fin, ws_opcode op, uint64_t len,
                              const uint8_t *mask);

/* Writes a whole frame (header and payload, masked with mask unless it is NULL) to
   out[0..cap-1] and its length to *len. Returns WS_OK, WS_ERR_NOSPACE, or WS_ERR_ARG for
   a reserved opcode or a control frame over 125 bytes or without fin. */
WS_API int ws_frame_encode(void *out, size_t cap, size_t *len, bool fin, ws_opcode op,
                           const void *payload, size_t size, const uint8_t *mask);

/* XORs data[0..len-1] with the 4-byte key, starting at key position pos (0..3, the payload
   offset modulo 4), in place: masks and unmasks. A machine word at a time. */
WS_API void ws_mask(void *data, size_t len, const uint8_t key[4], size_t pos);

/* ---- utilities ----------------------------------------------------------- */

/* Incremental UTF-8 validation. Start with *state = 0. Returns the number of bytes of
   data[0..len-1] that are valid so far: len when everything is valid (a sequence may still
   be open: *state != 0), less when data[result] is the first invalid byte. Overlongs,
   surrogates, values above U+10FFFF and stray continuation bytes are invalid. */
WS_API size_t ws_utf8_validate(uint32_t *state, const void *data, size_t len);

/* True if data[0..len-1] is complete, valid UTF-8. */
WS_API bool ws_utf8_valid(const void *data, size_t len);

/* SHA-1 of data into out (20 bytes). */
WS_API void ws_sha1(const void *data, size_t len, uint8_t out[20]);

/* Base64 (standard alphabet, padded) of data into out, which needs 4 * ((len + 2) / 3) + 1
   bytes; writes a NUL and returns the length without it. */
WS_API size_t ws_base64_encode(const void *data, size_t len, char *out);

/* Decodes padded standard base64 into out[0..cap-1]. Returns the decoded length, or
   (size_t)-1 when the input is not valid base64 or does not fit. */
WS_API size_t ws_base64_decode(const char *in, size_t len, uint8_t *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif /* WS_H_INCLUDED */

/* =========================== IMPLEMENTATION ==============================
   The implementation reads bottom-up: each part uses only the parts above it. Search for a
   banner ("---- connection: send") to jump there.
       configuration   hooks (WS_ASSERT, WS_MEMCPY), SIMD choice, flags, string helpers
       errors          ws_strerror, ws_http_status, ws_close_code_for
       utilities       UTF-8 (the state machine, then its SSE2/SSSE3/AVX2 fast paths), SHA-1,
                       base64
       frames          masking (text unmasked and checked in one pass), frame headers,
                       ws_frame_encode
       handshake       the HTTP head scanner and parsers, the named-header table, the
                       101/4xx builders, the client request and its check
       connection      settings: limits and timeouts from ws_config
                       output: the frame writers, the only code that calls cfg->send
                       lifecycle: enter/leave, failure, what is owed (ws__flush), init,
                         accept, reject, connect, eof
                       frame parser: ws_conn_feed and what it calls
                       send: the public senders and ws_conn_close
                       clock: ws_conn_tick, ws_conn_deadline, the getters
*/
#if defined(WS_IMPLEMENTATION) && !defined(WS_IMPLEMENTATION_INCLUDED)
#define WS_IMPLEMENTATION_INCLUDED

#if defined(WS_MEMCPY) != defined(WS_MEMSET)
#  error "define both WS_MEMCPY and WS_MEMSET or neither"
#endif

#ifndef WS_ASSERT
#  ifdef WS_FREESTANDING
#    define WS_ASSERT(c) ((void)0)
#  else
#    include <assert.h>
#    define WS_ASSERT(c) assert(c)      /* programmer errors only; never used on input */
#  endif
#endif

#ifndef WS_MEMCPY
#  ifdef WS_FREESTANDING
#    define WS_MEMCPY(d, s, n)  ws__memcpy((d), (s), (n))
#    define WS_MEMSET(d, v, n)  ws__memset((d), (v), (n))
#    define WS__OWN_MEM 1
#  else
#    include <string.h>
#    define WS_MEMCPY(d, s, n)  memcpy((d), (s), (n))
#    define WS_MEMSET(d, v, n)  memset((d), (v), (n))
#  endif
#endif

/* Small copies of a fixed size (a word, a key): the compiler's own, which it turns into a
   load and a store, even where WS_MEMCPY is a function (WS_FREESTANDING's loop, yours);
   what it does not inline it calls memcpy for, as with any copy of a struct. */
#if defined(__GNUC__) || defined(__clang__)
#  define WS__COPY(d, s, n)  __builtin_memcpy((d), (s), (n))
#else
#  define WS__COPY(d, s, n)  WS_MEMCPY((d), (s), (n))
#endif

/* a client's masking copy on the stack: 64 bytes on firmware, where the link is slow and
   the stack small */
#ifndef WS_MASK_CHUNK
#  ifdef WS_FREESTANDING
#    define WS_MASK_CHUNK 64
#  else
#    define WS_MASK_CHUNK 256
#  endif
#endif
#if WS_MASK_CHUNK < 32
#  error "WS_MASK_CHUNK must be at least 32 (a frame header and some payload)"
#endif

/* SSE2 (every x86-64 CPU has it) masks and checks UTF-8 16 bytes at a time. The portable
   code below it gives the same results (tests/unit/test_fastpath.c runs both); WS_NO_SIMD keeps
   to it. */
#if !defined(WS_NO_SIMD) && !defined(WS_FREESTANDING) && defined(__SSE2__) && \
    (defined(__GNUC__) || defined(__clang__))
#  include <emmintrin.h>
#  define WS__SSE2 1
/* SSSE3 byte shuffles check text that is not ASCII by table lookup, 1.6 to 2 times as fast
   (9.1 against 4.5-5.6 GB/s in bench/README.md).
   x86-64's baseline has no SSSE3, so unless the build targets it (-mssse3, -march=...)
   the SSSE3 function is compiled for it alone and chosen when the CPU has it (through
   libgcc's __cpu_model; WS_NO_SSSE3 leaves it out). */
#  ifndef WS_NO_SSSE3
#    include <tmmintrin.h>
#    define WS__SSSE3 1
#    ifdef __SSSE3__
#      define WS__SSSE3_FN
#      define WS__HAS_SSSE3() 1
#    else
#      define WS__SSSE3_FN __attribute__((target("ssse3")))
#      define WS__HAS_SSSE3() __builtin_cpu_supports("ssse3")
#    endif
#  endif
/* AVX2 does the same 32 bytes at a time, and unmasks and checks text in one pass, chosen at
   run time the same way (libgcc checks that the OS saves the YMM registers); WS_NO_AVX2
   leaves it out. */
#  if !defined(WS_NO_AVX2) && defined(WS__SSSE3)
#    include <immintrin.h>
#    define WS__AVX2 1
#    ifdef __AVX2__
#      define WS__AVX2_FN
#      define WS__HAS_AVX2() 1
#    else
#      define WS__AVX2_FN __attribute__((target("avx2")))
#      define WS__HAS_AVX2() __builtin_cpu_supports("avx2")
#    endif
#  endif
#endif

#ifdef WS_NO_ERROR_STRINGS
#  define WS__WHY(s) ""
#else
#  define WS__WHY(s) s
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define WS__MIN(a, b) ((a) < (b) ? (a) : (b))
/* the few steps every call takes (ws__enter, ws__leave, ws__tx_end): inlined, or each send
   pays three calls for a handful of instructions */
/* a frame with a large array, kept out of its caller's so that the two do not add up */
#if defined(__GNUC__) || defined(__clang__)
#  define WS__NOINLINE __attribute__((noinline))
#else
#  define WS__NOINLINE
#endif
#if (defined(__GNUC__) || defined(__clang__)) && !defined(__OPTIMIZE_SIZE__)
#  define WS__INLINE static inline __attribute__((always_inline))
#else
#  define WS__INLINE static inline      /* -Os: the compiler's choice, for size */
#endif
#define WS__UNSET UINT64_MAX            /* a time to be stamped at the next tick */
#define WS__DEFAULT_MAX_MESSAGE ((uint64_t)16 << 20)
#define WS__DEFAULT_MAX_HEAD 8192u
#define WS__DEFAULT_CLOSE_TIMEOUT 5000u
#define WS__DEFAULT_HANDSHAKE_TIMEOUT 10000u
#define WS__DEFAULT_MAX_FRAGMENTS 131072u

/* connection flags (ws_conn._flags) */
#define WS__F_TICKED    0x0001u         /* ws_conn_tick has run once */
#define WS__F_ACTIVITY  0x0002u         /* bytes arrived since the last tick */
#define WS__F_FIN       0x0004u         /* the frame being received has FIN */
#define WS__F_TX_FRAG   0x0008u         /* inside a fragmented message we send */
#define WS__F_PONG_DUE  0x0010u         /* a pong is owed (ws__flush sends it) */
#define WS__F_CLOSE_DUE 0x0020u         /* our close is owed (ws__flush sends it) */
#define WS__F_NO_UTF8   0x0040u         /* the message is an extension's: no UTF-8 check */
#define WS__F_OPENED    0x0080u         /* reached OPEN: on_close will be owed */
#define WS__F_REPORT    0x0100u         /* on_close is owed (ws__leave calls it) */
#define WS__F_TX_CLOSE  0x0200u         /* our close went out, or is owed */
#define WS__F_RX_CLOSE  0x0400u         /* the peer's close arrived: nothing more is read */
#define WS__F_TX        0x0800u         /* a frame writer is running: the send callback */
#define WS__F_RX        0x1000u         /* inside ws_conn_feed */
#define WS__F_HS_SENT   0x2000u         /* client: ws_conn_connect sent the request */
#define WS__F_Z_MSG     0x4000u         /* the message being received is compressed */
#define WS__F_Z_RESET   0x8000u         /* the decoder starts afresh for each message */
/* _clen holds the bytes of a frame header split across feeds with this bit set */
#define WS__CLEN_HEAD   0x80u
/* bytes in the message buffer: a frame's length is counted in _msg_size from its header on
   (uncompressed), the inflated bytes as they come out (compressed) */
#define ws__mlen(c) ((size_t)((c)->_msg_size - (((c)->_flags & WS__F_Z_MSG) ? 0u : (c)->_remaining)))
#define WS__SET(c, f) ((c)->_flags = (uint16_t)((c)->_flags | (f)))
#define WS__CLR(c, f) ((c)->_flags = (uint16_t)((c)->_flags & ~(unsigned)(f)))

#ifdef WS__OWN_MEM
static void *ws__memcpy(void *d, const void *s, size_t n) {
    uint8_t *o = (uint8_t *)d; const uint8_t *i = (const uint8_t *)s;
    while (n--) *o++ = *i++;
    return d;
}
static void *ws__memset(void *d, int v, size_t n) {
    uint8_t *o = (uint8_t *)d;
    while (n--) *o++ = (uint8_t)v;
    return d;
}
#endif

static size_t ws__strlen(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

static uint8_t ws__lower(uint8_t c) {
    return (uint8_t)(c >= 'A' && c <= 'Z' ? c + 32 : c);
}

/* s[0..n-1] equals the NUL-terminated z, ignoring ASCII case when icase. */
static bool ws__eq(const char *s, size_t n, const char *z, bool icase) {
    size_t i;
    for (i = 0; i < n; i++) {
        uint8_t a = (uint8_t)s[i], b = (uint8_t)z[i];
        if (!b) return false;
        if (icase ? ws__lower(a) != ws__lower(b) : a != b) return false;
    }
    return z[n] == 0;
}

/* The same for two slices. */
static bool ws__eq_str(ws_str a, ws_str b, bool icase) {
    size_t i;
    if (a.len != b.len) return false;
    for (i = 0; i < a.len; i++) {
        uint8_t x = (uint8_t)a.ptr[i], y = (uint8_t)b.ptr[i];
        if (icase ? ws__lower(x) != ws__lower(y) : x != y) return false;
    }
    return true;
}

static ws_str ws__str(const char *z) {
    ws_str s;
    s.ptr = z;
    s.len = ws__strlen(z);
    return s;
}

/* Writes v in decimal (digits counted first, then written from the last: no buffer). */
static size_t ws__utoa(unsigned long v, char *out) {
    unsigned long u = v;
    size_t n = 0, i;
    do { n++; u /= 10; } while (u);
    for (i = n; i--; v /= 10) out[i] = (char)('0' + v % 10);
    return n;
}

/* Copies the pieces into out[0..cap-1] (plus a NUL when it fits). */
static int ws__concat(char *out, size_t cap, size_t *len, const ws_buf *b, size_t n) {
    size_t i, total = 0;
    for (i = 0; i < n; i++) {
        if (b[i].len > cap - total) return WS_ERR_NOSPACE;
        total += b[i].len;
    }
    total = 0;
    for (i = 0; i < n; i++) {
        if (b[i].len) WS_MEMCPY(out + total, b[i].data, b[i].len);
        total += b[i].len;
    }
    if (total < cap) out[total] = 0;
    *len = total;
    return WS_OK;
}

static ws_buf ws__z(const char *s) {
    ws_buf b;
    b.data = s;
    b.len = ws__strlen(s);
    return b;
}

static ws_buf ws__b(const void *p, size_t n) {
    ws_buf b;
    b.data = p;
    b.len = n;
    return b;
}
#define WS__LIT(s) ws__b((s), sizeof(s) - 1)    /* a piece of a string literal's bytes */

/* ---- errors ------------------------------------------------------------ */

/* Every text (or name) one after the other, each ending in its NUL: no table of pointers.
   The codes run 0, -1, -2, ... in the list's order; the enum below fails to compile if one
   does not. */
static const char ws__err_texts[] =
#ifdef WS_NO_ERROR_STRINGS
/* the names without their WS_ERR_: "OK", "ARG", ... "HS_KEY", ... */
#  define WS__ERR_OK(name, value, text) "OK\0"
#  define WS__ERR_NAME(X, name, value, text) #name "\0"
    WS__ERRORS(WS__ERR_OK, WS__ERR_NAME);
#  undef WS__ERR_OK
#  undef WS__ERR_NAME
#else
#  define WS__ERR_TEXT(name, value, text) text "\0"
    WS_ERROR_LIST(WS__ERR_TEXT);
#  undef WS__ERR_TEXT
#endif
enum {
#define WS__ERR_AT(name, value, text) WS__AT_##name,
    WS_ERROR_LIST(WS__ERR_AT)
#undef WS__ERR_AT
    WS__ERR_COUNT
};
enum {
#define WS__ERR_ORDER(name, value, text) WS__ORDER_##name = 1 / ((value) == -WS__AT_##name),
    WS_ERROR_LIST(WS__ERR_ORDER)
#undef WS__ERR_ORDER
    WS__ORDER_LAST = 1 / (WS__ERR_LAST == 1 - WS__ERR_COUNT)
};

WS_API const char *ws_strerror(int err) {
    const char *s = ws__err_texts;
    if (err > 0 || err < WS__ERR_LAST) return "unknown error";
    for (; err < 0; err++) s += ws__strlen(s) + 1;
    return s;
}

/* Comparisons over the codes' ranges rather than switches, which the compiler turns into
   tables of a halfword per code (100 bytes on a Cortex-M4); the codes never change. */
WS_API int ws_http_status(int err) {
    if ((err <= WS_ERR_HS_MALFORMED && err >= WS_ERR_HS_KEY) ||     /* -9 .. -14 */
        err == WS_ERR_HS_REPEATED || err == WS_ERR_HS_NO_UPGRADE)
        return 400;
    if (err == WS_ERR_HS_ORIGIN) return 403;
    if (err == WS_ERR_HS_VERSION) return 426;
    return err == WS_ERR_HS_TOO_BIG || err == WS_ERR_HS_TOO_MANY ? 431 : 0;
}

WS_API int ws_close_code_for(int err) {
    if (err == WS_ERR_PROTOCOL) return WS_CLOSE_PROTOCOL_ERROR;
    if (err == WS_ERR_UTF8 || err == WS_ERR_INFLATE) return WS_CLOSE_INVALID_DATA;
    return err == WS_ERR_TOO_BIG ? WS_CLOSE_TOO_BIG : 0;
}

WS_API bool ws_close_code_valid(unsigned code) {
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

/* ---- utilities: UTF-8 ---------------------------------------------------- */

/* The validator is a tiny state machine. State 0 accepts; states 1-3 wait for that many
   continuation bytes (80..BF); states 4-7 wait for the second byte of a sequence whose
   range is narrower (E0, ED, F0, F4), then go on to state 1 or 2. */
static const uint8_t ws__utf8_lo[8]   = { 0, 0x80, 0x80, 0x80, 0xA0, 0x80, 0x90, 0x80 };
static const uint8_t ws__utf8_hi[8]   = { 0, 0xBF, 0xBF, 0xBF, 0xBF, 0x9F, 0xBF, 0x8F };
static const uint8_t ws__utf8_next[8] = { 0, 0, 1, 2, 1, 1, 2, 2 };

static unsigned ws__utf8_lead(uint8_t b) {      /* state after a lead byte; 8 = invalid */
    if (b < 0xC2) return 8;
    if (b < 0xE0) return 1;
    if (b < 0xF0) return b == 0xE0 ? 4 : b == 0xED ? 5 : 2;
    if (b < 0xF5) return b == 0xF0 ? 6 : b == 0xF4 ? 7 : 3;
    return 8;
}

/* The state machine, one byte at a time: the definition of valid, and what the fast paths
   in ws_utf8_validate are tested against. */
static size_t ws__utf8_bytes(uint32_t *state, const uint8_t *p, size_t len) {
    unsigned s = *state & 7u;
    size_t i;
    for (i = 0; i < len; i++) {
        uint8_t b = p[i];
        if (s == 0) {
            if (b < 0x80) continue;
            s = ws__utf8_lead(b);
            if (s == 8) { *state = 0; return i; }
        } else {
            if (b < ws__utf8_lo[s] || b > ws__utf8_hi[s]) { *state = s; return i; }
            s = ws__utf8_next[s];
        }
    }
    *state = s;
    return len;
}

/* WS_FREESTANDING at -Os checks UTF-8 with the state machine alone, a byte at a time:
   no word-at-a-time runs of ASCII (about 250 bytes of code on a Cortex-M4), and still far
   faster than any link such a core has; and it masks a 32-bit word at a time, in one loop
   (ws__mask_words). Every other build keeps the fast paths. */
#if defined(WS_FREESTANDING) && defined(__OPTIMIZE_SIZE__)
#  define WS__SMALL_UTF8 1
#  define WS__SMALL_MASK 1
#endif

#ifndef WS__SMALL_UTF8
#define WS__HIGH_BITS 0x8080808080808080ull

/* The index of the first byte from p[i] on that is not ASCII, or len. */
static size_t ws__ascii_end(const uint8_t *p, size_t i, size_t len) {
#ifdef WS__SSE2
    for (; len - i >= 64; i += 64) {
        const __m128i *v = (const __m128i *)(const void *)(p + i);
        __m128i a = _mm_or_si128(_mm_loadu_si128(v), _mm_loadu_si128(v + 1));
        __m128i b = _mm_or_si128(_mm_loadu_si128(v + 2), _mm_loadu_si128(v + 3));
        if (_mm_movemask_epi8(_mm_or_si128(a, b))) break;
    }
    for (; len - i >= 16; i += 16) {
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + i)));
        if (m) return i + (size_t)__builtin_ctz(m);
    }
#else
    for (; len - i >= 32; i += 32) {
        uint64_t w[4];
        WS_MEMCPY(w, p + i, 32);
        if ((w[0] | w[1] | w[2] | w[3]) & WS__HIGH_BITS) break;
    }
#endif
    for (; len - i >= 8; i += 8) {
        uint64_t w;
        WS_MEMCPY(&w, p + i, 8);
        if (w & WS__HIGH_BITS) break;
    }
    while (i < len && p[i] < 0x80) i++;
    return i;
}
#endif /* WS__SMALL_UTF8 */

#ifdef WS__SSE2
/* x >= v, byte by byte, unsigned */
#define WS__GE(x, v) _mm_cmpeq_epi8(_mm_max_epu8((x), _mm_set1_epi8((char)(v))), (x))
#define WS__EQ(x, v) _mm_cmpeq_epi8((x), _mm_set1_epi8((char)(v)))

/* The lead bytes among the last three of block x whose sequence runs past it, as a bit mask
   of their positions (0 when every sequence in x is complete). */
static unsigned ws__utf8_tail(__m128i x) {
    return ((unsigned)_mm_movemask_epi8(WS__GE(x, 0xC0)) & 0x8000u) |
           ((unsigned)_mm_movemask_epi8(WS__GE(x, 0xE0)) & 0xC000u) |
           ((unsigned)_mm_movemask_epi8(WS__GE(x, 0xF0)) & 0xE000u);
}

/* Checks 16 bytes at a time from p[i], a sequence boundary: every byte that follows a lead
   byte at the right distance is a continuation byte and no other byte is; no C0, C1,
   F5..FF; the narrower second-byte ranges after E0, ED, F0 and F4. The bytes before each
   position come from this block and the last, so a sequence may span blocks and every step
   is 16 bytes whatever the text. Returns how far it got, at a sequence boundary: the
   block with a fault, and the last bytes, are left to the byte-at-a-time path, which
   finds the exact byte. */
static size_t ws__utf8_blocks(const uint8_t *p, size_t i, size_t len) {
    const __m128i c0 = _mm_set1_epi8((char)0xC0), fe = _mm_set1_epi8((char)0xFE);
    __m128i prev = _mm_setzero_si128();
    bool checked = false;                   /* prev holds a block checked here */
    unsigned tail;
    while (len - i >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        __m128i p1, p2, p3, want, bad, narrow;
        if (!_mm_movemask_epi8(x) && (!checked || !ws__utf8_tail(prev))) {  /* ASCII, no */
            i = ws__ascii_end(p, i + 16, len);                        /* sequence open */
            prev = _mm_setzero_si128();
            checked = false;
            continue;
        }
        p1 = _mm_or_si128(_mm_slli_si128(x, 1), _mm_srli_si128(prev, 15));   /* the byte */
        p2 = _mm_or_si128(_mm_slli_si128(x, 2), _mm_srli_si128(prev, 14));   /* 1, 2, 3 */
        p3 = _mm_or_si128(_mm_slli_si128(x, 3), _mm_srli_si128(prev, 13));   /* before */
        want = _mm_or_si128(_mm_or_si128(WS__GE(p1, 0xC0), WS__GE(p2, 0xE0)), WS__GE(p3, 0xF0));
        /* continuation bytes (80..BF: below C0 as signed bytes) exactly where wanted */
        bad = _mm_xor_si128(_mm_cmplt_epi8(x, c0), want);
        bad = _mm_or_si128(bad, _mm_or_si128(_mm_cmpeq_epi8(_mm_and_si128(x, fe), c0),
                                             WS__GE(x, 0xF5)));
        narrow = _mm_or_si128(_mm_or_si128(WS__EQ(p1, 0xE0), WS__EQ(p1, 0xED)),
                              _mm_or_si128(WS__EQ(p1, 0xF0), WS__EQ(p1, 0xF4)));
        if (_mm_movemask_epi8(narrow)) {        /* second bytes: A0.., ..9F, 90.., ..8F */
            __m128i a0 = WS__GE(x, 0xA0), n90 = WS__GE(x, 0x90);
            bad = _mm_or_si128(bad, _mm_andnot_si128(a0, WS__EQ(p1, 0xE0)));
            bad = _mm_or_si128(bad, _mm_and_si128(a0, WS__EQ(p1, 0xED)));
            bad = _mm_or_si128(bad, _mm_andnot_si128(n90, WS__EQ(p1, 0xF0)));
            bad = _mm_or_si128(bad, _mm_and_si128(n90, WS__EQ(p1, 0xF4)));
        }
        if (_mm_movemask_epi8(bad)) break;
        prev = x;
        checked = true;
        i += 16;
    }
    /* back to the start of a sequence the last good block left open */
    tail = checked ? ws__utf8_tail(prev) : 0;
    return tail ? i - 16 + (unsigned)__builtin_ctz(tail) : i;
}

#ifdef WS__SSSE3
/* ws__utf8_blocks with SSSE3 (and AVX2 below), the same contract. Each byte is checked with
   the byte before it by three 16-entry tables (the high and low nibble of the byte before,
   the high nibble of this one), whose entries are bit sets of the faults the pair may show:
   a lead with no continuation, a continuation with no lead, C0/C1 and the overlong E0 and
   F0 forms, surrogates (ED A0..), above U+10FFFF (F4 90.., F5..). A third or fourth byte
   of a sequence is the one case a pair cannot tell from a stray continuation: it is wanted
   where the byte 2 before is E0.. or 3 before is F0.., and the tables mark it 0x80 too.
   The method is Keiser and Lemire's ("Validating UTF-8 in less than one instruction per
   byte", 2021).
   fault bits: 01 lead with no continuation, 02 continuation with no lead, 04 overlong E0,
   08 above U+10FFFF, 10 surrogate, 20 overlong C0/C1, 40 overlong F0 or F4 90.., 80 two
   continuations (fine when a third or fourth byte is wanted) */
static const uint8_t ws__utf8_lut[48] = {
    /* by the high nibble of the byte before */
    0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x80, 0x80, 0x80, 0x80, 0x21, 0x01, 0x15, 0x49,
    /* by its low nibble */
    0xE7, 0xA3, 0x83, 0x83, 0x8B, 0xCB, 0xCB, 0xCB, 0xCB, 0xCB, 0xCB, 0xCB, 0xCB, 0xDB, 0xCB, 0xCB,
    /* by the high nibble of this byte */
    0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0xE6, 0xAE, 0xBA, 0xBA, 0x01, 0x01, 0x01, 0x01
};

/* The faults of block x after block prev: zero when every byte of x is right. */
WS__SSSE3_FN static inline __attribute__((always_inline))
__m128i ws__utf8_faults16(__m128i x, __m128i prev, const __m128i t[3]) {
    const __m128i nib = _mm_set1_epi8(0x0F);
    __m128i p1 = _mm_alignr_epi8(x, prev, 15), p2 = _mm_alignr_epi8(x, prev, 14);
    __m128i p3 = _mm_alignr_epi8(x, prev, 13), faults, must;
    faults = _mm_and_si128(
        _mm_and_si128(_mm_shuffle_epi8(t[0], _mm_and_si128(_mm_srli_epi16(p1, 4), nib)),
                      _mm_shuffle_epi8(t[1], _mm_and_si128(p1, nib))),
        _mm_shuffle_epi8(t[2], _mm_and_si128(_mm_srli_epi16(x, 4), nib)));
    /* 0x80 where the byte 2 before is E0.. or 3 before is F0.. (saturating: >= 0x80) */
    must = _mm_or_si128(_mm_subs_epu8(p2, _mm_set1_epi8((char)(0xE0 - 0x80))),
                        _mm_subs_epu8(p3, _mm_set1_epi8((char)(0xF0 - 0x80))));
    return _mm_xor_si128(faults, _mm_and_si128(must, _mm_set1_epi8((char)0x80)));
}

#define WS__LUT16(t) \
    (t)[0] = _mm_loadu_si128((const __m128i *)(const void *)ws__utf8_lut); \
    (t)[1] = _mm_loadu_si128((const __m128i *)(const void *)(ws__utf8_lut + 16)); \
    (t)[2] = _mm_loadu_si128((const __m128i *)(const void *)(ws__utf8_lut + 32))

WS__SSSE3_FN static size_t ws__utf8_blocks_ssse3(const uint8_t *p, size_t i, size_t len) {
    const __m128i zero = _mm_setzero_si128();
    __m128i t[3], prev = zero;
    bool checked = false;
    unsigned tail;
    WS__LUT16(t);
    while (len - i >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        if (!_mm_movemask_epi8(x) && (!checked || !ws__utf8_tail(prev))) {
            i = ws__ascii_end(p, i + 16, len);
            prev = zero;
            checked = false;
            continue;
        }
        if (_mm_movemask_epi8(_mm_cmpeq_epi8(ws__utf8_faults16(x, prev, t), zero)) != 0xFFFF)
            break;
        prev = x;
        checked = true;
        i += 16;
    }
    tail = checked ? ws__utf8_tail(prev) : 0;
    return tail ? i - 16 + (unsigned)__builtin_ctz(tail) : i;
}

/* Unmasks p[0..len-1] with the key word k and checks it as UTF-8 in the same pass, 64
   bytes a step while the bytes are in registers, from a sequence boundary. Sets *done to
   the bytes unmasked (a multiple of 64: the caller unmasks the rest) and returns how far
   the text is vouched for, at a sequence boundary (the sequence the last step left open,
   and a step with a fault, which is unmasked and ends the pass, are left to the caller's
   byte-at-a-time check). */
WS__SSSE3_FN static size_t ws__unmask_utf8_ssse3(uint8_t *p, size_t len, uint32_t k,
                                                  size_t *done) {
    const __m128i kv = _mm_set1_epi32((int)k);
    __m128i t[3], prev = _mm_setzero_si128();
    bool open = false;                      /* prev may end inside a sequence */
    size_t i = 0, end;
    unsigned tail;
    WS__LUT16(t);
    for (; len - i >= 64; i += 64) {
        __m128i *v = (__m128i *)(void *)(p + i);
        __m128i a = _mm_xor_si128(_mm_loadu_si128(v), kv);
        __m128i b = _mm_xor_si128(_mm_loadu_si128(v + 1), kv);
        __m128i c = _mm_xor_si128(_mm_loadu_si128(v + 2), kv);
        __m128i d = _mm_xor_si128(_mm_loadu_si128(v + 3), kv), f;
        _mm_storeu_si128(v, a);
        _mm_storeu_si128(v + 1, b);
        _mm_storeu_si128(v + 2, c);
        _mm_storeu_si128(v + 3, d);
        if (!_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(c, d))) &&
            (!open || !ws__utf8_tail(prev))) {
            prev = d;                       /* ASCII, and no sequence left open */
            open = false;
            continue;
        }
        f = _mm_or_si128(_mm_or_si128(ws__utf8_faults16(a, prev, t), ws__utf8_faults16(b, a, t)),
                         _mm_or_si128(ws__utf8_faults16(c, b, t), ws__utf8_faults16(d, c, t)));
        if (_mm_movemask_epi8(_mm_cmpeq_epi8(f, _mm_setzero_si128())) != 0xFFFF) {
            *done = i + 64;
            end = i;
            goto out;
        }
        prev = d;
        open = true;
    }
    *done = end = i;
out:
    tail = open ? ws__utf8_tail(prev) : 0;
    return tail ? end - 16 + (unsigned)__builtin_ctz(tail) : end;
}
#undef WS__LUT16

#ifdef WS__AVX2
/* The same with AVX2, 32 bytes a block: the tables twice, one in each 128-bit lane. */
WS__AVX2_FN static inline __attribute__((always_inline))
__m256i ws__utf8_faults32(__m256i x, __m256i prev, const __m256i t[3]) {
    const __m256i nib = _mm256_set1_epi8(0x0F);
    __m256i s = _mm256_permute2x128_si256(prev, x, 0x21);     /* prev's high, x's low half */
    __m256i p1 = _mm256_alignr_epi8(x, s, 15), p2 = _mm256_alignr_epi8(x, s, 14);
    __m256i p3 = _mm256_alignr_epi8(x, s, 13), faults, must;
    faults = _mm256_and_si256(
        _mm256_and_si256(_mm256_shuffle_epi8(t[0], _mm256_and_si256(_mm256_srli_epi16(p1, 4), nib)),
                         _mm256_shuffle_epi8(t[1], _mm256_and_si256(p1, nib))),
        _mm256_shuffle_epi8(t[2], _mm256_and_si256(_mm256_srli_epi16(x, 4), nib)));
    must = _mm256_or_si256(_mm256_subs_epu8(p2, _mm256_set1_epi8((char)(0xE0 - 0x80))),
                           _mm256_subs_epu8(p3, _mm256_set1_epi8((char)(0xF0 - 0x80))));
    return _mm256_xor_si256(faults, _mm256_and_si256(must, _mm256_set1_epi8((char)0x80)));
}

#define WS__LUT32(t) \
    (t)[0] = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)ws__utf8_lut)); \
    (t)[1] = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)(ws__utf8_lut + 16))); \
    (t)[2] = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)(ws__utf8_lut + 32)))
#define WS__HI128(x) _mm256_extracti128_si256((x), 1)

/* ws__utf8_blocks with AVX2, 32 bytes a step (called with 64 or more left). One block a
   step keeps every constant in a register and nothing on the stack: two a step spilled
   four of them, 160 bytes of frame, and this runs under ws_conn_feed's 512. */
WS__AVX2_FN static size_t ws__utf8_blocks_avx2(const uint8_t *p, size_t i, size_t len) {
    __m256i t[3], prev = _mm256_setzero_si256();
    bool open = false;
    unsigned tail;
    WS__LUT32(t);
    while (len - i >= 32) {
        __m256i x = _mm256_loadu_si256((const __m256i *)(const void *)(p + i)), f;
        if (!_mm256_movemask_epi8(x) && (!open || !ws__utf8_tail(WS__HI128(prev)))) {
            i = ws__ascii_end(p, i + 32, len);
            prev = _mm256_setzero_si256();
            open = false;
            continue;
        }
        f = ws__utf8_faults32(x, prev, t);
        if (!_mm256_testz_si256(f, f)) break;
        prev = x;
        open = true;
        i += 32;
    }
    tail = open ? ws__utf8_tail(WS__HI128(prev)) : 0;
    return tail ? i - 16 + (unsigned)__builtin_ctz(tail) : i;
}

/* ws__unmask_utf8_ssse3 with AVX2. */
WS__AVX2_FN static size_t ws__unmask_utf8_avx2(uint8_t *p, size_t len, uint32_t k,
                                                size_t *done) {
    const __m256i kv = _mm256_set1_epi32((int)k);
    __m256i t[3], prev = _mm256_setzero_si256();
    bool open = false;
    size_t i = 0, end;
    unsigned tail;
    WS__LUT32(t);
    for (; len - i >= 64; i += 64) {
        __m256i *v = (__m256i *)(void *)(p + i);
        __m256i a = _mm256_xor_si256(_mm256_loadu_si256(v), kv);
        __m256i b = _mm256_xor_si256(_mm256_loadu_si256(v + 1), kv), f;
        _mm256_storeu_si256(v, a);
        _mm256_storeu_si256(v + 1, b);
        if (!_mm256_movemask_epi8(_mm256_or_si256(a, b)) && (!open || !ws__utf8_tail(WS__HI128(prev)))) {
            prev = b;
            open = false;
            continue;
        }
        f = _mm256_or_si256(ws__utf8_faults32(a, prev, t), ws__utf8_faults32(b, a, t));
        if (!_mm256_testz_si256(f, f)) {
            *done = i + 64;
            end = i;
            goto out;
        }
        prev = b;
        open = true;
    }
    *done = end = i;
out:
    tail = open ? ws__utf8_tail(WS__HI128(prev)) : 0;
    return tail ? end - 16 + (unsigned)__builtin_ctz(tail) : end;
}
#undef WS__LUT32
#undef WS__HI128
#endif /* WS__AVX2 */
#endif /* WS__SSSE3 */

/* The widest fast path this CPU has: 1 SSE2, 2 SSSE3, 3 AVX2. Tests and benchmarks may
   define WS__SIMD() to take a narrower one. */
static unsigned ws__simd_level(void) {
#ifdef WS__AVX2
    if (WS__HAS_AVX2()) return 3;
#endif
#ifdef WS__SSSE3
    if (WS__HAS_SSSE3()) return 2;
#endif
    return 1;
}
#ifndef WS__SIMD
#  define WS__SIMD() ws__simd_level()
#endif
#undef WS__GE
#undef WS__EQ
#endif

#ifndef WS__SMALL_UTF8
/* From p[i], a sequence boundary: skips what the fast paths can vouch for (runs of ASCII a
   block at a time, other text 16 bytes at a time with SSE2 or a whole sequence at a time)
   and returns where they stopped, at a sequence boundary: len, or a byte for the state
   machine (a sequence cut off by the end of the data, or a fault). */
static size_t ws__utf8_fast(const uint8_t *p, size_t i, size_t len) {
    while (i < len) {
        uint8_t b = p[i];
        unsigned s;
        size_t n;
#ifdef WS__SSE2
        if (len - i >= 16) {
            unsigned level = WS__SIMD();
            size_t j;
#  ifdef WS__AVX2
            if (level >= 3 && len - i >= 64) j = ws__utf8_blocks_avx2(p, i, len);
            else
#  endif
#  ifdef WS__SSSE3
            if (level >= 2) j = ws__utf8_blocks_ssse3(p, i, len);
            else
#  endif
            j = ws__utf8_blocks(p, i, len);
            (void)level;
            if (j > i) { i = j; continue; }
        }
#endif
        if (b < 0x80) { i = ws__ascii_end(p, i + 1, len); continue; }
        s = ws__utf8_lead(b);
        n = b < 0xE0 ? 2u : b < 0xF0 ? 3u : 4u;
        if (s == 8 || len - i < n || p[i + 1] < ws__utf8_lo[s] || p[i + 1] > ws__utf8_hi[s] ||
            (n > 2 && (p[i + 2] & 0xC0) != 0x80) || (n > 3 && (p[i + 3] & 0xC0) != 0x80))
            return i;
        i += n;
    }
    return i;
}

#endif /* WS__SMALL_UTF8 */

WS_API size_t ws_utf8_validate(uint32_t *state, const void *data, size_t len) {
#ifdef WS__SMALL_UTF8
    return ws__utf8_bytes(state, (const uint8_t *)data, len);
#else
    const uint8_t *p = (const uint8_t *)data;
    uint32_t st = *state & 7u;
    size_t i = 0;
    while (i < len) {
        size_t k, ok;
        if (st == 0) {
            i = ws__utf8_fast(p, i, len);
            if (i == len) break;
        }
        k = len - i;                        /* the state machine, up to a sequence's length */
        if (k > 4) k = 4;
        ok = ws__utf8_bytes(&st, p + i, k);
        if (ok != k) { *state = st; return i + ok; }
        i += k;
    }
    *state = st;
    return len;
#endif
}

WS_API bool ws_utf8_valid(const void *data, size_t len) {
    uint32_t st = 0;
    return ws_utf8_validate(&st, data, len) == len && st == 0;
}

/* ---- utilities: SHA-1, base64 ------------------------------------------------ */

static uint32_t ws__rol(uint32_t x, unsigned n) {
    return (x << n) | (x >> (32 - n));
}

/* One block into h: w holds its 16 words, and is the message schedule, rolled. Out of
   line: the block loop below keeps its own values in registers. */
WS__NOINLINE static void ws__sha1_block(uint32_t h[5], uint32_t w[16]) {
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f, k, t;
    unsigned i;
    for (i = 0; i < 80; i++) {
        if (i >= 16) {
            t = w[(i + 13) & 15] ^ w[(i + 8) & 15] ^ w[(i + 2) & 15] ^ w[i & 15];
            w[i & 15] = ws__rol(t, 1);
        }
        if (i < 20)      { f = (b & c) | (~b & d);          k = 0x5A827999u; }
        else if (i < 40) { f = b ^ c ^ d;                   k = 0x6ED9EBA1u; }
        else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8F1BBCDCu; }
        else             { f = b ^ c ^ d;                   k = 0xCA62C1D6u; }
        t = ws__rol(a, 5) + f + e + k + w[i & 15];
        e = d; d = c; c = ws__rol(b, 30); b = a; a = t;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e;
}

/* SHA-1 of a[0..na-1] followed by b[0..nb-1] (a client's key and the GUID, for the accept
   key), into out. No buffer: each block's 16 words are read straight into the message
   schedule, from the data or the 0x80 and zeros after it, and the last block's two last
   words are the length in bits. (Both pieces are in memory: n + 127 does not wrap.) */
static void ws__sha1(const uint8_t *a, size_t na, const uint8_t *b, size_t nb, uint8_t out[20]) {
    uint32_t h[5], w[16];
    size_t n = na + nb, last = n / 64 + (n % 64 < 56 ? 0u : 1u), blk, q;
    unsigned i;
    h[0] = 0x67452301u; h[1] = 0xEFCDAB89u; h[2] = 0x98BADCFEu;
    h[3] = 0x10325476u; h[4] = 0xC3D2E1F0u;
    for (blk = 0; blk <= last; blk++) {
        for (i = 0; i < 16; i++) {
            uint32_t x = 0;
            unsigned j;
            for (j = 0; j < 4; j++) {
                q = blk * 64 + (size_t)4 * i + j;
                x = x << 8 | (q < na ? a[q] : q < n ? b[q - na] : q == n ? 0x80u : 0u);
            }
            w[i] = x;
        }
        if (blk == last) {
            w[14] = (uint32_t)((uint64_t)n >> 29);
            w[15] = (uint32_t)n << 3;
        }
        ws__sha1_block(h, w);
    }
    for (i = 0; i < 20; i++) out[i] = (uint8_t)(h[i / 4] >> (24 - 8 * (i % 4)));
}

WS_API void ws_sha1(const void *data, size_t len, uint8_t out[20]) {
    ws__sha1((const uint8_t *)data, len, (const uint8_t *)data, 0, out);  /* b: never read */
}

static char ws__b64_char(unsigned v) {
    return (char)(v < 26 ? 'A' + v : v < 52 ? 'a' + (v - 26) : v < 62 ? '0' + (v - 52)
                  : v == 62 ? '+' : '/');
}

static int ws__b64_value(uint8_t c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

WS_API size_t ws_base64_encode(const void *data, size_t len, char *out) {
    const uint8_t *p = (const uint8_t *)data;
    size_t i, o = 0;
    for (i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < len) v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < len) v |= p[i + 2];
        out[o++] = ws__b64_char(v >> 18);
        out[o++] = ws__b64_char((v >> 12) & 63);
        out[o++] = (char)(i + 1 < len ? ws__b64_char((v >> 6) & 63) : '=');
        out[o++] = (char)(i + 2 < len ? ws__b64_char(v & 63) : '=');
    }
    out[o] = 0;
    return o;
}

/* One pass over the characters, a group's bytes written at its fourth; '=' only in the
   pad positions (the last one or two). */
WS_API size_t ws_base64_decode(const char *in, size_t len, uint8_t *out, size_t cap) {
    size_t i, o = 0, pad = 0, n;
    uint32_t v = 0;
    if (len % 4) return (size_t)-1;
    if (len && in[len - 1] == '=') pad++;
    if (len > 1 && in[len - 2] == '=') pad++;
    if ((n = (len / 4) * 3 - pad) > cap) return (size_t)-1;
    for (i = 0; i < len; i++) {
        int d = ws__b64_value((uint8_t)in[i]);
        if (d < 0) {
            if (in[i] != '=' || i < len - pad) return (size_t)-1;
            d = 0;
        }
        v = v << 6 | (uint32_t)d;
        if ((i & 3) == 3) {
            unsigned j;
            for (j = 0; j < 3 && o < n; j++) out[o++] = (uint8_t)(v >> (16 - 8 * j));
        }
    }
    return o;
}

/* ---- frames ---------------------------------------------------------------- */

/* The 4-byte key as it applies from payload position pos on, as the word whose bytes in
   memory are key[pos % 4], key[(pos + 1) % 4], ...: the key rotated, without storing bytes
   and reading them back as a word (a stall on most CPUs). */
static uint32_t ws__key_word(const uint8_t key[4], size_t pos) {
    const uint32_t one = 1;
    uint32_t k;
    uint8_t little;
    unsigned r = (unsigned)(pos & 3) * 8;
    WS__COPY(&k, key, 4);
    WS__COPY(&little, &one, 1);             /* the compiler knows the byte order */
    if (!r) return k;
    return little ? (k >> r | k << (32 - r)) : (k << r | k >> (32 - r));
}

/* XORs p[0..len-1] with the key word k (from ws__key_word): the portable path, a machine
   word at a time, four words a round (WS__SMALL_MASK: 32 bits at a time, one loop). */
static void ws__mask_words(uint8_t *p, size_t len, uint32_t k) {
    uint8_t kb[4];
    size_t i = 0;
#ifdef WS__SMALL_MASK
    for (; len - i >= 4; i += 4) {
        uint32_t w;
        WS__COPY(&w, p + i, 4);
        w ^= k;
        WS__COPY(p + i, &w, 4);
    }
#else
    uint64_t kw = (uint64_t)k * 0x100000001ull;  /* the key twice, whatever the byte order */
    for (; len - i >= 32; i += 32) {
        uint64_t w[4];
        WS__COPY(w, p + i, 32);
        w[0] ^= kw; w[1] ^= kw; w[2] ^= kw; w[3] ^= kw;
        WS__COPY(p + i, w, 32);
    }
    for (; len - i >= 8; i += 8) {
        uint64_t w;
        WS__COPY(&w, p + i, 8);
        w ^= kw;
        WS__COPY(p + i, &w, 8);
    }
#endif
    WS__COPY(kb, &k, 4);
    for (; i < len; i++) p[i] ^= kb[i & 3];
}

/* XORs p[0..len-1] with the key word k: SSE2 when there is, then the portable path. */
static void ws__mask_k(uint8_t *p, size_t len, uint32_t k) {
    size_t i = 0;
#ifdef WS__SSE2
    if (len >= 16) {
        __m128i kv = _mm_set1_epi32((int)k);
        for (; len - i >= 64; i += 64) {
            __m128i *v = (__m128i *)(void *)(p + i);
            __m128i a = _mm_loadu_si128(v), b = _mm_loadu_si128(v + 1);
            __m128i c = _mm_loadu_si128(v + 2), d = _mm_loadu_si128(v + 3);
            _mm_storeu_si128(v, _mm_xor_si128(a, kv));
            _mm_storeu_si128(v + 1, _mm_xor_si128(b, kv));
            _mm_storeu_si128(v + 2, _mm_xor_si128(c, kv));
            _mm_storeu_si128(v + 3, _mm_xor_si128(d, kv));
        }
        /* 16 bytes a store here too: the UTF-8 check reads them back 16 at a time, and a
           load can take its bytes from one store in flight, not from two */
        for (; len - i >= 16; i += 16) {
            __m128i *v = (__m128i *)(void *)(p + i);
            _mm_storeu_si128(v, _mm_xor_si128(_mm_loadu_si128(v), kv));
        }
    }
#endif
    ws__mask_words(p + i, len - i, k);      /* i is a multiple of 4: the same key word */
}

WS_API void ws_mask(void *data, size_t len, const uint8_t key[4], size_t pos) {
    ws__mask_k((uint8_t *)data, len, ws__key_word(key, pos));
}

#ifdef WS__SMALL_MASK
/* Unmasks text p[0..n-1] with the key word k and checks it as UTF-8 from *state, 1 KiB
   at a time, unmasked and then checked. Returns the bytes that are valid: n, or the index
   of the first bad byte, where it stops (the bytes after its 1 KiB are left masked). */
static size_t ws__unmask_text(uint8_t *p, size_t n, uint32_t k, uint32_t *state) {
    size_t j = 0;
    while (j < n) {
        size_t m = WS__MIN(n - j, 1024u), ok;
        ws__mask_words(p + j, m, k);        /* (1024: k still applies after it) */
        ok = ws_utf8_validate(state, p + j, m);
        if (ok < m) return j + ok;
        j += m;
    }
    return n;
}
#else
/* Unmasks the start of p with the key word k, checking for ASCII in the same pass while
   the bytes are in registers. Returns how many bytes from p on are unmasked and ASCII, and
   sets *done to how many are unmasked (both multiples of 8; the caller unmasks the rest).
   With SSE2, 64 bytes a step until a step finds a byte >= 0x80 (that block is left as it
   was). Then the words of a text under 64 bytes are all unmasked, and count as ASCII only
   if all of them are: one branch, which a run of like messages predicts. */
static size_t ws__mask_ascii(uint8_t *p, size_t len, uint32_t k, size_t *done) {
    uint64_t kw = (uint64_t)k * 0x100000001ull, any = 0;
    size_t i = 0, j;
#ifdef WS__SSE2
    __m128i kv = _mm_set1_epi32((int)k);
    for (; len - i >= 64; i += 64) {
        __m128i *v = (__m128i *)(void *)(p + i);
        __m128i a = _mm_xor_si128(_mm_loadu_si128(v), kv);
        __m128i b = _mm_xor_si128(_mm_loadu_si128(v + 1), kv);
        __m128i c = _mm_xor_si128(_mm_loadu_si128(v + 2), kv);
        __m128i d = _mm_xor_si128(_mm_loadu_si128(v + 3), kv);
        if (_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(c, d)))) break;
        _mm_storeu_si128(v, a);
        _mm_storeu_si128(v + 1, b);
        _mm_storeu_si128(v + 2, c);
        _mm_storeu_si128(v + 3, d);
    }
#endif
    *done = i;
    if (len - i >= 64) return i;        /* not ASCII, or the portable path on a long text */
    for (j = i; len - j >= 8; j += 8) {
        uint64_t w;
        WS__COPY(&w, p + j, 8);
        w ^= kw;
        any |= w;
        WS__COPY(p + j, &w, 8);
    }
    *done = j;
    return (any & 0x8080808080808080ull) ? i : j;
}

/* Unmasks text p[0..n-1] with the key word k and checks it as UTF-8 from *state
   (ws_utf8_validate's contract): in one pass while the bytes are in registers where a fast
   path can (AVX2 or SSSE3 for any text, ws__mask_ascii for ASCII), the rest unmasked, then
   checked. Returns the bytes that are valid: n, or the index of the first bad byte, where
   it stops at once (the bytes after it may be left masked). */
static size_t ws__unmask_text(uint8_t *p, size_t n, uint32_t k, uint32_t *state) {
    size_t i = 0, j, done = 0;
#ifdef WS__SSSE3
    if (*state) {                           /* the sequence an earlier piece left open */
        uint8_t kb[4];
        WS__COPY(kb, &k, 4);
        for (; *state && i < n; i++) {
            p[i] ^= kb[i & 3];
            if (ws__utf8_bytes(state, p + i, 1) != 1) return i;
        }
        k = ws__key_word(kb, i);
    }
    if (n - i >= 64 && WS__SIMD() >= 2) {
#  ifdef WS__AVX2
        if (WS__SIMD() >= 3) j = ws__unmask_utf8_avx2(p + i, n - i, k, &done);
        else
#  endif
        j = ws__unmask_utf8_ssse3(p + i, n - i, k, &done);
    } else
#endif
    j = *state ? 0 : ws__mask_ascii(p + i, n - i, k, &done);   /* (ASCII keeps state 0) */
    j += i;
    done += i;                              /* done - i is a multiple of 4: k still applies */
    /* what is left: checked from where the pass stopped (at a sequence it left open or a
       fault), then unmasked and checked 1 KiB at a time, which stops at a fault soon and
       reads back bytes still in the cache */
    while (j < n) {
        size_t ok;
        if (j == done) {
            size_t m = WS__MIN(n - done, 1024u);
            ws__mask_k(p + done, m, k);
            done += m;
        }
        ok = ws_utf8_validate(state, p + j, done - j);
        if (ok < done - j) return j + ok;
        j = done;
    }
    return n;
}
#endif /* WS__SMALL_MASK */

/* Copies src[0..n-1] to dst (not overlapping) XORed with the key word k: masking and
   copying in one pass, for a client's frames. The portable path, then the SSE2 one;
   WS__SMALL_MASK: a copy, then ws__mask_words (one masking loop in the build, not two). */
#ifndef WS__SMALL_MASK
static void ws__mask_copy_words(uint8_t *dst, const uint8_t *src, size_t n, uint32_t k) {
    uint8_t kb[4];
    size_t i = 0;
    uint64_t kw = (uint64_t)k * 0x100000001ull;
    for (; n - i >= 8; i += 8) {
        uint64_t w;
        WS__COPY(&w, src + i, 8);
        w ^= kw;
        WS__COPY(dst + i, &w, 8);
    }
    WS__COPY(kb, &k, 4);
    for (; i < n; i++) dst[i] = (uint8_t)(src[i] ^ kb[i & 3]);
}
#endif

static void ws__mask_copy(uint8_t *dst, const uint8_t *src, size_t n, uint32_t k) {
#ifdef WS__SMALL_MASK
    WS_MEMCPY(dst, src, n);
    ws__mask_words(dst, n, k);
#else
    size_t i = 0;
#  ifdef WS__SSE2
    if (n >= 64) {
        __m128i kv = _mm_set1_epi32((int)k);
        for (; n - i >= 64; i += 64) {
            const __m128i *s = (const __m128i *)(const void *)(src + i);
            __m128i *d = (__m128i *)(void *)(dst + i);
            __m128i a = _mm_loadu_si128(s), b = _mm_loadu_si128(s + 1);
            __m128i c = _mm_loadu_si128(s + 2), e = _mm_loadu_si128(s + 3);
            _mm_storeu_si128(d, _mm_xor_si128(a, kv));
            _mm_storeu_si128(d + 1, _mm_xor_si128(b, kv));
            _mm_storeu_si128(d + 2, _mm_xor_si128(c, kv));
            _mm_storeu_si128(d + 3, _mm_xor_si128(e, kv));
        }
    }
#  endif
    ws__mask_copy_words(dst + i, src + i, n - i, k);
#endif
}

WS_API size_t ws_frame_header(uint8_t out[14], bool fin, ws_opcode op, uint64_t len,
                              const uint8_t *mask) {
    size_t n = 2;
    uint8_t m = mask ? 0x80 : 0;
    out[0] = (uint8_t)((fin ? 0x80 : 0) | ((unsigned)op & 0x7F));      /* RSV bits too */
    if (len < 126) {
        out[1] = (uint8_t)(m | len);
    } else if (len <= 0xFFFF) {
        out[1] = (uint8_t)(m | 126);
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        n = 4;
    } else {
        unsigned i;
        out[1] = (uint8_t)(m | 127);
        for (i = 0; i < 8; i++) out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
        n = 10;
    }
    if (mask) {
        WS__COPY(out + n, mask, 4);
        n += 4;
    }
    return n;
}

WS_API int ws_frame_encode(void *out, size_t cap, size_t *len, bool fin, ws_opcode op,
                           const void *payload, size_t size, const uint8_t *mask) {
    uint8_t hdr[14];
    size_t n;
    unsigned base = (unsigned)op & 0x0Fu;
    if (!out || !len || (size && !payload) || ((unsigned)op & ~0x7Fu) ||
        (base > WS_OP_BINARY && base < WS_OP_CLOSE) || base > WS_OP_PONG ||
        (base >= WS_OP_CLOSE && (!fin || size > 125)))
        return WS_ERR_ARG;
    n = ws_frame_header(hdr, fin, op, size, mask);
    if (cap < n || size > cap - n) return WS_ERR_NOSPACE;
    WS_MEMCPY(out, hdr, n);
    if (size) {
        WS_MEMCPY((uint8_t *)out + n, payload, size);
        if (mask) ws_mask((uint8_t *)out + n, size, mask, 0);
    }
    *len = n + size;
    return WS_OK;
}

/* ---- handshake ----------------------------------------------------------- */

static const char ws__guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/* The digest goes into out[9..28] and is encoded in place: group g of the encoding reads
   out[9 + 3g..] before it writes out[4g..4g + 3], below what the groups after it read. */
WS_API void ws_accept_key(const char *key, size_t key_len, char out[29]) {
    uint8_t *d = (uint8_t *)out + 9;
    ws__sha1((const uint8_t *)key, key_len, (const uint8_t *)ws__guid, sizeof ws__guid - 1, d);
    ws_base64_encode(d, 20, out);
}

WS_API void ws_http_init(ws_http *h, size_t max_size) {
    WS_MEMSET(h, 0, sizeof *h);
    h->_max = max_size;
}

/* RFC 9110 token characters, one bit each: digits, letters and !#$%&'*+-.^_`|~ */
static const uint8_t ws__tchars[16] = {
    0x00, 0x00, 0x00, 0x00, 0xFA, 0x6C, 0xFF, 0x03, 0xFE, 0xFF, 0xFF, 0xC7, 0xFF, 0xFF, 0xFF, 0x57
};

static bool ws__is_tchar(uint8_t c) {
    return c < 0x80 && (ws__tchars[c >> 3] >> (c & 7) & 1u);
}

static bool ws__is_ows(uint8_t c) { return c == ' ' || c == '\t'; }

WS_API bool ws_token_next(ws_str *list, ws_str *tok) {
    const char *p = list->ptr, *e, *s;
    bool quoted = false;
    if (!p) return false;
    e = p + list->len;
    while (p < e && (ws__is_ows((uint8_t)*p) || *p == ',')) p++;
    if (p == e) { list->ptr = e; list->len = 0; return false; }
    s = p;
    for (; p < e && (quoted || *p != ','); p++) {      /* a comma in a quoted-string stays */
        if (*p == '"') quoted = !quoted;
        else if (quoted && *p == '\\' && p + 1 < e) p++;
    }
    tok->ptr = s;
    tok->len = (size_t)(p - s);
    while (tok->len && ws__is_ows((uint8_t)s[tok->len - 1])) tok->len--;
    list->ptr = p;
    list->len = (size_t)(e - p);
    return true;
}

/* An extension list element without its ";params". */
static ws_str ws__ext_name(ws_str t) {
    size_t n = 0;
    while (n < t.len && t.ptr[n] != ';') n++;
    while (n && ws__is_ows((uint8_t)t.ptr[n - 1])) n--;
    t.len = n;
    return t;
}

/* The token list has *token; how: WS__ICASE ignores ASCII case, WS__PARAMS compares
   extension names only (the token pointed at, not passed by value: a smaller frame). */
#define WS__ICASE 1u
#define WS__PARAMS 2u
static bool ws__list_has(ws_str list, const ws_str *token, unsigned how) {
    ws_str t;
    while (ws_token_next(&list, &t))
        if (ws__eq_str(how & WS__PARAMS ? ws__ext_name(t) : t, *token, how & WS__ICASE))
            return true;
    return false;
}

WS_API ws_str ws_http_header(const ws_http *h, const char *name) {
    ws_str none = { NULL, 0 };
    size_t i;
    for (i = 0; i < h->num_headers; i++)
        if (ws__eq(h->headers[i].name.ptr, h->headers[i].name.len, name, true))
            return h->headers[i].value;
    return none;
}

static bool ws__has_token(const ws_http *h, const char *name, const char *token, bool icase) {
    ws_str tk = ws__str(token);
    size_t i;
    for (i = 0; i < h->num_headers; i++)
        if (ws__eq(h->headers[i].name.ptr, h->headers[i].name.len, name, true) &&
            ws__list_has(h->headers[i].value, &tk, icase ? WS__ICASE : 0u))
            return true;
    return false;
}

WS_API bool ws_http_has_token(const ws_http *h, const char *name, const char *token) {
    return ws__has_token(h, name, token, true);
}

/* Finds the end of the head; checks line endings and control bytes on the way. Returns the
   head's size, 0 when it is not complete, or an error. */
static long ws__http_scan(ws_http *h, const uint8_t *p, size_t len, size_t *size) {
    size_t max = h->_max ? h->_max : WS__DEFAULT_MAX_HEAD, i = h->_scanned;
    size_t lim = WS__MIN(len, max);
    *size = 0;
    if (i > len) i = 0;                 /* a different buffer: start again */
    for (; i < lim; i++) {
        uint8_t c = p[i];
        if (i && p[i - 1] == '\r' && c != '\n') return WS_ERR_HS_MALFORMED;
        if (c == '\n') {
            if (!i || p[i - 1] != '\r') return WS_ERR_HS_MALFORMED;
            if (i >= 3 && p[i - 2] == '\n') { *size = i + 1; h->_scanned = i; return 0; }
        } else if ((c < 0x20 && c != '\r' && c != '\t') || c == 0x7F) {
            return WS_ERR_HS_MALFORMED;
        }
    }
    h->_scanned = i;
    return len >= max ? WS_ERR_HS_TOO_BIG : 0;
}

/* Parses "HTTP/1.x" at p; returns x or -1. */
static int ws__http_version(const uint8_t *p, const uint8_t *e) {
    if (e - p < 8 || !ws__eq((const char *)p, 5, "HTTP/", false) || p[5] != '1' ||
        p[6] != '.' || p[7] < '0' || p[7] > '9')
        return -1;
    return p[7] - '0';
}

/* The headers that ws_http names, in the order of its fields, and the bit of each in
   ws_http._repeated. */
enum { WS__H_HOST, WS__H_ORIGIN, WS__H_UPGRADE, WS__H_CONNECTION, WS__H_KEY, WS__H_VERSION,
       WS__H_PROTOCOL, WS__H_EXTENSIONS, WS__H_ACCEPT, WS__NAMED };
#define WS__REPEATED(h, k) (((h)->_repeated >> (k)) & 1u)
/* Their names one after the other, each ending in its NUL (no table of pointers); their
   fields follow one another in ws_http from host on (the enum fails to compile if not). */
static const char ws__named[] = "host\0origin\0upgrade\0connection\0sec-websocket-key\0"
    "sec-websocket-version\0sec-websocket-protocol\0sec-websocket-extensions\0"
    "sec-websocket-accept";
enum { WS__NAMED_AT = 1 / (offsetof(ws_http, accept) - offsetof(ws_http, host) ==
                           (WS__NAMED - 1) * sizeof(ws_str)) };
#define WS__SLOT(h, k) \
    ((ws_str *)(void *)((char *)(h) + offsetof(ws_http, host) + (k) * sizeof(ws_str)))

/* Fills the named field of header hd, if it has one: the first occurrence stays, and a
   repeat is noted. */
static void ws__http_name(ws_http *h, const ws_header *hd) {
    unsigned k;
    const char *name = ws__named;
    for (k = 0; k < WS__NAMED; k++, name += ws__strlen(name) + 1) {
        ws_str *slot;
        if (!ws__eq(hd->name.ptr, hd->name.len, name, true)) continue;
        slot = WS__SLOT(h, k);
        if (slot->ptr) h->_repeated |= 1u << k;
        else *slot = hd->value;
        return;
    }
}

/* Parses the header lines from p up to the empty line that ends the head (the scan found
   it, and checked every byte and CRLF on the way). */
static int ws__http_headers(ws_http *h, const uint8_t *p) {
    while (!(p[0] == '\r' && p[1] == '\n')) {
        const uint8_t *n = p, *v, *ve;
        ws_header *hd;
        size_t nl;
        while (ws__is_tchar(*p)) p++;
        if (p == n || *p != ':') return WS_ERR_HS_MALFORMED;   /* also obs-fold, "a :" */
        nl = (size_t)(p - n);
        p++;
        while (ws__is_ows(*p)) p++;
        v = p;
        while (*p != '\r') p++;          /* the scan checked the bytes and the CRLFs */
        ve = p;
        while (ve > v && ws__is_ows(ve[-1])) ve--;
        p += 2;
        if (h->num_headers == WS_MAX_HEADERS) return WS_ERR_HS_TOO_MANY;
        hd = &h->headers[h->num_headers++];
        hd->name.ptr = (const char *)n;
        hd->name.len = nl;
        hd->value.ptr = (const char *)v;
        hd->value.len = (size_t)(ve - v);
        ws__http_name(h, hd);
    }
    return WS_OK;
}

/* Forgets every result but the size limit. */
static void ws__http_reset(ws_http *h) {
    size_t max = h->_max;
    WS_MEMSET(h, 0, sizeof *h);
    h->_max = max;
}

#define WS__HTTP_DONE ((size_t)-1)      /* _scanned after a head ended: the next is new */

static int ws__http_begin(ws_http *h, const void *buf, size_t len, size_t *size) {
    long r;
    if (h->_scanned == WS__HTTP_DONE) ws__http_reset(h);    /* reused for a new message */
    r = ws__http_scan(h, (const uint8_t *)buf, len, size);
    if (r < 0) {
        h->_scanned = WS__HTTP_DONE;
        return (int)r;
    }
    if (*size) {
        ws__http_reset(h);
        h->_scanned = WS__HTTP_DONE;
        h->size = *size;
    }
    return WS_OK;
}

#ifndef WS_NO_SERVER
/* What a complete, well-formed request asks for: RFC 6455 4.2.1 over its fields. */
static int ws__http_request_verdict(ws_http *h) {
    uint8_t nonce[18];
    /* two Host lines are a 400 for any request (RFC 9112 3.2) */
    if (WS__REPEATED(h, WS__H_HOST)) return WS_ERR_HS_HOST;
    if (!ws__has_token(h, "upgrade", "websocket", true))
        return h->key.ptr || h->ws_version.ptr ? (int)WS_ERR_HS_NO_UPGRADE : (int)WS_HS_HTTP;
    if (!ws__eq(h->method.ptr, h->method.len, "GET", false)) return WS_ERR_HS_METHOD;
    if (h->version < 1) return WS_ERR_HS_HTTP_VERSION;
    if (!h->host.ptr) return WS_ERR_HS_HOST;
    if (!ws__has_token(h, "connection", "upgrade", true)) return WS_ERR_HS_CONNECTION;
    if (WS__REPEATED(h, WS__H_KEY) || WS__REPEATED(h, WS__H_VERSION)) return WS_ERR_HS_REPEATED;
    if (!h->ws_version.ptr || !ws__eq(h->ws_version.ptr, h->ws_version.len, "13", false))
        return WS_ERR_HS_VERSION;
    if (!h->key.ptr || h->key.len != 24 ||
        ws_base64_decode(h->key.ptr, 24, nonce, sizeof nonce) != 16)
        return WS_ERR_HS_KEY;
    return WS_HS_UPGRADE;
}

WS_API int ws_http_parse_request(ws_http *h, const void *buf, size_t len) {
    const uint8_t *p = (const uint8_t *)buf, *e, *s;
    size_t size;
    int r = ws__http_begin(h, buf, len, &size);
    if (r < 0 || !size) return r;
    e = p + size;
    /* request line: method SP target SP HTTP/1.x CRLF */
    s = p;
    while (ws__is_tchar(*p)) p++;
    if (p == s || *p != ' ') return WS_ERR_HS_MALFORMED;
    h->method.ptr = (const char *)s;
    h->method.len = (size_t)(p - s);
    s = ++p;
    while (*p > ' ' && *p != 0x7F) p++;
    if (p == s || *p != ' ') return WS_ERR_HS_MALFORMED;
    h->target.ptr = h->path.ptr = (const char *)s;
    h->target.len = h->path.len = (size_t)(p - s);
    for (; s < p; s++) {
        if (*s == '?') {
            h->path.len = (size_t)(s - (const uint8_t *)h->target.ptr);
            h->query.ptr = (const char *)s + 1;
            h->query.len = (size_t)(p - s - 1);
            break;
        }
    }
    p++;
    if ((h->version = ws__http_version(p, e)) < 0 || p[8] != '\r') return WS_ERR_HS_MALFORMED;
    p += 10;
    if ((r = ws__http_headers(h, p)) < 0) return r;
    return ws__http_request_verdict(h);
}

WS_API int ws_http_check_request(ws_http *h) {
    size_t i;
    if (!h || !h->method.ptr || h->num_headers > WS_MAX_HEADERS) return WS_ERR_ARG;
    for (i = 0; i < h->num_headers; i++)
        if (!h->headers[i].name.ptr || !h->headers[i].value.ptr) return WS_ERR_ARG;
    for (i = 0; i < WS__NAMED; i++) {           /* named again from headers[] */
        ws_str *slot = WS__SLOT(h, i);
        slot->ptr = NULL;
        slot->len = 0;
    }
    h->_repeated = 0;
    for (i = 0; i < h->num_headers; i++) ws__http_name(h, &h->headers[i]);
    return ws__http_request_verdict(h);
}
#endif

#ifndef WS_NO_CLIENT
WS_API int ws_http_parse_response(ws_http *h, const void *buf, size_t len) {
    const uint8_t *p = (const uint8_t *)buf, *e, *s;
    size_t size;
    int r = ws__http_begin(h, buf, len, &size);
    if (r < 0 || !size) return r;
    e = p + size;
    /* status line: HTTP/1.x SP 3DIGIT [SP reason] CRLF */
    if ((h->version = ws__http_version(p, e)) < 0 || p[8] != ' ') return WS_ERR_HS_MALFORMED;
    p += 9;
    if (p[0] < '1' || p[0] > '5' || p[1] < '0' || p[1] > '9' || p[2] < '0' || p[2] > '9')
        return WS_ERR_HS_MALFORMED;
    h->status = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
    p += 3;
    if (*p == ' ') p++;                     /* then the reason phrase, maybe empty */
    else if (*p != '\r') return WS_ERR_HS_MALFORMED;       /* "1019", "101\tX" */
    s = p;
    while (*p != '\r') p++;
    h->reason.ptr = (const char *)s;
    h->reason.len = (size_t)(p - s);
    p += 2;
    if ((r = ws__http_headers(h, p)) < 0) return r;
    return h->status == 101 && h->version >= 1 ? WS_HS_UPGRADE : WS_HS_HTTP;
}
#endif

/* True if s holds no CR, LF or other control byte (header injection). */
static bool ws__clean(const char *s) {
    for (; *s; s++)
        if (((uint8_t)*s < 0x20 && *s != '\t') || *s == 0x7F) return false;
    return true;
}

/* The extra header lines are whole CRLF-terminated lines without an empty one. */
static bool ws__clean_lines(const char *s) {
    const char *line = s;
    for (; *s; s++) {
        if (*s == '\r') {
            if (s[1] != '\n' || s == line) return false;
            s++;
            line = s + 1;
        } else if (*s == '\n' || ((uint8_t)*s < 0x20 && *s != '\t') || *s == 0x7F) {
            return false;
        }
    }
    return s == line;
}

#ifndef WS_NO_SERVER
WS_API const char *ws_handshake_select_protocol(const ws_http *req,
                                                const char *const *supported, size_t n) {
    size_t i;
    for (i = 0; i < n; i++)
        if (supported[i] && ws__has_token(req, "sec-websocket-protocol", supported[i], false))
            return supported[i];
    return NULL;
}

/* May a 101 for req carry o? A protocol req offered, clean extensions and lines. */
static bool ws__accept_ok(const ws_http *req, const ws_accept_opts *o) {
    const char *proto = o ? o->protocol : NULL, *ext = o ? o->extensions : NULL;
    const char *lines = o ? o->headers : NULL;
    if (!req || !req->key.ptr) return false;
    if (proto && (!*proto || !ws__clean(proto) ||
                  !ws__has_token(req, "sec-websocket-protocol", proto, false)))
        return false;
    return !(ext && (!*ext || !ws__clean(ext))) && !(lines && !ws__clean_lines(lines));
}

static const char ws__101[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                              "Connection: Upgrade\r\nSec-WebSocket-Accept: ";
#define WS__ACCEPT_AT (sizeof ws__101 - 1)  /* where the key is in the 101 */

/* The pieces of a 101 response with the accept key accept[0..27], for options that
   ws__accept_ok passed (each step in a frame of its own: the pieces are not stacked on
   SHA-1 or on the token search). Returns the count. */
static int ws__accept_pieces(ws_buf *b, const char *accept, const ws_accept_opts *o) {
    int n = 0;
    const char *proto = o ? o->protocol : NULL, *ext = o ? o->extensions : NULL;
    const char *lines = o ? o->headers : NULL;
    b[n++] = ws__b(ws__101, WS__ACCEPT_AT);
    b[n++] = ws__b(accept, 28);
    if (proto) {
        b[n++] = WS__LIT("\r\nSec-WebSocket-Protocol: ");
        b[n++] = ws__z(proto);
    }
    if (ext) {
        b[n++] = WS__LIT("\r\nSec-WebSocket-Extensions: ");
        b[n++] = ws__z(ext);
    }
    b[n++] = WS__LIT("\r\n");
    if (lines) b[n++] = ws__z(lines);
    b[n++] = WS__LIT("\r\n");
    return n;
}

#define WS__ACCEPT_PIECES 9

WS__NOINLINE static int ws__accept_concat(char *out, size_t cap, size_t *len,
                                          const char *accept, const ws_accept_opts *opts) {
    ws_buf b[WS__ACCEPT_PIECES];
    int n = ws__accept_pieces(b, accept, opts);
    return ws__concat(out, cap, len, b, (size_t)n);
}

/* The 101 is written with the GUID holding the key's place, then the key over it (its NUL
   over the CR after it, put back): no key on the stack beside SHA-1. */
WS_API int ws_handshake_accept_opts(char *out, size_t cap, size_t *len, const ws_http *req,
                                    const ws_accept_opts *opts) {
    int err;
    if (!ws__accept_ok(req, opts)) return WS_ERR_ARG;
    if ((err = ws__accept_concat(out, cap, len, ws__guid, opts)) < 0) return err;
    ws_accept_key(req->key.ptr, req->key.len, out + WS__ACCEPT_AT);
    out[WS__ACCEPT_AT + 28] = '\r';
    return WS_OK;
}

WS_API int ws_handshake_accept(char *out, size_t cap, size_t *len,
                               const ws_http *req, const char *protocol) {
    ws_accept_opts o;
    o.protocol = protocol;
    o.extensions = o.headers = NULL;
    return ws_handshake_accept_opts(out, cap, len, req, &o);
}

/* The pieces of an error response; num must hold 24 bytes. */
static int ws__reject_pieces(ws_buf *b, char *num, int err) {
    int n = 0, status = ws_http_status(err);
    const char *text = ws_strerror(err);
    size_t tl = ws__strlen(text);
    if (!status) return WS_ERR_ARG;
    b[n++] = ws__z(status == 400 ? "HTTP/1.1 400 Bad Request\r\n" :
                   status == 403 ? "HTTP/1.1 403 Forbidden\r\n" :
                   status == 426 ? "HTTP/1.1 426 Upgrade Required\r\n"
                                   "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n" :
                                   "HTTP/1.1 431 Request Header Fields Too Large\r\n");
    b[n++] = WS__LIT("Connection: close\r\nContent-Type: text/plain\r\nContent-Length: ");
    b[n++] = ws__b(num, ws__utoa((unsigned long)tl + 1, num));
    b[n++] = WS__LIT("\r\n\r\n");
    b[n++] = ws__b(text, tl);
    b[n++] = WS__LIT("\n");
    return n;
}

WS_API int ws_handshake_reject(char *out, size_t cap, size_t *len, int err) {
    ws_buf b[6];
    char num[24];
    int n = ws__reject_pieces(b, num, err);
    if (n < 0) return n;
    return ws__concat(out, cap, len, b, (size_t)n);
}
#endif

#ifndef WS_NO_CLIENT
WS_API void ws_handshake_key(const uint8_t nonce[16], char key[25]) {
    ws_base64_encode(nonce, 16, key);
}


/* The extensions the request offers: permessage-deflate's, written by ws__pmd_offer */
#ifdef WS_DEFLATE
#  define WS__OFFER(o) ((o)->deflate ? (const char *)(o)->deflate->_offer : (o)->extensions)
static int ws__pmd_offer(const ws_client_opts *o);
#else
#  define WS__OFFER(o) ((o)->extensions)
#endif

/* The optional lines of the request, each a name (the 101's strings) and a value. */
static const char *const ws__request_names[3] = {
    "\r\nOrigin: ", "\r\nSec-WebSocket-Protocol: ", "\r\nSec-WebSocket-Extensions: "
};

/* The pieces of the upgrade request; port must hold 8 bytes. Returns the count or error. */
static int ws__request_pieces(ws_buf *b, char *port, const ws_client_opts *o, const char *key) {
    int n = 0;
    const char *path = o && o->path ? o->path : "/", *v[3];
    size_t i;
    if (!o || !o->host || !*o->host || !ws__clean(o->host) || !ws__clean(path) || !*path)
        return WS_ERR_ARG;
    for (i = 0; path[i]; i++)
        if (path[i] == ' ' || path[i] == '\t') return WS_ERR_ARG;    /* ends the target */
    v[0] = o->origin; v[1] = o->protocols; v[2] = o->extensions;
    for (i = 0; i < 3; i++)
        if (v[i] && !ws__clean(v[i])) return WS_ERR_ARG;
    if (o->headers && !ws__clean_lines(o->headers)) return WS_ERR_ARG;
    b[n++] = WS__LIT("GET ");
    b[n++] = ws__z(path);
    b[n++] = WS__LIT(" HTTP/1.1\r\nHost: ");
    b[n++] = ws__z(o->host);
    if (o->port) {
        port[0] = ':';
        b[n++] = ws__b(port, 1 + ws__utoa(o->port, port + 1));
    }
    b[n++] = WS__LIT("\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ");
    b[n++] = ws__b(key, 24);
    b[n++] = WS__LIT("\r\nSec-WebSocket-Version: 13");
    v[2] = WS__OFFER(o);
    for (i = 0; i < 3; i++) {
        if (!v[i]) continue;
        b[n++] = ws__z(ws__request_names[i]);
        b[n++] = ws__z(v[i]);
    }
    b[n++] = WS__LIT("\r\n");
    if (o->headers) b[n++] = ws__z(o->headers);
    b[n++] = WS__LIT("\r\n");
    return n;
}

#define WS__REQUEST_PIECES 17    /* 8 fixed, 2 each for Origin, protocols and extensions, CRLF, headers, CRLF */

WS_API int ws_handshake_request(char *out, size_t cap, size_t *len,
                                const ws_client_opts *opts, const char key[24]) {
    ws_buf b[WS__REQUEST_PIECES];
    char port[8];                                       /* ":65535" */
    int n;
    if (!out || !len || !key) return WS_ERR_ARG;
#ifdef WS_DEFLATE
    if ((n = ws__pmd_offer(opts)) < 0) return n;
#endif
    if ((n = ws__request_pieces(b, port, opts, key)) < 0) return n;
    return ws__concat(out, cap, len, b, (size_t)n);
}

/* ws_handshake_check with the accept key already computed (want[0..27]): ws_conn_connected
   computes it in the connection's scratch, so that SHA-1 is not stacked on this. */
static int ws__check(const ws_http *resp, const char *want, const char *protocols,
                     const char *extensions) {
    size_t i;
    if (resp->status != 101 || resp->version < 1) return WS_ERR_HS_STATUS;
    /* one Upgrade header whose value is websocket, not a list (RFC 6455 4.1) */
    if (!resp->upgrade.ptr || WS__REPEATED(resp, WS__H_UPGRADE) ||
        !ws__eq(resp->upgrade.ptr, resp->upgrade.len, "websocket", true) ||
        !ws__has_token(resp, "connection", "upgrade", true))
        return WS_ERR_HS_UPGRADE;
    if (!resp->accept.ptr || WS__REPEATED(resp, WS__H_ACCEPT) ||
        !ws__eq(resp->accept.ptr, resp->accept.len, want, false))
        return WS_ERR_HS_ACCEPT;
    for (i = 0; i < resp->num_headers; i++) {
        const ws_header *hd = &resp->headers[i];
        ws_str list = hd->value, t;
        bool proto = ws__eq(hd->name.ptr, hd->name.len, "sec-websocket-protocol", true);
        bool ext = ws__eq(hd->name.ptr, hd->name.len, "sec-websocket-extensions", true);
        unsigned count = 0;
        if (!proto && !ext) continue;
        while (ws_token_next(&list, &t)) {
            count++;
            if (proto) {
                /* exactly one subprotocol, and one we offered */
                if (count > 1 || resp->protocol.ptr != hd->value.ptr || !protocols ||
                    !ws__list_has(ws__str(protocols), &t, 0))
                    return WS_ERR_HS_PROTOCOL;
            } else {
                t = ws__ext_name(t);
                if (!extensions || !ws__list_has(ws__str(extensions), &t, WS__ICASE | WS__PARAMS))
                    return WS_ERR_HS_EXTENSION;
            }
        }
    }
    return WS_OK;
}

WS_API int ws_handshake_check(const ws_http *resp, const char key[24],
                              const char *protocols, const char *extensions) {
    char want[29];
    ws_accept_key(key, 24, want);
    return ws__check(resp, want, protocols, extensions);
}

#ifndef WS_NO_PROXY
WS_API int ws_proxy_request(char *out, size_t cap, size_t *len, const char *host,
                            uint16_t port, const char *userpass) {
    char num[8];
    ws_buf b[8];
    size_t i, n = 0, ul = userpass ? ws__strlen(userpass) : 0, total = 0;
    int r;
    if (!out || !len || !host || !*host || !ws__clean(host) ||
        (userpass && !ws__clean(userpass)))
        return WS_ERR_ARG;
    for (i = 0; host[i]; i++)
        if (host[i] == ' ' || host[i] == '\t' || host[i] == '/') return WS_ERR_ARG;
    num[0] = ':';
    b[n++] = WS__LIT("CONNECT ");
    b[n++] = ws__z(host);
    b[n++] = ws__b(num, 1 + ws__utoa(port, num + 1));
    b[n++] = WS__LIT(" HTTP/1.1\r\nHost: ");
    b[n++] = ws__z(host);
    b[n++] = ws__b(num, 1 + ws__utoa(port, num + 1));
    b[n++] = ws__z(userpass ? "\r\nProxy-Authorization: Basic " : "\r\n\r\n");
    if ((r = ws__concat(out, cap, len, b, n)) < 0) return r;
    if (!userpass) return WS_OK;
    /* the credentials in base64, written in place after what is there */
    total = *len + 4 * ((ul + 2) / 3) + 4;
    if (total > cap) return WS_ERR_NOSPACE;     /* a NUL after it when it fits, as above */
    *len += ws_base64_encode(userpass, ul, out + *len);
    b[0] = ws__z("\r\n\r\n");
    WS__COPY(out + *len, b[0].data, 4);
    *len += 4;
    if (*len < cap) out[*len] = 0;
    return WS_OK;
}

WS_API int ws_proxy_check(const ws_http *resp) {
    if (resp->status >= 200 && resp->status <= 299) return WS_OK;
    return resp->status == 407 ? WS_ERR_PROXY_AUTH : WS_ERR_PROXY;
}
#endif /* WS_NO_PROXY */
#endif

/* ---- connection: settings ------------------------------------------------ */

static uint64_t ws__max_message(const ws_config *cfg) {
    return cfg->max_message_size ? cfg->max_message_size : WS__DEFAULT_MAX_MESSAGE;
}

static uint64_t ws__max_frame(const ws_config *cfg) {
    return cfg->max_frame_size ? cfg->max_frame_size : ws__max_message(cfg);
}

static uint64_t ws__timeout(const ws_config *cfg) {
    return cfg->timeout_ms ? cfg->timeout_ms : 2 * (uint64_t)cfg->ping_interval_ms;
}

static uint64_t ws__close_timeout(const ws_config *cfg) {
    return cfg->close_timeout_ms ? cfg->close_timeout_ms : WS__DEFAULT_CLOSE_TIMEOUT;
}

static uint64_t ws__handshake_timeout(const ws_config *cfg) {
    return cfg->handshake_timeout_ms ? cfg->handshake_timeout_ms : WS__DEFAULT_HANDSHAKE_TIMEOUT;
}

/* With one role compiled in (WS_NO_CLIENT, WS_NO_SERVER) the answer is a constant: the
   other role's paths (a client's masking send path and its stack chunk) are left out, and
   ws_conn_init refuses that role. */
static bool ws__client(const ws_conn *c) {
#if defined(WS_NO_CLIENT)
    (void)c;
    return false;
#elif defined(WS_NO_SERVER)
    (void)c;
    return true;
#else
    return c->_cfg->role == WS_ROLE_CLIENT;
#endif
}

/* ---- connection: output -----------------------------------------------------
   Every byte a connection sends goes through ws__write, called only by the frame writers
   below, and every frame writer runs with WS__F_TX set (ws__enter refuses the calls that
   would send while it is: a frame is never cut by another). The writers only report a
   failure; the code that called them fails the connection (ws__tx_end), so that nothing
   here recurses. */

static int ws__write(ws_conn *c, const ws_buf *b, size_t n) {
    return c->_cfg->send(c, b, n) < 0 ? WS_ERR_IO : WS_OK;
}

/* The frame writers take a frame's header as one number, so that their arguments stay in
   registers: FIN (0x80), the RSV bits and the opcode, as in its first byte, and above them
   the close code a close frame's payload starts with (0: none); 32 bits, for an int of 16. */
#define WS__HEAD(fin, op, code) ((uint32_t)(code) << 8 | ((fin) ? 0x80u : 0u) | (unsigned)(op))

/* The header of a frame with head (WS__HEAD) and len bytes of data, into out: the
   length counts the close code's 2 bytes when head has one. Returns its length. */
static size_t ws__head(uint8_t out[14], uint32_t head, size_t len, const uint8_t *key) {
    return ws_frame_header(out, (head & 0x80u) != 0, (ws_opcode)(head & 0x7Fu),
                           (uint64_t)len + (head >> 8 ? 2u : 0u), key);
}

/* A server's frame, sent as it is: the header and the close code (if any) from a small
   buffer, then data. */
WS__INLINE int ws__plain(ws_conn *c, uint32_t head, const void *data, size_t len) {
    uint8_t hdr[16];                            /* the header (at most 10 here), the code */
    ws_buf b[2];
    size_t n = ws__head(hdr, head, len, NULL);
    if (head >> 8) {
        hdr[n++] = (uint8_t)(head >> 16);
        hdr[n++] = (uint8_t)(head >> 8);
    }
    b[0] = ws__b(hdr, n);
    b[1] = ws__b(data, len);
    return ws__write(c, b, len ? 2 : 1);
}

/* The same out of line: one copy of it, and its buffer not on the stack of a caller that
   also reaches a client's masking chunk (ws_conn_close). */
WS__NOINLINE static int ws__send_plain(ws_conn *c, uint32_t head, const void *data, size_t len) {
    return ws__plain(c, head, data, len);
}

/* Sends len bytes of data masked with key from position pos, through a stack chunk of
   WS_MASK_CHUNK bytes. With no key it sends a whole frame instead (head, as WS__HEAD): it
   draws the frame's key and writes the header and the close code (if any) into the same
   chunk, ahead of the payload, so that a client's send path holds one buffer only (see
   "Stack" in README.md). */
static int ws__write_masked(ws_conn *c, uint32_t head, const void *data, size_t len,
                            const uint8_t *key, size_t pos) {
    uint8_t tmp[WS_MASK_CHUNK], k[4];
    const uint8_t *p = (const uint8_t *)data;
    size_t pre = 0;
    ws_buf b;
    if (!key) {
        if (c->_cfg->random(c, k, 4) < 0) return WS_ERR_RANDOM;
        pre = ws__head(tmp, head, len, k);
        key = k;
        if (head >> 8) {
            tmp[pre++] = (uint8_t)((head >> 16) ^ k[0]);
            tmp[pre++] = (uint8_t)((head >> 8) ^ k[1]);
            pos = 2;
        }
    }
    do {
        size_t n = WS__MIN(len, sizeof tmp - pre);
        if (n) ws__mask_copy(tmp + pre, p, n, ws__key_word(key, pos));
        b = ws__b(tmp, pre + n);
        if (b.len && ws__write(c, &b, 1) < 0) return WS_ERR_IO;
        if (n) p += n;
        len -= n; pos += n; pre = 0;
    } while (len);
    return WS_OK;
}

/* Sends one whole frame, data or control (head, as WS__HEAD): a client's masked through
   its chunk, a server's as it is through ws__send_plain; or, when hot is set (ws__send_msg,
   every frame of ws_conn_send) in a build for speed, written in place: a call less, 23 of
   the 139 instructions that ws.h spends on a server's 16-byte frame at x86-64 -O2. The one
   path of every frame but what c owes (ws__send_owed) and what is streamed
   (ws_conn_send_payload). */
WS__INLINE int ws__send_frame(ws_conn *c, uint32_t head, const void *data, size_t len, bool hot) {
    if (ws__client(c)) return ws__write_masked(c, head, data, len, NULL, 0);
#ifndef __OPTIMIZE_SIZE__
    if (hot) return ws__plain(c, head, data, len);
#endif
    (void)hot;
    return ws__send_plain(c, head, data, len);
}

/* Sends a control frame that c owes, its payload the first len bytes of _ctrl: the pong
   (the ping's payload), a failure's close (code and why), the peer's close code echoed, or
   none (the keepalive ping). A client masks them in place, sends them, and unmasks them
   again (on_control and on_close read them after): no copy is stacked on the paths that
   fail a connection. Nothing changes _ctrl meanwhile: a feed is refused while a pong is
   owed, and ignored once c has failed or closed. */
static int ws__send_owed(ws_conn *c, unsigned op, size_t len) {
    uint8_t hdr[14], key[4];                    /* (6 bytes of the header at most) */
    ws_buf b[2];
    bool client = ws__client(c);
    int err;
    if (client && c->_cfg->random(c, key, 4) < 0) return WS_ERR_RANDOM;
    b[0] = ws__b(hdr, ws_frame_header(hdr, true, (ws_opcode)op, len, client ? key : NULL));
    b[1] = ws__b(c->_ctrl, len);
    if (client) ws_mask(c->_ctrl, len, key, 0);
    err = ws__write(c, b, len ? 2 : 1);
    if (client) ws_mask(c->_ctrl, len, key, 0);
    return err;
}

/* ---- connection: lifecycle ----------------------------------------------------
   Every public call that can reach a callback is framed by ws__enter and ws__leave. The
   state changes before any byte leaves, so a callback that calls back into the library
   sees the connection as it now is. Every failure goes through ws__set_failed, and what a
   connection owes (a pong, its close, on_close) is paid by ws__flush and ws__leave at the
   first moment it can be. */

/* on_close is owed; ws__leave pays it as the outermost call on c returns. */
static void ws__report(ws_conn *c) {
    if (c->_flags & WS__F_OPENED) c->_flags = (uint16_t)((c->_flags & ~WS__F_OPENED) | WS__F_REPORT);
}

/* Makes err the sticky error, owes on_close with its close code (the one a protocol error
   sends, else 1006) and why as the reason, and forgets any pong or close owed. The close
   frame that a protocol error sends is kept in _ctrl: code, then why; except while the
   owed pong is being written from _ctrl (a ws_conn_eof in its callback): then the reason
   is left empty and _ctrl as it is. Sends nothing. */
static void ws__set_failed(ws_conn *c, int err, const char *why) {
    unsigned code = (unsigned)ws_close_code_for(err);
    size_t n = WS__MIN(ws__strlen(why), 123u);
    if (c->_state == WS_STATE_FAILED) return;
    if ((c->_flags & (WS__F_PONG_DUE | WS__F_TX)) == (WS__F_PONG_DUE | WS__F_TX)) {
        c->_state = WS_STATE_FAILED;            /* no close can follow (ws__fail) */
        c->_err = (int8_t)err;
        c->_code = (uint16_t)(code ? code : (unsigned)WS_CLOSE_ABNORMAL);
        c->_clen = 2;
        WS__CLR(c, WS__F_CLOSE_DUE);            /* the pong's writer clears PONG_DUE */
        ws__report(c);
        return;
    }
    if (c->_state != WS_STATE_CONNECTING)       /* a handshake that fails has no close code */
        c->_code = (uint16_t)(code ? code : (unsigned)WS_CLOSE_ABNORMAL);
    c->_state = WS_STATE_FAILED;
    c->_err = (int8_t)err;
    c->_ctrl[0] = (uint8_t)(code >> 8);
    c->_ctrl[1] = (uint8_t)code;
    if (n) WS_MEMCPY(c->_ctrl + 2, why, n);
    c->_clen = (uint8_t)(2 + n);
    WS__CLR(c, WS__F_PONG_DUE | WS__F_CLOSE_DUE);
    ws__report(c);
}

/* A writer failed with err (WS_ERR_IO or WS_ERR_RANDOM), or err is WS_OK. */
static void ws__tx_failed(ws_conn *c, int err) {
    const char *why = WS__WHY("send failed");
    if (err == WS_ERR_RANDOM) why = WS__WHY("random failed");
    if (err < 0) ws__set_failed(c, err, why);
}

/* Sends what c owes, the pong and then its close, once no frame is going out (no writer
   running, no streamed frame unfinished). A failed connection with an unfinished frame
   owes nothing: no close can follow it. A loop, not recursion: what a send callback feeds
   meanwhile only adds to what is owed. */
static void ws__flush(ws_conn *c) {
    while ((c->_flags & (WS__F_PONG_DUE | WS__F_CLOSE_DUE)) && !(c->_flags & WS__F_TX)) {
        int err;
        if (c->_tx_remaining) {
            if (c->_state == WS_STATE_FAILED) WS__CLR(c, WS__F_PONG_DUE | WS__F_CLOSE_DUE);
            return;
        }
        if ((c->_flags & WS__F_PONG_DUE) && c->_state == WS_STATE_FAILED) {
            WS__CLR(c, WS__F_PONG_DUE);         /* failed while it was owed: forgotten */
            continue;
        }
        WS__SET(c, WS__F_TX);
        if (c->_flags & WS__F_PONG_DUE) {
            /* from _ctrl: WS__F_PONG_DUE stays set while it goes out, so that no feed
               (WS_ERR_BUSY) and no failure (ws__set_failed) changes it under the writer */
            err = ws__send_owed(c, WS_OP_PONG, c->_clen);
            WS__CLR(c, WS__F_PONG_DUE);
        } else {
            /* a failure's close (code and reason), or the peer's code echoed */
            size_t n = c->_state == WS_STATE_FAILED ? c->_clen
                     : c->_code == WS_CLOSE_NO_STATUS ? 0u : 2u;
            WS__CLR(c, WS__F_CLOSE_DUE);
            WS__SET(c, WS__F_TX_CLOSE);
            if (c->_state != WS_STATE_FAILED) {
                c->_state = WS_STATE_CLOSED;
                ws__report(c);
            }
            err = ws__send_owed(c, WS_OP_CLOSE, n);
        }
        WS__CLR(c, WS__F_TX);
        ws__tx_failed(c, err);
    }
}

/* Fails the connection: the sticky error, and the close code the error calls for when a
   close can still go out. Returns err. */
static int ws__fail(ws_conn *c, int err, const char *why) {
    bool close = ws_close_code_for(err) && c->_state == WS_STATE_OPEN &&
                 !(c->_flags & WS__F_TX_CLOSE) &&
                 (c->_flags & (WS__F_PONG_DUE | WS__F_TX)) != (WS__F_PONG_DUE | WS__F_TX);
    if (c->_state == WS_STATE_FAILED) return c->_err;
    ws__set_failed(c, err, why);
    if (close) {
        WS__SET(c, WS__F_CLOSE_DUE);
        ws__flush(c);
    }
    return err;
}

/* A frame writer that ran with WS__F_TX set returned err: fail on it, or pay what was owed
   meanwhile. Returns the sticky error when c failed, on this send or inside it. */
WS__INLINE int ws__tx_end(ws_conn *c, int err) {
    WS__CLR(c, WS__F_TX);
    if (err) ws__tx_failed(c, err);
    if (c->_flags & (WS__F_PONG_DUE | WS__F_CLOSE_DUE)) ws__flush(c);
    return c->_state == WS_STATE_FAILED ? (int)c->_err : (int)WS_OK;
}

/* The start of every public call that can call back: a failed connection answers with its
   sticky error before any argument is looked at; a call c cannot take inside one of its own
   callbacks (busy: WS__F_TX while a frame goes out, WS__F_RX inside ws_conn_feed) gets
   WS_ERR_BUSY and changes nothing. */
WS__INLINE int ws__enter(ws_conn *c, unsigned busy) {
    if (c->_state == WS_STATE_FAILED) return c->_err;
    if (c->_flags & busy) return WS_ERR_BUSY;   /* (nesting on one c stays under 4 deep) */
    c->_depth++;
    return WS_OK;
}

/* Calls the on_close that is owed: the last thing the outermost call does. Returns r. */
static int ws__report_now(ws_conn *c, int r) {
    void (*on_close)(ws_conn *, unsigned, const char *, size_t) = c->_cfg->on_close;
    WS__CLR(c, WS__F_REPORT);
    if (on_close)
        on_close(c, c->_code, (const char *)c->_ctrl + 2, c->_clen > 2 ? c->_clen - 2u : 0u);
    return r;
}

/* The end of every such call: the outermost one pays an owed on_close as the very last
   thing it does, so that on_close may free or re-initialise c. Returns r. */
WS__INLINE int ws__leave(ws_conn *c, int r) {
    WS_ASSERT(c->_depth > 0);
    if (--c->_depth || !(c->_flags & WS__F_REPORT)) return r;
    return ws__report_now(c, r);
}

WS_API int ws_conn_init(ws_conn *c, const ws_config *cfg, void *user) {
    if (!c) return WS_ERR_ARG;
    WS_MEMSET(c, 0, sizeof *c);
    c->user = user;
    c->_state = WS_STATE_FAILED;
    c->_err = WS_ERR_ARG;
    if (!cfg || !cfg->send || (cfg->role == WS_ROLE_CLIENT && !cfg->random) ||
        (cfg->role != WS_ROLE_SERVER && cfg->role != WS_ROLE_CLIENT) ||
#ifdef WS_NO_CLIENT
        cfg->role != WS_ROLE_SERVER ||
#endif
#ifdef WS_NO_SERVER
        cfg->role != WS_ROLE_CLIENT ||
#endif
        (cfg->rsv_allowed & ~0x70u))
        return WS_ERR_ARG;
    c->_cfg = cfg;
    c->_state = WS_STATE_CONNECTING;
    c->_err = WS_OK;
    c->_t_wait = WS__UNSET;
    return WS_OK;
}

WS_API int ws_conn_set_buffer(ws_conn *c, void *buf, size_t cap) {
    if (c->_state == WS_STATE_FAILED) return c->_err;
    if (c->_msg_op) return WS_ERR_STATE;        /* half a message in: the rest would overrun */
    c->_mbuf = (uint8_t *)buf;
    c->_mcap = !buf ? 0u : cap > UINT32_MAX ? UINT32_MAX : (uint32_t)cap;
    c->_msg_size = 0;                           /* empty (ws__mlen) */
    return WS_OK;
}

static void ws__open(ws_conn *c) {
    c->_state = WS_STATE_OPEN;
    WS__SET(c, WS__F_OPENED | WS__F_ACTIVITY);
    c->_t_wait = WS__UNSET;
}

/* Where a connection computes the accept key while CONNECTING (nothing is received yet):
   the last 29 bytes of _ctrl, clear of a failure's close body at its start (ws__set_failed,
   from a ws_conn_eof inside the send callback) and of what a client keeps there. */
#define WS__ACCEPT_SCRATCH(c) ((char *)(c)->_ctrl + sizeof (c)->_ctrl - 29)

#ifndef WS_NO_SERVER
WS_API int ws_conn_accept(ws_conn *c, const ws_http *req, const char *protocol) {
    ws_accept_opts o;
    o.protocol = protocol;
    o.extensions = o.headers = NULL;
    return ws_conn_accept_opts(c, req, &o);
}

/* Opens c and sends the 101 for the accept key; the caller ends the write (ws__tx_end). */
WS__NOINLINE static int ws__accept_send(ws_conn *c, const char *accept,
                                        const ws_accept_opts *opts) {
    ws_buf b[WS__ACCEPT_PIECES];
    int err, n = ws__accept_pieces(b, accept, opts);
    ws__open(c);                        /* open before the 101 leaves: frames may follow it */
    WS__SET(c, WS__F_TX);
    if ((err = ws__write(c, b, (size_t)n)) < 0)
        WS__CLR(c, WS__F_OPENED);       /* a handshake that failed: no on_close */
    return err;
}

WS_API int ws_conn_accept_opts(ws_conn *c, const ws_http *req, const ws_accept_opts *opts) {
    int err = ws__enter(c, WS__F_TX);
    if (err) return err;
    if (c->_state != WS_STATE_CONNECTING || ws__client(c)) {
        err = WS_ERR_STATE;
    } else if (!req) {
        ws__open(c);
    } else if (!ws__accept_ok(req, opts)) {
        err = WS_ERR_ARG;
    } else {
        char *key = WS__ACCEPT_SCRATCH(c);
        ws_accept_key(req->key.ptr, req->key.len, key);
        err = ws__tx_end(c, ws__accept_send(c, key, opts));
    }
    return ws__leave(c, err);
}

WS_API int ws_conn_reject(ws_conn *c, int err) {
    ws_buf b[6];
    char num[24];
    int n, r = ws__enter(c, WS__F_TX);
    if (r) return r;
    if (c->_state != WS_STATE_CONNECTING || ws__client(c)) {
        r = WS_ERR_STATE;
    } else if ((n = ws__reject_pieces(b, num, err)) < 0) {
        r = n;
    } else {
        ws__set_failed(c, err, "");    /* failed before the answer leaves */
        WS__SET(c, WS__F_TX);
        r = err;
        if (ws__write(c, b, (size_t)n) < 0) c->_err = (int8_t)(r = WS_ERR_IO);
        WS__CLR(c, WS__F_TX);
    }
    return ws__leave(c, r);
}
#endif

#ifndef WS_NO_CLIENT
/* While CONNECTING a client keeps what ws_conn_connect sent in _ctrl (no frame is read
   before OPEN): the key (25 bytes, NUL included), then the protocols and extensions
   strings' pointers (and WS_DEFLATE's opts->deflate), copied in and out as bytes; the
   nonce is drawn into WS__HS_NONCE, after them. */
#define WS__HS_KEY(c) ((char *)(c)->_ctrl)
#define WS__HS_NONCE 100
static const char *ws__hs_get(const ws_conn *c, size_t i) {
    const char *s;
    WS__COPY(&s, c->_ctrl + 25 + i * sizeof s, sizeof s);
    return s;
}

/* Draws the nonce into the key the request's pieces b[0..n-1] point at, and sends them.
   Out of line: its frame is not stacked on the pieces'. */
WS__NOINLINE static int ws__connect_send(ws_conn *c, const ws_buf *b, size_t n,
                                         const ws_client_opts *opts) {
    int rr, err;
    WS__SET(c, WS__F_TX);               /* the random callback is one of c's callbacks too */
    rr = c->_cfg->random(c, c->_ctrl + WS__HS_NONCE, 16);       /* the nonce, in scratch */
    WS__CLR(c, WS__F_TX);
    if (c->_state == WS_STATE_FAILED) return ws_conn_error(c);  /* ws_conn_eof inside it */
    if (rr < 0) {
        ws__set_failed(c, WS_ERR_RANDOM, "");
        return WS_ERR_RANDOM;
    }
    ws_handshake_key(c->_ctrl + WS__HS_NONCE, WS__HS_KEY(c));   /* where the pieces point */
    /* for ws_conn_connected (ws__hs_get) */
    WS__COPY(c->_ctrl + 25, &opts->protocols, sizeof opts->protocols);
    WS__COPY(c->_ctrl + 25 + sizeof opts->protocols, &opts->extensions, sizeof opts->extensions);
#ifdef WS_DEFLATE
    {                                   /* and opts->deflate after them (ws__hs_pmd) */
        uintptr_t d = (uintptr_t)(void *)opts->deflate;
        WS__COPY(c->_ctrl + 25 + 2 * sizeof opts->protocols, &d, sizeof d);
    }
#endif
    WS__SET(c, WS__F_HS_SENT | WS__F_TX);
    err = ws__write(c, b, n);                   /* nothing can be owed before OPEN */
    WS__CLR(c, WS__F_TX);
    ws__tx_failed(c, err);
    return c->_state == WS_STATE_FAILED ? ws_conn_error(c) : err;  /* failed inside its send */
}

WS_API int ws_conn_connect(ws_conn *c, const ws_client_opts *opts) {
    ws_buf b[WS__REQUEST_PIECES];
    char port[8];
    int n, err = ws__enter(c, WS__F_TX);
    if (err) return err;
    if (c->_state != WS_STATE_CONNECTING || !ws__client(c) || (c->_flags & WS__F_HS_SENT)) {
        err = WS_ERR_STATE;
    } else if (
#ifdef WS_DEFLATE
               (n = ws__pmd_offer(opts)) < 0 ||       /* permessage-deflate's, first */
#endif
               (n = ws__request_pieces(b, port, opts, WS__HS_KEY(c))) < 0) {
        err = n;                        /* bad opts: no callback, nothing sent or changed */
    } else {
        err = ws__connect_send(c, b, (size_t)n, opts);
    }
    return ws__leave(c, err);
}

#ifdef WS_DEFLATE
/* opts->deflate, kept after the protocols and extensions pointers */
static struct ws_deflate_client *ws__hs_pmd(const ws_conn *c) {
    uintptr_t d;
    WS__COPY(&d, c->_ctrl + 25 + 2 * sizeof(const char *), sizeof d);
    return (struct ws_deflate_client *)(void *)d;
}
#  define WS__HS_EXTENSIONS(c) (ws__hs_pmd(c) ? "permessage-deflate" : ws__hs_get((c), 1))
static int ws__pmd_connected(ws_conn *c, const ws_http *resp);
#else
#  define WS__HS_EXTENSIONS(c) ws__hs_get((c), 1)
#endif

WS_API int ws_conn_connected(ws_conn *c, const ws_http *resp) {
    int err = ws__enter(c, WS__F_TX);
    if (err) return err;
    if (c->_state != WS_STATE_CONNECTING || !ws__client(c) ||
        (resp && !(c->_flags & WS__F_HS_SENT)))
        err = WS_ERR_STATE;
    else if (resp && (ws_accept_key(WS__HS_KEY(c), 24, WS__ACCEPT_SCRATCH(c)),
                      (err = ws__check(resp, WS__ACCEPT_SCRATCH(c), ws__hs_get(c, 0),
                                       WS__HS_EXTENSIONS(c))) < 0
#ifdef WS_DEFLATE
                      || (ws__hs_pmd(c) && (err = ws__pmd_connected(c, resp)) < 0)
#endif
                      ))
        ws__set_failed(c, err, "");
    else
        ws__open(c);
    return ws__leave(c, err);
}
#endif

WS_API int ws_conn_eof(ws_conn *c) {
    int err = ws__enter(c, 0);
    if (err) return err;
    if (c->_state != WS_STATE_CLOSED) {
        ws__set_failed(c, WS_ERR_EOF, WS__WHY("connection lost"));
        err = WS_ERR_EOF;
    }
    return ws__leave(c, err);
}

/* ---- connection: frame parser --------------------------------------------- */

/* Bytes of a frame header, from its first two bytes. */
static size_t ws__head_size(uint8_t b1) {
    uint8_t l = b1 & 0x7F;
    return 2u + (l == 126 ? 2u : l == 127 ? 8u : 0u) + (b1 & 0x80 ? 4u : 0u);
}

/* The payload length in a whole frame header. */
static uint64_t ws__head_len(const uint8_t *h) {
    uint64_t len = h[1] & 0x7Fu;
    unsigned i, n = len == 126 ? 2 : len == 127 ? 8 : 0;
    if (n) len = 0;
    for (i = 0; i < n; i++) len = len << 8 | h[2 + i];
    return len;
}

/* A complete frame header arrived: check it and set up for the payload. */
static int ws__frame_begin(ws_conn *c, const uint8_t *h) {
    const ws_config *cfg = c->_cfg;
    unsigned op = h[0] & 0x0Fu, rsv = h[0] & 0x70u;
    bool fin = (h[0] & 0x80) != 0, masked = (h[1] & 0x80) != 0;
    uint64_t len = h[1] & 0x7Fu;
    size_t n = 2;                               /* header bytes before the mask key */
    bool begins = false;                        /* the first frame of a data message */
    bool z = false;                             /* ... of a compressed one */
#ifdef WS_DEFLATE
    if (c->_z && (rsv & WS_RSV1) && !(cfg->rsv_allowed & WS_RSV1)) {
        /* permessage-deflate's bit: on the first frame of a data message only */
        if (op >= 8 || op == WS_OP_CONT)
            return ws__fail(c, WS_ERR_PROTOCOL, WS__WHY("RSV1 on a control or continuation frame"));
        z = true;
        rsv &= ~WS_RSV1;
    }
#endif
    if (rsv & ~(unsigned)cfg->rsv_allowed)
        return ws__fail(c, WS_ERR_PROTOCOL, WS__WHY("reserved bits set"));
    if (masked != !ws__client(c))
        return ws__fail(c, WS_ERR_PROTOCOL, WS__WHY(masked ? "masked frame from server"
                                                           : "unmasked frame from client"));
    if (len >= 126) {
        n = len == 126 ? 4 : 10;
        len = ws__head_len(h);
        if (len >> 63) return ws__fail(c, WS_ERR_PROTOCOL, WS__WHY("length over 2^63"));
    }
    if (op >= 8) {
        if (op > WS_OP_PONG) return ws__fail(c, WS_ERR_PROTOCOL, WS__WHY("reserved opcode"));
        if (!fin) return ws__fail(c, WS_ERR_PROTOCOL, WS__WHY("fragmented control frame"));
        if (len > 125) return ws__fail(c, WS_ERR_PROTOCOL, WS__WHY("control frame over 125"));
        c->_clen = 0;
    } else {
        if (op > WS_OP_BINARY) return ws__fail(c, WS_ERR_PROTOCOL, WS__WHY("reserved opcode"));
        if (op == WS_OP_CONT) {
            if (!c->_msg_op)
                return ws__fail(c, WS_ERR_PROTOCOL, WS__WHY("continuation without start"));
        } else if (c->_msg_op) {
            return ws__fail(c, WS_ERR_PROTOCOL, WS__WHY("new message inside fragmented one"));
        }
        {
            uint64_t lim = ws__max_frame(cfg), extra = lim / 8 + 64;
            /* compressed data may be a little longer than what it inflates to (stored
               blocks, an incompressible message): an eighth more on the wire; what it
               inflates to is held to max_message_size as it comes out */
            if ((z || (op == WS_OP_CONT && (c->_flags & WS__F_Z_MSG))) && lim <= UINT64_MAX - extra)
                lim += extra;
            if (len > lim) return ws__fail(c, WS_ERR_TOO_BIG, WS__WHY("frame too big"));
        }
        if (op != WS_OP_CONT) {
            begins = true;
            c->_msg_op = (uint8_t)op;
            c->_msg_size = 0;                   /* the message buffer empty too (ws__mlen) */
            c->_utf8 = 0;
            c->_rsv = (uint8_t)rsv;
            c->_frags = 0;
            c->_flags = (uint16_t)((c->_flags & ~(WS__F_NO_UTF8 | WS__F_Z_MSG)) |
                                   (rsv ? WS__F_NO_UTF8 : 0) | (z ? WS__F_Z_MSG : 0));
        }
        /* a compressed message is measured as it is inflated (ws__zdata) */
        if (!(c->_flags & WS__F_Z_MSG) &&
            (len > ws__max_message(cfg) - c->_msg_size || (c->_mbuf && len > (uint64_t)c->_mcap - c->_msg_size)))
            return ws__fail(c, WS_ERR_TOO_BIG, WS__WHY("message too big"));
        if (++c->_frags > (cfg->max_fragments ? cfg->max_fragments : WS__DEFAULT_MAX_FRAGMENTS))
            return ws__fail(c, WS_ERR_TOO_BIG, WS__WHY("too many fragments"));
        if (!(c->_flags & WS__F_Z_MSG)) c->_msg_size += len;
    }
    /* the frame is good: set up for its payload */
    if (masked) {                               /* (a client's _mask is its own: see below) */
        WS__COPY(c->_mask, h + n, 4);
        c->_mask_pos = 0;
    }
    c->_op = (uint8_t)op;
    c->_flags = (uint16_t)((c->_flags & ~WS__F_FIN) | (fin ? WS__F_FIN : 0));
    c->_remaining = len;
    if (begins && !c->_mbuf && cfg->on_begin)
        cfg->on_begin(c, (ws_opcode)op, fin && !z ? len : WS_SIZE_UNKNOWN);
    return WS_OK;
}

/* A control frame from the peer is complete: answer it and report it. */
static int ws__control(ws_conn *c) {
    const ws_config *cfg = c->_cfg;
    unsigned code = WS_CLOSE_NO_STATUS;
    if (c->_op != WS_OP_CLOSE) {
        if (c->_op == WS_OP_PING && !cfg->no_auto_pong && c->_state == WS_STATE_OPEN) {
            /* owed until no frame is going out, from _ctrl: ws_conn_feed reads no further
               frame meanwhile (ws__feed) */
            WS__SET(c, WS__F_PONG_DUE);
            ws__flush(c);
            if (c->_state == WS_STATE_FAILED) return c->_err;
        }
        if (cfg->on_control) cfg->on_control(c, (ws_opcode)c->_op, c->_ctrl, c->_clen);
        return WS_OK;
    }
    if (c->_clen == 1) return ws__fail(c, WS_ERR_PROTOCOL, WS__WHY("1-byte close body"));
    if (c->_clen >= 2) {
        code = (unsigned)c->_ctrl[0] << 8 | c->_ctrl[1];
        if (!ws_close_code_valid(code))
            return ws__fail(c, WS_ERR_PROTOCOL, WS__WHY("invalid close code"));
        if (!ws_utf8_valid(c->_ctrl + 2, c->_clen - 2u))
            return ws__fail(c, WS_ERR_UTF8, WS__WHY("close reason not UTF-8"));
    }
    c->_code = (uint16_t)code;
    WS__SET(c, WS__F_RX_CLOSE);                 /* nothing after it is read */
    if (c->_state == WS_STATE_OPEN) {
        c->_state = WS_STATE_CLOSING;           /* until our answer is out (ws__flush) */
        c->_t_wait = WS__UNSET;
        WS__SET(c, WS__F_CLOSE_DUE);
        ws__flush(c);
    } else {                                    /* CLOSING: it answers ours */
        c->_state = WS_STATE_CLOSED;
        ws__report(c);
    }
    return c->_state == WS_STATE_FAILED ? (int)c->_err : (int)WS_OK;
}

#ifdef WS_DEFLATE
/* Compressed payload in[0..n-1]: inflated into the message buffer, or into the decoder's
   window and handed to on_data from there (no buffer of its own); text checked as it comes
   out; the inflated size held to max_message_size and the buffer (1009). */
/* Returns WS_OK, or an error for the caller to fail with (and *why), so that the failure's
   close is not stacked on this frame. */
WS__NOINLINE static int ws__zdata(ws_conn *c, const uint8_t *in, size_t n, const char **why) {
    ws_inflate *z = c->_z;
    bool text = c->_msg_op == WS_OP_TEXT && !(c->_flags & WS__F_NO_UTF8);
    for (;;) {
        uint8_t probe, *out;
        size_t cap, used = 0, made = 0;
        uint64_t room = ws__max_message(c->_cfg) - c->_msg_size;
        int r;
        if (c->_mbuf) { out = c->_mbuf + ws__mlen(c); cap = c->_mcap - ws__mlen(c); }
        else { out = z->_win + z->_wpos; cap = z->_wsize - z->_wpos; }
        if (cap > room) cap = (size_t)room;
        if (!cap) { out = &probe; cap = 1; }    /* full: one byte more would be too big */
        r = ws_inflate_feed(z, in, n, &used, out, cap, &made);
        in += used;
        n -= used;
        *why = WS__WHY("message too big");
        if (r == WS_ERR_INFLATE) {
            *why = WS__WHY("bad compressed data");
            return WS_ERR_INFLATE;
        }
        if (made && out == &probe) return WS_ERR_TOO_BIG;
        if (!made) {
            if (!n) return WS_OK;               /* all taken, nothing more to come out */
            if (!used) return WS_ERR_TOO_BIG;
            continue;
        }
        c->_msg_size += made;
        if (text) {
            uint32_t st = c->_utf8;
            size_t ok = ws_utf8_validate(&st, out, made);
            c->_utf8 = (uint8_t)st;
            if (ok < made) {
                *why = WS__WHY("invalid UTF-8 in text");
                return WS_ERR_UTF8;
            }
        }
        if (c->_mbuf) { /* ws__mlen(c) counts them (_msg_size) */ }
        else if (c->_cfg->on_data) c->_cfg->on_data(c, out, made);
        if (c->_state >= WS_STATE_CLOSED || (c->_flags & WS__F_RX_CLOSE))
            return WS_OK;                       /* a callback ended it: the caller sees */
    }
}

/* The connection's encoder memory, and its own window (NULL: each message alone). */
static ws_deflate *ws__zdef(const ws_conn *c) {
    return (c->_zbits & 0x80) ? ((ws_deflate_window *)(void *)c->_zd)->_d : c->_zd;
}
static ws_deflate_window *ws__zwin(const ws_conn *c) {
    return (c->_zbits & 0x80) ? (ws_deflate_window *)(void *)c->_zd : NULL;
}

WS_API int ws_conn_set_deflate(ws_conn *c, ws_deflate *d, unsigned window_bits) {
    if (c->_state == WS_STATE_FAILED) return c->_err;
    if (d && (!d->table || !d->out || d->out_cap < 64 || d->table_bits < 8 ||
              d->table_bits > 20 || window_bits < 8 || window_bits > 15))
        return WS_ERR_ARG;
    if (c->_flags & WS__F_TX_FRAG) return WS_ERR_STATE;
    c->_zd = d;
    c->_zbits = (uint8_t)window_bits;           /* and no window of its own */
    return WS_OK;
}

WS_API int ws_conn_set_deflate_window(ws_conn *c, ws_deflate_window *w) {
    if (c->_state == WS_STATE_FAILED) return c->_err;
    if (w && (!c->_zd || !w->window || !w->table || w->window_bits < 8 || w->window_bits > 15 ||
              w->table_bits < 8 || w->table_bits > 20))
        return WS_ERR_ARG;
    if (c->_flags & WS__F_TX_FRAG) return WS_ERR_STATE;
    if (w) {
        w->_have = 0;                           /* the peer has it all; we start afresh */
        w->_d = ws__zdef(c);
        c->_zd = (struct ws_deflate *)(void *)w;
        c->_zbits |= 0x80;
    } else {
        c->_zd = ws__zdef(c);
        c->_zbits &= 0x7F;
    }
    return WS_OK;
}

WS_API int ws_conn_set_inflate(ws_conn *c, ws_inflate *z, bool reset_each_message) {
    if (c->_state == WS_STATE_FAILED) return c->_err;
    if (c->_msg_op) return WS_ERR_STATE;
    c->_z = z;
    c->_flags = (uint16_t)((c->_flags & ~WS__F_Z_RESET) | (reset_each_message ? WS__F_Z_RESET : 0));
    return WS_OK;
}
#endif

/* The current frame's payload ended. */
static int ws__frame_end(ws_conn *c) {
    const ws_config *cfg = c->_cfg;
    ws_opcode op = (ws_opcode)c->_msg_op;
    if (c->_op >= 8) return ws__control(c);
    if (!(c->_flags & WS__F_FIN)) return WS_OK;
#ifdef WS_DEFLATE
    if (c->_flags & WS__F_Z_MSG) {
        /* the 00 00 FF FF the sender took off (RFC 7692 7.2.2), then the message is done */
        static const uint8_t tail[4] = { 0, 0, 0xFF, 0xFF };
        const char *why = "";
        int err = ws__zdata(c, tail, 4, &why);
        if (err) return ws__fail(c, err, why);
        if (c->_state >= WS_STATE_CLOSED) return c->_state == WS_STATE_FAILED ? (int)c->_err : 0;
        if (c->_flags & WS__F_Z_RESET) ws_inflate_reset(c->_z);
    }
#endif
    if (op == WS_OP_TEXT && !(c->_flags & WS__F_NO_UTF8) && c->_utf8)
        return ws__fail(c, WS_ERR_UTF8, WS__WHY("text ends inside a UTF-8 sequence"));
    c->_msg_op = 0;                             /* between messages from here on */
    if (c->_mbuf) {
        size_t n = ws__mlen(c);
        c->_msg_size = 0;                       /* the buffer is empty again */
        if (cfg->on_message) cfg->on_message(c, op, c->_mbuf, n);
    } else if (cfg->on_end) {
        cfg->on_end(c);
    }
    return WS_OK;
}

/* n payload bytes of the current frame at p (n <= remaining). */
static int ws__payload(ws_conn *c, uint8_t *p, size_t n) {
    uint32_t st = c->_utf8;
    size_t ok = n;                              /* bytes of valid text */
    bool text = c->_msg_op == WS_OP_TEXT && !(c->_flags & WS__F_NO_UTF8) && c->_op < 8 &&
                !(c->_flags & WS__F_Z_MSG);     /* compressed: checked as it is inflated */
    WS_ASSERT(n <= c->_remaining);
    if (!ws__client(c)) {
        uint32_t k = ws__key_word(c->_mask, c->_mask_pos);
        if (text) ok = ws__unmask_text(p, n, k, &st);       /* unmasked and checked at once */
        else ws__mask_k(p, n, k);
        c->_mask_pos = (uint8_t)((c->_mask_pos + n) & 3);
    } else if (text) {
        ok = ws_utf8_validate(&st, p, n);
    }
    c->_remaining -= n;
    if (c->_op >= 8) {
        WS_ASSERT(c->_clen + n <= sizeof c->_ctrl);
        WS_MEMCPY(c->_ctrl + c->_clen, p, n);
        c->_clen = (uint8_t)(c->_clen + n);
        return WS_OK;
    }
#ifdef WS_DEFLATE
    if (c->_flags & WS__F_Z_MSG) {
        const char *why = "";
        int err = ws__zdata(c, p, n, &why);
        return err ? ws__fail(c, err, why) : WS_OK;
    }
#endif
    if (text) {
        c->_utf8 = (uint8_t)st;
        if (ok < n) return ws__fail(c, WS_ERR_UTF8, WS__WHY("invalid UTF-8 in text"));
        if (st && !c->_remaining && (c->_flags & WS__F_FIN))
            return ws__fail(c, WS_ERR_UTF8, WS__WHY("text ends inside a UTF-8 sequence"));
    }
    if (c->_mbuf) {
        size_t at = ws__mlen(c) - n;            /* (_remaining is already less n) */
        WS_ASSERT(at + n <= c->_mcap);
        WS_MEMCPY(c->_mbuf + at, p, n);
    } else if (n && c->_cfg->on_data) {
        c->_cfg->on_data(c, p, n);
    }
    return WS_OK;
}

/* One step of the parser over p[0..avail-1]: a frame header (or a part of one) or payload.
   Returns the bytes it took; the connection's state tells whether to go on. */
static size_t ws__parse(ws_conn *c, uint8_t *p, size_t avail) {
    size_t took;
    int err;
    if (c->_remaining == 0) {
        /* frame header: straight from the input when it is all there */
        if (!(c->_clen & WS__CLEN_HEAD) && avail >= 2 && avail >= ws__head_size(p[1])) {
            took = ws__head_size(p[1]);
            err = ws__frame_begin(c, p);
        } else {
            /* in _ctrl, free between frames: what it holds for later (a close, a failure's
               reason, an owed pong) ends the reading of frames */
            size_t have = c->_clen & WS__CLEN_HEAD ? c->_clen & ~WS__CLEN_HEAD : 0u;
            size_t need = have < 2 ? 2 : ws__head_size(c->_ctrl[1]);
            took = WS__MIN(need - have, avail);
            WS_MEMCPY(c->_ctrl + have, p, took);
            have += took;
            c->_clen = (uint8_t)(WS__CLEN_HEAD | have);
            if (have < 2 || have < ws__head_size(c->_ctrl[1])) return took;
            c->_clen = 0;
            err = ws__frame_begin(c, c->_ctrl);     /* read before the payload lands */
        }
    } else {
        took = (size_t)WS__MIN(c->_remaining, (uint64_t)avail);
        err = ws__payload(c, p, took);
    }
    if (!err && c->_state < WS_STATE_CLOSED && c->_remaining == 0) (void)ws__frame_end(c);
    return took;
}

WS_API int ws_conn_feed_part(ws_conn *c, void *data, size_t len, size_t *used) {
    uint8_t *p = (uint8_t *)data;
    size_t left = len;
    int err;
    if (used) *used = 0;
    if ((err = ws__enter(c, WS__F_RX)) != WS_OK) return err;
    /* a pong is owed from _ctrl (or going out from it): no frame is read until it is out;
       the peer's bytes still count as activity (ws_conn_tick): it is there, we wait */
    if (c->_flags & WS__F_PONG_DUE) {
        if (len) WS__SET(c, WS__F_ACTIVITY);
        return ws__leave(c, WS_ERR_BUSY);
    }
    if (c->_state == WS_STATE_CONNECTING) return ws__leave(c, WS_ERR_STATE);
    if (len && !p) return ws__leave(c, WS_ERR_ARG);
    if (c->_state == WS_STATE_CLOSED || (c->_flags & WS__F_RX_CLOSE) || !len) {
        if (used) *used = len;                  /* bytes after a close are ignored */
        return ws__leave(c, WS_OK);
    }
    WS__SET(c, WS__F_RX | WS__F_ACTIVITY);
    /* (a ping whose pong is owed stops it right after that ping: the rest is held) */
    while (left && c->_state < WS_STATE_CLOSED && !(c->_flags & (WS__F_RX_CLOSE | WS__F_PONG_DUE))) {
        size_t took = ws__parse(c, p, left);
        p += took;
        left -= took;
    }
    if (c->_state == WS_STATE_CLOSED || (c->_state != WS_STATE_FAILED && (c->_flags & WS__F_RX_CLOSE)))
        left = 0;                               /* the rest is ignored: read, as it were */
    if (used) *used = len - left;
    WS__CLR(c, WS__F_RX);
    return ws__leave(c, c->_state == WS_STATE_FAILED ? (int)c->_err
                        : left ? (int)WS_ERR_BUSY : (int)WS_OK);
}

WS_API int ws_conn_feed(ws_conn *c, void *data, size_t len) {
    return ws_conn_feed_part(c, data, len, NULL);
}

/* ---- connection: send ------------------------------------------------------ */

/* May a frame with this opcode and FIN go out now? Notes the fragmented message it starts
   or ends. */
WS__INLINE int ws__send_check(ws_conn *c, unsigned op, bool fin, size_t len) {
    unsigned rsv = op & 0x70u;                  /* an extension's bits, if it owns them */
    unsigned allowed = c->_cfg->rsv_allowed;
    if (c->_state != WS_STATE_OPEN || c->_tx_remaining) return WS_ERR_STATE;
#ifdef WS_DEFLATE
    if (c->_z || c->_zd) allowed |= WS_RSV1;    /* permessage-deflate was agreed */
    /* a message we compress goes on through ws_conn_send_continue/_end only (bit 2:
       ws__send_msg is asking) */
    if (c->_ztx == 1 && (op & 0x0Fu) == WS_OP_CONT) return WS_ERR_STATE;
#endif
    if ((op & ~0x7Fu) || (rsv & ~allowed)) return WS_ERR_ARG;
    op &= 0x0Fu;
    if (op >= 8) {
        if ((op != WS_OP_PING && op != WS_OP_PONG) || len > 125 || !fin) return WS_ERR_ARG;
        return WS_OK;
    }
    if (op > WS_OP_BINARY) return WS_ERR_ARG;
    if ((op == WS_OP_CONT) != ((c->_flags & WS__F_TX_FRAG) != 0)) return WS_ERR_STATE;
    c->_flags = (uint16_t)((c->_flags & ~WS__F_TX_FRAG) | (fin ? 0 : WS__F_TX_FRAG));
    return WS_OK;
}

#ifdef WS_DEFLATE
/* Stored blocks (RFC 1951 3.2.4) of in[0..n-1] at out: n bytes and 5 per 65535. */
static size_t ws__z_stored(const uint8_t *in, size_t n, uint8_t *out) {
    size_t k = 0;
    while (n) {
        size_t m = WS__MIN(n, 65535u);
        out[k] = 0;
        out[k + 1] = (uint8_t)m;
        out[k + 2] = (uint8_t)(m >> 8);
        out[k + 3] = (uint8_t)~m;
        out[k + 4] = (uint8_t)(~m >> 8);
        WS_MEMCPY(out + k + 5, in, m);
        k += 5 + m;
        in += m;
        n -= m;
    }
    return k;
}

/* The encoder (below): what c sends compressed, alone or with its own window; and the
   bytes that went out compressed added to that window. */
static size_t ws__ze_run(ws_deflate *d, const ws_deflate_window *w, unsigned bits,
                         const uint8_t *in, size_t m, uint8_t *out, size_t cap);
static void ws__ze_commit(ws_deflate_window *w, const uint8_t *p, size_t m);

/* One frame's payload of a compressed message: in[0..m-1] compressed into d->out (or
   stored, when that is shorter), ending as permessage-deflate wants: the last frame
   without the 00 00 FF FF of its sync flush, the others with it (or byte-aligned by
   stored blocks), so that every frame stands alone. Returns its length. */
static size_t ws__z_chunk(const ws_conn *c, ws_deflate *d, const uint8_t *in,
                          size_t m, bool last) {
    size_t st = m + 5 * ((m + 65534u) / 65535u) + (last ? 1u : 0u);
    size_t k = ws__ze_run(d, ws__zwin(c), c->_zbits & 0x7Fu, in, m, d->out, d->out_cap - 4);
    if (!k) k = st;                             /* no room: stored */
    else if (!last) {
        d->out[k] = d->out[k + 1] = 0;
        d->out[k + 2] = d->out[k + 3] = 0xFF;
        k += 4;
    }
    if (k >= st) {                              /* stored, and the flush's header if last */
        k = ws__z_stored(in, m, d->out);
        if (last) d->out[k++] = 0;
    }
    return k;
}

/* A compressed frame out[0..k-1], a client's masked in place (out is the encoder's). */
WS__NOINLINE static int ws__z_frame(ws_conn *c, bool fin, unsigned op, uint8_t *out, size_t k) {
    uint8_t hdr[14], key[4];
    ws_buf b[2];
    bool client = ws__client(c);
    if (client && c->_cfg->random(c, key, 4) < 0) return WS_ERR_RANDOM;
    b[0] = ws__b(hdr, ws_frame_header(hdr, fin, (ws_opcode)op, k, client ? key : NULL));
    if (client) ws_mask(out, k, key, 0);
    b[1] = ws__b(out, k);
    return ws__write(c, b, k ? 2 : 1);
}

/* A frame of ours sent as it is by the encoder (its first piece did not shrink), a
   client's masked through d->out, which is ours while d is busy. */
WS__NOINLINE static int ws__z_plain(ws_conn *c, ws_deflate *d, bool fin, unsigned op,
                                    const uint8_t *p, size_t len) {
    uint8_t hdr[14], key[4];
    ws_buf b[2];
    size_t pos = 0;
    bool client = ws__client(c);
    if (client && c->_cfg->random(c, key, 4) < 0) return WS_ERR_RANDOM;
    b[0] = ws__b(hdr, ws_frame_header(hdr, fin, (ws_opcode)op, len, client ? key : NULL));
    b[1] = ws__b(p, len);
    if (!client) return ws__write(c, b, len ? 2 : 1);
    if (ws__write(c, b, 1) < 0) return WS_ERR_IO;
    while (pos < len) {
        size_t m = WS__MIN(len - pos, d->out_cap);
        WS_MEMCPY(d->out, p + pos, m);
        ws_mask(d->out, m, key, pos);
        b[0] = ws__b(d->out, m);
        if (ws__write(c, b, 1) < 0) return WS_ERR_IO;
        pos += m;
    }
    return WS_OK;
}

/* A data frame of ws_conn_send or _send_begin/_continue/_end in a message that
   ws__send_check_msg chose to compress (op: the opcode). Its data goes out in frames of
   at most d->out_cap bytes, a client's masked in place in d->out, so that no masking chunk
   is stacked on this frame; as it is when its first piece does not shrink. */
WS__NOINLINE static int ws__zsend(ws_conn *c, unsigned op, bool fin, const uint8_t *p,
                                  size_t len) {
    ws_deflate *d = ws__zdef(c);
    unsigned base = op & 0x0Fu;
    size_t chunk = (d->out_cap - 20) / 9 * 8;
    int err = WS_OK;
    d->_busy = 1;
    do {
        size_t m = WS__MIN(len, chunk), k;
        bool last = fin && m == len;
        k = ws__z_chunk(c, d, p, m, last);
        if (base != WS_OP_CONT && k >= m) {     /* it does not shrink: the message goes */
            c->_ztx = 0;                        /* as it is */
            err = ws__z_plain(c, d, fin, base, p, len);
            break;
        }
        if (ws__zwin(c)) ws__ze_commit(ws__zwin(c), p, m);  /* in the peer's window now */
        err = ws__z_frame(c, last, base != WS_OP_CONT ? base | WS_RSV1 : 0u, d->out, k);
        base = WS_OP_CONT;
        if (m) p += m;
        len -= m;
    } while (!err && len);
    d->_busy = 0;
    if (fin) c->_ztx = 0;
    return err;
}
#endif

static int ws__send_msg(ws_conn *c, bool arg_ok, unsigned op, bool fin, const void *data,
                        size_t len) {
    int err = ws__enter(c, WS__F_TX);
    if (err) return err;
    if (!arg_ok || (len && !data)) {
        err = WS_ERR_ARG;
    } else if ((err = ws__send_check(c, op, fin, len)) == WS_OK) {
        WS__SET(c, WS__F_TX);
        err = ws__tx_end(c, ws__send_frame(c, WS__HEAD(fin, op, 0), data, len, true));
    }
    return ws__leave(c, err);
}

#ifdef WS_DEFLATE
/* ws__send_msg for a data frame that goes through the encoder: the first frame of a
   message that ws_conn_send or _send_begin chose to compress (WS__Z_NEW), or the next one
   of it (_continue, _end). Apart from ws__send_msg, so that its plain path, which a client
   masks through a stack chunk, has nothing more on the stack. */
WS__NOINLINE static int ws__zsend_msg(ws_conn *c, bool arg_ok, unsigned op, bool fin,
                                      const void *data, size_t len) {
    int err = ws__enter(c, WS__F_TX);
    if (err) return err;
    if (!arg_ok || (len && !data)) {
        err = WS_ERR_ARG;
    } else if ((op & 0x0Fu) == WS_OP_CONT && ws__zdef(c)->_busy) {
        err = WS_ERR_BUSY;                      /* its encoder is at work elsewhere */
    } else {
        c->_ztx |= 2;                           /* (ws__send_check: it is us) */
        err = ws__send_check(c, op, fin, len);
        c->_ztx &= 1;
        if (err == WS_OK) {
            c->_ztx = 1;
            WS__SET(c, WS__F_TX);
            err = ws__tx_end(c, ws__zsend(c, op, fin, (const uint8_t *)data, len));
        }
    }
    return ws__leave(c, err);
}

/* Does a message begin compressed? (d set and free, not refused by op, long enough) */
#  define WS__Z_NEW(c, op, fin, len)                                                      \
    ((c)->_zd && !ws__zdef(c)->_busy && ((op) & 0x0Fu) < 8 &&                             \
     !((op) & (WS_NO_COMPRESS | WS_RSV1)) &&                                              \
     (!(fin) || (len) >= (ws__zdef(c)->min_size ? ws__zdef(c)->min_size : WS_DEFLATE_MIN_SIZE)))
#  define WS__Z_STRIP(op) ((op) & ~WS_NO_COMPRESS)
#else
#  define WS__Z_STRIP(op) (op)
#endif

WS_API int ws_conn_send(ws_conn *c, ws_opcode op, const void *data, size_t len) {
#ifdef WS_DEFLATE
    if (WS__Z_NEW(c, (unsigned)op, true, len))
        return ws__zsend_msg(c, ((unsigned)op & 0x0Fu) != WS_OP_CONT, (unsigned)op, true, data, len);
#endif
    return ws__send_msg(c, ((unsigned)op & 0x0Fu) != WS_OP_CONT, WS__Z_STRIP((unsigned)op), true,
                        data, len);
}

WS_API int ws_conn_send_begin(ws_conn *c, ws_opcode op, const void *data, size_t len) {
    unsigned base = (unsigned)op & 0x0Fu;
#ifdef WS_DEFLATE
    if (WS__Z_NEW(c, (unsigned)op, false, len))
        return ws__zsend_msg(c, base == WS_OP_TEXT || base == WS_OP_BINARY, (unsigned)op, false,
                             data, len);
#endif
    return ws__send_msg(c, base == WS_OP_TEXT || base == WS_OP_BINARY, WS__Z_STRIP((unsigned)op),
                        false, data, len);
}

WS_API int ws_conn_send_continue(ws_conn *c, const void *data, size_t len) {
#ifdef WS_DEFLATE
    if (c->_ztx) return ws__zsend_msg(c, true, WS_OP_CONT, false, data, len);
#endif
    return ws__send_msg(c, true, WS_OP_CONT, false, data, len);
}

WS_API int ws_conn_send_end(ws_conn *c, const void *data, size_t len) {
#ifdef WS_DEFLATE
    if (c->_ztx) return ws__zsend_msg(c, true, WS_OP_CONT, true, data, len);
#endif
    return ws__send_msg(c, true, WS_OP_CONT, true, data, len);
}

WS_API int ws_conn_send_header(ws_conn *c, bool fin, ws_opcode op, uint64_t size) {
    uint8_t hdr[14];
    ws_buf b;
    int err = ws__enter(c, WS__F_TX);
    if (err) return err;
    if (((unsigned)op & 0x0Fu) >= 8 || size >> 63) {
        err = WS_ERR_ARG;                       /* no peer may take 2^63 bytes or more */
    } else if ((err = ws__send_check(c, (unsigned)op, fin, 0)) == WS_OK) {
        WS__SET(c, WS__F_TX);
        /* a client's _mask is the key of the frame it streams (a server's is the peer's) */
        if (ws__client(c) && c->_cfg->random(c, c->_mask, 4) < 0) {
            err = WS_ERR_RANDOM;
        } else {
            if (ws__client(c)) c->_mask_pos = 0;
            c->_tx_remaining = size;            /* owed from now on, before the header leaves */
            b = ws__b(hdr, ws_frame_header(hdr, fin, op, size, ws__client(c) ? c->_mask : NULL));
            err = ws__write(c, &b, 1);
        }
        err = ws__tx_end(c, err);
    }
    return ws__leave(c, err);
}

WS_API int ws_conn_send_payload(ws_conn *c, const void *data, size_t len) {
    int err = ws__enter(c, WS__F_TX);
    if (err) return err;
    if (len > c->_tx_remaining || (len && !data)) {
        err = WS_ERR_ARG;
    } else if (len) {
        size_t pos = c->_mask_pos;
        c->_tx_remaining -= len;                /* before the bytes leave */
        WS__SET(c, WS__F_TX);
        if (ws__client(c)) {
            c->_mask_pos = (uint8_t)((pos + len) & 3);
            err = ws__write_masked(c, 0, data, len, c->_mask, pos);
        } else {
            ws_buf b = ws__b(data, len);
            err = ws__write(c, &b, 1);
        }
        err = ws__tx_end(c, err);               /* the frame may be done: pay what it held */
    }
    return ws__leave(c, err);
}

#ifndef WS_NO_SERVER
WS_API int ws_conn_send_raw(ws_conn *c, const void *frame, size_t len) {
    const uint8_t *f = (const uint8_t *)frame;
    size_t hs;
    ws_buf b;
    int err = ws__enter(c, WS__F_TX);
    if (err) return err;
    /* one whole unmasked frame, exactly: a frame may not cut into another */
    if (ws__client(c) || !frame || len < 2 || (f[1] & 0x80) || len < (hs = ws__head_size(f[1])) ||
        ws__head_len(f) != len - hs) {
        err = WS_ERR_ARG;
    } else if ((err = ws__send_check(c, f[0] & 0x7Fu, (f[0] & 0x80) != 0, f[1] & 0x7Fu)) == 0) {
        b = ws__b(frame, len);
        WS__SET(c, WS__F_TX);
        err = ws__tx_end(c, ws__write(c, &b, 1));
    }
    return ws__leave(c, err);
}
#endif

WS_API int ws_conn_close(ws_conn *c, unsigned code, const char *reason, size_t len) {
    int err = ws__enter(c, WS__F_TX);
    if (err) return err;
    if (c->_state != WS_STATE_OPEN || c->_tx_remaining) {
        err = WS_ERR_STATE;
    } else if ((code == 0 && len) || (code && !ws_close_code_valid(code)) || len > 123 ||
               (len && !reason) || !ws_utf8_valid(reason, len)) {
        err = WS_ERR_ARG;
    } else {
        c->_state = WS_STATE_CLOSING;           /* before the close leaves */
        c->_t_wait = WS__UNSET;
        WS__SET(c, WS__F_TX_CLOSE | WS__F_TX);
        err = ws__tx_end(c, ws__send_frame(c, WS__HEAD(true, WS_OP_CLOSE, code), reason, len, false));
    }
    return ws__leave(c, err);
}

/* ---- connection: clock ----------------------------------------------------- */

static uint64_t ws__since(uint64_t now, uint64_t t) { return now > t ? now - t : 0; }

WS_API int ws_conn_tick(ws_conn *c, uint64_t now) {
    const ws_config *cfg = c->_cfg;
    int err = ws__enter(c, WS__F_TX);
    if (err) return err;
    if (c->_state == WS_STATE_CLOSED) return ws__leave(c, WS_OK);
    if (!(c->_flags & WS__F_TICKED) || (c->_flags & WS__F_ACTIVITY)) {
        c->_t_mark = now;
        c->_flags = (uint16_t)((c->_flags | WS__F_TICKED) & ~WS__F_ACTIVITY);
    }
    if (c->_t_wait == WS__UNSET) c->_t_wait = now;
    if (c->_state != WS_STATE_OPEN) {           /* CONNECTING or CLOSING: one wait each */
        bool hs = c->_state == WS_STATE_CONNECTING;
        const char *why = WS__WHY("close timed out");
        if (hs) why = WS__WHY("handshake timed out");
        if (ws__since(now, c->_t_wait) >= (hs ? ws__handshake_timeout(cfg) : ws__close_timeout(cfg)))
            err = ws__fail(c, WS_ERR_TIMEOUT, why);
    } else {
        uint64_t idle = ws__since(now, c->_t_mark), to = ws__timeout(cfg);
        if (to && idle >= to) {
            err = ws__fail(c, WS_ERR_TIMEOUT, WS__WHY("peer timed out"));
        } else if (cfg->ping_interval_ms && idle >= cfg->ping_interval_ms &&
                   ws__since(now, c->_t_wait) >= cfg->ping_interval_ms && !c->_tx_remaining) {
            c->_t_wait = now;
            WS__SET(c, WS__F_TX);
            err = ws__tx_end(c, ws__send_owed(c, WS_OP_PING, 0));
        }
    }
    return ws__leave(c, err);
}

WS_API uint64_t ws_conn_deadline(const ws_conn *c) {
    const ws_config *cfg = c->_cfg;
    uint64_t d = UINT64_MAX;
    if (c->_state >= WS_STATE_CLOSED) return UINT64_MAX;
    if (!(c->_flags & WS__F_TICKED) || c->_t_wait == WS__UNSET) return 0;
    switch (c->_state) {
    case WS_STATE_CONNECTING:
        d = c->_t_wait + ws__handshake_timeout(cfg);
        break;
    case WS_STATE_CLOSING:
        d = c->_t_wait + ws__close_timeout(cfg);
        break;
    default: {
        uint64_t to = ws__timeout(cfg);
        if (to) d = c->_t_mark + to;
        if (cfg->ping_interval_ms) {
            uint64_t last = c->_t_mark > c->_t_wait ? c->_t_mark : c->_t_wait;
            d = WS__MIN(d, last + cfg->ping_interval_ms);
        }
        break;
    }
    }
    return d;
}

WS_API ws_state ws_conn_state(const ws_conn *c) { return (ws_state)c->_state; }
WS_API int ws_conn_error(const ws_conn *c) { return c->_err; }
WS_API unsigned ws_conn_close_code(const ws_conn *c) { return c->_code; }
WS_API unsigned ws_conn_message_rsv(const ws_conn *c) { return c->_rsv; }

#ifdef WS_DEFLATE
/* ---- permessage-deflate: the decoder (WS_DEFLATE) -----------------------------
   Raw DEFLATE (RFC 1951), streaming over any split of the input, into any amount of output
   at a time. Every step that reads bits is all or nothing: when the input runs out in the
   middle of one, its bits stay in the bit buffer and the state says where to go on, so a
   peer's bytes can be fed as they come. Huffman codes are kept canonically, as code counts
   and sorted symbols (puff's method), with a first-level lookup table beside each (9 bits
   of literal/length code, 8 of distance): a code that fits is one look-up, a longer one is
   decoded canonically. While at least 8 bytes of input and 258 of room are left,
   ws__z_fast decodes with a 64-bit bit buffer refilled a word at a time (from bytes: no
   unaligned loads) and copies matches in runs; near the ends the careful path below goes
   on byte by byte, to the exact bit. A call writes its output only to out; matches that
   reach back before it are copied from the window, which takes the call's last bytes when
   it returns (out may be the window itself at its write position: ws__zdata streams so).
   Checked against zlib in tests/run_deflate.sh. */

enum {
    WS__Z_HEADER, WS__Z_STORED_LEN, WS__Z_STORED, WS__Z_TABLE, WS__Z_CLENS, WS__Z_LENS,
    WS__Z_CODES, WS__Z_LEN_EXTRA, WS__Z_DIST, WS__Z_DIST_EXTRA, WS__Z_COPY, WS__Z_END,
    WS__Z_BAD
};
#define WS__Z_LBITS 9                   /* the first-level tables' bits */
#define WS__Z_DBITS 8

/* Takes bytes into the bit buffer until it holds need bits or the input is gone. */
static bool ws__z_bits(ws_inflate *z, unsigned need) {
    while (z->_nbits < need) {
        if (z->_in == z->_in_end) return false;
        z->_bits |= (uint64_t)*z->_in++ << z->_nbits;
        z->_nbits += 8;
    }
    return true;
}

static unsigned ws__z_take(ws_inflate *z, unsigned n) {
    unsigned v = (unsigned)(z->_bits & ((1u << n) - 1));
    z->_bits >>= n;
    z->_nbits -= n;
    return v;
}

/* Could the len-1 bits of code (shifted left once) still begin a code of len bits or more,
   whose first code of len bits is first? Canonical codes are consecutive: the prefixes of
   the longer codes run from first to that of the last code. */
static bool ws__z_prefix(const uint16_t *count, unsigned len, unsigned code, unsigned first) {
    unsigned l, last = 0;
    bool any = false;
    for (l = len; l <= 15; l++) {
        if (count[l]) {
            last = (first + count[l] - 1u) >> (l - len);
            any = true;
        }
        first = (first + count[l]) << 1;
    }
    return any && (code >> 1) <= (last >> 1);
}

/* Decodes one symbol of the code (fast: its first-level table of fbits bits; count[1..15],
   symbols sorted by code) from the bit buffer. Returns the symbol, -1 when the input ran
   out first (nothing consumed), -2 for a code that is not in the table: as soon as its bits
   so far begin no code (an incomplete code), as zlib does, not once 15 bits are in. */
static int ws__z_decode(ws_inflate *z, const uint16_t *fast, unsigned fbits,
                        const uint16_t *count, const uint16_t *symbol) {
    unsigned len, code = 0, first = 0, index = 0, e;
    (void)ws__z_bits(z, 15);
    e = fast[z->_bits & ((1u << fbits) - 1)];
    if (e & 15u && (e & 15u) <= z->_nbits) {        /* all its bits are in: found */
        z->_bits >>= e & 15u;
        z->_nbits -= e & 15u;
        return (int)(e >> 4);
    }
    for (len = 1; len <= 15; len++) {
        if (len > z->_nbits) return ws__z_prefix(count, len, code, first) ? -1 : -2;
        code |= (unsigned)(z->_bits >> (len - 1)) & 1u;
        if (code < first + count[len]) {
            z->_bits >>= len;
            z->_nbits -= len;
            return symbol[index + (code - first)];
        }
        index += count[len];
        first = (first + count[len]) << 1;
        code <<= 1;
    }
    return -2;
}

/* Builds the canonical code of lengths[0..n-1] into count/symbol. Returns 0 for a complete
   code, a positive number for an incomplete one, -1 for one over-subscribed. */
static int ws__z_build(uint16_t *count, uint16_t *symbol, const uint8_t *lengths, unsigned n) {
    uint16_t offs[16];
    unsigned i;
    int left = 1;
    for (i = 0; i < 16; i++) count[i] = 0;
    /* eight lengths at a time where they are all 0: a short message's dynamic block uses a
       few dozen of the 286 literal/length symbols */
    for (i = 0; i + 8 <= n; i += 8) {
        uint64_t w;
        WS__COPY(&w, lengths + i, 8);
        if (!w) {
            count[0] = (uint16_t)(count[0] + 8);
        } else {
            unsigned j;
            for (j = i; j < i + 8; j++) count[lengths[j]]++;
        }
    }
    for (; i < n; i++) count[lengths[i]]++;
    if (count[0] == n) return 0;            /* no code at all: complete, as zlib has it */
    for (i = 1; i < 16; i++) {
        left = (left << 1) - count[i];
        if (left < 0) return -1;
    }
    offs[1] = 0;
    for (i = 1; i < 15; i++) offs[i + 1] = (uint16_t)(offs[i] + count[i]);
    for (i = 0; i < n; i++) {
        uint64_t w;
        if (!(i & 7) && i + 8 <= n && (WS__COPY(&w, lengths + i, 8), !w)) {
            i += 7;
            continue;
        }
        if (lengths[i]) symbol[offs[lengths[i]]++] = (uint16_t)i;
    }
    return left;
}

/* The first-level table of fbits bits of a code that is not over-subscribed: each code of
   fbits bits or fewer in every entry whose low bits are that code (bit-reversed: DEFLATE
   sends codes from their first bit); 0 in the rest. Built by doubling: the table of len bits
   is the table of len - 1 bits twice over, then each code of len bits in its one entry, so
   the work is a copy of the table and a store per code, not a store per entry. */
static void ws__z_fill(uint16_t *fast, unsigned fbits, const uint16_t *count,
                       const uint16_t *symbol) {
    unsigned len, i, k = 0, rev = 0, size = 1;
    fast[0] = 0;
    for (len = 1; len <= fbits; len++) {
        WS_MEMCPY(fast + size, fast, size * sizeof *fast);
        size *= 2;
        for (i = 0; i < count[len]; i++) {
            unsigned step = 1u << (len - 1);
            fast[rev] = (uint16_t)((unsigned)symbol[k + i] << 4 | len);
            /* the next code, bit-reversed (a longer code's is the same number) */
            while (rev & step) step >>= 1;
            rev = step ? (rev & (step - 1)) + step : 0;
        }
        k += count[len];
    }
}

static const uint16_t ws__z_len_base[29] = {
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115,
    131, 163, 195, 227, 258 };
static const uint8_t ws__z_len_extra[29] = {
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0 };
static const uint16_t ws__z_dist_base[30] = {
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577 };
static const uint8_t ws__z_dist_extra[30] = {
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13 };
static const uint8_t ws__z_clen_order[19] = {
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15 };

/* Codes for literal/length symbols and distances, as zlib accepts them: complete, or one
   code of length 1 alone; and an end-of-block code. */
static bool ws__z_tables(ws_inflate *z, const uint8_t *lengths, unsigned nlit, unsigned ndist) {
    int r = ws__z_build(z->_lcount, z->_lsym, lengths, nlit);
    if (r < 0 || (r > 0 && !(z->_lcount[1] == 1 && nlit - z->_lcount[0] == 1)) || !lengths[256])
        return false;
    r = ws__z_build(z->_dcount, z->_dsym, lengths + nlit, ndist);
    if (r < 0 || (r > 0 && !(z->_dcount[1] == 1 && ndist - z->_dcount[0] == 1))) return false;
    ws__z_fill(z->_lfast, WS__Z_LBITS, z->_lcount, z->_lsym);
    ws__z_fill(z->_dfast, WS__Z_DBITS, z->_dcount, z->_dsym);
    return true;
}

/* The fixed codes (RFC 1951 3.2.6) as ws__z_build would make them, with no lengths array on
   the stack: 7 bits for 256-279, 8 for 0-143 and 280-287, 9 for 144-255; 5 for distances.
   They stay until a dynamic block replaces them (_fixed). */
static void ws__z_fixed(ws_inflate *z) {
    unsigned i, k = 0;
    if (z->_fixed) return;
    for (i = 0; i < 16; i++) z->_lcount[i] = z->_dcount[i] = 0;
    z->_lcount[7] = 24;
    z->_lcount[8] = 152;
    z->_lcount[9] = 112;
    z->_dcount[5] = 30;
    for (i = 256; i < 280; i++) z->_lsym[k++] = (uint16_t)i;
    for (i = 0; i < 144; i++) z->_lsym[k++] = (uint16_t)i;
    for (i = 280; i < 288; i++) z->_lsym[k++] = (uint16_t)i;
    for (i = 144; i < 256; i++) z->_lsym[k++] = (uint16_t)i;
    for (i = 0; i < 30; i++) z->_dsym[i] = (uint16_t)i;
    ws__z_fill(z->_lfast, WS__Z_LBITS, z->_lcount, z->_lsym);
    ws__z_fill(z->_dfast, WS__Z_DBITS, z->_dcount, z->_dsym);
    z->_fixed = 1;
}

static int ws__z_fail(ws_inflate *z, const char *why) {
    z->_state = WS__Z_BAD;
    z->why = why;
    return WS_ERR_INFLATE;
}

/* How far back a match may reach when this call has made `made` bytes: the window's
   history before the call and those, at most the window. */
static size_t ws__z_reach(const ws_inflate *z, size_t made) {
    size_t h = (z->_full ? z->_wsize : z->_wpos) + made;
    return h < z->_wsize ? h : z->_wsize;
}

/* Writes the n bytes of a match at distance d (within reach) at o, where this call's output
   began at out: first what is still in the window (from before the call), then from out,
   byte by byte where the two overlap. Returns o + n. */
static uint8_t *ws__z_copy(const ws_inflate *z, const uint8_t *out, uint8_t *o, size_t d,
                           size_t n) {
    size_t made = (size_t)(o - out);
    const uint8_t *s;
    if (d > made) {                             /* it begins before this call */
        size_t back = d - made, from = z->_wpos >= back ? z->_wpos - back
                                                        : z->_wpos + z->_wsize - back;
        size_t k = WS__MIN(n, back), i, at = z->_wpos + made;
        bool alias = out == z->_win + z->_wpos;
        n -= k;
        while (k) {                             /* up to the window's end, then from 0 */
            size_t run = WS__MIN(k, z->_wsize - from);
            s = z->_win + from;
            /* out may be the window at _wpos (ws__zdata): o then never passes s, and a
               byte loop is exact where they overlap */
            if (!alias || from >= at + run || from + run <= at) WS_MEMCPY(o, s, run);
            else for (i = 0; i < run; i++) o[i] = s[i];
            o += run;
            at += run;
            k -= run;
            from = 0;
        }
    }
    s = o - d;
#ifndef WS_FREESTANDING
    if (d < 8 && n >= 16) {                     /* a short period: its first 8 bytes or
                                                   more, then from a whole number of
                                                   periods back, 8 at a time */
        size_t p = d, i;
        while (p < 8) p += d;
        for (i = 0; i < p; i++) o[i] = s[i];
        o += p;
        n -= p;
        d = p;
        s = o - d;
    }
    if (d >= 8)
        for (; n >= 8; n -= 8, o += 8, s += 8) WS_MEMCPY(o, s, 8);
#endif
    while (n--) *o++ = *s++;
    return o;
}

/* The call's output out[0..made-1] into the window, which keeps its last _wsize bytes. */
static void ws__z_keep(ws_inflate *z, const uint8_t *out, size_t made) {
    size_t room = z->_wsize - z->_wpos;
    if (out != z->_win + z->_wpos) {            /* (else it is there already) */
        if (made >= z->_wsize) {
            WS_MEMCPY(z->_win, out + made - z->_wsize, z->_wsize);
            z->_wpos = 0;
            z->_full = 1;
            return;
        }
        if (made <= room) {
            WS_MEMCPY(z->_win + z->_wpos, out, made);
        } else {
            WS_MEMCPY(z->_win + z->_wpos, out, room);
            WS_MEMCPY(z->_win, out + room, made - room);
        }
    }
    z->_wpos += made;
    if (z->_wpos >= z->_wsize) {
        z->_wpos -= z->_wsize;
        z->_full = 1;
    }
}

/* The fast path of a Huffman block: whole symbols (a literal, or a length and distance
   with their extra bits: 48 bits at most) while 258 bytes of room are left, from a 64-bit
   bit buffer refilled to 56 bits or more while 8 bytes of input are left, and then with
   what is left. A symbol whose bits are not all in yet is left whole to the careful path
   (the bit buffer as it was before it), which takes it as far as it goes. Returns with
   the state WS__Z_CODES near an end, the next block's, or an error. */
WS__NOINLINE static int ws__z_fast(ws_inflate *z, const uint8_t *start, const uint8_t *out,
                                   uint8_t **po, const uint8_t *oe) {
    const uint8_t *in = z->_in, *ie = z->_in_end;
    uint8_t *o = *po;
    uint64_t bits = z->_bits, bits0;
    unsigned nbits = z->_nbits, nbits0, e, n, ne;
    int err = WS_OK, sym;
    while (oe - o >= 258) {
        size_t d;
        if (ie - in >= 8) {
            /* 7 or 8 bytes in, the last of them perhaps in part; the part left out comes
               in again, the same bits, at the next refill */
            bits |= ((uint64_t)in[0] | (uint64_t)in[1] << 8 | (uint64_t)in[2] << 16 |
                     (uint64_t)in[3] << 24 | (uint64_t)in[4] << 32 | (uint64_t)in[5] << 40 |
                     (uint64_t)in[6] << 48 | (uint64_t)in[7] << 56) << nbits;
            in += (63 - nbits) >> 3;
            nbits |= 56;
        } else {                                /* the last bytes: then no input is left
                                                   for ws__z_decode to take */
            while (nbits <= 56 && in < ie) {
                bits |= (uint64_t)*in++ << nbits;
                nbits += 8;
            }
        }
        bits0 = bits;
        nbits0 = nbits;
        e = z->_lfast[bits & ((1u << WS__Z_LBITS) - 1)];
        if (e & 15u) {
            if ((e & 15u) > nbits) break;
            bits >>= e & 15u;
            nbits -= e & 15u;
            sym = (int)(e >> 4);
        } else {                                /* longer, or not a code */
            z->_bits = bits;
            z->_nbits = nbits;
            z->_in = in;                        /* (it takes no more: none is left, or 56
                                                   bits are in) */
            sym = ws__z_decode(z, z->_lfast, WS__Z_LBITS, z->_lcount, z->_lsym);
            bits = z->_bits;
            nbits = z->_nbits;
            if (sym == -1) break;
            if (sym < 0) { err = ws__z_fail(z, "bad literal/length code"); break; }
        }
        if (sym < 256) {
            *o++ = (uint8_t)sym;
            /* a literal takes at most 15 of the 56 bits the refill gives: a second one
               whose code is in the first-level table goes out without going round */
            e = z->_lfast[bits & ((1u << WS__Z_LBITS) - 1)];
            if ((e & 15u) && (e & 15u) <= nbits && e < 256u << 4) {
                bits >>= e & 15u;
                nbits -= e & 15u;
                *o++ = (uint8_t)(e >> 4);
            }
            continue;
        }
        if (sym == 256) {
            z->_state = z->_last ? WS__Z_END : WS__Z_HEADER;
            break;
        }
        if (sym > 285) { err = ws__z_fail(z, "bad length symbol"); break; }
        sym -= 257;
        ne = ws__z_len_extra[sym];
        if (ne > nbits) goto whole;
        n = ws__z_len_base[sym] + (unsigned)(bits & ((1u << ne) - 1));
        bits >>= ne;
        nbits -= ne;
        e = z->_dfast[bits & ((1u << WS__Z_DBITS) - 1)];
        if (e & 15u) {
            if ((e & 15u) > nbits) goto whole;
            bits >>= e & 15u;
            nbits -= e & 15u;
            sym = (int)(e >> 4);
        } else {
            z->_bits = bits;
            z->_nbits = nbits;
            z->_in = in;
            sym = ws__z_decode(z, z->_dfast, WS__Z_DBITS, z->_dcount, z->_dsym);
            bits = z->_bits;
            nbits = z->_nbits;
            if (sym == -1) goto whole;
        }
        if (sym < 0 || sym > 29) { err = ws__z_fail(z, "bad distance code"); break; }
        ne = ws__z_dist_extra[sym];
        if (ne > nbits) goto whole;
        d = ws__z_dist_base[sym] + (size_t)(bits & ((1u << ne) - 1));
        bits >>= ne;
        nbits -= ne;
        if (d > ws__z_reach(z, (size_t)(o - out))) {
            err = ws__z_fail(z, "distance beyond the window");
            break;
        }
        if (d <= (size_t)(o - out) && d >= 8 && (size_t)(oe - o) >= n + 7) {
            /* in this call's output, 8 bytes or more back: 8 at a time, each piece read
               before it is written over, up to 7 bytes past the match (out has room, and
               what goes there is written again before it counts) */
            const uint8_t *from = o - d;
            uint8_t *end = o + n;
            do {
                WS__COPY(o, from, 8);
                o += 8;
                from += 8;
            } while (o < end);
            o = end;
        } else if (d <= (size_t)(o - out) && d >= n) {
            WS_MEMCPY(o, o - d, n);
            o += n;
        } else {
            o = ws__z_copy(z, out, o, d, n);
        }
    }
    if (0) {
whole:                                          /* not all its bits are in */
        bits = bits0;
        nbits = nbits0;
    }
    /* whole bytes not used yet go back to the input, those of this call at least (as
       zlib's inflate_fast does): the input is taken as the output needs it, and where a
       last block ends is exact to the byte, as on the careful path */
    n = WS__MIN(nbits >> 3, (unsigned)WS__MIN((size_t)(in - start), 8u));
    in -= n;
    nbits -= 8 * n;
    z->_bits = bits & (((uint64_t)1 << nbits) - 1);
    z->_nbits = nbits;
    z->_in = in;
    *po = o;
    return err;
}

WS_API void ws_inflate_init(ws_inflate *z, void *window, size_t window_size) {
    /* the tables are built before they are used (_fixed 0); the rest is a new stream's */
    z->_in = z->_in_end = NULL;
    z->_win = (uint8_t *)window;
    z->_wsize = window_size;
    z->_fixed = 0;
    ws_inflate_reset(z);
}

WS_API void ws_inflate_reset(ws_inflate *z) {
    /* everything from _wpos up to the tables is the stream's, except _fixed: the tables */
    uint8_t fixed = z->_fixed;
    WS_MEMSET(&z->_wpos, 0, (size_t)((char *)z->_lcount - (char *)&z->_wpos));
    z->_fixed = fixed;
    z->why = "";
}

WS_API int ws_inflate_feed(ws_inflate *z, const void *in, size_t in_len, size_t *used, void *out,
                           size_t cap, size_t *produced) {
    uint8_t *o = (uint8_t *)out, *oe = o + cap;
    const uint8_t *start = (const uint8_t *)in;
    int err = WS_OK;
    z->_in = start;
    z->_in_end = start + in_len;
    if (z->_state == WS__Z_BAD) err = WS_ERR_INFLATE;
    if (z->_state == WS__Z_END) z->_state = WS__Z_HEADER;  /* a new stream, the same window */
    while (!err && z->_state != WS__Z_END) {
        int sym;
        if (z->_state == WS__Z_HEADER) {
            unsigned h;
            if (!ws__z_bits(z, 3)) break;
            h = ws__z_take(z, 3);
            z->_last = (uint8_t)(h & 1);
            h >>= 1;
            if (h == 0) {                           /* stored: from the next byte on */
                ws__z_take(z, z->_nbits & 7);
                z->_state = WS__Z_STORED_LEN;
            } else if (h == 1) {                    /* fixed codes */
                ws__z_fixed(z);
                z->_state = WS__Z_CODES;
            } else if (h == 2) {
                z->_state = WS__Z_TABLE;
            } else {
                err = ws__z_fail(z, "reserved block type");
            }
        } else if (z->_state == WS__Z_STORED_LEN) {
            unsigned len, nlen;
            if (!ws__z_bits(z, 32)) break;
            len = ws__z_take(z, 16);
            nlen = ws__z_take(z, 16);
            if ((len ^ 0xFFFFu) != nlen) { err = ws__z_fail(z, "stored block length"); break; }
            z->_copy = len;
            z->_state = len ? WS__Z_STORED : (z->_last ? WS__Z_END : WS__Z_HEADER);
        } else if (z->_state == WS__Z_STORED) {
            /* bytes still in the bit buffer come first, then the input itself, in runs */
            size_t k;
            while (z->_copy && o < oe && z->_nbits >= 8) {
                *o++ = (uint8_t)ws__z_take(z, 8);
                z->_copy--;
            }
            k = WS__MIN(WS__MIN((size_t)z->_copy, (size_t)(oe - o)),
                        (size_t)(z->_in_end - z->_in));
            if (z->_nbits < 8 && k) {
                WS_MEMCPY(o, z->_in, k);
                o += k;
                z->_in += k;
                z->_copy -= (uint32_t)k;
            }
            if (z->_copy) break;                    /* out of input or of room */
            z->_state = z->_last ? WS__Z_END : WS__Z_HEADER;
        } else if (z->_state == WS__Z_TABLE) {
            if (!ws__z_bits(z, 14)) break;
            z->_nlit = (uint16_t)(ws__z_take(z, 5) + 257);
            z->_ndist = (uint8_t)(ws__z_take(z, 5) + 1);
            z->_nclen = (uint8_t)(ws__z_take(z, 4) + 4);
            if (z->_nlit > 286 || z->_ndist > 30) { err = ws__z_fail(z, "too many codes"); break; }
            z->_have = 0;
            z->_fixed = 0;                          /* the tables are this block's from now */
            WS_MEMSET(z->_lens, 0, sizeof z->_lens);
            z->_state = WS__Z_CLENS;
        } else if (z->_state == WS__Z_CLENS) {
            while (z->_have < z->_nclen && ws__z_bits(z, 3))
                z->_lens[ws__z_clen_order[z->_have++]] = (uint8_t)ws__z_take(z, 3);
            if (z->_have < z->_nclen) break;
            /* the code-length code lives in the distance tables until it is used */
            if (ws__z_build(z->_dcount, z->_dsym, z->_lens, 19) != 0) {
                err = ws__z_fail(z, "bad code-length code");
                break;
            }
            ws__z_fill(z->_dfast, 7, z->_dcount, z->_dsym);
            WS_MEMSET(z->_lens, 0, sizeof z->_lens);
            z->_have = 0;
            z->_sym = 0;
            z->_state = WS__Z_LENS;
        } else if (z->_state == WS__Z_LENS) {
            unsigned total = (unsigned)z->_nlit + z->_ndist;
            while (z->_have < total) {
                unsigned rep, val = 0, ne;
                if (!z->_sym) {                     /* no repeat waiting for its bits */
                    sym = ws__z_decode(z, z->_dfast, 7, z->_dcount, z->_dsym);
                    if (sym == -2) { err = ws__z_fail(z, "bad code length"); break; }
                    if (sym < 0) break;
                    if (sym < 16) {
                        z->_lens[z->_have++] = (uint8_t)sym;
                        continue;
                    }
                    z->_sym = (uint16_t)sym;
                }
                /* a repeat (16: the last length 3-6 times, 17 and 18: zero 3-10 and 11-138
                   times), once its extra bits are there */
                ne = z->_sym == 16 ? 2u : z->_sym == 17 ? 3u : 7u;
                if (!ws__z_bits(z, ne)) break;
                rep = ws__z_take(z, ne) + (z->_sym == 18 ? 11u : 3u);
                if (z->_sym == 16) {
                    if (!z->_have) { err = ws__z_fail(z, "repeat with no length before"); break; }
                    val = z->_lens[z->_have - 1];
                }
                z->_sym = 0;
                if (z->_have + rep > total) { err = ws__z_fail(z, "too many code lengths"); break; }
                if (val) while (rep--) z->_lens[z->_have++] = (uint8_t)val;
                else z->_have = (uint16_t)(z->_have + rep);     /* _lens are 0 already */
            }
            if (err || z->_have < total) break;
            if (!ws__z_tables(z, z->_lens, z->_nlit, z->_ndist)) {
                err = ws__z_fail(z, "bad literal/length or distance code");
                break;
            }
            z->_state = WS__Z_CODES;
        } else if (z->_state == WS__Z_CODES) {
            if (o == oe) break;
            if (oe - o >= 258) {
                err = ws__z_fast(z, start, (uint8_t *)out, &o, oe);
                if (err || z->_state != WS__Z_CODES) continue;
                if (o == oe) break;
            }
            sym = ws__z_decode(z, z->_lfast, WS__Z_LBITS, z->_lcount, z->_lsym);
            if (sym == -1) break;
            if (sym < 0) { err = ws__z_fail(z, "bad literal/length code"); break; }
            if (sym < 256) {
                *o++ = (uint8_t)sym;
            } else if (sym == 256) {
                z->_state = z->_last ? WS__Z_END : WS__Z_HEADER;
            } else if (sym > 285) {
                err = ws__z_fail(z, "bad length symbol");
            } else {
                z->_sym = (uint16_t)(sym - 257);
                z->_state = WS__Z_LEN_EXTRA;
            }
        } else if (z->_state == WS__Z_LEN_EXTRA) {
            unsigned ne = ws__z_len_extra[z->_sym];
            if (!ws__z_bits(z, ne)) break;
            z->_copy = ws__z_len_base[z->_sym] + ws__z_take(z, ne);
            z->_state = WS__Z_DIST;
        } else if (z->_state == WS__Z_DIST) {
            sym = ws__z_decode(z, z->_dfast, WS__Z_DBITS, z->_dcount, z->_dsym);
            if (sym == -1) break;
            if (sym < 0 || sym > 29) { err = ws__z_fail(z, "bad distance code"); break; }
            z->_sym = (uint16_t)sym;
            z->_state = WS__Z_DIST_EXTRA;
        } else if (z->_state == WS__Z_DIST_EXTRA) {
            unsigned ne = ws__z_dist_extra[z->_sym];
            size_t d;
            if (!ws__z_bits(z, ne)) break;
            d = ws__z_dist_base[z->_sym] + ws__z_take(z, ne);
            if (d > ws__z_reach(z, (size_t)(o - (uint8_t *)out))) {
                err = ws__z_fail(z, "distance beyond the window");
                break;
            }
            z->_dist = d;
            z->_state = WS__Z_COPY;
        } else if (z->_state == WS__Z_COPY) {
            size_t k = WS__MIN((size_t)z->_copy, (size_t)(oe - o));
            o = ws__z_copy(z, (uint8_t *)out, o, z->_dist, k);
            z->_copy -= (uint32_t)k;
            if (z->_copy) break;
            z->_state = WS__Z_CODES;
        }
    }
    *used = (size_t)(z->_in - start);
    *produced = (size_t)(o - (uint8_t *)out);
    ws__z_keep(z, (uint8_t *)out, *produced);
    if (err) return err;
    return z->_state == WS__Z_END ? WS_INFLATE_END : WS_OK;
}

/* ---- permessage-deflate: negotiation ----------------------------------------- */

#define WS__PMD_SNCT 0x01u      /* which parameters an element has */
#define WS__PMD_CNCT 0x02u
#define WS__PMD_SMWB 0x04u
#define WS__PMD_CMWB 0x08u
#define WS__PMD_CMWB_VALUE 0x10u

/* One element of an extension list ("permessage-deflate; client_max_window_bits=10"): 1 if
   it is permessage-deflate with good parameters (in *p, 15 for bits not given, and which
   ones in *has), 0 if it is another extension, -1 if it is permessage-deflate with a bad,
   unknown or repeated parameter. */
static int ws__pmd_parse(ws_str e, ws_deflate_params *p, unsigned *has) {
    const char *s = e.ptr, *end = e.ptr + e.len;
    ws_str name = ws__ext_name(e);
    *has = 0;
    p->server_max_window_bits = p->client_max_window_bits = 15;
    p->server_no_context_takeover = p->client_no_context_takeover = false;
    if (!ws__eq(name.ptr, name.len, "permessage-deflate", true)) return 0;
    s += name.len;
    while (s < end) {
        const char *k, *v = NULL;
        size_t kl, vl = 0;
        unsigned bit, val = 0, i;
        while (s < end && (ws__is_ows((uint8_t)*s) || *s == ';')) s++;
        if (s == end) break;
        k = s;
        while (s < end && *s != '=' && *s != ';' && !ws__is_ows((uint8_t)*s)) s++;
        kl = (size_t)(s - k);
        while (s < end && ws__is_ows((uint8_t)*s)) s++;
        if (s < end && *s == '=') {                 /* a value: a token or a quoted-string */
            s++;
            while (s < end && ws__is_ows((uint8_t)*s)) s++;
            if (s < end && *s == '"') {
                v = ++s;
                while (s < end && *s != '"') s++;
                if (s == end) return -1;
                vl = (size_t)(s - v);
                s++;
            } else {
                v = s;
                while (s < end && *s != ';' && !ws__is_ows((uint8_t)*s)) s++;
                vl = (size_t)(s - v);
            }
            if (!vl) return -1;
        }
        while (s < end && ws__is_ows((uint8_t)*s)) s++;
        if (s < end && *s != ';') return -1;
        if (ws__eq(k, kl, "server_no_context_takeover", true)) bit = WS__PMD_SNCT;
        else if (ws__eq(k, kl, "client_no_context_takeover", true)) bit = WS__PMD_CNCT;
        else if (ws__eq(k, kl, "server_max_window_bits", true)) bit = WS__PMD_SMWB;
        else if (ws__eq(k, kl, "client_max_window_bits", true)) bit = WS__PMD_CMWB;
        else return -1;                             /* unknown */
        if (*has & bit) return -1;                  /* repeated */
        *has |= bit;
        if (bit & (WS__PMD_SNCT | WS__PMD_CNCT)) {
            if (v) return -1;                       /* a flag takes no value */
            if (bit == WS__PMD_SNCT) p->server_no_context_takeover = true;
            else p->client_no_context_takeover = true;
            continue;
        }
        if (!v) {
            if (bit == WS__PMD_SMWB) return -1;     /* server_max_window_bits needs one */
            continue;                               /* client_max_window_bits may not */
        }
        if (v[0] == '0') return -1;                 /* 1*DIGIT, 8..15, no leading zero */
        for (i = 0; i < vl; i++) {
            if (v[i] < '0' || v[i] > '9' || i > 1) return -1;
            val = val * 10 + (unsigned)(v[i] - '0');
        }
        if (val < 8 || val > 15) return -1;
        if (bit == WS__PMD_SMWB) p->server_max_window_bits = (uint8_t)val;
        else { p->client_max_window_bits = (uint8_t)val; *has |= WS__PMD_CMWB_VALUE; }
    }
    return 1;
}

/* Writes "permessage-deflate" and the parameters of p that differ from the default;
   client_max_window_bits as cmwb & 3 says: 0 not at all, 1 bare when 15 (an offer), 2
   always with its value (an answer); server_max_window_bits even at 15 with cmwb & 4 (an
   answer to an offer that has it: RFC 7692 7.1.2.1). */
static int ws__pmd_write(const ws_deflate_params *p, unsigned cmwb, char *out, size_t cap,
                         size_t *len) {
    ws_buf b[9];
    char num[8];                /* the two window sizes: the pieces point into it */
    size_t n = 0;
    int r;
    b[n++] = ws__z("permessage-deflate");
    if (p->server_no_context_takeover) b[n++] = ws__z("; server_no_context_takeover");
    if (p->client_no_context_takeover) b[n++] = ws__z("; client_no_context_takeover");
    if (p->server_max_window_bits != 15 || (cmwb & 4)) {
        b[n++] = ws__z("; server_max_window_bits=");
        b[n++] = ws__b(num, ws__utoa(p->server_max_window_bits, num));
    }
    if (cmwb & 3) {
        b[n++] = ws__z("; client_max_window_bits");
        if ((cmwb & 3) == 2 || p->client_max_window_bits != 15) {
            b[n++] = ws__z("=");
            b[n++] = ws__b(num + 4, ws__utoa(p->client_max_window_bits, num + 4));
        }
    }
    r = ws__concat(out, cap, len, b, n);
    /* and its NUL: the answer goes on as a C string (ws_accept_opts.extensions) */
    return r == WS_OK && *len >= cap ? WS_ERR_NOSPACE : r;
}

#ifndef WS_NO_SERVER
WS_API int ws_deflate_accept(const ws_http *req, unsigned max_client_bits,
                             bool server_no_context, ws_deflate_params *p, char *out,
                             size_t cap, size_t *len) {
    size_t i;
    if (!req || !p || !out || !len || max_client_bits < 8 || max_client_bits > 15)
        return WS_ERR_ARG;
    for (i = 0; i < req->num_headers; i++) {
        const ws_header *hd = &req->headers[i];
        ws_str list = hd->value, t;
        if (!ws__eq(hd->name.ptr, hd->name.len, "sec-websocket-extensions", true)) continue;
        while (ws_token_next(&list, &t)) {
            ws_deflate_params o;
            unsigned has;
            int r;
            if (ws__pmd_parse(t, &o, &has) != 1) continue;   /* another one, or a bad offer */
            /* our decoder's window: the client must promise to stay within it */
            if (max_client_bits < 15 && !(has & WS__PMD_CMWB)) continue;
            if (o.client_max_window_bits > max_client_bits)
                o.client_max_window_bits = (uint8_t)max_client_bits;
            if (server_no_context) o.server_no_context_takeover = true;
            r = ws__pmd_write(&o, (has & WS__PMD_CMWB ? 2u : 0u) | (has & WS__PMD_SMWB ? 4u : 0u),
                              out, cap, len);
            if (r < 0) return r;
            *p = o;
            return 1;
        }
    }
    return 0;
}
#endif

#ifndef WS_NO_CLIENT
WS_API int ws_deflate_offer(const ws_deflate_params *want, char *out, size_t cap, size_t *len) {
    if (!want || !out || !len || want->server_max_window_bits < 8 ||
        want->server_max_window_bits > 15 || want->client_max_window_bits < 8 ||
        want->client_max_window_bits > 15)
        return WS_ERR_ARG;
    return ws__pmd_write(want, 1, out, cap, len);
}

WS_API int ws_deflate_check(const ws_http *resp, const ws_deflate_params *offered,
                            ws_deflate_params *agreed) {
    size_t i;
    int found = 0;
    for (i = 0; i < resp->num_headers; i++) {
        const ws_header *hd = &resp->headers[i];
        ws_str list = hd->value, t;
        if (!ws__eq(hd->name.ptr, hd->name.len, "sec-websocket-extensions", true)) continue;
        while (ws_token_next(&list, &t)) {
            ws_deflate_params a;
            unsigned has;
            int r = ws__pmd_parse(t, &a, &has);
            if (r == 0) continue;
            /* one answer, with only what the offer allows */
            if (r < 0 || found || (offered->server_no_context_takeover &&
                                   !a.server_no_context_takeover) ||
                a.server_max_window_bits > offered->server_max_window_bits ||
                a.client_max_window_bits > offered->client_max_window_bits ||
                ((has & WS__PMD_CMWB) && !(has & WS__PMD_CMWB_VALUE)))
                return WS_ERR_HS_EXTENSION;
            found = 1;
            if (!(has & WS__PMD_CMWB)) a.client_max_window_bits = offered->client_max_window_bits;
            a.client_no_context_takeover |= offered->client_no_context_takeover;
            *agreed = a;
        }
    }
    return found;
}

/* Appends the NUL-terminated s at out + n; returns the new length. */
static size_t ws__pmd_cat(char *out, size_t n, const char *s) {
    while (*s) out[n++] = *s++;
    return n;
}

/* Appends "=bits" (8..15). */
static size_t ws__pmd_bits(char *out, size_t n, unsigned bits) {
    out[n++] = '=';
    if (bits >= 10) out[n++] = '1';
    out[n++] = (char)('0' + bits % 10);
    return n;
}

/* ws_conn_connect's and ws_handshake_request's offer, as ws_deflate_offer writes it, into
   o->deflate->_offer (136 bytes: the longest offer is 128 and a NUL; fuzz_pmd found it
   overrunning a 128-byte one), with a small frame of its own:
   it is stacked on the request's pieces. */
WS__NOINLINE static int ws__pmd_offer(const ws_client_opts *o) {
    ws_deflate_client *d;
    const ws_deflate_params *w;
    size_t n;
    if (!o || !o->deflate) return WS_OK;
    d = o->deflate;
    w = &d->offer;
    if (o->extensions || !d->inflate || w->server_max_window_bits < 8 ||
        w->server_max_window_bits > 15 || w->client_max_window_bits < 8 ||
        w->client_max_window_bits > 15)
        return WS_ERR_ARG;
    d->on = false;
    n = ws__pmd_cat(d->_offer, 0, "permessage-deflate");
    if (w->server_no_context_takeover) n = ws__pmd_cat(d->_offer, n, "; server_no_context_takeover");
    if (w->client_no_context_takeover) n = ws__pmd_cat(d->_offer, n, "; client_no_context_takeover");
    if (w->server_max_window_bits != 15) {
        n = ws__pmd_cat(d->_offer, n, "; server_max_window_bits");
        n = ws__pmd_bits(d->_offer, n, w->server_max_window_bits);
    }
    n = ws__pmd_cat(d->_offer, n, "; client_max_window_bits");
    if (w->client_max_window_bits != 15) n = ws__pmd_bits(d->_offer, n, w->client_max_window_bits);
    d->_offer[n] = 0;
    return WS_OK;
}

/* The server's answer to the offer: the connection set up when it agreed. */
WS__NOINLINE static int ws__pmd_connected(ws_conn *c, const ws_http *resp) {
    ws_deflate_client *d = ws__hs_pmd(c);
    int r = ws_deflate_check(resp, &d->offer, &d->agreed);
    if (r <= 0) return r;
    d->on = true;
    if ((r = ws_conn_set_inflate(c, d->inflate, d->agreed.server_no_context_takeover)) == WS_OK)
        r = ws_conn_set_deflate(c, d->deflate, d->agreed.client_max_window_bits);
    if (r == WS_OK && d->deflate && d->window && !d->agreed.client_no_context_takeover)
        r = ws_conn_set_deflate_window(c, d->window);
    return r;
}
#endif
/* ---- permessage-deflate: the encoder ------------------------------------------
   LZ77 over a hash of three bytes, two candidates a bucket, a match taken when the next
   byte's is not longer (lazy; about zlib level 1's work for its ratio), into a list of
   tokens (a run of literals and a match each), then each block of up to 64 KiB
   coded the cheapest of three ways (RFC 1951 3.2.3), its size computed beforehand: stored,
   the fixed Huffman codes, or codes built from the block's own symbol counts (dynamic:
   lengths limited to 15 bits, the code-length code to 7). Ended as permessage-deflate wants
   (a sync flush whose 00 00 FF FF is left off). The tokens wait at the end of the output
   buffer, behind room for the block stored, so no memory but the caller's is used. Each
   message stands alone (ws_deflate_message: the no_context_takeover way, which lets one
   compressed broadcast go to every member) or references what its connection sent before
   (ws_deflate_window). Either way the hash table's entries are only hints: a candidate is
   taken only within the window and after its bytes are compared, so any content is safe. */

/* The message being compressed is in ws_deflate: _in[0.._n-1], whose first byte is byte
   _base of what its connection sent; before it _have bytes of that in _ring (byte a at
   _ring[a & _rmask]); distances at most _wmax; hashed into _tab (>> _shift). The block's
   counts, codes and lengths, the sort of ws__ze_huff and the fixed codes are there too, so
   the encoder's stack is a few hundred bytes. */

/* Bits out, least significant first, into memory whose room was checked beforehand. */
typedef struct ws__zebits { uint8_t *p; uint64_t acc; unsigned n; } ws__zebits;

WS__INLINE void ws__ze_put(ws__zebits *w, uint32_t v, unsigned k) {   /* k <= 32 */
    w->acc |= (uint64_t)v << w->n;
    w->n += k;
    if (w->n >= 32) {
        w->p[0] = (uint8_t)w->acc;
        w->p[1] = (uint8_t)(w->acc >> 8);
        w->p[2] = (uint8_t)(w->acc >> 16);
        w->p[3] = (uint8_t)(w->acc >> 24);
        w->p += 4;
        w->acc >>= 32;
        w->n -= 32;
    }
}

static void ws__ze_align(ws__zebits *w) {           /* to a byte boundary, zeros in between */
    while (w->n) {
        *w->p++ = (uint8_t)w->acc;
        w->acc >>= 8;
        w->n = w->n > 8 ? w->n - 8 : 0;
    }
}

static unsigned ws__ze_log2(uint32_t v) {        /* v > 0 */
#if defined(__GNUC__) || defined(__clang__)
    return 31u - (unsigned)__builtin_clz(v);
#else
    unsigned b = 0;
    while (v >>= 1) b++;
    return b;
#endif
}

/* The length symbol (0..28, of 257..285) of a match of l + 3 bytes, and the distance
   symbol of a distance of d + 1. */
static unsigned ws__ze_lsym(unsigned l) {
    unsigned b;
    if (l < 8) return l;
    if (l == 255) return 28;
    b = ws__ze_log2(l);
    return 4 * (b - 1) + ((l >> (b - 2)) & 3);
}

static unsigned ws__ze_dsym(unsigned d) {
    unsigned b;
    if (d < 4) return d;
    b = ws__ze_log2(d);
    return 2 * b + ((d >> (b - 1)) & 1);
}

static uint32_t ws__ze_hash(const uint8_t *p, unsigned shift) {
    uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
    return (v * 2654435761u) >> shift;
}

/* How many bytes a[] and b[] have in common, up to max. */
WS__INLINE size_t ws__ze_same(const uint8_t *a, const uint8_t *b, size_t max) {
    size_t k = 0;
#if (defined(__GNUC__) || defined(__clang__)) && defined(__BYTE_ORDER__) && \
    defined(__ORDER_LITTLE_ENDIAN__)
#  if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    while (max - k >= 8) {
        uint64_t x, y;
        WS_MEMCPY(&x, a + k, 8);
        WS_MEMCPY(&y, b + k, 8);
        if (x != y) return k + (size_t)((unsigned)__builtin_ctzll(x ^ y) >> 3);
        k += 8;
    }
#  endif
#endif
    while (k < max && a[k] == b[k]) k++;
    return k;
}

/* The length of the match at in[i] with a candidate d bytes back that begins in the
   history (d > i), up to max. */
WS__NOINLINE static size_t ws__ze_same_history(const ws_deflate *s, size_t i, uint32_t d,
                                               size_t max) {
    size_t k = 0, h = d - i;                    /* the candidate's bytes before in[0] */
    uint32_t a = (s->_base - (uint32_t)h) & s->_rmask;
    while (k < max && k < h) {                  /* in the ring's pieces, each contiguous */
        size_t piece = WS__MIN(WS__MIN(max, h) - k, (size_t)s->_rmask + 1 - a);
        size_t r = ws__ze_same(s->_ring + a, s->_in + i + k, piece);
        k += r;
        if (r < piece) return k;
        a = (a + (uint32_t)r) & s->_rmask;
    }
    if (k < h || k == max) return k;
    return k + ws__ze_same(s->_in, s->_in + i + k, max - k);
}

/* A token: a match (bit 31 clear: the literals before it in bits 23-30, length - 3 in
   15-22, distance - 1 in 0-14), or literals alone (bit 31 set, how many in 0-30). */
#define WS__ZT_RUN 0x80000000u
#define WS__Z_NSYM 318                          /* 288 literal/length symbols, 30 distance */

static void ws__ze_tok(uint8_t *t, uint32_t v) {
    t[0] = (uint8_t)v; t[1] = (uint8_t)(v >> 8); t[2] = (uint8_t)(v >> 16); t[3] = (uint8_t)(v >> 24);
}

static uint32_t ws__ze_untok(const uint8_t *t) {
    return (uint32_t)t[0] | (uint32_t)t[1] << 8 | (uint32_t)t[2] << 16 | (uint32_t)t[3] << 24;
}

/* The longest match at in[i] (up to end) of the two candidates in its bucket, which gets
   i: its length (0 when none) and distance (*dist). */
WS__INLINE size_t ws__ze_find(const ws_deflate *s, size_t i, size_t end, uint32_t *dist) {
    const uint8_t *in = s->_in;
    uint32_t *e = s->_tab + (ws__ze_hash(in + i, s->_shift) << 1), cur = s->_base + (uint32_t)i;
    uint32_t d = cur - e[0], d1 = cur - e[1], lim = s->_have + (uint32_t)i;
    size_t max = WS__MIN(end - i, 258u), m = 0;
    e[1] = e[0];                                /* two candidates a bucket, the newest first */
    e[0] = cur;
    if (lim > s->_wmax) lim = s->_wmax;
    if (d - 1u < lim)                           /* 1 <= d <= lim: a candidate */
        m = d <= i ? ws__ze_same(in + i - d, in + i, max) : ws__ze_same_history(s, i, d, max);
    /* cppcheck-suppress knownConditionTrueFalse ; max is 3..258 (callers pass end - i >= 3) */
    if (m < max && d1 - 1u < lim) {
        size_t m1 = d1 <= i ? ws__ze_same(in + i - d1, in + i, max) : ws__ze_same_history(s, i, d1, max);
        if (m1 > m) { m = m1; d = d1; }
    }
    *dist = d;
    return m;
}

/* A match shorter than this is compared with the one a byte later (lazy matching). */
#define WS__ZE_LAZY 32

/* LZ77 of in[*pos..end-1], matches within it, into at most cap (>= 3) tokens at tok, the
   symbols counted in s->_freq (literal/length 0-287, distance 288-317). Returns the tokens
   written; *pos moves to where it stopped. */
static size_t ws__ze_parse(ws_deflate *s, size_t *pos, size_t end, uint8_t *tok, size_t cap) {
    const uint8_t *in = s->_in;
    uint16_t *freq = s->_freq;
    size_t i = *pos, run = 0, nt = 0;
    while (i < end && nt + 3 <= cap) {
        uint32_t d = 0, d2 = 0;
        size_t m = end - i >= 3 ? ws__ze_find(s, i, end, &d) : 0, k, from;
        from = i + 1;
        while (m >= 3 && m < WS__ZE_LAZY && end - i >= 4) {
            size_t m2 = ws__ze_find(s, i + 1, end, &d2);
            from = i + 2;
            if (m2 <= m) break;
            freq[in[i++]]++;                    /* a longer one a byte later: a literal first */
            run++;
            m = m2;
            d = d2;
        }
        if (m < 3) {
            freq[in[i++]]++;
            run++;
            continue;
        }
        if (run > 255) { ws__ze_tok(tok + 4 * nt++, WS__ZT_RUN | (uint32_t)run); run = 0; }
        ws__ze_tok(tok + 4 * nt++, (uint32_t)run << 23 | (uint32_t)(m - 3) << 15 | (d - 1u));
        run = 0;
        freq[257 + ws__ze_lsym((unsigned)m - 3)]++;
        freq[288 + ws__ze_dsym(d - 1u)]++;
        /* the positions inside the match go into the table too, a few of them */
        for (k = from; k < i + m && k + 3 <= s->_n && k < i + 8; k++) {
            uint32_t *f = s->_tab + (ws__ze_hash(in + k, s->_shift) << 1);
            f[1] = f[0];
            f[0] = s->_base + (uint32_t)k;
        }
        i += m;
    }
    if (run) ws__ze_tok(tok + 4 * nt++, WS__ZT_RUN | (uint32_t)run);
    *pos = i;
    return nt;
}

/* Code lengths for the n symbols counted in freq, none longer than limit (len[]; 0 for
   those not used), sorted in s->_heap and s->_hsym. At least two codes, as every decoder
   takes them. */
static void ws__ze_huff(ws_deflate *s, const uint16_t *freq, unsigned n, unsigned limit,
                        uint8_t *len) {
    uint32_t *a = s->_heap;
    uint16_t *sym = s->_hsym;
    unsigned count[16], m = 0, i, j, total = 0;
    int root, leaf, next, depth, avail, used;
    for (i = 0; i < n; i++) {
        len[i] = 0;
        if (freq[i]) {                          /* insertion sort by count, then symbol */
            uint32_t key = (uint32_t)freq[i] << 9 | i;
            for (j = m++; j > 0 && a[j - 1] > key; j--) a[j] = a[j - 1];
            a[j] = key;
        }
    }
    if (m < 2) {                                /* one code or none: two of one bit */
        unsigned s0 = m ? a[0] & 511 : 0;
        len[s0] = 1;
        len[s0 ? 0 : 1] = 1;
        return;
    }
    for (i = 0; i < m; i++) { sym[i] = (uint16_t)(a[i] & 511); a[i] >>= 9; }
    /* Moffat and Katajainen's in-place minimum-redundancy lengths (weights ascending) */
    root = leaf = 0;
    for (next = 0; next < (int)m - 1; next++) {
        if (leaf >= (int)m || (root < next && a[root] < a[leaf])) { a[next] = a[root]; a[root++] = (uint32_t)next; }
        else a[next] = a[leaf++];
        if (leaf >= (int)m || (root < next && a[root] < a[leaf])) { a[next] += a[root]; a[root++] = (uint32_t)next; }
        else a[next] += a[leaf++];
    }
    a[m - 2] = 0;
    for (next = (int)m - 3; next >= 0; next--) a[next] = a[a[next]] + 1;
    avail = 1; used = depth = 0; root = (int)m - 2; next = (int)m - 1;
    while (avail > 0) {
        while (root >= 0 && (int)a[root] == depth) { used++; root--; }
        while (avail > used) { a[next--] = (uint32_t)depth; avail--; }
        avail = 2 * used; depth++; used = 0;
    }
    /* a[i]: the length of the i-th least frequent. Limited: the deepest to limit, then codes
       moved one level down until the lengths fit (Kraft's sum) */
    for (i = 0; i < 16; i++) count[i] = 0;
    for (i = 0; i < m; i++) count[a[i] > limit ? limit : a[i]]++;
    for (i = 1; i <= limit; i++) total += count[i] << (limit - i);
    while (total > 1u << limit) {
        count[limit]--;
        for (i = limit - 1; i > 0; i--)
            if (count[i]) { count[i]--; count[i + 1] += 2; break; }
        total--;
    }
    for (i = limit, j = 0; i > 0; i--)          /* the longest to the least frequent */
        while (count[i]--) len[sym[j++]] = (uint8_t)i;
}

/* Canonical codes (RFC 1951 3.2.2) of the lengths len[0..n-1], bits reversed for the
   least-significant-first writer. */
static void ws__ze_codes(const uint8_t *len, unsigned n, uint16_t *code) {
    static const uint8_t rev[16] = {0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15};
    uint16_t count[16], next[16];
    unsigned i, b, c = 0;
    for (i = 0; i < 16; i++) count[i] = 0;
    for (i = 0; i < n; i++) count[len[i]]++;
    count[0] = 0;
    for (b = 1; b < 16; b++) { c = (c + count[b - 1]) << 1; next[b] = (uint16_t)c; }
    for (i = 0; i < n; i++) {
        unsigned l = len[i], v, r = 0;
        if (!l) continue;
        v = next[l]++;
        for (b = 0; b < 16; b += 4) r = r << 4 | rev[(v >> b) & 15];   /* 16 bits reversed */
        code[i] = (uint16_t)(r >> (16 - l));
    }
}

/* The code-length code's run-length coding of len[0..n-1] (16: repeat the last 3-6 times,
   17: 3-10 zeros, 18: 11-138 zeros): counted into cf, or written with cc/cl when w. */
static void ws__ze_rle(const uint8_t *len, unsigned n, uint16_t *cf, ws__zebits *w, const uint16_t *cc,
                      const uint8_t *cl) {
    unsigned i = 0;
    while (i < n) {
        unsigned v = len[i], r = 1, t;
        while (i + r < n && len[i + r] == v) r++;
        i += r;
        if (v) {
            if (w) ws__ze_put(w, cc[v], cl[v]); else cf[v]++;
            r--;
        }
        while (r >= 3) {
            unsigned s;
            if (v) { t = WS__MIN(r, 6u); s = 16; }
            else if (r >= 11) { t = WS__MIN(r, 138u); s = 18; }
            else { t = r; s = 17; }
            if (!w) cf[s]++;
            else ws__ze_put(w, cc[s] | (uint32_t)(t - (s == 18 ? 11u : 3u)) << cl[s],
                            cl[s] + (s == 16 ? 2u : s == 17 ? 3u : 7u));
            r -= t;
        }
        while (r--) { if (w) ws__ze_put(w, cc[v], cl[v]); else cf[v]++; }
    }
}

/* The tokens tok[0..nt-1] of the literals from in on, in the codes code/len. */
static void ws__ze_emit(ws__zebits *w, const uint8_t *in, const uint8_t *tok, size_t nt,
                       const uint16_t *code, const uint8_t *len) {
    size_t t;
    for (t = 0; t < nt; t++) {
        uint32_t v = ws__ze_untok(tok + 4 * t), run = v & WS__ZT_RUN ? v & ~WS__ZT_RUN : v >> 23;
        unsigned l, d, ls, ds;
        while (run >= 2) {                      /* two literals at a time: 30 bits at most */
            ws__ze_put(w, code[in[0]] | (uint32_t)code[in[1]] << len[in[0]], len[in[0]] + len[in[1]]);
            in += 2;
            run -= 2;
        }
        if (run) { ws__ze_put(w, code[*in], len[*in]); in++; }
        if (v & WS__ZT_RUN) continue;
        l = (v >> 15) & 255;
        d = v & 0x7FFF;
        ls = ws__ze_lsym(l);
        ds = ws__ze_dsym(d);
        ws__ze_put(w, code[257 + ls] | (l + 3 - ws__z_len_base[ls]) << len[257 + ls],
                   len[257 + ls] + ws__z_len_extra[ls]);
        ws__ze_put(w, code[288 + ds] | (d + 1 - ws__z_dist_base[ds]) << len[288 + ds],
                   len[288 + ds] + ws__z_dist_extra[ds]);
        in += l + 3;
    }
}

/* The fixed codes' lengths and codes, in s->_flens and s->_fixed, built at the first
   message (s->_flens[0] is 8 from then on). */
static void ws__ze_fixed(ws_deflate *s) {
    unsigned i;
    uint8_t *lens = s->_flens;
    if (lens[0]) return;
    for (i = 0; i < 288; i++) lens[i] = (uint8_t)(i < 144 ? 8 : i < 256 ? 9 : i < 280 ? 7 : 8);
    for (i = 288; i < WS__Z_NSYM; i++) lens[i] = 5;
    ws__ze_codes(lens, 288, s->_fixed);
    ws__ze_codes(lens + 288, 30, s->_fixed + 288);
}

/* Stored blocks of in[0..n-1] (5 bytes each 65535), from a byte boundary. */
static void ws__ze_store(ws__zebits *w, const uint8_t *in, size_t n) {
    do {
        size_t m = WS__MIN(n, 65535u);
        ws__ze_put(w, 0, 3);                    /* not final, stored */
        ws__ze_align(w);
        w->p[0] = (uint8_t)m; w->p[1] = (uint8_t)(m >> 8);
        w->p[2] = (uint8_t)~m; w->p[3] = (uint8_t)(~m >> 8);
        if (m) WS_MEMCPY(w->p + 4, in, m);
        w->p += 4 + m;
        in += m;
        n -= m;
    } while (n);
}

/* The bytes stored blocks of n bytes take, with 4 for the bits the writer holds. */
static size_t ws__ze_stored_size(size_t n) { return n + 5 * ((n + 65534) / 65535 + !n) + 4; }

/* A piece of a block in the fixed codes, written as its tokens come (16 at a time, in
   s->_tok) when out has no room to keep a block's: the tokens tok[0..nt-1] of the literals
   from in on, written when they fit below limit with room for the end of the block and the
   flush (returns 1), or not (0). */
WS__NOINLINE static int ws__ze_fixed_piece(const ws_deflate *s, ws__zebits *w, const uint8_t *in,
                                           size_t nt, const uint8_t *limit) {
    const uint8_t *p = in, *tok = s->_tok;
    size_t t, bits = 0;
    for (t = 0; t < nt; t++) {                  /* their size, and the end of block's */
        uint32_t v = ws__ze_untok(tok + 4 * t), run = v & WS__ZT_RUN ? v & ~WS__ZT_RUN : v >> 23;
        for (; run; run--) bits += 8u + (*p++ >= 144);
        if (!(v & WS__ZT_RUN)) {
            unsigned ls = ws__ze_lsym((v >> 15) & 255), ds = ws__ze_dsym(v & 0x7FFF);
            bits += (ls < 23 ? 7u : 8u) + ws__z_len_extra[ls] + 5u + ws__z_dist_extra[ds];
            p += ((v >> 15) & 255) + 3;
        }
    }
    if ((size_t)(limit - w->p) < (w->n + bits + 17) / 8) return 0;
    ws__ze_emit(w, in, tok, nt, s->_fixed, s->_flens);
    return 1;
}

/* The block of in[0..L-1], parsed into tok[0..nt-1] with its symbols counted in d->_freq,
   written the cheapest way of three (its size in bits computed for each): stored, in the
   fixed codes, or in codes of its own (dynamic). Apart from ws__ze_code, so that none of its
   locals is on the stack under ws__ze_parse. */
WS__NOINLINE static void ws__ze_block(ws_deflate *d, ws__zebits *w, const uint8_t *in, size_t L,
                                      const uint8_t *tok, size_t nt) {
    uint16_t *freq = d->_freq, *code = d->_code, *cf = d->_cfreq, *cc = d->_ccode;
    uint8_t *lens = d->_lens, *cl = d->_clens;
    uint64_t fixed, dyn = UINT64_MAX, stored, extra = 0;
    uint32_t n8 = 0, n9 = 0, n7 = 0, n5 = 0;    /* symbols of each fixed code length */
    unsigned hlit = 257, hdist = 1, hclen = 4, i;
    freq[256] = 1;
    for (i = 0; i < 29; i++) extra += (uint64_t)freq[257 + i] * ws__z_len_extra[i];
    for (i = 0; i < 30; i++) extra += (uint64_t)freq[288 + i] * ws__z_dist_extra[i];
    /* the three sizes, in bits */
    stored = 3 + (8 - (w->n + 3) % 8) % 8 + 32 + 8 * (uint64_t)L;
    for (i = 0; i < 144; i++) n8 += freq[i];
    for (; i < 256; i++) n9 += freq[i];
    for (; i < 280; i++) n7 += freq[i];
    for (; i < 288; i++) n8 += freq[i];
    for (; i < WS__Z_NSYM; i++) n5 += freq[i];
    fixed = 3 + extra + 8 * (uint64_t)n8 + 9 * (uint64_t)n9 + 7 * (uint64_t)n7 + 5 * (uint64_t)n5;
    if (nt > 16) {                              /* dynamic: worth it only past a few tokens */
        ws__ze_huff(d, freq, 286, 15, lens);
        ws__ze_huff(d, freq + 288, 30, 15, lens + 288);
        lens[286] = lens[287] = 0;
        for (hlit = 286; hlit > 257 && !lens[hlit - 1]; hlit--) {}
        for (hdist = 30; hdist > 1 && !lens[288 + hdist - 1]; hdist--) {}
        for (i = 0; i < 19; i++) cf[i] = 0;
        ws__ze_rle(lens, hlit, cf, NULL, NULL, NULL);
        ws__ze_rle(lens + 288, hdist, cf, NULL, NULL, NULL);
        ws__ze_huff(d, cf, 19, 7, cl);
        for (hclen = 19; hclen > 4 && !cl[ws__z_clen_order[hclen - 1]]; hclen--) {}
        dyn = 3 + 14 + 3 * hclen + extra + 2 * (uint64_t)cf[16] + 3 * (uint64_t)cf[17] +
              7 * (uint64_t)cf[18];
        for (i = 0; i < 19; i++) dyn += (uint64_t)cf[i] * cl[i];
        for (i = 0; i < 286; i++) dyn += (uint64_t)freq[i] * lens[i];
        for (i = 0; i < 30; i++) dyn += (uint64_t)freq[288 + i] * lens[288 + i];
    }
    if (stored <= fixed && stored <= dyn) {
        ws__ze_store(w, in, L);
    } else if (fixed <= dyn) {
        ws__ze_put(w, 2, 3);                    /* not final, fixed codes */
        ws__ze_emit(w, in, tok, nt, d->_fixed, d->_flens);
        ws__ze_put(w, d->_fixed[256], d->_flens[256]);
    } else {
        ws__ze_codes(lens, 288, code);
        ws__ze_codes(lens + 288, 30, code + 288);
        ws__ze_codes(cl, 19, cc);
        ws__ze_put(w, 4, 3);                    /* not final, dynamic codes */
        ws__ze_put(w, (hlit - 257) | (hdist - 1) << 5 | (hclen - 4) << 10, 14);
        for (i = 0; i < hclen; i++) ws__ze_put(w, cl[ws__z_clen_order[i]], 3);
        ws__ze_rle(lens, hlit, NULL, w, cc, cl);
        ws__ze_rle(lens + 288, hdist, NULL, w, cc, cl);
        ws__ze_emit(w, in, tok, nt, code, lens);
        ws__ze_put(w, code[256], lens[256]);
    }
}

/* The message set up in d (ws__ze_run) coded into out[0..cap-1]: its length (1 or more,
   the sync flush's byte at least), 0 when cap is too small. */
WS__NOINLINE static size_t ws__ze_code(ws_deflate *d, uint8_t *out, size_t cap) {
    ws__zebits w;
    const uint8_t *in = d->_in;
    size_t pos = 0, n = d->_n;
    w.p = out;
    w.acc = 0;
    w.n = 0;
    while (pos < n) {
        size_t used = (size_t)(w.p - out), room = cap > used + 6 ? cap - used - 6 : 0;
        size_t b = WS__MIN(n - pos, 65535u), start = pos, nt, i;
        uint8_t *tok;
        /* room for the block stored, and for its tokens behind it (64 or more); or fixed
           codes as the tokens come; or stored */
        if (room < b + 5 + (size_t)4 * 64) {
            ws__zebits was = w;
            int fit = 1;
            ws__ze_put(&w, 2, 3);               /* not final, fixed codes */
            while (fit && pos < start + b) {
                size_t from = pos;
                nt = ws__ze_parse(d, &pos, start + b, d->_tok, 16);
                fit = ws__ze_fixed_piece(d, &w, in + from, nt, out + cap);
            }
            if (fit) {                          /* the end of block */
                ws__ze_put(&w, d->_fixed[256], d->_flens[256]);
                continue;
            }
            w = was;                            /* it does not fit: stored */
            pos = start;
            if (room < ws__ze_stored_size(b)) return 0;
            ws__ze_store(&w, in + pos, b);
            pos += b;
            continue;
        }
        tok = out + cap - (room - b - 5) / 4 * 4;
        for (i = 0; i < WS__Z_NSYM; i++) d->_freq[i] = 0;
        nt = ws__ze_parse(d, &pos, pos + b, tok, (room - b - 5) / 4);
        ws__ze_block(d, &w, in + start, pos - start, tok, nt);
    }
    if ((size_t)(w.p - out) + (w.n + 10) / 8 > cap) return 0;
    ws__ze_put(&w, 0, 3);                       /* the sync flush's empty stored block... */
    ws__ze_align(&w);                           /* ...to a byte boundary; its 00 00 FF FF */
    return (size_t)(w.p - out);                 /* is what permessage-deflate leaves off */
}

/* The message in[0..n-1] coded into out[0..cap-1] with d's scratch: alone (win NULL: d's
   table, a window of 2^bits), or after what the connection sent before, in win (its table;
   the window the smaller of 2^bits and win's). Returns its length (1 or more: the sync
   flush's byte at least), 0 when cap is too small. */
static size_t ws__ze_run(ws_deflate *d, const ws_deflate_window *win, unsigned bits,
                         const uint8_t *in, size_t n, uint8_t *out, size_t cap) {
    d->_in = in;
    d->_n = n;
    if (win) {
        d->_ring = win->window;
        d->_base = win->_pos;
        d->_have = win->_have;
        d->_rmask = ((uint32_t)1 << win->window_bits) - 1;
        d->_wmax = (uint32_t)1 << WS__MIN(bits, (unsigned)win->window_bits);
        d->_tab = win->table;
        d->_shift = 33u - win->table_bits;      /* buckets of two */
    } else {
        d->_ring = NULL;
        d->_base = d->_have = d->_rmask = 0;
        d->_wmax = (uint32_t)1 << bits;
        d->_tab = d->table;
        d->_shift = 33u - d->table_bits;
    }
    ws__ze_fixed(d);
    return ws__ze_code(d, out, cap);
}

WS_API size_t ws_deflate_bound(size_t n) { return n + n / 8 + 16; }

static void ws__ze_commit(ws_deflate_window *w, const uint8_t *p, size_t m) {
    uint32_t size = (uint32_t)1 << w->window_bits, at, first;
    if (m > size) {                             /* only its last 2^bits bytes stay */
        w->_pos += (uint32_t)(m - size);
        p += m - size;
        m = size;
    }
    if (!m) return;
    at = w->_pos & (size - 1);
    first = WS__MIN((uint32_t)m, size - at);
    WS_MEMCPY(w->window + at, p, first);
    if (m > first) WS_MEMCPY(w->window, p + first, m - first);
    w->_pos += (uint32_t)m;
    w->_have = WS__MIN(w->_have + (uint32_t)m, size);
}

WS_API int ws_deflate_message(ws_deflate *d, const void *data, size_t n, unsigned window_bits,
                              void *out, size_t cap, size_t *len) {
    if (!d || (n && !data) || !out || !len || !d->table || window_bits < 8 || window_bits > 15 ||
        d->table_bits < 8 || d->table_bits > 20)
        return WS_ERR_ARG;
    if (d->_busy) return WS_ERR_BUSY;           /* its scratch is a connection's message's */
    *len = ws__ze_run(d, NULL, window_bits, (const uint8_t *)data, n, (uint8_t *)out, cap);
    return *len ? WS_OK : WS_ERR_NOSPACE;
}

#endif /* WS_DEFLATE */

/* ---- TLS (WS_MBEDTLS) ------------------------------------------------------
   mbedTLS runs over two callbacks of ours (its "BIO"): it reads the ciphertext that
   ws_tls_feed was given, and writes records straight to tc->send. Neither ever says "would
   block", so WANT_READ only ever means "feed more" and WANT_WRITE never happens. */
#ifdef WS_MBEDTLS

#define WS__TLS_HANDSHAKE 0
#define WS__TLS_OPEN      1
#define WS__TLS_EOF       2
#define WS__TLS_FAILED    3

static int ws__tls_bio_send(void *ctx, const unsigned char *buf, size_t len) {
    ws_tls *t = (ws_tls *)ctx;
    if (len > 0x7FFFFFFF) len = 0x7FFFFFFF;
    return t->_cfg->send(t, buf, len) < 0 ? MBEDTLS_ERR_NET_SEND_FAILED : (int)len;
}

static int ws__tls_bio_recv(void *ctx, unsigned char *buf, size_t len) {
    ws_tls *t = (ws_tls *)ctx;
    size_t n = WS__MIN(len, t->_in_len);
    if (!n) return MBEDTLS_ERR_SSL_WANT_READ;
    if (n > 0x7FFFFFFF) n = 0x7FFFFFFF;
    WS_MEMCPY(buf, t->_in, n);
    t->_in += n;
    t->_in_len -= n;
    return (int)n;
}

/* A PEM text must reach mbedTLS with its NUL counted; DER as it is. */
static size_t ws__tls_len(const void *p, size_t len) {
    const char *s = (const char *)p;
    if (len && s[len - 1] == 0) return len;
    if (len > 10 && ws__eq(s, 10, "-----BEGIN", false)) return len + 1;  /* s[len] is NUL */
    return len;
}

static int ws__tls_common(ws_tls_config *tc, int endpoint) {
    static const char pers[] = "ws.h";
    if (!tc->send || !tc->on_data) return WS_ERR_ARG;
    mbedtls_ssl_config_init(&tc->_conf);
    mbedtls_x509_crt_init(&tc->_crt);
    mbedtls_pk_init(&tc->_key);
    mbedtls_entropy_init(&tc->_entropy);
    mbedtls_ctr_drbg_init(&tc->_drbg);
    tc->_ready = true;
    tc->_client = endpoint == MBEDTLS_SSL_IS_CLIENT;
    if (mbedtls_ctr_drbg_seed(&tc->_drbg, mbedtls_entropy_func, &tc->_entropy,
                              (const unsigned char *)pers, sizeof pers - 1) != 0 ||
        mbedtls_ssl_config_defaults(&tc->_conf, endpoint, MBEDTLS_SSL_TRANSPORT_STREAM,
                                    MBEDTLS_SSL_PRESET_DEFAULT) != 0)
        return WS_ERR_TLS;
    mbedtls_ssl_conf_rng(&tc->_conf, mbedtls_ctr_drbg_random, &tc->_drbg);
#if MBEDTLS_VERSION_MAJOR >= 3
    mbedtls_ssl_conf_min_tls_version(&tc->_conf, MBEDTLS_SSL_VERSION_TLS1_2);
#else
    mbedtls_ssl_conf_min_version(&tc->_conf, MBEDTLS_SSL_MAJOR_VERSION_3,
                                 MBEDTLS_SSL_MINOR_VERSION_3);
#endif
    tc->_alpn[0] = "http/1.1";
    tc->_alpn[1] = NULL;
    if (mbedtls_ssl_conf_alpn_protocols(&tc->_conf, tc->_alpn) != 0) return WS_ERR_TLS;
    return WS_OK;
}

static int ws__tls_sni(void *ctx, mbedtls_ssl_context *ssl, const unsigned char *name,
                       size_t len) {
    ws_tls_config *tc = (ws_tls_config *)ctx;
    ws_tls *t = (ws_tls *)(void *)((char *)ssl - offsetof(ws_tls, _ssl));
    size_t n = WS__MIN(len, sizeof t->_name - 1);
    WS_MEMCPY(t->_name, name, n);
    t->_name[n] = 0;
    return tc->on_name && tc->on_name(t, t->_name, n) < 0 ? -1 : 0;
}

WS_API int ws_tls_server_setup(ws_tls_config *tc, const void *cert, size_t cert_len,
                               const void *key, size_t key_len, const char *password) {
    int err = ws__tls_common(tc, MBEDTLS_SSL_IS_SERVER);
    const unsigned char *pw = (const unsigned char *)password;
    size_t pwl = password ? ws__strlen(password) : 0;
    if (err) return err;
    if (!cert || !key ||
        mbedtls_x509_crt_parse(&tc->_crt, (const unsigned char *)cert,
                               ws__tls_len(cert, cert_len)) != 0 ||
#if MBEDTLS_VERSION_MAJOR >= 3
        mbedtls_pk_parse_key(&tc->_key, (const unsigned char *)key, ws__tls_len(key, key_len),
                             pw, pwl, mbedtls_ctr_drbg_random, &tc->_drbg) != 0 ||
#else
        mbedtls_pk_parse_key(&tc->_key, (const unsigned char *)key, ws__tls_len(key, key_len),
                             pw, pwl) != 0 ||
#endif
        /* the key must be the certificate's, or every handshake fails later */
#if MBEDTLS_VERSION_MAJOR >= 3
        mbedtls_pk_check_pair(&tc->_crt.pk, &tc->_key, mbedtls_ctr_drbg_random, &tc->_drbg) != 0 ||
#else
        mbedtls_pk_check_pair(&tc->_crt.pk, &tc->_key) != 0 ||
#endif
        mbedtls_ssl_conf_own_cert(&tc->_conf, &tc->_crt, &tc->_key) != 0)
        return WS_ERR_ARG;
    mbedtls_ssl_conf_sni(&tc->_conf, ws__tls_sni, tc);
    return WS_OK;
}

WS_API int ws_tls_client_setup(ws_tls_config *tc, const void *ca, size_t ca_len,
                               unsigned flags) {
    int err = ws__tls_common(tc, MBEDTLS_SSL_IS_CLIENT);
    if (err) return err;
    if (flags & WS_TLS_INSECURE_NO_VERIFY) {
        mbedtls_ssl_conf_authmode(&tc->_conf, MBEDTLS_SSL_VERIFY_NONE);
        return WS_OK;
    }
    /* a bundle may hold certificates mbedTLS cannot read (a positive count): the others
       still count, as long as one was read */
    if (!ca || mbedtls_x509_crt_parse(&tc->_crt, (const unsigned char *)ca,
                                      ws__tls_len(ca, ca_len)) < 0 || !tc->_crt.raw.len)
        return WS_ERR_ARG;
    mbedtls_ssl_conf_ca_chain(&tc->_conf, &tc->_crt, NULL);
    mbedtls_ssl_conf_authmode(&tc->_conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    return WS_OK;
}

WS_API void ws_tls_config_free(ws_tls_config *tc) {
    if (!tc->_ready) return;
    mbedtls_ssl_config_free(&tc->_conf);
    mbedtls_x509_crt_free(&tc->_crt);
    mbedtls_pk_free(&tc->_key);
    mbedtls_ctr_drbg_free(&tc->_drbg);
    mbedtls_entropy_free(&tc->_entropy);
    tc->_ready = false;
}

/* t fails with err for mbedTLS's code mbed; returns err. */
static int ws__tls_fail(ws_tls *t, int err, int mbed) {
    if (t->_state == WS__TLS_FAILED) return t->_err;
    t->_state = WS__TLS_FAILED;
    t->_mbed = mbed;
    if (mbed == MBEDTLS_ERR_NET_SEND_FAILED) err = WS_ERR_IO;
    t->_err = (int8_t)err;
    return err;
}

static ws_str ws__x509_name(const mbedtls_x509_buf *b) {
    ws_str s;
    s.ptr = (const char *)b->p;
    s.len = b->len;
    return s;
}

/* Notes, while the peer's chain is verified, whether its certificate signed itself (a
   reason ws_tls_why gives: the peer certificate itself is gone once a handshake failed). */
static int ws__tls_verify(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags) {
    ws_tls *t = (ws_tls *)ctx;
    (void)flags;
    if (depth == 0)
        t->_self = ws__eq_str(ws__x509_name(&crt->issuer_raw), ws__x509_name(&crt->subject_raw),
                              false);
    return 0;
}

/* Runs one step of the handshake on what was fed. */
static int ws__tls_handshake(ws_tls *t) {
    int r;
    t->_busy = true;
    r = mbedtls_ssl_handshake(&t->_ssl);
    t->_busy = false;
    if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE) return 1;
    if (r != 0) {
        t->_verify = mbedtls_ssl_get_verify_result(&t->_ssl);
        if (t->_verify == (uint32_t)-1) t->_verify = 0;   /* no certificate was looked at */
        return ws__tls_fail(t, t->_verify && t->_cfg->_client ? WS_ERR_TLS_CERT : WS_ERR_TLS, r);
    }
    t->_state = WS__TLS_OPEN;
    if (t->_cfg->on_open) t->_cfg->on_open(t);
    return 0;
}

WS_API int ws_tls_init(ws_tls *t, const ws_tls_config *tc, const char *host, void *buf,
                       size_t cap, void *user) {
    if (!t) return WS_ERR_ARG;
    WS_MEMSET(t, 0, sizeof *t);
    t->user = user;
    t->_cfg = tc;
    t->_buf = (uint8_t *)buf;
    t->_cap = cap;
    t->_state = WS__TLS_FAILED;
    t->_err = WS_ERR_ARG;
    mbedtls_ssl_init(&t->_ssl);
    if (!tc || !tc->_ready || !buf || !cap) return WS_ERR_ARG;
    if (mbedtls_ssl_setup(&t->_ssl, &tc->_conf) != 0 ||
        (host && mbedtls_ssl_set_hostname(&t->_ssl, host) != 0))
        return WS_ERR_TLS;
    mbedtls_ssl_set_bio(&t->_ssl, t, ws__tls_bio_send, ws__tls_bio_recv, NULL);
    mbedtls_ssl_set_verify(&t->_ssl, ws__tls_verify, t);
    t->_state = WS__TLS_HANDSHAKE;
    t->_err = WS_OK;
    if (tc->_client) {                                  /* the ClientHello goes out now */
        int r = ws__tls_handshake(t);
        if (r < 0) return r;
    }
    return WS_OK;
}

/* Writes p[0..n-1] as records. */
static int ws__tls_write(ws_tls *t, const uint8_t *p, size_t n) {
    while (n) {
        int r;
        t->_busy = true;
        r = mbedtls_ssl_write(&t->_ssl, p, n);
        t->_busy = false;
        if (r < 0) return ws__tls_fail(t, WS_ERR_TLS, r);
        p += r;
        n -= (size_t)r;
    }
    return WS_OK;
}

/* Sends the small pieces that wait in t, as one record. */
static int ws__tls_flush(ws_tls *t) {
    size_t n = t->_pend_len;
    t->_pend_len = 0;
    return n ? ws__tls_write(t, t->_pend, n) : WS_OK;
}

WS_API int ws_tls_feed(ws_tls *t, const void *data, size_t len) {
    if (t->_state == WS__TLS_FAILED) return t->_err;
    if (t->_busy || t->_feeding) return WS_ERR_BUSY;   /* the outer feed's bytes are in use */
    if (t->_state == WS__TLS_EOF) return WS_ERR_EOF;
    if (len && !data) return WS_ERR_ARG;
    t->_feeding = true;
    t->_in = (const uint8_t *)data;
    t->_in_len = len;
    for (;;) {
        int r;
        if (t->_state == WS__TLS_HANDSHAKE) {
            if ((r = ws__tls_handshake(t)) > 0) break;          /* needs more */
            if (r < 0) break;
            continue;
        }
        if (t->_state != WS__TLS_OPEN) break;                   /* on_data closed it */
        t->_busy = true;
        r = mbedtls_ssl_read(&t->_ssl, t->_buf, t->_cap);
        t->_busy = false;
        if (r > 0) {
            t->_cfg->on_data(t, t->_buf, (size_t)r);
            continue;
        }
        if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE) break;
        if (r == 0 || r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) {
            t->_state = WS__TLS_EOF;
            break;
        }
        (void)ws__tls_fail(t, WS_ERR_TLS, r);
        break;
    }
    t->_in = NULL;
    t->_in_len = 0;
    t->_feeding = false;
    /* the replies made in its callbacks, together (after close_notify too: TLS allows it) */
    if (t->_pend_len && t->_state != WS__TLS_FAILED) (void)ws__tls_flush(t);
    return t->_state == WS__TLS_FAILED ? (int)t->_err
         : t->_state == WS__TLS_EOF ? (int)WS_ERR_EOF : (int)WS_OK;
}

WS_API int ws_tls_send(ws_tls *t, const ws_buf *bufs, size_t n) {
    size_t i;
    int err = WS_OK;
    if (t->_state == WS__TLS_FAILED) return t->_err;
    if (t->_busy) return WS_ERR_BUSY;
    if (t->_state != WS__TLS_OPEN) return WS_ERR_STATE;
    for (i = 0; i < n && !err; i++) {
        const uint8_t *p = (const uint8_t *)bufs[i].data;
        size_t len = bufs[i].len;
        if (len >= sizeof t->_pend) {              /* big: what waits, then this at once */
            if ((err = ws__tls_flush(t)) == WS_OK) err = ws__tls_write(t, p, len);
            continue;
        }
        if (len > sizeof t->_pend - t->_pend_len) err = ws__tls_flush(t);
        if (!err && len) {
            WS_MEMCPY(t->_pend + t->_pend_len, p, len);
            t->_pend_len = (uint16_t)(t->_pend_len + len);
        }
    }
    if (!err && !t->_feeding) err = ws__tls_flush(t);  /* the feed sends it as it returns */
    return err;
}

WS_API int ws_tls_close(ws_tls *t) {
    int r;
    if (t->_state == WS__TLS_FAILED) return t->_err;
    if (t->_busy) return WS_ERR_BUSY;
    if (t->_state == WS__TLS_HANDSHAKE) return WS_ERR_STATE;
    if ((r = ws__tls_flush(t)) != WS_OK) return r;      /* what waits goes first */
    t->_busy = true;
    r = mbedtls_ssl_close_notify(&t->_ssl);
    t->_busy = false;
    return r < 0 && r != MBEDTLS_ERR_SSL_WANT_READ ? ws__tls_fail(t, WS_ERR_TLS, r) : WS_OK;
}

WS_API void ws_tls_free(ws_tls *t) { mbedtls_ssl_free(&t->_ssl); }

WS_API bool ws_tls_ready(const ws_tls *t) { return t->_state == WS__TLS_OPEN; }

WS_API const char *ws_tls_server_name(const ws_tls *t) { return t->_name; }

WS_API int ws_tls_use_cert(ws_tls *t, mbedtls_x509_crt *cert, mbedtls_pk_context *key) {
    return mbedtls_ssl_set_hs_own_cert(&t->_ssl, cert, key) == 0 ? WS_OK : WS_ERR_ARG;
}

WS_API int ws_tls_mbedtls_error(const ws_tls *t) { return t->_mbed; }
WS_API uint32_t ws_tls_verify_flags(const ws_tls *t) { return t->_verify; }

WS_API const char *ws_tls_why(const ws_tls *t) {
    uint32_t v = t->_verify;
    if (t->_state != WS__TLS_FAILED) return t->_state == WS__TLS_EOF ? "closed by the peer" : "";
    if (t->_err == WS_ERR_TLS_CERT) {
        if (v & MBEDTLS_X509_BADCERT_EXPIRED) return "certificate expired";
        if (v & MBEDTLS_X509_BADCERT_FUTURE) return "certificate not valid yet";
        if (v & MBEDTLS_X509_BADCERT_CN_MISMATCH) return "certificate is for another name";
        if (v & MBEDTLS_X509_BADCERT_NOT_TRUSTED) {
            if (t->_self) return "self-signed certificate";
            return "certificate signed by an unknown CA";
        }
        if (v & MBEDTLS_X509_BADCERT_REVOKED) return "certificate revoked";
        return "certificate refused";
    }
    switch (t->_mbed) {
    case MBEDTLS_ERR_NET_SEND_FAILED: return "the send callback failed";
    case MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE: return "the peer sent a fatal alert";
    case MBEDTLS_ERR_SSL_INVALID_RECORD:
    case MBEDTLS_ERR_SSL_BAD_HS_CLIENT_HELLO:
    case MBEDTLS_ERR_SSL_BAD_HS_SERVER_HELLO: return "not TLS (plain HTTP?), or a bad hello";
    case MBEDTLS_ERR_SSL_INVALID_MAC: return "a record failed its integrity check";
    case MBEDTLS_ERR_SSL_NO_CIPHER_CHOSEN:
    case MBEDTLS_ERR_SSL_NO_USABLE_CIPHERSUITE: return "no cipher suite in common";
    case MBEDTLS_ERR_SSL_BAD_HS_PROTOCOL_VERSION: return "no TLS version in common (1.2+)";
    case MBEDTLS_ERR_SSL_UNEXPECTED_MESSAGE: return "unexpected handshake message";
    default: return t->_mbed ? "TLS handshake or record failed" : ws_strerror(t->_err);
    }
}
#endif /* WS_MBEDTLS */

#ifdef __cplusplus
}
#endif

#endif /* WS_IMPLEMENTATION */

/* ------------------------------------------------------------------------------
   This software is available under two licences; choose whichever you prefer.
   ------------------------------------------------------------------------------
   ALTERNATIVE A - MIT License
   Copyright (c) 2026 the ws.h authors
   Permission is hereby granted, free of charge, to any person obtaining a copy of this
   software and associated documentation files (the "Software"), to deal in the Software
   without restriction, including without limitation the rights to use, copy, modify,
   merge, publish, distribute, sublicense, and/or sell copies of the Software, and to
   permit persons to whom the Software is furnished to do so, subject to the following
   conditions:
   The above copyright notice and this permission notice shall be included in all copies
   or substantial portions of the Software.
   THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED,
   INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A
   PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT
   HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF
   CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE
   OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
   ------------------------------------------------------------------------------
   ALTERNATIVE B - Public Domain (www.unlicense.org)
   This is free and unencumbered software released into the public domain. Anyone is free
   to copy, modify, publish, use, compile, sell, or distribute this software, either in
   source code form or as a compiled binary, for any purpose, commercial or
   non-commercial, and by any means. In jurisdictions that recognize copyright laws, the
   author or authors of this software dedicate any and all copyright interest in the
   software to the public domain. We make this dedication for the benefit of the public
   at large and to the detriment of our heirs and successors. We intend this dedication
   to be an overt act of relinquishment in perpetuity of all present and future rights to
   this software under copyright law.
   THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED,
   INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A
   PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS BE LIABLE FOR ANY
   CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE,
   ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN
   THE SOFTWARE.
   ------------------------------------------------------------------------------ */
