// A request to the bus's control store (`<ctl-persist V #:reply>` and friends), asserted in a
// facet of its own until the store answers: the answer means the change is durable, and stopping
// the facet withdraws the request.
import type { Assertion, Facet, Ref, Turn } from '../../bus/index.ts';
import { parseStoreReply, type StoreReply } from '../../services/control-store.ts';

/** Asserts `build(reply)` at `config` until the store answers; `answered` gets the reply once. Returns the request's facet. */
export function askStore(t: Turn, config: Ref, build: (reply: Ref) => Assertion, answered: (t: Turn, r: StoreReply) => void): Facet {
  let request!: Facet;
  t.facet((t) => {
    t.preventInertCheck();
    request = t.activeFacet;
    let done = false;
    const reply = t.ref({
      message: (t, m) => {
        const r = parseStoreReply(m);
        if (r === null || done) return;
        done = true;
        t.stop(request);
        answered(t, r);
      },
    });
    t.assert(config, build(reply));
  });
  return request;
}
