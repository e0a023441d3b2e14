// A small Autobahn-style runner in Node `ws`, for echo_client's runner mode.
// Usage: node tests/interop/node_runner.mjs PORT AGENT      (listens on 127.0.0.1 only)
// Serves /getCaseCount, /runCase?case=N&agent=A and /updateReports?agent=A; each case sends
// something and checks what the client echoes (or how it closes). Prints "ok ..." or
// "FAIL ..." per case, then "N passed, N failed", and exits after /updateReports (non-zero
// on any failure) or after 120 s.
import { WebSocketServer } from 'ws';
import { randomBytes } from 'node:crypto';

const port = Number(process.argv[2]);
const agent = process.argv[3];
let passed = 0, failed = 0;
const ok = (name) => { passed++; console.log(`ok   ${name}`); };
const bad = (name, why) => { failed++; console.log(`FAIL ${name}: ${why}`); };

// Receives the next n messages (or fails after ms).
function receive(ws, n, ms = 10000) {
  return new Promise((resolve, reject) => {
    const got = [];
    const timer = setTimeout(() => reject(new Error(`${got.length} of ${n} echoes after ${ms} ms`)), ms);
    const on = (data, isBinary) => {
      got.push({ data: Buffer.from(data), isBinary });
      if (got.length === n) { clearTimeout(timer); ws.off('message', on); resolve(got); }
    };
    ws.on('message', on);
  });
}
function pong(ws, ms = 10000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no pong')), ms);
    ws.once('pong', (d) => { clearTimeout(timer); resolve(d.toString()); });
  });
}
function closed(ws, ms = 10000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the client did not close')), ms);
    ws.once('close', (code, reason) => { clearTimeout(timer); resolve({ code, reason: reason.toString() }); });
  });
}
function same(got, sent, binary, what) {
  const want = Buffer.from(sent);
  if (got.isBinary !== binary) throw new Error(`${what}: came back as ${got.isBinary ? 'binary' : 'text'}`);
  if (!got.data.equals(want)) {
    let i = 0;
    while (i < want.length && got.data[i] === want[i]) i++;
    throw new Error(`${what}: ${got.data.length} bytes back, ${want.length} sent, first difference at ${i}`);
  }
}
async function closeNormally(ws) {
  const c = closed(ws);
  ws.close(1000, 'case done');
  const { code } = await c;
  if (code !== 1000) throw new Error(`close echoed with ${code}`);
}

const cases = [
  ['text "Hello, 世界" echoed', async (ws) => {
    const r = receive(ws, 1);
    ws.send('Hello, 世界');
    same((await r)[0], 'Hello, 世界', false, 'text');
    await closeNormally(ws);
  }],
  ['binary 64 KiB echoed', async (ws) => {
    const m = randomBytes(65536), r = receive(ws, 1);
    ws.send(m, { binary: true });
    same((await r)[0], m, true, 'binary');
    await closeNormally(ws);
  }],
  ['ping answered, then text echoed', async (ws) => {
    const p = pong(ws);
    ws.ping('abc');
    const got = await p;
    if (got !== 'abc') throw new Error(`pong "${got}"`);
    const r = receive(ws, 1);
    ws.send('after ping');
    same((await r)[0], 'after ping', false, 'text');
    await closeNormally(ws);
  }],
  ['fragmented text with a ping between fragments', async (ws) => {
    const p = pong(ws), r = receive(ws, 1);
    ws.send('frag-', { fin: false });
    ws.ping('p');
    ws.send('ment-', { fin: false });
    ws.send('ed', { fin: true });
    if (await p !== 'p') throw new Error('wrong pong');
    same((await r)[0], 'frag-ment-ed', false, 'fragmented');
    await closeNormally(ws);
  }],
  ['50 pipelined messages echoed in order', async (ws) => {
    const sent = [];
    for (let i = 0; i < 50; i++) sent.push(i % 2 ? randomBytes(i * 101) : 'ü'.repeat(i * 7));
    const r = receive(ws, 50);
    sent.forEach((m, i) => ws.send(m, { binary: i % 2 === 1 }));
    (await r).forEach((g, i) => same(g, sent[i], i % 2 === 1, `message ${i}`));
    await closeNormally(ws);
  }],
  ['binary 4 MiB echoed', async (ws) => {
    const m = randomBytes(4 << 20), r = receive(ws, 1);
    ws.send(m, { binary: true });
    same((await r)[0], m, true, 'binary');
    await closeNormally(ws);
  }],
  ['server close 4001 echoed with 4001', async (ws) => {
    const c = closed(ws);
    ws.close(4001, 'bye');
    const { code } = await c;
    if (code !== 4001) throw new Error(`close echoed with ${code}`);
  }],
  ['invalid UTF-8 in a text message: client closes 1007', async (ws) => {
    const c = closed(ws);
    // "κόσμε" followed by an encoded surrogate (ED A0 80), sent as a text frame
    ws.send(Buffer.from('cebae1bdb9cf83cebcceb5eda080', 'hex'), { binary: false });
    const { code } = await c;
    if (code !== 1007) throw new Error(`client closed with ${code}`);
  }],
];

const wss = new WebSocketServer({ host: '127.0.0.1', port, maxPayload: 64 << 20 });
let nextCase = 1;
const deadline = setTimeout(() => { bad('runner', 'no /updateReports within 120 s'); finish(); }, 120000);
function finish() {
  clearTimeout(deadline);
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

wss.on('listening', () => console.log(`node runner: listening on 127.0.0.1:${port}, ${cases.length} cases`));
wss.on('connection', async (ws, req) => {
  const u = new URL(req.url, 'ws://x');
  ws.on('error', () => {});
  if (u.pathname === '/getCaseCount') {
    ws.send(String(cases.length));
    ws.close(1000);
  } else if (u.pathname === '/runCase') {
    const i = Number(u.searchParams.get('case'));
    const [name, run] = cases[i - 1] || [`case ${i}`, null];
    const label = `case ${i}: ${name}`;
    if (i !== nextCase) { bad(label, `asked for case ${i}, expected ${nextCase}`); ws.terminate(); return; }
    nextCase++;
    if (u.searchParams.get('agent') !== agent) bad(label, `agent "${u.searchParams.get('agent')}"`);
    try { await run(ws); ok(label); } catch (e) { bad(label, e.message); ws.terminate(); }
  } else if (u.pathname === '/updateReports') {
    const label = 'updateReports: the client closes with 1000';
    if (nextCase !== cases.length + 1) bad('all cases run', `only ${nextCase - 1} of ${cases.length}`);
    if (u.searchParams.get('agent') !== agent) bad(label, `agent "${u.searchParams.get('agent')}"`);
    try {
      const { code } = await closed(ws);
      code === 1000 ? ok(label) : bad(label, `closed with ${code}`);
    } catch (e) { bad(label, e.message); }
    finish();
  } else {
    ws.close(1008, 'unknown path');
  }
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(1));
