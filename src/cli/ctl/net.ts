// syndicate-ctl net: the machine's interfaces, addresses and routes as the interface monitor
// published them in the machine dataspace (reached through <machine-dataspace ?ds> in config),
// like `ip -br addr` and `ip route`; --json for scripts.
import { P, type Assertion, type Ref, type Turn } from '../../bus/index.ts';
import { Embedded, peel, Record } from '../../preserves/index.ts';
import {
  parseAddress, parseInterface, parseRoute, type AddressFamily, type AddressInfo, type InterfaceInfo, type RouteInfo,
} from '../../net/network-assertions.ts';
import { snapshot, type BusConnection } from './connection.ts';

/** What `syndicate-ctl net` shows. */
export interface NetworkView {
  readonly interfaces: readonly InterfaceInfo[];
  readonly addresses: readonly AddressInfo[];
  readonly routes: readonly RouteInfo[];
  /** Families with a `<default-route FAMILY>` in config. */
  readonly defaultRoutes: readonly string[];
}

/** No `<machine-dataspace …>` in config: the core layer has not run. */
export class NoMachineDataspaceError extends Error {
  constructor() {
    super('no <machine-dataspace …> in the config dataspace (is the core layer loaded?)');
    this.name = 'NoMachineDataspaceError';
  }
}

/** Every assertion in `ds` matching one of the labels, after a sync round trip. */
function snapshotOf(conn: BusConnection, ds: Ref, labels: readonly string[]): Promise<Assertion[]> {
  return new Promise((resolve) => conn.turn((t: Turn) => {
    t.facet((t) => {
      t.preventInertCheck();
      const facet = t.activeFacet;
      const seen = new Map<number, Assertion>();
      for (const l of labels) {
        t.observe(ds, P.bind(P.rec(l)), {
          added: (_t, [v], h) => void seen.set(h, v!),
          removed: (_t, _c, h) => void seen.delete(h),
        });
      }
      t.sync(ds, (t) => {
        resolve([...seen.values()]);
        t.stop(facet);
      });
    });
  }));
}

/** Reads the network view from a running bus. */
export async function networkView(conn: BusConnection): Promise<NetworkView> {
  const config = await snapshot(conn, [P.rec('machine-dataspace'), P.rec('default-route')]);
  let machine: Ref | null = null;
  const defaultRoutes: string[] = [];
  for (const a of config) {
    const r = peel(a);
    if (!(r instanceof Record)) continue;
    const f = peel(r.fields[0] ?? false);
    if (r.hasLabel('machine-dataspace') && f instanceof Embedded) machine = f.value as Ref;
    if (r.hasLabel('default-route') && typeof f === 'symbol') defaultRoutes.push(f.description ?? '');
  }
  if (machine === null) throw new NoMachineDataspaceError();
  const found = await snapshotOf(conn, machine, ['interface', 'address', 'route']);
  const interfaces: InterfaceInfo[] = [];
  const addresses: AddressInfo[] = [];
  const routes: RouteInfo[] = [];
  for (const a of found) {
    const i = parseInterface(a);
    if (i !== null) { interfaces.push(i); continue; }
    const ad = parseAddress(a);
    if (ad !== null) { addresses.push(ad); continue; }
    const r = parseRoute(a);
    if (r !== null) routes.push(r);
  }
  interfaces.sort((a, b) => a.index - b.index);
  const familyOrder = (f: AddressFamily) => (f === 'ipv4' ? 0 : 1);
  addresses.sort((a, b) => familyOrder(a.family) - familyOrder(b.family) || a.address.localeCompare(b.address));
  routes.sort((a, b) => familyOrder(a.family) - familyOrder(b.family)
    || Number(b.destination === 'default') - Number(a.destination === 'default')
    || a.priority - b.priority || a.destination.localeCompare(b.destination));
  return { interfaces, addresses, routes, defaultRoutes: defaultRoutes.sort() };
}

function columns(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 2))).join('').trimEnd());
}

/** The view as text: interfaces with their addresses (like `ip -br addr`), then routes. */
export function netTable(v: NetworkView): string[] {
  const rows: string[][] = [['INTERFACE', 'TYPE', 'ADMIN', 'OPER', 'CARRIER', 'LINK-ADDR', 'ADDRESSES']];
  for (const i of v.interfaces) {
    const addrs = v.addresses.filter((a) => a.interfaceName === i.name).map((a) => a.address + (a.scope === 'global' ? '' : ` (${a.scope})`));
    rows.push([i.name, i.type, i.administrativeState, i.operationalState, i.carrier, i.linkAddr || '-', addrs.join(' ') || '-']);
  }
  const out = columns(rows);
  out.push('');
  const routeRows: string[][] = [['ROUTE', 'FAMILY', 'VIA', 'DEV', 'METRIC']];
  for (const r of v.routes) routeRows.push([r.destination, r.family, r.gateway ?? '-', r.interfaceName ?? '-', String(r.priority)]);
  out.push(...columns(routeRows));
  out.push('');
  out.push(`default route: ${v.defaultRoutes.length > 0 ? v.defaultRoutes.join(', ') : 'none'}`);
  return out;
}

/** The view as JSON-ready data. */
export function netJson(v: NetworkView): object {
  return {
    interfaces: v.interfaces.map((i) => ({ ...i, addresses: v.addresses.filter((a) => a.interfaceName === i.name).map((a) => ({ family: a.family, address: a.address, scope: a.scope })) })),
    routes: v.routes,
    defaultRoutes: v.defaultRoutes,
  };
}

/** `syndicate-ctl net [--json]`; returns the exit code. */
export async function netCommand(conn: BusConnection, args: readonly string[], out: (line: string) => void): Promise<number> {
  let v: NetworkView;
  try {
    v = await networkView(conn);
  } catch (e) {
    if (!(e instanceof NoMachineDataspaceError)) throw e;
    out(`net: ${e.message}`);
    return 1;
  }
  if (args.includes('--json')) out(JSON.stringify(netJson(v), null, 2));
  else for (const l of netTable(v)) out(l);
  return 0;
}
