// Relay listeners as services (spec §5.3): Unix sockets (mode 0600, stale files replaced, live
// ones refused) and TCP with an allow-list; a client resolves a sturdy ref through each.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setLogHook, type LogEntry, type Ref } from '../../src/bus/index.ts';
import { Dictionary, Embedded, record } from '../../src/preserves/index.ts';
import { createGatekeeper } from '../../src/relay/gatekeeper.ts';
import { bind } from '../../src/relay/gatekeeper-protocol.ts';
import { mintSturdyRef, sturdyDescriptionToValue, sturdyRefToValue } from '../../src/relay/sturdy.ts';
import { connectTcp, connectUnix, resolveStep, type Client } from '../../src/relay/client.ts';
import { listenerFlagsToAssertions, unixListenerName, tcpListenerName } from '../../src/services/listeners/relay-listener-service.ts';
import { Service } from '../../src/services/supervision/service-protocol.ts';
import { testSystem, has } from '../services/service-harness.ts';
import { tempDir, until } from './relay-harness.ts';
import { freePort } from './server-process.ts';

async function busWithGatekeeper() {
  let gk!: Ref;
  const ts = await testSystem({
    onBoot: (t, s) => {
      gk = createGatekeeper(t, s.config);
      t.assert(s.config, bind<Ref>(sturdyDescriptionToValue<Ref>({ oid: 'syndicate', key: new Uint8Array(0) }), new Embedded<Ref>(s.config)));
    },
  });
  return { ts, gk };
}

/** Resolves the default sturdy ref through the client's gatekeeper and asserts `<hello WHO>` via the result. */
async function sayHello(c: Client, who: string): Promise<void> {
  await c.turn((t) => void resolveStep(t, c.peer!, sturdyRefToValue(mintSturdyRef<Ref>(new Uint8Array(0), 'syndicate')), (t, ds) => {
    t.assert(ds, record('hello', who));
  }));
}

function captureLogs(): { logs: LogEntry[]; restore: () => void } {
  const logs: LogEntry[] = [];
  const old = setLogHook((e) => void logs.push(e));
  return { logs, restore: () => void setLogHook(old) };
}

test('unix listener: ready, mode 0600, a client resolves the config space through the gatekeeper', async () => {
  const { ts, gk } = await busWithGatekeeper();
  const p = path.join(tempDir(), 'bus.sock');
  await ts.act((t) => { for (const a of listenerFlagsToAssertions({ sockets: [p] }, gk)) t.assert(ts.system.config, a); });
  await ts.until(has(`<service-state <relay-listener <unix "${p}"> #:ref> ready>`), 'listener ready');
  assert.equal(fs.statSync(p).mode & 0o777, 0o600);
  const c = await connectUnix(p);
  await sayHello(c, 'unix');
  await ts.until(has('<hello "unix">'), 'hello through the socket');
  await c.close();
  await ts.until((cs) => !cs.includes('<hello "unix">'), 'hello retracted when the client goes');
  await ts.stop();
  await until(() => !fs.existsSync(p), 'socket removed when the listener stops');
});

test('unix listener: a stale socket file is replaced, a live socket is not', async () => {
  const cap = captureLogs();
  try {
    const { ts, gk } = await busWithGatekeeper();
    const dir = tempDir();
    // Stale: a process that bound the socket and died without removing it.
    const stale = path.join(dir, 'stale.sock');
    spawnSync(process.execPath, ['-e', 'require("net").createServer().listen(process.argv[1], () => process.kill(process.pid, "SIGKILL"))', stale]);
    assert.ok(fs.lstatSync(stale).isSocket(), 'a stale socket file exists');
    await ts.act((t) => void t.assert(ts.system.config, Service.run(unixListenerName(stale, gk))));
    await ts.until(has(`<service-state <relay-listener <unix "${stale}"> #:ref> ready>`), 'listener on the stale path');
    const c = await connectUnix(stale);
    await sayHello(c, 'stale');
    await ts.until(has('<hello "stale">'));
    await c.close();

    // Live: someone is accepting connections there.
    const live = path.join(dir, 'live.sock');
    const other = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => other.listen(live, r));
    await ts.act((t) => void t.assert(ts.system.config, Service.run(unixListenerName(live, gk))));
    await ts.until(has(`<service-state <relay-listener <unix "${live}"> #:ref> failed>`), 'listener failure');
    assert.ok(cap.logs.some((e) => e.level === 'error' && e.message.includes(live) && /another process is accepting connections/.test(e.message)), 'a clear log line');
    assert.ok(fs.existsSync(live), 'the live socket is left alone');
    other.close();
    await ts.stop();
  } finally {
    cap.restore();
  }
});

test('tcp listener: a client outside the allow-list is refused and logged; one inside is served', async () => {
  const cap = captureLogs();
  try {
    const { ts, gk } = await busWithGatekeeper();
    const refusedPort = await freePort();
    const denyLocal = record<Ref>('relay-listener', record<Ref>('tcp', '127.0.0.1', refusedPort), new Embedded<Ref>(gk), new Dictionary<Ref>([[Symbol.for('allow'), ['10.0.0.0/8', '::1/128']]]));
    await ts.act((t) => void t.assert(ts.system.config, Service.run(denyLocal)));
    await ts.until((cs) => cs.some((l) => l.includes(`${refusedPort}> #:ref {allow:`) && l.endsWith('ready>')), 'listener ready');
    const closedWithoutData = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port: refusedPort });
      let data = false;
      s.on('data', () => void (data = true));
      s.on('error', () => {});
      s.on('close', () => resolve(!data));
      s.on('connect', () => s.write('[[0 <A <hello "sneaky"> 1>]]'));
    });
    assert.ok(closedWithoutData);
    await until(() => cap.logs.some((e) => /refused connection from 127\.0\.0\.1:\d+ \(not in allow list\)/.test(e.message)), 'refusal log line');
    assert.ok(!ts.contents().includes('<hello "sneaky">'));

    const okPort = await freePort();
    const allowLocal = record<Ref>('relay-listener', record<Ref>('tcp', '127.0.0.1', okPort), new Embedded<Ref>(gk), new Dictionary<Ref>([[Symbol.for('allow'), ['127.0.0.1/32']]]));
    await ts.act((t) => void t.assert(ts.system.config, Service.run(allowLocal)));
    await ts.until((cs) => cs.some((l) => l.includes(`${okPort}> #:ref {allow:`) && l.endsWith('ready>')), 'second listener ready');
    const c = await connectTcp('127.0.0.1', okPort);
    await sayHello(c, 'tcp');
    await ts.until(has('<hello "tcp">'));
    await c.close();

    // `-p PORT` names the 127.0.0.1 listener without an allow-list.
    assert.deepEqual(listenerFlagsToAssertions({ ports: [8001] }, gk), [Service.run(tcpListenerName('127.0.0.1', 8001, gk))]);
    await ts.stop();
  } finally {
    cap.restore();
  }
});

test('unix listener: the minimal text client opening of spec §6.3, byte for byte', async () => {
  const { ts, gk } = await busWithGatekeeper();
  const p = path.join(tempDir(), 'raw.sock');
  await ts.act((t) => void t.assert(ts.system.config, Service.run(unixListenerName(p, gk))));
  await ts.until(has(`<service-state <relay-listener <unix "${p}"> #:ref> ready>`));
  const s = net.connect({ path: p });
  let got = '';
  s.on('data', (c: Buffer) => void (got += c.toString('latin1')));
  await new Promise<void>((r) => s.once('connect', () => r()));
  s.write('[[0 <A <resolve <ref {oid: "syndicate" sig: #x"69ca300c1dbfa08fba692102dd82311a"}> #:[0 0]> 1>]]');
  await until(() => got.includes('\n'), 'the answer');
  assert.match(got, /^\[\[0 <A <ok #:\[0 1\]> \d+>\]\]\n$/);
  // Through the resolved ref (our OID 1 there), assert into the config space, then hang up.
  s.write('[[1 <A <raw-hello> 2>]]');
  await ts.until(has('<raw-hello>'));
  s.end();
  await ts.until((cs) => !cs.includes('<raw-hello>'), 'retracted on disconnect');
  s.destroy();
  await ts.stop();
});
