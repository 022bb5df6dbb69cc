// A deliberately naive dataspace for tests and as the benchmark baseline: every assertion and
// message is matched against every observer in turn, with the direct matcher of pattern.ts.
import { valueKey } from '../../src/preserves/index.ts';
import { Bag, Change } from '../../src/bus/bag.ts';
import { asObserve } from '../../src/bus/dataspace.ts';
import { compilePattern, match, type CompiledPattern } from '../../src/bus/pattern.ts';
import type { Turn } from '../../src/bus/actor.ts';
import type { Assertion, Entity, Handle, Ref } from '../../src/bus/ref.ts';

interface NaiveObserver {
  readonly key: string;
  readonly pattern: CompiledPattern;
  readonly ref: Ref;
  readonly captures: Bag<Assertion[]>;
  readonly handles: Map<string, Handle>;
}

/** A linear-scan dataspace with the same observable behaviour as the indexed one. */
export class NaiveDataspace implements Entity {
  private readonly bag = new Bag<Assertion>();
  private readonly handles = new Map<Handle, string>();
  private observers: NaiveObserver[] = [];

  assert(t: Turn, v: Assertion, h: Handle): void {
    const k = valueKey(v);
    this.handles.set(h, k);
    if (this.bag.add(k, v) !== Change.Appeared) return;
    for (const o of this.observers) {
      const cs = match(o.pattern, v);
      if (cs === undefined) continue;
      const ck = valueKey(cs);
      if (o.captures.add(ck, cs) === Change.Appeared) o.handles.set(ck, t.assert(o.ref, cs));
    }
    const ob = asObserve(v);
    if (ob === undefined) return;
    const o: NaiveObserver = { key: k, pattern: compilePattern(ob.pattern), ref: ob.observer, captures: new Bag(), handles: new Map() };
    this.observers.push(o);
    for (const x of this.bag.values()) {
      const cs = match(o.pattern, x);
      if (cs === undefined) continue;
      const ck = valueKey(cs);
      if (o.captures.add(ck, cs) === Change.Appeared) o.handles.set(ck, t.assert(o.ref, cs));
    }
  }

  retract(t: Turn, h: Handle): void {
    const k = this.handles.get(h);
    if (k === undefined) return;
    this.handles.delete(h);
    const v = this.bag.get(k)!;
    if (this.bag.remove(k) !== Change.Disappeared) return;
    const i = this.observers.findIndex((o) => o.key === k);
    if (i >= 0) {
      const [o] = this.observers.splice(i, 1);
      for (const hd of o.handles.values()) t.retract(hd);
    }
    for (const o of this.observers) {
      const cs = match(o.pattern, v);
      if (cs === undefined) continue;
      const ck = valueKey(cs);
      if (o.captures.remove(ck) === Change.Disappeared) {
        t.retract(o.handles.get(ck));
        o.handles.delete(ck);
      }
    }
  }

  message(t: Turn, body: Assertion): void {
    for (const o of this.observers) {
      const cs = match(o.pattern, body);
      if (cs !== undefined) t.message(o.ref, cs);
    }
  }
}
