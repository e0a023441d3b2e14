// compile_cpp.cpp - ws.h with WS_IMPLEMENTATION compiled as C++11 (g++ -std=c++11 -Wall
// -Wextra -Werror -c), touching the main entry points. It also links and runs on its own:
//     g++ -std=c++11 -Wall -Wextra -Werror tests/builds/compile_cpp.cpp -o build/cpp && build/cpp
#define WS_IMPLEMENTATION
#include "../../ws.h"

#include <cstdio>
#include <cstring>

namespace {

struct Sink {
    unsigned char bytes[512];
    size_t len;
};

int on_send(ws_conn *c, const ws_buf *bufs, size_t n) {
    Sink *s = static_cast<Sink *>(c->user);
    for (size_t i = 0; i < n; i++) {
        if (s->len + bufs[i].len > sizeof s->bytes)
            return -1;
        std::memcpy(s->bytes + s->len, bufs[i].data, bufs[i].len);
        s->len += bufs[i].len;
    }
    return 0;
}

int failures = 0;

void expect(bool ok, const char *what) {
    if (!ok) {
        std::printf("compile_cpp: FAIL %s\n", what);
        failures++;
    }
}

} // namespace

int main() {
    char accept[29];
    ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 24, accept);
    expect(std::strcmp(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == 0, "ws_accept_key");
    expect(ws_utf8_valid("\xce\xba", 2) && !ws_utf8_valid("\xc0\x80", 2), "ws_utf8_valid");
    expect(std::strcmp(ws_strerror(WS_ERR_UTF8), "text is not valid UTF-8 (close 1007)") == 0,
           "ws_strerror");

    static const char req[] = "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
                              "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                              "Sec-WebSocket-Version: 13\r\n\r\n";
    ws_http h;
    ws_http_init(&h, 0);
    expect(ws_http_parse_request(&h, req, sizeof req - 1) == WS_HS_UPGRADE, "parse request");

    Sink sink = {};
    ws_config cfg = {};            // C++: {} rather than {0}
    cfg.send = on_send;
    ws_conn conn;
    expect(ws_conn_init(&conn, &cfg, &sink) == WS_OK, "ws_conn_init");
    expect(ws_conn_accept(&conn, &h, nullptr) == WS_OK, "ws_conn_accept");
    size_t head = sink.len;
    expect(ws_conn_send(&conn, WS_OP_TEXT, "hi", 2) == WS_OK, "ws_conn_send");
    expect(sink.len == head + 4 && std::memcmp(sink.bytes + head, "\x81\x02hi", 4) == 0,
           "frame sent");
    unsigned char ping[] = { 0x89, 0x80, 1, 2, 3, 4 };
    expect(ws_conn_feed(&conn, ping, sizeof ping) == WS_OK, "ws_conn_feed");
    expect(ws_conn_state(&conn) == WS_STATE_OPEN, "state");

    std::printf("compile_cpp: %s\n", failures ? "failed" : "ok");
    return failures ? 1 : 0;
}
