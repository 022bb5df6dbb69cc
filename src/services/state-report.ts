// The console's view of a booting machine: one line each time a service changes state.
import { P, showAssertion as show, type Ref, type Turn } from '../bus/index.ts';
import { ServicePattern } from './supervision/service-protocol.ts';

/** Prints `SERVICE: STATE` for every service state that appears, `SERVICE: no longer STATE` as one goes. */
export function reportStates(t: Turn, config: Ref, write: (line: string) => void): void {
  t.observe(config, ServicePattern.state(P.bind(), P.bind()), {
    added: (_t, [name, state]) => write(`${show(name)}: ${show(state)}`),
    removed: (_t, [name, state]) => {
      if (show(state) !== 'up') write(`${show(name)}: no longer ${show(state)}`);
    },
  });
}
