// Relay listeners (spec §5.3) as supervised services:
//   <relay-listener <unix PATH> $gatekeeper [{mode: "0660"}]>
//   <relay-listener <tcp HOST PORT> $gatekeeper [{allow: ["127.0.0.0/8" "::1/128"]}]>
// Each accepted connection runs in its own actor (not linked to the listener: restarting a
// listener does not cut established connections) with the gatekeeper exported as OID 0.
// Hostile peers cost only their connection: limits per connection, per listener and per bus
// (limits.ts), refusals logged at most once a minute per address, accept errors (EMFILE) logged
// while the listener keeps listening.
import fs from 'node:fs';
import net from 'node:net';
import { Dictionary, Embedded, Record, peel, sym } from '../../preserves/index.ts';
import { P, log, isRef, type Assertion, type Facet, type Ref, type Turn } from '../../bus/index.ts';
import { attachRelay } from '../../relay/relay.ts';
import { DEFAULT_RELAY_LIMITS, RelayBudget, type RelayLimits } from '../../relay/limits.ts';
import { Service } from '../supervision/service-protocol.ts';
import type { ServiceKind } from '../supervision/service-listener.ts';

/** Default permissions of a Unix listener socket: the owner only. */
export const DEFAULT_SOCKET_MODE = 0o600;

/** A listener's address and options, parsed. */
export type ListenerAddress =
  | { readonly kind: 'unix'; readonly path: string; readonly mode: number }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number; readonly allow: net.BlockList | null; readonly allowText: readonly string[] };

/** A `<relay-listener …>` record that cannot be run. */
export class ListenerSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ListenerSpecError';
  }
}

/** Parses `"10.0.0.0/8"`, `"::1/128"` or a bare address (a single host) into `list`. */
function addNetwork(list: net.BlockList, cidr: string): void {
  const [addr, bits] = cidr.split('/', 2);
  const family = net.isIPv4(addr) ? 'ipv4' : net.isIPv6(addr) ? 'ipv6' : null;
  if (family === null) throw new ListenerSpecError('allow: "' + cidr + '" is not an IPv4 or IPv6 network');
  const max = family === 'ipv4' ? 32 : 128;
  const prefix = bits === undefined ? max : Number(bits);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (bits !== undefined && !/^\d+$/.test(bits))) {
    throw new ListenerSpecError('allow: bad prefix length in "' + cidr + '"');
  }
  list.addSubnet(addr, prefix, family);
}

function parseMode(v: Assertion | undefined): number {
  if (v === undefined) return DEFAULT_SOCKET_MODE;
  const x = peel(v);
  const n = typeof x === 'string' && /^[0-7]{3,4}$/.test(x) ? parseInt(x, 8) : typeof x === 'number' ? x : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 0o777) throw new ListenerSpecError('mode must be an octal string such as "0660"');
  return n;
}

/** Parses the address record and the optional options dictionary of a relay listener. */
export function parseListenerAddress(addr: Assertion, options?: Assertion): ListenerAddress {
  const a = peel(addr);
  let opts: Dictionary<Ref> | undefined;
  if (options !== undefined) {
    const o = peel(options);
    if (!(o instanceof Dictionary)) throw new ListenerSpecError('listener options must be a dictionary');
    opts = o as Dictionary<Ref>;
  }
  if (a instanceof Record && a.hasLabel('unix') && a.fields.length === 1) {
    const path = peel(a.fields[0]);
    if (typeof path !== 'string' || path === '') throw new ListenerSpecError('<unix PATH>: PATH must be a non-empty string');
    return { kind: 'unix', path, mode: parseMode(opts?.get(sym('mode'))) };
  }
  if (a instanceof Record && a.hasLabel('tcp') && a.fields.length === 2) {
    const host = peel(a.fields[0]), port = peel(a.fields[1]);
    if (typeof host !== 'string') throw new ListenerSpecError('<tcp HOST PORT>: HOST must be a string');
    if (typeof port !== 'number' || port < 0 || port > 65535) throw new ListenerSpecError('<tcp HOST PORT>: PORT must be 0–65535');
    const allowV = opts?.get(sym('allow'));
    let allow: net.BlockList | null = null;
    const allowText: string[] = [];
    if (allowV !== undefined) {
      const xs = peel(allowV);
      if (!Array.isArray(xs)) throw new ListenerSpecError('allow must be a sequence of networks such as "127.0.0.0/8"');
      allow = new net.BlockList();
      for (const x of xs) {
        const s = peel(x);
        if (typeof s !== 'string') throw new ListenerSpecError('allow: networks must be strings');
        addNetwork(allow, s);
        allowText.push(s);
      }
    }
    return { kind: 'tcp', host, port, allow, allowText };
  }
  throw new ListenerSpecError('listener address must be <unix PATH> or <tcp HOST PORT>');
}

/** True when `address` (as Node reports a peer) is inside `allow`. IPv4-mapped IPv6 counts as IPv4. */
export function addressAllowed(allow: net.BlockList, address: string): boolean {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (m !== null) return allow.check(m[1], 'ipv4');
  return allow.check(address, net.isIPv4(address) ? 'ipv4' : 'ipv6');
}

/** The `<relay-listener <unix PATH> #:gatekeeper>` record. */
export function unixListenerName(path: string, gatekeeper: Ref): Assertion {
  return new Record<Ref>(sym('relay-listener'), [new Record<Ref>(sym('unix'), [path]), new Embedded<Ref>(gatekeeper)]);
}

/** The `<relay-listener <tcp HOST PORT> #:gatekeeper>` record. */
export function tcpListenerName(host: string, port: number, gatekeeper: Ref): Assertion {
  return new Record<Ref>(sym('relay-listener'), [new Record<Ref>(sym('tcp'), [host, port]), new Embedded<Ref>(gatekeeper)]);
}

/** Where `-p` listens: `PORT` alone is 127.0.0.1 (TCP is closed to other machines by default). */
export interface TcpFlag {
  readonly host: string;
  readonly port: number;
}

/** The address `-p` listens on when none is given. */
export const DEFAULT_TCP_HOST = '127.0.0.1';

/** A `-p` value that cannot be used. */
export class TcpFlagError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TcpFlagError';
  }
}

/** Parses `-p PORT`, `-p HOST:PORT` or `-p [IPV6]:PORT`. */
export function parseTcpFlag(text: string): TcpFlag {
  const m = /^(?:\[([^\]]+)\]:|([^:]*):)?(\d+)$/.exec(text);
  const port = m === null ? NaN : Number(m[3]);
  if (m === null || !Number.isInteger(port) || port > 65535) throw new TcpFlagError(`bad port "${text}": use PORT, HOST:PORT or [IPV6]:PORT`);
  const host = m[1] ?? m[2] ?? DEFAULT_TCP_HOST;
  if (m[1] !== undefined && !net.isIPv6(host)) throw new TcpFlagError(`bad port "${text}": [${host}] is not an IPv6 address`);
  if (host === '') throw new TcpFlagError(`bad port "${text}": empty host`);
  return { host, port };
}

/** Checks one `--allow` network (`10.0.0.0/8`, `::1/128`, or an address); throws ListenerSpecError. */
export function checkAllowNetwork(cidr: string): void {
  addNetwork(new net.BlockList(), cidr);
}

/**
 * The `<run-service …>` assertions for the command line's `-p [HOST:]PORT` (TCP, 127.0.0.1 by
 * default; a bare number is a port there), `--allow CIDR` (the allow-list of every `-p` listener)
 * and `-s PATH` (Unix socket) flags, all exporting `gatekeeper`; assert them into the config space.
 */
export function listenerFlagsToAssertions(
  flags: { readonly ports?: readonly (number | TcpFlag)[]; readonly sockets?: readonly string[]; readonly allow?: readonly string[] },
  gatekeeper: Ref,
): Assertion[] {
  const allow = flags.allow ?? [];
  const tcp = (p: number | TcpFlag): Assertion => {
    const { host, port } = typeof p === 'number' ? { host: DEFAULT_TCP_HOST, port: p } : p;
    const name = tcpListenerName(host, port, gatekeeper) as Record<Ref>;
    if (allow.length === 0) return name;
    return new Record<Ref>(name.label, [...name.fields, new Dictionary<Ref>([[sym('allow'), [...allow]]])]);
  };
  return [
    ...(flags.ports ?? []).map((p) => Service.run(tcp(p))),
    ...(flags.sockets ?? []).map((s) => Service.run(unixListenerName(s, gatekeeper))),
  ];
}

/** Limits of the listeners of one bus: the relay limits of each connection, and how many connections. */
export interface ListenerLimits extends RelayLimits {
  /** Open connections per listener. */
  readonly maxConnections: number;
  /** Open connections over all listeners of the bus. */
  readonly maxConnectionsTotal: number;
}

/** The soft limit on open files of this process, from /proc (null where unreadable). */
export function openFileLimit(): number | null {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'));
    return m === null || m[1] === 'unlimited' ? null : Number(m[1]);
  } catch {
    return null;
  }
}

/**
 * Default listener limits: 512 connections in all but at most a quarter of the descriptors this
 * process may open (the rest stay for daemons, their pipes and log files), and per listener half
 * of that (at most 256), so one flooded port leaves room on the others (the control socket).
 */
export function defaultListenerLimits(fileLimit: number | null = openFileLimit()): ListenerLimits {
  const total = Math.max(16, Math.min(512, fileLimit === null ? 512 : Math.floor(fileLimit / 4)));
  return { ...DEFAULT_RELAY_LIMITS, maxConnections: Math.min(256, Math.floor(total / 2)), maxConnectionsTotal: total };
}

/** Logs a line at most once a minute per key; the next line says how many were held back. */
export class RateLimitedLog {
  private readonly last = new Map<string, { at: number; held: number }>();

  constructor(private readonly periodMs = 60_000) {}

  /** Logs `message` (warn) unless `key` was logged within the period. */
  warn(key: string, message: string): void {
    const now = Date.now();
    const e = this.last.get(key);
    if (e !== undefined && now - e.at < this.periodMs) {
      e.held++;
      return;
    }
    if (this.last.size >= 10_000) this.prune(now);
    const held = e?.held ?? 0;
    this.last.set(key, { at: now, held: 0 });
    log({ level: 'warn', actor: 'relay-listener', message: message + (held > 0 ? ` (${held} more not logged in the last minute)` : '') });
  }

  private prune(now: number): void {
    for (const [k, e] of this.last) if (now - e.at >= this.periodMs) this.last.delete(k);
    if (this.last.size >= 10_000) this.last.clear(); // a flood from many addresses: forget rather than grow
  }
}

/** What the listeners of one bus share: limits, budget, the connection count and the refusal log. */
interface Shared {
  readonly limits: ListenerLimits;
  readonly budget: RelayBudget;
  open: number;
  readonly refusals: RateLimitedLog;
}

let nextConnection = 1;

/**
 * Takes an accepted socket: refused (and logged, rate-limited) past a connection limit, else run
 * in its own (unlinked) actor with `gatekeeper` as OID 0 and the bus's relay limits.
 */
function acceptConnection(listenerFacet: Facet, socket: net.Socket, gatekeeper: Ref, name: string, what: string, shared: Shared, mine: { open: number }): void {
  // From the first moment: a reset before the relay is attached must not become an uncaught 'error'.
  socket.on('error', () => {});
  const addr = socket.remoteAddress ?? 'unix';
  const full = mine.open >= shared.limits.maxConnections ? `${shared.limits.maxConnections} connections on this listener`
    : shared.open >= shared.limits.maxConnectionsTotal ? `${shared.limits.maxConnectionsTotal} connections in all` : null;
  if (full !== null || !listenerFacet.isLive) {
    if (full !== null) shared.refusals.warn(what + ' full ' + addr, `${what}: refused connection from ${addr} (limit of ${full} reached)`);
    socket.destroy();
    return;
  }
  mine.open++;
  shared.open++;
  socket.once('close', () => {
    mine.open--;
    shared.open--;
  });
  listenerFacet.turn((t) => {
    t.spawn(name, (t) => {
      const actor = t.actor;
      attachRelay(t, socket, socket, {
        syntax: 'binary',
        exportRef: gatekeeper,
        name,
        limits: shared.limits,
        budget: shared.budget,
        onClose: () => actor.root.turn((t) => t.stopActor()),
      });
    });
  });
}

/**
 * Once listening, a server 'error' is a failed accept (EMFILE, ENFILE, ECONNABORTED): the
 * connection is lost, the listener goes on. Logged once a minute per code. A server that closes
 * by itself fails the listener, and the supervisor listens again.
 */
function keepListening(server: net.Server, facet: Facet, what: string, shared: Shared, isClosed: () => boolean): void {
  server.removeAllListeners('error');
  server.on('error', (e: NodeJS.ErrnoException) => {
    if (isClosed()) return;
    shared.refusals.warn(what + ' accept ' + (e.code ?? e.message), `${what}: accept failed, listener goes on: ${e.message}`);
  });
  server.once('close', () => {
    if (!isClosed()) failListener(facet, what, 'listening socket closed');
  });
}

/** Fails the listener's actor from outside a turn, with a log line saying why. */
function failListener(facet: Facet, what: string, message: string): void {
  log({ level: 'error', actor: 'relay-listener', message: what + ': ' + message });
  facet.turn(() => {
    throw new Error(what + ': ' + message);
  });
}

/** Listens on a Unix socket; a stale socket file is replaced, a live one is left alone. */
function listenUnix(t: Turn, name: Assertion, config: Ref, gatekeeper: Ref, path: string, mode: number, shared: Shared): void {
  const facet = t.activeFacet;
  const what = 'relay-listener <unix "' + path + '">';
  const mine = { open: 0 };
  const server = net.createServer({ allowHalfOpen: false }, (socket) => acceptConnection(facet, socket, gatekeeper, '<unix ' + nextConnection++ + '>', what, shared, mine));
  let closed = false;
  t.onRelease(() => {
    closed = true;
    server.close();
  });
  const listen = (retry: boolean): void => {
    if (closed) return;
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (closed) return;
      if (e.code === 'EADDRINUSE' && retry) probeStale();
      else failListener(facet, what, 'cannot listen: ' + e.message);
    });
    // Bind with a tight umask so the socket is never reachable with looser permissions.
    const oldMask = process.umask(0o177);
    try {
      server.listen(path);
    } finally {
      process.umask(oldMask);
    }
  };
  const probeStale = (): void => {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(path);
    } catch {
      listen(false);
      return;
    }
    if (!st.isSocket()) {
      failListener(facet, what, 'path exists and is not a socket; not replacing it');
      return;
    }
    const probe = net.connect({ path });
    probe.once('connect', () => {
      probe.destroy();
      failListener(facet, what, 'another process is accepting connections on this socket; not replacing it');
    });
    probe.once('error', (e: NodeJS.ErrnoException) => {
      if (closed) return;
      if (e.code !== 'ECONNREFUSED') {
        failListener(facet, what, 'cannot probe existing socket: ' + e.message);
        return;
      }
      log({ level: 'info', actor: 'relay-listener', message: what + ': replacing stale socket file' });
      try {
        fs.unlinkSync(path);
      } catch (err) {
        failListener(facet, what, 'cannot remove stale socket: ' + (err as Error).message);
        return;
      }
      listen(false);
    });
  };
  server.once('listening', () => {
    keepListening(server, facet, what, shared, () => closed);
    try {
      fs.chmodSync(path, mode);
    } catch (e) {
      failListener(facet, what, 'cannot set socket mode: ' + (e as Error).message);
      return;
    }
    facet.turn((t) => void t.assert(config, Service.state(name, 'ready')));
  });
  listen(true);
}

/** Listens on TCP; with an allow-list, other clients are closed at once and logged. */
function listenTcp(t: Turn, name: Assertion, config: Ref, gatekeeper: Ref, host: string, port: number, allow: net.BlockList | null, shared: Shared): void {
  const facet = t.activeFacet;
  const what = 'relay-listener <tcp "' + host + '" ' + port + '>';
  const mine = { open: 0 };
  const server = net.createServer({ allowHalfOpen: false }, (socket) => {
    socket.on('error', () => {});
    const addr = socket.remoteAddress ?? '?';
    const who = addr + ':' + socket.remotePort;
    if (allow !== null && !addressAllowed(allow, addr)) {
      // Once a minute per address, not per attempt: a scan must not flood the log.
      shared.refusals.warn(what + ' deny ' + addr, what + ': refused connection from ' + who + ' (not in allow list)');
      socket.destroy();
      return;
    }
    acceptConnection(facet, socket, gatekeeper, '<tcp "' + who + '">', what, shared, mine);
  });
  let closed = false;
  t.onRelease(() => {
    closed = true;
    server.close();
  });
  server.once('error', (e) => {
    if (!closed) failListener(facet, what, 'cannot listen: ' + e.message);
  });
  server.once('listening', () => {
    keepListening(server, facet, what, shared, () => closed);
    facet.turn((t) => void t.assert(config, Service.state(name, 'ready')));
  });
  server.listen(port, host);
}

/**
 * The relay-listener service kind, publishing its states into `config`. Its listeners share
 * `limits` (default `defaultListenerLimits()`): the global ones count over all of them.
 */
export function relayListenerService(config: Ref, limits: Partial<ListenerLimits> = {}): ServiceKind {
  const all = { ...defaultListenerLimits(), ...limits };
  const shared: Shared = { limits: all, budget: new RelayBudget(all), open: 0, refusals: new RateLimitedLog() };
  return {
    kind: 'relay-listener',
    // Dataspace patterns ignore extra fields: the 3-field form (options) matches too.
    pattern: P.bind(P.rec('relay-listener', P.bind(), P.bind())),
    policy: 'always',
    boot(t, name, [, addr, gk]) {
      const g = peel(gk);
      if (!(g instanceof Embedded) || !isRef(g.value)) throw new ListenerSpecError('relay-listener: the gatekeeper must be a ref');
      const n = peel(name);
      const options = n instanceof Record && n.fields.length >= 3 ? n.fields[2] : undefined;
      const a = parseListenerAddress(addr, options instanceof Embedded ? undefined : options);
      t.preventInertCheck();
      if (a.kind === 'unix') listenUnix(t, name, config, g.value, a.path, a.mode, shared);
      else listenTcp(t, name, config, g.value, a.host, a.port, a.allow, shared);
    },
  };
}
