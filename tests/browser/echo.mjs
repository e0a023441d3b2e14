// examples/echo.html in a real browser (headless Chromium through playwright-core), served
// by build/echo_server: the page connects back, what is typed comes back through it.
// Then a script in the page drives more WebSockets of its own: binary, empty, 1 MiB and
// 16 MiB messages, the server's keepalive pings answered by the browser, close codes from
// the browser, and last the server's own close (1001) when it is sent SIGTERM.
// Usage: node tests/browser/echo.mjs http://127.0.0.1:PORT/ CHROMIUM SERVER_PID [SHOT.png]
// (the server runs with ECHO_PING_MS=200: a ping after 200 ms idle, a drop after 600 ms)
// Over TLS: an https:// URL (echo_server --cert), and SPKI_PIN=the base64 SHA-256 of the
// server key's SubjectPublicKeyInfo in the environment: Chromium trusts that one key
// (--ignore-certificate-errors-spki-list), every other check stays on; the page and these
// checks then use wss://.
// Prints "ok NAME" or "FAIL NAME: why" per check, then "N passed, N failed".
// The browser may reach 127.0.0.1 only: everything else goes to a dead proxy.
import { launch } from './launch.mjs';

const [url, executablePath, serverPid, screenshot] = process.argv.slice(2);
let passed = 0, failed = 0;
const ok = (name) => { passed++; console.log(`ok   ${name}`); };
const bad = (name, why) => { failed++; console.log(`FAIL ${name}: ${why}`); };

const browser = await launch(executablePath);
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(10000);
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const outside = [];
  page.on('request', (r) => { if (!r.url().startsWith(url.replace(/\/$/, ''))) outside.push(r.url()); });

  const resp = await page.goto(url);
  resp.status() === 200 ? ok('GET / loads echo.html') : bad('GET / loads echo.html', `status ${resp.status()}`);
  if (url.startsWith('https:')) {
    const sec = await resp.securityDetails();
    sec && (await page.evaluate(() => window.isSecureContext))
      ? ok(`the page came over ${sec.protocol} (certificate "${sec.subjectName}", issued by "${sec.issuer}"), a secure context`)
      : bad('the page came over TLS', 'no security details, or not a secure context');
  }

  try {
    await page.waitForSelector('#status.open');
    ok(`page connects: "${await page.textContent('#status')}"`);
  } catch (e) { bad('page connects', `status "${await page.textContent('#status')}"`); }

  const messages = ['hello from the browser', 'Grüße, 世界 🌍', 'x'.repeat(70000)];
  for (const m of messages) {
    const name = `typed ${m.length > 40 ? m.length + ' characters' : `"${m}"`}: shown as sent and as echoed`;
    try {
      await page.fill('#msg', m);
      await page.press('#msg', 'Enter');
      await page.waitForFunction((t) => [...document.querySelectorAll('#log li.in')].some((li) => li.textContent === t), m);
      const out = await page.$$eval('#log li.out', (lis, t) => lis.some((li) => li.textContent === t), m);
      out ? ok(name) : bad(name, 'not shown as sent');
    } catch (e) { bad(name, 'no echo shown within 10 s'); }
  }
  const inputEmpty = (await page.inputValue('#msg')) === '';
  inputEmpty ? ok('input cleared after sending') : bad('input cleared after sending', 'still has text');
  if (screenshot) await page.screenshot({ path: screenshot });

  // Each check runs in the page: it opens a WebSocket of its own and resolves with a
  // string, '' when everything matched, or what went wrong.
  const inPage = async (name, fn, arg) => {
    try {
      const why = await page.evaluate(fn, arg);
      why === '' ? ok(name) : bad(name, why);
    } catch (e) { bad(name, e.message.split('\n')[0]); }
  };
  const helpers = `
    window.open_ws = () => new Promise((res, rej) => {
      const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/');
      ws.binaryType = 'arraybuffer';
      ws.onopen = () => res(ws);
      ws.onerror = () => rej(new Error('connection error'));
    });
    window.next = (ws) => new Promise((res, rej) => {
      ws.onmessage = (e) => res(e.data);
      ws.onclose = (e) => rej(new Error('closed ' + e.code));
    });
    window.when_closed = (ws) => new Promise((res) => { ws.onclose = (e) => res(e); });
    window.pattern = (n, seed) => {
      const a = new Uint8Array(n);
      let x = seed >>> 0;
      for (let i = 0; i < n; i++) { x = (x * 1103515245 + 12345) >>> 0; a[i] = x >>> 24; }
      return a;
    };
    window.same = (buf, want) => {
      if (!(buf instanceof ArrayBuffer)) return 'came back as ' + typeof buf;
      const got = new Uint8Array(buf);
      if (got.length !== want.length) return 'came back with ' + got.length + ' bytes, sent ' + want.length;
      for (let i = 0; i < got.length; i++) if (got[i] !== want[i]) return 'byte ' + i + ' differs';
      return '';
    };`;
  await page.addScriptTag({ content: helpers });

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
  for (const [label, n] of [['1 MiB', 1 << 20], ['16 MiB', 16 << 20]]) {
    await inPage(`binary ${label} echoed exactly`, async (n) => {
      const ws = await open_ws(); const a = pattern(n, n);
      ws.send(a); const why = same(await next(ws), a); ws.close(); return why;
    }, n);
  }
  await inPage('text 1 MiB (ASCII, accents, CJK, emoji) echoed exactly', async () => {
    const ws = await open_ws();
    const unit = 'abc Grüße 世界 🌍 ';
    const s = unit.repeat(Math.ceil((1 << 20) / unit.length));
    ws.send(s); const got = await next(ws); ws.close();
    return got === s ? '' : 'text differs (' + (typeof got === 'string' ? got.length : typeof got) + ' vs ' + s.length + ')';
  });
  await inPage('server pings an idle browser, the browser pongs: still open after 2 s (drop after 600 ms)', async () => {
    const ws = await open_ws();
    let closedWith = null; ws.onclose = (e) => { closedWith = e.code; };
    await new Promise((r) => setTimeout(r, 2000));
    if (closedWith !== null) return 'dropped with ' + closedWith;
    ws.send('still here'); const got = await next(ws); ws.close();
    return got === 'still here' ? '' : 'echo after idle: ' + got;
  });
  for (const [code, reason] of [[1000, ''], [4000, 'bye from the browser'], [3001, '']]) {
    await inPage(`browser closes with ${code}: clean close, ${code} echoed`, async ([code, reason]) => {
      const ws = await open_ws(); const c = when_closed(ws);
      ws.send('x'); ws.close(code, reason);
      const e = await c;
      if (!e.wasClean) return 'not clean (code ' + e.code + ')';
      return e.code === code ? '' : 'server answered ' + e.code;
    }, [code, reason]);
  }
  if (serverPid) {
    await inPage('server shuts down (SIGTERM): the page sees close 1001 with a reason', async () => {
      const ws = await open_ws();
      window.shutdown = when_closed(ws);
      return '';
    });
    process.kill(Number(serverPid), 'SIGTERM');
    await inPage('  ... close 1001 "server shutting down", clean', async () => {
      const e = await shutdown;
      if (e.code !== 1001) return 'code ' + e.code;
      if (!e.wasClean) return 'not clean';
      return e.reason === 'server shutting down' ? '' : 'reason ' + JSON.stringify(e.reason);
    });
  }

  errors.length === 0 ? ok('no script errors') : bad('no script errors', errors.join('; '));
  outside.length === 0 ? ok('no request leaves the server') : bad('no request leaves the server', outside.join(' '));
} catch (e) {
  bad('browser session', e.message);
} finally {
  await browser.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
