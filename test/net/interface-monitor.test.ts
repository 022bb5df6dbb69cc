// The interface monitor alone, on real netlink inside network namespaces made here: every
// kernel change shows up in the machine dataspace as exactly the assertions the kernel's own
// view (`ip -j`) calls for, and a killed monitor's successor converges to the same.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MachineSpace, Netns, kernelView, requireNetworkTesting, until, type MonitorRun } from './net-harness.ts';

const made: Netns[] = [];
const spaces: MachineSpace[] = [];
const runs: MonitorRun[] = [];

function namespace(tag: string): Netns {
  const ns = Netns.create(tag);
  made.push(ns);
  return ns;
}

function space(): MachineSpace {
  const s = new MachineSpace();
  spaces.push(s);
  return s;
}

function monitor(s: MachineSpace, ns: Netns): MonitorRun {
  const r = s.startMonitor(ns);
  runs.push(r);
  return r;
}

/** Waits until the monitor's assertions are exactly the kernel's view. */
async function converged(run: MonitorRun, ns: Netns, what: string): Promise<string[]> {
  let view: string[] = [];
  await until(() => {
    view = kernelView(ns);
    return JSON.stringify(run.assertions()) === JSON.stringify(view);
  }, () => `${what}: the dataspace to match the kernel\n  dataspace: ${run.assertions().join('\n             ')}\n  kernel:    ${view.join('\n             ')}\n  stderr: ${run.stderr()}`);
  return view;
}

before(() => requireNetworkTesting());

after(async () => {
  for (const r of runs) await r.stop();
  for (const s of spaces) s.close();
  for (const ns of made) ns.remove();
});

describe('interface monitor in a namespace', () => {
  test('links, carrier, addresses and routes appear and go, each as the kernel has them', async () => {
    const ns = namespace('mon');
    const s = space();
    const run = monitor(s, ns);
    await run.ready;
    // Readiness comes after the first full dump: lo is already there.
    assert.ok(run.assertions().some((a) => a.startsWith('<interface "lo" 1 loopback up ')), run.assertions().join('\n'));
    await converged(run, ns, 'the first dump');

    ns.ip('link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb');
    let view = await converged(run, ns, 'a new veth pair');
    assert.ok(view.some((a) => /^<interface "va" \d+ normal down down no-carrier "[0-9a-f:]{17}">$/.test(a)), view.join('\n'));

    ns.ip('link', 'set', 'va', 'up');
    view = await converged(run, ns, 'va up, its peer down');
    assert.ok(view.some((a) => /^<interface "va" \d+ normal up lower-layer-down no-carrier /.test(a)), view.join('\n'));

    ns.ip('link', 'set', 'vb', 'up');
    await until(() => run.assertions().some((a) => /^<interface "va" \d+ normal up up carrier /.test(a)), () => 'va to have carrier');
    await converged(run, ns, 'carrier on va');

    ns.ip('addr', 'add', '192.0.2.2/24', 'dev', 'va');
    ns.ip('addr', 'add', '2001:db8::2/64', 'dev', 'va', 'nodad');
    view = await converged(run, ns, 'addresses');
    assert.ok(view.includes('<address "va" ipv4 "192.0.2.2/24" {scope: global}>'), view.join('\n'));
    assert.ok(view.includes('<address "va" ipv6 "2001:db8::2/64" {scope: global}>'), view.join('\n'));
    assert.ok(view.includes('<route ipv4 "192.0.2.0/24" 0 0 "va" #f>'), view.join('\n'));
    assert.ok(view.includes('<route ipv6 "2001:db8::/64" 256 0 "va" #f>'), view.join('\n'));

    ns.ip('route', 'add', 'default', 'via', '192.0.2.1', 'metric', '7');
    ns.ip('-6', 'route', 'add', 'default', 'via', '2001:db8::1');
    view = await converged(run, ns, 'default routes');
    assert.ok(view.includes('<route ipv4 default 7 0 "va" "192.0.2.1">'), view.join('\n'));
    assert.ok(view.some((a) => a.startsWith('<route ipv6 default ') && a.endsWith(' "va" "2001:db8::1">')), view.join('\n'));

    // A replaced route is one assertion, replaced (no DELROUTE comes for the old one).
    ns.ip('route', 'replace', 'default', 'via', '192.0.2.3', 'metric', '7');
    view = await converged(run, ns, 'a replaced default route');
    assert.equal(run.assertions().filter((a) => a.startsWith('<route ipv4 default ')).length, 1);

    ns.ip('route', 'del', 'default', 'via', '192.0.2.3', 'metric', '7');
    view = await converged(run, ns, 'the IPv4 default route deleted');
    assert.ok(!view.some((a) => a.startsWith('<route ipv4 default')));

    // Losing carrier keeps the routes; taking the link down flushes them without DELROUTEs.
    ns.ip('route', 'add', 'default', 'via', '192.0.2.1');
    ns.ip('link', 'set', 'vb', 'down');
    await until(() => run.assertions().some((a) => /^<interface "va" \d+ normal up lower-layer-down no-carrier /.test(a)), () => 'va to lose carrier');
    await converged(run, ns, 'carrier lost');
    ns.ip('link', 'set', 'va', 'down');
    view = await converged(run, ns, 'va down');
    assert.ok(!view.some((a) => a.startsWith('<route ipv4 ')), view.join('\n'));

    ns.ip('link', 'del', 'va');
    view = await converged(run, ns, 'the veth pair deleted');
    assert.deepEqual(view.filter((a) => !a.includes('"lo"') && !a.startsWith('<route')), []);
  });

  test('after kill -9 the restarted monitor converges; its predecessor\'s assertions are gone', async () => {
    const ns = namespace('kill');
    ns.ip('link', 'add', 'ka', 'type', 'veth', 'peer', 'name', 'kb');
    ns.ip('link', 'set', 'ka', 'up');
    ns.ip('link', 'set', 'kb', 'up');
    ns.ip('addr', 'add', '198.51.100.2/24', 'dev', 'ka');
    ns.ip('route', 'add', 'default', 'via', '198.51.100.1');
    const s = space();
    const first = monitor(s, ns);
    await first.ready;
    await converged(first, ns, 'the first monitor');
    first.child.kill('SIGKILL');
    assert.equal(await first.exited, 'SIGKILL');
    // The relay closed: every assertion of the dead monitor is retracted.
    await until(() => s.assertions().length === 0, () => 'the dead monitor\'s assertions to go');
    // Changes while no monitor runs are picked up by the next one's dump.
    ns.ip('addr', 'add', '203.0.113.9/24', 'dev', 'kb');
    ns.ip('route', 'del', 'default');
    const second = monitor(s, ns);
    await second.ready;
    const view = await converged(second, ns, 'the restarted monitor');
    assert.ok(view.includes('<address "kb" ipv4 "203.0.113.9/24" {scope: global}>'));
    assert.ok(!view.some((a) => a.startsWith('<route ipv4 default')));
  });

  // 2 000 changes fit the 4 MiB receive buffer; 10 000 overflow it, and the package then aborts
  // the process from native code: the restart (as the daemon service does it) re-dumps.
  for (const changes of [2000, 10000]) {
    test(`${changes} address changes while the monitor is stopped: it copes or restarts, and converges`, async (t) => {
      const ns = namespace('flood');
      const devices = Array.from({ length: changes / 1000 }, (_, i) => `f${i}`);
      for (const dev of devices) ns.ip('link', 'add', dev, 'type', 'ifb');
      ns.ip('link', 'set', 'f0', 'up');
      const s = space();
      let run = monitor(s, ns);
      await run.ready;
      await converged(run, ns, 'before the flood');
      process.kill(run.child.pid!, 'SIGSTOP');
      // Half adds, then the same removed: each with its local-route messages too.
      const adds: string[] = [];
      for (const dev of devices) {
        for (const net of ['198.51.100', '203.0.113']) {
          for (let i = 1; i <= 250; i++) adds.push(`addr add ${net}.${i}/32 dev ${dev}`);
        }
      }
      assert.equal(adds.length * 2, changes);
      ns.ipBatch(adds);
      ns.ipBatch(adds.map((l) => l.replace('addr add', 'addr del')));
      ns.ip('addr', 'add', '192.0.2.77/24', 'dev', 'f0');
      process.kill(run.child.pid!, 'SIGCONT');
      const outcome = await Promise.race([
        run.exited.then((how) => `exited ${how}`),
        converged(run, ns, 'after the flood').then(() => 'coped'),
      ]);
      t.diagnostic(`monitor ${outcome}`);
      if (outcome !== 'coped') {
        assert.equal(outcome, 'exited SIGABRT', run.stderr());
        await until(() => s.assertions().length === 0, () => 'the aborted monitor\'s assertions to go');
        run = monitor(s, ns);
        await run.ready;
        await converged(run, ns, 'the monitor restarted after the flood');
      }
      const view = kernelView(ns);
      assert.ok(view.includes('<address "f0" ipv4 "192.0.2.77/24" {scope: global}>'), view.join('\n'));
      assert.ok(!view.some((a) => a.includes('203.0.113.') || a.includes('198.51.100.')), 'every flood address was removed again');
    });
  }
});
