// examples/chat.html in a real browser (headless Chromium through playwright-core), served by
// build/chat_server started with --ping-interval 500 --ping-timeout 1000: three users in two
// rooms, acks, notices, the online list, a broadcast, a server that stops answering; and a
// fourth on a 390x844 touch phone: nothing wider than the screen, every control on it and
// finger-sized, the rooms and the online list in drawers, a room switched and one created.
// Usage: node tests/chat/browser.mjs http://127.0.0.1:PORT/ CHROMIUM SERVER_PID SCREENSHOT.png
// SCREENSHOT.png gets the desktop page (its messages in Chinese and emoji too, whose fonts
// are checked), SCREENSHOT-phone.png the phone's: examples/chat.png and chat-phone.png.
// Prints "ok NAME" or "FAIL NAME: why" per check, then "N passed, N failed".
// The browser may reach 127.0.0.1 only: everything else goes to a dead proxy.
// Over TLS: an https:// URL (chat_server --cert) and SPKI_PIN in the environment, as for
// tests/browser/echo.mjs: that key trusted, every other certificate check on.
import { statSync } from 'node:fs';
import { launch } from '../browser/launch.mjs';

const [url, executablePath, serverPid, screenshot] = process.argv.slice(2);
const phoneShot = screenshot.replace(/(\.png)?$/, '-phone.png');
const PHONE = { width: 390, height: 844 };    // an iPhone 12-15's CSS pixels
// Lines from the seeds (../shared/seeds), whose point is that any client can join, with an emoji
const MINI = '小程序采用的是标准的websocket 协议 📱';
const TCP = 'websocket是基于TCP的一种新的网络协议，实现了浏览器和服务器的双向通信。👍';
const HEARTBEAT_MS = 500 + 1000;
let passed = 0, failed = 0;
const ok = (name) => { passed++; console.log(`ok   ${name}`); };
const bad = (name, why) => { failed++; console.log(`FAIL ${name}: ${why}`); };
async function check(name, fn) {
  try { await fn(); ok(name); } catch (e) { bad(name, e.message.split('\n')[0]); }
}
const errors = [], outside = [];

const browser = await launch(executablePath, ['--disable-gpu', '--disable-quic', '--disable-sync']);

// A user: a page of their own (own storage), named through the page's form. A phone user
// taps (Rename) where the others press Enter.
async function user(name, phone = false) {
  const context = await browser.newContext(phone
    ? { viewport: PHONE, isMobile: true, hasTouch: true }
    : { viewport: { width: 1100, height: 620 } });
  const page = await context.newPage();
  page.setDefaultTimeout(10000);
  page.on('pageerror', (e) => errors.push(`${name}: ${e.message}`));
  page.on('request', (r) => { if (!r.url().startsWith(url.replace(/\/$/, ''))) outside.push(r.url()); });
  const resp = await page.goto(url);
  if (resp.status() !== 200) throw new Error(`GET / answered ${resp.status()}`);
  await page.waitForSelector('#status.open');
  await page.fill('#nick', name);
  if (phone) await page.tap('#nick-form button'); else await page.press('#nick', 'Enter');
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
const tapSend = async (page, text) => { await page.fill('#text', text); await page.tap('#send-form button'); };

// Layout checks, run in the page. Everything shown (closed drawers are not) lies within the
// screen's width; the document scrolls no wider than the window.
const overflow = (page) => page.evaluate(() => {
  const W = innerWidth, bad = [];
  if (document.documentElement.scrollWidth > W) bad.push(`the page is ${document.documentElement.scrollWidth} px wide`);
  for (const e of document.querySelectorAll('body *')) {
    if (!e.checkVisibility({ visibilityProperty: true })) continue;
    const r = e.getBoundingClientRect();
    const cls = typeof e.className === 'string' ? e.className : e.className.baseVal;
    if (r.width && (r.left < -0.5 || r.right > W + 0.5))
      bad.push(`${e.tagName.toLowerCase()}${e.id ? '#' + e.id : cls ? '.' + cls.split(' ')[0] : ''}`
               + ` at ${Math.round(r.left)}..${Math.round(r.right)}`);
  }
  return bad.slice(0, 4).join(', ');
});
// Each control: on screen, not covered by anything (what a tap at its middle hits is it),
// its label not cut, at least minHeight px tall.
const controls = (page, sels, minHeight) => page.evaluate(([sels, minHeight]) => {
  const bad = [];
  for (const sel of sels) {
    const e = document.querySelector(sel), r = e && e.getBoundingClientRect();
    if (!e || !e.checkVisibility({ visibilityProperty: true }) || !r.width) { bad.push(`${sel} hidden`); continue; }
    if (r.left < 0 || r.top < 0 || r.right > innerWidth + 0.5 || r.bottom > innerHeight + 0.5)
      bad.push(`${sel} at (${Math.round(r.left)}, ${Math.round(r.top)})-(${Math.round(r.right)}, ${Math.round(r.bottom)})`);
    else if (!e.contains(document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2)))
      bad.push(`${sel} covered`);
    if (e.tagName === 'BUTTON' && e.scrollWidth > e.clientWidth) bad.push(`${sel}'s label cut`);
    if (r.height < minHeight) bad.push(`${sel} ${r.height.toFixed(1)} px tall`);
  }
  return bad.join(', ');
}, [sels, minHeight]);
const PHONE_CONTROLS = ['#nick', '#nick-form button', '#rooms-toggle', '#people-toggle', '#to', '#text',
                        '#send-form button'];
// A drawer ('rooms-panel' or 'people') is open once it is visible and has slid to its edge
const drawerOpen = (page, id) => page.waitForFunction((id) => {
  const e = document.getElementById(id), r = e.getBoundingClientRect();
  return getComputedStyle(e).visibility === 'visible' && (id === 'people' ? Math.abs(r.right - innerWidth) < 0.5 : Math.abs(r.left) < 0.5);
}, id);
const drawerShut = (page, id) => page.waitForFunction((id) =>
  !document.getElementById(id).checkVisibility({ visibilityProperty: true }), id);
// Text drawn in the page's font on a canvas: a character without a font is drawn as the same
// box as an unassigned code point (U+0378); a colour emoji has coloured pixels.
const glyphs = (page, text) => page.evaluate((text) => {
  const c = document.createElement('canvas'), g = c.getContext('2d', { willReadFrequently: true });
  c.width = c.height = 48;
  const draw = (ch) => {
    g.clearRect(0, 0, 48, 48);
    g.font = `32px ${getComputedStyle(document.body).fontFamily}`;
    g.textBaseline = 'top';
    g.fillStyle = '#000';
    g.fillText(ch, 4, 4);
    return g.getImageData(0, 0, 48, 48).data;
  };
  const box = draw('\u0378').join(), bad = [];
  for (const ch of new Set(text)) {
    const cp = ch.codePointAt(0);
    if (cp < 0x2000 || /\s/.test(ch)) continue;
    const px = draw(ch);
    if (px.join() === box) { bad.push(`${ch} is a box`); continue; }
    if (cp >= 0x1F000) {
      let coloured = 0;
      for (let i = 0; i < px.length; i += 4)
        if (px[i + 3] && Math.max(px[i], px[i + 1], px[i + 2]) - Math.min(px[i], px[i + 1], px[i + 2]) > 60) coloured++;
      if (coloured < 20) bad.push(`${ch} is not in colour`);
    }
  }
  return bad.length > 3 ? `${bad.slice(0, 3).join(', ')} and ${bad.length - 3} more` : bad.join(', ');
}, text);

try {
  let bob, ann, cid;
  await check('bob opens the page, connects and renames himself', async () => { bob = await user('bob'); });
  await check('ann does the same', async () => { ann = await user('ann'); });
  await check("Chromium's default offer: permessage-deflate agreed, with server_no_context_takeover and a 1 KiB window for what it compresses", async () => {
    for (const page of [bob, ann]) {
      const ext = await page.evaluate(() => ws && ws.extensions);
      if (ext !== 'permessage-deflate; server_no_context_takeover; client_max_window_bits=10')
        throw new Error(`Sec-WebSocket-Extensions: ${JSON.stringify(ext)}`);
    }
  });
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
  await check('desktop (1100 px): the rooms and the online list beside the messages, no drawer buttons, nothing wider than the window', async () => {
    const bad = await overflow(ann) || await controls(ann, ['#rooms li', '#new-room', '#online li', '#nick',
      '#nick-form button', '#to', '#text', '#send-form button'], 0);
    if (bad) throw new Error(bad);
    if (await ann.isVisible('#rooms-toggle') || await ann.isVisible('#people-toggle')) throw new Error('drawer buttons shown');
  });

  // a fourth user, on a phone; their name is Chinese
  let ming;
  await check('小明 opens the page on a 390x844 touch phone, connects, taps Rename', async () => { ming = await user('小明', true); });
  await check('phone: nothing is wider than the screen (the page scrolls no wider than 390 px)', async () => {
    const [w, sw] = await ming.evaluate(() => [innerWidth, document.documentElement.scrollWidth]);
    if (w !== PHONE.width) throw new Error(`innerWidth is ${w}: the phone zoomed out to fit a page ${sw} px wide`);
    const bad = await overflow(ming);
    if (bad) throw new Error(`${bad} (scrollWidth ${sw})`);
  });
  await check('phone: name, Rename, Rooms, Online, recipient, message box and Send on screen, uncovered, labels whole, >= 44 px tall', async () => {
    const bad = await controls(ming, PHONE_CONTROLS, 44);
    if (bad) throw new Error(bad);
  });
  await check('phone: the rooms and the online list are shut drawers, the messages get the width', async () => {
    await drawerShut(ming, 'rooms-panel');
    await drawerShut(ming, 'people');
    const w = await ming.$eval('#messages', (m) => m.getBoundingClientRect().width);
    if (w !== PHONE.width) throw new Error(`#messages is ${w} px wide`);
  });
  await check('小明 taps Send: Chinese and an emoji; ann sees it, the tick comes', async () => {
    await tapSend(ming, MINI);
    await sees(ann, '小明', MINI);
    await ming.waitForSelector('.log.current li.msg.mine.acked');
  });
  await check('ann answers in Chinese: on the phone, the message, its time and tick within the screen', async () => {
    await say(ann, TCP);
    await sees(ming, 'ann', TCP);
    const bad = await overflow(ming) || await controls(ming, ['.log.current li.msg:last-child .meta',
      '.log.current li.msg:last-child .text', '.log.current li.mine .meta'], 0);
    if (bad) throw new Error(bad);
    const tick = await ming.$eval('li.msg.mine.acked .meta', (m) => getComputedStyle(m, '::after').content);
    if (!tick.includes('\u2713')) throw new Error(`the mark is ${tick}`);
  });
  await check('fonts: the Chinese text and the emoji are drawn, not boxes (fonts-noto-cjk, fonts-noto-color-emoji)', async () => {
    const bad = await glyphs(ann, MINI + TCP + '小明');
    if (bad) throw new Error(`${bad}: apt-get install fonts-noto-cjk fonts-noto-color-emoji`);
  });
  await check(`the phone's page in a screenshot (${phoneShot})`, async () => {
    await ming.screenshot({ path: phoneShot });
    if (!statSync(phoneShot).size) throw new Error('empty');
  });
  await check('ann\'s page in a screenshot', async () => {
    await ann.screenshot({ path: screenshot });
  });
  await check('phone: a tap on the Online button opens the list: ann, bob and 小明; nothing overflows; a tap beside it shuts it', async () => {
    const count = await ming.textContent('#people-count');
    if (count !== '3') throw new Error(`the button says ${count}`);
    await ming.tap('#people-toggle');
    await drawerOpen(ming, 'people');
    if (await ming.getAttribute('#people-toggle', 'aria-expanded') !== 'true') throw new Error('aria-expanded is not true');
    const names = await online(ming), title = await ming.textContent('#online-title');
    if (names !== 'ann,bob,小明' || title !== 'Online in #lobby (3)') throw new Error(`${title}: ${names}`);
    const bad = await overflow(ming) || await controls(ming, ['#online li:last-child'], 0);
    if (bad) throw new Error(bad);
    await ming.tap('#scrim', { position: { x: 20, y: 200 } });
    await drawerShut(ming, 'people');
  });
  await check('phone: a tap on Rooms opens them; a tap on # random switches, shuts the drawer; #lobby sees 小明 leave', async () => {
    await ming.tap('#rooms-toggle');
    await drawerOpen(ming, 'rooms-panel');
    const bad = await overflow(ming) || await controls(ming, ['#rooms li[data-room="help"]', '#new-room', '#room-form button'], 44);
    if (bad) throw new Error(bad);
    await ming.tap('#rooms li[data-room="random"]');
    await ming.waitForFunction(() => document.getElementById('title').textContent === '# random');
    await drawerShut(ming, 'rooms-panel');
    await notice(ann, '小明 left #lobby');
    await ming.waitForFunction(() => document.getElementById('people-count').textContent === '2');
    if (await online(ming) !== 'cid,小明') throw new Error(await online(ming));
    const bad2 = await controls(ming, PHONE_CONTROLS, 44);
    if (bad2) throw new Error(bad2);
  });
  await check('phone: a room typed into the drawer: 小明 is in # 手机 and can talk there', async () => {
    await ming.tap('#rooms-toggle');
    await drawerOpen(ming, 'rooms-panel');
    await ming.fill('#new-room', '手机');
    await ming.tap('#room-form button');
    await ming.waitForFunction(() => document.getElementById('title').textContent === '# 手机');
    await drawerShut(ming, 'rooms-panel');
    await tapSend(ming, '有人吗？');
    await ming.waitForSelector('.log.current li.msg.mine.acked');
    await ming.tap('#people-toggle');               // and Escape shuts a drawer
    await drawerOpen(ming, 'people');
    await ming.keyboard.press('Escape');
    await drawerShut(ming, 'people');
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
