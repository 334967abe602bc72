/**
 * Library errors as ipvsadm words them (libipvs' ipvs_strerror, then glibc's
 * strerror), so a failed change prints what ipvsadm would have printed.
 */
import { IpvsError } from '../errors.js';
import type { Cmd } from './options.js';

const E = { EPERM: 1, ENOENT: 2, ESRCH: 3, EEXIST: 17, ENODEV: 19, EINVAL: 22, ERANGE: 34, EMSGSIZE: 90, ENOPROTOOPT: 92, EOPNOTSUPP: 95, EAFNOSUPPORT: 97 };

/** glibc strerror texts for the errnos the kernel's IPVS code returns (and a few more). */
const STRERROR: Record<number, string> = {
  1: 'Operation not permitted',
  2: 'No such file or directory',
  3: 'No such process',
  4: 'Interrupted system call',
  5: 'Input/output error',
  6: 'No such device or address',
  7: 'Argument list too long',
  9: 'Bad file descriptor',
  11: 'Resource temporarily unavailable',
  12: 'Cannot allocate memory',
  13: 'Permission denied',
  14: 'Bad address',
  16: 'Device or resource busy',
  17: 'File exists',
  19: 'No such device',
  22: 'Invalid argument',
  24: 'Too many open files',
  28: 'No space left on device',
  34: 'Numerical result out of range',
  71: 'Protocol error',
  90: 'Message too long',
  92: 'Protocol not available',
  93: 'Protocol not supported',
  95: 'Operation not supported',
  97: 'Address family not supported by protocol',
  98: 'Address already in use',
  99: 'Cannot assign requested address',
  100: 'Network is down',
  101: 'Network is unreachable',
  105: 'No buffer space available',
  110: 'Connection timed out',
};

export function strerror(errno: number): string {
  return STRERROR[errno] ?? `Unknown error ${errno}`;
}

/** The libipvs function each command calls (ipvs_func), which selects its messages. */
type Func = 'add_service' | 'update_service' | 'del_service' | 'zero_service' | 'add_dest' | 'update_dest' | 'del_dest' | 'start_daemon' | 'stop_daemon' | 'get' | 'other';

const FUNC: Partial<Record<Cmd, Func>> = {
  'add-service': 'add_service',
  'edit-service': 'update_service',
  'delete-service': 'del_service',
  zero: 'zero_service',
  'add-server': 'add_dest',
  'edit-server': 'update_dest',
  'delete-server': 'del_dest',
  'start-daemon': 'start_daemon',
  'stop-daemon': 'stop_daemon',
  list: 'get',
  save: 'get',
};

const TABLE: Array<[Func | undefined, number, string]> = [
  ['add_service', E.EEXIST, 'Service already exists'],
  ['add_service', E.ENOENT, 'Scheduler or persistence engine not found'],
  ['update_service', E.ESRCH, 'No such service'],
  ['update_service', E.ENOENT, 'Scheduler or persistence engine not found'],
  ['del_service', E.ESRCH, 'No such service'],
  ['zero_service', E.ESRCH, 'No such service'],
  ['add_dest', E.ESRCH, 'Service not defined'],
  ['add_dest', E.EEXIST, 'Destination already exists'],
  ['update_dest', E.ESRCH, 'Service not defined'],
  ['update_dest', E.ENOENT, 'No such destination'],
  ['del_dest', E.ESRCH, 'Service not defined'],
  ['del_dest', E.ENOENT, 'No such destination'],
  ['start_daemon', E.EEXIST, 'Daemon has already run'],
  ['stop_daemon', E.ESRCH, 'No daemon is running'],
  ['get', E.ESRCH, 'No such service'],
  [undefined, E.EPERM, 'Permission denied (you must be root)'],
  [undefined, E.EINVAL, 'Invalid operation.  Possibly wrong module version, address not unicast, ...'],
  [undefined, E.ENOPROTOOPT, 'Protocol not available'],
  [undefined, 12, 'Memory allocation problem'],
  [undefined, E.EOPNOTSUPP, 'Operation not supported with IPv6'],
  [undefined, E.EAFNOSUPPORT, 'Operation not supported with specified address family'],
  [undefined, E.EMSGSIZE, 'Module is wrong version'],
];

/** libipvs ipvs_strerror for the function behind `cmd`. */
export function ipvsStrerror(cmd: Cmd | undefined, errno: number): string {
  const func = cmd === undefined ? 'other' : FUNC[cmd] ?? 'other';
  for (const [f, e, msg] of TABLE) if ((f === undefined || f === func) && e === errno) return msg;
  return strerror(errno);
}

/**
 * The errno the kernel would have answered where the library refuses input
 * before sending it (ipvsadm lets the kernel judge these).
 */
export function kernelErrnoFor(e: IpvsError): number | undefined {
  if (e.kind !== 'input') return undefined;
  switch (e.field) {
    case 'scheduler':
    case 'pe':
      return E.ENOENT;
    case 'interface':
      return E.ENODEV;
    case 'lowerThreshold':
      return E.ERANGE;
    default:
      return undefined;
  }
}

/** One line for a failed command, as ipvsadm prints it. */
export function describeError(cmd: Cmd | undefined, e: unknown): string {
  if (e instanceof IpvsError) {
    if (e.kind === 'kernel') return ipvsStrerror(cmd, e.errno);
    const k = kernelErrnoFor(e);
    if (k !== undefined) return ipvsStrerror(cmd, k);
    return e.message;
  }
  return e instanceof Error ? e.message : String(e);
}
