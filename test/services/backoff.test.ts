// The restart decision (spec §3.3) and the backoff: first delays as the reference, growth,
// cap, jitter bounds, reset after a healthy run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RestartBackoff, decideOnExit } from '../../src/services/daemon/backoff.ts';

test('restart policies decide as the reference does', () => {
  assert.equal(decideOnExit('always', true), 'restart');
  assert.equal(decideOnExit('always', false), 'restart');
  assert.equal(decideOnExit('on-error', true), 'complete');
  assert.equal(decideOnExit('on-error', false), 'restart');
  assert.equal(decideOnExit('all', true), 'complete');
  assert.equal(decideOnExit('all', false), 'crash');
  assert.equal(decideOnExit('never', true), 'complete');
  assert.equal(decideOnExit('never', false), 'complete');
});

test('first delays are the reference’s 200 ms and 1 s, unjittered', () => {
  const b = () => new RestartBackoff({ firstDelayMs: null, maxDelayMs: 30_000, resetAfterMs: 10_000, random: () => 0.99 });
  assert.equal(b().nextDelay(true, 0), 200);
  assert.equal(b().nextDelay(false, 0), 1000);
});

test('delays double, are capped, and reset after a healthy run', () => {
  const b = new RestartBackoff({ firstDelayMs: null, maxDelayMs: 5000, resetAfterMs: 10_000, random: () => 0 });
  const quick = Array.from({ length: 6 }, () => b.nextDelay(false, 50));
  assert.deepEqual(quick, [1000, 2000, 4000, 5000, 5000, 5000]);
  assert.equal(b.consecutive, 6);
  assert.equal(b.nextDelay(false, 10_000), 1000, 'a run of resetAfter resets the delay');
  assert.equal(b.nextDelay(true, 9_999), 400, 'a shorter one does not');
  b.reset();
  assert.equal(b.nextDelay(true, 0), 200);
});

test('restartDelay 0 always restarts at once', () => {
  const b = new RestartBackoff({ firstDelayMs: 0, maxDelayMs: 30_000, resetAfterMs: 10_000 });
  for (let i = 0; i < 50; i++) assert.equal(b.nextDelay(i % 2 === 0, 0), 0);
});

test('jitter only shortens, so delays stay within [raw × (1 − jitter), min(raw, cap)]', () => {
  fc.assert(fc.property(
    fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 60_000 }), fc.double({ min: 0, max: 1, noNaN: true }),
    fc.array(fc.tuple(fc.boolean(), fc.double({ min: 0, max: 0.999999, noNaN: true })), { maxLength: 40 }),
    (first, max, jitter, exits) => {
      const rs = exits.map(([, r]) => r);
      let i = 0;
      const b = new RestartBackoff({ firstDelayMs: first, maxDelayMs: max, resetAfterMs: 1e9, jitter, random: () => rs[i - 1] ?? 0 });
      exits.forEach(([ok], n) => {
        i++;
        const raw = Math.min(max, first * 2 ** n);
        const d = b.nextDelay(ok, 0);
        assert.ok(d <= raw + 0.5 && d >= Math.floor(raw * (1 - jitter)) - 0.5, `${d} vs raw ${raw}`);
      });
    }));
});

test('jitter spreads two daemons failing together', () => {
  let seed = 1;
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const a = new RestartBackoff({ firstDelayMs: null, maxDelayMs: 30_000, resetAfterMs: 10_000, random });
  const b = new RestartBackoff({ firstDelayMs: null, maxDelayMs: 30_000, resetAfterMs: 10_000, random });
  const da = [1, 2, 3, 4].map(() => a.nextDelay(false, 0));
  const db = [1, 2, 3, 4].map(() => b.nextDelay(false, 0));
  assert.equal(da[0], db[0]);
  assert.notDeepEqual(da.slice(1), db.slice(1));
});
