import { listAttentionImpls } from '../index.js';
import { scaledotImpl } from './impls-scaledot.js';
import { naiveBackward, naiveForward } from './naive.js';
import { onnxImpl } from './impls-onnx.js';
import { tfjsImpl } from './impls-tfjs.js';
import { loadPeer, type Ort } from './peers.js';
import { gib, type BenchImpl } from './contract.js';

const naiveImpl: BenchImpl = {
  name: 'plain-js-naive',
  group: 'baseline',
  skip: (shape) => (shape.n > 4096 ? `materialises N² scores (${gib(4 * shape.n * shape.n)} per head) and would take minutes` : null),
  async setup(inputs, direction) {
    const p = { ...inputs.shape, q: inputs.q, k: inputs.k, v: inputs.v };
    let last: Float32Array = new Float32Array(0);
    const run = direction === 'forward' ? () => { last = naiveForward(p); } : () => { last = naiveBackward(p, inputs.dOut).dq; };
    return { note: 'float32 N×N scores per head', run, result: () => last };
  },
};

// onnxruntime's thread count in Node (both runtimes, so their rows compare).
const ORT_THREADS = 2;
const ortNode = () => loadPeer<Ort>('onnxruntime-node');
const ortWeb = () => loadPeer<Ort>('onnxruntime-web');

/** Every implementation the benchmark knows: scaledot's registered backends, then peers and the baseline. */
export function benchImpls(): BenchImpl[] {
  return [
    ...listAttentionImpls().map(scaledotImpl),
    onnxImpl('ort-mha', 'onnxruntime-node', true, ortNode, ORT_THREADS),
    onnxImpl('ort-unfused', 'onnxruntime-node', false, ortNode, ORT_THREADS),
    onnxImpl('ort-web-mha', 'onnxruntime-web', true, ortWeb, ORT_THREADS),
    onnxImpl('ort-web-unfused', 'onnxruntime-web', false, ortWeb, ORT_THREADS),
    tfjsImpl,
    naiveImpl,
  ];
}

/** What runs without --impl: everything but the float64 reference (a test oracle, not a contender). */
export function defaultImplNames(): string[] {
  return benchImpls().map((i) => i.name).filter((name) => name !== 'reference');
}
