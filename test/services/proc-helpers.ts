// Helpers for the real-process tests: an independent /proc reading of a process group, and
// line collectors that let a test wait for an event instead of sleeping.
import { readdirSync, readFileSync } from 'node:fs';
import type { OutputLine } from '../../src/services/daemon/line-splitter.ts';
import type { OutputStreamName } from '../../src/services/daemon/daemon-process.ts';

/** Pids of live (not zombie) processes whose process group is `pgid`, straight from /proc. */
export function liveGroupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try { stat = readFileSync(`/proc/${name}/stat`, 'latin1'); } catch { continue; }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') out.push(Number(name));
  }
  return out;
}

/** True while `pid` exists (a zombie counts: use liveGroupMembers to tell). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Collects output lines; `until(pred)` resolves when a line satisfying `pred` has arrived. */
export class Lines {
  readonly seen: [OutputStreamName, string][] = [];
  private waiters: { pred: (s: OutputStreamName, l: string) => boolean; resolve: () => void }[] = [];

  readonly onLine = (stream: OutputStreamName, line: OutputLine): void => {
    const text = typeof line === 'string' ? line : Buffer.from(line).toString('latin1');
    this.seen.push([stream, text]);
    for (const w of [...this.waiters]) {
      if (w.pred(stream, text)) { this.waiters.splice(this.waiters.indexOf(w), 1); w.resolve(); }
    }
  };

  /** Resolves once some line (already seen or future) satisfies `pred`. */
  until(pred: (stream: OutputStreamName, line: string) => boolean): Promise<void> {
    if (this.seen.some(([s, l]) => pred(s, l))) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ pred, resolve }));
  }
}

/** A promise with its resolver, for callbacks a test waits on. */
export function signal<T = void>(): { promise: Promise<T>; fire: (v: T) => void } {
  let fire!: (v: T) => void;
  const promise = new Promise<T>((r) => (fire = r));
  return { promise, fire };
}
