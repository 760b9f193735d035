/**
 * Peak memory of `scaledot inspect MODEL.onnx` on a model of over 100 MB
 * against the same model without its bulk: both are a 2-layer GPT-2-like
 * graph (test/helpers/onnx-transformer.ts); the large one carries a
 * 128 MiB float32 initializer besides, appended as a second GraphProto
 * (protobuf merges it into the first). Each run is a child process that
 * reports its own peak RSS. Usage: npx tsx tools/inspect-onnx-memory.ts
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { npyBytes } from '../test/helpers/onnx-graph.js';
import { buildTransformer } from '../test/helpers/onnx-transformer.js';

const BULK = 128 * 2 ** 20;
const dir = mkdtempSync(join(tmpdir(), 'scaledot-onnx-memory-'));

function varint(v: number): number[] {
  const out: number[] = [];
  do {
    let b = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) b |= 0x80;
    out.push(b);
  } while (v > 0);
  return out;
}

const spec = { batch: 2, length: 32, width: 64, headDim: 16, padMask: true, seed: 1, layers: [{ heads: 4, scaleAt: 'scores-div' as const, causal: true }, { heads: 4, scaleAt: 'scores-div' as const, causal: true }] };
const small = join(dir, 'small.onnx');
const large = join(dir, 'large.onnx');
const model = buildTransformer(spec).bytes;
writeFileSync(small, model);
// TensorProto { dims: [BULK/4], data_type: FLOAT, name: "bulk", raw_data: zeros } inside GraphProto.initializer (5) inside ModelProto.graph (7).
const name = [...new TextEncoder().encode('bulk')];
const tensorHead = [0x08, ...varint(BULK / 4), 0x10, 0x01, 0x42, name.length, ...name, 0x4a, ...varint(BULK)];
const tensorLength = tensorHead.length + BULK;
const graphHead = [0x2a, ...varint(tensorLength)];
const fd = openSync(large, 'w');
writeSync(fd, model);
writeSync(fd, Uint8Array.from([0x3a, ...varint(graphHead.length + tensorLength), ...graphHead, ...tensorHead]));
const zeros = new Uint8Array(2 ** 20);
for (let i = 0; i < BULK / zeros.length; i++) writeSync(fd, zeros);
closeSync(fd);

writeFileSync(join(dir, 'x.npy'), npyBytes(Array.from({ length: 2 * 32 * 64 }, (_, i) => Math.sin(i)), [2, 32, 64], '<f4'));
writeFileSync(join(dir, 'attention_mask.npy'), npyBytes(Array.from({ length: 64 }, (_, i) => (i % 32 < 28 || i < 32 ? 1 : 0)), [2, 32], '<i8'));

const script = (file: string, runtime: string): string => `import { main } from './src/cli/main.ts';
const code = await main(['inspect', ${JSON.stringify(file)}, '--input', 'x=${join(dir, 'x.npy')}', '--input', '${join(dir, 'attention_mask.npy')}', '--runtime', '${runtime}', '--json', '${join(dir, 'out.json')}']);
process.stderr.write('\\nmaxRSS ' + process.resourceUsage().maxRSS + '\\n');
process.exit(code);`;

for (const runtime of ['onnxruntime-node', 'onnxruntime-web']) {
  for (const file of [small, large]) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script(file, runtime)], { encoding: 'utf8' });
    const rss = Number(/maxRSS (\d+)/.exec(r.stderr)?.[1] ?? NaN);
    console.log(`${runtime.padEnd(17)} ${(statSync(file).size / 2 ** 20).toFixed(1).padStart(7)} MiB model: exit ${r.status}, peak RSS ${(rss / 1024).toFixed(0)} MiB`);
    if (r.status !== 0) console.log(r.stderr);
  }
}
rmSync(dir, { recursive: true, force: true });
