// Requests for transport tests: each a 20-byte message whose 4-byte payload
// holds a tag, so a scripted fake kernel (fake-netlink.ts) can tell them apart.
import type { Request } from '../../src/netlink/connection.js';
import { NLM_F_REQUEST } from '../../src/netlink/constants.js';
import { NLM_F_ACK, NLM_F_DUMP, type FakeSocket, type SentMessage, defaultRespond, errorMessage } from './fake-netlink.js';

/** A message of `type` with a 4-byte payload holding `tag`. */
export function message(tag: number, flags: number, type = 0x20): Uint8Array {
  const b = new Uint8Array(20);
  const v = new DataView(b.buffer);
  v.setUint32(0, 20, true);
  v.setUint16(4, type, true);
  v.setUint16(6, flags, true);
  v.setUint32(16, tag, true);
  return b;
}
export const change = (tag: number, extra: Partial<Request> = {}): Request => ({ message: message(tag, NLM_F_REQUEST | NLM_F_ACK), dump: false, replyless: true, operation: `change${tag}`, ...extra });
export const read = (tag: number): Request => ({ message: message(tag, NLM_F_REQUEST | NLM_F_ACK), dump: false, operation: `read${tag}` });
export const dump = (tag: number): Request => ({ message: message(tag, NLM_F_REQUEST | NLM_F_DUMP), dump: true, operation: `dump${tag}` });
export const tagOf = (m: SentMessage): number => new DataView(m.payload.buffer, m.payload.byteOffset).getUint32(0, true);
/** A kernel that refuses the message tagged 2 with EEXIST ("it exists") and acks the rest as asked. */
export const refuseTag2 = (m: SentMessage, f: FakeSocket): void => {
  if (tagOf(m) === 2) f.reply(errorMessage(m.seq, 17, 'it exists'));
  else defaultRespond(m, f);
};
