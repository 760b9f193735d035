import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listTensors, safetensorsBytes } from '../src/inspect/index.js';
import { runCli } from './helpers/cli.js';
import { referenceHead } from './helpers/head-reference.js';
import { npyBytes } from './helpers/onnx-graph.js';

/*
 * Padding and pre-scaled q in tensor files: --key-lengths (or a file's
 * key_lengths tensor) leaves padded keys and queries out; --q-prescaled S
 * reads q as already scaled. Each against the float64 reference of
 * test/helpers/head-reference.ts; then train --save-qk's files for every task.
 */

let dir = '';
before(() => { dir = mkdtempSync(join(tmpdir(), 'scaledot-lengths-')); });
after(() => rmSync(dir, { recursive: true, force: true }));

const [B, H, T, D] = [3, 2, 6, 4];
const value = (i: number, seed: number): number => Math.fround(1.3 * Math.sin(1 + i * 0.77 + seed * 2.3));
const qFlat = Float32Array.from({ length: B * H * T * D }, (_, i) => value(i, 1));
const kFlat = Float32Array.from({ length: B * H * T * D }, (_, i) => value(i, 2));
const nested = (x: Float32Array, h: number, scale = 1): number[][][] =>
  Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, t) => Array.from(x.subarray(((b * H + h) * T + t) * D, ((b * H + h) * T + t + 1) * D), (v) => v * scale)));
const LENGTHS = [6, 4, 2];
const keepOf = (causal: boolean): boolean[][][] => LENGTHS.map((n) => Array.from({ length: T }, (_, i) => Array.from({ length: T }, (_, j) => i < n && j < n && (!causal || j <= i))));

function close(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs reference ${expected}`);
}

type Head = { layer: string; head: number; topKey: { position: number; mass: number }; logitStd: number; logitMax: number; entropyRatioMean: number; maxProbMean: number; firstKeyMass: number; jacobianNormMedian: number; fp16: { scoreMaxAbs: number }; whatIf: { rsqrt: { logitStd: number } } };

function compare(heads: Head[], q: (h: number) => number[][][], scale: number, keep: boolean[][][]): void {
  for (let h = 0; h < H; h++) {
    const got = heads.find((x) => x.head === h)!;
    const e = referenceHead(q(h), nested(kFlat, h), keep, scale, null, D);
    close(got.logitStd, e.logitStd, `head ${h} logitStd`);
    close(got.logitMax, e.logitMax, `head ${h} logitMax`);
    close(got.entropyRatioMean, e.entropyRatioMean, `head ${h} entropy`);
    close(got.maxProbMean, e.maxProbMean, `head ${h} max p`);
    close(got.firstKeyMass, e.firstKeyMass, `head ${h} key 0`);
    assert.equal(got.topKey.position, e.topKeyPosition, `head ${h} top key`);
    close(got.topKey.mass, e.topKeyMass, `head ${h} top key's mass`);
    close(got.jacobianNormMedian, e.jacobianNormMedian, `head ${h} |J|`);
    close(got.fp16.scoreMaxAbs, e.scoreMaxAbs, `head ${h} raw |q·k|`);
    close(got.whatIf.rsqrt.logitStd, e.rsqrtLogitStd, `head ${h} what-if 1/√d`);
  }
}

async function inspectJson(args: string[]): Promise<{ inputs: { keyLengths?: number[]; qPrescaled?: number; scale: number }[]; heads: Head[] }> {
  const json = join(dir, `r${Math.random().toString(36).slice(2)}.json`);
  const r = await runCli(['inspect', ...args, '--json', json]);
  assert.equal(r.code, 0, r.err);
  return JSON.parse(readFileSync(json, 'utf8'));
}

describe('inspect: padding and a pre-scaled q in tensor files', () => {
  it('--key-lengths FILE.npy (int64) leaves each batch element\'s padded keys and queries out, causal or not', async () => {
    const file = join(dir, 'qk.safetensors');
    writeFileSync(file, safetensorsBytes([{ name: 'q', shape: [B, H, T, D], data: qFlat }, { name: 'k', shape: [B, H, T, D], data: kFlat }]));
    writeFileSync(join(dir, 'len.npy'), npyBytes(LENGTHS, [B], '<i8'));
    for (const causal of [false, true]) {
      const doc = await inspectJson([file, '--key-lengths', join(dir, 'len.npy'), '--scale', '0.5', ...(causal ? ['--causal'] : [])]);
      assert.deepEqual(doc.inputs[0].keyLengths, LENGTHS);
      compare(doc.heads, (h) => nested(qFlat, h), 0.5, keepOf(causal));
    }
  });

  it('reads a file\'s own key_lengths tensor', async () => {
    const file = join(dir, 'with-lengths.safetensors');
    writeFileSync(file, safetensorsBytes([
      { name: 'layers.0.q', shape: [B, H, T, D], data: qFlat }, { name: 'layers.0.k', shape: [B, H, T, D], data: kFlat },
      { name: 'key_lengths', shape: [B], data: Float32Array.from(LENGTHS) },
    ]));
    const doc = await inspectJson([file, '--causal']);
    assert.deepEqual(doc.inputs[0].keyLengths, LENGTHS);
    compare(doc.heads, (h) => nested(qFlat, h), 1 / Math.sqrt(D), keepOf(true));
  });

  it('--q-prescaled S: the logits use q as saved, the raw q·k and the what-ifs divide S out', async () => {
    const S = 0.125;
    const file = join(dir, 'prescaled.safetensors');
    writeFileSync(file, safetensorsBytes([{ name: 'q', shape: [B, H, T, D], data: Float32Array.from(qFlat, (x) => x * S) }, { name: 'k', shape: [B, H, T, D], data: kFlat }]));
    const doc = await inspectJson([file, '--q-prescaled', String(S), '--causal']);
    assert.equal(doc.inputs[0].qPrescaled, S);
    assert.equal(doc.inputs[0].scale, S);
    // Reference: the raw q (as saved ÷ S), scaled by S.
    compare(doc.heads, (h) => nested(qFlat, h, S).map((rows) => rows.map((r) => r.map((x) => x / S))), S, keepOf(true).map((rows, b) => rows.map((r, i) => r.map((_, j) => j <= i || b < 0))));
  });

  it('--qkv splits a fused (batch, length, (H + 2·Hkv)·headDim) tensor in its documented order, GQA included, and every NAME-suffixed layer of a file', async () => {
    // [q heads | k heads | v heads] per (b, t), from the test's own q, k and a v of its own.
    for (const kvHeads of [H, 1]) {
      const width = (H + 2 * kvHeads) * D;
      const packed = new Float32Array(B * T * width);
      for (let b = 0; b < B; b++) {
        for (let t = 0; t < T; t++) {
          const row = (b * T + t) * width;
          for (let h = 0; h < H; h++) packed.set(qFlat.subarray(((b * H + h) * T + t) * D, ((b * H + h) * T + t + 1) * D), row + h * D);
          for (let h = 0; h < kvHeads; h++) packed.set(kFlat.subarray(((b * H + h) * T + t) * D, ((b * H + h) * T + t + 1) * D), row + (H + h) * D);
          for (let x = (H + kvHeads) * D; x < width; x++) packed[row + x] = 100 + x; // v: never read
        }
      }
      const file = join(dir, `packed${kvHeads}.safetensors`);
      writeFileSync(file, safetensorsBytes([{ name: 'blocks.0.attn.qkv', shape: [B, T, width], data: packed }, { name: 'blocks.1.attn.qkv', shape: [B, T, width], data: packed }]));
      const doc = await inspectJson([file, '--qkv', 'qkv', '--heads', String(H), ...(kvHeads !== H ? ['--kv-heads', String(kvHeads)] : []), '--causal']);
      assert.deepEqual(doc.inputs.map((l) => (l as unknown as { layer: string }).layer), ['blocks.0.attn', 'blocks.1.attn']);
      const keep = keepOf(true).map((rows) => rows.map((r, i) => r.map((_, j) => j <= i)));
      for (let h = 0; h < H; h++) {
        const got = doc.heads.find((x) => x.layer === 'blocks.0.attn' && x.head === h)!;
        // Query head h reads key head ⌊h / (H / kvHeads)⌋.
        const e = referenceHead(nested(qFlat, h), nested(kFlat, Math.floor(h / (H / kvHeads))), keep, 1 / Math.sqrt(D), null, D);
        close(got.logitStd, e.logitStd, `kvHeads ${kvHeads} head ${h} logitStd`);
        close(got.entropyRatioMean, e.entropyRatioMean, `kvHeads ${kvHeads} head ${h} entropy`);
        close(got.fp16.scoreMaxAbs, e.scoreMaxAbs, `kvHeads ${kvHeads} head ${h} raw |q·k|`);
      }
    }
    const r = await runCli(['inspect', join(dir, `packed${H}.safetensors`), '--qkv', 'qkv', '--heads', '3']);
    assert.equal(r.code, 2);
    assert.match(r.err, /its width 24 is not \(heads 3 \+ 2 × kvHeads 3\) × headDim for a whole headDim/);
  });

  it('refuses lengths that do not fit: wrong count, out of range, not whole; exit 2 and no file', async () => {
    const file = join(dir, 'qk.safetensors');
    const cases: [number[], RegExp][] = [
      [[6, 4], /has shape \(2\); layer qk has batch 3, so expected \(3,\)/],
      [[6, 7, 1], /\[1\] is 7; expected a whole number of tokens from 1 to 6/],
      [[6, 0, 1], /\[1\] is 0; expected a whole number/],
    ];
    for (const [values, message] of cases) {
      writeFileSync(join(dir, 'bad.npy'), npyBytes(values, [values.length], '<i8'));
      const json = join(dir, 'never.json');
      const r = await runCli(['inspect', file, '--key-lengths', join(dir, 'bad.npy'), '--json', json]);
      assert.equal(r.code, 2);
      assert.match(r.err, message);
      assert.equal(existsSync(json), false);
    }
    const r = await runCli(['inspect', file, '--q-prescaled', '0']);
    assert.equal(r.code, 2);
    assert.match(r.err, /--q-prescaled is 0; expected the finite factor > 0/);
  });
});

describe('train --save-qk → inspect, for every task', () => {
  for (const task of ['names', 'recall', 'maxretrieval'] as const) {
    it(`${task}: the file inspect is told to read is read, with K's own shape${task === 'names' ? ' and the names\' lengths' : ''}`, async () => {
      const file = join(dir, `${task}.safetensors`);
      const trained = await runCli(['train', '--task', task, '--steps', '1', '--width', '16', '--head-dim', '8', '--batch-size', '4', '--save-qk', file]);
      assert.equal(trained.code, 0, trained.err);
      const command = /scaledot inspect (\S+) --causal --scale (\S+)/.exec(trained.out);
      assert.ok(command, trained.out);
      const tensors = await listTensors(file);
      const shapeOf = async (name: string): Promise<number[]> => (await tensors.find((t) => t.name === name)!.header()).shape;
      // The last layer: under maxretrieval only its last position queries.
      const [qShape, kShape] = [await shapeOf('layers.1.attn.q'), await shapeOf('layers.1.attn.k')];
      const doc = await inspectJson([file, '--causal', '--scale', command[2]]);
      assert.equal(doc.heads.length > 0, true);
      if (task === 'maxretrieval') assert.equal(qShape[2], 1, 'one query: the last position'); // and K keeps all its keys
      assert.equal(kShape[2] >= qShape[2], true);
      const kValues = (await tensors.find((t) => t.name === 'layers.1.attn.k')!.read()).length;
      assert.equal(kValues, kShape.reduce((a, b) => a * b, 1), 'K\'s shape matches its values');
      if (task === 'names') {
        const lengths = Array.from(await tensors.find((t) => t.name === 'key_lengths')!.read());
        assert.deepEqual(doc.inputs[0].keyLengths, lengths);
        assert.ok(lengths.some((n) => n < kShape[2]), 'some names are padded');
      } else {
        assert.equal(tensors.some((t) => t.name === 'key_lengths'), false);
      }
    });
  }
});
