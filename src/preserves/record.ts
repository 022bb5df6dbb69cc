import type { Value } from './value.ts';
import { peel } from './annotated.ts';

/** A Preserves Record: a label (usually a symbol) and an ordered list of fields. */
export class Record<T = unknown> {
  readonly label: Value<T>;
  readonly fields: Value<T>[];
  /**
   * `valueKey` of this record, kept by key.ts once computed when nothing inside can change
   * (atoms, embeddeds and such records only). Private: invisible to deep equality and copies.
   */
  #key: string | undefined = undefined;
  constructor(label: Value<T>, fields: Value<T>[]) {
    this.label = label;
    this.fields = fields;
  }

  /** @internal The memoised `valueKey` (see key.ts), if any. */
  get memoKey(): string | undefined {
    return this.#key;
  }

  /** @internal Set by key.ts only. */
  set memoKey(k: string | undefined) {
    this.#key = k;
  }

  get length(): number {
    return this.fields.length;
  }

  /** True when the label is the symbol named `name` (annotations on the label ignored). */
  hasLabel(name: string): boolean {
    const l = peel(this.label);
    return typeof l === 'symbol' && l.description === name;
  }
}

/** Makes a record whose label is the symbol `name`. */
export function record<T = unknown>(name: string, ...fields: Value<T>[]): Record<T> {
  return new Record<T>(Symbol.for(name), fields);
}
