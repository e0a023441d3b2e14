/* fuzz_pmd.c - permessage-deflate's negotiation (RFC 7692 section 7) under the fuzzer.

   Input: byte 0 picks the server's largest client window (8 + b % 8) and whether it asks
   for server_no_context_takeover; bytes 1-2 a client's offer (windows, flags); then, up to
   a NUL, a Sec-WebSocket-Extensions value a client sends, and after it one a server
   answers. Checked on every input:
   - ws_deflate_accept on a request carrying the value: 0 or 1 (or WS_ERR_NOSPACE for a
     small buffer, never anything else); when it agrees, the windows are 8..15, the client's
     at most what the server allows, server_no_context_takeover when asked for, and the
     answer it wrote is accepted by ws_deflate_check for an offer of exactly that, giving
     back the same parameters;
   - ws_deflate_offer of the client's offer is taken by ws_deflate_accept (a server allowing
     2^15) with the same parameters, and checked back by ws_deflate_check;
   - ws_deflate_check of the server's answer against the client's offer: 0, 1 or
     WS_ERR_HS_EXTENSION; when 1, nothing agreed is beyond the offer;
   - a client connection offering it (ws_client_opts.deflate) and given that answer:
     ws_conn_connected either fails with a handshake error, or opens the connection, set up
     to inflate exactly when the server agreed. */
#define WS_DEFLATE
#define WS_STATIC                   /* a private copy, with WS_DEFLATE: the replay drivers */
#define WS_IMPLEMENTATION           /* link the other targets with one built without it */
#include "ws.h"
#include "fuzz.h"

static char text[12000];

static size_t head(const char *start, const char *ext, size_t ext_len, const char *accept) {
    size_t n = (size_t)snprintf(text, sizeof text, "%s\r\nHost: x\r\nUpgrade: websocket\r\n"
                                "Connection: Upgrade\r\n%s%s%sSec-WebSocket-Version: 13\r\n"
                                "Sec-WebSocket-Extensions: ", start,
                                accept ? "Sec-WebSocket-Accept: " : "Sec-WebSocket-Key: ",
                                accept ? accept : "dGhlIHNhbXBsZSBub25jZQ==", "\r\n");
    memcpy(text + n, ext, ext_len);
    n += ext_len;
    memcpy(text + n, "\r\n\r\n", 5);
    return n + 4;
}

static int parse(ws_http *h, size_t n, int response) {
    ws_http_init(h, sizeof text);
    return response ? ws_http_parse_response(h, text, n) : ws_http_parse_request(h, text, n);
}

static int same(const ws_deflate_params *a, const ws_deflate_params *b) {
    return a->server_max_window_bits == b->server_max_window_bits &&
           a->client_max_window_bits == b->client_max_window_bits &&
           a->server_no_context_takeover == b->server_no_context_takeover;
}

/* What the server agreed, checked back as a client that offered exactly that would. */
static void answer_checks(const char *ans, size_t len, const ws_deflate_params *p) {
    static ws_http resp;
    ws_deflate_params back;
    size_t n = head("HTTP/1.1 101 Switching Protocols", ans, len, "x");
    CHECK(parse(&resp, n, 1) == WS_HS_UPGRADE);
    CHECK(ws_deflate_check(&resp, p, &back) == 1);
    CHECK(same(&back, p));
}

static int rnd(ws_conn *c, void *out, size_t n) {
    (void)c;
    memset(out, 0x5A, n);
    return 0;
}
static int snd(ws_conn *c, const ws_buf *b, size_t n) { (void)c; (void)b; (void)n; return 0; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static ws_http req, resp;
    ws_deflate_params want, p;
    char ans[160];
    const uint8_t *nul;
    size_t vlen, alen = 0, n;
    unsigned max_bits;
    bool snct;
    int r;
    if (size < 3 || size > 8000) return 0;
    max_bits = 8 + data[0] % 8;
    snct = (data[0] & 0x80) != 0;
    want.server_max_window_bits = (uint8_t)(8 + data[1] % 8);
    want.client_max_window_bits = (uint8_t)(8 + (data[1] >> 3) % 8);
    want.server_no_context_takeover = (data[2] & 1) != 0;
    want.client_no_context_takeover = (data[2] & 2) != 0;
    data += 3;
    size -= 3;
    nul = (const uint8_t *)memchr(data, 0, size);
    vlen = nul ? (size_t)(nul - data) : size;

    /* the server's side: the fuzzer's offer in a request */
    n = head("GET / HTTP/1.1", (const char *)data, vlen, NULL);
    if (parse(&req, n, 0) == WS_HS_UPGRADE) {
        r = ws_deflate_accept(&req, max_bits, snct, &p, ans, sizeof ans, &alen);
        CHECK(r == 0 || r == 1);
        if (r == 1) {
            CHECK(p.server_max_window_bits >= 8 && p.server_max_window_bits <= 15);
            CHECK(p.client_max_window_bits >= 8 && p.client_max_window_bits <= max_bits);
            CHECK(!snct || p.server_no_context_takeover);
            CHECK(alen == strlen(ans) && alen < sizeof ans);
            answer_checks(ans, alen, &p);
        }
        CHECK(ws_deflate_accept(&req, max_bits, snct, &p, ans, 8, &alen) <= 0 || alen < 8);
    }

    /* a ws.h offer, taken by a ws.h server as it is */
    CHECK(ws_deflate_offer(&want, ans, sizeof ans, &alen) == WS_OK);
    n = head("GET / HTTP/1.1", ans, alen, NULL);
    CHECK(parse(&req, n, 0) == WS_HS_UPGRADE);
    CHECK(ws_deflate_accept(&req, 15, false, &p, ans, sizeof ans, &alen) == 1);
    CHECK(same(&p, &want) && p.client_no_context_takeover == want.client_no_context_takeover);

    /* the client's side: the fuzzer's answer to want */
    if (nul) {
        const char *a = (const char *)nul + 1;
        size_t al = size - vlen - 1;
        ws_deflate_params got;
        char acc[29];
        n = head("HTTP/1.1 101 Switching Protocols", a, al, "x");
        if (parse(&resp, n, 1) == WS_HS_UPGRADE) {
            r = ws_deflate_check(&resp, &want, &got);
            CHECK(r == 0 || r == 1 || r == WS_ERR_HS_EXTENSION);
            if (r == 1) {
                CHECK(got.server_max_window_bits >= 8 &&
                      got.server_max_window_bits <= want.server_max_window_bits);
                CHECK(got.client_max_window_bits >= 8 &&
                      got.client_max_window_bits <= want.client_max_window_bits);
                CHECK(!want.server_no_context_takeover || got.server_no_context_takeover);
                CHECK(!want.client_no_context_takeover || got.client_no_context_takeover);
            }
            /* through a client connection */
            {
                static uint8_t win[1 << 15];
                static ws_inflate zi;
                static uint32_t tab[1 << 8];
                static uint8_t zout[64];
                static ws_deflate zd;
                ws_deflate_client dc;
                ws_config cfg;
                ws_conn c;
                ws_client_opts o;
                int rc;
                memset(&cfg, 0, sizeof cfg);
                memset(&o, 0, sizeof o);
                memset(&dc, 0, sizeof dc);
                zd.table = tab; zd.table_bits = 8; zd.out = zout; zd.out_cap = sizeof zout;
                cfg.role = WS_ROLE_CLIENT;
                cfg.send = snd;
                cfg.random = rnd;
                ws_inflate_init(&zi, win, sizeof win);
                dc.offer = want;
                dc.inflate = &zi;
                dc.deflate = &zd;
                o.host = "x";
                o.deflate = &dc;
                CHECK(ws_conn_init(&c, &cfg, NULL) == WS_OK);
                CHECK(ws_conn_connect(&c, &o) == WS_OK);
                ws_accept_key((const char *)c._ctrl, 24, acc);    /* the key: _ctrl while CONNECTING */
                n = head("HTTP/1.1 101 Switching Protocols", a, al, acc);
                if (parse(&resp, n, 1) == WS_HS_UPGRADE) {
                    rc = ws_conn_connected(&c, &resp);
                    if (rc == WS_OK) {          /* never open on an answer refused */
                        CHECK(r >= 0);
                        if (r == 1)
                            CHECK(dc.on && c._z == &zi && c._zd == &zd && same(&dc.agreed, &got));
                        else
                            CHECK(!dc.on && !c._z && !c._zd);
                    } else {                    /* a handshake error (the extension's, or
                                                   another header's, as ws_handshake_check) */
                        CHECK(rc < 0 && fz_known_err(rc) && !dc.on && !c._z &&
                              ws_conn_state(&c) == WS_STATE_FAILED && rc != WS_ERR_STATE);
                    }
                    if (rc == WS_OK && dc.on) {     /* it sends compressed now */
                        static const char m[] = "hello hello hello hello hello hello hello "
                                                "hello hello hello hello hello hello hello";
                        CHECK(ws_conn_send(&c, WS_OP_TEXT, m, sizeof m - 1) == WS_OK);
                    }
                }
            }
        }
    }
    return 0;
}
