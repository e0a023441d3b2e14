/* ws.h - v0.1.0 - RFC 6455 WebSockets in one header, for servers, clients and firmware
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

   EXAMPLE (server side, one connection; examples/echo_server.c is the full program)

       static int on_send(ws_conn *c, const ws_buf *bufs, size_t n) {
           ... write every bufs[i] to (int)(intptr_t)c->user, queueing what would block;
           return 0;                               // or a negative value: the conn fails
       }
       static void on_data(ws_conn *c, const void *data, size_t len) { ... }  // a chunk
       static ws_config cfg;                       // shared by all connections, zero = defaults
       cfg.send = on_send; cfg.on_data = on_data;

       ws_http req; ws_http_init(&req, 0);         // bytes arrive in buf[0..len-1]
       int r = ws_http_parse_request(&req, buf, len);
       if (r == WS_HS_PARTIAL) read more;
       else if (r < 0) send ws_handshake_reject(...) for r, then close;   // 400, 426, 431
       else if (r == WS_HS_HTTP) it is a plain HTTP request: yours to serve;
       else {                                      // WS_HS_UPGRADE
           ws_conn_init(&conn, &cfg, user);
           ws_conn_accept(&conn, &req, NULL);      // 101 Switching Protocols goes out
           ws_conn_feed(&conn, buf + req.size, len - req.size);  // frames after the request
       }
       ... later: n = recv(fd, buf, sizeof buf, 0); ws_conn_feed(&conn, buf, n);
       ... and every so often: ws_conn_tick(&conn, now_ms) for keepalive and timeouts.

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

   WHAT IT DOESN'T
       Sockets, threads, timers, TLS, extensions (permessage-deflate). RSV bits can be handed
       to your own extension with ws_config.rsv_allowed.

   CONFIGURATION (macros)
       WS_IMPLEMENTATION   emit the code                                 one .c file
       WS_STATIC           every function static (private copy per TU)   with WS_IMPLEMENTATION
       WS_API              decoration of public declarations             everywhere
       WS_NO_SERVER        leave out the server handshake (client only)  everywhere
       WS_NO_CLIENT        leave out the client handshake (server only)  everywhere
       WS_FREESTANDING     no libc header at all; plain-loop memory      implementation file
                           helpers; WS_ASSERT a no-op
       WS_ASSERT(c)        internal invariants (assert)                  implementation file
       WS_MEMCPY, WS_MEMMOVE, WS_MEMSET   your own memory helpers;       implementation file
                           define all three or none
       WS_NO_ERROR_STRINGS ws_strerror returns the code's name only      implementation file
       WS_MAX_HEADERS      headers kept by ws_http (default 32)          everywhere, same value
       WS_MASK_CHUNK       stack bytes used to mask a client frame       implementation file
                           before it is handed to ws_config.send (256)

   MEMORY
       Nothing is allocated. A ws_conn is a plain struct you own (sizeof(ws_conn) is 240 bytes
       on x86-64, including the 125-byte control-frame buffer). It points at a ws_config you
       keep alive for as long as the connection: one config is normally shared by every
       connection of a server, which is what keeps a connection this small. Received payload
       is delivered as slices of the buffer you passed to ws_conn_feed (unmasked in place),
       unless you give the connection a message buffer (ws_conn_set_buffer) to collect whole
       messages in. A ws_http (parsed handshake, about 1.2 KiB) is needed only during the
       handshake and may live on your stack.

   ERRORS
       Functions return 0 (WS_OK) on success and a negative ws_err on failure; counts travel
       through size_t out-parameters. "Need more bytes" is not an error. ws_strerror() gives a
       short message for every code. Errors of a connection are sticky: after a failure every
       call returns the same code. What went on the wire:
           WS_ERR_PROTOCOL      close 1002          WS_ERR_HS_*  HTTP status ws_http_status(e):
           WS_ERR_UTF8          close 1007                        400, 403, 426 or 431
           WS_ERR_TOO_BIG       close 1009
           WS_ERR_TIMEOUT       nothing (the peer is gone; close the socket)
       Accepted close codes in received close frames: 1000-1003, 1007-1014, 3000-4999.
       Anything else (and a 1-byte close body) fails the connection with 1002; a close reason
       that is not UTF-8 fails it with 1007.

   THREADS
       No global or static mutable state. A connection is used by one thread at a time; a
       ws_config may be shared read-only by any number of threads.

   VERSIONS
       0.1.0 (2026-11-21) first release: handshake, parser, encoder, connection, keepalive.
*/
#ifndef WS_H_INCLUDED
#define WS_H_INCLUDED

#define WS_VERSION_MAJOR 0
#define WS_VERSION_MINOR 1
#define WS_VERSION_PATCH 0
#define WS_VERSION_STRING "0.1.0"

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

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
   new codes are added at the end. The text is what ws_strerror() returns. */
#define WS_ERROR_LIST(X)                                                                   \
    X(WS_OK,                 0, "success")                                                 \
    X(WS_ERR_ARG,           -1, "invalid argument")                                        \
    X(WS_ERR_STATE,         -2, "not allowed in the connection's current state")           \
    X(WS_ERR_PROTOCOL,      -3, "frame violates RFC 6455 (close 1002)")                    \
    X(WS_ERR_UTF8,          -4, "text is not valid UTF-8 (close 1007)")                    \
    X(WS_ERR_TOO_BIG,       -5, "frame or message exceeds the size limit (close 1009)")    \
    X(WS_ERR_IO,            -6, "the send callback reported a failure")                    \
    X(WS_ERR_NOSPACE,       -7, "output buffer too small")                                 \
    X(WS_ERR_TIMEOUT,       -8, "the peer did not answer in time")                         \
    X(WS_ERR_HS_MALFORMED,  -9, "malformed HTTP request (HTTP 400)")                       \
    X(WS_ERR_HS_METHOD,    -10, "WebSocket handshake must use GET (HTTP 400)")             \
    X(WS_ERR_HS_HTTP_VERSION, -11, "WebSocket handshake needs HTTP/1.1 or later (HTTP 400)") \
    X(WS_ERR_HS_HOST,      -12, "missing or repeated Host header (HTTP 400)")              \
    X(WS_ERR_HS_CONNECTION, -13, "Connection header lacks the Upgrade token (HTTP 400)")   \
    X(WS_ERR_HS_KEY,       -14, "Sec-WebSocket-Key missing or not 16 bytes of base64 (HTTP 400)") \
    X(WS_ERR_HS_VERSION,   -15, "Sec-WebSocket-Version is not 13 (HTTP 426)")              \
    X(WS_ERR_HS_TOO_BIG,   -16, "handshake header block too large (HTTP 431)")             \
    X(WS_ERR_HS_TOO_MANY,  -17, "too many header fields (HTTP 431)")                       \
    X(WS_ERR_HS_ORIGIN,    -18, "origin not allowed (HTTP 403)")                           \
    X(WS_ERR_HS_STATUS,    -19, "server did not answer 101 Switching Protocols")           \
    X(WS_ERR_HS_UPGRADE,   -20, "response lacks Upgrade: websocket or Connection: Upgrade") \
    X(WS_ERR_HS_ACCEPT,    -21, "Sec-WebSocket-Accept does not match the key")             \
    X(WS_ERR_HS_PROTOCOL,  -22, "server chose a subprotocol that was not offered")         \
    X(WS_ERR_HS_EXTENSION, -23, "server accepted an extension that was not offered")

typedef enum ws_err {
#define WS__ERR_ENUM(name, value, text) name = value,
    WS_ERROR_LIST(WS__ERR_ENUM)
#undef WS__ERR_ENUM
    WS__ERR_LAST = -23
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
    WS_STATE_CLOSING,        /* we sent a close and wait for the peer's */
    WS_STATE_CLOSED,         /* close handshake complete: close the TCP connection */
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
    uint32_t ping_interval_ms;      /* ping when nothing was received this long; 0 = never */
    uint32_t timeout_ms;            /* fail with WS_ERR_TIMEOUT when nothing was received
                                       this long; 0 = never */
    uint32_t handshake_timeout_ms;  /* CONNECTING longer than this fails; 0 = no limit */
    uint32_t close_timeout_ms;      /* CLOSING longer than this fails; 0 = default (5000) */
    uint8_t  rsv_allowed;           /* RSV bits (0x40, 0x20, 0x10) your extension owns;
                                       0 = default: any RSV bit set is a protocol error */
    bool     no_auto_pong;          /* false (default): pings are answered by the library */

    /* Required. Sends bufs[0..n-1] in order. Return 0 once every byte is written or queued
       by you; a negative value fails the connection with WS_ERR_IO. Never asked to send
       more than it was given; call it "would block" by queueing, not by returning less. */
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
    /* A ping or pong arrived (after the automatic pong went out). */
    void (*on_control)(ws_conn *c, ws_opcode op, const void *data, size_t len);
    /* The connection ended, called exactly once: code is the peer's close code (1005 when
       its close had none), the code we sent when we failed it (1002, 1007, 1009), or 1006
       when it timed out or the send callback failed. */
    void (*on_close)(ws_conn *c, unsigned code, const char *reason, size_t len);
} ws_config;

/* One connection. Allocate it yourself (static, on the heap, in an array) and set it up with
   ws_conn_init. Only `user` is yours to touch. */
struct ws_conn {
    void *user;                     /* yours: ws.h never reads it */
    /* private: do not touch */
    const ws_config *_cfg;
    uint8_t  *_mbuf;                /* whole-message buffer (ws_conn_set_buffer) */
    size_t    _mcap, _mlen;
    uint64_t  _remaining;           /* payload bytes left in the current received frame */
    uint64_t  _msg_size;            /* bytes of the current data message so far */
    uint64_t  _tx_remaining;        /* payload bytes owed by ws_conn_send_payload */
    uint64_t  _t_mark;              /* last activity (tick time) */
    uint64_t  _t_wait;              /* when the outstanding ping / close / handshake began */
    const char *_protocols;         /* client: offered subprotocols, until the handshake ends */
    uint32_t  _utf8;                /* UTF-8 validator state */
    int16_t   _err;                 /* sticky error */
    uint16_t  _code;                /* close code received or sent */
    uint8_t   _state, _pstate, _flags, _op, _msg_op, _hlen, _hneed, _mask_pos;
    uint8_t   _mask[4], _tx_mask[4];
    uint8_t   _tx_mask_pos, _clen;
    uint8_t   _ctrl[125];           /* control payload; frame header bytes; client accept */
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
    size_t _max, _scanned;
} ws_http;

/* Prepares h for a new message. max_size bounds the head in bytes; 0 = default (8192).
   A zeroed ws_http is also ready (with the default). */
WS_API void ws_http_init(ws_http *h, size_t max_size);

#ifndef WS_NO_SERVER
/* Parses an HTTP request head from buf[0..len-1], the bytes received so far (call again with
   the same buffer, grown, after WS_HS_PARTIAL: already scanned bytes are not scanned again).
   Never reads past len and never writes to buf.
   Returns:
     WS_HS_PARTIAL   the head is not complete yet.
     WS_HS_UPGRADE   a valid WebSocket upgrade (RFC 6455 4.2.1); h->size bytes were the head.
     WS_HS_HTTP      a complete request that asks for no WebSocket upgrade: yours to serve.
     WS_ERR_HS_*     a bad request or a bad upgrade; answer ws_http_status(r) (see
                     ws_handshake_reject) and close. */
WS_API int ws_http_parse_request(ws_http *h, const void *buf, size_t len);
#endif

#ifndef WS_NO_CLIENT
/* Parses an HTTP response head, the same way. Returns WS_HS_PARTIAL, WS_HS_UPGRADE when the
   head is complete (check it with ws_handshake_check or ws_conn_connected), or
   WS_ERR_HS_MALFORMED / WS_ERR_HS_TOO_BIG / WS_ERR_HS_TOO_MANY. */
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
} ws_client_opts;

/* Writes the upgrade request to out[0..cap-1] and its length to *len. key is the
   24-character base64 nonce (ws_handshake_key makes one).
   Returns WS_OK, WS_ERR_ARG (no host, a CR or LF inside a field), WS_ERR_NOSPACE. */
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
#endif

/* ---- connection ---------------------------------------------------------- */

/* Sets c up in WS_STATE_CONNECTING with settings cfg (kept by pointer: it must outlive c)
   and your user pointer. Returns WS_OK or WS_ERR_ARG (no cfg or no send callback, or a
   client without a random callback). */
WS_API int ws_conn_init(ws_conn *c, const ws_config *cfg, void *user);

/* Gives c a buffer to collect whole messages in: from then on, data messages arrive through
   on_message in one piece, and one larger than cap fails the connection with close 1009.
   buf = NULL returns to streaming. Call it when no message is half received. */
WS_API void ws_conn_set_buffer(ws_conn *c, void *buf, size_t cap);

#ifndef WS_NO_SERVER
/* Server: sends the 101 response for req (protocol: NULL or one req offered) through the
   send callback and opens the connection. req = NULL just opens it, for servers that wrote
   their own 101 (ws_accept_key helps).
   Returns WS_OK, WS_ERR_STATE (not CONNECTING), WS_ERR_ARG (protocol not offered),
   WS_ERR_IO. */
WS_API int ws_conn_accept(ws_conn *c, const ws_http *req, const char *protocol);

/* Server: sends the error response for handshake error err through the send callback and
   leaves c FAILED with err. Returns err, or WS_ERR_IO. */
WS_API int ws_conn_reject(ws_conn *c, int err);
#endif

#ifndef WS_NO_CLIENT
/* Client: draws a key from the random callback, sends the upgrade request and waits
   (CONNECTING) for the response. opts->protocols must stay valid until the handshake ends.
   Returns WS_OK, WS_ERR_STATE, WS_ERR_ARG, WS_ERR_IO. */
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
 * Returns:
 *   WS_OK            every byte was consumed (bytes after a completed close are ignored).
 *   WS_ERR_PROTOCOL  RFC 6455 violation; close 1002 was sent.
 *   WS_ERR_UTF8      invalid UTF-8 in a text message or close reason; close 1007 was sent.
 *   WS_ERR_TOO_BIG   frame or message over the limit; close 1009 was sent.
 *   WS_ERR_IO        the send callback failed (answering a ping or close).
 *   WS_ERR_STATE     the connection is still CONNECTING.
 *   An earlier error, again: errors are sticky.
 * Notes:
 *   data must be writable (unmasking is in place). Check ws_conn_state afterwards: CLOSED
 *   or FAILED means close the socket.
 */
WS_API int ws_conn_feed(ws_conn *c, void *data, size_t len);

/* Sends one whole message or control frame: op is WS_OP_TEXT, WS_OP_BINARY, WS_OP_PING or
 * WS_OP_PONG (control payloads at most 125 bytes). A server hands the header and the
 * payload to the send callback as two pieces, without copying; a client masks through a
 * small stack buffer. Text is sent as given (ws_utf8_valid checks it if you need to).
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
   For relaying a large message without holding it. */
WS_API int ws_conn_send_header(ws_conn *c, bool fin, ws_opcode op, uint64_t size);
WS_API int ws_conn_send_payload(ws_conn *c, const void *data, size_t len);

/* Server: sends a frame encoded once with ws_frame_encode (unmasked) to this connection,
   as-is: the broadcast case. Returns as ws_conn_send. */
WS_API int ws_conn_send_raw(ws_conn *c, const void *frame, size_t len);

/* Starts the closing handshake: sends a close frame with code (0 = none, otherwise a code
   ws_close_code_valid accepts, not 1005/1006/1015) and a UTF-8 reason of at most 123
   bytes, then waits (CLOSING) for the peer's close, at most close_timeout_ms.
   Returns WS_OK, WS_ERR_ARG, WS_ERR_STATE (already closing, closed or failed), WS_ERR_IO. */
WS_API int ws_conn_close(ws_conn *c, unsigned code, const char *reason, size_t len);

/* Advances the connection's clock to now (milliseconds, any epoch, never going back): sends
 * a keepalive ping when nothing was received for ping_interval_ms, and fails the connection
 * with WS_ERR_TIMEOUT when nothing was received for timeout_ms, when the handshake took
 * longer than handshake_timeout_ms, or the close handshake longer than close_timeout_ms.
 * Activity is noted by ws_conn_feed and timed at the next tick.
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

/* ---- frames ---------------------------------------------------------------- */

/* Writes a frame header (2 to 14 bytes) to out and returns its length. mask is NULL for an
   unmasked (server) frame, or the 4-byte key of a masked (client) frame. */
WS_API size_t ws_frame_header(uint8_t out[14], bool fin, ws_opcode op, uint64_t len,
                              const uint8_t *mask);

/* Writes a whole frame (header and payload, masked with mask unless it is NULL) to
   out[0..cap-1] and its length to *len. Returns WS_OK, WS_ERR_ARG or WS_ERR_NOSPACE. */
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
