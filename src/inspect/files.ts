import { existsSync, statSync } from 'node:fs';
import { ScaledotError } from '../tensor/index.js';
import { listNpy } from './npy.js';
import { listNpz } from './npz.js';
import { listSafetensors } from './safetensors.js';
import { readExactly, withFile, type StoredTensor } from './stored.js';

export type FileFormat = 'safetensors' | 'npy' | 'npz';

/** By extension, else by the first bytes (.npy's magic, a zip's "PK"); safetensors has no magic, so only its extension names it. */
export function fileFormat(path: string): FileFormat {
  if (!existsSync(path)) throw new ScaledotError('E_IO', `inspect: ${path} does not exist`);
  if (statSync(path).isDirectory()) throw new ScaledotError('E_IO', `inspect: ${path} is a folder; give a .safetensors, .npz or .npy file (or the files inside it)`);
  const ext = /\.([A-Za-z]+)$/.exec(path)?.[1]?.toLowerCase();
  if (ext === 'safetensors' || ext === 'npy' || ext === 'npz') return ext;
  const first = withFile(path, (fd, size) => {
    const bytes = new Uint8Array(Math.min(6, size));
    readExactly(fd, bytes, 0, () => `inspect: ${path}`);
    return bytes;
  });
  if (first[0] === 0x93 && String.fromCharCode(...first.subarray(1, 6)) === 'NUMPY') return 'npy';
  if (first[0] === 0x50 && first[1] === 0x4b) return 'npz';
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
