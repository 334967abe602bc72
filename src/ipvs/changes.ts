/**
 * The table of changes: for each operation that changes IPVS, its fast
 * writer (fast.ts: the common cases straight into a send buffer, or a
 * decline), its general builder (requests.ts: validate, then encode), and
 * the subject a refusal is worded from. The client, the batch and the
 * staged feed all read this one table, so an operation is dispatched in
 * one place, the fast lane is tried once (declined: the general builder),
 * and a refusal of a written change is worded without encoding anything.
 */
import { kernelError, type IpvsError } from '../errors.js';
import type { ByteWriter } from '../netlink/attributes.js';
import type { NetlinkStatus } from '../netlink/message.js';
import type { Request } from '../netlink/request.js';
import { type Subject, describeStatus } from './describe.js';
import { writeAddDestination, writeAddService, writeDeleteDestination, writeDeleteService } from './fast.js';
import * as req from './requests.js';
import type { DestinationKey, DestinationSpec, ServiceKey, ServiceSpec, Timeouts } from './types.js';
import { type ServiceKeyWire, checkDestination, checkDestinationKey, checkService, checkServiceKey } from './validate.js';

/** The operations of the table. */
export type ChangeName =
  | 'addService'
  | 'updateService'
  | 'deleteService'
  | 'addDestination'
  | 'updateDestination'
  | 'deleteDestination'
  | 'zero'
  | 'flush'
  | 'setTimeouts';

/** One operation; `a` and `b` are its arguments as the caller gave them (a service, then a real server). */
export interface Change {
  readonly operation: ChangeName;
  /**
   * Writes the message (NLM_F_REQUEST, no ack) and returns true, or writes
   * nothing and returns false for anything it does not handle, including
   * every input the general builder refuses. Absent: always declines.
   */
  readonly fast?: (w: ByteWriter, family: number, a: unknown, b: unknown) => boolean;
  /** The general path: validates (throws the input error) and returns the request. `key`: the service key, already validated. */
  build(family: number, a: unknown, b: unknown, key?: ServiceKeyWire): Request;
  /** The error for a kernel refusal of this change, worded from its arguments (validated again, not encoded). */
  explain(status: NetlinkStatus, seq: number, a: unknown, b: unknown): IpvsError;
}

type Sub = (a: unknown, b: unknown) => Subject;

function change(
  operation: ChangeName,
  build: Change['build'],
  subject: Sub,
  fast?: Change['fast'],
): Change {
  return {
    operation,
    build,
    explain(status, seq, a, b) {
      let s: Subject;
      try {
        s = subject(a, b);
      } catch {
        return kernelError(status, operation, seq); // (the input changed since it was sent: word it plainly)
      }
      return describeStatus(operation, status, seq, s);
    },
    ...(fast ? { fast } : {}),
  };
}

const serviceSubject = (op: string): Sub => (a) => req.serviceSubject(checkService(op, a as ServiceSpec));
const keySubject = (op: string): Sub => (a) => (a === undefined ? {} : { service: checkServiceKey(op, a as ServiceKey).label });
const destinationSubject = (op: string): Sub => (a, b) => {
  const k = checkServiceKey(op, a as ServiceKey);
  return req.destinationSubject(k, checkDestination(op, k, b as DestinationSpec));
};
const destinationKeySubject = (op: string): Sub => (a, b) => {
  const k = checkServiceKey(op, a as ServiceKey);
  return req.destinationSubject(k, checkDestinationKey(op, k, b as DestinationKey));
};

export const CHANGES: Readonly<Record<ChangeName, Change>> = {
  addService: change(
    'addService',
    (f, a) => req.addService(f, a as ServiceSpec),
    serviceSubject('addService'),
    (w, f, a) => writeAddService(w, f, a as ServiceSpec),
  ),
  updateService: change('updateService', (f, a) => req.updateService(f, a as ServiceSpec), serviceSubject('updateService')),
  deleteService: change(
    'deleteService',
    (f, a) => req.deleteService(f, a as ServiceKey),
    keySubject('deleteService'),
    (w, f, a) => writeDeleteService(w, f, a as ServiceKey),
  ),
  addDestination: change(
    'addDestination',
    (f, a, b, key) => req.addDestination(f, a as ServiceKey, b as DestinationSpec, 'addDestination', key),
    destinationSubject('addDestination'),
    (w, f, a, b) => writeAddDestination(w, f, a as ServiceKey, b as DestinationSpec),
  ),
  updateDestination: change(
    'updateDestination',
    (f, a, b, key) => req.updateDestination(f, a as ServiceKey, b as DestinationSpec, 'updateDestination', key),
    destinationSubject('updateDestination'),
  ),
  deleteDestination: change(
    'deleteDestination',
    (f, a, b, key) => req.deleteDestination(f, a as ServiceKey, b as DestinationKey, 'deleteDestination', key),
    destinationKeySubject('deleteDestination'),
    (w, f, a, b) => writeDeleteDestination(w, f, a as ServiceKey, b as DestinationKey),
  ),
  zero: change('zero', (f, a) => req.zero(f, a as ServiceKey | undefined), keySubject('zero')),
  flush: change('flush', (f) => req.flush(f), () => ({})),
  setTimeouts: change('setTimeouts', (f, a) => req.setTimeouts(f, a as Partial<Timeouts>), () => ({})),
};

/**
 * Writes a change through its fast writer if it has one and the writer
 * takes the input; else writes nothing and returns false (a getter that
 * throws, say, is left for the general builder to report).
 */
export function writeFast(w: ByteWriter, family: number, c: Change, a: unknown, b: unknown): boolean {
  if (!c.fast) return false;
  const start = w.length;
  try {
    if (c.fast(w, family, a, b)) return true;
  } catch {
    // (reported by the general path)
  }
  w.length = start;
  return false;
}
