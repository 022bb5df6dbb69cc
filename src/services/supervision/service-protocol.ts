// The records of the service protocol (spec §4.1), declared once: constructors and parsers.
import { Record, peel, sym } from '../../preserves/index.ts';
import { P, type Assertion, type Pattern, type Ref } from '../../bus/index.ts';

const $require = sym('require-service'), $run = sym('run-service'), $dependsOn = sym('depends-on');
const $hold = sym('service-hold');
const $state = sym('service-state'), $object = sym('service-object'), $restart = sym('restart-service');

/** The states the server itself publishes; scripts may publish others. */
export type ServiceState = 'started' | 'ready' | 'failed' | 'complete' | 'up';

/** Constructors for service records. */
export const Service = {
  /** `<require-service NAME>`: run it, after its dependencies. */
  require: (name: Assertion): Assertion => new Record<Ref>($require, [name]),
  /** `<run-service NAME>`: run it now. */
  run: (name: Assertion): Assertion => new Record<Ref>($run, [name]),
  /** `<depends-on NAME DEP>`: NAME may run only while DEP is asserted. */
  dependsOn: (name: Assertion, dep: Assertion): Assertion => new Record<Ref>($dependsOn, [name, dep]),
  /** `<service-state NAME STATE>`. */
  state: (name: Assertion, state: ServiceState | Assertion): Assertion =>
    new Record<Ref>($state, [name, typeof state === 'string' ? sym(state) : state]),
  /** `<service-object NAME VALUE>`. */
  object: (name: Assertion, value: Assertion): Assertion => new Record<Ref>($object, [name, value]),
  /** `<restart-service NAME>` (a message). */
  restart: (name: Assertion): Assertion => new Record<Ref>($restart, [name]),
  /** `<service-hold NAME>`: keep NAME from running, even if required (our extension). */
  hold: (name: Assertion): Assertion => new Record<Ref>($hold, [name]),
};

/** Patterns over service records (for subscriptions). */
export const ServicePattern = {
  require: (name: Pattern): Pattern => P.rec($require, name),
  run: (name: Pattern): Pattern => P.rec($run, name),
  dependsOn: (name: Pattern, dep: Pattern): Pattern => P.rec($dependsOn, name, dep),
  state: (name: Pattern, state: Pattern): Pattern => P.rec($state, name, state),
  object: (name: Pattern, value: Pattern): Pattern => P.rec($object, name, value),
  restart: (name: Pattern): Pattern => P.rec($restart, name),
  hold: (name: Pattern): Pattern => P.rec($hold, name),
};

/** The service named by a `<service-state NAME STATE>` record, or undefined for anything else. */
export function parseServiceState(v: Assertion): { name: Assertion; state: Assertion } | undefined {
  const x = peel(v);
  if (!(x instanceof Record) || peel(x.label) !== $state || x.fields.length !== 2) return undefined;
  return { name: x.fields[0], state: x.fields[1] };
}
