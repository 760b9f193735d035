import { main } from '../../src/cli/main.js';

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/**
 * Runs the CLI in this process on `args`, capturing the text it writes to
 * stdout and stderr (fast: for command lines that stop early or run briefly).
 * The CLI writes strings; byte chunks on stdout are the test runner's own
 * reports (a test file runs in a child that reports there) and pass through,
 * or earlier tests' results would be lost. `failWrite` makes the CLI's stdout
 * writes throw, as a closed pipe would.
 */
export async function runCli(args: string[], options: { failWrite?: boolean } = {}): Promise<CliRun> {
  let out = '';
  let err = '';
  const writeOut = process.stdout.write;
  const writeErr = process.stderr.write;
  const passThrough = writeOut.bind(process.stdout) as (chunk: Uint8Array, ...rest: unknown[]) => boolean;
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    if (typeof chunk !== 'string') return passThrough(chunk, ...rest);
    if (options.failWrite) throw new Error('stdout went away');
    out += chunk;
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((err += String(chunk)), true)) as typeof process.stderr.write;
  try {
    return { code: await main(args), out, err };
  } finally {
    process.stdout.write = writeOut;
    process.stderr.write = writeErr;
  }
}
