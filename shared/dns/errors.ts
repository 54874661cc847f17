// Typed errors of the DNS layer: every malformed input becomes one of these, never a stray exception.

export type WireErrorCode =
  | 'truncated'        // input ends before a field does
  | 'bad-name'         // label/name limits, bad pointer, bad label type, bad escape
  | 'bad-rdata'        // rdata that does not fit its type's layout
  | 'bad-header'       // counts or flags that cannot be
  | 'trailing-data'    // bytes left over after the last section
  | 'bad-opt'          // OPT record misplaced, duplicated or malformed
  | 'bad-tsig'         // TSIG record misplaced, duplicated or malformed
  | 'bad-text'         // presentation format that cannot be parsed
  | 'too-long';        // an encoded message or field exceeds its limit

export class WireError extends Error {
  readonly code: WireErrorCode;
  constructor(code: WireErrorCode, message: string) {
    super(message);
    this.name = 'WireError';
    this.code = code;
  }
}

export type Result<T, E = WireError> = { ok: true; value: T } | { ok: false; error: E };

export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

export function fail<E>(error: E): { ok: false; error: E } {
  return { ok: false, error };
}

/**
 * Runs a parser that throws WireError and turns any failure, including a RangeError from a
 * Buffer read past the end, into a typed error value.
 */
export function attempt<T>(fn: () => T): Result<T> {
  try {
    return ok(fn());
  } catch (e) {
    return fail(asWireError(e));
  }
}

export function asWireError(e: unknown): WireError {
  if (e instanceof WireError) return e;
  if (e instanceof RangeError) return new WireError('truncated', `input ends early (${e.message})`);
  return new WireError('bad-header', e instanceof Error ? e.message : String(e));
}
