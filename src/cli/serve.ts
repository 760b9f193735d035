import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { startStaticServer } from '../node/static-server.js';
import { ScaledotError } from '../tensor/index.js';

/**
 * The built explainer page: web/dist, two levels up from both src/cli and
 * dist/cli, like package.json.
 */
export function defaultWebRoot(): string {
  return fileURLToPath(new URL('../../web/dist/', import.meta.url));
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) {
    throw new ScaledotError('E_OPTION', `serve: --port is ${JSON.stringify(value)}; expected an integer in [0, 65535] (0 picks a free one)`);
  }
  return port;
}

/** `scaledot serve`: serves the built explainer page until interrupted. */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve the built explainer page (web/dist) with the cross-origin isolation headers SharedArrayBuffer needs')
    .option('-p, --port <n>', 'port to listen on (0 picks a free one)', parsePort, 8080)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--root <dir>', 'folder to serve instead of the built page')
    .action(async (opts: { port: number; host: string; root?: string }) => {
      // Building the page helps only where the root is the built page's own folder, not one the user named.
      const missingHint = opts.root === undefined ? 'build the page first with `npm run build:web`' : 'give a folder that holds an index.html, or leave --root out to serve the built page';
      const served = await startStaticServer({ root: opts.root ?? defaultWebRoot(), port: opts.port, host: opts.host, missingHint });
      // Handlers first: whoever reads the address may stop the server at once.
      const stopped = new Promise<void>((resolveStop) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void served.close().then(resolveStop);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      process.stdout.write(`scaledot: serving ${opts.root ?? 'the explainer page'} at ${served.url} (Ctrl-C stops)\n`);
      await stopped;
    });
}
