/**
 * The public data types: what callers pass in and what listings return.
 * Ports are host numbers here; byte order is the codec's business.
 */

export type Protocol = 'tcp' | 'udp' | 'sctp';
export type AddressFamily = 'inet' | 'inet6';

/** The kernel's scheduler names; any other name is passed to the kernel as is. */
export type Scheduler =
  | 'rr' | 'wrr' | 'lc' | 'wlc' | 'lblc' | 'lblcr' | 'dh' | 'sh' | 'sed' | 'nq' | 'fo' | 'ovf' | 'mh'
  | (string & {});

/**
 * Scheduler flags (IP_VS_SVC_F_SCHED1..3). sh-* and mh-* are the names the
 * sh and mh schedulers give flags 1 and 2; flag-N is the raw flag.
 */
export type SchedulerFlag = 'sh-fallback' | 'sh-port' | 'mh-fallback' | 'mh-port' | 'flag-1' | 'flag-2' | 'flag-3';

/** How packets reach a real server (ipvsadm -m, -g, -i, and the kernel's two others). */
export type Forwarding = 'masq' | 'route' | 'tunnel' | 'local' | 'bypass';

export type TunnelKind = 'ipip' | 'gue' | 'gre';
export type TunnelChecksum = 'none' | 'csum' | 'remcsum';

/** Tunnel settings of a destination with forwarding 'tunnel' (Linux 5.2+ for gue/gre). */
export interface TunnelSettings {
  type: TunnelKind;
  /** UDP port of the GUE tunnel (required for gue). */
  port?: number;
  /** Checksum mode of GUE/GRE encapsulation. Default 'none'. */
  checksum?: TunnelChecksum;
}

/** A virtual service identified by protocol, address and port. */
export interface AddressServiceKey {
  protocol: Protocol;
  /** IPv4 or IPv6 address; it decides the family. */
  address: string;
  /** 0 to 65535. */
  port: number;
}

/** A virtual service identified by firewall mark. */
export interface FwmarkServiceKey {
  /** 1 to 2^32-1. */
  fwmark: number;
  /** Family of the marked packets. Default 'inet'. */
  family?: AddressFamily;
}

/** Identifies a virtual service. */
export type ServiceKey = AddressServiceKey | FwmarkServiceKey;

/** Settings of a virtual service (ipvsadm -s, -p, -M, -b, -o, --pe). */
export interface ServiceOptions {
  /** Default 'wlc' (as ipvsadm). */
  scheduler?: Scheduler;
  schedulerFlags?: SchedulerFlag[];
  /**
   * Persistence: a timeout in seconds, `true` for ipvsadm's default (360 s),
   * or `false`/0 for none.
   */
  persistent?: number | boolean;
  /**
   * Persistence granularity: a dotted netmask or prefix length for IPv4
   * (default 255.255.255.255), a prefix length for IPv6 (default 128).
   */
  netmask?: string | number;
  /** One-packet scheduling (ipvsadm -o), for UDP. */
  onePacket?: boolean;
  /** Persistence engine, e.g. 'sip' (ipvsadm --pe). */
  pe?: string;
}

export type ServiceSpec = ServiceKey & ServiceOptions;

/** Traffic counters (exact 64-bit) and the kernel's rate estimates (per second). */
export interface Stats {
  connections: bigint;
  packetsIn: bigint;
  packetsOut: bigint;
  bytesIn: bigint;
  bytesOut: bigint;
  /** Connections per second. */
  cps: bigint;
  packetsInPerSecond: bigint;
  packetsOutPerSecond: bigint;
  bytesInPerSecond: bigint;
  bytesOutPerSecond: bigint;
}

/** A virtual service as the kernel reports it. */
export interface Service {
  family: AddressFamily;
  /** Absent for firewall-mark services. */
  protocol?: Protocol;
  address?: string;
  port?: number;
  fwmark?: number;
  scheduler: string;
  schedulerFlags: SchedulerFlag[];
  /** Persistence timeout in seconds, when the service is persistent. */
  persistent?: number;
  /** Persistence netmask: dotted quad for inet, prefix length for inet6. */
  netmask: string | number;
  onePacket: boolean;
  /** Persistence engine name, when one is set. */
  pe?: string;
  /** Raw IP_VS_SVC_F_* flags, including the kernel's internal 'hashed' bit (0x2). */
  flags: number;
  /** Raw persistence timeout in seconds (kept by the kernel even when not persistent). */
  timeout: number;
  stats: Stats;
  /** The real servers, when listed with `withDestinations`. */
  destinations?: Destination[];
}

/** A real server to add or change (ipvsadm -a/-e with -r, -g/-i/-m, -w, -x, -y). */
export interface DestinationSpec {
  /** IPv4 or IPv6; may differ from the service's family where the kernel allows (tunnel). */
  address: string;
  /** Default: the service's port (0 for firewall-mark services). */
  port?: number;
  /** Default 'route' (as ipvsadm). */
  forwarding?: Forwarding;
  /** 0 to 2^31-1; 0 stops new connections. Default 1. */
  weight?: number;
  /** Upper connection threshold, 0 for none. Default 0. */
  upperThreshold?: number;
  /** Lower connection threshold, 0 for none. Default 0. */
  lowerThreshold?: number;
  tunnel?: TunnelSettings;
}

/** Identifies a real server within a service. */
export interface DestinationKey {
  address: string;
  port?: number;
}

/** A real server as the kernel reports it. */
export interface Destination {
  family: AddressFamily;
  address: string;
  port: number;
  forwarding: Forwarding;
  weight: number;
  upperThreshold: number;
  lowerThreshold: number;
  /** Present for tunnel destinations when the kernel reports tunnel settings. */
  tunnel?: TunnelSettings;
  activeConnections: number;
  inactiveConnections: number;
  persistentConnections: number;
  stats: Stats;
}

/** Connection timeouts in seconds (ipvsadm --set); 0 leaves one unchanged when setting. */
export interface Timeouts {
  tcp: number;
  tcpFin: number;
  udp: number;
}

/** General IPVS facts (ipvsadm's header line). */
export interface Info {
  /** e.g. '1.2.1' */
  version: string;
  /** The raw version code, e.g. 0x010201. */
  versionCode: number;
  /** Size of the connection hash table. */
  connectionTableSize: number;
}

export type DaemonStateName = 'master' | 'backup';

/** A connection synchronisation daemon (ipvsadm --start-daemon). */
export interface DaemonSpec {
  state: DaemonStateName;
  /** Multicast interface name. */
  interface: string;
  /** Sync ID, 0 to 255. Default 0. */
  syncId?: number;
  /** Maximum sync message payload in bytes. */
  syncMaxLen?: number;
  /** Multicast group (IPv4 or IPv6). */
  mcastGroup?: string;
  /** Multicast UDP port. */
  mcastPort?: number;
  /** Multicast TTL, 1 to 255. */
  mcastTtl?: number;
}

export interface Daemon {
  state: DaemonStateName;
  interface: string;
  syncId: number;
  syncMaxLen?: number;
  mcastGroup?: string;
  mcastPort?: number;
  mcastTtl?: number;
}
