import { realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ScaledotError } from '../tensor/index.js';

/** A path a command reads or writes, with the flag (or argument) that named it. */
export interface NamedPath {
  flag: string;
  path: string;
}

/**
 * What a path will point at once written: the file's device and inode where
 * it exists (so a symlink or a hard link to an input is caught), else its
 * absolute path with the existing part of it resolved through links.
 */
function identity(path: string): string {
  const stats = statSync(path, { throwIfNoEntry: false });
  if (stats !== undefined) return `inode:${stats.dev}:${stats.ino}`;
  let parent = resolve(path);
  const rest: string[] = [];
  for (;;) {
    rest.unshift(basename(parent));
    const up = dirname(parent);
    if (up === parent) return `path:${resolve(path)}`;
    parent = up;
    if (statSync(parent, { throwIfNoEntry: false }) !== undefined) return `path:${join(realpathSync(parent), ...rest)}`;
  }
}

/**
 * Refuses, before any work, an output that is one of the inputs (inspect
 * --json model.safetensors replaced the model with its own report) or that
 * two outputs share (the second write would replace the first).
 */
export function refuseOverlappingPaths(fn: string, outputs: readonly NamedPath[], inputs: readonly NamedPath[]): void {
  const inputIds = new Map(inputs.map((input) => [identity(input.path), input]));
  const outputIds = new Map<string, NamedPath>();
  for (const output of outputs) {
    const id = identity(output.path);
    const input = inputIds.get(id);
    if (input !== undefined) {
      throw new ScaledotError('E_IO', `${fn}: ${output.flag} ${output.path} is the input ${input.flag} ${input.path}; writing it would replace your file. Give another output path`);
    }
    const other = outputIds.get(id);
    if (other !== undefined) {
      throw new ScaledotError('E_IO', `${fn}: ${output.flag} ${output.path} and ${other.flag} ${other.path} are the same file; give each output its own path`);
    }
    outputIds.set(id, output);
  }
}
