// syndicate-ctl's link to a running bus: a client actor whose `config` ref reaches the bus's
// config dataspace through the control socket.
import { P, type Assertion, type Pattern, type Ref, type Turn } from '../../bus/index.ts';
import type { BusInfo } from '../control-ref.ts';

/** A connected bus. */
export interface BusConnection {
  /** What the bus says of itself (pid, state folder). */
  readonly info: BusInfo;
  /** Runs `f` as a turn of the client actor. */
  turn(f: (t: Turn, config: Ref) => void): void;
  /** Closes the connection; what the client asserted is retracted by the bus. */
  close(): Promise<void>;
}

/** Raised when no bus answers at the socket, or what answers is not a bus's control: exit 3. */
export class NoBusError extends Error {}

/** Raised when a wait runs out of time: exit 4. */
export class CtlTimeoutError extends Error {}

/** The command could not do what it says (not found, failed): one line on stderr, exit code 1. */
export class CtlFailure extends Error {}

/**
 * Follows the assertions matching `patterns` until, after a first sync round trip (so that
 * everything already present has arrived), `done` holds over them; resolves with them then.
 * Rejects after `timeoutMs` when given.
 */
function observeUntil(conn: BusConnection, patterns: readonly Pattern[], done: (present: Assertion[]) => boolean, timeoutMs?: number): Promise<Assertion[]> {
  return new Promise((resolve, reject) => {
    conn.turn((t, config) => {
      const seen = new Map<number, Assertion>();
      t.facet((t) => {
        t.preventInertCheck();
        const facet = t.activeFacet;
        let synced = false;
        let finished = false;
        const check = (t: Turn) => {
          if (finished || !synced || !done([...seen.values()])) return;
          finished = true;
          resolve([...seen.values()]);
          t.stop(facet);
        };
        for (const p of patterns) {
          t.observe(config, P.bind(p), {
            added: (t, [v], h) => { seen.set(h, v); check(t); },
            removed: (t, _c, h) => { seen.delete(h); check(t); },
          });
        }
        t.sync(config, (t) => { synced = true; check(t); });
        if (timeoutMs === undefined) return;
        t.after(timeoutMs, (t) => {
          if (finished) return;
          finished = true;
          reject(new CtlTimeoutError(`timed out after ${timeoutMs / 1000} s`));
          t.stop(facet);
        });
      });
    });
  });
}

/** Every assertion matching one of `patterns` at this moment (a sync round trip ends the wait). */
export function snapshot(conn: BusConnection, patterns: readonly Pattern[]): Promise<Assertion[]> {
  return observeUntil(conn, patterns, () => true);
}

/** Resolves once `pred` holds over the assertions matching `patterns` (rejects after `timeoutMs`). */
export async function waitUntil(conn: BusConnection, patterns: readonly Pattern[], pred: (present: Assertion[]) => boolean, timeoutMs: number): Promise<void> {
  await observeUntil(conn, patterns, pred, timeoutMs);
}
