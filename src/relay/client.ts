// The client library: a helper daemon or a tool is an ordinary TypeScript program with its own
// actor, connected to the bus by a relay over stdio or a socket. The peer's OID 0 is a Ref like
// any other, so the program asserts, observes and sends with the in-process API.
import net from 'node:net';
import { Actor, log, settle, type Facet, type Ref, type Turn } from '../bus/index.ts';
import { Embedded, peel, type Record } from '../preserves/index.ts';
import { attachRelay, type RelayHandle } from './relay.ts';
import type { Syntax } from './framing.ts';
import { parseResult, resolve as resolveRecord } from './gatekeeper-protocol.ts';
import type { Assertion } from '../bus/ref.ts';

/** How a client connection is set up. */
export interface ClientOptions {
  /** Actor name, also used in log lines (default `client`). */
  readonly name?: string;
  /** Initial output syntax (default binary; mirrored to the peer's afterwards). */
  readonly syntax?: Syntax;
  /** Import the peer's OID 0 as `peer` (default true). */
  readonly importOid0?: boolean;
  /** Builds, in the client's actor, the object exported as our OID 0 (a protocol daemon's main object). */
  readonly export?: (t: Turn) => Ref;
  /** Runs in the client's actor once the relay is attached; `peer` as in `Client.peer`. */
  readonly boot?: (t: Turn, peer: Ref | null, client: Client) => void;
  /**
   * Exit the process when the connection closes: status 0 after a clean end of input, 1 after
   * an error (default: true for `serveStdio`, false otherwise).
   */
  readonly exitOnClose?: boolean;
}

/** A connected client: its actor, the relay, and the peer's OID 0. */
export interface Client {
  readonly actor: Actor;
  /** The relay's facet (stopping it closes the connection). */
  readonly facet: Facet;
  readonly relay: RelayHandle;
  /** The peer's OID 0, or null when not imported. */
  readonly peer: Ref | null;
  /** Runs `action` as a turn of the client's actor; resolves once the engine has settled. */
  turn(action: (t: Turn) => void): Promise<void>;
  /** Closes the connection and ends the actor; resolves once closed. */
  close(): Promise<void>;
  /** Resolves when the connection has closed, with the error that closed it if any. */
  readonly closed: Promise<Error | undefined>;
}

/** Runs a client over any pair of streams. Resolves once the relay is attached. */
export function connectStreams(input: NodeJS.ReadableStream, output: NodeJS.WritableStream, options: ClientOptions = {}): Promise<Client> {
  const name = options.name ?? 'client';
  let closedResolve!: (e: Error | undefined) => void;
  const closed = new Promise<Error | undefined>((r) => (closedResolve = r));
  return new Promise<Client>((resolveClient) => {
    const actor = Actor.boot(name, (t) => {
      const relay = attachRelay(t, input, output, {
        syntax: options.syntax ?? 'binary',
        importOid0: options.importOid0 ?? true,
        exportRef: options.export?.(t),
        name,
        onClose: (error) => {
          closedResolve(error);
          actor.root.turn((t) => t.stopActor());
          if (options.exitOnClose) {
            void settle().then(() => process.exit(error === undefined ? 0 : 1));
          }
        },
      });
      const client: Client = {
        actor,
        facet: relay.facet,
        relay,
        peer: relay.peer,
        turn: (action) => new Promise<void>((done) => {
          actor.root.turn(action);
          void settle().then(done);
        }),
        close: async () => {
          actor.root.turn((t) => t.stopActor());
          await closed;
          await settle();
        },
        closed,
      };
      options.boot?.(t, relay.peer, client);
      resolveClient(client);
    });
  });
}

/** Connects over this process's stdin/stdout (a child of the bus, or piped by hand). */
export function connectStdio(options: ClientOptions = {}): Promise<Client> {
  return connectStreams(process.stdin, process.stdout, options);
}

/**
 * Runs this process as a protocol daemon (`protocol: application/syndicate` or
 * `text/syndicate`, spec §3.5): `main` builds the object exported as OID 0, which the bus
 * publishes as `<service-object <daemon ID> #:ref>`; nothing is imported. The process exits
 * when the bus closes stdin.
 */
export function serveStdio(main: (t: Turn) => Ref, options: Omit<ClientOptions, 'export'> = {}): Promise<Client> {
  return connectStdio({ importOid0: false, exitOnClose: true, ...options, export: main });
}

/** Connects to a stream socket and resolves once connected and attached. */
function connectSocket(connectOptions: net.NetConnectOpts, options: ClientOptions): Promise<Client> {
  return new Promise<Client>((resolve, reject) => {
    const socket = net.connect(connectOptions);
    const onError = (e: Error) => reject(e);
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.removeListener('error', onError);
      connectStreams(socket, socket, options).then(resolve, reject);
    });
  });
}

/** Connects to a relay listener on a Unix socket; `peer` is the server's gatekeeper. */
export function connectUnix(path: string, options: ClientOptions = {}): Promise<Client> {
  return connectSocket({ path }, { name: 'unix-client', ...options });
}

/** Connects to a relay listener over TCP; `peer` is the server's gatekeeper. */
export function connectTcp(host: string, port: number, options: ClientOptions = {}): Promise<Client> {
  return connectSocket({ host, port }, { name: 'tcp-client', ...options });
}

/**
 * Asks `gatekeeper` to resolve `step` (e.g. a sturdy ref's `<ref {…}>` record): asserts
 * `<resolve STEP #:observer>` in the active facet and calls `onOk` with the resolved ref, in a
 * facet that lives as long as the answer, or `onError` with the error detail. Returns the handle
 * of the resolve assertion (retract it to withdraw the request).
 */
export function resolveStep(
  t: Turn,
  gatekeeper: Ref,
  step: Record<Ref>,
  onOk: (t: Turn, ref: Ref) => void,
  onError: (t: Turn, detail: Assertion) => void = (t, d) => {
    log({ level: 'error', actor: t.actor.name, message: 'gatekeeper refused: ' + String(peel(d)) });
  },
): number {
  const facets = new Map<number, Facet>();
  const observer = t.ref({
    assert(t, v, h) {
      let r;
      try {
        r = parseResult(v);
      } catch {
        return;
      }
      if (!r.ok) {
        onError(t, r.error);
        return;
      }
      const e = peel(r.value);
      if (!(e instanceof Embedded)) {
        onError(t, v);
        return;
      }
      const ref = e.value as Ref;
      facets.set(h, t.facet((t) => {
        t.preventInertCheck();
        onOk(t, ref);
      }));
    },
    retract(t, h) {
      const f = facets.get(h);
      if (f === undefined) return;
      facets.delete(h);
      t.stop(f);
    },
  });
  return t.assert(gatekeeper, resolveRecord<Ref>(step, new Embedded<Ref>(observer)));
}
