import { ScaledotError } from '../../tensor/index.js';
import { analyzeHead, type HeadFigures } from '../figures.js';
import { headFindings, type Finding } from '../findings.js';
import type { FusedSite } from './fused.js';
import { fusedLogits, type Captured, type IntsOf } from './fused-logits.js';
import type { OnnxLayerSummary } from './summary.js';

/** One fused op's layer: its logits computed by the op's definition (fused-logits.ts), then every head's figures as for a decomposed layer. */
export function inspectFusedLayer(site: FusedSite, layer: string, model: string, floats: (name: string) => (Captured & { type: string }) | null, ints: IntsOf, what: string,
  onHead?: (head: number, heads: number) => void): { summary: OnnxLayerSummary; heads: HeadFigures[]; findings: Finding[]; resolved: ReturnType<typeof fusedLogits> } {
  const need = (name: string): Captured & { type: string } => {
    const t = floats(name);
    if (t === null) throw new ScaledotError('E_ARG', `${what}: tensor ${name} did not come back from the runtime as a float tensor`);
    return t;
  };
  const qIn = need(site.q);
  const kIn = need(site.k);
  const r = fusedLogits(site, qIn, kIn, ints, floats, what);
  const heads: HeadFigures[] = [];
  const findings: Finding[] = [];
  for (let h = 0; h < r.q.heads; h++) {
    onHead?.(h, r.q.heads);
    const outcome = analyzeHead(layer, r.q, r.k, h, r.scale, false, { data: r.logits });
    if (outcome.kind === 'figures') heads.push(outcome.figures);
    findings.push(...headFindings(outcome));
  }
  let masked = 0;
  for (const x of r.logits) if (x === -Infinity) masked++;
  return {
    summary: {
      layer,
      q: { file: model, name: site.packed === null ? site.q : `${site.q} · ${site.packed.weight} (q columns)`, dtype: qIn.type, shape: qIn.dims },
      k: { file: model, name: site.packed === null ? site.k : `${site.k} · ${site.packed.weight} (k columns)`, dtype: kIn.type, shape: kIn.dims },
      heads: r.q.heads, kvHeads: r.k.heads, headDim: r.q.dim, scale: r.scale,
      softmaxNode: site.node.name, scoreMatMulNode: site.node.name, logitsFrom: 'computed',
      scaleAt: [{ side: 'fused', node: site.node.name, op: site.op, factor: r.scale }],
      softcap: site.softcap, scaleMeasured: null, logitResidualMax: null, maskedShare: masked / r.logits.length, softmaxResidualMax: null,
      scoreOps: [`${site.domain}.${site.op}`],
    },
    heads,
    findings,
    resolved: r, // the logits it computed, for the attention maps
  };
}
