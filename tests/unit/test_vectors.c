/* test_vectors.c - opening handshakes captured from real clients (the .http files in
   tests/unit/vectors, raw bytes of each request head) parse as valid upgrades in every split, and
   ws_handshake_accept answers each with the Sec-WebSocket-Accept its client expects.

   How the files were made: a throwaway Python server on 127.0.0.1 recorded each client's
   upgrade request, answered 101 with an accept computed by Python's hashlib (the values
   below) and its first subprotocol, and waited for the client's first message. Each client
   sent it, so each accepted that 101: the accepts below are the ones the real clients
   check. Clients: Node ws 8.23.0 (Node 20), Python websockets 10.4 (Debian's
   python3-websockets), and Chromium 156 headless loading a page from that server. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct vector {
    const char *file;
    const char *path, *query, *key, *accept;
    const char *protocols_offered;  /* as the client wrote them */
    int has_origin;
} vector;

static const vector vectors[] = {
    { "chromium-156.http", "/chromium", "room=1", "kVdmGx/hY8plgRcZqNxwmg==",
      "5VOHOsNmIYC7N0UIVwebbqfTFlU=", "chat, superchat", 1 },
    { "node-ws-8.23.0.http", "/node-ws", "room=1", "9UivinIYSP7GoX1He8+WrQ==",
      "rNgyMItoqlnOw/80Ua2cHSlvqxA=", "chat,superchat", 0 },
    { "python-websockets-10.4.http", "/python-websockets", "room=1",
      "QOC5KPgLxhfb34fG8IytNw==", "nddSIwlJLwe6xU7DF66YM5T5Q8o=", "chat, superchat", 1 },
};

/* Reads tests/unit/vectors/name: next to this source file, or from the current directory. */
static char *read_vector(const char *name, size_t *len) {
    char path[1024];
    const char *dirs[3];
    const char *slash = strrchr(__FILE__, '/');
    char here[512];
    int i;
    if (slash && (size_t)(slash - __FILE__) < sizeof here - 1) {
        memcpy(here, __FILE__, (size_t)(slash - __FILE__));
        here[slash - __FILE__] = 0;
    } else {
        strcpy(here, ".");
    }
    dirs[0] = here;
    dirs[1] = "tests/unit";
    dirs[2] = ".";
    for (i = 0; i < 3; i++) {
        FILE *f;
        long n;
        char *buf;
        snprintf(path, sizeof path, "%s/vectors/%s", dirs[i], name);
        f = fopen(path, "rb");
        if (!f)
            continue;
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        fseek(f, 0, SEEK_SET);
        buf = (char *)malloc(n > 0 ? (size_t)n : 1);
        if (n <= 0 || fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            fclose(f);
            return NULL;
        }
        fclose(f);
        *len = (size_t)n;
        return buf;
    }
    return NULL;
}

static void check_vector(const vector *v) {
    size_t len = 0;
    char *text = read_vector(v->file, &len), *buf, out[1024], want[128];
    ws_http h, resp;
    size_t olen = 0;
    const char *const supported[] = { "superchat", "chat" };
    const char *proto;
    if (!CHECK(text != NULL)) {
        FAIL("cannot read tests/unit/vectors/%s (run from the top of the repository)", v->file);
        return;
    }
    test_context("tests/unit/vectors/%s", v->file);
    CHECK_EQ_INT(HTTP_PARSE_ALL(&h, &buf, text, len, 0, 0), WS_HS_UPGRADE);
    test_context("tests/unit/vectors/%s", v->file);
    CHECK_EQ_INT(h.size, len);
    CHECK_STR(h.method, "GET");
    CHECK_STR(h.path, v->path);
    CHECK_STR(h.query, v->query);
    CHECK_STR(h.key, v->key);
    CHECK_STR(h.ws_version, "13");
    CHECK_STR(h.protocol, v->protocols_offered);
    CHECK(h.host.ptr != NULL && h.host.len > 0);
    CHECK_EQ_INT(h.origin.ptr != NULL, v->has_origin);
    CHECK(str_is(h.extensions, "permessage-deflate; client_max_window_bits"));

    /* the server's choice: its own first preference the client offered */
    proto = ws_handshake_select_protocol(&h, supported, 2);
    CHECK_EQ_STR(proto, "superchat");
    CHECK_EQ_INT(ws_handshake_accept(out, sizeof out - 1, &olen, &h, "chat"), WS_OK);
    out[olen < sizeof out ? olen : sizeof out - 1] = 0;
    snprintf(want, sizeof want, "\r\nSec-WebSocket-Accept: %s\r\n", v->accept);
    CHECK(strstr(out, want) != NULL);
    CHECK(strstr(out, "\r\nSec-WebSocket-Protocol: chat\r\n") != NULL);
    CHECK(strstr(out, "Sec-WebSocket-Extensions") == NULL);   /* none negotiated */

    /* and the response passes the client's checks */
    ws_http_init(&resp, 0);
    CHECK_EQ_INT(ws_http_parse_response(&resp, out, olen), WS_HS_UPGRADE);
    CHECK_EQ_INT(ws_handshake_check(&resp, v->key, v->protocols_offered,
                                    "permessage-deflate; client_max_window_bits"),
                 WS_OK);
    free(buf);
    free(text);
}

TEST(vector_chromium) {
    check_vector(&vectors[0]);
}

TEST(vector_node_ws) {
    check_vector(&vectors[1]);
}

TEST(vector_python_websockets) {
    check_vector(&vectors[2]);
}

void suite_vectors(void) {
    test_suite_begin("vectors");
    RUN(vector_chromium);
    RUN(vector_node_ws);
    RUN(vector_python_websockets);
    test_suite_end();
}
