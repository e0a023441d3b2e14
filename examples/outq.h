/* outq.h - the output queue of every example: bytes waiting for a non-blocking socket

   Not ws.h glue: your program has its own buffers. What ws.h asks of one is in each
   example's send callback (on_send): take every piece it hands over, or fail, and never
   block. This is one way to do that:
     - one growable buffer per connection, buf[pos..len-1] unsent, 4 KiB at first,
       allocated when bytes first wait and freed once they are all sent, so an idle
       connection holds none (define OUTQ_KEEP to keep buffers up to that size instead);
     - bounded: outq_push adds nothing and fails once more than `limit` bytes would wait
       (the send callback then returns -1 and the connection fails);
     - outq_flush writes what the socket takes with one send() and keeps the rest;
   examples/minimal_server.c keeps a fixed array instead, to stand alone.
   Include it after ws.h (outq_push_bufs takes ws.h's ws_buf), with _POSIX_C_SOURCE set. */
#ifndef OUTQ_H
#define OUTQ_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

enum {
    OUTQ_FIRST = 4096,              /* the first allocation */
    OUTQ_LIMIT = 16 << 20           /* the limit when outq.limit is 0 */
};
#ifndef OUTQ_KEEP
#define OUTQ_KEEP 0                 /* buffers larger than this are freed when they drain */
#endif

typedef struct outq {
    char  *buf;                     /* buf[pos..len-1] waits to be sent */
    size_t pos, len, cap;
    size_t limit;                   /* most bytes waiting at once; 0 = OUTQ_LIMIT */
} outq;

static inline size_t outq_pending(const outq *q) { return q->len - q->pos; }

/* Room for n more bytes at the end of q, to fill and then commit with q->len += n (to read
   a file straight in, say). NULL, and nothing changed, over the limit or out of memory. */
static inline char *outq_reserve(outq *q, size_t n) {
    size_t limit = q->limit ? q->limit : (size_t)OUTQ_LIMIT;
    if (outq_pending(q) > limit || n > limit - outq_pending(q)) return NULL;
    if (n > q->cap - q->len && q->pos > 0) {        /* move the unsent bytes to the front */
        memmove(q->buf, q->buf + q->pos, outq_pending(q));
        q->len -= q->pos;
        q->pos = 0;
    }
    if (n > q->cap - q->len) {
        size_t cap = q->cap ? q->cap : OUTQ_FIRST;
        while (cap - q->len < n) cap *= 2;
        char *p = (char *)realloc(q->buf, cap);
        if (!p) return NULL;
        q->buf = p;
        q->cap = cap;
    }
    return q->buf + q->len;
}

/* Appends data[0..n-1]. Returns 0, or -1 (nothing added) over the limit or out of memory. */
static inline int outq_push(outq *q, const void *data, size_t n) {
    char *p = outq_reserve(q, n);
    if (!p) return -1;
    if (n) memcpy(p, data, n);
    q->len += n;
    return 0;
}

/* Appends all of ws.h's pieces or none: the body of a send callback. Returns as outq_push. */
static inline int outq_push_bufs(outq *q, const ws_buf *bufs, size_t n) {
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (bufs[i].len > SIZE_MAX - total) return -1;
        total += bufs[i].len;
    }
    char *p = outq_reserve(q, total);
    if (!p) return -1;
    for (size_t i = 0; i < n; i++) {
        if (bufs[i].len) memcpy(p, bufs[i].data, bufs[i].len);
        p += bufs[i].len;
    }
    q->len += total;
    return 0;
}

/* One send() of what waits. Returns 0 (all of it went, or the socket is full: wait until it
   is writable), or -1 with errno when the peer is gone. */
static inline int outq_flush(outq *q, int fd) {
    if (outq_pending(q) > 0) {
        ssize_t n = send(fd, q->buf + q->pos, outq_pending(q), MSG_NOSIGNAL);
        if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
        q->pos += (size_t)n;
    }
    if (q->pos == q->len) {
        q->pos = q->len = 0;
        if (q->cap > OUTQ_KEEP) {               /* an idle connection holds no buffer */
            free(q->buf);
            q->buf = NULL;
            q->cap = 0;
        }
    }
    return 0;
}

/* Drops what waits and frees the buffer; q can be used again. */
static inline void outq_free(outq *q) {
    free(q->buf);
    q->buf = NULL;
    q->pos = q->len = q->cap = 0;
}

#endif /* OUTQ_H */
