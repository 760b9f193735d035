import type { BenchShape, Direction } from './shapes.js';

// The contract every row of the benchmark meets, in a file of its own: the
// list of implementations (impls.ts) imports each one (impls-*.ts), and each
// one imports only this, so no file of the bench imports its importer.

/** One case's inputs, float32, laid out [heads, n, d] (batch 1). */
export interface BenchInputs {
  shape: BenchShape;
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  dOut: Float32Array;
}

/** A prepared implementation of one case: `run` is what is timed. */
export interface Runner {
  run(): void | Promise<void>;
  /** The last run's output (forward) or dQ (backward), as [heads, n, d], for the accuracy check. */
  result(): Float32Array;
  /** How it was configured, for the table's notes. */
  note: string;
  dispose?(): void | Promise<void>;
}

export interface BenchImpl {
  name: string;
  group: 'scaledot' | 'peer' | 'baseline';
  /** Why this implementation does not run this case, or null. Checked before any input is made. */
  skip(shape: BenchShape, direction: Direction): string | null;
  setup(inputs: BenchInputs, direction: Direction): Promise<Runner>;
}

const GIB = 1024 ** 3;
export const gib = (bytes: number): string => `${(bytes / GIB).toFixed(1)} GiB`;
