/**
 * The native netlink transport (native/netlink_socket.cc), typed once here.
 * This is the only module that loads the addon, and it does so lazily: the
 * codec and the types can be imported without a compiled binary.
 */
import { createRequire } from 'node:module';
import { inputError } from './errors.js';

/**
 * Called with the datagrams the kernel sent, concatenated and 4-byte aligned:
 * a Buffer of them, or, after `useReceiveBuffer`, their length in that
 * buffer (valid only until the callback returns). When the callback sends,
 * the native side reads again at once (bounded).
 */
export type OnData = (error: NativeError | null, data: Buffer | number | null) => void;

/** Raw facts about a failed system call; errors.ts turns them into IpvsError. */
export interface NativeError extends Error {
  errno: number;
  syscall: string;
  /** The file whose open failed (openInNetns). */
  path?: string;
}

/** One netlink socket, non-blocking, polled by libuv on the main thread. */
export interface NativeSocket {
  /** Sends one buffer (one or many netlink messages), or its first `length` bytes; returns bytes sent. */
  send(buffer: Uint8Array, length?: number): number;
  /** Keep the process alive while replies are awaited. */
  ref(): void;
  /** Let the process exit while the socket is idle. */
  unref(): void;
  close(): void;
  /** The netlink port id the kernel assigned. */
  readonly portId: number;
  /** SO_RCVBUF as granted (absent in stand-ins for tests). */
  readonly receiveBufferSize?: number;
  /**
   * Reads land in `buffer` from now on (it must hold RECEIVE_BUFFER_BYTES)
   * and onData gets their length instead of a fresh Buffer. Optional: test
   * stand-ins deliver Buffers.
   */
  useReceiveBuffer?(buffer: Uint8Array): number;
}

/** The size of the receive buffer the addon reads into (16 slots of 32 KiB). */
export const RECEIVE_BUFFER_BYTES = 16 * 32768;

export interface NativeBinding {
  /**
   * Opens `path` from inside the network namespace at `netnsPath` (on a
   * short-lived thread; the caller's thread stays where it is) and returns
   * the file descriptor, read-only or write-only. For per-namespace procfs
   * files: /proc/thread-self/net/... and /proc/sys/net/... keep the namespace
   * they were opened in. Throws a NativeError whose `path` says which open
   * failed. Optional: older builds and test stand-ins lack it.
   */
  openInNetns?(netnsPath: string, path: string, forWriting: boolean): number;
  NetlinkSocket: new (
    protocol: number,
    netnsPath: string | null,
    rcvbuf: number,
    sndbuf: number,
    onData: OnData,
  ) => NativeSocket;
}

/**
 * Loads the addon. `binding` overrides the lookup (for bundled setups): a
 * path, or the module already loaded; so does the IPVS_NATIVE_BINDING
 * environment variable (a path).
 */
export function loadNative(binding?: string | NativeBinding): NativeBinding {
  if (binding !== undefined && typeof binding !== 'string') {
    if (typeof (binding as Partial<NativeBinding>)?.NetlinkSocket !== 'function') throw inputError('open', 'nativeBinding', 'open: nativeBinding is neither a path nor a loaded addon (a module with a NetlinkSocket class)');
    return binding;
  }
  const override = binding ?? process.env.IPVS_NATIVE_BINDING;
  const require = createRequire(import.meta.url);
  if (override) return require(override) as NativeBinding;
  // (no cache of our own: require caches the module; the lookup is a few file system calls per open)
  const bindings = require('bindings') as (opts: { bindings: string; module_root?: string }) => unknown;
  return bindings({ bindings: 'ipvs_netlink', module_root: findRoot(require) }) as NativeBinding;
}

function findRoot(require: NodeRequire): string {
  // The package root holds binding.gyp; bindings() searches below it.
  const pkg = require.resolve('../package.json');
  return pkg.slice(0, -'/package.json'.length);
}
