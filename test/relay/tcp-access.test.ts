// TCP is closed by default: `-p PORT` listens on 127.0.0.1 only, `-p HOST:PORT` / `[IPV6]:PORT`
// elsewhere, `--allow CIDR` keeps other peers out (logged once per address per minute).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { answers, startBus } from './server-process.ts';

const BIN = path.resolve('bin/syndicate-server.js');

/** True when a TCP connection to host:port is accepted (and kept long enough to see). */
function connects(opts: net.NetConnectOpts): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(opts);
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

async function ipv6Loopback(): Promise<boolean> {
  const s = net.createServer();
  return new Promise((resolve) => {
    s.once('error', () => resolve(false));
    s.listen(0, '::1', () => s.close(() => resolve(true)));
  });
}

test('-p PORT listens on 127.0.0.1 only', async () => {
  const bus = await startBus();
  try {
    assert.ok(await answers({ host: '127.0.0.1', port: bus.port }), 'served on 127.0.0.1');
    // 127.0.0.2 is loopback too: a listener on 0.0.0.0 would accept there.
    assert.equal(await connects({ host: '127.0.0.2', port: bus.port }), false, 'nothing listens on other addresses');
  } finally {
    await bus.stop();
  }
});

test('-p [::1]:PORT listens on IPv6 loopback', async (t) => {
  if (!(await ipv6Loopback())) return t.skip('no IPv6 loopback here');
  const bus = await startBus({ portArg: (p) => `[::1]:${p}`, host: '::1' });
  try {
    assert.ok(await answers({ host: '::1', port: bus.port }), 'served on ::1');
    assert.equal(await connects({ host: '127.0.0.1', port: bus.port }), false, 'not on IPv4');
  } finally {
    await bus.stop();
  }
});

test('--allow: peers outside are closed unserved, logged once per address per minute; peers inside are served', async () => {
  const bus = await startBus({ portArg: (p) => `127.0.0.1:${p}`, args: ['--allow', '127.0.0.2/32', '--allow', '192.0.2.0/24,::1/128'], localAddress: '127.0.0.2' });
  try {
    assert.ok(await answers({ host: '127.0.0.1', port: bus.port, localAddress: '127.0.0.2' }), 'a peer inside is served');
    for (let i = 0; i < 5; i++) {
      assert.equal(await answers({ host: '127.0.0.1', port: bus.port, localAddress: '127.0.0.1' }, undefined, undefined, 5000), false, 'refused');
    }
    await bus.waitFor(/refused connection from 127\.0\.0\.1:\d+ \(not in allow list\)/, 'the refusal line');
    assert.ok(await answers({ host: '127.0.0.1', port: bus.port, localAddress: '127.0.0.2' }), 'still served');
    assert.equal(bus.stderr().match(/refused connection from 127\.0\.0\.1:/g)?.length, 1, 'one line for five attempts:\n' + bus.stderr());
    // Another address gets its own line.
    assert.equal(await answers({ host: '127.0.0.1', port: bus.port, localAddress: '127.0.0.3' }, undefined, undefined, 5000), false);
    await bus.waitFor(/refused connection from 127\.0\.0\.3:/, 'the second address logged');
  } finally {
    await bus.stop();
  }
});

test('bad -p and --allow values are usage errors naming the value', () => {
  for (const [args, re] of [
    [['-p', '70000'], /bad port "70000"/],
    [['-p', '[127.0.0.1]:80'], /not an IPv6 address/],
    [['-p', 'host:'], /bad port "host:"/],
    [['--allow', '10.0.0.0/33'], /--allow bad prefix length in "10.0.0.0\/33"/],
    [['--allow', 'example.org'], /"example.org" is not an IPv4 or IPv6 network/],
    [['--max-input-total', 'lots'], /--max-input-total needs a size such as 16M, not "lots"/],
    [['--max-connections', '0'], /--max-connections needs a whole number/],
  ] as const) {
    const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
    assert.equal(r.status, 2, args.join(' '));
    assert.match(r.stderr, re);
  }
});
