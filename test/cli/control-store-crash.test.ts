// Acknowledged means durable: a real bus killed with SIGKILL while 500 `assert` requests are in
// flight; after a restart on the same state folder every acknowledged value is there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { P, type Ref } from '../../src/bus/index.ts';
import { record } from '../../src/preserves/index.ts';
import { connectBus } from '../../src/cli/ctl/connect.ts';
import { snapshot, type BusConnection } from '../../src/cli/ctl/connection.ts';
import { parseStoreReply, persist } from '../../src/services/control-store.ts';

const SERVER = path.resolve('bin/syndicate-server.js');
const COUNT = 500;

function startBus(state: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const bus = spawn(process.execPath, [SERVER, '--no-banner', '--state', state], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    bus.stderr!.on('data', (d) => {
      err += d;
      if (/control\.sock"> #:ref>: ready/.test(err)) resolve(bus);
    });
    bus.once('exit', () => reject(new Error('bus exited: ' + err)));
  });
}

/** Asks the store to keep `<crash-test N>`; resolves true once acknowledged, false if the bus went first. */
function keep(conn: BusConnection, n: number): Promise<boolean> {
  return new Promise((resolve) => conn.turn((t, config) => {
    t.facet((t) => {
      t.preventInertCheck();
      const reply = t.ref({ message: (_t, m) => resolve(parseStoreReply(m)?.ok === true) });
      t.assert(config, persist(record('crash-test', n), reply as Ref));
      t.onStop(() => resolve(false));
    });
  }));
}

test('kill -9 during 500 acknowledged asserts: every acknowledged value is kept, no temp file is left', async () => {
  const state = await mkdtemp(path.join(tmpdir(), `crash-state-${process.pid}-`));
  let bus: ChildProcess | null = null;
  try {
    bus = await startBus(state);
    const conn = await connectBus({ socket: path.join(state, 'control.sock'), stateDir: state }, 30000);
    const acked: number[] = [];
    let killed = false;
    const b = bus;
    b.removeAllListeners('exit'); // startBus's "exited early" rejection
    const exited = new Promise((r) => b.once('exit', r));
    // All requests in flight at once; the bus dies once a third has been acknowledged.
    const all = Array.from({ length: COUNT }, (_, n) => keep(conn, n).then((ok) => {
      if (!ok) return;
      acked.push(n);
      if (!killed && acked.length >= COUNT / 3) {
        killed = true;
        b.kill('SIGKILL');
      }
    }));
    await exited;
    conn.close().catch(() => undefined);
    await Promise.race([Promise.all(all), new Promise((r) => setTimeout(r, 2000))]);
    assert.ok(acked.length >= COUNT / 3 && acked.length < COUNT, `killed in the middle (${acked.length} acknowledged)`);
    const ackedNow = [...acked];
    bus = await startBus(state);
    const again = await connectBus({ socket: path.join(state, 'control.sock'), stateDir: state }, 30000);
    const present = new Set((await snapshot(again, [P.rec('crash-test', P.discard())])).map((a) => String((a as unknown as { fields: unknown[] }).fields[0])));
    await again.close();
    const lost = ackedNow.filter((n) => !present.has(String(n)));
    assert.deepEqual(lost, [], `${lost.length} of ${ackedNow.length} acknowledged values lost`);
    assert.deepEqual((await readdir(path.join(state, 'ctl'))).filter((f) => f.startsWith('.')), [], 'no temp file left');
  } finally {
    if (bus !== null) await stopBus(bus, 'SIGTERM');
    await rm(state, { recursive: true, force: true });
  }
});

const CTL = path.resolve('bin/syndicate-ctl.js');

/** A bus on `state` running `conf`; resolves with it and a way to wait for a line on its stderr. */
function startConfiguredBus(state: string, conf: string): Promise<{ bus: ChildProcess; line: (re: RegExp) => Promise<void>; err: () => string }> {
  return new Promise((resolve, reject) => {
    const bus = spawn(process.execPath, [SERVER, '--no-banner', '--state', state, '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    const waiters: { re: RegExp; done: () => void }[] = [];
    const check = () => {
      for (const w of [...waiters]) if (w.re.test(err)) { waiters.splice(waiters.indexOf(w), 1); w.done(); }
    };
    const line = (re: RegExp) => new Promise<void>((done, fail) => {
      waiters.push({ re, done });
      check();
      bus.once('exit', () => fail(new Error(`bus exited before ${re}: ${err}`)));
    });
    bus.stderr!.on('data', (d) => { err += d; check(); });
    bus.once('exit', () => reject(new Error('bus exited: ' + err)));
    void line(/control\.sock"> #:ref>: ready/).then(() => resolve({ bus, line, err: () => err }), () => undefined);
  });
}

function ctl(state: string, ...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CTL, '--state', state, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    p.stdout!.on('data', (d) => { out += d; });
    p.stderr!.on('data', (d) => { err += d; });
    p.on('close', (code) => resolve({ code, out, err }));
  });
}

/** Sends `signal` to a bus still running and waits for it to exit. */
async function stopBus(bus: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (bus.exitCode !== null || bus.signalCode !== null) return;
  bus.removeAllListeners('exit');
  const gone = new Promise((r) => bus.once('exit', r));
  bus.kill(signal);
  await gone;
}

function kill9(bus: ChildProcess): Promise<void> {
  return stopBus(bus, 'SIGKILL');
}

test('start and stop are kept across kill -9 right after the acknowledgement: the started service comes back, the stopped one stays held', async () => {
  const state = await mkdtemp(path.join(tmpdir(), `crash-hold-${process.pid}-`));
  const conf = await mkdtemp(path.join(tmpdir(), `crash-hold-conf-${process.pid}-`));
  let bus: ChildProcess | null = null;
  try {
    // Configured, not required: only a kept `start` runs it.
    await writeFile(path.join(conf, 'svc.pr'), '<daemon crashsvc "exec sleep 1000">\n');
    let b = await startConfiguredBus(state, conf);
    bus = b.bus;
    await b.line(/<config-watcher "[^"]*crash-hold-conf[^"]*"[^\n]*: ready/);
    const started = await ctl(state, 'start', 'crashsvc');
    assert.equal(started.code, 0, started.err);
    await kill9(bus);

    b = await startConfiguredBus(state, conf);
    bus = b.bus;
    await b.line(/<daemon crashsvc>: ready/);
    const stopped = await ctl(state, 'stop', 'crashsvc');
    assert.equal(stopped.code, 0, stopped.err);
    await kill9(bus);

    b = await startConfiguredBus(state, conf);
    bus = b.bus;
    await b.line(/<config-watcher "[^"]*crash-hold-conf[^"]*"[^\n]*: ready/);
    const r = await ctl(state, 'status', 'crashsvc', '--json');
    assert.equal(r.code, 0, r.err);
    const [s] = JSON.parse(r.out) as { service: string; state: string; pid: number | null }[];
    assert.deepEqual([s.service, s.state, s.pid], ['<daemon crashsvc>', 'held', null]);
    // Held from the boot turn on: this bus never started it.
    assert.doesNotMatch(b.err(), /<daemon crashsvc>: (started|ready)/);
  } finally {
    if (bus !== null) await stopBus(bus, 'SIGTERM');
    await rm(state, { recursive: true, force: true });
    await rm(conf, { recursive: true, force: true });
  }
});
