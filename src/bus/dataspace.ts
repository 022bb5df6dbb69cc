// The dataspace entity (spec §7.2): a bag of assertions, `<Observe PATTERN #:observer>`
// subscriptions, and message routing, all through the index in skeleton.ts.
import { Embedded, Record, peel, valueKey } from '../preserves/index.ts';
import { Bag, Change } from './bag.ts';
import { log } from './log.ts';
import { PatternError } from './pattern.ts';
import { type Assertion, type Entity, type Handle, type Ref, isRef } from './ref.ts';
import { Index } from './skeleton.ts';
import type { Turn } from './actor.ts';

/** The label of subscription records. */
export const OBSERVE = Symbol.for('Observe');

/** `<Observe PATTERN #:observer>`: the subscription record. */
export function observe(pattern: Assertion, observer: Ref): Assertion {
  return new Record<Ref>(OBSERVE, [pattern, new Embedded<Ref>(observer)]);
}

/** The pattern and observer of an `Observe` record, or `undefined` for any other value. */
export function asObserve(v: Assertion): { pattern: Assertion; observer: Ref } | undefined {
  const x = peel(v);
  if (!(x instanceof Record) || peel(x.label) !== OBSERVE || x.fields.length !== 2) return undefined;
  const e = peel(x.fields[1]);
  if (!(e instanceof Embedded) || !isRef(e.value)) return undefined;
  return { pattern: x.fields[0], observer: e.value };
}

/** A dataspace: holds assertions, routes them and messages to observers whose patterns match. */
export class Dataspace implements Entity {
  private readonly bag = new Bag<Assertion>();
  private readonly handles = new Map<Handle, string>();
  private readonly index = new Index();

  /** A name for log lines. */
  constructor(readonly name = 'dataspace') {}

  assert(t: Turn, v: Assertion, h: Handle): void {
    const k = valueKey(v);
    if (this.handles.has(h)) {
      log({ level: 'warn', actor: t.actor.name, message: this.name + ': handle ' + h + ' asserted twice; ignored' });
      return;
    }
    this.handles.set(h, k);
    if (this.bag.add(k, v) !== Change.Appeared) return;
    this.index.addAssertion(t, v, k);
    const o = asObserve(v);
    if (o !== undefined) {
      try {
        this.index.addObserver(t, o.pattern, o.observer);
      } catch (e) {
        // A malformed pattern is the subscriber's mistake; the dataspace keeps going.
        if (!(e instanceof PatternError)) throw e;
        log({ level: 'warn', actor: t.actor.name, message: this.name + ': ignoring subscription: ' + e.message });
      }
    }
  }

  retract(t: Turn, h: Handle): void {
    const k = this.handles.get(h);
    if (k === undefined) {
      log({ level: 'warn', actor: t.actor.name, message: this.name + ': retraction of unknown handle ' + h });
      return;
    }
    this.handles.delete(h);
    const v = this.bag.get(k)!;
    if (this.bag.remove(k) !== Change.Disappeared) return;
    const o = asObserve(v);
    if (o !== undefined) {
      try {
        this.index.removeObserver(t, o.pattern, o.observer);
      } catch (e) {
        if (!(e instanceof PatternError)) throw e;
      }
    }
    this.index.removeAssertion(t, v, k);
  }

  message(t: Turn, body: Assertion): void {
    this.index.sendMessage(t, body);
  }

  /** How many distinct assertions are held (for tests and inspection). */
  get size(): number {
    return this.bag.size;
  }

  /** The distinct assertions held, in no particular order. */
  assertions(): IterableIterator<Assertion> {
    return this.bag.values();
  }
}
