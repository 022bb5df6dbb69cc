// Actors, facets and turns: the execution model of the bus (syndicate-rs actor.rs, syndicate-js
// runtime/actor.ts). A turn buffers every effect and commits them together at its end; a turn
// that throws commits nothing and ends its actor.
import { schedule } from './scheduler.ts';
import { DataflowGraph, Field, type DataflowBlock } from './dataflow.ts';
import { log } from './log.ts';
import { applyAttenuation } from './rewrite.ts';
import type { Assertion, Entity, Handle, Ref } from './ref.ts';
import { Dataspace } from './dataspace.ts';
import { during, onMessage, observeAssertions, type AssertionObserver, type Captures } from './during.ts';
import type { Pattern } from './pattern.ts';

/** Code that runs inside a turn. */
export type Action = (t: Turn) => void;

let nextHandle: Handle = 1;
let nextFacetId = 1;
let nextActorId = 1;

/** One assertion a facet has made: where it went and whether it reached its target yet. */
interface Outbound {
  readonly handle: Handle;
  readonly ref: Ref;
  /** Set when the target has received the assertion; a retract is only delivered after that. */
  established: boolean;
}

/** Options of `Turn.spawn`. */
export interface SpawnOptions {
  /** End the child with the spawning facet, and stop that facet when the child ends. */
  link?: boolean;
  /** Linked, but the child's end runs this (in the spawning facet) instead of stopping it. */
  onExit?: (t: Turn, reason: ExitReason) => void;
}

/** How an actor ended. */
export type ExitReason = { readonly ok: true } | { readonly ok: false; readonly error: unknown };

/** A running actor: a tree of facets, one dataflow graph, turns run one at a time. */
export class Actor {
  readonly id = nextActorId++;
  readonly root: Facet;
  /** Set once the actor has ended. */
  exitReason: ExitReason | null = null;
  /** @internal */ readonly dataflow = new DataflowGraph();
  private readonly exitHooks: Action[] = [];

  constructor(readonly name: string) {
    this.root = new Facet(this, null);
  }

  /** Creates an actor and schedules a first turn running `boot` in its root facet. */
  static boot(name: string, boot: Action): Actor {
    const a = new Actor(name);
    schedule(() => a.root.runTurn(boot));
    return a;
  }

  /** True while the actor runs. */
  get alive(): boolean {
    return this.exitReason === null;
  }

  /** Registers code to run in the actor's last turn, however it ends (crash included). */
  atExit(hook: Action): void {
    this.exitHooks.push(hook);
  }

  /**
   * @internal Ends the actor in the current turn `t` (which belongs to it). `pending` holds
   * assertions whose retraction was lost with a failed turn.
   */
  terminate(t: Turn, reason: ExitReason, pending: readonly Outbound[] = []): void {
    if (this.exitReason !== null) return;
    this.exitReason = reason;
    if (!reason.ok) log({ level: 'error', actor: this.name, message: 'actor crashed', error: reason.error });
    if (reason.ok) {
      this.root.terminateIn(t, true);
    } else {
      // A crash runs no stop actions; every assertion goes, newest first.
      const all: Outbound[] = [...pending];
      this.root.collectAndKill(all, t);
      all.sort((a, b) => b.handle - a.handle);
      for (const e of all) t.retractOutbound(e);
    }
    for (const h of this.exitHooks) {
      try {
        h(t);
      } catch (e) {
        log({ level: 'error', actor: this.name, message: 'exit hook failed', error: e });
      }
    }
  }
}

/**
 * A facet: a unit of an actor's work that owns assertions, child facets, stop actions and
 * timers. Stopping it stops its children, runs its stop actions in its parent and retracts
 * what it asserted.
 */
export class Facet {
  readonly id = nextFacetId++;
  readonly children = new Set<Facet>();
  /** @internal */ readonly outbound = new Map<Handle, Outbound>();
  // Made on first use: most facets (one per matched assertion) never need all of them.
  private stopActions: Action[] | null = null;
  private cleanups: (() => void)[] | null = null;
  private inertPreventers = 0;
  private linked: Actor[] | null = null;
  private blocks: DataflowBlock[] | null = null;
  /** False once the facet has begun stopping. */
  isLive = true;
  /** @internal True once its assertions are retracted: later ones would leak, so are refused. */
  closed = false;

  constructor(readonly actor: Actor, readonly parent: Facet | null) {
    if (parent !== null) parent.children.add(this);
  }

  /** No children, no assertions, nothing pending that keeps it alive. */
  isInert(): boolean {
    return this.children.size === 0 && this.outbound.size === 0 && this.inertPreventers === 0;
  }

  /** Keeps the facet from being reaped as inert; call the returned function to release. */
  preventInertCheck(): () => void {
    let armed = true;
    this.inertPreventers++;
    return () => {
      if (!armed) return;
      armed = false;
      this.inertPreventers--;
    };
  }

  /** Runs `action` as a turn of this facet's actor, from outside the engine (timers, I/O). */
  turn(action: Action): void {
    schedule(() => this.runTurn(action));
  }

  /** @internal Runs a turn now with this facet active; skipped when the facet is gone. */
  runTurn(action: Action): void {
    if (!this.isLive) return;
    const t = new Turn(this);
    const saved = activeTurn;
    activeTurn = t;
    try {
      action(t);
      t.finish();
    } catch (e) {
      t.fail(e);
    } finally {
      activeTurn = saved;
    }
  }

  /** @internal Adds a stop action (runs in the parent when the facet stops cleanly). */
  onStop(a: Action): void {
    (this.stopActions ??= []).push(a);
  }

  /** @internal Registers OS-level cleanup (timers) run however the facet ends. */
  addCleanup(c: () => void): void {
    (this.cleanups ??= []).push(c);
  }

  /** @internal */
  addBlock(b: DataflowBlock): void {
    (this.blocks ??= []).push(b);
  }

  /** @internal */
  link(child: Actor): void {
    (this.linked ??= []).push(child);
    this.inertPreventers++;
  }

  /** @internal */
  unlink(child: Actor): void {
    const i = this.linked?.indexOf(child) ?? -1;
    if (i >= 0) {
      this.linked!.splice(i, 1);
      this.inertPreventers--;
    }
  }

  /** @internal Stops this facet within turn `t`. `orderly` is false only for crashes. */
  terminateIn(t: Turn, orderly: boolean): void {
    if (!this.isLive) return;
    this.isLive = false;
    const parent = this.parent;
    if (parent !== null) parent.children.delete(this);
    this.releaseResources(t);
    t.inFacet(this, () => {
      for (const c of [...this.children]) c.terminateIn(t, orderly);
      if (orderly) {
        const actions = this.stopActions;
        this.stopActions = null;
        if (actions !== null) {
          t.inFacet(parent ?? this, () => {
            for (const a of actions) a(t);
          });
        }
      }
      this.retractAll(t);
    });
    if (orderly) {
      if (parent === null) this.actor.terminate(t, { ok: true });
      else if (parent.isLive && parent.parent !== null && parent.isInert()) parent.terminateIn(t, true);
    }
  }

  /** @internal Crash path: marks the subtree dead and gathers every assertion it holds. */
  collectAndKill(into: Outbound[], t: Turn): void {
    if (!this.isLive) return;
    this.isLive = false;
    this.releaseResources(t);
    for (const c of this.children) c.collectAndKill(into, t);
    this.children.clear();
    for (const e of this.outbound.values()) into.push(e);
    this.outbound.clear();
    this.closed = true;
  }

  private releaseResources(t: Turn): void {
    // A cleanup that registers another gets it run too, as before.
    for (let cs = this.cleanups; cs !== null; cs = this.cleanups) {
      this.cleanups = null;
      for (const c of cs) {
        try {
          c();
        } catch (e) {
          log({ level: 'error', actor: this.actor.name, message: 'cleanup failed', error: e });
        }
      }
    }
    const blocks = this.blocks;
    this.blocks = null;
    for (const b of blocks ?? []) this.actor.dataflow.forget(b);
    const linked = this.linked;
    this.linked = null;
    for (const child of linked ?? []) t.stopActor(child);
  }

  private retractAll(t: Turn): void {
    this.closed = true;
    if (this.outbound.size === 0) return;
    const es = [...this.outbound.values()];
    this.outbound.clear();
    for (let i = es.length - 1; i >= 0; i--) t.retractOutbound(es[i]);
  }
}

/**
 * One turn of one actor: every effect is buffered here and delivered at `finish`, grouped per
 * target actor, in order. Entities receive the turn they run in.
 */
export class Turn {
  /** The facet whose context effects belong to. */
  activeFacet: Facet;
  /** Effects for the first target actor: [facet, action, facet, action, ...]. */
  private firstActor: Actor | null = null;
  private firstQueue: (Facet | Action)[] | null = null;
  /** Effects for further target actors (most turns have a single target, so this stays null). */
  private queues: Map<Actor, (Facet | Action)[]> | null = null;
  private newFacets: Facet[] | null = null;
  private spawned: [Actor, Action][] | null = null;
  /** Every retraction made by this turn, in case the turn fails and they must be redone. */
  private retracted: Outbound[] | null = null;
  private done = false;
  private commitHooks: (() => void)[] | null = null;

  /** @internal */
  constructor(facet: Facet) {
    this.activeFacet = facet;
  }

  /** The actor this turn belongs to. */
  get actor(): Actor {
    return this.activeFacet.actor;
  }

  // ---- assertions, messages, sync ----

  /** Asserts `value` at `ref` for as long as the active facet lives (or until retracted). */
  assert(ref: Ref, value: Assertion): Handle {
    const h = nextHandle++;
    this.assertWithHandle(ref, value, h);
    return h;
  }

  private assertWithHandle(ref: Ref, value: Assertion, h: Handle): void {
    const f = this.activeFacet;
    if (f.closed) return;
    const a = ref.attenuation === undefined ? value : applyAttenuation(ref.attenuation, value);
    if (a === undefined) return;
    const e: Outbound = { handle: h, ref, established: false };
    f.outbound.set(h, e);
    this.enqueue(ref.relay, (t) => {
      e.established = true;
      ref.target.assert?.(t, a, h);
    });
  }

  /** Withdraws an assertion this actor made; unknown or already retracted handles are ignored. */
  retract(h: Handle | undefined): void {
    if (h === undefined) return;
    const f = this.findOwner(h);
    if (f === null) return;
    const e = f.outbound.get(h)!;
    f.outbound.delete(h);
    this.retractOutbound(e);
  }

  /** Retracts `h` (if any) and asserts `value` (if any) in its place; returns the new handle. */
  replace(ref: Ref, h: Handle | undefined, value: Assertion | undefined): Handle | undefined {
    const n = value === undefined ? undefined : this.assert(ref, value);
    this.retract(h);
    return n;
  }

  /** @internal */
  retractOutbound(e: Outbound): void {
    (this.retracted ??= []).push(e);
    this.enqueue(e.ref.relay, (t) => {
      if (!e.established) return;
      e.established = false;
      e.ref.target.retract?.(t, e.handle);
    });
  }

  private findOwner(h: Handle): Facet | null {
    if (this.activeFacet.outbound.has(h)) return this.activeFacet;
    const search = (f: Facet): Facet | null => {
      if (f.outbound.has(h)) return f;
      for (const c of f.children) {
        const r = search(c);
        if (r !== null) return r;
      }
      return null;
    };
    return search(this.actor.root);
  }

  /** Sends `body` to `ref` (after the ref's caveats). */
  message(ref: Ref, body: Assertion): void {
    const a = ref.attenuation === undefined ? body : applyAttenuation(ref.attenuation, body);
    if (a === undefined) return;
    this.enqueue(ref.relay, (t) => ref.target.message?.(t, a));
  }

  /** Asks `ref` to answer `peer` with the message `true` once it has seen everything sent before. */
  syncPeer(ref: Ref, peer: Ref): void {
    this.enqueue(ref.relay, (t) => {
      if (ref.target.sync !== undefined) ref.target.sync(t, peer);
      else t.message(peer, true);
    });
  }

  /** Runs `k` in the active facet once `ref` has processed everything this actor sent it. */
  sync(ref: Ref, k: Action): void {
    let fired = false;
    const peer = this.ref({
      message: (t) => {
        if (fired) return;
        fired = true;
        k(t);
      },
    });
    this.syncPeer(ref, peer);
  }

  // ---- entities and facets ----

  /** A ref to `entity`, run in the active facet. */
  ref(entity: Entity): Ref {
    return { relay: this.activeFacet, target: entity };
  }

  /**
   * Creates a child facet of the active facet and runs `boot` in it now. Unless kept alive (an
   * assertion, a child, a timer, `preventInertCheck`), it is stopped at the end of this turn.
   */
  facet(boot: Action): Facet {
    const f = new Facet(this.actor, this.activeFacet);
    (this.newFacets ??= []).push(f);
    this.inFacet(f, () => boot(this));
    return f;
  }

  /** Registers `action` to run, in the parent facet, when the active facet stops cleanly. */
  onStop(action: Action): void {
    this.activeFacet.onStop(action);
  }

  /** Stops `facet` (default: the active one) now, then runs `k` in its parent. */
  stop(facet: Facet = this.activeFacet, k?: Action): void {
    if (facet.actor !== this.actor) {
      this.enqueue(facet, (t) => t.stop(facet, k));
      return;
    }
    facet.terminateIn(this, true);
    if (k !== undefined) this.inFacet(facet.parent ?? facet, () => k(this));
  }

  /** Ends an actor cleanly (its root facet stops); another actor's end is scheduled. */
  stopActor(actor: Actor = this.actor): void {
    if (actor === this.actor) actor.terminate(this, { ok: true });
    else this.enqueue(actor.root, (t) => t.actor.terminate(t, { ok: true }));
  }

  /**
   * Registers OS-level cleanup (closing a watcher, killing a process) for the active facet: it
   * runs however the facet ends, crash included; it may not act on the engine (no turn).
   */
  onRelease(cleanup: () => void): void {
    this.activeFacet.addCleanup(cleanup);
  }

  /**
   * Runs `f` once this turn has committed (never if it fails): how a relay sends, as one packet,
   * everything a turn addressed to the peer.
   */
  onCommit(f: () => void): void {
    (this.commitHooks ??= []).push(f);
  }

  /** Keeps the active facet from being reaped as inert; returns the release function. */
  preventInertCheck(): () => void {
    return this.activeFacet.preventInertCheck();
  }

  /**
   * Creates a new actor, booted with `boot` when this turn commits. A linked actor ends when
   * the active facet stops, and its end stops the active facet.
   */
  spawn(name: string, boot: Action, options: SpawnOptions = {}): Actor {
    const child = new Actor(name);
    (this.spawned ??= []).push([child, boot]);
    if (options.link || options.onExit !== undefined) {
      const facet = this.activeFacet;
      const onExit = options.onExit;
      facet.link(child);
      child.atExit((t) => {
        facet.unlink(child);
        const reason = child.exitReason!;
        t.enqueue(facet, (t2) => (onExit !== undefined ? onExit(t2, reason) : t2.stop(facet)));
      });
    }
    return child;
  }

  // ---- subscriptions ----

  /** A ref to a new dataspace living in the active facet. */
  dataspace(name?: string): Ref {
    return this.ref(new Dataspace(name));
  }

  /** A facet per distinct capture tuple of `pattern` at `ds`, each running `body` (see during.ts). */
  during(ds: Ref, pattern: Pattern, body: (t: Turn, captures: Captures) => void): Handle {
    return during(this, ds, pattern, body);
  }

  /** Runs `handler` for every message at `ds` matching `pattern`. */
  onMessage(ds: Ref, pattern: Pattern, handler: (t: Turn, captures: Captures) => void): Handle {
    return onMessage(this, ds, pattern, handler);
  }

  /** Calls back as capture tuples of `pattern` at `ds` appear and disappear. */
  observe(ds: Ref, pattern: Pattern, o: AssertionObserver): Handle {
    return observeAssertions(this, ds, pattern, o);
  }

  // ---- dataflow and timers ----

  /** A dataflow field owned by this actor. */
  field<T>(initial: T, name?: string, equals?: (a: T, b: T) => boolean): Field<T> {
    return new Field<T>(this.actor.dataflow, initial, equals, name);
  }

  /** Runs `block` now and again, within the same turn, whenever a field it read changes. */
  dataflow(block: Action): void {
    const facet = this.activeFacet;
    const b: DataflowBlock = {
      get live() {
        return facet.isLive;
      },
      run: () => this.current().inFacet(facet, () => block(this.current())),
    };
    facet.addBlock(b);
    this.actor.dataflow.track(b);
  }

  /** Keeps one assertion at `ref` equal to what `compute` returns (none for `undefined`). */
  assertDataflow(ref: Ref, compute: (t: Turn) => Assertion | undefined): void {
    let h: Handle | undefined;
    this.dataflow((t) => {
      h = t.replace(ref, h, compute(t));
    });
  }

  /** Runs `action` in the active facet after `ms` milliseconds, unless the facet stops first. */
  after(ms: number, action: Action): void {
    const facet = this.activeFacet;
    const release = facet.preventInertCheck();
    const timer = setTimeout(() => {
      release();
      facet.turn(action);
    }, ms);
    facet.addCleanup(() => {
      clearTimeout(timer);
      release();
    });
  }

  /** Runs `action` in the active facet every `ms` milliseconds until the facet stops. */
  every(ms: number, action: Action): void {
    const facet = this.activeFacet;
    const release = facet.preventInertCheck();
    const timer = setInterval(() => facet.turn(action), ms);
    facet.addCleanup(() => {
      clearInterval(timer);
      release();
    });
  }

  // ---- machinery ----

  /** @internal The turn to use from callbacks captured earlier (dataflow blocks). */
  private current(): Turn {
    return activeTurn ?? this;
  }

  /** @internal Runs `f` with `facet` active, restoring the previous facet afterwards. */
  inFacet(facet: Facet, f: () => void): void {
    const saved = this.activeFacet;
    this.activeFacet = facet;
    try {
      f();
    } finally {
      this.activeFacet = saved;
    }
  }

  /** @internal Queues `action` to run in `facet`'s actor, in that facet, after this turn commits. */
  enqueue(facet: Facet, action: Action): void {
    if (this.done) throw new Error('turn already committed');
    const actor = facet.actor;
    if (this.firstActor === null) {
      this.firstActor = actor;
      this.firstQueue = [facet, action];
      return;
    }
    if (this.firstActor === actor) {
      this.firstQueue!.push(facet, action);
      return;
    }
    const qs = (this.queues ??= new Map());
    const q = qs.get(actor);
    if (q === undefined) qs.set(facet.actor, [facet, action]);
    else q.push(facet, action);
  }

  /** @internal Ends the turn: dataflow, inert reaping, then delivery of every effect. */
  finish(): void {
    const graph = this.actor.dataflow;
    for (;;) {
      if (graph.needsRepair) graph.repair();
      if (this.newFacets === null) break;
      const fs = this.newFacets;
      this.newFacets = null;
      for (const f of fs) if (f.isLive && f.isInert()) f.terminateIn(this, true);
      if (!graph.needsRepair && this.newFacets === null) break;
    }
    this.commit();
  }

  private commit(): void {
    this.done = true;
    if (this.firstActor !== null) {
      const actor = this.firstActor, q = this.firstQueue!;
      schedule(() => deliver(actor, q));
    }
    const qs = this.queues;
    if (qs !== null) {
      for (const [actor, q] of qs) schedule(() => deliver(actor, q));
    }
    if (this.spawned !== null) for (const [a, boot] of this.spawned) schedule(() => a.root.runTurn(boot));
    if (this.commitHooks !== null) {
      for (const f of this.commitHooks) {
        try {
          f();
        } catch (e) {
          log({ level: 'error', actor: this.actor.name, message: 'commit hook failed', error: e });
        }
      }
    }
  }

  /** @internal The turn threw: drop its effects and end the actor in a fresh turn. */
  fail(error: unknown): void {
    const actor = this.actor;
    for (const [child] of this.spawned ?? []) child.exitReason = { ok: false, error: 'spawning turn failed' };
    // A clean stop inside the failed turn never happened: the crash is what ends the actor.
    actor.exitReason = null;
    const t = new Turn(actor.root);
    actor.terminate(t, { ok: false, error }, this.retracted ?? []);
    t.commit();
  }
}

/** The turn currently running, so dataflow blocks captured in old turns act in the new one. */
let activeTurn: Turn | null = null;

/** Runs a batch of actions sent by one turn to `actor` as one turn of that actor. */
function deliver(actor: Actor, q: (Facet | Action)[]): void {
  if (!actor.alive) return;
  const t = new Turn(actor.root);
  const saved = activeTurn;
  activeTurn = t;
  try {
    for (let i = 0; i < q.length; i += 2) {
      const facet = q[i] as Facet;
      if (!facet.isLive) continue;
      t.activeFacet = facet;
      (q[i + 1] as Action)(t);
    }
    t.activeFacet = actor.root;
    t.finish();
  } catch (e) {
    t.fail(e);
  } finally {
    activeTurn = saved;
  }
}
