/// <reference lib="webworker" />
import { ScaleModel, type ScaleView } from './scale-view.js';
import type { ScaleSettings } from './scale-stats.js';

/** Messages to the worker: an optional shared counter once, then settings to compute. */
export type ScaleRequest = { type: 'shared'; latest: SharedArrayBuffer } | { type: 'view'; generation: number; settings: ScaleSettings };
/**
 * Replies to a request, in order: its view without the curve when the curve
 * is not known yet (`sample`), then the whole view (`view`); `stale` when a
 * newer request made it stale first. `view`, `stale` and `error` end a request.
 */
export type ScaleReply =
  | { generation: number; type: 'sample'; view: Omit<ScaleView, 'curve'> }
  | { generation: number; type: 'view'; view: ScaleView }
  | { generation: number; type: 'stale' }
  | { generation: number; type: 'error'; message: string };

/**
 * Section 1's computation off the main thread. The main thread writes the
 * generation of its newest request into a shared counter (when the page is
 * cross-origin isolated), and the dot-product loop reads it after every key:
 * a request that is no longer the newest stops within ~1 ms instead of
 * finishing work nobody will see. Without SharedArrayBuffer the main thread
 * still sends only its newest settings, one request at a time.
 */
const scope = self as unknown as DedicatedWorkerGlobalScope;
const model = new ScaleModel();
let latest: Int32Array | null = null;

scope.onmessage = (event: MessageEvent<ScaleRequest>) => {
  const request = event.data;
  if (request.type === 'shared') {
    latest = new Int32Array(request.latest);
    return;
  }
  const stale = (): boolean => latest !== null && Atomics.load(latest, 0) !== request.generation;
  const { generation, settings } = request;
  const reply = (message: ScaleReply): void => scope.postMessage(message);
  try {
    const sample = model.sample(settings, stale);
    if (sample === null) return reply({ generation, type: 'stale' });
    if (sample.curve !== null) return reply({ generation, type: 'view', view: { ...sample, curve: sample.curve } });
    reply({ generation, type: 'sample', view: sample });
    const curve = model.curveOf(settings, stale);
    reply(curve === null ? { generation, type: 'stale' } : { generation, type: 'view', view: { ...sample, curve } });
  } catch (err) {
    reply({ generation, type: 'error', message: err instanceof Error ? err.message : String(err) });
  }
};
