// examples/chat.html in a real browser (headless Chromium through playwright-core), served by
// build/chat_server started with --ping-interval 500 --ping-timeout 1000: three users in two
// rooms, acks, notices, the online list, a broadcast, a server that stops answering.
// Usage: node tests/node/chat_browser.mjs http://127.0.0.1:PORT/ CHROMIUM SERVER_PID SCREENSHOT.png
// Prints "ok NAME" or "FAIL NAME: why" per check, then "N passed, N failed".
// The browser may reach 127.0.0.1 only: everything else goes to a dead proxy.
import { chromium } from 'playwright-core';

const [url, executablePath, serverPid, screenshot] = process.argv.slice(2);
const HEARTBEAT_MS = 500 + 1000;
let passed = 0, failed = 0;
const ok = (name) => { passed++; console.log(`ok   ${name}`); };
const bad = (name, why) => { failed++; console.log(`FAIL ${name}: ${why}`); };
async function check(name, fn) {
  try { await fn(); ok(name); } catch (e) { bad(name, e.message.split('\n')[0]); }
}
const errors = [], outside = [];

const browser = await chromium.launch({
  executablePath,
  timeout: 30000,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--proxy-server=127.0.0.1:9',
         '--proxy-bypass-list=127.0.0.1', '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
         '--disable-background-networking', '--disable-component-update', '--no-first-run',
         '--disable-sync'],
});

// A user: a page of their own (own storage), named through the page's form.
async function user(name) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 620 } });
  const page = await context.newPage();
  page.setDefaultTimeout(10000);
  page.on('pageerror', (e) => errors.push(`${name}: ${e.message}`));
  page.on('request', (r) => { if (!r.url().startsWith(url.replace(/\/$/, ''))) outside.push(r.url()); });
  const resp = await page.goto(url);
  if (resp.status() !== 200) throw new Error(`GET / answered ${resp.status()}`);
  await page.waitForSelector('#status.open');
  await page.fill('#nick', name);
  await page.press('#nick', 'Enter');
  await page.waitForFunction((n) => document.getElementById('status').textContent === `connected as ${n}`, name);
  return page;
}
const say = async (page, text) => { await page.fill('#text', text); await page.press('#text', 'Enter'); };
const sees = (page, from, text) => page.waitForFunction(([f, t]) =>
  [...document.querySelectorAll('.log.current li.msg')].some((li) =>
    li.dataset.from === f && li.querySelector('.text').textContent === t), [from, text]);
const notice = (page, text) => page.waitForFunction((t) =>
  [...document.querySelectorAll('.log.current li.notice')].some((li) => li.textContent === t), text);
const online = (page) => page.$$eval('#online li', (lis) => lis.map((li) => li.dataset.nick).sort().join(','));

try {
  let bob, ann, cid;
  await check('bob opens the page, connects and renames himself', async () => { bob = await user('bob'); });
  await check('ann does the same', async () => { ann = await user('ann'); });
  await check('bob sees ann join #lobby and take her name', async () => {
    await bob.waitForFunction(() => [...document.querySelectorAll('li.notice')].some((li) =>
      /^guest-\d+ joined #lobby$/.test(li.textContent)));
    await bob.waitForFunction(() => [...document.querySelectorAll('li.notice')].some((li) =>
      /^guest-\d+ is now ann$/.test(li.textContent)));
  });
  await check('cid joins and switches to #random; #lobby sees cid leave', async () => {
    cid = await user('cid');
    await cid.click('#rooms li[data-room="random"]');
    await cid.waitForFunction(() => document.getElementById('title').textContent === '# random');
    await notice(ann, 'cid left #lobby');
  });

  const hello = 'Hi Bob! Shall we ship ws.h today?';
  await check('ann sends a message: bob sees it', async () => {
    await say(ann, hello);
    await sees(bob, 'ann', hello);
  });
  await check('the ack arrives: the message gets its tick', async () => {
    await ann.waitForSelector('.log.current li.msg.mine.acked');
    const tick = await ann.$eval('li.msg.mine.acked .meta', (m) => getComputedStyle(m, '::after').content);
    if (!tick.includes('\u2713')) throw new Error(`the mark is ${tick}`);
  });
  await check('bob answers: ann sees it', async () => {
    await say(bob, 'Yes, every test passes. Ship it!');
    await sees(ann, 'bob', 'Yes, every test passes. Ship it!');
  });
  await check('cid in #random does not see #lobby\'s messages', async () => {
    await say(cid, 'Anyone here?');
    await cid.waitForSelector('li.msg.mine.acked');     // by now the server has sent cid all
    const leaked = await cid.$$eval('li.msg', (lis) => lis.filter((li) => li.dataset.from !== 'cid').length);
    if (leaked) throw new Error(`${leaked} messages from others`);
  });
  await check('the online list of #lobby: ann and bob', async () => {
    await ann.waitForFunction(() => document.querySelectorAll('#online li').length === 2);
    const names = await online(ann);
    if (names !== 'ann,bob') throw new Error(names);
    const title = await ann.textContent('#online-title');
    if (title !== 'Online in #lobby (2)') throw new Error(title);
  });
  await check('cid broadcasts to everyone: ann and bob see it, marked', async () => {
    await cid.selectOption('#to', 'everyone');
    await say(cid, 'Lunch in ten minutes, everyone!');
    await sees(ann, 'cid', 'Lunch in ten minutes, everyone!');
    await sees(bob, 'cid', 'Lunch in ten minutes, everyone!');
    await ann.waitForSelector('li.msg[data-from="cid"] .tag');
    await cid.waitForFunction(() => document.querySelectorAll('li.msg.mine.acked').length === 2);
  });
  await check('ann\'s page in a screenshot', async () => {
    await ann.screenshot({ path: screenshot });
  });
  await check('markup in a message is shown as text', async () => {
    await say(bob, '<b>not bold</b> <img src=x onerror=alert(1)>');
    await sees(ann, 'bob', '<b>not bold</b> <img src=x onerror=alert(1)>');
    if (await ann.$('.log b, .log img')) throw new Error('it became elements');
  });
  await check('bob closes his page: ann sees him leave, the list shrinks', async () => {
    await bob.context().close();
    await notice(ann, 'bob left #lobby (closed)');
    await ann.waitForFunction(() => document.querySelectorAll('#online li').length === 1);
  });

  // the server stops answering (SIGSTOP keeps its sockets open): only the heartbeat can tell
  {
    const name = `the page notices a stopped server within ${HEARTBEAT_MS} ms + 1 s`;
    process.kill(Number(serverPid), 'SIGSTOP');
    const t0 = Date.now();
    try {
      await ann.waitForSelector('#status.down', { timeout: HEARTBEAT_MS + 1000 });
      ok(`${name}: "${await ann.textContent('#status')}" after ${Date.now() - t0} ms`);
    } catch (e) { bad(name, `status "${await ann.textContent('#status')}" after ${Date.now() - t0} ms`); }
  }
  await check('the server resumes: the page reconnects, renames itself and rejoins #lobby', async () => {
    process.kill(Number(serverPid), 'SIGCONT');
    await ann.waitForFunction(() => document.getElementById('status').textContent === 'connected as ann',
                              null, { timeout: 15000 });
    await ann.waitForFunction(() => [...document.querySelectorAll('#online li')].some((li) => li.dataset.nick === 'ann'));
    await say(ann, 'back again');
    await ann.waitForFunction(() => [...document.querySelectorAll('li.msg.mine')].pop().classList.contains('acked'));
  });
} catch (e) {
  bad('browser session', e.message);
} finally {
  try { process.kill(Number(serverPid), 'SIGCONT'); } catch (e) { /* gone */ }
  await browser.close();
}
errors.length === 0 ? ok('no script errors') : bad('no script errors', errors.join('; '));
outside.length === 0 ? ok('no request leaves the server') : bad('no request leaves the server', outside.join(' '));
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
