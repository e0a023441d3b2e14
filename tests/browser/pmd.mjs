// permessage-deflate (RFC 7692) with Chromium's own offer: examples/echo.html in headless
// Chromium (playwright-core), loaded through tests/interop/relay.py from build/echo_server,
// so that both WebSockets (the page's, and one a script in the page opens) go through the
// relay, which checks on the wire what Chromium offered, what was agreed and that messages
// went compressed (RSV1) both ways (CDP's Network.webSocketFrame* events do not show RSV1).
// Here: the page's socket echoes what is typed; the script's socket reports the extension
// Chromium agreed (WebSocket.extensions) and echoes chat JSON, text with CJK, binary,
// empty and 1 MiB messages exactly.
// Usage: node tests/browser/pmd.mjs http://127.0.0.1:RELAY_PORT/ CHROMIUM
// Prints "ok NAME" or "FAIL NAME: why" per check, then "N passed, N failed".
// The browser may reach 127.0.0.1 only: everything else goes to a dead proxy.
import { launch } from './launch.mjs';

const [url, executablePath] = process.argv.slice(2);
let passed = 0, failed = 0;
const ok = (name) => { passed++; console.log(`ok   ${name}`); };
const bad = (name, why) => { failed++; console.log(`FAIL ${name}: ${why}`); };

const browser = await launch(executablePath);
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(15000);
  const resp = await page.goto(url);
  resp.status() === 200 ? ok('GET / through the relay loads echo.html') : bad('GET / loads echo.html', `status ${resp.status()}`);
  try {
    await page.waitForSelector('#status.open');
    ok('the page connects through the relay');
  } catch (e) { bad('the page connects', `status "${await page.textContent('#status')}"`); }

  const typed = '{"type":"message","room":"lobby","user":"小明","text":"你好，世界！ hello, hello, hello everyone"}'.repeat(4);
  try {
    await page.fill('#msg', typed);
    await page.press('#msg', 'Enter');
    await page.waitForFunction((t) => [...document.querySelectorAll('#log li.in')].some((li) => li.textContent === t), typed);
    ok(`typed ${typed.length} characters of chat JSON: echoed`);
  } catch (e) { bad('typed chat JSON', 'no echo shown within 15 s'); }

  const why = await page.evaluate(async () => {
    const ws = new WebSocket('ws://' + location.host + '/');
    ws.binaryType = 'arraybuffer';
    await new Promise((res, rej) => { ws.onopen = res; ws.onerror = () => rej(new Error('connection error')); });
    const probs = [];
    if (!/^permessage-deflate(;|$)/.test(ws.extensions)) probs.push(`extensions "${ws.extensions}"`);
    const chat = Array.from({ length: 40 }, (_, i) =>
      `{"type":"message","room":"lobby","user":"user${i % 7}","text":"message number ${i}, hello everyone","ts":${1733100000 + i}}`).join('');
    const big = new Uint8Array(1 << 20);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 9)) & 0xff;
    const msgs = [chat, 'websocket是基于TCP的一种新的网络协议。'.repeat(300), big, '', new Uint8Array(0),
                  new Uint8Array(3000).fill(42), 'short'];
    const got = [];
    ws.onmessage = (e) => got.push(e.data);
    for (const m of msgs) ws.send(m);
    const t0 = Date.now();
    while (got.length < msgs.length && Date.now() - t0 < 10000) await new Promise((r) => setTimeout(r, 20));
    if (got.length !== msgs.length) probs.push(`${got.length} of ${msgs.length} echoes`);
    msgs.forEach((m, i) => {
      const g = got[i];
      if (g === undefined) return;
      if (typeof m === 'string') {
        if (g !== m) probs.push(`echo ${i}: text differs (${typeof g}, ${g.length ?? g.byteLength})`);
      } else {
        const a = new Uint8Array(g);
        if (!(g instanceof ArrayBuffer) || a.length !== m.length || a.some((x, j) => x !== m[j]))
          probs.push(`echo ${i}: binary differs`);
      }
    });
    ws.close(1000);
    return probs.length ? probs.join('; ') : `ok ${ws.extensions}`;
  });
  why.startsWith('ok ')
    ? ok(`a socket of the page's script agreed "${why.slice(3)}" and got 7 messages (chat JSON, CJK, 1 MiB, empty, binary) echoed exactly`)
    : bad('the script\'s socket', why);
  await page.close();
} catch (e) {
  bad('browser run', e.message.split('\n')[0]);
} finally {
  await browser.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
