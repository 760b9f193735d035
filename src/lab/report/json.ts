import type { LabResults } from '../run.js';

/**
 * results.json text. Non-finite numbers (an overflowed softmax, say) become
 * the strings "Infinity", "-Infinity" and "NaN", since JSON has no literal for
 * them and null would hide what happened.
 */
export function resultsJson(results: LabResults): string {
  return (
    JSON.stringify(
      results,
      (_key, value: unknown) => {
        if (typeof value === 'number' && !Number.isFinite(value)) return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
        return value;
      },
      2,
    ) + '\n'
  );
}
