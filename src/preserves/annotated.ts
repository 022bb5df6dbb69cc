import type { Position } from './errors.ts';
import type { Value } from './value.ts';
import { Record } from './record.ts';
import { Dictionary } from './dictionary.ts';
import { KeyedSet } from './keyed-set.ts';
import { Embedded } from './embedded.ts';

/**
 * A value with annotations and/or its source position. Not part of the data model: equality,
 * order and hashing look through it. Readers produce it only when asked to.
 */
export class Annotated<T = unknown> {
  readonly item: Value<T>;
  readonly annotations: Value<T>[];
  readonly pos: Position | null;
  constructor(item: Value<T>, annotations: Value<T>[] = [], pos: Position | null = null) {
    this.item = item;
    this.annotations = annotations;
    this.pos = pos;
  }
}

/** Adds annotations in front of any a value already has. */
export function annotate<T>(v: Value<T>, ...anns: Value<T>[]): Annotated<T> {
  if (v instanceof Annotated) return new Annotated(v.item, [...anns, ...v.annotations], v.pos);
  return new Annotated(v, anns);
}

/** The value under any annotations, at the top level only. */
export function peel<T>(v: Value<T>): Value<T> {
  while (v instanceof Annotated) v = v.item;
  return v;
}

/** The source position of a value read with positions on, if any. */
export function positionOf<T>(v: Value<T>): Position | null {
  return v instanceof Annotated ? v.pos : null;
}

/** The annotations of a value (an empty list when there are none). */
export function annotationsOf<T>(v: Value<T>): Value<T>[] {
  return v instanceof Annotated ? v.annotations : [];
}

/** Removes annotations at every depth. */
export function strip<T>(v: Value<T>): Value<T> {
  v = peel(v);
  if (Array.isArray(v)) return v.map(strip);
  if (v instanceof Record) return new Record(strip(v.label), v.fields.map(strip));
  if (v instanceof KeyedSet) {
    const s = new KeyedSet<T>();
    for (const x of v) s.add(strip(x));
    return s;
  }
  if (v instanceof Dictionary) {
    const d = new Dictionary<T>();
    for (const [k, x] of v) d.set(strip(k), strip(x));
    return d;
  }
  if (v instanceof Embedded && v.generic) return Embedded.generic(strip(v.value as Value<T>));
  return v;
}
