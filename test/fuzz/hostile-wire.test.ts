// Issue 10's hostile values sent over a real relay listener (a Unix socket, as the control
// socket is): a 300 KB binary integer, a 1 000 000-digit integer, 24-deep nested sets asserted
// and observed back (so the bus decodes and re-encodes each), and the nested set inside the
// caveats of a <resolve>'d sturdy ref. Afterwards the listener still answers a new <resolve>.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Ref } from '../../src/bus/index.ts';
import { P } from '../../src/bus/index.ts';
import {
  type Value, BinaryReader, Dictionary, Embedded, KeyedSet, Record, bigintFromBytes, encode, is, parse, peel, record, stringify,
} from '../../src/preserves/index.ts';
import { createGatekeeper } from '../../src/relay/gatekeeper.ts';
import { bind } from '../../src/relay/gatekeeper-protocol.ts';
import { sturdyDescriptionToValue } from '../../src/relay/sturdy.ts';
import { relayListenerService, unixListenerName } from '../../src/services/listeners/relay-listener-service.ts';
import { Service } from '../../src/services/supervision/service-protocol.ts';
import { testSystem, has } from '../services/service-harness.ts';
import { tempDir } from '../relay/relay-harness.ts';

const SIG = '69ca300c1dbfa08fba692102dd82311a'; // <ref {oid: "syndicate"}> with the empty key

function nestedSets(depth: number): Value {
  let v: Value = new KeyedSet([0]);
  for (let d = 1; d < depth; d++) v = new KeyedSet<unknown>([v, d]);
  return v;
}

/** A raw binary client on a socket: packets out, every decoded packet in. */
function rawClient(s: net.Socket) {
  const reader = new BinaryReader(new Uint8Array(0), { embeddedDecode: (v) => Embedded.generic(v) });
  const packets: Value[] = [];
  const waiters: (() => void)[] = [];
  s.on('data', (chunk: Buffer) => {
    reader.write(new Uint8Array(chunk));
    for (let v = reader.next(); v !== undefined; v = reader.next()) packets.push(v);
    waiters.splice(0).forEach((w) => w());
  });
  const send = (events: [number, Value][]) => s.write(encode(events.map(([oid, e]) => [oid, e]) as Value));
  /** The first event received (after `from`) satisfying `pred`. */
  const event = async (pred: (oid: number, e: Record<unknown>) => boolean, what: string): Promise<Record<unknown>> => {
    const deadline = Date.now() + 120_000;
    for (let seen = 0; ; ) {
      for (; seen < packets.length; seen++) {
        const turn = peel(packets[seen]);
        if (!Array.isArray(turn)) continue;
        for (const ev of turn) {
          const [oid, e] = peel(ev) as [number, Value];
          if (e instanceof Record && pred(oid, e)) return e;
        }
      }
      if (Date.now() > deadline || s.destroyed) throw new Error('no answer: ' + what);
      await new Promise<void>((r) => { waiters.push(r); setTimeout(r, 200); });
    }
  };
  return { send, event, packets };
}

const assertion = (v: Value, handle: number) => record('A', v, handle);
const resolve = (ref: Value, observerOid: number, handle: number) => assertion(record('resolve', ref, Embedded.generic([0, observerOid])), handle);
const observe = (label: string, observerOid: number, handle: number) =>
  assertion(record('Observe', P.rec(label, P.bind()) as Value, Embedded.generic([0, observerOid])), handle);

test('hostile values over a live listener are decoded, stored, sent back, and the listener keeps serving', { timeout: 300_000 }, async () => {
  const ts = await testSystem({
    services: (config) => [relayListenerService(config)],
    onBoot: (t, s) => {
      t.assert(s.config, bind<Ref>(sturdyDescriptionToValue<Ref>({ oid: 'syndicate', key: new Uint8Array(0) }), new Embedded<Ref>(s.config)));
    },
  });
  const dir = tempDir();
  const sock = path.join(dir, 'bus.sock');
  let s: net.Socket | null = null;
  try {
    let gatekeeper!: Ref;
    await ts.act((t) => {
      gatekeeper = createGatekeeper(t, ts.system.config);
      t.assert(ts.system.config, Service.run(unixListenerName(sock, gatekeeper)));
    });
    await ts.until(has(`<service-state <relay-listener <unix "${sock}"> #:ref> ready>`), 'listener ready');
    s = net.connect({ path: sock });
    await new Promise<void>((r) => s!.once('connect', () => r()));
    const c = rawClient(s);
    const goodRef = parse(`<ref {oid: "syndicate" sig: #x"${SIG}"}>`);

    c.send([[0, resolve(goodRef, 0, 1)]]);
    const ok = await c.event((oid, e) => oid === 0 && e.hasLabel('A') && peel(e.fields[0]) instanceof Record && (peel(e.fields[0]) as Record<unknown>).hasLabel('ok'), 'first resolve');
    const target = (peel((peel(ok.fields[0]) as Record<unknown>).fields[0]) as Embedded<unknown>).value as Value;
    const [, oid] = peel(target) as [number, number];

    // A 300 KB integer in binary; observed back, so the bus encodes it too.
    const big = bigintFromBytes(new Uint8Array(300_000).map((_, i) => (i * 131 + 7) & 0xff));
    c.send([[oid, assertion(record('big', big), 2)], [oid, observe('big', 2, 3)]]);
    const gotBig = await c.event((o, e) => o === 2 && e.hasLabel('A'), 'big integer back');
    assert.ok(is(peel(gotBig.fields[0]) as Value, [big]));

    // A 1 000 000-digit integer.
    const huge = BigInt('9876543210'.repeat(100_000));
    c.send([[oid, assertion(record('huge', huge), 4)], [oid, observe('huge', 3, 5)]]);
    const gotHuge = await c.event((o, e) => o === 3 && e.hasLabel('A'), 'huge integer back');
    assert.ok(is(peel(gotHuge.fields[0]) as Value, [huge]));

    // 24-deep nested sets (and 300-deep ones), asserted and observed back.
    for (const [depth, observer, h] of [[24, 4, 6], [300, 5, 8]] as const) {
      const nested = nestedSets(depth);
      c.send([[oid, assertion(record(`nested${depth}`, nested), h)], [oid, observe(`nested${depth}`, observer, h + 1)]]);
      const got = await c.event((o, e) => o === observer && e.hasLabel('A'), `nested sets ${depth} back`);
      assert.ok(is(peel(got.fields[0]) as Value, [nested]));
    }

    // The nested set inside the caveats of a sturdy ref: the signature chain encodes them.
    const caveat = record('rewrite', record('lit', nestedSets(24)), record('lit', 1));
    const detail = parse(`{oid: "syndicate" sig: #x"${SIG}"}`) as Dictionary<unknown>;
    detail.set(Symbol.for('caveats'), [caveat]);
    const badRef = record('ref', detail);
    c.send([[0, resolve(badRef, 6, 10)]]);
    const answer = await c.event((o, e) => o === 6 && e.hasLabel('A'), 'answer to the resolve with nested-set caveats');
    assert.ok(peel(answer.fields[0]) instanceof Record, stringify(answer.fields[0] as Value).slice(0, 200));

    // Still serving: a fresh resolve is answered.
    c.send([[0, resolve(goodRef, 7, 11)]]);
    const again = await c.event((o, e) => o === 7 && e.hasLabel('A'), 'second good resolve');
    assert.ok((peel(again.fields[0]) as Record<unknown>).hasLabel('ok'));
    assert.ok(ts.contents().includes(`<service-state <relay-listener <unix "${sock}"> #:ref> ready>`));
  } finally {
    s?.destroy();
    await ts.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
