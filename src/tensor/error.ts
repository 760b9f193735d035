/**
 * The one error type scaledot throws for misuse. `code` is stable and meant for
 * programs (`E_SHAPE`, `E_DTYPE`, `E_MASK`, `E_OPTION`, `E_ARG`, `E_IO`, `E_SIZE`:
 * a call that would allocate past MAX_BUFFER_BYTES); the
 * message is for people and names the function, the argument and the shapes.
 */
export type ErrorCode = 'E_SHAPE' | 'E_DTYPE' | 'E_MASK' | 'E_OPTION' | 'E_ARG' | 'E_IO' | 'E_SIZE';

/** The error every check of scaledot throws: `code` for programs (E_SHAPE, E_DTYPE, …), the message for people. */
export class ScaledotError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'ScaledotError';
    this.code = code;
  }
}

/** `[2,3,5]` as people write shapes in messages. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}
