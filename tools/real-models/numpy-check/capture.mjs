// Runs a model that find_attention.py prepared in onnxruntime-node (from tools/bench/peers) on one float32 .npy
// input and writes each tensor it names as DIR/t<i>.npy (float32): no code shared with src/inspect.
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
const require = createRequire(new URL('../../bench/peers/package.json', import.meta.url));
const ort = require('onnxruntime-node');
const [model, sitesJson, xPath, outDir] = process.argv.slice(2);
const npy = readFileSync(xPath);
const headerLength = npy.readUInt16LE(8);
const header = npy.subarray(10, 10 + headerLength).toString('latin1');
if (!header.includes("'<f4'")) throw new Error(`${xPath}: capture.mjs feeds float32 (<f4) only`);
const shape = header.match(/\(([^)]*)\)/)[1].split(',').filter((s) => s.trim()).map(Number);
const x = new Float32Array(npy.buffer.slice(npy.byteOffset + 10 + headerLength, npy.byteOffset + npy.length));
const session = await ort.InferenceSession.create(model, { graphOptimizationLevel: 'disabled' });
const { names } = JSON.parse(readFileSync(sitesJson, 'utf8'));
const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, shape) }, names);
names.forEach((name, i) => {
  const t = out[name];
  let h = `{'descr': '<f4', 'fortran_order': False, 'shape': (${t.dims.join(', ')},), }`;
  h += ' '.repeat(63 - ((10 + h.length) % 64)) + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1;
  pre.writeUInt16LE(h.length, 8);
  writeFileSync(`${outDir}/t${i}.npy`, Buffer.concat([pre, Buffer.from(h, 'latin1'), Buffer.from(Float32Array.from(t.data).buffer)]));
});
