// The kernel's links, addresses and routes as the monitor last heard of them, and the one
// assertion each stands for. Pure: rtnetlink messages (already parsed) in, changed assertions
// out, so every rule here is testable without a kernel.
import type { rt } from 'netlink';
import { valueKey, type Value } from '../preserves/index.ts';
import { formatIp, formatLinkAddr } from './ip-text.ts';
import {
  addressRecord, interfaceRecord, routeRecord,
  type AddressFamily, type AddressScope, type InterfaceInfo, type OperationalState,
} from './network-assertions.ts';

/** A NEW or DEL message from the kernel; `replace` is NLM_F_REPLACE on a NEWROUTE. */
export type KernelMessage =
  | { readonly op: 'new' | 'del'; readonly kind: 'link'; readonly msg: rt.LinkMessage }
  | { readonly op: 'new' | 'del'; readonly kind: 'address'; readonly msg: rt.AddressMessage }
  | { readonly op: 'new' | 'del'; readonly kind: 'route'; readonly msg: rt.RouteMessage; readonly replace?: boolean };

/** The three tables a dump can replace. */
export type KernelTable = 'link' | 'address' | 'route';

const AF_UNSPEC = 0;
const AF_INET = 2;
const AF_INET6 = 10;
const RT_TABLE_MAIN = 254;

/** IFLA_OPERSTATE (RFC 2863 order) to the schema's names; `notpresent` (1) counts as down. */
const OPER_STATES: readonly OperationalState[] = ['unknown', 'down', 'down', 'lower-layer-down', 'testing', 'dormant', 'up'];

interface AddressEntry {
  readonly index: number;
  readonly family: AddressFamily;
  readonly address: string;
  readonly scope: AddressScope;
}

interface RouteEntry {
  readonly family: AddressFamily;
  readonly destination: string;
  readonly priority: number;
  readonly tos: number;
  readonly oif: number | null;
  readonly gateway: string | null;
}

function familyOf(n: number | undefined): AddressFamily | null {
  return n === AF_INET ? 'ipv4' : n === AF_INET6 ? 'ipv6' : null;
}

function scopeOf(n: number | undefined): AddressScope {
  switch (n ?? 0) {
    case 0: return 'global';
    case 200: return 'site';
    case 253: return 'link';
    case 254: return 'host';
    default: return 'nowhere';
  }
}

/** Links, addresses and routes of one network namespace, and the assertions they stand for. */
export class KernelState {
  private readonly links = new Map<number, InterfaceInfo>();
  private readonly addresses = new Map<string, AddressEntry>();
  private readonly routes = new Map<string, RouteEntry>();
  /** Keys whose assertion may have changed since the last `takeChanges`. */
  private readonly dirty = new Set<string>();
  /** The assertion last handed out per key, with its canonical key for comparison. */
  private readonly published = new Map<string, { value: Value<never>; key: string }>();

  /** `isWireless(name)` decides the `wireless` type (sysfs in the monitor). */
  constructor(private readonly isWireless: (name: string) => boolean = () => false) {}

  /** Applies one NEW or DEL message. */
  apply(m: KernelMessage): void {
    switch (m.kind) {
      case 'link': return this.applyLink(m.op, m.msg);
      case 'address': return this.applyAddress(m.op, m.msg);
      case 'route': return this.applyRoute(m.op, m.msg, m.replace === true);
    }
  }

  /** Replaces a whole table with a dump's contents (what is missing from it is gone). */
  replaceTable(table: KernelTable, msgs: readonly rt.Message[]): void {
    const map: Map<string | number, unknown> = table === 'link' ? this.links : table === 'address' ? this.addresses : this.routes;
    for (const k of map.keys()) this.dirty.add(this.keyOf(table, k));
    map.clear();
    for (const msg of msgs) {
      if (table === 'link' && msg.kind === 'link') this.applyLink('new', msg);
      else if (table === 'address' && msg.kind === 'address') this.applyAddress('new', msg);
      else if (table === 'route' && msg.kind === 'route') this.applyRoute('new', msg, false);
    }
  }

  /** The assertions whose value changed since the last call: key → new value, or null when gone. */
  takeChanges(): Map<string, Value<never> | null> {
    const out = new Map<string, Value<never> | null>();
    for (const key of this.dirty) {
      const value = this.valueFor(key);
      const old = this.published.get(key);
      if (value === null) {
        if (old !== undefined) {
          this.published.delete(key);
          out.set(key, null);
        }
        continue;
      }
      const canonical = valueKey(value);
      if (old !== undefined && old.key === canonical) continue;
      this.published.set(key, { value, key: canonical });
      out.set(key, value);
    }
    this.dirty.clear();
    return out;
  }

  /** Every assertion currently held, by key (after `takeChanges`). */
  current(): ReadonlyMap<string, { readonly value: Value<never> }> {
    return this.published;
  }

  /** How many objects of each kind are known. */
  counts(): { links: number; addresses: number; routes: number } {
    return { links: this.links.size, addresses: this.addresses.size, routes: this.routes.size };
  }

  private keyOf(table: KernelTable, k: string | number): string {
    return table === 'link' ? 'link:' + k : table === 'address' ? 'address:' + k : 'route:' + k;
  }

  private valueFor(key: string): Value<never> | null {
    const colon = key.indexOf(':');
    const kind = key.slice(0, colon);
    const k = key.slice(colon + 1);
    if (kind === 'link') {
      const l = this.links.get(Number(k));
      return l === undefined ? null : interfaceRecord<never>(l);
    }
    if (kind === 'address') {
      const a = this.addresses.get(k);
      const link = a === undefined ? undefined : this.links.get(a.index);
      // Shown once its interface is known (an address names the interface).
      if (a === undefined || link === undefined) return null;
      return addressRecord<never>({ interfaceName: link.name, family: a.family, address: a.address, scope: a.scope });
    }
    const r = this.routes.get(k);
    if (r === undefined) return null;
    let ifname: string | null = null;
    if (r.oif !== null) {
      const link = this.links.get(r.oif);
      if (link === undefined) return null;
      ifname = link.name;
    }
    return routeRecord<never>({
      family: r.family, destination: r.destination, priority: r.priority, typeOfService: r.tos,
      interfaceName: ifname, gateway: r.gateway,
    });
  }

  /** Marks every address and route on interface `index` (their IFNAME may have changed). */
  private touchInterface(index: number): void {
    for (const [k, a] of this.addresses) if (a.index === index) this.dirty.add('address:' + k);
    for (const [k, r] of this.routes) if (r.oif === index) this.dirty.add('route:' + k);
  }

  private applyLink(op: 'new' | 'del', m: rt.LinkMessage): void {
    // AF_BRIDGE (and other families) report bridge-port details: not the link's presence.
    if ((m.data.family ?? AF_UNSPEC) !== AF_UNSPEC) return;
    const index = m.data.index;
    if (index === undefined) return;
    const key = 'link:' + index;
    const old = this.links.get(index);
    if (op === 'del') {
      if (old === undefined) return;
      this.links.delete(index);
      this.dirty.add(key);
      // The kernel drops a vanished link's routes without telling (IPv4); so do we.
      this.dropRoutesVia(index);
      this.touchInterface(index);
      return;
    }
    const name = m.attrs.ifname ?? old?.name;
    if (name === undefined) return;
    const flags = m.data.flags ?? {};
    const loopback = m.data.type === 'LOOPBACK' || flags.loopback === true;
    // sysfs is asked once per name, not on every NEWLINK.
    const wireless = old !== undefined && old.name === name ? old.type === 'wireless' : this.isWireless(name);
    const info: InterfaceInfo = {
      name,
      index,
      type: loopback ? 'loopback' : wireless ? 'wireless' : 'normal',
      administrativeState: flags.up === true ? 'up' : 'down',
      operationalState: m.attrs.operstate === undefined ? (old?.operationalState ?? 'unknown') : (OPER_STATES[m.attrs.operstate] ?? 'unknown'),
      carrier: flags.lowerUp === true ? 'carrier' : 'no-carrier',
      linkAddr: m.attrs.address !== undefined ? formatLinkAddr(m.attrs.address) : (old?.linkAddr ?? ''),
    };
    this.links.set(index, info);
    this.dirty.add(key);
    if (old === undefined || old.name !== name) this.touchInterface(index);
    // Taking a link down flushes its routes, also without a DELROUTE for IPv4.
    if (old !== undefined && old.administrativeState === 'up' && info.administrativeState === 'down') this.dropRoutesVia(index);
  }

  private dropRoutesVia(index: number): void {
    for (const [k, r] of this.routes) {
      if (r.oif !== index) continue;
      this.routes.delete(k);
      this.dirty.add('route:' + k);
    }
  }

  private applyAddress(op: 'new' | 'del', m: rt.AddressMessage): void {
    const family = familyOf(m.data.family);
    const index = m.data.index;
    const bytes = m.attrs.local ?? m.attrs.address;
    if (family === null || index === undefined || bytes === undefined) return;
    const address = `${formatIp(bytes)}/${m.data.prefixlen ?? 0}`;
    const k = `${index} ${address}`;
    if (op === 'del') {
      if (this.addresses.delete(k)) this.dirty.add('address:' + k);
      return;
    }
    this.addresses.set(k, { index, family, address, scope: scopeOf(m.data.scope) });
    this.dirty.add('address:' + k);
  }

  private applyRoute(op: 'new' | 'del', m: rt.RouteMessage, replace: boolean): void {
    const family = familyOf(m.data.family);
    const table = m.attrs.table ?? m.data.table;
    // The main table's unicast routes: local/broadcast ones live in table 255, and blackhole or
    // unreachable routes are not a way out.
    if (family === null || table !== RT_TABLE_MAIN) return;
    const type = m.data.type;
    if (type !== undefined && type !== 'UNICAST' && type !== 1) return;
    const dstLen = m.data.dstLen ?? 0;
    const destination = dstLen === 0 || m.attrs.dst === undefined ? 'default' : `${formatIp(m.attrs.dst)}/${dstLen}`;
    const entry: RouteEntry = {
      family,
      destination,
      priority: m.attrs.priority ?? 0,
      tos: m.data.tos ?? 0,
      oif: m.attrs.oif ?? null,
      gateway: m.attrs.gateway !== undefined ? formatIp(m.attrs.gateway) : null,
    };
    const ident = `${family} ${destination} ${entry.priority} ${entry.tos}`;
    const k = `${ident} ${entry.oif ?? '-'} ${entry.gateway ?? '-'}`;
    if (op === 'del') {
      if (this.routes.delete(k)) this.dirty.add('route:' + k);
      return;
    }
    if (replace) {
      // `ip route replace` announces the new route only; the one it replaced is gone.
      for (const other of this.routes.keys()) {
        if (other !== k && other.startsWith(ident + ' ')) {
          this.routes.delete(other);
          this.dirty.add('route:' + other);
        }
      }
    }
    this.routes.set(k, entry);
    this.dirty.add('route:' + k);
  }
}
