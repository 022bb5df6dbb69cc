// rtnetlink through the npm `netlink` package, with its measured quirks handled here once:
// - dumps fail on a socket that has multicast memberships: one socket for events, one for requests;
// - two dumps at once on one socket fail: requests are serialised;
// - the high-level 'message' event drops NEW vs DEL: events are read at the socket level
//   (message types 16/17 link, 20/21 address, 24/25 route) and parsed here;
// - a stray ACK follows single-reply requests: the request socket ignores unsolicited messages;
// - errors carry only a message (`Request rejected: ENETUNREACH`): `NetlinkRequestError.code`
//   recovers the errno name from it;
// - a receive-buffer overflow aborts the process from native code: the event socket gets a
//   4 MiB buffer, and whoever runs the monitor restarts it (it re-dumps on start).
import { createRtNetlink, rt, type NetlinkMessage, type RtNetlinkSocket } from 'netlink';
import type { KernelMessage, KernelTable } from './kernel-state.ts';

/** SO_RCVBUF of the event socket: held 2 000 queued datagrams in measurements. */
export const EVENT_RECV_BUFFER_SIZE = 4 * 1024 * 1024;
const REQUEST_BUFFER_SIZE = 1024 * 1024;
const DUMP_TIMEOUT_MS = 10_000;

const RTM_NEWLINK = 16;
const RTM_DELLINK = 17;
const RTM_NEWADDR = 20;
const RTM_DELADDR = 21;
const RTM_NEWROUTE = 24;
const RTM_DELROUTE = 25;
const NLM_F_REPLACE = 0x100;

const GROUPS = ['LINK', 'IPV4_IFADDR', 'IPV6_IFADDR', 'IPV4_ROUTE', 'IPV6_ROUTE'] as const;

/** A failed netlink request; `code` is the errno name when the message carries one. */
export class NetlinkRequestError extends Error {
  readonly code: string | null;
  constructor(what: string, cause: unknown) {
    const message = cause instanceof Error ? cause.message : String(cause);
    super(`${what}: ${message}`);
    this.name = 'NetlinkRequestError';
    this.code = /\b(E[A-Z0-9]+)\b/.exec(message)?.[1] ?? null;
  }
}

/** One socket-level message as a typed NEW/DEL, or null for types the monitor does not follow. */
export function kernelMessage(m: NetlinkMessage): KernelMessage | null {
  const op = m.type === RTM_NEWLINK || m.type === RTM_NEWADDR || m.type === RTM_NEWROUTE ? 'new'
    : m.type === RTM_DELLINK || m.type === RTM_DELADDR || m.type === RTM_DELROUTE ? 'del' : null;
  if (op === null) return null;
  const parsed = rt.parseMessage(m.type, m.data);
  switch (parsed.kind) {
    case 'link': return { op, kind: 'link', msg: parsed };
    case 'address': return { op, kind: 'address', msg: parsed };
    case 'route': return { op, kind: 'route', msg: parsed, replace: (m.flags & NLM_F_REPLACE) !== 0 };
    default: return null;
  }
}

/** What the watch reports. Both run outside any turn. */
export interface KernelWatchHandlers {
  /** A burst of kernel events, in the kernel's order. */
  readonly onEvents: (events: KernelMessage[]) => void;
  /** A socket error or an unparsable message; the caller re-dumps to stay exact. */
  readonly onError: (e: Error) => void;
}

/** rtnetlink events (links, IPv4/IPv6 addresses and routes) plus serialised dumps. */
export class KernelWatch {
  private readonly events: RtNetlinkSocket;
  private readonly requests: RtNetlinkSocket;
  private queue: Promise<unknown> = Promise.resolve();
  private burst: KernelMessage[] = [];
  private burstScheduled = false;
  private closed = false;

  /** Opens both sockets and joins the groups; events before the first dump are delivered too. */
  constructor(private readonly handlers: KernelWatchHandlers) {
    this.events = createRtNetlink({ recvBufferSize: EVENT_RECV_BUFFER_SIZE, sendBufferSize: 64 * 1024, ref: true });
    this.requests = createRtNetlink({ recvBufferSize: REQUEST_BUFFER_SIZE, sendBufferSize: 64 * 1024 });
    for (const s of [this.events, this.requests]) {
      s.socket.on('error', (e) => this.fail(e));
    }
    // Unsolicited messages on the request socket are the stray ACKs: nothing to do.
    this.requests.socket.on('message', () => {});
    this.events.socket.on('message', (msgs) => this.receive(msgs));
    this.events.socket.on('invalid', (e) => this.fail(e instanceof Error ? e : new Error(String(e))));
    for (const g of GROUPS) this.events.addMembership(g);
  }

  /** Dumps one table; dumps (and other requests) run one at a time. */
  dump(table: KernelTable): Promise<rt.Message[]> {
    return this.serialised(async () => {
      const o = { timeout: DUMP_TIMEOUT_MS };
      try {
        if (table === 'link') return await this.requests.getLinks(undefined, undefined, o);
        if (table === 'address') return await this.requests.getAddresses(undefined, undefined, o);
        return await this.requests.getRoutes(undefined, undefined, o);
      } catch (e) {
        throw new NetlinkRequestError(`dump of ${table}s`, e);
      }
    });
  }

  /** Closes both sockets; no handler runs afterwards. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.events.socket.close();
    this.requests.socket.close();
  }

  private serialised<T>(f: () => Promise<T>): Promise<T> {
    const run = this.queue.then(f, f);
    this.queue = run.catch(() => {});
    return run;
  }

  private receive(msgs: NetlinkMessage[]): void {
    for (const m of msgs) {
      try {
        const k = kernelMessage(m);
        if (k !== null) this.burst.push(k);
      } catch (e) {
        this.fail(new Error(`unparsable netlink message type ${m.type}: ${e instanceof Error ? e.message : String(e)}`));
      }
    }
    // One delivery per burst: what the socket hands over before the event loop turns.
    if (!this.burstScheduled && this.burst.length > 0) {
      this.burstScheduled = true;
      setImmediate(() => {
        this.burstScheduled = false;
        const b = this.burst;
        this.burst = [];
        if (!this.closed && b.length > 0) this.handlers.onEvents(b);
      });
    }
  }

  private fail(e: Error): void {
    if (!this.closed) this.handlers.onError(e);
  }
}
