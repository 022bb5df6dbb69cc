// VPN peer selection: (1) a default-route change in a network namespace → the new peer daemon's
// process spawned, with <conntrack-settle-ms 0>, against the same bus spawning a daemon asked for
// directly (<require-service …> from the client: the bus's own spawn path); (2) one decision over
// 100 groups of 10 patterns, against a single source-address lookup.
//
// The path is the shipped one: `ip route replace` (netlink) → the interface monitor's `<route …>`
// in the machine dataspace → the conntrack daemon → `<selected-peer …>` → `<require-service …>`
// → the daemon service spawns the peer. The clock starts when `ip` has returned (the kernel
// change is made) and stops when the bus reports the new peer's pid.
import { parse, sym } from '../src/preserves/index.ts';
import { P, showAssertion, type Assertion, type Handle } from '../src/bus/index.ts';
import { parseAddress } from '../src/net/peer-address.ts';
import { parsePeerGroupAssertion, type PeerGroup } from '../src/net/peer-group.ts';
import { decidePeers } from '../src/net/peer-selection.ts';
import { sourceAddressFor } from '../src/net/peer-source-address.ts';
import { NsBus, Uplinks, ip, CONNTRACK_DAEMON } from '../test/net/conntrack-harness.ts';
import { figure, report, type Figure } from './report.ts';
import { startBusy } from './busy.ts';

startBusy(); // --busy: a CPU burner for this bench's whole run (bench/busy.ts)

const SWITCHES = 40;
const now = () => Number(process.hrtime.bigint()) / 1e6;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.99))];

async function switchLatency(): Promise<{ switch: number[]; selected: number[]; route: number[]; direct: number[] }> {
  const net = new Uplinks('b');
  const bus = new NsBus(net.c);
  try {
    net.create();
    ip(net.c, 'route', 'add', 'default', 'via', '192.0.2.1');
    await bus.start({ 'conntrack.pr': CONNTRACK_DAEMON + `
<conntrack-settle-ms 0>
<conntrack-recheck-interval 3600>
<peer-group office [[a "192.0.2.0/24"] [b "198.51.100.0/24"]]>
<daemon <vpn-peer office a> ["sleep" "1000"]>
<daemon <vpn-peer office b> ["sleep" "1000"]>
? <run-service <daemon <direct ?n>>> [ <daemon <direct $n> ["sleep" "1000"]> ]
` });
    await bus.until(() => bus.pidOf('<vpn-peer office a>') !== null && bus.machine !== null, 'office a running');
    // The monitor's own path, for comparison: the client watches the default routes themselves.
    const routes = new Set<string>();
    await bus.turn((t, _c, m) => t.observe(m!, P.bind(P.rec('route', P.lit(sym('ipv4')), P.lit(sym('default')))), {
      added: (_t, c) => { routes.add(showAssertion(c[0])); bus.poke(); },
      removed: (_t, c) => { routes.delete(showAssertion(c[0])); bus.poke(); },
    }));
    const hasRouteVia = (gw: string) => [...routes].some((r) => r.endsWith(` "${gw}">`));
    const rt: number[] = [];
    const sw: number[] = [];
    const sel: number[] = [];
    for (let i = 0; i < SWITCHES; i++) {
      const [gw, want, old] = i % 2 === 0 ? ['198.51.100.1', 'b', 'a'] : ['192.0.2.1', 'a', 'b'];
      ip(net.c, 'route', 'replace', 'default', 'via', gw);
      const t0 = now();
      void bus.until(() => hasRouteVia(gw), `route via ${gw}`).then(() => rt.push(now() - t0));
      await bus.until(() => bus.has(`<selected-peer office ${want}>`), `office=${want}`);
      sel.push(now() - t0);
      await bus.until(() => bus.pidOf(`<vpn-peer office ${want}>`) !== null, `peer ${want}`);
      sw.push(now() - t0);
      await bus.until(() => bus.pidOf(`<vpn-peer office ${old}>`) === null, `peer ${old} stopped`);
    }
    const direct: number[] = [];
    for (let i = 0; i < SWITCHES; i++) {
      const t0 = now();
      let h: Handle | undefined;
      await bus.turn((t, config) => { h = t.assert(config, parse(`<require-service <daemon <direct ${i}>>>`) as Assertion); });
      await bus.until(() => bus.pidOf(`<direct ${i}>`) !== null, `direct ${i}`);
      direct.push(now() - t0);
      await bus.turn((t) => t.retract(h));
      await bus.until(() => bus.pidOf(`<direct ${i}>`) === null, `direct ${i} stopped`);
    }
    return { switch: sw, selected: sel, route: rt, direct };
  } finally {
    await bus.close();
    net.destroy();
  }
}

async function decisionCost(): Promise<{ shared: number; distinct: number; one: number }> {
  const make = (distinct: boolean): PeerGroup[] => Array.from({ length: 100 }, (_, g) => parsePeerGroupAssertion(parse(
    `<peer-group g${g} [${Array.from({ length: 10 }, (_, p) => distinct
      ? `[p${p} "203.0.113.${(g * 10 + p) % 250 + 1}" "10.${g}.${p}.0/24"]`
      : `[p${p} "10.${g}.${p}.0/24"]`).join(' ')}]>`)).group!);
  const time = async (f: () => Promise<unknown>, runs = 30) => {
    await f();
    const xs: number[] = [];
    for (let i = 0; i < runs; i++) { const t0 = now(); await f(); xs.push(now() - t0); }
    return median(xs);
  };
  const shared = make(false);
  const distinct = make(true);
  const target = parseAddress('1.2.3.4');
  return {
    shared: await time(() => decidePeers(shared, null)),
    distinct: await time(() => decidePeers(distinct, null)),
    one: await time(() => sourceAddressFor(target)),
  };
}

const lat = await switchLatency();
const cost = await decisionCost();
const figures: Figure[] = [
  figure('conntrack', 'route change to new peer spawned, median', median(lat.switch), 'ms', median(lat.direct)),
  figure('conntrack', 'route change to new peer spawned, p99', p99(lat.switch), 'ms', p99(lat.direct)),
  figure('conntrack', 'route change to <selected-peer> seen by a client, median (baseline: the <route> itself)', median(lat.selected), 'ms', median(lat.route)),
  figure('conntrack', 'decision, 100 groups x 10 patterns, one target', cost.shared * 1000, 'us', cost.one * 1000),
  figure('conntrack', 'decision, 100 groups x 10 patterns, 250 distinct targets', cost.distinct * 1000, 'us', cost.one * 1000),
];
report(figures);
process.exit(0);
