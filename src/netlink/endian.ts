import { endianness } from 'node:os';

/** Host byte order as DataView's littleEndian flag: netlink integers use it. */
export const os: boolean = endianness() === 'LE';
