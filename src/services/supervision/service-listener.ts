// Starting a built-in service the same way for all of them: watch `<run-service PATTERN>` in
// the config dataspace and supervise one instance per distinct service record.
import { type Assertion, type Captures, type Pattern, type Ref, type Turn } from '../../bus/index.ts';
import { ServicePattern } from './service-protocol.ts';
import { supervise, type RestartPolicy } from './supervisor.ts';

/** How a kind of service is recognised and run. */
export interface ServiceKind {
  /** A name for logs, e.g. `daemon`. */
  readonly kind: string;
  /** The pattern of the service record; its first capture must be the whole record. */
  readonly pattern: Pattern;
  readonly policy: RestartPolicy;
  /** Boots one instance in its own actor; `name` is the whole service record. */
  boot(t: Turn, name: Assertion, captures: Captures): void;
}

/** Listens in the active facet for `<run-service ...>` of this kind and supervises each instance. */
export function serviceListener(t: Turn, config: Ref, kind: ServiceKind): void {
  t.during(config, ServicePattern.run(kind.pattern), (t, captures) => {
    const name = captures[0];
    supervise(t, { name, config, policy: kind.policy, actorName: kind.kind }, (t) => kind.boot(t, name, captures));
  });
}
