// examples/echo.html in a real browser (headless Chromium through playwright-core), served
// by build/echo_server: the page connects back, what is typed comes back through it.
// Usage: node tests/node/browser_echo.mjs http://127.0.0.1:PORT/ CHROMIUM [SCREENSHOT.png]
// Prints "ok NAME" or "FAIL NAME: why" per check, then "N passed, N failed".
// The browser may reach 127.0.0.1 only: everything else goes to a dead proxy.
import { chromium } from 'playwright-core';

const [url, executablePath, screenshot] = process.argv.slice(2);
let passed = 0, failed = 0;
const ok = (name) => { passed++; console.log(`ok   ${name}`); };
const bad = (name, why) => { failed++; console.log(`FAIL ${name}: ${why}`); };

const browser = await chromium.launch({
  executablePath,
  timeout: 30000,
  args: ['--no-sandbox', '--proxy-server=127.0.0.1:9', '--proxy-bypass-list=127.0.0.1',
         '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
         '--disable-background-networking', '--disable-component-update', '--no-first-run'],
});
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(10000);
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const outside = [];
  page.on('request', (r) => { if (!r.url().startsWith(url.replace(/\/$/, ''))) outside.push(r.url()); });

  const resp = await page.goto(url);
  resp.status() === 200 ? ok('GET / loads echo.html') : bad('GET / loads echo.html', `status ${resp.status()}`);

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

  errors.length === 0 ? ok('no script errors') : bad('no script errors', errors.join('; '));
  outside.length === 0 ? ok('no request leaves the server') : bad('no request leaves the server', outside.join(' '));
} catch (e) {
  bad('browser session', e.message);
} finally {
  await browser.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
