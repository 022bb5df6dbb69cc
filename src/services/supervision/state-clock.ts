// Records when each service state appeared, so that inspection can say how long a service has
// been in its state: `<service-state-since NAME STATE "RFC3339">` for every present state.
import { Record, sym } from '../../preserves/index.ts';
import { P, type Ref, type Turn } from '../../bus/index.ts';
import { rfc3339 } from '../../config-lang/evaluator.ts';
import { ServicePattern } from './service-protocol.ts';

const $since = sym('service-state-since');

/** Runs the state clock in the active facet. */
export function startStateClock(t: Turn, config: Ref): void {
  t.during(config, ServicePattern.state(P.bind(), P.bind()), (t, [name, state]) => {
    t.assert(config, new Record<Ref>($since, [name, state, rfc3339(new Date())]));
  });
}
