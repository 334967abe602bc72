/**
 * One function per IPVS command: validate the input, encode the message and
 * say how to word a refusal. The client and batches both send these, so a
 * batch does exactly what the single calls do.
 */
import { encodeGenl } from '../genetlink/genl.js';
import type { AttributeEncoder } from '../netlink/attributes.js';
import type { Request } from '../netlink/connection.js';
import { encodeDaemon, encodeDestination, encodeDestinationKey, encodeService, encodeServiceKey, encodeTimeouts } from './codec.js';
import { Cmd, IPVS_GENL_VERSION } from './constants.js';
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

function make(family: number, cmd: number, operation: string, subject: Subject, attrs?: (e: AttributeEncoder) => void, dump = false): Request {
  return {
    message: encodeGenl(family, cmd, IPVS_GENL_VERSION, dump, attrs),
    dump,
    operation,
    describe: (status, seq) => describeStatus(operation, status, seq, subject),
  };
}

export function addService(family: number, spec: ServiceSpec, op = 'addService'): Request {
  const s = checkService(op, spec);
  return make(family, Cmd.NEW_SERVICE, op, { service: s.label, scheduler: s.scheduler, ...(s.pe ? { pe: s.pe } : {}) }, (e) => encodeService(e, s));
}

export function updateService(family: number, spec: ServiceSpec, op = 'updateService'): Request {
  const s = checkService(op, spec);
  return make(family, Cmd.SET_SERVICE, op, { service: s.label, scheduler: s.scheduler, ...(s.pe ? { pe: s.pe } : {}) }, (e) => encodeService(e, s));
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

export function listDestinations(family: number, key: ServiceKeyWire, op = 'listDestinations'): Request {
  return make(family, Cmd.GET_DEST, op, { service: key.label }, (e) => encodeServiceKey(e, key), true);
}

export function addDestination(family: number, key: ServiceKey, dest: DestinationSpec, op = 'addDestination'): Request {
  const k = checkServiceKey(op, key);
  const d = checkDestination(op, k, dest);
  return make(family, Cmd.NEW_DEST, op, { service: k.label, destination: d.label, mixedFamily: d.af !== k.af }, (e) => {
    encodeServiceKey(e, k);
    encodeDestination(e, d);
  });
}

export function updateDestination(family: number, key: ServiceKey, dest: DestinationSpec, op = 'updateDestination'): Request {
  const k = checkServiceKey(op, key);
  const d = checkDestination(op, k, dest);
  return make(family, Cmd.SET_DEST, op, { service: k.label, destination: d.label, mixedFamily: d.af !== k.af }, (e) => {
    encodeServiceKey(e, k);
    encodeDestination(e, d);
  });
}

export function deleteDestination(family: number, key: ServiceKey, dest: DestinationKey, op = 'deleteDestination'): Request {
  const k = checkServiceKey(op, key);
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
  checkTimeouts(op, t);
  return make(family, Cmd.SET_CONFIG, op, {}, (e) => encodeTimeouts(e, t));
}

export function info(family: number, op = 'info'): Request {
  return make(family, Cmd.GET_INFO, op, {});
}

export function listDaemons(family: number, op = 'listDaemons'): Request {
  return make(family, Cmd.GET_DAEMON, op, {}, undefined, true);
}

export function startDaemon(family: number, spec: DaemonSpec, op = 'startDaemon'): Request {
  const d = checkDaemon(op, spec);
  return make(family, Cmd.NEW_DAEMON, op, { daemon: spec.state }, (e) => encodeDaemon(e, d));
}

export function stopDaemon(family: number, state: DaemonStateName, op = 'stopDaemon'): Request {
  const s = checkDaemonState(op, state);
  return make(family, Cmd.DEL_DAEMON, op, { daemon: state }, (e) => encodeDaemon(e, { state: s }));
}
