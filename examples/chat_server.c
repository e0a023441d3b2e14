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
     - whole messages (ws_conn_set_buffer; over --max-message bytes: close 1009) read by a
       small JSON scanner that answers anything it does not expect with an error event;
     - with --cert and --key, the page over https and the chat over wss on the same port
       (ws.h's TLS layer under the same code).

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
            --queue-limit BYTES (262144)   --max-message BYTES (65536)
            --page FILE (examples/chat.html, served at /)
            --cert FILE --key FILE (https://, wss://; built with TLS when mbedTLS is there)
   Ctrl-C (or SIGTERM) sends close 1001 to everyone and exits 0.

   PROTOCOL: one JSON object per text message: {"event":E,"room":R,"data":D,"id":N}, where
   E, R and D are strings and N a whole number 0-999999999; only "event" is always needed.
   A request with an id is answered {"event":"ack","id":N} when it succeeded. A failed one
   is answered {"event":"error","id":N,"data":"why"} (no "id" if it had none).
   Client to server:
     nick       data: the new name: 1-24 bytes of letters, digits, - _ . or non-ASCII
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
#include "ws.h"
#include "outq.h"
#include "net.h"
#include "tls.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>

enum { READ_SIZE = 64 * 1024, HEAD_MAX = 8192, PAGE_MAX = 256 * 1024, CLOSE_MS = 5000,
       NAME_LEN = 24, ROOMS = 8, LIST_MAX = 100 };

typedef struct client {
    struct client *prev, *next;
    int      fd;
    uint32_t events;                    /* what epoll watches for now */
    ws_conn  ws;
    bool     upgraded, in_chat;         /* handshake done; welcomed and not yet parted */
    bool     too_slow, kicked;          /* queue over the limit; close 1008 sent */
    bool     closing, fin_sent, dead;   /* send what is queued then close; close now */
    uint64_t close_by;
    char    *head;                      /* the request head, during the handshake only */
    size_t   head_len, head_cap;
    ws_http *req;
    char    *msg;                       /* whole-message buffer, --max-message bytes */
    outq     out;                       /* what the kernel did not take yet (outq.h) */
    ws_tls  *tls;                       /* with --cert: TLS under it all; NULL: plain */
    bool     tls_closed;                /* close_notify sent */
    char     nick[NAME_LEN + 1];
    char     rooms[ROOMS][NAME_LEN + 1];    /* "" = free slot */
} client;

typedef struct request {
    ws_str event, room, data;
    long   id;                          /* -1: none */
} request;

static struct {
    long ping_interval, ping_timeout, queue_limit, max_message;
    const char *page, *cert, *key;
} opt = { 25000, 20000, 256 * 1024, 64 * 1024, "examples/chat.html", NULL, NULL };
static volatile sig_atomic_t stop;
static client   *clients;
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

static void on_signal(int sig) { (void)sig; stop = 1; }

static bool is(ws_str s, const char *lit) {
    return s.len == strlen(lit) && memcmp(s.ptr, lit, s.len) == 0;
}

/* ---- output: non-blocking writes, the rest queued, the queue bounded ------------------ */

static void watch(client *cl, uint32_t events) {
    struct epoll_event ev = { .events = events, .data.ptr = cl };
    if (cl->events == events) return;
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, cl->fd, &ev) != 0) {
        perror("chat_server: epoll_ctl");
        cl->dead = true;
    }
    cl->events = events;
}

/* Sends what waits (at most one send()), then watches for EPOLLOUT while some still does. */
static void write_queue(client *cl) {
    if (!cl->dead && outq_flush(&cl->out, cl->fd) != 0) cl->dead = true;
    if (!cl->dead) watch(cl, outq_pending(&cl->out) ? EPOLLIN | EPOLLOUT : EPOLLIN);
}

/* ---- ws.h glue: the send callback --------------------------------------------------------- */

/* ws.h hands over one whole frame (or the 101 response) per call. It joins the queue (with
   TLS: encrypted first, ws_tls_send giving the records to on_tls_send) and is written at
   once: the queue keeps only what the kernel did not take. A frame that would take the
   queue past --queue-limit is dropped whole, and the client closed with 1008 "too slow" by
   kick_slow(), out of this call. */
static int on_send(ws_conn *c, const ws_buf *bufs, size_t n) {
    client *cl = (client *)c->user;
    size_t total = 0;
    if (cl->dead || (cl->too_slow && !cl->kicked)) return 0;            /* dropped whole */
    for (size_t i = 0; i < n; i++) total += bufs[i].len;
    size_t limit = (size_t)opt.queue_limit, queued = outq_pending(&cl->out);
    if (cl->upgraded && !cl->kicked && (queued > limit || total > limit - queued)) {
        cl->too_slow = slow_pending = true;
        return 0;
    }
    if ((cl->tls ? ws_tls_send(cl->tls, bufs, n) : outq_push_bufs(&cl->out, bufs, n)) != 0) {
        cl->dead = true;                    /* out of memory, or no room for its close */
        return 0;
    }
    write_queue(cl);
    return 0;
}

/* ws.h glue (TLS): the records of what on_send gave ws_tls_send. The queue's own limit
   leaves room for what TLS adds to the frame on_send let through. */
static int on_tls_send(ws_tls *t, const void *data, size_t len) {
    client *cl = (client *)t->user;
    return outq_push(&cl->out, data, len);
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
static bool seal(void) {                /* closes the object and encodes the frame */
    puts_("}");
    return json_len < json_cap && ws_frame_encode(frame, json_cap + 14, &frame_len, true,
                                                  WS_OP_TEXT, json, json_len, NULL) == WS_OK;
}
static void send_frame(client *to) {    /* the same bytes to each recipient */
    if (!to->in_chat || ws_conn_state(&to->ws) != WS_STATE_OPEN) return;
    int r = ws_conn_send_raw(&to->ws, frame, frame_len);
    if (r != WS_OK) fprintf(stderr, "chat_server: fd %d: send: %s\n", to->fd, ws_strerror(r));
}

static int room_slot(const client *cl, const char *room) {
    for (int i = 0; i < ROOMS; i++) if (strcmp(cl->rooms[i], room) == 0) return i;
    return -1;
}
static void to_room(const char *room, const client *except) {
    for (client *m = clients; m; m = m->next)
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
    for (client *m = clients; m; m = m->next) {
        if (!m->in_chat || room_slot(m, room) < 0) continue;
        if (count < LIST_MAX) { if (count) puts_(","); put_str(m->nick, strlen(m->nick)); }
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
    put_str(who->nick, strlen(who->nick));
    if (key) { puts_(",\""); puts_(key); puts_("\":"); put_str(value, strlen(value)); }
    puts_("}");
    if (seal()) to_room(room, who);
}

static void leave(client *cl, int slot, const char *why) {
    char room[NAME_LEN + 1];
    memcpy(room, cl->rooms[slot], sizeof room);
    cl->rooms[slot][0] = '\0';
    notice("left", room, cl, "why", why);
    send_members(room);
}

/* The client is out of the chat: every room it was in hears why, once. */
static void part(client *cl, const char *why) {
    if (!cl->in_chat) return;
    for (int i = 0; i < ROOMS; i++) if (cl->rooms[i][0]) leave(cl, i, why);
    cl->in_chat = false;
    printf("chat_server: %s left: %s\n", cl->nick, why);
}

/* Queue over the limit: the whole frames queued stay (the client gets them if it ever
   reads), the close 1008 "too slow" follows them, and the others hear why. */
static void kick_slow(void) {
    while (slow_pending) {
        slow_pending = false;
        for (client *cl = clients; cl; cl = cl->next) {
            if (!cl->too_slow || cl->kicked) continue;
            cl->kicked = true;
            cl->out.limit += 256;               /* room for the close frame */
            int r = ws_conn_close(&cl->ws, WS_CLOSE_POLICY, "too slow", 8);
            if (r != WS_OK) cl->dead = true;
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
    for (client *m = clients; m; m = m->next)
        if (m != self && m->in_chat && strcmp(m->nick, nick) == 0) return true;
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
    if (is(rq->event, "ping")) { reply(cl, "pong", rq->id, NULL); return NULL; }
    if (is(rq->event, "nick")) {
        if (!rq->data.ptr || !valid_name(rq->data))
            return "nick: 1-24 letters, digits, - _ . or non-ASCII";
        memcpy(was, cl->nick, sizeof was);
        memcpy(cl->nick, rq->data.ptr, rq->data.len);
        cl->nick[rq->data.len] = '\0';
        if (nick_taken(cl->nick, cl)) { memcpy(cl->nick, was, sizeof was); return "nick taken"; }
        for (int i = 0; i < ROOMS; i++) {
            if (!cl->rooms[i][0]) continue;
            notice("renamed", cl->rooms[i], cl, "was", was);
            send_members(cl->rooms[i]);
        }
    } else if (is(rq->event, "join")) {
        if (!room[0]) return "join: which room?";
        if (slot < 0) {
            if ((slot = room_slot(cl, "")) < 0) return "in too many rooms";
            memcpy(cl->rooms[slot], room, sizeof room);
            notice("joined", room, cl, NULL, NULL);
            send_frame(cl);                         /* the joiner sees it too */
            send_members(room);
        }
    } else if (is(rq->event, "leave")) {
        if (slot < 0) return "not in that room";
        leave(cl, slot, "left");
    } else if (is(rq->event, "message") || is(rq->event, "broadcast")) {
        bool all = is(rq->event, "broadcast");
        if (!all && slot < 0) return "join the room first";
        if (!rq->data.ptr || rq->data.len == 0) return "nothing to send";
        begin(all ? "broadcast" : "message", all ? NULL : room);
        puts_(",\"data\":{\"from\":");
        put_str(cl->nick, strlen(cl->nick));
        puts_(",\"text\":");
        put_str(rq->data.ptr, rq->data.len);
        puts_("}");
        if (!seal()) return "message too long";
        if (all) { for (client *m = clients; m; m = m->next) if (m != cl) send_frame(m); }
        else to_room(room, cl);
    } else {
        return "unknown event";
    }
    if (rq->id >= 0) reply(cl, "ack", rq->id, NULL);
    return NULL;
}

/* ---- ws.h glue: a whole message in, and the end of a connection --------------------------- */

static void on_message(ws_conn *c, ws_opcode op, const void *data, size_t len) {
    client *cl = (client *)c->user;
    request rq;
    const char *err;
    if (!cl->in_chat) return;                   /* on its way out */
    err = op != WS_OP_TEXT ? "send JSON text, not binary" : parse((const char *)data, len, &rq);
    if (!err) err = handle(cl, &rq);
    if (err) reply(cl, "error", op == WS_OP_TEXT ? rq.id : -1, err);
}

static void on_close(ws_conn *c, unsigned code, const char *reason, size_t len) {
    client *cl = (client *)c->user;
    char why[64];
    (void)code;
    if (ws_conn_state(c) == WS_STATE_FAILED && len > 0)  /* we failed it: ws.h says why */
        snprintf(why, sizeof why, "%.*s", (int)len, reason);
    else
        snprintf(why, sizeof why, "closed");
    part(cl, why);
}

/* ---- connections: handshake, page, reads, timers -------------------------------------- */

static void client_free(client *cl) {
    part(cl, "connection lost");
    if (cl->prev) cl->prev->next = cl->next; else clients = cl->next;
    if (cl->next) cl->next->prev = cl->prev;
    close(cl->fd);
    outq_free(&cl->out);
    free(cl->head);
    free(cl->req);
    free(cl->msg);
    if (cl->tls) {
        ws_tls_free(cl->tls);               /* mbedTLS's buffers for this connection */
        free(cl->tls);
    }
    free(cl);
}

static void accept_clients(int lfd) {
    for (;;) {
        int fd = net_accept(lfd);           /* non-blocking, TCP_NODELAY */
        if (fd < 0) {
            if (!net_accept_done(errno)) perror("chat_server: accept");
            return;
        }
        client *cl = (client *)calloc(1, sizeof *cl);
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = cl };
        if (!cl || epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            perror("chat_server: new connection");
            free(cl);
            close(fd);
            continue;
        }
        cl->fd = fd;
        cl->events = EPOLLIN;
        cl->next = clients;
        if (clients) clients->prev = cl;
        clients = cl;
        cl->out.limit = PAGE_MAX + 4096;    /* the page; --queue-limit once upgraded */
        int r = ws_conn_init(&cl->ws, &cfg, cl);                /* ws.h glue: */
        if (r == WS_OK) r = ws_conn_tick(&cl->ws, now_ms());    /* the handshake clock starts */
        if (r == WS_OK && use_tls) {        /* ws.h glue (TLS): it waits for a ClientHello */
            cl->tls = (ws_tls *)malloc(sizeof *cl->tls);
            r = cl->tls ? ws_tls_init(cl->tls, &tls_cfg, NULL, plain, sizeof plain, cl)
                        : WS_ERR_NOSPACE;
        }
        if (r != WS_OK) { fprintf(stderr, "chat_server: %s\n", ws_strerror(r)); cl->dead = true; }
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
   be this server (https://HOST over TLS, http://HOST without). */
static bool origin_ok(const client *cl, const ws_http *req) {
    const char *scheme = cl->tls ? "https://" : "http://";
    size_t n = strlen(scheme);
    return !req->origin.ptr ||
           (req->origin.len == req->host.len + n && memcmp(req->origin.ptr, scheme, n) == 0 &&
            memcmp(req->origin.ptr + n, req->host.ptr, req->host.len) == 0);
}

static void got_bytes(client *cl, char *data, size_t len);

/* ws.h glue: the request head, collected in a buffer that grows; then the upgrade. */
static void read_handshake(client *cl, char *data, size_t len) {
    if (!cl->req) {
        if (!(cl->req = (ws_http *)malloc(sizeof *cl->req))) { cl->dead = true; return; }
        ws_http_init(cl->req, HEAD_MAX);
    }
    size_t take = len < HEAD_MAX - cl->head_len ? len : HEAD_MAX - cl->head_len;
    if (cl->head_len + take > cl->head_cap) {
        size_t cap = cl->head_cap ? cl->head_cap : 1024;
        while (cap < cl->head_len + take) cap *= 2;
        char *p = (char *)realloc(cl->head, cap);
        if (!p) { cl->dead = true; return; }
        cl->head = p;
        cl->head_cap = cap;
    }
    memcpy(cl->head + cl->head_len, data, take);
    cl->head_len += take;
    ws_http *req = cl->req;
    int r = ws_http_parse_request(req, cl->head, cl->head_len);
    if (r == WS_HS_PARTIAL && cl->head_len < HEAD_MAX) return;
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
        if (ws_handshake_reject(resp, sizeof resp, &n, r) != WS_OK) { cl->dead = true; return; }
        ws_buf b = { resp, n };
        on_send(&cl->ws, &b, 1);
        cl->closing = true;
        return;
    }
    if (!(cl->msg = (char *)malloc((size_t)opt.max_message))) { cl->dead = true; return; }
    /* --queue-limit, checked by on_send; with TLS the queue itself holds a little more:
       what TLS adds to the frames let through (29 bytes or so per record) */
    cl->out.limit = (size_t)opt.queue_limit + (cl->tls ? (size_t)opt.queue_limit / 64 + 4096 : 0);
    r = ws_conn_set_buffer(&cl->ws, cl->msg, (size_t)opt.max_message);    /* whole messages */
    if (r == WS_OK) r = ws_conn_accept(&cl->ws, req, NULL);
    if (r != WS_OK) {
        fprintf(stderr, "chat_server: fd %d: %s\n", cl->fd, ws_strerror(r));
        cl->dead = true;
        return;
    }
    cl->upgraded = cl->in_chat = true;
    do snprintf(cl->nick, sizeof cl->nick, "guest-%u", ++guests); while (nick_taken(cl->nick, cl));
    begin("welcome", NULL);
    puts_(",\"data\":{\"nick\":");
    put_str(cl->nick, strlen(cl->nick));
    puts_(",\"ping_interval\":");
    put_num(opt.ping_interval);
    puts_(",\"ping_timeout\":");
    put_num(opt.ping_timeout);
    puts_("}");
    if (seal()) send_frame(cl);
    printf("chat_server: %s connected\n", cl->nick);
    if (cl->head_len > req->size)               /* frames sent right behind the request */
        got_bytes(cl, cl->head + req->size, cl->head_len - req->size);
    free(cl->head);
    free(cl->req);
    cl->head = NULL;
    cl->req = NULL;
    if (take < len) got_bytes(cl, data + take, len - take);
}

/* What the client sent (over TLS: once decrypted): the handshake, then frames. */
static void got_bytes(client *cl, char *data, size_t len) {
    if (cl->closing || cl->dead) return;            /* done: discard */
    if (!cl->upgraded) { read_handshake(cl, data, len); return; }
    int r = ws_conn_feed(&cl->ws, data, len);      /* ws.h glue: on_message */
    if (r == WS_OK) r = ws_conn_tick(&cl->ws, now_ms());    /* times the activity now */
    if (r != WS_OK) fprintf(stderr, "chat_server: %s: %s\n", cl->nick, ws_strerror(r));
}

/* ws.h glue (TLS): what the records held, decrypted into plain[]. */
static void on_tls_data(ws_tls *t, void *data, size_t len) {
    got_bytes((client *)t->user, (char *)data, len);
}

static void read_client(client *cl) {
    ssize_t n = recv(cl->fd, readbuf, sizeof readbuf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    if (n <= 0) {                   /* EOF or reset: on_close tells the rooms, if it was open */
        ws_conn_eof(&cl->ws);       /* ws.h glue: FAILED (1006) unless the close was done */
        cl->dead = true;
        return;
    }
    if (cl->closing) return;                        /* done: discard */
    if (!cl->tls) { got_bytes(cl, readbuf, (size_t)n); return; }
    int r = ws_tls_feed(cl->tls, readbuf, (size_t)n);      /* ws.h glue (TLS): on_tls_data */
    write_queue(cl);                /* what the TLS handshake answered (on_send writes its own) */
    if (r == WS_ERR_EOF) {                          /* close_notify: TLS is over */
        ws_conn_eof(&cl->ws);
        cl->closing = true;
    } else if (r != WS_OK) {        /* not TLS, a bad record, an alert: the alert goes out */
        fprintf(stderr, "chat_server: fd %d: TLS: %s\n", cl->fd, ws_tls_why(cl->tls));
        cl->closing = true;
    }
}

/* After anything happened to a client: once the WebSocket is over, send what is queued,
   then FIN, and wait (CLOSE_MS at most) for the client's. */
static void settle(client *cl) {
    ws_state s = ws_conn_state(&cl->ws);
    if (cl->dead) return;
    if (s == WS_STATE_CLOSED || s == WS_STATE_FAILED) cl->closing = true;
    if (cl->closing && !cl->close_by) cl->close_by = now_ms() + CLOSE_MS;
    if (cl->closing && cl->tls && !cl->tls_closed) {
        cl->tls_closed = true;
        if (ws_tls_ready(cl->tls) && ws_tls_close(cl->tls) == WS_OK)   /* ws.h glue (TLS): */
            write_queue(cl);                                            /* close_notify */
    }
    if (cl->closing && !outq_pending(&cl->out) && !cl->fin_sent) {
        shutdown(cl->fd, SHUT_WR);      /* the server closes TCP first (RFC 6455 7.1.1) */
        cl->fin_sent = true;
    }
}

/* Runs the timers that are due (pings, timeouts); returns the epoll timeout to the next. */
static int run_timers(void) {
    uint64_t now = now_ms(), next = UINT64_MAX;
    for (client *cl = clients; cl; cl = cl->next) {
        uint64_t due = cl->close_by ? cl->close_by : ws_conn_deadline(&cl->ws);
        if (due > now || cl->dead) { if (due < next) next = due; continue; }
        if (cl->close_by) { cl->dead = true; continue; }
        int r = ws_conn_tick(&cl->ws, now);        /* ws.h glue: pings, timeouts */
        if (r == WS_ERR_TIMEOUT) cl->dead = true;  /* gone: on_close told its rooms */
        else if (r != WS_OK) fprintf(stderr, "chat_server: %s: %s\n", cl->nick, ws_strerror(r));
        settle(cl);
        due = cl->close_by ? cl->close_by : ws_conn_deadline(&cl->ws);
        if (due < next) next = due;
    }
    do {                                /* a leave notice can push others over the limit */
        kick_slow();
        for (client *cl = clients, *nx; cl; cl = nx) {
            nx = cl->next;
            if (cl->dead) client_free(cl);
        }
    } while (slow_pending);
    if (next == UINT64_MAX) return -1;
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
        if (strcmp(a, "--ping-interval") == 0) opt.ping_interval = number(a, v, 0, 3600000), i++;
        else if (strcmp(a, "--ping-timeout") == 0) opt.ping_timeout = number(a, v, 0, 3600000), i++;
        else if (strcmp(a, "--queue-limit") == 0)
            opt.queue_limit = number(a, v, 1024, 1L << 30), i++;
        else if (strcmp(a, "--max-message") == 0)
            opt.max_message = number(a, v, 256, 16L << 20), i++;
        else if (strcmp(a, "--page") == 0 && v) opt.page = v, i++;
        else if ((strcmp(a, "--cert") == 0 || strcmp(a, "--key") == 0) && v && !TLS_BUILT)
            bad_usage(a, NULL, TLS_MISSING);
        else if (strcmp(a, "--cert") == 0 && v) opt.cert = v, i++;
        else if (strcmp(a, "--key") == 0 && v) opt.key = v, i++;
        else if (strcmp(a, "--page") == 0 || strcmp(a, "--cert") == 0 || strcmp(a, "--key") == 0)
            bad_usage("a value is missing after", a, "want a FILE");
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
    if (!text || !json || !frame) { perror("chat_server: malloc"); return 1; }

    cfg.send = on_send;                 /* ws.h glue: the settings every connection shares */
    cfg.on_message = on_message;
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
            if (cl->dead) continue;
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) read_client(cl);
            if (evs[i].events & EPOLLOUT) write_queue(cl);
        }
        kick_slow();
        for (client *cl = clients; cl; cl = cl->next) settle(cl);
    }

    printf("chat_server: shutting down\n");
    for (client *cl = clients; cl; cl = cl->next) {     /* best effort: a close frame each */
        cl->in_chat = false;            /* no leave notices to people about to go too */
        if (cl->upgraded && ws_conn_state(&cl->ws) == WS_STATE_OPEN &&
            ws_conn_close(&cl->ws, WS_CLOSE_GOING_AWAY, "server shutting down", 20) != WS_OK)
            fprintf(stderr, "chat_server: %s: cannot send close\n", cl->nick);
    }
    while (clients) client_free(clients);
    ws_tls_config_free(&tls_cfg);
    close(lfd);
    close(epfd);
    return 0;
}
