import { randn } from '../../src/index.js';
import { openWebGpuPage, toWire } from '../helpers/webgpu.js';
import { refAttention, refAttentionBackward } from '../helpers/attention-reference.js';
import { refOptions } from '../helpers/ref-options.js';
const pg = await openWebGpuPage();
const q = randn([2, 1, 60, 8], { seed: 1 }), k = randn([2, 1, 30, 8], { seed: 2 }), v = randn([2, 1, 30, 4], { seed: 3 }), dO = randn([2, 1, 60, 4], { seed: 4 });
const o = { enableGqa: true, window: [0, 0] as [number, number] };
const r = await pg.call('forward', toWire(q), toWire(k), toWire(v), { ...o, impl: 'webgpu' } as never);
const ex = refAttention(q, k, v, refOptions(o));
let w = 0; r.output.data.forEach((x, i) => { w = Math.max(w, Math.abs(x - ex.output[i])); }); console.log('out', w);
let wl = 0; r.lse.data.forEach((x, i) => { if (x !== ex.lse[i]) wl = Math.max(wl, Math.abs(x - ex.lse[i])); }); console.log('lse', wl);
const g = await pg.call('backward', toWire(q), toWire(k), toWire(v), toWire(dO), { ...o, impl: 'webgpu' } as never);
const eg = refAttentionBackward(q, k, v, dO, refOptions(o));
for (const n of ['dq', 'dk', 'dv'] as const) { let m = 0, mi = -1; g[n].data.forEach((x, i) => { const d = Math.abs(x - eg[n][i]); if (d > m) { m = d; mi = i; } }); console.log(n, m, mi, g[n].data[mi], eg[n][mi]); }
await pg.close();
