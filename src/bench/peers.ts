import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where the peer libraries come from. In a checkout of the repository they
 * live in tools/bench/peers, their own npm package with its own lock, so that
 * nobody who installs scaledot installs them (`npm run bench:peers-install`).
 * From an installed package (`scaledot bench`) they are whatever the current
 * directory's project has installed. A missing one is reported, not fatal.
 */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const REPO_PEERS = join(PACKAGE_ROOT, 'tools', 'bench', 'peers');
/** Whether this is a checkout of the repository (with bench/) rather than an installed package. */
export const IN_REPO = existsSync(join(REPO_PEERS, 'package.json'));

/** The npm packages the peer rows load. */
export const PEER_PACKAGES = ['onnxruntime-node', 'onnxruntime-web', '@tensorflow/tfjs', '@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-wasm'] as const;

export const PEERS_INSTALL_HINT = IN_REPO
  ? 'npm run bench:peers-install'
  : `npm install ${PEER_PACKAGES.join(' ')} in the directory you run scaledot bench from`;

const requirePeer = createRequire(IN_REPO ? join(REPO_PEERS, 'package.json') : join(process.cwd(), 'package.json'));

/** The module, or the reason it cannot be loaded. */
export function loadPeer<T>(name: string): { module: T } | { missing: string } {
  if (IN_REPO && !existsSync(join(REPO_PEERS, 'node_modules'))) return { missing: `tools/bench/peers is not installed (${PEERS_INSTALL_HINT})` };
  try {
    return { module: requirePeer(name) as T };
  } catch (err) {
    const where = IN_REPO ? 'tools/bench/peers' : process.cwd();
    return { missing: `${name} does not load from ${where}: ${(err as Error).message.split('\n')[0]} (${PEERS_INSTALL_HINT})` };
  }
}

/** A peer package's folder and version, or null where it is not installed. */
export function peerPackage(name: string): { dir: string; version: string | null } | null {
  try {
    // Walk up from the entry point: some packages (onnxruntime-web) do not export ./package.json.
    for (let dir = dirname(requirePeer.resolve(name)); dir !== dirname(dir); dir = dirname(dir)) {
      const file = join(dir, 'package.json');
      if (!existsSync(file)) continue;
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === name) return { dir, version: pkg.version ?? null };
    }
  } catch {
    // not installed
  }
  return null;
}

/** The installed version of a peer package, for the results file. */
export function peerVersion(name: string): string | null {
  return peerPackage(name)?.version ?? null;
}

// The slices of the peers' APIs the benchmark uses (they ship their own
// types, but the peers may be absent when the project type-checks).

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
    create(model: Uint8Array, options: Record<string, unknown>): Promise<OrtSession>;
  };
  Tensor: new (type: 'float32' | 'int32', data: Float32Array | Int32Array, dims: number[]) => OrtTensor;
  /** onnxruntime-web only: its WebAssembly settings, read when the first session is created. */
  env?: { wasm: { numThreads?: number; simd?: boolean | 'relaxed' } };
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
