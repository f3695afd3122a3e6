// Tests of extension.ts's glue to the VS Code API, with `vscode` and
// vscode-languageclient replaced by recording stand-ins (neither can run
// outside VS Code): every command in package.json is registered, the
// middleware turns server items into VS Code items, progress reaches the
// status bar, settings changes reach the server or restart it.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const Module = require('node:module');
const pkg = require('../package.json');
const core = require('../out/core.js');

function makeVscode() {
  const calls = { commands: new Map(), executed: [], warnings: [], errors: [] };
  const listeners = { config: [], editor: [] };
  const config = {};
  class Range { constructor(a, b, c, d) { Object.assign(this, { startLine: a, startCharacter: b, endLine: c, endCharacter: d }); } }
  class SnippetString { constructor(value) { this.value = value; } }
  class InlineCompletionItem { constructor(insertText, range) { this.insertText = insertText; this.range = range; } }
  const bar = { text: '', tooltip: '', show() { this.shown = true; }, dispose() {} };
  const vscode = {
    Range, SnippetString, InlineCompletionItem,
    StatusBarAlignment: { Left: 1, Right: 2 },
    ConfigurationTarget: { Global: 1 },
    window: {
      activeTextEditor: { document: { languageId: 'go' } },
      createOutputChannel: () => ({ appendLine() {}, show() {}, dispose() {} }),
      createStatusBarItem: () => bar,
      showWarningMessage: (m) => { calls.warnings.push(m); },
      showErrorMessage: (m) => { calls.errors.push(m); },
      showQuickPick: async () => undefined,
      onDidChangeActiveTextEditor: (fn) => { listeners.editor.push(fn); return { dispose() {} }; },
    },
    workspace: {
      getConfiguration: () => ({ get: (k) => config[k], update: async (k, v) => { config[k] = v; } }),
      onDidChangeConfiguration: (fn) => { listeners.config.push(fn); return { dispose() {} }; },
    },
    commands: {
      registerCommand: (id, fn) => { calls.commands.set(id, fn); return { dispose() {} }; },
      executeCommand: async (id, ...args) => { calls.executed.push(id); const fn = calls.commands.get(id); return fn ? fn(...args) : undefined; },
    },
  };
  return { vscode, calls, listeners, config, bar };
}

function makeClientModule(server) {
  const clients = [];
  class LanguageClient {
    constructor(id, name, serverOptions, clientOptions) {
      Object.assign(this, { id, name, serverOptions, clientOptions, requests: [], notifications: [], stateFns: [], running: false });
      clients.push(this);
    }
    registerProposedFeatures() { this.proposed = true; }
    onDidChangeState(fn) { this.stateFns.push(fn); }
    async start() { this.running = true; for (const fn of this.stateFns) fn({ oldState: 3, newState: 2 }); }
    async stop() { this.running = false; for (const fn of this.stateFns) fn({ oldState: 2, newState: 1 }); }
    isRunning() { return this.running; }
    async sendRequest(method, params) { this.requests.push([method, params]); return server(method, params); }
    async sendNotification(type, params) { this.notifications.push([typeof type === 'string' ? type : type.method, params]); }
  }
  return {
    clients,
    module: {
      LanguageClient, State: { Stopped: 1, Running: 2, Starting: 3 }, TransportKind: { stdio: 0 },
      DidChangeConfigurationNotification: { type: { method: 'workspace/didChangeConfiguration' } },
    },
  };
}

function loadExtension(vscode, client) {
  const load = Module._load;
  Module._load = function (request, ...rest) {
    if (request === 'vscode') return vscode;
    if (request === 'vscode-languageclient/node') return client;
    return load.call(this, request, ...rest);
  };
  try {
    delete require.cache[require.resolve('../out/extension.js')];
    return require('../out/extension.js');
  } finally {
    Module._load = load;
  }
}

test('package.json declares each numeric setting with the defaults and bounds core.ts checks', () => {
  const props = pkg.contributes.configuration.properties;
  for (const [key, [lo, hi]] of Object.entries(core.limits)) {
    const p = props[`ghostline.${key}`];
    assert.ok(p, `ghostline.${key} in package.json`);
    assert.equal(p.type, 'integer', key);
    assert.equal(p.default, core.defaultSettings[key], `${key} default`);
    assert.equal(p.minimum, lo, `${key} minimum`);
    assert.equal(p.maximum, hi, `${key} maximum`);
    assert.ok(p.description && p.description.length > 20, `${key} has a description`);
  }
  assert.match(props['ghostline.crossFileBudget'].description, /0 turns cross-file context off/);
});

test('extension: commands, status bar, inline items, settings', async () => {
  const range = { start: { line: 3, character: 4 }, end: { line: 3, character: 4 } };
  const server = (method) => {
    if (method === 'textDocument/inlineCompletion') {
      return { items: [{ insertText: 'ghost(x)', range, command: { title: 'accepted', command: 'ghostline.didAccept', arguments: [7] } }] };
    }
    return null;
  };
  const { vscode, calls, listeners, config, bar } = makeVscode();
  const lc = makeClientModule(server);
  const ext = loadExtension(vscode, lc.module);
  await ext.activate({ subscriptions: [] });

  // Every contributed command and keybinding has a handler.
  for (const c of pkg.contributes.commands) assert.ok(calls.commands.has(c.command), `command ${c.command} registered`);
  for (const k of pkg.contributes.keybindings) assert.ok(calls.commands.has(k.command), `keybinding's ${k.command} registered`);
  // Settings in package.json are the ones core.readSettings knows.
  assert.deepEqual(Object.keys(pkg.contributes.configuration.properties).sort(),
    ['ghostline.astguard', 'ghostline.crossFileBudget', 'ghostline.debounceMs', 'ghostline.enable', 'ghostline.maxLines', 'ghostline.model', 'ghostline.serverArgs', 'ghostline.serverPath']);

  assert.equal(lc.clients.length, 1);
  const c = lc.clients[0];
  assert.deepEqual(c.serverOptions, { command: 'ghostline', args: ['lsp'], transport: 0 });
  // A function: a restart after a crash sends the settings of the moment.
  assert.equal(typeof c.clientOptions.initializationOptions, 'function');
  assert.deepEqual(c.clientOptions.initializationOptions().ghostline.maxLines, 10);
  assert.equal(c.clientOptions.initializationOptions().ghostline.crossFileBudget, 512);
  assert.equal(bar.shown, true);
  assert.equal(bar.text, '$(sparkle) Ghostline', 'ready once the client runs');

  // $/progress through the middleware: the bar shows loading, then ready.
  const mw = c.clientOptions.middleware;
  let forwarded = 0;
  mw.handleWorkDoneProgress('t1', { kind: 'begin', title: 'Ghostline: loading model', percentage: 30 }, () => { forwarded++; });
  assert.equal(bar.text, '$(loading~spin) Ghostline 30%');
  mw.handleWorkDoneProgress('t1', { kind: 'end' }, () => { forwarded++; });
  assert.equal(bar.text, '$(sparkle) Ghostline');
  assert.equal(forwarded, 2, 'progress still reaches vscode-languageclient');

  // Inline completion through the middleware: VS Code Automatic (1) -> LSP 2.
  const doc = { uri: { toString: () => 'file:///a.go' }, languageId: 'go' };
  const token = { isCancellationRequested: false, onCancellationRequested: () => ({ dispose() {} }) };
  const items = await mw.provideInlineCompletionItems(doc, { line: 3, character: 4 }, { triggerKind: 1 }, token, () => { throw new Error('next must not run'); });
  assert.deepEqual(c.requests.at(-1), ['textDocument/inlineCompletion', { textDocument: { uri: 'file:///a.go' }, position: { line: 3, character: 4 }, context: { triggerKind: 2 } }]);
  assert.equal(items.length, 1);
  assert.ok(items[0] instanceof vscode.InlineCompletionItem);
  assert.equal(items[0].insertText, 'ghost(x)');
  assert.deepEqual({ ...items[0].range }, { startLine: 3, startCharacter: 4, endLine: 3, endCharacter: 4 });
  assert.deepEqual(items[0].command, { title: 'accepted', command: 'ghostline.didAccept', arguments: [7] });

  // Accept word: VS Code's own action, then the feedback notification.
  await calls.commands.get('ghostline.acceptWord')();
  assert.equal(calls.executed.at(-1), 'editor.action.inlineSuggest.acceptNextWord');
  assert.deepEqual(c.notifications.at(-1), ['textDocument/didPartiallyAcceptCompletion', { item: { insertText: 'ghost(x)', range, command: { title: 'accepted', command: 'ghostline.didAccept', arguments: [7] } }, acceptedLength: 5 }]);

  // A language switched off: no request.
  const n = c.requests.length;
  assert.deepEqual(await mw.provideInlineCompletionItems({ ...doc, languageId: 'markdown' }, { line: 0, character: 0 }, { triggerKind: 1 }, token, () => null), []);
  assert.equal(c.requests.length, n);

  // A settings change reaches the server; a bad value is reported, not sent.
  config.maxLines = 3;
  config.debounceMs = -1;
  for (const fn of listeners.config) await fn({ affectsConfiguration: (s) => s === 'ghostline' });
  const [method, params] = c.notifications.at(-1);
  assert.equal(method, 'workspace/didChangeConfiguration');
  assert.equal(params.settings.ghostline.maxLines, 3);
  assert.equal(params.settings.ghostline.debounceMs, 50);
  assert.match(calls.warnings.at(-1), /debounceMs/);

  // crossFileBudget: 0 (off) is sent as is; a value past the bound is
  // reported and the default goes instead.
  config.debounceMs = 50;
  for (const [value, sent, warning] of [[0, 0, null], [4096, 4096, null], [2000000, 512, /crossFileBudget must be an integer in 0\.\.1048576, got 2000000/], [undefined, 512, null]]) {
    const nWarnings = calls.warnings.length;
    config.crossFileBudget = value;
    for (const fn of listeners.config) await fn({ affectsConfiguration: (s) => s === 'ghostline' });
    const [m, p] = c.notifications.at(-1);
    assert.equal(m, 'workspace/didChangeConfiguration');
    assert.equal(p.settings.ghostline.crossFileBudget, sent, `crossFileBudget ${value} sent as ${sent}`);
    if (warning) {
      assert.equal(calls.warnings.length, nWarnings + 1, `crossFileBudget ${value}: one warning`);
      assert.match(calls.warnings.at(-1), warning);
    } else {
      assert.equal(calls.warnings.length, nWarnings, `crossFileBudget ${value}: no warning (${calls.warnings.slice(nWarnings)})`);
    }
  }

  // A new server path restarts the client with it.
  config.serverPath = '/opt/ghostline/bin/ghostline';
  for (const fn of listeners.config) await fn({ affectsConfiguration: (s) => s === 'ghostline' });
  assert.equal(lc.clients.length, 2);
  assert.equal(c.running, false, 'the old client stopped');
  assert.equal(lc.clients[1].serverOptions.command, '/opt/ghostline/bin/ghostline');
  assert.equal(bar.text, '$(sparkle) Ghostline');
  await ext.deactivate();
  assert.equal(lc.clients[1].running, false);
});

test('extension: a settings change while the server starts reaches it once it runs; restarts add no subscriptions', async () => {
  const { vscode, calls, listeners, config } = makeVscode();
  const lc = makeClientModule(() => null);
  // The first start is held open until the test lets it finish.
  let release;
  const held = new Promise((r) => { release = r; });
  const start = lc.module.LanguageClient.prototype.start;
  lc.module.LanguageClient.prototype.start = async function () {
    if (lc.clients.length === 1) await held;
    return start.call(this);
  };
  const ext = loadExtension(vscode, lc.module);
  const context = { subscriptions: [] };
  const activating = ext.activate(context);
  await new Promise((r) => setImmediate(r));
  const c = lc.clients[0];
  assert.equal(c.running, false, 'still starting');
  assert.equal(c.clientOptions.initializationOptions().ghostline.maxLines, 10);

  config.maxLines = 4;
  const changed = Promise.all(listeners.config.map((fn) => fn({ affectsConfiguration: (s) => s === 'ghostline' })));
  await new Promise((r) => setImmediate(r));
  assert.equal(c.notifications.length, 0, 'nothing sent to a client that is not running');
  release();
  await activating;
  await changed;
  assert.deepEqual(c.notifications.map(([m]) => m), ['workspace/didChangeConfiguration']);
  assert.equal(c.notifications[0][1].settings.ghostline.maxLines, 4, 'the change made while starting arrives');
  assert.equal(c.clientOptions.initializationOptions().ghostline.maxLines, 4, 'a restart after a crash would send the new value');

  // Restarts replace the client without adding entries to the context.
  const entries = context.subscriptions.length;
  await calls.commands.get('ghostline.restart')();
  await calls.commands.get('ghostline.restart')();
  assert.equal(lc.clients.length, 3);
  assert.equal(context.subscriptions.length, entries);
  assert.deepEqual(lc.clients.map((x) => x.running), [false, false, true]);
  // Disposing the context stops the client running then.
  for (const d of context.subscriptions) d.dispose();
  await new Promise((r) => setImmediate(r));
  assert.equal(lc.clients[2].running, false);
});
