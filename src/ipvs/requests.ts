/**
 * One function per IPVS command: validate the input, encode the message and
 * say how to word a refusal. The client and batches both send these, so a
 * batch does exactly what the single calls do.
 */
import type { IpvsError } from '../errors.js';
import { writeGenl } from '../genetlink/genl.js';
import { Arena, type Packed, copyPacked } from '../netlink/arena.js';
import type { AttributeEncoder, ByteWriter } from '../netlink/attributes.js';
import { type Request, type StagedKind, kernelError } from '../netlink/connection.js';
import { NLM_F_ACK, NLM_F_REQUEST } from '../netlink/constants.js';
import { writeAddDestination, writeAddService, writeDeleteDestination, writeDeleteService, writeDumpDestinations } from './fast.js';
import type { NetlinkStatus } from '../netlink/message.js';
import { encodeDaemon, encodeDestination, encodeDestinationKey, encodeService, encodeServiceKey, encodeTimeouts } from './codec.js';
import { Cmd, DaemonState, IPVS_GENL_VERSION } from './constants.js';
import { type Subject, describeStatus } from './describe.js';
import type { DaemonSpec, DaemonStateName, DestinationKey, DestinationSpec, ServiceKey, ServiceSpec, Timeouts } from './types.js';
import {
  type ServiceKeyWire,
  checkDaemon,
  checkDaemonState,
  checkDestination,
  checkDestinationKey,
  checkService,
  checkServiceKey,
  checkTimeouts,
} from './validate.js';

/** Commands the kernel answers with nothing but an ack (changes, not reads). */
const REPLYLESS = new Set<number>([
  Cmd.NEW_SERVICE, Cmd.SET_SERVICE, Cmd.DEL_SERVICE, Cmd.NEW_DEST, Cmd.SET_DEST, Cmd.DEL_DEST,
  Cmd.NEW_DAEMON, Cmd.DEL_DAEMON, Cmd.SET_CONFIG, Cmd.FLUSH, Cmd.ZERO,
]);

/** Where requests encode their messages (see Arena). */
const arena = new Arena();
const ACKED = NLM_F_REQUEST | NLM_F_ACK;

/** A request whose message is already packed in the arena: its bytes, on demand or into the send buffer. */
abstract class PackedRequest {
  /** See Request.onReply (set by whoever streams a dump). */
  onReply?: Request['onReply'];
  constructor(protected readonly packed: Packed) {}
  get message(): Uint8Array {
    const p = this.packed;
    return p.buf.subarray(p.at, p.at + p.len);
  }
  encode(w: ByteWriter): void {
    copyPacked(w, this.packed);
  }
}

/**
 * A validated IPVS request, encoded when made (into the shared arena) so
 * that it holds only its bytes and what error messages need.
 */
class IpvsRequest extends PackedRequest implements Request {
  readonly replyless: boolean;
  /** DEL_DAEMON answers nothing when the thread it stops had not run yet (see Request). */
  readonly mayGoUnanswered: boolean;
  constructor(
    family: number,
    cmd: number,
    readonly operation: string,
    private readonly subject: Subject,
    attrs: ((e: AttributeEncoder) => void) | undefined,
    readonly dump: boolean,
  ) {
    super(arena.pack((w) => writeGenl(w, family, cmd, IPVS_GENL_VERSION, dump, attrs)));
    this.replyless = !dump && REPLYLESS.has(cmd);
    this.mayGoUnanswered = cmd === Cmd.DEL_DAEMON;
  }
  describe(status: NetlinkStatus, seq: number): IpvsError {
    return describeStatus(this.operation, status, seq, this.subject);
  }
}

/**
 * A change the fast lane encoded (see fast.ts): the same bytes, without
 * building the validated objects. A refusal is worded by the general path,
 * run then (only then) on the same input.
 */
class FastRequest extends PackedRequest implements Request {
  readonly replyless: boolean;
  constructor(
    readonly operation: string,
    packed: Packed,
    /** The general path and its input (kept for wording a refusal). */
    private readonly general: (family: number, a: never, b: never, op: string) => Request,
    private readonly family: number,
    private readonly a: unknown,
    private readonly b: unknown,
    readonly dump = false,
  ) {
    super(packed);
    this.replyless = !dump;
  }
  describe(status: NetlinkStatus, seq: number): IpvsError {
    return explainFast(this.general, this.family, this.a, this.b, this.operation, status, seq);
  }
}

type General = (family: number, a: never, b: never, op: string) => Request;

/** Words a refusal of a fast-lane change: the general path, run now on the same input. */
function explainFast(general: General, family: number, a: unknown, b: unknown, op: string, status: NetlinkStatus, seq: number): IpvsError {
  try {
    const r = general(family, a as never, b as never, op);
    if (r.describe) return r.describe(status, seq);
  } catch {
    // (the input changed since: word it plainly)
  }
  return kernelError(status, op, seq);
}

/** The changes the fast lane (fast.ts) can stage (see Connection.requestStaged). */
export type StagedOperation = 'addService' | 'deleteService' | 'addDestination' | 'deleteDestination';

/**
 * Staged changes of one IPVS family id: the fast lane encodes the message
 * when called, without an ack flag; a refusal is worded through the general
 * path, only when there is one.
 */
export function stagedKinds(family: number): Readonly<Record<StagedOperation, StagedKind>> {
  const kind = (operation: StagedOperation, general: General): StagedKind => ({
    operation,
    explain: (status, seq, a, b) => explainFast(general, family, a, b, operation, status, seq),
  });
  return {
    addService: kind('addService', addServiceGeneral),
    deleteService: kind('deleteService', deleteServiceGeneral),
    addDestination: kind('addDestination', addDestinationGeneral),
    deleteDestination: kind('deleteDestination', deleteDestinationGeneral),
  };
}

/**
 * Packs a fast-lane message (with NLM_F_ACK, like every other request);
 * undefined when the lane declines, a throw included (a getter that throws,
 * say: the general path words it).
 */
function packFast(write: (w: ByteWriter) => boolean): Packed | undefined {
  let wrote = false;
  const p = arena.pack((w) => {
    const at = w.length;
    try {
      wrote = write(w);
    } catch {
      wrote = false;
    }
    if (!wrote) w.length = at;
  });
  return wrote ? p : undefined;
}

function make(family: number, cmd: number, operation: string, subject: Subject, attrs?: (e: AttributeEncoder) => void, dump = false): Request {
  return new IpvsRequest(family, cmd, operation, subject, attrs, dump);
}

/** The subject of a change to a service, for error wording. */
function serviceSubject(s: { label: string; scheduler: string; pe?: string }): Subject {
  const subject: Subject = { service: s.label, scheduler: s.scheduler };
  if (s.pe) subject.pe = s.pe;
  return subject;
}

export function addService(family: number, spec: ServiceSpec, op = 'addService'): Request {
  const fast = packFast((w) => writeAddService(w, family, spec, ACKED));
  if (fast) return new FastRequest(op, fast, addServiceGeneral, family, spec, undefined);
  return addServiceGeneral(family, spec, undefined, op);
}

function addServiceGeneral(family: number, spec: ServiceSpec, _unused: unknown, op: string): Request {
  const s = checkService(op, spec);
  return make(family, Cmd.NEW_SERVICE, op, serviceSubject(s), (e) => encodeService(e, s));
}

export function updateService(family: number, spec: ServiceSpec, op = 'updateService'): Request {
  const s = checkService(op, spec);
  return make(family, Cmd.SET_SERVICE, op, serviceSubject(s), (e) => encodeService(e, s));
}

export function deleteService(family: number, key: ServiceKey, op = 'deleteService'): Request {
  const fast = packFast((w) => writeDeleteService(w, family, key, ACKED));
  if (fast) return new FastRequest(op, fast, deleteServiceGeneral, family, key, undefined);
  return deleteServiceGeneral(family, key, undefined, op);
}

function deleteServiceGeneral(family: number, key: ServiceKey, _unused: unknown, op: string): Request {
  const k = checkServiceKey(op, key);
  return make(family, Cmd.DEL_SERVICE, op, { service: k.label }, (e) => encodeServiceKey(e, k));
}

export function getService(family: number, key: ServiceKey, op = 'getService'): Request {
  const k = checkServiceKey(op, key);
  return make(family, Cmd.GET_SERVICE, op, { service: k.label }, (e) => encodeServiceKey(e, k));
}

export function listServices(family: number, op = 'listServices'): Request {
  return make(family, Cmd.GET_SERVICE, op, {}, undefined, true);
}

/** The destination dump of a service given as a key (listings: one per service, so the fast lane where it can). */
export function listDestinationsOf(family: number, key: ServiceKey, op = 'listDestinations'): Request {
  const fast = packFast((w) => writeDumpDestinations(w, family, key));
  if (fast) return new FastRequest(op, fast, listDestinationsGeneral, family, key, undefined, true);
  return listDestinationsGeneral(family, key, undefined, op);
}

function listDestinationsGeneral(family: number, key: ServiceKey, _unused: unknown, op: string): Request {
  return listDestinations(family, checkServiceKey(op, key), op);
}

export function listDestinations(family: number, key: ServiceKeyWire, op = 'listDestinations'): Request {
  return make(family, Cmd.GET_DEST, op, { service: key.label }, (e) => encodeServiceKey(e, key), true);
}

/** `keyWire`: the service key already validated (a batch validates each service once). */
export function addDestination(family: number, key: ServiceKey, dest: DestinationSpec, op = 'addDestination', keyWire?: ServiceKeyWire): Request {
  const fast = packFast((w) => writeAddDestination(w, family, key, dest, ACKED));
  if (fast) return new FastRequest(op, fast, addDestinationGeneral, family, key, dest);
  return addDestinationGeneral(family, key, dest, op, keyWire);
}

function addDestinationGeneral(family: number, key: ServiceKey, dest: DestinationSpec, op: string, keyWire?: ServiceKeyWire): Request {
  const k = keyWire ?? checkServiceKey(op, key);
  const d = checkDestination(op, k, dest);
  return make(family, Cmd.NEW_DEST, op, { service: k.label, destination: d.label, mixedFamily: d.af !== k.af }, (e) => {
    encodeServiceKey(e, k);
    encodeDestination(e, d);
  });
}

export function updateDestination(family: number, key: ServiceKey, dest: DestinationSpec, op = 'updateDestination', keyWire?: ServiceKeyWire): Request {
  const k = keyWire ?? checkServiceKey(op, key);
  const d = checkDestination(op, k, dest);
  return make(family, Cmd.SET_DEST, op, { service: k.label, destination: d.label, mixedFamily: d.af !== k.af }, (e) => {
    encodeServiceKey(e, k);
    encodeDestination(e, d);
  });
}

export function deleteDestination(family: number, key: ServiceKey, dest: DestinationKey, op = 'deleteDestination', keyWire?: ServiceKeyWire): Request {
  const fast = packFast((w) => writeDeleteDestination(w, family, key, dest, ACKED));
  if (fast) return new FastRequest(op, fast, deleteDestinationGeneral, family, key, dest);
  return deleteDestinationGeneral(family, key, dest, op, keyWire);
}

function deleteDestinationGeneral(family: number, key: ServiceKey, dest: DestinationKey, op: string, keyWire?: ServiceKeyWire): Request {
  const k = keyWire ?? checkServiceKey(op, key);
  const d = checkDestinationKey(op, k, dest);
  return make(family, Cmd.DEL_DEST, op, { service: k.label, destination: d.label }, (e) => {
    encodeServiceKey(e, k);
    encodeDestinationKey(e, d);
  });
}

export function flush(family: number, op = 'flush'): Request {
  return make(family, Cmd.FLUSH, op, {});
}

export function zero(family: number, key?: ServiceKey, op = 'zero'): Request {
  if (key === undefined) return make(family, Cmd.ZERO, op, {});
  const k = checkServiceKey(op, key);
  return make(family, Cmd.ZERO, op, { service: k.label }, (e) => encodeServiceKey(e, k));
}

export function getTimeouts(family: number, op = 'getTimeouts'): Request {
  return make(family, Cmd.GET_CONFIG, op, {});
}

export function setTimeouts(family: number, t: Partial<Timeouts>, op = 'setTimeouts'): Request {
  // A copy: the message is encoded when sent, after the caller may have moved on.
  const copy = checkTimeouts(op, t);
  return make(family, Cmd.SET_CONFIG, op, {}, (e) => encodeTimeouts(e, copy));
}

export function info(family: number, op = 'info'): Request {
  return make(family, Cmd.GET_INFO, op, {});
}

export function listDaemons(family: number, op = 'listDaemons'): Request {
  return make(family, Cmd.GET_DAEMON, op, {}, undefined, true);
}

export function startDaemon(family: number, spec: DaemonSpec, op = 'startDaemon'): Request {
  const d = checkDaemon(op, spec);
  return make(family, Cmd.NEW_DAEMON, op, { daemon: d.state === DaemonState.MASTER ? 'master' : 'backup' }, (e) => encodeDaemon(e, d));
}

export function stopDaemon(family: number, state: DaemonStateName, op = 'stopDaemon'): Request {
  const s = checkDaemonState(op, state);
  return make(family, Cmd.DEL_DAEMON, op, { daemon: state }, (e) => encodeDaemon(e, { state: s }));
}
