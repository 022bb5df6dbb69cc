// `syndicate-server --check` for the records the bus gives meaning to, over every template the
// scripts assert: daemon specs, `depends-on`, `require-service`, `config-watcher` and
// `relay-listener` records, and dependency cycles across all checked files. Only literal parts
// are checked (a `$x` is known only at run time); each error names the token at fault.
import { Dictionary, Record, peel, positionOf, stringify, sym, type Position, type Value } from '../preserves/index.ts';
import type { Assertion } from '../bus/index.ts';
import type { CheckedAssertion } from '../config-lang/check.ts';
import { ScriptError } from '../config-lang/script-error.ts';
import { literalValue } from '../config-lang/validate.ts';
import { DaemonSpecError, parseDaemonSpec } from '../services/daemon/daemon-spec.ts';
import { ListenerSpecError, parseListenerAddress } from '../services/listeners/relay-listener-service.ts';
import { buildServiceModel } from './ctl/service-model.ts';
import { allCycles } from './ctl/why.ts';

const STATES = ['started', 'ready', 'failed', 'complete', 'up'];

type Token = CheckedAssertion['template'];

function show(v: Value<unknown>): string {
  try {
    return stringify(v);
  } catch {
    return '…';
  }
}

/** The position of `t`, else of `fallback`. */
function at(t: Token | undefined, fallback: Token): Position | null {
  return (t !== undefined ? positionOf(t as Value) : null) ?? positionOf(fallback as Value);
}

/** The token of a top-level key `field` (`healthCheck.interval` → `healthCheck`) in a dictionary token. */
function fieldToken(spec: Token, field: string): Token | undefined {
  const d = peel(spec as Value);
  if (!(d instanceof Dictionary)) return undefined;
  return d.get(sym(field.split('.')[0])) as Token | undefined;
}

/** Errors in the records of the asserted templates, and the dependency cycles among them. */
export function checkServiceRecords(asserted: readonly CheckedAssertion[]): ScriptError[] {
  const errors: ScriptError[] = [];
  const error = (file: string, message: string, pos: Position | null) =>
    errors.push(pos ? new ScriptError(message, pos) : new ScriptError(`${file}: ${message}`, null));
  const edges: { value: Assertion; pos: Position | null; file: string }[] = [];

  // Records that mean something wherever they appear (inside require-service, say).
  const nested = (file: string, t: Token): void => {
    const r = peel(t as Value);
    if (r instanceof Record) {
      if (r.hasLabel('config-watcher')) {
        const path = r.fields.length > 0 ? peel(r.fields[0] as Value) : undefined;
        if (r.fields.length !== 2) error(file, `<config-watcher PATH ENV> takes two fields, got ${r.fields.length}`, at(undefined, t));
        else if (literalValue(r.fields[0]) !== null && typeof path !== 'string') error(file, `<config-watcher PATH ENV>: PATH must be a string, got ${show(path as Value)}`, at(r.fields[0], t));
      }
      if (r.hasLabel('relay-listener')) {
        const f = r.fields;
        const addr = f.length > 0 ? literalValue(f[0]) : null;
        const opts = f.length > 2 ? literalValue(f[2]) : undefined;
        if (f.length < 2 || f.length > 3) error(file, `<relay-listener ADDRESS $gatekeeper [OPTIONS]> takes two or three fields, got ${f.length}`, at(undefined, t));
        else if (addr !== null && opts !== null) {
          try {
            parseListenerAddress(addr as Assertion, opts as Assertion | undefined);
          } catch (e) {
            if (!(e instanceof ListenerSpecError)) throw e;
            error(file, `relay-listener: ${e.message}`, at(r.fields[0], t));
          }
        }
      }
      nested(file, r.label);
      for (const x of r.fields) nested(file, x);
    } else if (Array.isArray(r)) {
      for (const x of r) nested(file, x);
    } else if (r instanceof Dictionary) {
      for (const [, x] of r) nested(file, x);
    }
  };

  for (const { file, template, target } of asserted) {
    nested(file, template);
    if (target !== 'config') continue;
    const r = peel(template as Value);
    if (!(r instanceof Record)) continue;
    if (r.hasLabel('daemon') && r.fields.length === 2) {
      const spec = literalValue(r.fields[1]);
      if (spec === null) continue;
      try {
        parseDaemonSpec(spec);
      } catch (e) {
        if (!(e instanceof DaemonSpecError)) throw e;
        error(file, `<daemon ${show(literalValue(r.fields[0]) ?? sym('…'))}>: ${e.message}`, at(fieldToken(r.fields[1], e.field), r.fields[1]));
      }
    } else if (r.hasLabel('daemon') && r.fields.length > 2) {
      error(file, `<daemon ID SPEC> takes two fields, got ${r.fields.length}`, at(undefined, template));
    } else if (r.hasLabel('require-service') && r.fields.length !== 1) {
      error(file, `<require-service SERVICE> takes one field, got ${r.fields.length}`, at(undefined, template));
    } else if (r.hasLabel('depends-on')) {
      if (r.fields.length !== 2) {
        error(file, `<depends-on SERVICE DEPENDENCY> takes two fields, got ${r.fields.length}`, at(undefined, template));
        continue;
      }
      const dep = peel(r.fields[1] as Value);
      if (dep instanceof Record && dep.hasLabel('service-state')) {
        if (dep.fields.length !== 2) {
          error(file, `<service-state SERVICE STATE> takes two fields, got ${dep.fields.length}`, at(r.fields[1], template));
          continue;
        }
        const state = literalValue(dep.fields[1]);
        const name = state === null ? null : peel(state);
        if (name !== null && (typeof name !== 'symbol' || !STATES.includes(name.description ?? ''))) {
          error(file, `depends-on: unknown service state ${show(state!)} (one of ${STATES.join(', ')})`, at(dep.fields[1], template));
          continue;
        }
      }
      const lit = literalValue(template);
      if (lit !== null) edges.push({ value: lit as Assertion, pos: at(undefined, template), file });
    }
  }

  // Cycles among literal dependencies, reported at the depends-on that leaves each cycle's first service.
  const model = buildServiceModel(edges.map((e) => e.value));
  for (const cycle of allCycles(model)) {
    const first = edges.find((e) => {
      const d = peel(e.value) as Record<unknown>;
      return show(d.fields[0] as Value) === cycle[0] && model.get(cycle[0])!.dependsOn.some((x) => x.dependee === cycle[1] && show(d.fields[1] as Value) === x.text);
    }) ?? edges[0];
    error(first.file, `dependency cycle: ${cycle.join(' -> ')} (none of these can start)`, first.pos);
  }
  return errors;
}
