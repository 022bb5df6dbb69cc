// require-service, depends-on and run-service (spec §4.2), and the supervisor (§4.4).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from '../../src/preserves/index.ts';
import { P, type Assertion } from '../../src/bus/index.ts';
import { Service } from '../../src/services/supervision/service-protocol.ts';
import type { ServiceKind } from '../../src/services/supervision/service-listener.ts';
import { has, lacks, testSystem } from './service-harness.ts';

const v = (s: string) => parse(s) as Assertion;

test('depends-on gates run-service, pulls in the dependee, and tears down on loss', async () => {
  const s = await testSystem();
  let dep = 0;
  await s.act((t) => {
    t.assert(s.system.config, v('<require-service <app>>'));
    t.assert(s.system.config, v('<depends-on <app> <service-state <db> ready>>'));
  });
  await s.until(has('<require-service <db>>'), 'db required');
  assert.ok(!s.contents().includes('<run-service <app>>'), 'app waits for db');
  assert.ok(s.contents().includes('<run-service <db>>'));
  await s.act((t) => void (dep = t.assert(s.system.config, v('<service-state <db> ready>'))));
  await s.until(has('<run-service <app>>'), 'app runs');
  await s.act((t) => t.retract(dep));
  await s.until(lacks('<run-service <app>>'), 'app torn down');
  await s.act((t) => void t.assert(s.system.config, v('<service-state <db> ready>')));
  await s.until(has('<run-service <app>>'), 'app runs again');
  await s.stop();
});

test('retracting require-service cascades to no-longer-required dependees', async () => {
  const s = await testSystem();
  let req = 0;
  await s.act((t) => {
    req = t.assert(s.system.config, v('<require-service <a>>'));
    t.assert(s.system.config, v('<depends-on <a> <service-state <b> up>>'));
  });
  await s.until(has('<run-service <b>>'));
  await s.act((t) => t.retract(req));
  await s.until((c) => !c.includes('<run-service <b>>') && !c.includes('<require-service <b>>'), 'cascade');
  await s.stop();
});

test('supervisor: started, failed and restarted after a crash; complete under on-error; restart-service', async () => {
  let boots = 0;
  const flaky: ServiceKind = {
    kind: 'flaky', pattern: P.bind(P.rec('flaky', P.bind())), policy: 'on-error',
    boot(t, _name, [, mode]) {
      boots++;
      if (mode === Symbol.for('crash-once') && boots === 1) throw new Error('first boot fails');
      if (mode === Symbol.for('finish')) t.stopActor();
    },
  };
  const s = await testSystem({ services: () => [flaky] });
  const name = v('<flaky crash-once>');
  await s.act((t) => void t.assert(s.system.config, Service.run(name)));
  await s.until(has('<service-state <flaky crash-once> started>'));
  assert.equal(boots >= 1, true);
  await s.until(() => boots === 2, 'restart after crash');
  await s.until(has('<service-state <flaky crash-once> started>'));

  await s.act((t) => void t.assert(s.system.config, Service.run(v('<flaky finish>'))));
  await s.until(has('<service-state <flaky finish> complete>'), 'clean end under on-error is complete');

  const before = boots;
  await s.act((t) => t.message(s.system.config, Service.restart(name)));
  await s.until(() => boots === before + 1, 'restart-service restarts');
  await s.stop();
});

test('service-hold keeps a required service from running until released', async () => {
  const s = await testSystem();
  let hold = 0;
  await s.act((t) => {
    t.assert(s.system.config, v('<require-service <held>>'));
    hold = t.assert(s.system.config, v('<service-hold <held>>'));
  });
  await s.until(has('<require-service <held>>'));
  assert.ok(!s.contents().includes('<run-service <held>>'));
  await s.act((t) => t.retract(hold));
  await s.until(has('<run-service <held>>'), 'released');
  await s.stop();
});

test('the state clock records when each state appeared', async () => {
  const s = await testSystem();
  await s.act((t) => void t.assert(s.system.config, v('<service-state <x> ready>')));
  await s.until((c) => c.some((l) => /^<service-state-since <x> ready "\d{4}-/.test(l)), 'since record');
  await s.stop();
});

test('kept operator assertions live in files the bus watches, and go when withdrawn', async () => {
  const { mkdtemp } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const path = await import('node:path');
  const { persist, unpersist } = await import('../../src/services/control-store.ts');
  const dir = await mkdtemp(path.join(tmpdir(), 'ctl-store-'));
  const s = await testSystem({ controlDir: dir });
  await s.act((t) => t.message(s.system.config, persist(v('<require-service <kept $odd>>'))));
  await s.until(has('<require-service <kept $odd>>'), 'kept assertion appears');
  await s.act((t) => t.message(s.system.config, unpersist(v('<require-service <kept $odd>>'))));
  await s.until(lacks('<require-service <kept $odd>>'), 'kept assertion withdrawn');
  await s.stop();
});

test('the control socket exports the config space directly: nothing is bound in the config space for it', async () => {
  const { mkdtemp } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const path = await import('node:path');
  const { connectUnix } = await import('../../src/relay/client.ts');
  const dir = await mkdtemp(path.join(tmpdir(), 'ctl-sock-'));
  const sock = path.join(dir, 'control.sock');
  const s = await testSystem({ controlSocket: sock });
  await s.until((c) => c.some((l) => l.startsWith('<service-state <relay-listener <unix ') && l.endsWith(' ready>')), 'control socket listening');
  assert.ok(!s.contents().some((l) => l.startsWith('<bind ')), 'no sturdy ref is bound that -s or -p listeners could resolve');
  const client = await connectUnix(sock);
  await client.turn((t) => t.assert(client.peer!, v('<hello-from-ctl>')));
  await s.until(has('<hello-from-ctl>'), 'OID 0 of the control socket is the config space');
  await client.close();
  await s.stop();
});

test('a dependency cycle is one log line naming the services around it, logged when it closes', async () => {
  const { setLogHook } = await import('../../src/bus/index.ts');
  const lines: string[] = [];
  const old = setLogHook((e) => { if (e.message.includes('cycle')) lines.push(e.level + ' ' + e.message); });
  try {
    const s = await testSystem();
    await s.act((t) => {
      t.assert(s.system.config, v('<require-service <a>>'));
      t.assert(s.system.config, v('<depends-on <a> <service-state <b> up>>'));
      t.assert(s.system.config, v('<depends-on <b> <service-state <c> up>>'));
    });
    await s.until(has('<require-service <c>>'));
    assert.deepEqual(lines, []);
    await s.act((t) => void t.assert(s.system.config, v('<depends-on <c> <service-state <a> ready>>')));
    await s.until(() => lines.length > 0, 'cycle reported');
    assert.deepEqual(lines, ['warn dependency cycle: <c> -> <a> -> <b> -> <c>; none of these services can start']);
    assert.ok(!s.contents().includes('<run-service <a>>'));
    await s.stop();
  } finally {
    setLogHook(old);
  }
});
