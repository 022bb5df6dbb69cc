// How a ref travels inside the embedded marker on the wire (spec §6.4): `[0 OID]` names an
// object the sender exported, `[1 OID CAVEAT …]` one the receiver exported earlier.
import { peel, type Value } from '../preserves/index.ts';
import type { Assertion } from '../bus/ref.ts';
import { Caveat, CaveatError } from '../bus/rewrite.ts';
import type { Oid } from './packet.ts';

/** `[0 OID]`: an object exported by the sender of the packet. */
export interface MineWireRef {
  readonly kind: 'mine';
  readonly oid: Oid;
}

/** `[1 OID CAVEAT …]`: an object the receiver exported, to be attenuated by `caveats`. */
export interface YoursWireRef {
  readonly kind: 'yours';
  readonly oid: Oid;
  readonly caveats: readonly Caveat[];
}

/** A ref as named on the wire, from the sender's point of view. */
export type WireRef = MineWireRef | YoursWireRef;

/** A value that is not a well-formed WireRef. */
export class WireRefError extends Error {
  /** The offending value. */
  readonly value: unknown;
  constructor(message: string, value: unknown, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WireRefError';
    this.value = value;
  }
}

/** A "mine" WireRef. */
export function mine(oid: Oid): MineWireRef {
  return { kind: 'mine', oid };
}

/** A "yours" WireRef, optionally attenuated. */
export function yours(oid: Oid, caveats: readonly Caveat[] = []): YoursWireRef {
  return { kind: 'yours', oid, caveats };
}

/**
 * Parses the value found inside an embedded marker. Caveats are compiled with `Caveat.from`, so
 * an unknown caveat form becomes one that rejects everything (as the spec says) while an invalid
 * known form (say, a template naming a capture that does not exist) is a `WireRefError`.
 * The parameter is `Value<any>` because this is the Preserves boundary: readers hand embedded
 * payload values over before their own embedded type is known.
 */
export function parseWireRef(value: Value<any>): WireRef {
  const v = peel(value);
  if (!Array.isArray(v) || v.length < 2) throw new WireRefError('wire ref must be [0 OID] or [1 OID CAVEAT …]', value);
  const tag = peel(v[0]);
  const oid = peel(v[1]);
  if (typeof oid !== 'number' || oid < 0) throw new WireRefError('wire ref oid must be a non-negative integer', value);
  if (tag === 0) {
    if (v.length !== 2) throw new WireRefError('"mine" wire ref [0 OID] takes no caveats', value);
    return mine(oid);
  }
  if (tag === 1) {
    const caveats: Caveat[] = [];
    for (let i = 2; i < v.length; i++) {
      try {
        caveats.push(Caveat.from(v[i] as Assertion));
      } catch (e) {
        if (e instanceof CaveatError) throw new WireRefError('wire ref caveat ' + (i - 2) + ': ' + e.message, value, { cause: e });
        throw e;
      }
    }
    return yours(oid, caveats);
  }
  throw new WireRefError('wire ref must start with 0 (mine) or 1 (yours)', value);
}

/** The Preserves form of a WireRef, to be written inside an embedded marker. */
export function wireRefToValue(w: WireRef): Assertion {
  if (w.kind === 'mine') return [0, w.oid];
  return [1, w.oid, ...w.caveats.map((c) => c.value)];
}
