// The control store: acknowledged requests are durable files of Preserves data that load back
// exactly, whatever the value; assert/retract of one value apply in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { Embedded, Record, holdsEmbedded, is, parse, strip, type Value } from '../../src/preserves/index.ts';
import { P, type Assertion, type Ref } from '../../src/bus/index.ts';
import { decodeKept, encodeKept, parseStoreReply, persist, storeFile, unpersist, type StoreReply } from '../../src/services/control-store.ts';
import { arbitraryValues } from '../preserves/arbitrary-values.ts';
import { testSystem } from './service-harness.ts';

const { arbValue } = arbitraryValues(200n);


const storable = arbValue.filter((v) => !holdsEmbedded(v));

test('a kept file holds the value as Preserves text that reads back exactly (generated values)', () => {
  fc.assert(fc.property(storable, (v) => {
    const back = decodeKept(encodeKept(v as Assertion));
    assert.ok(is(back, strip(v)), `${encodeKept(v as Assertion)}`);
  }), { numRuns: 2000 });
});

/** Sends one request with a reply ref and resolves with the store's answer. */
function request(s: Awaited<ReturnType<typeof testSystem>>, build: (reply: Ref) => Assertion): Promise<StoreReply> {
  return new Promise((resolve) => void s.act((t) => {
    t.facet((t) => {
      t.preventInertCheck();
      const f = t.activeFacet;
      const reply = t.ref({ message: (t, m) => { const r = parseStoreReply(m); if (r !== null) { resolve(r); t.stop(f); } } });
      t.assert(s.system.config, build(reply));
    });
  }));
}

test('a store restarted on the same folder asserts exactly the acknowledged values (generated values)', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), `store-${process.pid}-`));
  try {
    const values = fc.sample(storable, { numRuns: 60, seed: 42 }).map((v) => strip(v) as Assertion);
    const withdrawn = values.slice(0, 10);
    let s = await testSystem({ controlDir: dir });
    for (const v of values) {
      const r = await request(s, (reply) => persist(v, reply));
      assert.ok(r.ok, JSON.stringify(r));
    }
    for (const v of withdrawn) assert.ok((await request(s, (reply) => unpersist(v, reply))).ok);
    await s.stop();
    // A temp file a crashed writer left: removed at start.
    await writeFile(path.join(dir, '.deadbeef.value.tmp-1-00'), 'junk');
    s = await testSystem({ controlDir: dir });
    const kept = values.filter((v) => !withdrawn.some((w) => is(w, v)));
    await s.until(() => kept.every((v) => [...s.system.configSpace.assertions()].some((a) => is(a, v))), 'every kept value');
    for (const w of withdrawn) if (!kept.some((v) => is(v, w))) assert.ok(![...s.system.configSpace.assertions()].some((a) => is(a, w)));
    assert.ok(!(await readdir(dir)).some((n) => n.startsWith('.')), 'no temp file left');
    await s.stop();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('assert then retract of one value, sent back to back, ends retracted on disk; retract of an unknown value says so', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), `store-order-${process.pid}-`));
  try {
    const s = await testSystem({ controlDir: dir });
    const v = parse('<order {a: $b, c: ?d, _: "\\ufeffx"}>') as Assertion;
    const answers = await Promise.all([request(s, (r) => persist(v, r)), request(s, (r) => unpersist(v, r))]);
    assert.deepEqual(answers, [{ ok: true, changed: true }, { ok: true, changed: true }]);
    assert.deepEqual(await readdir(dir), []);
    assert.deepEqual(await request(s, (r) => unpersist(parse('<never>') as Assertion, r)), { ok: true, changed: false });
    const ref = await request(s, (r) => persist(new Record(Symbol.for('x'), [new Embedded<Ref>(r)]) as Assertion, r));
    assert.equal(ref.ok, false);
    await s.stop();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a kept value is in the config space before the acknowledgement, and its file is on disk when the acknowledgement arrives; a withdrawn one is gone from both', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), `store-ack-${process.pid}-`));
  try {
    const s = await testSystem({ controlDir: dir });
    const v = parse('<service-hold <daemon ack-order>>') as Assertion;
    const file = storeFile(dir, v);
    const events: string[] = [];
    const present = () => [...s.system.configSpace.assertions()].some((a) => is(a, v));
    await s.act((t) => void t.observe(s.system.config, P.lit(v), {
      // Asserted in the turn that handles the request, so before the write (several steps on
      // the thread pool) has put the file in place.
      added: () => void events.push(`asserted, on disk ${existsSync(file)}`),
      removed: () => void events.push('retracted'),
    }));
    /** Sends `build(reply)`; at the answer, notes what the space and the folder hold then. */
    const ask = (build: (reply: Ref) => Assertion): Promise<StoreReply> => new Promise((resolve) => void s.act((t) => {
      t.facet((t) => {
        t.preventInertCheck();
        const f = t.activeFacet;
        const reply = t.ref({
          message: (t, m) => {
            const r = parseStoreReply(m);
            if (r === null) return;
            events.push(`ack: in space ${present()}, on disk ${existsSync(file) ? readFileSync(file, 'utf8').trim() : 'nothing'}`);
            resolve(r);
            t.stop(f);
          },
        });
        t.assert(s.system.config, build(reply));
      });
    }));
    assert.deepEqual(await ask((r) => persist(v, r)), { ok: true, changed: true });
    assert.deepEqual(events, ['asserted, on disk false', `ack: in space true, on disk ${encodeKept(v).trim()}`]);
    events.length = 0;
    assert.deepEqual(await ask((r) => unpersist(v, r)), { ok: true, changed: true });
    assert.deepEqual(events, ['retracted', 'ack: in space false, on disk nothing']);
    await s.stop();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
