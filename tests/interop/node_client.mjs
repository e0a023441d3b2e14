// Node `ws` client against build/echo_server: every echo is compared byte for byte.
// Usage: node tests/interop/node_client.mjs ws://127.0.0.1:PORT/
//        node tests/interop/node_client.mjs wss://localhost:PORT/ CA.pem   (TLS, verified
//        against that CA and the host name; echo_server --cert)
// Prints "ok NAME" or "FAIL NAME: why" per check, then "N passed, N failed".
import { WebSocket } from 'ws';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

const [url, caFile] = process.argv.slice(2);
const tls = caFile ? { ca: readFileSync(caFile) } : {};
let passed = 0, failed = 0;
const ok = (name) => { passed++; console.log(`ok   ${name}`); };
const bad = (name, why) => { failed++; console.log(`FAIL ${name}: ${why}`); };

// Resolves with the value of `fn(ws, done)` (done(value) or done(Error)), bounded in time.
function session(name, fn, ms = 20000) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { maxPayload: 64 << 20, ...tls });
    let finished = false;
    const done = (v) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      if (v instanceof Error) { bad(name, v.message); ws.terminate(); } else ok(name);
      resolve(v);
    };
    const timer = setTimeout(() => done(new Error(`timed out after ${ms} ms`)), ms);
    ws.on('error', (e) => done(new Error(`socket error: ${e.message}`)));
    ws.on('open', () => fn(ws, done));
  });
}

function describe(a, b) {
  if (a.length !== b.length) return `length ${a.length}, sent ${b.length}`;
  for (let i = 0; i < a.length; i++)
    if (a[i] !== b[i]) return `byte ${i} is 0x${a[i].toString(16)}, sent 0x${b[i].toString(16)}`;
  return null;
}

// One message out, the same message back, then close.
function echo(name, payload, binary) {
  return session(name, (ws, done) => {
    ws.once('message', (data, isBinary) => {
      if (isBinary !== binary) return done(new Error(`came back as ${isBinary ? 'binary' : 'text'}`));
      const sent = Buffer.from(payload);
      const diff = describe(data, sent);
      if (diff) return done(new Error(diff));
      ws.close(1000);
      ws.once('close', () => done(true));
    });
    ws.send(payload, { binary });
  });
}

const text = (n) => {
  const unit = 'ws.h 你好，世界 ✓ 🌍 ';
  let s = unit.repeat(Math.ceil(n / Buffer.byteLength(unit)) + 1);
  let b = Buffer.from(s).subarray(0, n);
  while (b.length && (b[b.length - 1] & 0xc0) === 0x80) b = b.subarray(0, b.length - 1); // whole chars
  if (b.length && b[b.length - 1] >= 0xc0) b = b.subarray(0, b.length - 1);
  return b.toString() + 'x'.repeat(n - b.length);
};

await echo('text "hello, 世界" echoed as text', 'hello, 世界', false);
await echo('binary 1000 B echoed as binary', randomBytes(1000), true);
await echo('empty text echoed', '', false);
await echo('empty binary echoed', Buffer.alloc(0), true);
await echo('text 1 MiB echoed', text(1 << 20), false);
await echo('binary 1 MiB echoed', randomBytes(1 << 20), true);
await echo('binary 16 MiB echoed', randomBytes(16 << 20), true);
await echo('text 16 MiB echoed', text(16 << 20), false);

await session('ping "are you there?" answered with the same pong', (ws, done) => {
  ws.on('pong', (data) => {
    if (data.toString() !== 'are you there?') return done(new Error(`pong "${data}"`));
    ws.close(1000);
    ws.once('close', () => done(true));
  });
  ws.ping('are you there?');
});

await session('fragmented text, ping between fragments: pong and one message', (ws, done) => {
  let pong = false;
  ws.on('pong', (data) => { pong = data.toString() === 'mid'; });
  ws.on('message', (data, isBinary) => {
    if (isBinary) return done(new Error('came back as binary'));
    if (data.toString() !== 'one-two-three') return done(new Error(`got "${data}"`));
    if (!pong) return done(new Error('no pong "mid" before the end of the message'));
    ws.close(1000);
    ws.once('close', () => done(true));
  });
  ws.send('one-', { fin: false });
  ws.ping('mid');
  ws.send('two-', { fin: false });
  ws.send('three', { fin: true });
});

await session('200 pipelined messages echoed in order', (ws, done) => {
  const n = 200;
  const sent = [];
  for (let i = 0; i < n; i++) sent.push(i % 2 ? randomBytes(i * 37) : text(i * 11));
  let k = 0;
  ws.on('message', (data, isBinary) => {
    const want = Buffer.from(sent[k]);
    const diff = describe(data, want);
    if (diff || isBinary !== (k % 2 === 1)) return done(new Error(`message ${k}: ${diff || 'wrong type'}`));
    if (++k === n) { ws.close(1000); ws.once('close', () => done(true)); }
  });
  for (let i = 0; i < n; i++) ws.send(sent[i], { binary: i % 2 === 1 });
});

for (const code of [1000, 4000]) {
  await session(`close ${code} "bye" echoed with ${code}`, (ws, done) => {
    ws.once('close', (got) => done(got === code ? true : new Error(`server closed with ${got}`)));
    ws.close(code, 'bye');
  });
}

await session('server closes TCP after the close handshake', (ws, done) => {
  const sock = ws._socket;
  let ended = false;
  sock.once('end', () => { ended = true; });
  ws.once('close', () => setTimeout(() => done(ended ? true : new Error('no FIN from the server')), 200));
  ws.close(1000);
});

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
