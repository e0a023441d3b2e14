/* net.h - the socket plumbing the examples share: a clock, a listener, accept and dial

   Not ws.h glue: ws.h never touches a socket or a clock, and your program has its own way
   of doing these. Every socket made here is non-blocking and has TCP_NODELAY: a WebSocket
   frame is often smaller than a packet, and with Nagle's algorithm on, a small write that
   follows another one waits for its ACK (40 ms on Linux) before it leaves.
   examples/minimal_server.c does the same inline, to stand alone.
   Include it with _POSIX_C_SOURCE 200809L defined first. Errors are printed on stderr, one
   line each, starting with `who` (the program's name). */
#ifndef NET_H
#define NET_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Milliseconds on a clock that never goes back: the clock ws_conn_tick wants. */
static inline uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Non-blocking, and small writes go out at once. Returns 0, or -1 with errno. */
static inline int net_prepare(int fd) {
    int one = 1;
    if (fcntl(fd, F_SETFL, O_NONBLOCK) != 0) return -1;
    return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* A non-blocking listener on 127.0.0.1:port (0: any free port; *bound gets the one chosen).
   Returns its fd, or -1 after a message. */
static inline int net_listen(const char *who, long port, unsigned *bound) {
    struct sockaddr_in addr;
    socklen_t alen = sizeof addr;
    int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, 128) != 0 ||
        fcntl(fd, F_SETFL, O_NONBLOCK) != 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &alen) != 0) {
        int e = errno;
        fprintf(stderr, "%s: cannot listen on 127.0.0.1:%ld: %s%s\n", who, port, strerror(e),
                e == EADDRINUSE ? " (another program has this port: choose another)" : "");
        if (fd >= 0) close(fd);
        errno = e;                              /* for the caller's own hint */
        return -1;
    }
    *bound = ntohs(addr.sin_port);
    return fd;
}

/* Accepts one waiting connection, non-blocking, with TCP_NODELAY. Returns its fd, or -1 with
   errno: see net_accept_done. */
static inline int net_accept(int lfd) {
    int fd = accept(lfd, NULL, NULL);
    if (fd >= 0 && net_prepare(fd) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* After net_accept failed with errno e: true when that is the normal end of an accept loop
   (nothing waits, a signal, a client that gave up), false for an error worth a message
   (EMFILE and ENFILE: out of file descriptors; the connection is still waiting, so a
   level-triggered loop wakes again at once unless it stops watching the listener). */
static inline bool net_accept_done(int e) {
    return e == EAGAIN || e == EWOULDBLOCK || e == EINTR || e == ECONNABORTED;
}

/* Connects to host:port (a name, an IPv4 or IPv6 address), trying each address for at most
   timeout_ms. Returns a connected non-blocking fd with TCP_NODELAY, or -1 after a message. */
static inline int net_dial(const char *who, const char *host, const char *port, int timeout_ms) {
    struct addrinfo hints, *res, *ai;
    int fd = -1, err = 0, e;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    if ((e = getaddrinfo(host, port, &hints, &res)) != 0) {
        fprintf(stderr, "%s: %s: %s\n", who, host, gai_strerror(e));
        return -1;
    }
    for (ai = res; ai && fd < 0; ai = ai->ai_next) {
        socklen_t elen = sizeof err;
        struct pollfd pfd;
        fd = pfd.fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        pfd.events = POLLOUT;
        err = 0;
        if (fd < 0 || net_prepare(fd) != 0)
            err = errno;
        else if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS)
            err = errno;
        else if (poll(&pfd, 1, timeout_ms) != 1)
            err = ETIMEDOUT;
        else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0)
            err = errno;
        if (err && fd >= 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0)
        fprintf(stderr, "%s: cannot connect to %s port %s: %s\n", who, host, port, strerror(err));
    return fd;
}

#endif /* NET_H */
