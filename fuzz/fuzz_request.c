/* fuzz_request.c - the server handshake parser, ws_http_parse_request, and what a server
   builds from its result.

   Input: the bytes of a request head (and whatever follows).
   Checks: the result is one the manual lists; parsing the same bytes arriving a piece at a
   time (each prefix in its own exact-size buffer, as a server re-parses its growing receive
   buffer) ends with the same result and fields; the head size limit holds exactly (a head
   of n bytes parses with max_size n and is WS_ERR_HS_TOO_BIG with n - 1); every slice lies
   inside the head and named fields hold the first header of their name; the verdict is
   that of an independent reading of RFC 6455 4.2.1 and RFC 9112 (model_request: a repeated
   Host is a 400 for any request, handshake headers without Upgrade: websocket are
   WS_ERR_HS_NO_UPGRADE, a repeated Key or Version WS_ERR_HS_REPEATED); an upgrade has
   what 4.2.1 requires, and its 101 answer parses and passes ws_handshake_check; an error
   has an HTTP status and a reject response that parses with that status; token lists
   iterate to the non-empty trimmed tokens an independent reader finds (commas inside
   quoted strings stay). The same bytes,
   cut at NULs, are also the fields of a client's request (check_builder). */
#include "http.h"

static void check_request(const ws_http *h, const uint8_t *buf, size_t len, int r) {
    size_t i;
    CHECK(h->size > 0 && h->size <= len);
    CHECK(h->size >= 4 && memcmp(buf + h->size - 4, "\r\n\r\n", 4) == 0);
    CHECK(h->num_headers <= WS_MAX_HEADERS);
    fz_check_str(h->method, buf, h->size);
    fz_check_str(h->target, buf, h->size);
    fz_check_str(h->path, buf, h->size);
    fz_check_str(h->query, buf, h->size);
    fz_check_str(h->host, buf, h->size);
    fz_check_str(h->origin, buf, h->size);
    fz_check_str(h->upgrade, buf, h->size);
    fz_check_str(h->connection, buf, h->size);
    fz_check_str(h->key, buf, h->size);
    fz_check_str(h->ws_version, buf, h->size);
    fz_check_str(h->protocol, buf, h->size);
    fz_check_str(h->extensions, buf, h->size);
    for (i = 0; i < h->num_headers; i++) {
        const ws_header *hd = &h->headers[i];
        size_t j;
        fz_check_str(hd->name, buf, h->size);
        fz_check_str(hd->value, buf, h->size);
        CHECK(hd->name.len > 0);
        for (j = 0; j < hd->name.len; j++) CHECK(hd->name.ptr[j] > ' ' && hd->name.ptr[j] != ':');
        for (j = 0; j < hd->value.len; j++) CHECK(hd->value.ptr[j] != '\r' && hd->value.ptr[j] != '\n');
        if (hd->value.len) CHECK(!fz_is_ows(hd->value.ptr[0]) && !fz_is_ows(hd->value.ptr[hd->value.len - 1]));
        fz_check_tokens(hd->value);
    }
    if (r == WS_HS_UPGRADE || r == WS_HS_HTTP) {
        CHECK(h->method.len > 0 && h->target.len > 0 && h->path.len <= h->target.len);
        CHECK(h->version == 0 || h->version == 1 || (h->version >= 2 && h->version <= 9));
    }
    if (r == WS_HS_UPGRADE) {
        CHECK(h->method.len == 3 && memcmp(h->method.ptr, "GET", 3) == 0);
        CHECK(h->version >= 1 && h->host.ptr);
        CHECK(h->key.len == 24 && h->ws_version.len == 2 && memcmp(h->ws_version.ptr, "13", 2) == 0);
        CHECK(ws_http_has_token(h, "Upgrade", "websocket"));
        CHECK(ws_http_has_token(h, "Connection", "upgrade"));
    }
}

/* RFC 6455 4.2.1 and RFC 9112 read independently of ws.h, over the parsed header lines:
   the result ws_http_parse_request must give for a head it could split into lines.
   - Two Host lines are a 400 for any request (RFC 9112 3.2), upgrade or not.
   - Without the websocket token in Upgrade it is plain HTTP, unless it carries
     Sec-WebSocket-Key or -Version: a failed handshake (400, RFC 6455 4.2.1), told apart.
   - An upgrade is checked in this order: GET, HTTP/1.1 or later, one Host, the upgrade
     token in Connection, Key and Version each at most once (WS_ERR_HS_REPEATED), then the
     values: Version 13 (else 426), a Key of 16 bytes in base64. */
static int model_request(const ws_http *h) {
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    ws_str version, key;
    size_t hosts = fz_count(h, "host"), keys = fz_count(h, "sec-websocket-key");
    size_t versions = fz_count(h, "sec-websocket-version"), i;
    if (hosts > 1) return WS_ERR_HS_HOST;
    if (!fz_has_token(h, "upgrade", "websocket"))
        return keys || versions ? WS_ERR_HS_NO_UPGRADE : WS_HS_HTTP;
    if (!(h->method.len == 3 && memcmp(h->method.ptr, "GET", 3) == 0)) return WS_ERR_HS_METHOD;
    if (h->version < 1) return WS_ERR_HS_HTTP_VERSION;
    if (hosts != 1) return WS_ERR_HS_HOST;
    if (!fz_has_token(h, "connection", "upgrade")) return WS_ERR_HS_CONNECTION;
    if (keys > 1 || versions > 1) return WS_ERR_HS_REPEATED;
    version = fz_first(h, "sec-websocket-version");
    if (!(version.len == 2 && memcmp(version.ptr, "13", 2) == 0)) return WS_ERR_HS_VERSION;
    key = fz_first(h, "sec-websocket-key");
    if (key.len != 24 || key.ptr[22] != '=' || key.ptr[23] != '=') return WS_ERR_HS_KEY;
    for (i = 0; i < 22; i++)
        if (!memchr(b64, key.ptr[i], 64)) return WS_ERR_HS_KEY;
    return WS_HS_UPGRADE;
}

/* A server answers an upgrade: the 101 must satisfy a client that sent this key. */
static void check_accept(const ws_http *req) {
    static const char *const supported[] = { "chat", "superchat", "v2.bin", "" };
    char out[512], key[25];
    size_t len = 0;
    ws_http resp;
    const char *proto = ws_handshake_select_protocol(req, supported, 4);
    int rc = ws_handshake_accept(out, sizeof out, &len, req, proto);
    CHECK(rc == WS_OK && len < sizeof out);
    if (proto) CHECK(ws_http_has_token(req, "Sec-WebSocket-Protocol", proto) && proto[0]);
    ws_http_init(&resp, 0);
    CHECK(ws_http_parse_response(&resp, out, len) == WS_HS_UPGRADE && resp.size == len);
    memcpy(key, req->key.ptr, 24);
    key[24] = 0;
    CHECK(ws_handshake_check(&resp, key, proto ? "chat, superchat, v2.bin" : NULL, NULL) == WS_OK);
    /* too small an output buffer is an error, not an overflow */
    CHECK(ws_handshake_accept(out, len - 1, &len, req, proto) == WS_ERR_NOSPACE);
}

static void check_reject(int r) {
    char out[256];
    size_t len = 0;
    ws_http resp;
    int status = ws_http_status(r);
    if (r == WS_ERR_HS_TOO_BIG || r == WS_ERR_HS_TOO_MANY) CHECK(status == 431);
    else if (r == WS_ERR_HS_VERSION) CHECK(status == 426);
    else CHECK(status == 400);
    CHECK(ws_handshake_reject(out, sizeof out, &len, r) == WS_OK);
    ws_http_init(&resp, 0);
    CHECK(ws_http_parse_response(&resp, out, len) == WS_HS_HTTP && resp.status == status);
}

/* s without leading and trailing spaces and tabs equals the parsed value v */
static int same_trimmed(const char *s, ws_str v) {
    size_t n = strlen(s);
    while (n && fz_is_ows(s[n - 1])) n--;
    while (n && fz_is_ows(*s)) s++, n--;
    return v.ptr && v.len == n && (n == 0 || memcmp(v.ptr, s, n) == 0);
}

/* The same bytes, cut at NULs, are the fields of a client's request (host, path, origin,
   protocols, extensions, extra header lines; a missing part is NULL): ws_handshake_request
   refuses them (WS_ERR_ARG) or writes a request that parses back to exactly those fields,
   so no field can smuggle in a header or end the head early. */
static void check_builder(const uint8_t *data, size_t size) {
    static const char key[] = "dGhlIHNhbXBsZSBub25jZQ==";
    char *part[6] = { NULL, NULL, NULL, NULL, NULL, NULL }, out[2048], *host;
    size_t i, at = 0, np = 0, len = 0;
    ws_client_opts o;
    ws_http *h = (ws_http *)malloc(sizeof *h);
    int rc, r;
    CHECK(h != NULL);
    while (np < 6 && at < size) {
        const uint8_t *z = (const uint8_t *)memchr(data + at, 0, size - at);
        size_t n = z ? (size_t)(z - (data + at)) : size - at;
        part[np] = (char *)malloc(n + 1);
        CHECK(part[np] != NULL);
        memcpy(part[np], data + at, n);
        part[np++][n] = 0;
        at += n + 1;
    }
    memset(&o, 0, sizeof o);
    o.host = part[0];
    o.port = size & 1 ? 8080 : 0;
    o.path = part[1];
    o.origin = part[2];
    o.protocols = part[3];
    o.extensions = part[4];
    o.headers = part[5];
    rc = ws_handshake_request(out, sizeof out, &len, &o, key);
    CHECK(rc == WS_OK || rc == WS_ERR_ARG || rc == WS_ERR_NOSPACE);
    if (rc == WS_OK) {
        CHECK(len <= sizeof out && o.host);
        host = (char *)malloc(strlen(o.host) + 6);
        CHECK(host != NULL);
        sprintf(host, "%s%s", o.host, o.port ? ":8080" : "");
        ws_http_init(h, len);
        r = ws_http_parse_request(h, out, len);
        if (!o.headers) {
            /* only our fields: a valid upgrade with exactly them */
            CHECK(r == WS_HS_UPGRADE && h->size == len);
            CHECK(h->key.len == 24 && memcmp(h->key.ptr, key, 24) == 0);
            CHECK(h->target.len == (o.path ? strlen(o.path) : 1) &&
                  memcmp(h->target.ptr, o.path ? o.path : "/", h->target.len) == 0);
            CHECK(same_trimmed(host, h->host));
            CHECK(!o.origin || same_trimmed(o.origin, h->origin));
            CHECK(!o.protocols || same_trimmed(o.protocols, h->protocol));
            CHECK(!o.extensions || same_trimmed(o.extensions, h->extensions));
            CHECK(h->num_headers == 5u + !!o.origin + !!o.protocols + !!o.extensions);
        } else if (r != WS_ERR_HS_MALFORMED) {
            /* extra lines may make a bad request (a second Host), never another framing */
            size_t lines = 0;
            for (i = 0; o.headers[i]; i++) lines += o.headers[i] == '\n';
            CHECK(r != WS_HS_PARTIAL && h->size == len);
            CHECK(h->num_headers == 5u + !!o.origin + !!o.protocols + !!o.extensions + lines ||
                  r == WS_ERR_HS_TOO_MANY);
        }
        free(host);
    }
    for (i = 0; i < np; i++) free(part[i]);
    free(h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ws_http *h = (ws_http *)malloc(sizeof *h);
    uint8_t *buf = fz_dup(data, size);
    int r;
    CHECK(h != NULL);
    ws_http_init(h, 0);
    r = ws_http_parse_request(h, buf, size);
    CHECK(r == WS_HS_PARTIAL || r == WS_HS_UPGRADE || r == WS_HS_HTTP ||
          (r <= WS_ERR_HS_MALFORMED && r >= WS_ERR_HS_TOO_MANY) ||
          r == WS_ERR_HS_REPEATED || r == WS_ERR_HS_NO_UPGRADE);
    CHECK(fz_known_err(r < 0 ? r : 0));
    if (r == WS_HS_PARTIAL) CHECK(size < 8192);
    if (r > 0) check_request(h, buf, size, r);
    if (r > 0 || (r < 0 && r != WS_ERR_HS_MALFORMED && r != WS_ERR_HS_TOO_BIG &&
                  r != WS_ERR_HS_TOO_MANY)) {
        /* every header line was parsed: the verdict is the model's, the named fields are
           the first lines of their names, and every slice lies inside the head */
        CHECK(r == model_request(h));
        fz_check_named(h);
        if (r < 0) check_request(h, buf, size, r);
    }
    if (r == WS_HS_UPGRADE) check_accept(h);
    if (r < 0) check_reject(r);
    fz_http_pieces(ws_http_parse_request, h, buf, data, size, r);
    check_builder(data, size);
    free(buf);
    free(h);
    return 0;
}
