/* tcp_echo.c - a plain TCP echo server: the machine's limit for bench/run.sh's echo runs.

   No WebSocket at all: every byte received goes back as it came, one recv() and one send()
   per wake-up, so `loadgen --tcp` (which then sends unmasked frames and skips the
   handshake) measures what the kernel, loopback and the load generator allow with the same
   traffic. An echo server cannot beat it.

   Build:  make bench     (or: cc -std=c99 -O2 bench/peers/tcp_echo.c -o build/tcp_echo)
   Run:    build/tcp_echo PORT            (127.0.0.1 only; Ctrl-C or SIGTERM stops it)
*/
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum { BUF = 256 * 1024 };

typedef struct peer {
    int fd;
    bool out;                   /* waiting for EPOLLOUT */
    size_t pos, len;            /* buf[pos..len-1] not yet sent back */
    char buf[BUF];
} peer;

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

/* Reads what fits, writes back what it can; 0 = keep the connection, -1 = close it. */
static int serve(int epfd, peer *p) {
    struct epoll_event e;
    if (p->len < BUF) {
        ssize_t n = recv(p->fd, p->buf + p->len, BUF - p->len, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return -1;
        if (n > 0) p->len += (size_t)n;
    }
    if (p->pos < p->len) {
        ssize_t n = send(p->fd, p->buf + p->pos, p->len - p->pos, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EINTR) return -1;
        if (n > 0) p->pos += (size_t)n;
        if (p->pos == p->len) p->pos = p->len = 0;
    }
    if (p->out != (p->len > 0)) {           /* output left over: wait until it can go */
        p->out = p->len > 0;
        e.events = p->out ? EPOLLOUT : EPOLLIN;
        e.data.ptr = p;
        if (epoll_ctl(epfd, EPOLL_CTL_MOD, p->fd, &e) != 0) return -1;
    }
    return 0;
}

int main(int argc, char **argv) {
    struct sockaddr_in addr;
    struct sigaction sa;
    struct epoll_event lev;
    int one = 1, lfd, epfd;
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
        perror("tcp_echo: listen");
        return 1;
    }
    printf("tcp_echo: listening on 127.0.0.1:%s\n", argv[1]);
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
                    p = (peer *)malloc(sizeof *p);
                    if (!p) { close(fd); continue; }
                    p->fd = fd;
                    p->out = false;
                    p->pos = p->len = 0;
                    fcntl(fd, F_SETFL, O_NONBLOCK);
                    e.events = EPOLLIN;
                    e.data.ptr = p;
                    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e) != 0) { close(fd); free(p); }
                }
                continue;
            }
            if (serve(epfd, p) != 0) {
                close(p->fd);
                free(p);
            }
        }
    }
    return 0;
}
