import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { ScaledotError } from '../tensor/index.js';
import { registerServe } from './serve.js';
import { registerLab } from './lab.js';
import { registerTrain } from './train.js';
import { registerInspect } from './inspect.js';
import { registerBench } from './bench.js';
import { packageVersion } from './version.js';


export function buildProgram(): Command {
  const program = new Command('scaledot')
    .description('Scaled dot-product attention: kernels, and a lab that measures why logits are scaled by 1/sqrt(d_k).')
    .version(packageVersion(), '-v, --version')
    .exitOverride()
    .showHelpAfterError();
  registerServe(program);
  registerLab(program);
  registerTrain(program);
  registerInspect(program);
  registerBench(program);
  return program;
}

/**
 * The exit codes, one convention for every command (README, "The command"):
 * 0 done (and --help, --version); 2 the command line or its input was refused
 * (commander's unknown option or missing argument, and every ScaledotError the
 * checks raise) before any work; 1 an unexpected failure (a bug: the stack is
 * printed); 130 interrupted (Ctrl-C or SIGTERM), as a shell reports SIGINT.
 */
export const EXIT = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const;

/** Runs the CLI on the given arguments and resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit 0; train's interruption carries 130; every other one is a usage error.
      if (err.exitCode === 0 || err.exitCode === EXIT.interrupted) return err.exitCode;
      return EXIT.usage;
    }
    if (err instanceof ScaledotError) {
      process.stderr.write(`scaledot: ${err.message} (${err.code})\n`);
      return EXIT.usage;
    }
    process.stderr.write(`scaledot: unexpected error, please report it: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return EXIT.failure;
  }
}

const invokedDirectly = process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
