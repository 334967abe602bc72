/**
 * The agent's model: services and real servers as `apply` takes them, plus
 * health checks and what to do on failure. Times are in seconds (fractions
 * allowed), as in the agent file.
 */
import type { DestinationSpec, ServiceKey, ServiceOptions } from '../ipvs/types.js';

/** When and how often a check runs, and how many results flip its state. */
export interface CheckTiming {
  /** Seconds between checks (keepalived's delay_loop). Default 5. */
  interval: number;
  /** Seconds a check may take; a check still running then has failed. Default min(3, interval). */
  timeout: number;
  /** Consecutive failures that take an up check down (keepalived's retry + 1). Default 3. */
  fall: number;
  /** Consecutive successes that bring a down check up. Default 2. */
  rise: number;
  /** Seconds between checks while a failure streak is counting towards `fall` (keepalived's delay_before_retry). Default: interval. */
  retryInterval: number;
  /** The first check runs after a random delay up to this many seconds (keepalived's warmup). Default: interval. */
  warmup: number;
  /** State before the first result: 'up' (default) or 'down' (keepalived's alpha). */
  start: 'up' | 'down';
  /** Probe this address instead of the real server's (keepalived's connect_ip). */
  address?: string;
  /** Probe this port instead of the real server's (keepalived's connect_port). */
  port?: number;
}

export interface TcpCheck { type: 'tcp' }

/** A status code or an inclusive range of them. */
export type StatusRange = [number, number];

export interface HttpCheck {
  type: 'http' | 'https';
  /** Default GET. */
  method: string;
  /** Default '/'. */
  path: string;
  /** Host header; default the probed address. */
  host?: string;
  /** Accepted statuses; default 200-299. */
  status: StatusRange[];
  /** A regular expression the body must match. */
  bodyRegex?: string;
  /** Lower-case hex MD5 of the body (keepalived's digest). */
  digest?: string;
  /** https: the TLS server name; default host (when a name) or none. */
  sni?: string;
  /** https: verify the certificate. Default false (health, not identity). */
  verifyTls: boolean;
}

/** A UDP datagram and the answer to expect (none: any answer, or just no ICMP error). */
export interface UdpCheck {
  type: 'udp';
  /** Payload to send. Default 'ping'. */
  send: string;
  /** A regular expression the reply must match; absent: any reply will do. */
  expect?: string;
  /** When false, silence until the timeout counts as success (keepalived's UDP_CHECK without require_reply). Default true. */
  requireReply: boolean;
}

/** A DNS query over UDP and the answer to expect. */
export interface DnsCheck {
  type: 'dns';
  /** Name to ask for. */
  name: string;
  /** Record type; default A. */
  qtype: string;
  /** An answer that must be among the records (address text for A/AAAA); absent: any NOERROR answer with records. */
  expect?: string;
}

/** A command run without a shell: exit 0 up, 1 down; with dynamicWeight 2..255 up with weight code - 2 (keepalived's misc_dynamic). */
export interface ExecCheck {
  type: 'exec';
  command: string[];
  dynamicWeight: boolean;
}

export type CheckKind = TcpCheck | HttpCheck | UdpCheck | DnsCheck | ExecCheck;
export type CheckSpec = CheckKind & CheckTiming;

/** What to do with a failed real server: delete it, or keep it at weight 0 (keepalived's inhibit_on_failure). */
export type OnFailure = 'remove' | 'inhibit';

/** A real server as the agent knows it. */
export interface AgentDestination {
  /** Stable identity within the file: "SERVICE/ADDRESS:PORT". */
  id: string;
  spec: DestinationSpec;
  /** Its checks (its own, or its service's when it lists none). None: always up. */
  checks: CheckSpec[];
  onFailure: OnFailure;
}

/** A virtual service as the agent knows it. */
export interface AgentService {
  /** Stable identity: "tcp 10.0.0.1:80" or "fwmark 5 inet". */
  id: string;
  key: ServiceKey;
  options: ServiceOptions;
  destinations: AgentDestination[];
  /** Live weight below which the sorry server goes in (keepalived's quorum). Default 1. */
  quorum: number;
  /** Quorum comes back at quorum + hysteresis and goes at below quorum - hysteresis. Default 0. */
  hysteresis: number;
  /** Put in when quorum is lost (alive real servers are taken out, as keepalived does). */
  sorryServer?: DestinationSpec;
  /** Keep the sorry server at weight 0 while quorum holds, instead of deleting it (keepalived's sorry_server_inhibit). */
  sorryServerInhibit?: boolean;
  /** The apply file's per-service drain: how real servers removed from the file leave (default: drainSeconds). */
  drain?: false | { timeoutSeconds: number; udpImmediate?: boolean };
}

/** Settings of the agent file that are not per service. */
export interface AgentSettings {
  /** Ownership as in apply: CIDRs and fwmark ranges the agent may touch. Absent: its own services only. */
  owns?: { cidrs?: string[]; fwmarks?: { from: number; to: number }[] };
  /** Seconds a removed real server may drain before it is deleted. Default 30. */
  drainSeconds: number;
}

export interface AgentConfig {
  services: AgentService[];
  settings: AgentSettings;
}
