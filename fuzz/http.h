/* http.h - checks shared by fuzz_request.c and fuzz_response.c: the slices of a parsed
   head lie inside it, two parses of the same bytes agree, token lists iterate cleanly. */
#ifndef HTTP_H_INCLUDED
#define HTTP_H_INCLUDED

#include "fuzz.h"

FZ void fz_check_str(ws_str s, const uint8_t *buf, size_t size) {
    if (!s.ptr) {
        CHECK(s.len == 0);
        return;
    }
    CHECK((const uint8_t *)s.ptr >= buf && (const uint8_t *)s.ptr <= buf + size);
    if (s.len != (size_t)-1)    /* a repeated Host/Key/Version: poisoned, see ws.h */
        CHECK(s.len <= (size_t)(buf + size - (const uint8_t *)s.ptr));
}

/* The fields of two parses of the same bytes at (possibly) different addresses agree. */
FZ void fz_same_str(ws_str a, const uint8_t *abuf, ws_str b, const uint8_t *bbuf) {
    CHECK(!a.ptr == !b.ptr && a.len == b.len);
    if (a.ptr) CHECK((const uint8_t *)a.ptr - abuf == (const uint8_t *)b.ptr - bbuf);
}

FZ void fz_same_http(const ws_http *a, const uint8_t *abuf, const ws_http *b,
                      const uint8_t *bbuf) {
    size_t i;
    CHECK(a->size == b->size && a->num_headers == b->num_headers);
    CHECK(a->version == b->version && a->status == b->status);
    fz_same_str(a->method, abuf, b->method, bbuf);
    fz_same_str(a->target, abuf, b->target, bbuf);
    fz_same_str(a->path, abuf, b->path, bbuf);
    fz_same_str(a->query, abuf, b->query, bbuf);
    fz_same_str(a->host, abuf, b->host, bbuf);
    fz_same_str(a->key, abuf, b->key, bbuf);
    fz_same_str(a->protocol, abuf, b->protocol, bbuf);
    for (i = 0; i < a->num_headers; i++) {
        fz_same_str(a->headers[i].name, abuf, b->headers[i].name, bbuf);
        fz_same_str(a->headers[i].value, abuf, b->headers[i].value, bbuf);
    }
}

FZ int fz_is_ows(char c) { return c == ' ' || c == '\t'; }

FZ void fz_check_tokens(ws_str list) {
    ws_str t, l = list;
    int guard = 0;
    while (ws_token_next(&l, &t)) {
        size_t i;
        CHECK(++guard <= 8192);
        CHECK(t.len > 0 && t.ptr >= list.ptr && t.ptr + t.len <= list.ptr + list.len);
        CHECK(!fz_is_ows(t.ptr[0]) && !fz_is_ows(t.ptr[t.len - 1]));
        for (i = 0; i < t.len; i++) CHECK(t.ptr[i] != ',');
        CHECK(l.ptr >= t.ptr + t.len && l.ptr + l.len == list.ptr + list.len);
    }
}

/* The same bytes parsed whole (into h over buf) and arriving in pieces, each time in a new
   exact-size buffer as a peer that re-parses its growing receive buffer: the same result
   and fields. parse is ws_http_parse_request or ws_http_parse_response. */
FZ void fz_http_pieces(int (*parse)(ws_http *, const void *, size_t), const ws_http *h,
                       const uint8_t *buf, const uint8_t *data, size_t size, int r) {
    ws_http *g = (ws_http *)malloc(sizeof *g);
    size_t i, step = size > 64 ? size / 64 + 1 : 1;
    int r2 = WS_HS_PARTIAL;
    CHECK(g != NULL);
    if (size) step = 1 + (data[size - 1] % step);
    ws_http_init(g, 0);
    for (i = step < size ? step : size; ; i = i + step < size ? i + step : size) {
        uint8_t *piece = fz_dup(data, i);
        r2 = parse(g, piece, i);
        if (r2 != WS_HS_PARTIAL) {
            CHECK(r2 == r);
            if (r2 > 0) fz_same_http(g, piece, h, buf);
            free(piece);
            break;
        }
        free(piece);
        if (i == size) break;
    }
    CHECK(r2 == r);
    /* the size limit is exact: a head of n bytes fits max_size n, not n - 1 */
    if (r != WS_HS_PARTIAL && r != WS_ERR_HS_TOO_BIG && r != WS_ERR_HS_MALFORMED) {
        size_t n = h->size;
        ws_http_init(g, n);
        CHECK(parse(g, buf, size) == r);
        if (n > 1) {
            ws_http_init(g, n - 1);
            CHECK(parse(g, buf, size) == WS_ERR_HS_TOO_BIG);
        }
    }
    free(g);
}

#endif
