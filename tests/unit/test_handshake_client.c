/* test_handshake_client.c - the client side of the opening handshake (RFC 6455 4.1):
   ws_handshake_request byte for byte, fields with CR or LF refused, ws_http_parse_response
   in every split and ws_handshake_check on good and bad responses. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#define CRLF "\r\n"
#define RFC_KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define RFC_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

static ws_client_opts rfc_opts(void) {
    ws_client_opts o;
    memset(&o, 0, sizeof o);
    o.host = "server.example.com";
    o.path = "/chat";
    o.origin = "http://example.com";
    o.protocols = "chat, superchat";
    return o;
}

TEST(request_rfc_example_bytes) {
    /* RFC 6455 1.3's request, line for line; the order of the lines is the library's
       (Version right after Key: the order of different header names carries no meaning,
       RFC 7230 3.2.2) and is pinned here so that a change shows */
    static const char want[] = "GET /chat HTTP/1.1" CRLF
                               "Host: server.example.com" CRLF
                               "Upgrade: websocket" CRLF
                               "Connection: Upgrade" CRLF
                               "Sec-WebSocket-Key: " RFC_KEY CRLF
                               "Sec-WebSocket-Version: 13" CRLF
                               "Origin: http://example.com" CRLF
                               "Sec-WebSocket-Protocol: chat, superchat" CRLF CRLF;
    ws_client_opts o = rfc_opts();
    char out[512];
    size_t len = 0;
    CHECK_EQ_INT(ws_handshake_request(out, sizeof out, &len, &o, RFC_KEY), WS_OK);
    CHECK_EQ_MEM(out, len, want, sizeof want - 1);
}

TEST(request_minimal_bytes) {
    static const char want[] = "GET / HTTP/1.1" CRLF
                               "Host: example.com:8080" CRLF
                               "Upgrade: websocket" CRLF
                               "Connection: Upgrade" CRLF
                               "Sec-WebSocket-Key: " RFC_KEY CRLF
                               "Sec-WebSocket-Version: 13" CRLF CRLF;
    ws_client_opts o;
    char out[512], *exact;
    size_t len = 0;
    memset(&o, 0, sizeof o);
    o.host = "example.com";
    o.port = 8080;
    CHECK_EQ_INT(ws_handshake_request(out, sizeof out, &len, &o, RFC_KEY), WS_OK);
    CHECK_EQ_MEM(out, len, want, sizeof want - 1);
    /* exactly the request's size is enough; one byte less is not */
    exact = (char *)malloc(sizeof want - 1);
    CHECK_EQ_INT(ws_handshake_request(exact, sizeof want - 1, &len, &o, RFC_KEY), WS_OK);
    CHECK_EQ_MEM(exact, len, want, sizeof want - 1);
    CHECK_EQ_INT(ws_handshake_request(exact, sizeof want - 2, &len, &o, RFC_KEY),
                 WS_ERR_NOSPACE);
    free(exact);
}

TEST(request_extensions_and_extra_headers) {
    ws_client_opts o = rfc_opts();
    char out[1024];
    size_t len = 0;
    ws_http h;
    o.extensions = "permessage-deflate; client_max_window_bits";
    o.headers = "Authorization: Bearer abc" CRLF "X-Trace: 1" CRLF;
    CHECK_EQ_INT(ws_handshake_request(out, sizeof out, &len, &o, RFC_KEY), WS_OK);
    /* what a server makes of it */
    ws_http_init(&h, 0);
    CHECK_EQ_INT(ws_http_parse_request(&h, out, len), WS_HS_UPGRADE);
    CHECK_EQ_INT(h.size, len);
    CHECK_STR(h.host, "server.example.com");
    CHECK_STR(h.path, "/chat");
    CHECK_STR(h.key, RFC_KEY);
    CHECK_STR(h.origin, "http://example.com");
    CHECK_STR(h.protocol, "chat, superchat");
    CHECK_STR(h.extensions, "permessage-deflate; client_max_window_bits");
    CHECK_STR(ws_http_header(&h, "Authorization"), "Bearer abc");
    CHECK_STR(ws_http_header(&h, "X-Trace"), "1");
    CHECK_STR(h.ws_version, "13");
}

TEST(request_refuses_cr_lf_and_missing_host) {
    static const char *const evil[] = { "a\r\nX-Injected: 1", "a\nb", "a\rb" };
    char out[1024];
    size_t len, i;
    ws_client_opts o;
    for (i = 0; i < sizeof evil / sizeof evil[0]; i++) {
        test_context("field value \"%s\"", i == 0 ? "a\\r\\nX-Injected: 1" : i == 1 ? "a\\nb"
                                                                            : "a\\rb");
        o = rfc_opts();
        o.host = evil[i];
        CHECK_EQ_INT(ws_handshake_request(out, sizeof out, &len, &o, RFC_KEY), WS_ERR_ARG);
        o = rfc_opts();
        o.path = evil[i];
        CHECK_EQ_INT(ws_handshake_request(out, sizeof out, &len, &o, RFC_KEY), WS_ERR_ARG);
        o = rfc_opts();
        o.origin = evil[i];
        CHECK_EQ_INT(ws_handshake_request(out, sizeof out, &len, &o, RFC_KEY), WS_ERR_ARG);
        o = rfc_opts();
        o.protocols = evil[i];
        CHECK_EQ_INT(ws_handshake_request(out, sizeof out, &len, &o, RFC_KEY), WS_ERR_ARG);
        o = rfc_opts();
        o.extensions = evil[i];
        CHECK_EQ_INT(ws_handshake_request(out, sizeof out, &len, &o, RFC_KEY), WS_ERR_ARG);
    }
    test_context(NULL);
    o = rfc_opts();
    o.host = NULL;
    CHECK_EQ_INT(ws_handshake_request(out, sizeof out, &len, &o, RFC_KEY), WS_ERR_ARG);
    o.host = "";
    CHECK_EQ_INT(ws_handshake_request(out, sizeof out, &len, &o, RFC_KEY), WS_ERR_ARG);
}

/* ---- responses ---------------------------------------------------------------------- */

static const char good_response[] = "HTTP/1.1 101 Switching Protocols" CRLF
                                    "Upgrade: websocket" CRLF
                                    "Connection: Upgrade" CRLF
                                    "Sec-WebSocket-Accept: " RFC_ACCEPT CRLF CRLF;

/* Parses a response in every split and checks it with ws_handshake_check. */
static void expect_check_at(const char *resp, const char *protocols, const char *extensions,
                            int want, const char *file, int line) {
    ws_http h;
    char *buf;
    int rc = http_parse_all_at(&h, &buf, resp, strlen(resp), 0, 1, file, line);
    test_check(rc > 0, file, line, "ws_http_parse_response gives a complete head");
    if (rc > 0) {
        test_check_int(h.size, strlen(resp), file, line, "size");
        test_check_int(ws_handshake_check(&h, RFC_KEY, protocols, extensions), want, file, line,
                       "ws_handshake_check");
    }
    free(buf);
    test_context(NULL);
}
#define EXPECT_CHECK(resp, protocols, extensions, want) \
    expect_check_at((resp), (protocols), (extensions), (want), __FILE__, __LINE__)

TEST(response_good) {
    ws_http h;
    char *buf;
    CHECK_EQ_INT(HTTP_PARSE_ALL(&h, &buf, good_response, strlen(good_response), 0, 1),
                 WS_HS_UPGRADE);
    CHECK_EQ_INT(h.status, 101);
    CHECK_STR(h.reason, "Switching Protocols");
    CHECK_EQ_INT(h.version, 1);
    CHECK_STR(h.upgrade, "websocket");
    CHECK_STR(h.connection, "Upgrade");
    CHECK_STR(h.accept, RFC_ACCEPT);
    CHECK_EQ_INT(h.num_headers, 3);
    CHECK_EQ_INT(ws_handshake_check(&h, RFC_KEY, NULL, NULL), WS_OK);
    CHECK_EQ_INT(ws_handshake_check(&h, RFC_KEY, "chat, superchat", "permessage-deflate"),
                 WS_OK);   /* offering is not requiring */
    free(buf);
}

TEST(response_case_and_token_lists) {
    EXPECT_CHECK("HTTP/1.1 101 Switching Protocols" CRLF "upgrade: WebSocket" CRLF
                 "CONNECTION: keep-alive, upgrade" CRLF "sec-websocket-accept: " RFC_ACCEPT CRLF
                 CRLF,
                 NULL, NULL, WS_OK);
    EXPECT_CHECK("HTTP/1.1 101 Web Socket Protocol Handshake" CRLF "Upgrade: websocket" CRLF
                 "Connection: Upgrade" CRLF "Sec-WebSocket-Accept: " RFC_ACCEPT CRLF
                 "Server: test" CRLF CRLF,
                 NULL, NULL, WS_OK);
}

TEST(response_status_not_101) {
    ws_http h;
    char *buf;
    static const char r200[] = "HTTP/1.1 200 OK" CRLF "Content-Length: 0" CRLF CRLF;
    int rc = HTTP_PARSE_ALL(&h, &buf, r200, strlen(r200), 0, 1);
    /* ws.h: "WS_HS_HTTP when it is complete with another status (h->status)" */
    CHECK_EQ_INT(rc, WS_HS_HTTP);
    CHECK_EQ_INT(h.status, 200);
    CHECK_STR(h.reason, "OK");
    CHECK_EQ_INT(ws_handshake_check(&h, RFC_KEY, NULL, NULL), WS_ERR_HS_STATUS);
    free(buf);
    EXPECT_CHECK("HTTP/1.1 426 Upgrade Required" CRLF "Sec-WebSocket-Version: 13" CRLF
                 "Content-Length: 0" CRLF CRLF,
                 NULL, NULL, WS_ERR_HS_STATUS);
    EXPECT_CHECK("HTTP/1.1 200 OK" CRLF "Upgrade: websocket" CRLF "Connection: Upgrade" CRLF
                 "Sec-WebSocket-Accept: " RFC_ACCEPT CRLF CRLF,
                 NULL, NULL, WS_ERR_HS_STATUS);
}

TEST(response_wrong_accept) {
    EXPECT_CHECK("HTTP/1.1 101 Switching Protocols" CRLF "Upgrade: websocket" CRLF
                 "Connection: Upgrade" CRLF "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOp="
                 CRLF CRLF,
                 NULL, NULL, WS_ERR_HS_ACCEPT);
    EXPECT_CHECK("HTTP/1.1 101 Switching Protocols" CRLF "Upgrade: websocket" CRLF
                 "Connection: Upgrade" CRLF CRLF,
                 NULL, NULL, WS_ERR_HS_ACCEPT);
    /* the accept of another key (RFC 6455 4.1's other example) */
    EXPECT_CHECK("HTTP/1.1 101 Switching Protocols" CRLF "Upgrade: websocket" CRLF
                 "Connection: Upgrade" CRLF
                 "Sec-WebSocket-Accept: HSmrc0sMlYUkAGmm5OPpG2HaGWk=" CRLF CRLF,
                 NULL, NULL, WS_ERR_HS_ACCEPT);
    /* the accept is compared exactly: base64 is case-sensitive */
    EXPECT_CHECK("HTTP/1.1 101 Switching Protocols" CRLF "Upgrade: websocket" CRLF
                 "Connection: Upgrade" CRLF
                 "Sec-WebSocket-Accept: S3PPLMBITXAQ9KYGZZHZRBK+XOO=" CRLF CRLF,
                 NULL, NULL, WS_ERR_HS_ACCEPT);
}

TEST(response_protocol) {
    static const char chat[] = "HTTP/1.1 101 Switching Protocols" CRLF "Upgrade: websocket"
                               CRLF "Connection: Upgrade" CRLF
                               "Sec-WebSocket-Accept: " RFC_ACCEPT CRLF
                               "Sec-WebSocket-Protocol: chat" CRLF CRLF;
    static const char two[] = "HTTP/1.1 101 Switching Protocols" CRLF "Upgrade: websocket"
                              CRLF "Connection: Upgrade" CRLF
                              "Sec-WebSocket-Accept: " RFC_ACCEPT CRLF
                              "Sec-WebSocket-Protocol: chat, superchat" CRLF CRLF;
    EXPECT_CHECK(chat, "chat, superchat", NULL, WS_OK);
    EXPECT_CHECK(chat, "superchat,chat", NULL, WS_OK);
    EXPECT_CHECK(chat, NULL, NULL, WS_ERR_HS_PROTOCOL);
    EXPECT_CHECK(chat, "superchat", NULL, WS_ERR_HS_PROTOCOL);
    EXPECT_CHECK(chat, "cha", NULL, WS_ERR_HS_PROTOCOL);
    EXPECT_CHECK(two, "chat, superchat", NULL, WS_ERR_HS_PROTOCOL);  /* the server picks one */
}

TEST(response_extension) {
    static const char pmd[] = "HTTP/1.1 101 Switching Protocols" CRLF "Upgrade: websocket"
                              CRLF "Connection: Upgrade" CRLF
                              "Sec-WebSocket-Accept: " RFC_ACCEPT CRLF
                              "Sec-WebSocket-Extensions: permessage-deflate" CRLF CRLF;
    EXPECT_CHECK(pmd, NULL, NULL, WS_ERR_HS_EXTENSION);
    EXPECT_CHECK(pmd, "x-other", NULL, WS_ERR_HS_EXTENSION);   /* protocols are not extensions */
    EXPECT_CHECK(pmd, NULL, "x-other", WS_ERR_HS_EXTENSION);
    EXPECT_CHECK(pmd, NULL, "permessage-deflate; client_max_window_bits", WS_OK);
}

TEST(response_missing_upgrade_or_connection) {
    EXPECT_CHECK("HTTP/1.1 101 Switching Protocols" CRLF "Connection: Upgrade" CRLF
                 "Sec-WebSocket-Accept: " RFC_ACCEPT CRLF CRLF,
                 NULL, NULL, WS_ERR_HS_UPGRADE);
    EXPECT_CHECK("HTTP/1.1 101 Switching Protocols" CRLF "Upgrade: websocket" CRLF
                 "Sec-WebSocket-Accept: " RFC_ACCEPT CRLF CRLF,
                 NULL, NULL, WS_ERR_HS_UPGRADE);
    EXPECT_CHECK("HTTP/1.1 101 Switching Protocols" CRLF "Upgrade: h2c" CRLF
                 "Connection: Upgrade" CRLF "Sec-WebSocket-Accept: " RFC_ACCEPT CRLF CRLF,
                 NULL, NULL, WS_ERR_HS_UPGRADE);
    EXPECT_CHECK("HTTP/1.1 101 Switching Protocols" CRLF "Upgrade: websocket" CRLF
                 "Connection: keep-alive" CRLF "Sec-WebSocket-Accept: " RFC_ACCEPT CRLF CRLF,
                 NULL, NULL, WS_ERR_HS_UPGRADE);
}

TEST(response_bytes_after_head_kept) {
    ws_http h;
    char *buf, resp[256];
    size_t head = strlen(good_response);
    static const char frame[] = "\x81\x05Hello";
    memcpy(resp, good_response, head);
    memcpy(resp + head, frame, sizeof frame - 1);
    CHECK_EQ_INT(HTTP_PARSE_ALL(&h, &buf, resp, head + sizeof frame - 1, 0, 1), WS_HS_UPGRADE);
    CHECK_EQ_INT(h.size, head);
    CHECK_EQ_MEM(buf + h.size, sizeof frame - 1, frame, sizeof frame - 1);
    CHECK_EQ_INT(ws_handshake_check(&h, RFC_KEY, NULL, NULL), WS_OK);
    free(buf);
}

TEST(response_malformed) {
    static const char *const bad[] = {
        "HTTP/1.1 1O1 Switching Protocols" CRLF CRLF,
        "HTTP/1.1 Switching Protocols" CRLF CRLF,
        "HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\n\n",
        "HTTP/1.1 101 Switching Protocols" CRLF "Upgrade : websocket" CRLF CRLF,
        "HTTP/1.1 101 Switching Protocols" CRLF "X-Fold: a" CRLF " b" CRLF CRLF,
        "XTTP/1.1 101 Switching Protocols" CRLF CRLF,
    };
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ws_http h;
        char *buf;
        int rc = HTTP_PARSE_ALL(&h, &buf, bad[i], strlen(bad[i]), 0, 1);
        test_context("malformed response #%lu", (unsigned long)i);
        CHECK_EQ_INT(rc, WS_ERR_HS_MALFORMED);
        free(buf);
    }
}

TEST(proxy_connect_request_bytes) {
    char out[256];
    size_t len = 0;
    static const char plain[] = "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n";
    /* "Aladdin:open sesame" is RFC 7617's example: QWxhZGRpbjpvcGVuIHNlc2FtZQ== */
    static const char auth[] = "CONNECT [::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\n"
                               "Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n";
    CHECK_EQ_INT(ws_proxy_request(out, sizeof out, &len, "example.com", 443, NULL), WS_OK);
    CHECK_EQ_MEM(out, len, plain, sizeof plain - 1);
    CHECK_EQ_INT(ws_proxy_request(out, sizeof out, &len, "[::1]", 8443, "Aladdin:open sesame"),
                 WS_OK);
    CHECK_EQ_MEM(out, len, auth, sizeof auth - 1);
    /* room for the request alone is enough, with credentials or not (a NUL when it fits) */
    CHECK_EQ_INT(ws_proxy_request(out, sizeof auth - 1, &len, "[::1]", 8443,
                                  "Aladdin:open sesame"), WS_OK);
    CHECK_EQ_MEM(out, len, auth, sizeof auth - 1);
    CHECK_EQ_INT(ws_proxy_request(out, sizeof auth - 2, &len, "[::1]", 8443,
                                  "Aladdin:open sesame"), WS_ERR_NOSPACE);
    CHECK_EQ_INT(ws_proxy_request(out, sizeof plain - 1, &len, "example.com", 443, NULL), WS_OK);
    CHECK_EQ_MEM(out, len, plain, sizeof plain - 1);
    CHECK_EQ_INT(ws_proxy_request(out, sizeof plain - 2, &len, "example.com", 443, NULL),
                 WS_ERR_NOSPACE);
    CHECK_EQ_INT(ws_proxy_request(out, sizeof out, &len, "a b", 1, NULL), WS_ERR_ARG);
    CHECK_EQ_INT(ws_proxy_request(out, sizeof out, &len, "a\r\nX: y", 1, NULL), WS_ERR_ARG);
    CHECK_EQ_INT(ws_proxy_request(out, sizeof out, &len, "", 1, NULL), WS_ERR_ARG);
    CHECK_EQ_INT(ws_proxy_request(out, sizeof out, &len, "h", 1, "u:p\n"), WS_ERR_ARG);
}

TEST(proxy_answers) {
    static const struct { const char *head; int rc; } cases[] = {
        { "HTTP/1.1 200 Connection established\r\n\r\n", WS_OK },
        { "HTTP/1.0 200 OK\r\nProxy-agent: tinyproxy\r\n\r\n", WS_OK },
        { "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n",
          WS_ERR_PROXY_AUTH },
        { "HTTP/1.1 403 Forbidden\r\n\r\n", WS_ERR_PROXY },
        { "HTTP/1.1 502 Bad Gateway\r\n\r\n", WS_ERR_PROXY },
        { "HTTP/1.1 101 Switching Protocols\r\n\r\n", WS_ERR_PROXY },
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ws_http h;
        ws_http_init(&h, 0);
        test_context("%s", cases[i].head);
        CHECK(ws_http_parse_response(&h, cases[i].head, strlen(cases[i].head)) > 0);
        CHECK_EQ_INT(ws_proxy_check(&h), cases[i].rc);
    }
}

void suite_hs_client(void) {
    test_suite_begin("hs_client");
    RUN(request_rfc_example_bytes);
    RUN(request_minimal_bytes);
    RUN(request_extensions_and_extra_headers);
    RUN(request_refuses_cr_lf_and_missing_host);
    RUN(response_good);
    RUN(response_case_and_token_lists);
    RUN(response_status_not_101);
    RUN(response_wrong_accept);
    RUN(response_protocol);
    RUN(response_extension);
    RUN(response_missing_upgrade_or_connection);
    RUN(response_bytes_after_head_kept);
    RUN(response_malformed);
    RUN(proxy_connect_request_bytes);
    RUN(proxy_answers);
    test_suite_end();
}
