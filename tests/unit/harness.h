/* harness.h - shared helpers of the unit tests: a connection whose callbacks record what
   happens, a parser for the frames it sent, and runners that feed the same input whole, one
   byte at a time and split at every position, and compare what came out.

   The event log is a string of space-separated tokens:
       B<op>:<size>     on_begin (size "?" for WS_SIZE_UNKNOWN)
       D:<payload>      on_data; consecutive chunks are merged, so chunking does not show
       E                on_end
       M<op>:<payload>  on_message (whole-message mode)
       P<op>:<payload>  on_control (9 ping, a pong)
       X<code>:<reason> on_close
   Payload bytes appear as themselves when printable (0x21..0x7e, not '\'), as \xHH
   otherwise: "Hello" logs as Hello, "a b" as a\x20b. Data still pending when on_close
   arrives (the unfinished part of a failed message) is dropped, since how much of it was
   delivered before the failure depends on how the bytes were split; the harness checks
   separately that no invalid UTF-8 was ever delivered as text. */
#ifndef HARNESS_H_INCLUDED
#define HARNESS_H_INCLUDED

#include "../../ws.h"
#include "test.h"

#include <stddef.h>
#include <stdint.h>

/* ---- growable byte buffer --------------------------------------------------- */

typedef struct tbuf {
    uint8_t *p;     /* NUL-terminated when used as a string */
    size_t   len, cap;
} tbuf;

void tbuf_put(tbuf *b, const void *data, size_t n);
void tbuf_puts(tbuf *b, const char *s);
void tbuf_escape(tbuf *b, const void *data, size_t n);
void tbuf_free(tbuf *b);
const char *tbuf_str(tbuf *b);      /* "" when empty */

/* ---- a recording connection ------------------------------------------------- */

typedef struct h_call {             /* one call of the send callback */
    size_t      n;                  /* pieces */
    size_t      len[4];             /* first 4 pieces */
    const void *ptr[4];
} h_call;

enum { H_MAX_CALLS = 256 };

typedef struct harness {
    ws_config cfg;
    ws_conn   conn;
    tbuf      log;                  /* events, see above */
    tbuf      pending;              /* on_data bytes not logged yet */
    int       in_msg;               /* between on_begin and on_end */
    int       msg_op;
    uint32_t  text_state;           /* reference UTF-8 state of the text message */
    int       bad_text;             /* invalid UTF-8 was delivered as text */
    int       order_errors;         /* callbacks out of order (data outside a message...) */
    int       buffered;             /* ws_conn_set_buffer was given a buffer */
    int       begins_buffered;      /* on_begin calls while buffered (not logged: see
                                       frame's buffer_mode_calls_only_on_message) */
    tbuf      sent;                 /* every byte given to the send callback */
    size_t    ncalls;               /* send calls */
    h_call    calls[H_MAX_CALLS];
    int       send_fail;            /* the send callback returns -1 while set */
    tbuf      rnd;                  /* every byte handed out by the random callback */
    uint64_t  rng;
    int       random_calls;
    int       close_calls;
    unsigned  close_code;           /* of the last on_close */
    tbuf      close_reason;
    uint8_t  *mbuf;                 /* whole-message buffer (malloc) */
    size_t    mcap;
} harness;

/* Settings of a test connection: cfg holds the limits and flags to use (its callbacks are
   replaced by the harness's); bufcap > 0 gives it a whole-message buffer of that size. */
typedef struct h_setup {
    ws_config cfg;
    size_t    bufcap;
    unsigned  close_first;          /* nonzero: ws_conn_close(code, "bye") once open */
} h_setup;

/* Sets h up per s (NULL: a default server) and opens it: a server with ws_conn_accept(NULL),
   a client with ws_conn_connect then ws_conn_connected(NULL); then, with s->close_first,
   starts closing. What was sent so far is forgotten. Returns 0, or -1 after a failed
   check. */
int  h_open(harness *h, const h_setup *s);
/* Sets h up and stops in CONNECTING (nothing sent). */
int  h_init(harness *h, const h_setup *s);
void h_free(harness *h);
/* Forgets what was sent so far. */
void h_clear_sent(harness *h);
/* Adds the data still pending to the log and returns the log. */
const char *h_log(harness *h);

/* ---- frames in sent bytes ---------------------------------------------------- */

typedef struct sframe {
    int      fin, rsv, op, masked;
    uint8_t  key[4];
    uint8_t *payload;               /* unmasked copy (malloc) */
    uint64_t len;
} sframe;

enum { MAX_SFRAMES = 64 };

/* Parses the frames in p[0..n-1] into out (unmasking) with the decoder the fuzz targets use
   too (wire.h), and stores their number in *count. Returns 0, or -1 (and prints why) when
   the bytes are not a whole number of frames that ws.h may send: all masked or all not, any
   RSV bits (the caller checks rsv), and every other rule of wire.h. */
int  sframes_parse(const uint8_t *p, size_t n, sframe *out, size_t max, size_t *count);
void sframes_free(sframe *f, size_t count);

/* Checks that bytes is a sequence of frames whose last is a close frame with code (0: an
   empty close), masked when mask_expected, and returns the number of frames or -1. */
int check_close_frame_at(const uint8_t *bytes, size_t n, int mask_expected, unsigned code,
                         const char *file, int line);
#define CHECK_CLOSE_SENT(bytes, n, mask_expected, code) \
    check_close_frame_at((bytes), (n), (mask_expected), (code), __FILE__, __LINE__)

/* ---- feeding an input in every split ---------------------------------------- */

typedef struct feed_result {
    int      rc;                    /* first non-OK return of ws_conn_feed, or WS_OK */
    int      later_rc_differs;      /* a feed after the first error returned another code */
    tbuf     log;
    tbuf     sent;
    ws_state state;
    int      err;                   /* ws_conn_error */
    unsigned close_code;            /* ws_conn_close_code */
    int      close_calls;
    unsigned cb_code;               /* code given to on_close */
    int      order_errors, bad_text;
} feed_result;

void feed_result_free(feed_result *r);

/* Feeds in[0..len-1] to a fresh connection made per s: whole, one byte at a time, and split
   in two at every position (for inputs over 4 KiB: every position in the first and last
   512 bytes and every 251st in between). Each piece is copied into its own buffer of exactly
   its size, so a read outside it is caught by AddressSanitizer. Every run must give the
   same returns, events, sent bytes, state and close code as the whole run, which is stored
   in *whole for the caller to check (feed_result_free it). After an error, one more valid
   frame is fed and must return the same error, send nothing and call nothing. */
void feed_all_splits_at(const h_setup *s, const uint8_t *in, size_t len, feed_result *whole,
                        const char *file, int line);
#define FEED_ALL_SPLITS(s, in, len, whole) \
    feed_all_splits_at((s), (in), (len), (whole), __FILE__, __LINE__)

/* The whole expected outcome of a parser test in one call: FEED_ALL_SPLITS, then the
   return code, the log, and the close frame sent (close_sent: -1 = nothing at all may be
   sent, 0 = don't look, otherwise the code of the last frame sent, which must be a close;
   an empty close is checked with CHECK_CLOSE_SENT directly). state is checked too. */
void expect_feed_at(const h_setup *s, const uint8_t *in, size_t len, int rc,
                    const char *log, int close_sent, ws_state state, const char *file,
                    int line);
#define EXPECT_FEED(s, in, len, rc, log, close_sent, state) \
    expect_feed_at((s), (in), (len), (rc), (log), (close_sent), (state), __FILE__, __LINE__)

/* ---- HTTP heads in every split ------------------------------------------------ */

/* Parses text[0..len-1] as a request head (response = 0) or a response head (1) with
   ws_http_init(h, max): whole; every prefix alone in a buffer of exactly its size (must be
   WS_HS_PARTIAL, or the final error found early, or the final result once the head is
   complete); the same buffer grown one byte at a time; and two calls at every split. Every
   way must end with the same result and the same fields as the whole parse, which is left
   in *h over *buf (malloc: free it when done with *h). Returns the whole parse's result. */
int http_parse_all_at(ws_http *h, char **buf, const char *text, size_t len, size_t max,
                      int response, const char *file, int line);
#define HTTP_PARSE_ALL(h, buf, text, len, max, response) \
    http_parse_all_at((h), (buf), (text), (len), (max), (response), __FILE__, __LINE__)
/* True if s holds exactly the C string want (want NULL: s is {NULL, 0}). */
int str_is(ws_str s, const char *want);
int check_str_at(ws_str s, const char *want, const char *file, int line, const char *expr);
#define CHECK_STR(s, want) check_str_at((s), (want), __FILE__, __LINE__, #s)

/* ---- building inputs ----------------------------------------------------------- */

/* Appends a frame to b: masked with key when key is not NULL. The length is encoded in the
   shortest form, unless force_len_bytes is 2 or 8 (then 126 or 127 form). */
void frame_put(tbuf *b, int fin, int rsv, int op, const void *payload, size_t len,
               const uint8_t *key);
void frame_put_ext(tbuf *b, int fin, int rsv, int op, const void *payload, size_t len,
                   const uint8_t *key, int force_len_bytes);
/* A close payload: 2-byte code and reason. */
size_t close_body(uint8_t *out, unsigned code, const char *reason, size_t reason_len);

/* Setups used all over: the default server (expects masked frames) and client. */
h_setup setup_server(void);
h_setup setup_client(void);

/* A fixed mask key for frames that a client sends. */
extern const uint8_t test_key[4];

/* Independent UTF-8 validator (a plain reading of RFC 3629's table), for cross-checks:
   the same contract as ws_utf8_validate. */
size_t ref_utf8_validate(uint32_t *state, const uint8_t *p, size_t n);

/* A byte array of a test on the heap, exactly n long. */
uint8_t *dup_exact(const void *p, size_t n);

#endif /* HARNESS_H_INCLUDED */
