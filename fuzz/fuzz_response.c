/* fuzz_response.c - the client handshake-response parser, ws_http_parse_response, the
   response check, and a client connection that opens on it.

   Input: [0] which subprotocols the client offered, [1] which extensions, then the bytes
   the server sent: a response head, and frames after it.
   Checks: the result is one the manual lists and agrees with the status; the same bytes in
   pieces parse the same; the size limit is exact; every slice lies inside the head;
   ws_handshake_check gives the verdict of an independent reading of RFC 6455 4.1
   (model_check: a 101 with Upgrade and Connection tokens and one right
   Sec-WebSocket-Accept, at most one offered subprotocol, only offered extensions);
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

static int is_name(ws_str n, const char *name) {
    return n.len == strlen(name) && fz_ieq(n.ptr, name, n.len);
}

/* t (an extension without its parameters, if ext) is one of the list's tokens */
static int offered(ws_str t, const char *list, int ext) {
    ws_str l, o;
    size_t n = t.len;
    if (!list) return 0;
    l.ptr = list;
    l.len = strlen(list);
    if (ext) {
        for (n = 0; n < t.len && t.ptr[n] != ';'; n++) {}
        while (n && fz_is_ows(t.ptr[n - 1])) n--;
    }
    while (ws_token_next(&l, &o)) {
        size_t m = o.len;
        if (ext) {
            for (m = 0; m < o.len && o.ptr[m] != ';'; m++) {}
            while (m && fz_is_ows(o.ptr[m - 1])) m--;
        }
        if (m == n && (ext ? fz_ieq(o.ptr, t.ptr, n) : strncmp(o.ptr, t.ptr, n) == 0)) return 1;
    }
    return 0;
}

/* has a header named name a token (case-insensitive) in its list */
static int has_token(const ws_http *h, const char *name, const char *tok) {
    size_t i;
    for (i = 0; i < h->num_headers; i++) {
        ws_str v = h->headers[i].value, t;
        if (!is_name(h->headers[i].name, name)) continue;
        while (ws_token_next(&v, &t))
            if (t.len == strlen(tok) && fz_ieq(t.ptr, tok, t.len)) return 1;
    }
    return 0;
}

/* RFC 6455 4.1's checks of the server's answer, read independently of ws.h: the verdict
   ws_handshake_check must give. */
static int model_check(const ws_http *h, const char *key, const char *prot, const char *ext) {
    char want[29];
    size_t i, accepts = 0, protos = 0;
    int accept_ok = 0;
    if (h->status != 101) return WS_ERR_HS_STATUS;
    if (!has_token(h, "upgrade", "websocket") || !has_token(h, "connection", "upgrade"))
        return WS_ERR_HS_UPGRADE;
    ws_accept_key(key, 24, want);
    for (i = 0; i < h->num_headers; i++) {
        ws_str v = h->headers[i].value;
        if (!is_name(h->headers[i].name, "sec-websocket-accept")) continue;
        accepts++;
        accept_ok = v.len == 28 && memcmp(v.ptr, want, 28) == 0;
    }
    if (accepts != 1 || !accept_ok) return WS_ERR_HS_ACCEPT;
    /* in header order: a subprotocol must be the only one, in the first such header, and
       offered; every extension must be offered */
    for (i = 0; i < h->num_headers; i++) {
        ws_str v = h->headers[i].value, t;
        int p = is_name(h->headers[i].name, "sec-websocket-protocol");
        int e = is_name(h->headers[i].name, "sec-websocket-extensions");
        size_t count = 0;
        if (p) protos++;
        while ((p || e) && ws_token_next(&v, &t)) {
            count++;
            if (p && (count > 1 || protos > 1 || !offered(t, prot, 0))) return WS_ERR_HS_PROTOCOL;
            if (e && !offered(t, ext, 1)) return WS_ERR_HS_EXTENSION;
        }
    }
    return WS_OK;
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
        CHECK(hc == model_check(h, key, prot, ext));
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
