// A local demo of Ghostline in the browser: serves a Monaco editor page and
// bridges a WebSocket to `ghostline lsp` on stdio, one server process per
// connection. Listens on 127.0.0.1 only and accepts WebSocket connections
// only from its own page (Origin check): a local port that spawns processes
// must not be reachable from other web sites.
//
//   node server.js [--port 8787]      then open the printed URL
//
// GHOSTLINE_LSP_CMD sets the server command (default "ghostline lsp").
// Each WebSocket message is one JSON-RPC message; the bridge adds and
// strips the LSP Content-Length framing.
'use strict';

const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { WebSocketServer } = require('ws');

// The package's exports map hides its files from require.resolve: find the
// folder by the usual node_modules lookup instead.
const monacoDir = path.join(__dirname, 'node_modules', 'monaco-editor', 'min', 'vs');
const pageDir = path.join(__dirname, 'public');

const types = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.ttf': 'font/ttf', '.json': 'application/json', '.svg': 'image/svg+xml',
};

/** Resolves a URL path inside root, or null if it escapes it or is malformed. */
function inside(root, urlPath) {
  let rel;
  try {
    rel = decodeURIComponent(urlPath);
  } catch {
    return null; // "%" alone: a malformed URL, not a crash
  }
  const p = path.normalize(path.join(root, rel));
  return p === root || p.startsWith(root + path.sep) ? p : null;
}

// maxClients bounds the language servers the bridge runs at once: each
// loads a model (hundreds of MB), and a demo has one page open.
const maxClients = 4;

function serveFile(res, file) {
  fs.readFile(file, (err, data) => {
    if (err) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
      return;
    }
    res.writeHead(200, { 'content-type': types[path.extname(file)] || 'application/octet-stream', 'cache-control': 'no-cache' });
    res.end(data);
  });
}

/** Splits LSP-framed bytes into message bodies; keeps the remainder. */
class Deframer {
  constructor() { this.buf = Buffer.alloc(0); }
  push(chunk) {
    this.buf = Buffer.concat([this.buf, chunk]);
    const out = [];
    for (;;) {
      const sep = this.buf.indexOf('\r\n\r\n');
      if (sep < 0) break;
      const m = /content-length:\s*(\d+)/i.exec(this.buf.subarray(0, sep).toString('ascii'));
      if (!m) throw new Error('server sent a header without Content-Length');
      const n = Number(m[1]);
      if (this.buf.length < sep + 4 + n) break;
      out.push(this.buf.subarray(sep + 4, sep + 4 + n).toString('utf8'));
      this.buf = this.buf.subarray(sep + 4 + n);
    }
    return out;
  }
}

function frame(text) {
  const body = Buffer.from(text, 'utf8');
  return Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`, 'ascii'), body]);
}

/**
 * start serves on 127.0.0.1:port (0 = any free port) and resolves to
 * { url, close }. serverCmd is the argv of the language server.
 */
function start({ port = 8787, serverCmd, log = () => {} } = {}) {
  const cmd = serverCmd || (process.env.GHOSTLINE_LSP_CMD || 'ghostline lsp').trim().split(/\s+/);
  const children = new Set();
  const exits = []; // how each server process ended, for tests
  const httpServer = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    if (req.method !== 'GET') {
      res.writeHead(405).end();
      return;
    }
    let file = null;
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    if (url.pathname === '/') file = path.join(pageDir, 'index.html');
    else if (url.pathname.startsWith('/monaco/vs/')) file = inside(monacoDir, url.pathname.slice('/monaco/vs/'.length));
    else file = inside(pageDir, url.pathname.slice(1));
    if (!file) {
      res.writeHead(403).end();
      return;
    }
    serveFile(res, file);
  });

  const wss = new WebSocketServer({
    server: httpServer,
    path: '/lsp',
    maxPayload: 16 << 20,
    // Only this page may connect: the Host must name the loopback address
    // this bridge listens on (a name chosen by another site, resolving to
    // 127.0.0.1, would otherwise pass: DNS rebinding), and the Origin must
    // be that same host.
    verifyClient: ({ origin, req }, done) => {
      const port = httpServer.address().port;
      const host = req.headers.host;
      if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) return done(false, 401);
      if (origin !== `http://${host}`) return done(false, 401);
      if (children.size >= maxClients) return done(false, 503, 'too many connections');
      return done(true);
    },
  });
  wss.on('connection', (ws) => {
    const child = spawn(cmd[0], cmd.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(child);
    log(`client connected; started ${cmd.join(' ')} (pid ${child.pid})`);
    const deframer = new Deframer();
    child.stdout.on('data', (chunk) => {
      let msgs;
      try {
        msgs = deframer.push(chunk);
      } catch (err) {
        log(`bad output from the server: ${err.message}`);
        ws.close(1011, 'bad server output');
        return;
      }
      for (const m of msgs) if (ws.readyState === ws.OPEN) ws.send(m);
    });
    child.stderr.on('data', (b) => log(`server: ${String(b).trimEnd()}`));
    child.on('error', (err) => {
      log(`could not start ${cmd.join(' ')}: ${err.message}`);
      if (ws.readyState === ws.OPEN) ws.close(1011, `could not start ${cmd[0]}`);
    });
    child.on('exit', (code, signal) => {
      children.delete(child);
      log(`server exited (code ${code}, signal ${signal})`);
      exits.push({ code, signal });
      if (ws.readyState === ws.OPEN) ws.close(1000, 'server exited');
    });
    // A server that died (killed for memory while loading) makes the next
    // write fail with EPIPE; unhandled, that would end this bridge too.
    child.stdin.on('error', (e) => log(`server stdin: ${e.message}`));
    ws.on('message', (data, isBinary) => {
      if (isBinary || !child.stdin.writable) return;
      child.stdin.write(frame(data.toString('utf8')));
    });
    // The page went away: shut the server down as an editor would
    // (shutdown, exit), and kill it if it has not gone after a grace period.
    ws.on('close', () => {
      if (child.stdin.writable) {
        child.stdin.write(frame(JSON.stringify({ jsonrpc: '2.0', id: 'bridge-shutdown', method: 'shutdown' })));
        child.stdin.write(frame(JSON.stringify({ jsonrpc: '2.0', method: 'exit' })));
        child.stdin.end();
      }
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      child.on('exit', () => clearTimeout(t));
    });
  });

  return new Promise((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(port, '127.0.0.1', () => {
      const { port: p } = httpServer.address();
      resolve({
        url: `http://127.0.0.1:${p}/`,
        children,
        exits,
        close: () => new Promise((r) => {
          for (const c of children) c.kill();
          for (const c of wss.clients) c.terminate();
          wss.close();
          httpServer.close(() => r());
        }),
      });
    });
  });
}

module.exports = { start, Deframer, frame };

if (require.main === module) {
  const i = process.argv.indexOf('--port');
  const port = i > 0 ? Number(process.argv[i + 1]) : 8787;
  start({ port, log: (m) => console.error(m) }).then(({ url }) => {
    console.log(`Ghostline browser demo: ${url}`);
  }, (err) => {
    console.error(`ghostline browser demo: ${err.message}`);
    process.exit(1);
  });
}
