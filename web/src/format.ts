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

/**
 * Writes a figure as JavaScript prints it: the shortest digits that read back
 * as the same double, so two neighbouring values never look alike.
 */
export function showExactFigure(root: ParentNode, testId: string, value: number): void {
  const element = byTestId(root, testId);
  element.textContent = Number.isFinite(value) ? String(value).replace('-', '−') : formatNumber(value);
  element.dataset.value = String(value);
  element.classList.toggle('nonfinite', !Number.isFinite(value));
}

/** The largest seed a box takes (its max attribute). */
export const MAX_SEED = 1_000_000;

/**
 * A seed box's value when it is a whole number from 0 to MAX_SEED; otherwise
 * `last`, and the box says why beside it (red border, a message for screen
 * readers too) rather than quietly computing with another seed.
 */
export function checkedSeed(input: HTMLInputElement, last: number): number {
  const text = input.value.trim();
  const value = Number(text);
  const ok = /^\d+$/.test(text) && value <= MAX_SEED;
  input.setAttribute('aria-invalid', String(!ok));
  fieldMessage(input, ok ? '' : `seed must be a whole number from 0 to ${MAX_SEED.toLocaleString('en')}; still using ${last}`);
  return ok ? value : last;
}

/** A message under a form field (empty: none), tied to it with aria-describedby. */
export function fieldMessage(input: HTMLElement, message: string): void {
  const id = `${input.id}-error`;
  let element = document.getElementById(id);
  if (element === null) {
    element = document.createElement('span');
    element.id = id;
    element.className = 'field-error';
    element.dataset.testid = id;
    element.setAttribute('role', 'status');
    input.insertAdjacentElement('afterend', element);
    input.setAttribute('aria-describedby', id);
  }
  element.textContent = message;
  element.hidden = message === '';
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
