/// <reference lib="webworker" />
import { N_GRID, lengthCurvePoints, lengthFigures, type LengthPoint, type LengthSettings } from './length-stats.js';

/** A request from section 5 and its answer: the current row's figures, and the curves over n when asked. */
export interface LengthRequest {
  id: number;
  settings: LengthSettings;
  withCurve: boolean;
}

export interface LengthReply {
  id: number;
  figures: ReturnType<typeof lengthFigures>;
  curve: LengthPoint[] | null;
}

/**
 * Section 5's numbers off the main thread: a row of 10⁵ keys under three
 * rules, and the curves over n up to 10⁵, take long enough on a slow phone
 * (or a busy machine) to freeze the page if computed there.
 */
const scope = self as unknown as DedicatedWorkerGlobalScope;

scope.onmessage = (event: MessageEvent<LengthRequest>) => {
  const { id, settings, withCurve } = event.data;
  const figures = lengthFigures(settings);
  const curve = withCurve ? N_GRID.flatMap((n) => lengthCurvePoints(settings, n)) : null;
  scope.postMessage({ id, figures, curve } satisfies LengthReply);
};
