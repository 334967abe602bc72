/**
 * One function per IPVS command, the general path: validate the input, keep
 * how to encode the message and how to word a refusal. The client and
 * batches both send these (through changes.ts for changes), so a batch does
 * exactly what the single calls do.
 */
import type { IpvsError } from '../errors.js';
import { encodeGenl, writeGenl } from '../genetlink/genl.js';
import type { AttributeEncoder, ByteWriter } from '../netlink/attributes.js';
import type { NetlinkStatus } from '../netlink/message.js';
import type { Request } from '../netlink/request.js';
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

/**
 * A validated IPVS request. It keeps the validated input and writes its
 * message straight into the send buffer when sent (`encode`); `message`
 * encodes it on its own, for tests and debugging.
 */
class IpvsRequest implements Request {
  readonly replyless: boolean;
  /** DEL_DAEMON answers nothing when the thread it stops had not run yet (see Request). */
  readonly mayGoUnanswered: boolean;
  /** See Request.onReply (set by whoever streams a dump). */
  onReply?: Request['onReply'];
  constructor(
    private readonly family: number,
    private readonly cmd: number,
    readonly operation: string,
    private readonly subject: Subject,
    private readonly attrs: ((e: AttributeEncoder) => void) | undefined,
    readonly dump: boolean,
  ) {
    this.replyless = !dump && REPLYLESS.has(cmd);
    this.mayGoUnanswered = cmd === Cmd.DEL_DAEMON;
  }
  get message(): Uint8Array {
    return encodeGenl(this.family, this.cmd, IPVS_GENL_VERSION, this.dump, this.attrs);
  }
  encode(w: ByteWriter): void {
    writeGenl(w, this.family, this.cmd, IPVS_GENL_VERSION, this.dump, this.attrs);
  }
  describe(status: NetlinkStatus, seq: number): IpvsError {
    return describeStatus(this.operation, status, seq, this.subject);
  }
}

function make(family: number, cmd: number, operation: string, subject: Subject, attrs?: (e: AttributeEncoder) => void, dump = false): Request {
  return new IpvsRequest(family, cmd, operation, subject, attrs, dump);
}

/** The subject of a change to a service, for error wording. */
export function serviceSubject(s: { label: string; scheduler: string; pe?: string }): Subject {
  const subject: Subject = { service: s.label, scheduler: s.scheduler };
  if (s.pe) subject.pe = s.pe;
  return subject;
}

/** The subject of a change to a real server (a full one says whether the families differ). */
export function destinationSubject(k: ServiceKeyWire, d: { label: string; af: number; fwd?: number }): Subject {
  return d.fwd === undefined ? { service: k.label, destination: d.label } : { service: k.label, destination: d.label, mixedFamily: d.af !== k.af };
}

export function addService(family: number, spec: ServiceSpec, op = 'addService'): Request {
  const s = checkService(op, spec);
  return make(family, Cmd.NEW_SERVICE, op, serviceSubject(s), (e) => encodeService(e, s));
}

export function updateService(family: number, spec: ServiceSpec, op = 'updateService'): Request {
  const s = checkService(op, spec);
  return make(family, Cmd.SET_SERVICE, op, serviceSubject(s), (e) => encodeService(e, s));
}

export function deleteService(family: number, key: ServiceKey, op = 'deleteService'): Request {
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

/** The destination dump of a service given as a key (listings take the fast writer first: see listing.ts). */
export function listDestinationsOf(family: number, key: ServiceKey, op = 'listDestinations'): Request {
  return listDestinations(family, checkServiceKey(op, key), op);
}

export function listDestinations(family: number, key: ServiceKeyWire, op = 'listDestinations'): Request {
  return make(family, Cmd.GET_DEST, op, { service: key.label }, (e) => encodeServiceKey(e, key), true);
}

/** `keyWire`: the service key already validated (a batch validates each service once). */
export function addDestination(family: number, key: ServiceKey, dest: DestinationSpec, op = 'addDestination', keyWire?: ServiceKeyWire): Request {
  const k = keyWire ?? checkServiceKey(op, key);
  const d = checkDestination(op, k, dest);
  return make(family, Cmd.NEW_DEST, op, destinationSubject(k, d), (e) => {
    encodeServiceKey(e, k);
    encodeDestination(e, d);
  });
}

export function updateDestination(family: number, key: ServiceKey, dest: DestinationSpec, op = 'updateDestination', keyWire?: ServiceKeyWire): Request {
  const k = keyWire ?? checkServiceKey(op, key);
  const d = checkDestination(op, k, dest);
  return make(family, Cmd.SET_DEST, op, destinationSubject(k, d), (e) => {
    encodeServiceKey(e, k);
    encodeDestination(e, d);
  });
}

export function deleteDestination(family: number, key: ServiceKey, dest: DestinationKey, op = 'deleteDestination', keyWire?: ServiceKeyWire): Request {
  const k = keyWire ?? checkServiceKey(op, key);
  const d = checkDestinationKey(op, k, dest);
  return make(family, Cmd.DEL_DEST, op, destinationSubject(k, d), (e) => {
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
