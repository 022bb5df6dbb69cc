// Connecting syndicate-ctl to a bus: the control socket exports the bus's config dataspace as
// OID 0; who may connect is decided by the socket's file mode (0600: root only).
import { connectUnix } from '../../relay/client.ts';
import { NoBusError, type BusConnection } from './connection.ts';

/** Where a bus started with `--state /run/syndicate` listens. */
export const DEFAULT_SOCKET = '/run/syndicate/control.sock';

/** Connects to the bus at `socket`; its OID 0 is the config dataspace. */
export async function connectBus(socket: string): Promise<BusConnection> {
  let client;
  try {
    client = await connectUnix(socket, { name: 'syndicate-ctl' });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' || code === 'ECONNREFUSED' ? 'no bus is listening there' : (e as Error).message;
    throw new NoBusError(`cannot connect to ${socket}: ${why}`);
  }
  const c = client;
  const config = c.peer!;
  return {
    turn: (f) => c.actor.root.turn((t) => f(t, config)),
    close: () => c.close(),
  };
}
