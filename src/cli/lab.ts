import { Command, CommanderError, Option } from 'commander';
import { ScaledotError } from '../tensor/index.js';
import {
  DEFAULT_SEED, checkSeed, fmt, resultsJson, selectExperiments, type LabMode, type LabResults,
} from '../lab/index.js';
import { buildReportFiles, prepareReportDir } from '../lab/report/index.js';
import { runLabInWorker } from '../lab/run-in-worker.js';
import { packageVersion } from './version.js';

/** The exit status of an interrupted run (main.ts's EXIT.interrupted; main imports this file, so not from there). */
const EXIT_INTERRUPTED = 130;

interface LabCliOptions {
  quick?: boolean;
  full?: boolean;
  seed: string;
  only?: string;
  out: string;
  json?: boolean;
}

/**
 * `scaledot lab`: runs the experiments, writes the report (index.html,
 * results.json, one CSV per claim) whole or not at all, and prints the
 * summary table. Every argument is checked, and the output directory
 * prepared, before any experiment runs.
 */
export function registerLab(program: Command): void {
  program
    .command('lab')
    .description('run the experiments (C1–C7 and C9; C8 and C10–C12 with --full) and write the report: index.html, results.json, one CSV per claim')
    .option('--quick', 'smaller samples and d_k ≤ 1024: a few seconds; a smoke test, too small for most verdicts')
    .option('--full', 'also run the long experiments (training: C8, C10–C12)')
    .option('--seed <n>', 'seed of every random number in the run', String(DEFAULT_SEED))
    .option('--only <ids>', 'comma-separated claims to run, e.g. C2,C9 (C1–C12; C8 and C10–C12 only with --full)')
    .option('--out <dir>', 'folder to write the report into, created if missing; only files an earlier report wrote (listed in its scaledot-report.json) are replaced', 'report')
    .addOption(new Option('--json', 'print results.json to stdout (the summary table goes to stderr)'))
    .action(async (options: LabCliOptions) => {
      await runLabCommand(options);
    });
}

async function runLabCommand(options: LabCliOptions): Promise<void> {
  const fn = 'lab';
  if (options.quick && options.full) throw new ScaledotError('E_OPTION', `${fn}: --quick and --full contradict each other; give one`);
  const mode: LabMode = options.quick ? 'quick' : options.full ? 'full' : 'default';
  if (!/^\d+$/.test(options.seed)) throw new ScaledotError('E_OPTION', `${fn}: --seed is ${JSON.stringify(options.seed)}; expected a non-negative integer`);
  const seed = checkSeed(fn, Number(options.seed));
  const only = options.only === undefined ? undefined : options.only.split(',').filter((s) => s.trim() !== '');
  if (only !== undefined && only.length === 0) throw new ScaledotError('E_OPTION', `${fn}: --only is empty; expected claims such as C2,C3`);
  const experiments = selectExperiments(mode, only); // rejects unknown ids before any work
  const planned = ['index.html', 'results.json', ...experiments.map((e) => `${e.id}-${e.slug}.csv`)];
  const pending = prepareReportDir(options.out, planned);
  const bar = process.stderr.isTTY ? progressBar() : null;
  const started = Date.now();
  let results: LabResults | null;
  const run = runLabInWorker({ seed, mode, only, version: packageVersion() }, bar ?? undefined);
  process.once('SIGINT', run.stop);
  process.once('SIGTERM', run.stop);
  try {
    results = await run.results;
    if (results !== null) {
      bar?.('done', 1);
      pending.commit(await buildReportFiles(results));
    }
  } finally {
    process.removeListener('SIGINT', run.stop);
    process.removeListener('SIGTERM', run.stop);
    if (bar) process.stderr.write('\r\x1b[K');
  }
  if (results === null) {
    process.stderr.write('lab: interrupted; no report was written\n');
    // main() turns a CommanderError into its exit code: 130, as for train.
    throw new CommanderError(EXIT_INTERRUPTED, 'scaledot.lab.interrupted', 'lab: interrupted');
  }
  const table = summaryTable(results);
  const where = `report written to ${pending.target}/index.html in ${((Date.now() - started) / 1000).toFixed(1)} s\n`;
  if (options.json) {
    process.stdout.write(resultsJson(results));
    process.stderr.write(table + where);
  } else {
    process.stdout.write(table);
    process.stderr.write(where);
  }
}

/** claim, measured, predicted, verdict: one line per claim, columns padded. */
export function summaryTable(results: LabResults): string {
  const header = ['claim', 'measured', 'predicted', 'tolerance', 'checks', 'verdict'];
  const lines = results.claims.map((c) => [
    `${c.id} ${c.title}`,
    fmt(c.measured),
    fmt(c.predicted),
    `± ${fmt(c.tolerance)}`,
    `${c.checks.filter((k) => k.verdict === 'holds').length}/${c.checks.length}`,
    c.verdict,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => [...l[i]].length)));
  const pad = (cells: string[]): string => cells.map((cell, i) => cell + ' '.repeat(widths[i] - [...cell].length)).join('  ').trimEnd();
  const table = [pad(header), pad(widths.map((w) => '-'.repeat(w))), ...lines.map(pad)];
  if (results.mode === 'quick') {
    const inconclusive = results.claims.filter((c) => c.verdict === 'inconclusive').length;
    table.push(
      `quick run: a smoke test with small samples${inconclusive > 0 ? ` (${inconclusive} of ${results.claims.length} inconclusive: too little data to decide)` : ''}; ` +
        'run without --quick for the verdicts',
    );
  }
  return table.join('\n') + '\n';
}

function progressBar(): (label: string, fraction: number) => void {
  let last = '';
  return (label, fraction) => {
    const width = 28;
    const filled = Math.round(fraction * width);
    const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.round(fraction * 100)}% ${label}`;
    if (line !== last) process.stderr.write(`\r\x1b[K${line.slice(0, (process.stderr.columns ?? 80) - 1)}`);
    last = line;
  };
}
