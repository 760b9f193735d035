import { existsSync, statSync } from 'node:fs';
import { ScaledotError } from '../tensor/index.js';
import { listNpy } from './npy.js';
import { listNpz } from './npz.js';
import { listSafetensors } from './safetensors.js';
import { readExactly, withFile, type StoredTensor } from './stored.js';

export type FileFormat = 'safetensors' | 'npy' | 'npz';

/**
 * A .safetensors by its extension (it has no magic); anything else by its
 * first bytes (.npy's magic, a zip's "PK"). A name
 * that says .npy or .npz over bytes that do not is refused, saying what the
 * bytes are, rather than read as the wrong format.
 */
export function fileFormat(path: string): FileFormat {
  if (!existsSync(path)) throw new ScaledotError('E_IO', `inspect: ${path} does not exist`);
  if (statSync(path).isDirectory()) throw new ScaledotError('E_IO', `inspect: ${path} is a folder; give a .safetensors, .npz or .npy file (or the files inside it)`);
  const ext = /\.([A-Za-z]+)$/.exec(path)?.[1]?.toLowerCase();
  // Its first 8 bytes are a length, which may read as anything: a .safetensors is taken at its name.
  if (ext === 'safetensors') return ext;
  const first = withFile(path, (fd, size) => {
    const bytes = new Uint8Array(Math.min(6, size));
    readExactly(fd, bytes, 0, () => `inspect: ${path}`);
    return bytes;
  });
  const byBytes: FileFormat | null = first[0] === 0x93 && String.fromCharCode(...first.subarray(1, 6)) === 'NUMPY' ? 'npy'
    : first[0] === 0x50 && first[1] === 0x4b ? 'npz' : null;
  if ((ext === 'npy' || ext === 'npz') && byBytes !== ext) {
    const is = byBytes === null ? 'neither a .npy (\\x93NUMPY) nor a zip (PK)' : `a .${byBytes} (${byBytes === 'npy' ? '\\x93NUMPY' : 'a zip, PK'})`;
    throw new ScaledotError('E_ARG', `inspect: ${path} is named .${ext} but its first bytes say it is ${is}; rename it or give the right file`);
  }
  if (byBytes !== null) return byBytes;
  throw new ScaledotError('E_ARG', `inspect: ${path} is not a .safetensors, .npy or .npz file (by its name or its first bytes)`);
}

/** Every tensor a file holds, by name, with nothing read but headers (safetensors) or the zip's directory (npz). */
export async function listTensors(path: string): Promise<StoredTensor[]> {
  switch (fileFormat(path)) {
    case 'safetensors':
      return listSafetensors(path);
    case 'npy':
      return listNpy(path);
    case 'npz':
      return listNpz(path);
  }
}
