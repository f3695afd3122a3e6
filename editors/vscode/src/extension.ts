// VS Code entry point: starts `ghostline lsp` through vscode-languageclient
// and adapts core.ts (requests, settings, status) to the VS Code API.
//
// vscode-languageclient registers the inline completion provider itself
// (InlineCompletionItemFeature, built in since 10.x; registerProposedFeatures
// adds it on older clients) because the server announces
// inlineCompletionProvider; our middleware replaces what that provider does
// per request with core.Completer, so exactly one provider exists and its
// request code is the one the Node test exercises.
import * as vscode from 'vscode';
import {
  LanguageClient, LanguageClientOptions, ServerOptions, State, TransportKind,
  DidChangeConfigurationNotification, type CancellationToken,
} from 'vscode-languageclient/node';
import {
  Completer, Item, Settings, Status, readSettings, serverCommand, serverSettings, lspTriggerKind, enabledFor,
} from './core';

let client: LanguageClient | undefined;
let completer: Completer | undefined;
let settings: Settings;
// starting settles when the latest client start has (startClient reports
// its own failures, so it never rejects): a settings change made while the
// server starts waits for it, rather than being lost between the
// initializationOptions already sent and a client not yet running.
let starting: Promise<void> = Promise.resolve();
const status = new Status();

function loadSettings(output: vscode.LogOutputChannel): Settings {
  const cfg = vscode.workspace.getConfiguration('ghostline');
  const { settings: s, problems } = readSettings((k) => cfg.get(k));
  for (const p of problems) {
    output.appendLine(`settings: ${p}`);
    void vscode.window.showWarningMessage(`Ghostline: ${p} (the default is used)`);
  }
  return s;
}

function toVscodeItem(it: Item): vscode.InlineCompletionItem {
  const text = it.snippet ? new vscode.SnippetString(it.insertText) : it.insertText;
  const range = it.range
    ? new vscode.Range(it.range.start.line, it.range.start.character, it.range.end.line, it.range.end.character)
    : undefined;
  const item = new vscode.InlineCompletionItem(text, range);
  if (it.filterText !== undefined) item.filterText = it.filterText;
  // ghostline.didAccept: vscode-languageclient registered it as a VS Code
  // command forwarding to workspace/executeCommand (the server lists it in
  // executeCommandProvider), so accepting the item reports it.
  if (it.command) item.command = { title: it.command.title, command: it.command.command, arguments: it.command.arguments };
  return item;
}

async function startClient(output: vscode.LogOutputChannel): Promise<void> {
  const { command, args } = serverCommand(settings);
  const serverOptions: ServerOptions = { command, args, transport: TransportKind.stdio };
  const clientOptions: LanguageClientOptions = {
    // Every file and unsaved buffer; ghostline.enable decides per language.
    documentSelector: [{ scheme: 'file' }, { scheme: 'untitled' }],
    // A function, so that the client's automatic restart after a crash
    // sends the settings as they are then, not as they were at startup.
    initializationOptions: () => serverSettings(settings),
    outputChannel: output,
    middleware: {
      provideInlineCompletionItems: async (document, position, ctx, token: CancellationToken) => {
        if (!completer) return null;
        const selected = ctx.selectedCompletionInfo
          ? {
            range: {
              start: { line: ctx.selectedCompletionInfo.range.start.line, character: ctx.selectedCompletionInfo.range.start.character },
              end: { line: ctx.selectedCompletionInfo.range.end.line, character: ctx.selectedCompletionInfo.range.end.character },
            },
            text: ctx.selectedCompletionInfo.text,
          }
          : undefined;
        const items = await completer.provide({ uri: document.uri.toString(), languageId: document.languageId },
          { line: position.line, character: position.character }, lspTriggerKind(ctx.triggerKind), token, selected);
        return items.map(toVscodeItem);
      },
      handleWorkDoneProgress: (token, params, next) => {
        status.onProgress(token, params);
        next(token, params);
      },
    },
  };
  const c = new LanguageClient('ghostline', 'Ghostline', serverOptions, clientOptions);
  // Inline completion is built into vscode-languageclient >= 10; older
  // clients carry it as a proposed feature.
  if (typeof (c as { registerProposedFeatures?: () => void }).registerProposedFeatures === 'function') c.registerProposedFeatures();
  c.onDidChangeState((e) => {
    if (client !== c) return; // a client being replaced by a restart
    if (e.newState === State.Running) status.started();
    else if (e.newState === State.Stopped) status.stopped();
  });
  client = c;
  completer = new Completer({
    // vscode-jsonrpc reads a trailing undefined as a second positional
    // parameter, so the token is passed only when there is one.
    sendRequest: (method, params, token) => (token ? c.sendRequest(method, params, token as CancellationToken) : c.sendRequest(method, params)),
    sendNotification: (method, params) => c.sendNotification(method, params),
  }, status, () => settings);
  try {
    await c.start();
  } catch (err) {
    const msg = `could not start "${[command, ...args].join(' ')}": ${(err as Error).message}. Install ghostline or set ghostline.serverPath.`;
    status.stopped(msg);
    void vscode.window.showErrorMessage(`Ghostline: ${msg}`);
  }
}

// start (re)starts the server: the client that was starting finishes
// first, so two starts never race for the same variables.
async function start(output: vscode.LogOutputChannel): Promise<void> {
  const before = starting;
  starting = (async () => {
    await before;
    const old = client;
    client = undefined;
    completer = undefined;
    if (old) await old.stop().catch(() => undefined);
    await startClient(output);
  })();
  await starting;
}

function refreshLanguage(): void {
  const doc = vscode.window.activeTextEditor?.document;
  status.setDisabledLanguage(doc && !enabledFor(settings, doc.languageId) ? doc.languageId : '');
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel('Ghostline', { log: true });
  settings = loadSettings(output);

  const bar = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);
  bar.command = 'ghostline.menu';
  const show = () => { const v = status.view(); bar.text = v.text; bar.tooltip = v.tooltip; };
  status.onChange(show);
  show();
  bar.show();
  // One entry for whichever client runs at the end (restarts replace it).
  context.subscriptions.push(bar, output, { dispose: () => { void client?.stop().catch(() => undefined); } });

  const partial = (kind: 'word' | 'line', builtin: string) => async () => {
    await vscode.commands.executeCommand(builtin);
    await completer?.didAcceptPart(kind);
  };
  context.subscriptions.push(
    vscode.commands.registerCommand('ghostline.acceptWord', partial('word', 'editor.action.inlineSuggest.acceptNextWord')),
    vscode.commands.registerCommand('ghostline.acceptLine', partial('line', 'editor.action.inlineSuggest.acceptNextLine')),
    vscode.commands.registerCommand('ghostline.suggest', () => vscode.commands.executeCommand('editor.action.inlineSuggest.trigger')),
    vscode.commands.registerCommand('ghostline.restart', () => start(output)),
    vscode.commands.registerCommand('ghostline.showOutput', () => output.show()),
    vscode.commands.registerCommand('ghostline.toggleLanguage', async () => {
      const lang = vscode.window.activeTextEditor?.document.languageId;
      if (!lang) return;
      const cfg = vscode.workspace.getConfiguration('ghostline');
      const enable = { ...(cfg.get<Record<string, boolean>>('enable') ?? {}) };
      enable[lang] = !enabledFor(settings, lang);
      await cfg.update('enable', enable, vscode.ConfigurationTarget.Global);
    }),
    vscode.commands.registerCommand('ghostline.menu', async () => {
      const lang = vscode.window.activeTextEditor?.document.languageId;
      const picks: Array<vscode.QuickPickItem & { run: string }> = [
        ...(lang ? [{ label: `${enabledFor(settings, lang) ? 'Disable' : 'Enable'} for ${lang}`, run: 'ghostline.toggleLanguage' }] : []),
        { label: 'Restart the server', run: 'ghostline.restart' },
        { label: 'Show the log', run: 'ghostline.showOutput' },
      ];
      const pick = await vscode.window.showQuickPick(picks, { title: status.view().tooltip });
      if (pick) await vscode.commands.executeCommand(pick.run);
    }),
    vscode.window.onDidChangeActiveTextEditor(refreshLanguage),
    vscode.workspace.onDidChangeConfiguration(async (e) => {
      if (!e.affectsConfiguration('ghostline')) return;
      const before = settings;
      settings = loadSettings(output);
      refreshLanguage();
      if (before.serverPath !== settings.serverPath || before.serverArgs.join('\0') !== settings.serverArgs.join('\0')) {
        await start(output);
      } else {
        await starting;
        if (client?.isRunning()) {
          await client.sendNotification(DidChangeConfigurationNotification.type, { settings: serverSettings(settings) });
        }
      }
    }),
  );
  refreshLanguage();
  await start(output);
}

export async function deactivate(): Promise<void> {
  if (client) await client.stop();
}
