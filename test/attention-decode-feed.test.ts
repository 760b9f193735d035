import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randn, scaledDotProductAttention, tensor, wasm, type Tensor } from '../src/index.js';
import { prepareAttention } from '../src/attention/options.js';
import { decodeDims, feedKeysAndValues, type DecodePlan } from '../src/attention/wasm/decode.js';
import type { FeedControl } from '../src/attention/wasm/dispatch.js';
import { refAttention } from './helpers/attention-reference.js';
import { assertClose, maxAbs, outputTolerance } from './helpers/close.js';

// A decoding call with plain K and V copies them into the kernels' memory
// chunk by chunk while the workers run the chunks already there, and the
// calling thread runs chunks from the far end itself when they fall behind
// (feedKeysAndValues, KernelRuntime.run's FeedControl, assembly/decode.ts
// waitForRows). A task run before its rows are copied reads the previous
// call's keys and values (or zeros); a lost wake-up hangs the call.

/**
 * K and V that differ from call to call and from chunk to chunk: V is offset
 * by the call's number plus its key's 256-key block (the decode chunks' least
 * size), so a chunk read before it is copied moves the output by far more
 * than the tolerance.
 */
function stepTensors(call: number, hkv: number, s: number, e: number): { k: Tensor; v: Tensor } {
  const k = randn([1, hkv, s, e], { seed: 100 + 2 * call });
  const v = randn([1, hkv, s, e], { seed: 101 + 2 * call });
  const data = Float32Array.from(v.data, (x, i) => x + call + Math.floor((Math.floor(i / e) % s) / 256));
  return { k, v: tensor(data, v.shape, { dtype: 'float32' }) };
}

const available = wasm.info().available && wasm.info().threads > 1;

describe('wasm decode with plain K and V: the copy and the tasks that read it', { skip: available ? false : 'needs the threaded wasm kernels' }, () => {
  it('matches the float64 formula call after call, on 1 and 2 threads, whatever order the chunks are run in', async () => {
    // Shapes whose K and V are large enough for the job to wake the workers, with a number of chunks (of 256 keys)
    // that no wake-up batch divides: the last chunk's wake-up is KernelRuntime.run's. On 1 thread the caller runs
    // tasks from the far end.
    const e = 64;
    for (const threads of [2, 1]) {
      wasm.setThreads(threads);
      for (const [hq, hkv, s] of [[2, 2, 4096 + 256], [4, 1, 8192 + 256]]) {
        const q = randn([1, hq, 1, e], { seed: 7 });
        for (let call = 0; call < 8; call++) {
          const { k, v } = stepTensors(call, hkv, s, e);
          const out = scaledDotProductAttention(q, k, v, { enableGqa: true, impl: 'wasm' });
          const exact = refAttention(q, k, v);
          assertClose(out.data, exact.output, (i) =>
            outputTolerance('float32', s, e, exact.output[i], exact.absSum[i], exact.scoreMag[Math.floor(i / e)], maxAbs(v.data)),
          `${threads} threads, ${hq}/${hkv} heads, call ${call}`);
        }
        // Let the workers go back to sleep on the job word between shapes: the next call wakes them anew.
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    wasm.setThreads(2);
  });

  it('copies every visible row before the task that reads it is published or run, and each task once, however the workers keep up', () => {
    // Two batch elements with keyLengths (rows past them are never copied), 2 kv heads, several chunks each.
    // E and Ev large enough that the workers' allowed lag (FEED_LEAD_BYTES) is a few chunks.
    const [b, hkv, s, e, ev] = [2, 2, 1500, 128, 120];
    const q = randn([b, 4, 1, e], { seed: 1 });
    const k = randn([b, hkv, s, e], { seed: 2 });
    const v = randn([b, hkv, s, ev], { seed: 3 });
    const keyLengths = [1500, 700];
    const p = prepareAttention('test', q, k, v, { enableGqa: true, keyLengths });
    const d = decodeDims(p);
    const nTasks = d.bhkv * d.chunks;
    assert.ok(d.chunks > 2, `${d.chunks} chunks per kv head: too few to test the order`);
    const plan = { k: 0, v: k.size * 4, copyK: true, copyV: true } as DecodePlan;
    const liveRows = (task: number): [number, number] => {
      const m = Math.floor(task / d.chunks);
      const c = task % d.chunks;
      return [m * s + c * d.chunkKeys, m * s + Math.min(keyLengths[Math.floor(m / hkv)], (c + 1) * d.chunkKeys)];
    };
    const copied = (heap: Float32Array, task: number): boolean => {
      const [r0, r1] = liveRows(task);
      for (let r = r0; r < r1; r++) {
        for (let c = 0; c < e; c++) if (heap[r * e + c] !== k.data[r * e + c]) return false;
        for (let c = 0; c < ev; c++) if (heap[plan.v / 4 + r * ev + c] !== v.data[r * ev + c]) return false;
      }
      return true;
    };
    // How the other threads claim from the front, each time the caller looks: not at all, right behind the copy, or all at once.
    const workers = { stalled: () => 0, keepingUp: (ready: number) => ready, greedy: () => nTasks };
    for (const [name, claims] of Object.entries(workers)) {
      const heap = new Float32Array(k.size + v.size).fill(NaN);
      let [next, end, ready] = [0, nTasks, 0];
      const done = new Array<number>(nTasks).fill(0);
      const control: FeedControl = {
        publish: (count) => {
          assert.ok(count >= ready, `${name}: ready went back from ${ready} to ${count}`);
          for (let t = ready; t < count; t++) assert.ok(copied(heap, t), `${name}: task ${t} published before its rows were copied`);
          for (let t = ready; t < count; t++) done[t]++;
          ready = count;
        },
        claimedFront: () => (next = Math.max(next, Math.min(end, claims(ready)))),
        claimLast: () => (next >= end ? -1 : --end),
        runClaimed: (task) => {
          assert.ok(task >= end && task >= ready, `${name}: ran task ${task}, not one the caller claimed`);
          assert.ok(copied(heap, task), `${name}: task ${task} run before its rows were copied`);
          done[task]++;
        },
      };
      feedKeysAndValues(heap, p, d, plan)(control);
      control.publish(end, true); // what KernelRuntime.run does next: every task the caller did not run is ready
      assert.deepEqual(done, new Array<number>(nTasks).fill(1), `${name}: tasks published or run, each should be once`);
      if (name === 'stalled') assert.ok(end < nTasks, 'with stalled workers the caller runs tasks itself');
      if (name === 'greedy') assert.equal(end, nTasks, 'with every task claimed the caller runs none');
    }
  });
});
