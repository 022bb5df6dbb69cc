// Resource limits of relays serving untrusted peers: what one connection, and all of them
// together, may make the bus hold. Past a limit only the connection at fault is closed.
import { DEFAULT_MAX_PACKET_SIZE } from './framing.ts';

/** The limits a relay enforces (per connection unless named `…Total`). */
export interface RelayLimits {
  /** Largest inbound packet, so also the unfinished input one connection may buffer (bytes). */
  readonly maxPacketSize: number;
  /** Unfinished input buffered by all connections sharing a budget together (bytes). */
  readonly maxInputTotal: number;
  /** Output written but not yet taken by the peer, per connection (bytes). */
  readonly maxPendingOutput: number;
  /** Output pending over all connections sharing a budget (bytes). */
  readonly maxPendingOutputTotal: number;
  /** Assertions (handles) the peer may hold at once through one connection. */
  readonly maxAssertions: number;
}

/** Defaults for relays behind a listener: far above what a daemon or tool needs, far below the machine. */
export const DEFAULT_RELAY_LIMITS: RelayLimits = {
  maxPacketSize: DEFAULT_MAX_PACKET_SIZE,
  maxInputTotal: 64 * 1024 * 1024,
  maxPendingOutput: 16 * 1024 * 1024,
  maxPendingOutputTotal: 64 * 1024 * 1024,
  maxAssertions: 10_000,
};

/** Limits for a relay that serves one trusted program (client library, protocol daemons): packet size only. */
export const UNLIMITED_RELAY_LIMITS: RelayLimits = {
  maxPacketSize: DEFAULT_MAX_PACKET_SIZE,
  maxInputTotal: Infinity,
  maxPendingOutput: Infinity,
  maxPendingOutputTotal: Infinity,
  maxAssertions: Infinity,
};

/** The shared accounting of the relays that draw on the same global limits (one per bus). */
export class RelayBudget {
  /** Unfinished input buffered by all member relays (bytes). */
  inputTotal = 0;
  /** Relays counted, so pending output can be summed when one of them backs up. */
  readonly members = new Set<{ pendingOutput(): number }>();

  constructor(readonly limits: RelayLimits = DEFAULT_RELAY_LIMITS) {}

  /** Output pending over all members (summed on demand: only called for a connection that backs up). */
  pendingOutputTotal(): number {
    let n = 0;
    for (const m of this.members) n += m.pendingOutput();
    return n;
  }
}

/** Parses a size such as `16M`, `64MiB`, `512k` or `1000` (bytes; K/M/G are powers of 1024). */
export function parseSize(text: string): number | null {
  const m = /^(\d+)\s*([kmg]?)(i?b)?$/i.exec(text.trim());
  if (m === null) return null;
  const scale = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g'];
  const n = Number(m[1]) * scale;
  return Number.isSafeInteger(n) ? n : null;
}
