/**
 * The options of the client's own methods (Ipvs.open, listServices, batch),
 * checked like every other input (see ipvs/input.ts): bad ones are refused
 * with an input error naming the option, before anything is opened or sent.
 */
import { describeValue, inputError } from './errors.js';
import { field, isInt, isRecord, record } from './ipvs/input.js';
import type { NativeBinding } from './native.js';

/** listServices' options: whether to fetch real servers too. */
export function checkListOptions(op: string, opts: unknown): boolean {
  if (opts === undefined) return false;
  const o = record(op, opts, 'options', `${op}: options must be an object such as { withDestinations: true }, got ${describeValue(opts)}`);
  const withDestinations = field(op, o, 'withDestinations');
  if (withDestinations !== undefined && typeof withDestinations !== 'boolean') {
    throw inputError(op, 'withDestinations', `${op}: withDestinations must be a boolean, got ${describeValue(withDestinations)}`);
  }
  return withDestinations === true;
}

/** batch()'s options: whether to stop at the first failure, whether updates merge. */
export function checkBatchOptions(op: string, opts: unknown): { stopOnError: boolean; merge: boolean } {
  if (opts === undefined) return { stopOnError: false, merge: true };
  const o = record(op, opts, 'options', `${op}: options must be an object such as { stopOnError: true }, got ${describeValue(opts)}`);
  const flag = (name: 'stopOnError' | 'merge'): boolean | undefined => {
    const v = field(op, o, name);
    if (v !== undefined && typeof v !== 'boolean') throw inputError(op, name, `${op}: ${name} must be a boolean, got ${describeValue(v)}`);
    return v;
  };
  return { stopOnError: flag('stopOnError') === true, merge: flag('merge') !== false };
}

/** Ipvs.open()'s options, checked (the namespace name is resolved by the client). */
export interface OpenSettings {
  netns?: string;
  timeoutMs?: number;
  nativeBinding?: string | NativeBinding;
  debug?: boolean | ((line: string) => void);
}

export function checkOpenOptions(opts: unknown): OpenSettings {
  const op = 'open';
  if (opts === undefined) return {};
  const o = record(op, opts, 'options', `${op}: options must be an object such as { netns: 'blue' }, got ${describeValue(opts)}`);
  const out: OpenSettings = {};
  const netns = field(op, o, 'netns');
  if (netns !== undefined) {
    if (typeof netns !== 'string') throw inputError(op, 'netns', `${op}: netns must be a namespace name or an absolute path, got ${describeValue(netns)}`);
    out.netns = netns;
  }
  const timeoutMs = field(op, o, 'timeoutMs');
  if (timeoutMs !== undefined) {
    if (!isInt(timeoutMs, 1, 0x7fffffff)) throw inputError(op, 'timeoutMs', `${op}: timeoutMs must be a whole number of milliseconds from 1 to 2147483647, got ${describeValue(timeoutMs)}`);
    out.timeoutMs = timeoutMs;
  }
  const nativeBinding = field(op, o, 'nativeBinding');
  if (nativeBinding !== undefined) {
    if (isRecord(nativeBinding)) {
      // The loaded addon (a bundler's require): its socket class is all the library uses.
      const socket = field(op, nativeBinding, 'NetlinkSocket', 'nativeBinding.NetlinkSocket');
      if (typeof socket !== 'function') throw inputError(op, 'nativeBinding.NetlinkSocket', `${op}: nativeBinding is not the loaded addon: its NetlinkSocket is ${describeValue(socket)}`);
      out.nativeBinding = { NetlinkSocket: socket as NativeBinding['NetlinkSocket'] };
    } else {
      if (typeof nativeBinding !== 'string' || nativeBinding === '') {
        throw inputError(op, 'nativeBinding', `${op}: nativeBinding must be the path of the compiled addon, or the loaded addon, got ${describeValue(nativeBinding)}`);
      }
      out.nativeBinding = nativeBinding;
    }
  }
  const debug = field(op, o, 'debug');
  if (debug !== undefined) {
    if (typeof debug !== 'boolean' && typeof debug !== 'function') throw inputError(op, 'debug', `${op}: debug must be a boolean or a function taking a line, got ${describeValue(debug)}`);
    out.debug = debug as boolean | ((line: string) => void);
  }
  return out;
}
