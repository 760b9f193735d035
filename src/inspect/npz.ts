import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import { ScaledotError } from '../tensor/index.js';
import { npyPreamble, parseNpyHeader, unsupportedDType, type NpyHeader } from './npy.js';
import { BYTES, decodeFloats, sizeOfShape, type StoredTensor } from './stored.js';

/**
 * NumPy's .npz: a zip of .npy members (np.savez stores them, np.savez_compressed
 * deflates them). yauzl reads the zip's central directory with positioned
 * reads and streams one member on demand, so members that are not Q or K are
 * never read, and a deflated member is inflated only when it is.
 */
export async function listNpz(path: string): Promise<StoredTensor[]> {
  const names = await withZip(path, async (zip) => {
    const out: string[] = [];
    for await (const entry of zip.eachEntry()) if (/\.npy$/i.test(entry.fileName)) out.push(entry.fileName);
    return out;
  });
  return names.map((member) => {
    const name = member.replace(/\.npy$/i, '');
    const what = `inspect: ${path}: tensor ${name}`;
    return {
      file: path,
      name,
      header: async () => withMember(path, member, async (stream) => (await readMemberHeader(stream, what)).header),
      read: async () => withMember(path, member, async (stream, size) => {
        const bytes = await readAll(stream, size, what);
        const { header } = await readMemberHeader([bytes], what);
        if (header.dtype === null) throw unsupportedDType(what, header.fileDType);
        const end = header.dataOffset + sizeOfShape(header.shape) * BYTES[header.dtype];
        if (end > bytes.byteLength) {
          throw new ScaledotError('E_IO', `${what}: shape (${header.shape.join(', ')}) of ${header.fileDType} needs ${end - header.dataOffset} bytes but the member holds ${bytes.byteLength - header.dataOffset}`);
        }
        return decodeFloats(bytes.subarray(header.dataOffset, end), header.dtype, header.littleEndian);
      }),
    };
  });
}

async function withZip<T>(path: string, use: (zip: yauzl.ZipFile) => Promise<T>): Promise<T> {
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.openPromise(path, { lazyEntries: true, autoClose: false });
  } catch (err) {
    throw new ScaledotError('E_IO', `inspect: ${path}: cannot read it as a zip (.npz): ${(err as Error).message}`);
  }
  try {
    return await use(zip);
  } catch (err) {
    if (err instanceof ScaledotError) throw err;
    throw new ScaledotError('E_IO', `inspect: ${path}: the zip (.npz) is damaged: ${(err as Error).message}`);
  } finally {
    zip.close();
  }
}

async function withMember<T>(path: string, member: string, use: (stream: Readable, size: number) => Promise<T>): Promise<T> {
  return withZip(path, async (zip) => {
    for await (const entry of zip.eachEntry()) {
      if (entry.fileName !== member) continue;
      const stream = await zip.openReadStreamPromise(entry);
      try {
        return await use(stream, entry.uncompressedSize);
      } finally {
        stream.destroy();
      }
    }
    throw new ScaledotError('E_IO', `inspect: ${path}: member ${member} disappeared from the zip`);
  });
}

/** The .npy header at the start of a member, reading no more chunks than it needs. */
async function readMemberHeader(chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, what: string): Promise<{ header: NpyHeader }> {
  let have = new Uint8Array(0);
  let need = 12;
  let preamble: { preamble: number; dictLength: number } | null = null;
  for await (const chunk of chunks) {
    const joined = new Uint8Array(have.byteLength + chunk.byteLength);
    joined.set(have);
    joined.set(chunk, have.byteLength);
    have = joined;
    if (preamble === null && have.byteLength >= need) {
      preamble = npyPreamble(have, what);
      need = preamble.preamble + preamble.dictLength;
    }
    if (preamble !== null && have.byteLength >= need) {
      const dict = new TextDecoder('latin1').decode(have.subarray(preamble.preamble, need));
      // The values' size is checked against the member when it is read whole (readAll); here only the header is wanted.
      return { header: parseNpyHeader(dict, need, Infinity, what) };
    }
  }
  if (preamble === null && have.byteLength >= 10) npyPreamble(have, what);
  throw new ScaledotError('E_IO', `${what}: the member ends inside its .npy header; it is truncated`);
}

/** The whole member into one buffer of the size the zip's directory gives (the stream checks it). */
async function readAll(stream: Readable, size: number, what: string): Promise<Uint8Array> {
  const out = new Uint8Array(size);
  let at = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    if (at + chunk.byteLength > size) throw new ScaledotError('E_IO', `${what}: the member holds more bytes than the zip's directory says (${size})`);
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  if (at !== size) throw new ScaledotError('E_IO', `${what}: the member ends after ${at} of ${size} bytes; it is truncated`);
  return out;
}
