import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, type CliRun } from './helpers/cli.js';
import { TASKS, defaultLr, resolveTrainConfig } from '../src/nn/index.js';
import { TRAIN_DEFAULTS } from '../src/cli/train.js';

/** Runs the CLI in-process, capturing what it writes. */
const run = (args: string[]): Promise<CliRun> => runCli(args);

/** Runs the CLI as a child process (stdout not a terminal), optionally sending SIGINT after `interruptAfterMs`. */
async function spawnCli(args: string[], interruptAfterMs?: number, signal: NodeJS.Signals = 'SIGINT'): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c) => (out += String(c)));
  child.stderr.on('data', (c) => (err += String(c)));
  const timer = interruptAfterMs === undefined ? null : setTimeout(() => child.kill(signal), interruptAfterMs);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  if (timer !== null) clearTimeout(timer);
  return { code, out, err };
}

const SMALL = ['--width', '16', '--head-dim', '8', '--batch-size', '4'];

describe('scaledot train', () => {
  it('refuses bad input with a clear message and a non-zero exit', async () => {
    const cases: [string[], RegExp][] = [
      [['--task', 'poems'], /task "poems" is unknown; expected one of recall, names/],
      [['--scale', 'sqrt'], /scale rule "sqrt" is unknown; expected one of rsqrt, none, inverse, qk-norm, log-length, softcap/],
      [['--head-dim', '24'], /head dim 24 does not divide the width 64/],
      [['--steps', '0'], /steps is 0; expected a positive integer/],
      [['--steps', '-3'], /steps is -3/],
      [['--steps', 'ten'], /--steps is "ten"; expected an integer/],
      [['--task', 'recall', '--sample', '2'], /--sample generates names/],
      // The flag as typed, not the config key it becomes (lengthMultiples[]).
      [['--task', 'recall', '--lengths', '0'], /train: --lengths is 0; expected a positive integer/],
      [['--task', 'recall', '--lengths', '1,-4'], /--lengths is -4; expected a positive integer/],
      [['--task', 'markedcopy', '--lengths', '1,4'], /--lengths sweeps recall or maxretrieval sequences; --task markedcopy has none/],
      [['--task', 'markedcopy', '--adaptive-temperature'], /--task markedcopy has none/],
    ];
    for (const [args, pattern] of cases) {
      const r = await run(['train', ...args]);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.err, pattern);
      assert.equal(r.out, '');
    }
  });

  it('--json writes exactly the documented schema; stdout has the curve, the bigram baseline and samples', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scaledot-train-'));
    const file = join(dir, 'run.json');
    // A child process: stubbing this process's stdout for a long run would swallow the test runner's own report.
    const r = await spawnCli(['train', '--task', 'names', '--scale', 'qk-norm', '--steps', '4', '--seed', '5', '--sample', '3', '--json', file, ...SMALL]);
    assert.equal(r.code, 0, r.err);
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    assert.deepEqual(Object.keys(doc), ['task', 'scale', 'headDim', 'steps', 'stepsRequested', 'interrupted', 'evalEvery', 'validations', 'seed', 'lr', 'diverged', 'divergedAt', 'curve', 'stepLog', 'final']);
    assert.deepEqual([doc.task, doc.scale, doc.headDim, doc.steps, doc.stepsRequested, doc.interrupted, doc.seed, doc.diverged, doc.divergedAt], ['names', 'qk-norm', 8, 4, 4, false, 5, false, null]);
    assert.ok(doc.curve.length >= 1);
    for (const p of doc.curve) assert.deepEqual(Object.keys(p), ['step', 'trainLoss', 'valLoss', 'accuracy', 'maxLogit', 'minEntropy']);
    assert.deepEqual(doc.stepLog.map((p: any) => p.step), [1, 2, 3, 4]);
    for (const p of doc.stepLog) assert.ok(Number.isFinite(p.maxLogit) && p.minEntropy >= 0, JSON.stringify(p));
    assert.equal(doc.curve.at(-1).maxLogit, doc.stepLog.at(-1).maxLogit);
    assert.deepEqual(Object.keys(doc.final), ['trainLoss', 'valLoss', 'accuracy']);
    assert.equal(doc.final.valLoss, doc.curve[doc.curve.length - 1].valLoss);
    assert.match(r.out, /character-bigram baseline \(add-one, same split\) \d\.\d+ nats\/char/);
    assert.match(r.out, /samples:\n(  [a-z-]*\n){3}$/);
    assert.deepEqual(readdirSync(dir), ['run.json'], 'no temp file is left behind');
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} stops a run, still writes --json marked interrupted with the steps done, and exits 130`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'scaledot-sigint-'));
      const file = join(dir, 'run.json');
      // 10 s: long enough for tsx to start (the handler is installed before the model is built) on a loaded machine.
      const { code, out } = await spawnCli(['train', '--task', 'recall', '--steps', '100000', '--json', file, ...SMALL], 10_000, signal);
      assert.equal(code, 130);
      assert.ok(existsSync(file));
      const doc = JSON.parse(readFileSync(file, 'utf8'));
      assert.ok(doc.steps < 100000, `steps ${doc.steps}`);
      assert.equal(doc.interrupted, true);
      assert.equal(doc.stepsRequested, 100000);
      if (doc.steps > 0) assert.equal(doc.curve[doc.curve.length - 1].step, doc.steps);
      assert.match(out, /stopped early/);
    });
  }

  // The timeout turns a refusal that came only after training (hours at 100000 steps) into a failure.
  it('refuses a --json path it cannot write before training, so no run is lost to a typo', { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scaledot-train-json-'));
    const cases: [string, RegExp][] = [
      [join(dir, 'no-such-folder', 'run.json'), /cannot write --json .*no-such-folder.*nothing was trained/],
      [dir, /--json .* is a folder/],
    ];
    const same = await run(['train', '--task', 'recall', '--steps', '100000', '--json', join(dir, 'x.safetensors'), '--save-qk', join(dir, 'x.safetensors'), ...SMALL]);
    assert.equal(same.code, 2, same.err);
    assert.match(same.err, /--save-qk .*x\.safetensors and --json .*x\.safetensors are the same file/);
    for (const [path, pattern] of cases) {
      const r = await run(['train', '--task', 'recall', '--steps', '100000', '--json', path, ...SMALL]);
      assert.equal(r.code, 2, path);
      assert.match(r.err, pattern);
      assert.equal(r.out, '');
    }
    assert.deepEqual(readdirSync(dir), [], 'the probe leaves nothing behind');
  });

  it('a run that diverges stops cleanly, says so, and writes no NaN', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scaledot-diverge-'));
    const file = join(dir, 'run.json');
    const r = await spawnCli(['train', '--task', 'recall', '--steps', '50', '--lr', '1000', '--json', file, ...SMALL]);
    assert.equal(r.code, 0, r.err);
    const text = readFileSync(file, 'utf8');
    const doc = JSON.parse(text);
    assert.equal(doc.diverged, true);
    assert.ok(Number.isInteger(doc.divergedAt) && doc.divergedAt <= 50 && doc.steps === doc.divergedAt - 1, `${doc.divergedAt} ${doc.steps}`);
    assert.ok(!/NaN|Infinity/.test(text));
    assert.match(r.out, /diverged at step \d+/);
  });

  it('--help gives every task its default steps and learning rate, from the defaults the run uses', async () => {
    const help = (await run(['train', '--help'])).out.replace(/\s+/g, ' ');
    for (const task of TASKS) {
      assert.ok(help.includes(`${TRAIN_DEFAULTS.steps[task]} for ${task}`), `steps for ${task}: ${help}`);
      assert.ok(help.includes(`${defaultLr(task, 'adamw')} on ${task}`), `lr for ${task}`);
      assert.equal(resolveTrainConfig({ task, scaleRule: 'rsqrt', headDim: 16, steps: 1, seed: 0 }).lr, defaultLr(task, 'adamw'));
    }
  });

  it("the help's own --lengths example, 1,4,16, runs on recall (the key alphabet grows to 8 × 16)", async () => {
    const help = await run(['train', '--help']);
    const example = /e\.g\. ([\d,]+)/.exec(help.out)?.[1];
    assert.equal(example, '1,4,16');
    const dir = mkdtempSync(join(tmpdir(), 'scaledot-lengths-'));
    const file = join(dir, 'run.json');
    const r = await spawnCli(['train', '--task', 'recall', '--steps', '2', '--lengths', example, '--json', file, ...SMALL]);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')).lengths.map((l: any) => l.multiple), [1, 4, 16]);
  });

  it('maxretrieval sweeps set sizes with and without adaptive temperature', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scaledot-maxret-'));
    const file = join(dir, 'run.json');
    const r = await spawnCli(['train', '--task', 'maxretrieval', '--scale', 'ssmax', '--steps', '3', '--lengths', '1,4', '--adaptive-temperature', '--json', file, ...SMALL]);
    assert.equal(r.code, 0, r.err);
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    assert.deepEqual(doc.lengths.map((l: any) => l.length), [17, 65]);
    for (const l of doc.lengths) {
      assert.ok(l.maxWeight > 0 && l.maxWeight <= 1 && l.adaptive.maxWeight >= l.maxWeight - 1e-12, 'adaptive temperature never flattens a row');
    }
    assert.match(r.out, /accuracy \(adaptive\)/);
  });
});
