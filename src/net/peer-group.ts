// The peer-selection configuration as data: groups of patterns, wherever they came from
// (`<peer-group …>` assertions or a TrIPE conntrack.conf), and the errors found reading them.
import { Record, peel, stringify, symbolName, type Value } from '../preserves/index.ts';
import { AddressError, parseAddress, parseNet, type IpAddress, type IpNet } from './peer-address.ts';

/** One `[TAG NET]` / `[TAG TARGET NET]`: TAG is kept exactly as written (symbol or string). */
export interface PeerPattern {
  readonly tag: Value;
  readonly tagText: string;
  /** Where to route towards; null = the group's test address. */
  readonly target: IpAddress | null;
  readonly net: IpNet;
}

/** One group: its name as written, its patterns in order, where it was defined. */
export interface PeerGroup {
  readonly name: Value;
  /** The name as text: groups are the same group when these are equal. */
  readonly nameText: string;
  readonly patterns: readonly PeerPattern[];
  /** `file:line` or the assertion, for error messages. */
  readonly origin: string;
  /** The test address of the group's source (a conntrack.conf's `test-addr`), else null. */
  readonly testAddress: IpAddress | null;
  /** Set when its definition had an error: such a group selects nothing. */
  readonly broken: boolean;
}

/** A configuration error, printed `ORIGIN: message` (TrIPE's `file:line: message`). */
export class PeerConfigError extends Error {
  constructor(readonly origin: string, readonly detail: string) {
    super(`${origin}: ${detail}`);
  }
}

/** The default test address, as TrIPE. */
export const DEFAULT_TEST_ADDRESS = '1.2.3.4';

/** Whether TAG means "no peer": `down` or `down/…`. */
export function isDownTag(tagText: string): boolean {
  return tagText === 'down' || tagText.startsWith('down/');
}

/** The text of a symbol or string; null for any other value. */
export function nameText(v: Value): string | null {
  const p = peel(v);
  if (typeof p === 'symbol') return symbolName(p);
  if (typeof p === 'string') return p;
  return null;
}

/** A short form of an assertion for messages. */
export function briefly(v: Value, max = 80): string {
  const s = stringify(v);
  return s.length <= max ? s : s.slice(0, max - 1) + '…';
}

/** Parses an address, turning its error into a configuration error at `origin`. */
export function addressAt(text: string, origin: string): IpAddress {
  try {
    return parseAddress(text);
  } catch (e) {
    throw new PeerConfigError(origin, `invalid IP address \`${text}': ${(e as Error).message}`);
  }
}

/** Parses a network, turning its error into a configuration error at `origin`. */
export function netAt(text: string, origin: string): IpNet {
  try {
    return parseNet(text);
  } catch (e) {
    if (!(e instanceof AddressError)) throw e;
    throw new PeerConfigError(origin, `invalid IP network \`${text}': ${e.message}`);
  }
}

/**
 * Reads one `<peer-group GROUP [PATTERN …]>` assertion. A bad pattern makes the group broken
 * (kept, so that duplicates are still seen) and adds an error naming the pattern.
 */
export function parsePeerGroupAssertion(v: Value): { group: PeerGroup | null; errors: PeerConfigError[] } {
  const origin = briefly(v);
  const r = peel(v);
  if (!(r instanceof Record) || r.fields.length < 2) {
    return { group: null, errors: [new PeerConfigError(origin, 'expected <peer-group GROUP [PATTERN …]>')] };
  }
  const name = r.fields[0];
  const text = nameText(name);
  if (text === null) return { group: null, errors: [new PeerConfigError(origin, 'GROUP must be a symbol or a string')] };
  const list = peel(r.fields[1]);
  const errors: PeerConfigError[] = [];
  const patterns: PeerPattern[] = [];
  if (!Array.isArray(list)) {
    errors.push(new PeerConfigError(origin, 'the patterns must be a sequence [[TAG NET] …]'));
  } else {
    list.forEach((p, i) => {
      const at = `${origin}: pattern ${i + 1}`;
      try {
        patterns.push(parsePatternValue(p as Value, at));
      } catch (e) {
        if (!(e instanceof PeerConfigError)) throw e;
        errors.push(e);
      }
    });
  }
  const group: PeerGroup = { name, nameText: text, patterns, origin, testAddress: null, broken: errors.length > 0 };
  return { group, errors };
}

function parsePatternValue(p: Value, at: string): PeerPattern {
  const items = peel(p);
  if (!Array.isArray(items) || items.length < 2 || items.length > 3) {
    throw new PeerConfigError(at, `expected [TAG NET] or [TAG TARGET NET], got ${briefly(p)}`);
  }
  const tag = items[0] as Value;
  const tagText = nameText(tag);
  if (tagText === null) throw new PeerConfigError(at, `TAG must be a symbol or a string, got ${briefly(tag)}`);
  const str = (x: unknown, what: string): string => {
    const s = peel(x as Value);
    if (typeof s !== 'string') throw new PeerConfigError(at, `${what} must be a string, got ${briefly(x as Value)}`);
    return s;
  };
  const target = items.length === 3 ? addressAt(str(items[1], 'TARGET'), at) : null;
  const net = netAt(str(items[items.length - 1], 'NET'), at);
  return { tag, tagText, target, net };
}

/** Reads a `<conntrack-test-address ADDR>` field. */
export function parseTestAddress(v: Value): IpAddress {
  const s = peel(v);
  const origin = `<conntrack-test-address ${briefly(v)}>`;
  if (typeof s !== 'string') throw new PeerConfigError(origin, 'the address must be a string');
  return addressAt(s, origin);
}
