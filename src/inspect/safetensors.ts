import { ScaledotError } from '../tensor/index.js';
import { BYTES, decodeFloats, readExactly, sizeOfShape, withFile, type StoredFloat, type StoredTensor, type TensorHeader } from './stored.js';

/**
 * safetensors: an 8-byte little-endian header length N, N bytes of JSON
 * { name: { dtype, shape, data_offsets: [begin, end] }, __metadata__?: {...} },
 * then the data; offsets count from the end of the header. Only the header is
 * read here; each tensor's bytes are read from its offsets when asked for.
 */
const DTYPES: Record<string, StoredFloat> = { F64: 'float64', F32: 'float32', F16: 'float16', BF16: 'bfloat16' };

/** The format's own limit on the header, which also keeps a corrupt length from allocating gigabytes. */
const MAX_HEADER = 100_000_000;

interface Entry {
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

export function listSafetensors(path: string): StoredTensor[] {
  const { entries, dataStart } = withFile(path, (fd, size) => readHeader(path, fd, size));
  return entries.map(([name, e]) => {
    const header: TensorHeader = { fileDType: e.dtype, dtype: DTYPES[e.dtype] ?? null, shape: e.shape };
    return {
      file: path,
      name,
      header: async () => header,
      read: async () => {
        if (header.dtype === null) {
          throw new ScaledotError('E_DTYPE', `inspect: ${path}: tensor ${name} has dtype ${e.dtype}; expected one of ${Object.keys(DTYPES).join(', ')}`);
        }
        const bytes = new Uint8Array(e.end - e.begin);
        withFile(path, (fd) => readExactly(fd, bytes, dataStart + e.begin, () => `inspect: ${path}: tensor ${name}`));
        return decodeFloats(bytes, header.dtype, true);
      },
    };
  });
}

function readHeader(path: string, fd: number, size: number): { entries: [string, Entry][]; dataStart: number } {
  const where = (): string => `inspect: ${path}`;
  const lengthBytes = new Uint8Array(8);
  readExactly(fd, lengthBytes, 0, where);
  const claimed = new DataView(lengthBytes.buffer).getBigUint64(0, true);
  const length = Number(claimed);
  if (length > MAX_HEADER || 8 + length > size) {
    // The BigInt itself: past 2^53 a Number prints another integer (2^63 as 9223372036854776000).
    throw new ScaledotError('E_IO', `${where()}: the safetensors header claims ${claimed} bytes but the file has ${size}; it is truncated or not a safetensors file`);
  }
  const headerBytes = new Uint8Array(length);
  readExactly(fd, headerBytes, 8, where);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(headerBytes));
  } catch (err) {
    throw new ScaledotError('E_IO', `${where()}: the safetensors header is not valid JSON (${(err as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ScaledotError('E_IO', `${where()}: the safetensors header is not a JSON object`);
  const dataStart = 8 + length;
  const dataSize = size - dataStart;
  const entries: [string, Entry][] = [];
  for (const [name, raw] of Object.entries(json)) {
    if (name === '__metadata__') continue;
    entries.push([name, checkEntry(`${where()}: tensor ${name}`, raw, dataSize)]);
  }
  return { entries, dataStart };
}

function checkEntry(what: string, raw: unknown, dataSize: number): Entry {
  const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  const isCount = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
  if (typeof e !== 'object' || e === null || typeof e.dtype !== 'string' || !Array.isArray(e.shape) || !e.shape.every(isCount) ||
    !Array.isArray(e.data_offsets) || e.data_offsets.length !== 2 || !e.data_offsets.every(isCount)) {
    throw new ScaledotError('E_IO', `${what}: header entry ${JSON.stringify(raw)} is not { dtype, shape, data_offsets: [begin, end] }`);
  }
  const [begin, end] = e.data_offsets as number[];
  if (begin > end) {
    throw new ScaledotError('E_IO', `${what}: data_offsets [${begin}, ${end}] end before they begin; the header is corrupt`);
  }
  if (end > dataSize) {
    throw new ScaledotError('E_IO', `${what}: data_offsets [${begin}, ${end}] run past the end of the data (${dataSize} bytes); the file is truncated or its header is corrupt`);
  }
  const dtype = DTYPES[e.dtype];
  const shape = e.shape as number[];
  if (dtype !== undefined && end - begin !== sizeOfShape(shape) * BYTES[dtype]) {
    throw new ScaledotError('E_IO', `${what}: shape [${shape.join(',')}] of ${e.dtype} needs ${sizeOfShape(shape) * BYTES[dtype]} bytes but data_offsets give ${end - begin}`);
  }
  return { dtype: e.dtype, shape, begin, end };
}

/** A safetensors file's bytes for float32 tensors, in the given order: the header, then the data. */
export function safetensorsBytes(tensors: readonly { name: string; shape: readonly number[]; data: Float32Array }[], metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = Object.keys(metadata).length > 0 ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  // Padded with spaces to a multiple of 8 so the data starts aligned, as the reference writer does.
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.byteLength), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.byteLength;
  for (const t of tensors) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}
