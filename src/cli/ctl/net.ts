// syndicate-ctl net: the machine's interfaces, addresses and routes as the interface monitor
// published them in the machine dataspace (reached through <machine-dataspace ?ds> in config),
// like `ip -br addr` and `ip route`; --json for scripts.
import { P, type Assertion, type Ref, type Turn } from '../../bus/index.ts';
import { Embedded, peel, Record } from '../../preserves/index.ts';
import {
  parseAddress, parseInterface, parseRoute, type AddressFamily, type AddressInfo, type InterfaceInfo, type RouteInfo,
} from '../../net/network-assertions.ts';
import { CtlFailure, type BusConnection } from './connection.ts';

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

const VIEW_TIMEOUT_MS = 10_000;

/**
 * The raw records: `<default-route …>` from config and the machine dataspace's network records.
 * One facet holds the `<machine-dataspace ?ds>` observation while the machine dataspace is read:
 * the relay drops an imported ref once no assertion holds it, and a sync through a dropped ref
 * would never be answered.
 */
function readRecords(conn: BusConnection): Promise<{ config: Assertion[]; machine: Assertion[] }> {
  return new Promise((resolve, reject) => conn.turn((t: Turn, config: Ref) => {
    t.facet((t) => {
      t.preventInertCheck();
      const facet = t.activeFacet;
      const fromConfig = new Map<number, Assertion>();
      const fromMachine = new Map<number, Assertion>();
      let machineSeen = false;
      let finished = false;
      const finish = (t: Turn, error?: Error) => {
        if (finished) return;
        finished = true;
        if (error !== undefined) reject(error);
        else resolve({ config: [...fromConfig.values()], machine: [...fromMachine.values()] });
        t.stop(facet);
      };
      t.observe(config, P.bind(P.rec('default-route')), {
        added: (_t, [v], h) => void fromConfig.set(h, v!),
        removed: (_t, _c, h) => void fromConfig.delete(h),
      });
      t.observe(config, P.rec('machine-dataspace', P.bind()), {
        added: (t, [m]) => {
          const e = peel(m!);
          if (machineSeen || !(e instanceof Embedded)) return;
          machineSeen = true;
          const ds = e.value as Ref;
          for (const l of ['interface', 'address', 'route']) {
            t.observe(ds, P.bind(P.rec(l)), {
              added: (_t, [v], h) => void fromMachine.set(h, v!),
              removed: (_t, _c, h) => void fromMachine.delete(h),
            });
          }
          t.sync(ds, (t) => finish(t));
        },
      });
      // Everything already in config has arrived by the answer to this sync.
      t.sync(config, (t) => {
        if (!machineSeen) finish(t, new NoMachineDataspaceError());
      });
      t.after(VIEW_TIMEOUT_MS, (t) => finish(t, new Error(`no answer from the machine dataspace within ${VIEW_TIMEOUT_MS / 1000} s`)));
    });
  }));
}

/** Reads the network view from a running bus. */
export async function networkView(conn: BusConnection): Promise<NetworkView> {
  const { config, machine: found } = await readRecords(conn);
  const defaultRoutes: string[] = [];
  for (const a of config) {
    const r = peel(a);
    const f = r instanceof Record ? peel(r.fields[0] ?? false) : null;
    if (typeof f === 'symbol') defaultRoutes.push(f.description ?? '');
  }
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
export async function netCommand(conn: BusConnection, json: boolean, out: (line: string) => void): Promise<number> {
  let v: NetworkView;
  try {
    v = await networkView(conn);
  } catch (e) {
    if (!(e instanceof NoMachineDataspaceError)) throw e;
    throw new CtlFailure(`net: ${e.message}`);
  }
  if (json) out(JSON.stringify(netJson(v), null, 2));
  else for (const l of netTable(v)) out(l);
  return 0;
}
