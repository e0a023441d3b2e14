/* fuzz_tls.c - ws.h's TLS glue (WS_MBEDTLS: ws_tls_init, ws_tls_feed, ws_tls_send,
   ws_tls_close) as a server and as a client, fed garbage, truncated, corrupted and split
   records. Needs mbedTLS: built with -DWS_MBEDTLS and -lmbedtls -lmbedx509 -lmbedcrypto
   (fuzz/fuzz.mk builds it only where mbedTLS's headers are; tests/run_fuzz_replay.sh says
   it skipped elsewhere).

   Every run is deterministic: the random generators of both sides are seeded again before
   each input with fixed bytes (a harness-only reach into ws_tls_config's private members),
   so a recorded handshake replays exactly. The server's key and certificate (EC P-256,
   self-signed, CN fuzz.example) are made at start with that generator: nothing is committed.

   Input: [0] mode and flags, [1] the plaintext buffer's size (ws_tls_init's cap: 1 to
   16384), then
     mode 0 (a server) or 1 (a client, verifying fuzz.example, or not: flag 0x10): chunks of
       [length][bytes] (length 0: the rest) fed to it as the peer's bytes, whole or one byte
       at a time (flag 0x20);
     mode 2 (a client and a server wired together in memory): actions, each [op][arg...]:
       deliver n queued bytes either way, send application data from either side, flip a
       byte of a queued record, drop the rest of a queue (a cut connection), close_notify;
       then everything left is delivered. Flag 0x10 verifies the certificate, 0x20 makes
       the server echo what it receives from inside on_data.
   Checks: every return is one the manual lists (WS_OK, WS_ERR_TLS, WS_ERR_TLS_CERT,
   WS_ERR_EOF, WS_ERR_STATE before the handshake ended); errors are sticky and ws_tls_why
   says something for them; nothing is decrypted before the handshake ended, or after a
   failure or close_notify; ws_tls_feed, ws_tls_send and ws_tls_close inside tc->send get
   WS_ERR_BUSY and change nothing, and so does ws_tls_feed inside on_data; in mode 2 the plaintext each side receives is exactly
   what the other sent (in any split and buffer size) when nothing was tampered with, and
   both handshakes finish; with a flipped byte or a cut, it is a prefix of what was sent
   (a record is never delivered altered), and a flipped byte ends in WS_ERR_TLS.
   FZ_TLS_DUMP=DIR (libFuzzer or replay): mode 2 inputs also write what each side sent,
   as inputs of modes 0 and 1, to DIR (how seed-server-* and seed-client-* were made).
   FZ_TLS_TRACE=1: one line per input on stderr, how far each side got. */
#define _POSIX_C_SOURCE 200809L
#define WS_MBEDTLS
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>
#include "fuzz.h"

enum { SIDES = 2, QUEUE_MAX = 1 << 20, SENT_MAX = 1 << 20 };

typedef struct side {
    ws_tls   tls;
    int      last;              /* the last ws_tls_* result (the sticky error once failed) */
    int      failed;            /* an error came back (sticky from then on) */
    int      ready;             /* on_open was called */
    int      eof;               /* close_notify received */
    int      in_send;           /* inside its tc->send */
    int      echo;              /* a server echoing what arrives */
    fz_buf   sent;              /* plaintext given to ws_tls_send successfully */
    fz_buf   got;               /* plaintext delivered by on_data */
    fz_buf   out;               /* ciphertext it sent, not yet delivered to the other */
    fz_buf   wire;              /* every byte it sent (FZ_TLS_DUMP) */
    size_t   out_at;            /* delivered from out so far */
} side;

static side S[SIDES];           /* 0 client, 1 server */
static uint8_t plain[16384];
static ws_tls_config srv, cli_verify, cli_open;
static int setup_done, dumping, tracing;

static void trace(const char *what) {
    int i;
    if (!tracing) return;
    fprintf(stderr, "%s:", what);
    for (i = 0; i < SIDES; i++)
        fprintf(stderr, " %s ready %d failed %d (%s) eof %d sent %zu got %zu", i ? "server" : "client",
                S[i].ready, S[i].failed, ws_tls_why(&S[i].tls), S[i].eof, S[i].sent.len, S[i].got.len);
    fprintf(stderr, "\n");
}

/* fixed "entropy": the same bytes every time */
static int fixed_entropy(void *ctx, unsigned char *out, size_t n) {
    (void)ctx;
    for (size_t i = 0; i < n; i++) out[i] = (unsigned char)(i * 29u + 7u);
    return 0;
}

static void reseed(ws_tls_config *tc, const char *who) {
    mbedtls_ctr_drbg_free(&tc->_drbg);
    mbedtls_ctr_drbg_init(&tc->_drbg);
    CHECK(mbedtls_ctr_drbg_seed(&tc->_drbg, fixed_entropy, NULL, (const unsigned char *)who,
                                strlen(who)) == 0);
}

static side *side_of(ws_tls *t) { return (side *)t->user; }

/* the documented results of the calls made here */
static int known(int r) {
    return r == WS_OK || r == WS_ERR_TLS || r == WS_ERR_TLS_CERT || r == WS_ERR_EOF ||
           r == WS_ERR_IO || r == WS_ERR_STATE;
}

static void note(side *s, int r) {
    CHECK(known(r));
    if (s->failed) CHECK(r == s->last);                         /* sticky */
    if (r == WS_ERR_TLS || r == WS_ERR_TLS_CERT || r == WS_ERR_IO) {
        if (!s->failed) s->last = r;
        s->failed = 1;
        CHECK(ws_tls_why(&s->tls)[0] != 0);
        CHECK(!ws_tls_ready(&s->tls));
    }
    if (r == WS_ERR_EOF) s->eof = 1;
}

static int on_send(ws_tls *t, const void *data, size_t len) {
    side *s = side_of(t);
    uint8_t x = 0;
    ws_buf b = { &x, 1 };
    CHECK(len > 0 && !s->in_send);
    s->in_send = 1;
    /* nothing of t may be called from here: each call is refused and changes nothing */
    CHECK(ws_tls_feed(t, &x, 1) == WS_ERR_BUSY);
    CHECK(ws_tls_send(t, &b, 1) == WS_ERR_BUSY);
    CHECK(ws_tls_close(t) == WS_ERR_BUSY);
    s->in_send = 0;
    if (s->out.len - s->out_at + len > QUEUE_MAX) return -1;  /* a stuck peer: it fails */
    fz_put(&s->out, data, len);
    if (dumping) fz_put(&s->wire, data, len);
    return 0;
}

static void send_plain(side *s, const void *data, size_t len);

static void on_data(ws_tls *t, void *data, size_t len) {
    side *s = side_of(t);
    CHECK(s->ready && !s->failed && !s->eof && len > 0);
    CHECK((uint8_t *)data >= plain && (uint8_t *)data + len <= plain + sizeof plain);
    {   /* a feed from inside on_data is refused: the outer feed's bytes are not dropped */
        static const uint8_t junk[5] = { 0x17, 0x03, 0x03, 0x00, 0x10 };
        CHECK(ws_tls_feed(t, junk, sizeof junk) == WS_ERR_BUSY);
    }
    fz_put(&s->got, data, len);
    if (s->echo) send_plain(s, data, len);
}

static void on_open(ws_tls *t) {
    side *s = side_of(t);
    CHECK(!s->ready && !s->failed);
    s->ready = 1;
    CHECK(ws_tls_ready(t));
}

static void send_plain(side *s, const void *data, size_t len) {
    ws_buf b[2];
    size_t half = len / 3;
    int r, was_failed = s->failed;
    if (!len || s->sent.len + len > SENT_MAX) return;
    b[0].data = data;                                  /* two pieces: they share records */
    b[0].len = half;
    b[1].data = (const uint8_t *)data + half;
    b[1].len = len - half;
    r = ws_tls_send(&s->tls, b, 2);
    note(s, r);
    if (!s->ready) CHECK(r != WS_OK);
    if (r == WS_ERR_STATE) CHECK((!s->ready || s->eof) && !s->failed);
    /* a send that failed may have sent records of it before: the peer may get a prefix */
    if (r == WS_OK || (r != WS_ERR_STATE && !was_failed)) fz_put(&s->sent, data, len);
}

/* ---- the server's certificate, made once --------------------------------------------- */

static void setup(void) {
    static unsigned char cert[2048], key[1024];
    mbedtls_pk_context pk;
    mbedtls_x509write_cert w;
    mbedtls_ctr_drbg_context rng;
    mbedtls_ctr_drbg_init(&rng);
    CHECK(mbedtls_ctr_drbg_seed(&rng, fixed_entropy, NULL, (const unsigned char *)"key", 3) == 0);
    mbedtls_pk_init(&pk);
    CHECK(mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) == 0);
    CHECK(mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(pk),
                              mbedtls_ctr_drbg_random, &rng) == 0);
    mbedtls_x509write_crt_init(&w);
    mbedtls_x509write_crt_set_version(&w, MBEDTLS_X509_CRT_VERSION_3);
    mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
    mbedtls_x509write_crt_set_subject_key(&w, &pk);
    mbedtls_x509write_crt_set_issuer_key(&w, &pk);
    CHECK(mbedtls_x509write_crt_set_subject_name(&w, "CN=fuzz.example") == 0);
    CHECK(mbedtls_x509write_crt_set_issuer_name(&w, "CN=fuzz.example") == 0);
#if MBEDTLS_VERSION_MAJOR >= 3
    {
        unsigned char serial[1] = { 1 };
        CHECK(mbedtls_x509write_crt_set_serial_raw(&w, serial, 1) == 0);
    }
#else
    {
        mbedtls_mpi serial;
        mbedtls_mpi_init(&serial);
        CHECK(mbedtls_mpi_lset(&serial, 1) == 0);
        CHECK(mbedtls_x509write_crt_set_serial(&w, &serial) == 0);
        mbedtls_mpi_free(&serial);
    }
#endif
    CHECK(mbedtls_x509write_crt_set_validity(&w, "20200101000000", "20991231235959") == 0);
    CHECK(mbedtls_x509write_crt_set_basic_constraints(&w, 1, 0) == 0);
    CHECK(mbedtls_x509write_crt_pem(&w, cert, sizeof cert, mbedtls_ctr_drbg_random, &rng) == 0);
    CHECK(mbedtls_pk_write_key_pem(&pk, key, sizeof key) == 0);
    mbedtls_x509write_crt_free(&w);
    mbedtls_pk_free(&pk);
    mbedtls_ctr_drbg_free(&rng);

    srv.send = cli_verify.send = cli_open.send = on_send;
    srv.on_data = cli_verify.on_data = cli_open.on_data = on_data;
    srv.on_open = cli_verify.on_open = cli_open.on_open = on_open;
    CHECK(ws_tls_server_setup(&srv, cert, strlen((char *)cert) + 1, key,
                              strlen((char *)key) + 1, NULL) == WS_OK);
    CHECK(ws_tls_client_setup(&cli_verify, cert, strlen((char *)cert) + 1, 0) == WS_OK);
    CHECK(ws_tls_client_setup(&cli_open, NULL, 0, WS_TLS_INSECURE_NO_VERIFY) == WS_OK);
    memset(key, 0, sizeof key);
    dumping = getenv("FZ_TLS_DUMP") != NULL;
    tracing = getenv("FZ_TLS_TRACE") != NULL;
    setup_done = 1;
}

/* ---- feeding ------------------------------------------------------------------------ */

static void feed(side *s, const uint8_t *p, size_t n, int bytewise) {
    uint8_t *copy = fz_dup(p, n);     /* exactly n on the heap: an overread is caught */
    size_t got = s->got.len;
    int was_done = s->failed || s->eof;
    if (bytewise) {
        for (size_t i = 0; i < n; i++) note(s, ws_tls_feed(&s->tls, copy + i, 1));
    } else {
        note(s, ws_tls_feed(&s->tls, copy, n));
    }
    if (was_done) CHECK(s->got.len == got);     /* nothing decrypted after the end */
    free(copy);
}

/* delivers up to n bytes of from's queue to to */
static void deliver(side *from, side *to, size_t n, int bytewise) {
    size_t left = from->out.len - from->out_at;
    if (n > left) n = left;
    if (!n) return;
    feed(to, from->out.p + from->out_at, n, bytewise);
    from->out_at += n;
}

static void reset_side(side *s) {
    fz_free(&s->sent);
    fz_free(&s->got);
    fz_free(&s->out);
    fz_free(&s->wire);
    memset(s, 0, sizeof *s);
}

static void dump(const char *name, unsigned mode, unsigned cap, const fz_buf *b) {
    const char *dir = getenv("FZ_TLS_DUMP");
    char path[4096];
    FILE *f;
    uint8_t head[2] = { (uint8_t)mode, (uint8_t)cap };
    if (!dir || !b->len) return;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (!f) return;
    fwrite(head, 1, 2, f);
    fputc(0, f);                        /* one chunk: the rest */
    fwrite(b->p, 1, b->len, f);
    fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_in in = { data, size };
    unsigned flags = fz_u8(&in), mode = flags & 3;
    size_t cap = 1 + (fz_u8(&in) * 64u) % sizeof plain;
    int verify = (flags & 0x10) != 0;
    const ws_tls_config *ccfg;
    if (!setup_done) setup();
    if (mode == 3) mode = 2;
    reseed(&srv, "server");
    reseed(&cli_verify, "client");
    reseed(&cli_open, "client");
    reset_side(&S[0]);
    reset_side(&S[1]);
    ccfg = verify ? &cli_verify : &cli_open;

    if (mode == 0 || mode == 1) {
        side *s = &S[mode == 0 ? 1 : 0];
        int r = mode == 0 ? ws_tls_init(&s->tls, &srv, NULL, plain, cap, s)
                          : ws_tls_init(&s->tls, ccfg, "fuzz.example", plain, cap, s);
        CHECK(r == WS_OK);
        if (mode == 1) CHECK(s->out.len > 0);             /* the ClientHello went out */
        while (in.n) {
            size_t n = fz_u8(&in), k;
            const uint8_t *p;
            if (!n) n = in.n;
            p = fz_take(&in, n, &k);
            feed(s, p, k, (flags & 0x20) != 0);
            if (s->ready && !s->failed && !s->eof) send_plain(s, "pong", 4);
        }
        if (!s->failed && !s->eof && ws_tls_ready(&s->tls)) note(s, ws_tls_close(&s->tls));
        trace(mode ? "client" : "server");
        ws_tls_free(&s->tls);
        return 0;
    }

    /* mode 2: a pair */
    {
        side *c = &S[0], *sv = &S[1];
        int tampered[SIDES] = { 0, 0 }, cut[SIDES] = { 0, 0 }, flipped[SIDES] = { 0, 0 };
        CHECK(ws_tls_init(&sv->tls, &srv, NULL, plain, cap, sv) == WS_OK);
        CHECK(ws_tls_init(&c->tls, ccfg, "fuzz.example", plain, cap, c) == WS_OK);
        sv->echo = (flags & 0x20) != 0;
        while (in.n) {
            unsigned op = fz_u8(&in), who = op & 1, arg = fz_u8(&in);
            side *from = &S[who], *to = &S[!who];
            switch (((op & 0x7E) >> 1) % 6) {
            case 0:                                     /* deliver arg * 8 bytes (0: all) */
                deliver(from, to, arg ? arg * 8u : QUEUE_MAX, (op & 0x80) != 0);
                break;
            case 1: {                                   /* send arg bytes of data */
                size_t k;
                const uint8_t *p = fz_take(&in, arg, &k);
                send_plain(from, p, k);
                break;
            }
            case 2: {                                   /* flip a queued byte */
                size_t left = from->out.len - from->out_at;
                unsigned x = fz_u8(&in) | 1;
                if (left) {
                    from->out.p[from->out_at + arg * 7u % left] ^= (uint8_t)x;
                    tampered[who] = flipped[who] = 1;
                }
                break;
            }
            case 3:                                     /* the connection is cut that way */
                if (from->out.len > from->out_at) tampered[who] = cut[who] = 1;
                from->out_at = from->out.len;
                break;
            case 4:                                     /* close_notify */
                if (from->ready && !from->failed) note(from, ws_tls_close(&from->tls));
                else CHECK(ws_tls_close(&from->tls) != WS_OK);
                break;
            default:                                    /* a big message */
                if (from->ready && !from->failed) {
                    static uint8_t big[40000];
                    memset(big, (int)arg, sizeof big);
                    send_plain(from, big, arg * 150u + 1);
                }
                break;
            }
        }
        /* the rest goes through, both ways, until nothing moves */
        for (int round = 0; round < 64; round++) {
            size_t before = c->out.len + sv->out.len + c->out_at + sv->out_at;
            if (!cut[0]) deliver(c, sv, QUEUE_MAX, 0);
            if (!cut[1]) deliver(sv, c, QUEUE_MAX, 0);
            if (c->out.len + sv->out.len + c->out_at + sv->out_at == before) break;
        }
        /* what each received is what the other sent, or a prefix of it once tampered */
        for (int i = 0; i < SIDES; i++) {
            side *rx = &S[i], *tx = &S[!i];
            CHECK(fz_prefix(&rx->got, &tx->sent));
            if (!tampered[0] && !tampered[1] && !rx->failed && !tx->failed && !rx->eof)
                CHECK(fz_same(&rx->got, &tx->sent));
        }
        if (!tampered[0] && !tampered[1] && !c->failed && !sv->failed) {
            CHECK(c->ready && sv->ready);
            if (dumping) {
                dump("seed-server-flight", 1 | (flags & 0x10), (unsigned)((cap - 1) / 64), &sv->wire);
                dump("seed-client-flight", 0, (unsigned)((cap - 1) / 64), &c->wire);
            }
        }
        trace("pair");
        ws_tls_free(&c->tls);
        ws_tls_free(&sv->tls);
    }
    return 0;
}
