import { mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ScaledotError } from '../tensor/index.js';

/**
 * One output file (a --json, a --save-qk), as every command writes it: tried
 * before the work, so minutes of it are never lost to a bad path, and written
 * whole or not at all.
 */

/** The temporary file beside `path` that both the probe and the write use. */
const tempOf = (path: string): string => join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);

/**
 * Why `path` cannot be written, or null when it can: 'is a folder', or the
 * error from creating (and removing) the temporary file beside it. With
 * `createParents`, missing folders on the way are made first, as mkdir -p.
 */
export function outputFileProblem(path: string, createParents = false): string | null {
  let isFolder = false;
  try {
    isFolder = statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
  } catch {
    // a path through a file: the probe below says so
  }
  if (isFolder) return 'is a folder';
  const tmp = tempOf(path);
  try {
    if (createParents) mkdirSync(dirname(path), { recursive: true });
    writeFileSync(tmp, '');
    rmSync(tmp);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Writes `content` to `path` whole or not at all (a temporary file beside it, then a rename); `what` names the command and flag. */
export function writeFileWhole(path: string, content: string | Uint8Array, what: string, createParents = false): void {
  const tmp = tempOf(path);
  try {
    if (createParents) mkdirSync(dirname(path), { recursive: true });
    writeFileSync(tmp, content);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new ScaledotError('E_IO', `${what} ${path}: cannot write it: ${(err as Error).message}`);
  }
}
