import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { ScaledotError } from '../tensor/index.js';
import { registerServe } from './serve.js';
import { registerLab } from './lab.js';
import { registerTrain } from './train.js';
import { registerInspect } from './inspect.js';
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
  return program;
}

/** Runs the CLI on the given arguments and resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof ScaledotError) {
      process.stderr.write(`scaledot: ${err.message} (${err.code})\n`);
      return 2;
    }
    throw err;
  }
}

const invokedDirectly = process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
