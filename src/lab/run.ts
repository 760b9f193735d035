import { ScaledotError } from '../tensor/index.js';
import { EXPERIMENTS } from './experiments/index.js';
import {
  deriveSeed, type ClaimResult, type Experiment, type LabMode, type LabSettings,
} from './experiment.js';
import { VERDICT_RULE, combineVerdicts } from './stats.js';

/** results.json: everything the report shows, and all a reader needs to recompute each verdict. */
export interface LabResults {
  tool: 'scaledot lab';
  version: string;
  seed: number;
  mode: LabMode;
  settings: LabSettings;
  verdictRule: string;
  /** ISO time of the run: the only field that differs between two runs with the same seed. */
  generatedAt: string;
  claims: ClaimResult[];
}

export const DEFAULT_SEED = 20170612; // the day "Attention Is All You Need" appeared on arXiv

/** d_k ∈ {1, 2, 4, …, 4096} and n ∈ {16, 64, 256, 1024} (the default grid); --quick stops d_k at 1024. */
export function labSettings(seed: number, mode: LabMode): LabSettings {
  const maxLogDim = mode === 'quick' ? 10 : 12;
  return {
    seed,
    mode,
    dims: Array.from({ length: maxLogDim + 1 }, (_, i) => 2 ** i),
    keyCounts: [16, 64, 256, 1024],
  };
}

/**
 * The experiments a run includes: all (C8 and other long ones only with
 * --full), or the ones named. `allowLong` lets `only` name a long experiment
 * outside full mode, to run its smaller plan (tests do; the CLI never does).
 */
export function selectExperiments(mode: LabMode, only?: readonly string[], allowLong = false): Experiment[] {
  if (only === undefined || only.length === 0) return EXPERIMENTS.filter((e) => mode === 'full' || !e.fullOnly);
  const known = EXPERIMENTS.map((e) => e.id);
  const picked: Experiment[] = [];
  for (const raw of only) {
    const id = raw.trim().toUpperCase();
    const experiment = EXPERIMENTS.find((e) => e.id === id);
    if (!experiment) {
      throw new ScaledotError('E_OPTION', `lab: --only names ${JSON.stringify(raw)}, which is not an experiment; expected a comma-separated list of ${known.join(', ')}`);
    }
    // The help says long experiments need --full; --only does not sneak one into a quick run.
    if (experiment.fullOnly && mode !== 'full' && !allowLong) {
      throw new ScaledotError('E_OPTION', `lab: --only names ${experiment.id}, a long experiment (${experiment.title}); it runs only with --full, e.g. --full --only ${experiment.id}`);
    }
    if (!picked.includes(experiment)) picked.push(experiment);
  }
  return EXPERIMENTS.filter((e) => picked.includes(e));
}

export interface RunLabOptions {
  seed?: number;
  mode?: LabMode;
  only?: readonly string[];
  version: string;
  /** Lets `only` name long (--full) experiments in another mode, to run their smaller plans: for tests. */
  allowLong?: boolean;
  /** Called with the experiment running and the overall fraction done. */
  onProgress?: (label: string, fraction: number) => void;
  /** Overrides the settings' grids (tests use small ones). */
  settings?: Partial<Pick<LabSettings, 'dims' | 'keyCounts'>>;
  now?: () => Date;
}

/** `seed` if it is a non-negative safe integer; otherwise an E_OPTION ScaledotError from `fn`. */
export function checkSeed(fn: string, seed: unknown): number {
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0) {
    throw new ScaledotError('E_OPTION', `${fn}: seed is ${String(seed)}; expected an integer from 0 to ${Number.MAX_SAFE_INTEGER}`);
  }
  return seed;
}

/** Runs the selected experiments in registry order and gathers results.json. */
export function runLab(options: RunLabOptions): LabResults {
  const seed = checkSeed('runLab', options.seed ?? DEFAULT_SEED);
  const mode = options.mode ?? 'default';
  const experiments = selectExperiments(mode, options.only, options.allowLong);
  const settings = { ...labSettings(seed, mode), ...options.settings };
  const claims: ClaimResult[] = [];
  experiments.forEach((experiment, index) => {
    const report = (fraction: number): void =>
      options.onProgress?.(`${experiment.id} ${experiment.title}`, (index + Math.min(Math.max(fraction, 0), 1)) / experiments.length);
    report(0);
    const started = performance.now();
    const output = experiment.run({
      settings,
      seedFor: (...parts) => deriveSeed(seed, [experiment.id, ...parts]),
      progress: report,
    });
    const headline = output.checks[0];
    if (!headline) throw new ScaledotError('E_ARG', `runLab: experiment ${experiment.id} returned no checks`);
    claims.push({
      id: experiment.id,
      slug: experiment.slug,
      title: experiment.title,
      statement: experiment.statement,
      theory: experiment.theory,
      verdict: combineVerdicts(output.checks.map((c) => c.verdict)),
      measured: headline.measured,
      predicted: headline.predicted,
      tolerance: headline.tolerance,
      checks: output.checks,
      meaning: output.meaning,
      findings: output.findings,
      parameters: output.parameters,
      seconds: Math.round((performance.now() - started) / 10) / 100,
      rows: output.rows,
    });
    report(1);
  });
  return {
    tool: 'scaledot lab',
    version: options.version,
    seed,
    mode,
    settings,
    verdictRule: VERDICT_RULE,
    generatedAt: (options.now ?? (() => new Date()))().toISOString(),
    claims,
  };
}
