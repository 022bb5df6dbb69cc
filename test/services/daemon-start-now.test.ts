// Starting a process without awaiting (DaemonProcess.startNow), which a respawn at
// restartDelay 0 uses to replace a process within one turn: it runs like one from `start`, and
// it declines (null) whenever the OS must be awaited first or the spawn fails, so `start` can
// report why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from '../../src/preserves/index.ts';
import { P, type Assertion } from '../../src/bus/index.ts';
import { DaemonProcess } from '../../src/services/daemon/daemon-process.ts';
import { SpawnError } from '../../src/services/daemon/spawn-error.ts';
import { Service } from '../../src/services/supervision/service-protocol.ts';
import { daemonService } from '../../src/services/supervision/daemon-service.ts';
import { daemonRegistry } from '../../src/services/supervision/daemon-registry.ts';
import { testSystem } from './service-harness.ts';
import { Lines, liveGroupMembers } from './proc-helpers.ts';

test('startNow returns a running process at once: output, exit status and group as with start', async () => {
  const lines = new Lines();
  const p = DaemonProcess.startNow({ command: { kind: 'exec', argv: ['sh', '-c', 'echo out; echo err >&2; exit 3'] }, onLine: lines.onLine });
  assert.ok(p instanceof DaemonProcess, 'a process, not a promise');
  assert.ok(p.pid > 0);
  assert.deepEqual(await p.exited, { code: 3, signal: null });
  assert.deepEqual(lines.seen.map(([s, l]) => `${s} ${String(l)}`).sort(), ['stderr err\n', 'stdout out\n']);
  assert.deepEqual(liveGroupMembers(p.pid), []);
});

test('startNow declines what needs the OS first or cannot start; start then names the reason', async () => {
  const missingShell = { command: { kind: 'shell', script: 'no-such-program-xyz --flag' } } as const;
  assert.equal(DaemonProcess.startNow(missingShell), null);
  await assert.rejects(DaemonProcess.start(missingShell), (e: unknown) => e instanceof SpawnError && /no-such-program-xyz/.test(e.message));
  const missingExec = { command: { kind: 'exec', argv: ['/nonexistent/ghost-program'] } } as const;
  assert.equal(DaemonProcess.startNow(missingExec), null);
  await assert.rejects(DaemonProcess.start(missingExec), (e: unknown) => e instanceof SpawnError && /ENOENT/.test(e.message));
  const sdNotify = { command: { kind: 'exec', argv: ['true'] }, readyNotify: { kind: 'sd-notify' } } as const;
  assert.equal(DaemonProcess.startNow(sdNotify), null);
});

test('a respawn at restartDelay 0 keeps the daemon ready: ready is never retracted between processes', async () => {
  let ticks = 0;
  let enough!: () => void;
  const fourTicks = new Promise<void>((r) => (enough = r));
  const s = await testSystem({
    writeLog: (l) => { if (l.includes('tick') && ++ticks === 4) enough(); },
    services: (config, log) => [daemonService(config, log)],
  });
  const name = parse('<daemon quick>') as Assertion;
  const ready: string[] = [];
  await s.act((t) => {
    t.observe(s.system.config, P.lit(Service.state(name, 'ready')), {
      added: () => void ready.push('added'),
      removed: () => void ready.push('removed'),
    });
    t.assert(s.system.config, Service.require(name));
    t.assert(s.system.config, parse('<daemon quick {argv: ["sh" "-c" "echo tick; sleep 0.05"] restartDelay: 0}>') as Assertion);
  });
  try {
    await fourTicks;
  } finally {
    await s.stop();
    await daemonRegistry(s.system.config).ops.idle();
  }
  // Up once, and ready through every crash and respawn: at most the final stop retracts it.
  assert.equal(ready[0], 'added');
  assert.ok(ready.length <= 2 && ready.slice(1).every((x) => x === 'removed'), ready.join(' '));
});
