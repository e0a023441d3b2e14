/* fuzz_proxy.c - the HTTP proxy's CONNECT exchange of a client: ws_proxy_request (the
   request that opens a tunnel) and ws_proxy_check on the proxy's answer, as parsed by
   ws_http_parse_response.

   Input: [0] flags (bit 0: credentials given; bits 1-2 the output room: what the request
   needs and its NUL, without the NUL, a byte less, or the byte [1]), [1] a room in bytes, [2..3] the
   port (big-endian), then the host up to a NUL, the credentials ("user:password") up to a
   NUL, and the rest: the proxy's answer (a response head, and the tunnel's first bytes
   behind it).
   Checks: ws_proxy_request returns WS_ERR_ARG exactly for what its manual refuses (no host;
   a control byte other than tab, or DEL, in host or credentials; a space, tab or '/' in the
   host), else the request an independent writer makes, byte for byte and NUL-terminated
   ("CONNECT host:port HTTP/1.1", "Host: host:port", "Proxy-Authorization: Basic" and the
   credentials in base64 by the harness's own encoder, the empty line), with a NUL after it
   when the room has one more byte, and WS_ERR_NOSPACE exactly when the room is smaller than
   the request (the output never written past the room); the answer parses the same
   whole and in two pieces; a complete head gives ws_proxy_check's verdict from its status
   alone (2xx the tunnel, 407 WS_ERR_PROXY_AUTH, anything else WS_ERR_PROXY), and the
   tunnel's bytes start at resp.size inside what was fed. */
#include "fuzz.h"

enum { HOST_MAX = 300, USER_MAX = 300 };

/* base64 (RFC 4648, with padding), independently of ws.h */
static size_t model_b64(const uint8_t *p, size_t n, char *out) {
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i, o = 0;
    for (i = 0; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = abc[v >> 18];
        out[o++] = abc[(v >> 12) & 63];
        out[o++] = abc[(v >> 6) & 63];
        out[o++] = abc[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        out[o++] = abc[v >> 18];
        out[o++] = abc[(v >> 12) & 63];
        out[o++] = '=';
        out[o++] = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        out[o++] = abc[v >> 18];
        out[o++] = abc[(v >> 12) & 63];
        out[o++] = abc[(v >> 6) & 63];
        out[o++] = '=';
    }
    return o;
}

/* a byte a header line may not hold: a control byte other than tab, or DEL */
static int bad_byte(uint8_t c) { return (c < 0x20 && c != '\t') || c == 0x7F; }

/* The request for host:port (and credentials, or NULL) as the manual describes it, into
   out (room for any input here); its length, or 0 when ws_proxy_request must refuse it. */
static size_t model_request(const char *host, unsigned port, const char *user, char *out) {
    size_t i, n = 0;
    char hp[HOST_MAX + 8];
    if (!*host) return 0;
    for (i = 0; host[i]; i++)
        if (bad_byte((uint8_t)host[i]) || host[i] == ' ' || host[i] == '\t' || host[i] == '/')
            return 0;
    for (i = 0; user && user[i]; i++)
        if (bad_byte((uint8_t)user[i])) return 0;
    snprintf(hp, sizeof hp, "%s:%u", host, port);
    n += (size_t)sprintf(out + n, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n", hp, hp);
    if (user) {
        n += (size_t)sprintf(out + n, "Proxy-Authorization: Basic ");
        n += model_b64((const uint8_t *)user, strlen(user), out + n);
        n += (size_t)sprintf(out + n, "\r\n");
    }
    n += (size_t)sprintf(out + n, "\r\n");
    return n;
}

/* A string of up to max bytes from in, up to (and past) a NUL: into s, NUL-terminated. */
static void take_string(fz_in *in, char *s, size_t max) {
    size_t n = 0;
    while (in->n && n < max) {
        uint8_t c = *in->p++;
        in->n--;
        if (!c) break;
        s[n++] = (char)c;
    }
    s[n] = 0;
}

static void check_answer(const uint8_t *p, size_t n, unsigned cut) {
    ws_http whole, split;
    int r = WS_HS_PARTIAL, r2 = WS_HS_PARTIAL;
    size_t k = n ? cut % (n + 1) : 0;
    uint8_t *buf = fz_dup(p, n);
    ws_http_init(&whole, 8192);
    r = ws_http_parse_response(&whole, buf, n);
    CHECK(fz_known_err(r) || r == WS_HS_UPGRADE || r == WS_HS_HTTP);
    /* the same bytes in two pieces: the first alone, then all of them */
    ws_http_init(&split, 8192);
    r2 = ws_http_parse_response(&split, buf, k);
    if (r2 == WS_HS_PARTIAL) r2 = ws_http_parse_response(&split, buf, n);
    CHECK(r2 == r);
    if (r == WS_HS_UPGRADE || r == WS_HS_HTTP) {
        int v = ws_proxy_check(&whole);
        CHECK(split.status == whole.status && split.size == whole.size);
        CHECK(whole.size > 0 && whole.size <= n);
        CHECK(whole.status >= 100 && whole.status <= 599);
        CHECK(r == WS_HS_UPGRADE ? whole.status == 101 : 1);
        if (whole.status >= 200 && whole.status <= 299) CHECK(v == WS_OK);
        else if (whole.status == 407) CHECK(v == WS_ERR_PROXY_AUTH);
        else CHECK(v == WS_ERR_PROXY);
        CHECK(v == WS_OK || ws_strerror(v)[0]);
    }
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_in in = { data, size };
    unsigned flags = fz_u8(&in), room = fz_u8(&in), port = fz_u16(&in);
    char host[HOST_MAX + 1], user[USER_MAX + 1], want[2048];
    const char *up;
    size_t need, cap, len = 12345, i;
    char *out;
    int r;
    take_string(&in, host, HOST_MAX);
    take_string(&in, user, USER_MAX);
    up = flags & 1 ? user : NULL;
    need = model_request(host, port, up, want);
    switch ((flags >> 1) & 3) {
    case 0: cap = need + 1; break;
    case 1: cap = need; break;
    case 2: cap = need ? need - 1 : 0; break;
    default: cap = room; break;
    }
    /* exactly cap bytes on the heap, plus a canary AddressSanitizer would not see */
    out = (char *)malloc(cap + 16);
    CHECK(out != NULL);
    memset(out, 0xA5, cap + 16);
    r = ws_proxy_request(out, cap, &len, host, (uint16_t)port, up);
    for (i = cap; i < cap + 16; i++) CHECK((uint8_t)out[i] == 0xA5);  /* never past cap */
    if (!need) {
        CHECK(r == WS_ERR_ARG);
    } else if (need > cap) {
        CHECK(r == WS_ERR_NOSPACE);
    } else {
        CHECK(r == WS_OK);
        CHECK(len == need);
        CHECK(memcmp(out, want, need) == 0);
        if (cap > need) CHECK(out[need] == 0);
    }
    /* the arguments the manual refuses whatever the rest */
    CHECK(ws_proxy_request(NULL, cap, &len, host, (uint16_t)port, up) == WS_ERR_ARG);
    CHECK(ws_proxy_request(out, cap, NULL, host, (uint16_t)port, up) == WS_ERR_ARG);
    CHECK(ws_proxy_request(out, cap, &len, NULL, (uint16_t)port, up) == WS_ERR_ARG);
    free(out);
    check_answer(in.p, in.n, room * 131u + port);
    return 0;
}
