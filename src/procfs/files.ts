/**
 * Per-namespace procfs files (/proc/net/ip_vs_conn, /proc/sys/net/ipv4/vs/*)
 * read and written for a network namespace other than ours. procfs shows
 * the namespace of whoever opens the file, so the addon opens it from inside
 * the namespace (openInNetns, the way the netlink socket is opened) and the
 * descriptor is read or written here, through libuv's thread pool: no
 * shell-out, and the event loop never waits on a large table.
 */
import { close, open, read, write } from 'node:fs';
import { promisify } from 'node:util';
import { Errno, IpvsError, errnoName } from '../errors.js';
import { loadNative, type NativeBinding, type NativeError } from '../native.js';

const readFd = promisify(read);
const writeFd = promisify(write);
const closeFd = promisify(close);
const openFd = promisify(open);

/** Where a namespace's files are found. */
export interface NamespaceFileOptions {
  /** Namespace path (/var/run/netns/NAME, /proc/PID/ns/net); ours when absent. */
  netnsPath?: string;
  /** The compiled addon (a path or the loaded module), as for `Ipvs.open`. */
  nativeBinding?: string | NativeBinding;
}

/**
 * The path to open for a file under /proc/net: thread-self, since the addon
 * opens it on a thread of its own that entered the namespace (/proc/net is
 * /proc/self/net, the namespace of the process's main thread).
 */
function procPath(path: string): string {
  return path.startsWith('/proc/net/') ? `/proc/thread-self/net/${path.slice('/proc/net/'.length)}` : path;
}

async function openIn(path: string, forWriting: boolean, opts: NamespaceFileOptions, operation: string): Promise<number> {
  try {
    if (opts.netnsPath === undefined) return await openFd(path, forWriting ? 'w' : 'r');
    const native = loadNative(opts.nativeBinding);
    if (!native.openInNetns) throw new IpvsError('the compiled addon predates openInNetns: rebuild it (scripts/setup.sh)', { kind: 'socket', errno: Errno.EOPNOTSUPP, operation });
    return native.openInNetns(opts.netnsPath, procPath(path), forWriting);
  } catch (e) {
    if (e instanceof IpvsError) throw e;
    throw fileError(e, path, opts, operation);
  }
}

/** An IpvsError for a failed open, read or write, naming the file. */
function fileError(e: unknown, path: string, opts: NamespaceFileOptions, operation: string): IpvsError {
  const err = e as NativeError & { code?: string };
  const errno = typeof err.errno === 'number' ? Math.abs(err.errno) : Errno.EINVAL;
  const code = errnoName(errno);
  const inNs = opts.netnsPath === undefined ? '' : ` in network namespace ${opts.netnsPath}`;
  let what: string;
  if (err.path !== undefined && err.path === opts.netnsPath) {
    what = `cannot enter network namespace ${opts.netnsPath}: ${code === 'ENOENT' ? 'no such namespace' : code === 'EPERM' ? 'permission denied (needs CAP_SYS_ADMIN)' : code}`;
  } else if (code === 'ENOENT') {
    what = `${path} does not exist${inNs} (is the ip_vs module loaded?)`;
  } else if (code === 'EACCES' || code === 'EPERM') {
    what = `${path}${inNs}: permission denied (needs root)`;
  } else {
    what = `${path}${inNs}: ${code}`;
  }
  return new IpvsError(`${operation}: ${what}`, { kind: 'socket', errno, operation, syscall: err.syscall ?? 'open', cause: e });
}

/** Reads a whole procfs file of a namespace as text. */
export async function readNamespaceFile(path: string, opts: NamespaceFileOptions, operation: string): Promise<string> {
  const fd = await openIn(path, false, opts, operation);
  try {
    const parts: Buffer[] = [];
    // procfs hands out a page or so per read whatever the buffer size; a
    // larger buffer only saves calls when the seq_file fills it.
    for (;;) {
      const buf = Buffer.allocUnsafe(65536);
      const { bytesRead } = await readFd(fd, buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      parts.push(bytesRead === buf.length ? buf : buf.subarray(0, bytesRead));
    }
    return Buffer.concat(parts).toString('utf8');
  } catch (e) {
    throw fileError(e, path, opts, operation);
  } finally {
    await closeFd(fd).catch(() => {});
  }
}

/** Writes text to a procfs file of a namespace in one write (sysctls take a value per write). */
export async function writeNamespaceFile(path: string, text: string, opts: NamespaceFileOptions, operation: string): Promise<void> {
  const fd = await openIn(path, true, opts, operation);
  try {
    await writeFd(fd, text);
  } catch (e) {
    throw fileError(e, path, opts, operation);
  } finally {
    await closeFd(fd).catch(() => {});
  }
}
