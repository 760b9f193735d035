/**
 * inspect on each model tools/onnx-fixtures/export_torch.py wrote, against the
 * figures PyTorch computed from its own logits: prints the largest relative
 * difference per model and exits 1 past 1e-4 (or where a layer or head is missing).
 * Usage: npx tsx tools/onnx-fixtures/check.ts OUT_DIR
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspectOnnx } from '../../src/inspect/onnx/inspect-onnx.js';

const dir = process.argv[2];
let worst = 0;
for (const name of readdirSync(dir)) {
  const at = join(dir, name);
  if (!existsSync(join(at, 'model.onnx'))) continue;
  const reference = JSON.parse(readFileSync(join(at, 'reference.json'), 'utf8')) as { layers: { head: number; [k: string]: number }[][] };
  const inputs = ['x', 'attention_mask'].filter((n) => existsSync(join(at, `${n}.npy`))).map((n) => ({ name: n, path: join(at, `${n}.npy`) }));
  const result = await inspectOnnx({ model: join(at, 'model.onnx'), inputs }, 'check');
  if (result.inputs.length !== reference.layers.length) throw new Error(`${name}: ${result.inputs.length} layers found, PyTorch has ${reference.layers.length}`);
  let diff = 0;
  for (const [li, heads] of reference.layers.entries()) {
    const layer = result.inputs[li];
    for (const ref of heads) {
      const got = result.heads.find((h) => h.layer === layer.layer && h.head === ref.head);
      if (got === undefined) throw new Error(`${name}: ${layer.layer} head ${ref.head} missing`);
      const pairs: [number, number][] = [[got.logitStd, ref.logitStd], [got.entropyRatioMean, ref.entropyRatioMean], [got.maxProbMean, ref.maxProbMean],
        [got.firstKeyMass, ref.firstKeyMass], [got.fp16.scoreMaxAbs, ref.scoreMaxAbs]];
      for (const [a, b] of pairs) diff = Math.max(diff, Math.abs(a - b) / Math.max(1, Math.abs(b)));
    }
  }
  worst = Math.max(worst, diff);
  console.log(`${name}: ${result.inputs.length} layers (${result.inputs.map((l) => `${l.layer}: ${l.heads} heads, headDim ${l.headDim}, scale at ${l.scaleAt.map((f) => f.side).join('+')}, masked ${(100 * l.maskedShare).toFixed(1)}%`).join('; ')}); largest relative difference from PyTorch ${diff.toExponential(2)}`);
}
process.exit(worst <= 1e-4 ? 0 : 1);
