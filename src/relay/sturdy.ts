// Sturdy refs (spec §5.1): macaroon-style bearer capabilities `<ref {oid: … sig: … [caveats: […]]}>`
// and the bind-side description `<ref {oid: … key: …}>` that holds the secret they are checked
// against. This module owns both record shapes and the signature chain.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { Bytes, Dictionary, EncodeError, Record, canonicalEncode, peel, sym, type Value } from '../preserves/index.ts';
import type { Assertion, Ref } from '../bus/ref.ts';
import { Caveat, CaveatError } from '../bus/rewrite.ts';

/** Length of a sturdy-ref signature: HMAC-BLAKE2s-256 truncated to 128 bits. */
export const SIGNATURE_LENGTH = 16;

/** The step type (record label) of sturdy refs and sturdy bind descriptions. */
export const STURDY_STEP_TYPE: symbol = sym('ref');

const OID = sym('oid');
const SIG = sym('sig');
const KEY = sym('key');
const CAVEATS = sym('caveats');

/**
 * A sturdy ref: an OID, caveats (stored left to right, applied right to left) and the signature
 * chained over both. `invalidCaveats` holds a `caveats` field that was not a sequence: such a ref
 * still parses (as in the Rust schema) but never validates.
 */
export interface SturdyRef<T = unknown> {
  readonly oid: Value<T>;
  readonly caveats: readonly Value<T>[];
  readonly sig: Uint8Array;
  readonly invalidCaveats?: Value<T>;
}

/** The bind-side description of a sturdy ref: the OID and the secret key signatures derive from. */
export interface SturdyDescription<T = unknown> {
  readonly oid: Value<T>;
  readonly key: Uint8Array;
}

/** A malformed sturdy ref or description, or a caveat that cannot be added. */
export class SturdyRefError extends Error {
  /** The offending value. */
  readonly value: unknown;
  constructor(message: string, value: unknown, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SturdyRefError';
    this.value = value;
  }
}

/** `f(k, d)` of the spec: HMAC-BLAKE2s-256 of `data` under `key`, truncated to 16 bytes. */
export function sturdyMac(key: Uint8Array, data: Uint8Array): Uint8Array {
  const full = createHmac('blake2s256', key).update(data).digest();
  return new Uint8Array(full.subarray(0, SIGNATURE_LENGTH));
}

/** Continues a signature chain over `caveats`: each step keys the MAC with the previous one. */
export function chainSignature<T>(sig: Uint8Array, caveats: readonly Value<T>[]): Uint8Array {
  for (const c of caveats) sig = sturdyMac(sig, canonicalEncode(c));
  return sig;
}

/** `f(…f(f(key, bin(oid)), bin(caveat1))…, bin(caveatN))` with `bin` the canonical binary form. */
export function sturdySignature<T>(key: Uint8Array, oid: Value<T>, caveats: readonly Value<T>[] = []): Uint8Array {
  return chainSignature(sturdyMac(key, canonicalEncode(oid)), caveats);
}

/** Compiles caveats so a malformed one is refused where it is added, not when first used. */
function checkCaveats<T>(caveats: readonly Value<T>[], whole: unknown): void {
  caveats.forEach((c, i) => {
    try {
      // Sturdy refs are plain data; compiling only inspects structure, whatever T is.
      Caveat.from(c as unknown as Assertion);
    } catch (e) {
      if (e instanceof CaveatError) throw new SturdyRefError('caveat ' + i + ': ' + e.message, whole, { cause: e });
      throw e;
    }
  });
}

/** Mints a sturdy ref for `oid` under `key`, optionally already attenuated by `caveats`. */
export function mintSturdyRef<T>(key: Uint8Array, oid: Value<T>, caveats: readonly Value<T>[] = []): SturdyRef<T> {
  checkCaveats(caveats, oid);
  return { oid, caveats: [...caveats], sig: sturdySignature(key, oid, caveats) };
}

/**
 * Adds caveats to a sturdy ref without knowing its key (the macaroon property): the new
 * signature continues the chain from the old one.
 */
export function attenuateSturdyRef<T>(ref: SturdyRef<T>, caveats: readonly Value<T>[]): SturdyRef<T> {
  if (ref.invalidCaveats !== undefined) throw new SturdyRefError('cannot attenuate a sturdy ref whose caveats field is invalid', ref.invalidCaveats);
  checkCaveats(caveats, ref.oid);
  return { oid: ref.oid, caveats: [...ref.caveats, ...caveats], sig: chainSignature(ref.sig, caveats) };
}

/** True when `ref`'s signature is the one `key` yields for its OID and caveats. */
export function validateSturdyRef<T>(ref: SturdyRef<T>, key: Uint8Array): boolean {
  if (ref.invalidCaveats !== undefined || ref.sig.length !== SIGNATURE_LENGTH) return false;
  let expected: Uint8Array;
  try {
    expected = sturdySignature(key, ref.oid, ref.caveats);
  } catch (e) {
    // An OID or caveat holding an embedded has no canonical form and so no valid signature.
    if (e instanceof EncodeError) return false;
    throw e;
  }
  return timingSafeEqual(expected, ref.sig);
}

/**
 * The ref's caveats compiled, in stored order: `attenuate(target, ...sturdyCaveats(ref))` then
 * applies them right to left, as the spec requires.
 */
export function sturdyCaveats(ref: SturdyRef<Ref>): Caveat[] {
  return ref.caveats.map((c, i) => {
    try {
      return Caveat.from(c);
    } catch (e) {
      if (e instanceof CaveatError) throw new SturdyRefError('caveat ' + i + ': ' + e.message, c, { cause: e });
      throw e;
    }
  });
}

/** `<ref {oid: … sig: … [caveats: […]]}>`; the caveats field is left out when there are none. */
export function sturdyRefToValue<T>(ref: SturdyRef<T>): Record<T> {
  const d = new Dictionary<T>();
  d.set(OID, ref.oid);
  d.set(SIG, new Bytes(ref.sig));
  if (ref.invalidCaveats !== undefined) d.set(CAVEATS, ref.invalidCaveats);
  else if (ref.caveats.length > 0) d.set(CAVEATS, [...ref.caveats]);
  return new Record<T>(STURDY_STEP_TYPE, [d]);
}

function detailDict<T>(detail: Value<T>, what: string): Dictionary<T> {
  const d = peel(detail);
  if (!(d instanceof Dictionary)) throw new SturdyRefError(what + ' detail must be a dictionary', detail);
  return d;
}

function required<T>(d: Dictionary<T>, key: symbol, what: string, whole: Value<T>): Value<T> {
  const v = d.get(key);
  if (v === undefined) throw new SturdyRefError(what + ' lacks ' + key.description, whole);
  return v;
}

function bytesField<T>(d: Dictionary<T>, key: symbol, what: string, whole: Value<T>): Uint8Array {
  const v = peel(required(d, key, what, whole));
  if (!(v instanceof Bytes)) throw new SturdyRefError(what + ' ' + key.description + ' must be a byte string', whole);
  return v.bytes;
}

/** Parses the detail of a `ref` step (the dictionary inside `<ref …>`). Extra keys are ignored. */
export function parseSturdyRefDetail<T>(detail: Value<T>): SturdyRef<T> {
  const d = detailDict(detail, 'sturdy ref');
  const oid = required(d, OID, 'sturdy ref', detail);
  const sig = bytesField(d, SIG, 'sturdy ref', detail);
  const field = d.get(CAVEATS);
  if (field === undefined) return { oid, caveats: [], sig };
  const cs = peel(field);
  if (!Array.isArray(cs)) return { oid, caveats: [], sig, invalidCaveats: field };
  return { oid, caveats: cs, sig };
}

function stepDetail<T>(v: Value<T>, what: string): Value<T> {
  const r = peel(v);
  if (!(r instanceof Record) || peel(r.label) !== STURDY_STEP_TYPE || r.fields.length !== 1) {
    throw new SturdyRefError(what + ' must be <ref {…}>', v);
  }
  return r.fields[0];
}

/** Parses `<ref {oid: … sig: … [caveats: […]]}>`. */
export function parseSturdyRef<T>(v: Value<T>): SturdyRef<T> {
  return parseSturdyRefDetail(stepDetail(v, 'sturdy ref'));
}

/** `<ref {oid: … key: …}>`, the description a sturdy `<bind …>` carries. */
export function sturdyDescriptionToValue<T>(desc: SturdyDescription<T>): Record<T> {
  const d = new Dictionary<T>();
  d.set(OID, desc.oid);
  d.set(KEY, new Bytes(desc.key));
  return new Record<T>(STURDY_STEP_TYPE, [d]);
}

/** Parses the detail of a sturdy bind description (the dictionary inside `<ref …>`). */
export function parseSturdyDescriptionDetail<T>(detail: Value<T>): SturdyDescription<T> {
  const d = detailDict(detail, 'sturdy description');
  return { oid: required(d, OID, 'sturdy description', detail), key: bytesField(d, KEY, 'sturdy description', detail) };
}

/** Parses `<ref {oid: … key: …}>`. */
export function parseSturdyDescription<T>(v: Value<T>): SturdyDescription<T> {
  return parseSturdyDescriptionDetail(stepDetail(v, 'sturdy description'));
}

/** The sturdy ref a bind description yields: its OID signed with its key. */
export function sturdyRefFor<T>(desc: SturdyDescription<T>): SturdyRef<T> {
  return mintSturdyRef(desc.key, desc.oid);
}
