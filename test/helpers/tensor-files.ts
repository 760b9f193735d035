import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

/**
 * Test files written from a spec, by code independent of src/inspect:
 * safetensors in the four float dtypes, and whatever NumPy itself writes.
 */
export type SafetensorsDType = 'F64' | 'F32' | 'F16' | 'BF16' | string;

export interface SpecTensor {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  values: ArrayLike<number>;
}

/** float16 bits of a value that float16 holds exactly (normal or zero), by the definition sign · 2^e · 1.m. */
export function exactFloat16Bits(x: number): number {
  if (x === 0) return Object.is(x, -0) ? 0x8000 : 0;
  const sign = x < 0 ? 0x8000 : 0;
  const a = Math.abs(x);
  const e = Math.floor(Math.log2(a));
  const fraction = (a / 2 ** e - 1) * 1024;
  if (e < -14 || e > 15 || !Number.isInteger(fraction)) throw new Error(`test: ${x} is not a normal float16`);
  return sign | ((e + 15) << 10) | fraction;
}

/** bfloat16 bits of a value that bfloat16 holds exactly: the high half of its float32 bits. */
export function exactBfloat16Bits(x: number): number {
  const bits = new Uint32Array(new Float32Array([x]).buffer)[0];
  if ((bits & 0xffff) !== 0) throw new Error(`test: ${x} is not a bfloat16`);
  return bits >>> 16;
}

const WIDTH: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I8: 1, I32: 4 };

function encode(t: SpecTensor): Uint8Array {
  const width = WIDTH[t.dtype];
  const out = new Uint8Array(t.values.length * width);
  const view = new DataView(out.buffer);
  for (let i = 0; i < t.values.length; i++) {
    const v = t.values[i];
    if (t.dtype === 'F64') view.setFloat64(i * 8, v, true);
    else if (t.dtype === 'F32') view.setFloat32(i * 4, v, true);
    else if (t.dtype === 'F16') view.setUint16(i * 2, exactFloat16Bits(v), true);
    else if (t.dtype === 'BF16') view.setUint16(i * 2, exactBfloat16Bits(v), true);
    else if (t.dtype === 'I8') view.setInt8(i, v);
    else view.setInt32(i * 4, v, true);
  }
  return out;
}

/** A safetensors file: u64 little-endian header length, the JSON header, the data at the header's offsets. */
export function safetensorsFile(tensors: readonly SpecTensor[], metadata?: Record<string, string>): Uint8Array {
  const datas = tensors.map(encode);
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let offset = 0;
  tensors.forEach((t, i) => {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + datas[i].byteLength] };
    offset += datas[i].byteLength;
  });
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.byteLength), true);
  out.set(json, 8);
  let at = 8 + json.byteLength;
  for (const d of datas) {
    out.set(d, at);
    at += d.byteLength;
  }
  return out;
}

export function writeSafetensors(path: string, tensors: readonly SpecTensor[]): void {
  writeFileSync(path, safetensorsFile(tensors));
}

const inCi = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';

/**
 * Whether python3 with NumPy is here. On a developer machine without it the
 * NumPy tests are skipped with this message; under CI=true they run and fail.
 */
/**
 * The first python3 that imports NumPy: the one on PATH (which may be a
 * pyenv or venv Python), else Debian's, where python3-numpy installs it.
 */
const PYTHON = ['python3', '/usr/bin/python3'].find((exe) => spawnSync(exe, ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0) ?? 'python3';

export const numpySkip: string | false = (() => {
  const probe = spawnSync(PYTHON, ['-c', 'import numpy'], { stdio: 'ignore' });
  if (probe.status === 0 || inCi) return false;
  return "python3 with NumPy not found: install Debian's python3-numpy to run the NumPy file tests; under CI=true they fail instead";
})();

/** Runs a Python script (NumPy imported as np) in `cwd`; throws with its stderr if it fails. */
export function python(script: string, cwd: string): void {
  const r = spawnSync(PYTHON, ['-c', `import numpy as np\n${script}`], { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python3 failed (${r.status}): ${r.stderr || r.error?.message}`);
}
