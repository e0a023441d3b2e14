// examples/echo.html in headless Chromium (playwright-core), talking to the WebSocket echo
// server that runs on the emulated Cortex-M4: the bridge (tests/firmware/bridge.py --page)
// serves the page from the host, and the page's WebSocket goes through the bridge and the
// UART to the firmware. What is typed comes back through it; then scripts in the page
// check binary and empty messages, a 20 KB text, four WebSockets at once (every channel of
// the link), a fifth one waiting for a channel, and the browser's close codes.
// Usage: node tests/firmware/browser.mjs http://127.0.0.1:PORT/ CHROMIUM
// Prints "ok NAME" or "FAIL NAME: why" per check, then "N passed, N failed".
// The browser may reach 127.0.0.1 only: everything else goes to a dead proxy.
import { launch } from '../browser/launch.mjs';

const [url, executablePath] = process.argv.slice(2);
let passed = 0, failed = 0;
const ok = (name) => { passed++; console.log(`ok   ${name}`); };
const bad = (name, why) => { failed++; console.log(`FAIL ${name}: ${why}`); };

const browser = await launch(executablePath);
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(15000);
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const outside = [];
  page.on('request', (r) => { if (!r.url().startsWith(url.replace(/\/$/, ''))) outside.push(r.url()); });

  const resp = await page.goto(url);
  resp.status() === 200 ? ok('GET / loads echo.html from the host') : bad('GET / loads echo.html', `status ${resp.status()}`);
  try {
    await page.waitForSelector('#status.open');
    ok(`page connects to the firmware: "${await page.textContent('#status')}"`);
  } catch (e) { bad('page connects', `status "${await page.textContent('#status')}"`); }

  for (const m of ['hello from the browser', 'Grüße, 世界 🌍']) {
    const name = `typed "${m}": shown as sent and as echoed by the Cortex-M4`;
    try {
      await page.fill('#msg', m);
      await page.press('#msg', 'Enter');
      await page.waitForFunction((t) => [...document.querySelectorAll('#log li.in')].some((li) => li.textContent === t), m);
      const out = await page.$$eval('#log li.out', (lis, t) => lis.some((li) => li.textContent === t), m);
      out ? ok(name) : bad(name, 'not shown as sent');
    } catch (e) { bad(name, 'no echo shown within 15 s'); }
  }

  const inPage = async (name, fn, arg) => {
    try {
      const why = await page.evaluate(fn, arg);
      why === '' ? ok(name) : bad(name, why);
    } catch (e) { bad(name, e.message.split('\n')[0]); }
  };
  await page.addScriptTag({ content: `
    window.open_ws = () => new Promise((res, rej) => {
      const ws = new WebSocket('ws://' + location.host + '/');
      ws.binaryType = 'arraybuffer';
      ws.onopen = () => res(ws);
      ws.onerror = () => rej(new Error('connection error'));
    });
    window.next = (ws) => new Promise((res, rej) => {
      ws.onmessage = (e) => res(e.data);
      ws.onclose = (e) => rej(new Error('closed ' + e.code));
    });
    window.when_closed = (ws) => new Promise((res) => { ws.onclose = (e) => res(e); });
    window.same = (buf, want) => {
      if (!(buf instanceof ArrayBuffer)) return 'came back as ' + typeof buf;
      const got = new Uint8Array(buf);
      if (got.length !== want.length) return 'came back with ' + got.length + ' bytes, sent ' + want.length;
      for (let i = 0; i < got.length; i++) if (got[i] !== want[i]) return 'byte ' + i + ' differs';
      return '';
    };` });

  await inPage('binary: all 256 byte values echoed exactly', async () => {
    const ws = await open_ws();
    const a = new Uint8Array(256); for (let i = 0; i < 256; i++) a[i] = i;
    ws.send(a); const why = same(await next(ws), a); ws.close(); return why;
  });
  await inPage('empty text and empty binary messages echoed as such', async () => {
    const ws = await open_ws();
    ws.send(''); const t = await next(ws);
    ws.send(new Uint8Array(0)); const b = await next(ws);
    ws.close();
    if (t !== '') return 'empty text came back as ' + JSON.stringify(t);
    return same(b, new Uint8Array(0));
  });
  await inPage('a 20 KB text (accents, CJK, emoji) echoed exactly (in fragments: the firmware keeps no message whole)', async () => {
    const ws = await open_ws();
    const unit = 'abc Grüße 世界 🌍 ';
    const s = unit.repeat(1000);
    ws.send(s); const got = await next(ws); ws.close();
    return got === s ? '' : 'text differs (' + (typeof got === 'string' ? got.length : typeof got) + ' vs ' + s.length + ')';
  });
  await inPage('three more WebSockets beside the page\'s own (every channel of the link), each gets its own echoes; a fifth waits for a channel and opens when one closes', async () => {
    const all = await Promise.all([0, 1, 2].map(() => open_ws()));
    const got = await Promise.all(all.map((ws, i) => { const p = next(ws); ws.send('socket ' + i); return p; }));
    for (let i = 0; i < 3; i++) if (got[i] !== 'socket ' + i) return 'socket ' + i + ' got ' + JSON.stringify(got[i]);
    let opened = false;
    const fifth = open_ws().then((ws) => { opened = true; return ws; });
    await new Promise((r) => setTimeout(r, 500));
    if (opened) return 'a fifth connection opened while four channels were busy';
    all[0].close();
    const ws = await fifth;
    const p = next(ws); ws.send('the fifth'); const e = await p;
    ws.close(); all[1].close(); all[2].close();
    return e === 'the fifth' ? '' : 'the fifth got ' + JSON.stringify(e);
  });
  for (const [code, reason] of [[1000, ''], [4000, 'bye from the browser']]) {
    await inPage(`browser closes with ${code}: clean close, ${code} echoed`, async ([code, reason]) => {
      const ws = await open_ws(); const c = when_closed(ws);
      ws.send('x'); ws.close(code, reason);
      const e = await c;
      if (!e.wasClean) return 'not clean (code ' + e.code + ')';
      return e.code === code ? '' : 'server answered ' + e.code;
    }, [code, reason]);
  }

  errors.length === 0 ? ok('no script errors') : bad('no script errors', errors.join('; '));
  outside.length === 0 ? ok('no request leaves the host') : bad('no request leaves the host', outside.join(' '));
} catch (e) {
  bad('browser session', e.message);
} finally {
  await browser.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
