// The whole shipped tree in a network namespace (`ip netns exec NS syndicate-server --root
// dev/root …`), wired by a veth to a peer namespace where dnsmasq serves DHCP: network.pr
// brings the interface up, udhcpc (the real one: the stand-in sees the named namespace) gets a
// lease through our hook script, the monitor publishes the address and the default route,
// <default-route ipv4> lets ntpd run; removing the peer's link takes all of it back.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { P, type Ref } from '../../src/bus/index.ts';
import { Embedded, peel } from '../../src/preserves/index.ts';
import { showAssertion } from '../../src/bus/index.ts';
import { connectBus } from '../../src/cli/ctl/connect.ts';
import type { BusConnection } from '../../src/cli/ctl/connection.ts';
import { Netns, TOP, requireNetworkTesting, startDhcpServer, startIn, until, type Started } from './net-harness.ts';

const made: Netns[] = [];
const started: Started[] = [];
let conn: BusConnection | null = null;
let dir = '';

before(() => {
  requireNetworkTesting();
  dir = mkdtempSync(path.join(tmpdir(), `syn-net-${process.pid}-`));
});

after(async () => {
  await conn?.close();
  for (const s of started.reverse()) await s.stop();
  for (const ns of made) ns.remove();
  rmSync(dir, { recursive: true, force: true });
});

function hostResolvConf(): string {
  try {
    return readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    return '(none)';
  }
}

test('the shipped tree in a namespace: DHCP lease, address, default route, ntpd runnable; all gone with the link', async (t) => {
  const resolvBefore = hostResolvConf();
  const bus = Netns.create('bus');
  const peer = Netns.create('dhcp');
  made.push(bus, peer);
  bus.ip('link', 'add', 'ea', 'type', 'veth', 'peer', 'name', 'eb', 'netns', peer.name);
  peer.ip('addr', 'add', '192.0.2.1/24', 'dev', 'eb');
  peer.ip('link', 'set', 'eb', 'up');
  started.push(await startDhcpServer(peer, 'eb', '192.0.2.1', '192.0.2.50', '192.0.2.99', dir));

  const state = path.join(dir, 'state');
  const server = startIn(bus, [process.execPath, path.join(TOP, 'bin/syndicate-server.js'), '--root', path.join(TOP, 'dev/root'),
    '--state', state, '--no-banner', '-c', '/etc/syndicate/boot'], { ...process.env, RESOLV_CONF: path.join(dir, 'resolv.conf') });
  started.push(server);
  const socket = path.join(state, 'control.sock');
  await until(() => existsSync(socket) || server.child.exitCode !== null, () => 'the control socket', 60_000);
  assert.equal(server.child.exitCode, null, server.output());
  conn = await connectBus({ socket, stateDir: path.dirname(socket) }, 30_000);

  const config = new Map<number, string>();
  const machine = new Map<number, string>();
  conn.turn((t, cfg) => {
    for (const l of ['service-state', 'run-service', 'default-route']) {
      t.observe(cfg, P.bind(P.rec(l)), { added: (_t, [v], h) => void config.set(h, showAssertion(v!)), removed: (_t, _c, h) => void config.delete(h) });
    }
    t.observe(cfg, P.rec('machine-dataspace', P.bind()), {
      added: (t, [m]) => {
        const ds = (peel(m!) as Embedded<Ref>).value;
        for (const l of ['interface', 'address', 'route']) {
          t.observe(ds, P.bind(P.rec(l)), { added: (_t, [v], h) => void machine.set(h, showAssertion(v!)), removed: (_t, _c, h) => void machine.delete(h) });
        }
      },
    });
  });
  const inConfig = (s: string) => [...config.values()].includes(s);
  const inMachine = (re: RegExp) => [...machine.values()].some((a) => re.test(a));
  const why = (what: string) => () => `${what}\n  config: ${[...config.values()].sort().join('\n          ')}\n  machine: ${[...machine.values()].sort().join('\n           ')}\n  bus: ${server.output().slice(-3000)}`;

  await until(() => inConfig('<service-state <milestone network> ready>'), why('<milestone network>'), 90_000);
  await until(() => inMachine(/^<interface "ea" \d+ normal up up carrier "[0-9a-f:]{17}">$/), why('ea up with carrier'), 60_000);
  await until(() => inConfig('<run-service <daemon <udhcpc "ea">>>'), why('udhcpc on ea'));
  await until(() => inMachine(/^<address "ea" ipv4 "192\.0\.2\.\d+\/24" \{scope: global\}>$/), why('the leased address'), 60_000);
  await until(() => inMachine(/^<route ipv4 default \d+ 0 "ea" "192\.0\.2\.1">$/), why('the default route'));
  await until(() => inConfig('<default-route ipv4>'), why('<default-route ipv4>'));
  // ntpd depends on <default-route ipv4>: it left `waiting` (it may fail next: no ntpd here).
  await until(() => inConfig('<run-service <daemon ntpd>>'), why('ntpd to be run'));
  // The kernel really has the lease (udhcpc and ip ran for real in the namespace).
  assert.match(bus.ip('-4', '-br', 'addr', 'show', 'dev', 'ea'), /192\.0\.2\.\d+\/24/);
  assert.match(bus.ip('-4', 'route', 'show', 'default'), /default via 192\.0\.2\.1 dev ea/);
  // lo got its address (static), and it is up.
  await until(() => inMachine(/^<address "lo" ipv4 "127\.0\.0\.1\/8" \{scope: host\}>$/), why('lo\'s address'));

  // syndicate-ctl net, as an operator runs it (its own connection, nothing held for it).
  const ctl = (...args: string[]) => execFileSync(process.execPath, [path.join(TOP, 'bin/syndicate-ctl.js'), '--socket', socket, 'net', ...args],
    { encoding: 'utf8', timeout: 60_000 });
  const lines = ctl().trimEnd().split('\n');
  t.diagnostic('syndicate-ctl net:\n' + lines.join('\n'));
  assert.ok(lines.some((l) => /^ea\s+normal\s+up\s+up\s+carrier\s+\S+\s+192\.0\.2\.\d+\/24/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /^default\s+ipv4\s+192\.0\.2\.1\s+ea\s+\d+$/.test(l)), lines.join('\n'));
  assert.ok(lines.includes('default route: ipv4'), lines.join('\n'));
  const json = JSON.parse(ctl('--json')) as { interfaces: { name: string; addresses: { address: string }[] }[]; defaultRoutes: string[] };
  assert.deepEqual(json.defaultRoutes, ['ipv4']);
  assert.ok(json.interfaces.some((i) => i.name === 'ea' && i.addresses.some((a) => /^192\.0\.2\.\d+\/24$/.test(a.address))), JSON.stringify(json));

  // The peer's end goes: the veth pair goes with it.
  peer.ip('link', 'del', 'eb');
  await until(() => !inMachine(/"ea"/), why('every assertion about ea to go'));
  await until(() => !inConfig('<default-route ipv4>'), why('<default-route ipv4> to go'));
  await until(() => !inConfig('<run-service <daemon ntpd>>'), why('ntpd to be stopped'));
  await until(() => !inConfig('<run-service <daemon <udhcpc "ea">>>'), why('udhcpc to be stopped'));
  assert.equal(hostResolvConf(), resolvBefore, 'the host\'s /etc/resolv.conf is untouched');
});
