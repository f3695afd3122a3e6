// Tests of the extension's client code (out/core.js, the part that does not
// need VS Code) against the real `ghostline lsp`, spoken to with
// vscode-languageserver-protocol / vscode-jsonrpc, the libraries inside
// vscode-languageclient. The transport below is what extension.ts passes to
// Completer (client.sendRequest / client.sendNotification); document sync
// is sent as vscode-languageclient sends it (incremental didChange).
//
// The server command comes from GHOSTLINE_LSP_CMD (default "ghostline lsp").
// With --fake-completer in it the exact suggestions are known and checked;
// with a real model the checks are on shape (ranges, counts, feedback).
//
// Run: npm ci && npm test   (GHOSTLINE_LSP_CMD="/tmp/ghostline lsp --fake-completer")
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const {
  createProtocolConnection, StreamMessageReader, StreamMessageWriter,
  InitializeRequest, InitializedNotification, ShutdownRequest, ExitNotification,
  DidOpenTextDocumentNotification, DidChangeTextDocumentNotification, DidCloseTextDocumentNotification,
  DidChangeConfigurationNotification, WorkDoneProgressCreateRequest, WorkDoneProgress, CancellationTokenSource,
} = require('vscode-languageserver-protocol/node');
const core = require('../out/core.js');

const serverCmd = (process.env.GHOSTLINE_LSP_CMD || 'ghostline lsp').trim().split(/\s+/);
const fake = serverCmd.includes('--fake-completer') || serverCmd.includes('-fake-completer');
// A real model may need to load (and download) first.
const loadTimeout = fake ? 5000 : 300000;

function waitFor(pred, what, ms) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = () => {
      if (pred()) return resolve();
      if (Date.now() - t0 > ms) return reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
      setTimeout(tick, 5);
    };
    tick();
  });
}

test('readSettings: defaults, user values, and bad values fall back with a problem', () => {
  const cases = [
    { name: 'empty', cfg: {}, want: { ...core.defaultSettings }, problems: 0 },
    { name: 'user values', cfg: { serverPath: '/opt/gl', model: 'm.gguf', debounceMs: 0, maxLines: 3, crossFileBudget: 0, astguard: false, enable: { go: false } },
      want: { ...core.defaultSettings, serverPath: '/opt/gl', model: 'm.gguf', debounceMs: 0, maxLines: 3, crossFileBudget: 0, astguard: false, enable: { ...core.defaultSettings.enable, go: false } }, problems: 0 },
    { name: 'out of range', cfg: { maxLines: 0, debounceMs: 9000, crossFileBudget: -1 }, want: { ...core.defaultSettings }, problems: 3 },
    { name: 'wrong types', cfg: { maxLines: '4', astguard: 'yes', enable: ['go'], serverArgs: 'x', crossFileBudget: '512' }, want: { ...core.defaultSettings }, problems: 5 },
    { name: 'blank server path keeps the default', cfg: { serverPath: '  ' }, want: { ...core.defaultSettings }, problems: 0 },
  ];
  for (const c of cases) {
    const { settings, problems } = core.readSettings((k) => c.cfg[k]);
    assert.deepEqual(settings, { ...c.want, serverArgs: c.want.serverArgs ?? [] }, c.name);
    assert.equal(problems.length, c.problems, `${c.name}: ${problems.join('; ')}`);
  }
  const { settings } = core.readSettings((k) => ({ maxLines: 4, serverArgs: ['--log', 'x'] })[k]);
  assert.deepEqual(core.serverCommand(settings), { command: 'ghostline', args: ['lsp', '--log', 'x'] });
  // The shape lsp/config.go reads: under "ghostline", these key names.
  assert.deepEqual(core.serverSettings(settings), {
    ghostline: { model: '', maxLines: 4, debounceMs: 50, crossFileBudget: 512, astguard: true, enable: { '*': true, plaintext: false, markdown: false, scminput: false } },
  });
  assert.equal(core.enabledFor(settings, 'go'), true);
  assert.equal(core.enabledFor(settings, 'markdown'), false);
  assert.equal(core.enabledFor({ ...settings, enable: { '*': false, go: true } }, 'rust'), false);
});

test('crossFileBudget: read, checked against the server\'s bounds (0..1048576), forwarded as crossFileBudget', () => {
  // lsp/config.go: default 512, accepted 0..1<<20, 0 turns cross-file context off.
  assert.equal(core.defaultSettings.crossFileBudget, 512);
  assert.deepEqual(core.limits.crossFileBudget, [0, 1048576]);
  const cases = [
    { name: 'unset', v: undefined, want: 512 },
    { name: 'null', v: null, want: 512 },
    { name: '0 turns cross-file context off', v: 0, want: 0 },
    { name: 'small', v: 1, want: 1 },
    { name: 'the default', v: 512, want: 512 },
    { name: 'larger', v: 2048, want: 2048 },
    { name: 'the upper bound', v: 1048576, want: 1048576 },
    { name: 'negative', v: -1, want: 512, problem: /ghostline\.crossFileBudget must be an integer in 0\.\.1048576, got -1/ },
    { name: 'past the upper bound', v: 1048577, want: 512, problem: /in 0\.\.1048576, got 1048577/ },
    { name: 'fractional', v: 256.5, want: 512, problem: /got 256\.5/ },
    { name: 'a string', v: '1024', want: 512, problem: /got "1024"/ },
    { name: 'a boolean', v: false, want: 512, problem: /got false/ },
    { name: 'NaN', v: NaN, want: 512, problem: /crossFileBudget/ },
    { name: 'Infinity', v: Infinity, want: 512, problem: /crossFileBudget/ },
  ];
  for (const c of cases) {
    const { settings, problems } = core.readSettings((k) => (k === 'crossFileBudget' ? c.v : undefined));
    assert.equal(settings.crossFileBudget, c.want, c.name);
    if (c.problem) {
      assert.equal(problems.length, 1, `${c.name}: ${problems.join('; ')}`);
      assert.match(problems[0], c.problem, c.name);
    } else {
      assert.deepEqual(problems, [], c.name);
    }
    // What the server's Config.Apply reads: a number under ghostline.crossFileBudget.
    assert.equal(core.serverSettings(settings).ghostline.crossFileBudget, c.want, `${c.name}: forwarded`);
    // The other settings are untouched by it.
    assert.deepEqual({ ...settings, crossFileBudget: 512 }, { ...core.defaultSettings, serverArgs: [] }, `${c.name}: other settings`);
  }
});

test('trigger kinds map from VS Code (0-based) to LSP 3.18 (1-based)', () => {
  assert.equal(core.lspTriggerKind(0), core.LspTrigger.Invoked);
  assert.equal(core.lspTriggerKind(1), core.LspTrigger.Automatic);
});

test('normalizeResult accepts every 3.18 answer shape and drops empty items', () => {
  const r = { start: { line: 1, character: 2 }, end: { line: 1, character: 2 } };
  const cases = [
    { name: 'null', in: null, want: [] },
    { name: 'list', in: { items: [{ insertText: 'a', range: r }] }, want: [['a', false, r]] },
    { name: 'array', in: [{ insertText: 'a' }, { insertText: 'b' }], want: [['a', false, undefined], ['b', false, undefined]] },
    { name: 'snippet StringValue', in: [{ insertText: { kind: 'snippet', value: 'f(${1:x})' } }], want: [['f(${1:x})', true, undefined]] },
    { name: 'empty and malformed dropped', in: { items: [{ insertText: '' }, { insertText: 3 }, null, { insertText: 'ok', range: { start: 1 } }] }, want: [['ok', false, undefined]] },
    { name: 'not a list', in: { items: 'x' }, want: [] },
  ];
  for (const c of cases) {
    assert.deepEqual(core.normalizeResult(c.in).map((i) => [i.insertText, i.snippet, i.range]), c.want, c.name);
  }
});

test('accept word / line take what VS Code accepts next', () => {
  const cases = [
    ['foo(bar)', 3, 8], ['  foo bar', 5, 9], ['(x)', 1, 3], ['\n\tghost0()\n}', 1, 11],
    ['x\ny', 1, 2], ['αβγ δ', 3, 5], ['', 0, 0], ['\r\nx', 2, 3],
  ];
  for (const [text, word, line] of cases) {
    assert.equal(core.nextWordLength(text), word, `word of ${JSON.stringify(text)}`);
    assert.equal(core.nextLineLength(text), line, `line of ${JSON.stringify(text)}`);
  }
});

test('Status: loading, ready, generating, error, disabled', () => {
  const s = new core.Status();
  const seen = [];
  s.onChange((v) => seen.push(v.kind));
  s.started();
  s.onProgress('t', { kind: 'begin', title: 'Ghostline: loading model', percentage: 0 });
  s.onProgress('t', { kind: 'report', percentage: 40 });
  assert.equal(s.view().text, '$(loading~spin) Ghostline 40%');
  s.requestStarted(); // a request while loading: still loading
  assert.equal(s.view().kind, 'loading');
  s.onProgress('t', { kind: 'end' });
  assert.equal(s.view().kind, 'generating');
  s.requestEnded();
  s.requestStarted();
  s.requestEnded('boom');
  assert.match(s.view().tooltip, /boom/);
  s.requestStarted();
  s.requestEnded();
  s.setDisabledLanguage('markdown');
  s.stopped('exit 1');
  assert.match(s.view().tooltip, /exit 1/);
  s.started(); // restarted
  assert.deepEqual(s.history, ['starting', 'ready', 'loading', 'generating', 'ready', 'generating', 'error', 'generating', 'ready', 'disabled', 'stopped', 'disabled']);
  assert.deepEqual(seen.slice(-2), ['stopped', 'disabled']);
});

test('a VS Code session against ghostline lsp: open, type, suggest, accept, cancel, shut down', { timeout: loadTimeout + 60000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ghostline-vscode-'));
  const feedbackLog = path.join(dir, 'feedback.jsonl');
  const child = spawn(serverCmd[0], [...serverCmd.slice(1), '--feedback-log', feedbackLog], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b) => { stderr += b; });
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  // A server that cannot start or dies early fails the test at once.
  const died = new Promise((_, reject) => {
    child.on('error', (err) => reject(new Error(`could not start ${serverCmd.join(' ')}: ${err.message} (set GHOSTLINE_LSP_CMD)`)));
    child.on('exit', (code) => reject(new Error(`the server exited early (status ${code})`)));
  });
  died.catch(() => {}); // observed by the races below
  const conn = createProtocolConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
  try {
    // Progress as vscode-languageclient's ProgressFeature wires it, fed to
    // Status as the extension's handleWorkDoneProgress middleware does.
    const status = new core.Status();
    const shownMessages = [];
    conn.onRequest(WorkDoneProgressCreateRequest.type, ({ token }) => {
      conn.onProgress(WorkDoneProgress.type, token, (v) => status.onProgress(token, v));
      return null;
    });
    conn.onNotification('window/showMessage', (p) => shownMessages.push(p));
    conn.listen();

    let settings = core.readSettings((k) => ({ debounceMs: 0 })[k]).settings;
    const sent = [];
    const transport = {
      sendRequest: (m, p, t) => { sent.push(m); return t ? conn.sendRequest(m, p, t) : conn.sendRequest(m, p); },
      sendNotification: (m, p) => { sent.push(m); return conn.sendNotification(m, p); },
    };
    const completer = new core.Completer(transport, status, () => settings);

    const init = await Promise.race([died, conn.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      clientInfo: { name: 'Visual Studio Code', version: '1.91.0' },
      rootUri: null,
      workspaceFolders: null,
      capabilities: {
        general: { positionEncodings: ['utf-16'] },
        textDocument: { inlineCompletion: { dynamicRegistration: true }, synchronization: { dynamicRegistration: true, didSave: true } },
        window: { workDoneProgress: true },
        workspace: { configuration: true, didChangeConfiguration: { dynamicRegistration: true } },
      },
      initializationOptions: core.serverSettings(settings),
    })]);
    assert.ok(init.capabilities.inlineCompletionProvider, 'server announces inline completion');
    assert.equal(init.capabilities.textDocumentSync.change, 2, 'incremental sync');
    assert.deepEqual(init.capabilities.executeCommandProvider.commands, ['ghostline.didAccept']);
    status.started();
    await conn.sendNotification(InitializedNotification.type, {});
    // The model loads behind $/progress: the status shows it, then ready.
    await Promise.race([died, waitFor(() => (status.history.includes('loading') && status.view().kind === 'ready') || shownMessages.length > 0, 'model loading to end', loadTimeout)]);
    assert.deepEqual(shownMessages, [], 'no warnings about our settings');

    const uri = 'file:///work/demo/main.go';
    let version = 1;
    // With the real model the cursor line ends in a comment, so the
    // suggestion is one line (text after the cursor: single-line mode) and
    // accept-line takes all of it; at the end of an empty line the engine
    // may suggest a whole block, which this line-based replay cannot type.
    const lines = ['package main', '', 'import "fmt"', '', 'func main() {', fake ? '\t' : '\t // greet the user', '}', ''];
    await conn.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: 'go', version, text: lines.join('\n') } });
    const at = (line, character) => ({ line, character });
    const type = async (line, col, text) => {
      for (let i = 0; i < text.length; i++) {
        await conn.sendNotification(DidChangeTextDocumentNotification.type, {
          textDocument: { uri, version: ++version },
          contentChanges: [{ range: { start: at(line, col + i), end: at(line, col + i) }, text: text[i] }],
        });
      }
      return col + text.length;
    };
    const doc = { uri, languageId: 'go' };
    const col = await type(5, 1, 'fmt.Pri');

    // Automatic (VS Code 1): one item at the cursor; "generating" while in flight.
    const kindsDuring = [];
    const pending = completer.provide(doc, at(5, col), core.lspTriggerKind(1), new CancellationTokenSource().token);
    kindsDuring.push(status.view().kind);
    let items = await pending;
    assert.deepEqual(kindsDuring, ['generating']);
    assert.equal(status.view().kind, 'ready');
    assert.equal(items.length, 1, 'Automatic: one item');
    assert.deepEqual(items[0].range, { start: at(5, col), end: at(5, col) });
    assert.equal(items[0].command.command, 'ghostline.didAccept');
    if (fake) assert.equal(items[0].insertText, 'ghost0(Pri)');
    else assert.ok(items[0].insertText.length > 0);

    // Invoked (VS Code 0): alternatives to cycle through, all distinct.
    const invoked = await completer.provide(doc, at(5, col), core.lspTriggerKind(0));
    assert.ok(invoked.length >= 1 && invoked.length <= 3);
    assert.equal(new Set(invoked.map((i) => i.insertText)).size, invoked.length, 'distinct alternatives');
    if (fake) assert.deepEqual(invoked.map((i) => i.insertText), ['ghost0(Pri)', 'ghost1(Pri)', 'ghost2(Pri)']);

    // Shown, then accepted word by word and line by line (as our
    // ghostline.acceptWord/acceptLine commands report it), each part typed
    // into the document as VS Code inserts it; then the whole accept runs
    // the item's command.
    const item = items[0];
    await completer.didShow(item);
    const w = await completer.didAcceptPart('word');
    assert.equal(w, core.nextWordLength(item.insertText));
    let c2 = await type(5, col, item.insertText.slice(0, w));
    const l = await completer.didAcceptPart('line');
    assert.equal(w + l, item.insertText.length, 'the rest of the one-line item');
    c2 = await type(5, c2, item.insertText.slice(w));
    assert.equal(await completer.didAcceptPart('word'), 0, 'nothing left to accept');
    await completer.didAccept(item);

    // Typing along a suggestion: the server answers with the remainder
    // (without running the model again); the client shows it as is.
    const first = await completer.provide(doc, at(5, c2), core.lspTriggerKind(1));
    if (fake) assert.equal(first.length, 1);
    if (first.length > 0) { // a real model may have nothing to add here
      const typed = first[0].insertText.slice(0, 2);
      c2 = await type(5, c2, typed);
      const rest = await completer.provide(doc, at(5, c2), core.lspTriggerKind(1));
      if (fake) assert.deepEqual(rest.map((i) => i.insertText), [first[0].insertText.slice(2)]);
      assert.deepEqual(rest[0].range, { start: at(5, c2), end: at(5, c2) });
    }

    // Cancellation: VS Code cancels the token when the user moves on. The
    // answer is "no suggestion", not an error, and promptly.
    {
      // The fake blocks on a line containing BLOCK until cancelled; a real
      // model is cancelled mid-decode: at the start of line 5, lines go in
      // before the comment (a multi-line completion, seconds of decoding),
      // and no earlier suggestion can answer without the model.
      const bpos = fake ? at(6, await type(6, 0, '// BLOCK')) : at(5, 0);
      const cts = new CancellationTokenSource();
      const t0 = Date.now();
      const p = completer.provide(doc, bpos, core.lspTriggerKind(0), cts.token);
      setTimeout(() => cts.cancel(), 50);
      assert.deepEqual(await p, []);
      assert.ok(Date.now() - t0 < 2000, `cancelled promptly (${Date.now() - t0} ms)`);
      assert.equal(status.view().kind, 'ready', 'a cancellation is not an error');
    }
    if (fake) {
      // Supersession: the server cancels the older request for the
      // document (RequestCancelled); the client shows the newer answer.
      const older = completer.provide(doc, at(6, 8), core.lspTriggerKind(1));
      await new Promise((r) => setTimeout(r, 30));
      const newer = completer.provide(doc, at(5, 4), core.lspTriggerKind(1));
      assert.deepEqual(await older, []);
      assert.deepEqual((await newer).map((i) => i.insertText), ['ghost0(fmt)']);
      assert.equal(status.view().kind, 'ready');
    }

    // A request the server refuses (position past the end) is an error state
    // with the server's message, cleared by the next good answer.
    assert.deepEqual(await completer.provide(doc, at(99, 0), core.lspTriggerKind(1)), []);
    assert.equal(status.view().kind, 'error');
    assert.match(status.view().tooltip, /position/);
    assert.ok((await completer.provide(doc, at(5, 4), core.lspTriggerKind(1))).length > 0);
    assert.equal(status.view().kind, 'ready');

    // Switching the language off: no request at all from the client, and the
    // server (told by didChangeConfiguration) answers nothing either.
    settings = core.readSettings((k) => ({ debounceMs: 0, enable: { go: false } })[k]).settings;
    await conn.sendNotification(DidChangeConfigurationNotification.type, { settings: core.serverSettings(settings) });
    const before = sent.length;
    assert.deepEqual(await completer.provide(doc, at(5, 4), core.lspTriggerKind(1)), []);
    assert.equal(sent.length, before, 'no request for a disabled language');
    assert.equal(status.view().kind, 'disabled');
    const direct = await conn.sendRequest('textDocument/inlineCompletion', core.inlineParams(uri, at(5, 4), 1));
    assert.deepEqual(core.normalizeResult(direct), []);
    assert.deepEqual(shownMessages, []);

    // crossFileBudget: the client refuses exactly what the server refuses.
    // In-bounds values go through readSettings/serverSettings as the
    // extension sends them and draw no warning; a value the client refuses
    // is sent raw, and the server refuses it too, naming the setting.
    {
      const [lo, hi] = core.limits.crossFileBudget;
      for (const v of [lo, 1, hi, lo - 1, hi + 1, core.defaultSettings.crossFileBudget]) {
        const read = core.readSettings((k) => ({ debounceMs: 0, enable: { go: false }, crossFileBudget: v })[k]);
        const clientRefuses = read.problems.length > 0;
        const payload = clientRefuses ? { ghostline: { crossFileBudget: v } } : core.serverSettings(read.settings);
        const n = shownMessages.length;
        await conn.sendNotification(DidChangeConfigurationNotification.type, { settings: payload });
        // A round trip: the server handles notifications in order, so its
        // warning (if any) has arrived before this answer.
        await conn.sendRequest('textDocument/inlineCompletion', core.inlineParams(uri, at(5, 4), 1));
        const warned = shownMessages.slice(n).map((m) => m.message);
        if (clientRefuses) {
          assert.equal(warned.length, 1, `crossFileBudget ${v}: the server refuses it too (${warned.join('; ')})`);
          assert.match(warned[0], new RegExp(`crossFileBudget ${v} outside ${lo}\\.\\.${hi}`));
        } else {
          assert.deepEqual(warned, [], `crossFileBudget ${v}: the server takes it`);
        }
      }
    }

    await conn.sendNotification(DidCloseTextDocumentNotification.type, { textDocument: { uri } });
    assert.equal(await conn.sendRequest(ShutdownRequest.type), null);
    await conn.sendNotification(ExitNotification.type);
    assert.equal(await exited, 0, 'exit after shutdown: status 0');

    // Feedback kept by the server: shown, the two partial accepts (running
    // totals), and the accept.
    const records = fs.readFileSync(feedbackLog, 'utf8').trim().split('\n').map((x) => JSON.parse(x));
    assert.deepEqual(records.map((r) => [r.event, r.acceptedLength]), [['shown', undefined], ['partial', w], ['partial', item.insertText.length], ['accepted', undefined]]);
    assert.ok(records.every((r) => r.text === item.insertText && r.uri === uri && r.languageId === 'go'));
  } catch (err) {
    if (stderr) err.message += `\nserver stderr:\n${stderr.slice(-4000)}`;
    throw err;
  } finally {
    conn.dispose();
    if (child.exitCode === null) child.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
