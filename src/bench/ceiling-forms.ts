/**
 * What the ceiling's workers share, in Node (ceiling.ts) and in a page
 * (ceiling-page.ts): the measuring loop as JavaScript source (each inlines it
 * into its worker script, so the worker needs no loader) and the reduction of
 * their replies to one figure.
 *
 * assembly/ceiling.ts has several loop forms (exports form0, form1, ...),
 * because no one loop reaches the engine's multiply-add rate on every CPU: a
 * trial gives every form an equal share of its time on every thread at once,
 * and its figure is the best form's total over the threads. Each call runs
 * about 2e7 flops, so that the clock is read every 0.5 ms or so.
 */
export const MEASURE_FORMS_JS = `
function loadForms(exports) {
  const forms = [];
  for (let f = 0; f < exports.formCount(); f++) {
    const run = exports['form' + f], perIteration = exports.flopsPerIteration(f);
    const batch = Math.max(1, Math.ceil(2e7 / perIteration));
    run(batch * 5, 1);                            // compile tiers up before the clock starts
    forms.push({ run, perIteration, batch });
  }
  return forms;
}
function measureForms(forms, ms) {
  let sink = 0;
  const replies = forms.map(({ run, perIteration, batch }) => {
    let iterations = 0, elapsed = 0;
    const t0 = performance.now();
    while ((elapsed = performance.now() - t0) < ms / forms.length) { sink += run(batch, 1); iterations += batch; }
    return { flops: iterations * perIteration, seconds: elapsed / 1000 };
  });
  return { forms: replies, sink };
}
`;

/** One worker's reply to a trial: per form, the flops it did in how many seconds. */
export interface FormsReply {
  forms: { flops: number; seconds: number }[];
}

/** A trial's figure: per form, the sum over threads of GFLOP/s; the best form's sum. */
export function bestFormGflops(replies: readonly FormsReply[]): number {
  const forms = replies[0]?.forms.length ?? 0;
  let best = 0;
  for (let f = 0; f < forms; f++) {
    best = Math.max(best, replies.reduce((total, r) => total + r.forms[f].flops / r.forms[f].seconds / 1e9, 0));
  }
  return best;
}
