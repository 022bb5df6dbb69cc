// Plumbing for relay tests: socket pairs in a temp dir, waiting for conditions, log capture.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { settle } from '../../src/bus/index.ts';

/** A fresh temporary directory (short path: Unix socket paths are limited to 108 bytes). */
export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'rl-'));
}

/** Two connected sockets through a Unix socket in a temp dir. */
export async function socketPair(): Promise<[net.Socket, net.Socket]> {
  const dir = tempDir();
  const p = path.join(dir, 's');
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(p, r));
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const client = net.connect({ path: p });
  await new Promise<void>((r) => client.once('connect', () => r()));
  const a = await accepted;
  server.close();
  return [a, client];
}

/** Resolves when `pred()` holds, checking after the engine settles and every 5 ms. */
export async function until(pred: () => boolean, what = 'condition', ms = 10000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    await settle();
    if (pred()) return;
    if (Date.now() > deadline) throw new Error('timed out waiting for ' + what);
    await new Promise((r) => setTimeout(r, 5));
  }
}
