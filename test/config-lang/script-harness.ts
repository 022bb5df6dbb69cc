// Runs script text on a real engine and shows what lands in the config dataspace.
import { Embedded } from '../../src/preserves/index.ts';
import { Actor, Dataspace, settle, type Facet, type Ref, type Turn } from '../../src/bus/index.ts';
import { startScript } from '../../src/config-lang/evaluator.ts';
import { loadScriptText } from '../../src/config-lang/script-file.ts';
import type { Environment } from '../../src/config-lang/environment.ts';
import { show } from '../bus/harness.ts';

/** A running script and ways to look at and poke its world. */
export interface ScriptRun {
  config: Ref;
  space: Dataspace;
  main: Facet;
  file: Facet | null;
  errors: string[];
  /** The distinct assertions in the config dataspace, as sorted text (Observe records left out). */
  contents(): string[];
  /** Runs a turn in the test's actor and waits for the engine to settle. */
  act(f: (t: Turn) => void): Promise<void>;
}

/** Loads `text` as a script file at `path` and runs it with `config` bound. */
export async function runScript(text: string, path = '/etc/test/script.pr', extra: (t: Turn, env: Environment) => void = () => {}): Promise<ScriptRun> {
  const loaded = loadScriptText(text, path);
  if (loaded.kind !== 'ok') throw new Error('script did not parse: ' + loaded.errors.map((e) => e.message).join('; '));
  const space = new Dataspace('config');
  const run: ScriptRun = {
    config: null as unknown as Ref, space, main: null as unknown as Facet, file: null, errors: [],
    contents: () => [...space.assertions()].map(show).filter((s) => !s.startsWith('<Observe')).sort(),
    act: async (f) => { run.main.turn(f); await settle(); },
  };
  const actor = Actor.boot('script-test', (t) => {
    run.config = t.ref(space);
    const env: Environment = new Map([['config', new Embedded<Ref>(run.config)]]);
    extra(t, env);
    run.file = startScript(t, loaded.instructions, env, {
      path, scriptDir: '/etc/test', report: (e) => void run.errors.push(e.message),
    });
  });
  run.main = actor.root;
  await settle();
  return run;
}
