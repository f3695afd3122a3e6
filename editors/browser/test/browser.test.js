// The browser demo end to end: the bridge (server.js) serves the Monaco
// page and spawns the real `ghostline lsp` (GHOSTLINE_LSP_CMD, default
// "ghostline lsp"); Debian's Chromium, driven by playwright-core, types into
// the editor; the ghost text must be rendered in the DOM, and accepting it
// must insert it. The screenshot goes to docs/screenshots/
// browser-ghost-text.png (GHOSTLINE_SCREENSHOT overrides the path).
//
// Run: npm ci && npm test   (CHROMIUM=/usr/bin/chromium by default)
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const http = require('node:http');
const { WebSocket } = require('ws');
const { chromium } = require('playwright-core');
const { start, Deframer, frame } = require('../server.js');

const serverCmd = (process.env.GHOSTLINE_LSP_CMD || 'ghostline lsp').trim().split(/\s+/);
const fake = serverCmd.includes('--fake-completer') || serverCmd.includes('-fake-completer');
const loadTimeout = fake ? 15000 : 300000;
const answerTimeout = fake ? 10000 : 60000;
const screenshot = process.env.GHOSTLINE_SCREENSHOT
  || path.resolve(__dirname, '..', '..', '..', 'docs', 'screenshots', 'browser-ghost-text.png');
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';

let dir;
let srv;
let browser;
const bridgeLog = [];

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ghostline-browser-'));
  srv = await start({ port: 0, serverCmd: [...serverCmd, '--feedback-log', path.join(dir, 'feedback.jsonl')], log: (m) => bridgeLog.push(m) });
});

after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function waitFor(pred, what, ms) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = () => {
      if (pred()) return resolve();
      if (Date.now() - t0 > ms) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 20);
    };
    tick();
  });
}

test('Deframer splits LSP framing, across chunk boundaries and several per chunk', () => {
  const a = JSON.stringify({ jsonrpc: '2.0', method: 'x', params: { s: 'é😀' } });
  const b = JSON.stringify({ jsonrpc: '2.0', id: 1, result: null });
  const bytes = Buffer.concat([frame(a), frame(b)]);
  for (const cut of [1, 10, 17, 30, bytes.length - 1]) {
    const d = new Deframer();
    const got = [...d.push(bytes.subarray(0, cut)), ...d.push(bytes.subarray(cut))];
    assert.deepEqual(got, [a, b], `cut at ${cut}`);
  }
  assert.throws(() => new Deframer().push(Buffer.from('Foo: 1\r\n\r\n{}')), /Content-Length/);
});

test('the bridge refuses WebSocket connections from other origins, and files outside its folders', async () => {
  const url = srv.url.replace('http:', 'ws:') + 'lsp';
  for (const origin of ['http://evil.example', undefined]) {
    const ws = new WebSocket(url, origin ? { origin } : {});
    const status = await new Promise((resolve) => {
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode));
      ws.on('open', () => resolve('open'));
      ws.on('error', () => resolve('error'));
    });
    ws.terminate();
    assert.equal(status, 401, `origin ${origin}`);
  }
  // DNS rebinding: another site's name resolving to 127.0.0.1, with an
  // Origin that matches its own Host.
  const port = new URL(srv.url).port;
  const rebound = new WebSocket(url, { origin: `http://evil.example:${port}`, headers: { host: `evil.example:${port}` } });
  const reboundStatus = await new Promise((resolve) => {
    rebound.on('unexpected-response', (_req, res) => resolve(res.statusCode));
    rebound.on('open', () => resolve('open'));
    rebound.on('error', () => resolve('error'));
  });
  rebound.terminate();
  assert.equal(reboundStatus, 401, 'a rebound host name');
  assert.equal(srv.children.size, 0, 'no server process spawned for them');
  // A malformed URL is refused, and the bridge serves on.
  for (const p of ['/%', '/monaco/vs/%E0%A4%A']) {
    const code = await new Promise((resolve, reject) => {
      http.get(srv.url.slice(0, -1) + p, (res) => { res.resume(); resolve(res.statusCode); }).on('error', reject);
    });
    assert.equal(code, 403, `${p}: ${code}`);
  }
  for (const p of ['/monaco/vs/..%2f..%2fpackage.json', '/..%2fserver.js', '/%2e%2e/package.json']) {
    const code = await new Promise((resolve, reject) => {
      http.get(srv.url.slice(0, -1) + p, (res) => { res.resume(); resolve(res.statusCode); }).on('error', reject);
    });
    assert.ok(code === 403 || code === 404, `${p}: ${code}`);
  }
});

test('Chromium: typing shows ghost text; Ctrl+Right takes a word, Tab the rest; closing the page ends the server', { timeout: loadTimeout + 120000 }, async () => {
  browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
  const page = await browser.newPage({ viewport: { width: 900, height: 420 } });
  const errors = [];
  // Monaco rejects its own cancelled internal promises with an Error named
  // "Canceled" (it does so when typing cancels a pending inline suggestion
  // request); those surface as page errors but are not failures.
  page.on('pageerror', (e) => { if (e.message !== 'Canceled') errors.push(e.message); });
  await page.goto(srv.url);
  // The page is set up, and the model has loaded behind $/progress (after
  // initialized), or the status shows why not (a server that cannot start).
  await page.waitForFunction(() => (window.ghostline && window.ghostline.ready && window.ghostline.modelLoaded)
    || ['error', 'disconnected'].includes(document.getElementById('status').dataset.kind), null, { timeout: loadTimeout + 30000 });
  assert.equal(await page.evaluate(() => document.getElementById('status').dataset.kind), 'ready',
    `status: ${await page.evaluate(() => document.getElementById('status').textContent)}\nbridge:\n${bridgeLog.join('\n')}`);
  assert.equal(srv.children.size, 1, 'one server process for the page');

  const ghost = () => page.evaluate(() => [...document.querySelectorAll('.ghost-text-decoration, .ghost-text')].map((e) => e.textContent).join(''));
  const line = (n) => page.evaluate((n) => window.ghostline.editor.getModel().getLineContent(n), n);

  // The cursor starts in main's empty body (line 14, after the tab).
  await page.keyboard.type('fmt.Pri', { delay: 60 });
  await page.waitForFunction(() => document.querySelector('.ghost-text-decoration, .ghost-text') !== null, null, { timeout: answerTimeout });
  const shown = await ghost();
  if (fake) assert.equal(shown, 'ghost0(Pri)');
  else assert.ok(shown.length > 0);
  assert.ok(await page.locator('.ghost-text-decoration').first().isVisible(), 'the ghost text is visible');
  const requests = await page.evaluate(() => window.ghostline.requests);
  assert.ok(requests >= 1 && requests <= 7, `Monaco debounces: ${requests} requests for 7 keystrokes`);
  fs.mkdirSync(path.dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot });

  if (fake) {
    // Accept the next word (Monaco's acceptNextWord), then the rest.
    await page.keyboard.press('Control+ArrowRight');
    await page.waitForFunction(() => window.ghostline.editor.getModel().getLineContent(14) === '\tfmt.Prighost0', null, { timeout: 5000 });
    assert.equal(await ghost(), '(Pri)');
  }
  // What Tab must insert: the fake's item is known; for a real model, the
  // item Monaco reported as shown (didShowCompletion, in the server's
  // feedback log) whose text starts with the ghost's first line on screen.
  const feedback = path.join(dir, 'feedback.jsonl');
  const records = () => (fs.existsSync(feedback) ? fs.readFileSync(feedback, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []);
  let item = shown;
  if (!fake) {
    const first = (await page.evaluate(() => document.querySelector('.ghost-text-decoration')?.textContent || '')).replace(/\u00a0/g, ' ');
    const matching = () => records().filter((e) => e.event === 'shown' && typeof e.text === 'string' && e.text.startsWith(first));
    await waitFor(() => matching().length > 0, `a shown record starting with ${JSON.stringify(first)}`, 5000);
    item = matching().at(-1).text;
  }
  // (the fake's word was taken above: Tab inserts what is left on screen)
  const rest = fake ? await ghost() : item;
  const value = () => page.evaluate(() => window.ghostline.editor.getModel().getValue());
  const before = await value();
  const off = await page.evaluate(() => window.ghostline.editor.getModel().getOffsetAt(window.ghostline.editor.getPosition()));
  await page.keyboard.press('Tab');
  await page.waitForFunction((b) => window.ghostline.editor.getModel().getValue() !== b, before, { timeout: 5000 });
  assert.equal(await value(), before.slice(0, off) + rest + before.slice(off), 'Tab inserts exactly the suggestion at the cursor');
  if (fake) assert.equal(await line(14), `\tfmt.Pri${shown}`);
  // Accepting ran the item's command: workspace/executeCommand reaches the
  // server's feedback log.
  await waitFor(() => fs.existsSync(feedback) && fs.readFileSync(feedback, 'utf8').includes('"accepted"'), 'the accepted record', 5000);
  // Monaco reported the display and the partial accept (handleItemDidShow,
  // handlePartialAccept): Copilot-style feedback in the same log.
  const events = fs.readFileSync(feedback, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  // (earlier suggestions, shown while typing, may come first)
  assert.ok(events.some((e) => e.event === 'shown' && e.text === item), `a shown record for ${item}`);
  if (fake) {
    const partial = events.find((e) => e.event === 'partial');
    assert.ok(partial, `a partial record in ${JSON.stringify(events)}`);
    assert.equal(partial.acceptedLength, 'ghost0'.length);
  }
  // The accepted record is for the suggestion, or for its remainder when
  // Monaco asked again after the partial accept (the server then answers
  // with the rest as a new item); after the accept Monaco asks again at the
  // new cursor, so more records may follow.
  assert.ok(events.some((e) => e.event === 'accepted' && e.text.length > 0 && item.endsWith(e.text)), `an accepted record for ${item}: ${JSON.stringify(events)}`);

  if (fake) {
    // Typing on while a request is in flight: Monaco cancels it, the page
    // sends $/cancelRequest, and the status does not stay on "generating".
    await page.keyboard.press('Enter');
    await page.keyboard.type('// BLOCK', { delay: 30 });
    await page.waitForFunction(() => document.getElementById('status').dataset.kind === 'generating', null, { timeout: 5000 });
    await page.keyboard.press('Enter');
    await page.keyboard.type('y', { delay: 30 });
    assert.equal(await page.evaluate(() => document.getElementById('status').dataset.kind), 'ready',
    `status: ${await page.evaluate(() => document.getElementById('status').textContent)}\nbridge:\n${bridgeLog.join('\n')}`);
    assert.ok(await page.evaluate(() => window.ghostline.cancels) >= 1, '$/cancelRequest sent');
    await page.waitForFunction(() => [...document.querySelectorAll('.ghost-text-decoration')].map((e) => e.textContent).join('') === 'ghost0(y)', null, { timeout: answerTimeout });
  }
  assert.deepEqual(errors, [], 'no errors in the page');

  // Closing the page: the bridge shuts the server down (shutdown, exit: status 0).
  await page.close();
  await waitFor(() => srv.children.size === 0, 'the server process to end', 5000);
  assert.deepEqual(srv.exits.at(-1), { code: 0, signal: null }, bridgeLog.join('\n'));
});
