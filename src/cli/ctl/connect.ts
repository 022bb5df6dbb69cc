// Connecting syndicate-ctl to a bus and making sure it is one. The control socket exports the
// bus's config dataspace as OID 0 (who may connect is decided by the socket's 0600 mode); a
// `-s`/`-p` listener exports a gatekeeper instead, through which ctl resolves the control ref
// the bus keeps in its state folder. Either way ctl then sees the bus's mark in the dataspace,
// or it says in one line what it reached instead.
import { P, showAssertion, type Ref, type Turn } from '../../bus/index.ts';
import { connectUnix, resolveStep, type Client } from '../../relay/client.ts';
import { BUS_MARK, parseBusInfo, readControlRef, type BusInfo } from '../control-ref.ts';
import { CONTROL_REF } from '../state-dir.ts';
import { NoBusError, type BusConnection } from './connection.ts';

/** Where to connect, and the state folder whose control ref to try through a gatekeeper. */
export interface BusAddress {
  readonly socket: string;
  readonly stateDir: string;
}

/** Runs `f` in a fresh facet of the client; resolves with its answer or null after `ms`. */
function ask<A>(c: Client, ms: number, f: (t: Turn, answer: (a: A) => void) => void): Promise<A | null> {
  return new Promise((resolve) => {
    c.actor.root.turn((t) => {
      t.facet((t) => {
        t.preventInertCheck();
        const facet = t.activeFacet;
        let done = false;
        const answer = (a: A | null) => {
          if (done) return;
          done = true;
          resolve(a);
          facet.turn((t) => t.stop(facet));
        };
        f(t, answer);
        t.after(ms, () => answer(null));
      });
    });
  });
}

/** The bus mark seen at `target` after a sync round trip: info, `absent`, or null if no answer. */
function probe(c: Client, target: Ref, ms: number): Promise<BusInfo | 'absent' | null> {
  return ask<BusInfo | 'absent'>(c, ms, (t, answer) => {
    let info: BusInfo | null = null;
    t.observe(target, P.rec(BUS_MARK, P.bind()), { added: (_t, [d]) => void (info = parseBusInfo(d)) });
    t.sync(target, () => answer(info ?? 'absent'));
  });
}

/** Connects to the bus at `address`; its `config` is the bus's config dataspace. */
export async function connectBus(address: BusAddress, timeoutMs: number): Promise<BusConnection> {
  const { socket, stateDir } = address;
  let c: Client;
  try {
    c = await connectUnix(socket, { name: 'syndicate-ctl' });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' || code === 'ECONNREFUSED' ? 'no bus is listening there' : (e as Error).message;
    throw new NoBusError(`cannot connect to ${socket}: ${why}`);
  }
  const fail = async (message: string): Promise<never> => {
    await c.close();
    throw new NoBusError(message);
  };
  const peer = c.peer!;
  const direct = await probe(c, peer, timeoutMs);
  if (direct === null) return fail(`${socket} did not answer as a Syndicate relay within ${timeoutMs / 1000} s`);
  let config = peer;
  let info: BusInfo = direct === 'absent' ? { pid: null, state: null } : direct;
  if (direct === 'absent') {
    // Not the config dataspace: perhaps a gatekeeper, which the control ref gets us through.
    const refFile = `${stateDir}/${CONTROL_REF}`;
    const ref = await readControlRef(stateDir);
    if (ref === null) return fail(`${socket} is not a control socket (no bus's config dataspace behind it), and no control ref is readable at ${refFile}`);
    // Not through `ask`: the resolved ref lives only as long as the resolve request does, so
    // the request's facet stays for the whole connection.
    const resolved = await new Promise<Ref | string | null>((resolve) => c.actor.root.turn((t) => {
      t.facet((t) => {
        t.preventInertCheck();
        let done = false;
        const answer = (a: Ref | string | null) => { if (!done) { done = true; resolve(a); } };
        resolveStep(t, peer, ref, (_t, r) => answer(r), (_t, detail) => answer(showAssertion(detail)));
        t.after(timeoutMs, () => answer(null));
      });
    }));
    if (resolved === null || typeof resolved === 'string') {
      return fail(`${socket} is not a control socket: it did not resolve the control ref in ${refFile}${resolved ? ` (${resolved})` : ''}`);
    }
    config = resolved;
    const mark = await probe(c, config, timeoutMs);
    if (mark === null || mark === 'absent') return fail(`${socket} is not a control socket: the control ref in ${refFile} leads to no bus`);
    info = mark;
  }
  return {
    info,
    turn: (f) => c.actor.root.turn((t) => f(t, config)),
    close: () => c.close(),
  };
}
