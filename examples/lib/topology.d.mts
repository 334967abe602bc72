/** Types of topology.mjs, for the TypeScript tests that share it. */

export interface TopologyOptions {
  /** How many backend namespaces. Default 2. */
  backends?: number;
  /** Addresses put on the director's dummy interface lb0. Default ['10.0.0.10']. */
  vips?: string[];
  /** TCP ports each backend answers HTTP on. Default [80]. */
  tcpPorts?: number[];
  /** UDP ports each backend echoes on. Default none. */
  udpPorts?: number[];
  /** How many client addresses (10.1.0.2 up). Default 1. */
  clientAddresses?: number;
  /** Backends reply to the client over a link of their own, around the director (DR, tunnel). */
  directReturn?: boolean;
  /** Namespace name prefix. Default 'ipvs'. */
  prefix?: string;
  /** Backends are named backendName-1, -2... and answer with that name. Default 'backend'. */
  backendName?: string;
}

export interface Backend {
  /** 'backend-1'... (see backendName); also what it answers with. */
  name: string;
  netns: string;
  address: string;
  /** The director's address on this backend's link. */
  gateway: string;
  returnAddress?: string;
}

export interface RequestOptions {
  /** Default: the first VIP. */
  host?: string;
  /** Default: the first TCP port (UDP port for udp()). */
  port?: number;
  /** How many requests. Default 1. */
  count?: number;
  /** How many at a time. Default 1 (sequential). */
  concurrency?: number;
  /** Client source address (one of client.addresses). */
  localAddress?: string;
  timeoutMs?: number;
  /** UDP payload. Default 'ping'. */
  payload?: string;
}

export interface RequestResult {
  backend?: string;
  /** The port the backend answered on (HTTP). */
  port?: number;
  /** The client address the backend saw (HTTP). */
  client?: string;
  /** What came back after the backend's name (UDP). */
  echo?: string;
  error?: string;
}

export interface Summary {
  /** Backend name per request, in order; null where it failed. */
  replies: (string | null)[];
  results: RequestResult[];
  /** Replies per backend; every backend listed. */
  counts: Record<string, number>;
  failures: number;
  /** Failures per error code. */
  errors: Record<string, number>;
}

export interface Topology {
  id: string;
  /** The first VIP. */
  vip: string;
  client: { netns: string; address: string; addresses: string[] };
  director: { netns: string; address: string; vips: string[] };
  backends: Backend[];
  namespaces: string[];
  /** Runs a command inside a namespace; resolves to stdout. */
  exec(netns: string, cmd: string, args?: string[], input?: string): Promise<string>;
  /** HTTP GETs from the client namespace, each on a new connection. */
  request(o?: RequestOptions): Promise<Summary>;
  /** UDP exchanges from the client namespace, each from a new socket. */
  udp(o?: RequestOptions): Promise<Summary>;
  /** Opens TCP connections from the client and keeps them until release(). */
  hold(o?: Pick<RequestOptions, 'host' | 'port' | 'count' | 'localAddress'>): Promise<{ held: number }>;
  release(): Promise<{ held: number }>;
  /** VIP on the backends' loopback, arp_ignore=1 and arp_announce=2. */
  setupDirectRouting(o?: { vip?: string }): Promise<void>;
  /** Backends decapsulate IPVS tunnel traffic of this kind. */
  setupTunnel(kind: 'ipip' | 'gue' | 'gre', o?: { vip?: string; port?: number }): Promise<void>;
  /** Stops every process and deletes every namespace; safe to call twice. */
  destroy(): Promise<void>;
  destroySync(): void;
}

export function createTopology(opts?: TopologyOptions): Promise<Topology>;

/** Runs a command; resolves to its stdout, rejects with its stderr. */
export function run(cmd: string, args: string[], input?: string): Promise<string>;
