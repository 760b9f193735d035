import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listTensors } from '../src/inspect/index.js';
import { Transformer, captureQueryKey } from '../src/nn/index.js';
import { runCli, type CliRun } from './helpers/cli.js';

const run = (args: string[]): Promise<CliRun> => runCli(args);

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'scaledot-save-qk-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('train --save-qk', () => {
  it('captures the q and k the attention layers use: their causal softmax entropy is the one the model measures', () => {
    for (const scaleRule of ['rsqrt', 'none', 'qk-norm'] as const) {
      const model = new Transformer({ vocabSize: 9, width: 16, layers: 2, heads: 2, headDim: 8, scaleRule, dtype: 'float64', seed: 3 });
      const [B, T] = [3, 5];
      const ids = Int32Array.from({ length: B * T }, (_, i) => (i * 5 + 1) % 9);
      const captured = captureQueryKey(model, { ids, targets: ids, batch: B, length: T });
      model.forward(ids, B, T, true);
      assert.equal(captured.length, 2);
      for (const c of captured) {
        assert.deepEqual(c.shape, [B, 2, T, 8]);
        // Mean entropy over every causal row, from the captured tensors by the plain formula.
        let total = 0;
        for (let bh = 0; bh < B * 2; bh++) {
          for (let i = 0; i < T; i++) {
            const logits = Array.from({ length: i + 1 }, (_, j) => {
              let s = 0;
              for (let e = 0; e < 8; e++) s += c.q[(bh * T + i) * 8 + e] * c.k[(bh * T + j) * 8 + e];
              return c.scale * s;
            });
            const m = Math.max(...logits);
            const z = logits.reduce((a, x) => a + Math.exp(x - m), 0);
            total -= logits.reduce((a, x) => a + (Math.exp(x - m) / z) * Math.log(Math.exp(x - m) / z), 0);
          }
        }
        const measured = model.blocks[c.layer].attn.lastEntropy;
        assert.ok(Math.abs(total / (B * 2 * T) - measured) < 1e-5, `${scaleRule} layer ${c.layer}: ${total / (B * 2 * T)} vs ${measured}`);
      }
      assert.ok(model.blocks.every((b) => b.attn.onQueryKey === null), 'the hook is removed');
    }
  });

  it('writes a file scaledot inspect reads, and refuses an unwritable path before training', async () => {
    const file = join(dir, 'qk.safetensors');
    const trained = await run(['train', '--task', 'names', '--steps', '2', '--width', '16', '--head-dim', '8', '--batch-size', '4', '--save-qk', file]);
    assert.equal(trained.code, 0, trained.err);
    assert.match(trained.out, /Q and K of 2 layer\(s\) on a held-out batch, shape \[\d+,2,\d+,8\] \(bhld\), with each sequence's length \(key_lengths: inspect leaves the padding out\), written to .*qk\.safetensors; the model scales q·k by 0\.35355/);
    const names = (await listTensors(file)).map((t) => t.name).sort();
    assert.deepEqual(names, ['key_lengths', 'layers.0.attn.k', 'layers.0.attn.q', 'layers.1.attn.k', 'layers.1.attn.q']);
    const json = join(dir, 'qk.json');
    assert.equal((await run(['inspect', file, '--causal', '--json', json])).code, 0);

    // Under the sink rules the file holds q and k but not the sink logit: train says so where it says what it wrote.
    for (const rule of ['softmax1', 'sink']) {
      const sinkFile = join(dir, `${rule}.safetensors`);
      const withSink = await run(['train', '--task', 'names', '--scale', rule, '--steps', '2', '--width', '16', '--head-dim', '8', '--batch-size', '4', '--save-qk', sinkFile]);
      assert.equal(withSink.code, 0, withSink.err);
      assert.match(withSink.out, /its softmax has a sink logit \((0|learnt per head)\) that the file does not hold, so inspect's weights are the keys' share renormalised: scaledot inspect/);
    }

    const bad = await run(['train', '--task', 'names', '--steps', '2', '--save-qk', join(dir, 'no', 'such', 'dir', 'qk.safetensors')]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /train: --save-qk .*qk\.safetensors: its directory cannot be written/);
    assert.equal(bad.out, '', 'no training ran');
    assert.equal(existsSync(join(dir, 'no')), false);
  });
});
