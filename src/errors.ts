/**
 * The one error family of the library. Every failure a caller can see is an
 * IpvsError; `kind` says where it came from and `code` says what it was.
 */
import { constants } from 'node:os';
import { getSystemErrorName } from 'node:util';

/**
 * - `kernel`: the kernel refused a request (NLMSG_ERROR); errno and, when the
 *   kernel sent one, its own text in `kernelMessage`.
 * - `input`: the library refused bad input before sending anything (EINVAL).
 * - `socket`: a system call on the netlink socket failed.
 * - `decode`: a reply did not decode; the message names the attribute.
 * - `interrupted`: a dump changed under us (NLM_F_DUMP_INTR); retry it.
 * - `timeout`: no reply arrived in time (ETIMEDOUT).
 */
export type IpvsErrorKind = 'kernel' | 'input' | 'socket' | 'decode' | 'interrupted' | 'timeout';

export interface IpvsErrorDetails {
  kind: IpvsErrorKind;
  /** Positive errno, 0 when none applies (decode errors). */
  errno: number;
  /** What was being done, e.g. "addService". */
  operation: string;
  /** The input field at fault, for `input` errors. */
  field?: string;
  /** The kernel's extended-ack text, when it sent one. */
  kernelMessage?: string;
  /** Byte offset into the request that the kernel blamed, when it sent one. */
  kernelOffset?: number;
  /** Netlink sequence number of the failed request. */
  seq?: number;
  /** The system call that failed, for `socket` errors. */
  syscall?: string;
  cause?: unknown;
}

export class IpvsError extends Error {
  override name = 'IpvsError';
  readonly kind: IpvsErrorKind;
  /** errno name such as 'EEXIST', 'ESRCH', 'EINVAL'; 'EDECODE' for decode errors. */
  readonly code: string;
  readonly errno: number;
  readonly operation: string;
  // `declare`: no own property unless the constructor sets one, so errors
  // print only the details they have.
  declare readonly field?: string;
  declare readonly kernelMessage?: string;
  declare readonly kernelOffset?: number;
  declare readonly seq?: number;
  declare readonly syscall?: string;

  constructor(message: string, details: IpvsErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.kind = details.kind;
    this.errno = details.errno;
    this.code = details.errno > 0 ? errnoName(details.errno) : details.kind === 'decode' ? 'EDECODE' : 'UNKNOWN';
    this.operation = details.operation;
    if (details.field !== undefined) this.field = details.field;
    if (details.kernelMessage !== undefined) this.kernelMessage = details.kernelMessage;
    if (details.kernelOffset !== undefined) this.kernelOffset = details.kernelOffset;
    if (details.seq !== undefined) this.seq = details.seq;
    if (details.syscall !== undefined) this.syscall = details.syscall;
  }
}

/** Linux errno numbers the library reasons about by name. */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  ENOBUFS: 105,
  EEXIST: 17,
  EINVAL: 22,
  EBUSY: 16,
  ENODEV: 19,
  ERANGE: 34,
  EMSGSIZE: 90,
  EOPNOTSUPP: 95,
  EAFNOSUPPORT: 97,
  ETIMEDOUT: 110,
  EPROTO: 71,
} as const;

// Linux errno names by number: Node's table, where 95 is the kernel's
// EOPNOTSUPP (libuv calls it ENOTSUP) and 11 stays EAGAIN.
const ERRNO_NAMES = new Map<number, string>([[95, 'EOPNOTSUPP']]);
for (const [name, n] of Object.entries(constants.errno)) if (!ERRNO_NAMES.has(n)) ERRNO_NAMES.set(n, name);

/** The errno's name, e.g. 17 -> 'EEXIST'; `E<n>` when no name is known. */
export function errnoName(errno: number): string {
  const n = Math.abs(errno);
  const known = ERRNO_NAMES.get(n);
  if (known) return known;
  try {
    // libuv knows a few that Node's table lacks; it answers "Unknown system error -n" for the rest.
    const name = getSystemErrorName(-n);
    if (/^E[A-Z0-9]+$/.test(name)) return name;
  } catch {
    // n is 0 or not an integer
  }
  return `E${n}`;
}

/** Bad input, refused before anything is sent. */
export function inputError(operation: string, field: string, message: string, cause?: unknown): IpvsError {
  return new IpvsError(message, { kind: 'input', errno: Errno.EINVAL, operation, field, ...(cause !== undefined ? { cause } : {}) });
}

/** Longest text describeValue gives (a message quotes a value, not a document). */
const SHOWN_MAX = 80;

/**
 * A value as a message shows it: strings quoted, 10n for a bigint, objects
 * as short JSON. Never throws, whatever the caller passed (a bigint, a
 * symbol, a cyclic object, a proxy or getter that throws): a message about
 * bad input must not fail on the input it describes.
 */
export function describeValue(v: unknown): string {
  try {
    switch (typeof v) {
      case 'string':
        return clip(JSON.stringify(v));
      case 'bigint':
        return `${v}n`;
      case 'symbol':
        return clip(v.toString());
      case 'function':
        return 'a function';
      case 'object': {
        if (v === null) return 'null';
        if (v instanceof Error) return clip(`${v.name}: ${v.message}`);
        const text = JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : typeof x === 'symbol' || typeof x === 'function' ? String(x) : x));
        return typeof text === 'string' ? clip(text) : 'an object';
      }
      default:
        return String(v); // number, boolean, undefined
    }
  } catch {
    return `${typeof v === 'object' ? 'an object' : 'a value'} that cannot be shown`;
  }
}

function clip(text: string): string {
  return text.length <= SHOWN_MAX ? text : `${text.slice(0, SHOWN_MAX - 3)}...`;
}

/** A reply that does not decode. */
export class DecodeError extends IpvsError {
  constructor(message: string, operation = 'decode') {
    super(message, { kind: 'decode', errno: 0, operation });
  }
}
