// The page's language client: JSON-RPC over the bridge's WebSocket (one
// message per frame), document sync from Monaco's change events, and an
// InlineCompletionsProvider that sends textDocument/inlineCompletion.
// Monaco positions are 1-based UTF-16 columns; LSP's are 0-based UTF-16,
// the encoding this client asks for.
'use strict';

(function () {
  const statusEl = document.getElementById('status');
  function setStatus(kind, text) {
    if (statusEl.dataset.kind === 'disconnected') return;
    statusEl.dataset.kind = kind;
    statusEl.textContent = text || kind;
  }

  /** A minimal JSON-RPC 2.0 peer over a WebSocket. */
  class Rpc {
    constructor(url) {
      this.ws = new WebSocket(url);
      this.nextId = 1;
      this.pending = new Map();
      this.handlers = new Map();
      this.notifications = new Map();
      this.opened = new Promise((resolve, reject) => {
        this.ws.onopen = resolve;
        this.ws.onerror = () => reject(new Error('WebSocket to the bridge failed'));
      });
      this.ws.onmessage = (ev) => this.receive(JSON.parse(ev.data));
      this.ws.onclose = (ev) => {
        for (const { reject } of this.pending.values()) reject(new Error('connection closed'));
        this.pending.clear();
        setStatus('disconnected', ev.reason ? `disconnected: ${ev.reason}` : 'disconnected');
      };
    }
    receive(msg) {
      if (msg.method !== undefined && msg.id !== undefined) { // a request from the server
        const h = this.handlers.get(msg.method);
        if (h) this.send({ jsonrpc: '2.0', id: msg.id, result: h(msg.params) ?? null });
        else this.send({ jsonrpc: '2.0', id: msg.id, error: { code: -32601, message: `${msg.method} not handled` } });
      } else if (msg.method !== undefined) {
        const h = this.notifications.get(msg.method);
        if (h) h(msg.params);
      } else {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        if (msg.error) p.reject(Object.assign(new Error(msg.error.message), { code: msg.error.code }));
        else p.resolve(msg.result);
      }
    }
    send(msg) { this.ws.send(JSON.stringify(msg)); }
    /** request sends a call; cancel() on the returned handle sends $/cancelRequest. */
    request(method, params) {
      const id = this.nextId++;
      const promise = new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
      this.send({ jsonrpc: '2.0', id, method, params });
      return { id, promise, cancel: () => { if (this.pending.has(id)) this.notify('$/cancelRequest', { id }); } };
    }
    notify(method, params) { this.send({ jsonrpc: '2.0', method, params }); }
  }

  const sample = [
    'package main',
    '',
    'import "fmt"',
    '',
    '// fib returns the n-th Fibonacci number.',
    'func fib(n int) int {',
    '\tif n < 2 {',
    '\t\treturn n',
    '\t}',
    '\treturn fib(n-1) + fib(n-2)',
    '}',
    '',
    'func main() {',
    '\t',
    '}',
    '',
  ].join('\n');

  require.config({ paths: { vs: '/monaco/vs' } });
  require(['vs/editor/editor.main'], async function () {
    const uri = monaco.Uri.parse('file:///demo/main.go');
    const model = monaco.editor.createModel(sample, 'go', uri);
    const editor = monaco.editor.create(document.getElementById('editor'), {
      model,
      theme: 'vs-dark',
      fontSize: 15,
      minimap: { enabled: false },
      automaticLayout: true,
      inlineSuggest: { enabled: true },
      quickSuggestions: false, // the popup would hide the ghost text
    });
    const rpc = new Rpc(`ws://${location.host}/lsp`);
    const progress = new Map();
    let inflight = 0;
    let ready = false;
    const refresh = () => {
      const p = [...progress.values()].at(-1);
      if (p) setStatus(/load/i.test(p.title) ? 'loading' : 'indexing', `${p.title}${p.percentage !== undefined ? ` ${p.percentage}%` : ''}`);
      else if (inflight > 0) setStatus('generating', 'generating…');
      else if (ready) setStatus('ready');
    };
    window.ghostline = { editor, monaco, rpc, requests: 0, cancels: 0 };

    rpc.handlers.set('window/workDoneProgress/create', () => null);
    rpc.handlers.set('client/registerCapability', () => null);
    rpc.notifications.set('$/progress', ({ token, value }) => {
      if (value.kind === 'begin') progress.set(token, { title: value.title || '', percentage: value.percentage });
      else if (value.kind === 'report' && progress.has(token)) progress.get(token).percentage = value.percentage;
      else if (value.kind === 'end') {
        if (/load/i.test(progress.get(token)?.title || '')) window.ghostline.modelLoaded = true;
        progress.delete(token);
      }
      refresh();
    });
    // MessageType 1 is an error; warnings and information ("no
    // completions in this file") show as a notice, not as a failure.
    rpc.notifications.set('window/showMessage', ({ type, message }) => {
      (type === 1 ? console.error : console.warn)(message);
      setStatus(type === 1 ? 'error' : 'notice', message);
    });

    await rpc.opened;
    const init = await rpc.request('initialize', {
      processId: null,
      clientInfo: { name: 'Monaco (ghostline browser demo)' },
      rootUri: 'file:///demo',
      workspaceFolders: [{ uri: 'file:///demo', name: 'demo' }],
      capabilities: {
        general: { positionEncodings: ['utf-16'] },
        textDocument: { inlineCompletion: {}, synchronization: {} },
        window: { workDoneProgress: true },
        workspace: { workspaceFolders: true },
      },
      // Monaco debounces inline suggestion requests itself.
      initializationOptions: { ghostline: { debounceMs: 0 } },
    }).promise;
    if (!init.capabilities.inlineCompletionProvider) throw new Error('the server has no inline completion');
    rpc.notify('initialized', {});
    ready = true;
    refresh();

    rpc.notify('textDocument/didOpen', { textDocument: { uri: uri.toString(), languageId: 'go', version: model.getVersionId(), text: model.getValue() } });
    model.onDidChangeContent((e) => {
      // One change: send it as an edit. Several (multi-cursor): their ranges
      // all refer to the text before the event, so send the whole text.
      const changes = e.changes.length === 1
        ? [{
          range: {
            start: { line: e.changes[0].range.startLineNumber - 1, character: e.changes[0].range.startColumn - 1 },
            end: { line: e.changes[0].range.endLineNumber - 1, character: e.changes[0].range.endColumn - 1 },
          },
          text: e.changes[0].text,
        }]
        : [{ text: model.getValue() }];
      rpc.notify('textDocument/didChange', { textDocument: { uri: uri.toString(), version: e.versionId }, contentChanges: changes });
    });

    monaco.editor.registerCommand('ghostline.didAccept', (_accessor, ...args) => {
      rpc.request('workspace/executeCommand', { command: 'ghostline.didAccept', arguments: args }).promise.catch(() => {});
    });

    monaco.languages.registerInlineCompletionsProvider({ pattern: '**' }, {
      async provideInlineCompletions(m, position, context, token) {
        if (m !== model) return { items: [] };
        const sel = context.selectedSuggestionInfo;
        const params = {
          textDocument: { uri: uri.toString() },
          position: { line: position.lineNumber - 1, character: position.column - 1 },
          // Monaco: Automatic = 0, Explicit = 1; LSP: Invoked = 1, Automatic = 2.
          context: { triggerKind: context.triggerKind === 1 ? 1 : 2 },
        };
        if (sel) {
          params.context.selectedCompletionInfo = {
            range: {
              start: { line: sel.range.startLineNumber - 1, character: sel.range.startColumn - 1 },
              end: { line: sel.range.endLineNumber - 1, character: sel.range.endColumn - 1 },
            },
            text: sel.text,
          };
        }
        const req = rpc.request('textDocument/inlineCompletion', params);
        window.ghostline.requests++;
        const sub = token.onCancellationRequested(() => { window.ghostline.cancels++; req.cancel(); });
        inflight++;
        refresh();
        try {
          const res = await req.promise;
          const list = Array.isArray(res) ? res : (res && res.items) || [];
          return {
            items: list.filter((it) => it.insertText).map((it) => ({
              insertText: typeof it.insertText === 'string' ? it.insertText : { snippet: it.insertText.value },
              range: it.range
                ? new monaco.Range(it.range.start.line + 1, it.range.start.character + 1, it.range.end.line + 1, it.range.end.character + 1)
                : undefined,
              command: it.command ? { id: it.command.command, title: it.command.title, arguments: it.command.arguments } : undefined,
              lsp: it, // the server's item, for the feedback notifications
            })),
          };
        } catch (err) {
          if (err.code !== -32800) console.warn('inline completion failed:', err.message);
          return { items: [] };
        } finally {
          sub.dispose();
          inflight--;
          refresh();
        }
      },
      // Feedback as Copilot's server takes it (kept in the local log only).
      handleItemDidShow(_completions, item) {
        if (item.lsp) rpc.notify('textDocument/didShowCompletion', { item: item.lsp });
      },
      handlePartialAccept(_completions, item, acceptedCharacters) {
        if (item.lsp) rpc.notify('textDocument/didPartiallyAcceptCompletion', { item: item.lsp, acceptedLength: acceptedCharacters });
      },
      freeInlineCompletions() {},
      disposeInlineCompletions() {},
    });

    editor.setPosition({ lineNumber: 14, column: 2 });
    editor.focus();
    window.ghostline.ready = true;
  });
})();
