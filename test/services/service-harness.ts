// A running system for service tests, and a way to wait for assertions in its config space.
import { P, settle, type Assertion, type Pattern, type Turn } from '../../src/bus/index.ts';
import { startSystem, type System, type SystemOptions } from '../../src/services/system.ts';
import { show } from '../bus/harness.ts';

/** A system plus helpers: `until` waits for a predicate over the config space's contents. */
export interface TestSystem {
  system: System;
  logLines: string[];
  /** Distinct assertions of the config space as text, sorted. */
  contents(): string[];
  /** Resolves when `pred(contents())` holds; checked after every change of the config space. */
  until(pred: (contents: string[]) => boolean, what?: string): Promise<void>;
  act(f: (t: Turn) => void): Promise<void>;
  stop(): Promise<void>;
}

/** Starts a system and a watcher of everything in its config space. */
export async function testSystem(options: SystemOptions = {}): Promise<TestSystem> {
  const logLines: string[] = [];
  const waiters: { pred: (c: string[]) => boolean; resolve: () => void }[] = [];
  const contents = () => [...system.configSpace.assertions()].map(show).filter((s) => !s.startsWith('<Observe')).sort();
  const check = () => {
    if (waiters.length === 0) return;
    const c = contents();
    for (const w of [...waiters]) if (w.pred(c)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(); }
  };
  const system = startSystem({
    writeLog: (l) => void logLines.push(l),
    ...options,
    onBoot: (t, s) => {
      // Checked after the whole delivery turn, so other observers of the same change have run.
      t.observe(s.config, P.bind(), { added: () => queueMicrotask(check), removed: () => queueMicrotask(check) });
      options.onBoot?.(t, s);
    },
  });
  await settle();
  return {
    system, logLines, contents,
    until: (pred, what = 'condition') => new Promise<void>((resolve, reject) => {
      if (pred(contents())) return resolve();
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; config space:\n${contents().join('\n')}`)), 15000);
      waiters.push({ pred, resolve: () => { clearTimeout(timer); resolve(); } });
    }),
    act: async (f) => { system.actor.root.turn(f); await settle(); },
    stop: async () => { system.actor.root.turn((t) => t.stopActor()); await settle(); },
  };
}

/** True when `line` is among the contents. */
export const has = (line: string) => (c: string[]) => c.includes(line);
/** True when `line` is not among the contents. */
export const lacks = (line: string) => (c: string[]) => !c.includes(line);

export type { Assertion, Pattern };
