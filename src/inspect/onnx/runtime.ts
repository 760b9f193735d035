import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ScaledotError } from '../../tensor/index.js';

/**
 * ONNX Runtime is an optional peer of this feature alone: scaledot does not
 * depend on it (onnxruntime-node is ~300 MB, onnxruntime-web ~140 MB). It is
 * loaded from the project inspect runs in (the current directory), from
 * beside scaledot's own install, or in a checkout of this repository from
 * tools/bench/peers (`npm run bench:peers-install`), which the benchmark shares.
 */

export type RuntimeName = 'onnxruntime-node' | 'onnxruntime-web';
export const RUNTIMES: readonly RuntimeName[] = ['onnxruntime-node', 'onnxruntime-web'];

export interface OrtTensor {
  type: string;
  data: ArrayLike<number | bigint | boolean> & { length: number };
  dims: readonly number[];
}

export interface OrtSession {
  inputNames: readonly string[];
  outputNames: readonly string[];
  /** With `fetches`, only those outputs come back (inspect fetches one group of layers per run). */
  run(feeds: Record<string, OrtTensor>, fetches?: readonly string[]): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}

export interface Ort {
  InferenceSession: { create(model: Uint8Array, options: Record<string, unknown>): Promise<OrtSession> };
  Tensor: new (type: string, data: unknown, dims: number[]) => OrtTensor;
  env?: { wasm?: { numThreads?: number }; logLevel?: string };
}

const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function places(): string[] {
  const out = [join(process.cwd(), 'package.json'), join(PACKAGE_ROOT, 'package.json')];
  const peers = join(PACKAGE_ROOT, 'tools', 'bench', 'peers', 'package.json');
  if (existsSync(peers)) out.push(peers);
  return out;
}

/** The first runtime that loads (onnxruntime-node, then onnxruntime-web), or the one asked for. */
export function loadRuntime(prefer?: RuntimeName): { name: RuntimeName; ort: Ort } {
  const names = prefer !== undefined ? [prefer] : RUNTIMES;
  const why: string[] = [];
  for (const name of names) {
    for (const place of places()) {
      try {
        const ort = createRequire(place)(name) as Ort;
        if (name === 'onnxruntime-web' && ort.env?.wasm) ort.env.wasm.numThreads = 1; // its worker threads would keep Node alive
        return { name, ort };
      } catch (err) {
        why.push(`${name} from ${place}: ${(err as Error).message.split('\n')[0]}`);
      }
    }
  }
  throw new ScaledotError('E_IO',
    `inspect: running an .onnx model needs ONNX Runtime, which scaledot does not install for you; ` +
    `run \`npm install ${names.join('` or `npm install ')}\` in the project you run scaledot from (tried: ${why.join('; ')})`);
}
