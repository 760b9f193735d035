import { createReadStream } from 'node:fs';
import { createServer } from 'node:http';
import { ISOLATION_HEADERS, mimeType, resolveRequest } from '../node/static-server.js';
import { ScaledotError } from '../tensor/index.js';

/** A folder served under a URL prefix ('/wasm/' → the package's wasm/), or one generated page. */
export interface Mounts {
  index: string;
  folders: Record<string, string>;
}

/**
 * The benchmark page's server on 127.0.0.1 (a free port): its HTML and the
 * folders it loads, read-only, every response with the cross-origin
 * isolation headers, so that the page may share memory with its workers
 * (SharedArrayBuffer): scaledot's and onnxruntime-web's threads need it.
 * No path leaves its folder (node/static-server.ts's resolveRequest).
 */
export async function startBenchServer(mounts: Mounts): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    for (const [name, value] of Object.entries(ISOLATION_HEADERS)) res.setHeader(name, value);
    res.setHeader('Cache-Control', 'no-store');
    const url = req.url ?? '/';
    if (req.method !== 'GET') {
      res.statusCode = 405;
      res.end();
      return;
    }
    if (url === '/') {
      res.setHeader('Content-Type', 'text/html; charset=utf-8');
      res.end(mounts.index);
      return;
    }
    const prefix = Object.keys(mounts.folders).find((p) => url.startsWith(p));
    const file = prefix === undefined ? null : resolveRequest(mounts.folders[prefix], url.slice(prefix.length - 1));
    if (file === null || file === 'bad') {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.setHeader('Content-Type', mimeType(file.path));
    res.setHeader('Content-Length', file.stats.size);
    createReadStream(file.path).on('error', () => res.destroy()).pipe(res);
  });
  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', (err: NodeJS.ErrnoException) => rejectListen(new ScaledotError('E_IO', `bench --browser: cannot start the page's server: ${err.code ?? err.message}`)));
    server.listen(0, '127.0.0.1', () => resolveListen());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((resolveClose) => {
      server.close(() => resolveClose());
      server.closeAllConnections();
    }),
  };
}
