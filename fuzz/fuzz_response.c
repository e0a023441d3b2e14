/* fuzz_response.c - the client handshake-response parser, ws_http_parse_response, the
   response check, and a client connection that opens on it.

   Input: [0] which subprotocols the client offered, [1] which extensions, then the bytes
   the server sent: a response head, and frames after it.
   Checks: the result is one the manual lists and agrees with the status; the same bytes in
   pieces parse the same; the size limit is exact; every slice lies inside the head;
   ws_handshake_check accepts only a 101 with Upgrade, Connection and the right
   Sec-WebSocket-Accept, and a subprotocol and extensions only from what was offered;
   ws_conn_connected gives the same verdict and opens the connection exactly when it is
   WS_OK, and the frames that came along are then parsed as in fuzz_frames_client. The
   client's nonce is "the sample nonce" of RFC 6455, so the accept value of the RFC example
   (in ws.dict) is the right one. */
#define WS_IMPLEMENTATION
#include "http.h"

static const char *const protocols[] = { NULL, "chat, superchat", "v2.bin", "chat" };
static const char *const extensions[] = {
    NULL, "permessage-deflate", "x-foo, permessage-deflate; client_max_window_bits" };

static void check_response(const ws_http *h, const uint8_t *buf, size_t len, int r) {
    size_t i;
    CHECK(h->size >= 4 && h->size <= len && memcmp(buf + h->size - 4, "\r\n\r\n", 4) == 0);
    CHECK(h->status >= 100 && h->status <= 599 && (r == WS_HS_UPGRADE) == (h->status == 101));
    CHECK(h->num_headers <= WS_MAX_HEADERS);
    fz_check_str(h->reason, buf, h->size);
    fz_check_str(h->accept, buf, h->size);
    fz_check_str(h->protocol, buf, h->size);
    fz_check_str(h->extensions, buf, h->size);
    for (i = 0; i < h->num_headers; i++) {
        fz_check_str(h->headers[i].name, buf, h->size);
        fz_check_str(h->headers[i].value, buf, h->size);
        CHECK(h->headers[i].name.len > 0);
        fz_check_tokens(h->headers[i].value);
    }
}

/* Is every token of the header's values one of the list (extensions: by name)? */
static int all_offered(const ws_http *h, const char *name, const char *list, int ext) {
    size_t i;
    for (i = 0; i < h->num_headers; i++) {
        ws_str v = h->headers[i].value, t;
        if (!(h->headers[i].name.len == strlen(name) &&
              fz_ieq(h->headers[i].name.ptr, name, strlen(name))))
            continue;
        while (ws_token_next(&v, &t)) {
            ws_str l = { list, list ? strlen(list) : 0 }, o;
            int found = 0;
            size_t n = t.len;
            if (ext) {
                for (n = 0; n < t.len && t.ptr[n] != ';'; n++) {}
                while (n && (t.ptr[n - 1] == ' ' || t.ptr[n - 1] == '\t')) n--;
            }
            while (!found && ws_token_next(&l, &o)) {
                size_t m = o.len;
                if (ext) {
                    for (m = 0; m < o.len && o.ptr[m] != ';'; m++) {}
                    while (m && (o.ptr[m - 1] == ' ' || o.ptr[m - 1] == '\t')) m--;
                }
                found = m == n && (ext ? fz_ieq(o.ptr, t.ptr, n) : strncmp(o.ptr, t.ptr, n) == 0);
            }
            if (!found) return 0;
        }
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char key[] = "dGhlIHNhbXBsZSBub25jZQ==";
    static const uint8_t nonce[] = "the sample nonce";
    fz_in in = { data, size }, rnd = { nonce, 16 };
    unsigned pi = fz_u8(&in) % 4, ei = fz_u8(&in) % 3;
    const char *prot = protocols[pi], *ext = extensions[ei];
    ws_http *h = (ws_http *)malloc(sizeof *h), *req = (ws_http *)malloc(sizeof *req);
    fz_conn *f = (fz_conn *)calloc(1, sizeof *f);
    uint8_t *buf = fz_dup(in.p, in.n);
    ws_config cfg;
    ws_client_opts o;
    int r, hc, rc;
    long sends;
    CHECK(h && req && f);

    ws_http_init(h, 0);
    r = ws_http_parse_response(h, buf, in.n);
    CHECK(r == WS_HS_PARTIAL || r == WS_HS_UPGRADE || r == WS_HS_HTTP ||
          r == WS_ERR_HS_MALFORMED || r == WS_ERR_HS_TOO_BIG || r == WS_ERR_HS_TOO_MANY);
    if (r == WS_HS_PARTIAL) CHECK(in.n < 8192);
    if (r > 0) check_response(h, buf, in.n, r);
    fz_http_pieces(ws_http_parse_response, h, buf, in.p, in.n, r);

    /* a client that offered prot and ext, with the RFC's nonce */
    memset(&cfg, 0, sizeof cfg);
    cfg.role = WS_ROLE_CLIENT;
    fz_conn_init(f, &cfg);
    f->rnd_in = &rnd;
    f->keep_sent = 1;
    memset(&o, 0, sizeof o);
    o.host = "server.example.com";
    o.path = "/chat";
    o.protocols = prot;
    o.extensions = ext;
    CHECK(ws_conn_connect(&f->c, &o) == WS_OK && ws_conn_state(&f->c) == WS_STATE_CONNECTING);
    ws_http_init(req, 0);
    CHECK(ws_http_parse_request(req, f->sent.p, f->sent.len) == WS_HS_UPGRADE);
    CHECK(req->size == f->sent.len && req->key.len == 24 && memcmp(req->key.ptr, key, 24) == 0);
    CHECK(ws_conn_connect(&f->c, &o) == WS_ERR_STATE);
    f->keep_sent = 0;

    if (r > 0) {
        hc = ws_handshake_check(h, key, prot, ext);
        CHECK(hc == WS_OK || hc == WS_ERR_HS_STATUS || hc == WS_ERR_HS_UPGRADE ||
              hc == WS_ERR_HS_ACCEPT || hc == WS_ERR_HS_PROTOCOL || hc == WS_ERR_HS_EXTENSION);
        if (hc == WS_OK) {
            char want[29];
            ws_accept_key(key, 24, want);
            CHECK(h->status == 101 && h->accept.len == 28 && memcmp(h->accept.ptr, want, 28) == 0);
            CHECK(ws_http_has_token(h, "Upgrade", "websocket") &&
                  ws_http_has_token(h, "Connection", "Upgrade"));
            CHECK(all_offered(h, "sec-websocket-protocol", prot, 0));
            CHECK(all_offered(h, "sec-websocket-extensions", ext, 1));
        }
        if (h->status != 101) CHECK(hc == WS_ERR_HS_STATUS);
        sends = f->sends;
        rc = ws_conn_connected(&f->c, h);
        CHECK(rc == hc && f->sends == sends && f->callbacks == 0);
        if (rc == WS_OK) {
            CHECK(ws_conn_state(&f->c) == WS_STATE_OPEN && ws_conn_error(&f->c) == WS_OK);
            f->opened = 1;
            f->wire.http = 0;
            /* the frames that came with the response */
            if (in.n > h->size) fz_feed(f, in.p + h->size, in.n - h->size);
            if (ws_conn_state(&f->c) == WS_STATE_FAILED) fz_check_sticky(f);
        } else {
            CHECK(ws_conn_state(&f->c) == WS_STATE_FAILED && ws_conn_error(&f->c) == rc);
            CHECK(f->close_calls == 0);
            fz_check_sticky(f);
        }
    }
    fz_conn_free(f);
    free(f);
    free(buf);
    free(h);
    free(req);
    return 0;
}
