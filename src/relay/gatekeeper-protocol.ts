// The records the gatekeeper speaks (spec §5.1): `<resolve STEP #:observer>` answered by an
// rpc.Result `<ok #:ref>` / `<error DETAIL>`, and `<bind DESCRIPTION #:target OBSERVER>`
// answered by `<bound PATH-STEP>` / `<error DETAIL>`. This module owns their shapes; the
// step details (sturdy, noise) belong to their own modules.
import { Embedded, Record, peel, sym, type Value } from '../preserves/index.ts';

const RESOLVE = sym('resolve');
const BIND = sym('bind');
const OK = sym('ok');
const ERROR = sym('error');
const BOUND = sym('bound');

/** The error details the gatekeeper itself answers with (symbols, as Rust sends them). */
export const GatekeeperErrors = {
  /** The step type is not one the gatekeeper knows. */
  unsupported: sym('unsupported'),
  /** The step type is known but its detail is malformed. */
  invalid: sym('invalid'),
  /** A sturdy ref whose signature does not match the bound key. */
  sturdyRefFailedValidation: sym('sturdyref-failed-validation'),
} as const;

/** A malformed gatekeeper record. */
export class GatekeeperProtocolError extends Error {
  /** The offending value. */
  readonly value: unknown;
  constructor(message: string, value: unknown) {
    super(message);
    this.name = 'GatekeeperProtocolError';
    this.value = value;
  }
}

/** A path step, bind description or path-step answer: `<TYPE DETAIL>`, e.g. `<ref {…}>`, `<noise {…}>`. */
export interface Step<T> {
  readonly stepType: symbol;
  readonly detail: Value<T>;
}

/** `<resolve STEP #:observer>`: asks the gatekeeper to resolve `step`, answering at `observer`. */
export interface Resolve<T> {
  readonly step: Step<T>;
  readonly observer: Embedded<T>;
}

/** `<bind DESCRIPTION #:target OBSERVER>`: offers `target` under `description`; `observer` may be absent (`#f`). */
export interface Bind<T> {
  readonly description: Step<T>;
  readonly target: Embedded<T>;
  readonly observer: Embedded<T> | null;
}

/** rpc.Result: `<ok VALUE>` or `<error DETAIL>`. */
export type RpcResult<T> =
  | { readonly ok: true; readonly value: Value<T> }
  | { readonly ok: false; readonly error: Value<T> };

/** What a bind's observer receives: `<bound PATH-STEP>` or `<error DETAIL>`. */
export type Bound<T> =
  | { readonly bound: true; readonly pathStep: Step<T> }
  | { readonly bound: false; readonly error: Value<T> };

/** A step from its type name (or symbol) and detail. */
export function step<T>(stepType: string | symbol, detail: Value<T>): Step<T> {
  return { stepType: typeof stepType === 'string' ? sym(stepType) : stepType, detail };
}

/** `<TYPE DETAIL>`. */
export function stepToValue<T>(s: Step<T>): Record<T> {
  return new Record<T>(s.stepType, [s.detail]);
}

/** Parses `<TYPE DETAIL>`: a record with a symbol label and exactly one field. */
export function parseStep<T>(v: Value<T>, what = 'step'): Step<T> {
  const r = peel(v);
  if (!(r instanceof Record)) throw new GatekeeperProtocolError(what + ' must be a record <TYPE DETAIL>', v);
  const label = peel(r.label);
  if (typeof label !== 'symbol') throw new GatekeeperProtocolError(what + ' type (label) must be a symbol', v);
  if (r.fields.length !== 1) throw new GatekeeperProtocolError(what + ' must have exactly one detail field', v);
  return { stepType: label, detail: r.fields[0] };
}

function asStep<T>(s: Step<T> | Record<T>, what: string): Step<T> {
  return s instanceof Record ? parseStep(s, what) : s;
}

function fieldsOf<T>(v: Value<T>, label: symbol, arity: number, shape: string): Value<T>[] {
  const r = peel(v);
  if (!(r instanceof Record) || peel(r.label) !== label) throw new GatekeeperProtocolError('expected ' + shape, v);
  if (r.fields.length !== arity) throw new GatekeeperProtocolError(shape + ' needs ' + arity + ' field(s), got ' + r.fields.length, v);
  return r.fields;
}

function embedded<T>(v: Value<T>, what: string, whole: Value<T>): Embedded<T> {
  const e = peel(v);
  if (!(e instanceof Embedded)) throw new GatekeeperProtocolError(what + ' must be an embedded ref', whole);
  return e;
}

/** `<resolve STEP #:observer>`; `step` may be given as its record (it is checked). */
export function resolve<T>(s: Step<T> | Record<T>, observer: Embedded<T>): Record<T> {
  return resolveToValue({ step: asStep(s, 'resolve step'), observer });
}

/** The record of a Resolve. */
export function resolveToValue<T>(r: Resolve<T>): Record<T> {
  return new Record<T>(RESOLVE, [stepToValue(r.step), r.observer]);
}

/** Parses `<resolve STEP #:observer>`. */
export function parseResolve<T>(v: Value<T>): Resolve<T> {
  const f = fieldsOf(v, RESOLVE, 2, '<resolve STEP #:observer>');
  return { step: parseStep(f[0], 'resolve step'), observer: embedded(f[1], 'resolve observer', v) };
}

/** `<bind DESCRIPTION #:target OBSERVER>`, with `#f` for an absent observer. */
export function bind<T>(description: Step<T> | Record<T>, target: Embedded<T>, observer: Embedded<T> | null = null): Record<T> {
  return bindToValue({ description: asStep(description, 'bind description'), target, observer });
}

/** The record of a Bind. */
export function bindToValue<T>(b: Bind<T>): Record<T> {
  return new Record<T>(BIND, [stepToValue(b.description), b.target, b.observer ?? false]);
}

/** Parses `<bind DESCRIPTION #:target OBSERVER>`. */
export function parseBind<T>(v: Value<T>): Bind<T> {
  const f = fieldsOf(v, BIND, 3, '<bind DESCRIPTION #:target OBSERVER>');
  const obs = peel(f[2]);
  return {
    description: parseStep(f[0], 'bind description'),
    target: embedded(f[1], 'bind target', v),
    observer: obs === false ? null : embedded(obs, 'bind observer (or #f)', v),
  };
}

/** `<ok VALUE>` (for the gatekeeper, VALUE is the resolved ref). */
export function ok<T>(value: Value<T>): Record<T> {
  return new Record<T>(OK, [value]);
}

/** `<error DETAIL>`, the failure half of rpc.Result and of Bound. */
export function rpcError<T>(detail: Value<T>): Record<T> {
  return new Record<T>(ERROR, [detail]);
}

/** The record of an rpc.Result. */
export function resultToValue<T>(r: RpcResult<T>): Record<T> {
  return r.ok ? ok(r.value) : rpcError(r.error);
}

/** Parses `<ok VALUE>` / `<error DETAIL>`. */
export function parseResult<T>(v: Value<T>): RpcResult<T> {
  const r = peel(v);
  if (r instanceof Record && r.fields.length === 1) {
    const label = peel(r.label);
    if (label === OK) return { ok: true, value: r.fields[0] };
    if (label === ERROR) return { ok: false, error: r.fields[0] };
  }
  throw new GatekeeperProtocolError('expected <ok VALUE> or <error DETAIL>', v);
}

/** `<bound PATH-STEP>`; the step may be given as its record (it is checked). */
export function bound<T>(pathStep: Step<T> | Record<T>): Record<T> {
  return new Record<T>(BOUND, [stepToValue(asStep(pathStep, 'bound path step'))]);
}

/** The record of a Bound answer. */
export function boundToValue<T>(b: Bound<T>): Record<T> {
  return b.bound ? bound(b.pathStep) : rpcError(b.error);
}

/** Parses `<bound PATH-STEP>` / `<error DETAIL>`. */
export function parseBound<T>(v: Value<T>): Bound<T> {
  const r = peel(v);
  if (r instanceof Record && r.fields.length === 1) {
    const label = peel(r.label);
    if (label === BOUND) return { bound: true, pathStep: parseStep(r.fields[0], 'bound path step') };
    if (label === ERROR) return { bound: false, error: r.fields[0] };
  }
  throw new GatekeeperProtocolError('expected <bound PATH-STEP> or <error DETAIL>', v);
}
