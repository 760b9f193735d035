import { SCALE_RULES, type CurvePoint, type ScaleRule } from '../../src/nn/index.js';
import { LiveChart, type Datum } from './chart.js';
import { byId, byTestId, checkedSeed, formatNumber } from './format.js';
import { trainingEntropySpec, trainingLossSpec } from './specs.js';
import type { TrainingChoice } from './training-config.js';
import type { TrainingMessage } from './train-worker.js';

interface Run {
  label: string;
  worker: Worker;
  /** Training loss of every step so far. */
  losses: number[];
  points: CurvePoint[];
  done: boolean;
  row: HTMLTableRowElement;
}

/** Section 4: two training runs, one per scale rule, each in a Web Worker, drawn as they go. */
export function mountTrainingSection(section: HTMLElement): void {
  const ruleA = byId<HTMLSelectElement>('train-rule-a');
  const ruleB = byId<HTMLSelectElement>('train-rule-b');
  const headDim = byId<HTMLSelectElement>('train-head-dim');
  const steps = byId<HTMLSelectElement>('train-steps');
  const seed = byId<HTMLInputElement>('train-seed');
  const start = byId<HTMLButtonElement>('train-start');
  const stop = byId<HTMLButtonElement>('train-stop');
  const status = byTestId(section, 'training-status');
  const rows = byId('training-rows');
  const lossChart = new LiveChart(byId('chart-training-loss'), trainingLossSpec());
  const entropyChart = new LiveChart(byId('chart-training-entropy'), trainingEntropySpec());

  for (const [select, chosen] of [[ruleA, 'rsqrt'], [ruleB, 'none']] as const) {
    for (const rule of SCALE_RULES) select.add(new Option(rule, rule, rule === chosen, rule === chosen));
  }

  let seedValue = checkedSeed(seed, 1);
  seed.addEventListener('input', () => (seedValue = checkedSeed(seed, seedValue)));
  let runs: Run[] = [];
  let drawing = Promise.resolve();
  let drawQueued = false;

  /** At most one redraw per animation frame: steps arrive faster than a chart can redraw. */
  const draw = (): void => {
    if (drawQueued) return;
    drawQueued = true;
    requestAnimationFrame(() => {
      drawQueued = false;
      const steps: Datum[] = runs.flatMap((run, order) => run.losses.map((loss, i) => ({ rule: run.label, order, step: i + 1, loss })));
      const points: Datum[] = runs.flatMap((run, order) => run.points.map((p) => ({ rule: run.label, order, step: p.step, valLoss: p.valLoss, attnEntropy: p.attnEntropy })));
      const latest = runs.map((run) => `${run.label} ${formatNumber(run.losses[run.losses.length - 1] ?? NaN)} at step ${run.losses.length}`).join(', ');
      const entropies = runs.map((run) => `${run.label} ${formatNumber(run.points[run.points.length - 1]?.attnEntropy ?? NaN)}`).join(', ');
      drawing = drawing
        .then(() =>
          Promise.all([
            lossChart.show({ steps, points }, `training loss against step for ${runs.map((run) => run.label).join(' and ')}; latest ${latest}`),
            entropyChart.show({ points }, `attention entropy at the validation points; latest ${entropies}`),
          ]),
        )
        .then(() => undefined)
        .catch(reportError);
    });
  };

  const showRow = (run: Run): void => {
    const last = run.points[run.points.length - 1];
    const cells = [run.label, String(run.losses.length), ...[last?.valLoss, last?.accuracy, last?.attnEntropy, last?.qGradNorm].map((x) => (x === undefined ? '–' : formatNumber(x)))];
    run.row.replaceChildren(
      ...cells.map((text, i) => {
        const cell = document.createElement(i === 0 ? 'th' : 'td');
        cell.textContent = text;
        return cell;
      }),
    );
    // The full curve, for tests and for anyone reading the DOM.
    run.row.dataset.points = JSON.stringify(run.points);
    run.row.dataset.losses = JSON.stringify(run.losses);
    run.row.dataset.done = String(run.done);
  };

  const finish = (message: string): void => {
    for (const run of runs) run.worker.terminate();
    // Disabling the focused Stop button would drop focus to the top of the page: hand it to Train.
    const hadFocus = document.activeElement === stop;
    start.disabled = false;
    stop.disabled = true;
    if (hadFocus) start.focus();
    status.textContent = message;
    section.dataset.state = 'idle';
  };

  start.addEventListener('click', () => {
    for (const run of runs) run.worker.terminate();
    rows.replaceChildren();
    byId('training-results').hidden = false;
    // A new run starts from empty charts: a stopped earlier run's curves and legend must not linger.
    runs = [];
    drawing = drawing.then(() => Promise.all([lossChart.clear(), entropyChart.clear()])).then(() => undefined).catch(reportError);
    const labels = [ruleA.value, ruleB.value];
    const base = { headDim: Number(headDim.value), steps: Number(steps.value), seed: seedValue };
    const started = performance.now();
    runs = labels.map((label, i) => {
      const worker = new Worker(new URL('./train-worker.ts', import.meta.url), { type: 'module' });
      const row = document.createElement('tr');
      row.dataset.testid = `training-run-${i}`;
      row.dataset.rule = label;
      rows.append(row);
      const run: Run = { label: labels[0] === labels[1] ? `${label} (${'AB'[i]})` : label, worker, losses: [], points: [], done: false, row };
      worker.onmessage = (event: MessageEvent<TrainingMessage>) => {
        const message = event.data;
        if (message.type === 'error') {
          finish(`${label}: ${message.message}`);
          return;
        }
        if (message.type === 'step') {
          run.losses.push(message.loss);
          // The table's other cells change only at validation points.
          run.row.cells[1].textContent = String(message.step);
          draw();
          return;
        }
        if (message.type === 'point') run.points.push(message.point);
        else run.done = true;
        showRow(run);
        draw();
        if (runs.every((r) => r.done)) {
          const seconds = (performance.now() - started) / 1000;
          finish(`Done: ${base.steps} steps each in ${seconds.toFixed(1)} s.`);
        }
      };
      worker.onerror = (event) => finish(`${label}: ${event.message}`);
      showRow(run);
      const choice: TrainingChoice = { ...base, scaleRule: label as ScaleRule };
      worker.postMessage(choice);
      return run;
    });
    section.dataset.settings = JSON.stringify({ rules: labels, ...base });
    section.dataset.state = 'training';
    const hadFocus = document.activeElement === start;
    stop.disabled = false;
    if (hadFocus) stop.focus();
    start.disabled = true;
    status.textContent = `Training ${labels.join(' and ')} for ${base.steps} steps…`;
  });

  stop.addEventListener('click', () => finish('Stopped.'));
}
