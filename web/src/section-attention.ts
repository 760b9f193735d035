import { LiveChart, type Datum } from './chart.js';
import { byId, byTestId, checkedSeed, formatNumber, renderQueue } from './format.js';
import { attentionBackend, demote, type AttentionBackend } from './attention-backend.js';
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
  const notice = byTestId(section, 'attention-notice');
  const backendLine = byTestId(section, 'attention-backend');
  const weightChart = new LiveChart(byId('chart-attention'), heatmapSpec('Attention weights P', 'query', 'key', 'blues', [0, 1]));
  const outputChart = new LiveChart(byId('chart-attention-output'), heatmapSpec('Output O = P V', 'query', 'value dim', 'redblue'));

  let seed = checkedSeed(seedInput, 3);
  const shape = (): { l: number; s: number; e: number; seed: number } => ({
    l: Number(lInput.value),
    s: Number(sInput.value),
    e: 2 ** Number(eInput.value),
    seed,
  });
  let inputs: AttentionInputs = { q: [], k: [], v: [] };
  type Name = keyof AttentionInputs;
  /** Matrices the reader typed in, and the message of each box whose text is not a valid matrix. */
  const edited = new Set<Name>();
  const errors: Partial<Record<Name, string>> = {};

  const setError = (name: Name, message: string | undefined): void => {
    if (message === undefined) delete errors[name];
    else errors[name] = message;
    editors[name].setAttribute('aria-invalid', String(message !== undefined));
  };

  /**
   * New random matrices for the current shape and seed, only those the change
   * reshapes (L: Q; S: K and V; d_k: Q and K; seed: all). A hand edit it
   * replaces is named in the notice, never dropped in silence.
   */
  const redraw = (names: readonly Name[], cause: string): void => {
    const { l, s, e } = shape();
    const fresh = randomInputs(l, s, e, seed);
    const lost = names.filter((name) => edited.has(name));
    for (const name of names) {
      inputs = { ...inputs, [name]: fresh[name] };
      editors[name].value = formatMatrix(fresh[name]);
      edited.delete(name);
      setError(name, undefined);
    }
    notice.hidden = lost.length === 0;
    notice.textContent = lost.length === 0 ? '' : `${cause} changed, so your edits to ${lost.map((n) => n.toUpperCase()).join(' and ')} were replaced by a new random draw (seed ${seed}).`;
  };

  const render = async (): Promise<void> => {
    const { l, s, e } = shape();
    padInput.max = String(s);
    const padded = Math.min(Number(padInput.value), s);
    byId('attn-l-out').textContent = String(l);
    byId('attn-s-out').textContent = String(s);
    byId('attn-e-out').textContent = String(e);
    byId('attn-pad-out').textContent = String(padded);
    lInput.setAttribute('aria-valuetext', `queries L = ${l}`);
    sInput.setAttribute('aria-valuetext', `keys S = ${s}`);
    eInput.setAttribute('aria-valuetext', `d_k = ${e}`);
    padInput.setAttribute('aria-valuetext', `padded keys = ${padded}`);
    const settings = { causal: causalInput.checked, padded, scaleRule: scaleSelect.value as ScaleRule };
    let backend = await attentionBackend();
    let map: Awaited<ReturnType<typeof attentionMap>>;
    try {
      map = await attentionMap(inputs, settings, backend);
    } catch (error) {
      // A device lost mid-session: say so and draw on the CPU, rather than leave the maps stale.
      if (backend.impl !== 'webgpu') throw error;
      backend = await demote(error);
      map = await attentionMap(inputs, settings, backend);
    }
    showBackend(backendLine, section, backend);
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
    const problems = (Object.keys(errors) as Name[]).map((name) => `${errors[name]}; the maps use the last valid ${name.toUpperCase()}. `).join('');
    status.textContent = problems + `L = ${l}, S = ${s}, d_k = ${e}, scale s = ${formatNumber(map.scale)}` + maskedNote(maskedRows, l, s, padded, causalInput.checked);
    section.dataset.weights = JSON.stringify(map.weights);
    const shown = map.weights.flat().filter((_, index) => map.visible[Math.floor(index / s)][index % s]);
    await Promise.all([
      weightChart.show({ cells: weightCells }, `${l} queries by ${s} keys, ${shown.length} visible cells, largest weight ${formatNumber(Math.max(0, ...shown))}${maskedRows > 0 ? `, ${maskedRows} rows fully masked` : ''}`),
      outputChart.show({ cells: outputCells }, `${l} queries by ${VALUE_DIM} value dimensions, from ${formatNumber(outputMin)} to ${formatNumber(outputMax)}`),
    ]);
  };

  const { schedule, settled } = renderQueue(render);

  const reshapes: [HTMLInputElement, string, Name[]][] = [
    [lInput, 'L', ['q']],
    [sInput, 'S', ['k', 'v']],
    [eInput, 'd_k', ['q', 'k']],
  ];
  for (const [control, cause, names] of reshapes) {
    control.addEventListener('input', () => {
      redraw(names, cause);
      schedule();
    });
  }
  seedInput.addEventListener('input', () => {
    const next = checkedSeed(seedInput, seed);
    if (next === seed) return;
    seed = next;
    redraw(['q', 'k', 'v'], 'The seed');
    schedule();
  });
  for (const control of [padInput, scaleSelect, causalInput]) control.addEventListener('input', schedule);
  scaleSelect.addEventListener('change', schedule);
  for (const [name, editor] of Object.entries(editors) as [Name, HTMLTextAreaElement][]) {
    const parse = (): number[][] | string => {
      const { l, s, e } = shape();
      const [rows, columns] = { q: [l, e], k: [s, e], v: [s, VALUE_DIM] }[name];
      return parseMatrix(name.toUpperCase(), editor.value, rows, columns);
    };
    const apply = (parsed: number[][]): void => {
      setError(name, undefined);
      inputs = { ...inputs, [name]: parsed };
      edited.add(name);
      notice.hidden = true;
      schedule();
    };
    // While typing, a box that becomes valid is applied (and loses its red border) at once;
    // a box is called wrong only when the reader leaves it, and stays so until it is fixed.
    editor.addEventListener('input', () => {
      const parsed = parse();
      if (typeof parsed !== 'string') apply(parsed);
    });
    editor.addEventListener('change', () => {
      const parsed = parse();
      if (typeof parsed !== 'string') return apply(parsed);
      setError(name, parsed);
      schedule();
    });
  }
  redraw(['q', 'k', 'v'], 'The seed');
  schedule();
  await settled();
}

/** Which backend drew the maps, and why a faster one did not. */
function showBackend(line: HTMLElement, section: HTMLElement, backend: AttentionBackend): void {
  section.dataset.backend = backend.impl;
  line.textContent = `Computed by ${backend.label}` + (backend.why === null ? '.' : `; not webgpu: ${backend.why}.`);
}

/**
 * Why some rows are all zeros. The causal mask here is bottom-right aligned,
 * as FlashAttention's (query i sees key j ≤ i + S − L): with L > S the first
 * L − S queries see nothing. PyTorch's is_causal is top-left aligned (j ≤ i),
 * so there every query sees key 1 at least; and where PyTorch does mask a
 * whole row (padding), its math path gives NaN.
 */
function maskedNote(maskedRows: number, l: number, s: number, padded: number, causal: boolean): string {
  if (maskedRows === 0) return '';
  const reasons: string[] = [];
  if (padded >= s) reasons.push('every key is padding');
  if (causal && l > s) {
    reasons.push(
      `the causal mask is bottom-right aligned, as FlashAttention's (query i sees key j ≤ i + S − L), so the first ${l - s} of ${l} queries see no key; ` +
        "PyTorch's is_causal is top-left aligned (j ≤ i), where every query sees key 1",
    );
  }
  const why = reasons.length > 0 ? ` (${reasons.join('; ')})` : '';
  return `; ${maskedRows} query row(s) see no key at all and get zeros${why}. Where PyTorch masks a whole row it gives NaN instead.`;
}
