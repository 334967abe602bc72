/** What one probe found. */
export interface CheckResult {
  ok: boolean;
  /** A short account for logs and status: "HTTP 503", "ECONNREFUSED", "timeout after 3 s". */
  detail: string;
  /** exec with dynamicWeight: the weight the script asked for. */
  weight?: number;
}

/** Where a probe goes: the real server's address and port, or the check's overrides. */
export interface Target {
  address: string;
  port: number;
}

/** Text of an error for a result: its code when it has one (ECONNREFUSED), else its message. */
export function errorText(e: unknown): string {
  const err = e as { code?: unknown; message?: unknown };
  if (typeof err?.code === 'string') return err.code;
  return typeof err?.message === 'string' ? err.message : String(e);
}
