/* http.h - checks shared by fuzz_request.c and fuzz_response.c: the slices of a parsed
   head lie inside it, named fields hold the first header of their name, two parses of the
   same bytes agree, token lists split as an independent reading of RFC 9110 5.6.1 does. */
#ifndef HTTP_H_INCLUDED
#define HTTP_H_INCLUDED

#include "fuzz.h"

FZ void fz_check_str(ws_str s, const uint8_t *buf, size_t size) {
    if (!s.ptr) {
        CHECK(s.len == 0);
        return;
    }
    CHECK((const uint8_t *)s.ptr >= buf && (const uint8_t *)s.ptr <= buf + size);
    CHECK(s.len <= (size_t)(buf + size - (const uint8_t *)s.ptr));
}

FZ int fz_is_name(ws_str n, const char *name) {
    return n.len == strlen(name) && fz_ieq(n.ptr, name, n.len);
}

/* How many header lines are named name. */
FZ size_t fz_count(const ws_http *h, const char *name) {
    size_t i, n = 0;
    for (i = 0; i < h->num_headers; i++) n += (size_t)fz_is_name(h->headers[i].name, name);
    return n;
}

/* The value of the first header line named name, or {NULL, 0}. */
FZ ws_str fz_first(const ws_http *h, const char *name) {
    ws_str none = { NULL, 0 };
    size_t i;
    for (i = 0; i < h->num_headers; i++)
        if (fz_is_name(h->headers[i].name, name)) return h->headers[i].value;
    return none;
}

/* "Named fields hold the first occurrence of their header": the very slice of the first
   line of that name, whatever follows it (a repeat neither replaces nor poisons it). */
FZ void fz_check_named(const ws_http *h) {
    static const char *const names[9] = {
        "host", "origin", "upgrade", "connection", "sec-websocket-key", "sec-websocket-version",
        "sec-websocket-protocol", "sec-websocket-extensions", "sec-websocket-accept" };
    const ws_str *fields[9];
    size_t i;
    fields[0] = &h->host; fields[1] = &h->origin; fields[2] = &h->upgrade;
    fields[3] = &h->connection; fields[4] = &h->key; fields[5] = &h->ws_version;
    fields[6] = &h->protocol; fields[7] = &h->extensions; fields[8] = &h->accept;
    for (i = 0; i < 9; i++) {
        ws_str want = fz_first(h, names[i]);
        CHECK(fields[i]->ptr == want.ptr && fields[i]->len == want.len);
    }
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

/* A comma-separated list read independently of ws.h (RFC 9110 5.6.1, with 5.6.4's
   quoted-string): elements are separated by commas outside double quotes; inside quotes a
   backslash takes the next byte as it is; empty elements and the OWS around each are
   dropped. A quote left open runs to the end of the list. Returns 0 at the end. */
FZ int fz_token_next(ws_str *list, ws_str *tok) {
    size_t i = 0, s, e;
    int quoted = 0;
    if (!list->ptr) return 0;
    while (i < list->len && (fz_is_ows(list->ptr[i]) || list->ptr[i] == ',')) i++;
    if (i == list->len) {
        list->ptr += i;
        list->len = 0;
        return 0;
    }
    s = i;
    for (; i < list->len; i++) {
        char c = list->ptr[i];
        if (!quoted && c == ',') break;
        if (c == '"') quoted = !quoted;
        else if (quoted && c == '\\' && i + 1 < list->len) i++;
    }
    e = i;
    while (e > s && fz_is_ows(list->ptr[e - 1])) e--;
    tok->ptr = list->ptr + s;
    tok->len = e - s;
    list->ptr += i;
    list->len -= i;
    return 1;
}

/* ws_token_next gives exactly the model's elements, each non-empty, trimmed, inside the
   list, with no comma outside a quoted string. */
FZ void fz_check_tokens(ws_str list) {
    ws_str t, l = list, mt, ml = list;
    int guard = 0;
    while (ws_token_next(&l, &t)) {
        size_t i;
        int quoted = 0;
        CHECK(++guard <= 8192);
        CHECK(fz_token_next(&ml, &mt) && mt.ptr == t.ptr && mt.len == t.len);
        CHECK(t.len > 0 && t.ptr >= list.ptr && t.ptr + t.len <= list.ptr + list.len);
        CHECK(!fz_is_ows(t.ptr[0]) && !fz_is_ows(t.ptr[t.len - 1]));
        for (i = 0; i < t.len; i++) {
            CHECK(quoted || t.ptr[i] != ',');
            if (t.ptr[i] == '"') quoted = !quoted;
            else if (quoted && t.ptr[i] == '\\') i++;
        }
        CHECK(l.ptr >= t.ptr + t.len && l.ptr + l.len == list.ptr + list.len);
    }
    CHECK(!fz_token_next(&ml, &mt));
}

/* A header named name holds tok (case-insensitive) as an element of its list. */
FZ int fz_has_token(const ws_http *h, const char *name, const char *tok) {
    size_t i;
    for (i = 0; i < h->num_headers; i++) {
        ws_str v = h->headers[i].value, t;
        if (!fz_is_name(h->headers[i].name, name)) continue;
        while (fz_token_next(&v, &t))
            if (t.len == strlen(tok) && fz_ieq(t.ptr, tok, t.len)) return 1;
    }
    return 0;
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
