// Records when each service state appeared, so that inspection can say how long a service has
// been in its state: `<service-state-since NAME STATE "RFC3339">` for every present state.
import { Record, sym } from '../../preserves/index.ts';
import { P, type Handle, type Ref, type Turn } from '../../bus/index.ts';
import { rfc3339 } from '../../config-lang/evaluator.ts';
import { ServicePattern } from './service-protocol.ts';

const $since = sym('service-state-since');

/** Runs the state clock in the active facet. */
export function startStateClock(t: Turn, config: Ref): void {
  // Plain callbacks and a handle map rather than a facet per state: states come by the
  // thousand when a system boots, and a facet each was a measurable share of that.
  const since = new Map<Handle, Handle>();
  let lastMs = -1;
  let lastText = '';
  t.observe(config, ServicePattern.state(P.bind(), P.bind()), {
    added: (t, [name, state], h) => {
      const ms = Date.now();
      if (ms !== lastMs) {
        lastMs = ms;
        lastText = rfc3339(new Date(ms));
      }
      since.set(h, t.assert(config, new Record<Ref>($since, [name, state, lastText])));
    },
    removed: (t, _captures, h) => {
      const s = since.get(h);
      if (s === undefined) return;
      since.delete(h);
      t.retract(s);
    },
  });
}
