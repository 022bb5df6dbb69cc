// The machine dataspace's network records (spec network.md §1): `<interface …>` and `<route …>`
// follow Synit's network.prs, `<address …>` is ours. One place builds them and reads them back,
// so the monitor, network.pr, syndicate-ctl net and the peer selection agree on the shapes.
import { Dictionary, Record, peel, record, sym, symbolName, type Value } from '../preserves/index.ts';

/** `loopback`, `wireless` (a wlan device), else `normal`. */
export type InterfaceType = 'loopback' | 'normal' | 'wireless';
/** What the operator asked the kernel for (IFF_UP). */
export type AdministrativeState = 'unknown' | 'down' | 'up';
/** RFC 2863 operational state (IFLA_OPERSTATE); `notpresent` is reported as `down`. */
export type OperationalState = 'unknown' | 'down' | 'lower-layer-down' | 'testing' | 'dormant' | 'up';
/** IFF_LOWER_UP. */
export type CarrierState = 'carrier' | 'no-carrier';
/** The address families the monitor reports. */
export type AddressFamily = 'ipv4' | 'ipv6';
/** Address scope (IFA scope: 0 global, 200 site, 253 link, 254 host, 255 nowhere). */
export type AddressScope = 'global' | 'site' | 'link' | 'host' | 'nowhere';

/** `<interface NAME INDEX TYPE ADMIN-STATE OPER-STATE CARRIER LINK-ADDR>` */
export interface InterfaceInfo {
  readonly name: string;
  readonly index: number;
  readonly type: InterfaceType;
  readonly administrativeState: AdministrativeState;
  readonly operationalState: OperationalState;
  readonly carrier: CarrierState;
  /** Colon-hex hardware address, `""` when the link has none. */
  readonly linkAddr: string;
}

/** `<route FAMILY DESTINATION PRIORITY TOS IFNAME GATEWAY>` (main table only). */
export interface RouteInfo {
  readonly family: AddressFamily;
  /** `default`, or a network `"192.0.2.0/24"`. */
  readonly destination: 'default' | string;
  readonly priority: number;
  readonly typeOfService: number;
  readonly interfaceName: string | null;
  readonly gateway: string | null;
}

/** `<address IFNAME FAMILY "192.0.2.2/24" {scope: global}>` */
export interface AddressInfo {
  readonly interfaceName: string;
  readonly family: AddressFamily;
  /** Address with its prefix length, `"192.0.2.2/24"`. */
  readonly address: string;
  readonly scope: AddressScope;
}

const INTERFACE_TYPES: readonly InterfaceType[] = ['loopback', 'normal', 'wireless'];
const ADMIN_STATES: readonly AdministrativeState[] = ['unknown', 'down', 'up'];
const OPER_STATES: readonly OperationalState[] = ['unknown', 'down', 'lower-layer-down', 'testing', 'dormant', 'up'];
const CARRIER_STATES: readonly CarrierState[] = ['carrier', 'no-carrier'];
const FAMILIES: readonly AddressFamily[] = ['ipv4', 'ipv6'];
const SCOPES: readonly AddressScope[] = ['global', 'site', 'link', 'host', 'nowhere'];

/** The `<interface …>` record for `i`. */
export function interfaceRecord<T = unknown>(i: InterfaceInfo): Record<T> {
  return record<T>('interface', i.name, i.index, sym(i.type), sym(i.administrativeState),
    sym(i.operationalState), sym(i.carrier), i.linkAddr);
}

/** The `<route …>` record for `r`. */
export function routeRecord<T = unknown>(r: RouteInfo): Record<T> {
  return record<T>('route', sym(r.family), r.destination === 'default' ? sym('default') : r.destination,
    r.priority, r.typeOfService, r.interfaceName ?? false, r.gateway ?? false);
}

/** The `<address …>` record for `a`. */
export function addressRecord<T = unknown>(a: AddressInfo): Record<T> {
  const attrs = new Dictionary<T>();
  attrs.set(sym('scope'), sym(a.scope));
  return record<T>('address', a.interfaceName, sym(a.family), a.address, attrs);
}

function recordOf(v: Value<unknown>, label: string, arity: number): Value<unknown>[] | null {
  const r = peel(v);
  if (!(r instanceof Record) || !r.hasLabel(label) || r.fields.length !== arity) return null;
  return r.fields.map((f) => peel(f));
}

function symbolIn<S extends string>(v: Value<unknown>, allowed: readonly S[]): S | null {
  if (typeof v !== 'symbol') return null;
  const name = symbolName(v);
  return (allowed as readonly string[]).includes(name) ? (name as S) : null;
}

function intOf(v: Value<unknown>): number | null {
  return typeof v === 'number' && Number.isSafeInteger(v) ? v : null;
}

function stringOrFalse(v: Value<unknown>): string | null | undefined {
  if (typeof v === 'string') return v;
  return v === false ? null : undefined;
}

/** Reads an `<interface …>` record back; null when `v` is not one. */
export function parseInterface(v: Value<unknown>): InterfaceInfo | null {
  const f = recordOf(v, 'interface', 7);
  if (f === null) return null;
  const [name, index, type, admin, oper, carrier, linkAddr] = f;
  const i = {
    name: typeof name === 'string' ? name : null,
    index: intOf(index),
    type: symbolIn(type, INTERFACE_TYPES),
    administrativeState: symbolIn(admin, ADMIN_STATES),
    operationalState: symbolIn(oper, OPER_STATES),
    carrier: symbolIn(carrier, CARRIER_STATES),
    linkAddr: typeof linkAddr === 'string' ? linkAddr : null,
  };
  if (i.name === null || i.index === null || i.type === null || i.administrativeState === null
    || i.operationalState === null || i.carrier === null || i.linkAddr === null) return null;
  return i as InterfaceInfo;
}

/** Reads a `<route …>` record back; null when `v` is not one. */
export function parseRoute(v: Value<unknown>): RouteInfo | null {
  const f = recordOf(v, 'route', 6);
  if (f === null) return null;
  const [family, dest, priority, tos, ifname, gateway] = f;
  const fam = symbolIn(family, FAMILIES);
  const destination = typeof dest === 'string' ? dest : symbolIn(dest, ['default'] as const);
  const p = intOf(priority);
  const t = intOf(tos);
  const i = stringOrFalse(ifname);
  const g = stringOrFalse(gateway);
  if (fam === null || destination === null || p === null || t === null || i === undefined || g === undefined) return null;
  return { family: fam, destination, priority: p, typeOfService: t, interfaceName: i, gateway: g };
}

/** Reads an `<address …>` record back; null when `v` is not one. */
export function parseAddress(v: Value<unknown>): AddressInfo | null {
  const f = recordOf(v, 'address', 4);
  if (f === null) return null;
  const [ifname, family, address, attrs] = f;
  const fam = symbolIn(family, FAMILIES);
  if (typeof ifname !== 'string' || fam === null || typeof address !== 'string' || !(attrs instanceof Dictionary)) return null;
  const scope = symbolIn(peel(attrs.get(sym('scope')) ?? false), SCOPES);
  if (scope === null) return null;
  return { interfaceName: ifname, family: fam, address, scope };
}
