import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScaledotError } from '../src/tensor/index.js';
import { startStaticServer, type StaticServer } from '../src/node/static-server.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * A raw request: fetch() would normalise `..` and `%2e%2e` away before the
 * server sees them, which is exactly what these tests must send.
 */
function get(port: number, path: string, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('scaledot serve: the static server', () => {
  let base: string;
  let root: string;
  let served: StaticServer;

  before(async () => {
    base = mkdtempSync(join(tmpdir(), 'scaledot-serve-'));
    root = join(base, 'site');
    mkdirSync(join(root, 'assets'), { recursive: true });
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>page</title>');
    writeFileSync(join(root, 'assets', 'app.js'), 'export const x = 1;');
    writeFileSync(join(root, 'assets', 'style.css'), 'body{}');
    writeFileSync(join(root, 'assets', 'kernel.wasm'), Buffer.from([0, 97, 115, 109]));
    writeFileSync(join(root, 'assets', 'blob.xyz'), 'bytes');
    mkdirSync(join(root, 'docs'));
    writeFileSync(join(root, 'docs', 'index.html'), '<p>docs</p>');
    writeFileSync(join(base, 'secret.txt'), 'outside the root');
    symlinkSync(join(base, 'secret.txt'), join(root, 'link-out.txt'));
    served = await startStaticServer({ root, port: 0 });
  });

  after(async () => {
    await served.close();
    rmSync(base, { recursive: true, force: true });
  });

  it('listens on a free port for port 0 and reports its address', () => {
    assert.ok(served.port > 0);
    assert.equal(served.url, `http://127.0.0.1:${served.port}/`);
  });

  it('serves index.html for / and for a folder, with the isolation headers', async () => {
    for (const path of ['/', '/index.html', '/docs/', '/docs']) {
      const reply = await get(served.port, path);
      assert.equal(reply.status, 200, path);
      assert.equal(reply.headers['content-type'], 'text/html; charset=utf-8', path);
      assert.equal(reply.headers['cross-origin-opener-policy'], 'same-origin', path);
      assert.equal(reply.headers['cross-origin-embedder-policy'], 'require-corp', path);
    }
    assert.match((await get(served.port, '/')).body, /<title>page<\/title>/);
    assert.equal((await get(served.port, '/docs/')).body, '<p>docs</p>');
  });

  it('gives each kind of file its MIME type', async () => {
    const expected: Record<string, string> = {
      '/assets/app.js': 'text/javascript; charset=utf-8',
      '/assets/style.css': 'text/css; charset=utf-8',
      '/assets/kernel.wasm': 'application/wasm',
      '/assets/blob.xyz': 'application/octet-stream',
    };
    for (const [path, type] of Object.entries(expected)) {
      const reply = await get(served.port, path);
      assert.equal(reply.status, 200, path);
      assert.equal(reply.headers['content-type'], type, path);
      assert.equal(reply.headers['cross-origin-embedder-policy'], 'require-corp', path);
    }
    assert.equal((await get(served.port, '/assets/app.js?v=3')).body, 'export const x = 1;');
  });

  it('refuses every path that leads outside the root', async () => {
    for (const path of ['/../secret.txt', '/assets/../../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/assets%2f..%2f..%2fsecret.txt', '/link-out.txt']) {
      const reply = await get(served.port, path);
      assert.equal(reply.status, 404, path);
      assert.doesNotMatch(reply.body, /outside the root/, path);
    }
  });

  it('answers 404 for a missing file, 400 for a malformed or NUL path, 405 for other methods', async () => {
    assert.equal((await get(served.port, '/nope.js')).status, 404);
    assert.equal((await get(served.port, '/%E0%A4%A')).status, 400);
    assert.equal((await get(served.port, '/index.html%00.js')).status, 400);
    const post = await get(served.port, '/', 'POST');
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
  });

  it('answers HEAD with the headers and no body', async () => {
    const reply = await get(served.port, '/assets/app.js', 'HEAD');
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['content-length'], String('export const x = 1;'.length));
    assert.equal(reply.body, '');
  });

  it('rejects a missing root, a root without index.html and a bad port before listening', async () => {
    const empty = join(base, 'empty');
    mkdirSync(empty);
    const cases: [Parameters<typeof startStaticServer>[0], RegExp][] = [
      [{ root: join(base, 'missing') }, /serve: root .*missing does not exist/],
      // A root the caller named: building the page would not help there.
      [{ root: empty }, /serve: .*index\.html is missing; give a folder that holds an index\.html$/],
      [{ root: empty, missingHint: 'build it' }, /serve: .*index\.html is missing; build it$/],
      [{ root, port: 70000 }, /serve: port is 70000/],
      [{ root, port: 1.5 }, /serve: port is 1\.5/],
    ];
    for (const [options, message] of cases) {
      await assert.rejects(startStaticServer(options), (err: unknown) => err instanceof ScaledotError && message.test(err.message));
    }
  });

  it('reports a port in use as E_IO', async () => {
    await assert.rejects(
      startStaticServer({ root, port: served.port }),
      (err: unknown) => err instanceof ScaledotError && err.code === 'E_IO' && /cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/.test(err.message),
    );
  });
});

describe('scaledot serve: the command', () => {
  it('prints the address it serves, serves, and stops on SIGTERM', async () => {
    const root = mkdtempSync(join(tmpdir(), 'scaledot-serve-cli-'));
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>cli</title>');
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--port', '0', '--root', root], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.setEncoding('utf8');
        child.stdout.on('data', (chunk: string) => {
          out += chunk;
          const match = /at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
          if (match) resolve(match[1]);
        });
        child.on('exit', (code) => reject(new Error(`serve exited early with ${code}: ${out}`)));
      });
      const reply = await get(Number(new URL(url).port), '/');
      assert.equal(reply.status, 200);
      assert.match(reply.body, /<title>cli<\/title>/);
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    } finally {
      child.kill('SIGKILL');
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('fails with a clear message and exit code 2 for a bad port or an unbuilt root', async () => {
    const run = (args: string[]): Promise<{ code: number | null; stderr: string }> =>
      new Promise((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr.setEncoding('utf8');
        child.stderr.on('data', (chunk: string) => (stderr += chunk));
        child.on('exit', (code) => resolve({ code, stderr }));
      });
    const badPort = await run(['--port', 'http']);
    assert.equal(badPort.code, 2);
    assert.match(badPort.stderr, /serve: --port is "http"; expected an integer in \[0, 65535\]/);
    const unbuilt = await run(['--port', '0', '--root', join(tmpdir(), 'scaledot-no-such-dir')]);
    assert.equal(unbuilt.code, 2);
    assert.match(unbuilt.stderr, /serve: root .*scaledot-no-such-dir does not exist; give a folder that holds an index\.html, or leave --root out/);
    assert.doesNotMatch(unbuilt.stderr, /build:web/, 'npm run build:web does not apply to a root the user gave');
  });
});
