/* wslay_echo.c - an echo server on wslay's event API (Debian's libwslay-dev), the peer that
   bench/run.sh measures beside build/echo_server.

   Written the way wslay's manual describes its use: one wslay_event context per connection,
   the recv and send callbacks call recv() and send() on the non-blocking socket (passing
   MSG_MORE when wslay says more follows), wslay_event_recv() on EPOLLIN, wslay_event_send()
   while wslay_event_want_write(), and every received message queued back with
   wslay_event_queue_msg(). The upgrade handshake is parsed with ws.h (it is not what is
   measured); everything after it is wslay's.

   Build:  make bench     (or: cc -std=c99 -O2 -I. bench/peers/wslay_echo.c -lwslay)
   Run:    build/wslay_echo PORT            (127.0.0.1 only; Ctrl-C or SIGTERM stops it)
*/
#define _POSIX_C_SOURCE 200809L
#define WS_IMPLEMENTATION
#define WS_NO_CLIENT
#include "ws.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <wslay/wslay.h>

typedef struct peer {
    int fd;
    uint32_t events;
    wslay_event_context_ptr ctx;     /* NULL during the handshake */
    char head[8192];
    size_t head_len;
} peer;

static volatile sig_atomic_t stop;
static int epfd;

static void on_signal(int sig) { (void)sig; stop = 1; }

static ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                       void *user) {
    peer *p = (peer *)user;
    ssize_t n;
    (void)flags;
    while ((n = recv(p->fd, buf, len, 0)) < 0 && errno == EINTR) {}
    if (n < 0) {
        wslay_event_set_error(ctx, errno == EAGAIN || errno == EWOULDBLOCK
                                       ? WSLAY_ERR_WOULDBLOCK : WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    if (n == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return n;
}

static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *user) {
    peer *p = (peer *)user;
    ssize_t n;
    int f = MSG_NOSIGNAL | (flags & WSLAY_MSG_MORE ? MSG_MORE : 0);
    while ((n = send(p->fd, data, len, f)) < 0 && errno == EINTR) {}
    if (n < 0) {
        wslay_event_set_error(ctx, errno == EAGAIN || errno == EWOULDBLOCK
                                       ? WSLAY_ERR_WOULDBLOCK : WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return n;
}

static void on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *a,
                   void *user) {
    struct wslay_event_msg m;
    (void)user;
    if (wslay_is_ctrl_frame(a->opcode)) return;         /* wslay answers pings and closes */
    m.opcode = a->opcode;
    m.msg = a->msg;
    m.msg_length = a->msg_length;
    wslay_event_queue_msg(ctx, &m);                     /* copies the message */
}

static const struct wslay_event_callbacks callbacks = {
    recv_cb, send_cb, NULL, NULL, NULL, NULL, on_msg
};

static void drop(peer *p) {
    if (p->ctx) wslay_event_context_free(p->ctx);
    close(p->fd);
    free(p);
}

static int watch(peer *p) {
    uint32_t ev = 0;
    struct epoll_event e;
    if (wslay_event_want_read(p->ctx)) ev |= EPOLLIN;
    if (wslay_event_want_write(p->ctx)) ev |= EPOLLOUT;
    if (!ev) return -1;                                 /* closed both ways */
    if (ev == p->events) return 0;
    e.events = ev;
    e.data.ptr = p;
    p->events = ev;
    return epoll_ctl(epfd, EPOLL_CTL_MOD, p->fd, &e);
}

/* Reads the upgrade request; answers 101 and sets up wslay once it is complete. */
static int handshake(peer *p) {
    ws_http req;
    char resp[512];
    size_t len;
    ssize_t n = recv(p->fd, p->head + p->head_len, sizeof p->head - p->head_len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
    if (n <= 0) return -1;
    p->head_len += (size_t)n;
    ws_http_init(&req, sizeof p->head);
    int r = ws_http_parse_request(&req, p->head, p->head_len);
    if (r == WS_HS_PARTIAL) return p->head_len < sizeof p->head ? 0 : -1;
    if (r != WS_HS_UPGRADE || p->head_len != req.size) return -1;
    if (ws_handshake_accept(resp, sizeof resp, &len, &req, NULL) != WS_OK) return -1;
    if (send(p->fd, resp, len, MSG_NOSIGNAL) != (ssize_t)len) return -1;
    if (wslay_event_context_server_init(&p->ctx, &callbacks, p) != 0) return -1;
    wslay_event_config_set_max_recv_msg_length(p->ctx, 64u << 20);
    return watch(p);
}

static int serve(peer *p, uint32_t events) {
    if (!p->ctx) return handshake(p);
    if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && wslay_event_recv(p->ctx) != 0) return -1;
    if (wslay_event_want_write(p->ctx) && wslay_event_send(p->ctx) != 0) return -1;
    return watch(p);
}

int main(int argc, char **argv) {
    struct sockaddr_in addr;
    struct sigaction sa;
    int one = 1, lfd;
    struct epoll_event lev;
    if (argc != 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)atoi(argv[1]));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    epfd = epoll_create1(0);
    lev.events = EPOLLIN;
    lev.data.ptr = NULL;
    if (lfd < 0 || epfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        bind(lfd, (struct sockaddr *)&addr, sizeof addr) || listen(lfd, 1024) ||
        fcntl(lfd, F_SETFL, O_NONBLOCK) || epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev)) {
        perror("wslay_echo: listen");
        return 1;
    }
    printf("wslay_echo: listening on ws://127.0.0.1:%s/\n", argv[1]);
    fflush(stdout);
    while (!stop) {
        struct epoll_event evs[64];
        int i, n = epoll_wait(epfd, evs, 64, -1);
        for (i = 0; i < n; i++) {
            peer *p = (peer *)evs[i].data.ptr;
            if (!p) {
                int fd;
                while ((fd = accept(lfd, NULL, NULL)) >= 0) {
                    struct epoll_event e;
                    p = (peer *)calloc(1, sizeof *p);
                    if (!p) { close(fd); continue; }
                    p->fd = fd;
                    p->events = EPOLLIN;
                    fcntl(fd, F_SETFL, O_NONBLOCK);
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    e.events = EPOLLIN;
                    e.data.ptr = p;
                    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e) != 0) drop(p);
                }
                continue;
            }
            if (serve(p, evs[i].events) != 0) drop(p);
        }
    }
    return 0;
}
