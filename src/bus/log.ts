// The one logging hook of the bus: every error, warning and note the engine reports goes here.

/** How serious a log entry is. */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

/** One thing the engine wants to tell the operator. */
export interface LogEntry {
  readonly level: LogLevel;
  /** The name of the actor concerned, when there is one. */
  readonly actor?: string;
  readonly message: string;
  readonly error?: unknown;
}

/** A function receiving every log entry. */
export type LogHook = (entry: LogEntry) => void;

/** The default hook: one line on stderr for errors and warnings; quieter levels are dropped. */
export const stderrLogHook: LogHook = (e) => {
  if (e.level === 'info' || e.level === 'debug') return;
  const who = e.actor === undefined ? '' : ' [' + e.actor + ']';
  const why = e.error === undefined ? '' : ': ' + describeError(e.error);
  process.stderr.write(e.level + who + ' ' + e.message + why + '\n');
};

let hook: LogHook = stderrLogHook;

/** Replaces the logging hook; returns the previous one so callers (tests) can restore it. */
export function setLogHook(h: LogHook): LogHook {
  const old = hook;
  hook = h;
  return old;
}

/** Sends an entry to the current hook; a throwing hook must not take the engine down. */
export function log(entry: LogEntry): void {
  try {
    hook(entry);
  } catch {
    // Deliberately ignored: logging is best effort.
  }
}

/** A one-line description of a thrown value. */
export function describeError(e: unknown): string {
  if (e instanceof Error) return e.message.split('\n')[0];
  return String(e);
}
