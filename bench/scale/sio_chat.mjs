// bench/scale/sio_chat.mjs - the chat's room events on socket.io with its Redis adapter, the
// peer of `chat_server --redis` in bench/scale/run.sh (the seeds' stack: npm socket.io,
// @socket.io/redis-adapter, redis).
//   node bench/scale/sio_chat.mjs PORT REDIS_PORT
// Events as in examples/chat_server.c's protocol, with socket.io's acks: join {room},
// message {room, data} (to the room's other members, on every process, as
// {"room","data":{"from","text"}}), broadcast {data}; each answered through its ack
// callback. Prints "listening" when the Redis adapter is connected.
import { createServer } from "node:http";
import { Server } from "socket.io";
import { createAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";

const [port, redisPort] = process.argv.slice(2).map(Number);
const pub = createClient({ url: `redis://127.0.0.1:${redisPort}` });
const sub = pub.duplicate();
await Promise.all([pub.connect(), sub.connect()]);
const http = createServer();
const io = new Server(http, { adapter: createAdapter(pub, sub), transports: ["websocket"],
                              perMessageDeflate: false });
let guests = 0;
io.on("connection", (socket) => {
    const nick = `guest-${process.pid}-${++guests}`;
    socket.on("join", (req, ack) => {
        if (typeof req?.room !== "string") return ack?.({ error: "join: which room?" });
        socket.join(req.room);
        ack?.({ ok: true });
    });
    socket.on("message", (req, ack) => {
        if (!socket.rooms.has(req?.room)) return ack?.({ error: "join the room first" });
        socket.to(req.room).emit("message", { room: req.room, data: { from: nick, text: req.data } });
        ack?.({ ok: true });
    });
    socket.on("broadcast", (req, ack) => {
        socket.broadcast.emit("broadcast", { data: { from: nick, text: req?.data } });
        ack?.({ ok: true });
    });
});
http.listen(port, "127.0.0.1", () => console.log(`sio_chat: listening on 127.0.0.1:${port}`));
process.on("SIGTERM", () => process.exit(0));
