import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT } from '../src/cli/main.js';
import { summaryTable } from '../src/cli/lab.js';
import { runLab, selectExperiments } from '../src/lab/index.js';
import { Trainer, validationCadence } from '../src/nn/index.js';
import { runCli, type CliRun } from './helpers/cli.js';

/** The CLI in this process, its output captured; `failWrite` makes stdout throw, as a broken pipe would. */
const cli = (args: string[], failWrite = false): Promise<CliRun> => runCli(args, { failWrite });

describe('the command line: one exit-code convention, flags named as typed, help that matches behaviour', () => {
  it('exits 2 for every refused command line, commander\'s unknown options included, and 0 for --help and --version', async () => {
    for (const args of [['lab', '--bogus'], ['train', '--bogus'], ['serve', '--bogus'], ['bogus'], ['lab', '--seed'], ['lab', '--seed', 'x'], ['train', '--steps', '0']]) {
      const r = await cli(args);
      assert.equal(r.code, EXIT.usage, `${args.join(' ')}: ${r.err}`);
      assert.equal(r.out, '', args.join(' '));
    }
    assert.equal((await cli(['--version'])).code, EXIT.ok);
    assert.equal((await cli(['lab', '--help'])).code, EXIT.ok);
  });

  it('exits 1 with the stack for an unexpected failure, not 2', async () => {
    const r = await cli(['--version'], true);
    assert.equal(r.code, EXIT.failure);
    assert.match(r.err, /unexpected error, please report it: Error: stdout went away\n\s+at /);
  });

  it('names the flag the user typed, never the config field', async () => {
    const cases: [string[], RegExp][] = [
      [['--head-dim', '0'], /train: --head-dim is 0; expected a positive integer/],
      [['--batch-size', '0'], /train: --batch-size is 0; expected a positive integer/],
      [['--width', '-4'], /train: --width is -4; expected a positive integer/],
      [['--sample', '-1'], /train: --sample is -1; expected an integer >= 0/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(['train', ...args]);
      assert.equal(r.code, EXIT.usage, args.join(' '));
      assert.match(r.err, message);
      assert.doesNotMatch(r.err, /headDim|batchSize/);
    }
  });

  it('lab: C8 runs only with --full, as the help says, and --only cannot sneak it into a quick run', async () => {
    const help = await cli(['lab', '--help']);
    assert.match(help.out, /C8\s+and\s+C10–C12\s+only\s+with\s+--full/);
    for (const mode of ['--quick', undefined]) {
      const r = await cli(['lab', ...(mode ? [mode] : []), '--only', 'C8']);
      assert.equal(r.code, EXIT.usage);
      assert.match(r.err, /--only names C8, a long experiment .*; it runs only with --full, e.g\. --full --only C8/);
    }
    assert.throws(() => selectExperiments('default', ['C1', 'c8']), { code: 'E_OPTION' });
    assert.deepEqual(selectExperiments('full', ['C8']).map((e) => e.id), ['C8']);
  });

  it('lab: the summary of a quick run says it is a smoke test, and a default run does not', () => {
    const quick = runLab({ seed: 3, mode: 'quick', only: ['C6'], version: 'test', settings: { dims: [4, 16, 64] } });
    assert.match(summaryTable(quick), /\nquick run: a smoke test with small samples.*; run without --quick for the verdicts\n$/);
    assert.doesNotMatch(summaryTable({ ...quick, mode: 'default' }), /smoke test/);
  });
});

describe('train: validation cadence scales with the run length', () => {
  it('validates every steps/20, but never more often than one validation set\'s worth of training sequences', () => {
    assert.equal(validationCadence(30, 32, 256), 8); // recall, 30 steps: 4 validations, not 15
    assert.equal(validationCadence(300, 32, 256), 15); // long runs keep their 20 points
    assert.equal(validationCadence(1000, 32, 64), 50);
    assert.equal(validationCadence(3, 32, 16), 1);
  });

  it('a 30-step recall run validates at steps 8, 16, 24 and 30, and an explicit evalEvery still wins', () => {
    const small = { task: 'recall', scaleRule: 'rsqrt', headDim: 8, width: 16, steps: 30, seed: 1 } as const;
    const trainer = new Trainer(small);
    assert.equal(trainer.config.evalEvery, 8);
    while (!trainer.done) trainer.advance();
    assert.deepEqual(trainer.curve.map((p) => p.step), [8, 16, 24, 30]);
    assert.equal(new Trainer({ ...small, evalEvery: 3 }).config.evalEvery, 3);
  });

  it('train --json says how often validation ran', { timeout: 120_000 }, async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'scaledot-cadence-')), 'run.json');
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'train', '--task', 'recall', '--steps', '12', '--width', '16', '--head-dim', '8', '--batch-size', '8', '--json', file], { encoding: 'utf8' });
    assert.equal(r.status, EXIT.ok, r.stderr);
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    assert.deepEqual([doc.evalEvery, doc.validations], [validationCadence(12, 8, 256), doc.curve.length]);
    assert.deepEqual(doc.curve.map((p: { step: number }) => p.step), [...Array.from({ length: Math.floor(12 / doc.evalEvery) }, (_, i) => (i + 1) * doc.evalEvery).filter((s) => s < 12), 12]);
  });
});
