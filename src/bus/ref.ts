// Entities, the refs that reach them, and assertion handles (spec §6.2).
import type { Value } from '../preserves/index.ts';
import type { Facet, Turn } from './actor.ts';
import type { Caveat } from './rewrite.ts';

/** An assertion handle: chosen by the asserting side, unique among its live assertions. */
export type Handle = number;

/** What travels through refs: Preserves values whose embeddeds are refs. */
export type Assertion = Value<Ref>;

/**
 * An object reachable through refs. Every method is optional: an entity ignores the events it
 * does not implement, except `sync`, which by default answers at once.
 */
export interface Entity {
  assert?(turn: Turn, value: Assertion, handle: Handle): void;
  retract?(turn: Turn, handle: Handle): void;
  message?(turn: Turn, body: Assertion): void;
  sync?(turn: Turn, peer: Ref): void;
}

/**
 * A capability: an entity, the facet whose actor runs it, and caveats (applied right to left)
 * that filter and rewrite everything sent through this ref.
 */
export interface Ref {
  readonly relay: Facet;
  readonly target: Entity;
  readonly attenuation?: readonly Caveat[];
}

/** True for a value shaped like a ref (refs are plain objects so other layers may make them). */
export function isRef(x: unknown): x is Ref {
  return typeof x === 'object' && x !== null && 'relay' in x && 'target' in x;
}
