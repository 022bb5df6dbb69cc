// The gatekeeper (spec §5.1): resolves `<resolve STEP #:observer>` against the bind-space.
// A sturdy step is answered either by whoever answers a `<resolve STEP #:proxy>` we assert into
// the bind-space (relayed verbatim), or by a matching `<bind <ref {oid key}> $target _>`
// (signature checked, target attenuated by the ref's caveats). Binds with an observer are told
// the path step to use, `<bound <ref {oid sig}>>`.
import { Embedded, Record, is, peel } from '../preserves/index.ts';
import { P, attenuate, log, type Assertion, type Facet, type Handle, type Ref, type Turn } from '../bus/index.ts';
import {
  GatekeeperErrors, GatekeeperProtocolError, bound, ok, parseBind, parseResolve, resolve, rpcError, type Resolve,
} from './gatekeeper-protocol.ts';
import {
  STURDY_STEP_TYPE, SturdyRefError, parseSturdyDescriptionDetail, parseSturdyRefDetail, sturdyCaveats,
  sturdyRefFor, sturdyRefToValue, validateSturdyRef, type SturdyRef,
} from './sturdy.ts';

/**
 * Creates a gatekeeper entity in the active facet, resolving against `bindspace`, and starts
 * answering sturdy binds' observers there. Returns the ref to export (e.g. as OID 0 of every
 * network connection).
 */
export function createGatekeeper(t: Turn, bindspace: Ref): Ref {
  handleSturdyBinds(t, bindspace);
  const requests = new Map<Handle, Facet>();
  return t.ref({
    assert(t, v, h) {
      let r: Resolve<Ref>;
      try {
        r = parseResolve(v);
      } catch (e) {
        if (!(e instanceof GatekeeperProtocolError)) throw e;
        log({ level: 'debug', actor: t.actor.name, message: 'gatekeeper: ignoring ' + e.message });
        return;
      }
      requests.set(h, t.facet((t) => {
        t.preventInertCheck();
        handleResolve(t, bindspace, r);
      }));
    },
    retract(t, h) {
      const f = requests.get(h);
      if (f === undefined) return;
      requests.delete(h);
      t.stop(f);
    },
  });
}

/** Answers one resolve request, in a facet that lives as long as the request. */
function handleResolve(t: Turn, bindspace: Ref, r: Resolve<Ref>): void {
  const observer = r.observer.value;
  if (r.step.stepType !== STURDY_STEP_TYPE) {
    t.assert(observer, rpcError(GatekeeperErrors.unsupported));
    return;
  }
  let sturdy: SturdyRef<Ref>;
  try {
    sturdy = parseSturdyRefDetail(r.step.detail);
  } catch (e) {
    if (!(e instanceof SturdyRefError)) throw e;
    t.assert(observer, rpcError(GatekeeperErrors.invalid));
    return;
  }
  const stepValue = new Record<Ref>(r.step.stepType, [r.step.detail]);
  const outer = t.facet((t) => {
    // Direct resolution: someone in the bind-space may answer (or lazily create a bind).
    const direct = t.facet((t) => {
      let answered = false;
      const proxy = t.ref({
        assert(t, answer) {
          if (answered) return;
          answered = true;
          // The first answer wins: stop watching binds, hand the answer over for the request's life.
          t.stop(outer, (t) => void t.assert(observer, answer));
        },
      });
      t.assert(bindspace, resolve<Ref>(stepValue, new Embedded<Ref>(proxy)));
    });
    const pattern = P.rec('bind', P.bind(P.rec(STURDY_STEP_TYPE, P.dict({ oid: P.lit(sturdy.oid) }))), P.bind(), P.discard());
    t.observe(bindspace, pattern, {
      added(t, [description, target]) {
        if (direct.isLive) t.stop(direct);
        t.assert(observer, answerFor(t, sturdy, description, target));
      },
    });
  });
}

/** `<ok #:target-attenuated>` or `<error sturdyref-failed-validation>` for one matching bind. */
function answerFor(t: Turn, sturdy: SturdyRef<Ref>, description: Assertion, target: Assertion): Assertion {
  const fail = rpcError<Ref>(GatekeeperErrors.sturdyRefFailedValidation);
  const e = peel(target);
  let key: Uint8Array;
  try {
    const d = parseSturdyDescriptionDetail(fieldOf(description));
    if (!is(d.oid, sturdy.oid)) return fail;
    key = d.key;
  } catch (err) {
    log({ level: 'warn', actor: t.actor.name, message: 'gatekeeper: malformed bind: ' + (err as Error).message });
    return fail;
  }
  if (!(e instanceof Embedded)) {
    log({ level: 'warn', actor: t.actor.name, message: 'gatekeeper: bind target is not a ref' });
    return fail;
  }
  if (!validateSturdyRef(sturdy, key)) {
    log({ level: 'warn', actor: t.actor.name, message: 'gatekeeper: sturdy ref failed validation' });
    return fail;
  }
  try {
    return ok<Ref>(new Embedded<Ref>(attenuate(e.value as Ref, ...sturdyCaveats(sturdy))));
  } catch (err) {
    log({ level: 'warn', actor: t.actor.name, message: 'gatekeeper: ' + (err as Error).message });
    return fail;
  }
}

function fieldOf(v: Assertion): Assertion {
  const r = peel(v);
  return r instanceof Record && r.fields.length === 1 ? r.fields[0] : v;
}

/** For each `<bind <ref {oid key}> $target OBSERVER>` with an observer, asserts `<bound <ref {oid sig}>>` at it. */
function handleSturdyBinds(t: Turn, bindspace: Ref): void {
  t.during(bindspace, P.bind(P.rec('bind', P.rec(STURDY_STEP_TYPE, P.discard()), P.discard(), P.discard())), (t, [b]) => {
    try {
      const parsed = parseBind(b);
      const desc = parseSturdyDescriptionDetail(parsed.description.detail);
      if (parsed.observer !== null) t.assert(parsed.observer.value, bound<Ref>(sturdyRefToValue(sturdyRefFor(desc))));
    } catch (e) {
      if (!(e instanceof GatekeeperProtocolError) && !(e instanceof SturdyRefError)) throw e;
      log({ level: 'warn', actor: t.actor.name, message: 'gatekeeper: malformed bind: ' + e.message });
    }
  });
}

/** Records of the `<gatekeeper $bindspace>` service. */
export function gatekeeperServiceName(bindspace: Ref): Assertion {
  return new Record<Ref>(Symbol.for('gatekeeper'), [new Embedded<Ref>(bindspace)]);
}
