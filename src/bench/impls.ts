import { Tensor, listAttentionImpls, prepareAttention } from '../src/index.js';
import { resolveBackend } from '../src/attention/backends.js';
import { naiveBackward, naiveForward } from './naive.js';
import { multiHeadAttentionModel, unfusedAttentionModel } from './onnx-model.js';
import { loadPeer, type Ort, type OrtTensor, type Tf, type TfTensor } from './peers.js';
import type { BenchShape, Direction } from './shapes.js';

/** One case's inputs, float32, laid out [heads, n, d] (batch 1). */
export interface BenchInputs {
  shape: BenchShape;
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  dOut: Float32Array;
}

/** A prepared implementation of one case: `run` is what is timed. */
export interface Runner {
  run(): void | Promise<void>;
  /** The last run's output (forward) or dQ (backward), as [heads, n, d], for the accuracy check. */
  result(): Float32Array;
  /** How it was configured, for the table's notes. */
  note: string;
  dispose?(): void | Promise<void>;
}

export interface BenchImpl {
  name: string;
  group: 'scaledot' | 'peer' | 'baseline';
  /** Why this implementation does not run this case, or null. Checked before any input is made. */
  skip(shape: BenchShape, direction: Direction): string | null;
  setup(inputs: BenchInputs, direction: Direction): Promise<Runner>;
}

const GIB = 1024 ** 3;
const gib = (bytes: number): string => `${(bytes / GIB).toFixed(1)} GiB`;

/** A scaledot backend by name, called as the library calls it (the problem prepared once, outside the timing). */
function scaledotImpl(name: string): BenchImpl {
  return {
    name,
    group: 'scaledot',
    skip: (shape) => (name === 'reference' && shape.n > 2048 ? 'the float64 reference is a test oracle (one row at a time, no blocking); it runs up to n = 2048' : null),
    async setup(inputs, direction) {
      const { heads, n, d, causal } = inputs.shape;
      const t = (data: Float32Array) => new Tensor(data, [1, heads, n, d], 'float32');
      const problem = prepareAttention('bench', t(inputs.q), t(inputs.k), t(inputs.v), { isCausal: causal, impl: name });
      const backend = resolveBackend('bench', name, problem);
      let last: Float32Array | Float64Array = new Float32Array(0);
      const result = () => Float32Array.from(last);
      if (direction === 'forward') {
        return { note: 'float32', run: () => { last = backend.forward(problem).output; }, result };
      }
      const { output, lse } = backend.forward(problem);
      return { note: 'float32, backward given O and lse', run: () => { last = backend.backward(problem, output, lse, inputs.dOut).dq; }, result };
    },
  };
}

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

/** [heads, n, d] ↔ [n, heads·d], the layout MultiHeadAttention takes. */
function headsToRows(x: Float32Array, heads: number, n: number, d: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let h = 0; h < heads; h++) for (let i = 0; i < n; i++) out.set(x.subarray((h * n + i) * d, (h * n + i + 1) * d), (i * heads + h) * d);
  return out;
}

function rowsToHeads(x: Float32Array, heads: number, n: number, d: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let h = 0; h < heads; h++) for (let i = 0; i < n; i++) out.set(x.subarray((i * heads + h) * d, (i * heads + h + 1) * d), (h * n + i) * d);
  return out;
}

const ORT_THREADS = 2;

function onnxImpl(name: string, fused: boolean): BenchImpl {
  return {
    name,
    group: 'peer',
    skip: (shape, direction) => {
      if (direction === 'backward') return 'onnxruntime-node runs inference only (no backward)';
      const missing = loadPeer<Ort>('onnxruntime-node');
      return 'missing' in missing ? missing.missing : null;
    },
    async setup(inputs) {
      const loaded = loadPeer<Ort>('onnxruntime-node');
      if ('missing' in loaded) throw new Error(loaded.missing);
      const ort = loaded.module;
      const { heads, n, d, causal } = inputs.shape;
      const sh = { batch: 1, heads, l: n, s: n, d, causal };
      const session = await ort.InferenceSession.create(fused ? multiHeadAttentionModel(sh) : unfusedAttentionModel(sh), {
        intraOpNumThreads: ORT_THREADS, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential',
      });
      let feeds: Record<string, OrtTensor>;
      if (fused) {
        const dims = [1, n, heads * d];
        feeds = {
          query: new ort.Tensor('float32', headsToRows(inputs.q, heads, n, d), dims),
          key: new ort.Tensor('float32', headsToRows(inputs.k, heads, n, d), dims),
          value: new ort.Tensor('float32', headsToRows(inputs.v, heads, n, d), dims),
        };
      } else {
        const dims = [1, heads, n, d];
        feeds = { q: new ort.Tensor('float32', inputs.q, dims), k: new ort.Tensor('float32', inputs.k, dims), v: new ort.Tensor('float32', inputs.v, dims) };
        if (causal) {
          const mask = new Float32Array(n * n);
          for (let i = 0; i < n; i++) mask.fill(-1e9, i * n + i + 1, (i + 1) * n);
          feeds.mask = new ort.Tensor('float32', mask, [n, n]);
        }
      }
      let last: Float32Array = new Float32Array(0);
      return {
        note: `${ORT_THREADS} intra-op threads${fused ? ', com.microsoft MultiHeadAttention' : ', MatMul-Softmax-MatMul graph'}`,
        run: async () => { last = (await session.run(feeds)).output.data; },
        result: () => (fused ? rowsToHeads(last, heads, n, d) : last),
        dispose: () => session.release(),
      };
    },
  };
}

/**
 * TensorFlow.js on its WebAssembly backend, in the configuration that measured
 * fastest: one head at a time (a batched matMul over heads was slower
 * and holds every head's N² scores at once), K transposed once outside the
 * timing, so the hot loop is matMul, mul, add, softmax, matMul. Node gets no
 * wasm threads from tfjs, so it runs on one core with SIMD.
 */
const tfjsImpl: BenchImpl = {
  name: 'tfjs-wasm',
  group: 'peer',
  skip: (shape) => {
    if (shape.n > 8192) return `scores, mask and softmax of one head need ${gib(3 * 4 * shape.n * shape.n)} of a 4 GiB wasm32 heap`;
    const core = loadPeer<Tf>('@tensorflow/tfjs-core');
    if ('missing' in core) return core.missing;
    const wasm = loadPeer<unknown>('@tensorflow/tfjs-backend-wasm');
    return 'missing' in wasm ? wasm.missing : null;
  },
  async setup(inputs, direction) {
    const core = loadPeer<Tf>('@tensorflow/tfjs-core');
    if ('missing' in core) throw new Error(core.missing);
    loadPeer<unknown>('@tensorflow/tfjs-backend-wasm'); // registers the backend
    if (direction === 'backward') {
      // tfjs-core's Node bundle ships no gradients; the full package registers them on the same core.
      const full = loadPeer<unknown>('@tensorflow/tfjs');
      if ('missing' in full) throw new Error(full.missing);
    }
    const tf = core.module;
    if (!(await tf.setBackend('wasm'))) throw new Error('tfjs: the wasm backend did not initialise');
    const { heads, n, d, causal } = inputs.shape;
    const slice = (x: Float32Array, h: number) => x.slice(h * n * d, (h + 1) * n * d);
    const qs: TfTensor[] = [];
    const kTs: TfTensor[] = [];
    const vs: TfTensor[] = [];
    const dOs: TfTensor[] = [];
    for (let h = 0; h < heads; h++) {
      qs.push(tf.tensor(slice(inputs.q, h), [n, d]));
      const k = tf.tensor(slice(inputs.k, h), [n, d]);
      kTs.push(tf.transpose(k));
      k.dispose();
      vs.push(tf.tensor(slice(inputs.v, h), [n, d]));
      dOs.push(tf.tensor(slice(inputs.dOut, h), [n, d]));
    }
    let mask: TfTensor | null = null;
    if (causal) {
      const m = new Float32Array(n * n);
      for (let i = 0; i < n; i++) m.fill(-1e9, i * n + i + 1, (i + 1) * n);
      mask = tf.tensor(m, [n, n]);
    }
    const scale = tf.scalar(1 / Math.sqrt(d));
    const attention = (q: TfTensor, kT: TfTensor, v: TfTensor): TfTensor => {
      const scores = tf.mul(tf.matMul(q, kT), scale);
      return tf.matMul(tf.softmax(mask ? tf.add(scores, mask) : scores), v);
    };
    const grads = tf.grads(attention);
    const last = new Float32Array(heads * n * d);
    const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
    const threads = tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT');
    const note = `per head, K pre-transposed, SIMD ${simd ? 'on' : 'off'}, threads ${threads ? 'on' : 'off'}`;
    const run = direction === 'forward'
      ? () => {
          for (let h = 0; h < heads; h++) {
            const out = tf.tidy(() => attention(qs[h], kTs[h], vs[h]));
            last.set(out.dataSync(), h * n * d);
            out.dispose();
          }
        }
      : () => {
          for (let h = 0; h < heads; h++) {
            const gs = tf.tidy(() => grads([qs[h], kTs[h], vs[h]], dOs[h]));
            last.set(gs[0].dataSync(), h * n * d);
            for (const g of gs) g.dispose();
          }
        };
    return {
      note: direction === 'forward' ? note : `${note}; tf.grads (forward and backward)`,
      run,
      result: () => last,
      dispose: () => { for (const t of [...qs, ...kTs, ...vs, ...dOs, scale, ...(mask ? [mask] : [])]) t.dispose(); },
    };
  },
};

/** Every implementation the benchmark knows: scaledot's registered backends, then peers and the baseline. */
export function benchImpls(): BenchImpl[] {
  return [
    ...listAttentionImpls().map(scaledotImpl),
    onnxImpl('ort-mha', true),
    onnxImpl('ort-unfused', false),
    tfjsImpl,
    naiveImpl,
  ];
}

/** What runs without --impl: everything but the float64 reference (a test oracle, not a contender). */
export function defaultImplNames(): string[] {
  return benchImpls().map((i) => i.name).filter((name) => name !== 'reference');
}
