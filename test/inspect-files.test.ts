import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect, listTensors, type InspectOptions, type InspectResult } from '../src/inspect/index.js';
import { referenceHead, type Case } from './helpers/inspect-reference.js';
import { numpySkip, python, writeSafetensors } from './helpers/tensor-files.js';

/** Values every dtype holds exactly (multiples of 1/8 in [-3.75, 3.75]), by one formula here and in Python. */
const exactValues = (n: number, salt: number): Float64Array => Float64Array.from({ length: n }, (_, i) => (((i * 7919 + salt * 104729) % 61) - 30) / 8);
const PY_VALUES = 'def values(shape, salt):\n    n = int(np.prod(shape))\n    return ((((np.arange(n) * 7919 + salt * 104729) % 61) - 30) / 8).reshape(shape)\n';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'scaledot-inspect-files-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function assertAgainstReference(r: InspectResult, layer: string, c: Case, scale: number, causal: boolean): void {
  const heads = r.heads.filter((h) => h.layer === layer);
  assert.equal(heads.length, c.hq, `${layer}: ${heads.length} heads`);
  for (const h of heads) {
    const ref = referenceHead(c, h.head, scale, causal);
    const pairs: [number, number, string][] = [
      [h.logitStd, ref.logitStd, 'logitStd'], [h.logitMax, ref.logitMax, 'logitMax'], [h.entropyRatioMean, ref.entropyRatioMean, 'entropyRatioMean'],
      [h.maxProbMean, ref.maxProbMean, 'maxProbMean'], [h.saturatedShare, ref.saturatedShare, 'saturatedShare'],
      [h.jacobianNormMedian, ref.jacobianNormMedian, 'jacobianNormMedian'], [h.firstKeyMass, ref.firstKeyMass, 'firstKeyMass'],
      [h.fp16.scoreMaxAbs, ref.scoreMaxAbs, 'scoreMaxAbs'], [h.whatIf.qkNorm.maxProbMean, ref.whatIf.qkNorm.maxProbMean, 'qkNorm.maxProbMean'],
    ];
    for (const [got, want, what] of pairs) assert.ok(Math.abs(got - want) <= 1e-9 * Math.max(1, Math.abs(want)), `${layer} head ${h.head} ${what}: ${got} vs ${want}`);
  }
}

const options = (files: string[], extra: Partial<InspectOptions> = {}): InspectOptions => ({ files, layout: 'bhld', causal: false, ...extra });

describe('inspect reads safetensors in F64, F32, F16 and BF16', () => {
  for (const dtype of ['F64', 'F32', 'F16', 'BF16']) {
    it(`${dtype}: figures from the stored values, other tensors (here I32) never read`, async () => {
      const c: Case = { batch: 2, hq: 4, hkv: 2, L: 4, S: 6, D: 8, q: exactValues(2 * 4 * 4 * 8, 1), k: exactValues(2 * 2 * 6 * 8, 2) };
      const path = join(dir, `model-${dtype}.safetensors`);
      writeSafetensors(path, [
        { name: 'layers.0.attn.v', dtype: 'I32', shape: [3], values: [1, 2, 3] },
        { name: 'layers.0.attn.q', dtype, shape: [2, 4, 4, 8], values: c.q },
        { name: 'layers.0.attn.k', dtype, shape: [2, 2, 6, 8], values: c.k },
      ]);
      const r = await inspect(options([path], { causal: true }), 'test');
      assert.deepEqual(r.inputs.map((i) => [i.layer, i.q.dtype, i.heads, i.kvHeads]), [['layers.0.attn', dtype, 4, 2]]);
      assert.equal(r.scale, 1 / Math.sqrt(8));
      assertAgainstReference(r, 'layers.0.attn', c, 1 / Math.sqrt(8), true);
    });
  }

  it('pairs q/k, query/key and q_proj/k_proj after . / _, and bare q/k as a layer named after the file', async () => {
    const t = (name: string, salt: number): { name: string; dtype: string; shape: number[]; values: Float64Array } => ({ name, dtype: 'F32', shape: [1, 1, 2, 2], values: exactValues(4, salt) });
    const path = join(dir, 'names.safetensors');
    writeSafetensors(path, [t('a.q', 1), t('a.k', 2), t('b/query', 3), t('b/key', 4), t('c_q_proj', 5), t('c_k_proj', 6), t('c_v_proj', 7), t('w.weight', 8)]);
    const r = await inspect(options([path]), 'test');
    assert.deepEqual(r.inputs.map((i) => [i.layer, i.q.name, i.k.name]), [['a', 'a.q', 'a.k'], ['b', 'b/query', 'b/key'], ['c', 'c_q_proj', 'c_k_proj']]);
    const bare = join(dir, 'bare.safetensors');
    writeSafetensors(bare, [t('q', 1), t('k', 2)]);
    assert.deepEqual((await inspect(options([bare]), 'test')).inputs.map((i) => i.layer), ['bare']);
  });
});

describe('inspect reads files NumPy wrote', { skip: numpySkip }, () => {
  it('np.save (<f4, <f8, <f2, >f4), np.savez and np.savez_compressed', async () => {
    python(`${PY_VALUES}
q = values((2, 4, 3, 8), 1); k = values((2, 2, 5, 8), 2)
np.save('q32.npy', q.astype('<f4')); np.save('k32.npy', k.astype('<f4'))
np.save('q64.npy', q.astype('<f8')); np.save('k16.npy', k.astype('<f2'))
np.save('qbe.npy', q.astype('>f4')); np.save('kbe.npy', k.astype('>f4'))
np.savez('plain.npz', **{'layers.0.q': q.astype('<f4'), 'layers.0.k': k.astype('<f4'), 'layers.0.v': np.arange(3)})
qr = q.transpose(0, 2, 1, 3).reshape(2, 3, 32); kr = k.transpose(0, 2, 1, 3).reshape(2, 5, 16)
np.savez_compressed('packed.npz', **{'model.layers.1.self_attn.q_proj': qr.astype('<f2'), 'model.layers.1.self_attn.k_proj': kr.astype('<f2')})
`, dir);
    const c: Case = { batch: 2, hq: 4, hkv: 2, L: 3, S: 5, D: 8, q: exactValues(2 * 4 * 3 * 8, 1), k: exactValues(2 * 2 * 5 * 8, 2) };
    const scale = 1 / Math.sqrt(8);
    for (const [qf, kf] of [['q32', 'k32'], ['q64', 'k16'], ['qbe', 'kbe']]) {
      const r = await inspect(options([], { q: join(dir, `${qf}.npy`), k: join(dir, `${kf}.npy`) }), 'test');
      assert.equal(r.inputs[0].layer, qf);
      assertAgainstReference(r, qf, c, scale, false);
    }
    const plain = await inspect(options([join(dir, 'plain.npz')], { causal: true }), 'test');
    assertAgainstReference(plain, 'layers.0', c, scale, true);
    const packed = await inspect(options([join(dir, 'packed.npz')], { heads: 4, kvHeads: 2 }), 'test');
    assert.deepEqual(packed.inputs.map((i) => [i.layer, i.q.dtype, i.q.shape]), [['model.layers.1.self_attn', '<f2', [2, 3, 32]]]);
    assertAgainstReference(packed, 'model.layers.1.self_attn', c, scale, false);
  });

  it('decodes every float16 bit pattern as NumPy does', async () => {
    python(`bits = np.arange(65536, dtype=np.uint16)
np.save('all16.npy', bits.view(np.float16)); np.save('all64.npy', bits.view(np.float16).astype(np.float64))`, dir);
    const [half] = await listTensors(join(dir, 'all16.npy'));
    const [wide] = await listTensors(join(dir, 'all64.npy'));
    const got = await half.read();
    const want = await wide.read();
    assert.equal(got.length, 65536);
    for (let i = 0; i < 65536; i++) {
      if (!(Object.is(got[i], want[i]) || (Number.isNaN(got[i]) && Number.isNaN(want[i])))) assert.fail(`bits ${i.toString(16)}: got ${got[i]}, NumPy ${want[i]}`);
    }
  });
});
