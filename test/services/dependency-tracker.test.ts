// The dependency tracker's shared subscriptions: what a subscription per service used to give,
// for the cases the other dependency tests do not reach.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from '../../src/preserves/index.ts';
import type { Assertion } from '../../src/bus/index.ts';
import { has, lacks, testSystem } from './service-harness.ts';

const v = (s: string) => parse(s) as Assertion;

test('a dependency that is not a service-state gates until exactly it is asserted, and again when it goes', async () => {
  const s = await testSystem();
  let flag = 0;
  await s.act((t) => {
    t.assert(s.system.config, v('<require-service <app>>'));
    t.assert(s.system.config, v('<depends-on <app> <network-online>>'));
  });
  await s.until(has('<require-service <app>>'));
  assert.ok(!s.contents().includes('<run-service <app>>'), 'app waits for <network-online>');
  assert.ok(!s.contents().some((l) => l.startsWith('<require-service <network-online')), 'a non-state dependency is not required');
  await s.act((t) => void (flag = t.assert(s.system.config, v('<network-online>'))));
  await s.until(has('<run-service <app>>'), 'app runs once the assertion is there');
  await s.act((t) => t.retract(flag));
  await s.until(lacks('<run-service <app>>'), 'app stops when it goes');
  await s.act((t) => void t.assert(s.system.config, v('<network-online>')));
  await s.until(has('<run-service <app>>'), 'app runs again');
  await s.stop();
});

test('depends-on present before require-service, a late depends-on, and a hold on a running service', async () => {
  const s = await testSystem();
  let late = 0;
  let hold = 0;
  await s.act((t) => {
    t.assert(s.system.config, v('<depends-on <web> <service-state <db> up>>'));
    t.assert(s.system.config, v('<service-state <db> up>'));
  });
  await s.act((t) => void t.assert(s.system.config, v('<require-service <web>>')));
  await s.until(has('<run-service <web>>'), 'web runs: its dependency already holds');
  assert.ok(s.contents().includes('<require-service <db>>'), 'the dependee is required');
  await s.act((t) => void (late = t.assert(s.system.config, v('<depends-on <web> <service-state <cache> ready>>'))));
  await s.until(lacks('<run-service <web>>'), 'a new unmet dependency stops web');
  await s.until(has('<require-service <cache>>'), 'and requires the new dependee');
  await s.act((t) => t.retract(late));
  await s.until(has('<run-service <web>>'), 'web runs again without it');
  await s.until(lacks('<require-service <cache>>'), 'the dependee is no longer required');
  await s.act((t) => void (hold = t.assert(s.system.config, v('<service-hold <web>>'))));
  await s.until(lacks('<run-service <web>>'), 'a hold stops a running service');
  await s.act((t) => t.retract(hold));
  await s.until(has('<run-service <web>>'), 'and releasing it runs it again');
  await s.stop();
});

test('two services sharing a dependency: each runs and stops with it; an unrequired one never runs', async () => {
  const s = await testSystem();
  let db = 0;
  await s.act((t) => {
    for (const x of ['a', 'b', 'c']) t.assert(s.system.config, v(`<depends-on <${x}> <service-state <db> up>>`));
    t.assert(s.system.config, v('<require-service <a>>'));
    t.assert(s.system.config, v('<require-service <b>>'));
    db = t.assert(s.system.config, v('<service-state <db> up>'));
  });
  await s.until((c) => c.includes('<run-service <a>>') && c.includes('<run-service <b>>'), 'both run');
  assert.ok(!s.contents().includes('<run-service <c>>'), 'c is not required');
  await s.act((t) => t.retract(db));
  await s.until((c) => !c.includes('<run-service <a>>') && !c.includes('<run-service <b>>'), 'both stop');
  await s.stop();
});
