import { gib, type BenchImpl } from './contract.js';
import { loadPeer, type Tf, type TfTensor } from './peers.js';

/**
 * TensorFlow.js on its WebAssembly backend, in the configuration that measured
 * fastest: one head at a time (a batched matMul over heads was slower
 * and holds every head's N² scores at once), K transposed once outside the
 * timing, so the hot loop is matMul, mul, add, softmax, matMul. Node gets no
 * wasm threads from tfjs, so it runs on one core with SIMD.
 */
export const tfjsImpl: BenchImpl = {
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

