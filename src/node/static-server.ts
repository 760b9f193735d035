// Static files over HTTP with the cross-origin isolation headers, for every
// Node command that serves a page: `scaledot serve` (the explainer) and
// `scaledot bench --browser` (the benchmark page, browser-server.ts).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createReadStream, realpathSync, statSync, type Stats } from 'node:fs';
import { extname, join, resolve, sep } from 'node:path';
import { ScaledotError } from '../tensor/index.js';

/** Types for what a Vite build emits; anything else is served as bytes. */
const MIME_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

export function mimeType(path: string): string {
  return MIME_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * SharedArrayBuffer (threaded wasm) is only available to a cross-origin
 * isolated page, which takes both of these headers on the document and
 * same-origin (or CORP-marked) subresources.
 */
export const ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export interface StaticServerOptions {
  /** Folder to serve; must hold index.html. */
  root: string;
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  /** What to do when the root or its index.html is missing (the caller knows whether building helps). */
  missingHint?: string;
}

export interface StaticServer {
  /** e.g. http://127.0.0.1:5173/ */
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

/**
 * A read-only static file server for the built page: GET and HEAD only, no
 * directory listings, and no path that resolves (after decoding, `..` and
 * symlinks) outside the root.
 */
export async function startStaticServer(options: StaticServerOptions): Promise<StaticServer> {
  const fn = 'serve';
  const { port = 0, host = '127.0.0.1' } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ScaledotError('E_OPTION', `${fn}: port is ${String(port)}; expected an integer in [0, 65535] (0 picks a free one)`);
  }
  const fix = options.missingHint ?? 'give a folder that holds an index.html';
  let root: string;
  try {
    root = realpathSync(resolve(options.root));
  } catch {
    throw new ScaledotError('E_IO', `${fn}: root ${options.root} does not exist; ${fix}`);
  }
  if (!isFile(join(root, 'index.html'))) {
    throw new ScaledotError('E_IO', `${fn}: ${join(root, 'index.html')} is missing; ${fix}`);
  }

  const server = createServer((req, res) => handle(root, req, res));
  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      rejectListen(new ScaledotError('E_IO', `${fn}: cannot listen on ${host}:${port}: ${err.code ?? err.message}`));
    });
    server.listen(port, host, () => resolveListen());
  });
  const address = server.address();
  const boundPort = typeof address === 'object' && address !== null ? address.port : port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${boundPort}/`,
    port: boundPort,
    server,
    close: () =>
      new Promise<void>((resolveClose) => {
        server.close(() => resolveClose());
        server.closeAllConnections();
      }),
  };
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function handle(root: string, req: IncomingMessage, res: ServerResponse): void {
  for (const [name, value] of Object.entries(ISOLATION_HEADERS)) res.setHeader(name, value);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return sendText(res, 405, 'method not allowed');
  }
  const file = resolveRequest(root, req.url ?? '/');
  if (file === 'bad') return sendText(res, 400, 'bad request');
  if (file === null) return sendText(res, 404, 'not found');
  res.statusCode = 200;
  res.setHeader('Content-Type', mimeType(file.path));
  res.setHeader('Content-Length', file.stats.size);
  // The page is rebuilt in place during development; never serve a stale bundle.
  res.setHeader('Cache-Control', 'no-cache');
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const stream = createReadStream(file.path);
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}

/**
 * The file a request URL names inside root, null when there is none, or 'bad'
 * for a URL that cannot be decoded. A directory means its index.html.
 */
export function resolveRequest(root: string, url: string): { path: string; stats: Stats } | null | 'bad' {
  let pathname: string;
  try {
    pathname = decodeURIComponent(new URL(url, 'http://localhost').pathname);
  } catch {
    return 'bad';
  }
  if (pathname.includes('\0')) return 'bad';
  let candidate = resolve(root, '.' + pathname);
  if (!inside(root, candidate)) return null;
  try {
    // Resolve symlinks too: a link inside root must not lead outside it.
    candidate = realpathSync(candidate);
    if (!inside(root, candidate)) return null;
    let stats = statSync(candidate);
    if (stats.isDirectory()) {
      candidate = join(candidate, 'index.html');
      stats = statSync(candidate);
    }
    return stats.isFile() ? { path: candidate, stats } : null;
  } catch {
    return null;
  }
}

function inside(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.end(text + '\n');
}
