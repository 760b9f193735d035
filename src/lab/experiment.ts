import { decide, type Side, type Verdict } from './stats.js';
import type { Cell, ChartSpec, Row } from './types.js';

/** How much work a run does: tests and `--quick` use 'quick'; `--full` adds the long experiments (C8). */
export type LabMode = 'quick' | 'default' | 'full';

export interface LabSettings {
  seed: number;
  mode: LabMode;
  /** Key dimensions d_k swept by the experiments that scan d_k. */
  dims: number[];
  /** Numbers of keys n (softmax width) swept by the experiments that scan n. */
  keyCounts: number[];
}

/** One comparison of a measured figure with theory. `verdict` follows from the other fields by `within`. */
export interface Check {
  id: string;
  /** The prediction in one sentence. */
  statement: string;
  /** What `measured` and `predicted` are, with units. */
  quantity: string;
  measured: number;
  predicted: number;
  /** How far measured may be from predicted, and where the number comes from. */
  tolerance: number;
  toleranceBasis: string;
  /** A rival value the data must also rule out for the check to hold (null: none). */
  alternative: number | null;
  /** Which way the claim points: a law ('equal'), a bound ('at-least', 'at-most') or an effect ('above', 'below'); see `decide`. */
  side: Side;
  /**
   * 'evidence' tests a claim about attention; 'implementation' compares the
   * library with a closed form, so it can only fail through a bug, and the
   * report lists it apart.
   */
  kind: 'evidence' | 'implementation';
  verdict: Verdict;
  /** Why the check is inconclusive, in words (null when it is not). */
  reason: string | null;
}

type CheckFields = Omit<Check, 'verdict' | 'alternative' | 'side' | 'kind' | 'reason'> & {
  alternative?: number | null;
  side?: Side;
  kind?: Check['kind'];
  /** Why the data could not test the claim (for example "no run stalled"): given, the check is inconclusive for this reason. */
  untestable?: string | null;
};

/** Builds a check whose verdict is computed, never given. */
export function makeCheck(fields: CheckFields): Check {
  const { untestable, ...rest } = fields;
  const alternative = fields.alternative ?? null;
  const side = fields.side ?? 'equal';
  const kind = fields.kind ?? 'evidence';
  const decision = untestable ? { verdict: 'inconclusive' as const, reason: untestable } : decide(fields.measured, fields.predicted, fields.tolerance, alternative, side);
  return { ...rest, alternative, side, kind, verdict: decision.verdict, reason: decision.reason };
}

export interface ExperimentOutput {
  checks: Check[];
  /** The measured table (one CSV per experiment), long format. */
  rows: Row[];
  /** Two or three sentences on what the figures mean, numbers interpolated from them. */
  meaning: string;
  /** Anything the data shows that the simple story does not (may be empty). */
  findings: string[];
  /** The sample sizes and grids this run used. */
  parameters: Record<string, Cell | Cell[]>;
}

export interface RunContext {
  settings: LabSettings;
  /** A seed for one named random stream, derived from the run's seed: streams never overlap by accident. */
  seedFor(...parts: (string | number)[]): number;
  /** Reports the fraction of this experiment done, in [0, 1]. */
  progress(fraction: number): void;
}

export interface Experiment {
  id: string;
  /** File-name slug, e.g. 'variance' (CSV: C1-variance.csv). */
  slug: string;
  title: string;
  /** The claim in one sentence. */
  statement: string;
  /** What theory predicts and why, a short paragraph. */
  theory: string;
  /** Long experiments (training, C8) run only with --full or when named with --only. */
  fullOnly?: boolean;
  run(context: RunContext): ExperimentOutput;
  /** Vega-Lite specs drawn from the claim's own rows (no Node-only code: the web page reuses them). */
  charts(claim: ClaimResult): ChartSpec[];
}

/**
 * The parts every experiment is made of, in the order the runner composes
 * them: measure (typed figures, the only slow part), checks over those
 * figures, the meaning computed from figures and checks, the CSV rows, and
 * (on the Experiment) the charts. `F` is the experiment's own record of
 * figures: a renamed field is a type error, not a NaN read by a string key.
 */
export interface ExperimentParts<F> {
  measure(context: RunContext): F;
  checks(figures: F, context: RunContext): Check[];
  meaning(figures: F, checks: readonly Check[]): { meaning: string; findings: string[] };
  rows(figures: F): Row[];
  parameters(figures: F, context: RunContext): Record<string, Cell | Cell[]>;
}

/** An Experiment whose run() is its parts composed: measure → checks → meaning → rows. */
export function composeExperiment<F>(header: Omit<Experiment, 'run'>, parts: ExperimentParts<F>): Experiment {
  return {
    ...header,
    run(context) {
      const figures = parts.measure(context);
      const checks = parts.checks(figures, context);
      const { meaning, findings } = parts.meaning(figures, checks);
      return { checks, rows: parts.rows(figures), meaning, findings, parameters: parts.parameters(figures, context) };
    },
  };
}

/** One claim as results.json holds it. */
export interface ClaimResult {
  id: string;
  slug: string;
  title: string;
  statement: string;
  theory: string;
  verdict: Verdict;
  /** The headline check's figures (the first check); every check is listed in `checks`. */
  measured: number;
  predicted: number;
  tolerance: number;
  checks: Check[];
  meaning: string;
  findings: string[];
  parameters: Record<string, Cell | Cell[]>;
  /** Wall-clock seconds the experiment took in this run, measured by the runner (no text types a timing by hand). */
  seconds: number;
  rows: Row[];
}

/**
 * A 32-bit seed from the run seed and a label (FNV-1a over the label's text,
 * mixed with the seed): independent streams per experiment and per cell, and
 * the same numbers whatever subset of experiments runs.
 */
export function deriveSeed(seed: number, parts: readonly (string | number)[]): number {
  let h = 0x811c9dc5 ^ (seed >>> 0) ^ Math.imul(Math.floor(seed / 4294967296) | 0, 0x9e3779b1);
  const text = parts.join('/');
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h >>> 0;
}

/** How prose reports a check's verdict, so that no sentence asserts more than its check found. */
export function verdictPhrase(check: Check): string {
  if (check.verdict === 'holds') return `check ${check.id} holds`;
  if (check.verdict === 'fails') return `check ${check.id} fails`;
  return `check ${check.id} is inconclusive (${check.reason ?? 'no reason recorded'})`;
}

const SUPERSCRIPT: Record<string, string> = { '-': '⁻', '0': '⁰', '1': '¹', '2': '²', '3': '³', '4': '⁴', '5': '⁵', '6': '⁶', '7': '⁷', '8': '⁸', '9': '⁹' };

/** Formats a number for prose and tables: `digits` significant digits, plain or ×10ⁿ form. */
export function fmt(x: number, digits = 3): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '−∞';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e5 || a < 1e-3) {
    const [m, e] = x.toExponential(digits - 1).split('e');
    const exponent = String(Number(e)).split('').map((c) => SUPERSCRIPT[c] ?? c).join('');
    return `${Number(m).toString().replaceAll('-', '−')}×10${exponent}`;
  }
  return Number(x.toPrecision(digits)).toString().replaceAll('-', '−');
}
