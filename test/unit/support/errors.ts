/** Assertions about the library's errors, shared by the decoding tests. */
import { expect } from 'vitest';
import { IpvsError } from '../../../src/errors.js';

/** Runs `fn`, expects it to throw a decode IpvsError, and returns it. */
export function decodeError(fn: () => unknown): IpvsError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(IpvsError);
    expect(e).toMatchObject({ kind: 'decode', code: 'EDECODE' });
    return e as IpvsError;
  }
  throw new Error('expected a decode error');
}
