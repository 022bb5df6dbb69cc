// runit's `finish`: a command run after each exit of a daemon's process, told how it ended.
import type { Command } from './command.ts';
import { DaemonProcess, type OutputStreamName } from './daemon-process.ts';
import { signalNumber, type ExitStatus } from './exit-status.ts';
import type { OutputLine } from './line-splitter.ts';

/** Default limit on a finish command's run time (s6's `timeout-finish` default). */
export const FINISH_TIMEOUT_MS = 5000;

/** How to run `finish` after the daemon's process ended with `status`. */
export interface FinishOptions {
  readonly command: Command;
  readonly status: ExitStatus;
  /** The daemon's env/clearEnv/dir, so finish sees what the process saw. */
  readonly env?: ReadonlyMap<string, string | null>;
  readonly clearEnv?: boolean;
  readonly dir?: string | null;
  /** After this long finish is stopped (SIGTERM, then SIGKILL after `stopTimeoutMs`); default 5 s. */
  readonly timeoutMs?: number;
  readonly stopTimeoutMs?: number;
  readonly onLine?: (stream: OutputStreamName, line: OutputLine) => void;
}

/**
 * Runs `finish` and resolves with its own exit status; throws `SpawnError` if it cannot start.
 *
 * The daemon's exit is passed both ways: as runit does, two arguments — the exit code (-1 when
 * killed by a signal) and the signal number (0 when none); for a shell command they are `$1`
 * and `$2`, with `$0` = `finish`. And as variables `DAEMON_EXIT_CODE` (same as the first
 * argument) and `DAEMON_EXIT_SIGNAL` (the signal's name, e.g. `SIGTERM`, or empty).
 */
export async function runFinish(options: FinishOptions): Promise<ExitStatus> {
  const code = options.status.signal !== null ? -1 : (options.status.code ?? -1);
  const env = new Map(options.env ?? []);
  env.set('DAEMON_EXIT_CODE', String(code));
  env.set('DAEMON_EXIT_SIGNAL', options.status.signal ?? '');
  const proc = await DaemonProcess.start({
    command: options.command,
    extraArgs: [String(code), String(signalNumber(options.status))],
    name: 'finish',
    env,
    clearEnv: options.clearEnv,
    dir: options.dir,
    stopTimeoutMs: options.stopTimeoutMs,
    onLine: options.onLine,
  });
  const timer = setTimeout(() => void proc.stop(), options.timeoutMs ?? FINISH_TIMEOUT_MS);
  try {
    return await proc.exited;
  } finally {
    clearTimeout(timer);
  }
}
