// The udhcpc hook script on its own, in a namespace, watched by the interface monitor: a lease
// configures the address and default route, a renewal that changes nothing changes no route
// (so <default-route> does not flap), a new router replaces the old, mobile-data devices get a
// higher metric, deconfig removes it all.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { MachineSpace, Netns, TOP, requireNetworkTesting, until, type MonitorRun } from './net-harness.ts';

const SCRIPT = path.join(TOP, 'src/net/udhcpc.script');
let ns: Netns | null = null;
let space: MachineSpace | null = null;
let run: MonitorRun | null = null;

before(() => requireNetworkTesting());

after(async () => {
  await run?.stop();
  space?.close();
  ns?.remove();
});

function hook(n: Netns, event: string, env: { [k: string]: string }): string {
  return execFileSync('ip', ['netns', 'exec', n.name, 'sh', SCRIPT, event], { encoding: 'utf8', env: { ...process.env, RESOLV_CONF: '/nonexistent-dir/resolv.conf', ...env } });
}

test('bound, an idle renewal, a new router, a mobile-data device, deconfig', async () => {
  ns = Netns.create('hook');
  const n = ns;
  n.ip('link', 'add', 'eth9', 'type', 'veth', 'peer', 'name', 'wwan0');
  for (const l of ['eth9', 'wwan0']) n.ip('link', 'set', l, 'up');
  space = new MachineSpace();
  const s = space;
  run = s.startMonitor(n);
  await run.ready;
  const has = (re: RegExp) => s.assertions().some((a) => re.test(a));
  /** Waits until the monitor has seen a marker change made after everything before it. */
  let marks = 0;
  const settled = async () => {
    const addr = `203.0.113.${++marks}/32`;
    n.ip('addr', 'add', addr, 'dev', 'lo');
    await until(() => has(new RegExp(`^<address "lo" ipv4 "${addr.replace(/\./g, '\\.')}"`)), () => 'the marker ' + addr);
  };
  const index = (name: string) => Number(execFileSync('ip', ['netns', 'exec', n.name, 'cat', `/sys/class/net/${name}/ifindex`], { encoding: 'utf8' }));

  const lease = { interface: 'eth9', ip: '192.0.2.10', mask: '24', router: '192.0.2.1', dns: '' };
  assert.match(hook(n, 'bound', lease), /bound eth9 192\.0\.2\.10\/24/);
  const metric = 100 + index('eth9');
  await until(() => has(new RegExp(`^<route ipv4 default ${metric} 0 "eth9" "192\\.0\\.2\\.1">$`)), () => 'the default route: ' + s.assertions().join('\n'));
  assert.ok(has(/^<address "eth9" ipv4 "192\.0\.2\.10\/24" \{scope: global\}>$/));

  const mark = s.history.length;
  hook(n, 'renew', lease);
  await settled();
  assert.deepEqual(s.history.slice(mark).filter((h) => h.includes('"eth9"')), [], 'an idle renewal changes nothing');

  hook(n, 'renew', { ...lease, router: '192.0.2.254' });
  await until(() => has(/^<route ipv4 default \d+ 0 "eth9" "192\.0\.2\.254">$/) && !has(/"192\.0\.2\.1">$/), () => 'the new router only: ' + s.assertions().join('\n'));

  hook(n, 'bound', { interface: 'wwan0', ip: '198.51.100.7', mask: '24', router: '198.51.100.1', dns: '' });
  const mobile = 1000 + index('wwan0');
  await until(() => has(new RegExp(`^<route ipv4 default ${mobile} 0 "wwan0" "198\\.51\\.100\\.1">$`)), () => 'the mobile route: ' + s.assertions().join('\n'));

  hook(n, 'deconfig', { interface: 'eth9' });
  await until(() => !has(/"eth9" ipv4/) && !has(/^<route ipv4 default \d+ 0 "eth9"/), () => 'eth9 deconfigured: ' + s.assertions().join('\n'));
  assert.ok(has(/^<route ipv4 default \d+ 0 "wwan0"/), 'the other interface keeps its route');
});
