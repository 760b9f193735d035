import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * The peer libraries live in bench/peers, their own npm package with its own
 * lock, so that nobody who installs scaledot installs them. They are loaded
 * from there by path; a missing one is reported, not fatal.
 */
export const PEERS_DIR = fileURLToPath(new URL('./peers/', import.meta.url));
const requirePeer = createRequire(`${PEERS_DIR}package.json`);

export const PEERS_INSTALL_HINT = 'npm run bench:peers-install';

/** The module, or the reason it cannot be loaded. */
export function loadPeer<T>(name: string): { module: T } | { missing: string } {
  if (!existsSync(`${PEERS_DIR}node_modules`)) return { missing: `bench/peers is not installed (${PEERS_INSTALL_HINT})` };
  try {
    return { module: requirePeer(name) as T };
  } catch (err) {
    return { missing: `${name} does not load from bench/peers: ${(err as Error).message.split('\n')[0]} (${PEERS_INSTALL_HINT})` };
  }
}

/** The installed version of a peer package, for the results file. */
export function peerVersion(name: string): string | null {
  try {
    return (requirePeer(`${name}/package.json`) as { version: string }).version;
  } catch {
    return null;
  }
}

// The slices of the peers' APIs the benchmark uses (they ship their own
// types, but bench/peers may be absent when the project type-checks).

export interface OrtTensor {
  data: Float32Array;
  dims: readonly number[];
}

export interface OrtSession {
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}

export interface Ort {
  InferenceSession: {
    create(model: Uint8Array, options: { intraOpNumThreads: number; interOpNumThreads: number; graphOptimizationLevel: string; executionMode: string }): Promise<OrtSession>;
  };
  Tensor: new (type: 'float32', data: Float32Array, dims: number[]) => OrtTensor;
}

export interface TfTensor {
  shape: number[];
  dataSync(): Float32Array;
  dispose(): void;
}

export interface Tf {
  setBackend(name: string): Promise<boolean>;
  getBackend(): string;
  env(): { getBool(flag: string): boolean };
  tensor(values: Float32Array, shape: number[]): TfTensor;
  tidy<T>(fn: () => T): T;
  matMul(a: TfTensor, b: TfTensor, transposeA?: boolean, transposeB?: boolean): TfTensor;
  softmax(x: TfTensor, dim?: number): TfTensor;
  mul(a: TfTensor, b: TfTensor | number): TfTensor;
  add(a: TfTensor, b: TfTensor): TfTensor;
  sum(x: TfTensor): TfTensor;
  scalar(value: number): TfTensor;
  transpose(x: TfTensor, perm?: number[]): TfTensor;
  grads(f: (...args: TfTensor[]) => TfTensor): (args: TfTensor[], dy?: TfTensor) => TfTensor[];
}
