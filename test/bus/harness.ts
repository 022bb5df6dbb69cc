// Test plumbing for the engine: run turns from outside and wait until everything has settled.
import { Actor, type Facet, type Turn } from '../../src/bus/actor.ts';
import { settle } from '../../src/bus/scheduler.ts';
import { setLogHook, type LogEntry } from '../../src/bus/log.ts';
import { P, type Pattern } from '../../src/bus/pattern.ts';
import type { Ref } from '../../src/bus/ref.ts';
import { showAssertion } from '../../src/bus/show-assertion.ts';
import type { Assertion } from '../../src/bus/ref.ts';

/** Boots an actor running `boot` and waits until the engine is idle; returns the actor. */
export async function boot(name: string, bootAction: (t: Turn) => void = () => {}): Promise<Actor> {
  const a = Actor.boot(name, bootAction);
  await settle();
  return a;
}

/** Runs `action` as a turn in `facet` and waits until the engine is idle. */
export async function inTurn(facet: Facet, action: (t: Turn) => void): Promise<void> {
  facet.turn(action);
  await settle();
}

/** Text of a value for readable assertions in tests (refs print as `#:ref`). */
export function show(v: unknown): string {
  return showAssertion(v as Assertion);
}

/** Subscribes in the current turn and logs `+captures` / `-captures` / `!captures` lines. */
export function recorder(t: Turn, ds: Ref, pattern: Pattern, into: string[] = []): string[] {
  t.observe(ds, pattern, {
    added: (_t, cs) => void into.push('+' + show(cs)),
    removed: (_t, cs) => void into.push('-' + show(cs)),
  });
  t.onMessage(ds, pattern, (_t, cs) => void into.push('!' + show(cs)));
  return into;
}

/** Collects log entries while `f` runs (the hook is restored afterwards). */
export async function collectingLogs<T>(f: (logs: LogEntry[]) => Promise<T>): Promise<T> {
  const logs: LogEntry[] = [];
  const old = setLogHook((e) => void logs.push(e));
  try {
    return await f(logs);
  } finally {
    setLogHook(old);
  }
}

export { P };
