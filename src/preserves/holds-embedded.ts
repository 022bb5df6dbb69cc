// Whether a value holds an embedded anywhere: such a value has no plain-data form (a file, a
// script, a setting) and must be refused before it is written.
import { peel } from './annotated.ts';
import { Dictionary } from './dictionary.ts';
import { Embedded } from './embedded.ts';
import { KeyedSet } from './keyed-set.ts';
import { Record } from './record.ts';
import type { Value } from './value.ts';

/** True when `v` holds an embedded value anywhere (label, field, element, key or value). */
export function holdsEmbedded(v: Value<unknown>): boolean {
  const x = peel(v);
  if (x instanceof Embedded) return true;
  if (x instanceof Record) return holdsEmbedded(x.label) || x.fields.some(holdsEmbedded);
  if (Array.isArray(x)) return x.some(holdsEmbedded);
  if (x instanceof KeyedSet) return [...x].some(holdsEmbedded);
  if (x instanceof Dictionary) return [...x].some(([k, y]) => holdsEmbedded(k) || holdsEmbedded(y));
  return false;
}
