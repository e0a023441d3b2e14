/* test_handshake_server.c - the server side of the opening handshake (RFC 6455 4.2):
   ws_http_parse_request on valid and invalid upgrades, the HTTP status of each error,
   plain HTTP requests, limits (431), malformed heads (400), every split of every head,
   ws_handshake_accept / ws_handshake_reject / ws_handshake_select_protocol, and the header
   helpers. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CRLF "\r\n"

/* RFC 6455 1.3's example request */
static const char rfc_request[] =
    "GET /chat HTTP/1.1" CRLF
    "Host: server.example.com" CRLF
    "Upgrade: websocket" CRLF
    "Connection: Upgrade" CRLF
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==" CRLF
    "Origin: http://example.com" CRLF
    "Sec-WebSocket-Protocol: chat, superchat" CRLF
    "Sec-WebSocket-Version: 13" CRLF
    CRLF;

/* Parses a request in every split; returns its result and leaves h pointing into *buf. */
static int parse_req(ws_http *h, char **buf, const char *req) {
    return HTTP_PARSE_ALL(h, buf, req, strlen(req), 0, 0);
}

/* The request with the header lines `replace` put in place of the lines that start with
   the same names (a name alone with no ": " deletes the line); new names are added before
   the blank line. Lines are separated by '|'. */
static char *edit_request(const char *base, const char *replace) {
    char *out = (char *)malloc(strlen(base) + strlen(replace) + 64);
    const char *line = base;
    size_t n = 0;
    char done[16] = { 0 };
    out[0] = 0;
    while (*line) {
        const char *eol = strstr(line, CRLF);
        size_t ll = (size_t)(eol - line);
        const char *r = replace;
        int idx = 0, replaced = 0;
        if (ll == 0)
            break;
        while (*r) {
            const char *bar = strchr(r, '|');
            size_t rl = bar ? (size_t)(bar - r) : strlen(r);
            const char *colon = memchr(r, ':', rl);
            size_t name_len = colon ? (size_t)(colon - r) : rl;
            const char *lcolon = memchr(line, ':', ll);
            if (lcolon && (size_t)(lcolon - line) == name_len &&
                memcmp(line, r, name_len) == 0 && line != base) {
                if (colon && !done[idx]) {
                    memcpy(out + n, r, rl);
                    n += rl;
                    memcpy(out + n, CRLF, 2);
                    n += 2;
                }
                done[idx] = 1;
                replaced = 1;
                break;
            }
            idx++;
            r += rl + (bar ? 1 : 0);
        }
        if (!replaced) {
            memcpy(out + n, line, ll + 2);
            n += ll + 2;
        }
        line = eol + 2;
    }
    {   /* names not found: added */
        const char *r = replace;
        int idx = 0;
        while (*r) {
            const char *bar = strchr(r, '|');
            size_t rl = bar ? (size_t)(bar - r) : strlen(r);
            if (!done[idx] && memchr(r, ':', rl)) {
                memcpy(out + n, r, rl);
                n += rl;
                memcpy(out + n, CRLF, 2);
                n += 2;
            }
            idx++;
            r += rl + (bar ? 1 : 0);
        }
    }
    memcpy(out + n, CRLF, 3);
    return out;
}

/* Expects the edited RFC request to give rc (and, for errors, HTTP status). */
static void expect_edit_at(const char *edit, int rc, int status, const char *file, int line) {
    ws_http h;
    char *buf, *req = edit_request(rfc_request, edit);
    int r = HTTP_PARSE_ALL(&h, &buf, req, strlen(req), 0, 0);
    test_context("request edited with \"%s\"", edit);
    test_check_int(r, rc, file, line, "ws_http_parse_request");
    if (rc < 0)
        test_check_int(ws_http_status(r), status, file, line, "ws_http_status");
    free(buf);
    free(req);
}
#define EXPECT_EDIT(edit, rc, status) expect_edit_at((edit), (rc), (status), __FILE__, __LINE__)

TEST(request_rfc_example) {
    ws_http h;
    char *buf;
    int rc = parse_req(&h, &buf, rfc_request);
    CHECK_EQ_INT(rc, WS_HS_UPGRADE);
    CHECK_STR(h.method, "GET");
    CHECK_STR(h.target, "/chat");
    CHECK_STR(h.path, "/chat");
    CHECK_STR(h.query, NULL);
    CHECK_EQ_INT(h.version, 1);
    CHECK_STR(h.host, "server.example.com");
    CHECK_STR(h.upgrade, "websocket");
    CHECK_STR(h.connection, "Upgrade");
    CHECK_STR(h.key, "dGhlIHNhbXBsZSBub25jZQ==");
    CHECK_STR(h.origin, "http://example.com");
    CHECK_STR(h.protocol, "chat, superchat");
    CHECK_STR(h.ws_version, "13");
    CHECK_STR(h.extensions, NULL);
    CHECK_EQ_INT(h.size, strlen(rfc_request));
    CHECK_EQ_INT(h.num_headers, 7);
    CHECK_STR(h.headers[0].name, "Host");
    CHECK_STR(h.headers[0].value, "server.example.com");
    CHECK_STR(h.headers[6].name, "Sec-WebSocket-Version");
    CHECK_STR(h.headers[6].value, "13");
    CHECK_STR(ws_http_header(&h, "sec-websocket-key"), "dGhlIHNhbXBsZSBub25jZQ==");
    CHECK_STR(ws_http_header(&h, "X-Absent"), NULL);
    CHECK(buf[0] == 'G');   /* the parser never writes to the buffer */
    CHECK_EQ_MEM(buf, strlen(rfc_request), rfc_request, strlen(rfc_request));
    free(buf);
}

TEST(request_query_and_target) {
    ws_http h;
    char *buf, *req = edit_request(rfc_request, "");
    memcpy(strstr(req, "/chat"), "/c?a=", 5);   /* "GET /c?a= HTTP/1.1": same length */
    CHECK_EQ_INT(parse_req(&h, &buf, req), WS_HS_UPGRADE);
    CHECK_STR(h.target, "/c?a=");
    CHECK_STR(h.path, "/c");
    CHECK_STR(h.query, "a=");
    free(buf);
    free(req);
    CHECK_EQ_INT(parse_req(&h, &buf,
                           "GET /chat/room?id=7&x=%20y HTTP/1.1" CRLF "Host: a" CRLF
                           "Upgrade: websocket" CRLF "Connection: Upgrade" CRLF
                           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==" CRLF
                           "Sec-WebSocket-Version: 13" CRLF CRLF),
                 WS_HS_UPGRADE);
    CHECK_STR(h.target, "/chat/room?id=7&x=%20y");
    CHECK_STR(h.path, "/chat/room");
    CHECK_STR(h.query, "id=7&x=%20y");
    CHECK_STR(h.origin, NULL);
    CHECK_STR(h.protocol, NULL);
    free(buf);
}

TEST(request_whitespace_and_case) {
    ws_http h;
    char *buf;
    int rc = parse_req(&h, &buf,
                       "GET /chat HTTP/1.1" CRLF
                       "host:server.example.com" CRLF
                       "UPGRADE: WebSocket" CRLF
                       "connection:   upgrade   " CRLF
                       "sec-websocket-key: \t dGhlIHNhbXBsZSBub25jZQ== \t" CRLF
                       "SEC-WEBSOCKET-VERSION:13" CRLF CRLF);
    CHECK_EQ_INT(rc, WS_HS_UPGRADE);
    CHECK_STR(h.host, "server.example.com");
    CHECK_STR(h.upgrade, "WebSocket");
    CHECK_STR(h.connection, "upgrade");
    CHECK_STR(h.key, "dGhlIHNhbXBsZSBub25jZQ==");
    CHECK_STR(h.ws_version, "13");
    CHECK_STR(h.headers[2].name, "connection");
    CHECK_STR(h.headers[2].value, "upgrade");
    free(buf);
}

TEST(request_connection_token_lists) {
    EXPECT_EDIT("Connection: keep-alive, Upgrade", WS_HS_UPGRADE, 0);   /* Firefox */
    EXPECT_EDIT("Connection: Upgrade, keep-alive", WS_HS_UPGRADE, 0);
    EXPECT_EDIT("Connection: keep-alive,upgrade", WS_HS_UPGRADE, 0);
    EXPECT_EDIT("Connection: UPGRADE", WS_HS_UPGRADE, 0);
    EXPECT_EDIT("Connection: keep-alive|X-Other: 1|Connection: Upgrade", WS_HS_UPGRADE, 0);
    EXPECT_EDIT("Connection: keep-alive", WS_ERR_HS_CONNECTION, 400);
    EXPECT_EDIT("Connection: Upgrades", WS_ERR_HS_CONNECTION, 400);
    EXPECT_EDIT("Connection: NotUpgrade, close", WS_ERR_HS_CONNECTION, 400);
    EXPECT_EDIT("Connection", WS_ERR_HS_CONNECTION, 400);
}

TEST(request_key_errors) {
    EXPECT_EDIT("Sec-WebSocket-Key", WS_ERR_HS_KEY, 400);                        /* missing */
    EXPECT_EDIT("Sec-WebSocket-Key: ", WS_ERR_HS_KEY, 400);                      /* empty */
    EXPECT_EDIT("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j", WS_ERR_HS_KEY, 400);  /* 15 bytes */
    EXPECT_EDIT("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZXM=", WS_ERR_HS_KEY, 400); /* 17 */
    EXPECT_EDIT("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=!", WS_ERR_HS_KEY, 400); /* bad */
    EXPECT_EDIT("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ", WS_ERR_HS_KEY, 400); /* unpadded */
    EXPECT_EDIT("Sec-WebSocket-Key: dGhlIHNhbXBs ZSBub25jZQ==", WS_ERR_HS_KEY, 400);
}

TEST(request_duplicate_key) {
    ws_http h;
    char *buf, *req = edit_request(rfc_request,
                                   "X-Filler: 1|Sec-WebSocket-Key: eDNKSkhNYkRMMUV6TGtoOQ==");
    char *second = strstr(req, "X-Filler: 1");
    int rc;
    const char *dup = "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==";
    /* a second, different, well-formed key after the first */
    memmove(second + strlen(dup), second + 11, strlen(second + 11) + 1);
    memcpy(second, dup, strlen(dup));
    rc = HTTP_PARSE_ALL(&h, &buf, req, strlen(req), 0, 0);
    CHECK_EQ_INT(rc, WS_ERR_HS_REPEATED);
    CHECK_EQ_INT(ws_http_status(rc), 400);
    free(buf);
    free(req);
}

TEST(request_version_errors_426) {
    EXPECT_EDIT("Sec-WebSocket-Version: 8", WS_ERR_HS_VERSION, 426);
    EXPECT_EDIT("Sec-WebSocket-Version", WS_ERR_HS_VERSION, 426);
    EXPECT_EDIT("Sec-WebSocket-Version: 14", WS_ERR_HS_VERSION, 426);
    EXPECT_EDIT("Sec-WebSocket-Version: 1 3", WS_ERR_HS_VERSION, 426);
    EXPECT_EDIT("Sec-WebSocket-Version: 13 ", WS_HS_UPGRADE, 0);
}

TEST(request_method_and_http_version) {
    ws_http h;
    char *buf, *req = edit_request(rfc_request, "");
    memcpy(req, "PUT", 3);
    test_context("PUT upgrade");
    CHECK_EQ_INT(parse_req(&h, &buf, req), WS_ERR_HS_METHOD);
    CHECK_EQ_INT(ws_http_status(WS_ERR_HS_METHOD), 400);
    free(buf);
    free(req);

    req = edit_request(rfc_request, "");
    memcpy(strstr(req, "HTTP/1.1"), "HTTP/1.0", 8);
    test_context("HTTP/1.0 upgrade");
    CHECK_EQ_INT(parse_req(&h, &buf, req), WS_ERR_HS_HTTP_VERSION);
    CHECK_EQ_INT(h.version, 0);
    CHECK_EQ_INT(ws_http_status(WS_ERR_HS_HTTP_VERSION), 400);
    free(buf);
    free(req);
}

TEST(request_host_errors) {
    EXPECT_EDIT("Host", WS_ERR_HS_HOST, 400);
    EXPECT_EDIT("X-Filler: 1|Host: other.example.com", WS_HS_UPGRADE, 0); /* replaced: one */
    {
        ws_http h;
        char *buf, *req = edit_request(rfc_request, "X-Filler: 1");
        char *f = strstr(req, "X-Filler: 1");
        int rc;
        memcpy(f, "Host: b.ex", 10);
        f[10] = 'x';                 /* "Host: b.exx": a second Host */
        rc = HTTP_PARSE_ALL(&h, &buf, req, strlen(req), 0, 0);
        CHECK_EQ_INT(rc, WS_ERR_HS_HOST);
        CHECK_EQ_INT(ws_http_status(rc), 400);
        free(buf);
        free(req);
    }
}

TEST(request_plain_http) {
    ws_http h;
    char *buf;
    static const char post[] = "POST /form?a=1 HTTP/1.1" CRLF "Host: example.com" CRLF
                               "Content-Length: 3" CRLF CRLF "abc";
    CHECK_EQ_INT(parse_req(&h, &buf, "GET /index.html HTTP/1.1" CRLF "Host: example.com" CRLF
                                     "Accept: */*" CRLF CRLF),
                 WS_HS_HTTP);
    CHECK_STR(h.method, "GET");
    CHECK_STR(h.path, "/index.html");
    CHECK_STR(h.host, "example.com");
    CHECK_EQ_INT(h.num_headers, 2);
    free(buf);

    CHECK_EQ_INT(parse_req(&h, &buf, post), WS_HS_HTTP);
    CHECK_STR(h.method, "POST");
    CHECK_STR(h.path, "/form");
    CHECK_STR(h.query, "a=1");
    CHECK_EQ_INT(h.size, strlen(post) - 3);       /* the body is not part of the head */
    free(buf);

    CHECK_EQ_INT(parse_req(&h, &buf, "GET / HTTP/1.0" CRLF CRLF), WS_HS_HTTP);
    CHECK_EQ_INT(h.version, 0);
    free(buf);

    /* an upgrade to something else than WebSocket is not ours */
    CHECK_EQ_INT(parse_req(&h, &buf, "GET / HTTP/1.1" CRLF "Host: a" CRLF
                                     "Connection: Upgrade, HTTP2-Settings" CRLF
                                     "Upgrade: h2c" CRLF "HTTP2-Settings: AAMAAABkAAQAAP__" CRLF
                                     CRLF),
                 WS_HS_HTTP);
    free(buf);
}

TEST(request_bytes_after_head_not_consumed) {
    ws_http h;
    char *buf;
    char req[512];
    size_t head = strlen(rfc_request);
    static const char frame[] = "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";
    memcpy(req, rfc_request, head);
    memcpy(req + head, frame, sizeof frame - 1);
    CHECK_EQ_INT(HTTP_PARSE_ALL(&h, &buf, req, head + sizeof frame - 1, 0, 0), WS_HS_UPGRADE);
    CHECK_EQ_INT(h.size, head);
    CHECK_STR(h.key, "dGhlIHNhbXBsZSBub25jZQ==");
    free(buf);
}

/* A valid upgrade whose head is exactly `total` bytes, padded with an X-Pad header. */
static char *request_of_size(size_t total) {
    size_t base = strlen(rfc_request), pad, i;
    char *r = (char *)malloc(total + 1);
    /* "X-Pad: " + pad chars + CRLF is added before the final CRLF */
    pad = total - base - 9;
    memcpy(r, rfc_request, base - 2);
    i = base - 2;
    memcpy(r + i, "X-Pad: ", 7);
    i += 7;
    memset(r + i, 'p', pad);
    i += pad;
    memcpy(r + i, CRLF CRLF, 5);
    return r;
}

TEST(request_too_big_431) {
    ws_http h;
    char *buf, *r;
    size_t sizes[] = { 300, 301 };
    size_t i;
    for (i = 0; i < 2; i++) {
        r = request_of_size(sizes[i]);
        CHECK_EQ_INT(strlen(r), sizes[i]);
        test_context("a %lu-byte head, max 300", (unsigned long)sizes[i]);
        CHECK_EQ_INT(HTTP_PARSE_ALL(&h, &buf, r, sizes[i], 300, 0),
                     i == 0 ? WS_HS_UPGRADE : WS_ERR_HS_TOO_BIG);
        free(buf);
        free(r);
    }
    CHECK_EQ_INT(ws_http_status(WS_ERR_HS_TOO_BIG), 431);

    /* the default limit, 8192 bytes */
    r = request_of_size(8192);
    buf = (char *)dup_exact(r, 8192);
    ws_http_init(&h, 0);
    test_context("a 8192-byte head, default max");
    CHECK_EQ_INT(ws_http_parse_request(&h, buf, 8192), WS_HS_UPGRADE);
    free(buf);
    free(r);
    r = request_of_size(8193);
    buf = (char *)dup_exact(r, 8193);
    ws_http_init(&h, 0);
    test_context("a 8193-byte head, default max");
    CHECK_EQ_INT(ws_http_parse_request(&h, buf, 8193), WS_ERR_HS_TOO_BIG);
    free(buf);

    /* a zeroed ws_http uses the default too */
    buf = (char *)dup_exact(r, 8193);
    memset(&h, 0, sizeof h);
    test_context("a 8193-byte head, zeroed ws_http");
    CHECK_EQ_INT(ws_http_parse_request(&h, buf, 8193), WS_ERR_HS_TOO_BIG);
    free(buf);
    free(r);
}

TEST(request_too_big_without_end) {
    /* a head that never ends must not be waited for forever: over max bytes without the
       blank line is already too big */
    ws_http h;
    char *buf = (char *)malloc(400);
    memcpy(buf, "GET / HTTP/1.1" CRLF "X-Long: ", 24);
    memset(buf + 24, 'a', 400 - 24);
    ws_http_init(&h, 300);
    CHECK_EQ_INT(ws_http_parse_request(&h, buf, 250), WS_HS_PARTIAL);
    CHECK_EQ_INT(ws_http_parse_request(&h, buf, 400), WS_ERR_HS_TOO_BIG);
    free(buf);
}

static char *request_with_headers(size_t extra) {
    size_t i, base = strlen(rfc_request);
    char *r = (char *)malloc(base + extra * 16 + 1), *p;
    memcpy(r, rfc_request, base - 2);
    p = r + base - 2;
    for (i = 0; i < extra; i++)
        p += sprintf(p, "X-H%03lu: v" CRLF, (unsigned long)i);
    memcpy(p, CRLF, 3);
    return r;
}

TEST(request_header_count_431) {
    ws_http h;
    char *buf, *r;
    r = request_with_headers(WS_MAX_HEADERS - 7);   /* the RFC request has 7 */
    test_context("exactly WS_MAX_HEADERS headers");
    CHECK_EQ_INT(HTTP_PARSE_ALL(&h, &buf, r, strlen(r), 0, 0), WS_HS_UPGRADE);
    CHECK_EQ_INT(h.num_headers, WS_MAX_HEADERS);
    free(buf);
    free(r);
    r = request_with_headers(WS_MAX_HEADERS - 6);
    test_context("WS_MAX_HEADERS + 1 headers");
    CHECK_EQ_INT(HTTP_PARSE_ALL(&h, &buf, r, strlen(r), 0, 0), WS_ERR_HS_TOO_MANY);
    CHECK_EQ_INT(ws_http_status(WS_ERR_HS_TOO_MANY), 431);
    free(buf);
    free(r);
}

TEST(request_malformed_400) {
    static const char *const bad[] = {
        /* bare LF line endings */
        "GET /chat HTTP/1.1\nHost: a\nUpgrade: websocket\nConnection: Upgrade\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\nSec-WebSocket-Version: 13\n\n",
        "GET /chat HTTP/1.1" CRLF "Host: a\n" "Upgrade: websocket" CRLF CRLF,
        /* obs-fold (RFC 7230 3.2.4) */
        "GET /chat HTTP/1.1" CRLF "Host: a" CRLF "X-Folded: a" CRLF " b" CRLF CRLF,
        "GET /chat HTTP/1.1" CRLF "Host: a" CRLF "X-Folded: a" CRLF "\tb" CRLF CRLF,
        /* whitespace between the name and the colon (RFC 7230 3.2.4) */
        "GET /chat HTTP/1.1" CRLF "Host : a" CRLF CRLF,
        "GET /chat HTTP/1.1" CRLF "Host\t: a" CRLF CRLF,
        /* no colon, empty name, bad characters */
        "GET /chat HTTP/1.1" CRLF "Host a" CRLF CRLF,
        "GET /chat HTTP/1.1" CRLF ": a" CRLF CRLF,
        "GET /chat HTTP/1.1" CRLF "Ho(st: a" CRLF CRLF,
        /* broken request lines */
        "GET /chat" CRLF "Host: a" CRLF CRLF,
        "GET" CRLF CRLF,
        "GET /chat HTTP/1.1 extra" CRLF "Host: a" CRLF CRLF,
        "GET /chat XTTP/1.1" CRLF "Host: a" CRLF CRLF,
        " GET /chat HTTP/1.1" CRLF "Host: a" CRLF CRLF,
    };
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ws_http h;
        char *buf;
        int rc = HTTP_PARSE_ALL(&h, &buf, bad[i], strlen(bad[i]), 0, 0);
        test_context("malformed request #%lu", (unsigned long)i);
        CHECK_EQ_INT(rc, WS_ERR_HS_MALFORMED);
        CHECK_EQ_INT(ws_http_status(rc), 400);
        free(buf);
    }
}

TEST(request_control_bytes_in_value) {
    ws_http h;
    char req[] = "GET /chat HTTP/1.1" CRLF "Host: a" CRLF "X-Nul: a_b" CRLF CRLF;
    char *buf;
    *strchr(req, '_') = '\0';
    CHECK_EQ_INT(HTTP_PARSE_ALL(&h, &buf, req, sizeof req - 1, 0, 0), WS_ERR_HS_MALFORMED);
    free(buf);
}

TEST(http_status_mapping) {
    static const struct { int err, status; } v[] = {
        { WS_ERR_HS_MALFORMED, 400 }, { WS_ERR_HS_METHOD, 400 },  { WS_ERR_HS_HTTP_VERSION, 400 },
        { WS_ERR_HS_HOST, 400 },      { WS_ERR_HS_CONNECTION, 400 }, { WS_ERR_HS_KEY, 400 },
        { WS_ERR_HS_VERSION, 426 },   { WS_ERR_HS_TOO_BIG, 431 }, { WS_ERR_HS_TOO_MANY, 431 },
        { WS_ERR_HS_ORIGIN, 403 },    { WS_OK, 0 },               { WS_ERR_PROTOCOL, 0 },
        { WS_ERR_UTF8, 0 },           { WS_ERR_HS_STATUS, 0 },    { WS_ERR_HS_ACCEPT, 0 },
        { WS_HS_UPGRADE, 0 },         { -1000, 0 },
    };
    size_t i;
    for (i = 0; i < sizeof v / sizeof v[0]; i++) {
        test_context("error %d (%s)", v[i].err, ws_strerror(v[i].err));
        CHECK_EQ_INT(ws_http_status(v[i].err), v[i].status);
    }
}

/* ---- building responses ----------------------------------------------------------- */

TEST(accept_response_rfc_example) {
    static const char with_proto[] = "HTTP/1.1 101 Switching Protocols" CRLF
                                     "Upgrade: websocket" CRLF
                                     "Connection: Upgrade" CRLF
                                     "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" CRLF
                                     "Sec-WebSocket-Protocol: chat" CRLF CRLF;
    static const char without[] = "HTTP/1.1 101 Switching Protocols" CRLF
                                  "Upgrade: websocket" CRLF
                                  "Connection: Upgrade" CRLF
                                  "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" CRLF CRLF;
    ws_http h;
    char *buf, out[512];
    size_t len = 0;
    CHECK_EQ_INT(parse_req(&h, &buf, rfc_request), WS_HS_UPGRADE);
    CHECK_EQ_INT(ws_handshake_accept(out, sizeof out, &len, &h, "chat"), WS_OK);
    CHECK_EQ_MEM(out, len, with_proto, sizeof with_proto - 1);
    len = 0;
    CHECK_EQ_INT(ws_handshake_accept(out, sizeof out, &len, &h, NULL), WS_OK);
    CHECK_EQ_MEM(out, len, without, sizeof without - 1);
    CHECK_EQ_INT(ws_handshake_accept(out, sizeof out, &len, &h, "superchat"), WS_OK);
    CHECK(len > 0 && strstr(out, "Sec-WebSocket-Protocol: superchat" CRLF) != NULL);
    free(buf);
}

TEST(accept_response_errors) {
    ws_http h;
    char *buf, out[512], *exact;
    size_t len = 0, need;
    CHECK_EQ_INT(parse_req(&h, &buf, rfc_request), WS_HS_UPGRADE);
    CHECK_EQ_INT(ws_handshake_accept(out, sizeof out, &len, &h, "mqtt"), WS_ERR_ARG);
    CHECK_EQ_INT(ws_handshake_accept(out, sizeof out, &len, &h, "cha"), WS_ERR_ARG);
    CHECK_EQ_INT(ws_handshake_accept(out, sizeof out, &len, &h, "chat\r\nX: y"), WS_ERR_ARG);
    CHECK_EQ_INT(ws_handshake_accept(out, sizeof out, &len, &h, "chat"), WS_OK);
    need = len;
    exact = (char *)malloc(need);   /* exactly the response's size is enough */
    CHECK_EQ_INT(ws_handshake_accept(exact, need, &len, &h, "chat"), WS_OK);
    CHECK_EQ_INT(len, need);
    CHECK_EQ_MEM(exact, len, out, need);
    CHECK_EQ_INT(ws_handshake_accept(exact, need - 1, &len, &h, "chat"), WS_ERR_NOSPACE);
    CHECK_EQ_INT(ws_handshake_accept(exact, 10, &len, &h, "chat"), WS_ERR_NOSPACE);
    free(exact);
    free(buf);
    /* no subprotocol offered: any protocol is refused, none is fine */
    CHECK_EQ_INT(parse_req(&h, &buf, "GET / HTTP/1.1" CRLF "Host: a" CRLF "Upgrade: websocket"
                                     CRLF "Connection: Upgrade" CRLF
                                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==" CRLF
                                     "Sec-WebSocket-Version: 13" CRLF CRLF),
                 WS_HS_UPGRADE);
    CHECK_EQ_INT(ws_handshake_accept(out, sizeof out, &len, &h, "chat"), WS_ERR_ARG);
    CHECK_EQ_INT(ws_handshake_accept(out, sizeof out, &len, &h, NULL), WS_OK);
    free(buf);
}

/* Checks that resp[0..len-1] is a complete, well-formed response with this status line,
   the given header lines, Connection: close, and a body matching Content-Length. */
static void check_reject_at(int err, const char *status_line, const char *must_have,
                            const char *file, int line) {
    char out[512];
    size_t len = 0;
    ws_http h;
    int rc = ws_handshake_reject(out, sizeof out, &len, err);
    test_context("ws_handshake_reject(%s)", ws_strerror(err));
    test_check_int(rc, WS_OK, file, line, "ws_handshake_reject");
    if (rc != WS_OK || len == 0 || len > sizeof out)
        return;
    test_check_mem(out, strlen(status_line) < len ? strlen(status_line) : len, status_line,
                   strlen(status_line), file, line, "status line");
    out[len < sizeof out ? len : sizeof out - 1] = 0;
    if (must_have)
        test_check(strstr(out, must_have) != NULL, file, line, "the expected header line");
    ws_http_init(&h, 0);
    rc = ws_http_parse_response(&h, out, len);
    /* a complete head (what the parser calls a non-101 head is checked in hs_client) */
    test_check(rc == WS_HS_UPGRADE || rc == WS_HS_HTTP, file, line,
               "ws_http_parse_response of it gives a complete head");
    if (rc > 0) {
        ws_str cl = ws_http_header(&h, "Content-Length");
        test_check_int(h.status, ws_http_status(err), file, line, "status");
        test_check(ws_http_has_token(&h, "Connection", "close"), file, line,
                   "Connection: close");
        if (cl.ptr) {
            test_check_int(strtol(cl.ptr, NULL, 10), (long)(len - h.size), file, line,
                           "Content-Length");
        } else {
            test_check_int(len - h.size, 0, file, line, "body without Content-Length");
        }
    }
    /* too small a buffer */
    test_check_int(ws_handshake_reject(out, 8, &len, err), WS_ERR_NOSPACE, file, line,
                   "ws_handshake_reject with 8 bytes");
    test_context(NULL);
}
#define CHECK_REJECT(err, status_line, must_have) \
    check_reject_at((err), (status_line), (must_have), __FILE__, __LINE__)

TEST(reject_responses) {
    char out[512];
    size_t len;
    CHECK_REJECT(WS_ERR_HS_MALFORMED, "HTTP/1.1 400 Bad Request" CRLF, NULL);
    CHECK_REJECT(WS_ERR_HS_KEY, "HTTP/1.1 400 Bad Request" CRLF, NULL);
    CHECK_REJECT(WS_ERR_HS_ORIGIN, "HTTP/1.1 403 Forbidden" CRLF, NULL);
    CHECK_REJECT(WS_ERR_HS_VERSION, "HTTP/1.1 426 Upgrade Required" CRLF,
                 CRLF "Sec-WebSocket-Version: 13" CRLF);
    CHECK_REJECT(WS_ERR_HS_TOO_BIG, "HTTP/1.1 431 Request Header Fields Too Large" CRLF,
                 NULL);
    CHECK_REJECT(WS_ERR_HS_TOO_MANY, "HTTP/1.1 431 Request Header Fields Too Large" CRLF,
                 NULL);
    CHECK_EQ_INT(ws_handshake_reject(out, sizeof out, &len, WS_ERR_PROTOCOL), WS_ERR_ARG);
    CHECK_EQ_INT(ws_handshake_reject(out, sizeof out, &len, WS_ERR_HS_STATUS), WS_ERR_ARG);
    CHECK_EQ_INT(ws_handshake_reject(out, sizeof out, &len, WS_OK), WS_ERR_ARG);
    CHECK_EQ_INT(ws_handshake_reject(out, sizeof out, &len, 400), WS_ERR_ARG);
}

TEST(reject_fits_in_256_bytes) {
    static const int errs[] = { WS_ERR_HS_MALFORMED, WS_ERR_HS_METHOD, WS_ERR_HS_HTTP_VERSION,
                                WS_ERR_HS_HOST, WS_ERR_HS_CONNECTION, WS_ERR_HS_KEY,
                                WS_ERR_HS_VERSION, WS_ERR_HS_TOO_BIG, WS_ERR_HS_TOO_MANY,
                                WS_ERR_HS_ORIGIN };
    size_t i;
    for (i = 0; i < sizeof errs / sizeof errs[0]; i++) {
        char *out = (char *)malloc(256);
        size_t len = 0;
        test_context("%s", ws_strerror(errs[i]));
        CHECK_EQ_INT(ws_handshake_reject(out, 256, &len, errs[i]), WS_OK);
        CHECK(len > 0 && len <= 256);
        free(out);
    }
}

TEST(select_protocol) {
    ws_http h;
    char *buf;
    const char *const s1[] = { "superchat", "chat" };
    const char *const s2[] = { "mqtt", "chat" };
    const char *const s3[] = { "mqtt" };
    const char *const s4[] = { "super" };
    CHECK_EQ_INT(parse_req(&h, &buf, rfc_request), WS_HS_UPGRADE);
    CHECK_EQ_STR(ws_handshake_select_protocol(&h, s1, 2), "superchat");
    CHECK_EQ_STR(ws_handshake_select_protocol(&h, s2, 2), "chat");
    CHECK(ws_handshake_select_protocol(&h, s3, 1) == NULL);
    CHECK(ws_handshake_select_protocol(&h, s4, 1) == NULL);
    CHECK(ws_handshake_select_protocol(&h, s1, 0) == NULL);
    free(buf);
    CHECK_EQ_INT(parse_req(&h, &buf, "GET / HTTP/1.1" CRLF "Host: a" CRLF "Upgrade: websocket"
                                     CRLF "Connection: Upgrade" CRLF
                                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==" CRLF
                                     "Sec-WebSocket-Version: 13" CRLF
                                     "Sec-WebSocket-Protocol: a,b" CRLF
                                     "Sec-WebSocket-Protocol: chat" CRLF CRLF),
                 WS_HS_UPGRADE);
    /* offered across two header lines (RFC 6455 11.3.4) */
    CHECK_EQ_STR(ws_handshake_select_protocol(&h, s2, 2), "chat");
    {
        char out[512];
        size_t len;
        CHECK_EQ_INT(ws_handshake_accept(out, sizeof out, &len, &h, "chat"), WS_OK);
        CHECK_EQ_INT(ws_handshake_accept(out, sizeof out, &len, &h, "b"), WS_OK);
    }
    free(buf);
}

/* ---- header helpers ---------------------------------------------------------------------- */

TEST(token_next_lists) {
    ws_str list, tok;
    const char *text = " a, b ,,\tc\t, ,";
    const char *want[] = { "a", "b", "c" };
    int i = 0;
    list.ptr = text;
    list.len = strlen(text);
    while (ws_token_next(&list, &tok)) {
        if (!CHECK(i < 3))
            break;
        CHECK_STR(tok, want[i]);
        i++;
    }
    CHECK_EQ_INT(i, 3);
    list.ptr = "";
    list.len = 0;
    CHECK(!ws_token_next(&list, &tok));
    list.ptr = NULL;
    CHECK(!ws_token_next(&list, &tok));
}

TEST(has_token_and_header) {
    ws_http h;
    char *buf;
    CHECK_EQ_INT(parse_req(&h, &buf, "GET / HTTP/1.1" CRLF "Host: a" CRLF
                                     "X-List: one, Two" CRLF "x-list: three" CRLF
                                     "X-Empty:" CRLF CRLF),
                 WS_HS_HTTP);
    CHECK(ws_http_has_token(&h, "x-list", "two"));
    CHECK(ws_http_has_token(&h, "X-LIST", "THREE"));
    CHECK(!ws_http_has_token(&h, "X-List", "tw"));
    CHECK(!ws_http_has_token(&h, "X-List", "one, Two"));
    CHECK(!ws_http_has_token(&h, "X-Absent", "one"));
    CHECK_STR(ws_http_header(&h, "X-LIST"), "one, Two");   /* the first one */
    CHECK_STR(ws_http_header(&h, "x-empty"), "");           /* present, empty */
    CHECK(ws_http_header(&h, "x-empty").ptr != NULL);
    free(buf);
}

TEST(check_request_gives_the_parsers_verdict) {
    /* a server that parses HTTP itself fills ws_http from its own parse: the verdict and
       the 101 must be the ones ws_http_parse_request gives for the same request */
#define WS_HEADS "Upgrade: websocket" CRLF "Connection: Upgrade" CRLF
#define WS_KEY "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==" CRLF
#define WS_V13 "Sec-WebSocket-Version: 13" CRLF
    static const char *const reqs[] = {
        "GET /a HTTP/1.1" CRLF "Host: h" CRLF WS_HEADS WS_KEY WS_V13 CRLF,
        "GET /b?x=1 HTTP/1.1" CRLF "Host: h" CRLF "Origin: o" CRLF WS_HEADS WS_KEY WS_V13
            "Sec-WebSocket-Protocol: chat" CRLF CRLF,
        "GET / HTTP/1.1" CRLF "Host: h" CRLF CRLF,
        "GET / HTTP/1.1" CRLF "Host: a" CRLF "Host: b" CRLF WS_HEADS WS_KEY WS_V13 CRLF,
        "GET / HTTP/1.1" CRLF "Host: h" CRLF "Connection: Upgrade" CRLF WS_KEY WS_V13 CRLF,
        "GET / HTTP/1.1" CRLF "Host: h" CRLF WS_HEADS WS_KEY "Sec-WebSocket-Version: 8" CRLF CRLF,
        "GET / HTTP/1.1" CRLF "Host: h" CRLF WS_HEADS "Sec-WebSocket-Key: short" CRLF WS_V13 CRLF,
        "GET / HTTP/1.1" CRLF "Host: h" CRLF WS_HEADS WS_KEY WS_KEY WS_V13 CRLF,
        "POST / HTTP/1.1" CRLF "Host: h" CRLF WS_HEADS WS_KEY WS_V13 CRLF,
        "GET / HTTP/1.0" CRLF "Host: h" CRLF WS_HEADS WS_KEY WS_V13 CRLF,
        "GET / HTTP/1.1" CRLF WS_HEADS WS_KEY WS_V13 CRLF,
    };
    size_t i, k;
    int upgrades = 0, errors = 0, plain = 0;
    for (i = 0; i < sizeof reqs / sizeof reqs[0]; i++) {
        ws_http a, b;
        const char *req = reqs[i];
        char out_a[512], out_b[512];
        size_t la = 0, lb = 0;
        int ra, rb;
        test_context("request %zu", i);
        ws_http_init(&a, 0);
        ra = ws_http_parse_request(&a, req, strlen(req));
        memset(&b, 0, sizeof b);
        b.method = a.method;
        b.version = a.version;
        b.path = a.path;
        b.target = a.target;
        b.num_headers = a.num_headers;
        for (k = 0; k < a.num_headers; k++) b.headers[k] = a.headers[k];
        rb = ws_http_check_request(&b);
        CHECK_EQ_INT(rb, ra);
        upgrades += ra == WS_HS_UPGRADE;
        plain += ra == WS_HS_HTTP;
        errors += ra < 0;
        CHECK(str_is(b.host, NULL) == str_is(a.host, NULL));
        if (ra == WS_HS_UPGRADE) {
            CHECK_EQ_INT(ws_handshake_accept(out_a, sizeof out_a, &la, &a, NULL), WS_OK);
            CHECK_EQ_INT(ws_handshake_accept(out_b, sizeof out_b, &lb, &b, NULL), WS_OK);
            CHECK_EQ_MEM(out_b, lb, out_a, la);
        }
    }
    test_context(NULL);
    CHECK(upgrades >= 2 && plain >= 1 && errors >= 4);      /* the cases cover each verdict */
    {
        ws_http h;
        memset(&h, 0, sizeof h);
        CHECK_EQ_INT(ws_http_check_request(&h), WS_ERR_ARG);        /* no method */
        h.method.ptr = "GET";
        h.method.len = 3;
        h.num_headers = 1;                                          /* a NULL header */
        CHECK_EQ_INT(ws_http_check_request(&h), WS_ERR_ARG);
    }
}

TEST(accept_with_extensions_and_header_lines) {
    /* the 101 carries the agreed extension and your own header lines, in that order */
    ws_http h;
    char out[512];
    size_t len = 0;
    ws_accept_opts o;
    static const char want[] =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n"
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=15\r\n"
        "Set-Cookie: a=1\r\n\r\n";
    ws_http_init(&h, 0);
    CHECK_EQ_INT(ws_http_parse_request(&h, rfc_request, strlen(rfc_request)), WS_HS_UPGRADE);
    o.protocol = "chat";
    o.extensions = "permessage-deflate; client_max_window_bits=15";
    o.headers = "Set-Cookie: a=1\r\n";
    CHECK_EQ_INT(ws_handshake_accept_opts(out, sizeof out, &len, &h, &o), WS_OK);
    CHECK_EQ_MEM(out, len, want, sizeof want - 1);
    o.extensions = "x\r\nInjected: 1";
    CHECK_EQ_INT(ws_handshake_accept_opts(out, sizeof out, &len, &h, &o), WS_ERR_ARG);
    o.extensions = NULL;
    o.headers = "No-CRLF: 1";
    CHECK_EQ_INT(ws_handshake_accept_opts(out, sizeof out, &len, &h, &o), WS_ERR_ARG);
    o.headers = "\r\n";
    CHECK_EQ_INT(ws_handshake_accept_opts(out, sizeof out, &len, &h, &o), WS_ERR_ARG);
    CHECK_EQ_INT(ws_handshake_accept_opts(out, sizeof out, &len, &h, NULL), WS_OK);
    CHECK(strstr(out, "Sec-WebSocket-Extensions") == NULL);
}

void suite_hs_server(void) {
    test_suite_begin("hs_server");
    RUN(request_rfc_example);
    RUN(check_request_gives_the_parsers_verdict);
    RUN(accept_with_extensions_and_header_lines);
    RUN(request_query_and_target);
    RUN(request_whitespace_and_case);
    RUN(request_connection_token_lists);
    RUN(request_key_errors);
    RUN(request_duplicate_key);
    RUN(request_version_errors_426);
    RUN(request_method_and_http_version);
    RUN(request_host_errors);
    RUN(request_plain_http);
    RUN(request_bytes_after_head_not_consumed);
    RUN(request_too_big_431);
    RUN(request_too_big_without_end);
    RUN(request_header_count_431);
    RUN(request_malformed_400);
    RUN(request_control_bytes_in_value);
    RUN(http_status_mapping);
    RUN(accept_response_rfc_example);
    RUN(accept_response_errors);
    RUN(reject_responses);
    RUN(reject_fits_in_256_bytes);
    RUN(select_protocol);
    RUN(token_next_lists);
    RUN(has_token_and_header);
    test_suite_end();
}
