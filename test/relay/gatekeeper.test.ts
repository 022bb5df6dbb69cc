// The gatekeeper (spec §5.1): sturdy refs checked against binds in the bind-space, tampered
// refs refused, caveats applied, unknown and malformed steps, direct resolution, <bound …>.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Actor, P, type Ref, type Turn } from '../../src/bus/index.ts';
import { Bytes, Embedded, Record, parse, peel, record, sym } from '../../src/preserves/index.ts';
import { createGatekeeper } from '../../src/relay/gatekeeper.ts';
import { bind, resolve } from '../../src/relay/gatekeeper-protocol.ts';
import { attenuateSturdyRef, mintSturdyRef, sturdyDescriptionToValue, sturdyRefToValue } from '../../src/relay/sturdy.ts';
import { show } from '../bus/harness.ts';
import { until } from './relay-harness.ts';

const EMPTY = new Uint8Array(0);

interface World { actor: Actor; config: Ref; gk: Ref; target: Ref; in: (f: (t: Turn) => void) => void }

function world(): World {
  let config!: Ref, gk!: Ref, target!: Ref;
  const actor = Actor.boot('gk-test', (t) => {
    config = t.dataspace('config');
    target = t.dataspace('target');
    gk = createGatekeeper(t, config);
  });
  return { actor, get config() { return config; }, get gk() { return gk; }, get target() { return target; }, in: (f) => actor.root.turn(f) } as World;
}

/** Asserts <resolve STEP #:observer> at the gatekeeper; returns the answers seen. */
function ask(w: World, step: Record<Ref>): { answers: string[]; refs: Ref[]; handle: () => number } {
  const answers: string[] = [], refs: Ref[] = [];
  let h = 0;
  w.in((t) => {
    const observer = t.ref({
      assert: (_t, v) => {
        answers.push(show(v));
        const x = peel(v);
        if (x instanceof Record && x.hasLabel('ok')) refs.push((x.fields[0] as Embedded<Ref>).value);
      },
      retract: () => void answers.push('retracted'),
    });
    h = t.assert(w.gk, resolve<Ref>(step, new Embedded<Ref>(observer)));
  });
  return { answers, refs, handle: () => h };
}

test('gatekeeper: a valid sturdy ref resolves to the bound target; a tampered one is refused', async () => {
  const w = world();
  await until(() => w.gk !== undefined);
  const bound: string[] = [];
  w.in((t) => {
    const obs = t.ref({ assert: (_t, v) => void bound.push(show(v)) });
    t.assert(w.config, bind<Ref>(sturdyDescriptionToValue<Ref>({ oid: 'syndicate', key: EMPTY }), new Embedded<Ref>(w.target), new Embedded<Ref>(obs)));
  });
  await until(() => bound.length === 1, '<bound …>');
  assert.deepEqual(bound, ['<bound <ref {oid: "syndicate", sig: #x"69ca300c1dbfa08fba692102dd82311a"}>>']);

  const good = ask(w, sturdyRefToValue(mintSturdyRef<Ref>(EMPTY, 'syndicate')));
  await until(() => good.answers.length === 1, 'an answer');
  assert.deepEqual(good.answers, ['<ok #:ref>']);
  assert.equal(good.refs[0].target, w.target.target);

  const forged = mintSturdyRef<Ref>(EMPTY, 'syndicate');
  const sig = new Uint8Array(forged.sig);
  sig[0] ^= 1;
  const bad = ask(w, sturdyRefToValue({ ...forged, sig }));
  await until(() => bad.answers.length === 1, 'a refusal');
  assert.deepEqual(bad.answers, ['<error sturdyref-failed-validation>']);

  // Retracting the resolve retracts the answer.
  w.in((t) => t.retract(good.handle()));
  await until(() => good.answers.length === 2);
  assert.equal(good.answers[1], 'retracted');
  w.in((t) => t.stopActor());
});

test('gatekeeper: caveats of an attenuated sturdy ref apply to the resolved ref', async () => {
  const w = world();
  await until(() => w.gk !== undefined);
  const seen: string[] = [];
  w.in((t) => {
    t.assert(w.config, bind<Ref>(sturdyDescriptionToValue<Ref>({ oid: sym('a-service'), key: new TextEncoder().encode('hello') }), new Embedded<Ref>(w.target)));
    t.observe(w.target, P.bind(), { added: (_t, [v]) => void seen.push(show(v)) });
  });
  const caveat = parse<Ref>('<rewrite <bind <_>> <rec labelled [<lit "alice"> <ref 0>]>>');
  const ref = attenuateSturdyRef(mintSturdyRef<Ref>(new TextEncoder().encode('hello'), sym('a-service')), [caveat]);
  assert.equal(Buffer.from(ref.sig).toString('base64'), 'CXn7+rAoO3Xr6Y6Laap3OA==');
  const r = ask(w, sturdyRefToValue(ref));
  await until(() => r.refs.length === 1, 'ok');
  w.in((t) => void t.assert(r.refs[0], record('hi')));
  await until(() => seen.some((s) => s.startsWith('<labelled')), 'the rewritten assertion');
  assert.ok(seen.includes('<labelled "alice" <hi>>'));
  w.in((t) => t.stopActor());
});

test('gatekeeper: unknown step type, malformed detail, direct resolution', async () => {
  const w = world();
  await until(() => w.gk !== undefined);
  const noise = ask(w, record<Ref>('noise', new Bytes(new Uint8Array([1]))));
  const invalid = ask(w, record<Ref>('ref', 3));
  await until(() => noise.answers.length === 1 && invalid.answers.length === 1);
  assert.deepEqual(noise.answers, ['<error unsupported>']);
  assert.deepEqual(invalid.answers, ['<error invalid>']);

  // Someone in the bind-space answers <resolve …> for an OID nobody bound.
  w.in((t) => t.during(w.config, P.rec('resolve', P.rec('ref', P.dict({ oid: P.lit('lazy') })), P.bind()), (t, [obs]) => {
    t.assert((peel(obs) as Embedded<Ref>).value, record<Ref>('ok', new Embedded<Ref>(w.target)));
  }));
  const lazy = ask(w, sturdyRefToValue(mintSturdyRef<Ref>(EMPTY, 'lazy')));
  await until(() => lazy.answers.length === 1, 'direct answer');
  assert.deepEqual(lazy.answers, ['<ok #:ref>']);
  assert.equal(lazy.refs[0], w.target);
  w.in((t) => t.stopActor());
});
