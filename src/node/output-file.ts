import { mkdirSync, renameSync, rmSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ScaledotError } from '../tensor/index.js';

/**
 * One output file (a --json, a --save-qk), as every command writes it: tried
 * before the work, so minutes of it are never lost to a bad path, and written
 * whole or not at all.
 */

/**
 * mkdir -p, one level at a time. Node's own recursive mkdir retries forever
 * where a parent refuses new entries with ENOENT (a path under /proc), so the
 * command hung; here the first refusal is the error.
 */
export function makeDirectories(path: string): string[] {
  const missing: string[] = [];
  let at = resolve(path);
  for (;;) {
    const stats = statSync(at, { throwIfNoEntry: false });
    if (stats !== undefined) {
      if (!stats.isDirectory()) throw Object.assign(new Error(`ENOTDIR: ${at} is not a folder`), { code: 'ENOTDIR' });
      break;
    }
    missing.push(at);
    const parent = dirname(at);
    if (parent === at) break;
    at = parent;
  }
  const created: string[] = [];
  for (const dir of missing.reverse()) {
    try {
      mkdirSync(dir);
      created.push(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  return created;
}

/** Whether `path` could be made as a folder now: made (as mkdir -p) and removed again; the error's message, or null. */
export function folderProblem(path: string): string | null {
  try {
    for (const dir of makeDirectories(path).reverse()) rmdirSync(dir);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/** The temporary file beside `path` that both the probe and the write use. */
const tempOf = (path: string): string => join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);

/**
 * Why `path` cannot be written, or null when it can: 'is a folder', or the
 * error from creating (and removing) the temporary file beside it. With
 * `createParents`, missing folders on the way are made for the probe, as
 * mkdir -p, and removed again with it: a run stopped or failed before its
 * write leaves nothing behind (writeFileWhole makes them when it writes).
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
  let made: string[] = [];
  try {
    if (createParents) made = makeDirectories(dirname(path));
    writeFileSync(tmp, '');
    rmSync(tmp);
    return null;
  } catch (err) {
    return (err as Error).message;
  } finally {
    for (const dir of made.reverse()) rmdirSync(dir);
  }
}

/** Writes `content` to `path` whole or not at all (a temporary file beside it, then a rename); `what` names the command and flag. */
export function writeFileWhole(path: string, content: string | Uint8Array, what: string, createParents = false): void {
  const tmp = tempOf(path);
  try {
    if (createParents) makeDirectories(dirname(path));
    writeFileSync(tmp, content);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new ScaledotError('E_IO', `${what} ${path}: cannot write it: ${(err as Error).message}`);
  }
}
