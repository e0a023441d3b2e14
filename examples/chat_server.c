/* chat_server.c - chat rooms over standard WebSocket: nicknames, rooms, acks, heartbeats

   The socket.io chat (rooms, broadcast, acknowledgements) done with plain RFC 6455, so any
   WebSocket client can take part: the page this server gives at /, a browser console,
   build/wscat, a phone app. It shows:
     - broadcast: a message is encoded once (ws_frame_encode) and the same bytes go to every
       member (ws_conn_send_raw);
     - a bounded output queue per client (examples/outq.h): what the kernel does not take
       at once waits in the queue, and a client with more than --queue-limit bytes waiting
       is closed with 1008 "too slow", so a slow or dead reader never blocks the others or
       eats memory;
     - heartbeats: a ping after --ping-interval ms of silence; a client that sends nothing
       back within --ping-timeout ms more is dropped (ws_conn_tick, ws_conn_deadline) and
       its rooms are told;
     - whole messages, gathered from on_begin/on_data/on_end in a buffer the client holds
       only while one is arriving (over --max-message bytes: close 1009), read by a small
       JSON scanner that answers anything it does not expect with an error event;
     - permessage-deflate (RFC 7692), agreed when a client offers it (browsers do; not with
       --no-deflate) and always with server_no_context_takeover: each event is compressed
       once (ws_deflate_message) and the same bytes go to every member that agreed it,
       plain to the others. What a member sends compressed is inflated by its own decoder
       (ws_conn_set_inflate: sizeof(ws_inflate), 2.6 KiB on x86-64, and a 1 KiB window; 32
       KiB for an offer that does not let the server choose it, as Firefox's); a compression bomb is closed with 1009 once
       it inflates past --max-message;
     - an idle client costs its slot alone (248 bytes with ws_conn, in a table by file
       descriptor; examples/README.md has the measure): what it needs for a while (the
       request head, a message, output waiting, a close under way) is allocated then and
       freed after, what only some clients have (TLS, a decoder, rooms, a chosen name) is
       out of line, and the loop touches only the clients that had something happen
       (run_todo) or whose timer is due (a heap);
     - with --cert and --key, the page over https and the chat over wss on the same port
       (ws.h's TLS layer under the same code);
     - with --redis HOST:PORT, rooms shared by any number of processes behind a load
       balancer, through Redis pub/sub on this same epoll loop (hiredis' async API and a
       small adapter: the scale-out section; examples/README.md has the nginx recipe).

   The parts marked "ws.h glue" are what a server of yours needs (the send callback, the
   message and close callbacks, the handshake, feed and tick, and with TLS ws_tls_init,
   _feed, _send, _close); the rest is the chat and the event loop, with examples/net.h for
   listen, accept (TCP_NODELAY) and the clock, examples/tls.h for the certificate files.

   Build:  make examples   (or: cc -std=c99 -O2 -I. examples/chat_server.c -o build/chat_server)
   Run:    make run        (or: ./build/chat_server [options] [PORT]; PORT defaults to 8080;
                            --help lists the options)
   Then:   open http://127.0.0.1:8080/ in two windows, pick names, chat. WebSocket clients
           connect to ws://127.0.0.1:8080/chat. Listens on 127.0.0.1 only.
   Options: --ping-interval MS (25000; 0 = no pings)   --ping-timeout MS (20000)
            --queue-limit BYTES (262144)   --max-message BYTES (65536)   --no-deflate
            --page FILE (examples/chat.html, served at /)
            --cert FILE --key FILE (https://, wss://; built with TLS when mbedTLS is there)
            --redis HOST:PORT --redis-ttl MS (5000) (built with it when hiredis is there)
   Ctrl-C (or SIGTERM) sends close 1001 to everyone and exits 0.

   PROTOCOL: one JSON object per text message: {"event":E,"room":R,"data":D,"id":N}, where
   E, R and D are strings and N a whole number 0-999999999; only "event" is always needed.
   A request with an id is answered {"event":"ack","id":N} when it succeeded. A failed one
   is answered {"event":"error","id":N,"data":"why"} (no "id" if it had none).
   Client to server:
     nick       data: the new name: 1-24 bytes of letters, digits, - _ . or non-ASCII, not
                beginning with guest- (the server gives those, one each)
     join       room: a name, as for nicks; a client is in at most 8 rooms at once
     leave      room
     message    room (one you joined), data: text; goes to the room's other members
     broadcast  data: text; goes to every client but the sender
     ping       answered {"event":"pong"} (with the id, if any): the heartbeat of
                browsers, whose JavaScript cannot send WebSocket pings
   Server to client:
     welcome    data: {"nick":"guest-1","ping_interval":25000,"ping_timeout":20000}
     message    room, data: {"from":"ann","text":"hi"}
     broadcast  data: {"from":"ann","text":"hi"}
     joined     room, data: {"nick":"ann"}                 to every member, the joiner too
     left       room, data: {"nick":"ann","why":"left"}    to the remaining members; why:
                "left", "closed", "too slow", "peer timed out", "connection lost", ...
     renamed    room, data: {"nick":"ann","was":"guest-1"}
     members    room, data: {"count":2,"nicks":["ann","bob"]}  after each change (the
                first 100 names)
   Close codes: 1008 "too slow", 1009 a message over --max-message, 1001 server stopping.
*/
#define _POSIX_C_SOURCE 200809L
#define WS_IMPLEMENTATION
#define WS_DEFLATE                      /* permessage-deflate: what browsers offer */
#include "ws.h"
#include "outq.h"
#include "net.h"
#include "tls.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#ifdef CHAT_REDIS
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#endif

enum { READ_SIZE = 64 * 1024, HEAD_MAX = 8192, PAGE_MAX = 256 * 1024, CLOSE_MS = 5000,
       NAME_LEN = 24, ROOMS = 8, LIST_MAX = 100,
       CLIENT_BITS = 10 };                 /* the window asked of compressing clients */

/* What a client holds only while it needs it: the request head during the handshake, a
   message while it is half received, output the socket did not take yet, the close under
   way. Allocated when first needed and freed when none of these is left, so an idle
   client is its slot in the table alone (client, below). */
typedef struct busy {
    outq     out;                       /* what the kernel did not take yet (outq.h) */
    char    *head;                      /* the request head, during the handshake only */
    size_t   head_len, head_cap;
    ws_http *req;                       /* its parse (1.2 KiB), during the handshake only */
    char    *msg;                       /* the message being received, msg[0..msg_len-1]: */
    size_t   msg_len, msg_cap;          /* grows as it arrives, freed once it is served */
    uint8_t  msg_op;                    /* its opcode */
    uint64_t close_by;                  /* once closing: when to give up on the client */
} busy;

/* --redis: a client's state there (the scale-out section), allocated with the client */
typedef struct rclient {
    uint64_t cid;                       /* its number in this process */
    struct rop *op;                     /* the request Redis has now, or NULL */
    char    *rq;                        /* its requests waiting behind that one */
    size_t   rq_pos, rq_len, rq_cap;
    bool     joining[ROOMS];            /* joined, until Redis's "joined" comes back */
} rclient;

/* What only some clients have, out of line (ws.user points to it; NULL when it holds
   nothing): a busy part, TLS, a decoder, Redis's state, the rooms it is in, a name it
   chose. Allocated when first needed, freed once none of these is left (run_todo). */
typedef struct extra {
    busy    *b;                         /* NULL while idle */
    ws_tls  *tls;                       /* with --cert: TLS under it all; NULL: plain */
    ws_inflate *inflate;                /* permessage-deflate agreed: its decoder, the
                                           window behind it (2^client_max_window_bits) */
    rclient *rc;                        /* --redis only */
    char     rooms[ROOMS][NAME_LEN + 1];    /* the rooms it is in; "" = a free slot */
    char     nick[NAME_LEN + 1];        /* the name it chose (any name, with --redis);
                                           "": guest-N */
    uint8_t  zbits;                     /* compression agreed: the window of what it gets
                                           compressed (server_max_window_bits); 0: none */
} extra;

/* A client: slot fd of the table (clients[]). ws comes first, so the ws_conn that ws.h's
   callbacks get is the client; ws.user is its extra part. Descriptors go up to
   CLIENT_MAX - 1, so that one fits the 24-bit links below. */
enum { CLIENT_MAX = (1 << 24) - 1 };
typedef struct client {
    ws_conn  ws;
    int      fd;
    uint32_t guest;                     /* its name, while it chose none: guest-N */
    uint32_t todo : 24;                 /* on the todo list: the next one's fd + 1; 0: last */
    bool     upgraded : 1, in_chat : 1; /* handshake done; welcomed and not yet parted */
    bool     too_slow : 1, kicked : 1;  /* queue over the limit; close 1008 sent */
    bool     closing : 1, fin_sent : 1, dead : 1;   /* send what is queued then close;
                                           FIN sent; close now */
    bool     tls_closed : 1;            /* close_notify sent */
    uint32_t heap : 24;                 /* its place in the timer heap; 0: not there */
    bool     paused : 1;                /* --redis: not read while too many requests wait */
    bool     parted : 1;                /* --redis: Redis told it is gone */
    bool     listed : 1, freed : 1;     /* on the todo list; being freed */
    bool     want_in : 1, want_out : 1; /* what epoll watches for now */
    bool     live : 1;                  /* the slot holds a client */
} client;
/* what an idle client costs: its slot, ws_conn and 16 bytes */
typedef char client_is_248_bytes[sizeof(void *) != 8 || sizeof(client) <= 248 ? 1 : -1];

typedef struct request {
    ws_str event, room, data;
    long   id;                          /* -1: none */
} request;

static struct {
    long ping_interval, ping_timeout, queue_limit, max_message, redis_ttl;
    const char *page, *cert, *key, *redis;
} opt = { 25000, 20000, 256 * 1024, 64 * 1024, 5000, "examples/chat.html", NULL, NULL, NULL };
#ifdef CHAT_REDIS
#define REDIS_BUILT 1
#else
#define REDIS_BUILT 0
#endif
static volatile sig_atomic_t stop;
/* The clients, by file descriptor: blocks of CLIENT_BLOCK slots, allocated (zeroed) when a
   descriptor first falls in one and never moved, so that pointers to clients stay good. */
enum { CLIENT_BLOCK = 1024 };
static client  **blocks;
static size_t    nblocks;               /* blocks[0..nblocks-1]: each NULL or CLIENT_BLOCK slots */
static int       epfd;
static ws_config cfg;
static unsigned  guests;
static bool      slow_pending;          /* some client went over the queue limit */
static char      readbuf[READ_SIZE], page[PAGE_MAX];
static size_t    page_len;
static char     *text;                  /* decoded JSON strings, --max-message bytes */
static char     *json, *frame;          /* the event being built, then its frame */
static size_t    json_len, json_cap, frame_len;
static ws_tls_config tls_cfg;           /* with --cert: shared by every TLS connection */
static bool      use_tls;
static char      plain[TLS_RECORD];     /* what TLS decrypts, used up in on_tls_data */
static client   *todo, *todo_last;     /* clients with work to finish (run_todo): a list
                                           linked by client.todo */
static struct timer { uint64_t due; client *cl; } *heap;    /* timers: heap[1..heap_n],
                                                               the earliest first */
static size_t    heap_n, heap_cap;
static char      no_rooms[ROOMS][NAME_LEN + 1];    /* the rooms of a client in none: only
                                                       ever zeros (own_rooms before a join) */
static char      guest_name[NAME_LEN + 1];        /* nick_of(): the last guest-N made */
/* permessage-deflate: each event is compressed once for every member that agreed it
   (once per window size agreed), and the same bytes go to each (server_no_context_takeover,
   so no member's compressor state is involved). The encoder's memory is this process's. */
static bool      deflate_on = true;     /* --no-deflate: decline it */
static uint32_t  z_table[1 << 12];      /* the encoder's hash table, 16 KiB, zeroed */
static ws_deflate z_enc = {.table = z_table, .table_bits = 12};   /* and its scratch (no out:
                                           ws_deflate_message writes to zdata) */
static uint8_t  *zdata;                 /* an event compressed, ws_deflate_bound(json_cap) */
static size_t    zdata_cap;
static struct zframe { char *frame; size_t len; unsigned gen; bool plain; } zframes[16];
static unsigned  ev_gen;                /* the event in ev_*: its number, for zframes[] */
static const char *ev_json, *ev_frame;  /* the event being sent: its JSON and plain frame */
static size_t    ev_len, ev_frame_len;
static unsigned long long z_frames, z_bytes, z_plain;  /* compressed frames sent, their
                                                           bytes, the plain frames' bytes */

static void on_signal(int sig) { (void)sig; stop = 1; }

static bool is(ws_str s, const char *lit) {
    return s.len == strlen(lit) && memcmp(s.ptr, lit, s.len) == 0;
}

/* ---- output: non-blocking writes, the rest queued, the queue bounded ------------------ */

/* ---- clients with work, and timers: the loop touches only these ------------------------ */

/* The slot for descriptor fd (a new block if need be), or NULL when out of memory. */
static client *client_slot(int fd) {
    size_t i = (size_t)fd / CLIENT_BLOCK;
    if (i >= nblocks) {
        size_t n = nblocks ? nblocks : 16;
        while (n <= i) n *= 2;
        client **p = (client **)realloc(blocks, n * sizeof *p);
        if (!p) return NULL;
        memset(p + nblocks, 0, (n - nblocks) * sizeof *p);
        blocks = p;
        nblocks = n;
    }
    if (!blocks[i] && !(blocks[i] = (client *)calloc(CLIENT_BLOCK, sizeof **blocks))) return NULL;
    return &blocks[i][(size_t)fd % CLIENT_BLOCK];
}
/* The client of descriptor fd, or NULL. */
static client *client_of(int fd) {
    client *b = (size_t)fd / CLIENT_BLOCK < nblocks ? blocks[fd / CLIENT_BLOCK] : NULL;
    return b && b[fd % CLIENT_BLOCK].live ? &b[fd % CLIENT_BLOCK] : NULL;
}
/* The client after cl in descriptor order (the first: cl NULL), or NULL: every client is
   for (client *m = next_client(NULL); m; m = next_client(m)). */
static client *next_client(const client *cl) {
    for (size_t fd = cl ? (size_t)cl->fd + 1 : 0; fd < nblocks * CLIENT_BLOCK; fd++) {
        client *b = blocks[fd / CLIENT_BLOCK];
        if (!b) { fd = fd / CLIENT_BLOCK * CLIENT_BLOCK + CLIENT_BLOCK - 1; continue; }
        if (b[fd % CLIENT_BLOCK].live) return &b[fd % CLIENT_BLOCK];
    }
    return NULL;
}

static void set_dead(client *cl);

/* Its extra part (what only some clients have), made when first needed: NULL when out of
   memory. extra_of: the part or NULL. */
static extra *extra_of(const client *cl) { return (extra *)cl->ws.user; }
static extra *need_extra(client *cl) {
    if (!cl->ws.user && !(cl->ws.user = calloc(1, sizeof(extra)))) set_dead(cl);
    return extra_of(cl);
}
static busy *busy_of(const client *cl) { return extra_of(cl) ? extra_of(cl)->b : NULL; }
static ws_tls *tls_of(const client *cl) { return extra_of(cl) ? extra_of(cl)->tls : NULL; }
static ws_inflate *inflate_of(const client *cl) {
    return extra_of(cl) ? extra_of(cl)->inflate : NULL;
}
static rclient *rc_of(const client *cl) { return extra_of(cl) ? extra_of(cl)->rc : NULL; }
static unsigned zbits_of(const client *cl) { return extra_of(cl) ? extra_of(cl)->zbits : 0; }
/* Its rooms: ROOMS names, "" = a free slot; no_rooms (shared, all free) until it joins one. */
static char (*rooms_of(const client *cl))[NAME_LEN + 1] {
    return extra_of(cl) ? extra_of(cl)->rooms : no_rooms;
}
/* Its name: the one it chose, else guest-N (made in guest_name[], good until the next
   call), else "" (--redis, before Redis gave it one). */
static const char *nick_of(const client *cl) {
    if (extra_of(cl) && extra_of(cl)->nick[0]) return extra_of(cl)->nick;
    if (!cl->guest) return "";
    snprintf(guest_name, sizeof guest_name, "guest-%u", (unsigned)cl->guest);
    return guest_name;
}

/* cl has something to finish after this pass (settle, free, its timer): run_todo does it */
static void mark(client *cl) {
    if (cl->listed || cl->freed) return;
    cl->listed = true;
    cl->todo = 0;
    if (todo) todo_last->todo = (uint32_t)cl->fd + 1; else todo = cl;
    todo_last = cl;
}
static void set_dead(client *cl) {
    cl->dead = true;
    mark(cl);
}

/* The timer heap: heap[1] is the earliest. */
static void heap_put(size_t i, struct timer t) { heap[i] = t; t.cl->heap = (uint32_t)i; }
static void heap_fix(size_t i) {
    struct timer t = heap[i];
    while (i > 1 && heap[i / 2].due > t.due) { heap_put(i, heap[i / 2]); i /= 2; }
    for (;;) {
        size_t c = 2 * i;
        if (c > heap_n) break;
        if (c < heap_n && heap[c + 1].due < heap[c].due) c++;
        if (heap[c].due >= t.due) break;
        heap_put(i, heap[c]);
        i = c;
    }
    heap_put(i, t);
}
static void heap_del(client *cl) {
    size_t i = cl->heap;
    if (!i) return;
    cl->heap = 0;
    struct timer last = heap[heap_n--];
    if (last.cl != cl) { heap_put(i, last); heap_fix(i); }
}
/* Puts cl in the heap at due (UINT64_MAX: out of it). False when out of memory. */
static bool heap_set(client *cl, uint64_t due) {
    if (due == UINT64_MAX) { heap_del(cl); return true; }
    if (!cl->heap) {
        if (heap_n + 1 >= heap_cap) {
            size_t cap = heap_cap ? heap_cap * 2 : 1024;
            struct timer *h = (struct timer *)realloc(heap, cap * sizeof *h);
            if (!h) return false;
            heap = h;
            heap_cap = cap;
        }
        struct timer t = { due, cl };
        heap_put(++heap_n, t);
    }
    heap[cl->heap].due = due;
    heap_fix(cl->heap);
    return true;
}

/* The client's busy part, allocated when first needed. NULL when out of memory. */
static busy *need_busy(client *cl) {
    extra *x = need_extra(cl);
    if (x && !x->b && !(x->b = (busy *)calloc(1, sizeof *x->b))) set_dead(cl);
    return busy_of(cl);
}
static size_t unsent(const client *cl) {
    busy *b = busy_of(cl);
    return b ? outq_pending(&b->out) : 0;
}

/* The output queue's limit: the page before the upgrade, --queue-limit after it (with TLS
   the queue itself holds a little more: what TLS adds to the frames on_send let through,
   29 bytes or so per record), and room for the close frame once it is kicked. */
static size_t queue_limit(const client *cl) {
    if (!cl->upgraded) return PAGE_MAX + 4096;
    return (size_t)opt.queue_limit + (tls_of(cl) ? (size_t)opt.queue_limit / 64 + 4096 : 0) +
           (cl->kicked ? 256 : 0);
}

static void watch(client *cl, bool in, bool out) {
    struct epoll_event ev = { .events = (in ? EPOLLIN : 0u) | (out ? EPOLLOUT : 0u),
                              .data.ptr = cl };
    if (cl->want_in == in && cl->want_out == out) return;
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, cl->fd, &ev) != 0) {
        perror("chat_server: epoll_ctl");
        set_dead(cl);
    }
    cl->want_in = in;
    cl->want_out = out;
}

/* Sends what waits (at most one send()), then watches for EPOLLOUT while some still does. */
static void write_queue(client *cl) {
    mark(cl);                               /* its busy part may go, or its FIN */
    if (!cl->dead && busy_of(cl) && outq_flush(&busy_of(cl)->out, cl->fd) != 0) set_dead(cl);
    if (!cl->dead)
        watch(cl, !cl->paused, unsent(cl) > 0);
}

/* With nothing waiting (and no TLS), a frame goes straight to the socket, one sendmsg():
   a broadcast to idle clients allocates nothing. Returns the bytes the kernel took; what
   it did not waits in the queue. */
static size_t send_now(client *cl, const ws_buf *bufs, size_t n) {
    struct iovec iov[8];
    struct msghdr msg;
    if (n > sizeof iov / sizeof *iov) return 0;     /* the queue takes it */
    memset(&msg, 0, sizeof msg);
    for (size_t i = 0; i < n; i++) {
        iov[i].iov_base = (void *)(uintptr_t)bufs[i].data;
        iov[i].iov_len = bufs[i].len;
    }
    msg.msg_iov = iov;
    msg.msg_iovlen = n;
    ssize_t r = sendmsg(cl->fd, &msg, MSG_NOSIGNAL);
    if (r >= 0) return (size_t)r;
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) set_dead(cl);
    return 0;
}

/* ---- ws.h glue: the send callback --------------------------------------------------------- */

/* ws.h hands over one whole frame (or the 101 response) per call. It joins the queue (with
   TLS: encrypted first, ws_tls_send giving the records to on_tls_send) and is written at
   once: the queue keeps only what the kernel did not take. A frame that would take the
   queue past --queue-limit is dropped whole, and the client closed with 1008 "too slow" by
   kick_slow(), out of this call. */
static int on_send(ws_conn *c, const ws_buf *bufs, size_t n) {
    client *cl = (client *)(void *)c;     /* ws comes first in a client */
    size_t total = 0;
    mark(cl);                               /* its timer may have moved */
    if (cl->dead || (cl->too_slow && !cl->kicked)) return 0;            /* dropped whole */
    for (size_t i = 0; i < n; i++) total += bufs[i].len;
    size_t limit = (size_t)opt.queue_limit, queued = unsent(cl);
    if (cl->upgraded && !cl->kicked && (queued > limit || total > limit - queued)) {
        cl->too_slow = slow_pending = true;
        return 0;
    }
    size_t sent = tls_of(cl) || queued ? 0 : send_now(cl, bufs, n);
    if (cl->dead || sent == total) return 0;
    if (!need_busy(cl)) return 0;
    busy_of(cl)->out.limit = queue_limit(cl);
    int r = 0;
    if (tls_of(cl)) r = ws_tls_send(tls_of(cl), bufs, n);
    else if (!sent) r = outq_push_bufs(&busy_of(cl)->out, bufs, n);
    else {                                  /* the rest of what send_now began */
        for (size_t i = 0; i < n && r == 0; i++) {
            size_t skip = sent < bufs[i].len ? sent : bufs[i].len;
            sent -= skip;
            r = outq_push(&busy_of(cl)->out, (const char *)bufs[i].data + skip,
                          bufs[i].len - skip);
        }
    }
    if (r != 0) {
        set_dead(cl);                    /* out of memory, or no room for its close */
        return 0;
    }
    write_queue(cl);
    return 0;
}

/* ws.h glue (TLS): the records of what on_send gave ws_tls_send. The queue's own limit
   leaves room for what TLS adds to the frame on_send let through. */
static int on_tls_send(ws_tls *t, const void *data, size_t len) {
    client *cl = (client *)t->user;
    if (!need_busy(cl)) return -1;
    busy_of(cl)->out.limit = queue_limit(cl);
    return outq_push(&busy_of(cl)->out, data, len);
}

/* ---- JSON out: events are built in json[], then framed once in frame[] ---------------- */

static void put(const char *s, size_t n) {
    if (n > json_cap - json_len) { json_len = json_cap; return; }   /* too long: seal fails */
    memcpy(json + json_len, s, n);
    json_len += n;
}
static void puts_(const char *s) { put(s, strlen(s)); }
static void put_num(long v) {
    char b[24];
    int n = snprintf(b, sizeof b, "%ld", v);
    put(b, (size_t)n);
}
static void put_str(const char *s, size_t n) {     /* a JSON string, escaped */
    put("\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        const char *e = ch == '"' ? "\\\"" : ch == '\\' ? "\\\\" : ch == '\n' ? "\\n" :
                        ch == '\r' ? "\\r" : ch == '\t' ? "\\t" : ch == '\b' ? "\\b" :
                        ch == '\f' ? "\\f" : NULL;
        char u[8];
        if (e) put(e, 2);               /* never longer than it came in */
        else if (ch < 0x20) { snprintf(u, sizeof u, "\\u%04x", ch); put(u, 6); }
        else put(s + i, 1);
    }
    put("\"", 1);
}
static void begin(const char *event, const char *room) {
    json_len = 0;
    puts_("{\"event\":\"");
    puts_(event);
    puts_("\"");
    if (room) { puts_(",\"room\":"); put_str(room, strlen(room)); }
}
/* The event that send_frame sends from now on: its JSON and its frame, plain. */
static void event(const char *data, size_t len, const char *plain_frame, size_t plain_len) {
    ev_json = data;
    ev_len = len;
    ev_frame = plain_frame;
    ev_frame_len = plain_len;
    ev_gen++;                           /* compressed again, when first needed */
}
static bool seal(void) {                /* closes the object and encodes the frame */
    puts_("}");
    if (json_len >= json_cap || ws_frame_encode(frame, json_cap + 14, &frame_len, true,
                                                WS_OP_TEXT, json, json_len, NULL) != WS_OK)
        return false;
    event(json, json_len, frame, frame_len);
    return true;
}

/* ws.h glue (permessage-deflate): the event compressed with a window of 2^bits, framed
   with RSV1, once for every member that agreed that window; z->plain when it does not
   shrink (RFC 7692 lets any message go uncompressed). */
static struct zframe *compressed(unsigned bits) {
    struct zframe *z = &zframes[bits];
    size_t n = 0;
    if (z->gen == ev_gen) return z;
    z->gen = ev_gen;
    z->plain = true;
    if (!z->frame && !(z->frame = (char *)malloc(zdata_cap + 14))) return z;
    if (ws_deflate_message(&z_enc, ev_json, ev_len, bits, zdata, zdata_cap, &n) == WS_OK &&
        n < ev_len &&
        ws_frame_encode(z->frame, zdata_cap + 14, &z->len, true, (ws_opcode)(WS_OP_TEXT | WS_RSV1),
                        zdata, n, NULL) == WS_OK)
        z->plain = false;
    return z;
}

/* The event to one recipient: the same bytes to each (compressed for those that agreed
   it, when it is 64 bytes or more: smaller ones seldom shrink). */
static void send_frame(client *to) {
    const char *f = ev_frame;
    size_t n = ev_frame_len;
    if (!to->in_chat || ws_conn_state(&to->ws) != WS_STATE_OPEN) return;
    if (zbits_of(to) && ev_len >= WS_DEFLATE_MIN_SIZE) {
        struct zframe *z = compressed(zbits_of(to));
        if (!z->plain) {
            f = z->frame;
            n = z->len;
            z_frames++;
            z_bytes += n;
            z_plain += ev_frame_len;
        }
    }
    int r = ws_conn_send_raw(&to->ws, f, n);
    if (r != WS_OK) fprintf(stderr, "chat_server: fd %d: send: %s\n", to->fd, ws_strerror(r));
}

/* Before a client's rooms are written to: its own (it shared no_rooms until now). */
static bool own_rooms(client *cl) { return need_extra(cl) != NULL; }

static int room_slot(const client *cl, const char *room) {
    for (int i = 0; i < ROOMS; i++) if (strcmp(rooms_of(cl)[i], room) == 0) return i;
    return -1;
}
static void to_room(const char *room, const client *except) {
    for (client *m = next_client(NULL); m; m = next_client(m))
        if (m != except && room_slot(m, room) >= 0) send_frame(m);
}

static void reply(client *cl, const char *event, long id, const char *data) {
    begin(event, NULL);
    if (id >= 0) { puts_(",\"id\":"); put_num(id); }
    if (data) { puts_(",\"data\":"); put_str(data, strlen(data)); }
    if (seal()) send_frame(cl);
}

static void send_members(const char *room) {
    int count = 0;
    begin("members", room);
    puts_(",\"data\":{\"nicks\":[");
    for (client *m = next_client(NULL); m; m = next_client(m)) {
        if (!m->in_chat || room_slot(m, room) < 0) continue;
        if (count < LIST_MAX) { if (count) puts_(","); put_str(nick_of(m), strlen(nick_of(m))); }
        count++;
    }
    puts_("],\"count\":");
    put_num(count);
    puts_("}");
    if (seal()) to_room(room, NULL);
}

/* "joined", "left" or "renamed" to the others in a room, with "why" or "was" as key. */
static void notice(const char *event, const char *room, const client *who, const char *key,
                   const char *value) {
    begin(event, room);
    puts_(",\"data\":{\"nick\":");
    put_str(nick_of(who), strlen(nick_of(who)));
    if (key) { puts_(",\""); puts_(key); puts_("\":"); put_str(value, strlen(value)); }
    puts_("}");
    if (seal()) to_room(room, who);
}

static void leave(client *cl, int slot, const char *why) {
    char room[NAME_LEN + 1];
    memcpy(room, rooms_of(cl)[slot], sizeof room);
    rooms_of(cl)[slot][0] = '\0';        /* its extra part may go (run_todo) */
    notice("left", room, cl, "why", why);
    send_members(room);
}

/* ---- scale-out hooks: with --redis, what changes shared state goes through Redis (the
   section after on_close); without CHAT_REDIS they are stubs never called */
static bool redis_on;
static const char pending[] = "";       /* handle(): Redis has it; answered when it is done */
static const char *r_nick(client *cl, const char *nick, long id);
static const char *r_join(client *cl, int slot, const char *room, long id);
static const char *r_leave(client *cl, int slot, long id);
static const char *r_publish(client *cl, const char *room, long id);
static bool r_ping(client *cl, long id);
static void r_part(client *cl, const char *why);
static void r_welcome(client *cl);
static void r_queue(client *cl, ws_opcode op, const void *data, size_t len);
static void r_forget(client *cl);
static void welcome(client *cl);
static void bad_usage(const char *what, const char *arg, const char *want);

/* The client is out of the chat: every room it was in hears why, once. */
static void part(client *cl, const char *why) {
    if (redis_on) { r_part(cl, why); return; }
    if (!cl->in_chat) return;
    for (int i = 0; i < ROOMS; i++) if (rooms_of(cl)[i][0]) leave(cl, i, why);
    cl->in_chat = false;
    printf("chat_server: %s left: %s\n", nick_of(cl), why);
}

/* Queue over the limit: the whole frames queued stay (the client gets them if it ever
   reads), the close 1008 "too slow" follows them, and the others hear why. */
static void kick_slow(void) {
    while (slow_pending) {
        slow_pending = false;
        for (client *cl = next_client(NULL); cl; cl = next_client(cl)) {
            if (!cl->too_slow || cl->kicked) continue;
            cl->kicked = true;                  /* queue_limit: room for the close frame */
            int r = ws_conn_close(&cl->ws, WS_CLOSE_POLICY, "too slow", 8);
            if (r != WS_OK) set_dead(cl);
            part(cl, "too slow");       /* may push others over the limit: loop again */
        }
    }
}

/* ---- JSON in: one flat object of known keys, strings decoded into text[] ------------- */

typedef struct scan { const char *p, *end; char *out; } scan;

static void skip(scan *s) {
    while (s->p < s->end && *s->p && strchr(" \t\r\n", *s->p)) s->p++;
}
static bool eat(scan *s, char ch) {
    skip(s);
    if (s->p < s->end && *s->p == ch) { s->p++; return true; }
    return false;
}
static long hex4(scan *s) {
    long v = 0;
    if (s->end - s->p < 4) return -1;
    for (int i = 0; i < 4; i++) {
        char ch = *s->p++;
        int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 :
                ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}
static char *utf8(char *o, long u) {
    if (u < 0x80) { *o++ = (char)u; return o; }
    if (u < 0x800) *o++ = (char)(0xC0 | u >> 6);
    else if (u < 0x10000) { *o++ = (char)(0xE0 | u >> 12); *o++ = (char)(0x80 | (u >> 6 & 63)); }
    else { *o++ = (char)(0xF0 | u >> 18); *o++ = (char)(0x80 | (u >> 12 & 63));
           *o++ = (char)(0x80 | (u >> 6 & 63)); }
    *o++ = (char)(0x80 | (u & 63));
    return o;
}
static bool string(scan *s, ws_str *v) {   /* never writes more bytes than it reads */
    char *o = s->out;
    if (!eat(s, '"')) return false;
    while (s->p < s->end) {
        unsigned char ch = (unsigned char)*s->p++;
        long u;
        if (ch == '"') { v->ptr = s->out; v->len = (size_t)(o - s->out); s->out = o; return true; }
        if (ch < 0x20) return false;
        if (ch != '\\') { *o++ = (char)ch; continue; }
        if (s->p == s->end) return false;
        switch (*s->p++) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '/': *o++ = '/'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u':
            if ((u = hex4(s)) < 0 || (u >= 0xDC00 && u < 0xE000)) return false;
            if (u >= 0xD800 && u < 0xDC00) {            /* a surrogate pair, or nothing */
                long lo;
                if (s->end - s->p < 2 || s->p[0] != '\\' || s->p[1] != 'u') return false;
                s->p += 2;
                if ((lo = hex4(s)) < 0xDC00 || lo >= 0xE000) return false;
                u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
            }
            o = utf8(o, u);
            break;
        default: return false;
        }
    }
    return false;
}
/* Returns NULL, or why the request is refused. */
static const char *parse(const char *in, size_t len, request *rq) {
    scan s = { in, in + len, text };
    memset(rq, 0, sizeof *rq);
    rq->id = -1;
    if (!eat(&s, '{')) return "expected a JSON object";
    if (!eat(&s, '}')) {
        do {
            ws_str key, *v = NULL;
            if (!string(&s, &key) || !eat(&s, ':')) return "bad JSON";
            if (is(key, "event")) v = &rq->event;
            else if (is(key, "room")) v = &rq->room;
            else if (is(key, "data")) v = &rq->data;
            else if (!is(key, "id")) return "unknown field";
            if (v ? v->ptr != NULL : rq->id >= 0) return "repeated field";
            if (v) {
                if (!eat(&s, '"')) return "event, room and data must be strings";
                s.p--;
                if (!string(&s, v)) return "bad JSON string";
                continue;
            }
            skip(&s);                           /* "id": 1 to 9 digits */
            const char *start = s.p;
            for (rq->id = 0; s.p < s.end && *s.p >= '0' && *s.p <= '9'; s.p++) {
                if (s.p - start == 9) break;
                rq->id = rq->id * 10 + (*s.p - '0');
            }
            if (s.p == start || (s.p < s.end && *s.p >= '0' && *s.p <= '9')) {
                rq->id = -1;
                return "id must be a whole number 0-999999999";
            }
        } while (eat(&s, ','));
        if (!eat(&s, '}')) return "bad JSON";
    }
    skip(&s);
    if (s.p != s.end) return "bad JSON";
    if (!rq->event.ptr) return "no event";
    return NULL;
}

/* ---- the chat --------------------------------------------------------------------------- */

static bool valid_name(ws_str s) {
    if (s.len < 1 || s.len > NAME_LEN) return false;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char ch = (unsigned char)s.ptr[i];
        if (!(ch >= 0x80 || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.')) return false;
    }
    return true;
}
static bool nick_taken(const char *nick, const client *self) {
    for (client *m = next_client(NULL); m; m = next_client(m))
        if (m != self && m->in_chat && strcmp(nick_of(m), nick) == 0) return true;
    return false;
}

/* Returns NULL when the request was carried out, or why not. */
static const char *handle(client *cl, const request *rq) {
    char room[NAME_LEN + 1] = "", was[NAME_LEN + 1];
    int slot = -1;
    if (rq->room.ptr) {
        if (!valid_name(rq->room)) return "room: 1-24 letters, digits, - _ . or non-ASCII";
        memcpy(room, rq->room.ptr, rq->room.len);
        room[rq->room.len] = '\0';
        slot = room_slot(cl, room);
    }
    if (is(rq->event, "ping")) {
        if (redis_on && r_ping(cl, rq->id)) return pending;     /* behind what Redis has */
        reply(cl, "pong", rq->id, NULL);
        return NULL;
    }
    if (is(rq->event, "nick")) {
        if (!rq->data.ptr || !valid_name(rq->data))
            return "nick: 1-24 letters, digits, - _ . or non-ASCII";
        if (rq->data.len >= 6 && memcmp(rq->data.ptr, "guest-", 6) == 0)
            return "nick: guest- names are given by the server";
        if (redis_on) {                 /* taken or not: Redis knows every process's names */
            char nick[NAME_LEN + 1];
            memcpy(nick, rq->data.ptr, rq->data.len);
            nick[rq->data.len] = '\0';
            return r_nick(cl, nick, rq->id);
        }
        char nick[NAME_LEN + 1];
        memcpy(nick, rq->data.ptr, rq->data.len);
        nick[rq->data.len] = '\0';
        if (nick_taken(nick, cl)) return "nick taken";
        if (!need_extra(cl)) return "out of memory";
        snprintf(was, sizeof was, "%s", nick_of(cl));
        memcpy(extra_of(cl)->nick, nick, sizeof nick);
        for (int i = 0; i < ROOMS; i++) {
            if (!rooms_of(cl)[i][0]) continue;
            notice("renamed", rooms_of(cl)[i], cl, "was", was);
            send_members(rooms_of(cl)[i]);
        }
    } else if (is(rq->event, "join")) {
        if (!room[0]) return "join: which room?";
        if (slot < 0) {
            if ((slot = room_slot(cl, "")) < 0) return "in too many rooms";
            if (!own_rooms(cl)) return "out of memory";
            if (redis_on) return r_join(cl, slot, room, rq->id);
            memcpy(rooms_of(cl)[slot], room, sizeof room);
            notice("joined", room, cl, NULL, NULL);
            send_frame(cl);                         /* the joiner sees it too */
            send_members(room);
        }
    } else if (is(rq->event, "leave")) {
        if (slot < 0) return "not in that room";
        if (redis_on) return r_leave(cl, slot, rq->id);
        leave(cl, slot, "left");
    } else if (is(rq->event, "message") || is(rq->event, "broadcast")) {
        bool all = is(rq->event, "broadcast");
        if (!all && slot < 0) return "join the room first";
        if (!rq->data.ptr || rq->data.len == 0) return "nothing to send";
        begin(all ? "broadcast" : "message", all ? NULL : room);
        puts_(",\"data\":{\"from\":");
        put_str(nick_of(cl), strlen(nick_of(cl)));
        puts_(",\"text\":");
        put_str(rq->data.ptr, rq->data.len);
        puts_("}");
        if (!seal()) return "message too long";
        if (redis_on) return r_publish(cl, all ? NULL : room, rq->id);     /* json[] */
        if (all) {
            for (client *m = next_client(NULL); m; m = next_client(m))
                if (m != cl) send_frame(m);
        }
        else to_room(room, cl);
    } else {
        return "unknown event";
    }
    if (rq->id >= 0) reply(cl, "ack", rq->id, NULL);
    return NULL;
}

/* ---- ws.h glue: a whole message in, and the end of a connection --------------------------- */

/* One request, carried out (or, with --redis, handed to Redis) and answered. */
static void serve(client *cl, ws_opcode op, const void *data, size_t len) {
    request rq;
    const char *err;
    err = op != WS_OP_TEXT ? "send JSON text, not binary" : parse((const char *)data, len, &rq);
    if (!err) err = handle(cl, &rq);
    if (err && err != pending) reply(cl, "error", op == WS_OP_TEXT ? rq.id : -1, err);
}

static void on_message(client *cl, ws_opcode op, const void *data, size_t len) {
    rclient *rc = rc_of(cl);
    if (redis_on && (rc->op || rc->rq_pos < rc->rq_len)) {     /* in order, one at a time */
        r_queue(cl, op, data, len);
        return;
    }
    if (!cl->in_chat) return;                   /* on its way out */
    serve(cl, op, data, len);
}

/* ws.h glue: a message arrives in pieces (on_begin, on_data, on_end), unmasked, its text
   checked, inflated if it came compressed, at most --max-message bytes in all (ws.h closes
   with 1009 past that: cfg.max_message_size). The pieces are gathered in the client's busy
   part, which grows as they come and is freed once the message is served: an idle client
   holds no buffer. */
static void on_begin(ws_conn *c, ws_opcode op, uint64_t size) {
    client *cl = (client *)(void *)c;     /* ws comes first in a client */
    busy *b = need_busy(cl);
    (void)size;
    if (!b) return;
    b->msg_op = (uint8_t)op;
    b->msg_len = 0;
}

static void on_data(ws_conn *c, const void *data, size_t len) {
    client *cl = (client *)(void *)c;     /* ws comes first in a client */
    busy *b = busy_of(cl);
    if (!b || cl->dead || len == 0) return;
    if (len > b->msg_cap - b->msg_len) {
        size_t cap = b->msg_cap ? b->msg_cap : 256;
        while (cap - b->msg_len < len) cap *= 2;
        char *p = (char *)realloc(b->msg, cap);
        if (!p) { set_dead(cl); return; }          /* out of memory */
        b->msg = p;
        b->msg_cap = cap;
    }
    memcpy(b->msg + b->msg_len, data, len);
    b->msg_len += len;
}

static void on_end(ws_conn *c) {
    client *cl = (client *)(void *)c;     /* ws comes first in a client */
    busy *b = busy_of(cl);
    if (!b || cl->dead) return;
    char *msg = b->msg;
    size_t len = b->msg_len;
    b->msg = NULL;                      /* served from here: the busy part may go */
    b->msg_len = b->msg_cap = 0;
    mark(cl);
    on_message(cl, (ws_opcode)b->msg_op, msg ? msg : "", len);
    free(msg);
}

static void on_close(ws_conn *c, unsigned code, const char *reason, size_t len) {
    client *cl = (client *)(void *)c;     /* ws comes first in a client */
    char why[64];
    (void)code;
    if (ws_conn_state(c) == WS_STATE_FAILED && len > 0)  /* we failed it: ws.h says why */
        snprintf(why, sizeof why, "%.*s", (int)len, reason);
    else
        snprintf(why, sizeof why, "closed");
    part(cl, why);
}

/* ---- scale-out: rooms shared by any number of processes through Redis (--redis) ---------

   The socket.io Redis adapter's pattern, on this loop. Every process subscribes to one
   Redis channel, "chat". What changes who is where (a name, a join, a leave, a client
   gone) is one Lua script that changes the state in Redis and publishes the events it
   causes, the members list included, in one step; a message or broadcast is one PUBLISH.
   Redis runs one command at a time, so every process sees the same events in the same
   order. Each process frames each event it receives once (ws_frame_encode) and sends the
   same bytes to its own clients in that room (ws_conn_send_raw).
   A published event is "P CID SEQ\n" (the process, its client, the request) and then one
   line per event: "a ROOM JSON" to every member of ROOM ("*": every client), "x ROOM JSON"
   to all but the client that caused it.
   State in Redis, all under "chat:":
     alive:P        this process is alive: PX --redis-ttl, refreshed every quarter of it
     procs          the set of processes; each heartbeat also reaps the ones whose alive
                    key expired: their members leave with "why":"server lost"
     room:R         hash, name -> the process of that member
     nick:N         "P CID", the client holding the name N; a dead process's names are free
     rooms:P, nicks:P  what the reaper has to clean up after P
     guests         the counter of guest-N names
   A client's requests are carried out one at a time, in order: while Redis has one, the
   next wait in a queue (bounded: the socket is not read meanwhile). An ack means Redis
   carried the request out; the events it published reach the sender's process first.
   Without Redis (lost, restarting) a request gets {"event":"error","data":"redis
   unavailable: not sent, try again"}; one Redis had when the connection broke gets "redis
   connection lost: it may not have been carried out"; the process reconnects every
   RETRY_MS and then puts its clients back (names, rooms: members lists follow). */
#ifdef CHAT_REDIS

enum { RETRY_MS = 250, START_MS = 3000, STOP_MS = 1000, RQ_LIMIT = 256 * 1024, ARGS = 24 };
enum { OP_GUEST, OP_NICK, OP_JOIN, OP_LEAVE, OP_PUB, OP_PING, OP_BEAT, OP_QUIET };

typedef struct rop {                    /* a request Redis has */
    struct rop *next;
    client  *cl;                        /* NULL: the process's own, or its client is gone */
    uint64_t seq, cid;                  /* its number; its client's */
    long     id;                        /* the client's request id, -1: none */
    int      kind, slot;
    bool     echo, echoed, replied, failed;  /* wait for its events too; seen; answered */
    char     nick[NAME_LEN + 1];
} rop;

typedef struct rlink { redisAsyncContext *ac; uint32_t events; bool up; } rlink;

static rlink    rcmd, rsub;             /* commands; the subscription */
static char     rhost[256], proc_id[64], rerr[160];
static int      rport;
static long     rttl = 5000;
static rop     *ops;                    /* in the order sent */
static uint64_t op_seq, cids, heartbeat_at, retry_at;
static bool     r_lost, r_subscribed;
static char    *rframe, *rpub;          /* an event framed; a message being published */

/* the scripts; names (rooms, nicks) never need JSON escapes (valid_name) */
#define LUA_LIB \
 "local function alive(p) return redis.call('EXISTS','chat:alive:'..p) == 1 end\n" \
 "local function free(n, owner)\n" \
 "  local o = redis.call('GET','chat:nick:'..n)\n" \
 "  return not o or o == owner or not alive(string.match(o, '^(%S+)')) end\n" \
 "local function release(P, n, owner)\n" \
 "  if n ~= '' and redis.call('GET','chat:nick:'..n) == owner then\n" \
 "    redis.call('DEL','chat:nick:'..n); redis.call('SREM','chat:nicks:'..P, n) end end\n" \
 "local function members(r)\n" \
 "  local h, nicks, live = redis.call('HGETALL','chat:room:'..r), {}, {}\n" \
 "  for i = 1, #h, 2 do\n" \
 "    local p = h[i+1]\n" \
 "    if live[p] == nil then live[p] = alive(p) end\n" \
 "    if live[p] then nicks[#nicks+1] = h[i] end end\n" \
 "  table.sort(nicks)\n" \
 "  local shown = {}\n" \
 "  for i = 1, math.min(#nicks, 100) do shown[i] = '\"'..nicks[i]..'\"' end\n" \
 "  return 'a '..r..' {\"event\":\"members\",\"room\":\"'..r..'\",\"data\":{\"nicks\":['..\n" \
 "    table.concat(shown, ',')..'],\"count\":'..#nicks..'}}\\n' end\n" \
 "local function left(r, n, why)\n" \
 "  return 'a '..r..' {\"event\":\"left\",\"room\":\"'..r..'\",\"data\":{\"nick\":\"'..n..\n" \
 "    '\",\"why\":\"'..why..'\"}}\\n' end\n" \
 "local function reap(P, why)\n" \
 "  local out = {}\n" \
 "  for _, r in ipairs(redis.call('SMEMBERS','chat:rooms:'..P)) do\n" \
 "    local h, any = redis.call('HGETALL','chat:room:'..r), false\n" \
 "    for i = 1, #h, 2 do\n" \
 "      if h[i+1] == P then redis.call('HDEL','chat:room:'..r, h[i]); any = true\n" \
 "        out[#out+1] = left(r, h[i], why) end end\n" \
 "    if any then out[#out+1] = members(r) end end\n" \
 "  for _, n in ipairs(redis.call('SMEMBERS','chat:nicks:'..P)) do\n" \
 "    local o = redis.call('GET','chat:nick:'..n)\n" \
 "    if o and string.match(o, '^(%S+)') == P then redis.call('DEL','chat:nick:'..n) end end\n" \
 "  redis.call('DEL','chat:rooms:'..P,'chat:nicks:'..P); redis.call('SREM','chat:procs',P)\n" \
 "  if why and #out > 0 then redis.call('PUBLISH','chat','- 0 0\\n'..table.concat(out)) end\n" \
 "end\n" \
 "local P, owner = ARGV[1], ARGV[1]..' '..(ARGV[2] or '')\n" \
 "local head = ARGV[1]..' '..(ARGV[2] or '')..' '..(ARGV[3] or '')..'\\n'\n"

/* P CID SEQ: a name no live client holds, guest-N with the next N that is free */
static const char lua_guest[] = LUA_LIB
 "while true do\n"
 "  local n = 'guest-'..redis.call('INCR','chat:guests')\n"
 "  if free(n, owner) then redis.call('SET','chat:nick:'..n, owner)\n"
 "    redis.call('SADD','chat:nicks:'..P, n); return n end end\n";
/* P CID SEQ NEW OLD ROOM...: 0 taken, 1 renamed, 2 renamed and published */
static const char lua_nick[] = LUA_LIB
 "local new, old = ARGV[4], ARGV[5]\n"
 "if not free(new, owner) then return 0 end\n"
 "release(P, old, owner)\n"
 "redis.call('SET','chat:nick:'..new, owner); redis.call('SADD','chat:nicks:'..P, new)\n"
 "if #ARGV < 6 then return 1 end\n"
 "local out = {head}\n"
 "for i = 6, #ARGV do local r = ARGV[i]\n"
 "  redis.call('HDEL','chat:room:'..r, old); redis.call('HSET','chat:room:'..r, new, P)\n"
 "  out[#out+1] = 'x '..r..' {\"event\":\"renamed\",\"room\":\"'..r..'\",\"data\":{\"nick\":\"'..\n"
 "    new..'\",\"was\":\"'..old..'\"}}\\n'\n"
 "  out[#out+1] = members(r) end\n"
 "redis.call('PUBLISH','chat',table.concat(out)); return 2\n";
/* P CID SEQ ROOM NICK */
static const char lua_join[] = LUA_LIB
 "local r, n = ARGV[4], ARGV[5]\n"
 "redis.call('HSET','chat:room:'..r, n, P); redis.call('SADD','chat:rooms:'..P, r)\n"
 "redis.call('PUBLISH','chat', head..'a '..r..' {\"event\":\"joined\",\"room\":\"'..r..\n"
 "  '\",\"data\":{\"nick\":\"'..n..'\"}}\\n'..members(r)); return 1\n";
/* P CID SEQ WHY NICK NICK2 ROOM...: the client leaves these rooms (and with no room given
   and NICK2 "-": it is gone, its names are free); NICK2 is a rename Redis may have done */
static const char lua_part[] = LUA_LIB
 "local why, out = ARGV[4], {head}\n"
 "for i = 7, #ARGV do local r = ARGV[i]; local any = false\n"
 "  for j = 5, 6 do local n = ARGV[j]\n"
 "    if n ~= '' and redis.call('HGET','chat:room:'..r, n) == P then\n"
 "      redis.call('HDEL','chat:room:'..r, n); out[#out+1] = left(r, n, why); any = true end end\n"
 "  if any then out[#out+1] = members(r) end end\n"
 "if why ~= 'left' then release(P, ARGV[5], owner); release(P, ARGV[6], owner) end\n"
 "if #out > 1 or ARGV[3] ~= '0' then redis.call('PUBLISH','chat',table.concat(out)) end\n"
 "return 1\n";
/* P CID NICK ROOM...: a client put back after Redis lost it (restart, or reaped) */
static const char lua_rejoin[] = LUA_LIB
 "local n = ARGV[3]\n"
 "if free(n, owner) then redis.call('SET','chat:nick:'..n, owner)\n"
 "  redis.call('SADD','chat:nicks:'..P, n) end\n"
 "for i = 4, #ARGV do local r = ARGV[i]\n"
 "  redis.call('HSET','chat:room:'..r, n, P); redis.call('SADD','chat:rooms:'..P, r) end\n"
 "return 1\n";
/* P ROOM...: the members list of each room, after the rejoins (one each, not one a client) */
static const char lua_members[] = LUA_LIB
 "local out = {'- 0 0\\n'}\n"
 "for i = 2, #ARGV do out[#out+1] = members(ARGV[i]) end\n"
 "redis.call('PUBLISH','chat',table.concat(out)); return 1\n";
/* P TTL: alive for TTL ms more; reaps the dead; 0 if P had been forgotten (put it back) */
static const char lua_heartbeat[] = LUA_LIB
 "local known = redis.call('SISMEMBER','chat:procs',P) == 1 and alive(P)\n"
 "redis.call('SET','chat:alive:'..P,'1','PX',ARGV[2]); redis.call('SADD','chat:procs',P)\n"
 "for _, q in ipairs(redis.call('SMEMBERS','chat:procs')) do\n"
 "  if not alive(q) then reap(q, 'server lost') end end\n"
 "return known and 1 or 0\n";
/* P TTL: forgets what Redis holds of P (a new start), alive for TTL ms */
static const char lua_register[] = LUA_LIB
 "reap(P, nil)\n"
 "redis.call('SET','chat:alive:'..P,'1','PX',ARGV[2]); redis.call('SADD','chat:procs',P)\n"
 "return 1\n";
/* P: this process stops; its members leave everywhere with why "server stopping" */
static const char lua_down[] = LUA_LIB
 "reap(P, 'server stopping'); redis.call('DEL','chat:alive:'..P); return 1\n";

static bool r_ready(void) {
    return !r_lost && rcmd.ac && rsub.ac && rcmd.up && r_subscribed;
}

/* -- the hiredis adapter for this epoll loop: hiredis says what it wants to wait for -- */

static void rl_want(rlink *l, uint32_t want) {
    struct epoll_event ev = { .events = want, .data.ptr = l };
    if (want == l->events || !l->ac) return;
    int op = !l->events ? EPOLL_CTL_ADD : want ? EPOLL_CTL_MOD : EPOLL_CTL_DEL;
    if (epoll_ctl(epfd, op, l->ac->c.fd, &ev) != 0) perror("chat_server: epoll_ctl (redis)");
    l->events = want;
}
static void rl_add_read(void *p) { rlink *l = (rlink *)p; rl_want(l, l->events | EPOLLIN); }
static void rl_del_read(void *p) { rlink *l = (rlink *)p; rl_want(l, l->events & ~(uint32_t)EPOLLIN); }
static void rl_add_write(void *p) { rlink *l = (rlink *)p; rl_want(l, l->events | EPOLLOUT); }
static void rl_del_write(void *p) { rlink *l = (rlink *)p; rl_want(l, l->events & ~(uint32_t)EPOLLOUT); }
static void rl_cleanup(void *p) {       /* the context is being freed (its fd still open) */
    rlink *l = (rlink *)p;
    rl_want(l, 0);
    l->ac = NULL;
    l->up = false;
    r_lost = true;                      /* redis_tick takes the other link down too */
}

/* epoll reported something on fd of link p (returns false: p is not a Redis link) */
static bool redis_event(void *p, uint32_t events) {
    rlink *l = (rlink *)p;
    if (l != &rcmd && l != &rsub) return false;
    if (l->ac && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) redisAsyncHandleRead(l->ac);
    if (l->ac && (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))) redisAsyncHandleWrite(l->ac);
    return true;
}

static void rl_disconnected(const redisAsyncContext *ac, int status) {
    if (status != REDIS_OK) snprintf(rerr, sizeof rerr, "%s", ac->errstr);
    r_lost = true;
}

static void r_connected(const redisAsyncContext *ac, int status);

static bool rl_open(rlink *l) {
    l->events = 0;
    l->up = false;
    if (!(l->ac = redisAsyncConnect(rhost, rport))) { snprintf(rerr, sizeof rerr, "out of memory"); return false; }
    if (l->ac->err) {
        snprintf(rerr, sizeof rerr, "%s", l->ac->errstr);
        redisAsyncFree(l->ac);
        l->ac = NULL;
        return false;
    }
    l->ac->data = l;
    l->ac->ev.data = l;
    l->ac->ev.addRead = rl_add_read;
    l->ac->ev.delRead = rl_del_read;
    l->ac->ev.addWrite = rl_add_write;
    l->ac->ev.delWrite = rl_del_write;
    l->ac->ev.cleanup = rl_cleanup;
    redisAsyncSetConnectCallback(l->ac, r_connected);
    redisAsyncSetDisconnectCallback(l->ac, rl_disconnected);
    rl_add_write(l);                    /* the connect completes when it is writable */
    return true;
}

/* -- requests -- */

static void r_reply(redisAsyncContext *ac, void *reply, void *priv);

/* EVAL script 0 args..., or (script NULL) the command in args; op NULL: nobody waits */
static bool r_send(rop *op, const char *script, int argc, const char **argv, const size_t *lens) {
    const char *a[ARGS + 3];
    size_t n[ARGS + 3];
    int k = 0;
    if (script) { a[k] = "EVAL"; n[k++] = 4; a[k] = script; n[k++] = strlen(script); a[k] = "0"; n[k++] = 1; }
    for (int i = 0; i < argc && k < ARGS + 3; i++, k++) { a[k] = argv[i]; n[k] = lens ? lens[i] : strlen(argv[i]); }
    if (!rcmd.ac || redisAsyncCommandArgv(rcmd.ac, r_reply, op, k, a, n) != REDIS_OK) {
        free(op);
        return false;
    }
    if (op) {                           /* appended: Redis answers in this order */
        rop **t = &ops;
        while (*t) t = &(*t)->next;
        *t = op;
        if (op->cl) rc_of(op->cl)->op = op;
    }
    return true;
}

static rop *r_op(client *cl, int kind, long id) {
    rop *op = (rop *)calloc(1, sizeof *op);
    if (!op) return NULL;
    op->cl = cl;
    op->cid = cl ? rc_of(cl)->cid : 0;
    op->kind = kind;
    op->id = id;
    op->seq = ++op_seq;
    op->slot = -1;
    op->echo = kind == OP_JOIN || kind == OP_LEAVE || kind == OP_PUB || kind == OP_PING;
    return op;
}

/* args[0..2] = P CID SEQ, in buffers b */
static int r_head(const char **args, char b[2][24], uint64_t cid, uint64_t seq) {
    snprintf(b[0], sizeof b[0], "%llu", (unsigned long long)cid);
    snprintf(b[1], sizeof b[1], "%llu", (unsigned long long)seq);
    args[0] = proc_id;
    args[1] = b[0];
    args[2] = b[1];
    return 3;
}

static const char unavailable[] = "redis unavailable: not sent, try again";
static const char lost[] = "redis connection lost: it may not have been carried out";

static void drain(client *cl);
static void r_register(bool fresh);

static void op_unlink(rop *op) {
    for (rop **p = &ops; *p; p = &(*p)->next) if (*p == op) { *p = op->next; break; }
    free(op);
}

/* The request is over for its client: answered `why` (NULL: done), the next may start. */
static void op_end(rop *op, const char *why) {
    client *cl = op->cl;
    op->cl = NULL;
    if (!cl) return;
    rc_of(cl)->op = NULL;
    if (op->slot >= 0 && op->kind == OP_JOIN && why) {      /* the join did not happen */
        rooms_of(cl)[op->slot][0] = '\0';
        rc_of(cl)->joining[op->slot] = false;
    }
    if (op->kind == OP_GUEST) {
        if (why) {                      /* no name: no chat; it may try again later */
            fprintf(stderr, "chat_server: fd %d: no guest name: %s\n", cl->fd, why);
            if (ws_conn_close(&cl->ws, WS_CLOSE_TRY_AGAIN_LATER, "redis unavailable", 17) != WS_OK)
                set_dead(cl);
            return;
        }
        memcpy(extra_of(cl)->nick, op->nick, sizeof op->nick);   /* rc: it has its extra part */
        cl->in_chat = true;
        welcome(cl);
    } else if (op->kind == OP_PING) {
        reply(cl, "pong", op->id, NULL);        /* the server is alive either way */
    } else if (op->kind == OP_NICK && !why) {
        memcpy(extra_of(cl)->nick, op->nick, sizeof op->nick);   /* rc: it has its extra part */
        if (op->id >= 0) reply(cl, "ack", op->id, NULL);
    } else if (why) {
        reply(cl, "error", op->id, why);
    } else if (op->id >= 0) {
        reply(cl, "ack", op->id, NULL);
    }
    drain(cl);
}

static void op_check(rop *op) {         /* answered and its events seen: done */
    if (op->failed) { if (op->replied) op_unlink(op); return; }
    if (!op->replied || (op->echo && !op->echoed)) return;
    op_end(op, NULL);
    op_unlink(op);
}

static void r_reply(redisAsyncContext *ac, void *reply, void *priv) {
    redisReply *r = (redisReply *)reply;
    rop *op = (rop *)priv;
    (void)ac;
    if (r && r->type == REDIS_REPLY_ERROR)
        fprintf(stderr, "chat_server: redis: %.*s\n", (int)r->len, r->str);
    if (!r) r_lost = true;              /* no answer: the link is going down */
    if (!op) return;
    op->replied = true;
    if (op->failed) { op_unlink(op); return; }
    if (!r || r->type == REDIS_REPLY_ERROR) {
        op->failed = true;
        op_end(op, r ? "redis refused it" : lost);
        op_unlink(op);
        return;
    }
    if (op->kind == OP_GUEST && r->type == REDIS_REPLY_STRING && r->len <= NAME_LEN) {
        memcpy(op->nick, r->str, r->len);
        op->nick[r->len] = '\0';
        if (!op->cl) {                  /* it left before it got its name: give it back */
            const char *a[7] = { 0 };
            char b[2][24];
            r_head(a, b, op->cid, 0);
            a[3] = "closed"; a[4] = op->nick; a[5] = "";
            r_send(NULL, lua_part, 6, a, NULL);
        }
    } else if (op->kind == OP_NICK && r->type == REDIS_REPLY_INTEGER) {
        if (r->integer == 0) { op->failed = true; op_end(op, "nick taken"); op_unlink(op); return; }
        op->echo = r->integer == 2;
    } else if (op->kind == OP_BEAT && r->type == REDIS_REPLY_INTEGER && r->integer == 0) {
        printf("chat_server: Redis had forgotten this process (reaped as dead): putting its clients back\n");
        r_register(false);
    }
    op_check(op);
}

/* Puts this process's clients (names, rooms) into Redis: after a connect (fresh: forget
   what Redis held of this process first) or when Redis had reaped it. */
static void r_register(bool fresh) {
    const char *a[ARGS];
    char b[2][24], ttl[24];
    snprintf(ttl, sizeof ttl, "%ld", rttl);
    a[0] = proc_id;
    a[1] = ttl;
    r_send(NULL, fresh ? lua_register : lua_heartbeat, 2, a, NULL);
    for (client *cl = next_client(NULL); cl; cl = next_client(cl)) {
        if (!cl->in_chat) continue;
        int k = r_head(a, b, rc_of(cl)->cid, 0) - 1;         /* P CID NICK ROOM... */
        a[k++] = nick_of(cl);
        for (int i = 0; i < ROOMS; i++) if (rooms_of(cl)[i][0]) a[k++] = rooms_of(cl)[i];
        r_send(NULL, lua_rejoin, k, a, NULL);
    }
    int n = 1;                          /* then each room's list once, ARGS - 1 rooms a call */
    a[0] = proc_id;
    for (client *cl = next_client(NULL); cl; cl = next_client(cl)) {
        if (!cl->in_chat) continue;
        for (int i = 0; i < ROOMS; i++) {
            const char *r = rooms_of(cl)[i];
            bool seen = !r[0];
            for (client *o = next_client(NULL); o != cl && !seen; o = next_client(o))  /* listed already? */
                if (o->in_chat && room_slot(o, r) >= 0) seen = true;
            for (int j = 0; j < i && !seen; j++) seen = strcmp(rooms_of(cl)[j], r) == 0;
            if (seen) continue;
            a[n++] = r;
            if (n == ARGS) { r_send(NULL, lua_members, n, a, NULL); n = 1; }
        }
    }
    if (n > 1) r_send(NULL, lua_members, n, a, NULL);
}

static void r_connected(const redisAsyncContext *ac, int status) {
    rlink *l = (rlink *)ac->data;
    if (status != REDIS_OK) {           /* hiredis frees it: rl_cleanup */
        snprintf(rerr, sizeof rerr, "%s", ac->errstr);
        return;
    }
    l->up = true;
    if (l == &rcmd) r_register(true);
}

/* -- what Redis publishes: "P CID SEQ\n" and one event a line -- */

static void deliver(const char *line, size_t len, const char *from, uint64_t cid) {
    const char *sp = memchr(line, ' ', len), *sp2;
    if (len < 4 || !sp || !(sp2 = memchr(sp + 1, ' ', len - (size_t)(sp + 1 - line)))) return;
    bool but = line[0] == 'x', all = sp2 - sp == 2 && sp[1] == '*';
    size_t rlen = (size_t)(sp2 - sp - 1), flen = 0;
    const char *json_ = sp2 + 1;
    size_t jlen = len - (size_t)(json_ - line);
    bool mine = strcmp(from, proc_id) == 0, framed = false;
    if (rlen > NAME_LEN || jlen > json_cap) return;
    char room[NAME_LEN + 1];
    memcpy(room, sp + 1, rlen);
    room[rlen] = '\0';
    for (client *m = next_client(NULL); m; m = next_client(m)) {
        if (!m->in_chat || ws_conn_state(&m->ws) != WS_STATE_OPEN) continue;
        if (but && mine && rc_of(m)->cid == cid) continue;
        if (!all) {
            int s = room_slot(m, room);
            if (s < 0 || rc_of(m)->joining[s]) continue;
        }
        if (!framed) {                  /* once per process, the same bytes to each */
            if (ws_frame_encode(rframe, json_cap + 14, &flen, true, WS_OP_TEXT, json_, jlen, NULL) != WS_OK) return;
            framed = true;
        }
        int r = ws_conn_send_raw(&m->ws, rframe, flen);
        if (r != WS_OK) fprintf(stderr, "chat_server: fd %d: send: %s\n", m->fd, ws_strerror(r));
    }
}

static void on_published(redisAsyncContext *ac, void *reply, void *priv) {
    redisReply *r = (redisReply *)reply;
    (void)ac;
    (void)priv;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 3) return;
    redisReply *kind = r->element[0], *msg = r->element[2];
    if (kind->type == REDIS_REPLY_STRING && strcmp(kind->str, "subscribe") == 0) {
        r_subscribed = msg->type == REDIS_REPLY_INTEGER && msg->integer == 2;  /* both */
        return;
    }
    if (msg->type != REDIS_REPLY_STRING) return;
    char from[64];
    unsigned long long cid = 0, seq = 0;
    const char *p = msg->str, *end = msg->str + msg->len, *nl = memchr(p, '\n', msg->len);
    if (!nl || sscanf(p, "%63s %llu %llu", from, &cid, &seq) != 3) return;
    rop *op = NULL;
    if (strcmp(from, proc_id) == 0)     /* ours: its request is done once this is out */
        for (op = ops; op && op->seq != seq; op = op->next) {}
    if (op && op->kind == OP_JOIN && op->cl && !op->failed)
        rc_of(op->cl)->joining[op->slot] = false;      /* in the room from this point on */
    for (p = nl + 1; p < end; p = nl + 1) {
        if (!(nl = memchr(p, '\n', (size_t)(end - p)))) nl = end;
        deliver(p, (size_t)(nl - p), from, cid);
    }
    if (op) { op->echoed = true; op_check(op); }
}

/* -- the requests of handle(): each returns pending, or why not -- */

static const char *r_nick(client *cl, const char *nick, long id) {
    const char *a[ARGS];
    char b[2][24];
    rop *op;
    if (!r_ready()) return unavailable;
    if (!(op = r_op(cl, OP_NICK, id))) return "out of memory";
    snprintf(op->nick, sizeof op->nick, "%s", nick);
    int k = r_head(a, b, rc_of(cl)->cid, op->seq);
    a[k++] = op->nick;
    a[k++] = nick_of(cl);
    for (int i = 0; i < ROOMS; i++) if (rooms_of(cl)[i][0]) a[k++] = rooms_of(cl)[i];
    return r_send(op, lua_nick, k, a, NULL) ? pending : unavailable;
}

static const char *r_join(client *cl, int slot, const char *room, long id) {
    rclient *rc = rc_of(cl);
    const char *a[ARGS];
    char b[2][24];
    rop *op;
    if (!r_ready()) return unavailable;
    if (!(op = r_op(cl, OP_JOIN, id))) return "out of memory";
    op->slot = slot;
    snprintf(rooms_of(cl)[slot], sizeof rooms_of(cl)[slot], "%s", room);
    rc->joining[slot] = true;           /* a member once its "joined" comes back */
    int k = r_head(a, b, rc->cid, op->seq);
    a[k++] = rooms_of(cl)[slot];
    a[k++] = nick_of(cl);
    if (r_send(op, lua_join, k, a, NULL)) return pending;
    rooms_of(cl)[slot][0] = '\0';
    rc->joining[slot] = false;
    return unavailable;
}

static const char *r_leave(client *cl, int slot, long id) {
    const char *a[ARGS];
    char b[2][24], room[NAME_LEN + 1];
    rop *op;
    if (!r_ready()) return unavailable;
    if (!(op = r_op(cl, OP_LEAVE, id))) return "out of memory";
    memcpy(room, rooms_of(cl)[slot], sizeof room);
    int k = r_head(a, b, rc_of(cl)->cid, op->seq);
    a[k++] = "left";
    a[k++] = nick_of(cl);
    a[k++] = "";
    a[k++] = room;
    if (!r_send(op, lua_part, k, a, NULL)) return unavailable;
    rooms_of(cl)[slot][0] = '\0';          /* hears nothing more from it */
    return pending;
}

/* the event built in json[]: to room (NULL: everyone) */
static const char *r_publish(client *cl, const char *room, long id) {
    const char *a[3] = { "PUBLISH", "chat", rpub };
    size_t n[3] = { 7, 4, 0 };
    rop *op;
    if (!r_ready()) return unavailable;
    if (!(op = r_op(cl, OP_PUB, id))) return "out of memory";
    int h = snprintf(rpub, 128, "%s %llu %llu\nx %s ", proc_id, (unsigned long long)rc_of(cl)->cid,
                     (unsigned long long)op->seq, room ? room : "*");
    memcpy(rpub + h, json, json_len);
    rpub[h + (int)json_len] = '\n';
    n[2] = (size_t)h + json_len + 1;
    return r_send(op, NULL, 3, a, n) ? pending : unavailable;
}

/* The pong waits for a publication to this process alone: once it is back, everything
   published before it reached this client, and Redis did all the process sent before. */
static bool r_ping(client *cl, long id) {
    char chan[80], head[128];
    rop *op;
    if (!r_ready() || !(op = r_op(cl, OP_PING, id))) return false;
    snprintf(chan, sizeof chan, "chat:%s", proc_id);
    snprintf(head, sizeof head, "%s %llu %llu\n", proc_id, (unsigned long long)rc_of(cl)->cid,
             (unsigned long long)op->seq);
    const char *a[3] = { "PUBLISH", chan, head };
    return r_send(op, NULL, 3, a, NULL);
}

static void r_welcome(client *cl) {
    const char *a[ARGS];
    char b[2][24];
    rop *op;
    rc_of(cl)->cid = ++cids;
    if (!r_ready() || !(op = r_op(cl, OP_GUEST, -1))) {
        fprintf(stderr, "chat_server: fd %d: %s\n", cl->fd, unavailable);
        if (ws_conn_close(&cl->ws, WS_CLOSE_TRY_AGAIN_LATER, "redis unavailable", 17) != WS_OK)
            set_dead(cl);
        return;
    }
    if (!r_send(op, lua_guest, r_head(a, b, rc_of(cl)->cid, op->seq), a, NULL)) set_dead(cl);
}

/* The client is out: Redis frees its names and tells its rooms (if Redis is there; if
   not, what Redis held of it is gone anyway, and it is not put back). */
static void r_part(client *cl, const char *why) {
    rclient *rc = rc_of(cl);
    const char *a[ARGS];
    char b[2][24];
    bool was = cl->in_chat;
    if (cl->parted || (!cl->in_chat && !rc->op)) return;
    cl->in_chat = false;
    cl->parted = true;
    if (rcmd.ac && rcmd.up) {
        int k = r_head(a, b, rc->cid, 0);
        a[k++] = why;
        a[k++] = nick_of(cl);
        a[k++] = rc->op && rc->op->kind == OP_NICK ? rc->op->nick : "-";
        for (int i = 0; i < ROOMS; i++) if (rooms_of(cl)[i][0]) a[k++] = rooms_of(cl)[i];
        r_send(NULL, lua_part, k, a, NULL);
    }
    for (int i = 0; i < ROOMS; i++) rooms_of(cl)[i][0] = '\0';
    if (was) printf("chat_server: %s left: %s\n", nick_of(cl), why);
}

static void r_forget(client *cl) {
    if (!redis_on) return;
    if (rc_of(cl)->op) rc_of(cl)->op->cl = NULL;      /* its answer finds nobody */
    rc_of(cl)->op = NULL;
    free(rc_of(cl)->rq);
    rc_of(cl)->rq = NULL;
}

/* -- a client's requests, one at a time -- */

static void r_queue(client *cl, ws_opcode op, const void *data, size_t len) {
    rclient *rc = rc_of(cl);
    size_t need = rc->rq_len + 5 + len;
    if (need > rc->rq_cap) {
        size_t cap = rc->rq_cap ? rc->rq_cap : 4096;
        while (cap < need) cap *= 2;
        char *p = (char *)realloc(rc->rq, cap);
        if (!p) { reply(cl, "error", -1, "out of memory"); return; }
        rc->rq = p;
        rc->rq_cap = cap;
    }
    uint32_t n = (uint32_t)len;
    rc->rq[rc->rq_len] = (char)op;
    memcpy(rc->rq + rc->rq_len + 1, &n, 4);
    memcpy(rc->rq + rc->rq_len + 5, data, len);
    rc->rq_len = need;
    if (rc->rq_len - rc->rq_pos > RQ_LIMIT && !cl->paused) {   /* stop reading it for now */
        cl->paused = true;
        write_queue(cl);
    }
}

static void drain(client *cl) {
    while (!rc_of(cl)->op && rc_of(cl)->rq_pos < rc_of(cl)->rq_len) {
        uint32_t n;
        ws_opcode op = (ws_opcode)(unsigned char)rc_of(cl)->rq[rc_of(cl)->rq_pos];
        memcpy(&n, rc_of(cl)->rq + rc_of(cl)->rq_pos + 1, 4);
        const char *data = rc_of(cl)->rq + rc_of(cl)->rq_pos + 5;
        rc_of(cl)->rq_pos += 5 + n;
        if (cl->in_chat && ws_conn_state(&cl->ws) == WS_STATE_OPEN) serve(cl, op, data, n);
    }
    if (rc_of(cl)->rq_pos == rc_of(cl)->rq_len) rc_of(cl)->rq_pos = rc_of(cl)->rq_len = 0;
    if (cl->paused && rc_of(cl)->rq_len - rc_of(cl)->rq_pos <= RQ_LIMIT / 2) {
        cl->paused = false;
        write_queue(cl);
    }
}

/* -- connection, heartbeat, reconnection -- */

/* Both links down: every request Redis had fails (its client hears why), both contexts
   are freed. */
static void r_teardown(void) {
    for (rop *op = ops; op; op = op->next)
        if (!op->failed) { op->failed = true; op_end(op, lost); }
    for (rop *op = ops, *nx; op; op = nx) { nx = op->next; if (op->replied) op_unlink(op); }
    if (rcmd.ac) redisAsyncFree(rcmd.ac);   /* its callbacks: NULL replies, ops freed */
    if (rsub.ac) redisAsyncFree(rsub.ac);
    while (ops) op_unlink(ops);
    r_subscribed = false;
    r_lost = false;
}

static uint64_t redis_tick(uint64_t now) {
    static bool was_ready;
    if (!redis_on) return UINT64_MAX;
    if (r_lost) {
        r_teardown();
        if (was_ready)
            printf("chat_server: lost Redis at %s:%d (%s): requests get an error event; "
                   "reconnecting every %d ms\n", rhost, rport, rerr[0] ? rerr : "closed", RETRY_MS);
        was_ready = false;
    }
    if (!rcmd.ac && !rsub.ac && now >= retry_at) {
        retry_at = now + RETRY_MS;
        if (rl_open(&rcmd) && rl_open(&rsub))       /* everyone's, and this process's */
            redisAsyncCommand(rsub.ac, on_published, NULL, "SUBSCRIBE chat chat:%s", proc_id);
        else r_lost = true;
    }
    if (r_ready() && !was_ready) {
        was_ready = true;
        heartbeat_at = now + (uint64_t)rttl / 4;
        printf("chat_server: Redis at %s:%d: sharing rooms as %s\n", rhost, rport, proc_id);
    }
    if (r_ready() && now >= heartbeat_at) {
        const char *a[2];
        char ttl[24];
        rop *op = r_op(NULL, OP_BEAT, -1);
        snprintf(ttl, sizeof ttl, "%ld", rttl);
        a[0] = proc_id;
        a[1] = ttl;
        if (op) r_send(op, lua_heartbeat, 2, a, NULL);
        heartbeat_at = now + (uint64_t)rttl / 4;
    }
    if (r_lost) return now;
    if (!r_ready()) return rcmd.ac || rsub.ac ? now + 50 : retry_at;
    return heartbeat_at;
}

/* Runs the Redis links alone for up to ms, until done() says so. */
static bool redis_wait(int ms, bool (*done)(void)) {
    uint64_t end = now_ms() + (uint64_t)ms;
    while (!done() && now_ms() < end) {
        struct epoll_event evs[16];
        uint64_t due = redis_tick(now_ms()), now = now_ms();
        int t = due <= now ? 0 : due - now > 50 ? 50 : (int)(due - now);
        int n = epoll_wait(epfd, evs, 16, t);
        for (int i = 0; i < n; i++) redis_event(evs[i].data.ptr, evs[i].events);
    }
    return done();
}

/* --redis HOST:PORT: both links up and subscribed within START_MS, or exits 1 */
static void redis_start(const char *arg) {
    const char *colon = strrchr(arg, ':');
    char host[256];
    long port = colon ? strtol(colon + 1, NULL, 10) : 0;
    if (!colon || colon == arg || (size_t)(colon - arg) >= sizeof host || port < 1 || port > 65535)
        bad_usage("--redis", arg, "want HOST:PORT, e.g. 127.0.0.1:6379");
    memcpy(rhost, arg, (size_t)(colon - arg));
    rhost[colon - arg] = '\0';
    rport = (int)port;
    memcpy(host, "host", 5);
    gethostname(host, sizeof host);
    host[sizeof host - 1] = '\0';
    snprintf(proc_id, sizeof proc_id, "%.40s-%ld-%04x", host, (long)getpid(),
             (unsigned)(now_ms() * 2654435761u) & 0xffff);
    for (char *p = proc_id; *p; p++) if (*p == ' ' || *p == '\n') *p = '_';
    rframe = (char *)malloc(json_cap + 14);
    rpub = (char *)malloc(json_cap + 256);
    if (!rframe || !rpub) { perror("chat_server: malloc"); exit(1); }
    redis_on = true;
    if (!redis_wait(START_MS, r_ready)) {
        fprintf(stderr, "chat_server: cannot use Redis at %s:%d: %s (start redis-server there, "
                        "or run without --redis: one process, rooms not shared)\n",
                rhost, rport, rerr[0] ? rerr : "no answer");
        exit(1);
    }
}

static bool no_ops(void) { return !ops; }

/* SIGTERM: this process's members leave everywhere with why "server stopping" */
static void redis_stop(void) {
    const char *a[1] = { proc_id };
    if (!redis_on) return;
    if (r_ready()) {
        rop *op = r_op(NULL, OP_QUIET, -1);
        if (op && r_send(op, lua_down, 1, a, NULL) && !redis_wait(STOP_MS, no_ops))
            fprintf(stderr, "chat_server: Redis did not answer in %d ms; the other processes "
                            "will reap this one within %ld ms\n", STOP_MS, rttl * 5 / 4);
    }
    for (client *cl = next_client(NULL); cl; cl = next_client(cl)) {
        rclient *rc = rc_of(cl);
        if (rc->op) rc->op->cl = NULL;
        rc->op = NULL;
    }
    if (rcmd.ac) redisAsyncFree(rcmd.ac);
    if (rsub.ac) redisAsyncFree(rsub.ac);
    while (ops) op_unlink(ops);
}

#else   /* built without hiredis: --redis says so; these are never called */
static const char *r_nick(client *cl, const char *nick, long id) { (void)cl; (void)nick; (void)id; return NULL; }
static const char *r_join(client *cl, int slot, const char *room, long id) { (void)cl; (void)slot; (void)room; (void)id; return NULL; }
static const char *r_leave(client *cl, int slot, long id) { (void)cl; (void)slot; (void)id; return NULL; }
static const char *r_publish(client *cl, const char *room, long id) { (void)cl; (void)room; (void)id; return NULL; }
static bool r_ping(client *cl, long id) { (void)cl; (void)id; return false; }
static void r_part(client *cl, const char *why) { (void)cl; (void)why; }
static void r_welcome(client *cl) { (void)cl; }
static void r_queue(client *cl, ws_opcode op, const void *data, size_t len) { (void)cl; (void)op; (void)data; (void)len; }
static void r_forget(client *cl) { (void)cl; }
static bool redis_event(void *p, uint32_t events) { (void)p; (void)events; return false; }
static uint64_t redis_tick(uint64_t now) { (void)now; return UINT64_MAX; }
static void redis_stop(void) {}
#endif

/* ---- connections: handshake, page, reads, timers -------------------------------------- */

static void busy_free(client *cl) {
    busy *b = busy_of(cl);
    if (!b) return;
    outq_free(&b->out);
    free(b->head);
    free(b->req);
    free(b->msg);
    free(b);
    extra_of(cl)->b = NULL;
}

/* Its extra part freed, when it holds nothing (it is made again when needed). */
static void tidy_extra(client *cl) {
    extra *x = extra_of(cl);
    if (!x || x->b || x->tls || x->inflate || x->rc || x->nick[0]) return;
    for (int i = 0; i < ROOMS; i++) if (x->rooms[i][0]) return;
    free(x);
    cl->ws.user = NULL;
}

static void client_free(client *cl) {
    cl->freed = true;                   /* on no list again */
    part(cl, "connection lost");
    r_forget(cl);
    heap_del(cl);
    close(cl->fd);
    busy_free(cl);
    free(rc_of(cl));
    free(inflate_of(cl));
    if (tls_of(cl)) {
        ws_tls_free(tls_of(cl));               /* mbedTLS's buffers for this connection */
        free(tls_of(cl));
    }
    free(extra_of(cl));
    memset(cl, 0, sizeof *cl);          /* the slot is free (not live) */
}

static void accept_clients(int lfd) {
    for (;;) {
        int fd = net_accept(lfd);           /* non-blocking, TCP_NODELAY */
        if (fd < 0) {
            if (!net_accept_done(errno)) perror("chat_server: accept");
            return;
        }
        client *cl = fd < CLIENT_MAX ? client_slot(fd) : NULL;  /* free: its last client
                                                                   closed this fd */
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = cl };
        if (!cl || epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            perror("chat_server: new connection");
            close(fd);
            continue;
        }
        cl->live = true;
        cl->fd = fd;
        cl->want_in = true;
        mark(cl);                           /* its handshake timer */
        int r = ws_conn_init(&cl->ws, &cfg, NULL);              /* ws.h glue: */
        if (r == WS_OK) r = ws_conn_tick(&cl->ws, now_ms());    /* the handshake clock starts */
        if (redis_on && (!need_extra(cl) || !(extra_of(cl)->rc = (rclient *)calloc(1, sizeof(rclient))))) {
            set_dead(cl);
            continue;
        }
        if (r == WS_OK && use_tls) {        /* ws.h glue (TLS): it waits for a ClientHello */
            ws_tls *t = need_extra(cl) ? (ws_tls *)malloc(sizeof *t) : NULL;
            r = t ? ws_tls_init(t, &tls_cfg, NULL, plain, sizeof plain, cl) : WS_ERR_NOSPACE;
            if (t) extra_of(cl)->tls = t;
        }
        if (r != WS_OK) { fprintf(stderr, "chat_server: %s\n", ws_strerror(r)); set_dead(cl); }
    }
}

/* A plain HTTP answer, then the connection closes. HEAD gets the head alone. */
static void http_reply(client *cl, const ws_http *req, const char *status, const char *type,
                       const char *body, size_t len) {
    char head[256];
    int n = snprintf(head, sizeof head, "HTTP/1.1 %s\r\nContent-Type: %s\r\n"
                     "Content-Length: %zu\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
                     status, type, len);
    ws_buf b[2] = { { head, (size_t)n }, { body, is(req->method, "HEAD") ? 0 : len } };
    on_send(&cl->ws, b, 2);
    cl->closing = true;
}

/* A browser page elsewhere must not join the chat as this user: Origin, when sent, must
   be this server (https://HOST over TLS, http://HOST without; https://HOST too behind a
   proxy that ended TLS and says so with X-Forwarded-Proto: https, as the nginx recipe in
   examples/README.md does: a page cannot set that header on a WebSocket). */
static bool origin_ok(const client *cl, const ws_http *req) {
    ws_str fwd = ws_http_header(req, "X-Forwarded-Proto");
    bool https = tls_of(cl) || (fwd.len == 5 && memcmp(fwd.ptr, "https", 5) == 0);
    const char *scheme = https ? "https://" : "http://";
    size_t n = strlen(scheme);
    return !req->origin.ptr ||
           (req->origin.len == req->host.len + n && memcmp(req->origin.ptr, scheme, n) == 0 &&
            memcmp(req->origin.ptr + n, req->host.ptr, req->host.len) == 0);
}

static void got_bytes(client *cl, char *data, size_t len);

/* ws.h glue: the request head, collected in a buffer that grows; then the upgrade. */
static void read_handshake(client *cl, char *data, size_t len) {
    busy *b = need_busy(cl);
    if (!b) return;
    if (!b->req) {
        if (!(b->req = (ws_http *)malloc(sizeof *b->req))) { set_dead(cl); return; }
        ws_http_init(b->req, HEAD_MAX);
    }
    size_t take = len < HEAD_MAX - b->head_len ? len : HEAD_MAX - b->head_len;
    if (b->head_len + take > b->head_cap) {
        size_t cap = b->head_cap ? b->head_cap : 1024;
        while (cap < b->head_len + take) cap *= 2;
        char *p = (char *)realloc(b->head, cap);
        if (!p) { set_dead(cl); return; }
        b->head = p;
        b->head_cap = cap;
    }
    memcpy(b->head + b->head_len, data, take);
    b->head_len += take;
    ws_http *req = b->req;
    int r = ws_http_parse_request(req, b->head, b->head_len);
    if (r == WS_HS_PARTIAL && b->head_len < HEAD_MAX) return;
    if (r == WS_HS_PARTIAL) r = WS_ERR_HS_TOO_BIG;
    bool get = r > 0 && (is(req->method, "GET") || is(req->method, "HEAD"));
    if (r == WS_HS_HTTP && get && is(req->path, "/") && page_len) {
        http_reply(cl, req, "200 OK", "text/html; charset=utf-8", page, page_len);
        return;
    }
    if (r == WS_HS_HTTP || (r == WS_HS_UPGRADE && !is(req->path, "/chat"))) {
        http_reply(cl, req, "404 Not Found", "text/plain", "not found\n", 10);
        return;
    }
    if (r == WS_HS_UPGRADE && !origin_ok(cl, req)) r = WS_ERR_HS_ORIGIN;
    if (r < 0) {
        char resp[256];
        size_t n;
        fprintf(stderr, "chat_server: fd %d: bad handshake: %s\n", cl->fd, ws_strerror(r));
        if (ws_handshake_reject(resp, sizeof resp, &n, r) != WS_OK) { set_dead(cl); return; }
        ws_buf out = { resp, n };
        on_send(&cl->ws, &out, 1);
        cl->closing = true;
        return;
    }
    /* ws.h glue (permessage-deflate): take the client's offer when there is one, always
       with server_no_context_takeover, so that one compressed event can go to every member
       (compressed()). What it compresses is inflated as it arrives, by a decoder of its
       own: sizeof(ws_inflate) (2.6 KiB on x86-64) and a window of 2^client_max_window_bits bytes, asked down to
       2^CLIENT_BITS (1 KiB) when the offer lets the server choose (Chromium's, Python
       websockets'), else 32 KiB (Firefox offers no client_max_window_bits) */
    ws_accept_opts opts = { NULL, NULL, NULL };
    ws_deflate_params pmd;
    char ext[129];                  /* the longest answer, 128 bytes, and its NUL */
    size_t ext_len = 0;
    if (deflate_on && (ws_deflate_accept(req, CLIENT_BITS, true, &pmd, ext, sizeof ext, &ext_len) == 1 ||
                       ws_deflate_accept(req, 15, true, &pmd, ext, sizeof ext, &ext_len) == 1)) {
        size_t win = (size_t)1 << pmd.client_max_window_bits;
        ws_inflate *z = need_extra(cl) ? (ws_inflate *)malloc(sizeof *z + win) : NULL;
        if (z) {
            ws_inflate_init(z, z + 1, win);
            extra_of(cl)->inflate = z;
            opts.extensions = ext;
        }
    }
    r = ws_conn_accept_opts(&cl->ws, req, &opts);
    if (r == WS_OK && opts.extensions) {
        r = ws_conn_set_inflate(&cl->ws, inflate_of(cl), pmd.client_no_context_takeover);
        extra_of(cl)->zbits = pmd.server_max_window_bits;
    }
    if (r != WS_OK) {
        fprintf(stderr, "chat_server: fd %d: %s\n", cl->fd, ws_strerror(r));
        set_dead(cl);
        return;
    }
    cl->upgraded = true;
    if (redis_on) r_welcome(cl);        /* after Redis gave it a name no process has */
    else {
        cl->in_chat = true;
        /* a guest- name no one has: only the server gives them (handle()), one each */
        cl->guest = ++guests;
        welcome(cl);
    }
    if (b->head_len > req->size)               /* frames sent right behind the request */
        got_bytes(cl, b->head + req->size, b->head_len - req->size);
    free(b->head);
    free(b->req);
    b->head = NULL;
    b->req = NULL;
    b->head_len = b->head_cap = 0;
    if (take < len) got_bytes(cl, data + take, len - take);
}

static void welcome(client *cl) {
    begin("welcome", NULL);
    puts_(",\"data\":{\"nick\":");
    put_str(nick_of(cl), strlen(nick_of(cl)));
    puts_(",\"ping_interval\":");
    put_num(opt.ping_interval);
    puts_(",\"ping_timeout\":");
    put_num(opt.ping_timeout);
    puts_("}");
    printf("chat_server: %s connected\n", nick_of(cl));      /* logged before it is told */
    if (seal()) send_frame(cl);
}

/* What the client sent (over TLS: once decrypted): the handshake, then frames. */
static void got_bytes(client *cl, char *data, size_t len) {
    if (cl->closing || cl->dead) return;            /* done: discard */
    if (!cl->upgraded) { read_handshake(cl, data, len); return; }
    int r = ws_conn_feed(&cl->ws, data, len);      /* ws.h glue: on_message */
    if (r == WS_OK) r = ws_conn_tick(&cl->ws, now_ms());    /* times the activity now */
    if (r != WS_OK) fprintf(stderr, "chat_server: %s: %s\n", nick_of(cl), ws_strerror(r));
}

/* ws.h glue (TLS): what the records held, decrypted into plain[]. */
static void on_tls_data(ws_tls *t, void *data, size_t len) {
    got_bytes((client *)t->user, (char *)data, len);
}

static void read_client(client *cl) {
    mark(cl);
    ssize_t n = recv(cl->fd, readbuf, sizeof readbuf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    if (n <= 0) {                   /* EOF or reset: on_close tells the rooms, if it was open */
        ws_conn_eof(&cl->ws);       /* ws.h glue: FAILED (1006) unless the close was done */
        set_dead(cl);
        return;
    }
    if (cl->closing) return;                        /* done: discard */
    if (!tls_of(cl)) { got_bytes(cl, readbuf, (size_t)n); return; }
    int r = ws_tls_feed(tls_of(cl), readbuf, (size_t)n);      /* ws.h glue (TLS): on_tls_data */
    write_queue(cl);                /* what the TLS handshake answered (on_send writes its own) */
    if (r == WS_ERR_EOF) {                          /* close_notify: TLS is over */
        ws_conn_eof(&cl->ws);
        cl->closing = true;
    } else if (r != WS_OK) {        /* not TLS, a bad record, an alert: the alert goes out */
        fprintf(stderr, "chat_server: fd %d: TLS: %s\n", cl->fd, ws_tls_why(tls_of(cl)));
        cl->closing = true;
    }
}

/* After anything happened to a client: once the WebSocket is over, send what is queued,
   then FIN, and wait (CLOSE_MS at most) for the client's. */
static void settle(client *cl) {
    ws_state s = ws_conn_state(&cl->ws);
    if (cl->dead) return;
    if (s == WS_STATE_CLOSED || s == WS_STATE_FAILED) cl->closing = true;
    if (!cl->closing) return;
    if (!need_busy(cl)) return;             /* it holds the time to give up at */
    if (!busy_of(cl)->close_by) busy_of(cl)->close_by = now_ms() + CLOSE_MS;
    if (tls_of(cl) && !cl->tls_closed) {
        cl->tls_closed = true;
        if (ws_tls_ready(tls_of(cl)) && ws_tls_close(tls_of(cl)) == WS_OK)   /* ws.h glue (TLS): */
            write_queue(cl);                                            /* close_notify */
    }
    if (!unsent(cl) && !cl->fin_sent) {
        shutdown(cl->fd, SHUT_WR);      /* the server closes TCP first (RFC 6455 7.1.1) */
        cl->fin_sent = true;
    }
}

/* The clients marked this pass (mark): each settled, then freed if it is dead, else its
   busy part freed if it holds nothing, and its timer put where it now is. Kicks the slow
   ones first: what they cause (leave notices) marks others, which come after. */
static void run_todo(void) {
    for (;;) {
        kick_slow();
        client *cl = todo;
        if (!cl) break;
        todo = cl->todo ? client_of((int)cl->todo - 1) : NULL;
        cl->listed = false;
        settle(cl);
        if (cl->dead && cl->listed) continue;   /* it died settling and was marked again: */
        if (cl->dead) { client_free(cl); continue; }    /* freed when it comes round */
        busy *b = busy_of(cl);
        if (b && !b->head && !b->req && !b->msg && !outq_pending(&b->out) && !cl->closing)
            busy_free(cl);
        tidy_extra(cl);
        b = busy_of(cl);
        uint64_t due = b && b->close_by ? b->close_by : ws_conn_deadline(&cl->ws);
        if (!heap_set(cl, due)) set_dead(cl);          /* out of memory: comes round again */
    }
}

/* Runs the timers that are due (pings, timeouts); returns the epoll timeout to the next. */
static int run_timers(void) {
    uint64_t now = now_ms(), next = UINT64_MAX;
    while (heap_n && heap[1].due <= now) {
        client *cl = heap[1].cl;
        heap_del(cl);                   /* run_todo puts it back where it is due next */
        mark(cl);
        if (busy_of(cl) && busy_of(cl)->close_by) { set_dead(cl); continue; }
        int r = ws_conn_tick(&cl->ws, now);        /* ws.h glue: pings, timeouts */
        if (r == WS_ERR_TIMEOUT) set_dead(cl);     /* gone: on_close told its rooms */
        else if (r != WS_OK) fprintf(stderr, "chat_server: %s: %s\n", nick_of(cl), ws_strerror(r));
    }
    run_todo();
    if (heap_n) next = heap[1].due;
    uint64_t rdue = redis_tick(now_ms());       /* --redis: heartbeat, reconnection */
    if (rdue < next) next = rdue;
    if (next == UINT64_MAX) return -1;
    now = now_ms();
    return next <= now ? 0 : next - now > 60000 ? 60000 : (int)(next - now);
}

static const char usage[] =
    "usage: chat_server [options] [PORT]\n"
    "  Chat rooms on http://127.0.0.1:PORT/ (the page) and ws://127.0.0.1:PORT/chat (the JSON\n"
    "  protocol, for any WebSocket client). PORT: 0-65535, default 8080 (0: any free port).\n"
    "  --ping-interval MS   ping a client after this much silence (25000; 0: no pings and\n"
    "                       no timeout)\n"
    "  --ping-timeout MS    drop a client silent this much longer after the ping (20000)\n"
    "  --queue-limit BYTES  output waiting for one client; more is closed with 1008\n"
    "                       \"too slow\" (262144; 1024 or more)\n"
    "  --max-message BYTES  the largest request; larger: close 1009 (65536; 256 or more)\n"
    "  --page FILE          the page served at / (examples/chat.html)\n"
    "  --cert FILE          the server's certificate chain (PEM or DER): serve https and\n"
    "                       wss instead of http and ws\n"
    "  --key FILE           its private key (PEM or DER, not encrypted)\n"
    "  --redis HOST:PORT    share rooms, names and members with every chat_server using\n"
    "                       this Redis (behind a load balancer: examples/README.md);\n"
    "                       exits 1 if it cannot reach it at start\n"
    "  --no-deflate         decline permessage-deflate (default: agreed when a client\n"
    "                       offers it, as browsers do)\n"
    "  --redis-ttl MS       a process that stops sending heartbeats (every quarter of this)\n"
    "                       is dropped from the rooms within 5/4 of this (5000)\n"
    "  --help               this text\n";

/* One line: what was wrong with the command line; exits with status 2. */
static void bad_usage(const char *what, const char *arg, const char *want) {
    fprintf(stderr, "chat_server: %s%s%s%s: %s (chat_server --help lists the options)\n", what,
            arg ? " '" : "", arg ? arg : "", arg ? "'" : "", want);
    exit(2);
}

static long number(const char *name, const char *arg, long min, long max) {
    char *end = NULL, want[64];
    if (!arg) bad_usage("a value is missing after", name, "want a number");     /* exits */
    long v = strtol(arg, &end, 10);
    if (*end || end == arg || v < min || v > max) {
        snprintf(want, sizeof want, "want a number %ld-%ld", min, max);
        bad_usage(name, arg, want);
    }
    return v;
}

int main(int argc, char **argv) {
    long port = 8080;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        }
        if (strcmp(a, "--no-deflate") == 0) { deflate_on = false; continue; }
        if (strcmp(a, "--ping-interval") == 0) opt.ping_interval = number(a, v, 0, 3600000), i++;
        else if (strcmp(a, "--ping-timeout") == 0) opt.ping_timeout = number(a, v, 0, 3600000), i++;
        else if (strcmp(a, "--queue-limit") == 0)
            opt.queue_limit = number(a, v, 1024, 1L << 30), i++;
        else if (strcmp(a, "--max-message") == 0)
            opt.max_message = number(a, v, 256, 16L << 20), i++;
        else if (strcmp(a, "--page") == 0 && v) opt.page = v, i++;
        else if (strcmp(a, "--redis") == 0 && v && !REDIS_BUILT)
            bad_usage(a, NULL, "this chat_server was built without hiredis (apt-get install "
                               "libhiredis-dev, then make examples)");
        else if (strcmp(a, "--redis") == 0 && v) opt.redis = v, i++;
        else if (strcmp(a, "--redis-ttl") == 0) opt.redis_ttl = number(a, v, 300, 3600000), i++;
        else if ((strcmp(a, "--cert") == 0 || strcmp(a, "--key") == 0) && v && !TLS_BUILT)
            bad_usage(a, NULL, TLS_MISSING);
        else if (strcmp(a, "--cert") == 0 && v) opt.cert = v, i++;
        else if (strcmp(a, "--key") == 0 && v) opt.key = v, i++;
        else if (strcmp(a, "--page") == 0 || strcmp(a, "--cert") == 0 || strcmp(a, "--key") == 0)
            bad_usage("a value is missing after", a, "want a FILE");
        else if (strcmp(a, "--redis") == 0)
            bad_usage("a value is missing after", a, "want HOST:PORT");
        else if (a[0] == '-' && !(a[1] >= '0' && a[1] <= '9'))
            bad_usage("unknown option", a, "not one of chat_server's");
        else if (i == argc - 1) port = number("port", a, 0, 65535);
        else bad_usage("unexpected argument", a, "the PORT comes last, after the options");
    }
    if (!opt.cert != !opt.key)
        bad_usage(opt.cert ? "--cert without --key" : "--key without --cert", NULL,
                  "give both: --cert FILE --key FILE");
    if (opt.cert) {                     /* ws.h glue (TLS): the settings of every connection */
        tls_cfg.send = on_tls_send;
        tls_cfg.on_data = on_tls_data;
        if (tls_server_files("chat_server", &tls_cfg, opt.cert, opt.key) != 0) return 2;
        use_tls = true;
    }
    FILE *f = fopen(opt.page, "rb");
    if (f) {
        page_len = fread(page, 1, sizeof page, f);
        if (ferror(f) || !feof(f)) page_len = 0;        /* unreadable, or too big */
        fclose(f);
    }
    if (!page_len)
        fprintf(stderr, "chat_server: cannot read %s (at most %d bytes): GET / will answer 404\n",
                opt.page, PAGE_MAX);

    json_cap = (size_t)opt.max_message + 4096;  /* escaped text is never longer than it came */
    text = (char *)malloc((size_t)opt.max_message);
    json = (char *)malloc(json_cap);
    frame = (char *)malloc(json_cap + 14);
    zdata_cap = ws_deflate_bound(json_cap);
    zdata = (uint8_t *)malloc(zdata_cap);
    if (!text || !json || !frame || !zdata) { perror("chat_server: malloc"); return 1; }

    cfg.send = on_send;                 /* ws.h glue: the settings every connection shares */
    cfg.on_begin = on_begin;            /* whole messages gathered by on_data */
    cfg.on_data = on_data;
    cfg.on_end = on_end;
    cfg.on_close = on_close;
    cfg.max_message_size = (uint64_t)opt.max_message;
    cfg.handshake_timeout_ms = 10000;
    cfg.close_timeout_ms = CLOSE_MS;
    cfg.ping_interval_ms = (uint32_t)opt.ping_interval;
    /* ws.h counts from the last byte received; the ping went out ping_interval after it */
    cfg.timeout_ms = opt.ping_interval ? (uint32_t)(opt.ping_interval + opt.ping_timeout) : 0;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = on_signal;          /* no SA_RESTART: epoll_wait returns EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    unsigned bound;
    struct epoll_event lev = { .events = EPOLLIN, .data.ptr = NULL };
    int lfd = net_listen("chat_server", port, &bound);
    if (lfd < 0) {
        if (errno == EADDRINUSE)
            fprintf(stderr, "chat_server: another port: ./build/chat_server 9000, or "
                            "RUN_PORT=9000 make run\n");
        return 1;
    }
    if ((epfd = epoll_create1(0)) < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev) != 0) {
        perror("chat_server: epoll");
        return 1;
    }
#ifdef CHAT_REDIS
    rttl = opt.redis_ttl;
    if (opt.redis) redis_start(opt.redis);      /* exits 1 if Redis is not there */
#endif
    printf("chat_server: listening on %s://127.0.0.1:%u/ (WebSocket: %s://127.0.0.1:%u/chat)\n",
           use_tls ? "https" : "http", bound, use_tls ? "wss" : "ws", bound);
    fflush(stdout);
    setvbuf(stdout, NULL, _IOLBF, 0);

    while (!stop) {
        struct epoll_event evs[64];
        int n = epoll_wait(epfd, evs, 64, run_timers());
        if (n < 0 && errno != EINTR) { perror("chat_server: epoll_wait"); break; }
        for (int i = 0; i < n; i++) {
            client *cl = (client *)evs[i].data.ptr;
            if (!cl) { accept_clients(lfd); continue; }
            if (redis_event(cl, evs[i].events)) continue;      /* a Redis link */
            if (cl->dead) continue;
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) read_client(cl);
            if (evs[i].events & EPOLLOUT) write_queue(cl);
        }
        run_todo();                     /* only the clients touched by this pass */
    }

    printf("chat_server: shutting down\n");
    if (z_frames)
        printf("chat_server: permessage-deflate: %llu frames sent compressed, %llu bytes "
               "(%llu uncompressed)\n", z_frames, z_bytes, z_plain);
    for (client *cl = next_client(NULL); cl; cl = next_client(cl)) {     /* best effort: a
                                                                           close frame each */
        cl->in_chat = false;            /* no leave notices to people about to go too */
        if (cl->upgraded && ws_conn_state(&cl->ws) == WS_STATE_OPEN &&
            ws_conn_close(&cl->ws, WS_CLOSE_GOING_AWAY, "server shutting down", 20) != WS_OK)
            fprintf(stderr, "chat_server: %s: cannot send close\n", nick_of(cl));
    }
    redis_stop();                       /* --redis: its members leave the other processes */
    while (next_client(NULL)) client_free(next_client(NULL));
    ws_tls_config_free(&tls_cfg);
    close(lfd);
    close(epfd);
    return 0;
}
