// The local address the kernel would use towards a target: a fresh UDP socket, connect() and
// address(). Nothing is sent. A connected socket keeps its old source after a route change,
// so every lookup opens a new socket and closes it.
import dgram from 'node:dgram';
import type { IpAddress } from './peer-address.ts';
import { parseAddress } from './peer-address.ts';

/** The source address towards `target`, or null when there is no route (ENETUNREACH and the like). */
export function sourceAddressFor(target: IpAddress): Promise<IpAddress | null> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket(target.family === 'ipv4' ? 'udp4' : 'udp6');
    let done = false;
    const finish = (a: IpAddress | null) => {
      if (done) return;
      done = true;
      try {
        sock.close();
      } catch {
        // already closed
      }
      resolve(a);
    };
    sock.on('error', () => finish(null));
    try {
      sock.connect(1, target.text, (err?: Error) => {
        if (err) {
          finish(null);
          return;
        }
        try {
          finish(parseAddress(sock.address().address));
        } catch {
          finish(null);
        }
      });
    } catch {
      finish(null);
    }
  });
}
