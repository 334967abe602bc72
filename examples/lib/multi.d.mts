// Types of multi.mjs, for the kernel tests written in TypeScript.
export interface LabNode {
  netns: string;
  /** Its port on the segment's bridge (for cut/mend). */
  port: string;
}
export interface LabHost extends LabNode {
  name: string;
  address: string;
}
/** What lines.mjs answers: a backend name, or an error code. */
export interface LineResult {
  t?: number;
  ms?: number;
  backend?: string;
  error?: string;
  localPort?: number;
  results?: LineResult[];
}
export interface LabProcess {
  readonly log: string;
  stop(graceMs?: number): Promise<void>;
}
export interface MultiLab {
  id: string;
  vip: string;
  port: number;
  segment: string;
  client: { netns: string; address: string };
  router?: { netns: string; address: string; clientSide: string };
  probe?: { netns: string; address: string };
  directors: LabHost[];
  backends: LabHost[];
  namespaces: string[];
  dir: string;
  exec(netns: string, cmd: string, args?: string[]): Promise<string>;
  ip(netns: string, lines: string[]): Promise<string>;
  file(name: string, text: string, mode?: number): string;
  daemon(netns: string, cmd: string, args: string[]): LabProcess;
  cut(node: LabNode): Promise<string>;
  mend(node: LabNode): Promise<string>;
  call(cmd: Record<string, unknown>): Promise<LineResult>;
  probeCall(cmd: Record<string, unknown>): Promise<LineResult>;
  destroy(): Promise<void>;
}
export interface MultiLabOptions {
  directors?: number;
  backends?: number;
  routed?: boolean;
  probe?: boolean;
  port?: number;
  prefix?: string;
}
export function createMultiLab(opts?: MultiLabOptions): Promise<MultiLab>;
export function keepalivedConf(o: { vip: string; priority: number; notify: string; interface?: string; routerId?: number; advertInt?: number; preempt?: boolean }): string;
export function syncNotifyScript(o: { ipvs: string; lock: string; log: string; interface?: string; syncId?: number }): string;
export function routerBirdConf(o: { address: string; directors: { address: string }[]; holdTime?: number }): string;
export function directorBirdConf(o: { address: string; router: string; vip: string; holdTime?: number }): string;
