// What happens after a process exits: whether it is restarted (the reference's policies, spec
// §3.3) and after how long (our backoff, spec README "beyond the reference"). Pure: no clocks,
// no timers; the caller passes how long the process ran.
import type { RestartPolicy } from './daemon-spec.ts';

/** The reference's fixed delays, which are also our first delays. */
export const REFERENCE_DELAY_MS = { success: 200, error: 1000 } as const;

/** The fraction of a delay jitter may take off when `BackoffOptions.jitter` is not given. */
export const DEFAULT_JITTER = 0.25;

/**
 * The verdict on one exit: `restart` the process, mark its config `complete`, or `crash` the
 * whole daemon actor (policy `all` on an error: the supervisor restarts every process).
 */
export type ExitDecision = 'restart' | 'complete' | 'crash';

/** The restart policy table of spec §3.3; a spawn failure counts as an error exit. */
export function decideOnExit(policy: RestartPolicy, success: boolean): ExitDecision {
  switch (policy) {
    case 'always': return 'restart';
    case 'on-error': return success ? 'complete' : 'restart';
    case 'all': return success ? 'complete' : 'crash';
    case 'never': return 'complete';
  }
}

/** Settings of a backoff; the daemon spec keys `restartDelay`, `restartMaxDelay`, `restartResetAfter`. */
export interface BackoffOptions {
  /** First delay; null for the reference's 200 ms after success and 1 s after an error. */
  readonly firstDelayMs: number | null;
  readonly maxDelayMs: number;
  readonly resetAfterMs: number;
  /** Fraction of a delay that jitter may take off (0 = none); default 0.25. */
  readonly jitter?: number;
  /** A source of numbers in [0, 1); default `Math.random`. Injected by tests. */
  readonly random?: () => number;
}

/**
 * Exponential restart backoff with jitter and a cap, reset by a healthy run.
 *
 * The n-th quick restart in a row waits `min(max, first × 2^n)`, minus up to `jitter` of that.
 * The first restart after a reset is never jittered, so a daemon that crashes once restarts
 * after exactly the reference's delay; jitter only matters once daemons loop, which is when
 * many of them failing together (say, the network went away) should not restart in lockstep.
 * Jitter only shortens, so the cap is a true upper bound.
 */
export class RestartBackoff {
  private readonly options: BackoffOptions;
  private quickExits = 0;

  constructor(options: BackoffOptions) {
    this.options = options;
  }

  /** How many exits in a row came before the process had been up for `resetAfterMs`. */
  get consecutive(): number {
    return this.quickExits;
  }

  /** The delay before restarting a process that ran for `uptimeMs` and ended as `success` says. */
  nextDelay(success: boolean, uptimeMs: number): number {
    const { firstDelayMs, maxDelayMs, resetAfterMs } = this.options;
    if (uptimeMs >= resetAfterMs) this.quickExits = 0;
    const n = this.quickExits;
    this.quickExits = n + 1;
    const first = firstDelayMs ?? (success ? REFERENCE_DELAY_MS.success : REFERENCE_DELAY_MS.error);
    // 2^n overflows to Infinity for huge n, which min() then caps: no special case needed.
    const raw = Math.min(maxDelayMs, first * 2 ** n);
    if (n === 0) return raw;
    const j = this.options.jitter ?? DEFAULT_JITTER;
    const jitter = Number.isFinite(j) ? Math.min(1, Math.max(0, j)) : DEFAULT_JITTER;
    const r = (this.options.random ?? Math.random)();
    return Math.round(raw * (1 - jitter * r));
  }

  /** Forgets past exits, e.g. after an explicit restart requested by a user. */
  reset(): void {
    this.quickExits = 0;
  }
}
