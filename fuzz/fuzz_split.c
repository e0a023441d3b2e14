/* fuzz_split.c - differential: the same frames fed whole and split at fuzzer-chosen points
   must give the same callbacks (payload bytes merged across chunks), the same returns,
   errors, close codes and the same bytes sent.

   Input: [0] bit 0 client role, bit 1 a whole-message buffer of 64 << bits 6-7 bytes,
   bit 2 no_auto_pong, bits 3-5 rsv_allowed; [1] max_frame_size 16 * low nibble,
   max_message_size 64 * high nibble (0: default); [2] number of split points (mod 32),
   max_fragments 0 (default) or 1 + bits 5-7,
   then 2 bytes per point (an offset modulo the length of the rest + 1), then the bytes.
   The one difference allowed: when the connection fails inside a message, the part of the
   message delivered before the failure depends on the split (a chunk is validated before
   it is delivered); then the whole run's part must be a prefix of the split run's. */
#include "fuzz.h"

typedef struct run {
    fz_conn f;
    int rc;                         /* first error returned, or WS_OK */
} run;

static void start(run *r, const ws_config *cfg, size_t cap) {
    fz_conn_init(&r->f, cfg);
    r->f.keep_sent = 1;
    if (cap) fz_conn_buffer(&r->f, cap);
    fz_conn_open(&r->f);
    r->rc = WS_OK;
}

static void feed(run *r, const uint8_t *p, size_t n) {
    int rc = fz_feed(&r->f, p, n);
    if (r->rc == WS_OK) r->rc = rc;
    else CHECK(rc == r->rc || ws_conn_state(&r->f.c) == WS_STATE_CLOSED);
}

static int cmp_size(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_in in = { data, size };
    unsigned flags = fz_u8(&in), limits = fz_u8(&in), third = fz_u8(&in), k = third % 32, i;
    size_t cuts[32], cap, last = 0;
    run *a = (run *)calloc(1, sizeof *a), *b = (run *)calloc(1, sizeof *b);
    ws_config cfg;
    CHECK(a && b);
    for (i = 0; i < k; i++) cuts[i] = fz_u16(&in);
    for (i = 0; i < k; i++) cuts[i] %= in.n + 1;
    qsort(cuts, k, sizeof cuts[0], cmp_size);

    memset(&cfg, 0, sizeof cfg);
    cfg.role = flags & 1 ? WS_ROLE_CLIENT : WS_ROLE_SERVER;
    cfg.no_auto_pong = (flags & 4) != 0;
    cfg.rsv_allowed = (uint8_t)((flags << 1) & 0x70);
    cfg.max_frame_size = (limits & 15) * (uint64_t)16;
    cfg.max_message_size = (limits >> 4) * (uint64_t)64;
    cfg.max_fragments = third >> 5 ? 1 + (third >> 5) : 0;
    cap = flags & 2 ? (size_t)64 << (flags >> 6) : 0;

    start(a, &cfg, cap);
    start(b, &cfg, cap);
    feed(a, in.p, in.n);
    for (i = 0; i < k; i++) {
        feed(b, in.p + last, cuts[i] - last);
        last = cuts[i];
    }
    feed(b, in.p + last, in.n - last);

    CHECK(a->rc == b->rc);
    CHECK(ws_conn_state(&a->f.c) == ws_conn_state(&b->f.c));
    CHECK(ws_conn_error(&a->f.c) == ws_conn_error(&b->f.c));
    CHECK(ws_conn_close_code(&a->f.c) == ws_conn_close_code(&b->f.c));
    CHECK(a->f.close_calls == b->f.close_calls && a->f.close_code == b->f.close_code);
    fz_flush(&a->f);
    fz_flush(&b->f);
    CHECK(fz_same(&a->f.log, &b->f.log));
    CHECK(fz_same(&a->f.sent, &b->f.sent));
    CHECK(fz_prefix(&a->f.dropped, &b->f.dropped));
    fz_check_sticky(&a->f);
    fz_check_sticky(&b->f);
    fz_conn_free(&a->f);
    fz_conn_free(&b->f);
    free(a);
    free(b);
    return 0;
}
