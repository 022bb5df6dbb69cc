// `<gatekeeper $bindspace>` as a service (spec §5.1): an extra gatekeeper resolving against
// another bind-space, published as `<service-object <gatekeeper $bindspace> #:gk>`, then ready.
import { Embedded, peel } from '../../preserves/index.ts';
import { P, isRef, type Ref } from '../../bus/index.ts';
import { createGatekeeper } from '../../relay/gatekeeper.ts';
import { Service } from '../supervision/service-protocol.ts';
import type { ServiceKind } from '../supervision/service-listener.ts';

/** The gatekeeper service kind, publishing into `config`. */
export function gatekeeperService(config: Ref): ServiceKind {
  return {
    kind: 'gatekeeper',
    pattern: P.bind(P.rec('gatekeeper', P.bind())),
    policy: 'always',
    boot(t, name, [, bindspace]) {
      const b = peel(bindspace);
      if (!(b instanceof Embedded) || !isRef(b.value)) throw new Error('gatekeeper: the bind-space must be a ref');
      const gk = createGatekeeper(t, b.value);
      t.assert(config, Service.object(name, new Embedded<Ref>(gk)));
      t.assert(config, Service.state(name, 'ready'));
    },
  };
}
