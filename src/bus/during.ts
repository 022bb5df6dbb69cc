// Subscription helpers on top of `Observe`: `during` (a facet per distinct capture tuple),
// message handlers, and plain assert/retract callbacks.
import { observe } from './dataspace.ts';
import type { Facet, Turn } from './actor.ts';
import type { Pattern } from './pattern.ts';
import type { Assertion, Handle, Ref } from './ref.ts';

/** The values a pattern captured, in pattern order. */
export type Captures = Assertion[];

/** Callbacks for `observeAssertions`: called as each capture tuple appears and disappears. */
export interface AssertionObserver {
  added?(t: Turn, captures: Captures, handle: Handle): void;
  removed?(t: Turn, captures: Captures, handle: Handle): void;
}

/**
 * An entity that runs `body` in a new child facet of the active facet for each assertion it
 * receives (kept even if inert), and stops that facet when the assertion is retracted.
 */
export function facetPerAssertion(t: Turn, body: (t: Turn, v: Assertion) => void): Ref {
  const facets = new Map<Handle, Facet>();
  return t.ref({
    assert(t, v, h) {
      facets.set(h, t.facet((t) => {
        t.preventInertCheck();
        body(t, v);
      }));
    },
    retract(t, h) {
      const f = facets.get(h);
      if (f === undefined) return;
      facets.delete(h);
      t.stop(f);
    },
  });
}

/**
 * Subscribes the active facet to `pattern` at `ds`; each distinct capture tuple gets its own
 * child facet running `body`, stopped when the tuple is retracted. Returns the subscription's handle.
 */
export function during(t: Turn, ds: Ref, pattern: Pattern, body: (t: Turn, captures: Captures) => void): Handle {
  return t.assert(ds, observe(pattern, facetPerAssertion(t, (t, v) => body(t, v as Captures))));
}

/** Runs `handler` in the active facet for every message at `ds` matching `pattern`. */
export function onMessage(t: Turn, ds: Ref, pattern: Pattern, handler: (t: Turn, captures: Captures) => void): Handle {
  const observer = t.ref({ message: (t, v) => handler(t, v as Captures) });
  return t.assert(ds, observe(pattern, observer));
}

/** Calls `o.added` / `o.removed` in the active facet as matching capture tuples come and go. */
export function observeAssertions(t: Turn, ds: Ref, pattern: Pattern, o: AssertionObserver): Handle {
  const live = new Map<Handle, Captures>();
  const observer = t.ref({
    assert(t, v, h) {
      live.set(h, v as Captures);
      o.added?.(t, v as Captures, h);
    },
    retract(t, h) {
      const c = live.get(h);
      if (c === undefined) return;
      live.delete(h);
      o.removed?.(t, c, h);
    },
  });
  return t.assert(ds, observe(pattern, observer));
}
