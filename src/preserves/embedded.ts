import type { Value } from './value.ts';

/**
 * An embedded value. Its payload is opaque to Preserves: a capability, a ref, a handle.
 * Payloads made with `Embedded.generic` are themselves Values (the "IOValue" domain of the
 * test suite and of generic tools) and compare by value; all others compare by identity.
 */
export class Embedded<T = unknown> {
  readonly value: T;
  readonly generic: boolean;
  constructor(value: T, generic = false) {
    this.value = value;
    this.generic = generic;
  }

  /** An embedded whose payload is an ordinary Preserves value. */
  static generic<T>(v: Value<T>): Embedded<T> {
    return new Embedded<T>(v as unknown as T, true);
  }
}

const identities = new WeakMap<object, number>();
const primitiveIdentities = new Map<unknown, number>();
let nextIdentity = 1;

/** A stable number for the identity of an embedded payload, increasing in order of first use. */
export function identityOf(x: unknown): number {
  if ((typeof x === 'object' && x !== null) || typeof x === 'function') {
    let id = identities.get(x);
    if (id === undefined) identities.set(x, (id = nextIdentity++));
    return id;
  }
  let id = primitiveIdentities.get(x);
  if (id === undefined) primitiveIdentities.set(x, (id = nextIdentity++));
  return id;
}
