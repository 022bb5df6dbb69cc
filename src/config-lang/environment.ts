import { Dictionary } from '../preserves/index.ts';
import type { Assertion, Ref } from '../bus/ref.ts';

/** Variable bindings of a running script: name → value (refs are embedded values). */
export type Environment = Map<string, Assertion>;

/** A copy of an environment (reactions snapshot theirs, spec §1.6). */
export function copyEnv(env: Environment): Environment {
  return new Map(env);
}

/** The whole environment as a dictionary with symbol keys: the value of `$.`. */
export function envDictionary(env: Environment): Dictionary<Ref> {
  const d = new Dictionary<Ref>();
  for (const [k, v] of env) d.set(Symbol.for(k), v);
  return d;
}

/** An environment from a dictionary with symbol (or string) keys, as config watchers get. */
export function envFromDictionary(d: Dictionary<Ref>): Environment {
  const env: Environment = new Map();
  for (const [k, v] of d) {
    if (typeof k === 'symbol') env.set(k.description ?? '', v);
    else if (typeof k === 'string') env.set(k, v);
  }
  return env;
}
