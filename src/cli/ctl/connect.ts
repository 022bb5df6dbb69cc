// Connecting syndicate-ctl to a bus: the control socket exports the bus's gatekeeper; the
// well-known sturdy ref `<ref {oid: "syndicate" ...}>` (empty key) resolves to the config
// dataspace. Access control is the socket's file mode (0600: root only).
import { connectUnix } from '../../relay/client.ts';
import { resolveStep } from '../../relay/client.ts';
import { mintSturdyRef, sturdyRefToValue } from '../../relay/sturdy.ts';
import { stringify } from '../../preserves/index.ts';
import type { Ref } from '../../bus/index.ts';
import { NoBusError, type BusConnection } from './connection.ts';
import { CONTROL_OID } from '../../services/system.ts';

/** Where a bus started without `--state` or `--root` listens. */
export const DEFAULT_SOCKET = '/run/syndicate/control.sock';


/** How long to wait for the gatekeeper's answer. */
const RESOLVE_TIMEOUT_MS = 5000;

/** Connects to the bus at `socket` and resolves its config dataspace. */
export async function connectBus(socket: string): Promise<BusConnection> {
  let client;
  try {
    client = await connectUnix(socket, { name: 'syndicate-ctl' });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' || code === 'ECONNREFUSED' ? 'no bus is listening there' : (e as Error).message;
    throw new NoBusError(`cannot connect to ${socket}: ${why}`);
  }
  const gatekeeper = client.peer!;
  const step = sturdyRefToValue(mintSturdyRef<Ref>(new Uint8Array(0), CONTROL_OID));
  const c = client;
  const config = await new Promise<Ref>((resolve, reject) => {
    const timer = setTimeout(() => reject(new NoBusError(`${socket}: the bus did not answer`)), RESOLVE_TIMEOUT_MS);
    void c.closed.then((e) => reject(new NoBusError(`${socket}: connection closed${e ? ': ' + e.message : ''}`)));
    void c.turn((t) => {
      resolveStep(t, gatekeeper, step, (_t, ref) => {
        clearTimeout(timer);
        resolve(ref);
      }, (_t, detail) => {
        clearTimeout(timer);
        reject(new NoBusError(`${socket}: the bus refused the control capability: ${stringify(detail, { embeddedEncode: () => Symbol.for('ref') })}`));
      });
    });
  });
  return {
    turn: (f) => c.actor.root.turn((t) => f(t, config)),
    close: () => c.close(),
  };
}
