// The relay (spec §6): an entity graph on one side of a byte stream pair mirrored into the
// other. Objects we export get OIDs from our own counter; objects the peer exports are
// represented here by proxies. Both tables count, per OID, the live assertions (either
// direction) and pending syncs that mention it, and drop the mapping when the count reaches
// zero — there is no release message, both sides infer it from retractions (§6.4).
//
// Inbound: each Turn packet is one local turn of the relay's facet. Outbound: proxies buffer the
// events a local turn addressed to them and send them as one Turn packet when that turn commits.
import {
  Bytes, Dictionary, Embedded, KeyedSet, Record, Annotated, type Value,
} from '../preserves/index.ts';
import { log, type Facet, type Turn } from '../bus/index.ts';
import type { Assertion, Entity, Handle, Ref } from '../bus/ref.ts';
import { attenuate } from '../bus/rewrite.ts';
import { errorPacket, turnPacket, type Oid, type Packet, type PacketEvent, type TurnEntry } from './packet.ts';
import { PacketReader, PacketWriter, type ReadResult, type Syntax } from './framing.ts';
import { mine, parseWireRef, wireRefToValue, yours, type WireRef } from './wire-ref.ts';
import { RelayBudget, UNLIMITED_RELAY_LIMITS, type RelayLimits } from './limits.ts';

/** Options of `attachRelay`. */
export interface RelayOptions {
  /** Initial output syntax; switched to mirror each packet received (§6.6). */
  syntax: Syntax;
  /** Pretend the peer exported OID 0 to us; `peer` is then its proxy. */
  importOid0?: boolean;
  /** Exported as our OID 0 (pinned for the relay's life). */
  exportRef?: Ref;
  /** For log lines. */
  name: string;
  /** Called once, after the streams are closed, with the error that ended the relay if any. */
  onClose?: (error?: Error) => void;
  /** Largest inbound packet in bytes (default: framing.ts's 16 MiB; `limits` wins). */
  maxPacketSize?: number;
  /** Per-connection limits (default: none but the packet size; see limits.ts). */
  limits?: Partial<RelayLimits>;
  /** Shared accounting for the global limits (its `limits` give the totals). */
  budget?: RelayBudget;
}

/** A running relay. */
export interface RelayHandle {
  /** The proxy for the peer's OID 0 (with `importOid0`), else null. */
  readonly peer: Ref | null;
  /** The facet the relay runs in: stopping it closes the streams. */
  readonly facet: Facet;
  /** Table sizes, for tests and inspection. */
  stats(): RelayStats;
}

/** How many OIDs each table holds and how many assertions cross the connection. */
export interface RelayStats {
  readonly exported: number;
  readonly imported: number;
  readonly inboundAssertions: number;
  readonly outboundAssertions: number;
}

/** A protocol violation by the peer, or by a local sender (transient refs): ends the relay. */
export class RelayError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RelayError';
  }
}

/** One side's entry for an OID. */
interface WireSymbol {
  readonly oid: Oid;
  readonly ref: Ref;
  readonly side: Membrane;
  count: number;
}

function sameAttenuation(a: Ref, b: Ref): boolean {
  const x = a.attenuation ?? [], y = b.attenuation ?? [];
  if (x === y) return true;
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** OID ↔ ref table of one direction. Refs are matched by entity, facet and caveats. */
class Membrane {
  readonly byOid = new Map<Oid, WireSymbol>();
  private readonly byEntity = new Map<Entity, WireSymbol[]>();

  insert(oid: Oid, ref: Ref): WireSymbol {
    const ws: WireSymbol = { oid, ref, side: this, count: 0 };
    this.byOid.set(oid, ws);
    const list = this.byEntity.get(ref.target);
    if (list === undefined) this.byEntity.set(ref.target, [ws]);
    else list.push(ws);
    return ws;
  }

  lookup(ref: Ref): WireSymbol | undefined {
    const list = this.byEntity.get(ref.target);
    if (list === undefined) return undefined;
    for (const ws of list) if (ws.ref.relay === ref.relay && sameAttenuation(ws.ref, ref)) return ws;
    return undefined;
  }

  remove(ws: WireSymbol): void {
    this.byOid.delete(ws.oid);
    const list = this.byEntity.get(ws.ref.target);
    if (list === undefined) return;
    const i = list.indexOf(ws);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.byEntity.delete(ws.ref.target);
  }
}

/** Packets waiting for their turn before this many: stop reading (TCP back-pressure does the rest). */
const PAUSE_AT = 64;

/** What a closing socket reads (and drops) at most before it is reset rather than half-closed. */
const DRAIN_MAX = 1024 * 1024;

/** Pending output below this is normal: only a connection past it pays for summing the global total. */
const OUTPUT_CHECK_AT = 64 * 1024;

/**
 * Maps every embedded of `v` through `f`, dropping annotations; returns `v` itself (retyped)
 * when it holds no embedded, so plain data is not copied.
 */
function mapEmbeddeds<A, B>(v: Value<A>, f: (a: A) => B): Value<B> {
  if (typeof v !== 'object') return v;
  if (v instanceof Embedded) return new Embedded<B>(f(v.value));
  if (v instanceof Annotated) return mapEmbeddeds(v.item, f);
  if (Array.isArray(v)) {
    let out: Value<B>[] | null = null;
    for (let i = 0; i < v.length; i++) {
      const x = mapEmbeddeds(v[i], f);
      if (out === null && x !== (v[i] as unknown)) out = v.slice(0, i) as unknown as Value<B>[];
      if (out !== null) out.push(x);
    }
    return out ?? (v as unknown as Value<B>[]);
  }
  if (v instanceof Record) {
    const label = mapEmbeddeds(v.label, f);
    const fields = mapEmbeddeds(v.fields, f) as Value<B>[];
    if (label === (v.label as unknown) && fields === (v.fields as unknown)) return v as unknown as Record<B>;
    return new Record<B>(label, fields);
  }
  if (v instanceof Dictionary) {
    let changed = false;
    const entries: [Value<B>, Value<B>][] = [];
    for (const [k, x] of v) {
      const k2 = mapEmbeddeds(k, f), x2 = mapEmbeddeds(x, f);
      if (k2 !== (k as unknown) || x2 !== (x as unknown)) changed = true;
      entries.push([k2, x2]);
    }
    return changed ? new Dictionary<B>(entries) : (v as unknown as Dictionary<B>);
  }
  if (v instanceof KeyedSet) {
    let changed = false;
    const members: Value<B>[] = [];
    for (const m of v) {
      const m2 = mapEmbeddeds(m, f);
      if (m2 !== (m as unknown)) changed = true;
      members.push(m2);
    }
    return changed ? new KeyedSet<B>(members) : (v as unknown as KeyedSet<B>);
  }
  if (v instanceof Bytes) return v;
  return v as unknown as Value<B>;
}

/** An outbound event before encoding: embeddeds are still local refs. */
interface PendingEvent {
  readonly oid: Oid;
  readonly event: PacketEvent<Ref>;
  /** For syncs: the forwarding entity whose OID pin is released when the answer comes. */
  readonly syncPins?: WireSymbol[];
}

class Relay {
  readonly exported = new Membrane();
  readonly imported = new Membrane();
  private nextOid = 0;
  /** Remote handle → local handle and the symbols the assertion pins. */
  private readonly inbound = new Map<Handle, { local: Handle; pins: WireSymbol[] }>();
  /** Local (= wire) handle → symbols the assertion pins. */
  private readonly outbound = new Map<Handle, WireSymbol[]>();
  private pending: PendingEvent[] = [];
  /** The turn whose commit will flush `pending`. */
  private flushTurn: Turn | null = null;
  private readonly reader: PacketReader<WireRef>;
  private readonly writer: PacketWriter<WireRef>;
  /** Set once the relay is ending: nothing more is read or sent (except the error packet). */
  private closing = false;
  private closeError: Error | undefined;
  private queued = 0;
  private paused = false;
  private readonly limits: RelayLimits;
  private readonly budget: RelayBudget;
  /** Unfinished input of ours counted in `budget.inputTotal`. */
  private inputCounted = 0;
  facet!: Facet;
  peer: Ref | null = null;

  constructor(
    private readonly input: NodeJS.ReadableStream,
    private readonly output: NodeJS.WritableStream,
    private readonly options: RelayOptions,
  ) {
    this.limits = {
      ...UNLIMITED_RELAY_LIMITS,
      ...(options.maxPacketSize !== undefined ? { maxPacketSize: options.maxPacketSize } : {}),
      ...options.limits,
    };
    this.budget = options.budget ?? new RelayBudget(UNLIMITED_RELAY_LIMITS);
    this.reader = new PacketReader<WireRef>({
      embeddedDecode: (v) => new Embedded<WireRef>(parseWireRef(v)),
      maxPacketSize: this.limits.maxPacketSize,
    });
    this.writer = new PacketWriter<WireRef>({ syntax: options.syntax, embeddedEncode: wireRefToValue });
  }

  stats(): RelayStats {
    return {
      exported: this.exported.byOid.size,
      imported: this.imported.byOid.size,
      inboundAssertions: this.inbound.size,
      outboundAssertions: this.outbound.size,
    };
  }

  // ---- setup and teardown ----

  boot(t: Turn): void {
    this.facet = t.activeFacet;
    t.preventInertCheck();
    if (this.options.exportRef !== undefined) this.exportRef(this.options.exportRef).count++;
    if (this.options.importOid0) {
      const ws = this.importOid(0);
      ws.count++;
      this.peer = ws.ref;
    }
    t.onRelease(() => this.release());
    this.budget.members.add(this);
    this.input.on('data', this.onData);
    this.input.on('end', this.onEnd);
    this.input.on('close', this.onEnd);
    this.input.on('error', this.onInputError);
    this.output.on('error', this.onOutputError);
  }

  private readonly onData = (chunk: Buffer | string): void => {
    if (this.closing) return;
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    for (const r of this.reader.feed(bytes)) {
      this.queued++;
      this.facet.turn((t) => {
        this.queued--;
        if (this.paused && this.queued < PAUSE_AT / 2) {
          this.paused = false;
          this.input.resume();
        }
        this.handleResult(t, r);
      });
    }
    this.countInput();
    if (!this.paused && this.queued >= PAUSE_AT) {
      this.paused = true;
      this.input.pause();
    }
  };

  /** Keeps the shared count of unfinished input; past the global limit, this connection goes. */
  private countInput(): void {
    const now = this.closing ? 0 : this.reader.buffered;
    this.budget.inputTotal += now - this.inputCounted;
    this.inputCounted = now;
    const max = this.budget.limits.maxInputTotal;
    if (now > 0 && this.budget.inputTotal > max) {
      this.failSoon(new RelayError('input limit: unfinished packets of all connections exceed ' + max + ' bytes'));
    }
  }

  /** The bytes written to the peer that it has not taken yet. */
  pendingOutput(): number {
    return (this.output as NodeJS.WritableStream & { writableLength?: number }).writableLength ?? 0;
  }

  /** Checks the output limits after a write; a peer that does not read is cut off. */
  private checkOutput(): void {
    const pending = this.pendingOutput();
    if (pending < OUTPUT_CHECK_AT) return;
    if (pending > this.limits.maxPendingOutput) {
      this.failSoon(new RelayError('output limit: peer is not reading; more than ' + this.limits.maxPendingOutput + ' bytes pending'));
      return;
    }
    const max = this.budget.limits.maxPendingOutputTotal;
    if (max !== Infinity && this.budget.pendingOutputTotal() > max) {
      this.failSoon(new RelayError('output limit: output pending to all connections exceeds ' + max + ' bytes'));
    }
  }

  /** `fail` from outside a turn: stop reading and sending now, close in the next turn. */
  private failSoon(error: RelayError): void {
    if (this.closing) return;
    this.closing = true;
    this.facet.turn((t) => {
      this.closing = false;
      this.fail(t, error);
    });
  }

  private readonly onEnd = (): void => {
    if (this.closing) return;
    this.facet.turn((t) => {
      if (this.reader.inPacket) log({ level: 'warn', actor: this.options.name, message: 'relay: connection closed in the middle of a packet' });
      this.stop(t);
    });
  };

  private readonly onInputError = (e: Error): void => {
    if (this.closing) return;
    this.facet.turn((t) => this.stop(t, new RelayError('read failed: ' + e.message)));
  };

  private readonly onOutputError = (e: Error): void => {
    if (this.closing) return;
    this.closing = true;
    this.facet.turn((t) => this.stop(t, new RelayError('write failed: ' + e.message)));
  };

  /** Ends the relay: logs, stops the facet (which closes the streams via `release`). */
  stop(t: Turn, error?: Error): void {
    if (error !== undefined && this.closeError === undefined) this.closeError = error;
    this.closing = true;
    if (this.facet.isLive) t.stop(this.facet);
  }

  /** Ends the relay because of `error`, telling the peer with an `<error …>` packet first. */
  fail(t: Turn, error: RelayError): void {
    if (this.closing && this.closeError !== undefined) return;
    log({ level: 'warn', actor: this.options.name, message: 'relay: closing connection: ' + error.message });
    this.closing = true;
    this.writeRaw(this.writer.encode(errorPacket<WireRef>(error.message, false)));
    this.closing = true;
    this.stop(t, error);
  }

  /** Runs however the facet ends: detach from the streams and close them. */
  private release(): void {
    this.closing = true;
    this.countInput();
    this.budget.members.delete(this);
    const input = this.input as NodeJS.ReadableStream & { destroy?: () => void };
    const output = this.output as NodeJS.WritableStream & { destroy?: () => void; writableFinished?: boolean };
    input.removeListener('data', this.onData);
    input.removeListener('end', this.onEnd);
    input.removeListener('close', this.onEnd);
    // Keep errors from becoming uncaught now that we no longer care.
    input.on('error', () => {});
    output.on('error', () => {});
    if ((input as unknown) === (output as unknown)) {
      // A socket: half-close after what we wrote, drain what the peer still sends (closing with
      // unread input would reset the connection and could lose our error packet), then destroy.
      let drained = 0;
      input.on('data', (c: Buffer | string) => {
        drained += c.length;
        if (drained > DRAIN_MAX) output.destroy?.();
      });
      input.resume();
      const timer = setTimeout(() => output.destroy?.(), 2000);
      timer.unref?.();
      input.once('close', () => clearTimeout(timer));
      output.end();
    } else {
      input.pause();
      input.destroy?.();
      if (output !== process.stdout && output !== process.stderr) output.end();
    }
    const cb = this.options.onClose;
    if (cb !== undefined) {
      try {
        cb(this.closeError);
      } catch (e) {
        log({ level: 'error', actor: this.options.name, message: 'relay: onClose failed', error: e });
      }
    }
  }

  private writeRaw(bytes: Uint8Array): void {
    try {
      this.output.write(bytes);
    } catch (e) {
      // A destroyed stream throws synchronously on some Node versions; the error handler ends us.
      log({ level: 'debug', actor: this.options.name, message: 'relay: write failed', error: e });
    }
    if (!this.closing) this.checkOutput();
  }

  // ---- membranes ----

  private exportRef(ref: Ref): WireSymbol {
    return this.exported.insert(this.nextOid++, ref);
  }

  private importOid(oid: Oid): WireSymbol {
    const relay = this;
    const entity: Entity = {
      assert(t, v, h) { relay.queue(t, { oid, event: { type: 'assert', assertion: v, handle: h } }); },
      retract(t, h) { relay.queue(t, { oid, event: { type: 'retract', handle: h } }); },
      message(t, v) { relay.queue(t, { oid, event: { type: 'message', body: v } }); },
      sync(t, peer) { relay.queueSync(t, oid, peer); },
    };
    return this.imported.insert(oid, { relay: this.facet, target: entity });
  }

  private releaseOne(ws: WireSymbol): boolean {
    if (--ws.count > 0) return false;
    // A symbol already replaced in its table (never happens for live ones) must not evict another.
    if (ws.side.byOid.get(ws.oid) === ws) ws.side.remove(ws);
    return true;
  }

  private releaseAll(pins: readonly WireSymbol[]): void {
    for (const ws of pins) this.releaseOne(ws);
  }

  /** A wire ref from the peer as a local ref, pinning its symbol (none for an unknown "yours"). */
  private decodeWireRef(w: WireRef, pins: WireSymbol[]): Ref {
    if (w.kind === 'mine') {
      const ws = this.imported.byOid.get(w.oid) ?? this.importOid(w.oid);
      ws.count++;
      pins.push(ws);
      return ws.ref;
    }
    const ws = this.exported.byOid.get(w.oid);
    if (ws === undefined) return { relay: this.facet, target: {} }; // inert placeholder
    ws.count++;
    pins.push(ws);
    // Re-imported attenuations get a fresh ref each time (never registered, so sending one back
    // exports it under a new OID that enforces the caveats here).
    return w.caveats.length === 0 ? ws.ref : attenuate(ws.ref, ...w.caveats);
  }

  /** A local ref as a wire ref, pinning its symbol (Rust's `encode_wireref`). */
  private encodeRef(ref: Ref, pins: WireSymbol[]): WireRef {
    let ws = this.exported.lookup(ref);
    if (ws !== undefined) {
      ws.count++;
      pins.push(ws);
      return mine(ws.oid);
    }
    ws = this.imported.lookup(ref);
    if (ws !== undefined) {
      ws.count++;
      pins.push(ws);
      return yours(ws.oid);
    }
    ws = this.exportRef(ref);
    ws.count++;
    pins.push(ws);
    return mine(ws.oid);
  }

  private importValue(v: Value<WireRef>, pins: WireSymbol[]): Assertion {
    return mapEmbeddeds(v, (w) => this.decodeWireRef(w, pins));
  }

  private exportValue(v: Assertion, pins: WireSymbol[]): Value<WireRef> {
    return mapEmbeddeds(v, (r) => this.encodeRef(r, pins));
  }

  // ---- inbound ----

  private handleResult(t: Turn, r: ReadResult<WireRef>): void {
    if (this.closing) return;
    this.writer.syntax = r.syntax;
    if (!r.ok) {
      this.fail(t, new RelayError('malformed packet: ' + r.error.message));
      return;
    }
    try {
      this.handlePacket(t, r.packet);
    } catch (e) {
      if (e instanceof RelayError) this.fail(t, e);
      else throw e;
    }
  }

  private handlePacket(t: Turn, p: Packet<WireRef>): void {
    switch (p.type) {
      case 'nop':
        return;
      case 'extension':
        log({ level: 'info', actor: this.options.name, message: 'relay: ignoring extension packet' });
        return;
      case 'error':
        log({ level: 'warn', actor: this.options.name, message: 'relay: peer sent error: ' + p.message });
        this.stop(t, new RelayError('peer sent error: ' + p.message));
        return;
      case 'turn':
        for (const e of p.events) this.handleEvent(t, e);
    }
  }

  private handleEvent(t: Turn, { oid, event }: TurnEntry<WireRef>): void {
    const target = this.exported.byOid.get(oid);
    if (target === undefined) {
      log({ level: 'debug', actor: this.options.name, message: 'relay: event for unknown oid ' + oid + ' dropped' });
      return;
    }
    const pins: WireSymbol[] = [target];
    switch (event.type) {
      case 'assert': {
        if (this.inbound.has(event.handle)) throw new RelayError('assertion with duplicate handle ' + event.handle);
        if (this.inbound.size >= this.limits.maxAssertions) {
          throw new RelayError('assertion limit: more than ' + this.limits.maxAssertions + ' assertions held by one connection');
        }
        target.count++;
        const a = this.importValue(event.assertion, pins);
        this.inbound.set(event.handle, { local: t.assert(target.ref, a), pins });
        return;
      }
      case 'retract': {
        const e = this.inbound.get(event.handle);
        if (e === undefined) return; // normal: e.g. the assertion was filtered by an attenuation
        this.inbound.delete(event.handle);
        t.retract(e.local);
        this.releaseAll(e.pins);
        return;
      }
      case 'message': {
        target.count++;
        let transient = false;
        const body = mapEmbeddeds(event.body, (w) => {
          const before = pins.length;
          const r = this.decodeWireRef(w, pins);
          // Only this message holds it: the peer could never tell us when to forget it.
          if (pins.length > before && pins[before].count === 1) transient = true;
          return r;
        });
        if (transient) {
          this.releaseAll(pins);
          throw new RelayError('cannot receive transient reference');
        }
        t.message(target.ref, body);
        this.releaseAll(pins);
        return;
      }
      case 'sync': {
        target.count++;
        const peer = this.decodeWireRef(event.peer.value, pins);
        const relay = this;
        let answered = false;
        const k = t.ref({
          message(t) {
            if (answered) return;
            answered = true;
            t.message(peer, true);
            relay.releaseAll(pins);
          },
        });
        t.syncPeer(target.ref, k);
        return;
      }
    }
  }

  // ---- outbound ----

  private queue(t: Turn, e: PendingEvent): void {
    if (this.closing) return;
    if (this.flushTurn !== t) {
      // First event of this turn. Anything still pending belongs to a turn that failed (its
      // commit hook never ran), so it was never really sent.
      this.flushTurn = t;
      this.pending = [];
      t.onCommit(() => this.flush());
    }
    this.pending.push(e);
  }

  /** A local sync through a proxy: export a one-shot entity the peer answers at. */
  private queueSync(t: Turn, oid: Oid, peer: Ref): void {
    const syncPins: WireSymbol[] = [];
    const relay = this;
    let answered = false;
    const fwd: Ref = {
      relay: this.facet,
      target: {
        message(t) {
          if (answered) return;
          answered = true;
          t.message(peer, true);
          relay.releaseAll(syncPins);
        },
      },
    };
    this.queue(t, { oid, event: { type: 'sync', peer: new Embedded<Ref>(fwd) }, syncPins });
  }

  /** After a local turn commits: encode its events as one Turn packet, bookkeeping, write. */
  private flush(): void {
    const events = this.pending;
    this.pending = [];
    this.flushTurn = null;
    if (this.closing || events.length === 0) return;
    const entries: TurnEntry<WireRef>[] = [];
    const pinsOf: WireSymbol[][] = [];
    for (const { oid, event } of events) {
      const pins: WireSymbol[] = [];
      let e: PacketEvent<WireRef>;
      switch (event.type) {
        case 'assert': e = { type: 'assert', assertion: this.exportValue(event.assertion, pins), handle: event.handle }; break;
        case 'retract': e = event; break;
        case 'message': e = { type: 'message', body: this.exportValue(event.body, pins) }; break;
        case 'sync': e = { type: 'sync', peer: new Embedded<WireRef>(this.encodeRef(event.peer.value, pins)) }; break;
      }
      entries.push({ oid, event: e });
      pinsOf.push(pins);
    }
    let transient = false;
    for (let i = 0; i < events.length; i++) {
      const { oid, event, syncPins } = events[i];
      const pins = pinsOf[i];
      switch (event.type) {
        case 'assert': {
          const target = this.imported.byOid.get(oid);
          if (target !== undefined) {
            target.count++;
            pins.push(target);
          }
          this.outbound.set(event.handle, pins);
          break;
        }
        case 'retract': {
          const held = this.outbound.get(event.handle);
          if (held !== undefined) {
            this.outbound.delete(event.handle);
            this.releaseAll(held);
          }
          break;
        }
        case 'message':
          for (const ws of pins) if (this.releaseOne(ws)) transient = true;
          break;
        case 'sync':
          syncPins!.push(...pins);
          break;
      }
    }
    if (transient) {
      this.closing = true;
      this.facet.turn((t) => {
        this.closing = false;
        this.fail(t, new RelayError('sent transient reference'));
      });
      return;
    }
    this.writeRaw(this.writer.encode(turnPacket(entries)));
  }
}

/**
 * Runs a relay over `input`/`output` in a new child facet of the active facet. The facet lives
 * until the input ends, a protocol error (either side's) ends it, or someone stops it; then the
 * streams are closed and `onClose` runs. Malformed or hostile input closes this connection only,
 * with an `<error …>` packet and a log line.
 */
export function attachRelay(
  t: Turn,
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
  options: RelayOptions,
): RelayHandle {
  const relay = new Relay(input, output, options);
  t.facet((t) => relay.boot(t));
  return { peer: relay.peer, facet: relay.facet, stats: () => relay.stats() };
}
