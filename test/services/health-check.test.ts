// Health checks on real commands: N failures in a row call back, a success resets the count,
// a timeout or a spawn failure counts as a failure, stop() leaves nothing running.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { HealthCheck, type CheckResult } from '../../src/services/daemon/health-check.ts';
import { Lines, liveGroupMembers, signal } from './proc-helpers.ts';

test('after N failures in a row the unhealthy callback fires', async () => {
  const counts: number[] = [];
  const unhealthy = signal<CheckResult>();
  const h = HealthCheck.start({
    command: { kind: 'exec', argv: ['false'] }, intervalMs: 10, timeoutMs: 5000, failures: 3,
    onResult: (_r, n) => counts.push(n),
    onUnhealthy: (r) => unhealthy.fire(r),
  });
  const last = await unhealthy.promise;
  await h.stop();
  assert.deepEqual(counts.slice(0, 3), [1, 2, 3]);
  assert.ok('status' in last && last.status.code === 1);
});

test('a success resets the count', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'health-'));
  const flag = path.join(dir, 'ok');
  const counts: number[] = [];
  const done = signal();
  let unhealthy = 0;
  const h = HealthCheck.start({
    command: { kind: 'exec', argv: ['test', '-e', flag] }, intervalMs: 10, timeoutMs: 5000, failures: 3,
    onResult: (_r, n) => {
      counts.push(n);
      // Synchronously, so the very next check sees the flag.
      if (counts.length === 2) writeFileSync(flag, '');
      if (n === 0) done.fire();
    },
    onUnhealthy: () => { unhealthy++; },
  });
  await done.promise;
  await h.stop();
  assert.deepEqual(counts, [1, 2, 0]);
  assert.equal(unhealthy, 0);
});

test('a check that overruns its timeout fails, and so does one that cannot start', async () => {
  const lines = new Lines();
  const timedOut = signal<CheckResult>();
  const h = HealthCheck.start({
    command: { kind: 'shell', script: 'echo $$; exec sleep 1000' }, intervalMs: 5, timeoutMs: 300, failures: 1,
    onUnhealthy: (r) => timedOut.fire(r), onLine: lines.onLine,
  });
  const r = await timedOut.promise;
  await h.stop();
  assert.ok('timedOut' in r && r.timedOut && !r.ok);
  for (const [, pid] of lines.seen) assert.deepEqual(liveGroupMembers(Number(pid)), []);

  const spawnFail = signal<CheckResult>();
  const h2 = HealthCheck.start({
    command: { kind: 'exec', argv: ['no-such-check-xyzzy'] }, intervalMs: 5, timeoutMs: 1000, failures: 2,
    onUnhealthy: (r2) => spawnFail.fire(r2),
  });
  const r2 = await spawnFail.promise;
  await h2.stop();
  assert.ok('error' in r2 && /no-such-check-xyzzy/.test(r2.error.message));
});

test('stop() during a check stops it and no more checks run', async () => {
  const lines = new Lines();
  let results = 0;
  const h = HealthCheck.start({
    command: { kind: 'shell', script: 'echo $$; exec sleep 1000' }, intervalMs: 5, timeoutMs: 60_000, failures: 1,
    onResult: () => { results++; }, onUnhealthy: () => assert.fail('a stopped check says nothing'), onLine: lines.onLine,
  });
  await lines.until(() => true);
  await h.stop();
  assert.deepEqual(liveGroupMembers(Number(lines.seen[0][1])), []);
  assert.equal(results, 0);
  assert.equal(lines.seen.length, 1);
});
