import { dtypeInfo, type FloatDType } from '../../src/index.js';
import { isFloatDType } from '../../src/kernels.js';
import { LiveChart, type Datum } from './chart.js';
import { byId, byTestId, fieldMessage, formatNumber, renderQueue, showExactFigure, showFigure } from './format.js';
import { ALGORITHMS, breakingPoint, compareSoftmax } from './overflow.js';
import { overflowBarsSpec } from './specs.js';

/** A small row, one large logit: the shift pushes the large one over the edge first. */
const DEFAULT_LOGITS = [4, 2, 1, 0, -2];

/** Section 2: naive, safe and online softmax on editable logits in a chosen dtype. */
export async function mountOverflowSection(section: HTMLElement): Promise<void> {
  const dtypeSelect = byId<HTMLSelectElement>('overflow-dtype');
  const shift = byId<HTMLInputElement>('overflow-shift');
  const editor = byId('overflow-logits');
  const body = byId('overflow-rows');
  const chart = new LiveChart(byId('chart-overflow'), overflowBarsSpec(), 'Naive, safe and online softmax');

  const base = [...DEFAULT_LOGITS];
  const sliders: HTMLInputElement[] = [];
  const boxes: HTMLInputElement[] = [];
  DEFAULT_LOGITS.forEach((value, i) => {
    const row = document.createElement('div');
    row.className = 'logit-row';
    const sliderId = `overflow-logit-${i}-slider`;
    const label = document.createElement('label');
    label.htmlFor = sliderId;
    label.innerHTML = `x<sub>${i + 1}</sub>`;
    const slider = document.createElement('input');
    slider.type = 'range';
    slider.id = sliderId;
    slider.dataset.testid = `overflow-logit-${i}-slider`;
    // A text box, not type="number": Chromium reads "1,5" in a number box as 15, and an
    // unparsable number box reports an empty value, so the page could not say what was wrong.
    const box = document.createElement('input');
    box.type = 'text';
    box.inputMode = 'decimal';
    box.id = `overflow-logit-${i}`;
    box.value = String(value);
    box.dataset.testid = `overflow-logit-${i}`;
    box.setAttribute('aria-label', `logit x${i + 1}`);
    slider.addEventListener('input', () => {
      base[i] = Number(slider.value);
      box.value = slider.value;
      box.setAttribute('aria-invalid', 'false');
      fieldMessage(box, '');
      schedule();
    });
    box.addEventListener('change', () => {
      const typed = parseDecimal(box.value);
      box.setAttribute('aria-invalid', String(typed === null));
      // Refused, and said: the demo keeps computing with the last good value.
      if (typed === null) {
        const hint = box.value.includes(',') ? '; write decimals with a point, e.g. 1.5' : '';
        fieldMessage(box, `x${i + 1}: “${box.value}” is not a number${hint}; still using ${base[i]}`);
        return;
      }
      fieldMessage(box, '');
      base[i] = typed;
      slider.value = String(typed);
      schedule();
    });
    row.append(label, slider, box);
    editor.append(row);
    sliders.push(slider);
    boxes.push(box);
  });

  const cells = DEFAULT_LOGITS.map((_, i) => {
    const tr = document.createElement('tr');
    const logit = document.createElement('th');
    logit.scope = 'row';
    logit.dataset.testid = `overflow-stored-${i}`;
    tr.append(logit);
    const outputs = ALGORITHMS.map((algorithm) => {
      const td = document.createElement('td');
      td.dataset.testid = `overflow-${algorithm}-${i}`;
      tr.append(td);
      return td;
    });
    body.append(tr);
    return { logit, outputs };
  });

  /** Slider ranges follow the dtype so its breaking point sits inside them. */
  const fitRanges = (dtype: FloatDType): void => {
    const { lnMax } = dtypeInfo(dtype);
    const step = niceStep(lnMax / 200);
    // A range input's steps count from its min: a min on the step grid keeps 0 and the round values reachable.
    // toPrecision drops the binary fuzz of step × k (0.2 × 555 = 111.00000000000001).
    const limit = Number((step * Math.round((1.25 * lnMax) / step)).toPrecision(12));
    const c = Number(shift.value);
    for (const slider of [...sliders, shift]) {
      slider.min = String(-limit);
      slider.max = String(limit);
      slider.step = String(step);
    }
    // New bounds re-snap the value to the new grid; keep the shift the reader chose (clamped).
    shift.value = String(Math.min(limit, Math.max(-limit, c)));
    base.forEach((value, i) => (sliders[i].value = String(value)));
  };

  const currentDType = (): FloatDType => (isFloatDType(dtypeSelect.value) ? dtypeSelect.value : 'float32');

  const render = async (): Promise<void> => {
    const dtype = currentDType();
    const c = Number(shift.value);
    byId('overflow-shift-out').textContent = formatNumber(c);
    shift.setAttribute('aria-valuetext', `add c = ${formatNumber(c)} to every logit`);
    sliders.forEach((slider, i) => slider.setAttribute('aria-valuetext', `logit x${i + 1} = ${formatNumber(base[i])}`));
    const result = compareSoftmax(base.map((x) => x + c), dtype);
    const info = dtypeInfo(dtype);
    const edge = breakingPoint(dtype);
    byTestId(section, 'overflow-dtype-name').textContent = dtype;
    byTestId(section, 'overflow-table-dtype').textContent = dtype;
    showFigure(section, 'overflow-lnmax', info.lnMax, 6);
    showFigure(section, 'overflow-max', info.max, 5);
    showExactFigure(section, 'overflow-last-finite', edge.lastFinite);
    showExactFigure(section, 'overflow-first-overflow', edge.firstOverflow);
    const largest = Math.max(...result.stored);
    showFigure(section, 'overflow-largest', largest, 8);
    const verdict = byTestId(section, 'overflow-verdict');
    // The verdict reads the naive column itself, so it can never contradict the table;
    // the thresholds only say why.
    const naiveSum = result.outputs.naive.reduce((x, y) => x + y, 0);
    const state = !result.finite.naive ? (largest > info.lnMax ? 'over' : 'underflow') : Math.abs(naiveSum - 1) > 0.5 ? 'sum' : 'under';
    const smallest = info.minNormal * info.eps;
    verdict.textContent = {
      under: '≤ ln(max): every exp is finite and their sum is positive',
      over: '> ln(max): exp overflows to Infinity, the naive softmax breaks (Infinity/Infinity = NaN)',
      underflow:
        `every exp underflows: below ln of half the smallest positive ${dtype} (${formatNumber(Math.log(smallest / 2))}) exp rounds to 0, ` +
        'the sum is 0 and the naive softmax divides 0 by 0 (NaN)',
      sum: `every exp is finite but their sum overflows: the naive row sums to ${formatNumber(naiveSum)}, not 1`,
    }[state];
    verdict.classList.toggle('bad', state !== 'under');
    verdict.dataset.value = state;

    result.stored.forEach((x, i) => {
      const row = cells[i];
      row.logit.textContent = formatNumber(x, 8);
      row.logit.dataset.value = String(x);
      ALGORITHMS.forEach((algorithm, a) => {
        const value = result.outputs[algorithm][i];
        row.outputs[a].textContent = formatNumber(value, 6);
        row.outputs[a].dataset.value = String(value);
        row.outputs[a].classList.toggle('nonfinite', !Number.isFinite(value));
      });
    });
    for (const algorithm of ALGORITHMS) {
      const status = byTestId(section, `overflow-status-${algorithm}`);
      status.textContent = result.finite[algorithm] ? 'finite' : 'Infinity/NaN';
      status.dataset.value = result.finite[algorithm] ? 'finite' : 'nonfinite';
      status.classList.toggle('nonfinite', !result.finite[algorithm]);
      showFigure(section, `overflow-error-${algorithm}`, result.maxError[algorithm], 3);
    }
    section.dataset.settings = JSON.stringify({ dtype, shift: c, logits: base });

    const rows: Datum[] = [];
    for (const algorithm of ALGORITHMS) {
      result.outputs[algorithm].forEach((value, i) => {
        const finite = Number.isFinite(value);
        rows.push({ algorithm, key: `x${i + 1}`, bar: finite ? value : 0, finite, label: formatNumber(value) });
      });
    }
    const broken = ALGORITHMS.filter((algorithm) => !result.finite[algorithm]);
    await chart.show({ results: rows }, `${dtype} softmax of ${base.length} logits by the naive, safe and online algorithms; ${broken.length === 0 ? 'all finite' : `${broken.join(' and ')} gave Infinity or NaN`}`);
  };

  const { schedule, settled } = renderQueue(render);
  dtypeSelect.addEventListener('change', () => {
    fitRanges(currentDType());
    schedule();
  });
  shift.addEventListener('input', schedule);
  fitRanges(currentDType());
  shift.value = '0';
  schedule();
  await settled();
}

/** 1, 2 or 5 times a power of ten, at most x. */
function niceStep(x: number): number {
  const power = 10 ** Math.floor(Math.log10(x));
  const mantissa = x / power;
  return (mantissa >= 5 ? 5 : mantissa >= 2 ? 2 : 1) * power;
}

/** A decimal as people type it ("-2", "88.7", "1e3"); null for anything else ("1,5", "", "abc", "0x10"). */
export function parseDecimal(text: string): number | null {
  const trimmed = text.trim().replace('−', '-');
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(trimmed)) return null;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : null;
}
