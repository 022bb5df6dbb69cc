import { constants } from 'node:os';

/** How a process ended: an exit code, or the signal that killed it (exactly one is non-null). */
export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** True for the reference's "success": exit code 0. A signal death is always an error. */
export function isSuccess(status: ExitStatus): boolean {
  return status.code === 0 && status.signal === null;
}

/** The signal's number (runit passes numbers to `finish`), or 0 when there was no signal. */
export function signalNumber(status: ExitStatus): number {
  if (status.signal === null) return 0;
  return constants.signals[status.signal] ?? 0;
}

/** "exit code N" or "killed by SIGX", for logs and `syndicate-ctl why`. */
export function describeExit(status: ExitStatus): string {
  return status.signal !== null ? `killed by ${status.signal}` : `exit code ${status.code ?? '?'}`;
}
