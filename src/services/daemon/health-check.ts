// runit's "pinger" pattern built in: a command run every interval; N failures in a row mean
// the daemon is unhealthy (the supervisor then restarts it).
import { commandProgram } from './command.ts';
import type { OutputLine } from './line-splitter.ts';
import { DaemonProcess, type OutputStreamName } from './daemon-process.ts';
import { isSuccess, type ExitStatus } from './exit-status.ts';
import type { HealthCheckSpec } from './daemon-spec.ts';
import { SpawnError } from './spawn-error.ts';

/** The outcome of one check: the command's exit status, or why it could not run. */
export type CheckResult =
  | { readonly ok: boolean; readonly status: ExitStatus; readonly timedOut: boolean }
  | { readonly ok: false; readonly error: SpawnError };

/** How to run the checks; the spec part comes from the daemon spec's `healthCheck`. */
export interface HealthCheckOptions extends HealthCheckSpec {
  readonly env?: ReadonlyMap<string, string | null>;
  readonly clearEnv?: boolean;
  readonly dir?: string | null;
  /** Grace after SIGTERM for a check that overran `timeoutMs`. */
  readonly stopTimeoutMs?: number;
  /** Called after `failures` failed checks in a row; the count then starts again from zero. */
  readonly onUnhealthy: (last: CheckResult) => void;
  /** Called after every check, for logs and `syndicate-ctl why`. */
  readonly onResult?: (result: CheckResult, failuresInARow: number) => void;
  readonly onLine?: (stream: OutputStreamName, line: OutputLine) => void;
}

/**
 * A running health check. The first check runs one interval after `start` (the daemon needs
 * time to come up); each next one an interval after the previous one finished, so checks never
 * overlap. A check that overruns `timeoutMs` is stopped and counts as a failure.
 */
export class HealthCheck {
  private readonly options: HealthCheckOptions;
  private timer: NodeJS.Timeout | null = null;
  private running: DaemonProcess | null = null;
  private current: Promise<void> | null = null;
  private stopped = false;
  private failuresInARow = 0;

  private constructor(options: HealthCheckOptions) {
    this.options = options;
  }

  /** Starts checking; call `stop()` when the daemon's process goes away. */
  static start(options: HealthCheckOptions): HealthCheck {
    const h = new HealthCheck(options);
    h.schedule();
    return h;
  }

  /** Failed checks since the last success (or since the last `onUnhealthy`). */
  get failures(): number {
    return this.failuresInARow;
  }

  /** Stops checking, stopping a check in progress; resolves once nothing runs. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.running?.stop();
    await this.current;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.current = this.check().then(() => this.schedule());
    }, this.options.intervalMs);
  }

  private async check(): Promise<void> {
    let result: CheckResult;
    try {
      const proc = await DaemonProcess.start({
        command: this.options.command,
        env: this.options.env,
        clearEnv: this.options.clearEnv,
        dir: this.options.dir,
        stopTimeoutMs: this.options.stopTimeoutMs,
        onLine: this.options.onLine,
      });
      this.running = proc;
      if (this.stopped) void proc.stop();
      let timedOut = false;
      const timer = setTimeout(() => { timedOut = true; void proc.stop(); }, this.options.timeoutMs);
      const status = await proc.exited;
      clearTimeout(timer);
      this.running = null;
      result = { ok: !timedOut && isSuccess(status), status, timedOut };
    } catch (e) {
      // Anything that keeps the check from running is a failed check, never a crash of ours.
      result = { ok: false, error: e instanceof SpawnError ? e : new SpawnError(commandProgram(this.options.command), e) };
    }
    // A check cut short by stop() says nothing about the daemon's health.
    if (this.stopped) return;
    this.failuresInARow = result.ok ? 0 : this.failuresInARow + 1;
    this.options.onResult?.(result, this.failuresInARow);
    if (this.failuresInARow >= this.options.failures) {
      this.failuresInARow = 0;
      this.options.onUnhealthy(result);
    }
  }
}
