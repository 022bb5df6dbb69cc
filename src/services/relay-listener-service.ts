// Relay listeners (spec §5.3) as supervised services:
//   <relay-listener <unix PATH> $gatekeeper [{mode: "0660"}]>
//   <relay-listener <tcp HOST PORT> $gatekeeper [{allow: ["127.0.0.0/8" "::1/128"]}]>
// Each accepted connection runs in its own actor (not linked to the listener: restarting a
// listener does not cut established connections) with the gatekeeper exported as OID 0.
import fs from 'node:fs';
import net from 'node:net';
import { Dictionary, Embedded, Record, peel, sym } from '../preserves/index.ts';
import { P, log, isRef, type Assertion, type Facet, type Ref, type Turn } from '../bus/index.ts';
import { attachRelay } from '../relay/relay.ts';
import { Service } from './service-protocol.ts';
import type { ServiceKind } from './service-listener.ts';

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

/**
 * The `<run-service …>` assertions for the command line's `-p PORT` (TCP on 0.0.0.0) and
 * `-s PATH` (Unix socket) flags, all exporting `gatekeeper`; assert them into the config space.
 */
export function listenerFlagsToAssertions(flags: { readonly ports?: readonly number[]; readonly sockets?: readonly string[] }, gatekeeper: Ref): Assertion[] {
  return [
    ...(flags.ports ?? []).map((p) => Service.run(tcpListenerName('0.0.0.0', p, gatekeeper))),
    ...(flags.sockets ?? []).map((s) => Service.run(unixListenerName(s, gatekeeper))),
  ];
}

let nextConnection = 1;

/** Runs one accepted connection in its own (unlinked) actor with `gatekeeper` as OID 0. */
function acceptConnection(listenerFacet: Facet, socket: net.Socket, gatekeeper: Ref, name: string): void {
  listenerFacet.turn((t) => {
    t.spawn(name, (t) => {
      const actor = t.actor;
      attachRelay(t, socket, socket, {
        syntax: 'binary',
        exportRef: gatekeeper,
        name,
        onClose: () => actor.root.turn((t) => t.stopActor()),
      });
    });
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
function listenUnix(t: Turn, name: Assertion, config: Ref, gatekeeper: Ref, path: string, mode: number): void {
  const facet = t.activeFacet;
  const what = 'relay-listener <unix "' + path + '">';
  const server = net.createServer({ allowHalfOpen: false }, (socket) => acceptConnection(facet, socket, gatekeeper, '<unix ' + nextConnection++ + '>'));
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
    server.removeAllListeners('error');
    server.on('error', (e) => failListener(facet, what, e.message));
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
function listenTcp(t: Turn, name: Assertion, config: Ref, gatekeeper: Ref, host: string, port: number, allow: net.BlockList | null): void {
  const facet = t.activeFacet;
  const what = 'relay-listener <tcp "' + host + '" ' + port + '>';
  const server = net.createServer({ allowHalfOpen: false }, (socket) => {
    const addr = socket.remoteAddress ?? '?';
    const who = addr + ':' + socket.remotePort;
    if (allow !== null && !addressAllowed(allow, addr)) {
      log({ level: 'warn', actor: 'relay-listener', message: what + ': refused connection from ' + who + ' (not in allow list)' });
      socket.destroy();
      return;
    }
    acceptConnection(facet, socket, gatekeeper, '<tcp "' + who + '">');
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
    server.removeAllListeners('error');
    server.on('error', (e) => failListener(facet, what, e.message));
    facet.turn((t) => void t.assert(config, Service.state(name, 'ready')));
  });
  server.listen(port, host);
}

/** The relay-listener service kind, publishing its states into `config`. */
export function relayListenerService(config: Ref): ServiceKind {
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
      if (a.kind === 'unix') listenUnix(t, name, config, g.value, a.path, a.mode);
      else listenTcp(t, name, config, g.value, a.host, a.port, a.allow);
    },
  };
}
