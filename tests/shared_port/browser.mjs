// examples/www/index.html in headless Chromium (playwright-core), served by build/shared_port:
// the page, its stylesheet and /api/time come over HTTP, the echo box over a WebSocket to
// /ws, all on one port.
// Usage: node tests/shared_port/browser.mjs http://127.0.0.1:PORT/ CHROMIUM
// Prints "ok NAME" or "FAIL NAME: why" per check. The browser may reach 127.0.0.1 only.
// Over TLS: an https:// URL (shared_port --cert) and SPKI_PIN in the environment, as for
// tests/browser/echo.mjs (tests/browser/launch.mjs shuts the browser in).
import { launch } from '../browser/launch.mjs';

const [url, executablePath] = process.argv.slice(2);
const ok = (name) => console.log(`ok   ${name}`);
const bad = (name, why) => { console.log(`FAIL ${name}: ${why}`); process.exitCode = 1; };

const browser = await launch(executablePath, ['--disable-gpu', '--disable-quic', '--disable-sync']);
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(10000);
  const errors = [], statuses = {};
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('response', (r) => { statuses[new URL(r.url()).pathname] = r.status(); });

  const resp = await page.goto(url);
  const color = await page.evaluate(() => getComputedStyle(document.body).color);
  if (resp.status() === 200 && statuses['/style.css'] === 200 && color === 'rgb(34, 34, 34)')
    ok('GET / and /style.css: the page loads with its stylesheet applied');
  else bad('page and stylesheet', `/ ${resp.status()}, /style.css ${statuses['/style.css']}, color ${color}`);

  try {
    await page.waitForFunction(() => /^\d{4}-\d\d-\d\dT/.test(document.getElementById('time').textContent));
    await page.waitForSelector('text=connected to /ws');
    await page.waitForFunction(() => Number(document.getElementById('count').textContent) >= 1);
    ok(`the page shows /api/time (${await page.textContent('#time')}), its WebSocket counted (${await page.textContent('#count')})`);
  } catch (e) {
    bad('time and connection', `time "${await page.textContent('#time')}", state "${await page.textContent('#state')}"`);
  }

  const line = 'hello through the shared port ✓';
  await page.fill('#text', line);
  await page.press('#text', 'Enter');
  try {
    await page.waitForSelector(`#log li.in:has-text("echo: ${line}")`);
    ok('a typed line comes back through /ws');
  } catch (e) {
    bad('echo', `log: ${await page.textContent('#log')}`);
  }
  errors.length ? bad('no page errors', errors.join('; ')) : ok('no errors in the page');
} finally {
  await browser.close();
}
