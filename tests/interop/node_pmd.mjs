// Node `ws` with permessage-deflate on (RFC 7692), both roles, for tests/run_interop_node.sh:
//   node tests/interop/node_pmd.mjs client ws://127.0.0.1:PORT/
//       a ws client (its default offer, every message compressed: threshold 0) against
//       build/echo_server: the extension agreed, and text with CJK, binary, large and empty
//       messages echoed exactly, twice over (context taken over by ws's compressor);
//       prints "ok ..." / "FAIL ..." per check, then "N passed, N failed";
//   node tests/interop/node_pmd.mjs server PORT [OPTIONS_JSON]
//       a ws echo server with perMessageDeflate (threshold 0, context takeover, or what
//       OPTIONS_JSON adds: {"serverMaxWindowBits": 8, ...}) on 127.0.0.1:PORT, for
//       build/echo_client --deflate --check; prints "listening" once up and the offer of
//       each connection.
// What went on the wire (RSV1 frames each way) is checked by tests/interop/relay.py between
// the two, not taken from ws.
import { WebSocket, WebSocketServer } from 'ws';
import { randomBytes } from 'node:crypto';

const [mode, arg, extra] = process.argv.slice(2);
const pmd = { threshold: 0, ...(extra ? JSON.parse(extra) : {}) };

if (mode === 'server') {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: Number(arg), perMessageDeflate: pmd,
                                    maxPayload: 64 << 20 });
  wss.on('listening', () => console.log(`node pmd server: listening on 127.0.0.1:${arg}`));
  wss.on('connection', (ws, req) => {
    console.log(`node pmd server: offer ${JSON.stringify(req.headers['sec-websocket-extensions'] ?? null)}`);
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    ws.on('error', (err) => console.log(`node pmd server: ${err.message}`));
  });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
} else if (mode === 'client') {
  let passed = 0, failed = 0;
  const say = (good, what) => { good ? passed++ : failed++; console.log(`${good ? 'ok  ' : 'FAIL'} ${what}`); };
  const cjk = 'websocket是基于TCP的一种新的网络协议。它实现了浏览器与服务器全双工通信，';
  const pattern = Buffer.alloc(1 << 20);
  for (let i = 0; i < pattern.length; i++) pattern[i] = (i * 7 + (i >> 9)) & 0xff;
  const msgs = [
    ['text, CJK and emoji, 70 B', '{"user":"小明","text":"你好，世界！ websocket 👍","room":"lobby"}'],
    ['text, CJK, 200 kB', cjk.repeat(2000)],
    ['binary, random, 64 KiB', randomBytes(65536)],
    ['binary, patterned, 1 MiB', pattern],
    ['text, empty', ''],
    ['binary, empty', Buffer.alloc(0)],
    ['text, 2 MB of one letter', 'x'.repeat(2_000_000)],
  ];
  const ws = new WebSocket(arg, { perMessageDeflate: pmd, maxPayload: 64 << 20 });
  const timer = setTimeout(() => { say(false, 'timed out after 60 s'); finish(); }, 60000);
  const finish = () => {
    clearTimeout(timer);
    console.log(`${passed} passed, ${failed} failed`);
    process.exit(failed ? 1 : 0);
  };
  const queue = [];
  ws.on('message', (data, isBinary) => { const w = queue.shift(); if (w) w({ data, isBinary }); });
  const next = () => new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no echo in 20 s')), 20000);
    queue.push((v) => { clearTimeout(t); resolve(v); });
  });
  ws.on('error', (e) => { say(false, `socket error: ${e.message}`); finish(); });
  ws.on('open', async () => {
    say(/^permessage-deflate(;|$)/.test(ws.extensions),
        `permessage-deflate agreed: ${JSON.stringify(ws.extensions)}`);
    try {
      for (const round of [1, 2]) {
        for (const [name, m] of msgs) {
          ws.send(m, { binary: typeof m !== 'string' });
          const { data, isBinary } = await next();
          const want = Buffer.from(m);
          const same = isBinary === (typeof m !== 'string') && Buffer.compare(Buffer.from(data), want) === 0;
          say(same, `round ${round}: ${name} echoed exactly` +
              (same ? '' : ` (got ${isBinary ? 'binary' : 'text'} of ${data.length} bytes)`));
        }
      }
    } catch (e) {
      say(false, e.message);
    }
    ws.close(1000);
    ws.on('close', (code) => { say(code === 1000, `closed with ${code}`); finish(); });
  });
} else {
  console.log('usage: node_pmd.mjs client URL | server PORT');
  process.exit(2);
}
