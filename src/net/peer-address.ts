// IP addresses and networks for peer selection: IPv4 and IPv6, as numbers so that "NET contains
// ADDRESS" is one mask and compare. TrIPE's forms are kept: `10.0.0.0/8` and `10.0.0.0/255.0.0.0`,
// and a network with bits set beyond its mask is an error.
import net from 'node:net';

/** The two address families. */
export type IpFamily = 'ipv4' | 'ipv6';

/** One address. */
export interface IpAddress {
  readonly family: IpFamily;
  readonly value: bigint;
  /** The text it was written as. */
  readonly text: string;
}

/** A network: address and mask of the same family. */
export interface IpNet {
  readonly family: IpFamily;
  readonly addr: bigint;
  readonly mask: bigint;
  readonly text: string;
}

/** An address or network that does not parse; `message` says why, as TrIPE words it. */
export class AddressError extends Error {}

const bits = (f: IpFamily) => (f === 'ipv4' ? 32 : 128);
const all = (f: IpFamily) => (1n << BigInt(bits(f))) - 1n;

function v4ToBigint(s: string): bigint {
  return s.split('.').reduce((acc, p) => (acc << 8n) | BigInt(Number(p)), 0n);
}

function v6ToBigint(s: string): bigint {
  let text = s;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v = Number(v4ToBigint(tail));
    text = text.slice(0, lastColon + 1) + ((v >>> 16) & 0xffff).toString(16) + ':' + (v & 0xffff).toString(16);
  }
  const [head, rest] = text.split('::');
  const h = head === '' ? [] : head.split(':');
  const r = rest === undefined ? [] : rest === '' ? [] : rest.split(':');
  const groups = rest === undefined ? h : [...h, ...Array<string>(8 - h.length - r.length).fill('0'), ...r];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** Parses one address, IPv4 or IPv6. */
export function parseAddress(text: string): IpAddress {
  if (net.isIPv4(text)) return { family: 'ipv4', value: v4ToBigint(text), text };
  if (net.isIPv6(text)) return { family: 'ipv6', value: v6ToBigint(text), text };
  throw new AddressError('not an IPv4 or IPv6 address');
}

/** Parses `ADDR/LEN` or (IPv4) `ADDR/MASK`. */
export function parseNet(text: string): IpNet {
  const slash = text.indexOf('/');
  if (slash < 0) throw new AddressError('missing mask');
  const a = parseAddress(text.slice(0, slash));
  const m = text.slice(slash + 1);
  let mask: bigint;
  if (/^\d{1,3}$/.test(m)) {
    const len = Number(m);
    if (len > bits(a.family)) throw new AddressError(`prefix length ${len} too long for ${a.family}`);
    mask = all(a.family) ^ ((1n << BigInt(bits(a.family) - len)) - 1n);
  } else if (a.family === 'ipv4' && net.isIPv4(m)) {
    mask = v4ToBigint(m);
  } else {
    throw new AddressError(`bad mask \`${m}'`);
  }
  if ((a.value & ~mask) !== 0n) throw new AddressError('network contains bits set beyond mask');
  return { family: a.family, addr: a.value, mask, text };
}

/** Whether `net` contains `addr` (never across families). */
export function netContains(n: IpNet, addr: IpAddress): boolean {
  return n.family === addr.family && (addr.value & n.mask) === n.addr;
}
