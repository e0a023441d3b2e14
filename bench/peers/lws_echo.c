/* lws_echo.c - an echo server on libwebsockets (Debian's libwebsockets-dev), the peer that
   bench/run.sh measures beside build/echo_server.

   The usual libwebsockets shape: one protocol callback; LWS_CALLBACK_RECEIVE collects the
   pieces of a message (lws hands them over as they arrive) and, at its last piece, queues
   the whole message and asks for LWS_CALLBACK_SERVER_WRITEABLE, which writes one queued
   message per call with lws_write() and asks again while more wait. Text is UTF-8 checked
   by lws (LWS_SERVER_OPTION_VALIDATE_UTF8), as ws.h does.

   Build:  make bench     (or: cc -std=c99 -O2 bench/peers/lws_echo.c -lwebsockets)
   Run:    build/lws_echo PORT            (127.0.0.1 only; Ctrl-C or SIGTERM stops it)
*/
#define _POSIX_C_SOURCE 200809L
#include <libwebsockets.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct msg {
    struct msg *next;
    size_t len;
    int binary;
    unsigned char data[];       /* LWS_PRE bytes of room, then the payload */
} msg;

typedef struct session {
    msg *head, *tail;           /* messages waiting to go back */
    msg *partial;               /* the message being received */
    size_t cap;
} session;

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

static int grow(session *s, size_t need) {
    size_t cap = s->cap ? s->cap : 4096;
    msg *m;
    while (cap < need) cap *= 2;
    if (s->partial && cap == s->cap) return 0;
    m = (msg *)realloc(s->partial, sizeof *m + LWS_PRE + cap);
    if (!m) return -1;
    if (!s->partial) m->len = 0;
    s->partial = m;
    s->cap = cap;
    return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len) {
    session *s = (session *)user;
    msg *m;
    switch (reason) {
    case LWS_CALLBACK_RECEIVE:
        if (grow(s, (s->partial ? s->partial->len : 0) + len) != 0) return -1;
        m = s->partial;
        if (lws_is_first_fragment(wsi)) m->binary = lws_frame_is_binary(wsi);
        memcpy(m->data + LWS_PRE + m->len, in, len);
        m->len += len;
        if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0) {
            m->next = NULL;
            if (s->tail) s->tail->next = m; else s->head = m;
            s->tail = m;
            s->partial = NULL;
            s->cap = 0;
            lws_callback_on_writable(wsi);
        }
        break;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        m = s->head;
        if (!m) break;
        if (lws_write(wsi, m->data + LWS_PRE, m->len,
                      m->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT) < (int)m->len)
            return -1;
        s->head = m->next;
        if (!s->head) s->tail = NULL;
        free(m);
        if (s->head) lws_callback_on_writable(wsi);
        break;
    case LWS_CALLBACK_CLOSED:
        while ((m = s->head) != NULL) { s->head = m->next; free(m); }
        free(s->partial);
        memset(s, 0, sizeof *s);
        break;
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols protocols[] = {
    { "echo", callback, sizeof(session), 65536, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 }
};

int main(int argc, char **argv) {
    struct lws_context_creation_info info;
    struct lws_context *ctx;
    struct sigaction sa;
    if (argc != 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    lws_set_log_level(LLL_ERR, NULL);
    memset(&info, 0, sizeof info);
    info.port = atoi(argv[1]);
    info.iface = "127.0.0.1";
    info.protocols = protocols;
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_DISABLE_IPV6;
    ctx = lws_create_context(&info);
    if (!ctx) {
        fprintf(stderr, "lws_echo: lws_create_context failed\n");
        return 1;
    }
    printf("lws_echo: listening on ws://127.0.0.1:%d/\n", info.port);
    fflush(stdout);
    while (!stop && lws_service(ctx, 0) >= 0) {}
    lws_context_destroy(ctx);
    return 0;
}
