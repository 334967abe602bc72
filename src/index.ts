/**
 * ipvs: program Linux IPVS over generic netlink.
 *
 *   const ipvs = await Ipvs.open();
 *   await ipvs.addService({ protocol: 'tcp', address: '10.0.0.1', port: 80, scheduler: 'rr' });
 */
export { IpvsClient, keyOf, netnsPath, type OpenOptions, type ListOptions } from './client.js';
export { Ipvs } from './handle.js';
export { Reconciler, snapshot, plan, apply, StateError, parseStateText, loadStateFile, stateToYaml, stateToJson, formatPlan, formatChange, type StateProblem, type StateClient, type DrainTrackerOptions } from './state/index.js';
export type * from './state/types.js';
// (a batch is made by ipvs.batch(); the class is not for constructing)
export type { Batch, BatchOptions, BatchResult } from './batch.js';
export type { NativeBinding } from './native.js';
export { IpvsError, type IpvsErrorKind, type IpvsErrorDetails } from './errors.js';
export type * from './ipvs/types.js';
export * from './metrics/index.js';
export { listConnections, parseConnections, type IpvsConnection, type Endpoint, type ListConnectionsOptions } from './procfs/connections.js';
export { getSysctls, setSysctls, encodeSysctls, SYSCTL_NAMES, type IpvsSysctls, type SysctlName, type SyncThreshold } from './procfs/sysctls.js';
export { type NamespaceFileOptions } from './procfs/files.js';
