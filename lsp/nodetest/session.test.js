// Drives `ghostline lsp --fake-completer` with vscode-languageserver-protocol
// and vscode-jsonrpc, the protocol libraries inside VS Code's language
// client, through a session of opening, typing, inline completion,
// cancellation, supersession and shutdown. Every message both ways is
// recorded off the wire and checked at the end.
//
// Run (from lsp/nodetest): npm ci && node --test
// GHOSTLINE_BIN=path skips building the binary with `go build`.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { PassThrough } = require('node:stream');
const {
  createProtocolConnection, StreamMessageReader, StreamMessageWriter,
  InitializeRequest, InitializedNotification, ShutdownRequest, ExitNotification,
  DidOpenTextDocumentNotification, DidChangeTextDocumentNotification, DidCloseTextDocumentNotification,
  InlineCompletionRequest, InlineCompletionTriggerKind, TextDocumentSyncKind,
  WorkDoneProgressCreateRequest, LSPErrorCodes, ErrorCodes, CancellationTokenSource,
  ResponseError, PositionEncodingKind,
} = require('vscode-languageserver-protocol/node');

const repoRoot = path.resolve(__dirname, '..', '..');

function buildServer(dir) {
  if (process.env.GHOSTLINE_BIN) return process.env.GHOSTLINE_BIN;
  const bin = path.join(dir, 'ghostline');
  execFileSync('go', ['build', '-o', bin, './cmd/ghostline'], { cwd: repoRoot, stdio: 'inherit' });
  return bin;
}

// Splits a recorded byte stream into JSON-RPC messages, checking framing.
function parseWire(buf) {
  const msgs = [];
  let off = 0;
  while (off < buf.length) {
    const sep = buf.indexOf('\r\n\r\n', off);
    assert.ok(sep >= 0, `unterminated header at byte ${off}`);
    const header = buf.subarray(off, sep).toString('ascii');
    const m = /^Content-Length: (\d+)$/im.exec(header);
    assert.ok(m, `no Content-Length in header ${JSON.stringify(header)}`);
    const n = Number(m[1]);
    const body = buf.subarray(sep + 4, sep + 4 + n);
    assert.equal(body.length, n, 'truncated body');
    const msg = JSON.parse(body.toString('utf8'));
    assert.equal(msg.jsonrpc, '2.0');
    msgs.push(msg);
    off = sep + 4 + n;
  }
  return msgs;
}

// A short description of a message for comparing transcripts.
function describe(msg) {
  if (msg.method !== undefined) return msg.id !== undefined ? `call ${msg.method}` : `notify ${msg.method}`;
  return msg.error ? `error ${msg.error.code}` : 'result';
}

function waitFor(pred, what, ms = 5000) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = () => {
      if (pred()) return resolve();
      if (Date.now() - t0 > ms) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 5);
    };
    tick();
  });
}

test('ghostline lsp speaks LSP 3.18 inline completion as VS Code does', { timeout: 120000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ghostline-nodetest-'));
  const bin = buildServer(dir);
  const feedbackLog = path.join(dir, 'feedback.jsonl');
  const child = spawn(bin, ['lsp', '--fake-completer', '--feedback-log', feedbackLog, '--log', path.join(dir, 'server.log')],
    { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));

  // Record both directions off the wire.
  const toServer = [];
  const fromServer = [];
  const tap = new PassThrough();
  tap.on('data', (b) => toServer.push(Buffer.from(b)));
  tap.pipe(child.stdin);
  child.stdout.on('data', (b) => fromServer.push(Buffer.from(b)));

  const conn = createProtocolConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(tap));
  const progress = [];
  const shown = [];
  conn.onRequest(WorkDoneProgressCreateRequest.type, () => null);
  conn.onNotification('$/progress', (p) => progress.push(p.value.kind));
  conn.onNotification('window/showMessage', (p) => shown.push(p));
  conn.listen();

  const init = await conn.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    rootUri: 'file:///work/demo',
    workspaceFolders: [{ uri: 'file:///work/demo', name: 'demo' }],
    capabilities: {
      general: { positionEncodings: [PositionEncodingKind.UTF16] },
      textDocument: { inlineCompletion: { dynamicRegistration: false }, synchronization: { dynamicRegistration: false } },
      window: { workDoneProgress: true },
      workspace: { workspaceFolders: true },
    },
    initializationOptions: { ghostline: { debounceMs: 0 } },
  });
  assert.equal(init.serverInfo.name, 'ghostline');
  assert.equal(init.capabilities.positionEncoding, 'utf-16');
  assert.deepEqual(init.capabilities.textDocumentSync, { openClose: true, change: TextDocumentSyncKind.Incremental });
  assert.deepEqual(init.capabilities.inlineCompletionProvider, {});
  assert.equal(init.capabilities.completionProvider, undefined, 'no completion fallback for a client with inline completion');
  assert.deepEqual(init.capabilities.workspace.workspaceFolders, { supported: true, changeNotifications: true });

  await conn.sendNotification(InitializedNotification.type, {});
  // The fake loads instantly: begin and end of the model-loading progress.
  await waitFor(() => progress.includes('end'), 'model loading progress');
  assert.deepEqual(progress, ['begin', 'end']);

  // Open a CRLF document with an astral character before the cursor line.
  const uri = 'file:///work/demo/a.ts';
  let version = 1;
  await conn.sendNotification(DidOpenTextDocumentNotification.type, {
    textDocument: { uri, languageId: 'typescript', version, text: "const s = '😀';\r\nfunction f() {\r\n  ret\r\n}\r\n" },
  });
  // Type "urn v" one character at a time after "ret" (line 2, character 5).
  const typed = 'urn v';
  for (let i = 0; i < typed.length; i++) {
    await conn.sendNotification(DidChangeTextDocumentNotification.type, {
      textDocument: { uri, version: ++version },
      contentChanges: [{ range: { start: { line: 2, character: 5 + i }, end: { line: 2, character: 5 + i } }, text: typed[i] }],
    });
  }
  // An edit on the astral line: 😀 is two UTF-16 units (characters 11..13).
  await conn.sendNotification(DidChangeTextDocumentNotification.type, {
    textDocument: { uri, version: ++version },
    contentChanges: [{ range: { start: { line: 0, character: 11 }, end: { line: 0, character: 13 } }, text: '𝄞𝄞' }],
  });

  const ctx = (triggerKind) => ({ triggerKind });
  const at = (line, character) => ({ line, character });
  let res = await conn.sendRequest(InlineCompletionRequest.type, { textDocument: { uri }, position: at(2, 10), context: ctx(InlineCompletionTriggerKind.Automatic) });
  assert.equal(res.items.length, 1, 'Automatic: one item');
  assert.equal(res.items[0].insertText, 'ghost0(v)');
  assert.deepEqual(res.items[0].range, { start: at(2, 10), end: at(2, 10) });
  assert.equal(res.items[0].command.command, 'ghostline.didAccept');
  const shownItem = res.items[0];

  // Typing along the suggestion: the remainder, same shape.
  await conn.sendNotification(DidChangeTextDocumentNotification.type, {
    textDocument: { uri, version: ++version },
    contentChanges: [{ range: { start: at(2, 10), end: at(2, 10) }, text: 'gh' }],
  });
  res = await conn.sendRequest(InlineCompletionRequest.type, { textDocument: { uri }, position: at(2, 12), context: ctx(InlineCompletionTriggerKind.Automatic) });
  assert.deepEqual(res.items.map((i) => i.insertText), ['ost0(v)']);

  // Invoked: three distinct items to cycle through.
  res = await conn.sendRequest(InlineCompletionRequest.type, { textDocument: { uri }, position: at(2, 12), context: ctx(InlineCompletionTriggerKind.Invoked) });
  assert.deepEqual(res.items.map((i) => i.insertText), ['ghost0(vgh)', 'ghost1(vgh)', 'ghost2(vgh)']);

  // selectedCompletionInfo: items extend the popup's selected text over its range.
  res = await conn.sendRequest(InlineCompletionRequest.type, {
    textDocument: { uri }, position: at(2, 12),
    context: { triggerKind: InlineCompletionTriggerKind.Automatic, selectedCompletionInfo: { range: { start: at(2, 9), end: at(2, 12) }, text: 'value' } },
  });
  assert.deepEqual(res.items.map((i) => i.insertText), ['valueghost0(value)']);
  assert.deepEqual(res.items[0].range, { start: at(2, 9), end: at(2, 12) });

  // Cancellation: the fake blocks on a line containing BLOCK until cancelled.
  await conn.sendNotification(DidChangeTextDocumentNotification.type, {
    textDocument: { uri, version: ++version },
    contentChanges: [{ range: { start: at(2, 2), end: at(2, 12) }, text: 'BLOCK' }],
  });
  const cts = new CancellationTokenSource();
  const blocked = conn.sendRequest(InlineCompletionRequest.type, { textDocument: { uri }, position: at(2, 7), context: ctx(InlineCompletionTriggerKind.Invoked) }, cts.token);
  setTimeout(() => cts.cancel(), 50);
  const t0 = Date.now();
  await assert.rejects(blocked, (err) => err instanceof ResponseError && err.code === LSPErrorCodes.RequestCancelled);
  assert.ok(Date.now() - t0 < 2000, 'cancellation answered promptly');

  // Supersession: a newer request for the same document cancels the older.
  const older = conn.sendRequest(InlineCompletionRequest.type, { textDocument: { uri }, position: at(2, 7), context: ctx(InlineCompletionTriggerKind.Automatic) });
  await new Promise((r) => setTimeout(r, 30));
  await conn.sendNotification(DidChangeTextDocumentNotification.type, {
    textDocument: { uri, version: ++version },
    contentChanges: [{ range: { start: at(2, 2), end: at(2, 7) }, text: 'x' }],
  });
  const newer = conn.sendRequest(InlineCompletionRequest.type, { textDocument: { uri }, position: at(2, 3), context: ctx(InlineCompletionTriggerKind.Automatic) });
  await assert.rejects(older, (err) => err.code === LSPErrorCodes.RequestCancelled && /superseded/.test(err.message));
  assert.deepEqual((await newer).items.map((i) => i.insertText), ['ghost0(x)']);

  // Errors the client can provoke: a position past the end, an unknown method.
  await assert.rejects(conn.sendRequest(InlineCompletionRequest.type, { textDocument: { uri }, position: at(40, 0), context: ctx(1) }),
    (err) => err.code === ErrorCodes.InvalidParams);
  await assert.rejects(conn.sendRequest('textDocument/hover', { textDocument: { uri }, position: at(0, 0) }),
    (err) => err.code === ErrorCodes.MethodNotFound);

  // Feedback, Copilot style and ours, kept in the local log.
  await conn.sendNotification('textDocument/didShowCompletion', { item: shownItem });
  await conn.sendNotification('textDocument/didPartiallyAcceptCompletion', { item: shownItem, acceptedLength: 5 });
  await conn.sendRequest('workspace/executeCommand', shownItem.command);

  await conn.sendNotification(DidCloseTextDocumentNotification.type, { textDocument: { uri } });
  assert.equal(await conn.sendRequest(ShutdownRequest.type), null);
  await conn.sendNotification(ExitNotification.type);
  assert.equal(await exited, 0, 'exit after shutdown: status 0');
  conn.dispose();

  assert.deepEqual(shown, [], 'no window/showMessage in a healthy session');

  // Every message both ways, in order.
  const sent = parseWire(Buffer.concat(toServer)).map(describe);
  const received = parseWire(Buffer.concat(fromServer)).map(describe);
  // The superseded request's cancellation and the newer request's answer
  // are written by two goroutines woken by the same event, and JSON-RPC
  // does not order responses: compare that pair as a set.
  received.splice(9, 2, ...received.slice(9, 11).sort());
  const inline = 'call textDocument/inlineCompletion';
  const change = 'notify textDocument/didChange';
  assert.deepEqual(sent, [
    'call initialize', 'notify initialized', 'result', // the result answers workDoneProgress/create
    'notify textDocument/didOpen', change, change, change, change, change, change,
    inline, change, inline, inline, inline,
    change, inline, 'notify $/cancelRequest',
    inline, change, inline,
    inline, 'call textDocument/hover',
    'notify textDocument/didShowCompletion', 'notify textDocument/didPartiallyAcceptCompletion', 'call workspace/executeCommand',
    'notify textDocument/didClose', 'call shutdown', 'notify exit',
  ]);
  assert.deepEqual(received, [
    'result', 'call window/workDoneProgress/create', 'notify $/progress', 'notify $/progress',
    'result', 'result', 'result', 'result',
    'error -32800',
    'error -32800', 'result',
    'error -32602', 'error -32601',
    'result',
    'result',
  ]);

  const records = fs.readFileSync(feedbackLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(records.map((r) => [r.event, r.text, r.acceptedLength]), [
    ['shown', 'ghost0(v)', undefined], ['partial', 'ghost0(v)', 5], ['accepted', 'ghost0(v)', undefined],
  ]);
  assert.ok(records.every((r) => r.uri === uri && r.languageId === 'typescript'));
  // --log writes the server log as JSON lines (log/slog).
  const logLines = fs.readFileSync(path.join(dir, 'server.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(logLines.length > 0 && logLines.every((l) => l.time && l.level && l.msg), 'slog JSON records');
  assert.ok(logLines.some((l) => l.msg === 'initialize'));
  fs.rmSync(dir, { recursive: true, force: true });
});
