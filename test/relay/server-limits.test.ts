// Floods against a real syndicate-server: unfinished big packets on many connections, a client
// asserting without end, and more connections than the bus takes. Each costs the offending
// connections only; the bus keeps its memory bounded and answers other clients throughout, and
// its other daemons (a sentinel) keep running with the pid they had before the fault.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { type Bus, answers, isLiveSentinel, memoryOf, openConnection, sentinelPid, startBus, until } from './server-process.ts';

const MiB = 1024 * 1024;

/** After a fault: the sentinel recorded before it is the same live process, and the bus still shows that pid. */
async function assertSentinelKept(bus: Bus, pid: number): Promise<void> {
  assert.ok(isLiveSentinel(pid), `the sentinel daemon (pid ${pid}) still runs`);
  assert.equal(await sentinelPid(bus), pid, 'the bus shows the sentinel with the same pid');
}

/** LEB128, as binary Preserves writes lengths. */
function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

/** Writes `total` bytes of a never-finished binary packet (a byte string just under 16 MiB). */
async function holdUnfinishedPacket(socket: net.Socket, total: number): Promise<void> {
  const length = 16 * MiB - 1024;
  socket.write(Buffer.from([0xb5, 0xb5, 0xb2, ...varint(length)]));
  const chunk = Buffer.alloc(MiB, 0x61);
  for (let sent = 0; sent < total && !socket.destroyed; sent += chunk.length) {
    if (!socket.write(chunk)) {
      await new Promise<void>((r) => {
        socket.once('drain', r);
        socket.once('close', r);
      });
    }
  }
}

test('40 connections each holding an unfinished 16 MiB packet: the bus stays under its memory bound and serves', async (t) => {
  const bus = await startBus({ sentinel: true });
  const conns: Awaited<ReturnType<typeof openConnection>>[] = [];
  try {
    const sentinel = await sentinelPid(bus);
    const before = memoryOf(bus.pid).rss;
    for (let i = 0; i < 40; i++) conns.push(await openConnection({ port: bus.port, host: '127.0.0.1' }));
    // Almost all of each packet (never its end), all connections at once.
    await Promise.all(conns.map((c) => holdUnfinishedPacket(c.socket, 15 * MiB)));
    assert.ok(await answers({ port: bus.port, host: '127.0.0.1' }), 'the bus answers another client');
    const { rss, peak } = memoryOf(bus.pid);
    // The bound: the global input limit (64 MiB, up to twice that in buffers being grown) plus
    // 250 MiB of slack for read chunks not yet collected, over the bus at rest. Unbounded, the
    // bus would hold the 600 MiB the peers sent.
    const bound = before + 2 * 64 * MiB + 250 * MiB;
    t.diagnostic(`RSS at rest ${Math.round(before / MiB)} MiB, peak ${Math.round(peak / MiB)} MiB, bound ${Math.round(bound / MiB)} MiB`);
    assert.ok(peak < bound, `peak RSS ${Math.round(peak / MiB)} MiB under ${Math.round(bound / MiB)} MiB (at rest ${Math.round(before / MiB)} MiB, now ${Math.round(rss / MiB)} MiB)`);
    // Connections past the global limit were closed with an <error …> packet and a log line.
    await bus.waitFor(/relay: closing connection: input limit: unfinished packets of all connections exceed 67108864 bytes/, 'the input-limit log line');
    const cut = (await Promise.all(conns.map((c) => Promise.race([c.closed, new Promise<null>((r) => setTimeout(() => r(null), 5000))]))))
      .filter((got): got is string => got !== null);
    assert.ok(cut.length >= 30, `most connections were cut off (${cut.length})`);
    assert.ok(cut.every((got) => got === '' || /input limit/.test(got)), 'each got the error packet (or a reset)');
    assert.ok(cut.some((got) => /input limit/.test(got)), 'the error packet names the limit');
    await assertSentinelKept(bus, sentinel);
  } finally {
    for (const c of conns) c.socket.destroy();
    await bus.stop();
  }
});

test('100 000 <resolve> from one TCP client: that client is cut off at the assertion limit, another is served', async (t) => {
  const bus = await startBus({ sentinel: true });
  try {
    const sentinel = await sentinelPid(bus);
    const before = memoryOf(bus.pid).rss;
    const flood = await openConnection({ port: bus.port, host: '127.0.0.1' });
    let served = 0;
    const bystander = setInterval(() => void answers({ port: bus.port, host: '127.0.0.1' }).then((ok) => void (ok && served++)), 200);
    try {
      const bad = '<ref {oid: "nobody" sig: #x"00000000000000000000000000000000"}>';
      for (let p = 0; p < 100 && !flood.socket.destroyed; p++) {
        const events: string[] = [];
        for (let i = 0; i < 1000; i++) events.push(`[0 <A <resolve ${bad} #:[0 0]> ${p * 1000 + i}>]`);
        if (!flood.socket.write(`[${events.join(' ')}]`)) {
          await new Promise<void>((r) => { flood.socket.once('drain', r); flood.socket.once('close', r); });
        }
      }
      const got = await flood.closed;
      assert.match(got, /<error "assertion limit: more than 10000 assertions held by one connection" #f>/);
      await until(() => served > 0, 'the other client served during the flood');
    } finally {
      clearInterval(bystander);
      flood.socket.destroy();
    }
    assert.ok(await answers({ port: bus.port, host: '127.0.0.1' }), 'the bus answers afterwards');
    assert.equal(bus.stderr().match(/assertion limit/g)?.length, 1, 'one log line: ' + bus.stderr());
    // 10 000 resolves held at most, each a few KiB of facets and answers: far from the 1.5 GB
    // that 100 000 cost without the limit.
    const { peak } = memoryOf(bus.pid);
    t.diagnostic(`RSS at rest ${Math.round(before / MiB)} MiB, peak ${Math.round(peak / MiB)} MiB`);
    assert.ok(peak < before + 400 * MiB, `peak RSS ${Math.round(peak / MiB)} MiB under ${Math.round(before / MiB) + 400} MiB`);
    await assertSentinelKept(bus, sentinel);
  } finally {
    await bus.stop();
  }
});

test('~1 000 idle TCP connections under a 1 024 fd limit: the extra ones are refused, the bus runs and still spawns daemons', async () => {
  const bus = await startBus({ fdLimit: 1024, sentinel: true });
  const conns: net.Socket[] = [];
  try {
    const sentinel = await sentinelPid(bus);
    let refused = 0;
    await Promise.all(Array.from({ length: 1000 }, () => new Promise<void>((resolve) => {
      const s = net.connect({ port: bus.port, host: '127.0.0.1' });
      conns.push(s);
      s.on('error', () => {});
      s.once('close', () => {
        refused++;
        resolve();
      });
      s.once('connect', () => setTimeout(resolve, 0));
    })));
    // A quarter of 1 024 descriptors (256) are for connections, half of those per listener;
    // the rest are refused.
    await until(() => refused >= 1000 - 128, `refusals (${refused} so far)`, 30000);
    const open = conns.filter((s) => !s.destroyed && s.readyState === 'open').length;
    assert.ok(open <= 128 && open >= 100, `about 128 connections kept (${open})`);
    // One log line for the whole flood from this address, not one per attempt.
    assert.equal(bus.stderr().match(/limit of 128 connections on this listener reached/g)?.length, 1, bus.stderr());
    // The bus still has descriptors: the control socket answers, and a new daemon starts.
    assert.ok(await answers({ path: path.join(bus.stateDir, 'control.sock') }), 'the control socket answers');
    await fs.promises.writeFile(path.join(bus.configDir, 'd.pr'), '<require-service <daemon late>>\n<daemon late "sleep 1000">\n');
    await until(() => {
      const r = spawnSync(process.execPath, [path.resolve('bin/syndicate-ctl.js'), '--socket', path.join(bus.stateDir, 'control.sock'), 'status'], { encoding: 'utf8' });
      return /<daemon late>\s+(ready|up|started)/.test(r.stdout);
    }, 'the daemon started after the flood', 30000);
    await assertSentinelKept(bus, sentinel);
  } finally {
    for (const s of conns) s.destroy();
    await bus.stop();
  }
});

test('accept failing with EMFILE (limits raised above the descriptors): the bus runs, and the listener serves again once descriptors are free', async () => {
  const bus = await startBus({ fdLimit: 200, args: ['--max-connections', '5000', '--max-connections-total', '5000'], sentinel: true });
  const conns: net.Socket[] = [];
  try {
    const sentinel = await sentinelPid(bus);
    let closedByBus = 0;
    await Promise.all(Array.from({ length: 400 }, () => new Promise<void>((resolve) => {
      const s = net.connect({ port: bus.port, host: '127.0.0.1' });
      conns.push(s);
      s.on('error', () => {});
      s.once('close', () => {
        closedByBus++;
        resolve();
      });
      s.once('connect', () => setTimeout(resolve, 0));
    })));
    // The bus ran out of descriptors: libuv closes what it cannot accept.
    await until(() => closedByBus >= 150, `connections the bus could not take (${closedByBus})`, 30000);
    const fds = fs.readdirSync(`/proc/${bus.pid}/fd`).length;
    assert.ok(fds >= 190, `the bus is at its descriptor limit (${fds} of 200)`);
    assert.equal(bus.proc.exitCode, null, 'the bus runs');
    assert.ok(isLiveSentinel(sentinel), `the sentinel daemon (pid ${sentinel}) runs while the bus is out of descriptors`);
    for (const s of conns) s.destroy();
    await until(() => answers({ port: bus.port, host: '127.0.0.1' }), 'the listener serving again once descriptors are free', 30000);
    assert.ok(!/Error|uncaught/i.test(bus.stderr()), bus.stderr().slice(0, 2000));
    await assertSentinelKept(bus, sentinel);
  } finally {
    for (const s of conns) s.destroy();
    await bus.stop();
  }
});
