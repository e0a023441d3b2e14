/* frames.h - the body of fuzz_frames_server.c and fuzz_frames_client.c: an open connection
   of one role is fed the fuzzer's bytes as frames from its peer.

   Input: 4 bytes of settings, then the bytes fed.
     [0] bit 0: a whole-message buffer (cap 16 << bits 5-7), else streamed callbacks
         bit 1: no_auto_pong; bits 2-4: rsv_allowed (0x10, 0x20, 0x40)
     [1] low 6 bits: the bytes go to ws_conn_feed in pieces of this size (0: all at once);
         top 2 bits: max_fragments 0 (default), 1, 2 or 5
     [2] max_frame_size = 4 * [2] (0: default)
     [3] max_message_size = 8 * [3] (0: default, 16 MiB)
   Beyond fuzz.h's checks of every callback and of every byte sent: feed's return is one
   the manual lists and matches the state; a failure sent its close code; a close from the
   peer was answered; afterwards the connection still closes cleanly or stays failed. */
#ifndef FRAMES_H_INCLUDED
#define FRAMES_H_INCLUDED

#include "fuzz.h"

static void fz_frames(const uint8_t *data, size_t size, ws_role role) {
    fz_in in = { data, size };
    ws_config cfg;
    fz_conn *f = (fz_conn *)calloc(1, sizeof *f);
    static const uint32_t frags[4] = { 0, 1, 2, 5 };
    unsigned flags = fz_u8(&in), piece = fz_u8(&in);
    int rc = WS_OK;
    CHECK(f != NULL);
    memset(&cfg, 0, sizeof cfg);
    cfg.role = role;
    cfg.no_auto_pong = (flags & 2) != 0;
    cfg.rsv_allowed = (uint8_t)((flags << 2) & 0x70);
    cfg.max_frame_size = 4 * (uint64_t)fz_u8(&in);
    cfg.max_message_size = 8 * (uint64_t)fz_u8(&in);
    cfg.max_fragments = frags[piece >> 6];
    piece &= 63;
    fz_conn_init(f, &cfg);
    if (flags & 1) fz_conn_buffer(f, (size_t)16 << (flags >> 5));
    fz_conn_open(f);
    while (in.n) {
        size_t n;
        const uint8_t *p = fz_take(&in, piece ? piece : in.n, &n);
        rc = fz_feed(f, p, n);
        if (ws_conn_state(&f->c) >= WS_STATE_CLOSED) break;
    }
    /* what the documentation says of each ending */
    switch (ws_conn_state(&f->c)) {
    case WS_STATE_OPEN:
        CHECK(rc == WS_OK && f->close_calls == 0 && !f->wire.closed);
        /* our own close still works, and the peer's answer ends it */
        CHECK(ws_conn_close(&f->c, WS_CLOSE_NORMAL, "bye", 3) == WS_OK);
        CHECK(ws_conn_state(&f->c) == WS_STATE_CLOSING && f->wire.closed &&
              f->wire.close_code == WS_CLOSE_NORMAL);
        break;
    case WS_STATE_CLOSED:
        CHECK(rc == WS_OK && f->close_calls == 1 && f->wire.closed);
        /* we echoed the peer's code */
        CHECK(f->wire.close_code == f->close_code);
        CHECK(fz_feed(f, (const uint8_t *)"\x88\x00", 2) == WS_OK);
        CHECK(ws_conn_send(&f->c, WS_OP_TEXT, "x", 1) == WS_ERR_STATE);
        break;
    case WS_STATE_FAILED:
        CHECK(rc == ws_conn_error(&f->c) && f->close_calls == 1 && f->wire.closed);
        CHECK(f->wire.close_code == (unsigned)ws_close_code_for(rc));
        fz_check_sticky(f);
        break;
    default:
        CHECK(0);
    }
    fz_conn_free(f);
    free(f);
}

#endif
