/**
 * Option bags are read by their own keys, so only a plain object (a literal,
 * or Object.create(null)) is one: a Map keeps its entries out of reach of
 * Object.keys, and an array or a class instance is a mistake to say so about.
 */
export function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (x === null || typeof x !== 'object') return false;
  const proto = Object.getPrototypeOf(x) as unknown;
  return proto === Object.prototype || proto === null;
}

/** A value as an error message names it: `an array [1,2]`, `a Map`, `the string "1"`, `null`. */
export function describeValue(x: unknown): string {
  if (x === null || x === undefined) return String(x);
  if (Array.isArray(x)) {
    const text = JSON.stringify(x) ?? '';
    return `an array ${text.length > 40 ? `${text.slice(0, 40)}…` : text}`;
  }
  if (typeof x === 'string') return `the string ${JSON.stringify(x)}`;
  if (typeof x === 'object') {
    const name = (Object.getPrototypeOf(x) as { constructor?: { name?: string } } | null)?.constructor?.name;
    return name && name !== 'Object' ? `a ${name}` : 'an object';
  }
  return `${typeof x} ${String(x)}`;
}
