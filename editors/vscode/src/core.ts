// The editor-independent half of the VS Code extension: settings, the
// inline completion request and its answer, partial-accept feedback and the
// status model. It does not import `vscode`, so the Node test drives it
// against the real `ghostline lsp` binary with VS Code's own protocol
// libraries; extension.ts only adapts it to the VS Code API.
//
// Why our own request code rather than vscode-languageclient's default
// provider: the status bar must know when a request is in flight, a
// language switched off must not cost a round trip, and cancellations
// (which the server uses for supersession) must not surface as errors.

/** LSP 3.18 InlineCompletionTriggerKind (VS Code's enum is 0-based). */
export const LspTrigger = { Invoked: 1, Automatic: 2 } as const;
export type LspTriggerKind = (typeof LspTrigger)[keyof typeof LspTrigger];

/** VS Code's InlineCompletionTriggerKind: Invoke = 0, Automatic = 1. */
export function lspTriggerKind(vscodeKind: number): LspTriggerKind {
  return vscodeKind === 0 ? LspTrigger.Invoked : LspTrigger.Automatic;
}

export interface Position { line: number; character: number }
export interface Range { start: Position; end: Position }
export interface Command { title: string; command: string; arguments?: unknown[] }

/** The server's InlineCompletionItem, insertText already a plain string. */
export interface Item {
  insertText: string;
  /** true when the server sent a snippet (StringValue); VS Code renders it as one. */
  snippet: boolean;
  filterText?: string;
  range?: Range;
  command?: Command;
  /** the item exactly as the server sent it, for feedback notifications */
  raw: unknown;
}

/** User settings, as declared in package.json under "ghostline.*". */
export interface Settings {
  /** server executable; "ghostline" is looked up on PATH */
  serverPath: string;
  /** extra arguments after `lsp` (e.g. ["--log", "/tmp/gl.log"]) */
  serverArgs: string[];
  /** model path or name; "" = the server's default model */
  model: string;
  /** server-side debounce for automatic requests, ms */
  debounceMs: number;
  /** longest suggestion, in lines */
  maxLines: number;
  /**
   * tokens of code from other files of the workspace (definitions used at
   * the cursor, project-graph neighbours) a prompt may hold; 0 = off
   */
  crossFileBudget: number;
  /** prune suggestions that break the syntax */
  astguard: boolean;
  /** per VS Code languageId; "*" for the others */
  enable: Record<string, boolean>;
}

/** Defaults match the server's lsp.DefaultConfig, so sending them changes nothing. */
export const defaultSettings: Readonly<Settings> = Object.freeze({
  serverPath: 'ghostline',
  serverArgs: [],
  model: '',
  debounceMs: 50,
  maxLines: 10,
  crossFileBudget: 512,
  astguard: true,
  enable: { '*': true, plaintext: false, markdown: false, scminput: false },
});

// The server refuses values outside these (lsp/config.go); we refuse them
// here too so the user sees the problem where they typed it. package.json
// declares the same bounds (the extension test checks they agree).
// crossFileBudget's upper bound is the server's largest context budget
// (1 << 20); the server never gives cross-file context more than its share
// of the prompt anyway, so a large value is harmless, only not useful.
export const limits = { debounceMs: [0, 5000], maxLines: [1, 200], crossFileBudget: [0, 1 << 20] } as const;

/**
 * readSettings builds Settings from a getter over the "ghostline" section
 * (vscode.workspace.getConfiguration('ghostline').get in the extension), with
 * defaults for missing values. Values of the wrong type or out of range fall
 * back to the default and are reported in `problems`.
 */
export function readSettings(get: (key: string) => unknown): { settings: Settings; problems: string[] } {
  const problems: string[] = [];
  const s: Settings = { ...defaultSettings, serverArgs: [], enable: { ...defaultSettings.enable } };
  const str = (key: 'serverPath' | 'model') => {
    const v = get(key);
    if (v === undefined || v === null) return;
    if (typeof v !== 'string') { problems.push(`ghostline.${key} must be a string`); return; }
    if (key === 'serverPath' && v.trim() === '') return;
    s[key] = v.trim();
  };
  const num = (key: keyof typeof limits) => {
    const v = get(key);
    if (v === undefined || v === null) return;
    const [lo, hi] = limits[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
      problems.push(`ghostline.${key} must be an integer in ${lo}..${hi}, got ${JSON.stringify(v)}`);
      return;
    }
    s[key] = v;
  };
  str('serverPath');
  str('model');
  num('debounceMs');
  num('maxLines');
  num('crossFileBudget');
  const args = get('serverArgs');
  if (Array.isArray(args) && args.every((a) => typeof a === 'string')) s.serverArgs = args as string[];
  else if (args !== undefined && args !== null) problems.push('ghostline.serverArgs must be an array of strings');
  const ag = get('astguard');
  if (typeof ag === 'boolean') s.astguard = ag;
  else if (ag !== undefined && ag !== null) problems.push('ghostline.astguard must be true or false');
  const en = get('enable');
  if (en && typeof en === 'object' && !Array.isArray(en)) {
    for (const [lang, on] of Object.entries(en)) {
      if (typeof on === 'boolean') s.enable[lang] = on;
      else problems.push(`ghostline.enable.${lang} must be true or false`);
    }
  } else if (en !== undefined && en !== null) problems.push('ghostline.enable must be an object of languageId: boolean');
  return { settings: s, problems };
}

/** The command line that starts the server. */
export function serverCommand(s: Settings): { command: string; args: string[] } {
  return { command: s.serverPath, args: ['lsp', ...s.serverArgs] };
}

/**
 * serverSettings is what the server's Config.Apply reads (lsp/config.go),
 * sent as initializationOptions and in workspace/didChangeConfiguration.
 */
export function serverSettings(s: Settings): { ghostline: Record<string, unknown> } {
  return {
    ghostline: {
      model: s.model,
      maxLines: s.maxLines,
      debounceMs: s.debounceMs,
      crossFileBudget: s.crossFileBudget,
      astguard: s.astguard,
      enable: { ...s.enable },
    },
  };
}

/** Whether completion is on for a languageId (same rule as the server). */
export function enabledFor(s: Settings, languageId: string): boolean {
  if (languageId in s.enable) return s.enable[languageId];
  if ('*' in s.enable) return s.enable['*'];
  return true;
}

/** textDocument/inlineCompletion params. */
export function inlineParams(uri: string, position: Position, trigger: LspTriggerKind,
  selected?: { range: Range; text: string }) {
  const context: { triggerKind: LspTriggerKind; selectedCompletionInfo?: { range: Range; text: string } } = { triggerKind: trigger };
  if (selected) context.selectedCompletionInfo = { range: selected.range, text: selected.text };
  return { textDocument: { uri }, position, context };
}

/**
 * normalizeResult accepts every answer shape LSP 3.18 allows
 * (InlineCompletionList, InlineCompletionItem[], null) and returns items
 * with a string insertText; empty or malformed items are dropped rather
 * than shown as blank ghost text.
 */
export function normalizeResult(result: unknown): Item[] {
  if (result === null || result === undefined) return [];
  const list = Array.isArray(result) ? result : (result as { items?: unknown }).items;
  if (!Array.isArray(list)) return [];
  const out: Item[] = [];
  for (const raw of list) {
    if (!raw || typeof raw !== 'object') continue;
    const r = raw as Record<string, unknown>;
    let text: string | undefined;
    let snippet = false;
    if (typeof r.insertText === 'string') text = r.insertText;
    else if (r.insertText && typeof r.insertText === 'object' && typeof (r.insertText as { value?: unknown }).value === 'string') {
      text = (r.insertText as { value: string }).value;
      snippet = (r.insertText as { kind?: unknown }).kind === 'snippet';
    }
    if (text === undefined || text === '') continue;
    const item: Item = { insertText: text, snippet, raw };
    if (typeof r.filterText === 'string') item.filterText = r.filterText;
    if (isRange(r.range)) item.range = r.range;
    if (r.command && typeof r.command === 'object' && typeof (r.command as Command).command === 'string') item.command = r.command as Command;
    out.push(item);
  }
  return out;
}

function isRange(v: unknown): v is Range {
  const p = (x: unknown) => !!x && typeof x === 'object' && Number.isInteger((x as Position).line) && Number.isInteger((x as Position).character);
  return !!v && typeof v === 'object' && p((v as Range).start) && p((v as Range).end);
}

/**
 * nextWordLength: how much of text "accept word" takes, as VS Code's
 * acceptNextWord does: leading whitespace, then one run of word characters
 * or, if the text starts with punctuation, that one character. At least one
 * character, so repeated presses always make progress.
 */
export function nextWordLength(text: string): number {
  let i = 0;
  while (i < text.length && (text[i] === ' ' || text[i] === '\t')) i++;
  if (i < text.length && (text[i] === '\n' || text[i] === '\r')) {
    return i + (text.startsWith('\r\n', i) ? 2 : 1);
  }
  const word = /[\p{L}\p{N}_]/u;
  if (i < text.length && word.test(text[i])) {
    while (i < text.length && word.test(text[i])) i++;
    return i;
  }
  return Math.min(text.length, i + 1);
}

/**
 * nextLineLength: how much "accept line" takes: up to and including the
 * next line break (the rest of the current line when the text starts on it).
 */
export function nextLineLength(text: string): number {
  // An item that starts with a line break (the suggestion begins on the
  // next line): take that break and the line after it.
  const lead = text.startsWith('\r\n') ? 2 : text.startsWith('\n') ? 1 : 0;
  const nl = text.indexOf('\n', lead);
  return nl < 0 ? text.length : nl + 1;
}

export type StatusKind = 'starting' | 'loading' | 'indexing' | 'ready' | 'generating' | 'disabled' | 'error' | 'stopped';

export interface StatusView { kind: StatusKind; text: string; tooltip: string }

interface ProgressValue { kind: 'begin' | 'report' | 'end'; title?: string; message?: string; percentage?: number }

/**
 * Status turns server progress and request state into one of a few states
 * for the status bar. Progress (model loading, indexing) wins over request
 * state: while the model loads, requests cannot be answered anyway.
 */
export class Status {
  private kind: StatusKind = 'starting';
  private progress = new Map<string | number, { title: string; message?: string; percentage?: number }>();
  private inflight = 0;
  private lastError = '';
  private disabledLanguage = '';
  private listeners: Array<(v: StatusView) => void> = [];
  /** every state entered, in order (for tests and the output channel) */
  readonly history: StatusKind[] = ['starting'];

  onChange(fn: (v: StatusView) => void): void { this.listeners.push(fn); }

  /** $/progress for a work-done token. */
  onProgress(token: string | number, value: ProgressValue): void {
    if (value.kind === 'begin') this.progress.set(token, { title: value.title ?? '', message: value.message, percentage: value.percentage });
    else if (value.kind === 'report') {
      const p = this.progress.get(token);
      if (p) { p.message = value.message ?? p.message; p.percentage = value.percentage ?? p.percentage; }
    } else this.progress.delete(token);
    this.update();
  }

  /** The server is up (initialize answered). */
  started(): void {
    if (this.kind === 'starting' || this.kind === 'stopped') { this.kind = 'ready'; this.lastError = ''; }
    this.update();
  }
  stopped(reason = ''): void { this.kind = 'stopped'; this.lastError = reason; this.progress.clear(); this.inflight = 0; this.update(); }
  requestStarted(): void { this.inflight++; this.lastError = ''; this.update(); }
  requestEnded(error?: string): void {
    this.inflight = Math.max(0, this.inflight - 1);
    if (error) this.lastError = error;
    this.update();
  }
  /** The active editor's language is switched off ("" = it is not). */
  setDisabledLanguage(lang: string): void { this.disabledLanguage = lang; this.update(); }

  view(): StatusView {
    const p = [...this.progress.values()].at(-1);
    const pct = p?.percentage !== undefined ? ` ${p.percentage}%` : '';
    switch (this.kind) {
      case 'starting': return { kind: 'starting', text: '$(loading~spin) Ghostline', tooltip: 'Ghostline: starting the server' };
      case 'stopped': return { kind: 'stopped', text: '$(circle-slash) Ghostline', tooltip: `Ghostline: server stopped${this.lastError ? ': ' + this.lastError : ''}` };
      case 'loading': case 'indexing':
        return { kind: this.kind, text: `$(loading~spin) Ghostline${pct}`, tooltip: [p?.title, p?.message].filter(Boolean).join(': ') };
      case 'generating': return { kind: 'generating', text: '$(sync~spin) Ghostline', tooltip: 'Ghostline: generating a suggestion' };
      case 'disabled': return { kind: 'disabled', text: '$(circle-slash) Ghostline', tooltip: `Ghostline: off for ${this.disabledLanguage} (setting ghostline.enable)` };
      case 'error': return { kind: 'error', text: '$(warning) Ghostline', tooltip: `Ghostline: ${this.lastError}` };
      default: return { kind: 'ready', text: '$(sparkle) Ghostline', tooltip: 'Ghostline: ready' };
    }
  }

  private update(): void {
    if (this.kind !== 'stopped' && this.kind !== 'starting') {
      const p = [...this.progress.values()].at(-1);
      if (p) this.kind = /load/i.test(p.title) ? 'loading' : 'indexing';
      else if (this.inflight > 0) this.kind = 'generating';
      else if (this.lastError) this.kind = 'error';
      else if (this.disabledLanguage) this.kind = 'disabled';
      else this.kind = 'ready';
    }
    if (this.history.at(-1) !== this.kind) this.history.push(this.kind);
    const v = this.view();
    for (const fn of this.listeners) fn(v);
  }
}

/** A cancellation token as both vscode and vscode-jsonrpc define it. */
export interface Token { isCancellationRequested: boolean; onCancellationRequested?: unknown }

/** The transport: client.sendRequest/sendNotification in the extension. */
export interface Transport {
  sendRequest(method: string, params: unknown, token?: Token): Promise<unknown>;
  sendNotification(method: string, params: unknown): Promise<void> | void;
}

/** LSP error codes the client treats as "no suggestion" rather than a failure. */
const RequestCancelled = -32800;
const ServerCancelled = -32802;
const ContentModified = -32801;

/** What the user has accepted of the item on screen, for feedback. */
interface Shown { item: Item; accepted: number }

/**
 * Completer sends textDocument/inlineCompletion and the feedback
 * notifications, and keeps Status in step. One instance per server.
 */
export class Completer {
  private shown: Shown | undefined;

  constructor(private transport: Transport, readonly status: Status, private settings: () => Settings) {}

  /**
   * provide asks the server for suggestions at a position. Cancelled or
   * superseded requests, and languages switched off, give [] (no ghost
   * text) without an error; a failing server gives [] and an error status.
   */
  async provide(doc: { uri: string; languageId: string }, position: Position, trigger: LspTriggerKind,
    token?: Token, selected?: { range: Range; text: string }): Promise<Item[]> {
    if (!enabledFor(this.settings(), doc.languageId)) {
      this.status.setDisabledLanguage(doc.languageId);
      return [];
    }
    this.status.setDisabledLanguage('');
    if (token?.isCancellationRequested) return [];
    this.status.requestStarted();
    let error: string | undefined;
    try {
      const result = await this.transport.sendRequest('textDocument/inlineCompletion', inlineParams(doc.uri, position, trigger, selected), token);
      if (token?.isCancellationRequested) return [];
      const items = normalizeResult(result);
      this.shown = items.length > 0 ? { item: items[0], accepted: 0 } : undefined;
      return items;
    } catch (err) {
      const code = (err as { code?: unknown })?.code;
      if (code !== RequestCancelled && code !== ServerCancelled && code !== ContentModified && !token?.isCancellationRequested) {
        error = (err as Error)?.message ?? String(err);
      }
      return [];
    } finally {
      this.status.requestEnded(error);
    }
  }

  /** The item last offered (what "accept word/line" applies to). */
  current(): Item | undefined { return this.shown?.item; }

  /**
   * An item was shown to the user: Copilot-style didShowCompletion. VS
   * Code's stable API has no display event (handleDidShowCompletionItem is
   * a proposed API), so extension.ts does not call this; clients that know
   * what they displayed do (the browser demo's Monaco does the same).
   */
  async didShow(item: Item): Promise<void> {
    this.shown = { item, accepted: 0 };
    await this.transport.sendNotification('textDocument/didShowCompletion', { item: item.raw });
  }

  /**
   * The user accepted the next word or line of the current item; returns
   * the number of characters taken (0 if no item is on screen), and tells
   * the server the total accepted so far (didPartiallyAcceptCompletion).
   */
  async didAcceptPart(kind: 'word' | 'line'): Promise<number> {
    const s = this.shown;
    if (!s) return 0;
    const rest = s.item.insertText.slice(s.accepted);
    const n = kind === 'word' ? nextWordLength(rest) : nextLineLength(rest);
    if (n === 0) return 0;
    s.accepted += n;
    await this.transport.sendNotification('textDocument/didPartiallyAcceptCompletion', { item: s.item.raw, acceptedLength: s.accepted });
    if (s.accepted >= s.item.insertText.length) this.shown = undefined;
    return n;
  }

  /**
   * The user accepted a whole item: run its command (ghostline.didAccept)
   * on the server. In VS Code the editor runs the item's command itself
   * (vscode-languageclient forwards it to workspace/executeCommand); this
   * is the same request, for the tests and for clients without commands.
   */
  async didAccept(item: Item): Promise<void> {
    this.shown = undefined;
    if (item.command) await this.transport.sendRequest('workspace/executeCommand', { command: item.command.command, arguments: item.command.arguments ?? [] });
  }
}
