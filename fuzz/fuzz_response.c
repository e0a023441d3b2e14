/* fuzz_response.c - the client handshake-response parser, ws_http_parse_response, the
   response check, and a client connection that opens on it.

   Input: [0] which subprotocols the client offered, [1] which extensions, then the bytes
   the server sent: a response head, and frames after it.
   Checks: the result is one the manual lists, and that of an independent reading of the
   head (model_response: where it ends, its bytes and lines); the status line's
   (model_status_line: HTTP/1.DIGIT SP 3DIGIT, then SP and a reason or the CRLF at
   once; anything else is WS_ERR_HS_MALFORMED), and WS_HS_UPGRADE means 101 from HTTP/1.1
   or later; the same bytes in pieces parse the same; the size limit is exact; every slice
   lies inside the head and named fields hold the first header of their name;
   ws_handshake_check gives the verdict of an independent reading of RFC 6455 4.1
   (model_check: a 101 from HTTP/1.1 or later, exactly one Upgrade header whose value is
   "websocket", the upgrade token in Connection, exactly one Sec-WebSocket-Accept and the
   right one, at most one offered subprotocol, only offered extensions, lists split at
   commas outside quoted strings);
   ws_conn_connected gives the same verdict and opens the connection exactly when it is
   WS_OK, and the frames that came along are then parsed as in fuzz_frames_client. The
   client's nonce is "the sample nonce" of RFC 6455, so the accept value of the RFC example
   (in ws.dict) is the right one. */
#include "http.h"

static const char *const protocols[] = { NULL, "chat, superchat", "v2.bin", "chat" };
static const char *const extensions[] = {
    NULL, "permessage-deflate", "x-foo, permessage-deflate; client_max_window_bits" };

/* The status line as ws.h's manual reads RFC 9112 4: "HTTP/1." DIGIT SP, three digits
   (100 to 599), then SP and a reason phrase (anything up to the CR) or the CR at once. Over
   the n bytes of a complete head (the scan checked its CRLFs and bytes): 1 with the
   status, the minor version and the reason, or 0 when the line is not one. */
static int model_status_line(const uint8_t *p, size_t n, int *status, int *minor, ws_str *reason) {
    size_t i, e;
    if (n < 13 || memcmp(p, "HTTP/1.", 7) != 0 || p[7] < '0' || p[7] > '9' || p[8] != ' ')
        return 0;
    for (i = 9; i < 12; i++)
        if (p[i] < '0' || p[i] > '9') return 0;
    if (p[9] < '1' || p[9] > '5') return 0;
    if (p[12] != ' ' && p[12] != '\r') return 0;       /* "1010", "101x", "101\tX" */
    i = p[12] == ' ' ? 13 : 12;
    for (e = i; e < n && p[e] != '\r'; e++) {}
    if (e == n) return 0;
    *status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    *minor = p[7] - '0';
    reason->ptr = (const char *)p + i;
    reason->len = e - i;
    return 1;
}

static int is_tchar(uint8_t c) {         /* RFC 9110 5.6.2 */
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* The result ws_http_parse_response must give for buf[0..n-1] with the default limit,
   read from RFC 9112 and the manual independently of ws.h: the head ends at the first
   empty line; the first bad byte before it (a CR without LF, an LF without CR, a control
   byte other than HTAB, DEL) makes it malformed; none in 8192 bytes is too big; then the
   status line (model_status_line), and each header line a token, a colon and a value, at
   most 32 of them. */
static int model_response(const uint8_t *p, size_t n) {
    size_t i, lim = n < 8192 ? n : 8192, size = 0, at, lines = 0;
    int st, mi;
    ws_str rs;
    for (i = 0; i < lim && !size; i++) {
        uint8_t c = p[i];
        if (i && p[i - 1] == '\r' && c != '\n') return WS_ERR_HS_MALFORMED;
        if (c == '\n') {
            if (!i || p[i - 1] != '\r') return WS_ERR_HS_MALFORMED;
            if (i >= 3 && p[i - 2] == '\n') size = i + 1;
        } else if ((c < 0x20 && c != '\r' && c != '\t') || c == 0x7F) {
            return WS_ERR_HS_MALFORMED;
        }
    }
    if (!size) return n >= 8192 ? WS_ERR_HS_TOO_BIG : WS_HS_PARTIAL;
    if (!model_status_line(p, size, &st, &mi, &rs)) return WS_ERR_HS_MALFORMED;
    at = (size_t)((const uint8_t *)rs.ptr + rs.len - p) + 2;       /* after its CRLF */
    while (p[at] != '\r') {
        size_t k = at;
        while (is_tchar(p[k])) k++;
        if (k == at || p[k] != ':') return WS_ERR_HS_MALFORMED;
        if (++lines > 32) return WS_ERR_HS_TOO_MANY;
        while (p[k] != '\r') k++;
        at = k + 2;
    }
    return st == 101 && mi >= 1 ? WS_HS_UPGRADE : WS_HS_HTTP;
}

static void check_response(const ws_http *h, const uint8_t *buf, size_t len, int r) {
    size_t i;
    int status = 0, minor = 0;
    ws_str reason = { NULL, 0 };
    CHECK(h->size >= 4 && h->size <= len && memcmp(buf + h->size - 4, "\r\n\r\n", 4) == 0);
    CHECK(model_status_line(buf, h->size, &status, &minor, &reason));
    CHECK(h->status == status && h->version == minor);
    CHECK(h->reason.ptr == reason.ptr && h->reason.len == reason.len);
    /* an upgrade only from 101 with HTTP/1.1 or later: HTTP/1.0 has no 101 (RFC 9110 15.2.2) */
    CHECK((r == WS_HS_UPGRADE) == (status == 101 && minor >= 1));
    CHECK(h->num_headers <= WS_MAX_HEADERS);
    fz_check_named(h);
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
    while (fz_token_next(&l, &o)) {
        size_t m = o.len;
        if (ext) {
            for (m = 0; m < o.len && o.ptr[m] != ';'; m++) {}
            while (m && fz_is_ows(o.ptr[m - 1])) m--;
        }
        if (m == n && (ext ? fz_ieq(o.ptr, t.ptr, n) : strncmp(o.ptr, t.ptr, n) == 0)) return 1;
    }
    return 0;
}

/* RFC 6455 4.1's checks of the server's answer, read independently of ws.h: the verdict
   ws_handshake_check must give. */
static int model_check(const ws_http *h, const char *key, const char *prot, const char *ext) {
    char want[29];
    size_t i, accepts = 0, protos = 0;
    int accept_ok = 0;
    ws_str up = fz_first(h, "upgrade");
    if (h->status != 101 || h->version < 1) return WS_ERR_HS_STATUS;
    /* one Upgrade header, its whole value "websocket": not a list (RFC 6455 4.1, 4.2.2) */
    if (fz_count(h, "upgrade") != 1 || up.len != 9 || !fz_ieq(up.ptr, "websocket", 9) ||
        !fz_has_token(h, "connection", "upgrade"))
        return WS_ERR_HS_UPGRADE;
    ws_accept_key(key, 24, want);
    for (i = 0; i < h->num_headers; i++) {
        ws_str v = h->headers[i].value;
        if (!fz_is_name(h->headers[i].name, "sec-websocket-accept")) continue;
        accepts++;
        accept_ok = v.len == 28 && memcmp(v.ptr, want, 28) == 0;
    }
    if (accepts != 1 || !accept_ok) return WS_ERR_HS_ACCEPT;
    /* in header order: a subprotocol must be the only one, in the first such header, and
       offered; every extension must be offered */
    for (i = 0; i < h->num_headers; i++) {
        ws_str v = h->headers[i].value, t;
        int p = fz_is_name(h->headers[i].name, "sec-websocket-protocol");
        int e = fz_is_name(h->headers[i].name, "sec-websocket-extensions");
        size_t count = 0;
        if (p) protos++;
        while ((p || e) && fz_token_next(&v, &t)) {
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
    CHECK(r == model_response(buf, in.n));
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
        if (h->status != 101 || h->version < 1) CHECK(hc == WS_ERR_HS_STATUS);
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
