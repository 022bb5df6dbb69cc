// The gatekeeper's records (spec §5.1): resolve, bind, ok/error, bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Embedded, is, parse, stringify, sym, type Value } from '../../src/preserves/index.ts';
import {
  GatekeeperErrors, GatekeeperProtocolError, bind, bindToValue, bound, boundToValue, ok, parseBind, parseBound,
  parseResolve, parseResult, parseStep, resolve, resolveToValue, resultToValue, rpcError, step,
} from '../../src/relay/gatekeeper-protocol.ts';
import { mintSturdyRef, parseSturdyRefDetail, sturdyDescriptionToValue, sturdyRefToValue, validateSturdyRef } from '../../src/relay/sturdy.ts';

const v = (s: string): Value => parse(s);
const obs = Embedded.generic<unknown>([0, 0]);

test('the minimal client opening: <resolve <ref {…}> #:[0 0]>', () => {
  const ref = mintSturdyRef(new Uint8Array(0), v('"syndicate"'));
  const r = resolve(sturdyRefToValue(ref), obs);
  assert.equal(stringify(r), '<resolve <ref {oid: "syndicate", sig: #x"69ca300c1dbfa08fba692102dd82311a"}> #:[0 0]>');
  const back = parseResolve(v(stringify(r)));
  assert.equal(back.step.stepType, sym('ref'));
  assert.ok(is(back.observer, obs));
  assert.ok(validateSturdyRef(parseSturdyRefDetail(back.step.detail), new Uint8Array(0)));
  assert.ok(is(resolveToValue(back), r));
});

test('bind with and without an observer', () => {
  const desc = sturdyDescriptionToValue({ oid: v('"syndicate"'), key: new Uint8Array(0) });
  const target = Embedded.generic<unknown>([0, 5]);
  const withObs = bind(desc, target, obs);
  assert.equal(stringify(withObs), '<bind <ref {key: #"", oid: "syndicate"}> #:[0 5] #:[0 0]>');
  const b = parseBind(withObs);
  assert.ok(b.observer !== null && is(b.observer, obs) && is(b.target, target));
  const noObs = parseBind(v('<bind <noise {service: s}> #:[0 5] #f>'));
  assert.equal(noObs.observer, null);
  assert.equal(noObs.description.stepType, sym('noise'));
  assert.ok(is(bindToValue(noObs), v('<bind <noise {service: s}> #:[0 5] #f>')));
});

test('rpc results and bound answers', () => {
  const target = Embedded.generic<unknown>([0, 9]);
  assert.ok(is(ok(target), v('<ok #:[0 9]>')));
  assert.deepEqual(parseResult(v('<ok #:[0 9]>')), { ok: true, value: target });
  const err = rpcError(GatekeeperErrors.sturdyRefFailedValidation);
  assert.equal(stringify(err), '<error sturdyref-failed-validation>');
  assert.deepEqual(parseResult(err), { ok: false, error: sym('sturdyref-failed-validation') });
  assert.ok(is(resultToValue({ ok: false, error: GatekeeperErrors.unsupported }), v('<error unsupported>')));
  assert.ok(is(resultToValue({ ok: false, error: GatekeeperErrors.invalid }), v('<error invalid>')));
  const b = bound(step('ref', v('{oid: "syndicate", sig: #x"00"}')));
  assert.ok(is(b, v('<bound <ref {oid: "syndicate", sig: #x"00"}>>')));
  const pb = parseBound(b);
  assert.ok(pb.bound && pb.pathStep.stepType === sym('ref'));
  assert.deepEqual(parseBound(v('<error "bad spec">')), { bound: false, error: 'bad spec' });
  assert.ok(is(boundToValue({ bound: false, error: 'bad spec' }), v('<error "bad spec">')));
});

test('malformed records are GatekeeperProtocolErrors', () => {
  const cases: [() => unknown, RegExp][] = [
    [() => parseResolve(v('<resolve <ref {}>>')), /needs 2 field\(s\), got 1/],
    [() => parseResolve(v('<resolve <ref {}> [0 0]>')), /resolve observer must be an embedded ref/],
    [() => parseResolve(v('<resolve "ref" #:[0 0]>')), /resolve step must be a record/],
    [() => parseResolve(v('<resolve <"ref" {}> #:[0 0]>')), /resolve step type \(label\) must be a symbol/],
    [() => parseResolve(v('<resolve <ref {} 2> #:[0 0]>')), /resolve step must have exactly one detail field/],
    [() => parseResolve(v('<bind 1 2 3>')), /expected <resolve STEP #:observer>/],
    [() => parseBind(v('<bind <ref {}> #:[0 1] #t>')), /bind observer \(or #f\) must be an embedded ref/],
    [() => parseBind(v('<bind <ref {}> 7 #f>')), /bind target must be an embedded ref/],
    [() => parseResult(v('<accepted #:[0 1]>')), /expected <ok VALUE> or <error DETAIL>/],
    [() => parseBound(v('<bound>')), /expected <bound PATH-STEP> or <error DETAIL>/],
    [() => parseStep(v('<ref>')), /step must have exactly one detail field/],
    [() => resolve(v('<ref>') as never, obs), /resolve step must have exactly one detail field/],
  ];
  for (const [f, re] of cases) {
    assert.throws(f, (e: unknown) => e instanceof GatekeeperProtocolError && re.test(e.message), re.source);
  }
});
