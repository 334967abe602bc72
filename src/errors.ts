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

// ---- factories: every error the transport and the client make, worded once ----

/** What a kernel refusal says (netlink/message.ts's NetlinkStatus has this shape). */
export interface KernelStatus {
  errno: number;
  message?: string;
  offset?: number;
}

/** The kernel refused a request; `text` words it (default "<operation> failed"), the kernel's own text is appended. */
export function kernelError(status: KernelStatus, operation: string, seq?: number, text?: string): IpvsError {
  const base = text ?? `${operation} failed`;
  const extra = status.message ? `: ${status.message}` : '';
  return new IpvsError(`${base}${extra}`, {
    kind: 'kernel',
    errno: status.errno,
    operation,
    ...(status.message !== undefined ? { kernelMessage: status.message } : {}),
    ...(status.offset !== undefined ? { kernelOffset: status.offset } : {}),
    ...(seq !== undefined ? { seq } : {}),
  });
}

/** A system call on the socket failed; `e` is the addon's error (errno, syscall) or anything thrown. */
export function socketError(e: unknown, operation: string, text?: string): IpvsError {
  const ne = (e ?? {}) as { errno?: unknown; syscall?: unknown; message?: unknown };
  const errno = typeof ne.errno === 'number' ? ne.errno : 0;
  return new IpvsError(text ?? `${operation}: ${typeof ne.message === 'string' ? ne.message : String(e)}`, {
    kind: 'socket',
    errno,
    operation,
    cause: e,
    ...(typeof ne.syscall === 'string' ? { syscall: ne.syscall } : {}),
  });
}

/** The kernel dropped replies (ENOBUFS): which ones cannot be known. */
export const OVERRUN_TEXT = 'the kernel dropped netlink replies (receive buffer overrun); the outcome of this request is unknown';

/** A call made on a closed handle. */
export function closedError(operation: string): IpvsError {
  return new IpvsError('the IPVS handle is closed', { kind: 'socket', errno: 9, operation });
}

/** A request still waiting when its handle was closed. */
export function closedWaitingError(operation: string, seq?: number): IpvsError {
  return new IpvsError('the IPVS handle was closed before the reply came', { kind: 'socket', errno: 9, operation, ...(seq !== undefined ? { seq } : {}) });
}

/** No reply within the handle's timeout. */
export function timeoutError(operation: string, timeoutMs: number, seq: number): IpvsError {
  return new IpvsError(`${operation}: no reply from the kernel within ${timeoutMs} ms`, { kind: 'timeout', errno: Errno.ETIMEDOUT, operation, seq });
}

/** A dump answered with NLM_F_DUMP_INTR: retry it. */
export function interruptedError(operation: string, seq: number): IpvsError {
  return new IpvsError(`${operation}: the dump was interrupted by a concurrent change; try again`, { kind: 'interrupted', errno: Errno.EINTR, operation, seq });
}

/** A reply (or a buffer of them) that did not decode. */
export function replyDecodeError(text: string, operation: string, seq?: number, cause?: unknown): IpvsError {
  return new IpvsError(`a reply did not decode: ${text}`, { kind: 'decode', errno: 0, operation, ...(seq !== undefined ? { seq } : {}), ...(cause !== undefined ? { cause } : {}) });
}

/** A request whose bytes were not one netlink message (a bug of its builder, or input it did not check). */
export function encodeError(operation: string, e: unknown): IpvsError {
  return new IpvsError(`${operation}: the request did not encode: ${(e as Error)?.message ?? String(e)}`, { kind: 'input', errno: Errno.EINVAL, operation, cause: e });
}

/** Anything thrown while checking or encoding input, as the input error it is (IpvsErrors pass through). */
export function asInputError(e: unknown, operation: string, prefix = operation): IpvsError {
  if (e instanceof IpvsError) return e;
  return new IpvsError(`${prefix}: ${(e as Error)?.message ?? String(e)}`, { kind: 'input', errno: Errno.EINVAL, operation, cause: e });
}
