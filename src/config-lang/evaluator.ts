// Running a parsed script on the engine (spec §1.6): one facet per file, per match of `?`,
// per message of `??`; environments snapshotted by reactions; runtime errors stop only the
// facet they happen in.
import { Embedded, EncodeError, peel, stringify, sym, type Position } from '../preserves/index.ts';
import { facetPerAssertion, log, match, observe, type Assertion, type Facet, type Ref, type Turn } from '../bus/index.ts';
import { type Environment, copyEnv } from './environment.ts';
import type { Expr, Instruction } from './instruction.ts';
import { ScriptRuntimeError } from './runtime-error.ts';
import { bindCaptures, compileScriptPattern } from './script-pattern.ts';
import { instantiate, lookup, lookupRef } from './template.ts';

/** Where a script runs from: its path (for errors and `scriptdir`) and the actor's name for logs. */
export interface ScriptContext {
  readonly path: string;
  readonly scriptDir: string;
  /** Receives each runtime error (default: the bus log hook). */
  readonly report?: (error: ScriptRuntimeError, path: string) => void;
}

/** Logs a runtime error as `path:line:column: message`. */
function defaultReport(e: ScriptRuntimeError, path: string): void {
  log({ level: 'error', message: e.pos ? e.message : `${path}: ${e.message}` });
}

/**
 * Starts a script in a new child facet of the active facet (the *file facet*) and returns it.
 * A runtime error during the top-level evaluation stops the whole file facet in the same turn.
 */
export function startScript(t: Turn, instructions: readonly Instruction[], env: Environment, ctx: ScriptContext): Facet {
  return t.facet((t) => guarded(t, ctx, () => runAll(t, instructions, copyEnv(env), ctx)));
}

/** Runs `f`; a script error is reported and stops the active facet, anything else propagates. */
function guarded(t: Turn, ctx: ScriptContext, f: () => void): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof ScriptRuntimeError)) throw e;
    (ctx.report ?? defaultReport)(e, ctx.path);
    t.stop(t.activeFacet);
  }
}

function runAll(t: Turn, instructions: readonly Instruction[], env: Environment, ctx: ScriptContext): void {
  for (const ins of instructions) run(t, ins, env, ctx);
}

/** Attaches the instruction's position to errors that lack one. */
function at<T>(pos: Position | null, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof ScriptRuntimeError && e.pos === null && pos !== null) throw new ScriptRuntimeError(e.detail, { ...pos });
    throw e;
  }
}

function target(env: Environment, name: string, pos: Position | null): Ref {
  return at(pos, () => lookupRef(env, name, null));
}

function run(t: Turn, ins: Instruction, env: Environment, ctx: ScriptContext): void {
  switch (ins.kind) {
    case 'assert': {
      const ref = target(env, ins.target, ins.pos);
      t.assert(ref, at(ins.pos, () => instantiate(ins.template, env)));
      return;
    }
    case 'send': {
      const ref = target(env, ins.target, ins.pos);
      t.message(ref, at(ins.pos, () => instantiate(ins.template, env)));
      return;
    }
    case 'block':
      runAll(t, ins.body, env, ctx);
      return;
    case 'during': {
      const ref = target(env, ins.target, ins.pos);
      const { pattern, names } = at(ins.pos, () => compileScriptPattern(ins.pattern, env));
      const snapshot = copyEnv(env);
      const observer = facetPerAssertion(t, (t, v) => {
        const env2 = copyEnv(snapshot);
        bindCaptures(env2, names, v as Assertion[]);
        guarded(t, ctx, () => run(t, ins.body, env2, ctx));
      });
      t.assert(ref, observe(pattern, observer));
      return;
    }
    case 'on-message': {
      const ref = target(env, ins.target, ins.pos);
      const { pattern, names } = at(ins.pos, () => compileScriptPattern(ins.pattern, env));
      const snapshot = copyEnv(env);
      const observer = t.ref({
        message(t, v) {
          t.facet((t) => {
            const env2 = copyEnv(snapshot);
            bindCaptures(env2, names, v as Assertion[]);
            guarded(t, ctx, () => run(t, ins.body, env2, ctx));
          });
        },
      });
      t.assert(ref, observe(pattern, observer));
      return;
    }
    case 'on-stop': {
      const snapshot = copyEnv(env);
      t.onStop((t) => {
        // The reference lets an error here crash the whole watcher; we log it and go on.
        try {
          run(t, ins.body, copyEnv(snapshot), ctx);
        } catch (e) {
          if (!(e instanceof ScriptRuntimeError)) throw e;
          (ctx.report ?? defaultReport)(e, ctx.path);
        }
      });
      return;
    }
    case 'let': {
      const value = at(ins.pos, () => evaluate(t, ins.expr, env, ctx));
      const { pattern, names } = at(ins.pos, () => compileScriptPattern(ins.pattern, env));
      const captures = match(pattern, value);
      if (captures === undefined) throw new ScriptRuntimeError('let: value does not match the pattern', ins.pos);
      bindCaptures(env, names, captures);
      return;
    }
    case 'match': {
      const value = at(ins.pos, () => lookup(env, ins.variable, null));
      const { pattern, names } = at(ins.pos, () => compileScriptPattern(ins.pattern, env));
      const captures = match(pattern, value);
      if (captures !== undefined) {
        bindCaptures(env, names, captures);
        run(t, ins.then, env, ctx);
      } else {
        runAll(t, ins.otherwise, env, ctx);
      }
      return;
    }
  }
}

/** The value of a `let` right-hand side (spec §1.4). */
export function evaluate(t: Turn, e: Expr, env: Environment, ctx: ScriptContext): Assertion {
  switch (e.kind) {
    case 'dataspace': return new Embedded<Ref>(t.dataspace(ctx.path));
    case 'timestamp': return rfc3339(new Date());
    case 'facet': return new Embedded<Ref>(facetRef(t));
    case 'scriptdir': return ctx.scriptDir;
    case 'stringify': return text(evaluate(t, e.arg, env, ctx));
    case 'join': {
      const sep = asString(evaluate(t, e.separator, env, ctx));
      const pieces = peel(evaluate(t, e.pieces, env, ctx));
      const parts = (Array.isArray(pieces) ? pieces : [pieces]).map(asString);
      let length = sep.length * Math.max(0, parts.length - 1);
      for (const p of parts) length += p.length;
      if (length > MAX_SCRIPT_TEXT_LENGTH) throw tooLong('join');
      return parts.join(sep);
    }
    case 'template': return instantiate(e.template, env);
  }
}

/** RFC 3339 in UTC with a `+00:00` offset, as chrono's `to_rfc3339` prints it. */
export function rfc3339(d: Date): string {
  return d.toISOString().replace('Z', '+00:00');
}

/**
 * The longest text `stringify` and `join` make. Each nested `stringify` of a string doubles its
 * backslashes, so 40 of them would need 2^40 characters: past this it is a runtime error.
 */
export const MAX_SCRIPT_TEXT_LENGTH = 1 << 20;

function text(v: Assertion): string {
  let s: string;
  try {
    s = stringify(v, { embeddedEncode: () => { throw new Error('embedded'); } });
  } catch (e) {
    if (e instanceof EncodeError && e.message.includes('digits')) throw new ScriptRuntimeError('stringify: ' + e.message, null);
    throw new ScriptRuntimeError('stringify: cannot render a value containing refs', null);
  }
  return boundedText(s, 'stringify');
}

function boundedText(s: string, what: string): string {
  if (s.length > MAX_SCRIPT_TEXT_LENGTH) throw tooLong(what);
  return s;
}

function tooLong(what: string): ScriptRuntimeError {
  return new ScriptRuntimeError(`${what}: result longer than ${MAX_SCRIPT_TEXT_LENGTH} characters`, null);
}

function asString(v: Assertion): string {
  const p = peel(v);
  return typeof p === 'string' ? p : text(p);
}

/** A ref whose `stop` message stops the facet it was made in. */
function facetRef(t: Turn): Ref {
  const facet = t.activeFacet;
  const $stop = sym('stop');
  return t.ref({
    message(t, body) {
      if (peel(body) === $stop) t.stop(facet);
      else log({ level: 'warn', actor: t.actor.name, message: 'facet ref: unexpected message ' + text(body) });
    },
  });
}
