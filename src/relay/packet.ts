// The Syndicate wire packet (spec §6.1), owned here so no other module picks packets apart by
// hand. Generic over the embedded type: the same code reads packets whose embeddeds are still
// WireRefs and packets whose embeddeds the relay has already mapped to refs.
import { Embedded, Record, peel, sym, type Value } from '../preserves/index.ts';
import type { Handle } from '../bus/ref.ts';

/** An object id on one connection: each side numbers what it exports from 0, never reusing. */
export type Oid = number;

/** `<A ASSERTION HANDLE>`: publish an assertion under a handle chosen by the sender. */
export interface AssertEvent<T> {
  readonly type: 'assert';
  readonly assertion: Value<T>;
  readonly handle: Handle;
}

/** `<R HANDLE>`: withdraw the assertion the sender published under `handle`. */
export interface RetractEvent {
  readonly type: 'retract';
  readonly handle: Handle;
}

/** `<M BODY>`: a message. */
export interface MessageEvent<T> {
  readonly type: 'message';
  readonly body: Value<T>;
}

/** `<S #:PEER>`: sync; the target answers by sending `#t` to `peer`. */
export interface SyncEvent<T> {
  readonly type: 'sync';
  readonly peer: Embedded<T>;
}

/** One event of a turn. */
export type PacketEvent<T> = AssertEvent<T> | RetractEvent | MessageEvent<T> | SyncEvent<T>;

/** `[OID EVENT]`: an event addressed to the object the receiver exported as `oid`. */
export interface TurnEntry<T> {
  readonly oid: Oid;
  readonly event: PacketEvent<T>;
}

/** `[[OID EVENT] …]`: one atomic batch of events, committed as one local turn by the receiver. */
export interface TurnPacket<T> {
  readonly type: 'turn';
  readonly events: readonly TurnEntry<T>[];
}

/** `<error "message" DETAIL>`: the sender is terminating the connection with this error. */
export interface ErrorPacket<T> {
  readonly type: 'error';
  readonly message: string;
  readonly detail: Value<T>;
}

/** Any other record `<label field …>`: an extension, logged and ignored by receivers. */
export interface ExtensionPacket<T> {
  readonly type: 'extension';
  readonly label: Value<T>;
  readonly fields: readonly Value<T>[];
}

/** `#f`: does nothing (also usable as padding, byte 0x80). */
export interface NopPacket {
  readonly type: 'nop';
}

/** A whole wire packet. */
export type Packet<T> = TurnPacket<T> | ErrorPacket<T> | ExtensionPacket<T> | NopPacket;

/** A value that is not a well-formed packet; `message` says which part is wrong. */
export class PacketError extends Error {
  /** The value that failed to parse (the whole packet). */
  readonly packet: unknown;
  constructor(message: string, packet: unknown, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PacketError';
    this.packet = packet;
  }
}

const A = sym('A');
const R = sym('R');
const M = sym('M');
const S = sym('S');
const ERROR = sym('error');

/** An Assert event. */
export function assertEvent<T>(assertion: Value<T>, handle: Handle): AssertEvent<T> {
  return { type: 'assert', assertion, handle };
}

/** A Retract event. */
export function retractEvent(handle: Handle): RetractEvent {
  return { type: 'retract', handle };
}

/** A Message event. */
export function messageEvent<T>(body: Value<T>): MessageEvent<T> {
  return { type: 'message', body };
}

/** A Sync event. */
export function syncEvent<T>(peer: Embedded<T>): SyncEvent<T> {
  return { type: 'sync', peer };
}

/** A Turn packet. */
export function turnPacket<T>(events: readonly TurnEntry<T>[]): TurnPacket<T> {
  return { type: 'turn', events };
}

/** An Error packet. */
export function errorPacket<T>(message: string, detail: Value<T>): ErrorPacket<T> {
  return { type: 'error', message, detail };
}

/** An Extension packet; `label` must not be the symbol `error` (that would read back as Error). */
export function extensionPacket<T>(label: Value<T>, fields: readonly Value<T>[]): ExtensionPacket<T> {
  return { type: 'extension', label, fields };
}

/** The Nop packet. */
export const NOP: NopPacket = { type: 'nop' };

/**
 * Reads a non-negative integer field. Bigints are refused: both sides count from 0 and a peer
 * cannot legitimately reach 2^53 of anything on one connection.
 */
function natural<T>(v: Value<T>, what: string, whole: Value<T>): number {
  const x = peel(v);
  if (typeof x === 'number' && x >= 0) return x;
  throw new PacketError(what + ' must be a non-negative integer', whole);
}

function parseEvent<T>(v: Value<T>, where: string, whole: Value<T>): PacketEvent<T> {
  const e = peel(v);
  if (!(e instanceof Record)) throw new PacketError(where + ': event must be a record <A …>, <R …>, <M …> or <S …>', whole);
  const label = peel(e.label);
  const f = e.fields;
  switch (label) {
    case A:
      if (f.length !== 2) throw new PacketError(where + ': assert needs 2 fields (assertion, handle), got ' + f.length, whole);
      return assertEvent(f[0], natural(f[1], where + ': assert handle', whole));
    case R:
      if (f.length !== 1) throw new PacketError(where + ': retract needs 1 field (handle), got ' + f.length, whole);
      return retractEvent(natural(f[0], where + ': retract handle', whole));
    case M:
      if (f.length !== 1) throw new PacketError(where + ': message needs 1 field (body), got ' + f.length, whole);
      return messageEvent(f[0]);
    case S: {
      if (f.length !== 1) throw new PacketError(where + ': sync needs 1 field (peer), got ' + f.length, whole);
      const peer = peel(f[0]);
      if (!(peer instanceof Embedded)) throw new PacketError(where + ': sync peer must be an embedded ref', whole);
      return syncEvent(peer);
    }
  }
  throw new PacketError(where + ': unknown event label ' + describeLabel(label), whole);
}

function describeLabel(label: unknown): string {
  return typeof label === 'symbol' ? label.description ?? '' : 'of kind ' + (typeof label === 'object' ? 'compound' : typeof label);
}

/**
 * The packet a value denotes, trying the alternatives in the schema's order: `<error "…" D>` is
 * an Error, any other record (including a malformed `<error …>`) an Extension, `#f` a Nop, a
 * sequence a Turn. Throws `PacketError` for anything else; turn events are numbered from 0.
 */
export function parsePacket<T>(value: Value<T>): Packet<T> {
  const v = peel(value);
  if (v instanceof Record) {
    const f = v.fields;
    if (peel(v.label) === ERROR && f.length === 2) {
      const message = peel(f[0]);
      if (typeof message === 'string') return errorPacket(message, f[1]);
    }
    return extensionPacket(v.label, f);
  }
  if (v === false) return NOP;
  if (Array.isArray(v)) {
    const events: TurnEntry<T>[] = new Array(v.length);
    for (let i = 0; i < v.length; i++) {
      const where = 'turn event ' + i;
      const entry = peel(v[i]);
      if (!Array.isArray(entry) || entry.length !== 2) throw new PacketError(where + ': must be a two-element sequence [OID EVENT]', value);
      events[i] = { oid: natural(entry[0], where + ': oid', value), event: parseEvent(entry[1], where, value) };
    }
    return turnPacket(events);
  }
  throw new PacketError('packet must be a turn (sequence), a record or #f', value);
}

function eventToValue<T>(e: PacketEvent<T>): Value<T> {
  switch (e.type) {
    case 'assert': return new Record<T>(A, [e.assertion, e.handle]);
    case 'retract': return new Record<T>(R, [e.handle]);
    case 'message': return new Record<T>(M, [e.body]);
    case 'sync': return new Record<T>(S, [e.peer]);
  }
}

/** The Preserves form of a packet (the inverse of `parsePacket`). */
export function packetToValue<T>(p: Packet<T>): Value<T> {
  switch (p.type) {
    case 'turn': return p.events.map((x): Value<T> => [x.oid, eventToValue(x.event)]);
    case 'error': return new Record<T>(ERROR, [p.message, p.detail]);
    case 'extension': return new Record<T>(p.label, [...p.fields]);
    case 'nop': return false;
  }
}
