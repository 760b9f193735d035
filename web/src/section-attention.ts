import { LiveChart, type Datum } from './chart.js';
import { byId, byTestId, formatNumber, readSeed, renderQueue } from './format.js';
import { attentionMap, formatMatrix, parseMatrix, randomInputs, VALUE_DIM, type AttentionInputs, type ScaleRule } from './attention-map.js';
import { heatmapSpec } from './specs.js';

/** Section 3: the attention weights and output for small Q, K, V, with masks and the scale rule. */
export async function mountAttentionSection(section: HTMLElement): Promise<void> {
  const lInput = byId<HTMLInputElement>('attn-l');
  const sInput = byId<HTMLInputElement>('attn-s');
  const eInput = byId<HTMLInputElement>('attn-e');
  const padInput = byId<HTMLInputElement>('attn-pad');
  const scaleSelect = byId<HTMLSelectElement>('attn-scale');
  const causalInput = byId<HTMLInputElement>('attn-causal');
  const seedInput = byId<HTMLInputElement>('attn-seed');
  const editors = { q: byId<HTMLTextAreaElement>('attn-q'), k: byId<HTMLTextAreaElement>('attn-k'), v: byId<HTMLTextAreaElement>('attn-v') };
  const status = byTestId(section, 'attention-status');
  const weightChart = new LiveChart(byId('chart-attention'), heatmapSpec('Attention weights P', 'query', 'key', 'blues', [0, 1]));
  const outputChart = new LiveChart(byId('chart-attention-output'), heatmapSpec('Output O = P V', 'query', 'value dim', 'redblue'));

  const shape = (): { l: number; s: number; e: number; seed: number } => ({
    l: Number(lInput.value),
    s: Number(sInput.value),
    e: 2 ** Number(eInput.value),
    seed: readSeed(seedInput),
  });
  let inputs: AttentionInputs = { q: [], k: [], v: [] };

  /** New random Q, K, V for the current shape and seed; user edits are replaced. */
  const redraw = (): void => {
    const { l, s, e, seed } = shape();
    inputs = randomInputs(l, s, e, seed);
    editors.q.value = formatMatrix(inputs.q);
    editors.k.value = formatMatrix(inputs.k);
    editors.v.value = formatMatrix(inputs.v);
  };

  const render = async (): Promise<void> => {
    const { l, s, e } = shape();
    padInput.max = String(s);
    const padded = Math.min(Number(padInput.value), s);
    byId('attn-l-out').textContent = String(l);
    byId('attn-s-out').textContent = String(s);
    byId('attn-e-out').textContent = String(e);
    byId('attn-pad-out').textContent = String(padded);
    const map = attentionMap(inputs, { causal: causalInput.checked, padded, scaleRule: scaleSelect.value as ScaleRule });
    // White text on the darker cells: the colour scale runs from min to 0 to max (domainMid 0).
    const dark = (value: number, min: number, max: number): boolean => (value > 0 ? value / max : value / min) > 0.5;
    const weightCells: Datum[] = [];
    map.weights.forEach((row, i) =>
      row.forEach((value, j) => {
        weightCells.push({ row: i + 1, column: j + 1, value, masked: !map.visible[i][j], dark: dark(value, 0, 1) });
      }),
    );
    const outputMin = Math.min(-1e-12, ...map.output.flat());
    const outputMax = Math.max(1e-12, ...map.output.flat());
    const outputCells: Datum[] = map.output.flatMap((row, i) =>
      row.map((value, j) => ({ row: i + 1, column: j + 1, value, masked: false, dark: dark(value, outputMin, outputMax) })),
    );
    const maskedRows = map.visible.filter((row) => !row.some(Boolean)).length;
    status.textContent =
      `L = ${l}, S = ${s}, d_k = ${e}, scale s = ${formatNumber(map.scale)}` +
      (maskedRows > 0 ? `; ${maskedRows} query row(s) see no key at all and get zeros (PyTorch would give NaN)` : '');
    section.dataset.weights = JSON.stringify(map.weights);
    await Promise.all([weightChart.show({ cells: weightCells }), outputChart.show({ cells: outputCells })]);
  };

  const { schedule, settled } = renderQueue(render);

  for (const control of [lInput, sInput, eInput, seedInput]) {
    control.addEventListener('input', () => {
      redraw();
      schedule();
    });
  }
  for (const control of [padInput, scaleSelect, causalInput]) control.addEventListener('input', schedule);
  scaleSelect.addEventListener('change', schedule);
  for (const [name, editor] of Object.entries(editors) as [keyof AttentionInputs, HTMLTextAreaElement][]) {
    editor.addEventListener('change', () => {
      const { l, s, e } = shape();
      const [rows, columns] = { q: [l, e], k: [s, e], v: [s, VALUE_DIM] }[name];
      const parsed = parseMatrix(name.toUpperCase(), editor.value, rows, columns);
      editor.setAttribute('aria-invalid', String(typeof parsed === 'string'));
      if (typeof parsed === 'string') {
        status.textContent = parsed;
        return;
      }
      inputs = { ...inputs, [name]: parsed };
      schedule();
    });
  }
  redraw();
  schedule();
  await settled();
}
