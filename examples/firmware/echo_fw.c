/* echo_fw.c - a WebSocket echo server on a Cortex-M4 (qemu's mps2-an386), serving real
   clients over the board's UART.

   It uses ws.h (WS_FREESTANDING), a polled driver for the CMSDK UART (cmsdk_uart.h) and
   nothing else: no heap, no C library, no operating system. The TCP connections of the
   clients reach it through the host's bridge (tests/firmware/bridge.py), which carries up
   to LINK_CHANNELS of them over the one serial line in frames that mark where each opens,
   what it sends and where it ends (link.h).

   Each connection is a static slot: its ws_conn and the buffer its request head collects
   in (FW_HEAD bytes, which bounds the head: 431 beyond). One ws_http, shared, parses the
   head from its start each time more of it arrives. Messages are echoed as they arrive,
   without a buffer: a message that comes in one piece (one chunk of one link frame) goes
   back as one frame, anything longer goes back as fragments, one per chunk (every
   fragment a whole frame, so a close 1007 for text that turns bad can still follow).
   Each frame ws.h sends goes out at once as one link frame: the UART is the output queue.

   Build: make firmware (examples/firmware/firmware.mk); run: tests/firmware/bridge.py
   (examples/firmware/README.md). */
#include "../../ws.h"
#include "board.h"
#include "cmsdk_uart.h"
#include "link.h"

#define FW_HEAD 1024u                   /* request head bytes per connection, at most */

typedef struct fw_conn {
    ws_conn  ws;
    uint8_t  open;                      /* the channel is in use */
    uint8_t  echo;                      /* the echo of the message being received: */
    uint8_t  echo_op;                   /*   ECHO_NONE, ECHO_WHOLE, ECHO_FRAGMENTS */
    uint16_t head_len;
    uint64_t echo_size;                 /* on_begin's size (or WS_SIZE_UNKNOWN) */
    char     head[FW_HEAD];
} fw_conn;
enum { ECHO_NONE, ECHO_WHOLE, ECHO_FRAGMENTS };

static fw_conn conns[LINK_CHANNELS];
static ws_config cfg;
static ws_http req;                     /* shared: only one head is parsed at a time */
static link_rx rx;
static link_tx tx;
static link_counts counts;
static uint64_t now;

/* stack figures: see fw_ws_enter */
static uintptr_t ws_sp_min = UINTPTR_MAX;   /* lowest SP at a call into ws.h */
static uint32_t  ws_depth_max;              /* bytes below a call into ws.h, callbacks in */
static uint32_t  ws_cb_depth_max;           /* bytes from the call to a callback's entry */
static uintptr_t ws_call_sp;                /* the SP of the call in progress */
static uintptr_t stack_low = UINTPTR_MAX;   /* the lowest stack word written, so far */

/* ---- the link: frames out ----------------------------------------------------------- */

static void tx_byte(uint8_t b) {
    tx.crc = link_crc(tx.crc, b);
    if (b == LINK_END || b == LINK_ESC) {
        cmsdk_uart_putc(CMSDK_UART0, LINK_ESC);
        b = b == LINK_END ? 0xDCu : 0xDDu;
    }
    cmsdk_uart_putc(CMSDK_UART0, b);
}

static void tx_begin(uint8_t type, uint8_t chan) {
    tx.crc = 0xFFFFu;
    cmsdk_uart_putc(CMSDK_UART0, LINK_END);
    tx_byte(type);
    tx_byte(chan);
    tx_byte(tx.seq++);
}

static void tx_bytes(const void *data, size_t len) {
    const uint8_t *p = (const uint8_t *)data;
    counts.bytes_out += (uint32_t)len;
    while (len--) tx_byte(*p++);
}

static void tx_end(void) {
    uint16_t crc = tx.crc;
    tx_byte((uint8_t)(crc >> 8));
    tx_byte((uint8_t)crc);
    cmsdk_uart_putc(CMSDK_UART0, LINK_END);
    counts.frames_out++;
}

static void tx_text(uint8_t type, const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    tx_begin(type, 0);
    tx_bytes(s, n);
    tx_end();
}

/* "name=value " appended to a text of cap bytes */
static size_t put_str(char *out, size_t at, size_t cap, const char *s) {
    while (*s && at + 1 < cap) out[at++] = *s++;
    out[at] = 0;
    return at;
}

static size_t put_num(char *out, size_t at, size_t cap, const char *name, uint32_t v) {
    char d[11], *p = d + sizeof d - 1;
    *p = 0;
    do *--p = (char)('0' + v % 10); while (v /= 10);
    at = put_str(out, at, cap, name);
    at = put_str(out, at, cap, "=");
    at = put_str(out, at, cap, p);
    return put_str(out, at, cap, " ");
}

/* ---- ws.h glue ----------------------------------------------------------------------------- */

/* Every call into ws.h goes through FW_WS. The stack below the call is painted first, and
   read after it: the lowest word written is how deep ws.h went, with the callbacks it
   called (on_send and the UART). Both are done inline, in the caller's frame, so nothing
   but the call itself runs below its SP. */
__attribute__((always_inline)) static inline void fw_ws_enter(uintptr_t sp) {
    uintptr_t low = board_stack_low();
    if (low < stack_low) stack_low = low;      /* the whole run's high-water mark */
    board_stack_paint(low, sp);
    ws_call_sp = sp;
    if (sp < ws_sp_min) ws_sp_min = sp;
}

__attribute__((always_inline)) static inline void fw_ws_leave(uintptr_t sp) {
    uintptr_t low = board_stack_low();
    if (low < stack_low) stack_low = low;
    if (low < sp && sp - low > ws_depth_max) ws_depth_max = (uint32_t)(sp - low);
    ws_call_sp = 0;
}
#define FW_WS(r, call) do {                                                 \
        uintptr_t sp_ = board_sp();                                           \
        fw_ws_enter(sp_);                                                     \
        (r) = (call);                                                         \
        fw_ws_leave(sp_);                                                     \
    } while (0)

static void fw_cb_entry(void) {
    uintptr_t sp = board_sp();
    if (ws_call_sp > sp && ws_call_sp - sp > ws_cb_depth_max) ws_cb_depth_max = (uint32_t)(ws_call_sp - sp);
}

static int on_send(ws_conn *c, const ws_buf *bufs, size_t n) {
    fw_conn *fc = (fw_conn *)c->user;
    size_t i;
    fw_cb_entry();
    tx_begin('D', (uint8_t)(fc - conns));
    for (i = 0; i < n; i++) tx_bytes(bufs[i].data, bufs[i].len);
    tx_end();
    return 0;
}

static void on_begin(ws_conn *c, ws_opcode op, uint64_t size) {
    fw_conn *fc = (fw_conn *)c->user;
    fw_cb_entry();
    fc->echo = ECHO_NONE;
    fc->echo_op = (uint8_t)op;
    fc->echo_size = size;
}

/* Errors are the connection's, sticky: the main loop sees its state. */
static void on_data(ws_conn *c, const void *data, size_t len) {
    fw_conn *fc = (fw_conn *)c->user;
    fw_cb_entry();
    if (len == 0) return;
    if (fc->echo == ECHO_NONE && fc->echo_size == len) {
        fc->echo = ECHO_WHOLE;
        (void)ws_conn_send(c, (ws_opcode)fc->echo_op, data, len);
    } else if (fc->echo == ECHO_NONE) {
        fc->echo = ECHO_FRAGMENTS;
        (void)ws_conn_send_begin(c, (ws_opcode)fc->echo_op, data, len);
    } else {
        (void)ws_conn_send_continue(c, data, len);
    }
}

static void on_end(ws_conn *c) {
    fw_conn *fc = (fw_conn *)c->user;
    fw_cb_entry();
    if (fc->echo == ECHO_NONE) (void)ws_conn_send(c, (ws_opcode)fc->echo_op, NULL, 0);
    else if (fc->echo == ECHO_FRAGMENTS) (void)ws_conn_send_end(c, NULL, 0);
    fc->echo = ECHO_NONE;
}

/* Over (CLOSED or FAILED): the bridge ends the client's TCP, the slot is free. */
static void check_over(fw_conn *fc) {
    if (!fc->open || ws_conn_state(&fc->ws) < WS_STATE_CLOSED) return;
    fc->open = 0;
    tx_begin('C', (uint8_t)(fc - conns));
    tx_end();
}

/* The request head so far: wait, refuse (400, 426, 431), or accept and go on with the
   bytes behind it. */
static void handshake(fw_conn *fc, uint8_t *data, size_t len) {
    size_t room = FW_HEAD - fc->head_len, take = len < room ? len : room;
    int r;
    memcpy(fc->head + fc->head_len, data, take);
    fc->head_len = (uint16_t)(fc->head_len + take);
    ws_http_init(&req, FW_HEAD);
    FW_WS(r, ws_http_parse_request(&req, fc->head, fc->head_len));
    if (r == WS_HS_PARTIAL) return;
    if (r == WS_HS_HTTP) r = WS_ERR_HS_CONNECTION;     /* no plain HTTP here: 400 */
    if (r < 0) {
        FW_WS(r, ws_conn_reject(&fc->ws, r));
        return;
    }
    FW_WS(r, ws_conn_accept(&fc->ws, &req, NULL));
    if (r == WS_OK && fc->head_len > req.size)
        FW_WS(r, ws_conn_feed(&fc->ws, fc->head + req.size, fc->head_len - req.size));
    if (r == WS_OK && take < len) FW_WS(r, ws_conn_feed(&fc->ws, data + take, len - take));
}

/* Out of line, as every text built here: its buffer stays off the main loop's frame. */
__attribute__((noinline)) static void stats(void) {
    char s[400];
    size_t at = 0;
    uintptr_t low = board_stack_low();
    if (low < stack_low) stack_low = low;
    low = stack_low;
    at = put_str(s, at, sizeof s, "");
    at = put_num(s, at, sizeof s, "stack_size", (uint32_t)(fw_stack_top - fw_stack_bottom));
    at = put_num(s, at, sizeof s, "stack_used", (uint32_t)((uintptr_t)fw_stack_top - low));
    at = put_num(s, at, sizeof s, "ws_call_sp_depth",
                 ws_sp_min == UINTPTR_MAX ? 0 : (uint32_t)((uintptr_t)fw_stack_top - ws_sp_min));
    at = put_num(s, at, sizeof s, "ws_depth", ws_depth_max);
    at = put_num(s, at, sizeof s, "ws_to_callback", ws_cb_depth_max);
    at = put_num(s, at, sizeof s, "sizeof_ws_conn", (uint32_t)sizeof(ws_conn));
    at = put_num(s, at, sizeof s, "sizeof_ws_http", (uint32_t)sizeof(ws_http));
    at = put_num(s, at, sizeof s, "sizeof_ws_config", (uint32_t)sizeof(ws_config));
    at = put_num(s, at, sizeof s, "sizeof_slot", (uint32_t)sizeof(fw_conn));
    at = put_num(s, at, sizeof s, "head", FW_HEAD);
    at = put_num(s, at, sizeof s, "slots", LINK_CHANNELS);
    at = put_num(s, at, sizeof s, "link_rx", (uint32_t)sizeof rx);
    at = put_num(s, at, sizeof s, "frames_in", counts.frames_in);
    at = put_num(s, at, sizeof s, "frames_out", counts.frames_out);
    at = put_num(s, at, sizeof s, "bytes_in", counts.bytes_in);
    at = put_num(s, at, sizeof s, "bytes_out", counts.bytes_out);
    at = put_num(s, at, sizeof s, "crc_errors", counts.crc_errors);
    at = put_num(s, at, sizeof s, "seq_errors", counts.seq_errors);
    at = put_num(s, at, sizeof s, "size_errors", counts.size_errors);
    at = put_num(s, at, sizeof s, "ws_code", (uint32_t)(fw_ws_text_end - fw_ws_text_start));
    (void)at;
    tx_text('S', s);
}

/* ---- the link: frames in -------------------------------------------------------------------- */

static void frame_in(uint8_t type, uint8_t chan, uint8_t *p, size_t n) {
    fw_conn *fc = chan < LINK_CHANNELS ? &conns[chan] : NULL;
    int r;
    counts.bytes_in += (uint32_t)n;
    if (type == 'P') {
        tx_begin('P', chan);
        tx_bytes(p, n);
        tx_end();
        return;
    }
    if (type == 'S') { stats(); return; }
    if (!fc) { tx_text('E', "channel out of range"); return; }
    if (type == 'O') {
        if (fc->open) { tx_text('E', "open on an open channel"); return; }
        FW_WS(r, ws_conn_init(&fc->ws, &cfg, fc));
        if (r == WS_OK) FW_WS(r, ws_conn_tick(&fc->ws, now));   /* the handshake's clock */
        fc->open = 1;
        fc->head_len = 0;
        fc->echo = ECHO_NONE;
    } else if (!fc->open) {
        return;                                 /* a closed channel's late frames */
    } else if (type == 'D' && ws_conn_state(&fc->ws) == WS_STATE_CONNECTING) {
        handshake(fc, p, n);
    } else if (type == 'D') {
        FW_WS(r, ws_conn_feed(&fc->ws, p, n));
    } else if (type == 'F') {
        FW_WS(r, ws_conn_eof(&fc->ws));
        if (ws_conn_state(&fc->ws) == WS_STATE_CONNECTING) {   /* gone before its head */
            fc->open = 0;
            tx_begin('C', chan);
            tx_end();
        }
    } else {
        tx_text('E', "unknown frame type");
    }
    (void)r;
    check_over(fc);
}

static void rx_byte(uint8_t b) {
    if (b == LINK_END) {
        size_t n = rx.len;
        uint16_t crc = 0xFFFFu;
        size_t i;
        rx.len = 0;
        if (n == 0 && !rx.bad) return;          /* the END before a frame */
        if (rx.bad || n < 5) {
            counts.size_errors++;
            rx.bad = rx.esc = 0;
            tx_text('E', "frame too long or too short");
            return;
        }
        rx.esc = 0;
        for (i = 0; i < n; i++) crc = link_crc(crc, rx.buf[i]);
        if (crc != 0) {                         /* the CRC over data and CRC is 0 */
            counts.crc_errors++;
            tx_text('E', "bad CRC");
            return;
        }
        if (rx.buf[2] != rx.seq) {
            counts.seq_errors++;
            tx_text('E', "sequence gap");
        }
        rx.seq = (uint8_t)(rx.buf[2] + 1);
        counts.frames_in++;
        frame_in(rx.buf[0], rx.buf[1], rx.buf + 3, n - 5);
        return;
    }
    if (rx.esc) {
        rx.esc = 0;
        b = b == 0xDCu ? LINK_END : b == 0xDDu ? LINK_ESC : b;
    } else if (b == LINK_ESC) {
        rx.esc = 1;
        return;
    }
    if (rx.len < sizeof rx.buf) rx.buf[rx.len++] = b;
    else rx.bad = 1;
}

__attribute__((noinline)) void fw_fault_report(uint32_t pc, uint32_t lr, uint32_t cfsr) {
    char s[120];
    size_t at = put_str(s, 0, sizeof s, "fault ");
    at = put_num(s, at, sizeof s, "pc", pc);
    at = put_num(s, at, sizeof s, "lr", lr);
    at = put_num(s, at, sizeof s, "cfsr", cfsr);
    (void)at;
    tx_text('E', s);
}

__attribute__((noinline)) static void hello(void) {
    char s[100];
    size_t at = put_str(s, 0, sizeof s, "ws.h echo on a Cortex-M4: ");
    at = put_num(s, at, sizeof s, "channels", LINK_CHANNELS);
    at = put_num(s, at, sizeof s, "mtu", LINK_MTU);
    at = put_num(s, at, sizeof s, "head", FW_HEAD);
    (void)at;
    tx_text('H', s);
}

int main(void) {
    cmsdk_uart_init(CMSDK_UART0, 115200);
    cfg.send = on_send;
    cfg.on_begin = on_begin;
    cfg.on_data = on_data;
    cfg.on_end = on_end;
    hello();
    for (;;) {
        int b, k;
        unsigned i;
        /* a frame's worth of bytes at most between looks at the clock */
        for (k = 0; k < (int)LINK_MTU && (b = cmsdk_uart_getc(CMSDK_UART0)) >= 0; k++)
            rx_byte((uint8_t)b);
        now = board_ms();
        for (i = 0; i < LINK_CHANNELS; i++) {      /* keepalive and timeouts */
            fw_conn *fc = &conns[i];
            int r;
            if (!fc->open || ws_conn_deadline(&fc->ws) > now) continue;
            FW_WS(r, ws_conn_tick(&fc->ws, now));
            (void)r;
            check_over(fc);
        }
        if (k == 0) board_wait();               /* a byte, or 10 ms */
    }
}
