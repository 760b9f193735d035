/**
 * Numbers as the page shows them: a few significant digits for people, and
 * the exact value in `data-value` so that tests (and curious readers of the
 * DOM) compare the full double.
 */
export function formatNumber(x: number, digits = 4): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '−Infinity';
  if (x === 0) return '0';
  const magnitude = Math.abs(x);
  if (magnitude >= 1e6 || magnitude < 1e-4) return x.toExponential(digits - 1).replace('-', '−');
  return Number(x.toPrecision(digits)).toString().replace('-', '−');
}

/** Writes a figure into the element with the given data-testid. */
export function showFigure(root: ParentNode, testId: string, value: number, digits = 4): void {
  const element = byTestId(root, testId);
  element.textContent = formatNumber(value, digits);
  element.dataset.value = String(value);
  element.classList.toggle('nonfinite', !Number.isFinite(value));
}

export function byTestId(root: ParentNode, testId: string): HTMLElement {
  const element = root.querySelector<HTMLElement>(`[data-testid="${testId}"]`);
  if (element === null) throw new Error(`page: no element with data-testid="${testId}"`);
  return element;
}

export function byId<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`page: no element with id="${id}"`);
  return element as T;
}

/** A seed box's value as a non-negative integer (0 when empty or unparsable). */
export function readSeed(input: HTMLInputElement): number {
  return Math.max(0, Math.floor(Number(input.value) || 0));
}

/**
 * Serialises a section's renders. A drag fires many input events: at most one
 * render waits behind the running one, and it reads the latest settings when
 * it starts. `settled()` is the promise of the last render scheduled.
 */
export function renderQueue(render: () => Promise<void>): { schedule: () => void; settled: () => Promise<void> } {
  let queued = false;
  let pending = Promise.resolve();
  const schedule = (): void => {
    if (queued) return;
    queued = true;
    pending = pending
      .then(() => {
        queued = false;
        return render();
      })
      .catch(reportError);
  };
  return { schedule, settled: () => pending };
}
